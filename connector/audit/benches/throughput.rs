//! Appends per second to SQLite (one transaction per entry, and batches of 100) and
//! verified entries per second (streamed from SQLite, and in memory). One run, printed;
//! run with `cargo bench -p passerelle-audit --bench throughput`.

use std::num::NonZeroU64;
use std::time::Instant;

use passerelle_audit::{
    AuditStore, CheckpointSigner, EntryDraft, EntryKind, Timestamp, VerifiedCheckpoints, verify_chain,
};
use passerelle_identity::keys::KeyPair;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

const SINGLE: u64 = 2_000;
const BATCHED: u64 = 50_000;
const BATCH: u64 = 100;

fn draft(i: u64) -> EntryDraft {
    EntryDraft {
        at: Timestamp::now(),
        kind: EntryKind::NEGOTIATION_STATE,
        subject: format!("urn:uuid:0190a6c4-7e5b-7c1e-9a3f-{:012}", i % 500),
        actor: "did:web:distributor.example".into(),
        payload: json!({
            "state": "dspace:AGREED", "consumerPid": format!("urn:uuid:c-{i}"), "providerPid": format!("urn:uuid:p-{i}"),
            "offer": {"target": "urn:eidr:10.5240/7791-8534-2C23-9030-8610-5", "permission": [{"action": "use",
                "constraint": [{"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["FR", "BE", "CH"]}]}]}
        }),
    }
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    for synchronous in [SqliteSynchronous::Full, SqliteSynchronous::Normal] {
        let dir = tempfile::tempdir().expect("temp dir");
        let options = SqliteConnectOptions::new()
            .filename(dir.path().join("bench.db"))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(synchronous);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await.expect("pool");
        AuditStore::migrate(&pool).await.expect("migrate");
        let key = KeyPair::generate_es256().expect("key");
        let signer = CheckpointSigner::new(key, "did:web:distributor.example#bench");
        let keys = signer.key_set();
        let store = AuditStore::new(pool).with_checkpoints(signer, NonZeroU64::new(1000).expect("non-zero"));
        println!("SQLite WAL, synchronous={synchronous:?}, ES256 checkpoint every 1000 entries");

        let start = Instant::now();
        for i in 0..SINGLE {
            store.append(draft(i)).await.expect("append");
        }
        let secs = start.elapsed().as_secs_f64();
        println!("  append, 1 entry per transaction: {SINGLE} in {secs:.2} s = {:.0} entries/s", SINGLE as f64 / secs);

        let start = Instant::now();
        for b in 0..BATCHED / BATCH {
            store.append_batch((0..BATCH).map(|i| draft(b * BATCH + i)).collect()).await.expect("append batch");
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  append, {BATCH} entries per transaction: {BATCHED} in {secs:.2} s = {:.0} entries/s",
            BATCHED as f64 / secs
        );

        let start = Instant::now();
        let summary = store.verify(&keys).await.expect("verify");
        let secs = start.elapsed().as_secs_f64();
        println!(
            "  verify from SQLite (streamed): {} entries, {} checkpoints in {secs:.2} s = {:.0} entries/s",
            summary.entries,
            summary.checkpoints,
            summary.entries as f64 / secs
        );

        let entries = store.read_range(1, u32::MAX).await.expect("read");
        let start = Instant::now();
        let summary = verify_chain(entries, &VerifiedCheckpoints::none()).expect("verify in memory");
        let secs = start.elapsed().as_secs_f64();
        println!("  verify in memory (hashing only): {:.0} entries/s", summary.entries as f64 / secs);
    }
}
