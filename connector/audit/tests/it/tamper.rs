use passerelle_audit::{AuditStore, Break, CheckpointError, CheckpointSigner, Timestamp, VerifyError, entry_after};
use serde_json::json;

use crate::support::{draft, filled, tamper};

/// Entries compared by what their hash covers: `2.0` and `2` are the same JSON number.
fn hashes(entries: &[passerelle_audit::Entry]) -> Vec<(u64, passerelle_audit::ChainHash)> {
    entries.iter().map(|e| (e.seq, e.recompute_hash())).collect()
}

fn broken(result: Result<passerelle_audit::Summary, VerifyError>) -> Break {
    match result {
        Err(VerifyError::Broken(b)) => b,
        other => panic!("expected a break, got {other:?}"),
    }
}

#[tokio::test]
async fn an_intact_log_verifies_and_the_tables_refuse_edits() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 20, 5).await;
    let summary = store.verify(&signer.key_set()).await.unwrap();
    assert_eq!((summary.entries, summary.checkpoints, summary.unsealed), (20, 4, 0));
    assert_eq!(summary.head, Some((20, entries[19].hash)));
    let update = sqlx::query("UPDATE audit_log SET actor = 'x' WHERE seq = 1").execute(&pool).await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = sqlx::query("DELETE FROM audit_checkpoints").execute(&pool).await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
}

#[tokio::test]
async fn an_altered_payload_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 12, 5).await;
    tamper(&pool, r#"UPDATE audit_log SET payload = '{"state":"ACCEPTED"}' WHERE seq = 7"#).await;
    let b = broken(store.verify(&signer.key_set()).await);
    assert!(matches!(b, Break::HashMismatch { seq: 7, .. }), "{b}");
    assert!(b.to_string().contains("entry 7 was altered"), "{b}");
}

#[tokio::test]
async fn an_altered_timestamp_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 12, 5).await;
    let earlier = Timestamp::new(entries[2].at.instant() - time::Duration::hours(1)).unwrap();
    tamper(&pool, &format!("UPDATE audit_log SET at = '{earlier}' WHERE seq = 3")).await;
    assert!(matches!(broken(store.verify(&signer.key_set()).await), Break::HashMismatch { seq: 3, .. }));
    tamper(&pool, "UPDATE audit_log SET at = 'last tuesday' WHERE seq = 2").await;
    let b = broken(store.verify(&signer.key_set()).await);
    assert!(matches!(&b, Break::Unreadable { location, .. } if location == "audit_log row 2"), "{b}");
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 12, 5).await;
    tamper(&pool, "DELETE FROM audit_log WHERE seq = 9").await;
    assert_eq!(broken(store.verify(&signer.key_set()).await), Break::Missing { expected: 9, found: 10 });
}

#[tokio::test]
async fn two_rows_with_swapped_seqs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 12, 5).await;
    tamper(
        &pool,
        "UPDATE audit_log SET seq = 1000 WHERE seq = 4; UPDATE audit_log SET seq = 4 WHERE seq = 5; \
         UPDATE audit_log SET seq = 5 WHERE seq = 1000;",
    )
    .await;
    assert_eq!(broken(store.verify(&signer.key_set()).await), Break::Renumbered { seq: 4, written_as: 5 });
}

#[tokio::test]
async fn an_inserted_row_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 12, 5).await;
    // A well-formed entry chained after 5, the genuine 6.. pushed one place down.
    let mut forged_draft = draft(6);
    forged_draft.payload = json!({"state": "FINALIZED", "price": 0});
    let forged = entry_after(Some(entries[4].head()), forged_draft);
    tamper(
        &pool,
        &format!(
            "UPDATE audit_log SET seq = seq + 1000000 WHERE seq >= 6; \
             UPDATE audit_log SET seq = seq - 999999 WHERE seq >= 1000000; \
             INSERT INTO audit_log VALUES (6, '{}', '{}', '{}', '{}', '{}', '{}', '{}');",
            forged.at, forged.kind, forged.subject, forged.actor, forged.payload, forged.prev_hash, forged.hash
        ),
    )
    .await;
    let b = broken(store.verify(&signer.key_set()).await);
    assert_eq!(b, Break::Inserted { seq: 6, count: 1 });
    assert_eq!(b.seq(), Some(6));
}

#[tokio::test]
async fn a_forged_checkpoint_signature_fails() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 12, 5).await;
    // Another key claiming the connector's kid signs a checkpoint for entry 10.
    let impostor = CheckpointSigner::new(passerelle_identity::keys::KeyPair::generate_es256().unwrap(), signer.kid());
    let forged = impostor.sign(entries[9].head(), Timestamp::now()).unwrap();
    tamper(&pool, &format!("UPDATE audit_checkpoints SET jws = '{}' WHERE seq = 10", forged.jws())).await;
    let b = broken(store.verify(&signer.key_set()).await);
    assert!(matches!(b, Break::BadCheckpoint { seq: Some(10), reason: CheckpointError::BadSignature { .. } }), "{b}");
}

#[tokio::test]
async fn a_truncated_tail_is_caught_by_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, _) = filled(dir.path(), 20, 5).await;
    tamper(&pool, "DELETE FROM audit_log WHERE seq > 12").await;
    assert_eq!(broken(store.verify(&signer.key_set()).await), Break::Truncated { last_seq: 12, checkpoint_seq: 20 });
    // Deleting the stored checkpoints too does not help against checkpoints held elsewhere.
    let held = store.checkpoints().await.unwrap();
    tamper(&pool, "DELETE FROM audit_checkpoints").await;
    assert_eq!(store.verify(&signer.key_set()).await.unwrap().entries, 12);
    let b = broken(store.verify_with(&signer.key_set(), &held).await);
    assert_eq!(b, Break::Truncated { last_seq: 12, checkpoint_seq: 20 });
}

#[tokio::test]
async fn a_rehashed_rewrite_is_caught_by_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 12, 5).await;
    // Rewrite entry 7 onwards with consistent hashes, as a careful attacker would.
    let mut rebuilt = vec![entries[5].clone()];
    for (k, genuine) in entries[6..].iter().enumerate() {
        let mut d = draft(genuine.seq);
        if k == 0 {
            d.payload = json!({"state": "TERMINATED"});
        }
        rebuilt.push(entry_after(Some(rebuilt[k].head()), d));
    }
    let mut sql = String::from("DELETE FROM audit_log WHERE seq >= 7;");
    for e in &rebuilt[1..] {
        sql.push_str(&format!(
            "INSERT INTO audit_log VALUES ({}, '{}', '{}', '{}', '{}', '{}', '{}', '{}');",
            e.seq,
            e.at,
            e.kind,
            e.subject,
            e.actor,
            passerelle_audit::canonical::to_canonical_string(&e.payload),
            e.prev_hash,
            e.hash
        ));
    }
    tamper(&pool, &sql).await;
    let b = broken(store.verify(&signer.key_set()).await);
    assert!(matches!(b, Break::CheckpointMismatch { seq: 10, .. }), "{b}");
}

#[tokio::test]
async fn reads_and_on_demand_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (pool, store, signer, entries) = filled(dir.path(), 12, 5).await;
    assert_eq!(hashes(&store.read_range(4, 3).await.unwrap()), hashes(&entries[3..6]));
    let subject = store.read_subject("urn:uuid:process-1", 0, 100).await.unwrap();
    assert_eq!(subject.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 5, 9]);
    assert_eq!(store.head().await.unwrap().map(|e| e.hash), entries.last().map(|e| e.hash));
    let on_demand = store.checkpoint(Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(on_demand.checkpoint().seq, 12);
    let again = store.checkpoint(Timestamp::now()).await.unwrap().unwrap();
    assert_eq!(again, on_demand, "the first checkpoint of a head is kept");
    let summary = store.verify(&signer.key_set()).await.unwrap();
    assert_eq!((summary.checkpoints, summary.unsealed), (3, 0));
    let plain = AuditStore::new(pool);
    assert!(matches!(plain.checkpoint(Timestamp::now()).await, Err(passerelle_audit::StoreError::NoSigner)));
}
