//! The SQL of subtitle orders (tables of migration 0003): every query of the module lives here.

use passerelle_exchange::{Entry, Event, OrderLog, OrderState, Party};
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection};

use crate::contracts::now_text;

/// How one of the log's events stands between the two connectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Written by the other party and applied here.
    Received,
    /// Ours, not yet acknowledged by the other party.
    Pending,
    /// Ours, acknowledged.
    Sent,
    /// Ours, refused for good by the other party (the reason is in `last_error`).
    Failed,
}

impl Delivery {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Delivery::Received => "received",
            Delivery::Pending => "pending",
            Delivery::Sent => "sent",
            Delivery::Failed => "failed",
        }
    }
}

/// One order as stored (tokens included: never serialise this).
#[derive(Clone)]
pub(crate) struct OrderRow {
    pub id: String,
    pub side: Party,
    pub order_id: String,
    pub agreement_id: String,
    pub transfer_pid: String,
    pub ordinal: Option<u64>,
    pub peer_address: String,
    pub peer_token: String,
    pub callback_token: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl std::fmt::Debug for OrderRow {
    /// Tokens are secrets: they never reach a log line, even through a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrderRow")
            .field("id", &self.id)
            .field("side", &self.side)
            .field("order_id", &self.order_id)
            .field("agreement_id", &self.agreement_id)
            .finish_non_exhaustive()
    }
}

/// One stored event with its delivery.
#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub seq: u64,
    pub sender: Party,
    pub event: Event,
    pub delivery: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// A stored value that does not read back: the database was changed outside Passerelle (or by a newer version).
#[derive(Debug, thiserror::Error)]
pub(crate) enum RecordError {
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
    #[error("stored order data is unreadable ({0}); the database was changed outside Passerelle")]
    Corrupt(String),
    /// The media store's own read or write (the ordered Version).
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

pub(crate) fn party_str(party: Party) -> &'static str {
    party.as_str()
}

fn parse_party(text: &str) -> Result<Party, RecordError> {
    match text {
        "distributor" => Ok(Party::Distributor),
        "lab" => Ok(Party::Lab),
        other => Err(RecordError::Corrupt(format!("party `{other}`"))),
    }
}

fn order_from_row(row: &SqliteRow) -> Result<OrderRow, RecordError> {
    let side: String = row.try_get("side")?;
    let ordinal: Option<i64> = row.try_get("ordinal")?;
    Ok(OrderRow {
        id: row.try_get("id")?,
        side: parse_party(&side)?,
        order_id: row.try_get("order_id")?,
        agreement_id: row.try_get("agreement_id")?,
        transfer_pid: row.try_get("transfer_pid")?,
        ordinal: ordinal.and_then(|n| u64::try_from(n).ok()),
        peer_address: row.try_get("peer_address")?,
        peer_token: row.try_get("peer_token")?,
        callback_token: row.try_get("callback_token")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(crate) async fn load_order(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    id: &str,
) -> Result<Option<OrderRow>, RecordError> {
    let row = sqlx::query("SELECT * FROM orders WHERE id = ?").bind(id).fetch_optional(executor).await?;
    row.as_ref().map(order_from_row).transpose()
}

/// Our order with the distributor's reference `order_id` under `agreement_id`, we being `side` (a lab knows an
/// order by that pair; a distributor refuses to place the same reference twice).
pub(crate) async fn find_order(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    side: Party,
    agreement_id: &str,
    order_id: &str,
) -> Result<Option<OrderRow>, RecordError> {
    let row = sqlx::query("SELECT * FROM orders WHERE side = ? AND agreement_id = ? AND order_id = ?")
        .bind(party_str(side))
        .bind(agreement_id)
        .bind(order_id)
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(order_from_row).transpose()
}

/// Orders the lab has taken under `agreement_id`: the agreement's count of orders so far.
pub(crate) async fn count_lab_orders(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    agreement_id: &str,
) -> Result<u64, RecordError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE side = 'lab' AND agreement_id = ?")
        .bind(agreement_id)
        .fetch_one(executor)
        .await?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Every order, newest first, with its derived state.
pub(crate) async fn list_orders(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
) -> Result<Vec<(OrderRow, String)>, RecordError> {
    let rows = sqlx::query("SELECT * FROM orders ORDER BY created_at DESC, id").fetch_all(executor).await?;
    with_states(&rows)
}

/// The orders placed under agreement `agreement_id` (either side), oldest first, with their derived state.
pub(crate) async fn orders_under(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    agreement_id: &str,
) -> Result<Vec<(OrderRow, String)>, RecordError> {
    let rows = sqlx::query("SELECT * FROM orders WHERE agreement_id = ? ORDER BY created_at, id")
        .bind(agreement_id)
        .fetch_all(executor)
        .await?;
    with_states(&rows)
}

fn with_states(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Vec<(OrderRow, String)>, RecordError> {
    rows.iter()
        .map(|row| {
            let state: String = row.try_get("state")?;
            Ok((order_from_row(row)?, state))
        })
        .collect()
}

pub(crate) async fn insert_order(conn: &mut SqliteConnection, order: &OrderRow) -> Result<(), RecordError> {
    sqlx::query(
        "INSERT INTO orders (id, side, order_id, agreement_id, transfer_pid, ordinal, peer_address, peer_token,
             callback_token, state, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)",
    )
    .bind(&order.id)
    .bind(party_str(order.side))
    .bind(&order.order_id)
    .bind(&order.agreement_id)
    .bind(&order.transfer_pid)
    .bind(order.ordinal.and_then(|n| i64::try_from(n).ok()))
    .bind(&order.peer_address)
    .bind(&order.peer_token)
    .bind(&order.callback_token)
    .bind(&order.created_at)
    .bind(&order.updated_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Where the other party's events go now (a repeated placement may name a new callback).
pub(crate) async fn set_peer(
    conn: &mut SqliteConnection,
    id: &str,
    address: &str,
    token: &str,
) -> Result<(), RecordError> {
    sqlx::query("UPDATE orders SET peer_address = ?, peer_token = ? WHERE id = ?")
        .bind(address)
        .bind(token)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// A refreshed data-plane token for every order the distributor placed through transfer `transfer_pid`.
pub(crate) async fn set_transfer_token(
    conn: &mut SqliteConnection,
    transfer_pid: &str,
    token: &str,
) -> Result<(), RecordError> {
    sqlx::query("UPDATE orders SET peer_token = ? WHERE side = 'distributor' AND transfer_pid = ?")
        .bind(token)
        .bind(transfer_pid)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) async fn events(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
) -> Result<Vec<EventRow>, RecordError> {
    let rows = sqlx::query("SELECT * FROM order_events WHERE order_key = ? ORDER BY seq")
        .bind(order_key)
        .fetch_all(executor)
        .await?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let sender: String = row.try_get("sender")?;
            let event: String = row.try_get("event")?;
            Ok(EventRow {
                seq: u64::try_from(seq).map_err(|_| RecordError::Corrupt(format!("event number {seq}")))?,
                sender: parse_party(&sender)?,
                event: serde_json::from_str(&event).map_err(|e| RecordError::Corrupt(format!("event {seq}: {e}")))?,
                delivery: row.try_get("delivery")?,
                attempts: row.try_get("attempts")?,
                last_error: row.try_get("last_error")?,
            })
        })
        .collect()
}

/// The order's log, checked again event by event (a store edited by hand is refused, not trusted).
pub(crate) fn rebuild(events: &[EventRow]) -> Result<OrderLog, RecordError> {
    OrderLog::rebuild(events.iter().map(|e| (e.seq, e.sender, e.event.clone())))
        .map_err(|e| RecordError::Corrupt(format!("the stored log does not replay: {e}")))
}

/// Stores an applied event and the state it led to, in the caller's transaction.
pub(crate) async fn insert_event(
    conn: &mut SqliteConnection,
    order_key: &str,
    entry: &Entry,
    delivery: Delivery,
    now_ms: i64,
) -> Result<(), RecordError> {
    let event = serde_json::to_string(&entry.event).map_err(|e| RecordError::Corrupt(e.to_string()))?;
    let state = state_json(entry.state);
    let now = now_text();
    let done = matches!(delivery, Delivery::Received | Delivery::Sent).then(|| now.clone());
    sqlx::query(
        "INSERT INTO order_events (order_key, seq, sender, event, state, delivery, attempts, next_attempt_ms,
             created_at, done_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(order_key)
    .bind(i64::try_from(entry.seq).unwrap_or(i64::MAX))
    .bind(party_str(entry.sender))
    .bind(event)
    .bind(&state)
    .bind(delivery.as_str())
    .bind(i64::from(delivery == Delivery::Sent))
    .bind(now_ms)
    .bind(&now)
    .bind(done)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE orders SET state = ?, updated_at = ? WHERE id = ?")
        .bind(state)
        .bind(&now)
        .bind(order_key)
        .execute(conn)
        .await?;
    Ok(())
}

pub(crate) fn state_json(state: OrderState) -> String {
    serde_json::to_string(&state).unwrap_or_else(|_| "{}".into())
}

/// One of our events waiting for delivery, with where it goes.
#[derive(Clone)]
pub(crate) struct DueEvent {
    pub order_key: String,
    pub seq: u64,
    pub event: String,
    pub attempts: i64,
    pub side: Party,
    pub order_id: String,
    pub transfer_pid: String,
    pub peer_address: String,
    pub peer_token: String,
}

/// Our pending events that are due, each the first undelivered one of its order (an order's events go in order;
/// an event refused for good holds back those after it, which the other party could not apply anyway).
pub(crate) async fn due(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<DueEvent>, RecordError> {
    let rows = sqlx::query(
        "SELECT e.order_key, e.seq, e.event, e.attempts, o.side, o.order_id, o.transfer_pid, o.peer_address,
             o.peer_token
         FROM order_events e JOIN orders o ON o.id = e.order_key
         WHERE e.delivery = 'pending' AND e.next_attempt_ms <= ?
           AND NOT EXISTS (SELECT 1 FROM order_events p WHERE p.order_key = e.order_key
                           AND p.delivery IN ('pending', 'failed') AND p.seq < e.seq)
         ORDER BY e.next_attempt_ms, e.order_key, e.seq LIMIT ?",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            let side: String = row.try_get("side")?;
            Ok(DueEvent {
                order_key: row.try_get("order_key")?,
                seq: u64::try_from(seq).unwrap_or(0),
                event: row.try_get("event")?,
                attempts: row.try_get("attempts")?,
                side: parse_party(&side)?,
                order_id: row.try_get("order_id")?,
                transfer_pid: row.try_get("transfer_pid")?,
                peer_address: row.try_get("peer_address")?,
                peer_token: row.try_get("peer_token")?,
            })
        })
        .collect()
}

/// When the next pending event is due (`None`: nothing pending).
pub(crate) async fn next_due_ms(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
) -> Result<Option<i64>, RecordError> {
    Ok(sqlx::query_scalar("SELECT MIN(next_attempt_ms) FROM order_events WHERE delivery = 'pending'")
        .fetch_one(executor)
        .await?)
}

/// After a restart every pending event is due at once.
pub(crate) async fn make_pending_due(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    now_ms: i64,
) -> Result<(), RecordError> {
    sqlx::query("UPDATE order_events SET next_attempt_ms = ? WHERE delivery = 'pending'")
        .bind(now_ms)
        .execute(executor)
        .await?;
    Ok(())
}

pub(crate) async fn mark_sent(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
) -> Result<(), RecordError> {
    sqlx::query(
        "UPDATE order_events SET delivery = 'sent', attempts = attempts + 1, last_error = NULL, done_at = ?
         WHERE order_key = ? AND seq = ? AND delivery = 'pending'",
    )
    .bind(now_text())
    .bind(order_key)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .execute(executor)
    .await?;
    Ok(())
}

pub(crate) async fn mark_retry(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
    attempts: i64,
    error: &str,
    next_attempt_ms: i64,
) -> Result<(), RecordError> {
    sqlx::query(
        "UPDATE order_events SET attempts = ?, last_error = ?, next_attempt_ms = ?
         WHERE order_key = ? AND seq = ? AND delivery = 'pending'",
    )
    .bind(attempts)
    .bind(error)
    .bind(next_attempt_ms)
    .bind(order_key)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .execute(executor)
    .await?;
    Ok(())
}

pub(crate) async fn mark_failed(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
    error: &str,
) -> Result<(), RecordError> {
    sqlx::query(
        "UPDATE order_events SET delivery = 'failed', attempts = attempts + 1, last_error = ?, done_at = ?
         WHERE order_key = ? AND seq = ? AND delivery = 'pending'",
    )
    .bind(error)
    .bind(now_text())
    .bind(order_key)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .execute(executor)
    .await?;
    Ok(())
}

/// One delivery of an order as stored (migration 0006).
#[derive(Debug, Clone)]
pub(crate) struct DeliveryRow {
    pub seq: u64,
    pub event_seq: u64,
    pub manifest: String,
    pub manifest_ref: String,
    pub folder: Option<String>,
    pub location: Option<String>,
    pub verification: Option<String>,
    pub intact: Option<bool>,
    pub intake_error: Option<String>,
    pub receipt: Option<String>,
    pub receipt_verified: Option<bool>,
    pub receipt_error: Option<String>,
    pub qc: Option<String>,
}

impl DeliveryRow {
    /// A delivery as its Delivered event announces it: nothing verified, receipted or checked yet.
    pub fn announced(
        seq: u64,
        event_seq: u64,
        manifest: String,
        manifest_ref: String,
        folder: Option<String>,
        location: Option<String>,
    ) -> DeliveryRow {
        DeliveryRow {
            seq,
            event_seq,
            manifest,
            manifest_ref,
            folder,
            location,
            verification: None,
            intact: None,
            intake_error: None,
            receipt: None,
            receipt_verified: None,
            receipt_error: None,
            qc: None,
        }
    }
}

fn delivery_from_row(row: &SqliteRow) -> Result<DeliveryRow, RecordError> {
    let seq: i64 = row.try_get("seq")?;
    let event_seq: i64 = row.try_get("event_seq")?;
    let flag =
        |name: &str| -> Result<Option<bool>, RecordError> { Ok(row.try_get::<Option<i64>, _>(name)?.map(|n| n != 0)) };
    Ok(DeliveryRow {
        seq: u64::try_from(seq).map_err(|_| RecordError::Corrupt(format!("delivery number {seq}")))?,
        event_seq: u64::try_from(event_seq).map_err(|_| RecordError::Corrupt(format!("event number {event_seq}")))?,
        manifest: row.try_get("manifest")?,
        manifest_ref: row.try_get("manifest_ref")?,
        folder: row.try_get("folder")?,
        location: row.try_get("location")?,
        verification: row.try_get("verification")?,
        intact: flag("intact")?,
        intake_error: row.try_get("intake_error")?,
        receipt: row.try_get("receipt")?,
        receipt_verified: flag("receipt_verified")?,
        receipt_error: row.try_get("receipt_error")?,
        qc: row.try_get("qc")?,
    })
}

pub(crate) async fn insert_delivery(
    conn: &mut SqliteConnection,
    order_key: &str,
    delivery: &DeliveryRow,
) -> Result<(), RecordError> {
    let now = now_text();
    sqlx::query(
        "INSERT INTO order_deliveries (order_key, seq, event_seq, manifest, manifest_ref, folder, location,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (order_key, seq) DO NOTHING",
    )
    .bind(order_key)
    .bind(i64::try_from(delivery.seq).unwrap_or(i64::MAX))
    .bind(i64::try_from(delivery.event_seq).unwrap_or(i64::MAX))
    .bind(&delivery.manifest)
    .bind(&delivery.manifest_ref)
    .bind(&delivery.folder)
    .bind(&delivery.location)
    .bind(&now)
    .bind(&now)
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn deliveries(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
) -> Result<Vec<DeliveryRow>, RecordError> {
    let rows = sqlx::query("SELECT * FROM order_deliveries WHERE order_key = ? ORDER BY seq")
        .bind(order_key)
        .fetch_all(executor)
        .await?;
    rows.iter().map(delivery_from_row).collect()
}

pub(crate) async fn delivery(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
) -> Result<Option<DeliveryRow>, RecordError> {
    let row = sqlx::query("SELECT * FROM order_deliveries WHERE order_key = ? AND seq = ?")
        .bind(order_key)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .fetch_optional(executor)
        .await?;
    row.as_ref().map(delivery_from_row).transpose()
}

/// The distributor's deliveries not verified yet (a crash or a failed download interrupted the intake).
pub(crate) async fn unverified_deliveries(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
) -> Result<Vec<(String, u64)>, RecordError> {
    let rows = sqlx::query(
        "SELECT d.order_key, d.seq FROM order_deliveries d JOIN orders o ON o.id = d.order_key
         WHERE o.side = 'distributor' AND d.verification IS NULL ORDER BY d.created_at",
    )
    .fetch_all(executor)
    .await?;
    rows.iter()
        .map(|row| {
            let seq: i64 = row.try_get("seq")?;
            Ok((row.try_get("order_key")?, u64::try_from(seq).unwrap_or(0)))
        })
        .collect()
}

/// The verdict on a delivery: the report (or the refusal's problems) and whether it is intact.
pub(crate) async fn set_verification(
    conn: &mut SqliteConnection,
    order_key: &str,
    seq: u64,
    verification: &str,
    intact: bool,
    receipt: Option<&str>,
) -> Result<(), RecordError> {
    sqlx::query(
        "UPDATE order_deliveries SET verification = ?, intact = ?, receipt = COALESCE(?, receipt),
             intake_error = NULL, updated_at = ? WHERE order_key = ? AND seq = ?",
    )
    .bind(verification)
    .bind(i64::from(intact))
    .bind(receipt)
    .bind(now_text())
    .bind(order_key)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .execute(conn)
    .await?;
    Ok(())
}

pub(crate) async fn set_intake_error(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
    error: &str,
) -> Result<(), RecordError> {
    sqlx::query("UPDATE order_deliveries SET intake_error = ?, updated_at = ? WHERE order_key = ? AND seq = ?")
        .bind(error)
        .bind(now_text())
        .bind(order_key)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .execute(executor)
        .await?;
    Ok(())
}

pub(crate) async fn set_receipt_check(
    executor: impl sqlx::Executor<'_, Database = Sqlite>,
    order_key: &str,
    seq: u64,
    verified: bool,
    error: Option<&str>,
) -> Result<(), RecordError> {
    sqlx::query(
        "UPDATE order_deliveries SET receipt_verified = ?, receipt_error = ?, updated_at = ?
         WHERE order_key = ? AND seq = ?",
    )
    .bind(i64::from(verified))
    .bind(error)
    .bind(now_text())
    .bind(order_key)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .execute(executor)
    .await?;
    Ok(())
}

pub(crate) async fn set_qc(
    conn: &mut SqliteConnection,
    order_key: &str,
    seq: u64,
    qc: &str,
) -> Result<(), RecordError> {
    sqlx::query("UPDATE order_deliveries SET qc = ?, updated_at = ? WHERE order_key = ? AND seq = ?")
        .bind(qc)
        .bind(now_text())
        .bind(order_key)
        .bind(i64::try_from(seq).unwrap_or(i64::MAX))
        .execute(conn)
        .await?;
    Ok(())
}
