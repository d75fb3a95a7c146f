//! The console in a real browser: headless Chromium driven through chromedriver's W3C WebDriver
//! protocol (plain JSON over HTTP, no WebDriver crate). Logs in, opens a finalized contract, sees
//! its policy and its transfer, opens the transfer; screenshots go to `target/console-screenshots/`.
//!
//! Needs `chromedriver` and `chromium` (Debian packages `chromium-driver`, `chromium`; `.ci/run`
//! installs them). Without them the test is reported as skipped, unless `CI` is set: then it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use base64::Engine;
use serde_json::{Value, json};

use crate::console::segment;
use crate::negotiation_support::{free_port, poll};
use crate::orders_delivery::order_with_failed_qc;
use crate::support::DEADLINE;

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

fn find_program(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path));
    }
    candidates.iter().map(PathBuf::from).find(|p| p.is_file())
}

/// A chromedriver process on a free loopback port (killed on drop).
struct Driver {
    child: Child,
    url: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Driver {
    async fn start(program: &Path) -> Driver {
        let port = free_port();
        let child = Command::new(program)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(DEADLINE).build().expect("client");
        let driver = Driver { child, url: format!("http://127.0.0.1:{port}"), http };
        poll(
            "chromedriver's /status",
            || async {
                match driver.http.get(format!("{}/status", driver.url)).send().await {
                    Ok(response) => response.json().await.unwrap_or(Value::Null),
                    Err(_) => Value::Null,
                }
            },
            |status| status["value"]["ready"] == true,
        )
        .await;
        driver
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.url));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("webdriver request");
        let status = response.status();
        let answer: Value = response.json().await.expect("webdriver JSON");
        assert!(status.is_success(), "{method} {path}: {status} {answer:#}");
        answer["value"].clone()
    }

    /// A headless Chromium session with a fresh profile in `profile`.
    async fn session(&self, chromium: &Path, profile: &Path) -> Browser<'_> {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1280,1000",
        ]
        .iter()
        .map(|a| a.to_string())
        .chain([format!("--user-data-dir={}", profile.display())])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
        }}});
        let value = self.call(reqwest::Method::POST, "/session", Some(capabilities)).await;
        let id = value["sessionId"].as_str().expect("session id").to_string();
        Browser { driver: self, id }
    }
}

/// One WebDriver session.
struct Browser<'a> {
    driver: &'a Driver,
    id: String,
}

impl Browser<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.driver.call(method, &format!("/session/{}{path}", self.id), body).await
    }

    async fn open(&self, url: &str) {
        self.call(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    async fn source(&self) -> String {
        self.call(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    async fn element(&self, css: &str) -> String {
        let found =
            self.call(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        found[ELEMENT].as_str().unwrap_or_else(|| panic!("no element `{css}`: {found}")).to_string()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    async fn click(&self, css: &str) {
        let element = self.element(css).await;
        self.call(reqwest::Method::POST, &format!("/element/{element}/click"), Some(json!({}))).await;
    }

    /// Waits (with the tests' deadline) until the page source contains every one of `texts`.
    async fn wait_for_text(&self, texts: &[&str]) -> String {
        let value = poll(
            &format!("a page showing {texts:?}"),
            || async { Value::String(self.source().await) },
            |source| source.as_str().is_some_and(|s| texts.iter().all(|t| s.contains(t))),
        )
        .await;
        value.as_str().unwrap_or_default().to_string()
    }

    async fn screenshot(&self, dir: &Path, name: &str) {
        let png = self.call(reqwest::Method::GET, "/screenshot", None).await;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("base64 screenshot"))
            .expect("base64 PNG");
        assert!(bytes.starts_with(b"\x89PNG"), "a PNG");
        std::fs::write(dir.join(name), bytes).expect("screenshot written");
    }

    async fn close(self) {
        self.driver.call(reqwest::Method::DELETE, &format!("/session/{}", self.id), None).await;
    }
}

#[tokio::test]
async fn browser_logs_in_reads_a_contract_and_an_orders_qc_report() {
    let driver = find_program("CHROMEDRIVER", &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]);
    let chromium = find_program("CHROMIUM", &["/usr/bin/chromium", "/usr/bin/chromium-browser"]);
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but chromedriver/chromium are missing: install the Debian packages `chromium chromium-driver`"
        );
        eprintln!(
            "SKIPPED console_browser: chromedriver or chromium not installed (apt-get install chromium chromium-driver)"
        );
        return;
    };
    let screenshots = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&screenshots).expect("screenshot folder");

    // The distributor's side: its service contract with the lab, the transfer under it, and an order whose
    // delivery failed QC.
    let scene = order_with_failed_qc().await;
    let driver = Driver::start(&driver).await;
    let profile = tempfile::tempdir().expect("profile dir");
    let browser = driver.session(&chromium, profile.path()).await;
    let base = scene.distributor.management.clone();

    // Not logged in: the console sends the browser to the login page.
    browser.open(&format!("{base}/console/contracts")).await;
    browser.wait_for_text(&["Management API key"]).await;
    assert!(browser.url().await.ends_with("/console/login"));
    browser.screenshot(&screenshots, "01-login.png").await;
    browser.type_into("input[name=api_key]", &scene.distributor.folder.api_key()).await;
    browser.click("form button[type=submit]").await;
    browser.wait_for_text(&["Negotiations by state", "FINALIZED"]).await;
    browser.screenshot(&screenshots, "02-overview.png").await;

    // Contracts → the finalized contract: its policy in English and as ODRL, its transfer.
    browser.click("nav a[href='/console/contracts']").await;
    let agreement = segment(&scene.agreement_id);
    browser.wait_for_text(&[&scene.agreement_id]).await;
    browser.click(&format!("td a[href='/console/contracts/{agreement}']")).await;
    let contract = browser.wait_for_text(&["Permitted:", &scene.transfer_pid, "FINALIZED"]).await;
    assert!(contract.contains("Transfers under this contract"));
    browser.screenshot(&screenshots, "03-contract.png").await;

    // The transfer under it, with its history.
    browser.click(&format!("td a[href='/console/transfers/{}']", segment(&scene.transfer_pid))).await;
    browser.wait_for_text(&["HttpData-PULL", "STARTED", "TransferStartMessage"]).await;
    browser.screenshot(&screenshots, "04-transfer.png").await;

    // Subtitle orders → the order: its timeline, the delivery's hashes and receipt, the QC report's finding
    // located by timecode.
    browser.click("nav a[href='/console/orders']").await;
    browser.wait_for_text(&["PO-B1", "REDELIVERY_REQUESTED"]).await;
    browser.click(&format!("td a[href='/console/orders/{}']", segment(&scene.order))).await;
    let order = browser.wait_for_text(&["Timeline", "Delivered", "verified intact", "QC report: fr.srt"]).await;
    assert!(order.contains("max chars per line") && order.contains("00:00:04:00"), "{order}");
    browser.screenshot(&screenshots, "05-order.png").await;
    browser.open(&format!("{base}/console/orders/{}#delivery-1", segment(&scene.order))).await;
    browser.wait_for_text(&["failed", "RedeliveryRequested"]).await;
    browser.screenshot(&screenshots, "06-qc-report.png").await;

    // Logging out ends the session: the console asks for the key again.
    browser.click("form.logout button").await;
    browser.wait_for_text(&["Management API key"]).await;
    browser.open(&format!("{base}/console")).await;
    browser.wait_for_text(&["Management API key"]).await;
    browser.close().await;
    eprintln!("console screenshots in {}", screenshots.display());
}
