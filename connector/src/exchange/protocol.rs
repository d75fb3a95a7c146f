//! The order routes of the protocol listener (no DCP: like the data plane, they authenticate with tokens bound to
//! a transfer, so to its agreement):
//!
//! - lab: `POST /exchange/orders` `{order, callbackAddress, callbackToken}` places an order;
//!   `POST /exchange/orders/{orderId}/events` `{seq, event}` takes the distributor's events;
//!   `GET /exchange/orders/{orderId}` shows the order and its log;
//!   `GET /exchange/orders/{orderId}/deliveries/{n}/files/{path}` serves a delivered file (read-only, only paths
//!   of that delivery's manifest, never outside its folder: `deliveries::serve_file`). Bearer: the data-plane
//!   token of a STARTED transfer; the order is the one placed under that transfer's agreement.
//! - distributor: `POST /exchange/callback/orders/{id}` `{seq, event}` takes the lab's events. Bearer: the
//!   callback token the distributor gave when placing the order (compared in constant time).
//!
//! Answers: `{orderId, seq, state, status, replay}` (200 or 201); errors `{"error", "message", "expectedSeq"?,
//! "problems"?}`: 401 bad token, 403 `agreement_refused` (the policy's explanation) or `transfer_not_started`,
//! 404 unknown order, 409 `conflict`/`out_of_sequence` (with the number expected) or `illegal_transition`,
//! 400 malformed JSON, 422 `invalid_order`/`invalid_event`.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use passerelle_exchange::{
    AgreementCall, AgreementError, Applied, Event, LogError, Order, OrderCount, OrderLog, Party, check_agreement,
};
use passerelle_policy::Policy;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::records::{self, Delivery, OrderRow};
use super::{ApplyError, Orders, now_ms};
use crate::catalog::ids::DatasetRef;
use crate::contracts::{AgreementRecord, now_text};
use crate::dataplane::{self, Grant};
use crate::services::ServiceDefinition;

/// Shortest callback token a distributor may give (the ones we make are 43 characters).
const MIN_CALLBACK_TOKEN: usize = 16;

/// The order routes (merged into the protocol router).
pub fn router(orders: Orders) -> Router {
    Router::new()
        .route("/exchange/orders", post(place))
        .route("/exchange/orders/{order_id}", get(show))
        .route("/exchange/orders/{order_id}/events", post(lab_receives))
        .route("/exchange/orders/{order_id}/deliveries/{n}/files/{*path}", get(delivered_file))
        .route("/exchange/callback/orders/{id}", post(distributor_receives))
        .with_state(orders)
}

/// A refusal on the order routes.
#[derive(Debug)]
struct Refusal {
    status: StatusCode,
    body: Value,
}

impl Refusal {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Refusal {
        Refusal { status, body: json!({"error": code, "message": message.into()}) }
    }

    fn with(mut self, key: &str, value: Value) -> Refusal {
        self.body[key] = value;
        self
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> Refusal {
    tracing::error!(error = %e, "order routes failure");
    Refusal::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the order could not be processed; the error has been logged",
    )
}

fn malformed(e: impl std::fmt::Display) -> Refusal {
    Refusal::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not what this route takes: {e}"))
}

/// An event refused by the log, as the sender should read it.
fn log_refusal(e: LogError) -> Refusal {
    let message = e.to_string();
    match e {
        LogError::Gap { expected, .. } | LogError::Zero { expected } => {
            Refusal::new(StatusCode::CONFLICT, "out_of_sequence", message).with("expectedSeq", json!(expected))
        }
        LogError::Conflict { seq, .. } => {
            Refusal::new(StatusCode::CONFLICT, "conflict", message).with("conflictingSeq", json!(seq))
        }
        LogError::Illegal { .. } => Refusal::new(StatusCode::CONFLICT, "illegal_transition", message),
        LogError::Invalid { problems, .. } => {
            let problems: Vec<Value> =
                problems.iter().map(|p| json!({"path": p.path, "problem": p.problem.to_string()})).collect();
            Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", message).with("problems", json!(problems))
        }
    }
}

fn answer(status: StatusCode, order_id: &str, seq: u64, applied: Applied) -> Response {
    let state = applied.state();
    let mut body = serde_json::to_value(state).unwrap_or_else(|_| json!({}));
    body["orderId"] = json!(order_id);
    body["seq"] = json!(seq);
    body["status"] = json!(state.to_string());
    body["replay"] = json!(matches!(applied, Applied::Replay(_)));
    (status, Json(body)).into_response()
}

/// Body of `POST /exchange/orders`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Placement {
    order: Value,
    callback_address: String,
    callback_token: String,
}

/// Body of the event routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Numbered {
    seq: u64,
    event: Value,
}

fn read_event(value: Value) -> Result<Event, Refusal> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_event", format!("event.{path}: {}", e.inner()))
            .with("problems", json!([{"path": path, "problem": e.inner().to_string()}]))
    })
}

/// The agreement a grant's transfer runs under, as a policy the evaluator reads.
async fn agreement_of(orders: &Orders, grant: &Grant) -> Result<(AgreementRecord, Policy), Refusal> {
    let provider = Some(passerelle_dsp::process::Role::Provider);
    let record = orders
        .processes
        .read(|db| AgreementRecord::load(db, &grant.agreement_id, provider))
        .await
        .map_err(internal)?
        .ok_or_else(|| internal(format!("agreement `{}` of a live token is missing", grant.agreement_id)))?;
    // Our own agreement passed definition-time validation when it was made; a peer form keeps unknown terms,
    // which then fail closed.
    let policy = Policy::from_json(&record.agreement)
        .or_else(|_| Policy::from_peer_json(&record.agreement))
        .map_err(|e| internal(format!("agreement `{}` is not a readable policy: {e}", record.id)))?;
    Ok((record, policy))
}

/// Orders are placed under an agreement on one of our services, for what that service produces (its terms as they
/// are now: a lab that stops offering a language stops taking orders in it).
async fn service_of(orders: &Orders, agreement: &AgreementRecord) -> Result<ServiceDefinition, Refusal> {
    let Some(DatasetRef::Service(service_id)) = crate::catalog::ids::parse_dataset_id(&agreement.target) else {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "not_a_service_agreement",
            format!(
                "agreement `{}` is about `{}`, not a service: orders are placed under an agreement on a service \
                 dataset (`service:…`)",
                agreement.id, agreement.target
            ),
        ));
    };
    let stored = orders.processes.inner.store.get_service(&service_id).await.map_err(internal)?.ok_or_else(|| {
        Refusal::new(
            StatusCode::CONFLICT,
            "service_withdrawn",
            format!("service `{service_id}` of agreement `{}` is no longer offered", agreement.id),
        )
    })?;
    Ok(stored.service)
}

/// The agreement's verdict on a call for `order`; its explanation when refused.
fn checked(policy: &Policy, order: &Order, caller: &str, count: OrderCount) -> Result<(), Refusal> {
    // The caller's role is not known on a token-authenticated call: it was decided, on verified credentials, when
    // the agreement was made, so the call is checked against the rest (`callable`).
    let call = AgreementCall::new(caller, None, count, OffsetDateTime::now_utc());
    match check_agreement(&super::negotiation::callable(policy), order, &call) {
        Ok(_) => Ok(()),
        Err(AgreementError::Refused { explanation, .. }) => {
            Err(Refusal::new(StatusCode::FORBIDDEN, "agreement_refused", explanation))
        }
        Err(AgreementError::Language(e)) => {
            Err(Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_order", format!("targetLanguage: {e}"))
                .with("field", json!("targetLanguage")))
        }
    }
}

fn valid_callback(address: &str, token: &str) -> Result<(), Refusal> {
    let url = url::Url::parse(address).map_err(|e| {
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", format!("callbackAddress: {e}"))
            .with("field", json!("callbackAddress"))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "callbackAddress: use an http(s) URL",
        )
        .with("field", json!("callbackAddress")));
    }
    if token.trim().len() < MIN_CALLBACK_TOKEN {
        return Err(Refusal::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            format!("callbackToken: give a random token of at least {MIN_CALLBACK_TOKEN} characters"),
        )
        .with("field", json!("callbackToken")));
    }
    Ok(())
}

/// Lab: a distributor places an order under the agreement of its transfer token.
async fn place(State(orders): State<Orders>, headers: HeaderMap, body: Bytes) -> Result<Response, Response> {
    let grant = dataplane::grant(&orders.processes, &headers).await.map_err(IntoResponse::into_response)?;
    let placement: Placement = serde_json::from_slice(&body).map_err(|e| malformed(e).into_response())?;
    let order = Order::from_json(placement.order.to_string().as_bytes()).map_err(|invalid| {
        let problems: Vec<Value> =
            invalid.problems.iter().map(|p| json!({"path": p.path, "problem": p.problem.to_string()})).collect();
        let field = invalid.problems.first().map(|p| p.path.clone()).unwrap_or_default();
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_order", invalid.to_string())
            .with("field", json!(field))
            .with("problems", json!(problems))
            .into_response()
    })?;
    valid_callback(&placement.callback_address, &placement.callback_token).map_err(IntoResponse::into_response)?;
    let (agreement, policy) = agreement_of(&orders, &grant).await.map_err(IntoResponse::into_response)?;
    let service = service_of(&orders, &agreement).await.map_err(IntoResponse::into_response)?;
    let placed = Event::OrderPlaced { order: Box::new(order.clone()) };

    let _writer = orders.processes.inner.write.lock().await;
    let mut tx = orders.pool().begin().await.map_err(|e| internal(e).into_response())?;
    if let Some(existing) = records::find_order(&mut *tx, Party::Lab, &agreement.id, &order.id)
        .await
        .map_err(|e| internal(e).into_response())?
    {
        let rows = records::events(&mut *tx, &existing.id).await.map_err(|e| internal(e).into_response())?;
        let mut log = records::rebuild(&rows).map_err(|e| internal(e).into_response())?;
        return match log.apply(1, Party::Distributor, placed) {
            Ok(applied) => {
                // The same placement again: a distributor that did not get (or keep) our answer. Its events now go
                // where this placement says.
                records::set_peer(&mut tx, &existing.id, &placement.callback_address, &placement.callback_token)
                    .await
                    .map_err(|e| internal(e).into_response())?;
                tx.commit().await.map_err(|e| internal(e).into_response())?;
                Ok(answer(StatusCode::OK, &order.id, 1, applied))
            }
            Err(_) => Err(Refusal::new(
                StatusCode::CONFLICT,
                "conflict",
                format!(
                    "order `{}` was already placed under this agreement with other content: give a new order id",
                    order.id
                ),
            )
            .into_response()),
        };
    }
    let placed_so_far =
        records::count_lab_orders(&mut *tx, &agreement.id).await.map_err(|e| internal(e).into_response())?;
    checked(&policy, &order, &agreement.assignee, OrderCount::New { placed: placed_so_far })
        .map_err(IntoResponse::into_response)?;
    // The agreement first (its explanation is the contract's); then what the service produces.
    service.admits(&order).map_err(|outside| {
        Refusal::new(StatusCode::UNPROCESSABLE_ENTITY, "outside_service_terms", outside.message)
            .with("field", json!(outside.field))
            .into_response()
    })?;
    let mut log = OrderLog::new();
    let applied = log.apply(1, Party::Distributor, placed).map_err(|e| log_refusal(e).into_response())?;
    let now = now_text();
    let row = OrderRow {
        id: crate::contracts::new_pid(),
        side: Party::Lab,
        order_id: order.id.clone(),
        agreement_id: agreement.id.clone(),
        transfer_pid: grant.transfer_pid.clone(),
        ordinal: Some(placed_so_far + 1),
        peer_address: placement.callback_address,
        peer_token: placement.callback_token,
        callback_token: None,
        created_at: now.clone(),
        updated_at: now,
    };
    records::insert_order(&mut tx, &row).await.map_err(|e| internal(e).into_response())?;
    records::insert_event(&mut tx, &row.id, &log.entries()[0], Delivery::Received, now_ms())
        .await
        .map_err(|e| internal(e).into_response())?;
    let journal = &orders.processes.inner.journal;
    super::trail::record(journal, &mut tx, &row.id, &row.order_id, Party::Lab, &log.entries()[0])
        .await
        .map_err(|e| internal(e).into_response())?;
    let data = json!({"id": row.id, "orderId": row.order_id, "side": row.side, "seq": 1, "type": "OrderPlaced",
        "sender": Party::Distributor, "state": applied.state()});
    crate::webhooks::emit(
        orders.processes.inner.journal.webhooks.as_ref(),
        &mut tx,
        "order.received",
        &row.order_id,
        data,
    )
    .await
    .map_err(|e| internal(e).into_response())?;
    tx.commit().await.map_err(|e| internal(e).into_response())?;
    tracing::info!(order = %order.id, agreement = %agreement.id, ordinal = placed_so_far + 1, "order placed with us");
    Ok(answer(StatusCode::CREATED, &order.id, 1, applied))
}

/// The lab's order `order_id` under the token's agreement.
async fn lab_order(orders: &Orders, headers: &HeaderMap, order_id: &str) -> Result<(OrderRow, Grant), Response> {
    let grant = dataplane::grant(&orders.processes, headers).await.map_err(IntoResponse::into_response)?;
    let order = records::find_order(orders.pool(), Party::Lab, &grant.agreement_id, order_id)
        .await
        .map_err(|e| internal(e).into_response())?
        .ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("no order `{order_id}` was placed under the agreement of this token"),
            )
            .into_response()
        })?;
    Ok((order, grant))
}

/// Lab: a file of one of the order's deliveries, for the distributor that placed it.
async fn delivered_file(
    State(orders): State<Orders>,
    Path((order_id, n, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let (order, _) = lab_order(&orders, &headers, &order_id).await?;
    Ok(super::deliveries::serve_file(&orders, &order.id, &n, &path).await)
}

/// Lab: the order and its log, for the distributor.
async fn show(
    State(orders): State<Orders>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Response> {
    let (order, _) = lab_order(&orders, &headers, &order_id).await?;
    let view = orders.view(&order.id).await.map_err(|e| internal(e).into_response())?;
    Ok(Json(json!({
        "orderId": view.order_id,
        "state": view.state,
        "status": view.status,
        "log": view.log.iter().map(|e| json!({"seq": e.seq, "sender": e.sender, "event": e.event, "state": e.state}))
            .collect::<Vec<_>>(),
    }))
    .into_response())
}

/// Lab: an event from the distributor.
async fn lab_receives(
    State(orders): State<Orders>,
    Path(order_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let (order, grant) = lab_order(&orders, &headers, &order_id).await?;
    let numbered: Numbered = serde_json::from_slice(&body).map_err(|e| malformed(e).into_response())?;
    let event = read_event(numbered.event).map_err(IntoResponse::into_response)?;
    // Every call under the agreement is checked against it: the window and the language on each event; the
    // order keeps the place in the count it was given when placed.
    let (agreement, policy) = agreement_of(&orders, &grant).await.map_err(IntoResponse::into_response)?;
    let rows = records::events(orders.pool(), &order.id).await.map_err(|e| internal(e).into_response())?;
    let placed = records::rebuild(&rows).map_err(|e| internal(e).into_response())?.order().cloned();
    if let Some(placed) = placed {
        let ordinal = order.ordinal.unwrap_or(1);
        checked(&policy, &placed, &agreement.assignee, OrderCount::Placed { ordinal })
            .map_err(IntoResponse::into_response)?;
    }
    receive(&orders, &order, numbered.seq, event).await
}

/// Distributor: an event from the lab, on the callback we gave when placing the order.
async fn distributor_receives(
    State(orders): State<Orders>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Response> {
    let unauthorized = || {
        Refusal::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the callback token given with the order as `Authorization: Bearer <token>`",
        )
        .into_response()
    };
    let presented = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .ok_or_else(unauthorized)?;
    let order = records::load_order(orders.pool(), &id)
        .await
        .map_err(|e| internal(e).into_response())?
        .filter(|o| o.side == Party::Distributor)
        // An unknown order and a wrong token get the same answer: the id alone reveals nothing.
        .ok_or_else(unauthorized)?;
    let expected = order.callback_token.clone().unwrap_or_default();
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(presented.as_bytes())) {
        return Err(unauthorized());
    }
    let numbered: Numbered = serde_json::from_slice(&body).map_err(|e| malformed(e).into_response())?;
    let event = read_event(numbered.event).map_err(IntoResponse::into_response)?;
    receive(&orders, &order, numbered.seq, event).await
}

/// Applies the other party's event `seq` to `order` and answers (a replay as the original was answered).
async fn receive(orders: &Orders, order: &OrderRow, seq: u64, event: Event) -> Result<Response, Response> {
    let sender = order.side.counterpart();
    match orders.apply(&order.id, Some(seq), sender, event, Delivery::Received).await {
        Ok(outcome) => {
            let status = if matches!(outcome.applied, Applied::New(_)) { StatusCode::CREATED } else { StatusCode::OK };
            Ok(answer(status, &outcome.order.order_id, outcome.seq, outcome.applied))
        }
        Err(ApplyError::NotFound) => {
            Err(Refusal::new(StatusCode::NOT_FOUND, "not_found", "no such order").into_response())
        }
        Err(ApplyError::Log(e)) => Err(log_refusal(e).into_response()),
        Err(ApplyError::Record(e)) => Err(internal(e).into_response()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_sequence_events_name_the_number_expected() {
        let r = log_refusal(LogError::Gap { expected: 5, got: 7 });
        assert_eq!((r.status, r.body["error"].as_str()), (StatusCode::CONFLICT, Some("out_of_sequence")));
        assert_eq!(r.body["expectedSeq"], 5);
        assert!(r.body["message"].as_str().unwrap().contains("must be number 5"));
        let r = log_refusal(LogError::Zero { expected: 2 });
        assert_eq!(r.body["expectedSeq"], 2);
    }

    #[test]
    fn callbacks_must_be_http_with_a_real_token() {
        assert!(valid_callback("https://d.example/exchange/callback/orders/x", "0123456789abcdef").is_ok());
        let r = valid_callback("ftp://d.example/x", "0123456789abcdef").unwrap_err();
        assert_eq!(r.body["field"], "callbackAddress");
        let r = valid_callback("https://d.example/x", "short").unwrap_err();
        assert_eq!(r.body["field"], "callbackToken");
        assert!(!r.body.to_string().contains("short"), "a token is never echoed");
    }

    #[test]
    fn an_answer_carries_the_state_and_whether_it_was_a_replay() {
        let response = answer(StatusCode::OK, "PO-1", 3, Applied::Replay(passerelle_exchange::OrderState::Quoted));
        assert_eq!(response.status(), StatusCode::OK);
    }
}
