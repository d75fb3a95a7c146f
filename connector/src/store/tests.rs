use passerelle_media::{RightsWindow, Version, Work, WorkKind};
use serde_json::json;

use super::*;
use crate::offers::{OfferDefinition, Selector};

fn work(id: &str, title: &str) -> Work {
    serde_json::from_value(
        json!({"id": id, "kind": "movie", "title": title, "eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J"}),
    )
    .unwrap()
}

fn version(id: &str, work_id: &str) -> Version {
    serde_json::from_value(json!({"id": id, "work_id": work_id, "kind": "edit", "label": "Theatrical"})).unwrap()
}

fn window(id: &str, work_id: &str) -> RightsWindow {
    serde_json::from_value(json!({
        "id": id, "work_id": work_id, "license_type": "FreeTV", "territories": ["FR", "BE"],
        "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z"
    }))
    .unwrap()
}

fn policy(id: &str) -> serde_json::Value {
    json!({"@id": id, "@type": "Offer", "permission": [{"action": "use"}]})
}

#[tokio::test]
async fn import_is_idempotent_and_counts_what_changed() {
    let store = Store::open_in_memory().await.unwrap();
    let works = vec![work("w1", "One"), work("w2", "Two")];
    let versions = vec![version("v1", "w1")];
    let rights = vec![window("r1", "w1"), window("r2", "w-not-yet-imported")];
    let c = store.import_batch(&works, &versions, &rights).await.unwrap();
    assert_eq!((c.works.inserted, c.versions.inserted, c.rights.inserted), (2, 1, 2));

    let again = store.import_batch(&works, &versions, &rights).await.unwrap();
    assert_eq!(again.works, Counts { inserted: 0, updated: 0, unchanged: 2 });
    assert_eq!(again.rights.unchanged, 2);
    assert_eq!(store.count_works().await.unwrap(), 2);

    let changed = vec![work("w1", "One (restored)")];
    let c = store.import_batch(&changed, &[], &[]).await.unwrap();
    assert_eq!(c.works, Counts { inserted: 0, updated: 1, unchanged: 0 });
    assert_eq!(store.get_work("w1").await.unwrap().unwrap().title, "One (restored)");
}

#[tokio::test]
async fn work_records_carry_their_versions_and_windows() {
    let store = Store::open_in_memory().await.unwrap();
    store
        .import_batch(
            &[work("a", "A"), work("b", "B"), work("c", "C")],
            &[version("v1", "a"), version("v2", "c")],
            &[window("r1", "a"), window("r2", "a")],
        )
        .await
        .unwrap();
    let page = store.work_records(None, 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.work.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(page[0].versions.len(), 1);
    assert_eq!(page[0].rights.len(), 2);
    assert!(page[1].versions.is_empty() && page[1].rights.is_empty());
    let next = store.work_records(Some("b"), 2).await.unwrap();
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].versions[0].id, "v2");
    assert!(store.work_record("zz").await.unwrap().is_none());
    assert_eq!(store.work_record("a").await.unwrap().unwrap().rights[1].id, "r2");
}

#[tokio::test]
async fn work_list_pages_and_filters() {
    let store = Store::open_in_memory().await.unwrap();
    let mut works: Vec<Work> = (0..7).map(|i| work(&format!("w{i}"), &format!("Title {i}"))).collect();
    works[3].kind = WorkKind::Episode;
    works[5].title = "100% Pure_Drama".into();
    store.import_batch(&works, &[], &[]).await.unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = store.list_works(&WorkFilter::default(), cursor.as_deref(), 3).await.unwrap();
        seen.extend(page.items.into_iter().map(|w| w.id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, (0..7).map(|i| format!("w{i}")).collect::<Vec<_>>());

    let episodes = WorkFilter { kind: Some(WorkKind::Episode), ..Default::default() };
    assert_eq!(store.list_works(&episodes, None, 10).await.unwrap().items.len(), 1);
    let pct = WorkFilter { title: Some("0% p".into()), ..Default::default() };
    assert_eq!(store.list_works(&pct, None, 10).await.unwrap().items[0].id, "w5");
    let underscore = WorkFilter { title: Some("_".into()), ..Default::default() };
    assert_eq!(store.list_works(&underscore, None, 10).await.unwrap().items.len(), 1, "`_` is literal");
}

#[tokio::test]
async fn single_record_crud() {
    let store = Store::open_in_memory().await.unwrap();
    store.insert_work(&work("w1", "One")).await.unwrap();
    assert!(matches!(store.insert_work(&work("w1", "Again")).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.put_work(&work("w1", "One")).await.unwrap(), Written::Unchanged);
    assert_eq!(store.put_work(&work("w1", "Uno")).await.unwrap(), Written::Updated);

    store.insert_version(&version("v1", "w1")).await.unwrap();
    assert!(matches!(store.insert_version(&version("v1", "w1")).await, Err(StoreError::Conflict { .. })));
    assert!(store.get_version("w1", "v1").await.unwrap().is_some());
    assert!(store.get_version("other", "v1").await.unwrap().is_none(), "a version is found under its own work only");
    store.insert_rights(&window("r1", "w1")).await.unwrap();
    assert_eq!(store.list_rights("w1").await.unwrap().len(), 1);

    assert!(store.delete_work("w1").await.unwrap());
    assert!(store.list_versions("w1").await.unwrap().is_empty());
    assert!(store.list_rights("w1").await.unwrap().is_empty());
    assert!(!store.delete_work("w1").await.unwrap());
}

#[tokio::test]
async fn policies_and_offer_definitions_keep_their_references() {
    let store = Store::open_in_memory().await.unwrap();
    store.insert_policy("p1", &policy("p1")).await.unwrap();
    assert!(matches!(store.insert_policy("p1", &policy("p1")).await, Err(StoreError::Conflict { .. })));
    assert_eq!(store.put_policy("p1", &policy("p1")).await.unwrap(), Written::Unchanged);

    let def = OfferDefinition {
        id: "fr-freetv".into(),
        title: "FR free TV".into(),
        description: None,
        selector: Selector::default(),
        policy_id: "p1".into(),
    };
    store.insert_offer_definition(&def).await.unwrap();
    assert!(matches!(store.insert_offer_definition(&def).await, Err(StoreError::Conflict { .. })));
    let orphan = OfferDefinition { id: "x".into(), policy_id: "nope".into(), ..def.clone() };
    assert!(matches!(store.insert_offer_definition(&orphan).await, Err(StoreError::MissingReference { .. })));
    assert!(matches!(store.put_offer_definition(&orphan).await, Err(StoreError::MissingReference { .. })));

    assert!(matches!(store.delete_policy("p1").await, Err(StoreError::InUse { .. })));
    let with = store.offer_definitions_with_policies().await.unwrap();
    assert_eq!(with.len(), 1);
    assert_eq!(with[0].1["@id"], "p1");

    assert_eq!(store.put_offer_definition(&def).await.unwrap(), Written::Unchanged);
    let retitled = OfferDefinition { title: "France, free-to-air".into(), ..def.clone() };
    assert_eq!(store.put_offer_definition(&retitled).await.unwrap(), Written::Updated);
    assert_eq!(store.get_offer_definition("fr-freetv").await.unwrap().unwrap().revision, 2);

    assert!(store.delete_offer_definition("fr-freetv").await.unwrap());
    assert!(store.delete_policy("p1").await.unwrap());
    assert!(store.get_policy("p1").await.unwrap().is_none());
}

#[tokio::test]
async fn import_runs_are_logged_newest_first() {
    let store = Store::open_in_memory().await.unwrap();
    let now = OffsetDateTime::now_utc();
    for i in 0..3 {
        store
            .record_import_run(&format!("f{i}.xml"), Some("mec-xml"), "imported", now, now, &json!({"n": i}))
            .await
            .unwrap();
    }
    let page = store.list_import_runs(None, 2).await.unwrap();
    assert_eq!(page.items.iter().map(|r| r.file.as_str()).collect::<Vec<_>>(), ["f2.xml", "f1.xml"]);
    let cursor = page.next_cursor.and_then(|c| c.parse().ok());
    let rest = store.list_import_runs(cursor, 2).await.unwrap();
    assert_eq!(rest.items.len(), 1);
    assert_eq!(rest.items[0].report["n"], 0);
}

#[tokio::test]
async fn a_file_store_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/passerelle.db");
    {
        let store = Store::open_file(&path).await.unwrap();
        store.import_batch(&[work("w1", "One")], &[], &[]).await.unwrap();
        store.close().await;
    }
    let store = Store::open_file(&path).await.unwrap();
    assert_eq!(store.get_work("w1").await.unwrap().unwrap().title, "One");
    let journal: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&store.pool).await.unwrap();
    assert_eq!(journal, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys").fetch_one(&store.pool).await.unwrap();
    assert_eq!(fk, 1);
}

#[tokio::test]
async fn a_failing_batch_leaves_nothing_behind() {
    let store = Store::open_in_memory().await.unwrap();
    store.import_batch(&[work("w1", "One")], &[], &[]).await.unwrap();
    // Make the second statement of the next batch fail inside the transaction.
    sqlx::query("CREATE TRIGGER refuse BEFORE INSERT ON versions BEGIN SELECT RAISE(ABORT, 'refused'); END")
        .execute(&store.pool)
        .await
        .unwrap();
    let err = store.import_batch(&[work("w1", "Changed"), work("w2", "Two")], &[version("v", "w1")], &[]).await;
    assert!(matches!(err, Err(StoreError::Database { .. })));
    assert_eq!(store.get_work("w1").await.unwrap().unwrap().title, "One");
    assert!(store.get_work("w2").await.unwrap().is_none());
}
