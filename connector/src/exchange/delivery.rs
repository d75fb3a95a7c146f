//! Delivery of our order events to the other party: `{seq, event}` posted to the lab's order endpoint or the
//! distributor's callback, in order per order, with retries and backoff, across restarts.
//!
//! - An event is stored `pending` in the transaction that applied it, before the management call is answered;
//!   it is marked `sent` once the other party acknowledged it (2xx). A crash between the two resends it, and the
//!   receiver answers a resend as it answered the original (same number, same content: a replay).
//! - Transport errors, 5xx, 408 and 429 are retried (250 ms doubling to 5 s between attempts); an expired
//!   data-plane token is refreshed with the transfer's refresh token and the event retried; any other refusal
//!   (conflict, illegal, policy) fails the event for good with the receiver's reason, and holds back the events
//!   after it in that order (the receiver could not apply them anyway).
//! - At start every pending event is due at once.
//! - Orders are independent: the first undelivered event of each order goes out concurrently (up to [`BATCH`]).

use crate::contracts::ProcessRow;
use std::time::Duration;

use axum::http::header::AUTHORIZATION;
use passerelle_exchange::Party;
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::records::{self, DueEvent};
use super::{Orders, now_ms};
use crate::outbox::error_chain;

const FIRST_BACKOFF_MS: i64 = 250;
const MAX_BACKOFF_MS: i64 = 5_000;
/// The loop looks at the table at least this often even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 32;

/// Why a post did not get an answer (or got one that is not acceptance).
#[derive(Debug)]
pub(crate) struct Failure {
    pub retryable: bool,
    pub message: String,
}

/// Time to wait after the `attempts`-th failure.
pub(crate) fn backoff_ms(attempts: i64) -> i64 {
    crate::outbox::doubling_backoff_ms(attempts, FIRST_BACKOFF_MS, MAX_BACKOFF_MS)
}

/// Whether a refusal with this HTTP status may succeed later unchanged.
pub(crate) fn retryable_status(status: u16) -> bool {
    status >= 500 || status == 408 || status == 429
}

/// Posts `body` with a bearer token; the status and the JSON answer (`null` when it is not JSON).
pub(crate) async fn post(
    http: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
) -> Result<(u16, Value), Failure> {
    let response = http
        .post(url)
        .header(AUTHORIZATION, format!("Bearer {token}"))
        .json(body)
        .send()
        .await
        .map_err(|e| Failure { retryable: true, message: format!("{url}: {}", error_chain(&e)) })?;
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// Runs the delivery loop until `stop` turns true.
pub async fn run(orders: Orders, mut stop: watch::Receiver<bool>) {
    if let Err(e) = records::make_pending_due(orders.pool(), now_ms()).await {
        tracing::warn!(error = %e, "order events: cannot make pending events due");
    }
    super::deliveries::resume(&orders).await;
    loop {
        if *stop.borrow() {
            return;
        }
        let mut delivered_any = false;
        match records::due(orders.pool(), now_ms(), BATCH).await {
            Ok(batch) => {
                // A batch holds at most one event per order (the first one not yet delivered), so its events
                // go out at once: order is kept within an order, and one slow peer or retry does not hold
                // up the other orders.
                let mut sending = JoinSet::new();
                for event in batch {
                    let orders = orders.clone();
                    sending.spawn(async move { deliver(&orders, event).await });
                    delivered_any = true;
                }
                let all_done = async { while sending.join_next().await.is_some() {} };
                tokio::select! {
                    () = all_done => {}
                    _ = stop.changed() => {
                        // Cut short: those events are still pending and are sent again after the next start.
                        sending.abort_all();
                        return;
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "order events: cannot read pending events"),
        }
        if delivered_any {
            continue;
        }
        let idle = match records::next_due_ms(orders.pool()).await {
            Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0).max(1)).min(IDLE_POLL),
            _ => IDLE_POLL,
        };
        tokio::select! {
            _ = orders.wake.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn deliver(orders: &Orders, event: DueEvent) {
    let result = send(orders, &event).await;
    // Bookkeeping goes through the writer lock, like every write of the host's transactions.
    let _writer = orders.processes.inner.write.lock().await;
    let booked = match result {
        Ok(()) => {
            tracing::debug!(order = %event.order_id, seq = event.seq, "order event delivered");
            records::mark_sent(orders.pool(), &event.order_key, event.seq).await
        }
        Err(failure) if failure.retryable => {
            let attempts = event.attempts + 1;
            tracing::info!(order = %event.order_id, seq = event.seq, attempts, error = %failure.message,
                "order event: will retry");
            let next = now_ms() + backoff_ms(attempts);
            records::mark_retry(orders.pool(), &event.order_key, event.seq, attempts, &failure.message, next).await
        }
        Err(failure) => {
            tracing::warn!(order = %event.order_id, seq = event.seq, error = %failure.message,
                "order event: refused for good");
            records::mark_failed(orders.pool(), &event.order_key, event.seq, &failure.message).await
        }
    };
    if let Err(e) = booked {
        // The event stays pending and is sent again: the receiver answers a resend idempotently.
        tracing::warn!(error = %e, order = %event.order_id, seq = event.seq, "order event: bookkeeping failed");
    }
}

/// Where an event goes: the lab's `…/exchange/orders/{orderId}/events`, or the distributor's callback as given.
pub(crate) fn target(side: Party, peer_address: &str, order_id: &str) -> String {
    match side {
        Party::Distributor => {
            format!("{}/{}/events", peer_address.trim_end_matches('/'), crate::api::percent_segment(order_id))
        }
        Party::Lab => peer_address.to_string(),
    }
}

async fn send(orders: &Orders, due: &DueEvent) -> Result<(), Failure> {
    let event: Value = serde_json::from_str(&due.event)
        .map_err(|e| Failure { retryable: false, message: format!("stored event {} is unreadable: {e}", due.seq) })?;
    let url = target(due.side, &due.peer_address, &due.order_id);
    let body = json!({"seq": due.seq, "event": event});
    let (status, answer) = post(&orders.processes.inner.http, &url, &due.peer_token, &body).await?;
    if (200..300).contains(&status) {
        return Ok(());
    }
    if status == 401 && due.side == Party::Distributor && answer["error"] == "token_expired" {
        return match refresh(orders, &due.transfer_pid).await {
            Ok(()) => Err(Failure { retryable: true, message: "the lab's token had expired; refreshed".into() }),
            Err(message) => Err(Failure { retryable: true, message }),
        };
    }
    let reason = answer["message"].as_str().map(str::to_string).unwrap_or_else(|| answer.to_string());
    Err(Failure { retryable: retryable_status(status), message: format!("{url} answered HTTP {status}: {reason}") })
}

/// Gets a new data-plane token for transfer `transfer_pid` with its refresh token, for every order placed through it.
pub(crate) async fn refresh(orders: &Orders, transfer_pid: &str) -> Result<(), String> {
    let transfer = orders
        .processes
        .read(|db| crate::transfers::TransferRecord::load_any(db, transfer_pid))
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("transfer `{transfer_pid}` is gone: no token can be refreshed"))?;
    let address = transfer.data_address.as_ref();
    let (Some(endpoint), Some(refresh_token)) =
        (address.and_then(|a| a.property("refreshEndpoint")), address.and_then(|a| a.property("refreshToken")))
    else {
        return Err(format!("transfer `{transfer_pid}` has no refresh endpoint: the lab's token cannot be renewed"));
    };
    let response = orders
        .processes
        .inner
        .http
        .post(endpoint)
        .json(&json!({"refreshToken": refresh_token}))
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {}", error_chain(&e)))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    let token = answer["authorization"]
        .as_str()
        .filter(|_| status.is_success())
        .ok_or_else(|| format!("{endpoint} refused to refresh the token (HTTP {status})"))?;
    let _writer = orders.processes.inner.write.lock().await;
    let mut conn = orders.pool().acquire().await.map_err(|e| e.to_string())?;
    records::set_transfer_token(&mut conn, transfer_pid, token).await.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_ms(1), 250);
        assert_eq!(backoff_ms(2), 500);
        assert_eq!(backoff_ms(5), 4_000);
        assert_eq!(backoff_ms(6), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(i64::MAX), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0), 250);
    }

    #[test]
    fn only_transient_refusals_are_retried() {
        for status in [500, 502, 503, 408, 429] {
            assert!(retryable_status(status), "{status}");
        }
        for status in [400, 401, 403, 404, 409, 422] {
            assert!(!retryable_status(status), "{status}");
        }
    }

    #[test]
    fn events_go_to_the_labs_order_or_to_the_callback_as_given() {
        assert_eq!(
            target(Party::Distributor, "http://lab.example/exchange/orders/", "PO 1/2"),
            "http://lab.example/exchange/orders/PO%201%2F2/events"
        );
        let callback = "http://dist.example/exchange/callback/orders/urn:uuid:1";
        assert_eq!(target(Party::Lab, callback, "PO-1"), callback);
    }
}
