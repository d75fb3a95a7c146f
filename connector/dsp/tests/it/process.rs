//! Helpers for driving the negotiation and transfer routes like a peer would:
//! raw JSON in, status and schema-checked JSON out.

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use passerelle_dsp::message::DSPACE_CONTEXT;
use passerelle_dsp::process::VerifiedParticipant;
use passerelle_dsp::schema::validate_message;
use serde_json::{Value, json};
use tower::ServiceExt;

/// Provider routes.
pub const BASE: &str = "/dsp/2025-1";
/// Consumer callback routes.
pub const CALLBACK: &str = "/dsp/2025-1/callback";

pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn state(&self) -> &str {
        self.body["state"].as_str().unwrap_or_else(|| panic!("no state in {:#}", self.body))
    }

    pub fn text(&self, member: &str) -> String {
        self.body[member].as_str().unwrap_or_else(|| panic!("no {member} in {:#}", self.body)).to_string()
    }

    /// A refusal with the area's error body, its pids and a reason.
    pub fn assert_refused(&self, status: StatusCode, error_type: &str, code: &str) {
        assert_eq!(self.status, status, "{:#}", self.body);
        assert_eq!(self.body["@type"], error_type, "{:#}", self.body);
        assert_eq!(self.body["code"], code, "{:#}", self.body);
        assert!(self.body["reason"][0].as_str().is_some_and(|r| r.len() > 10), "{:#}", self.body);
    }
}

/// Sends a request as `caller` (a verified participant id, as an auth layer would set it).
pub async fn call(router: &Router, method: Method, uri: &str, body: Option<&Value>, caller: Option<&str>) -> Answer {
    let mut builder = Request::builder().method(method).uri(uri);
    if body.is_some() {
        builder = builder.header(header::CONTENT_TYPE, "application/json");
    }
    let mut request = builder.body(body.map_or_else(Body::empty, |b| Body::from(b.to_string()))).unwrap();
    if let Some(id) = caller {
        request.extensions_mut().insert(VerifiedParticipant(id.to_string()));
    }
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json", "{uri}");
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let body: Value = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{uri}: {e}"));
    if let Err(errors) = validate_message(&body) {
        panic!("{uri} answered a body that breaks the DSP schema:\n{}\n{body:#}", errors.join("\n"));
    }
    let expected = match (status.is_success(), uri.contains("/transfers")) {
        (true, false) => "ContractNegotiation",
        (true, true) => "TransferProcess",
        (false, false) => "ContractNegotiationError",
        (false, true) => "TransferError",
    };
    assert_eq!(body["@type"], expected, "{uri} {status}");
    Answer { status, body }
}

pub async fn post(router: &Router, uri: &str, body: &Value, caller: Option<&str>) -> Answer {
    call(router, Method::POST, uri, Some(body), caller).await
}

pub async fn get(router: &Router, uri: &str, caller: Option<&str>) -> Answer {
    call(router, Method::GET, uri, None, caller).await
}

/// A message as a peer would write it (with the message `@id` the TCK adds).
pub fn message(message_type: &str, members: Value) -> Value {
    let mut body = json!({"@context": [DSPACE_CONTEXT], "@type": message_type, "@id": "urn:uuid:message-id"});
    if let (Some(target), Value::Object(members)) = (body.as_object_mut(), members) {
        target.extend(members);
    }
    body
}

pub fn offer(id: &str, target: &str) -> Value {
    json!({"@id": id, "@type": "Offer", "target": target,
           "permission": [{"action": "use", "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"}]}]})
}

pub fn agreement(id: &str, target: &str) -> Value {
    json!({"@id": id, "@type": "Agreement", "target": target, "assigner": "did:web:distributor.example",
           "assignee": "did:web:broadcaster.example", "timestamp": "2025-03-01T12:00:00Z",
           "permission": [{"action": "use"}]})
}
