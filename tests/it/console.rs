//! The operator console on real connectors: a contract negotiated between two of them, with a
//! transfer, shown in HTML (policy in English and as ODRL, transfers, history, audit trail);
//! hostile titles escaped; keyset paging links followed to the end; unknown ids as 404 pages.

use reqwest::Method;
use reqwest::redirect::Policy;
use serde_json::{Value, json};

use crate::negotiation_support::{Node, catalog_offer, negotiate, poll, provider};

/// Two running connectors, a FINALIZED contract between them and a STARTED pull transfer under it.
pub struct Scene {
    pub provider: Node,
    pub consumer: Node,
    pub agreement_id: String,
    pub negotiation_pid: String,
    /// The consumer's pid of the transfer.
    pub transfer_pid: String,
}

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

pub async fn contract_with_transfer() -> Scene {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let negotiation_pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let finalized = consumer
        .wait_for(&format!("/api/v1/negotiations/{negotiation_pid}"), "FINALIZED", |n| state(n) == "FINALIZED")
        .await;
    let agreement_id = finalized["agreement_id"].as_str().expect("agreement id").to_string();
    let body = json!({"agreementId": agreement_id, "format": "HttpData-PULL"});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let transfer_pid = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{transfer_pid}"), "STARTED", |t| state(t) == "STARTED").await;
    Scene { provider, consumer, agreement_id, negotiation_pid, transfer_pid }
}

/// A logged-in console session on one connector (cookies handled by hand: no redirects followed).
pub struct Console {
    http: reqwest::Client,
    base: String,
    cookie: String,
    key: String,
}

/// `name=value` of cookie `name` in a response's Set-Cookie headers.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a csrf field") + marker.len();
    html[start..].split('"').next().unwrap_or_default().to_string()
}

impl Console {
    pub async fn login(node: &Node) -> Console {
        Console::login_at(&node.management, &node.folder.api_key()).await
    }

    /// Logs in to the console of the management listener at `base` with `key` (a connector's or the catalogue's).
    pub async fn login_at(base: &str, key: &str) -> Console {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().redirect(Policy::none()).build().expect("client");
        let (base, key) = (base.to_string(), key.to_string());

        let unauthenticated = http.get(format!("{base}/console/contracts")).send().await.expect("console");
        assert_eq!(unauthenticated.status(), 303);
        assert_eq!(unauthenticated.headers()["location"], "/console/login");

        let form = http.get(format!("{base}/console/login")).send().await.expect("login form");
        let login_cookie = set_cookie(&form, "passerelle_console_login").expect("login cookie");
        let token = csrf_in(&form.text().await.expect("login page"));
        let wrong = http
            .post(format!("{base}/console/login"))
            .header("cookie", &login_cookie)
            .header("content-type", FORM)
            .body(form_body(&[("csrf", token.as_str()), ("api_key", "wrong-key-0123456789abcdef")]))
            .send()
            .await
            .expect("login");
        assert_eq!(wrong.status(), 401, "a wrong key is refused");
        assert!(set_cookie(&wrong, "passerelle_console").is_none());
        let done = http
            .post(format!("{base}/console/login"))
            .header("cookie", &login_cookie)
            .header("content-type", FORM)
            .body(form_body(&[("csrf", token.as_str()), ("api_key", key.as_str())]))
            .send()
            .await
            .expect("login");
        assert_eq!(done.status(), 303);
        let cookie = set_cookie(&done, "passerelle_console").expect("session cookie");
        Console { http, base, cookie, key }
    }

    /// GETs a console path; asserts the API key is nowhere in the page.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let response =
            self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().await.expect("page");
        let status = response.status().as_u16();
        let body = response.text().await.expect("html");
        assert!(!body.contains(&self.key), "{path} shows the API key");
        (status, body)
    }

    pub async fn page(&self, path: &str) -> String {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}:\n{body}");
        body
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> u16 {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("content-type", FORM)
            .body(form_body(form))
            .send()
            .await
            .expect("post");
        response.status().as_u16()
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An urlencoded form body (reqwest is built without its `form` feature).
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", segment(k), segment(v))).collect::<Vec<_>>().join("&")
}

/// A path segment as the console writes it in links.
pub fn segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The `href` of the link with `rel` in a page (HTML entities of URLs undone).
fn rel_link(html: &str, rel: &str) -> Option<String> {
    let marker = format!("rel=\"{rel}\" href=\"");
    let start = html.find(&marker)? + marker.len();
    Some(html[start..].split('"').next()?.replace("&amp;", "&"))
}

#[tokio::test]
async fn console_shows_a_real_contract_with_its_policy_transfers_and_history() {
    let scene = contract_with_transfer().await;
    let console = Console::login(&scene.consumer).await;
    let agreement = segment(&scene.agreement_id);

    let overview = console.page("/console").await;
    assert!(overview.contains("Negotiations by state") && overview.contains("FINALIZED"), "{overview}");
    assert!(overview.contains("Subtitle orders"), "the orders entry is reserved in the navigation");

    let list = console.page("/console/contracts").await;
    assert!(list.contains(&format!("href=\"/console/contracts/{agreement}\"")), "{list}");
    let filtered = console.page("/console/contracts?counterparty=nobody-like-this").await;
    assert!(!filtered.contains(&scene.agreement_id), "the counter-party filter applies");

    let contract = console.page(&format!("/console/contracts/{agreement}")).await;
    for expected in [
        "Permitted:",             // the policy in plain English (passerelle_policy::describe)
        "&quot;permission&quot;", // and as ODRL JSON, escaped inside <pre>
        &scene.transfer_pid,      // every transfer under it
        &scene.negotiation_pid,   // its negotiation
        "STARTED",
        "not verified", // DCP is off in these tests: no verified identity stored
        "the consumer",
    ] {
        assert!(contract.contains(expected), "`{expected}` missing from the contract page:\n{contract}");
    }

    let negotiation = console.page(&format!("/console/negotiations/{}", segment(&scene.negotiation_pid))).await;
    for expected in ["ContractRequestMessage", "AGREED", "VERIFIED", "FINALIZED", "negotiation.state"] {
        assert!(negotiation.contains(expected), "`{expected}` missing:\n{negotiation}");
    }
    let transfer = console.page(&format!("/console/transfers/{}", segment(&scene.transfer_pid))).await;
    assert!(transfer.contains("HttpData-PULL") && transfer.contains(&format!("/console/contracts/{agreement}")));

    let finalized = console.page("/console/negotiations?state=FINALIZED").await;
    assert!(finalized.contains(&scene.negotiation_pid));
    let terminated = console.page("/console/negotiations?state=TERMINATED").await;
    assert!(!terminated.contains(&scene.negotiation_pid));
    let started = console.page(&format!("/console/transfers?state=STARTED&agreement={agreement}")).await;
    assert!(started.contains(&scene.transfer_pid));

    // The provider's console shows the same contract from its side.
    let theirs = Console::login(&scene.provider).await;
    let provider_contract = theirs.page(&format!("/console/contracts/{agreement}")).await;
    assert!(provider_contract.contains("the provider") && provider_contract.contains("Permitted:"));
    crate::orders::offer_subtitling(&scene.provider, &[]).await;
    let offers = theirs.page("/console/offers").await;
    assert!(offers.contains("urn:acme:future") && offers.contains("2099"), "{offers}");
    assert!(offers.contains("service:subtitling") && offers.contains("4.50 EUR per minute"), "{offers}");

    // The audit trail: entries listed, and a verification started from the console reports intact.
    let audit = console.page("/console/audit").await;
    assert!(audit.contains("agreement") && audit.contains("transfer.state"), "{audit}");
    assert_eq!(console.post("/console/audit/verify", &[("csrf", "forged")]).await, 403);
    assert_eq!(console.post("/console/audit/verify", &[("csrf", &csrf_in(&audit))]).await, 303);
    poll(
        "the console's audit verification",
        || async { Value::String(console.page("/console/audit").await) },
        |page| page.as_str().is_some_and(|p| p.contains("Intact:")),
    )
    .await;

    // Unknown ids are 404 pages.
    for path in ["/console/contracts/urn:uuid:unknown", "/console/negotiations/x", "/console/transfers/y%2Fz"] {
        let (status, body) = console.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body.contains("Not found"));
    }
}

#[tokio::test]
async fn console_escapes_hostile_titles_and_pages_through_works() {
    let mut node = Node::new("distributor", &["--no-default-offer"]).await;
    node.start().await;
    let hostile = "<script>alert(1)</script>";
    let mut ids = vec!["hostile".to_string()];
    let (status, body) = node
        .api(Method::POST, "/api/v1/works", Some(&json!({"id": "hostile", "kind": "movie", "title": hostile})))
        .await;
    assert_eq!(status, 201, "{body:#}");
    for i in 0..4 {
        let id = format!("work-{i}");
        let work = json!({"id": id, "kind": "movie", "title": format!("Film {i}")});
        let (status, body) = node.api(Method::POST, "/api/v1/works", Some(&work)).await;
        assert_eq!(status, 201, "{body:#}");
        ids.push(id);
    }
    ids.sort();

    let console = Console::login(&node).await;
    let found = console.page("/console/works?q=script").await;
    assert!(found.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{found}");
    assert!(!found.contains(hostile), "the title must not be live HTML");
    let by_id = console.page("/console/works?q=hostile").await;
    assert!(by_id.contains("&lt;script&gt;"));

    // Keyset paging: two works a page, "Next page" links until the end, every work once, in id order.
    let mut seen = Vec::new();
    let mut path = "/console/works?limit=2".to_string();
    for _ in 0..10 {
        let page = console.page(&path).await;
        let mut rest = page.as_str();
        while let Some(start) = rest.find("<td><code>") {
            let cell = &rest[start + "<td><code>".len()..];
            seen.push(cell.split('<').next().unwrap_or_default().to_string());
            rest = cell;
        }
        match rel_link(&page, "next") {
            Some(next) => {
                assert!(rel_link(&page, "first").is_some() || !path.contains("cursor"));
                path = next;
            }
            None => {
                assert!(page.contains("End of the list"));
                break;
            }
        }
    }
    assert_eq!(seen, ids);
}
