//! Contract negotiations and agreements in the running connector.
//!
//! [`Processes`] is the store-backed host of both DSP process kinds: it implements
//! `passerelle_dsp`'s `NegotiationHost` (here) and `TransferHost` (in
//! [`crate::transfers`]), keeps every process in the store before answering, and
//! sends what this connector says through the [`crate::outbox`].
//!
//! Rules it applies (the same as `passerelle_dsp::memory::MemoryHost`, whose tests are
//! the behaviour spec):
//! - every message goes through the pure state machine; an illegal one changes nothing
//!   and is refused; a repeat of the message that led to the current state gets the
//!   same ACK; a creating message repeated with the same pid gets the ACK it got first;
//! - a process is visible only to the participant it was created with (when the
//!   caller's participant id is known); others get 404;
//! - what this side sends is applied when it is queued, in the same transaction, so
//!   that a counter-party answering before our outbox has marked the message sent
//!   finds the state it expects.
//!
//! Default automation: as provider, a request that passes policy ([`decide`]) is
//! answered with an agreement and a verification with FINALIZED; a refused request is
//! terminated with the policy's explanation as reason; as consumer, an agreement is
//! verified.

pub mod decide;
mod host;
mod manage;
mod records;
mod report;
pub(crate) mod trail;
mod watch;
pub(crate) mod writer;

use std::collections::HashMap;
use std::num::NonZeroU64;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;

use passerelle_audit::{AuditStore, CheckpointSigner};
use passerelle_dsp::client::{NoToken, TokenSource};
use passerelle_dsp::process::{ProtocolError, Role};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::Notify;

use crate::catalog::StoreCatalog;
use crate::outbox::{SharedTokens, lock};
use crate::store::Store;
use crate::store::direct::{self, Db, DirectError};
use crate::webhooks::WebhookFilter;
use writer::{WriterGuard, WriterLock};

pub use manage::{NegotiationStart, NegotiationView, OfferChoice, normalize_address};
pub use records::{AgreementRecord, NegotiationRecord};
pub(crate) use records::{ProcessRow, json_column, required, text};

/// How long an HTTP exchange with a counter-party may take.
const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// The store-backed host of negotiations and transfers (cheap to clone).
#[derive(Clone)]
pub struct Processes {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Processes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processes").field("participant_id", &self.inner.participant_id).finish()
    }
}

pub(crate) struct Inner {
    pub(crate) store: Store,
    pub(crate) participant_id: String,
    /// Our protocol base URL (no trailing slash).
    pub(crate) base_url: String,
    pub(crate) catalog: StoreCatalog,
    /// Serialises process changes: one writer at a time keeps SQLite transactions from
    /// deadlocking on lock upgrades and makes read-check-write sequences atomic. It holds the
    /// connection [`Processes::transact`] writes on, and the batch of changes awaiting their common commit
    /// ([`writer`]). The checkpoint thread holds it for the end of a pass.
    pub(crate) write: Arc<WriterLock>,
    /// Whether a thread checkpoints the store (`store::checkpoint`), so that the host's commits do not.
    pub(crate) checkpointed: bool,
    /// Wakes the outbox worker when something was queued.
    pub(crate) wake: Notify,
    /// Entries committed since the outbox worker last looked ([`Processes::dispatch`]).
    pub(crate) fresh: StdMutex<Vec<crate::outbox::Due>>,
    /// Deliveries waiting for their mark to be written ([`Processes::delivered`]).
    pub(crate) marks: StdMutex<Vec<host::Mark>>,
    /// Whether the outbox worker has entries held up by deliveries (their marks are then written at once),
    /// and the wake-up of deliveries waiting for their marks when it starts to.
    pub(crate) marks_held_up: AtomicBool,
    pub(crate) marks_wanted: Notify,
    /// Management callers waiting for a process to change ([`Processes::wait_negotiation`]), by pid.
    pub(crate) watchers: StdMutex<HashMap<String, Arc<Notify>>>,
    pub(crate) http: reqwest::Client,
    pub(crate) tokens: SharedTokens,
    /// The audit trail and webhook events, written in the same transactions as the changes they record.
    pub(crate) journal: trail::Journal,
}

/// Why a management action on a process failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("{kind} `{id}` does not exist here; list them to find the right id")]
    NotFound { kind: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("the counter-party could not be asked: {0}")]
    Peer(String),
    #[error("store error: {0}")]
    Store(String),
}

impl From<sqlx::Error> for ProcessError {
    fn from(e: sqlx::Error) -> Self {
        ProcessError::Store(e.to_string())
    }
}

impl From<rusqlite::Error> for ProcessError {
    fn from(e: rusqlite::Error) -> Self {
        ProcessError::Store(e.to_string())
    }
}

impl From<DirectError> for ProcessError {
    fn from(e: DirectError) -> Self {
        ProcessError::Store(e.to_string())
    }
}

/// Maps a store failure inside a protocol handler to what the DSP layer answers.
pub(crate) fn internal(e: impl std::fmt::Display) -> ProtocolError {
    ProtocolError::Internal(e.to_string())
}

impl Processes {
    /// A host for `participant_id`, reachable at `protocol_base_url`, without DSP authentication tokens.
    pub fn new(store: Store, participant_id: &str, protocol_base_url: &str) -> Processes {
        Processes::with_tokens(store, participant_id, protocol_base_url, NoToken)
    }

    /// A host whose outgoing DSP requests carry the `Authorization` header from `tokens`
    /// (DCP self-issued tokens once identity is wired).
    pub fn with_tokens(
        store: Store,
        participant_id: &str,
        protocol_base_url: &str,
        tokens: impl TokenSource + 'static,
    ) -> Processes {
        Processes::with_journal(store, participant_id, protocol_base_url, tokens, None, None)
    }

    /// [`Processes::with_tokens`] whose audit trail gets a checkpoint signed by `sealing`'s
    /// signer every `sealing.1` entries (the running connector signs with its DID key), and
    /// which queues the webhook events `webhooks` wants.
    pub fn with_journal(
        store: Store,
        participant_id: &str,
        protocol_base_url: &str,
        tokens: impl TokenSource + 'static,
        sealing: Option<(CheckpointSigner, NonZeroU64)>,
        webhooks: Option<WebhookFilter>,
    ) -> Processes {
        let audit = match sealing {
            Some((signer, every)) => AuditStore::new(store.pool().clone()).with_checkpoints(signer, every),
            None => AuditStore::new(store.pool().clone()),
        };
        // reqwest is built without a default TLS crypto provider; install ours once (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(PEER_TIMEOUT).build().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "HTTP client with timeouts unavailable; using defaults");
            reqwest::Client::new()
        });
        let base_url = protocol_base_url.trim_end_matches('/').to_string();
        let write = Arc::new(WriterLock::new());
        let checkpointed = store.file().is_some_and(|path| {
            crate::store::checkpoint::start(path, Arc::downgrade(&write), |writers: &WriterLock, pass| {
                let _held = writers.blocking_lock();
                pass();
            })
        });
        Processes {
            inner: Arc::new(Inner {
                catalog: StoreCatalog::new(store.clone(), participant_id.to_string()),
                store,
                participant_id: participant_id.to_string(),
                base_url,
                write,
                checkpointed,
                wake: Notify::new(),
                fresh: StdMutex::new(Vec::new()),
                marks: StdMutex::new(Vec::new()),
                marks_held_up: AtomicBool::new(false),
                marks_wanted: Notify::new(),
                watchers: StdMutex::new(HashMap::new()),
                http,
                tokens: SharedTokens::new(tokens),
                journal: trail::Journal { audit, webhooks },
            }),
        }
    }

    pub fn participant_id(&self) -> &str {
        &self.inner.participant_id
    }

    pub(crate) fn pool(&self) -> &sqlx::SqlitePool {
        self.inner.store.pool()
    }

    /// The audit trail of this connector's processes.
    pub fn audit(&self) -> &AuditStore {
        &self.inner.journal.audit
    }

    /// Runs `work` as one transaction under the writer lock, on the host's connection, without a
    /// hand-off per statement (`store::direct`). The outer error is the store's, the inner `work`'s.
    /// Returns once the change has committed (possibly with others: [`writer`]).
    pub(crate) async fn transact<R, E>(
        &self,
        work: impl FnOnce(&Db) -> Result<R, E>,
    ) -> Result<Result<R, E>, DirectError> {
        self.on_writer(true, queuing_nothing(work)).await
    }

    /// Runs `work` as one read on the host's connection. Reads share the writer's connection rather than a
    /// pooled one: its pages and prepared statements are the ones just used, where a pooled connection would
    /// read again every page another connection's commit changed. A read made while a batch of changes is
    /// open reads inside it and returns once the batch has committed, so it never reports what could still
    /// be lost; otherwise it is a snapshot of its own.
    pub(crate) async fn query<R, E>(
        &self,
        work: impl FnOnce(&Db) -> Result<R, E>,
    ) -> Result<Result<R, E>, DirectError> {
        self.on_writer(false, queuing_nothing(work)).await
    }

    /// [`Processes::read`] of committed rows only, outside any batch: for the outbox worker's table reads,
    /// which must not see entries queued by a change whose commit (and hand-over) is still to come.
    pub(crate) async fn read_committed<R>(
        &self,
        work: impl FnOnce(&Db) -> Result<R, ProcessError>,
    ) -> Result<R, ProcessError> {
        let writer = self.inner.write.lock().await;
        self.on_locked(writer, false, queuing_nothing(work)).await?
    }

    /// [`Processes::transact`] for a change that queues outbox entries: they are handed to the outbox worker
    /// after the commit and before the writer lock is released. So every entry a table read of the worker
    /// can see (`outbox::run` reads under the same lock, outside any batch) has already been handed over, and
    /// the worker tells entries that come by hand from those only the table holds without guessing.
    pub(crate) async fn transact_sending<A, Q, E>(
        &self,
        work: impl FnOnce(&Db) -> Result<(A, Q), E>,
    ) -> Result<Result<A, E>, DirectError>
    where
        Q: IntoIterator<Item = crate::outbox::Due>,
    {
        self.on_writer(true, |db| work(db).map(|(done, queued)| (done, queued.into_iter().collect()))).await
    }

    /// [`Processes::transact_sending`] for work that fails with a [`ProcessError`].
    pub(crate) async fn write_sending<A, Q>(
        &self,
        work: impl FnOnce(&Db) -> Result<(A, Q), ProcessError>,
    ) -> Result<A, ProcessError>
    where
        Q: IntoIterator<Item = crate::outbox::Due>,
    {
        self.transact_sending(work).await?
    }

    /// Runs `work` under the writer lock (joining the batch of changes open, if any); the entries it queued
    /// are handed to the outbox worker once it has committed.
    async fn on_writer<R, E>(
        &self,
        write: bool,
        work: impl FnOnce(&Db) -> Result<(R, Vec<crate::outbox::Due>), E>,
    ) -> Result<Result<R, E>, DirectError> {
        let writer = self.inner.write.join().await;
        self.on_locked(writer, write, work).await
    }

    /// Writes the delivery marks waiting ([`Processes::delivered`]) in a transaction of their own, unless a
    /// change that held the writer lock before took them all.
    pub(crate) async fn write_marks(&self) {
        let writer = self.inner.write.join().await;
        if lock(&self.inner.marks).is_empty() {
            return;
        }
        if let Err(e) = self.on_locked(writer, true, queuing_nothing(|_| Ok::<(), DirectError>(()))).await {
            // Not written: their deliveries count as not recorded, and their entries are sent again.
            for mark in std::mem::take(&mut *lock(&self.inner.marks)) {
                mark.answer(Err(e.to_string()));
            }
        }
    }

    /// [`Processes::on_writer`] once the lock is held. A write also marks the deliveries that ended since the
    /// last one, after its own work and in its transaction: a mark needs no transaction of its own, and at 100
    /// concurrent negotiations those were a third of the commits (BENCHMARKS.md). When the change fails, the
    /// marks go back to wait for the next.
    ///
    /// On a file store, a write (and a read while a batch is open) is a member of a batch ([`writer`]): it
    /// runs in a savepoint of the batch's transaction, and returns once that has committed. The entries it
    /// queued are handed over, and its marks answered, by whoever commits, before the writer is released.
    async fn on_locked<R, E>(
        &self,
        mut writer: WriterGuard<'_>,
        write: bool,
        work: impl FnOnce(&Db) -> Result<(R, Vec<crate::outbox::Due>), E>,
    ) -> Result<Result<R, E>, DirectError> {
        let marks = if write { std::mem::take(&mut *lock(&self.inner.marks)) } else { Vec::new() };
        let mut marked = Vec::new();
        let work = |db: &Db| {
            let out = work(db);
            if out.is_ok() {
                marked = host::apply_marks(db, &marks);
            }
            out
        };
        if writer.conn.is_none() {
            match self.inner.store.own_connection(self.inner.checkpointed) {
                Ok(conn) => writer.conn = conn,
                Err(e) => {
                    self.put_back(marks);
                    return Err(DirectError::from(e.to_string()));
                }
            }
        }
        let began = std::time::Instant::now();
        let batch_open = writer.batch_open();
        let out = match writer.conn.as_mut() {
            // The private in-memory store of tests: one transaction of its own on the pool's one connection.
            None => match self.pool().acquire().await {
                Ok(mut pooled) => direct::lent(&mut pooled, write, work).await,
                Err(e) => Err(e.into()),
            },
            // A read with no batch open: a snapshot of its own, nothing to wait for.
            Some(conn) if !write && !batch_open => {
                let out = direct::run_on(conn, false, work).await;
                log_transaction(false, began);
                if out.is_err() {
                    writer.conn = None;
                }
                out
            }
            Some(_) => {
                let opened = if batch_open { Ok(()) } else { writer.open_batch().await };
                let out = opened.and_then(|()| writer.member(write, work));
                log_transaction(write, began);
                let (mine, queued) = match out {
                    Err(e) => {
                        self.put_back(marks);
                        return Err(e);
                    }
                    Ok(Ok((done, queued))) => (Ok(done), queued),
                    // The first change of its batch failed: rolled back and closed, nothing to wait for.
                    Ok(Err(e)) if !writer.batch_open() => {
                        self.put_back(marks);
                        return Ok(Err(e));
                    }
                    Ok(Err(e)) => (Err(e), Vec::new()),
                };
                let held_marks = if mine.is_ok() {
                    Some((marks, marked))
                } else {
                    self.put_back(marks);
                    None
                };
                let processes = self.clone();
                let outcome =
                    writer.enlist(Box::new(move |committed| processes.after_commit(committed, queued, held_marks)));
                drop(writer);
                return match self.inner.write.committed(outcome).await {
                    Ok(()) => Ok(mine),
                    Err(e) => Err(DirectError::from(e)),
                };
            }
        };
        // A transaction of its own (not a batch): committed already, still under the writer lock.
        match out {
            Ok(Ok((done, queued))) => {
                self.after_commit(&Ok(()), queued, Some((marks, marked)));
                Ok(Ok(done))
            }
            Ok(Err(e)) => {
                self.put_back(marks);
                Ok(Err(e))
            }
            Err(e) => {
                self.put_back(marks);
                Err(e)
            }
        }
    }

    /// Once a change's commit is known, under the writer lock: its queued entries go to the outbox worker and
    /// the delivery marks it applied are answered; if the commit failed, the marks go back to wait.
    fn after_commit(
        &self,
        committed: &Result<(), String>,
        queued: Vec<crate::outbox::Due>,
        marks: Option<host::Applied>,
    ) {
        match committed {
            Ok(()) => {
                self.dispatch(queued);
                if let Some((marks, marked)) = marks {
                    host::answer_marks(marks, marked);
                }
            }
            Err(_) => {
                if let Some((marks, _)) = marks {
                    self.put_back(marks);
                }
            }
        }
    }

    /// Delivery marks a change took but did not write go back to wait for the next.
    fn put_back(&self, marks: Vec<host::Mark>) {
        lock(&self.inner.marks).extend(marks);
    }

    /// [`Processes::query`] for work that fails with a [`ProcessError`].
    pub(crate) async fn read<R>(&self, work: impl FnOnce(&Db) -> Result<R, ProcessError>) -> Result<R, ProcessError> {
        self.query(work).await?
    }

    /// [`Processes::transact`] for work that fails with a [`ProcessError`].
    pub(crate) async fn write<R>(&self, work: impl FnOnce(&Db) -> Result<R, ProcessError>) -> Result<R, ProcessError> {
        self.transact(work).await?
    }

    /// Our `callbackAddress`.
    pub(crate) fn callback_address(&self) -> String {
        passerelle_dsp::callback_address(&self.inner.base_url)
    }
}

/// `work` in the shape [`Processes::on_writer`] takes: a change or read that queues no outbox entries.
fn queuing_nothing<R, E>(
    work: impl FnOnce(&Db) -> Result<R, E>,
) -> impl FnOnce(&Db) -> Result<(R, Vec<crate::outbox::Due>), E> {
    move |db| work(db).map(|done| (done, Vec::new()))
}

/// Logs the time of a change or read on the host's connection (a batch's commit is logged apart): the same
/// fields as sqlx's statement log, so one reader (benches/negotiation.rs) sums both.
fn log_transaction(write: bool, began: std::time::Instant) {
    tracing::debug!(
        target: "passerelle_connector::store::direct",
        elapsed_secs = began.elapsed().as_secs_f64(),
        summary = if write { "direct write transaction" } else { "direct read transaction" },
    );
}

/// One applied message in a process's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Step {
    /// The message, as named on the wire.
    pub message: String,
    /// `provider` or `consumer`.
    pub sender: String,
    /// The state it led to.
    pub state: String,
    /// When it was applied (RFC 3339).
    pub at: String,
}

/// Why a process ended, as sent in a termination (or suspension) message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Termination {
    /// `provider` or `consumer`: who ended it.
    pub by: String,
    pub code: Option<String>,
    pub reason: Vec<String>,
}

pub(crate) fn role_str(role: Role) -> &'static str {
    role.as_str()
}

pub(crate) fn parse_role(text: &str) -> Option<Role> {
    match text {
        "provider" => Some(Role::Provider),
        "consumer" => Some(Role::Consumer),
        _ => None,
    }
}

pub(crate) fn serialize_role<S: serde::Serializer>(role: &Role, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(role.as_str())
}

pub(crate) fn now_text() -> String {
    format_time(OffsetDateTime::now_utc())
}

pub(crate) fn format_time(t: OffsetDateTime) -> String {
    // RFC 3339 formatting fails only for years outside 0..=9999.
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// A new process id. Time-ordered (UUIDv7): the index entries of processes begun together land on the same
/// pages, which a checkpoint then copies once for many of them.
pub(crate) fn new_pid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::now_v7())
}

/// Reasons of a termination or suspension message as text (they may be any JSON value).
pub(crate) fn reason_texts(reason: &[serde_json::Value]) -> Vec<String> {
    reason
        .iter()
        .map(|r| match r {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}
