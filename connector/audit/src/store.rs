//! The audit log in SQLite: tables `audit_log` and `audit_checkpoints`.
//!
//! Appends are serialised twice: an in-process lock queues the connector's own tasks
//! (no busy-waiting on SQLite's lock), and `BEGIN IMMEDIATE` takes the database write
//! lock before the head is read, so even another process cannot read the same head
//! and fork the chain; `seq` being the primary key is the last line of defence.
//! Triggers refuse UPDATE and DELETE, which stops application bugs; deliberate
//! tampering by someone who can write the file is what the hash chain and the signed
//! checkpoints expose.

use std::io::{BufRead, Write};
use std::num::NonZeroU64;
use std::sync::Arc;

use futures::TryStreamExt;
use futures::lock::Mutex;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnection, SqlitePool};

use crate::canonical;
use crate::checkpoint::{CheckpointSigner, KeyResolver, SignedCheckpoint, VerifiedCheckpoints};
use crate::entry::{ChainHead, Entry, EntryDraft, EntryKind, Timestamp, entry_after, entry_with_payload_text};
use crate::error::{StoreError, VerifyError, db, direct};
use crate::export::{EntryLines, read_checkpoints, write_checkpoint_line, write_entry_line};
use crate::verify::{Break, ChainVerifier, Summary};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS audit_log (
    seq        INTEGER PRIMARY KEY CHECK (seq >= 1),
    at         TEXT NOT NULL,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    actor      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_log_subject ON audit_log (subject, seq);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    seq   INTEGER NOT NULL,
    kid   TEXT NOT NULL,
    hash  TEXT NOT NULL,
    at    TEXT NOT NULL,
    jws   TEXT NOT NULL,
    PRIMARY KEY (seq, kid)
);
CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
"#;

const ENTRY_COLUMNS: &str = "seq, at, kind, subject, actor, payload, prev_hash, hash";

/// The audit log of one connector, over the connector's SQLite pool.
#[derive(Debug, Clone)]
pub struct AuditStore {
    pool: SqlitePool,
    sealing: Option<Arc<Sealing>>,
    writer: Arc<Mutex<()>>,
}

#[derive(Debug)]
struct Sealing {
    signer: CheckpointSigner,
    every: NonZeroU64,
}

impl AuditStore {
    /// Creates the tables and triggers if missing; idempotent, called at start-up.
    pub async fn migrate(pool: &SqlitePool) -> Result<(), StoreError> {
        sqlx::raw_sql(SCHEMA).execute(pool).await.map_err(db("create the audit tables"))?;
        Ok(())
    }

    /// A store without automatic checkpoints.
    pub fn new(pool: SqlitePool) -> AuditStore {
        AuditStore { pool, sealing: None, writer: Arc::new(Mutex::new(())) }
    }

    /// Signs a checkpoint in the same transaction as every `every`-th entry, and lets
    /// [`AuditStore::checkpoint`] sign on demand.
    pub fn with_checkpoints(mut self, signer: CheckpointSigner, every: NonZeroU64) -> AuditStore {
        self.sealing = Some(Arc::new(Sealing { signer, every }));
        self
    }

    /// Appends one entry.
    pub async fn append(&self, draft: EntryDraft) -> Result<Entry, StoreError> {
        let mut entries = self.append_batch(vec![draft]).await?;
        entries.pop().ok_or(StoreError::Corrupt { seq: 0, reason: "the append returned no entry".into() })
    }

    /// Appends several entries in one transaction (all or none).
    pub async fn append_batch(&self, drafts: Vec<EntryDraft>) -> Result<Vec<Entry>, StoreError> {
        let _turn = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("start an append"))?;
        let appended = self.append_locked(&mut tx, drafts).await?;
        tx.commit().await.map_err(db("commit an append"))?;
        Ok(appended)
    }

    /// Appends entries inside the caller's transaction, so that they commit or roll back
    /// with the change they record. The caller's transaction must already hold (or be the
    /// only one to take) the database write lock — e.g. the connector's process host, whose
    /// writer lock serialises every process change; `seq` being the primary key still refuses
    /// a fork if it does not.
    pub async fn append_in(
        &self,
        conn: &mut SqliteConnection,
        drafts: Vec<EntryDraft>,
    ) -> Result<Vec<Entry>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let _turn = self.writer.lock().await;
        self.append_locked(conn, drafts).await
    }

    /// [`AuditStore::append_in`] on a connection the caller drives itself (rusqlite; the connector's
    /// process host runs its transactions on the handle sqlx lends). The caller's transaction must hold
    /// the database write lock (`BEGIN IMMEDIATE`): that, not this store's in-process lock, keeps two
    /// appends from reading the same head.
    pub fn append_on(&self, db: &rusqlite::Connection, drafts: Vec<EntryDraft>) -> Result<Vec<Entry>, StoreError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let mut head = direct_head(db)?;
        let mut appended = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let (entry, payload) = entry_with_payload_text(head, draft);
            db.prepare_cached(
                "INSERT INTO audit_log (seq, at, kind, subject, actor, payload, prev_hash, hash) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .and_then(|mut insert| {
                insert.execute(rusqlite::params![
                    to_sql_seq(entry.seq).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                    entry.at.as_str(),
                    entry.kind.as_str(),
                    entry.subject,
                    entry.actor,
                    payload,
                    entry.prev_hash.to_string(),
                    entry.hash.to_string(),
                ])
            })
            .map_err(direct("insert an audit entry"))?;
            if let Some(sealing) = &self.sealing
                && entry.seq.is_multiple_of(sealing.every.get())
            {
                let signed = sealing.signer.sign(entry.head(), entry.at.clone())?;
                let checkpoint = signed.checkpoint();
                db.prepare_cached(
                    "INSERT INTO audit_checkpoints (seq, kid, hash, at, jws) VALUES (?, ?, ?, ?, ?) \
                     ON CONFLICT (seq, kid) DO NOTHING",
                )
                .and_then(|mut insert| {
                    insert.execute(rusqlite::params![
                        to_sql_seq(checkpoint.seq).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
                        checkpoint.kid,
                        checkpoint.hash.to_string(),
                        checkpoint.at.as_str(),
                        signed.jws(),
                    ])
                })
                .map_err(direct("insert a checkpoint"))?;
            }
            head = Some(entry.head());
            appended.push(entry);
        }
        Ok(appended)
    }

    async fn append_locked(
        &self,
        conn: &mut SqliteConnection,
        drafts: Vec<EntryDraft>,
    ) -> Result<Vec<Entry>, StoreError> {
        let tx = conn;
        let mut head = read_head(&mut *tx).await?;
        let mut appended = Vec::with_capacity(drafts.len());
        for draft in drafts {
            let entry = entry_after(head, draft);
            insert_entry(&mut *tx, &entry).await?;
            if let Some(sealing) = &self.sealing
                && entry.seq.is_multiple_of(sealing.every.get())
            {
                let signed = sealing.signer.sign(entry.head(), entry.at.clone())?;
                insert_checkpoint(&mut *tx, &signed).await?;
            }
            head = Some(entry.head());
            appended.push(entry);
        }
        Ok(appended)
    }

    /// Signs the current head now (e.g. at shutdown or before an export); `None` for an
    /// empty log. Signing the same head twice with the same key keeps the first checkpoint.
    pub async fn checkpoint(&self, at: Timestamp) -> Result<Option<SignedCheckpoint>, StoreError> {
        let sealing = self.sealing.as_ref().ok_or(StoreError::NoSigner)?;
        let _turn = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("start a checkpoint"))?;
        let Some(head) = read_head(&mut tx).await? else {
            return Ok(None);
        };
        let signed = sealing.signer.sign(head, at)?;
        insert_checkpoint(&mut tx, &signed).await?;
        let stored: String = sqlx::query_scalar("SELECT jws FROM audit_checkpoints WHERE seq = ? AND kid = ?")
            .bind(to_sql_seq(head.seq)?)
            .bind(sealing.signer.kid())
            .fetch_one(&mut *tx)
            .await
            .map_err(db("read the checkpoint back"))?;
        tx.commit().await.map_err(db("commit a checkpoint"))?;
        Ok(Some(SignedCheckpoint::from_jws(&stored)?))
    }

    /// The last entry, if any.
    pub async fn head(&self) -> Result<Option<Entry>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq DESC LIMIT 1");
        let row: Option<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .fetch_optional(&self.pool)
            .await
            .map_err(db("read the last entry"))?;
        row.map(Row::into_entry).transpose().map_err(Into::into)
    }

    /// Up to `limit` entries from `from_seq` on, in order.
    pub async fn read_range(&self, from_seq: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE seq >= ? ORDER BY seq LIMIT ?");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db("read audit entries"))?;
        rows.into_iter().map(|r| r.into_entry().map_err(Into::into)).collect()
    }

    /// Up to `limit` entries about `subject` (a process or agreement id) from `from_seq` on.
    pub async fn read_subject(&self, subject: &str, from_seq: u64, limit: u32) -> Result<Vec<Entry>, StoreError> {
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log WHERE subject = ? AND seq >= ? ORDER BY seq LIMIT ?");
        let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(subject)
            .bind(i64::try_from(from_seq).unwrap_or(i64::MAX))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db("read the entries of a subject"))?;
        rows.into_iter().map(|r| r.into_entry().map_err(Into::into)).collect()
    }

    /// The stored checkpoints in sequence order (signatures not checked).
    pub async fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db("open a connection"))?;
        let rows = read_checkpoint_rows(&mut conn).await?;
        rows.into_iter()
            .map(|(seq, jws)| {
                SignedCheckpoint::from_jws(&jws).map_err(|e| StoreError::Corrupt { seq, reason: e.to_string() })
            })
            .collect()
    }

    /// Verifies the whole log against its stored checkpoints, streaming the rows.
    pub async fn verify(&self, keys: &impl KeyResolver) -> Result<Summary, VerifyError> {
        self.verify_with(keys, &[]).await
    }

    /// Like [`AuditStore::verify`], also holding the log to checkpoints kept elsewhere
    /// (e.g. ones a counter-party received): deleting stored checkpoints then hides nothing.
    pub async fn verify_with(
        &self,
        keys: &impl KeyResolver,
        external: &[SignedCheckpoint],
    ) -> Result<Summary, VerifyError> {
        // One read transaction: the checkpoints and the rows are the same snapshot.
        let mut tx = self.pool.begin().await.map_err(db("start a verification"))?;
        let mut signed = Vec::new();
        for (seq, jws) in read_checkpoint_rows(&mut tx).await? {
            let checkpoint = SignedCheckpoint::from_jws(&jws)
                .map_err(|reason| Break::BadCheckpoint { seq: u64::try_from(seq).ok(), reason })?;
            signed.push(checkpoint);
        }
        signed.extend_from_slice(external);
        let verified = VerifiedCheckpoints::verify(&signed, keys)?;
        let mut verifier = ChainVerifier::new(&verified);
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = rows.try_next().await.map_err(db("read audit entries"))? {
            let entry = row
                .into_entry()
                .map_err(|(seq, reason)| Break::Unreadable { location: format!("audit_log row {seq}"), reason })?;
            verifier.push(&entry)?;
        }
        Ok(verifier.finish()?)
    }

    /// Writes the log as JSON Lines and its checkpoints one JWS per line, from one
    /// consistent snapshot. Returns the number of entries and checkpoints written.
    pub async fn export(&self, mut entries: impl Write, mut checkpoints: impl Write) -> Result<(u64, u64), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("start an export"))?;
        let mut checkpoint_count = 0;
        for (seq, jws) in read_checkpoint_rows(&mut tx).await? {
            let signed =
                SignedCheckpoint::from_jws(&jws).map_err(|e| StoreError::Corrupt { seq, reason: e.to_string() })?;
            write_checkpoint_line(&mut checkpoints, &signed)?;
            checkpoint_count += 1;
        }
        let sql = format!("SELECT {ENTRY_COLUMNS} FROM audit_log ORDER BY seq");
        let mut rows = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
        let mut entry_count = 0;
        while let Some(row) = rows.try_next().await.map_err(db("read audit entries"))? {
            write_entry_line(&mut entries, &row.into_entry()?)?;
            entry_count += 1;
        }
        let flush = |what| move |source| StoreError::Write { what, source };
        entries.flush().map_err(flush("entries export"))?;
        checkpoints.flush().map_err(flush("checkpoints export"))?;
        Ok((entry_count, checkpoint_count))
    }

    /// Loads an export into this (empty) log, verifying it on the way: nothing is kept
    /// unless the whole export verifies.
    pub async fn import(
        &self,
        entries: impl BufRead,
        checkpoints: impl BufRead,
        keys: &impl KeyResolver,
    ) -> Result<Summary, VerifyError> {
        let signed = read_checkpoints(checkpoints)?;
        let verified = VerifiedCheckpoints::verify(&signed, keys)?;
        let _turn = self.writer.lock().await;
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await.map_err(db("start an import"))?;
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log")
            .fetch_one(&mut *tx)
            .await
            .map_err(db("count audit entries"))?;
        if count > 0 {
            return Err(StoreError::NotEmpty(count.unsigned_abs()).into());
        }
        let mut verifier = ChainVerifier::new(&verified);
        let mut lines = EntryLines::new(entries);
        while let Some(entry) = lines.next_entry()? {
            verifier.push(&entry)?;
            insert_entry(&mut tx, &entry).await?;
        }
        let summary = verifier.finish()?;
        for checkpoint in &signed {
            insert_checkpoint(&mut tx, checkpoint).await?;
        }
        tx.commit().await.map_err(db("commit an import"))?;
        Ok(summary)
    }
}

fn to_sql_seq(seq: u64) -> Result<i64, StoreError> {
    i64::try_from(seq).map_err(|_| StoreError::SeqOverflow)
}

async fn read_head(conn: &mut SqliteConnection) -> Result<Option<ChainHead>, StoreError> {
    let row: Option<(i64, String)> = sqlx::query_as("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await
        .map_err(db("read the chain head"))?;
    head_of(row)
}

fn head_of(row: Option<(i64, String)>) -> Result<Option<ChainHead>, StoreError> {
    let Some((seq, hash)) = row else {
        return Ok(None);
    };
    let corrupt = |reason: String| StoreError::Corrupt { seq, reason };
    Ok(Some(ChainHead {
        seq: u64::try_from(seq).map_err(|_| corrupt("negative sequence number".into()))?,
        hash: hash.parse().map_err(|e: crate::EntryError| corrupt(e.to_string()))?,
    }))
}

fn direct_head(db: &rusqlite::Connection) -> Result<Option<ChainHead>, StoreError> {
    let row: Option<(i64, String)> = db
        .prepare_cached("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
        .and_then(|mut head| {
            let mut rows = head.query([])?;
            rows.next()?.map(|r| Ok((r.get(0)?, r.get(1)?))).transpose()
        })
        .map_err(direct("read the chain head"))?;
    head_of(row)
}

async fn insert_entry(conn: &mut SqliteConnection, entry: &Entry) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (seq, at, kind, subject, actor, payload, prev_hash, hash) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(to_sql_seq(entry.seq)?)
    .bind(entry.at.as_str())
    .bind(entry.kind.as_str())
    .bind(&entry.subject)
    .bind(&entry.actor)
    .bind(canonical::to_canonical_string(&entry.payload))
    .bind(entry.prev_hash.to_string())
    .bind(entry.hash.to_string())
    .execute(&mut *conn)
    .await
    .map_err(db("insert an audit entry"))?;
    Ok(())
}

async fn insert_checkpoint(conn: &mut SqliteConnection, signed: &SignedCheckpoint) -> Result<(), StoreError> {
    let checkpoint = signed.checkpoint();
    sqlx::query(
        "INSERT INTO audit_checkpoints (seq, kid, hash, at, jws) VALUES (?, ?, ?, ?, ?) \
         ON CONFLICT (seq, kid) DO NOTHING",
    )
    .bind(to_sql_seq(checkpoint.seq)?)
    .bind(&checkpoint.kid)
    .bind(checkpoint.hash.to_string())
    .bind(checkpoint.at.as_str())
    .bind(signed.jws())
    .execute(&mut *conn)
    .await
    .map_err(db("insert a checkpoint"))?;
    Ok(())
}

async fn read_checkpoint_rows(conn: &mut SqliteConnection) -> Result<Vec<(i64, String)>, StoreError> {
    sqlx::query_as("SELECT seq, jws FROM audit_checkpoints ORDER BY seq, kid")
        .fetch_all(&mut *conn)
        .await
        .map_err(db("read checkpoints"))
}

/// A row as stored; turned into an [`Entry`] only after every column parses.
#[derive(sqlx::FromRow)]
struct Row {
    seq: i64,
    at: String,
    kind: String,
    subject: String,
    actor: String,
    payload: String,
    prev_hash: String,
    hash: String,
}

impl Row {
    fn into_entry(self) -> Result<Entry, (i64, String)> {
        let seq = self.seq;
        let fail = |what: &str, e: String| (seq, format!("{what}: {e}"));
        Ok(Entry {
            seq: u64::try_from(seq).map_err(|_| (seq, "negative sequence number".to_string()))?,
            at: Timestamp::parse(&self.at).map_err(|e| fail("at", e.to_string()))?,
            kind: EntryKind::new(&self.kind).map_err(|e| fail("kind", e.to_string()))?,
            subject: self.subject,
            actor: self.actor,
            payload: serde_json::from_str::<Value>(&self.payload).map_err(|e| fail("payload", e.to_string()))?,
            prev_hash: self.prev_hash.parse().map_err(|e: crate::EntryError| fail("prev_hash", e.to_string()))?,
            hash: self.hash.parse().map_err(|e: crate::EntryError| fail("hash", e.to_string()))?,
        })
    }
}

impl From<(i64, String)> for StoreError {
    fn from((seq, reason): (i64, String)) -> StoreError {
        StoreError::Corrupt { seq, reason }
    }
}
