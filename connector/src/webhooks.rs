//! Outbound webhooks: what happens in the data space, told to the participant's own MAM or
//! production tool (`[webhooks]`), so that people keep working in the tools they know.
//!
//! - An event is queued in the transaction of the change it reports (a negotiation reaching
//!   FINALIZED, a feed change read…): it is sent if and only if the change happened.
//! - Delivery is in queue order, one at a time: the head is retried with backoff (transport
//!   errors, 5xx, 408, 429) before anything after it is sent; any other refusal fails that
//!   event for good (logged) and the queue moves on. Each event carries its delivery id, so a
//!   receiver drops the duplicate a crash between sending and marking may cause.
//! - The body is signed: `X-Passerelle-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`
//!   with `X-Passerelle-Timestamp` (Unix seconds), like the webhooks of the large hosting services:
//!   a receiver checks the signature and refuses old timestamps.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use sqlx::{Row, SqliteConnection, SqlitePool};
use time::OffsetDateTime;
use tokio::sync::watch;
use url::Url;

use crate::contracts::now_text;
use crate::outbox::error_chain;

/// Every event a connector emits.
pub const EVENTS: &[&str] = &[
    "negotiation.finalized",
    "negotiation.terminated",
    "transfer.started",
    "transfer.completed",
    "transfer.terminated",
    "feed.change",
    // Subtitle orders (`crate::exchange`): an order placed with us (lab), a delivery arriving (distributor), an
    // acceptance (both sides), and every other order event.
    "order.received",
    "order.delivery_received",
    "order.accepted",
    "order.event",
];

const FIRST_BACKOFF_MS: i64 = 500;
const MAX_BACKOFF_MS: i64 = 60_000;
const IDLE_POLL: Duration = Duration::from_secs(1);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Which events are queued (the `[webhooks] events` key); shared by every writer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookFilter {
    events: BTreeSet<String>,
}

impl WebhookFilter {
    /// `names` must be among [`EVENTS`] (checked when the configuration is read).
    pub fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> WebhookFilter {
        WebhookFilter { events: names.into_iter().map(str::to_string).collect() }
    }

    pub fn all() -> WebhookFilter {
        WebhookFilter::new(EVENTS.iter().copied())
    }

    pub fn wants(&self, event: &str) -> bool {
        self.events.contains(event)
    }
}

const INSERT_DELIVERY: &str =
    "INSERT INTO webhook_deliveries (event, subject, body, status, attempts, next_attempt_ms, created_at)
     VALUES (?, ?, ?, 'pending', 0, 0, ?)";

/// The delivery row of `event` about `subject` (body, time), when `filter` wants it.
fn delivery(filter: Option<&WebhookFilter>, event: &str, subject: &str, data: Value) -> Option<(String, String)> {
    if !filter.is_some_and(|f| f.wants(event)) {
        return None;
    }
    let at = now_text();
    let body = json!({"event": event, "subject": subject, "at": at, "data": data});
    Some((body.to_string(), at))
}

/// Queues `event` about `subject` in the caller's transaction, when `filter` wants it.
pub(crate) async fn emit(
    filter: Option<&WebhookFilter>,
    conn: &mut SqliteConnection,
    event: &str,
    subject: &str,
    data: Value,
) -> Result<(), sqlx::Error> {
    let Some((body, at)) = delivery(filter, event, subject, data) else { return Ok(()) };
    sqlx::query(INSERT_DELIVERY).bind(event).bind(subject).bind(body).bind(at).execute(conn).await.map(|_| ())
}

/// [`emit`] in a transaction of the process host (`store::direct`).
pub(crate) fn emit_on(
    filter: Option<&WebhookFilter>,
    db: &crate::store::direct::Db,
    event: &str,
    subject: &str,
    data: Value,
) -> Result<(), rusqlite::Error> {
    let Some((body, at)) = delivery(filter, event, subject, data) else { return Ok(()) };
    db.prepare_cached(INSERT_DELIVERY)?.execute((event, subject, body, at)).map(|_| ())
}

/// The signature header value for `body` sent at `timestamp`.
pub fn signature(secret: &[u8], timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, format!("{timestamp}.{body}").as_bytes());
    format!("sha256={}", hex::encode(tag.as_ref()))
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn backoff_ms(attempts: i64) -> i64 {
    crate::outbox::doubling_backoff_ms(attempts, FIRST_BACKOFF_MS, MAX_BACKOFF_MS)
}

/// Where and how events are sent.
#[derive(Clone)]
pub struct WebhookSender {
    pub url: Url,
    /// The shared HMAC key, read and guarded like the API key (never logged).
    pub secret: crate::secrets::ApiKey,
}

impl std::fmt::Debug for WebhookSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSender").field("url", &self.url.as_str()).finish_non_exhaustive()
    }
}

enum Sent {
    Delivered,
    Retry(String),
    Refused(String),
}

/// Delivers queued events until `stop` turns true.
pub async fn run(pool: SqlitePool, sender: WebhookSender, mut stop: watch::Receiver<bool>) {
    let http = match reqwest::Client::builder().timeout(TIMEOUT).build() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "webhooks: no HTTP client; events stay queued");
            return;
        }
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let wait = match deliver_next(&pool, &http, &sender).await {
            Ok(Some(wait)) => wait,
            Ok(None) => Duration::ZERO,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks: cannot read the queue");
                IDLE_POLL
            }
        };
        if wait.is_zero() {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// Sends the head of the queue if it is due. `Ok(None)`: go on at once; `Ok(Some(d))`: wait `d`.
async fn deliver_next(
    pool: &SqlitePool,
    http: &reqwest::Client,
    sender: &WebhookSender,
) -> Result<Option<Duration>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT id, event, body, attempts, next_attempt_ms FROM webhook_deliveries WHERE status = 'pending' ORDER BY id LIMIT 1",
    )
    .fetch_optional(pool)
    .await?
    else {
        return Ok(Some(IDLE_POLL));
    };
    let id: i64 = row.try_get("id")?;
    let attempts: i64 = row.try_get("attempts")?;
    let due: i64 = row.try_get("next_attempt_ms")?;
    let now = now_ms();
    if due > now {
        return Ok(Some(Duration::from_millis(u64::try_from(due - now).unwrap_or(0).min(1_000))));
    }
    let event: String = row.try_get("event")?;
    let body: String = row.try_get("body")?;
    match send(http, sender, id, &event, &body).await {
        Sent::Delivered => {
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'sent', attempts = attempts + 1, done_at = ? WHERE id = ?",
            )
            .bind(now_text())
            .bind(id)
            .execute(pool)
            .await?;
            Ok(None)
        }
        Sent::Retry(error) => {
            let attempts = attempts + 1;
            tracing::info!(id, %event, attempts, %error, "webhook: will retry");
            sqlx::query("UPDATE webhook_deliveries SET attempts = ?, last_error = ?, next_attempt_ms = ? WHERE id = ?")
                .bind(attempts)
                .bind(&error)
                .bind(now_ms() + backoff_ms(attempts))
                .bind(id)
                .execute(pool)
                .await?;
            Ok(None)
        }
        Sent::Refused(error) => {
            tracing::warn!(id, %event, %error, "webhook: refused by the receiver, dropped");
            sqlx::query(
                "UPDATE webhook_deliveries SET status = 'failed', attempts = attempts + 1, last_error = ?, done_at = ? WHERE id = ?",
            )
            .bind(&error)
            .bind(now_text())
            .bind(id)
            .execute(pool)
            .await?;
            Ok(None)
        }
    }
}

async fn send(http: &reqwest::Client, sender: &WebhookSender, id: i64, event: &str, body: &str) -> Sent {
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let response = http
        .post(sender.url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Passerelle-Event", event)
        .header("X-Passerelle-Delivery", id.to_string())
        .header("X-Passerelle-Timestamp", timestamp.to_string())
        .header("X-Passerelle-Signature", signature(sender.secret.expose().as_bytes(), timestamp, body))
        .body(body.to_string())
        .send()
        .await;
    match response {
        Err(e) => Sent::Retry(format!("{}: {}", sender.url, error_chain(&e))),
        Ok(r) if r.status().is_success() => Sent::Delivered,
        Ok(r) => {
            let status = r.status();
            let message = format!("{} answered HTTP {status}", sender.url);
            if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Sent::Retry(message)
            } else {
                Sent::Refused(message)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_and_body() {
        // Computed independently with Python's hmac module.
        let expected = "sha256=2088c7a6fe6da4693554af7367bccf4def09260a852242fa734ea5fb8d50a6a3";
        assert_eq!(
            signature(b"0123456789abcdef0123456789abcdef", 1_800_000_000, r#"{"event":"feed.change"}"#),
            expected
        );
        assert_ne!(
            signature(b"0123456789abcdef0123456789abcdef", 1_800_000_001, r#"{"event":"feed.change"}"#),
            expected
        );
    }

    #[test]
    fn filters_and_backoff() {
        let only = WebhookFilter::new(["feed.change"]);
        assert!(only.wants("feed.change") && !only.wants("transfer.started"));
        assert!(EVENTS.iter().all(|e| WebhookFilter::all().wants(e)));
        assert_eq!((backoff_ms(1), backoff_ms(2), backoff_ms(100)), (500, 1_000, MAX_BACKOFF_MS));
    }
}
