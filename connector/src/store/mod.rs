//! Persistence of everything a connector knows: works, versions, rights windows,
//! policies, offer definitions and the log of import runs.
//!
//! [`Store`] is the only door: async methods taking and returning domain values,
//! no sqlx type in its public face and all SQL inside this module. SQLite is the
//! engine today (WAL, foreign keys, busy timeout); PostgreSQL can be added as a
//! second backend behind the same methods without touching a caller.
//!
//! Writes are idempotent upserts by id. A batch ([`Store::import_batch`]) runs in one
//! transaction, so a file either lands whole or not at all. Lists use keyset
//! pagination (`WHERE id > cursor ORDER BY id LIMIT n`), whose cost does not grow
//! with the size of the table.

pub(crate) mod checkpoint;
pub(crate) mod direct;
mod imports;
mod media;
mod policies;
mod services;
mod upsert;

pub(crate) use media::work_record_on;
pub(crate) use policies::offer_definitions_with_policies_on;
pub(crate) use services::services_with_policies_on;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::config::StoreLocation;

pub use imports::ImportRunRecord;
pub use media::{WorkFilter, WorkRecord};
pub use policies::{StoredOfferDefinition, StoredPolicy};
pub use services::StoredService;

/// Why the store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {location}: {reason}")]
    Open { location: String, reason: String },
    #[error("cannot bring the database schema up to date: {0}")]
    Migrate(String),
    #[error("database error while {context}: {reason}")]
    Database { context: &'static str, reason: String },
    #[error("stored {kind} `{id}` cannot be read back ({reason}); the database was changed outside Passerelle")]
    Corrupt { kind: &'static str, id: String, reason: String },
    #[error("{kind} `{id}` already exists; use PUT to replace it")]
    Conflict { kind: &'static str, id: String },
    #[error("{kind} `{id}` does not exist")]
    MissingReference { kind: &'static str, id: String },
    #[error("{kind} `{id}` is still used by {users}; change or delete those first")]
    InUse { kind: &'static str, id: String, users: String },
}

/// A slice of a list, with the cursor of the next slice (`None` on the last one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Written {
    Inserted,
    Updated,
    /// The stored record was identical; nothing was touched.
    Unchanged,
}

/// Per-kind tally of upserts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub inserted: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Counts {
    pub fn add(&mut self, w: Written) {
        match w {
            Written::Inserted => self.inserted += 1,
            Written::Updated => self.updated += 1,
            Written::Unchanged => self.unchanged += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.inserted + self.updated + self.unchanged
    }
}

/// What one batch did to works, versions and rights windows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchCounts {
    pub works: Counts,
    pub versions: Counts,
    pub rights: Counts,
}

/// The connector's database.
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    /// The database file (`None`: a private in-memory database, which lives in the pool's one connection).
    file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store(sqlite)")
    }
}

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

impl Store {
    /// Opens (creating if needed) the store and brings its schema up to date.
    pub async fn open(location: &StoreLocation) -> Result<Store, StoreError> {
        match location {
            StoreLocation::SqliteFile(path) => Self::open_file(path).await,
            StoreLocation::SqliteMemory => Self::open_in_memory().await,
        }
    }

    /// A SQLite file; its folder is created if missing.
    pub async fn open_file(path: &Path) -> Result<Store, StoreError> {
        let open_err = |reason: String| StoreError::Open { location: path.display().to_string(), reason };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| open_err(format!("cannot create folder {}: {e}", dir.display())))?;
        }
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .map_err(|e| open_err(e.to_string()))?;
        Self::migrated(pool, Some(path.to_path_buf())).await
    }

    /// A private in-memory database (tests, `sqlite::memory:`): one connection that lives as long as the store.
    pub async fn open_in_memory() -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|e| StoreError::Open { location: "sqlite::memory:".into(), reason: e.to_string() })?
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(|e| StoreError::Open { location: "sqlite::memory:".into(), reason: e.to_string() })?;
        Self::migrated(pool, None).await
    }

    async fn migrated(pool: SqlitePool, file: Option<std::path::PathBuf>) -> Result<Store, StoreError> {
        MIGRATOR.run(&pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        // The audit trail keeps its own (append-only) tables beside ours.
        passerelle_audit::AuditStore::migrate(&pool).await.map_err(|e| StoreError::Migrate(e.to_string()))?;
        Ok(Store { pool, file })
    }

    /// Waits for running statements and closes every connection (checkpoints the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The pool, for the modules that keep their own tables (contracts, transfers, outbox, data plane).
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The database file (`None` for a private in-memory database).
    pub(crate) fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// A connection of its own to the database file, outside the pool and without sqlx (the process host's:
    /// `direct`), with the pool's settings; `None` for a private in-memory database, which only the pool reaches.
    /// With `checkpointed` a thread copies the WAL back (`checkpoint`) and this connection's commits do not.
    pub(crate) fn own_connection(&self, checkpointed: bool) -> Result<Option<rusqlite::Connection>, StoreError> {
        let Some(path) = &self.file else { return Ok(None) };
        let open_err =
            |e: rusqlite::Error| StoreError::Open { location: path.display().to_string(), reason: e.to_string() };
        let db = rusqlite::Connection::open(path).map_err(open_err)?;
        // No busy timeout: `direct::run_on` waits for the write lock asynchronously.
        db.busy_timeout(Duration::ZERO).map_err(open_err)?;
        // The pool set WAL on the file already; the rest is per connection. This connection writes every
        // process change: memory-mapped reads keep its pages off `pread`. Without the checkpoint thread, a
        // checkpoint every 10,000 pages instead of 1,000 means a tenth of the checkpoints' fsyncs. The page
        // cache keeps SQLite's default size on purpose: a commit after a b-tree page split walks the whole
        // cache (`pcache1Truncate`), which with a 64 MiB cache took 10 % of the CPU of a negotiation
        // (BENCHMARKS.md). Statement journals (a savepoint's, one per change of a group commit, and those of
        // statements that fire triggers) stay in memory: as temporary files they cost an `open` and a `pwrite`
        // per page a change touched, more than the commit's own WAL writes (BENCHMARKS.md).
        let autocheckpoint = if checkpointed { 0 } else { 10_000 };
        db.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;
             PRAGMA mmap_size = 268435456; PRAGMA wal_autocheckpoint = {autocheckpoint};
             PRAGMA temp_store = MEMORY;",
        ))
        .map_err(open_err)?;
        Ok(Some(db))
    }

    /// A cheap liveness probe for `/health`.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(db("checking the database"))
    }
}

/// Maps a database error (sqlx's, rusqlite's on the direct path, or a [`direct::Columns`] mapping's) to
/// [`StoreError::Database`] with what we were doing.
fn db<E: std::fmt::Display>(context: &'static str) -> impl Fn(E) -> StoreError {
    move |e| StoreError::Database { context, reason: e.to_string() }
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_foreign_key_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn now_text() -> String {
    format_time(OffsetDateTime::now_utc())
}

fn format_time(t: OffsetDateTime) -> String {
    // RFC 3339 formatting only fails for years outside 0..=9999, which `now` is not.
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_time(kind: &'static str, id: &str, text: &str) -> Result<OffsetDateTime, StoreError> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|e| StoreError::Corrupt {
        kind,
        id: id.to_string(),
        reason: format!("timestamp `{text}`: {e}"),
    })
}

fn from_doc<T: serde::de::DeserializeOwned>(kind: &'static str, id: &str, doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc).map_err(|e| StoreError::Corrupt { kind, id: id.to_string(), reason: e.to_string() })
}

fn to_doc<T: Serialize>(kind: &'static str, id: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt { kind, id: id.to_string(), reason: e.to_string() })
}

/// `revision` returned by an upsert → what happened (no row: the WHERE kept an identical record).
fn written(revision: Option<i64>) -> Written {
    match revision {
        None => Written::Unchanged,
        Some(1) => Written::Inserted,
        Some(_) => Written::Updated,
    }
}

/// Clamps a page size and fetches one more row than shown to know whether a next page exists.
fn page_from<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Page<T> {
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Page { items, next_cursor }
}

#[cfg(test)]
mod tests;
