use std::io::BufReader;

use passerelle_audit::{AuditStore, Break, KeyResolver, KeySet, StoreError, VerifyError, verify_export};

use crate::support::{filled, pool};

#[tokio::test]
async fn an_export_verifies_elsewhere_and_imports_whole_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let (_, store, signer, entries) = filled(dir.path(), 23, 10).await;
    let (mut lines, mut checkpoints) = (Vec::new(), Vec::new());
    assert_eq!(store.export(&mut lines, &mut checkpoints).await.unwrap(), (23, 2));

    // The auditor has the files and the connector's public key, nothing else.
    let mut keys = KeySet::default();
    keys.insert(signer.kid(), signer.key_set().resolve(signer.kid()).unwrap());
    let summary = verify_export(&lines[..], &checkpoints[..], &keys).unwrap();
    assert_eq!((summary.entries, summary.checkpoints, summary.unsealed), (23, 2, 3));

    let elsewhere = tempfile::tempdir().unwrap();
    let copy = AuditStore::new(pool(elsewhere.path()).await);
    let imported = copy.import(BufReader::new(&lines[..]), &checkpoints[..], &keys).await.unwrap();
    assert_eq!(imported, summary);
    let copied = copy.read_range(1, 100).await.unwrap();
    let hashes =
        |list: &[passerelle_audit::Entry]| list.iter().map(|e| (e.seq, e.recompute_hash())).collect::<Vec<_>>();
    assert_eq!(hashes(&copied), hashes(&entries));
    assert_eq!(copy.verify(&keys).await.unwrap(), summary);
    let again = copy.import(&lines[..], &checkpoints[..], &keys).await.unwrap_err();
    assert!(matches!(again, VerifyError::Store(StoreError::NotEmpty(23))), "{again}");

    // A tampered export is refused and leaves the target empty.
    let text = String::from_utf8(lines).unwrap().replace("\"i\":17", "\"i\":71");
    let err = verify_export(text.as_bytes(), &checkpoints[..], &keys).unwrap_err();
    assert!(matches!(err.as_break(), Some(Break::HashMismatch { seq: 17, .. })), "{err}");
    let third = tempfile::tempdir().unwrap();
    let target = AuditStore::new(pool(third.path()).await);
    let err = target.import(text.as_bytes(), &checkpoints[..], &keys).await.unwrap_err();
    assert!(matches!(err.as_break(), Some(Break::HashMismatch { seq: 17, .. })), "{err}");
    assert!(target.head().await.unwrap().is_none());
}
