//! Two (or more) real connectors talking DSP to each other on loopback: fixed ports (so a
//! restarted connector is found again), public URLs that may differ from the bound port
//! (a test relay in between), polling with deadlines.

use std::future::Future;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::support::{DEADLINE, Folder, bin, sample};

/// A free loopback port (the OS picks it; it is released at once for the connector to take).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
    listener.local_addr().expect("addr").port()
}

/// A connector folder plus how it is started.
pub struct Node {
    pub folder: Folder,
    /// Port of the protocol listener.
    pub port: u16,
    /// Port announced in the public URL (differs from `port` when a relay sits in between).
    pub public_port: u16,
    child: Option<Child>,
    /// Started once: its ports are part of what others know and must not change.
    started: bool,
    pub management: String,
    pub http: reqwest::Client,
}

impl Node {
    pub async fn new(role: &str, extra: &[&str]) -> Node {
        let folder = Folder::init_with(role, extra).await;
        let port = free_port();
        Node { folder, port, public_port: port, child: None, started: false, management: String::new(), http: client() }
    }

    pub fn protocol(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The DSP address others use for this connector.
    pub fn dsp_address(&self) -> String {
        format!("http://127.0.0.1:{}/dsp/2025-1", self.public_port)
    }

    pub fn database(&self) -> PathBuf {
        self.folder.dir.path().join("data/passerelle.db")
    }

    /// Starts `passerelle run` (DCP off: these tests are about DSP) and waits for its listeners.
    /// A first start whose free port was taken meanwhile (tests run in parallel) moves to another one.
    pub async fn start(&mut self) {
        for _ in 0..5 {
            match self.try_start().await {
                Ok(()) => {
                    self.started = true;
                    return;
                }
                Err(stderr) if !self.started && stderr.contains("cannot listen on") => {
                    let relayed = self.public_port != self.port;
                    self.port = free_port();
                    if !relayed {
                        self.public_port = self.port;
                    }
                }
                Err(stderr) => panic!("the connector did not start:\n{stderr}"),
            }
        }
        panic!("no free port could be bound");
    }

    async fn try_start(&mut self) -> Result<(), String> {
        assert!(self.child.is_none(), "already running");
        let mut cmd = Command::new(bin());
        cmd.args(["run", "--config", &self.folder.config()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("PASSERELLE_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("PASSERELLE_PROTOCOL_BIND", format!("127.0.0.1:{}", self.port))
            .env("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0")
            .env("PASSERELLE_PARTICIPANT_PUBLIC_URL", format!("http://127.0.0.1:{}", self.public_port))
            .env("PASSERELLE_DCP_ENABLED", "false")
            .env("RUST_LOG", "info");
        let mut child = cmd.spawn().expect("passerelle run starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let name = self.folder.dir.path().display().to_string();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = log.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
                if std::env::var_os("PASSERELLE_TEST_LOGS").is_some() {
                    eprintln!("[{name}] {line}");
                }
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("management listening on ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let announced = tokio::task::spawn_blocking(move || rx.recv_timeout(DEADLINE)).await.expect("reader");
        match announced {
            Ok(management) => {
                self.management = management;
                self.child = Some(child);
                Ok(())
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                // The stderr reader ends with the process; what it read is complete enough to tell why.
                Err(log.lock().map(|l| l.clone()).unwrap_or_default())
            }
        }
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub async fn api(&self, method: Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let key = self.folder.api_key();
        let mut request = self.http.request(method, format!("{}{path}", self.management)).header("X-Api-Key", key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("management request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.api(Method::GET, path, None).await;
        assert_eq!(status, 200, "GET {path}: {body:#}");
        body
    }

    /// Polls `GET path` until `done` holds for the body (or the deadline passes).
    pub async fn wait_for(&self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        poll(what, || async { self.api(Method::GET, path, None).await.1 }, done).await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(DEADLINE).build().expect("http client")
}

const POLL_INTERVAL: Duration = Duration::from_millis(50);

/// Calls `fetch` until `done` holds; panics with the last value after [`DEADLINE`].
pub async fn poll<F, Fut>(what: &str, fetch: F, done: impl Fn(&Value) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: Future<Output = Value>,
{
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let value = fetch().await;
        if done(&value) {
            return value;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}; last: {value:#}");
        // The poll interval; correctness never depends on it (the deadline above does the waiting).
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// A provider with the MovieLabs samples and two offers: `open` (use, no constraint)
/// and `future` (use from 2099 on: nobody meets it today).
pub async fn provider() -> Node {
    let mut node = Node::new("distributor", &["--no-default-offer"]).await;
    let files =
        vec![sample("movielabs-mddf_MEC_movie_Counselor.xml"), sample("movielabs-mddf_Avails_noErrors_v2.4.xml")];
    let import = node.folder.import(&files, true).await;
    assert_eq!(import.code(), Some(0), "{}\n{}", import.stdout, import.stderr);
    node.start().await;
    let policies = [
        json!({"@id": "urn:acme:open", "@type": "Offer", "permission": [{"action": "use"}]}),
        json!({"@id": "urn:acme:future", "@type": "Offer", "permission": [{"action": "use", "constraint": [
            {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2099-01-01T00:00:00Z"}]}]}),
    ];
    for policy in &policies {
        let (status, body) = node.api(Method::POST, "/api/v1/policies", Some(policy)).await;
        assert_eq!(status, 201, "{body:#}");
    }
    for (id, policy) in [("open", "urn:acme:open"), ("future", "urn:acme:future")] {
        let definition = json!({"id": id, "title": id, "selector": {"kinds": ["movie"]}, "policy_id": policy});
        let (status, body) = node.api(Method::POST, "/api/v1/offer-definitions", Some(&definition)).await;
        assert_eq!(status, 201, "{body:#}");
    }
    node
}

/// `provider`'s whole DSP catalog (anonymous: DCP is off in these nodes).
pub async fn dsp_catalog(provider: &Node) -> Value {
    let request =
        json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"});
    provider
        .http
        .post(format!("{}/dsp/2025-1/catalog/request?limit=1000", provider.protocol()))
        .json(&request)
        .send()
        .await
        .expect("catalog")
        .json()
        .await
        .expect("catalog JSON")
}

/// A work dataset of `provider`'s catalog and its offer from definition `definition`.
pub async fn catalog_offer(provider: &Node, definition: &str) -> (String, String) {
    let catalog = dsp_catalog(provider).await;
    let prefix = format!("urn:passerelle:offer:{definition}:work:");
    for dataset in catalog["dataset"].as_array().into_iter().flatten() {
        for offer in dataset["hasPolicy"].as_array().into_iter().flatten() {
            if let Some(id) = offer["@id"].as_str().filter(|id| id.starts_with(&prefix)) {
                return (dataset["@id"].as_str().expect("dataset id").to_string(), id.to_string());
            }
        }
    }
    panic!("no `{definition}` offer in the catalog: {catalog:#}");
}

/// Starts a negotiation on `consumer` for `offer_id` of `dataset_id` at `provider` and returns the consumer pid.
pub async fn negotiate(consumer: &Node, provider: &Node, dataset_id: &str, offer_id: &str) -> String {
    let body = json!({"counterPartyAddress": provider.dsp_address(), "offerId": offer_id, "datasetId": dataset_id});
    let (status, created) = consumer.api(Method::POST, "/api/v1/negotiations", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(created["state"], "REQUESTED");
    created["pid"].as_str().expect("pid").to_string()
}

/// A TCP relay on `port` to `target`, until the returned handle is aborted.
pub async fn relay(port: u16, target: u16) -> tokio::task::JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("relay port");
    tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                if let Ok(mut outbound) = tokio::net::TcpStream::connect(("127.0.0.1", target)).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    })
}

/// Every DSP message a stopped or running connector queued, validated against the DSP schemas.
pub async fn assert_messages_valid(node: &Node) -> usize {
    let store = passerelle_connector::store::Store::open_file(&node.database()).await.expect("store");
    let messages = passerelle_connector::outbox::messages(&store).await.expect("outbox");
    store.close().await;
    for (kind, body) in &messages {
        if let Err(errors) = passerelle_dsp::schema::validate_message(body) {
            panic!("{kind} is not schema-valid: {errors:#?}\n{body:#}");
        }
    }
    messages.len()
}
