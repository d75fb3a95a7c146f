//! The contract negotiation HTTPS binding: provider routes under
//! `/dsp/2025-1/negotiations/…` and consumer callback routes under
//! `/dsp/2025-1/callback/negotiations/…`, plus the consumer's
//! `POST /dsp/2025-1/negotiations/offers` that starts a provider-initiated
//! negotiation.
//!
//! Consumer callbacks need their own prefix: the bindings give provider and
//! consumer the same relative paths (`negotiations/{pid}/termination`, …), and
//! one connector plays both roles.

use axum::Router;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::process::{Area, deliver, lookup};
use super::{CALLBACK_PATH, role};
use crate::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage,
};
use crate::message::version::PROTOCOL_PATH;
use crate::message::{DspMessage, parse_message};
use crate::negotiation::{NegotiationHost, NegotiationMessage};
use crate::process::CallerIdentity;

/// Every negotiation route, provider and consumer side, delegating to `host`.
pub fn negotiation_router<H: NegotiationHost>(host: H) -> Router {
    let provider = format!("{PROTOCOL_PATH}/negotiations");
    let consumer = format!("{CALLBACK_PATH}/negotiations");
    Router::new()
        .route(&format!("{provider}/request"), post(create::<H, ContractRequestMessage, true>))
        .route(&format!("{provider}/offers"), post(create::<H, ContractOfferMessage, false>))
        .route(&format!("{provider}/{{pid}}"), get(fetch::<H, true>))
        .route(&format!("{provider}/{{pid}}/request"), post(update::<H, ContractRequestMessage, true>))
        .route(&format!("{provider}/{{pid}}/events"), post(update::<H, ContractNegotiationEventMessage, true>))
        .route(
            &format!("{provider}/{{pid}}/agreement/verification"),
            post(update::<H, ContractAgreementVerificationMessage, true>),
        )
        .route(
            &format!("{provider}/{{pid}}/termination"),
            post(update::<H, ContractNegotiationTerminationMessage, true>),
        )
        .route(&format!("{consumer}/{{pid}}"), get(fetch::<H, false>))
        .route(&format!("{consumer}/{{pid}}/offers"), post(update::<H, ContractOfferMessage, false>))
        .route(&format!("{consumer}/{{pid}}/agreement"), post(update::<H, ContractAgreementMessage, false>))
        .route(&format!("{consumer}/{{pid}}/events"), post(update::<H, ContractNegotiationEventMessage, false>))
        .route(
            &format!("{consumer}/{{pid}}/termination"),
            post(update::<H, ContractNegotiationTerminationMessage, false>),
        )
        .with_state(host)
}

fn parse<T: DspMessage + DeserializeOwned + Into<NegotiationMessage>>(
    body: &[u8],
) -> Result<NegotiationMessage, crate::message::MessageError> {
    parse_message::<T>(body).map(Into::into)
}

/// `POST` to a route that creates a negotiation (201 + ACK).
async fn create<H, T, const PROVIDER: bool>(
    State(host): State<H>,
    caller: CallerIdentity,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    H: NegotiationHost,
    T: DspMessage + DeserializeOwned + Into<NegotiationMessage>,
{
    let side = role(PROVIDER);
    deliver(Area::Negotiation, side, None, body, parse::<T>, NegotiationMessage::pid_of, true, |pid, message| {
        host.on_message(side, pid, message, caller)
    })
    .await
}

/// `POST` to a route of an existing negotiation (200 + ACK).
async fn update<H, T, const PROVIDER: bool>(
    State(host): State<H>,
    path: Result<Path<String>, PathRejection>,
    caller: CallerIdentity,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    H: NegotiationHost,
    T: DspMessage + DeserializeOwned + Into<NegotiationMessage>,
{
    let side = role(PROVIDER);
    deliver(Area::Negotiation, side, Some(path), body, parse::<T>, NegotiationMessage::pid_of, false, |pid, message| {
        host.on_message(side, pid, message, caller)
    })
    .await
}

/// `GET` of a negotiation.
async fn fetch<H: NegotiationHost, const PROVIDER: bool>(
    State(host): State<H>,
    path: Result<Path<String>, PathRejection>,
    caller: CallerIdentity,
) -> Response {
    let side = role(PROVIDER);
    lookup(Area::Negotiation, side, path, |pid| async move { host.get(side, &pid, caller).await }).await
}
