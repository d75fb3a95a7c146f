//! The transfer process HTTPS binding: provider routes under
//! `/dsp/2025-1/transfers/…`, consumer callback routes under
//! `/dsp/2025-1/callback/transfers/…` (including a `GET`, which the binding's
//! table omits but the TCK uses to read the consumer's state).

use axum::Router;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::process::{Area, deliver, lookup};
use super::{CALLBACK_PATH, role};
use crate::message::transfer::{
    TransferCompletionMessage, TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
    TransferTerminationMessage,
};
use crate::message::version::PROTOCOL_PATH;
use crate::message::{DspMessage, parse_message};
use crate::process::CallerIdentity;
use crate::transfer::{TransferHost, TransferMessage};

/// Every transfer route, provider and consumer side, delegating to `host`.
pub fn transfer_router<H: TransferHost>(host: H) -> Router {
    let provider = format!("{PROTOCOL_PATH}/transfers");
    let consumer = format!("{CALLBACK_PATH}/transfers");
    Router::new()
        .route(&format!("{provider}/request"), post(create::<H, TransferRequestMessage>))
        .route(&format!("{provider}/{{pid}}"), get(fetch::<H, true>))
        .route(&format!("{provider}/{{pid}}/start"), post(update::<H, TransferStartMessage, true>))
        .route(&format!("{provider}/{{pid}}/completion"), post(update::<H, TransferCompletionMessage, true>))
        .route(&format!("{provider}/{{pid}}/termination"), post(update::<H, TransferTerminationMessage, true>))
        .route(&format!("{provider}/{{pid}}/suspension"), post(update::<H, TransferSuspensionMessage, true>))
        .route(&format!("{consumer}/{{pid}}"), get(fetch::<H, false>))
        .route(&format!("{consumer}/{{pid}}/start"), post(update::<H, TransferStartMessage, false>))
        .route(&format!("{consumer}/{{pid}}/completion"), post(update::<H, TransferCompletionMessage, false>))
        .route(&format!("{consumer}/{{pid}}/termination"), post(update::<H, TransferTerminationMessage, false>))
        .route(&format!("{consumer}/{{pid}}/suspension"), post(update::<H, TransferSuspensionMessage, false>))
        .with_state(host)
}

fn parse<T: DspMessage + DeserializeOwned + Into<TransferMessage>>(
    body: &[u8],
) -> Result<TransferMessage, crate::message::MessageError> {
    parse_message::<T>(body).map(Into::into)
}

/// `POST /transfers/request` on the provider (201 + ACK).
async fn create<H, T>(State(host): State<H>, caller: CallerIdentity, body: Result<Bytes, BytesRejection>) -> Response
where
    H: TransferHost,
    T: DspMessage + DeserializeOwned + Into<TransferMessage>,
{
    let side = role(true);
    deliver(Area::Transfer, side, None, body, parse::<T>, TransferMessage::pid_of, true, |pid, message| {
        host.on_message(side, pid, message, caller)
    })
    .await
}

/// `POST` to a route of an existing transfer (200 + ACK).
async fn update<H, T, const PROVIDER: bool>(
    State(host): State<H>,
    path: Result<Path<String>, PathRejection>,
    caller: CallerIdentity,
    body: Result<Bytes, BytesRejection>,
) -> Response
where
    H: TransferHost,
    T: DspMessage + DeserializeOwned + Into<TransferMessage>,
{
    let side = role(PROVIDER);
    deliver(Area::Transfer, side, Some(path), body, parse::<T>, TransferMessage::pid_of, false, |pid, message| {
        host.on_message(side, pid, message, caller)
    })
    .await
}

/// `GET` of a transfer process.
async fn fetch<H: TransferHost, const PROVIDER: bool>(
    State(host): State<H>,
    path: Result<Path<String>, PathRejection>,
    caller: CallerIdentity,
) -> Response {
    let side = role(PROVIDER);
    lookup(Area::Transfer, side, path, |pid| async move { host.get(side, &pid, caller).await }).await
}
