//! The versions-and-rights feed by push: the provider posts every change of the agreed work or collection to the
//! consumer's feed inbox, in order, as it happens; the same pages as a pulled feed (`feed::changes_for`), kept by
//! the consumer the same way (`Processes::keep_feed_page`).
//!
//! - The consumer asks for it: an `HttpData-PUSH` transfer whose data address is its feed inbox
//!   (`/data/feed-inbox/{pid}`, a fresh bearer token, property `feed: true`). Without that property a PUSH transfer
//!   is the one-off push of the dataset's documents.
//! - Provider: the transfer's start registers it in `feed_pushes` (migration 0009), in the start's transaction, and
//!   the transfer stays STARTED (a feed does not end). [`run`] looks every [`POLL`] at the STARTED feeds behind the
//!   change log (no write path can bypass the log: triggers fill it) and posts `{dataset, after, next, changes}`.
//!   Only the consumer's acknowledgement moves `after_seq`; transport errors, 5xx and refusals are retried with the
//!   shared doubling backoff. Suspended, completed or terminated transfers are not pushed to; a resumed one goes on
//!   from where its consumer is.
//! - Consumer: a page is kept only if it starts at the consumer's cursor; a page that starts before it is a resend
//!   (acknowledged with the cursor, nothing kept twice); one that starts after it is a gap (409 `feed_gap` with the
//!   cursor, from which the provider sends again). Either side killed at any point: the provider resends from the
//!   last acknowledged cursor, and the consumer keeps each change once.

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use passerelle_dsp::message::transfer::DataAddress;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;
use tokio::sync::watch;

use super::feed::{Kept, changes_for};
use super::{DataError, HTTP_ENDPOINT_TYPE, internal, random_token};
use crate::contracts::{ProcessError, Processes, now_text};
use crate::outbox::{doubling_backoff_ms, error_chain};

/// The data-address property by which a consumer asks for its feed by push.
pub const FEED_PROPERTY: &str = "feed";
/// How often the provider looks for changes to push.
pub const POLL: Duration = Duration::from_millis(200);
/// Changes per push at most.
const PUSH_PAGE: i64 = 200;
const FIRST_BACKOFF_MS: i64 = 250;
const MAX_BACKOFF_MS: i64 = 10_000;

/// The data address a consumer gives for a pushed feed: our feed inbox for transfer `pid`, with a fresh token.
pub(crate) fn feed_inbox_address(base_url: &str, pid: &str) -> Result<DataAddress, ProcessError> {
    Ok(DataAddress::new(HTTP_ENDPOINT_TYPE, format!("{base_url}/data/feed-inbox/{pid}"))
        .with_property("authorization", random_token()?)
        .with_property("authType", "bearer")
        .with_property(FEED_PROPERTY, "true"))
}

/// Whether a PUSH transfer's data address asks for the feed (rather than a one-off push of documents).
pub(crate) fn wants_feed(address: Option<&DataAddress>) -> bool {
    address.and_then(|a| a.property(FEED_PROPERTY)) == Some("true")
}

/// Provider: the feed of `dataset_id` is pushed for transfer `pid` from the start of the log (in the start's
/// transaction; a repeated start changes nothing).
pub(crate) fn subscribe(db: &crate::store::direct::Db, pid: &str, dataset_id: &str) -> Result<(), rusqlite::Error> {
    db.prepare_cached(
        "INSERT INTO feed_pushes (transfer_pid, dataset_id, updated_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )?
    .execute((pid, dataset_id, now_text()))?;
    Ok(())
}

/// One feed the provider pushes, as read for a round.
struct Subscription {
    pid: String,
    dataset_id: String,
    after: i64,
    attempts: i64,
    address: Option<DataAddress>,
}

fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// Runs the provider's pushes until `stop` turns true.
pub async fn run(processes: Processes, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            return;
        }
        let mut pushed_any = false;
        match due(&processes).await {
            Ok(subscriptions) => {
                for subscription in subscriptions {
                    if *stop.borrow() {
                        return;
                    }
                    pushed_any |= push_once(&processes, subscription).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "feed push: cannot read the feeds to push"),
        }
        if pushed_any {
            continue; // there may be more behind a full page
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => {}
        }
    }
}

/// STARTED feeds we provide that are due and behind the change log.
async fn due(processes: &Processes) -> Result<Vec<Subscription>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT f.transfer_pid, f.dataset_id, f.after_seq, f.attempts, t.data_address
         FROM feed_pushes f JOIN transfers t ON t.pid = f.transfer_pid AND t.side = 'provider'
         WHERE t.state = 'STARTED' AND f.next_attempt_ms <= ?
           AND f.after_seq < (SELECT COALESCE(MAX(seq), 0) FROM media_changes)",
    )
    .bind(now_ms())
    .fetch_all(processes.pool())
    .await?;
    rows.iter()
        .map(|row| {
            let address: Option<String> = row.try_get("data_address")?;
            Ok(Subscription {
                pid: row.try_get("transfer_pid")?,
                dataset_id: row.try_get("dataset_id")?,
                after: row.try_get("after_seq")?,
                attempts: row.try_get("attempts")?,
                address: address.and_then(|a| serde_json::from_str(&a).ok()),
            })
        })
        .collect()
}

/// Pushes the next page of one feed; true when the consumer moved on (more may follow at once).
async fn push_once(processes: &Processes, feed: Subscription) -> bool {
    let page = changes_for(processes, &feed.pid, &feed.dataset_id, feed.after, PUSH_PAGE).await;
    let (changes, next, _) = match page {
        Ok(page) => page,
        Err(e) => {
            failed(processes, &feed, &format!("the feed of `{}` cannot be read: {e:?}", feed.dataset_id)).await;
            return false;
        }
    };
    if next == feed.after {
        return false; // nothing of this dataset among the newer changes
    }
    let Some(endpoint) = feed.address.as_ref().and_then(|a| a.endpoint.clone()) else {
        failed(processes, &feed, "the consumer's data address names no endpoint").await;
        return false;
    };
    let token = feed.address.as_ref().and_then(|a| a.property("authorization")).unwrap_or_default();
    let body = json!({"dataset": feed.dataset_id, "after": feed.after, "next": next, "changes": changes});
    let sent = processes.inner.http.post(&endpoint).header(AUTHORIZATION, format!("Bearer {token}")).json(&body).send();
    let response = match sent.await {
        Ok(response) => response,
        Err(e) => {
            failed(processes, &feed, &format!("{endpoint}: {}", error_chain(&e))).await;
            return false;
        }
    };
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    // The consumer's cursor is the truth: after a kept page, a resend or a gap, we go on from there.
    let cursor = answer.get("cursor").and_then(Value::as_i64);
    match (status, cursor) {
        (s, Some(cursor)) if s.is_success() || (s == StatusCode::CONFLICT && answer["error"] == "feed_gap") => {
            acknowledged(processes, &feed.pid, cursor).await
        }
        _ => {
            let reason = answer.get("message").and_then(Value::as_str).unwrap_or("no reason given");
            failed(processes, &feed, &format!("{endpoint} answered HTTP {status}: {reason}")).await;
            false
        }
    }
}

async fn acknowledged(processes: &Processes, pid: &str, cursor: i64) -> bool {
    let _writer = processes.inner.write.lock().await;
    let done = sqlx::query(
        "UPDATE feed_pushes SET after_seq = ?, attempts = 0, next_attempt_ms = 0, last_error = NULL, updated_at = ?
         WHERE transfer_pid = ?",
    )
    .bind(cursor)
    .bind(now_text())
    .bind(pid)
    .execute(processes.pool())
    .await;
    match done {
        Ok(_) => true,
        Err(e) => {
            // Not moved: the same page goes again, and the consumer answers it as a resend.
            tracing::warn!(error = %e, pid, "feed push: cannot record the consumer's cursor");
            false
        }
    }
}

async fn failed(processes: &Processes, feed: &Subscription, reason: &str) {
    let attempts = feed.attempts + 1;
    tracing::info!(pid = %feed.pid, attempts, error = %reason, "feed push: will retry");
    let _writer = processes.inner.write.lock().await;
    let done = sqlx::query(
        "UPDATE feed_pushes SET attempts = ?, next_attempt_ms = ?, last_error = ?, updated_at = ? WHERE transfer_pid = ?",
    )
    .bind(attempts)
    .bind(now_ms() + doubling_backoff_ms(attempts, FIRST_BACKOFF_MS, MAX_BACKOFF_MS))
    .bind(reason)
    .bind(now_text())
    .bind(&feed.pid)
    .execute(processes.pool())
    .await;
    if let Err(e) = done {
        tracing::warn!(error = %e, pid = %feed.pid, "feed push: cannot record a failed push");
    }
}

/// Body of `POST /data/feed-inbox/{pid}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    dataset: String,
    after: i64,
    next: i64,
    changes: Vec<Value>,
}

/// What is wrong with a batch, if anything: the cursors and every change's `seq` must run forward inside it.
fn batch_problem(batch: &Batch) -> Option<String> {
    if batch.after < 0 || batch.next < batch.after {
        return Some(format!("`after` ({}) and `next` ({}) must satisfy 0 ≤ after ≤ next", batch.after, batch.next));
    }
    let mut previous = batch.after;
    for (i, change) in batch.changes.iter().enumerate() {
        let Some(seq) = change.get("seq").and_then(Value::as_i64) else {
            return Some(format!("changes[{i}] has no numeric `seq`"));
        };
        if seq <= previous || seq > batch.next {
            return Some(format!(
                "changes[{i}].seq is {seq}: each change must come after the one before it (or `after`) and not \
                 after `next`"
            ));
        }
        previous = seq;
    }
    None
}

/// Consumer: `POST /data/feed-inbox/{pid}`, a page of a feed we receive by push.
pub(super) async fn feed_inbox(
    State(processes): State<Processes>,
    Path(pid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DataError> {
    super::pushed_to(&processes, &headers, &pid, true).await?;
    let batch: Batch = serde_json::from_slice(&body).map_err(|e| {
        DataError::new(
            StatusCode::BAD_REQUEST,
            "malformed_batch",
            format!("send {{\"dataset\", \"after\", \"next\", \"changes\"}}: {e}"),
        )
    })?;
    if let Some(problem) = batch_problem(&batch) {
        return Err(DataError::new(StatusCode::BAD_REQUEST, "invalid_batch", problem));
    }
    let kept = processes.keep_feed_page(&pid, batch.after, &batch.changes, batch.next).await.map_err(internal)?;
    Ok(match kept {
        Kept::Stored => (StatusCode::OK, Json(json!({"cursor": batch.next}))).into_response(),
        Kept::AlreadyPast(cursor) => {
            (StatusCode::OK, Json(json!({"cursor": cursor, "duplicate": true}))).into_response()
        }
        Kept::Gap(cursor) => (
            StatusCode::CONFLICT,
            Json(json!({"error": "feed_gap", "cursor": cursor, "dataset": batch.dataset,
                "message": format!("this feed is at {cursor}: send the changes after {cursor}, not after {}", batch.after)})),
        )
            .into_response(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(after: i64, next: i64, seqs: &[i64]) -> Batch {
        Batch { dataset: "work:a".into(), after, next, changes: seqs.iter().map(|seq| json!({"seq": seq})).collect() }
    }

    #[test]
    fn a_batch_runs_forward_from_after_to_next() {
        assert_eq!(batch_problem(&batch(3, 9, &[4, 7, 9])), None);
        assert_eq!(batch_problem(&batch(3, 9, &[])), None, "a page of changes outside the dataset moves the cursor");
        assert!(batch_problem(&batch(9, 3, &[])).unwrap().contains("after ≤ next"));
        assert!(batch_problem(&batch(-1, 3, &[])).is_some());
        assert!(batch_problem(&batch(3, 9, &[3])).unwrap().contains("changes[0].seq is 3"));
        assert!(batch_problem(&batch(3, 9, &[5, 5])).unwrap().contains("changes[1].seq is 5"));
        assert!(batch_problem(&batch(3, 9, &[10])).is_some(), "beyond next");
        let mut no_seq = batch(3, 9, &[]);
        no_seq.changes.push(json!({"id": "x"}));
        assert!(batch_problem(&no_seq).unwrap().contains("no numeric `seq`"));
    }

    /// The provider's own safeguard, apart from the consumer's inbox (which refuses pages for a feed it suspended
    /// too, so the end-to-end test in `tests/it/feed.rs` cannot tell the two apart): only a STARTED feed we provide
    /// that is behind the change log and due is pushed.
    #[tokio::test]
    async fn only_started_feeds_that_are_behind_and_due_are_pushed() {
        async fn exec(processes: &Processes, sql: &str) {
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(processes.pool()).await.unwrap();
        }
        let processes = Processes::new(
            crate::store::Store::open_in_memory().await.unwrap(),
            "did:web:p.example",
            "http://127.0.0.1:9",
        );
        let address = serde_json::to_string(&feed_inbox_address("http://c.example", "urn:t:1").unwrap()).unwrap();
        sqlx::query(
            "INSERT INTO transfers (pid, side, state, agreement_id, format, data_address, history, created_at,
             updated_at) VALUES ('urn:t:1', 'provider', 'SUSPENDED', 'urn:a:1', 'HttpData-PUSH', ?, '[]', 'x', 'x')",
        )
        .bind(address)
        .execute(processes.pool())
        .await
        .unwrap();
        exec(
            &processes,
            "INSERT INTO feed_pushes (transfer_pid, dataset_id, updated_at) VALUES ('urn:t:1', 'work:a', 'x')",
        )
        .await;
        exec(
            &processes,
            "INSERT INTO media_changes (entity, entity_id, work_id, op, at) VALUES ('work', 'a', 'a', 'upsert', 'x')",
        )
        .await;
        let due_pids = async || due(&processes).await.unwrap().into_iter().map(|f| f.pid).collect::<Vec<_>>();

        assert!(due_pids().await.is_empty(), "a SUSPENDED feed gets nothing");
        exec(&processes, "UPDATE transfers SET state = 'STARTED'").await;
        assert_eq!(due_pids().await, ["urn:t:1"], "resumed, it is behind the change log");
        let pushed = due(&processes).await.unwrap().remove(0);
        assert_eq!((pushed.dataset_id.as_str(), pushed.after), ("work:a", 0));
        assert!(wants_feed(pushed.address.as_ref()), "{:?}", pushed.address);
        exec(&processes, "UPDATE feed_pushes SET next_attempt_ms = 9223372036854775807").await;
        assert!(due_pids().await.is_empty(), "a failed push waits for its retry");
        exec(
            &processes,
            "UPDATE feed_pushes SET next_attempt_ms = 0, after_seq = (SELECT MAX(seq) FROM media_changes)",
        )
        .await;
        assert!(due_pids().await.is_empty(), "a feed that has every change is not pushed");
        for state in ["COMPLETED", "TERMINATED", "REQUESTED"] {
            exec(&processes, "UPDATE feed_pushes SET after_seq = 0").await;
            exec(&processes, &format!("UPDATE transfers SET state = '{state}'")).await;
            assert!(due_pids().await.is_empty(), "a {state} feed gets nothing");
        }
        exec(&processes, "UPDATE transfers SET state = 'STARTED', side = 'consumer'").await;
        assert!(due_pids().await.is_empty(), "a feed we consume is not ours to push");
    }

    #[test]
    fn only_a_feed_inbox_address_asks_for_the_feed() {
        let feed = feed_inbox_address("http://c.example", "urn:t:1").unwrap();
        assert!(wants_feed(Some(&feed)));
        assert_eq!(feed.endpoint.as_deref(), Some("http://c.example/data/feed-inbox/urn:t:1"));
        assert_ne!(
            feed.property("authorization"),
            feed_inbox_address("http://c.example", "urn:t:1").unwrap().property("authorization")
        );
        assert!(!wants_feed(Some(&super::super::inbox_address("http://c.example", "urn:t:1"))));
        assert!(!wants_feed(None));
    }
}
