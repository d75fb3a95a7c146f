use std::num::NonZeroU64;
use std::path::Path;

use passerelle_audit::{AuditStore, CheckpointSigner, Entry, EntryDraft, EntryKind, Timestamp};
use passerelle_identity::keys::KeyPair;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub async fn pool(dir: &Path) -> SqlitePool {
    let options = SqliteConnectOptions::new()
        .filename(dir.join("connector.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal);
    let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await.unwrap();
    AuditStore::migrate(&pool).await.unwrap();
    // A second call must be harmless: the connector runs it at every start.
    AuditStore::migrate(&pool).await.unwrap();
    pool
}

pub fn signer() -> CheckpointSigner {
    let key = KeyPair::generate_es256().unwrap();
    let kid = format!("did:web:distributor.example#{}", key.key_id());
    CheckpointSigner::new(key, kid)
}

pub fn draft(i: u64) -> EntryDraft {
    let at = time::macros::datetime!(2026-03-01 10:00 UTC) + time::Duration::milliseconds(i as i64 * 250);
    let (kind, state) = match i % 3 {
        0 => (EntryKind::NEGOTIATION_STATE, "REQUESTED"),
        1 => (EntryKind::TRANSFER_STATE, "STARTED"),
        _ => (EntryKind::EXCHANGE_EVENT, "IN_PROGRESS"),
    };
    EntryDraft {
        at: Timestamp::new(at).unwrap(),
        kind,
        subject: format!("urn:uuid:process-{}", i % 4),
        actor: "did:web:lab.example".into(),
        payload: json!({"state": state, "i": i, "ratio": i as f64 / 3.0, "langs": ["fr", "es-419"]}),
    }
}

/// A store with `n` entries and a checkpoint every `every` entries.
pub async fn filled(dir: &Path, n: u64, every: u64) -> (SqlitePool, AuditStore, CheckpointSigner, Vec<Entry>) {
    let pool = pool(dir).await;
    let signer = signer();
    let store = AuditStore::new(pool.clone()).with_checkpoints(signer.clone(), NonZeroU64::new(every).unwrap());
    let mut entries = Vec::new();
    for i in 1..=n {
        entries.push(store.append(draft(i)).await.unwrap());
    }
    (pool, store, signer, entries)
}

/// Runs SQL as someone with write access to the database file would: triggers off.
pub async fn tamper(pool: &SqlitePool, sql: &str) {
    for trigger in
        ["audit_log_no_update", "audit_log_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"]
    {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}"))).execute(pool).await.unwrap();
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap();
}
