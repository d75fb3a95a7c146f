//! Statements run synchronously through rusqlite on the calling task, for the process host's hot path.
//!
//! sqlx runs every statement on a worker thread of its own, one hand-off (and two thread switches) per
//! statement. A negotiation message writes a dozen rows (the process, the outbox entry, the audit trail,
//! webhook events), so the hand-offs, not SQLite, were most of its cost (BENCHMARKS.md, "Where the time
//! goes"). Here a transaction runs on a connection of the host's own (a file store, `Store::own_connection`:
//! no hand-off at all, prepared statements kept; [`run_on`]), or on the handle sqlx lends (`lock_handle`, one
//! hand-off per transaction: the private in-memory store of tests, which only the pool's one connection
//! reaches; [`lent`]). A transaction is short (no I/O but SQLite's own), so holding the task's thread for it
//! is cheaper than the switches it saves.

use rusqlite::Connection;
use sqlx::SqliteConnection;

/// A connection to run statements on, inside the transaction [`run_on`] or [`lent`] began.
pub(crate) type Db = Connection;

/// Why the handle could not be had or the transaction could not be begun or committed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct DirectError(String);

impl From<String> for DirectError {
    fn from(e: String) -> Self {
        DirectError(e)
    }
}

impl From<sqlx::Error> for DirectError {
    fn from(e: sqlx::Error) -> Self {
        DirectError(e.to_string())
    }
}

impl From<rusqlite::Error> for DirectError {
    fn from(e: rusqlite::Error) -> Self {
        DirectError(e.to_string())
    }
}

fn begin(write: bool) -> &'static str {
    // Immediate: the write lock is taken before the first read, so a read-check-write cannot be overtaken by
    // another writer's commit (no SQLITE_BUSY_SNAPSHOT half-way). Deferred: a read snapshot.
    if write { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" }
}

/// Runs a transaction-control statement (`BEGIN…`, `COMMIT`, `ROLLBACK`) from the connection's statement cache:
/// `execute_batch` would parse it again on every change.
fn control(db: &Connection, sql: &str) -> rusqlite::Result<()> {
    db.prepare_cached(sql)?.execute([]).map(|_| ())
}

/// Runs `work` in the transaction just begun on `db`: committed when it returns `Ok`, rolled back when it
/// returns `Err` (or panics). The outer error is the store's (commit); the inner result is `work`'s.
fn within<R, E>(db: &Connection, work: impl FnOnce(&Db) -> Result<R, E>) -> Result<Result<R, E>, DirectError> {
    let open = Open { db, done: false };
    let out = work(db);
    open.finish(out.is_ok())?;
    Ok(out)
}

/// Runs `work` as one transaction (a write when `write`, else a read snapshot) on `conn`'s handle, lent by sqlx.
pub(crate) async fn lent<R, E>(
    conn: &mut SqliteConnection,
    write: bool,
    work: impl FnOnce(&Db) -> Result<R, E>,
) -> Result<Result<R, E>, DirectError> {
    let mut locked = conn.lock_handle().await?;
    // SAFETY: `lock_handle` keeps sqlx's worker off this handle until `locked` is dropped, which is after
    // `db` is: the two never use it at once. `from_handle` does not close the handle when dropped, and
    // `db` is a local of this block.
    let db = unsafe { Connection::from_handle(locked.as_raw_handle().as_ptr()) }?;
    let out = control(&db, begin(write)).map_err(DirectError::from).and_then(|()| within(&db, work));
    drop(db);
    drop(locked);
    out
}

/// How long a change waits for another connection's write (an import, say) to commit.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs `work` as one transaction (a write when `write`, else a read snapshot) on a connection of our own.
///
/// The connection has no busy timeout: when another connection holds the write lock, `BEGIN IMMEDIATE`
/// fails at once and is tried again after an asynchronous sleep, so that waiting never blocks a runtime
/// thread (a blocked thread could hold up the very task whose commit it waits for). Once begun, nothing
/// else in a WAL transaction waits for a lock.
pub(crate) async fn run_on<R, E>(
    // `&mut`: a `&Connection` is not `Send`, and this future waits.
    db: &mut Connection,
    write: bool,
    work: impl FnOnce(&Db) -> Result<R, E>,
) -> Result<Result<R, E>, DirectError> {
    begin_on(db, write).await?;
    within(db, work)
}

/// Begins a transaction on a connection of our own (a write when `write`), waiting asynchronously while
/// another connection holds the write lock ([`run_on`]).
pub(crate) async fn begin_on(db: &mut Connection, write: bool) -> Result<(), DirectError> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        match control(db, begin(write)) {
            Ok(()) => return Ok(()),
            Err(e) if is_busy(&e) && started.elapsed() < BUSY_WAIT => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Runs `work` inside the transaction open on `db` as a savepoint of its own: kept when it returns `Ok`,
/// undone when it returns `Err` (or panics), so one member of a group commit cannot leave half a change in
/// the others' transaction. The outer error is the store's (the savepoint statements).
pub(crate) fn member<R, E>(
    db: &Connection,
    work: impl FnOnce(&Db) -> Result<R, E>,
) -> Result<Result<R, E>, DirectError> {
    control(db, "SAVEPOINT member")?;
    let open = Savepoint { db, done: false };
    let out = work(db);
    open.finish(out.is_ok())?;
    Ok(out)
}

/// Runs `work` as the first change of the transaction open on `db`, without a savepoint: nothing of anyone
/// else's is in it yet, so when `work` returns `Err` (or panics) the whole transaction is rolled back instead.
/// That spares the common case, a change alone in its transaction, the statement journal a savepoint keeps
/// (a copy of every page it touches). Whether the transaction is still open is `Ok(_)` with `work`'s `Ok`.
pub(crate) fn lead<R, E>(db: &Connection, work: impl FnOnce(&Db) -> Result<R, E>) -> Result<R, E> {
    let mut open = Open { db, done: false };
    let out = work(db);
    // Left open on `Ok` (the caller commits it, with whatever joins it); rolled back when dropped unfinished.
    open.done = out.is_ok();
    out
}

/// Commits the transaction open on `db`; rolls it back when the commit fails.
pub(crate) fn commit(db: &Connection) -> Result<(), DirectError> {
    if let Err(e) = control(db, "COMMIT") {
        let _ = control(db, "ROLLBACK");
        return Err(e.into());
    }
    Ok(())
}

/// Rolls back the transaction open on `db`.
pub(crate) fn rollback(db: &Connection) {
    let _ = control(db, "ROLLBACK");
}

/// A savepoint begun by [`member`]: undone unless finished (a panic in `work` included).
struct Savepoint<'a> {
    db: &'a Connection,
    done: bool,
}

impl Savepoint<'_> {
    fn finish(mut self, keep: bool) -> Result<(), DirectError> {
        self.done = true;
        if !keep {
            control(self.db, "ROLLBACK TO member")?;
        }
        control(self.db, "RELEASE member").map_err(Into::into)
    }
}

impl Drop for Savepoint<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = control(self.db, "ROLLBACK TO member");
            let _ = control(self.db, "RELEASE member");
        }
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(e.sqlite_error_code(), Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked))
}

/// A transaction begun on `db`: rolled back unless finished (a panic in `work` included).
struct Open<'a> {
    db: &'a Connection,
    done: bool,
}

impl Open<'_> {
    fn finish(mut self, commit: bool) -> Result<(), DirectError> {
        self.done = true;
        if commit { self::commit(self.db) } else { control(self.db, "ROLLBACK").map_err(Into::into) }
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        if !self.done {
            rollback(self.db);
        }
    }
}

/// Runs a query of whole rows, mapping each with `map`.
pub(crate) fn rows<T, E: From<rusqlite::Error>>(
    db: &Db,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T, E>,
) -> Result<Vec<T>, E> {
    let mut statement = db.prepare_cached(sql)?;
    let mut found = statement.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = found.next()? {
        out.push(map(row)?);
    }
    Ok(out)
}

/// Runs a query of at most one row, mapping it with `map`.
pub(crate) fn row<T, E: From<rusqlite::Error>>(
    db: &Db,
    sql: &str,
    params: impl rusqlite::Params,
    map: impl Fn(&rusqlite::Row<'_>) -> Result<T, E>,
) -> Result<Option<T>, E> {
    let mut statement = db.prepare_cached(sql)?;
    let mut found = statement.query(params)?;
    found.next()?.map(map).transpose()
}

/// Reading columns by name, from a row of either driver: one mapping per record type serves the
/// direct path and the sqlx queries (console, reports) alike.
pub(crate) trait Columns {
    /// The column as text (`None` for NULL); an error names the column.
    fn text(&self, column: &str) -> Result<Option<String>, String>;
    fn integer(&self, column: &str) -> Result<Option<i64>, String>;

    fn required_text(&self, column: &str) -> Result<String, String> {
        self.text(column)?.ok_or_else(|| format!("column `{column}` is NULL"))
    }
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> Result<Option<String>, String> {
        self.get(column).map_err(|e| format!("column `{column}`: {e}"))
    }

    fn integer(&self, column: &str) -> Result<Option<i64>, String> {
        self.get(column).map_err(|e| format!("column `{column}`: {e}"))
    }
}

impl Columns for sqlx::sqlite::SqliteRow {
    fn text(&self, column: &str) -> Result<Option<String>, String> {
        sqlx::Row::try_get(self, column).map_err(|e| format!("column `{column}`: {e}"))
    }

    fn integer(&self, column: &str) -> Result<Option<i64>, String> {
        sqlx::Row::try_get(self, column).map_err(|e| format!("column `{column}`: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn a_failed_transaction_leaves_nothing_and_the_connection_usable() {
        let store = Store::open_in_memory().await.unwrap();
        let mut conn = store.pool().acquire().await.unwrap();
        let create = lent(&mut conn, true, |db| db.execute_batch("CREATE TABLE t (x INTEGER UNIQUE)")).await;
        assert!(matches!(create, Ok(Ok(()))));
        let failed = lent(&mut conn, true, |db| {
            db.execute("INSERT INTO t (x) VALUES (1)", [])?;
            db.execute("INSERT INTO t (x) VALUES (1)", []).map(|_| ())
        })
        .await
        .unwrap();
        assert!(failed.is_err(), "the unique violation is work's error");
        let refused: Result<(), &str> = lent(&mut conn, true, |db| {
            db.execute("INSERT INTO t (x) VALUES (2)", []).map_err(|_| "insert")?;
            Err("changed my mind")
        })
        .await
        .unwrap();
        assert_eq!(refused, Err("changed my mind"));
        // Both were rolled back, and sqlx still owns a healthy connection outside any transaction.
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM t").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(count, 0);
        let counted: Result<Option<Option<i64>>, rusqlite::Error> =
            lent(&mut conn, false, |db| row(db, "SELECT COUNT(*) AS n FROM t", [], |r| Ok(r.integer("n").unwrap())))
                .await
                .unwrap();
        assert_eq!(counted.unwrap(), Some(Some(0)));
        let mut tx = sqlx::Connection::begin(&mut *conn).await.unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (3)").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_change_waits_for_another_writer_without_blocking_and_then_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_file(&dir.path().join("p.db")).await.unwrap();
        let mut own = store.own_connection(false).unwrap().expect("a file store");
        own.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        // Another connection (an import, say) holds the write lock for a while.
        let mut other = store.pool().acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE").execute(&mut *other).await.unwrap();
        sqlx::query("INSERT INTO t (x) VALUES (1)").execute(&mut *other).await.unwrap();
        let release = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(150)).await;
            sqlx::query("COMMIT").execute(&mut *other).await.unwrap();
        });
        let waited = std::time::Instant::now();
        let done: Result<usize, rusqlite::Error> =
            run_on(&mut own, true, |db| db.execute("INSERT INTO t (x) VALUES (2)", [])).await.unwrap();
        assert_eq!(done.unwrap(), 1);
        assert!(waited.elapsed() >= std::time::Duration::from_millis(100), "it waited for the other writer");
        release.await.unwrap();
        let rows: Vec<i64> = rows(&own, "SELECT x FROM t ORDER BY x", [], |r| r.get(0)).unwrap();
        assert_eq!(rows, vec![1, 2], "both writes are there, in commit order");
        // A failed change leaves nothing behind and the connection outside any transaction.
        let failed: Result<(), &str> = run_on(&mut own, true, |db| {
            db.execute("INSERT INTO t (x) VALUES (3)", []).map_err(|_| "insert")?;
            Err("refused")
        })
        .await
        .unwrap();
        assert_eq!(failed, Err("refused"));
        assert!(own.is_autocommit());
        let count: i64 = own.query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(count, 2);
    }
}
