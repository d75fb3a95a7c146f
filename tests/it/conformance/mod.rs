//! The official DSP TCK's scenarios, ported: each test starts the real `passerelle`
//! binary in TCK mode (`[tck] enabled = true`, the TCK's static `Authorization` value,
//! no pause between scripted steps) and plays the TCK's part over HTTP: it sends the
//! messages the TCK sends, receives the connector's messages on a callback server of its
//! own on 127.0.0.1:0, and asserts status codes and states as the TCK's test classes do.
//! DCP stays at its default (on): TCK mode replaces it with the static value.
//! Every message in either direction (and every ACK and error body) is validated against
//! the DSP 2025-1 JSON Schemas.
//!
//! Test names carry the TCK's ids (`cn_01_01` is CN:01-01). The scripted behaviour per
//! seeded id lives in `connector/src/tck/script.rs`.

mod catalog;
mod cn_consumer;
mod cn_provider;
mod tp_consumer;
mod tp_provider;

use std::sync::atomic::{AtomicU64, Ordering};

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::support::{DEADLINE, Folder, Running};

/// The TCK's sample `dataspacetck.dsp.connector.http.headers.authorization`.
pub const AUTHORIZATION: &str = r#"{"region": "any", "audience": "any", "clientId":"any"}"#;
pub const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
/// The TCK's participant id.
pub const TCK_ID: &str = "TCK_PARTICIPANT";
/// Where the TCK (as consumer) wants messages: its callback address.
const CALLBACK: &str = "/consumer";
/// Where the TCK (as provider) receives requests: its protocol address.
const PROVIDER: &str = "/provider";

/// A message the connector under test sent to the TCK.
#[derive(Debug, Clone)]
pub struct Received {
    /// Path below the TCK's address, e.g. `/consumer/negotiations/urn:x/offers`.
    pub path: String,
    pub body: Value,
    pub authorization: Option<String>,
}

impl Received {
    pub fn str(&self, member: &str) -> String {
        self.body[member].as_str().unwrap_or_else(|| panic!("`{member}` missing in {}", self.body)).to_string()
    }
}

/// The connector under test and the TCK's side of the conversation.
pub struct Tck {
    pub cut: Running,
    _folder: Folder,
    /// `http://127.0.0.1:<port>` of the TCK's callback server.
    pub base: String,
    received: Mutex<mpsc::UnboundedReceiver<Received>>,
}

/// A fresh process id on the TCK's side.
pub fn pid(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("urn:uuid:{prefix}-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The provider pid the TCK's server gives a consumer's request (derived, so tests need no shared state).
pub fn provider_pid_for(consumer_pid: &str) -> String {
    format!("{consumer_pid}-at-tck")
}

/// A DSP message of `type_name` with `members`.
pub fn message(type_name: &str, members: Value) -> Value {
    let mut body = json!({"@context": [DSP_CONTEXT], "@type": type_name});
    if let (Some(body), Some(members)) = (body.as_object_mut(), members.as_object()) {
        body.extend(members.clone());
    }
    body
}

/// Asserts that `body` validates against the schema its `@type` names.
pub fn assert_valid(body: &Value, what: &str) {
    if let Err(errors) = passerelle_dsp::schema::validate_message(body) {
        panic!("{what} does not validate against the DSP schemas: {errors:?}\n{body:#}");
    }
}

async fn tck_server(State(tx): State<mpsc::UnboundedSender<Received>>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), 1 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let consumer_pid = body["consumerPid"].as_str().unwrap_or_default().to_string();
    let _ = tx.send(Received { path: path.clone(), body, authorization });
    // The TCK as provider acknowledges a creating request with its own pid; everything else gets 200.
    let ack_type = if path == format!("{PROVIDER}/negotiations/request") {
        "ContractNegotiation"
    } else if path == format!("{PROVIDER}/transfers/request") {
        "TransferProcess"
    } else {
        return StatusCode::OK.into_response();
    };
    let ack = message(
        ack_type,
        json!({"providerPid": provider_pid_for(&consumer_pid), "consumerPid": consumer_pid, "state": "REQUESTED"}),
    );
    (StatusCode::CREATED, axum::Json(ack)).into_response()
}

impl Tck {
    /// A connector in TCK mode and the TCK's callback server.
    pub async fn start() -> Tck {
        let folder = Folder::init("distributor").await;
        let cut = Running::start_with_env(
            &folder.config(),
            folder.api_key(),
            &[
                ("PASSERELLE_TCK_ENABLED", "true"),
                ("PASSERELLE_TCK_STATIC_AUTHORIZATION", AUTHORIZATION),
                ("PASSERELLE_TCK_STEP_DELAY_MS", "0"),
            ],
        )
        .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the TCK's server");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let (tx, rx) = mpsc::unbounded_channel();
        let app = Router::new().fallback(tck_server).with_state(tx);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Tck { cut, _folder: folder, base, received: Mutex::new(rx) }
    }

    /// The TCK's callback address (it is the consumer).
    pub fn callback(&self) -> String {
        format!("{}{CALLBACK}", self.base)
    }

    /// The TCK's protocol address (it is the provider).
    pub fn provider_address(&self) -> String {
        format!("{}{PROVIDER}", self.base)
    }

    /// A URL of the connector's DSP endpoints.
    pub fn dsp(&self, path: &str) -> String {
        format!("{}/dsp/2025-1{path}", self.cut.protocol)
    }

    /// POSTs `body` (validated first) with the TCK's authorization; the answer body is validated if it is a message.
    pub async fn post(&self, url: &str, body: &Value) -> (u16, Value) {
        assert_valid(body, "the TCK's message");
        self.post_raw(url, body, Some(AUTHORIZATION)).await
    }

    pub async fn post_raw(&self, url: &str, body: &Value, authorization: Option<&str>) -> (u16, Value) {
        let mut request = self.cut.http.post(self.cut.local(url)).json(body);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.expect("the connector answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        let body: Value = if text.trim().is_empty() { Value::Null } else { serde_json::from_str(&text).expect("JSON") };
        if body.get("@type").is_some() {
            assert_valid(&body, &format!("the connector's answer to POST {url}"));
        }
        (status, body)
    }

    /// GETs a process or dataset with the TCK's authorization; the answer is validated.
    pub async fn get(&self, url: &str) -> (u16, Value) {
        let response = self
            .cut
            .http
            .get(self.cut.local(url))
            .header("Authorization", AUTHORIZATION)
            .send()
            .await
            .expect("the connector answers");
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if body.get("@type").is_some() {
            assert_valid(&body, &format!("the connector's answer to GET {url}"));
        }
        (status, body)
    }

    /// The state the connector reports at `url` (a negotiation or transfer process).
    pub async fn state_at(&self, url: &str) -> String {
        let (status, body) = self.get(url).await;
        assert_eq!(status, 200, "GET {url}: {body}");
        body["state"].as_str().unwrap_or_else(|| panic!("no state in {body}")).to_string()
    }

    /// The next message the connector sent the TCK: validated, authorized, of `type_name`, at `path`.
    pub async fn expect(&self, type_name: &str, path: &str) -> Received {
        let mut rx = self.received.lock().await;
        let received = tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("no {type_name} from the connector within {DEADLINE:?}"))
            .expect("the TCK's server runs");
        assert_eq!(received.body["@type"], type_name, "unexpected message at {}: {}", received.path, received.body);
        assert_eq!(received.path, path, "{type_name} went to the wrong route");
        assert_valid(&received.body, type_name);
        assert_eq!(received.authorization.as_deref(), Some(AUTHORIZATION), "our messages carry the static value");
        received
    }

    /// Asserts that the connector sent nothing more that is already waiting.
    pub async fn expect_nothing_queued(&self) {
        let mut rx = self.received.lock().await;
        if let Ok(extra) = rx.try_recv() {
            panic!("the connector sent an unexpected {} to {}: {}", extra.body["@type"], extra.path, extra.body);
        }
    }
}

/// Asserts a 4xx refusal with a DSP error body of `error_type`.
pub fn assert_refused((status, body): &(u16, Value), error_type: &str) {
    assert!((400..500).contains(status), "expected 4xx, got {status}: {body}");
    assert_eq!(body["@type"], error_type, "{body}");
}
