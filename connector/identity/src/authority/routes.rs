//! HTTP face of the authority. Public routes (onboarding, status lists) go on the
//! protocol listener; admin routes (revoke, suspend, reinstate, list) on the
//! management listener behind its authentication.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::{Authority, AuthorityError, OnboardingError, OnboardingRequest};
use crate::status::StatusPurpose;

const ROLES: &str = "distributor, lab, broadcaster or producer";

/// `GET /status/{purpose}` (the status list credential, `application/vc+jwt`) and
/// `POST /onboarding` (an [`OnboardingRequest`] → 201 with the membership credential).
pub fn public_routes(authority: Arc<Authority>) -> axum::Router {
    axum::Router::new()
        .route("/status/{purpose}", get(status_list))
        .route("/onboarding", post(onboard))
        .with_state(authority)
}

/// `GET /members`, `POST /members/{credential_id}/revoke|suspend|reinstate`.
pub fn admin_routes(authority: Arc<Authority>) -> axum::Router {
    axum::Router::new()
        .route("/members", get(members))
        .route("/members/{credential_id}/{action}", post(change))
        .with_state(authority)
}

fn problem(status: StatusCode, reason: String) -> Response {
    tracing::warn!(status = status.as_u16(), %reason, "authority request refused");
    (status, Json(json!({"error": status.canonical_reason(), "reason": reason}))).into_response()
}

impl IntoResponse for AuthorityError {
    fn into_response(self) -> Response {
        problem(self.status(), self.to_string())
    }
}

impl IntoResponse for OnboardingError {
    fn into_response(self) -> Response {
        problem(self.status(), self.to_string())
    }
}

async fn status_list(State(authority): State<Arc<Authority>>, Path(purpose): Path<String>) -> Response {
    let Some(purpose) = StatusPurpose::parse(&purpose) else {
        return problem(StatusCode::NOT_FOUND, format!("no status list `{purpose}`; use revocation or suspension"));
    };
    match authority.status_list_credential(purpose).await {
        Ok(jwt) => ([(header::CONTENT_TYPE, "application/vc+jwt")], jwt).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn onboard(State(authority): State<Arc<Authority>>, body: axum::body::Bytes) -> Response {
    let request: OnboardingRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"presentation\": \"<vp+jwt>\", \"role\": \"<role>\"}} (role: {ROLES}): {e}"),
            );
        }
    };
    match authority.onboard(&request).await {
        Ok(onboarded) => (StatusCode::CREATED, Json(onboarded)).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn members(State(authority): State<Arc<Authority>>) -> Response {
    Json(authority.members().await).into_response()
}

async fn change(
    State(authority): State<Arc<Authority>>,
    Path((credential_id, action)): Path<(String, String)>,
) -> Response {
    let result = match action.as_str() {
        "revoke" => authority.revoke(&credential_id).await,
        "suspend" => authority.suspend(&credential_id).await,
        "reinstate" => authority.reinstate(&credential_id).await,
        other => {
            return problem(StatusCode::NOT_FOUND, format!("no action `{other}`; use revoke, suspend or reinstate"));
        }
    };
    match result {
        Ok(record) => Json(record).into_response(),
        Err(e) => e.into_response(),
    }
}
