//! The trigger routes the official TCK calls to make the connector under test act as
//! consumer (`dataspacetck.dsp.connector.negotiation.initiate.url` and
//! `dataspacetck.dsp.connector.transfer.initiate.url`), and the pull endpoint a scripted
//! start announces.
//!
//! Bodies, as the TCK's `HttpConsumer*Client` send them:
//! `{"providerId","offerId","datasetId","connectorAddress"}` and
//! `{"providerId","agreementId","format","connectorAddress"}`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use passerelle_dsp::process::Role;
use serde::Deserialize;
use serde_json::json;

use super::host::{TckHost, TriggerError};

pub const NEGOTIATION_TRIGGER: &str = "/tck/negotiations/requests";
pub const TRANSFER_TRIGGER: &str = "/tck/transfers/requests";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NegotiationTrigger {
    provider_id: String,
    offer_id: String,
    dataset_id: String,
    connector_address: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TransferTrigger {
    provider_id: String,
    agreement_id: String,
    format: String,
    connector_address: String,
}

/// The trigger and data routes over `host`.
pub fn router(host: TckHost) -> Router {
    Router::new()
        .route(NEGOTIATION_TRIGGER, post(start_negotiation))
        .route(TRANSFER_TRIGGER, post(start_transfer))
        .route("/tck/data/{pid}", get(data))
        .with_state(host)
}

fn refused(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": "tck_trigger", "message": message}))).into_response()
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], fields: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("the trigger body must be a JSON object with {fields}: {e}"))
}

fn answer(result: Result<String, TriggerError>) -> Response {
    match result {
        Ok(pid) => (StatusCode::OK, Json(json!({"consumerPid": pid}))).into_response(),
        Err(e @ TriggerError::Invalid(_)) => refused(StatusCode::BAD_REQUEST, e.to_string()),
        Err(e @ TriggerError::Peer { .. }) => refused(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

async fn start_negotiation(State(host): State<TckHost>, body: axum::body::Bytes) -> Response {
    let t: NegotiationTrigger = match parse(&body, "providerId, offerId, datasetId and connectorAddress") {
        Ok(t) => t,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message),
    };
    answer(host.start_negotiation(&t.provider_id, &t.offer_id, &t.dataset_id, &t.connector_address).await)
}

async fn start_transfer(State(host): State<TckHost>, body: axum::body::Bytes) -> Response {
    let t: TransferTrigger = match parse(&body, "providerId, agreementId, format and connectorAddress") {
        Ok(t) => t,
        Err(message) => return refused(StatusCode::BAD_REQUEST, message),
    };
    answer(host.start_transfer(&t.provider_id, &t.agreement_id, &t.format, &t.connector_address).await)
}

/// The data of a started pull transfer: a small JSON document naming the agreement.
async fn data(State(host): State<TckHost>, Path(pid): Path<String>) -> Response {
    match host.memory().transfer(Role::Provider, &pid) {
        Some(t) if t.state == passerelle_dsp::transfer::State::Started => {
            (StatusCode::OK, Json(json!({"providerPid": t.pid, "agreementId": t.agreement_id}))).into_response()
        }
        Some(t) => refused(StatusCode::CONFLICT, format!("transfer `{pid}` is {}, not STARTED", t.state.as_str())),
        None => refused(StatusCode::NOT_FOUND, format!("no transfer `{pid}` here")),
    }
}
