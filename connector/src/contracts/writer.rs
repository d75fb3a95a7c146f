//! The process host's writer: its own connection, one user at a time, and group commit.
//!
//! Every change of a process is one transaction on the host's connection. Committed one by one, at 100
//! concurrent negotiations each commit wrote its own copy of the pages the changes share (the tails of the
//! outbox, the audit trail and the time-ordered indexes: some 35 WAL frames and 70 `pwrite`s per negotiation
//! and side, BENCHMARKS.md). So changes that follow one another while others wait for the writer share one
//! transaction, a *batch*: each runs in a savepoint of its own (a failing change undoes only itself), leaves
//! the transaction open for the next when someone is waiting, and its caller hears of it only once the batch
//! has committed. Nothing is acknowledged before it is durable, as before; what changes is only that a commit
//! carries several changes. When nobody waits (one change at a time), a change commits at once, as before.
//!
//! The rule sits in one place, the release of the writer ([`WriterGuard`]'s `Drop`): a batch left open is
//! committed unless someone is waiting for the writer and the batch is neither full nor old. Whoever takes the
//! writer for anything but a process change ([`WriterLock::lock`]: another connection's transaction, the
//! outbox worker's table read, a checkpoint) commits the open batch first.

use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rusqlite::Connection;
use tokio::sync::{Mutex, MutexGuard, watch};

use crate::store::direct::{self, Db, DirectError};

/// Changes a batch takes at most before it commits.
const MAX_MEMBERS: usize = 64;
/// How long a batch stays open at most: its first change waits for the commit that long, plus the last one's work.
const MAX_OPEN: Duration = Duration::from_millis(5);
/// How long a member waits for its batch before committing it itself: the change it was left open for
/// may have been cancelled while waiting for the writer.
const STRANDED: Duration = Duration::from_millis(20);

/// What a batch's commit came to: `None` until it is known.
type Outcome = Option<Result<(), String>>;

/// Work to run once a batch's commit is known (handing queued entries to the outbox worker, answering
/// delivery marks), still holding the writer.
pub(crate) type AfterCommit = Box<dyn FnOnce(&Result<(), String>) + Send>;

/// The writer and how many wait for it.
pub(crate) struct WriterLock {
    writer: Mutex<Writer>,
    waiting: AtomicUsize,
}

/// The process host's own connection to a file store (`Store::own_connection`, opened on first use, outside
/// the pool and sqlx): its page cache and prepared statements stay warm from one change to the next.
#[derive(Default)]
pub(crate) struct Writer {
    pub(crate) conn: Option<Connection>,
    batch: Option<Batch>,
}

/// A transaction left open for the changes that follow.
struct Batch {
    members: usize,
    began: Instant,
    after: Vec<AfterCommit>,
    done: watch::Sender<Outcome>,
}

/// The writer, held. Released by dropping, which commits the open batch unless it is left for someone waiting.
pub(crate) struct WriterGuard<'a> {
    guard: MutexGuard<'a, Writer>,
    lock: &'a WriterLock,
}

/// Counts a caller as waiting for the writer until it has it (or gave up: a cancelled future).
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::AcqRel);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl WriterLock {
    pub(crate) fn new() -> Self {
        WriterLock { writer: Mutex::new(Writer::default()), waiting: AtomicUsize::new(0) }
    }

    /// The writer for a process change, which joins the batch left open, if any.
    pub(crate) async fn join(&self) -> WriterGuard<'_> {
        let waiting = Waiting::new(&self.waiting);
        let guard = self.writer.lock().await;
        drop(waiting);
        WriterGuard { guard, lock: self }
    }

    /// The writer with every change committed: for work outside the host's transaction (another
    /// connection's, which would wait for the batch's write lock; a table read that must see only what
    /// was handed over).
    pub(crate) async fn lock(&self) -> WriterGuard<'_> {
        let mut held = self.join().await;
        held.settle();
        held
    }

    /// [`WriterLock::lock`] from a thread outside the runtime (the checkpoint thread).
    pub(crate) fn blocking_lock(&self) -> WriterGuard<'_> {
        let waiting = Waiting::new(&self.waiting);
        let guard = self.writer.blocking_lock();
        drop(waiting);
        let mut held = WriterGuard { guard, lock: self };
        held.settle();
        held
    }

    fn others_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Waits for the commit of the batch `outcome` belongs to. When that takes longer than [`STRANDED`] (the
    /// change it was left open for gave up waiting), takes the writer, which commits it.
    pub(crate) async fn committed(&self, mut outcome: watch::Receiver<Outcome>) -> Result<(), String> {
        loop {
            let known = tokio::select! {
                known = outcome.wait_for(Option::is_some) => Some(known.map(|known| known.clone()).ok()),
                () = tokio::time::sleep(STRANDED) => None,
            };
            match known {
                Some(Some(Some(committed))) => return committed,
                Some(_) => return Err("the transaction was abandoned before its commit".into()),
                None => drop(self.lock().await),
            }
        }
    }
}

impl Writer {
    /// Whether a batch is open (a write transaction whose members wait for its commit).
    pub(crate) fn batch_open(&self) -> bool {
        self.batch.is_some()
    }

    /// Begins a batch on the connection (which must be open): the write lock is taken now, waiting
    /// asynchronously for another connection's write.
    pub(crate) async fn open_batch(&mut self) -> Result<(), DirectError> {
        let conn = self.conn.as_mut().ok_or_else(|| DirectError::from("no connection".to_string()))?;
        direct::begin_on(conn, true).await?;
        let (done, _) = watch::channel(None);
        self.batch = Some(Batch { members: 0, began: Instant::now(), after: Vec::new(), done });
        Ok(())
    }

    /// Runs change `work` in the open batch. The first change runs without a savepoint (`direct::lead`): when
    /// it fails, the batch, which holds nothing else, is rolled back and closed. Later ones run in a savepoint
    /// of their own (`direct::member`); a failure of the savepoint statements themselves rolls the whole batch
    /// back (every member hears of it). A read (`write` false) changes nothing, so it needs neither.
    pub(crate) fn member<R, E>(
        &mut self,
        write: bool,
        work: impl FnOnce(&Db) -> Result<R, E>,
    ) -> Result<Result<R, E>, DirectError> {
        let (Some(conn), Some(batch)) = (self.conn.as_ref(), self.batch.as_ref()) else {
            return Err(DirectError::from("no batch is open".to_string()));
        };
        if !write {
            return Ok(work(conn));
        }
        if batch.members == 0 {
            let out = direct::lead(conn, work);
            if out.is_err() {
                // Rolled back by `lead`; nobody else is in it.
                self.batch = None;
            }
            return Ok(out);
        }
        let out = direct::member(conn, work);
        if let Err(e) = &out {
            self.end(Err(e.to_string()));
        }
        out
    }

    /// Adds a member to the open batch: `after` runs once its commit is known, and the receiver tells it.
    pub(crate) fn enlist(&mut self, after: AfterCommit) -> watch::Receiver<Outcome> {
        match self.batch.as_mut() {
            Some(batch) => {
                batch.members += 1;
                batch.after.push(after);
                batch.done.subscribe()
            }
            None => {
                // Not reached: `member` either ran in the open batch or ended it with an error.
                let failed: Result<(), String> = Err("no batch is open".into());
                after(&failed);
                watch::channel(Some(failed)).1
            }
        }
    }

    /// Commits the open batch, if any, and tells its members.
    pub(crate) fn settle(&mut self) {
        if let Some(batch) = &self.batch {
            let began = Instant::now();
            let committed = match self.conn.as_ref() {
                Some(conn) => direct::commit(conn).map_err(|e| e.to_string()),
                None => Err("the connection was lost".into()),
            };
            // The commit alone (its members' work is logged by each): the same fields as sqlx's statement log,
            // so one reader (benches/negotiation.rs) sums both.
            tracing::debug!(
                target: "passerelle_connector::store::direct",
                elapsed_secs = began.elapsed().as_secs_f64(),
                members = batch.members,
                summary = "direct batch commit",
            );
            self.end(committed);
        }
    }

    /// Ends the open batch with `outcome` (a failure rolls it back and drops the connection, so the next
    /// change opens a fresh one), runs its members' after-commit work and wakes them.
    fn end(&mut self, outcome: Result<(), String>) {
        let Some(batch) = self.batch.take() else { return };
        if outcome.is_err()
            && let Some(conn) = self.conn.take()
        {
            direct::rollback(&conn);
        }
        for after in batch.after {
            after(&outcome);
        }
        let _ = batch.done.send(Some(outcome));
    }
}

impl Deref for WriterGuard<'_> {
    type Target = Writer;

    fn deref(&self) -> &Writer {
        &self.guard
    }
}

impl DerefMut for WriterGuard<'_> {
    fn deref_mut(&mut self) -> &mut Writer {
        &mut self.guard
    }
}

impl Drop for WriterGuard<'_> {
    fn drop(&mut self) {
        let leave_open = self.guard.batch.as_ref().is_some_and(|batch| {
            batch.members < MAX_MEMBERS && batch.began.elapsed() < MAX_OPEN && self.lock.others_waiting()
        });
        if !leave_open {
            self.guard.settle();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicBool;

    fn file_writer(dir: &tempfile::TempDir) -> Arc<WriterLock> {
        let conn = Connection::open(dir.path().join("w.db")).unwrap();
        conn.execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x INTEGER UNIQUE);").unwrap();
        let lock = Arc::new(WriterLock::new());
        lock.writer.try_lock().unwrap().conn = Some(conn);
        lock
    }

    fn count(dir: &tempfile::TempDir) -> i64 {
        let other = Connection::open(dir.path().join("w.db")).unwrap();
        other.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap()
    }

    /// One change: opens a batch if none is, runs in it, and waits for the commit.
    async fn change(lock: &WriterLock, x: i64, ran: Arc<AtomicBool>) -> Result<Result<usize, rusqlite::Error>, String> {
        let mut held = lock.join().await;
        if !held.batch_open() {
            held.open_batch().await.map_err(|e| e.to_string())?;
        }
        let out = held.member(true, |db| db.execute("INSERT INTO t (x) VALUES (?)", [x])).map_err(|e| e.to_string())?;
        let outcome = held.enlist(Box::new(move |committed| ran.store(committed.is_ok(), Ordering::SeqCst)));
        drop(held);
        lock.committed(outcome).await?;
        Ok(out)
    }

    /// A batch holding x = 1, left open on release for someone waiting, who then gave up (a cancelled future):
    /// nobody is there to commit it.
    async fn stranded(lock: &WriterLock) -> watch::Receiver<Outcome> {
        let mut held = lock.join().await;
        held.open_batch().await.unwrap();
        held.member(true, |db| db.execute("INSERT INTO t (x) VALUES (1)", [])).unwrap().unwrap();
        let outcome = held.enlist(Box::new(|_| {}));
        let waiter = Waiting::new(&lock.waiting);
        drop(held);
        assert!(lock.writer.try_lock().unwrap().batch_open(), "left open for the one waiting");
        drop(waiter);
        outcome
    }

    #[tokio::test]
    async fn a_change_alone_commits_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let ran = Arc::new(AtomicBool::new(false));
        assert_eq!(change(&lock, 1, ran.clone()).await.unwrap().unwrap(), 1);
        assert!(ran.load(Ordering::SeqCst), "its after-commit work ran");
        assert!(!lock.writer.try_lock().unwrap().batch_open());
        assert_eq!(count(&dir), 1, "another connection sees it");
    }

    #[tokio::test]
    async fn a_batch_left_for_a_waiting_change_commits_both_and_a_failing_member_undoes_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        // First change, with someone waiting: it leaves the batch open and waits for its commit.
        let mut held = lock.join().await;
        held.open_batch().await.unwrap();
        held.member(true, |db| db.execute("INSERT INTO t (x) VALUES (1)", [])).unwrap().unwrap();
        let first = held.enlist(Box::new(|_| {}));
        let waiter = Waiting::new(&lock.waiting);
        drop(held);
        assert!(lock.writer.try_lock().unwrap().batch_open(), "left open for the one waiting");
        assert_eq!(count(&dir), 0, "nothing is visible before the commit");
        drop(waiter);
        // The second change fails (a duplicate): only its savepoint is undone. Nobody waits, so it commits.
        let mut held = lock.join().await;
        let failed = held.member(true, |db| {
            db.execute("INSERT INTO t (x) VALUES (2)", [])?;
            db.execute("INSERT INTO t (x) VALUES (1)", [])
        });
        assert!(matches!(failed, Ok(Err(_))), "the work's own error: {failed:?}");
        let second = held.enlist(Box::new(|_| {}));
        drop(held);
        assert_eq!(lock.committed(first).await, Ok(()));
        assert_eq!(lock.committed(second).await, Ok(()));
        assert_eq!(count(&dir), 1, "the first change is in, the failed one left nothing");
    }

    #[tokio::test]
    async fn a_first_change_that_fails_rolls_back_and_closes_its_batch() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let mut held = lock.join().await;
        held.open_batch().await.unwrap();
        let failed = held.member(true, |db| {
            db.execute("INSERT INTO t (x) VALUES (1)", [])?;
            db.execute("INSERT INTO t (x) VALUES (1)", [])
        });
        assert!(matches!(failed, Ok(Err(_))), "the work's own error: {failed:?}");
        assert!(!held.batch_open(), "nothing else was in it: closed");
        assert!(held.conn.as_ref().unwrap().is_autocommit(), "rolled back, the connection outside any transaction");
        drop(held);
        assert_eq!(count(&dir), 0);
        // The next change opens a batch of its own on the same connection.
        assert_eq!(change(&lock, 2, Arc::new(AtomicBool::new(false))).await.unwrap().unwrap(), 1);
        assert_eq!(count(&dir), 1);
    }

    #[tokio::test]
    async fn a_batch_whose_next_change_gave_up_is_committed_by_its_member() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let outcome = stranded(&lock).await;
        assert_eq!(lock.committed(outcome).await, Ok(()));
        assert_eq!(count(&dir), 1);
    }

    #[tokio::test]
    async fn taking_the_writer_for_other_work_commits_the_open_batch_first() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let outcome = stranded(&lock).await;
        let held = lock.lock().await;
        assert!(!held.batch_open());
        assert_eq!(count(&dir), 1, "committed before the other work starts");
        drop(held);
        assert_eq!(lock.committed(outcome).await, Ok(()));
    }

    #[tokio::test]
    async fn a_failed_commit_reaches_every_member_and_their_after_work() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let ran = Arc::new(AtomicBool::new(true));
        let mut held = lock.join().await;
        held.open_batch().await.unwrap();
        held.member(true, |db| db.execute("INSERT INTO t (x) VALUES (1)", [])).unwrap().unwrap();
        let seen = ran.clone();
        let outcome = held.enlist(Box::new(move |committed| seen.store(committed.is_ok(), Ordering::SeqCst)));
        // The connection goes away under the batch (as after an I/O error): the commit cannot happen.
        held.conn = None;
        drop(held);
        assert!(lock.committed(outcome).await.is_err());
        assert!(!ran.load(Ordering::SeqCst), "the after-commit work heard of the failure");
        assert_eq!(count(&dir), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_changes_all_commit_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let lock = file_writer(&dir);
        let mut tasks = Vec::new();
        for x in 0..200 {
            let lock = lock.clone();
            tasks.push(tokio::spawn(async move { change(&lock, x, Arc::new(AtomicBool::new(false))).await }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap().unwrap(), 1);
        }
        assert_eq!(count(&dir), 200);
    }
}
