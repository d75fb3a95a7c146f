//! The handler core shared by negotiation and transfer routes: read the path
//! pid and the body, check the pids agree, delegate, and turn the outcome into
//! the ACK (201 on creation, 200 otherwise) or the area's error body.

use std::future::Future;

use axum::Json;
use axum::extract::Path;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;

use crate::message::MessageError;
use crate::message::negotiation::ContractNegotiationError;
use crate::message::transfer::TransferError;
use crate::process::{ProtocolError, Role};

/// Which error body a route answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Area {
    Negotiation,
    Transfer,
}

/// A refusal before or after the host was asked.
struct Failure {
    status: StatusCode,
    code: &'static str,
    reason: String,
}

impl From<ProtocolError> for Failure {
    fn from(error: ProtocolError) -> Self {
        if error.status().is_server_error() {
            tracing::error!(%error, "DSP process message failed");
        }
        Failure { status: error.status(), code: error.code(), reason: error.public_reason() }
    }
}

/// The pids known for the error body; unknown ones are written as empty strings
/// (the schemas require both members, and there is no better value for a
/// process that does not exist).
#[derive(Default)]
struct Pids {
    provider: Option<String>,
    consumer: Option<String>,
}

impl Pids {
    fn set(&mut self, role: Role, pid: Option<&str>) {
        let slot = match role {
            Role::Provider => &mut self.provider,
            Role::Consumer => &mut self.consumer,
        };
        if slot.is_none() {
            *slot = pid.map(str::to_string);
        }
    }
}

fn pid_member(role: Role) -> &'static str {
    match role {
        Role::Provider => "providerPid",
        Role::Consumer => "consumerPid",
    }
}

fn error_response(area: Area, failure: Failure, pids: Pids) -> Response {
    let provider = pids.provider.unwrap_or_default();
    let consumer = pids.consumer.unwrap_or_default();
    tracing::debug!(status = %failure.status, code = failure.code, reason = %failure.reason, "DSP process request refused");
    let body = match area {
        Area::Negotiation => {
            serde_json::to_value(ContractNegotiationError::new(provider, consumer, failure.code, [failure.reason]))
        }
        Area::Transfer => serde_json::to_value(
            TransferError::new(provider, consumer).with_code(failure.code).with_reason(failure.reason),
        ),
    };
    match body {
        Ok(body) => (failure.status, Json(body)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "DSP error body could not be serialized");
            failure.status.into_response()
        }
    }
}

/// The pids a body names, read leniently for the error body of a message we could not parse.
fn pids_in(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else { return (None, None) };
    let member = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    (member("providerPid"), member("consumerPid"))
}

fn path_pid(path: Option<Result<Path<String>, PathRejection>>) -> Result<Option<String>, Failure> {
    match path {
        None => Ok(None),
        Some(Ok(Path(pid))) => Ok(Some(pid)),
        Some(Err(rejection)) => Err(Failure {
            status: StatusCode::BAD_REQUEST,
            code: "INVALID_PID",
            reason: format!("the process id in the path is not usable: {}", rejection.body_text()),
        }),
    }
}

/// One POST: `side` is this connector's role, `path` the pid segment (absent on
/// creating routes), `parse` reads the route's message type.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn deliver<M, A, Fut>(
    area: Area,
    side: Role,
    path: Option<Result<Path<String>, PathRejection>>,
    body: Result<Bytes, BytesRejection>,
    parse: impl FnOnce(&[u8]) -> Result<M, MessageError>,
    pid_of: fn(&M, Role) -> Option<&str>,
    created: bool,
    call: impl FnOnce(Option<String>, M) -> Fut,
) -> Response
where
    A: Serialize,
    Fut: Future<Output = Result<A, ProtocolError>>,
{
    let mut pids = Pids::default();
    let path_pid = match path_pid(path) {
        Ok(pid) => pid,
        Err(failure) => return error_response(area, failure, pids),
    };
    pids.set(side, path_pid.as_deref());
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(rejection) => {
            let failure =
                Failure { status: rejection.status(), code: "UNREADABLE_BODY", reason: rejection.body_text() };
            return error_response(area, failure, pids);
        }
    };
    let message = match parse(&bytes) {
        Ok(message) => message,
        Err(error) => {
            let (provider, consumer) = pids_in(&bytes);
            pids.set(Role::Provider, provider.as_deref());
            pids.set(Role::Consumer, consumer.as_deref());
            let failure =
                Failure { status: StatusCode::BAD_REQUEST, code: "INVALID_MESSAGE", reason: error.to_string() };
            return error_response(area, failure, pids);
        }
    };
    let ours = pid_of(&message, side).map(str::to_string);
    pids.set(side, ours.as_deref());
    pids.set(side.counterpart(), pid_of(&message, side.counterpart()));

    let mismatch = match (&path_pid, &ours) {
        (Some(path), Some(body)) if path != body => Some(format!(
            "the body's `{}` is `{body}` but the path names `{path}`: post the message to the endpoint of `{body}` or correct the body",
            pid_member(side)
        )),
        (None, Some(body)) => Some(format!(
            "the message names `{}` `{body}`, so it belongs to an existing process: post it to that process's endpoint, not to the one that creates processes",
            pid_member(side)
        )),
        _ => None,
    };
    if let Some(reason) = mismatch {
        return error_response(area, Failure { status: StatusCode::BAD_REQUEST, code: "PID_MISMATCH", reason }, pids);
    }

    match call(path_pid, message).await {
        Ok(ack) => {
            let status = if created { StatusCode::CREATED } else { StatusCode::OK };
            (status, Json(ack)).into_response()
        }
        Err(error) => error_response(area, error.into(), pids),
    }
}

/// One GET of a process by this side's pid.
pub(crate) async fn lookup<A, Fut>(
    area: Area,
    side: Role,
    path: Result<Path<String>, PathRejection>,
    call: impl FnOnce(String) -> Fut,
) -> Response
where
    A: Serialize,
    Fut: Future<Output = Result<A, ProtocolError>>,
{
    let mut pids = Pids::default();
    let pid = match path_pid(Some(path)) {
        Ok(Some(pid)) => pid,
        Ok(None) => return error_response(area, ProtocolError::Internal("GET route without pid".into()).into(), pids),
        Err(failure) => return error_response(area, failure, pids),
    };
    pids.set(side, Some(&pid));
    match call(pid).await {
        Ok(ack) => (StatusCode::OK, Json(ack)).into_response(),
        Err(error) => error_response(area, error.into(), pids),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pids_are_read_leniently_from_broken_bodies() {
        assert_eq!(pids_in(br#"{"providerPid":"p","consumerPid":7}"#), (Some("p".to_string()), None),);
        assert_eq!(pids_in(b"not json"), (None, None));
    }

    #[test]
    fn the_first_known_pid_wins() {
        let mut pids = Pids::default();
        pids.set(Role::Provider, Some("from-path"));
        pids.set(Role::Provider, Some("from-body"));
        pids.set(Role::Consumer, None);
        assert_eq!(pids.provider.as_deref(), Some("from-path"));
        assert_eq!(pids.consumer, None);
    }
}
