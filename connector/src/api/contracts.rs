//! Management routes for negotiations, agreements and transfers:
//!
//! - `POST /api/v1/negotiations` `{"counterPartyAddress", "offerId", "datasetId"?}` or `{"counterPartyAddress", "offer"}`
//!   starts a negotiation as consumer (the offer is fetched from the provider's catalog when only ids are given);
//! - `GET /api/v1/negotiations[/{pid}]`, `POST /api/v1/negotiations/{pid}/terminate` `{"reason"?}`;
//! - `GET /api/v1/agreements[/{id}]`;
//! - `POST /api/v1/transfers` `{"agreementId", "format"}` (`HttpData-PULL` or `HttpData-PUSH`);
//! - `GET /api/v1/transfers[/{pid}]`, `POST /api/v1/transfers/{pid}/{suspend|resume|complete|terminate}` `{"reason"?}`;
//! - `GET /api/v1/transfers/{pid}/data` (pulls now, or shows what was pushed) and
//!   `GET /api/v1/transfers/{pid}/edr` (the provider's endpoint data reference, token included).
//!
//! Every process shows its history, the last error from the counter-party, its outbox
//! and, when it is not moving, why (`status`).

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
use super::extract::{ApiPath, ApiQuery, decode};
use crate::contracts::{NegotiationStart, OfferChoice, ProcessError, Processes};
use crate::transfers::{TransferAction, TransferRecord};

impl From<ProcessError> for ApiError {
    fn from(e: ProcessError) -> Self {
        match &e {
            ProcessError::NotFound { .. } => ApiError::new(StatusCode::NOT_FOUND, "not_found", e.to_string()),
            ProcessError::Invalid(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string()),
            ProcessError::Conflict(_) => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            ProcessError::Peer(_) => ApiError::new(StatusCode::BAD_GATEWAY, "counter_party_failed", e.to_string()),
            ProcessError::Store(_) => {
                tracing::warn!(error = %e, "management API: store failure");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "the store is unavailable; try again")
            }
        }
    }
}

fn processes(state: &ApiState) -> Result<&Processes, ApiError> {
    state.processes.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "negotiations are not enabled on this listener")
    })
}

fn json_of<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    (status, Json(value)).into_response()
}

/// Body of `POST /api/v1/negotiations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartNegotiation {
    /// The provider's DSP address, e.g. `https://provider.example/dsp/2025-1` (a bare base URL is completed).
    pub counter_party_address: String,
    /// The `@id` of an offer in the provider's catalog.
    pub offer_id: Option<String>,
    /// The dataset that carries the offer (saves reading the whole catalog).
    pub dataset_id: Option<String>,
    /// A complete ODRL offer with its `target` (instead of `offerId`).
    #[schema(value_type = Object)]
    pub offer: Option<Value>,
}

/// Optional body of terminate/suspend actions.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    /// Why, for the counter-party.
    pub reason: Option<String>,
}

fn optional_reason(body: &Bytes) -> Result<Option<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    Ok(decode::<Reason>(body)?.reason)
}

/// Start a negotiation as consumer.
#[utoipa::path(post, path = "/api/v1/negotiations", tag = "negotiations", request_body = StartNegotiation,
    responses((status = 201, description = "The negotiation, REQUESTED; the request is sent by the outbox"),
        (status = 422, body = super::ErrorBody), (status = 502, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn start_negotiation(State(state): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    let request: StartNegotiation = decode(&body)?;
    let offer = match (request.offer, request.offer_id) {
        (Some(offer), None) => OfferChoice::Full(offer),
        (None, Some(offer_id)) => OfferChoice::ById { offer_id, dataset_id: request.dataset_id },
        _ => {
            return Err(ApiError::invalid_field(
                "offerId",
                "give either `offerId` (with `datasetId` if you know it) or a complete `offer`",
            ));
        }
    };
    let start = NegotiationStart { counter_party_address: request.counter_party_address, offer };
    let view = processes(&state)?.start_negotiation(start).await?;
    Ok(json_of(StatusCode::CREATED, &view))
}

/// Every negotiation (both roles), newest first.
#[utoipa::path(get, path = "/api/v1/negotiations", tag = "negotiations",
    responses((status = 200, description = "`{\"items\": [negotiation…]}`")), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_negotiations(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let items = processes(&state)?.negotiations().await?;
    Ok(json_of(StatusCode::OK, &json!({ "items": items })))
}

/// Query of `GET /api/v1/negotiations/{pid}`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NegotiationQuery {
    /// Long poll: answer once the negotiation is FINALIZED or TERMINATED, or after this many
    /// milliseconds (at most 30000) with its state then.
    pub wait_ms: Option<u64>,
}

/// One negotiation with its history, last error, outbox and status.
#[utoipa::path(get, path = "/api/v1/negotiations/{pid}", tag = "negotiations", params(("pid" = String, Path), NegotiationQuery),
    responses((status = 200, description = "The negotiation"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_negotiation(
    State(state): State<ApiState>,
    ApiPath(pid): ApiPath<String>,
    ApiQuery(query): ApiQuery<NegotiationQuery>,
) -> Result<Response, ApiError> {
    let processes = processes(&state)?;
    let view = match query.wait_ms {
        Some(ms) => processes.wait_negotiation(&pid, std::time::Duration::from_millis(ms)).await?,
        None => processes.negotiation(&pid).await?,
    };
    Ok(json_of(StatusCode::OK, &view))
}

/// Terminate a negotiation.
#[utoipa::path(post, path = "/api/v1/negotiations/{pid}/terminate", tag = "negotiations", params(("pid" = String, Path)),
    request_body(content = Reason, description = "optional"),
    responses((status = 200, description = "The negotiation, TERMINATED"), (status = 409, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn terminate_negotiation(
    State(state): State<ApiState>,
    ApiPath(pid): ApiPath<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let reason = optional_reason(&body)?;
    Ok(json_of(StatusCode::OK, &processes(&state)?.terminate_negotiation(&pid, reason).await?))
}

/// Every agreement, newest first.
#[utoipa::path(get, path = "/api/v1/agreements", tag = "negotiations",
    responses((status = 200, description = "`{\"items\": [agreement…]}`")), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_agreements(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let items = processes(&state)?.agreements().await?;
    Ok(json_of(StatusCode::OK, &json!({ "items": items })))
}

/// One agreement.
#[utoipa::path(get, path = "/api/v1/agreements/{id}", tag = "negotiations", params(("id" = String, Path)),
    responses((status = 200, body = crate::contracts::AgreementRecord), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_agreement(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(json_of(StatusCode::OK, &processes(&state)?.agreement(&id).await?))
}

/// Body of `POST /api/v1/transfers`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StartTransfer {
    /// A finalized agreement this connector holds as consumer.
    pub agreement_id: String,
    /// `HttpData-PULL` or `HttpData-PUSH`.
    pub format: String,
    /// With `HttpData-PUSH` on a work or collection: receive its versions-and-rights feed by push (every change,
    /// as it happens, into this connector's feed inbox) instead of a one-off push of its documents.
    #[serde(default)]
    pub feed: bool,
}

/// Request a transfer under an agreement.
#[utoipa::path(post, path = "/api/v1/transfers", tag = "transfers", request_body = StartTransfer,
    responses((status = 201, description = "The transfer, REQUESTED"), (status = 404, body = super::ErrorBody),
        (status = 409, body = super::ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn start_transfer(State(state): State<ApiState>, body: Bytes) -> Result<Response, ApiError> {
    let request: StartTransfer = decode(&body)?;
    let view = processes(&state)?.request_transfer(&request.agreement_id, &request.format, request.feed).await?;
    Ok(json_of(StatusCode::CREATED, &view))
}

/// Every transfer (both roles), newest first.
#[utoipa::path(get, path = "/api/v1/transfers", tag = "transfers",
    responses((status = 200, description = "`{\"items\": [transfer…]}`")), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_transfers(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let items = processes(&state)?.transfers().await?;
    Ok(json_of(StatusCode::OK, &json!({ "items": items })))
}

/// One transfer with its history, last error, outbox and status (tokens redacted).
#[utoipa::path(get, path = "/api/v1/transfers/{pid}", tag = "transfers", params(("pid" = String, Path)),
    responses((status = 200, description = "The transfer"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_transfer(State(state): State<ApiState>, ApiPath(pid): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(json_of(StatusCode::OK, &processes(&state)?.transfer(&pid).await?))
}

/// Suspend, resume, complete or terminate a transfer.
#[utoipa::path(post, path = "/api/v1/transfers/{pid}/{action}", tag = "transfers",
    params(("pid" = String, Path), ("action" = String, Path, description = "suspend, resume, complete or terminate")),
    request_body(content = Reason, description = "optional"),
    responses((status = 200, description = "The transfer"), (status = 409, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn act_on_transfer(
    State(state): State<ApiState>,
    ApiPath((pid, action)): ApiPath<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let Some(action) = TransferAction::parse(&action) else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("`{action}` is not a transfer action: use suspend, resume, complete or terminate"),
        ));
    };
    let reason = optional_reason(&body)?;
    Ok(json_of(StatusCode::OK, &processes(&state)?.act_on_transfer(&pid, action, reason).await?))
}

/// The transfer's data: pulled now from the provider (PULL) or as pushed (PUSH).
#[utoipa::path(get, path = "/api/v1/transfers/{pid}/data", tag = "transfers", params(("pid" = String, Path)),
    responses((status = 200, description = "The dataset's JSON-LD documents"), (status = 409, body = super::ErrorBody),
        (status = 502, body = super::ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn transfer_data(State(state): State<ApiState>, ApiPath(pid): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(json_of(StatusCode::OK, &processes(&state)?.transfer_data(&pid).await?))
}

/// Reads the next page of a feed we follow (a STARTED PULL transfer on a work) and keeps it: every
/// change of the work, its versions and rights windows since the last read, in order.
#[utoipa::path(get, path = "/api/v1/transfers/{pid}/feed", tag = "transfers", params(("pid" = String, Path)),
    responses((status = 200, description = "The new changes, the cursor and whether more follow"),
        (status = 409, body = super::ErrorBody), (status = 502, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn transfer_feed(State(state): State<ApiState>, ApiPath(pid): ApiPath<String>) -> Result<Response, ApiError> {
    Ok(json_of(StatusCode::OK, &processes(&state)?.follow_feed(&pid).await?))
}

/// The provider's endpoint data reference of a pull transfer we consume, token included.
#[utoipa::path(get, path = "/api/v1/transfers/{pid}/edr", tag = "transfers", params(("pid" = String, Path)),
    responses((status = 200, description = "The data address"), (status = 404, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn transfer_edr(State(state): State<ApiState>, ApiPath(pid): ApiPath<String>) -> Result<Response, ApiError> {
    let record: Option<TransferRecord> = processes(&state)?.transfer_record(&pid).await?;
    let address = record
        .filter(|r| r.side == passerelle_dsp::process::Role::Consumer)
        .and_then(|r| r.data_address)
        .ok_or_else(|| ApiError::not_found("data address of transfer", &pid))?;
    Ok(json_of(StatusCode::OK, &address))
}
