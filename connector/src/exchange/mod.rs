//! Subtitle orders between two running connectors (issue 7): the distributor that holds a FINALIZED service
//! agreement with a lab, and a STARTED pull transfer under it, places orders; both parties then exchange the
//! order's numbered events until it is accepted (or closed). The workflow itself (order model, state machine,
//! log with replay/conflict/gap, SLA alerts, agreement check) is `passerelle-exchange`; this module stores it,
//! serves it and delivers it.
//!
//! - **Placing** (distributor, [`Orders::place`], `POST /api/v1/orders`): synchronous. The lab's transfer start
//!   handed an endpoint data reference with an `orderEndpoint` and a bearer token bound to the transfer; the
//!   distributor posts `{order, callbackAddress, callbackToken}` there. The lab validates the order, checks it
//!   against the agreement (count of orders so far, language, window: `check_agreement`), stores it with event 1
//!   (`OrderPlaced`) and answers 201; a refusal is a 403 carrying the policy's explanation, which the distributor's
//!   management call answers with in turn. The distributor stores the order only once the lab has it. A placement
//!   repeated with the same content (a distributor that crashed before storing the answer) is a replay: the same
//!   answer, and the callback it names replaces the old one.
//! - **Events** ([`Orders::send`], `POST /api/v1/orders/{id}/events`): either party appends its next event to its
//!   own log (the state machine decides whether it may), stores it as `pending` and answers; the delivery loop
//!   ([`run`], `delivery.rs`) posts `{seq, event}` to the other party — the lab's
//!   `/exchange/orders/{orderId}/events` with the data-plane token, or the distributor's callback with the
//!   callback token — in order per order, retrying transport errors, 5xx, 408 and 429 with backoff (250 ms
//!   doubling to 5 s), across restarts (pending events are due at start). Distributor → lab events therefore take
//!   the same path as lab → distributor ones: one mechanism, one set of rules.
//! - **Receiving** (`protocol.rs`): the receiver applies `{seq, event}` with `OrderLog::apply` and stores it before
//!   answering; a resend of an applied event gets the same answer (that is what makes delivery exactly once in
//!   effect); a different event under a used number (conflict), a number too far (gap) and an illegal event are
//!   409 with the number expected; an invalid one 422. The lab also checks every distributor call against the
//!   agreement again (window, language; the order keeps the count it was placed with).
//!
//! Why a delivery loop of our own rather than [`crate::outbox`]: the outbox's table admits only negotiation and
//! transfer processes (a CHECK SQLite cannot alter without rebuilding the table) and its bookkeeping advances DSP
//! process records; an order event's delivery has no such side effect, and its rules (persist first, per-order
//! order, retry with backoff, resend is idempotent) are the outbox's, kept in ~150 lines here.
//!
//! Known limit: the log is one sequence both parties write. Two events written at the same moment by both sides
//! take the same number; the second to arrive is refused as a conflict and its delivery fails for good (shown on
//! the order, `delivery`); a human settles it.

mod deliveries;
mod delivery;
pub(crate) mod negotiation;
mod protocol;
mod qc;
mod receipt;
mod records;
mod trail;

pub mod client;

use crate::contracts::ProcessRow;
use std::sync::Arc;

use base64::Engine;
use passerelle_exchange::{Alert, Entry, Event, LogError, Order, OrderLog, OrderState, Party, SlaRules, sla_alerts};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::SqliteConnection;
use time::OffsetDateTime;
use tokio::sync::Notify;

pub use deliveries::{DeliverySettings, DeliveryView};
pub use delivery::run;
pub use protocol::router;
pub use qc::QcFileView;

use crate::contracts::{Processes, now_text};
use crate::transfers::TransferRecord;
use records::{Delivery, EventRow, OrderRow, RecordError};

/// Property of the lab's endpoint data reference naming where orders are placed.
pub const ORDER_ENDPOINT_PROPERTY: &str = "orderEndpoint";

/// Subtitle orders of this connector (cheap to clone): the store through [`Processes`] (its writer lock keeps our
/// transactions from racing the DSP hosts'), and the delivery loop's wake-up.
#[derive(Clone)]
pub struct Orders {
    processes: Processes,
    wake: Arc<Notify>,
    /// Absent: this connector neither delivers nor takes deliveries (tests of the event flow alone).
    deliveries: Option<Arc<DeliverySettings>>,
}

impl std::fmt::Debug for Orders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Orders").finish_non_exhaustive()
    }
}

/// Why an order action was refused (management side). Messages never carry tokens.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("order `{0}` does not exist here; list the orders (GET /api/v1/orders) to find its id")]
    NotFound(String),
    /// Bad input, at `field` (a JSON path in the request body).
    #[error("{message}")]
    Invalid { field: String, message: String },
    /// The agreement does not permit it; the policy evaluator's explanation.
    #[error("{0}")]
    Refused(String),
    /// Not possible in the order's (or the transfer's) current state, or out of sequence.
    #[error("{message}")]
    Conflict { message: String, expected_seq: Option<u64> },
    #[error("the lab could not be asked: {0}")]
    Peer(String),
    #[error("store error: {0}")]
    Store(String),
}

impl From<RecordError> for OrderError {
    fn from(e: RecordError) -> Self {
        OrderError::Store(e.to_string())
    }
}

impl From<sqlx::Error> for OrderError {
    fn from(e: sqlx::Error) -> Self {
        OrderError::Store(e.to_string())
    }
}

/// An order as either party sees it: where it stands, its log with each event's delivery, and its SLA risks.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// This connector's id for the order (the management API's `{id}`).
    pub id: String,
    /// The distributor's order reference, the same on both sides.
    pub order_id: String,
    /// The party this connector is.
    pub side: Party,
    pub agreement_id: String,
    pub transfer_pid: String,
    /// Lab: the order's number in the agreement's count of orders.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ordinal: Option<u64>,
    /// `{"state": "IN_PROGRESS", "stage": "review"}`, flattened.
    #[serde(flatten)]
    pub state: OrderState,
    /// The state in words, e.g. `IN_PROGRESS(review)`.
    pub status: String,
    /// Why our events are not reaching the other party, when they are not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    pub alerts: Vec<AlertView>,
    pub log: Vec<LogEntryView>,
    /// Every delivery, first to last.
    pub deliveries: Vec<DeliveryView>,
    pub created_at: String,
    pub updated_at: String,
}

/// An SLA alert with its advice in words.
#[derive(Debug, Clone, Serialize)]
pub struct AlertView {
    #[serde(flatten)]
    pub alert: Alert,
    pub message: String,
}

/// One event of the log and how it stands between the two connectors.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntryView {
    pub seq: u64,
    pub sender: Party,
    pub event: Event,
    /// The state it led to.
    pub state: OrderState,
    /// `received` (from the other party), `pending`, `sent` or `failed` (ours).
    pub delivery: String,
    pub attempts: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// One line of the order list.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderSummary {
    pub id: String,
    pub order_id: String,
    pub side: Party,
    pub agreement_id: String,
    #[serde(flatten)]
    pub state: Value,
    pub updated_at: String,
}

/// What applying an event did, for the protocol answer.
pub(crate) struct Outcome {
    pub applied: passerelle_exchange::Applied,
    pub seq: u64,
    pub order: OrderRow,
    /// The event stored, when it was new (not a replay).
    pub entry: Option<Entry>,
    /// The log after it.
    pub log: OrderLog,
}

/// Why an event was not applied.
pub(crate) enum ApplyError {
    NotFound,
    Log(LogError),
    Record(RecordError),
}

impl From<RecordError> for ApplyError {
    fn from(e: RecordError) -> Self {
        ApplyError::Record(e)
    }
}

impl From<sqlx::Error> for ApplyError {
    fn from(e: sqlx::Error) -> Self {
        ApplyError::Record(e.into())
    }
}

pub(crate) fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// A random bearer token (256 bits, URL-safe).
fn random_token() -> Result<String, OrderError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| OrderError::Store(format!("no randomness for a token: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The management problem list of an invalid order: the first path (under `order.`) and every problem in words.
fn invalid_order(invalid: &passerelle_exchange::InvalidOrder) -> OrderError {
    let field = invalid.problems.first().map(|p| under("order", &p.path)).unwrap_or_else(|| "order".into());
    OrderError::Invalid { field, message: invalid.to_string() }
}

fn under(prefix: &str, path: &str) -> String {
    if path == "$" || path == "." || path.is_empty() { prefix.to_string() } else { format!("{prefix}.{path}") }
}

/// A log refusal as the management API tells it.
pub(crate) fn log_refusal(e: LogError) -> OrderError {
    match &e {
        LogError::Invalid { problems, .. } => OrderError::Invalid {
            field: problems.first().map(|p| under("event", &p.path)).unwrap_or_else(|| "event".into()),
            message: e.to_string(),
        },
        LogError::Gap { expected, .. } | LogError::Zero { expected } => {
            OrderError::Conflict { message: e.to_string(), expected_seq: Some(*expected) }
        }
        LogError::Conflict { seq, .. } => OrderError::Conflict { message: e.to_string(), expected_seq: Some(seq + 1) },
        LogError::Illegal { .. } => OrderError::Conflict { message: e.to_string(), expected_seq: None },
    }
}

impl Orders {
    pub fn new(processes: Processes) -> Orders {
        Orders { processes, wake: Arc::new(Notify::new()), deliveries: None }
    }

    /// Deliveries with proof of integrity, receipts and automatic QC (`deliveries.rs`).
    pub fn with_deliveries(mut self, settings: DeliverySettings) -> Orders {
        self.deliveries = Some(Arc::new(settings));
        self
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.processes.pool()
    }

    /// Applies event `seq` (the next one when `None`) from `sender` to order `key` and stores it with `delivery`,
    /// in one transaction under the writer lock, before anyone is answered; then starts what follows it (the
    /// intake of a delivery, the check of a receipt).
    pub(crate) async fn apply(
        &self,
        key: &str,
        seq: Option<u64>,
        sender: Party,
        event: Event,
        delivery: Delivery,
    ) -> Result<Outcome, ApplyError> {
        let outcome = {
            let _writer = self.processes.inner.write.lock().await;
            let mut tx = self.pool().begin().await?;
            let outcome = self.apply_in(&mut tx, key, seq, sender, event, delivery).await?;
            tx.commit().await?;
            outcome
        };
        if delivery == Delivery::Pending {
            self.wake.notify_one();
        }
        if let Some(entry) = &outcome.entry {
            deliveries::after_commit(self, &outcome.order, entry, &outcome.log);
        }
        Ok(outcome)
    }

    /// [`Orders::apply`] inside the caller's transaction (the caller holds the writer lock): the event, what it
    /// changes besides the log (`deliveries::on_applied`) and its webhook commit together.
    pub(crate) async fn apply_in(
        &self,
        tx: &mut SqliteConnection,
        key: &str,
        seq: Option<u64>,
        sender: Party,
        event: Event,
        delivery: Delivery,
    ) -> Result<Outcome, ApplyError> {
        let order = records::load_order(&mut *tx, key).await?.ok_or(ApplyError::NotFound)?;
        let rows = records::events(&mut *tx, key).await?;
        let mut log = records::rebuild(&rows)?;
        let seq = seq.unwrap_or_else(|| log.next_seq());
        let applied = log.apply(seq, sender, event).map_err(ApplyError::Log)?;
        let mut stored = None;
        if let passerelle_exchange::Applied::New(_) = applied {
            let entry = log.entries().last().cloned().ok_or(ApplyError::NotFound)?;
            records::insert_event(tx, key, &entry, delivery, now_ms()).await?;
            trail::record(&self.processes.inner.journal, tx, key, &order.order_id, order.side, &entry).await?;
            deliveries::on_applied(tx, &order, &entry, &log).await?;
            let name = webhook_event(&order, &entry);
            let data = json!({"id": order.id, "orderId": order.order_id, "side": order.side, "seq": entry.seq,
                "type": entry.event.kind(), "sender": entry.sender, "state": entry.state});
            crate::webhooks::emit(self.processes.inner.journal.webhooks.as_ref(), tx, name, &order.order_id, data)
                .await?;
            stored = Some(entry);
        }
        Ok(Outcome { applied, seq, order, entry: stored, log })
    }

    /// Places `order` with the lab of transfer `transfer_pid` (ours, as consumer, STARTED under a service
    /// agreement). Synchronous: the answer is the lab's (its refusal with the policy's explanation included).
    pub async fn place(&self, transfer_pid: &str, order: &Value) -> Result<OrderView, OrderError> {
        let order = Order::from_json(order.to_string().as_bytes()).map_err(|e| invalid_order(&e))?;
        let transfer = self
            .processes
            .read(|db| TransferRecord::load_any(db, transfer_pid))
            .await
            .map_err(|e| OrderError::Store(e.to_string()))?
            .filter(|t| t.side == passerelle_dsp::process::Role::Consumer)
            .ok_or_else(|| OrderError::Invalid {
                field: "transferPid".into(),
                message: format!(
                    "`{transfer_pid}` names no transfer this connector requested; start a pull transfer under the \
                     lab's service agreement first (POST /api/v1/transfers)"
                ),
            })?;
        if transfer.state != passerelle_dsp::transfer::State::Started {
            return Err(OrderError::Conflict {
                message: format!(
                    "transfer `{transfer_pid}` is {}: orders are placed only while it is STARTED",
                    transfer.state.as_str()
                ),
                expected_seq: None,
            });
        }
        let address = transfer.data_address.as_ref();
        let endpoint = address.and_then(|a| a.property(ORDER_ENDPOINT_PROPERTY)).map(str::to_string);
        let token = address.and_then(|a| a.property("authorization")).map(str::to_string);
        let (Some(endpoint), Some(token)) = (endpoint, token) else {
            return Err(OrderError::Conflict {
                message: format!(
                    "the provider's start of transfer `{transfer_pid}` carried no `{ORDER_ENDPOINT_PROPERTY}` and token: \
                     it does not take subtitle orders"
                ),
                expected_seq: None,
            });
        };
        if let Some(existing) =
            records::find_order(self.pool(), Party::Distributor, &transfer.agreement_id, &order.id).await?
        {
            return Err(OrderError::Conflict {
                message: format!(
                    "order `{}` was already placed under this agreement (here as `{}`): give a new order id",
                    order.id, existing.id
                ),
                expected_seq: None,
            });
        }
        let key = crate::contracts::new_pid();
        let callback_token = random_token()?;
        let callback_address = format!("{}/exchange/callback/orders/{key}", self.processes.inner.base_url);
        let body = json!({"order": order, "callbackAddress": callback_address, "callbackToken": callback_token});
        let http = &self.processes.inner.http;
        let (status, answer) =
            delivery::post(http, &endpoint, &token, &body).await.map_err(|e| OrderError::Peer(e.message))?;
        match status {
            200 | 201 => {}
            403 if answer["error"] == "agreement_refused" => {
                return Err(OrderError::Refused(text_of(&answer)));
            }
            400 | 422 => {
                return Err(OrderError::Invalid {
                    field: answer["field"].as_str().map(|f| under("order", f)).unwrap_or_else(|| "order".into()),
                    message: format!("the lab refused the order: {}", text_of(&answer)),
                });
            }
            409 => {
                return Err(OrderError::Conflict {
                    message: format!("the lab refused the order: {}", text_of(&answer)),
                    expected_seq: None,
                });
            }
            _ => return Err(OrderError::Peer(format!("{endpoint} answered HTTP {status}: {}", text_of(&answer)))),
        }
        let now = now_text();
        let row = OrderRow {
            id: key.clone(),
            side: Party::Distributor,
            order_id: order.id.clone(),
            agreement_id: transfer.agreement_id.clone(),
            transfer_pid: transfer.pid.clone(),
            ordinal: None,
            peer_address: endpoint,
            peer_token: token,
            callback_token: Some(callback_token),
            created_at: now.clone(),
            updated_at: now,
        };
        let mut log = OrderLog::new();
        log.apply(1, Party::Distributor, Event::OrderPlaced { order: Box::new(order) })
            .map_err(|e| OrderError::Store(format!("a validated order did not open a log: {e}")))?;
        {
            let _writer = self.processes.inner.write.lock().await;
            let mut tx = self.pool().begin().await?;
            records::insert_order(&mut tx, &row).await?;
            // The lab holds event 1 already: it was delivered by the call that placed the order.
            records::insert_event(&mut tx, &key, &log.entries()[0], Delivery::Sent, now_ms()).await?;
            let journal = &self.processes.inner.journal;
            trail::record(journal, &mut tx, &key, &row.order_id, Party::Distributor, &log.entries()[0]).await?;
            tx.commit().await?;
        }
        self.view(&key).await
    }

    /// Appends this connector's next event to order `id` (the party is the one we are in it) and queues it for
    /// the other party.
    pub async fn send(&self, id: &str, event: &Value) -> Result<OrderView, OrderError> {
        let event: Event = serde_path_to_error::deserialize(event).map_err(|e| OrderError::Invalid {
            field: under("event", &e.path().to_string()),
            message: format!("event: {}", e.inner()),
        })?;
        if matches!(event, Event::OrderPlaced { .. }) {
            return Err(OrderError::Invalid {
                field: "event.type".into(),
                message: "an order is placed with POST /api/v1/orders, not sent as an event".into(),
            });
        }
        if matches!(event, Event::DeliveryReceived { .. } | Event::DeliveryRefused { .. }) {
            return Err(OrderError::Invalid {
                field: "event.type".into(),
                message: "a receipt or a refusal is sent by this connector itself once it has verified the files"
                    .into(),
            });
        }
        if matches!(event, Event::Delivered { manifest: Some(_), .. } | Event::Delivered { location: Some(_), .. }) {
            return Err(OrderError::Invalid {
                field: "event.manifest".into(),
                message: "files are delivered with POST /api/v1/orders/{id}/deliveries {\"folder\"}, which builds \
                          the manifest and serves the files; a Delivered event sent by hand carries only manifestRef"
                    .into(),
            });
        }
        let order = records::load_order(self.pool(), id).await?.ok_or_else(|| OrderError::NotFound(id.into()))?;
        match self.apply(id, None, order.side, event, Delivery::Pending).await {
            Ok(_) => self.view(id).await,
            Err(ApplyError::NotFound) => Err(OrderError::NotFound(id.into())),
            Err(ApplyError::Log(e)) => Err(log_refusal(e)),
            Err(ApplyError::Record(e)) => Err(e.into()),
        }
    }

    /// Every order, newest first.
    pub async fn list(&self) -> Result<Vec<OrderSummary>, OrderError> {
        let rows = records::list_orders(self.pool()).await?;
        Ok(rows.into_iter().map(summary).collect())
    }

    /// The orders under agreement `agreement_id` (for `passerelle contracts show` and the console's contract page).
    pub async fn under_agreement(&self, agreement_id: &str) -> Result<Vec<OrderSummary>, OrderError> {
        let rows = records::orders_under(self.pool(), agreement_id).await?;
        Ok(rows.into_iter().map(summary).collect())
    }

    /// One order with its log, delivery status and SLA alerts now.
    pub async fn view(&self, id: &str) -> Result<OrderView, OrderError> {
        let order = records::load_order(self.pool(), id).await?.ok_or_else(|| OrderError::NotFound(id.into()))?;
        let rows = records::events(self.pool(), id).await?;
        let log = records::rebuild(&rows)?;
        let mut view = view_of(order, &rows, &log, OffsetDateTime::now_utc())?;
        view.deliveries = self.deliveries_of(id).await?;
        Ok(view)
    }
}

/// The webhook event an order event is told as: its arrival from the other party for an order and a delivery,
/// acceptance on both sides, `order.event` for the rest.
fn webhook_event(order: &OrderRow, entry: &Entry) -> &'static str {
    let from_peer = entry.sender != order.side;
    match &entry.event {
        Event::OrderPlaced { .. } if from_peer => "order.received",
        Event::Delivered { .. } if from_peer => "order.delivery_received",
        Event::Accepted { .. } => "order.accepted",
        _ => "order.event",
    }
}

fn summary((row, state): (OrderRow, String)) -> OrderSummary {
    OrderSummary {
        id: row.id,
        order_id: row.order_id,
        side: row.side,
        agreement_id: row.agreement_id,
        state: serde_json::from_str(&state).unwrap_or(Value::Null),
        updated_at: row.updated_at,
    }
}

/// The answer text of a peer's typed error body (or the body itself).
fn text_of(answer: &Value) -> String {
    answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string())
}

fn view_of(order: OrderRow, rows: &[EventRow], log: &OrderLog, now: OffsetDateTime) -> Result<OrderView, OrderError> {
    let state = log.state().ok_or_else(|| OrderError::Store(format!("order `{}` has no events", order.id)))?;
    let alerts = sla_alerts(log, now, &SlaRules::default())
        .into_iter()
        .map(|alert| AlertView { message: alert.to_string(), alert })
        .collect();
    let entries = log
        .entries()
        .iter()
        .zip(rows)
        .map(|(entry, row)| LogEntryView {
            seq: entry.seq,
            sender: entry.sender,
            event: entry.event.clone(),
            state: entry.state,
            delivery: row.delivery.clone(),
            attempts: row.attempts,
            last_error: row.last_error.clone(),
        })
        .collect();
    Ok(OrderView {
        delivery: delivery_status(rows),
        id: order.id,
        order_id: order.order_id,
        side: order.side,
        agreement_id: order.agreement_id,
        transfer_pid: order.transfer_pid,
        ordinal: order.ordinal,
        status: state.to_string(),
        state,
        alerts,
        log: entries,
        deliveries: Vec::new(),
        created_at: order.created_at,
        updated_at: order.updated_at,
    })
}

/// Why our events are not reaching the other party, in words (`None` when nothing is stuck).
fn delivery_status(rows: &[EventRow]) -> Option<String> {
    if let Some(failed) = rows.iter().find(|r| r.delivery == Delivery::Failed.as_str()) {
        return Some(format!(
            "event {} ({}) was refused for good by the other party: {}; later events wait behind it",
            failed.seq,
            failed.event.kind(),
            failed.last_error.as_deref().unwrap_or("no reason given")
        ));
    }
    rows.iter().find(|r| r.delivery == Delivery::Pending.as_str() && r.attempts > 0).map(|pending| {
        format!(
            "event {} ({}): {} attempt(s) failed, last error: {}; retrying",
            pending.seq,
            pending.event.kind(),
            pending.attempts,
            pending.last_error.as_deref().unwrap_or("unknown"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(seq: u64, delivery: Delivery, attempts: i64, error: Option<&str>) -> EventRow {
        EventRow {
            seq,
            sender: Party::Lab,
            event: Event::Resumed { note: None },
            delivery: delivery.as_str().into(),
            attempts,
            last_error: error.map(str::to_string),
        }
    }

    #[test]
    fn a_stuck_delivery_says_why_and_a_flowing_one_says_nothing() {
        assert_eq!(delivery_status(&[row(1, Delivery::Sent, 1, None), row(2, Delivery::Received, 0, None)]), None);
        assert_eq!(delivery_status(&[row(1, Delivery::Pending, 0, None)]), None, "not tried yet");
        let why = delivery_status(&[row(3, Delivery::Pending, 4, Some("connection refused"))]).unwrap();
        assert!(why.contains("event 3") && why.contains("4 attempt") && why.contains("connection refused"), "{why}");
        let why = delivery_status(&[row(2, Delivery::Failed, 1, Some("HTTP 409: conflict"))]).unwrap();
        assert!(why.contains("refused for good") && why.contains("409"), "{why}");
    }

    #[test]
    fn log_refusals_name_what_to_send_next() {
        let gap = log_refusal(LogError::Gap { expected: 4, got: 6 });
        assert!(matches!(gap, OrderError::Conflict { expected_seq: Some(4), .. }));
        let invalid =
            log_refusal(LogError::Invalid { seq: 3, kind: passerelle_exchange::EventKind::Declined, problems: vec![] });
        assert!(matches!(invalid, OrderError::Invalid { field, .. } if field == "event"));
        assert_eq!(under("order", "$"), "order");
        assert_eq!(under("event", "reason"), "event.reason");
    }

    #[test]
    fn webhooks_tell_arrivals_deliveries_and_acceptance_apart() {
        let order = |side| OrderRow {
            id: "urn:uuid:1".into(),
            side,
            order_id: "PO-1".into(),
            agreement_id: "a".into(),
            transfer_pid: "t".into(),
            ordinal: None,
            peer_address: "http://peer".into(),
            peer_token: "secret".into(),
            callback_token: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let entry = |sender, event| Entry { seq: 2, sender, event, state: OrderState::Delivered };
        let delivered = Event::Delivered { manifest_ref: "m".into(), manifest: None, location: None };
        let (lab, distributor) = (order(Party::Lab), order(Party::Distributor));
        assert_eq!(webhook_event(&distributor, &entry(Party::Lab, delivered.clone())), "order.delivery_received");
        assert_eq!(webhook_event(&lab, &entry(Party::Lab, delivered)), "order.event", "our own delivery");
        let accepted = Event::Accepted { note: None };
        assert_eq!(webhook_event(&lab, &entry(Party::Distributor, accepted.clone())), "order.accepted");
        assert_eq!(webhook_event(&distributor, &entry(Party::Distributor, accepted)), "order.accepted");
        assert_eq!(webhook_event(&lab, &entry(Party::Distributor, Event::Confirmed { note: None })), "order.event");
        for name in ["order.received", "order.delivery_received", "order.accepted", "order.event"] {
            assert!(crate::webhooks::EVENTS.contains(&name), "{name}");
        }
    }

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
    }
}
