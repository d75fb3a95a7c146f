//! The DCP check in front of the protocol routes.
//!
//! Every catalog, negotiation, transfer and callback request must carry a self-issued
//! ID token that the [`ParticipantVerifier`] accepts; the version document and the JSON-LD
//! contexts stay public (a peer reads them before it can authenticate). A refusal is a
//! 401/403 with the DSP error body of the route's area and the reason in the log.
//!
//! The verified caller travels with the request in two forms: the request extensions
//! (the identity library's [`VerifiedParticipant`] for hosts that need role and country,
//! and the DSP crate's `VerifiedParticipant` that feeds `CallerIdentity`), and a task-local
//! read by the catalog source ([`current_caller`]), whose trait carries no request.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use passerelle_dsp::message::catalog::CatalogError;
use passerelle_dsp::message::negotiation::ContractNegotiationError;
use passerelle_dsp::message::transfer::TransferError;
use passerelle_identity::dcp::{ParticipantVerifier, VerifiedParticipant, VerifyError};

tokio::task_local! {
    static CALLER: Arc<VerifiedParticipant>;
}

/// The participant the current protocol request was verified as, when DCP is on.
pub fn current_caller() -> Option<Arc<VerifiedParticipant>> {
    CALLER.try_with(Arc::clone).ok()
}

/// Runs `future` as if it served a request from `caller` (the catalog source's view).
pub async fn with_caller<F: std::future::Future>(caller: VerifiedParticipant, future: F) -> F::Output {
    CALLER.scope(Arc::new(caller), future).await
}

/// Which error body a refused request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Area {
    Catalog,
    Negotiation,
    Transfer,
}

impl Area {
    pub fn of(path: &str) -> Area {
        if path.contains("/negotiations") {
            Area::Negotiation
        } else if path.contains("/transfers") {
            Area::Transfer
        } else {
            Area::Catalog
        }
    }
}

/// Paths of the DSP router that need no token: the version document and the contexts.
pub fn is_public(path: &str) -> bool {
    path.starts_with("/.well-known/") || path.starts_with("/context/")
}

/// Axum middleware (`from_fn_with_state(verifier, require_dcp)`) for the DSP router.
pub async fn require_dcp(
    State(verifier): State<Arc<ParticipantVerifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_string();
    if is_public(&path) {
        return next.run(request).await;
    }
    match verifier.verify_headers(request.headers()).await {
        Ok(participant) => {
            tracing::debug!(caller = %participant.did, role = %participant.role, %path, "DCP caller verified");
            request.extensions_mut().insert(passerelle_dsp::process::VerifiedParticipant(participant.did.to_string()));
            request.extensions_mut().insert(participant.clone());
            CALLER.scope(Arc::new(participant), next.run(request)).await
        }
        Err(error) => refusal(Area::of(&path), &error),
    }
}

/// The DSP error body for a refused caller; internal failures keep their detail in the log.
pub fn refusal(area: Area, error: &VerifyError) -> Response {
    let status = error.status();
    let code = error.code().to_ascii_uppercase();
    tracing::warn!(status = status.as_u16(), code = %code, reason = %error, "DCP verification refused the caller");
    let reason = if status == StatusCode::INTERNAL_SERVER_ERROR {
        "the caller could not be verified because of an internal error; it has been logged".to_string()
    } else {
        error.to_string()
    };
    let body = match area {
        Area::Catalog => serde_json::to_value(CatalogError::new(code, [reason])),
        Area::Negotiation => serde_json::to_value(ContractNegotiationError::new("", "", code, [reason])),
        Area::Transfer => serde_json::to_value(TransferError::new("", "").with_code(code).with_reason(reason)),
    };
    match body {
        Ok(body) => (status, Json(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "DSP error body could not be serialized");
            status.into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_identity::dcp::AuthError;

    #[test]
    fn areas_and_public_paths_follow_the_route() {
        assert_eq!(Area::of("/dsp/2025-1/catalog/request"), Area::Catalog);
        assert_eq!(Area::of("/dsp/2025-1/negotiations/urn:uuid:1/request"), Area::Negotiation);
        assert_eq!(Area::of("/dsp/2025-1/callback/negotiations/x/agreement"), Area::Negotiation);
        assert_eq!(Area::of("/dsp/2025-1/transfers/request"), Area::Transfer);
        assert!(is_public("/.well-known/dspace-version"));
        assert!(is_public("/context/media.jsonld"));
        assert!(!is_public("/dsp/2025-1/catalog/request"));
    }

    #[tokio::test]
    async fn refusals_carry_the_areas_error_body() {
        let missing = VerifyError::Auth(AuthError::MissingAuthorization);
        let response = refusal(Area::Catalog, &missing);
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["@type"], "CatalogError");
        assert_eq!(body["code"], "MISSING_AUTHORIZATION");

        let revoked = VerifyError::Status(passerelle_identity::status::StatusError::Revoked { id: "urn:x".into() });
        let response = refusal(Area::Negotiation, &revoked);
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["@type"], "ContractNegotiationError");
        assert_eq!(body["code"], "CREDENTIAL_REVOKED");

        let internal = VerifyError::Internal("disk full at /var/x".into());
        let response = refusal(Area::Transfer, &internal);
        let body = axum::body::to_bytes(response.into_body(), 1 << 16).await.unwrap();
        assert!(!String::from_utf8_lossy(&body).contains("/var/x"));
    }
}
