//! The TCK's static `Authorization` value, accepted instead of DCP in TCK mode.
//!
//! The official TCK sends one configured header value on every call
//! (`dataspacetck.dsp.connector.http.headers.authorization`) and cannot obtain DCP
//! tokens; a request without exactly that value is refused like a DCP refusal: 401 with
//! the DSP error body of the route's area.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use passerelle_dsp::message::catalog::CatalogError;
use passerelle_dsp::message::negotiation::ContractNegotiationError;
use passerelle_dsp::message::transfer::TransferError;

use crate::identity::guard::{Area, is_public};

/// Error code of a refused caller.
const CODE: &str = "UNAUTHORIZED";

/// The configured value, compared in constant time.
#[derive(Clone)]
pub struct StaticAuthorization(Arc<String>);

impl StaticAuthorization {
    pub fn new(value: impl Into<String>) -> StaticAuthorization {
        StaticAuthorization(Arc::new(value.into()))
    }

    pub fn admits(&self, header: Option<&str>) -> bool {
        header.is_some_and(|given| constant_time_eq(given.as_bytes(), self.0.as_bytes()))
    }
}

impl std::fmt::Debug for StaticAuthorization {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StaticAuthorization(<redacted>)")
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length is not secret here (the TCK's value is public test configuration); content is compared fully.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Axum middleware (`from_fn_with_state(authorization, require_static)`).
pub async fn require_static(State(expected): State<StaticAuthorization>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    let given = request.headers().get(AUTHORIZATION).and_then(|v| v.to_str().ok());
    if is_public(&path) || expected.admits(given) {
        return next.run(request).await;
    }
    let reason = if given.is_none() {
        "the Authorization header is missing; send the value configured as tck.static_authorization"
    } else {
        "the Authorization header is not the value configured as tck.static_authorization"
    };
    tracing::warn!(%path, "TCK mode refused a caller without the static authorization");
    let body = match Area::of(&path) {
        Area::Catalog => serde_json::to_value(CatalogError::new(CODE, [reason])),
        Area::Negotiation => serde_json::to_value(ContractNegotiationError::new("", "", CODE, [reason])),
        Area::Transfer => serde_json::to_value(TransferError::new("", "").with_code(CODE).with_reason(reason)),
    };
    match body {
        Ok(body) => (StatusCode::UNAUTHORIZED, Json(body)).into_response(),
        Err(_) => StatusCode::UNAUTHORIZED.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_value_is_admitted_and_it_never_shows() {
        let auth = StaticAuthorization::new(r#"{"region": "any"}"#);
        assert!(auth.admits(Some(r#"{"region": "any"}"#)));
        assert!(!auth.admits(Some(r#"{"region": "any"} "#)));
        assert!(!auth.admits(Some("")));
        assert!(!auth.admits(None));
        assert!(!format!("{auth:?}").contains("region"));
    }
}
