use passerelle_audit::{AuditStore, Timestamp};

use crate::support::{draft, filled};

/// Many tasks appending at once, through two store handles that share nothing but the
/// database (so the in-process lock cannot be what keeps the chain straight).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_never_fork_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 0, 7).await;
    let other = AuditStore::new(pool.clone());
    let mut tasks = Vec::new();
    for t in 0..24u64 {
        let store = if t % 2 == 0 { store.clone() } else { other.clone() };
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                if i % 3 == 0 {
                    store.append_batch(vec![draft(t * 100 + i), draft(t * 100 + i + 50)]).await.unwrap();
                } else {
                    store.append(draft(t * 100 + i)).await.unwrap();
                }
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // 24 tasks × (4 batches of 2 + 6 singles).
    let summary = store.verify(&signer.key_set()).await.unwrap();
    assert_eq!(summary.entries, 24 * 14);
    let (count, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT prev_hash) FROM audit_log").fetch_one(&pool).await.unwrap();
    assert_eq!((count, distinct), (24 * 14, 24 * 14), "two entries share a predecessor: the chain forked");
    assert!(summary.checkpoints > 0);
    store.checkpoint(Timestamp::now()).await.unwrap();
}

/// Entries appended inside a caller's transaction live and die with it.
#[tokio::test]
async fn entries_in_a_callers_transaction_commit_or_roll_back_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 3, 2).await;
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    let appended = store.append_in(&mut tx, vec![draft(10), draft(11)]).await.unwrap();
    assert_eq!(appended.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5]);
    tx.rollback().await.unwrap();
    assert_eq!(store.verify(&signer.key_set()).await.unwrap().entries, 3, "rolled back with the change");

    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
    assert!(store.append_in(&mut tx, Vec::new()).await.unwrap().is_empty());
    let appended = store.append_in(&mut tx, vec![draft(12)]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(appended[0].seq, 4, "the rolled-back seqs are reused: no gap");
    let summary = store.verify(&signer.key_set()).await.unwrap();
    assert_eq!((summary.entries, summary.checkpoints), (4, 2), "sealed every 2 entries inside the transaction too");
}
