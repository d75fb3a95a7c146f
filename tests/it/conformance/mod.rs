//! The official DSP TCK's scenarios, ported: each test starts the real `passerelle`
//! binary in TCK mode (`[tck] enabled = true`, no pause between scripted steps) and plays
//! the TCK's part over HTTP: it sends the messages the TCK sends, receives the connector's
//! messages on a callback server of its own on 127.0.0.1, and asserts status codes and
//! states as the TCK's test classes do. Every message in either direction (and every ACK
//! and error body) is validated against the DSP 2025-1 JSON Schemas.
//!
//! Every scenario runs in two modes ([`Mode`], see [`both_modes!`]):
//! - `<scenario>::static_auth`: as the official Java TCK runs, with its one static
//!   `Authorization` value (`tck.static_authorization`) in both directions instead of DCP;
//! - `<scenario>::with_dcp`: DCP switched on (`tck.authorization = "dcp"`). The TCK side is
//!   a real data-space participant ([`dcp_side`]): an in-process authority onboards it (a
//!   did:web served by its callback server, with a credential service answering presentation
//!   queries with its membership) and the connector. Every request it sends carries a fresh
//!   self-issued DCP token; every message the connector sends it is verified with
//!   `passerelle-identity`'s `ParticipantVerifier`, and one that does not verify fails the
//!   scenario. [`dcp_refusals`] checks that callers without a valid member's token are refused.
//!
//! Test names carry the TCK's ids (`cn_01_01` is CN:01-01). The scripted behaviour per
//! seeded id lives in `connector/src/tck/script.rs`.
//!
//! `cargo test -p passerelle --test it conformance` runs both modes; add `-- static_auth` or
//! `-- with_dcp` for one.

/// Declares the two tests of a scenario `async fn name(mode: Mode)`: a module `name` with
/// `static_auth` and `with_dcp`, so that each body is written once.
macro_rules! both_modes {
    ($name:ident) => {
        mod $name {
            #[tokio::test]
            async fn static_auth() {
                super::$name($crate::conformance::Mode::Static).await
            }

            #[tokio::test]
            async fn with_dcp() {
                super::$name($crate::conformance::Mode::Dcp).await
            }
        }
    };
}

mod catalog;
mod cn_consumer;
mod cn_provider;
pub mod dcp_refusals;
pub mod dcp_side;
mod tp_consumer;
mod tp_provider;

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use passerelle_identity::dcp::ParticipantVerifier;
use passerelle_identity::did::Did;
use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc};

use crate::support::{DEADLINE, Folder, Running};
use dcp_side::TckParticipant;

/// How the TCK and the connector authenticate each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The official TCK's static `Authorization` value, both ways.
    Static,
    /// DCP: both sides are onboarded members with did:web identities.
    Dcp,
}

/// The TCK's sample `dataspacetck.dsp.connector.http.headers.authorization`.
pub const AUTHORIZATION: &str = r#"{"region": "any", "audience": "any", "clientId":"any"}"#;
pub const DSP_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";
/// The TCK's participant id in static mode (its DID in DCP mode, see [`Tck::id`]).
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
    /// DCP mode: the DID the TCK's verifier established from the `Authorization` header, or why it refused.
    pub verified: Option<Result<String, String>>,
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
    /// DCP mode: the TCK as a participant, and the connector's DID (the audience of its tokens).
    dcp: Option<(TckParticipant, Did)>,
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

/// What the TCK's callback server needs: where to put messages, and (DCP) how to check their sender.
#[derive(Clone)]
struct Callbacks {
    tx: mpsc::UnboundedSender<Received>,
    verifier: Option<Arc<ParticipantVerifier>>,
}

fn callback_router(tx: mpsc::UnboundedSender<Received>, verifier: Option<Arc<ParticipantVerifier>>) -> Router {
    Router::new().fallback(tck_server).with_state(Callbacks { tx, verifier })
}

async fn tck_server(State(callbacks): State<Callbacks>, request: Request) -> Response {
    let path = request.uri().path().to_string();
    let authorization = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    let verified = match &callbacks.verifier {
        None => None,
        Some(verifier) => Some(
            verifier
                .verify_authorization(authorization.as_deref())
                .await
                .map(|participant| participant.did.to_string())
                .map_err(|e| format!("{} ({e})", e.code())),
        ),
    };
    let Ok(bytes) = axum::body::to_bytes(request.into_body(), 1 << 20).await else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let consumer_pid = body["consumerPid"].as_str().unwrap_or_default().to_string();
    let refused = matches!(verified, Some(Err(_)));
    let _ = callbacks.tx.send(Received { path: path.clone(), body, authorization, verified });
    if refused {
        // The scenario fails on this message in `Tck::expect`; the connector sees what a verifier answers.
        return StatusCode::UNAUTHORIZED.into_response();
    }
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
    /// A connector in TCK mode and the TCK's callback server, authenticating as `mode` says.
    pub async fn start(mode: Mode) -> Tck {
        match mode {
            Mode::Static => Tck::start_static().await,
            Mode::Dcp => Tck::start_dcp().await,
        }
    }

    async fn start_static() -> Tck {
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
        let app = callback_router(tx, None);
        tokio::spawn(async move { axum::serve(listener, app).await });
        Tck { cut, _folder: folder, base, dcp: None, received: Mutex::new(rx) }
    }

    async fn start_dcp() -> Tck {
        let (tx, rx) = mpsc::unbounded_channel();
        // The TCK's onboarding and the connector's start are independent: run them side by side.
        let (participant, (folder, cut, connector)) = tokio::join!(
            TckParticipant::start(true, |verifier| callback_router(tx, Some(verifier))),
            dcp_side::start_connector()
        );
        Tck {
            cut,
            _folder: folder,
            base: participant.base.clone(),
            dcp: Some((participant, connector)),
            received: Mutex::new(rx),
        }
    }

    /// The TCK's participant id: the TCK's own in static mode, its did:web in DCP mode.
    pub fn id(&self) -> String {
        match &self.dcp {
            Some((participant, _)) => participant.did.to_string(),
            None => TCK_ID.to_string(),
        }
    }

    /// The connector's DID (DCP mode).
    pub fn connector_did(&self) -> Option<&Did> {
        self.dcp.as_ref().map(|(_, did)| did)
    }

    /// The `Authorization` value of the TCK's next request: the static value, or a fresh DCP token.
    pub fn authorization(&self) -> String {
        match &self.dcp {
            Some((participant, connector)) => participant.authorization_for(connector),
            None => AUTHORIZATION.to_string(),
        }
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
        self.post_raw(url, body, Some(&self.authorization())).await
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
            .header("Authorization", self.authorization())
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

    /// The next request the TCK's callback server received, whatever it is.
    pub async fn next_received(&self) -> Received {
        let mut rx = self.received.lock().await;
        tokio::time::timeout(DEADLINE, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("nothing reached the TCK within {DEADLINE:?}"))
            .expect("the TCK's server runs")
    }

    /// The next message the connector sent the TCK: validated, authenticated (the static value, or a
    /// DCP token of the connector that the TCK's verifier accepts), of `type_name`, at `path`.
    pub async fn expect(&self, type_name: &str, path: &str) -> Received {
        let received = {
            let mut rx = self.received.lock().await;
            tokio::time::timeout(DEADLINE, rx.recv())
                .await
                .unwrap_or_else(|_| panic!("no {type_name} from the connector within {DEADLINE:?}"))
                .expect("the TCK's server runs")
        };
        assert_eq!(received.body["@type"], type_name, "unexpected message at {}: {}", received.path, received.body);
        assert_eq!(received.path, path, "{type_name} went to the wrong route");
        assert_valid(&received.body, type_name);
        match (&self.dcp, &received.verified) {
            (None, _) => assert_eq!(
                received.authorization.as_deref(),
                Some(AUTHORIZATION),
                "the connector's messages carry the static value"
            ),
            (Some((_, connector)), Some(Ok(sender))) => {
                assert_eq!(sender, connector.as_str(), "{type_name} was sent by another participant")
            }
            (Some(_), Some(Err(reason))) => {
                panic!("the TCK's verifier refused the DCP token of the connector's {type_name}: {reason}")
            }
            (Some(_), None) => panic!("{type_name} reached the TCK unverified"),
        }
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
