//! The management REST API, served on the private listener.
//!
//! - `GET /health` — liveness and store check, no authentication;
//! - `GET /api/v1/openapi.json` — this API's OpenAPI 3.1 document, no authentication (it holds no data);
//! - everything else under `/api/v1` needs the API key, sent as `X-Api-Key: <key>` or
//!   `Authorization: Bearer <key>` (compared in constant time).
//!
//! Every error is `{"error", "message", "field"?}` ([`error::ErrorBody`]) with a 4xx for
//! any bad input: malformed JSON, wrong content type, wrong types, unknown enum
//! values, invalid identifiers, invalid policies, unknown ids, bad paging.

mod catalogue;
mod contracts;
pub mod error;
pub mod extract;
mod imports;
mod orders;
pub mod paging;
mod policies;
pub mod schema;
mod services;
mod works;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::openapi::security::{ApiKey as ApiKeyScheme, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::secrets::ApiKey;
use crate::store::Store;
use error::{ApiError, ErrorBody};

/// Header carrying the API key (the alternative is `Authorization: Bearer`).
pub const API_KEY_HEADER: &str = "x-api-key";

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    store: Store,
    api_key: Arc<ApiKey>,
    /// Negotiations and transfers (absent: those routes answer 503).
    processes: Option<crate::contracts::Processes>,
    /// The federated catalogue (absent: search answers 503 and nothing is notified).
    catalogue: Option<crate::catalogue::client::CatalogueClient>,
    /// Subtitle orders (absent: those routes answer 503).
    orders: Option<crate::exchange::Orders>,
}

impl ApiState {
    pub fn new(store: Store, api_key: ApiKey) -> ApiState {
        ApiState { store, api_key: Arc::new(api_key), processes: None, catalogue: None, orders: None }
    }

    /// Serves the negotiation, agreement and transfer routes from `processes`.
    pub fn with_processes(mut self, processes: crate::contracts::Processes) -> ApiState {
        self.processes = Some(processes);
        self
    }

    /// Serves the subtitle order routes from `orders`.
    pub fn with_orders(mut self, orders: crate::exchange::Orders) -> ApiState {
        self.orders = Some(orders);
        self
    }

    /// Searches `client`'s catalogue and notifies it after offer changes.
    pub fn with_catalogue(mut self, client: crate::catalogue::client::CatalogueClient) -> ApiState {
        self.catalogue = Some(client);
        self
    }
}

/// The whole management router: `/health`, `/api/v1/openapi.json` and the authenticated `/api/v1/…`.
pub fn management_router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/works", get(works::list_works).post(works::create_work))
        .route("/works/{id}", get(works::get_work).put(works::put_work).delete(works::delete_work))
        .route("/works/{id}/versions", get(works::list_versions).post(works::create_version))
        .route(
            "/works/{id}/versions/{version_id}",
            get(works::get_version).put(works::put_version).delete(works::delete_version),
        )
        .route("/works/{id}/rights", get(works::list_rights).post(works::create_rights))
        .route(
            "/works/{id}/rights/{rights_id}",
            get(works::get_rights).put(works::put_rights).delete(works::delete_rights),
        )
        .route("/policies", get(policies::list_policies).post(policies::create_policy))
        .route("/policies/{id}", get(policies::get_policy).put(policies::put_policy).delete(policies::delete_policy))
        .route("/offer-definitions", get(policies::list_definitions).post(policies::create_definition))
        .route(
            "/offer-definitions/{id}",
            get(policies::get_definition).put(policies::put_definition).delete(policies::delete_definition),
        )
        .route("/services", get(services::list_services).post(services::create_service))
        .route("/services/{id}", get(services::get_service).put(services::put_service).delete(services::delete_service))
        .route("/imports", get(imports::list_imports))
        .route("/negotiations", get(contracts::list_negotiations).post(contracts::start_negotiation))
        .route("/negotiations/{pid}", get(contracts::get_negotiation))
        .route("/negotiations/{pid}/terminate", post(contracts::terminate_negotiation))
        .route("/agreements", get(contracts::list_agreements))
        .route("/agreements/{id}", get(contracts::get_agreement))
        .route("/transfers", get(contracts::list_transfers).post(contracts::start_transfer))
        .route("/transfers/{pid}", get(contracts::get_transfer))
        .route("/transfers/{pid}/data", get(contracts::transfer_data))
        .route("/transfers/{pid}/edr", get(contracts::transfer_edr))
        .route("/transfers/{pid}/feed", get(contracts::transfer_feed))
        .route("/transfers/{pid}/{action}", post(contracts::act_on_transfer))
        .route("/catalogue/search", get(catalogue::search))
        .route("/orders", get(orders::list_orders).post(orders::place_order))
        .route("/orders/{id}", get(orders::get_order))
        .route("/orders/{id}/events", post(orders::send_event))
        .route("/orders/{id}/deliveries", post(orders::deliver))
        .route("/orders/{id}/deliveries/{n}", get(orders::get_delivery))
        .route("/orders/{id}/deliveries/{n}/mhl", get(orders::delivery_mhl))
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(state.clone(), catalogue::notify_on_change))
        .layer(middleware::from_fn_with_state(state.clone(), require_api_key));

    Router::new()
        .route("/health", get(health))
        .route("/api/v1/openapi.json", get(openapi_json))
        .nest("/api/v1", protected)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

/// Refuses requests without the right API key, before any body is read.
async fn require_api_key(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let from_header = headers.get(API_KEY_HEADER).map(|v| v.to_str().unwrap_or_default().to_string());
    let from_bearer = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string())
    });
    match from_header.or(from_bearer) {
        None => ApiError::unauthorized(
            "missing API key: send it in the X-Api-Key header or as `Authorization: Bearer <key>` \
             (the key is in the file named by management.api_key_file)",
        )
        .into_response(),
        Some(candidate) if state.api_key.matches(&candidate) => next.run(request).await,
        // Never echo what was sent: it may be a real secret for something else.
        Some(_) => ApiError::unauthorized("the API key is not valid for this connector").into_response(),
    }
}

async fn unknown_route() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint; see /api/v1/openapi.json for the API")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not support that HTTP method; see /api/v1/openapi.json",
    )
}

/// Liveness report.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// `ok` or `unavailable`.
    pub store: &'static str,
    pub version: &'static str,
}

/// Liveness and store check (no authentication).
#[utoipa::path(get, path = "/health", tag = "health",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
async fn health(State(state): State<ApiState>) -> (StatusCode, Json<Health>) {
    let version = env!("CARGO_PKG_VERSION");
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, Json(Health { status: "ok", store: "ok", version })),
        Err(e) => {
            tracing::warn!(error = %e, "health check: store unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, Json(Health { status: "degraded", store: "unavailable", version }))
        }
    }
}

async fn openapi_json() -> Response {
    Json(ApiDoc::openapi()).into_response()
}

/// Path segment form of an id for `Location` headers: percent-encoded, so `/` stays inside the segment.
pub(crate) fn percent_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKeyScheme::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "The management API key (management.api_key_file)",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The management API key as a bearer token"))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of the management API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Passerelle management API",
        description = "Manage the works, versions, rights windows, ODRL policies, offer definitions and services a Passerelle \
                       connector publishes in its Dataspace Protocol catalog. Errors are always \
                       {\"error\", \"message\", \"field\"?} with a 4xx for bad input."
    ),
    paths(
        health,
        works::list_works, works::create_work, works::get_work, works::put_work, works::delete_work,
        works::list_versions, works::create_version, works::get_version, works::put_version, works::delete_version,
        works::list_rights, works::create_rights, works::get_rights, works::put_rights, works::delete_rights,
        policies::list_policies, policies::create_policy, policies::get_policy, policies::put_policy, policies::delete_policy,
        policies::list_definitions, policies::create_definition, policies::get_definition, policies::put_definition,
        policies::delete_definition,
        services::list_services, services::create_service, services::get_service, services::put_service,
        services::delete_service,
        imports::list_imports,
        contracts::start_negotiation, contracts::list_negotiations, contracts::get_negotiation,
        contracts::terminate_negotiation, contracts::list_agreements, contracts::get_agreement,
        contracts::start_transfer, contracts::list_transfers, contracts::get_transfer, contracts::act_on_transfer,
        contracts::transfer_data, contracts::transfer_edr, contracts::transfer_feed,
        catalogue::search,
        orders::place_order, orders::list_orders, orders::get_order, orders::send_event,
        orders::deliver, orders::get_delivery, orders::delivery_mhl,
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "works", description = "Works with their versions and rights windows"),
        (name = "policies", description = "ODRL 2.2 policies (media profile)"),
        (name = "offer definitions", description = "Which works are offered under which policy; each is also a collection dataset"),
        (name = "services", description = "A lab's services (subtitling: languages, kinds, formats, turnaround, price); each is a service dataset"),
        (name = "imports", description = "Log of MAM file imports"),
        (name = "negotiations", description = "Contract negotiations (DSP) and the agreements they produce"),
        (name = "transfers", description = "Transfer processes (DSP) and their data"),
        (name = "orders", description = "Subtitle orders between a distributor and a lab, with their event logs"),
        (name = "catalogue", description = "The data space's federated catalogue, searched through this connector"),
        (name = "health", description = "Liveness"),
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests;
