//! The outbox: every protocol message (and data push) this connector sends goes
//! through a table first, in the same transaction as the state change that caused it,
//! and a worker delivers it with retries and exponential backoff.
//!
//! - Order: per process, a message is sent only when every earlier one of that
//!   process has been delivered or has failed for good, so a counter-party sees our
//!   messages in the order we decided them. Different processes are sent concurrently
//!   (at most [`IN_FLIGHT`] at once), so one slow or dead peer does not hold up others.
//! - Retries: transport errors, 5xx, 408 and 429 are retried (250 ms, doubling, at
//!   most 5 s apart); any other refusal fails the message for good and is recorded as
//!   the process's last error.
//! - Restart: pending messages are due at once when the worker starts, so a connector
//!   killed at any point resumes every process; a message sent but not yet marked
//!   delivered is sent again, which the receiver answers idempotently — or, when the
//!   receiver has meanwhile moved past the state that message leads to (a terminal state
//!   admits no replay), refuses: before failing a negotiation message for good, the
//!   outbox reads the process back from the receiver and counts the message as
//!   delivered when the receiver is already there.

use std::collections::{HashMap, HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use passerelle_dsp::client::{ClientError, DspClient, Peer, TokenError, TokenRequest, TokenSource};
use passerelle_dsp::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage,
};
use passerelle_dsp::message::parse_message;
use passerelle_dsp::message::transfer::{
    TransferCompletionMessage, TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
    TransferTerminationMessage,
};
use passerelle_dsp::negotiation::{MessageKind, NegotiationMessage, State, next};
use passerelle_dsp::process::Role;
use passerelle_dsp::transfer::TransferMessage;
use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::contracts::{ProcessError, Processes, format_time, now_text, parse_role, role_str};
use crate::store::direct::{Columns, Db};

const FIRST_BACKOFF_MS: i64 = 250;
const MAX_BACKOFF_MS: i64 = 5_000;
/// The worker looks at the table at least this often even without a wake-up.
const IDLE_POLL: Duration = Duration::from_secs(1);
const BATCH: i64 = 32;
/// Deliveries running at once (each to a different process). With 16, at 100 concurrent negotiations the slots
/// were full most of the time: entries waited, and the delivery marks were written alone to free the slots
/// instead of riding with the next change (+6 % at 100 concurrent with 64, BENCHMARKS.md).
pub const IN_FLIGHT: usize = 64;

/// Kind of an outbox entry that is not a DSP message: documents pushed to a consumer.
pub(crate) const PUSH_KIND: &str = "DataPush";

/// `TokenSource` behind a pointer, so that the host is not generic over it.
#[derive(Clone)]
pub struct SharedTokens(Arc<dyn DynTokens>);

trait DynTokens: Send + Sync {
    fn authorization<'a>(
        &'a self,
        request: TokenRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, TokenError>> + Send + 'a>>;
}

impl<T: TokenSource> DynTokens for T {
    fn authorization<'a>(
        &'a self,
        request: TokenRequest<'a>,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, TokenError>> + Send + 'a>> {
        Box::pin(TokenSource::authorization(self, request))
    }
}

impl SharedTokens {
    pub fn new(tokens: impl TokenSource + 'static) -> SharedTokens {
        SharedTokens(Arc::new(tokens))
    }
}

impl TokenSource for SharedTokens {
    async fn authorization(&self, request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        self.0.authorization(request).await
    }
}

/// The process an entry belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProcessKind {
    Negotiation,
    Transfer,
}

impl ProcessKind {
    fn as_str(self) -> &'static str {
        match self {
            ProcessKind::Negotiation => "negotiation",
            ProcessKind::Transfer => "transfer",
        }
    }
}

/// A message to queue.
pub(crate) struct Outgoing<'a> {
    pub process: ProcessKind,
    pub pid: &'a str,
    /// The message type (`ContractAgreementMessage`…) or [`PUSH_KIND`].
    pub kind: &'a str,
    pub recipient: Role,
    pub address: &'a str,
    pub participant_id: Option<&'a str>,
    pub body: &'a Value,
}

/// Queues a message inside the caller's transaction. The entry is returned for
/// the outbox worker once that transaction has committed ([`Processes::transact_sending`]): it sends it without
/// reading the table back.
pub(crate) fn enqueue(db: &Db, out: Outgoing<'_>) -> Result<Due, rusqlite::Error> {
    let body = out.body.to_string();
    db.prepare_cached(
        "INSERT INTO outbox (process, process_pid, kind, recipient, address, participant_id, body, status,
             attempts, next_attempt_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?)",
    )?
    .execute(rusqlite::params![
        out.process.as_str(),
        out.pid,
        out.kind,
        role_str(out.recipient),
        out.address,
        out.participant_id,
        body,
        now_ms(),
        now_text(),
    ])?;
    Ok(Due {
        id: db.last_insert_rowid(),
        process: out.process.as_str().to_string(),
        pid: out.pid.to_string(),
        kind: out.kind.to_string(),
        recipient: out.recipient,
        address: out.address.to_string(),
        participant_id: out.participant_id.map(str::to_string),
        body,
        attempts: 0,
    })
}

/// An outbox entry as shown to operators (the body is left out: it may carry tokens).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct OutboxEntry {
    pub id: i64,
    pub kind: String,
    /// `provider` or `consumer`.
    pub recipient: String,
    pub address: String,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    /// When the next attempt is due (pending entries).
    pub next_attempt_at: Option<String>,
    pub created_at: String,
    pub done_at: Option<String>,
}

const ENTRIES_OF: &str = "SELECT * FROM outbox WHERE process_pid = ? ORDER BY id";

impl OutboxEntry {
    fn from_row(row: &impl Columns) -> Result<OutboxEntry, String> {
        let integer = |column: &str| row.integer(column)?.ok_or_else(|| format!("column `{column}` is NULL"));
        let status = row.required_text("status")?;
        let next = integer("next_attempt_ms")?;
        Ok(OutboxEntry {
            id: integer("id")?,
            kind: row.required_text("kind")?,
            recipient: row.required_text("recipient")?,
            address: row.required_text("address")?,
            attempts: integer("attempts")?,
            last_error: row.text("last_error")?,
            next_attempt_at: (status == "pending").then(|| format_ms(next)),
            created_at: row.required_text("created_at")?,
            done_at: row.text("done_at")?,
            status,
        })
    }
}

/// Every entry of process `pid`, oldest first.
pub(crate) fn entries_for(db: &Db, pid: &str) -> Result<Vec<OutboxEntry>, ProcessError> {
    crate::store::direct::rows(db, ENTRIES_OF, [pid], |row| OutboxEntry::from_row(row).map_err(ProcessError::Store))
}

/// [`entries_for`] through the pool (the console's overview).
pub(crate) async fn entries_in(pool: &sqlx::SqlitePool, pid: &str) -> Result<Vec<OutboxEntry>, sqlx::Error> {
    let rows = sqlx::query(ENTRIES_OF).bind(pid).fetch_all(pool).await?;
    rows.iter().map(|row| OutboxEntry::from_row(row).map_err(|e| sqlx::Error::Decode(e.into()))).collect()
}

/// Every DSP message this connector queued (sent, pending or failed), oldest first, as
/// `(type, body)`: the log of what it said to counter-parties (data pushes left out).
pub async fn messages(store: &crate::store::Store) -> Result<Vec<(String, Value)>, sqlx::Error> {
    let rows = sqlx::query("SELECT kind, body FROM outbox WHERE kind <> ? ORDER BY id")
        .bind(PUSH_KIND)
        .fetch_all(store.pool())
        .await?;
    rows.iter()
        .map(|row| {
            let kind: String = row.try_get("kind")?;
            let body: String = row.try_get("body")?;
            Ok((kind, serde_json::from_str(&body).unwrap_or(Value::String(body))))
        })
        .collect()
}

/// Why a process is not moving, in words, from its outbox: `None` when nothing is stuck there.
pub fn stall_reason(entries: &[OutboxEntry]) -> Option<String> {
    if let Some(pending) = entries.iter().find(|e| e.status == "pending" && e.attempts > 0) {
        return Some(format!(
            "outbox: {} attempt{} to send {} to the {} failed, last error: {}, next retry at {}",
            pending.attempts,
            if pending.attempts == 1 { "" } else { "s" },
            pending.kind,
            pending.recipient,
            pending.last_error.as_deref().unwrap_or("unknown"),
            pending.next_attempt_at.as_deref().unwrap_or("now"),
        ));
    }
    entries.iter().rev().find(|e| e.status == "failed").map(|failed| {
        format!(
            "outbox: {} to the {} failed for good after {} attempt(s): {}",
            failed.kind,
            failed.recipient,
            failed.attempts,
            failed.last_error.as_deref().unwrap_or("unknown")
        )
    })
}

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn format_ms(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(format_time)
        .unwrap_or_else(|_| ms.to_string())
}

fn backoff_ms(attempts: i64) -> i64 {
    doubling_backoff_ms(attempts, FIRST_BACKOFF_MS, MAX_BACKOFF_MS)
}

/// The wait after the `attempts`-th failed delivery: `first`, doubling, at most `max` (shared by every queue that
/// retries: this outbox, order events, webhooks).
pub(crate) fn doubling_backoff_ms(attempts: i64, first: i64, max: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    first.saturating_mul(1_i64 << doublings).min(max)
}

/// One entry to send.
#[derive(Debug, Clone)]
pub(crate) struct Due {
    id: i64,
    process: String,
    pid: String,
    kind: String,
    recipient: Role,
    address: String,
    participant_id: Option<String>,
    body: String,
    attempts: i64,
}

/// What delivering an entry produced.
pub(crate) enum Delivered {
    Negotiation(Option<passerelle_dsp::message::negotiation::ContractNegotiation>),
    Transfer(Option<passerelle_dsp::message::transfer::TransferProcess>),
    Pushed,
}

/// Why an entry was not delivered.
pub(crate) struct Failure {
    pub retryable: bool,
    pub message: String,
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure { retryable: e.is_retryable(), message: error_chain(&e) }
    }
}

/// An error with its sources (reqwest hides "connection refused" in a source).
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let more = s.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        source = s.source();
    }
    text
}

/// Most fresh entries held for the worker; past this the table read (at least every [`IDLE_POLL`]) finds them.
const MAX_FRESH: usize = 4096;

impl Processes {
    /// Hands entries queued by a committed transaction to the worker, which sends them without reading
    /// the table back (the table still holds them, for retries and restarts).
    pub(crate) fn dispatch(&self, entries: Vec<Due>) {
        if entries.is_empty() {
            return;
        }
        {
            let mut fresh = lock(&self.inner.fresh);
            let room = MAX_FRESH.saturating_sub(fresh.len());
            fresh.extend(entries.into_iter().take(room));
        }
        self.inner.wake.notify_one();
    }
}

/// How a delivery ended, once its bookkeeping was written.
enum Outcome {
    Sent,
    /// Left pending (a retry is due at the time given), failed for good, or not recorded: the table
    /// decides what is sent next for this process.
    Left {
        retry_at: Option<tokio::time::Instant>,
    },
}

/// What the worker holds between rounds. Per process, entries are sent one at a time, in order.
#[derive(Default)]
struct Round {
    /// Processes with a delivery under way, each with the fresh entries waiting behind it.
    busy: HashMap<String, VecDeque<Due>>,
    /// Entries in flight, waiting, or ready: a table read does not start them again.
    claimed: HashSet<i64>,
    /// Claimed entries that came from a table read: what follows them in their process is in the table only.
    from_table: HashSet<i64>,
    /// Entries claimed and ready to start when a slot is free.
    ready: VecDeque<Due>,
    /// Processes only a table read may move on (one of their entries is waiting for a retry, or failed):
    /// the table keeps their order. A process leaves when a complete read finds nothing of it pending.
    held: HashSet<String>,
    /// The table must be read at the next round.
    rescan: bool,
    retry_at: Option<tokio::time::Instant>,
}

impl Round {
    /// Takes an entry to send: ready now, or behind its process's delivery.
    fn claim(&mut self, entry: Due) {
        self.claimed.insert(entry.id);
        match self.busy.get_mut(&entry.pid) {
            Some(waiting) => waiting.push_back(entry),
            None => {
                self.busy.insert(entry.pid.clone(), VecDeque::new());
                self.ready.push_back(entry);
            }
        }
    }

    /// Takes what a table read found (`read`, at most `limit` entries) and the entries handed over by then
    /// (`fresh`). The read ran under the writer lock, so every entry it saw that a change handed over
    /// (`Processes::transact_sending`) is in `fresh` or was taken earlier; the rest is in the table only. Those
    /// go first: the read returns only the oldest pending entry of each process, which precedes whatever of
    /// that process was handed over. `later` names the processes with entries pending but not yet due (`None`:
    /// the read did not look, and so tells nothing of the held processes).
    fn take_read(&mut self, read: Vec<Due>, fresh: Vec<Due>, limit: i64, later: Option<HashSet<String>>) {
        let handed: HashSet<i64> = fresh.iter().map(|entry| entry.id).collect();
        let full = read.len() as i64 >= limit;
        // A held process with nothing pending in the table and nothing under way has no order left to keep:
        // what it queues from now on comes after everything it had, and may be taken as it is handed over.
        // Only a complete read can tell (a full one may have left the process's entries behind).
        if let Some(later) = later.filter(|_| !full) {
            let pending: HashSet<&str> = read.iter().map(|entry| entry.pid.as_str()).collect();
            let busy = &self.busy;
            self.held.retain(|pid| later.contains(pid) || pending.contains(pid.as_str()) || busy.contains_key(pid));
        }
        let mut found = false;
        for entry in read {
            let taken = handed.contains(&entry.id) || self.claimed.contains(&entry.id);
            if !taken && !self.busy.contains_key(&entry.pid) {
                self.from_table.insert(entry.id);
                self.claim(entry);
                found = true;
            }
        }
        // A full batch may have left more behind; read on while reads find something. A full batch of entries
        // already taken finds nothing new when read again (the read is ordered by id): what lies beyond it is
        // read when they finish or at the next poll.
        self.rescan = full && found;
        for entry in fresh {
            self.offer_fresh(entry);
        }
    }

    fn offer_fresh(&mut self, entry: Due) {
        if self.claimed.contains(&entry.id) {
            return;
        }
        if self.held.contains(&entry.pid) {
            self.rescan = true;
            return;
        }
        self.claim(entry);
    }

    fn finished(&mut self, id: i64, pid: &str, outcome: Outcome) {
        self.claimed.remove(&id);
        if self.from_table.remove(&id) {
            self.rescan = true;
        }
        match outcome {
            Outcome::Sent => {
                let next = self.busy.get_mut(pid).and_then(VecDeque::pop_front);
                match next {
                    Some(next) => self.ready.push_back(next),
                    None => {
                        self.busy.remove(pid);
                    }
                }
                if self.held.contains(pid) {
                    self.rescan = true;
                }
            }
            Outcome::Left { retry_at } => {
                // What waited behind it is still pending in the table, which now orders the process.
                for waiting in self.busy.remove(pid).unwrap_or_default() {
                    self.claimed.remove(&waiting.id);
                }
                self.held.insert(pid.to_string());
                self.rescan = true;
                if let Some(at) = retry_at {
                    self.retry_at = Some(self.retry_at.map_or(at, |t| t.min(at)));
                }
            }
        }
    }
}

/// Runs the outbox until `stop` turns true.
pub async fn run(processes: Processes, mut stop: watch::Receiver<bool>) {
    if let Err(e) = sqlx::query("UPDATE outbox SET next_attempt_ms = ? WHERE status = 'pending'")
        .bind(now_ms())
        .execute(processes.pool())
        .await
    {
        tracing::warn!(error = %e, "outbox: cannot make pending messages due");
    }
    let mut round = Round { rescan: true, ..Round::default() };
    let mut tasks: JoinSet<(i64, String, Outcome)> = JoinSet::new();
    let mut next_poll = tokio::time::Instant::now();
    loop {
        if *stop.borrow() {
            break;
        }
        while let Some(done) = tasks.try_join_next() {
            if let Ok((id, pid, outcome)) = done {
                round.finished(id, &pid, outcome);
            }
        }
        let now = tokio::time::Instant::now();
        if round.rescan || now >= next_poll || round.retry_at.is_some_and(|at| now >= at) {
            round.rescan = false;
            round.retry_at = None;
            next_poll = now + IDLE_POLL;
            let limit = BATCH + IN_FLIGHT as i64;
            match processes.read_committed(|db| due(db, limit)).await {
                Ok((entries, next_retry, later)) => {
                    let fresh = std::mem::take(&mut *lock(&processes.inner.fresh));
                    round.take_read(entries, fresh, limit, Some(later));
                    if let Some(wait) = next_retry {
                        let at = tokio::time::Instant::now() + wait;
                        round.retry_at = Some(round.retry_at.map_or(at, |t| t.min(at)));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "outbox: cannot read pending messages");
                    take_fresh(&processes, &mut round);
                }
            }
        } else {
            take_fresh(&processes, &mut round);
        }
        while tasks.len() < IN_FLIGHT {
            let Some(entry) = round.ready.pop_front() else { break };
            let processes = processes.clone();
            tasks.spawn(async move {
                let (id, pid) = (entry.id, entry.pid.clone());
                let outcome = deliver(&processes, entry).await;
                (id, pid, outcome)
            });
        }
        // Deliveries waiting for their marks hold up what is queued behind them, and their slots: while
        // anything waits so, marks are written at once rather than when a change comes along.
        let held_up = !round.ready.is_empty() || round.busy.values().any(|waiting| !waiting.is_empty());
        processes.marks_held_up(held_up);
        let until = round.retry_at.map_or(next_poll, |at| at.min(next_poll));
        tokio::select! {
            _ = processes.inner.wake.notified() => {}
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                if let Ok((id, pid, outcome)) = done {
                    round.finished(id, &pid, outcome);
                }
            }
            _ = tokio::time::sleep_until(until) => {}
            _ = stop.changed() => {}
        }
    }
    // Whatever is cut short here is still pending and is sent again after the next start.
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
}

pub(crate) fn lock<T>(mutex: &StdMutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding this lock leaves only plain data behind, which stays usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Hands the entries changes queued since the last look to `round`.
fn take_fresh(processes: &Processes, round: &mut Round) {
    let fresh = std::mem::take(&mut *lock(&processes.inner.fresh));
    for entry in fresh {
        round.offer_fresh(entry);
    }
}

/// What a table read finds ([`due`]).
type Read = (Vec<Due>, Option<Duration>, HashSet<String>);

/// The first `limit` pending entries that are due and first in their process, how long until the next entry
/// waiting for a retry is due (`None`: none waits), and the processes whose entries wait so (one query for both).
fn due(db: &Db, limit: i64) -> Result<Read, ProcessError> {
    let now = now_ms();
    let entries = crate::store::direct::rows(
        db,
        "SELECT * FROM outbox o WHERE o.status = 'pending' AND o.next_attempt_ms <= ?1
           AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.process_pid = o.process_pid AND e.status = 'pending' AND e.id < o.id)
         ORDER BY o.id LIMIT ?2",
        (now, limit),
        |row| Due::from_row(row).map_err(ProcessError::Store),
    )?;
    let (mut next, mut later) = (None::<i64>, HashSet::new());
    let mut waiting = db.prepare_cached(
        "SELECT process_pid, MIN(next_attempt_ms) FROM outbox WHERE status = 'pending' AND next_attempt_ms > ?
         GROUP BY process_pid",
    )?;
    for row in waiting.query_map([now], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))? {
        let (pid, at) = row?;
        next = Some(next.map_or(at, |n| n.min(at)));
        later.insert(pid);
    }
    let wait = next.map(|at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0).max(1)));
    // An entry whose recipient is not a role cannot be sent; it stays in the table for an operator to see.
    Ok((entries.into_iter().flatten().collect(), wait, later))
}

impl Due {
    fn from_row(row: &impl Columns) -> Result<Option<Due>, String> {
        let integer = |column: &str| row.integer(column)?.ok_or_else(|| format!("column `{column}` is NULL"));
        let Some(recipient) = parse_role(&row.required_text("recipient")?) else { return Ok(None) };
        Ok(Some(Due {
            id: integer("id")?,
            process: row.required_text("process")?,
            pid: row.required_text("process_pid")?,
            kind: row.required_text("kind")?,
            recipient,
            address: row.required_text("address")?,
            participant_id: row.text("participant_id")?,
            body: row.required_text("body")?,
            attempts: integer("attempts")?,
        }))
    }
}

async fn deliver(processes: &Processes, entry: Due) -> Outcome {
    let result = send(processes, &entry).await;
    let (outcome, written) = match result {
        Ok(delivered) => {
            tracing::debug!(kind = %entry.kind, pid = %entry.pid, "outbox: delivered");
            // When this fails the entry stays pending and is sent again: receivers answer resends idempotently.
            let written = processes.delivered(entry.id, &entry.process, &entry.pid, delivered).await;
            (if written.is_ok() { Outcome::Sent } else { Outcome::Left { retry_at: None } }, written)
        }
        Err(failure) if failure.retryable => {
            let attempts = entry.attempts + 1;
            tracing::info!(kind = %entry.kind, pid = %entry.pid, attempts, error = %failure.message, "outbox: will retry");
            let wait = backoff_ms(attempts);
            let written = processes
                .write(|db| {
                    let update = "UPDATE outbox SET attempts = ?, last_error = ?, next_attempt_ms = ? WHERE id = ?";
                    db.prepare_cached(update)?.execute((attempts, &failure.message, now_ms() + wait, entry.id))?;
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string());
            let retry_at = tokio::time::Instant::now() + Duration::from_millis(u64::try_from(wait).unwrap_or(0));
            (Outcome::Left { retry_at: Some(retry_at) }, written)
        }
        Err(failure) => {
            tracing::warn!(kind = %entry.kind, pid = %entry.pid, error = %failure.message, "outbox: failed for good");
            let marked = processes
                .write(|db| {
                    let update =
                        "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = ?, done_at = ?
                                  WHERE id = ?";
                    db.prepare_cached(update)?.execute((&failure.message, now_text(), entry.id))?;
                    Ok(())
                })
                .await
                .map_err(|e| e.to_string());
            let written = match marked {
                Ok(()) => processes.undeliverable(&entry.process, &entry.pid, &entry.kind, &failure.message).await,
                Err(e) => Err(e),
            };
            (Outcome::Left { retry_at: None }, written)
        }
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, id = entry.id, "outbox: bookkeeping failed");
    }
    outcome
}

async fn send(processes: &Processes, entry: &Due) -> Result<Delivered, Failure> {
    let mut peer = Peer::new(&entry.address);
    if let Some(id) = &entry.participant_id {
        peer = peer.with_participant(id);
    }
    let client = DspClient::new(processes.inner.http.clone(), processes.inner.tokens.clone());
    let invalid =
        |e: String| Failure { retryable: false, message: format!("queued {} is unreadable: {e}", entry.kind) };
    match entry.process.as_str() {
        "negotiation" => {
            let message = negotiation_message(&entry.kind, entry.body.as_bytes()).map_err(invalid)?;
            match client.send_negotiation(&peer, entry.recipient, &message).await {
                Ok(ack) => Ok(Delivered::Negotiation(ack)),
                Err(refused) if !refused.is_retryable() && refused.status().is_some() => {
                    match already_applied(&client, &peer, entry.recipient, &message).await {
                        Some(theirs) => {
                            tracing::info!(kind = %entry.kind, pid = %entry.pid, state = %theirs.state.as_str(),
                                "outbox: refused as a resend, but the peer is already past it; counted as delivered");
                            Ok(Delivered::Negotiation(Some(theirs)))
                        }
                        None => Err(refused.into()),
                    }
                }
                Err(e) => Err(e.into()),
            }
        }
        _ if entry.kind == PUSH_KIND => {
            crate::dataplane::push(processes, &entry.pid, &entry.address, &entry.body).await.map(|()| Delivered::Pushed)
        }
        _ => {
            let message = transfer_message(&entry.kind, entry.body.as_bytes()).map_err(invalid)?;
            Ok(Delivered::Transfer(client.send_transfer(&peer, entry.recipient, &message).await?))
        }
    }
}

/// Marks entry `id` delivered (inside the caller's transaction).
pub(crate) fn mark_sent(db: &Db, id: i64) -> Result<(), rusqlite::Error> {
    db.prepare_cached("UPDATE outbox SET status = 'sent', attempts = attempts + 1, done_at = ? WHERE id = ?")?
        .execute((now_text(), id))
        .map(|_| ())
}

/// The receiver's view of the process when it already holds what `message` would have
/// done (so a refused resend was in fact delivered before); `None` otherwise or when it cannot be read.
async fn already_applied(
    client: &DspClient<SharedTokens>,
    peer: &Peer,
    recipient: Role,
    message: &NegotiationMessage,
) -> Option<passerelle_dsp::message::negotiation::ContractNegotiation> {
    let theirs = message.pid_of(recipient)?;
    let target = resulting_state(message.kind(), recipient.counterpart())?;
    let process = client.get_negotiation(peer, theirs).await.ok()?;
    reached(process.state, target).then_some(process)
}

/// The state a negotiation message from `sender` leads to (the same from every state that admits it).
fn resulting_state(kind: MessageKind, sender: Role) -> Option<State> {
    State::ALL.iter().find_map(|before| next(Some(*before), kind, sender).ok())
}

/// Whether a process in `state` has got to `target` or past it on the way to an agreement.
fn reached(state: State, target: State) -> bool {
    let rank = |s: State| match s {
        State::Requested | State::Offered => Some(0),
        State::Accepted => Some(1),
        State::Agreed => Some(2),
        State::Verified => Some(3),
        State::Finalized => Some(4),
        State::Terminated => None,
    };
    match (rank(state), rank(target)) {
        _ if state == target => true,
        (Some(now), Some(wanted)) => now > wanted,
        _ => false,
    }
}

/// A queued negotiation message back as its type.
pub(crate) fn negotiation_message(kind: &str, body: &[u8]) -> Result<NegotiationMessage, String> {
    let parsed = match kind {
        "ContractRequestMessage" => parse_message::<ContractRequestMessage>(body).map(Into::into),
        "ContractOfferMessage" => parse_message::<ContractOfferMessage>(body).map(Into::into),
        "ContractAgreementMessage" => parse_message::<ContractAgreementMessage>(body).map(Into::into),
        "ContractAgreementVerificationMessage" => {
            parse_message::<ContractAgreementVerificationMessage>(body).map(Into::into)
        }
        "ContractNegotiationEventMessage" => parse_message::<ContractNegotiationEventMessage>(body).map(Into::into),
        "ContractNegotiationTerminationMessage" => {
            parse_message::<ContractNegotiationTerminationMessage>(body).map(Into::into)
        }
        other => return Err(format!("`{other}` is not a negotiation message")),
    };
    parsed.map_err(|e| e.to_string())
}

/// A queued transfer message back as its type.
pub(crate) fn transfer_message(kind: &str, body: &[u8]) -> Result<TransferMessage, String> {
    let parsed = match kind {
        "TransferRequestMessage" => parse_message::<TransferRequestMessage>(body).map(Into::into),
        "TransferStartMessage" => parse_message::<TransferStartMessage>(body).map(Into::into),
        "TransferSuspensionMessage" => parse_message::<TransferSuspensionMessage>(body).map(Into::into),
        "TransferCompletionMessage" => parse_message::<TransferCompletionMessage>(body).map(Into::into),
        "TransferTerminationMessage" => parse_message::<TransferTerminationMessage>(body).map(Into::into),
        other => return Err(format!("`{other}` is not a transfer message")),
    };
    parsed.map_err(|e| e.to_string())
}

/// The wire type name of a negotiation message (the outbox `kind`).
pub(crate) fn negotiation_kind(message: &NegotiationMessage) -> &'static str {
    match message {
        NegotiationMessage::Request(_) => "ContractRequestMessage",
        NegotiationMessage::Offer(_) => "ContractOfferMessage",
        NegotiationMessage::Agreement(_) => "ContractAgreementMessage",
        NegotiationMessage::Verification(_) => "ContractAgreementVerificationMessage",
        NegotiationMessage::Event(_) => "ContractNegotiationEventMessage",
        NegotiationMessage::Termination(_) => "ContractNegotiationTerminationMessage",
    }
}

/// The wire type name of a transfer message (the outbox `kind`).
pub(crate) fn transfer_kind(message: &TransferMessage) -> &'static str {
    match message {
        TransferMessage::Request(_) => "TransferRequestMessage",
        TransferMessage::Start(_) => "TransferStartMessage",
        TransferMessage::Suspension(_) => "TransferSuspensionMessage",
        TransferMessage::Completion(_) => "TransferCompletionMessage",
        TransferMessage::Termination(_) => "TransferTerminationMessage",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_dsp::message::negotiation::ContractAgreementVerificationMessage;

    fn due(id: i64, pid: &str) -> Due {
        Due {
            id,
            process: "negotiation".into(),
            pid: pid.into(),
            kind: "ContractRequestMessage".into(),
            recipient: Role::Provider,
            address: "http://127.0.0.1:1/dsp/2025-1".into(),
            participant_id: None,
            body: "{}".into(),
            attempts: 0,
        }
    }

    fn ready_ids(round: &Round) -> Vec<i64> {
        round.ready.iter().map(|entry| entry.id).collect()
    }

    #[test]
    fn a_read_takes_as_table_only_just_what_was_not_handed_over() {
        let mut round = Round::default();
        // The read saw 1 (p), 2 (q) and 3 (r); 2 and 3 were handed over by the changes that queued them, with
        // 4 (p, queued after 1).
        let (read, fresh) = (vec![due(1, "p"), due(2, "q"), due(3, "r")], vec![due(2, "q"), due(3, "r"), due(4, "p")]);
        round.take_read(read, fresh, 32, None);
        assert_eq!(round.from_table, HashSet::from([1]), "only 1 is in the table only");
        assert_eq!(ready_ids(&round), [1, 2, 3], "4 waits behind 1, which precedes it in its process");
        assert_eq!(round.busy["p"].iter().map(|entry| entry.id).collect::<Vec<_>>(), [4]);
        assert!(!round.rescan, "a batch that is not full leaves nothing behind");
        // Only entries read from the table make the worker read it again when they are done.
        round.finished(2, "q", Outcome::Sent);
        assert!(!round.rescan);
        round.finished(1, "p", Outcome::Sent);
        assert!(round.rescan, "what followed 1 in the table must be read");
        assert_eq!(ready_ids(&round), [1, 2, 3, 4], "4 is ready once 1 is done (nothing was started in this test)");
    }

    #[test]
    fn a_full_read_reads_on_only_while_it_finds_something() {
        let mut round = Round::default();
        let read = || (1..=4).map(|id| due(id, &format!("p{id}"))).collect::<Vec<_>>();
        round.take_read(read(), Vec::new(), 4, None);
        assert!(round.rescan, "a full batch of new entries may have left more behind");
        round.rescan = false;
        // The same entries, still under way: reading again would find them again, and nothing else.
        round.take_read(read(), Vec::new(), 4, None);
        assert!(!round.rescan, "a full batch of entries already taken must not set off another read");
        assert_eq!(ready_ids(&round), [1, 2, 3, 4], "nothing taken twice");
    }

    #[test]
    fn a_held_process_is_let_go_once_a_complete_read_finds_nothing_of_it_pending() {
        let later = |pids: &[&str]| Some(pids.iter().map(|pid| pid.to_string()).collect::<HashSet<_>>());
        let mut round = Round::default();
        round.take_read(vec![due(1, "p")], Vec::new(), 32, None);
        round.ready.clear();
        round.finished(1, "p", Outcome::Left { retry_at: None });
        assert!(round.held.contains("p"), "a retry puts the process in the table's hands");

        // Its entry waits for the retry: it stays held, and what it queues meanwhile waits in the table.
        round.take_read(Vec::new(), Vec::new(), 32, later(&["p"]));
        assert!(round.held.contains("p"));
        round.offer_fresh(due(2, "p"));
        assert!(ready_ids(&round).is_empty(), "2 must not overtake 1");

        // The retry is due: the read takes it (and the process stays held while it is under way).
        round.take_read(vec![due(1, "p")], Vec::new(), 32, later(&[]));
        assert!(round.held.contains("p"));
        assert_eq!(ready_ids(&round), [1]);
        round.ready.clear();
        round.finished(1, "p", Outcome::Sent);
        round.take_read(vec![due(2, "p")], Vec::new(), 32, later(&[]));
        round.ready.clear();
        round.finished(2, "p", Outcome::Sent);

        // A full read proves nothing; a complete one that finds nothing of it lets it go.
        let others: Vec<Due> = (10..14).map(|id| due(id, &format!("o{id}"))).collect();
        round.take_read(others, Vec::new(), 4, later(&[]));
        assert!(round.held.contains("p"), "a full read may have left p's entries behind");
        round.take_read(Vec::new(), Vec::new(), 32, None);
        assert!(round.held.contains("p"), "a read that did not look at the waiting entries proves nothing");
        round.take_read(Vec::new(), Vec::new(), 32, later(&[]));
        assert!(round.held.is_empty(), "nothing of p is pending: it is let go");
        round.ready.clear();
        round.offer_fresh(due(20, "p"));
        assert_eq!(ready_ids(&round), [20], "what p queues now is taken as it is handed over");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff_ms(1), 250);
        assert_eq!(backoff_ms(2), 500);
        assert_eq!(backoff_ms(3), 1000);
        assert_eq!(backoff_ms(10), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(i64::MAX), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0), 250);
    }

    #[test]
    fn queued_messages_come_back_as_their_type() {
        let message: NegotiationMessage = ContractAgreementVerificationMessage::new("urn:p:1", "urn:c:1").into();
        let body = message.to_json().unwrap().to_string();
        let kind = negotiation_kind(&message);
        assert_eq!(negotiation_message(kind, body.as_bytes()).unwrap(), message);
        assert!(negotiation_message("TransferStartMessage", body.as_bytes()).is_err());
        assert!(negotiation_message("ContractRequestMessage", body.as_bytes()).is_err(), "wrong type refused");
        let start: TransferMessage = TransferStartMessage::new("urn:p:1", "urn:c:1").into();
        let body = start.to_json().unwrap().to_string();
        assert_eq!(transfer_message(transfer_kind(&start), body.as_bytes()).unwrap(), start);
    }

    #[test]
    fn a_refused_resend_counts_as_delivered_only_when_the_peer_is_there_or_past_it() {
        use Role::{Consumer, Provider};
        assert_eq!(resulting_state(MessageKind::Verification, Consumer), Some(State::Verified));
        assert_eq!(resulting_state(MessageKind::Agreement, Provider), Some(State::Agreed));
        assert_eq!(resulting_state(MessageKind::Finalized, Provider), Some(State::Finalized));
        assert_eq!(resulting_state(MessageKind::Termination, Consumer), Some(State::Terminated));
        assert_eq!(resulting_state(MessageKind::Agreement, Consumer), None, "a consumer never sends agreements");
        // Our verification reached a provider that has finalized since.
        assert!(reached(State::Finalized, State::Verified));
        assert!(reached(State::Verified, State::Agreed), "the consumer verified our agreement");
        assert!(reached(State::Finalized, State::Finalized));
        assert!(reached(State::Terminated, State::Terminated));
        // Not there: the refusal stands.
        assert!(!reached(State::Requested, State::Agreed));
        assert!(!reached(State::Terminated, State::Verified), "a terminated peer did not take our verification");
        assert!(!reached(State::Finalized, State::Terminated), "a finalized peer did not take our termination");
        assert!(!reached(State::Offered, State::Requested), "a counter-offer is not past a counter-request");
    }

    #[test]
    fn a_stalled_process_says_why() {
        let entry = |status: &str, attempts: i64| OutboxEntry {
            id: 1,
            kind: "ContractAgreementMessage".into(),
            recipient: "consumer".into(),
            address: "http://127.0.0.1:9/cb".into(),
            status: status.into(),
            attempts,
            last_error: Some("connection refused".into()),
            next_attempt_at: Some("2030-01-01T00:00:00Z".into()),
            created_at: "2030-01-01T00:00:00Z".into(),
            done_at: None,
        };
        assert_eq!(stall_reason(&[entry("sent", 1)]), None);
        assert_eq!(stall_reason(&[entry("pending", 0)]), None, "not tried yet");
        let why = stall_reason(&[entry("sent", 1), entry("pending", 5)]).unwrap();
        assert!(
            why.contains("5 attempts") && why.contains("connection refused") && why.contains("next retry at"),
            "{why}"
        );
        let why = stall_reason(&[entry("failed", 1)]).unwrap();
        assert!(why.contains("failed for good"), "{why}");
    }
}
