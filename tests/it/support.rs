//! Running the real `passerelle` binary in temporary folders, on loopback ports chosen by the OS.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Once;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

/// How long anything in these tests may take before it counts as hung.
pub const DEADLINE: Duration = Duration::from_secs(60);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_passerelle")
}

/// The `shared` folder beside the repository, found by walking up from this package.
pub fn shared_dir() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let candidate = dir.join("shared");
        if candidate.join("samples").is_dir() {
            return candidate;
        }
        assert!(dir.pop(), "no `shared/samples` folder above {}", env!("CARGO_MANIFEST_DIR"));
    }
}

/// Every MovieLabs sample file, sorted (what `../shared/samples/mddf/*` expands to).
pub fn mddf_samples() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared_dir().join("samples/mddf"))
        .expect("samples folder")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

pub fn sample(name: &str) -> PathBuf {
    shared_dir().join("samples/mddf").join(name)
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// Runs `passerelle <args>` to completion with extra environment variables.
pub async fn passerelle(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdin(Stdio::null());
    clean_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(DEADLINE, tokio::task::spawn_blocking(move || cmd.output()))
        .await
        .expect("command hung")
        .expect("runner thread")
        .expect("command runs");
    Output {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The developer's own `PASSERELLE_*` variables must not leak into the tests.
pub fn clean_env(cmd: &mut Command) {
    for (k, _) in std::env::vars() {
        if k.starts_with("PASSERELLE_") {
            cmd.env_remove(k);
        }
    }
}

/// A connector folder made by `passerelle init`.
pub struct Folder {
    pub dir: tempfile::TempDir,
}

impl Folder {
    pub async fn init(role: &str) -> Folder {
        Folder::init_with(role, &[]).await
    }

    pub async fn init_with(role: &str, extra: &[&str]) -> Folder {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().to_str().expect("utf-8 temp path").to_string();
        let mut args = vec![
            "init",
            "--dir",
            &path,
            "--name",
            "Acme Films",
            "--role",
            role,
            "--public-url",
            "http://127.0.0.1:8181",
        ];
        args.extend_from_slice(extra);
        let out = passerelle(&args, &[]).await;
        assert_eq!(out.code(), Some(0), "init failed: {}", out.stderr);
        Folder { dir }
    }

    pub fn config(&self) -> String {
        self.dir.path().join("passerelle.toml").to_string_lossy().into_owned()
    }

    pub fn api_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("secrets/management-api-key")).expect("api key").trim().to_string()
    }

    /// `passerelle import --config … [--json] files…`
    pub async fn import(&self, files: &[PathBuf], json: bool) -> Output {
        let config = self.config();
        let mut args = vec!["import", "--config", &config];
        if json {
            args.push("--json");
        }
        let names: Vec<String> = files.iter().map(|f| f.to_string_lossy().into_owned()).collect();
        args.extend(names.iter().map(String::as_str));
        passerelle(&args, &[]).await
    }

    /// `passerelle run` on free loopback ports; returns once both listeners are announced.
    /// DCP is switched off (`PASSERELLE_DCP_ENABLED=false`): these connectors have no
    /// authority to be members of; `tests/it/dcp.rs` runs them with DCP on.
    pub async fn run(&self) -> Running {
        Running::start(&self.config(), self.api_key()).await
    }
}

/// A running connector process (killed if the test ends without stopping it).
pub struct Running {
    child: Option<Child>,
    pub protocol: String,
    pub management: String,
    pub api_key: String,
    pub http: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    static PROVIDER: Once = Once::new();
    // reqwest is built without a default crypto provider; plain HTTP still builds a TLS config.
    PROVIDER.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder().timeout(DEADLINE).build().expect("http client")
}

/// Forwards every line of `pipe` to `tx` from a thread, so the child never blocks on a full pipe.
pub fn forward_lines(pipe: impl Read + Send + 'static, tx: Option<mpsc::UnboundedSender<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let Some(tx) = &tx {
                let _ = tx.send(line);
            }
        }
    });
}

impl Running {
    async fn start(config: &str, api_key: String) -> Running {
        Running::start_with_env(config, api_key, &[("PASSERELLE_DCP_ENABLED", "false")]).await
    }

    /// `passerelle run` with extra environment variables (applied after the loopback binds).
    pub async fn start_with_env(config: &str, api_key: String, env: &[(&str, &str)]) -> Running {
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config", config]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        clean_env(&mut cmd);
        cmd.env("PASSERELLE_PROTOCOL_BIND", "127.0.0.1:0").env("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("passerelle run starts");
        let (out_tx, mut out_rx) = mpsc::unbounded_channel();
        let (err_tx, mut err_rx) = mpsc::unbounded_channel();
        forward_lines(child.stdout.take().expect("stdout piped"), Some(out_tx));
        forward_lines(child.stderr.take().expect("stderr piped"), Some(err_tx));

        let mut protocol = None;
        let mut management = None;
        let read = async {
            while protocol.is_none() || management.is_none() {
                let Some(line) = out_rx.recv().await else { break };
                if let Some(url) = line.strip_prefix("protocol listening on ") {
                    protocol = Some(url.to_string());
                } else if let Some(url) = line.strip_prefix("management listening on ") {
                    management = Some(url.to_string());
                }
            }
        };
        let timed_out = tokio::time::timeout(DEADLINE, read).await.is_err();
        let (Some(protocol), Some(management)) = (protocol, management) else {
            let _ = child.kill();
            let mut err = Vec::new();
            while let Ok(line) = err_rx.try_recv() {
                err.push(line);
            }
            panic!(
                "the connector did not announce its listeners (timed out: {timed_out}); stderr:\n{}",
                err.join("\n")
            );
        };
        // Stderr (logs) keeps draining into the channel; it is simply never read.
        Running { child: Some(child), protocol, management, api_key, http: client() }
    }

    /// SIGTERM, then wait for a clean exit.
    pub async fn stop(mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let pid = i32::try_from(child.id()).expect("pid fits");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM).expect("signal");
        tokio::time::timeout(DEADLINE, tokio::task::spawn_blocking(move || child.wait()))
            .await
            .expect("stops in time")
            .expect("waiter thread")
            .expect("wait")
    }

    /// `Link` URLs carry the public URL from the configuration; requests go to the port actually bound.
    pub fn local(&self, url: &str) -> String {
        match url.strip_prefix("http://127.0.0.1:8181") {
            Some(rest) => format!("{}{rest}", self.protocol),
            None => url.to_string(),
        }
    }

    /// An authenticated management request.
    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.management)).header("X-Api-Key", &self.api_key)
    }

    pub async fn api_json(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let response = self.api(method, path).json(body).send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// `POST /dsp/2025-1/catalog/request` to `url`.
    pub async fn catalog_request(&self, url: &str) -> reqwest::Response {
        let body = serde_json::json!({
            "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "CatalogRequestMessage"
        });
        self.http.post(self.local(url)).json(&body).send().await.expect("catalog request")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `rel="next"` target of a response's `Link` headers.
pub fn next_link(response: &reqwest::Response) -> Option<String> {
    response.headers().get_all("link").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).find_map(
        |link| {
            let (target, params) = link.split_once(';')?;
            params
                .contains("rel=\"next\"")
                .then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
        },
    )
}

/// Every page of the catalog (validated against the DSP schema), concatenated.
pub async fn whole_catalog(running: &Running, limit: usize) -> Vec<Value> {
    use passerelle_dsp::schema::{MessageKind, validate};
    let mut url = format!("{}/dsp/2025-1/catalog/request?limit={limit}", running.protocol);
    let mut datasets = Vec::new();
    for _ in 0..10_000 {
        let response = running.catalog_request(&url).await;
        assert_eq!(response.status().as_u16(), 200);
        let next = next_link(&response);
        let page: Value = response.json().await.expect("catalog JSON");
        if let Err(errors) = validate(MessageKind::Catalog, &page) {
            panic!("catalog page is not schema-valid: {errors:#?}\n{page:#}");
        }
        let page_datasets = page["dataset"].as_array().cloned().unwrap_or_default();
        assert!(page_datasets.len() <= limit);
        datasets.extend(page_datasets);
        match next {
            Some(n) => url = n,
            None => return datasets,
        }
    }
    panic!("the catalog never ended");
}
