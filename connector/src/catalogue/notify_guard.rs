//! Who may ask the catalogue to recrawl a participant: only that participant, proven with
//! DCP. Without this, anyone could make the catalogue crawl a member over and over (a crawl
//! is an authenticated walk through the member's whole catalog).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use passerelle_identity::dcp::ParticipantVerifier;
use serde_json::json;

/// Path prefix of the notify route (`/api/v1/notify/{participant}`).
pub const NOTIFY_PREFIX: &str = "/api/v1/notify/";

/// Axum middleware over the catalogue's public routes: leaves every route but notify alone.
pub async fn require_own_notify(
    State(verifier): State<Arc<ParticipantVerifier>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(named) = request.uri().path().strip_prefix(NOTIFY_PREFIX).map(decode_segment) else {
        return next.run(request).await;
    };
    match verifier.verify_headers(request.headers()).await {
        Ok(caller) if caller.did.as_str() == named => next.run(request).await,
        Ok(caller) => {
            tracing::warn!(caller = %caller.did, %named, "notify for another participant refused");
            (
                StatusCode::FORBIDDEN,
                Json(json!({
                    "error": "NOT_YOUR_CATALOG",
                    "message": format!(
                        "{} may only ask for its own recrawl, not for {named}: notify /api/v1/notify/<your DID>",
                        caller.did
                    ),
                })),
            )
                .into_response()
        }
        Err(refused) => {
            tracing::warn!(code = refused.code(), reason = %refused, "notify refused: the caller is not verified");
            let message = if refused.status() == StatusCode::INTERNAL_SERVER_ERROR {
                "the caller could not be verified; the catalogue's log says why".to_string()
            } else {
                format!("{refused}; a member notifies with `Authorization: Bearer <DCP self-issued ID token>`")
            };
            (refused.status(), Json(json!({"error": refused.code().to_ascii_uppercase(), "message": message})))
                .into_response()
        }
    }
}

/// The participant id as the route's one path segment carries it (percent-encoded).
fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_segment_is_decoded_once() {
        assert_eq!(decode_segment("did:web:127.0.0.1%253A9000"), "did:web:127.0.0.1%3A9000");
        assert_eq!(decode_segment("did:web:lab.example"), "did:web:lab.example");
    }
}
