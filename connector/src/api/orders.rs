//! Management routes for subtitle orders (`crate::exchange`):
//!
//! - `POST /api/v1/orders` `{"transferPid", "order"}` (distributor): places the order with the lab of that
//!   transfer; 201 with the order, 403 `agreement_refused` with the policy's explanation, 422 naming the field;
//! - `GET /api/v1/orders`: every order, either side;
//! - `GET /api/v1/orders/{id}`: state, log (each event with its delivery), SLA alerts;
//! - `POST /api/v1/orders/{id}/events` `{"event"}`: this side's next event (the side is the order's); 409 when
//!   the state machine does not allow it now (the message lists what is allowed), 422 for a bad event;
//! - `POST /api/v1/orders/{id}/deliveries` `{"folder", "manifest"?}` (lab): delivers the folder (under an outbox
//!   root) with its manifest; 201 with the order, 422 naming `folder` or `manifest`, 409 when not deliverable now;
//! - `GET /api/v1/orders/{id}/deliveries/{n}`: one delivery (manifest, verification, receipt, QC);
//! - `GET /api/v1/orders/{id}/deliveries/{n}/mhl`: that delivery as an ASC MHL v2 generation (XML).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::ApiState;
use super::error::ApiError;
use super::extract::{ApiPath, decode};
use crate::exchange::{OrderError, Orders};

impl From<OrderError> for ApiError {
    fn from(e: OrderError) -> Self {
        match e {
            OrderError::NotFound(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            OrderError::Invalid { field, message } => ApiError::invalid_field(&field, message),
            OrderError::Refused(explanation) => ApiError::new(
                StatusCode::FORBIDDEN,
                "agreement_refused",
                format!("the agreement does not permit this order:\n{explanation}"),
            ),
            OrderError::Conflict { message, .. } => ApiError::new(StatusCode::CONFLICT, "conflict", message),
            OrderError::Peer(_) => ApiError::new(StatusCode::BAD_GATEWAY, "counter_party_failed", e.to_string()),
            OrderError::Store(_) => {
                tracing::warn!(error = %e, "management API: order store failure");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable; try again")
            }
        }
    }
}

fn orders(state: &ApiState) -> Result<&Orders, ApiError> {
    state.orders.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "orders are not enabled on this listener")
    })
}

/// Body of `POST /api/v1/orders`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlaceOrder {
    /// Our (consumer) pid of a STARTED pull transfer under the lab's service agreement.
    pub transfer_pid: String,
    /// The subtitle order (`passerelle-exchange`'s `Order`, camelCase).
    #[schema(value_type = Object)]
    pub order: Value,
}

/// Body of `POST /api/v1/orders/{id}/events`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendEvent {
    /// The event, e.g. `{"type": "Quoted", "note": "5 working days"}`.
    #[schema(value_type = Object)]
    pub event: Value,
}

/// Place a subtitle order with a lab (distributor).
#[utoipa::path(post, path = "/api/v1/orders", tag = "orders", request_body = PlaceOrder,
    responses((status = 201, description = "The order, REQUESTED at the lab"), (status = 403, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody),
        (status = 502, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn place_order(State(state): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    let request: PlaceOrder = decode(&body)?;
    let view = orders(&state)?.place(&request.transfer_pid, &request.order).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Every order (both sides), newest first.
#[utoipa::path(get, path = "/api/v1/orders", tag = "orders",
    responses((status = 200, description = "`{\"items\": [order…]}`")), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_orders(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let items = orders(&state)?.list().await?;
    Ok(Json(json!({ "items": items })).into_response())
}

/// One order: state, log with delivery status, SLA alerts.
#[utoipa::path(get, path = "/api/v1/orders/{id}", tag = "orders", params(("id" = String, Path)),
    responses((status = 200, description = "The order"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_order(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    let view = orders(&state)?.view(&id).await?;
    Ok(Json(view).into_response())
}

/// Send this side's next event on an order; it is delivered to the other party by the order event loop.
#[utoipa::path(post, path = "/api/v1/orders/{id}/events", tag = "orders", params(("id" = String, Path)),
    request_body = SendEvent,
    responses((status = 201, description = "The order with the event applied"), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn send_event(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: SendEvent = decode(&body)?;
    let view = orders(&state)?.send(&id, &request.event).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Body of `POST /api/v1/orders/{id}/deliveries` (checked by `Orders::deliver`, which names the field at fault).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliverFolder {
    /// An absolute folder under an outbox root (`<connector folder>/deliveries-out/` by default); required.
    pub folder: Option<String>,
    /// A `passerelle-delivery` manifest of the folder's files; built from the folder (or its `ascmhl/`) when absent.
    #[schema(value_type = Object)]
    pub manifest: Option<Value>,
}

/// Deliver a folder on an order (lab): its manifest travels with the Delivered event, the files are served to the
/// distributor on the protocol listener.
#[utoipa::path(post, path = "/api/v1/orders/{id}/deliveries", tag = "orders", params(("id" = String, Path)),
    request_body = DeliverFolder,
    responses((status = 201, description = "The order, DELIVERED"), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody), (status = 422, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn deliver(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: DeliverFolder = decode(&body)?;
    let request = json!({"folder": request.folder, "manifest": request.manifest});
    let view = orders(&state)?.deliver(&id, &request).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

fn delivery_number(n: &str) -> Result<u64, ApiError> {
    n.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("`{n}` is not a delivery number (1, 2, …)"))
    })
}

/// One delivery of an order: manifest, verification, receipt, QC.
#[utoipa::path(get, path = "/api/v1/orders/{id}/deliveries/{n}", tag = "orders",
    params(("id" = String, Path), ("n" = u64, Path)),
    responses((status = 200, description = "The delivery"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_delivery(
    State(state): State<ApiState>,
    ApiPath((id, n)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let view = orders(&state)?.delivery(&id, delivery_number(&n)?).await?;
    Ok(Json(view).into_response())
}

/// One delivery as an ASC MHL v2 generation.
#[utoipa::path(get, path = "/api/v1/orders/{id}/deliveries/{n}/mhl", tag = "orders",
    params(("id" = String, Path), ("n" = u64, Path)),
    responses((status = 200, description = "ASC MHL v2 XML"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn delivery_mhl(
    State(state): State<ApiState>,
    ApiPath((id, n)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    let xml = orders(&state)?.delivery_mhl(&id, delivery_number(&n)?).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}
