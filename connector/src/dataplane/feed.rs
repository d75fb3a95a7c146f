//! The versions-and-rights feed: a non-finite PULL transfer on a work whose consumer reads,
//! with a cursor, every change the provider makes to the work, its versions and its rights
//! windows (and to its episodes, for a series), in commit order.
//!
//! - Provider: `GET /data/feed/{dataset}?after=SEQ&limit=N`, with the transfer's bearer token. The dataset is a
//!   work (its changes and its episodes') or a collection (the changes of the works its offer definition selects,
//!   membership decided when the page is read);
//!   (the same as for the dataset itself, while the transfer is STARTED). Changes come from
//!   `media_changes`, which triggers fill in the transaction of every change, so no write path
//!   can bypass the feed. Each change carries the work's document as it is when read.
//! - Consumer: [`Processes::follow_feed`] reads the next page from the stored cursor, then
//!   stores the changes and moves the cursor in one transaction: a consumer killed at any
//!   point reads the same page again, so nothing is skipped or kept twice.
//! - Push: the same pages, posted by the provider as changes happen, kept by the same
//!   [`Processes::keep_feed_page`] (`feed_push`); `follow_feed` then shows what was kept.

use crate::contracts::ProcessRow;
use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use passerelle_dsp::catalog::CatalogSource;
use passerelle_dsp::message::transfer::DataAddress;
use passerelle_dsp::process::Role;
use passerelle_dsp::transfer::State as TransferState;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::{DataError, authorize, document, internal};
use crate::catalog::ids::{self, DatasetRef};
use crate::contracts::{ProcessError, Processes, now_text};
use crate::outbox::error_chain;
use crate::transfers::TransferRecord;

/// Changes per page at most (and by default).
pub const MAX_PAGE: i64 = 500;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FeedQuery {
    after: Option<String>,
    limit: Option<String>,
}

fn number(name: &str, value: Option<&str>, default: i64, max: i64) -> Result<i64, DataError> {
    match value {
        None => Ok(default),
        Some(text) => text.parse::<i64>().ok().filter(|n| (0..=max).contains(n)).ok_or_else(|| {
            DataError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("`{name}` must be a whole number from 0 to {max}, not `{text}`"),
            )
        }),
    }
}

/// `GET /data/feed/{dataset}`: the changes after `after` (0: from the beginning).
pub(super) async fn serve_feed(
    State(processes): State<Processes>,
    Path(id): Path<String>,
    query: Result<Query<FeedQuery>, axum::extract::rejection::QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, DataError> {
    let Query(query) = query.map_err(|e| DataError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))?;
    let after = number("after", query.after.as_deref(), 0, i64::MAX)?;
    let limit = number("limit", query.limit.as_deref(), MAX_PAGE, MAX_PAGE)?.max(1);
    let grant = authorize(&processes, &headers, &id).await?;
    let (changes, next, more) = changes_for(&processes, &grant.transfer_pid, &id, after, limit).await?;
    Ok(Json(json!({"dataset": id, "changes": changes, "next": next, "more": more})).into_response())
}

/// The page of dataset `id`'s feed after `after` for transfer `pid`: `(changes, next cursor, more)`; the same for
/// a pull and a push.
pub(super) async fn changes_for(
    processes: &Processes,
    pid: &str,
    id: &str,
    after: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64, bool), DataError> {
    match ids::parse_dataset_id(id) {
        Some(DatasetRef::Work(work_id)) => work_changes(processes, &work_id, after, limit).await,
        Some(DatasetRef::Collection(definition)) => collection_changes(processes, pid, &definition, after, limit).await,
        Some(DatasetRef::Service(_)) => Err(DataError::new(
            StatusCode::BAD_REQUEST,
            "no_feed",
            format!("`{id}` is a service: it has no versions-and-rights feed; place orders at its orderEndpoint"),
        )),
        None => Err(DataError::new(
            StatusCode::BAD_REQUEST,
            "not_a_dataset",
            format!("`{id}` is not a dataset id of this connector"),
        )),
    }
}

/// One change as the feed serves it, with the work's document as it is now (none for a deleted work).
async fn change_json(processes: &Processes, row: &sqlx::sqlite::SqliteRow) -> Result<(i64, Value), DataError> {
    let seq: i64 = row.try_get("seq").map_err(internal)?;
    let changed_work: String = row.try_get("work_id").map_err(internal)?;
    let op: String = row.try_get("op").map_err(internal)?;
    let entity: String = row.try_get("entity").map_err(internal)?;
    let gone = op == "delete" && entity == "work";
    let document = if gone { None } else { work_document(processes, &changed_work).await? };
    let change = json!({
        "seq": seq,
        "entity": entity,
        "id": row.try_get::<String, _>("entity_id").map_err(internal)?,
        "workId": changed_work,
        "op": op,
        "at": row.try_get::<String, _>("at").map_err(internal)?,
        "document": document,
    });
    Ok((seq, change))
}

/// The changes of one work (and its episodes) after `after`: `(changes, next cursor, more)`.
async fn work_changes(
    processes: &Processes,
    work_id: &str,
    after: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64, bool), DataError> {
    // One more than asked tells whether another page follows.
    let rows = sqlx::query(
        "SELECT seq, entity, entity_id, work_id, op, at FROM media_changes
         WHERE seq > ? AND (work_id = ? OR work_id IN (SELECT id FROM works WHERE parent_id = ?))
         ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(work_id)
    .bind(work_id)
    .bind(limit + 1)
    .fetch_all(processes.pool())
    .await
    .map_err(internal)?;
    let more = rows.len() as i64 > limit;
    let mut changes = Vec::with_capacity(rows.len());
    let mut next = after;
    for row in rows.iter().take(limit as usize) {
        let (seq, change) = change_json(processes, row).await?;
        changes.push(change);
        next = seq;
    }
    Ok((changes, next, more))
}

/// Rows of the change log a collection's page looks through at most: a page of a collection that matches little
/// of the store ends early (`more`) rather than scanning the whole log at once; the cursor still moves past what
/// was looked at, so the next page starts there.
const COLLECTION_SCAN: i64 = 5_000;

/// The changes of the works in collection `definition` after `after`, as transfer `pid`'s consumer sees them.
///
/// Membership is decided by the offer definition's selector when a change is first served, and the decision is
/// kept per (transfer, change) in `feed_membership` (migration 0009), so that serving the same page again gives the
/// same answer and each consumer is told once when a work joins (`"membership": "joined"` on its change) and once
/// when it leaves (a change with `"entity": "membership"`, `"op": "leave"`, no document) — a work whose rights
/// window changes so that the selector no longer matches it does not just fall silent. A deleted work is reported
/// to the feeds it was a member of.
async fn collection_changes(
    processes: &Processes,
    pid: &str,
    definition: &str,
    after: i64,
    limit: i64,
) -> Result<(Vec<Value>, i64, bool), DataError> {
    let rows = sqlx::query(
        "SELECT seq, entity, entity_id, work_id, op, at FROM media_changes WHERE seq > ? ORDER BY seq LIMIT ?",
    )
    .bind(after)
    .bind(COLLECTION_SCAN + 1)
    .fetch_all(processes.pool())
    .await
    .map_err(internal)?;
    let last_seq = rows.last().map(|r| r.try_get::<i64, _>("seq")).transpose().map_err(internal)?.unwrap_or(after);
    let (mut members, decided) = membership_before(processes, pid, after, last_seq).await?;
    let mut scanned_all = rows.len() as i64 <= COLLECTION_SCAN;
    let mut selected_now: HashMap<String, bool> = HashMap::new();
    let mut decisions: Vec<(i64, String, bool)> = Vec::new();
    let mut changes = Vec::new();
    let mut next = after;
    for row in rows.iter().take(COLLECTION_SCAN as usize) {
        if changes.len() as i64 == limit {
            scanned_all = false;
            break;
        }
        let seq: i64 = row.try_get("seq").map_err(internal)?;
        let work_id: String = row.try_get("work_id").map_err(internal)?;
        let deleted_work = row.try_get::<String, _>("op").map_err(internal)? == "delete"
            && row.try_get::<String, _>("entity").map_err(internal)? == "work";
        let was = members.get(&work_id).copied().unwrap_or(false);
        let member = match decided.get(&seq) {
            Some(member) => *member,
            None if deleted_work => {
                if was {
                    decisions.push((seq, work_id.clone(), false));
                }
                false
            }
            None => {
                let now = match selected_now.get(&work_id) {
                    Some(known) => *known,
                    None => {
                        let known = in_collection(processes, definition, &work_id).await?;
                        selected_now.insert(work_id.clone(), known);
                        known
                    }
                };
                // Only what a consumer is told needs remembering: a work that never was a member stays unrecorded.
                if now || was {
                    decisions.push((seq, work_id.clone(), now));
                }
                now
            }
        };
        if member || (was && deleted_work) {
            let (_, mut change) = change_json(processes, row).await?;
            if member && !was {
                change["membership"] = json!("joined");
            }
            changes.push(change);
        } else if was {
            changes.push(json!({"seq": seq, "entity": "membership", "id": work_id, "workId": work_id, "op": "leave",
                "at": row.try_get::<String, _>("at").map_err(internal)?, "document": null}));
        }
        members.insert(work_id, member);
        next = seq;
    }
    if !decisions.is_empty() {
        let _writer = processes.inner.write.lock().await;
        let mut tx = processes.pool().begin().await.map_err(internal)?;
        for (seq, work_id, member) in &decisions {
            sqlx::query(
                "INSERT INTO feed_membership (transfer_pid, seq, work_id, member) VALUES (?, ?, ?, ?)
                 ON CONFLICT DO NOTHING",
            )
            .bind(pid)
            .bind(seq)
            .bind(work_id)
            .bind(member)
            .execute(&mut *tx)
            .await
            .map_err(internal)?;
        }
        tx.commit().await.map_err(internal)?;
    }
    Ok((changes, next, !scanned_all))
}

/// Transfer `pid`'s membership decisions: each work's last one up to `after` (where the page starts), and those
/// already taken for the changes in `(after, last]` (a page served again).
async fn membership_before(
    processes: &Processes,
    pid: &str,
    after: i64,
    last: i64,
) -> Result<(HashMap<String, bool>, HashMap<i64, bool>), DataError> {
    let rows = sqlx::query(
        "SELECT f.work_id, f.member FROM feed_membership f
         WHERE f.transfer_pid = ?1 AND f.seq = (SELECT MAX(g.seq) FROM feed_membership g
             WHERE g.transfer_pid = ?1 AND g.work_id = f.work_id AND g.seq <= ?2)",
    )
    .bind(pid)
    .bind(after)
    .fetch_all(processes.pool())
    .await
    .map_err(internal)?;
    let mut members = HashMap::with_capacity(rows.len());
    for row in rows {
        members.insert(row.try_get("work_id").map_err(internal)?, row.try_get("member").map_err(internal)?);
    }
    let rows = sqlx::query("SELECT seq, member FROM feed_membership WHERE transfer_pid = ? AND seq > ? AND seq <= ?")
        .bind(pid)
        .bind(after)
        .bind(last)
        .fetch_all(processes.pool())
        .await
        .map_err(internal)?;
    let mut decided = HashMap::with_capacity(rows.len());
    for row in rows {
        decided.insert(row.try_get("seq").map_err(internal)?, row.try_get("member").map_err(internal)?);
    }
    Ok((members, decided))
}

/// Whether work `work_id` is offered under offer definition `definition` now.
async fn in_collection(processes: &Processes, definition: &str, work_id: &str) -> Result<bool, DataError> {
    let dataset = ids::work_dataset_id(work_id);
    let entry = processes.inner.catalog.dataset(&dataset).await.map_err(internal)?;
    let offer = ids::definition_offer_id(definition, &dataset);
    Ok(entry.is_some_and(|e| e.offers.iter().any(|o| o.get("@id").and_then(Value::as_str) == Some(offer.as_str()))))
}

/// The work's document as the dataset endpoint serves it (`None`: no longer offered).
async fn work_document(processes: &Processes, work_id: &str) -> Result<Option<Value>, DataError> {
    let entry = processes.inner.catalog.dataset(&ids::work_dataset_id(work_id)).await.map_err(internal)?;
    Ok(entry.as_ref().map(document))
}

impl Processes {
    /// Reads the next page of the feed of transfer `pid` (a STARTED PULL transfer we consume),
    /// keeps it and moves the cursor; returns the new changes.
    pub async fn follow_feed(&self, pid: &str) -> Result<Value, ProcessError> {
        let record = self
            .read(|db| TransferRecord::load_any(db, pid))
            .await?
            .ok_or_else(|| ProcessError::NotFound { kind: "transfer", id: pid.to_string() })?;
        if record.side == Role::Consumer
            && record.format == crate::transfers::PUSH
            && super::feed_push::wants_feed(record.data_address.as_ref())
        {
            return self.pushed_feed(pid).await;
        }
        if record.side != Role::Consumer || record.format != crate::transfers::PULL {
            return Err(ProcessError::Invalid(format!(
                "transfer `{pid}` is not an {} transfer we consume: only those have a feed to follow",
                crate::transfers::PULL
            )));
        }
        let address =
            record.data_address.clone().filter(|_| record.state == TransferState::Started).ok_or_else(|| {
                ProcessError::Conflict(format!(
                    "transfer `{pid}` is {}: its feed is read only while it is STARTED",
                    record.state
                ))
            })?;
        let endpoint = address.property("feedEndpoint").map(str::to_string).ok_or_else(|| {
            ProcessError::Conflict(format!(
                "the provider of transfer `{pid}` offers no feed (no feedEndpoint in its data address)"
            ))
        })?;
        let cursor = self.feed_cursor(pid).await?;
        let page = match self.read_feed(&endpoint, &address, cursor).await {
            Err(FeedRead::Expired) => {
                let renewed = self.renew_token(pid, &address).await?;
                self.read_feed(&endpoint, &renewed, cursor).await.map_err(FeedRead::into_error)?
            }
            other => other.map_err(FeedRead::into_error)?,
        };
        let changes = page.get("changes").and_then(Value::as_array).cloned().unwrap_or_default();
        let next = page.get("next").and_then(Value::as_i64).unwrap_or(cursor);
        if next < cursor {
            return Err(ProcessError::Peer(format!("the provider's feed went back from {cursor} to {next}")));
        }
        match self.keep_feed_page(pid, cursor, &changes, next).await? {
            Kept::Stored => {}
            Kept::AlreadyPast(_) | Kept::Gap(_) => {
                // A concurrent reader of the same feed moved the cursor meanwhile: its page wins.
                return Err(ProcessError::Conflict(format!(
                    "the feed of transfer `{pid}` was read at the same time by another call; read it again"
                )));
            }
        }
        let more = page.get("more").and_then(Value::as_bool).unwrap_or(false);
        Ok(json!({"changes": changes, "cursor": next, "more": more}))
    }

    /// Keeps a page of changes that follows cursor `after` and moves the cursor to `next`, in one transaction
    /// (with a `feed.change` webhook per change): a page is kept whole or not at all, once. Pull and push both
    /// come here, so a consumer's feed is the same whichever way it arrives.
    pub(crate) async fn keep_feed_page(
        &self,
        pid: &str,
        after: i64,
        changes: &[Value],
        next: i64,
    ) -> Result<Kept, ProcessError> {
        let _guard = self.inner.write.lock().await;
        let mut tx = self.pool().begin().await?;
        let cursor: i64 = sqlx::query_scalar("SELECT after_seq FROM feed_cursors WHERE transfer_pid = ?")
            .bind(pid)
            .fetch_optional(&mut *tx)
            .await?
            .unwrap_or(0);
        match after.cmp(&cursor) {
            std::cmp::Ordering::Less => return Ok(Kept::AlreadyPast(cursor)),
            std::cmp::Ordering::Greater => return Ok(Kept::Gap(cursor)),
            std::cmp::Ordering::Equal => {}
        }
        for change in changes {
            sqlx::query("INSERT INTO received_data (transfer_pid, body, received_at) VALUES (?, ?, ?)")
                .bind(pid)
                .bind(change.to_string())
                .bind(now_text())
                .execute(&mut *tx)
                .await?;
            // The MAM hears of the change exactly when it is kept here.
            crate::webhooks::emit(self.inner.journal.webhooks.as_ref(), &mut tx, "feed.change", pid, change.clone())
                .await?;
        }
        sqlx::query(
            "INSERT INTO feed_cursors (transfer_pid, after_seq, updated_at) VALUES (?, ?, ?)
             ON CONFLICT (transfer_pid) DO UPDATE SET after_seq = excluded.after_seq, updated_at = excluded.updated_at",
        )
        .bind(pid)
        .bind(next)
        .bind(now_text())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Kept::Stored)
    }

    /// A feed we receive by push: every change kept so far, in order, and the cursor (nothing to read: the
    /// provider sends each change as it happens).
    async fn pushed_feed(&self, pid: &str) -> Result<Value, ProcessError> {
        let rows = sqlx::query("SELECT body FROM received_data WHERE transfer_pid = ? ORDER BY id")
            .bind(pid)
            .fetch_all(self.pool())
            .await?;
        let mut changes = Vec::with_capacity(rows.len());
        for row in rows {
            let body: String = row.try_get("body")?;
            changes.push(serde_json::from_str::<Value>(&body).unwrap_or(Value::String(body)));
        }
        let cursor = self.feed_cursor(pid).await?;
        Ok(json!({"changes": changes, "cursor": cursor, "more": false, "mode": "push"}))
    }

    async fn feed_cursor(&self, pid: &str) -> Result<i64, ProcessError> {
        Ok(sqlx::query_scalar("SELECT after_seq FROM feed_cursors WHERE transfer_pid = ?")
            .bind(pid)
            .fetch_optional(self.pool())
            .await?
            .unwrap_or(0))
    }

    async fn read_feed(&self, endpoint: &str, address: &DataAddress, after: i64) -> Result<Value, FeedRead> {
        // The endpoint is ours to extend: `after` is a number, nothing to escape.
        let url = format!("{endpoint}{}after={after}", if endpoint.contains('?') { '&' } else { '?' });
        let mut request = self.inner.http.get(&url);
        if let Some(token) = address.property("authorization") {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let response =
            request.send().await.map_err(|e| FeedRead::Failed(format!("{endpoint}: {}", error_chain(&e))))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if status == StatusCode::UNAUTHORIZED && body.get("error").and_then(Value::as_str) == Some("token_expired") {
            return Err(FeedRead::Expired);
        }
        if !status.is_success() {
            let message = body.get("message").and_then(Value::as_str).unwrap_or("no reason given");
            return Err(FeedRead::Failed(format!("{endpoint} answered HTTP {status}: {message}")));
        }
        Ok(body)
    }

    /// Gets a new token from the provider's refresh endpoint and keeps it in the transfer's data address.
    async fn renew_token(&self, pid: &str, address: &DataAddress) -> Result<DataAddress, ProcessError> {
        let (Some(endpoint), Some(refresh)) = (address.property("refreshEndpoint"), address.property("refreshToken"))
        else {
            return Err(ProcessError::Peer(format!("the token of transfer `{pid}` expired and cannot be refreshed")));
        };
        let response = self
            .inner
            .http
            .post(endpoint)
            .json(&json!({"refreshToken": refresh}))
            .send()
            .await
            .map_err(|e| ProcessError::Peer(format!("{endpoint}: {}", error_chain(&e))))?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let token =
            body.get("authorization").and_then(Value::as_str).filter(|_| status.is_success()).ok_or_else(|| {
                ProcessError::Peer(format!(
                    "{endpoint} refused to refresh the token of transfer `{pid}` (HTTP {status})"
                ))
            })?;
        let mut renewed = address.clone();
        renewed.endpoint_properties.retain(|p| p.name != "authorization");
        let renewed = renewed.with_property("authorization", token);
        let _guard = self.inner.write.lock().await;
        sqlx::query("UPDATE transfers SET data_address = ? WHERE pid = ? AND side = 'consumer'")
            .bind(serde_json::to_string(&renewed).map_err(|e| ProcessError::Store(e.to_string()))?)
            .bind(pid)
            .execute(self.pool())
            .await?;
        Ok(renewed)
    }
}

/// What became of a page offered to [`Processes::keep_feed_page`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kept {
    /// Kept; the cursor is the page's `next`.
    Stored,
    /// The page starts before the cursor (given): it was kept already — a resend.
    AlreadyPast(i64),
    /// The page starts after the cursor (given): something between is missing.
    Gap(i64),
}

enum FeedRead {
    Expired,
    Failed(String),
}

impl FeedRead {
    fn into_error(self) -> ProcessError {
        match self {
            FeedRead::Expired => ProcessError::Peer("the provider refused a token it had just refreshed".into()),
            FeedRead::Failed(message) => ProcessError::Peer(message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_parameters_are_checked() {
        assert_eq!(number("after", None, 0, i64::MAX).unwrap(), 0);
        assert_eq!(number("limit", Some("20"), MAX_PAGE, MAX_PAGE).unwrap(), 20);
        assert_eq!(number("limit", Some("9999"), MAX_PAGE, MAX_PAGE).unwrap_err().status, StatusCode::BAD_REQUEST);
        assert!(number("after", Some("-1"), 0, i64::MAX).is_err());
        assert!(number("after", Some("ten"), 0, i64::MAX).unwrap_err().message.contains("`ten`"));
    }
}
