use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use passerelle_media::{RightsWindow, Work};
use serde_json::json;

use super::*;
use crate::offers::{OfferDefinition, Selector};

const ME: &str = "https://acme.example";

fn work(id: &str) -> Work {
    serde_json::from_value(json!({"id": id, "kind": "movie", "title": format!("Title {id}"), "genres": ["Drama"]}))
        .unwrap()
}

fn window(id: &str, work_id: &str, license: &str, territory: &str) -> RightsWindow {
    serde_json::from_value(json!({
        "id": id, "work_id": work_id, "license_type": license, "territories": [territory],
        "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z", "languages": ["fr"]
    }))
    .unwrap()
}

fn offer_policy(id: &str) -> serde_json::Value {
    json!({"@id": id, "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"}]}]})
}

async fn seeded() -> StoreCatalog {
    let store = Store::open_in_memory().await.unwrap();
    let works: Vec<Work> = ["a", "b/1", "c", "d", "e"].into_iter().map(work).collect();
    let rights =
        vec![window("r1", "a", "FreeTV", "FR"), window("r2", "c", "SVOD", "FR"), window("r3", "c", "FreeTV", "DE")];
    store.import_batch(&works, &[], &rights).await.unwrap();
    store.insert_policy("urn:policy:fr", &offer_policy("urn:policy:fr")).await.unwrap();
    store
        .insert_offer_definition(&OfferDefinition {
            id: "fr-freetv".into(),
            title: "French free-to-air".into(),
            description: None,
            selector: serde_json::from_value(json!({"license_types": ["FreeTV"], "territories": ["FR"]})).unwrap(),
            policy_id: "urn:policy:fr".into(),
        })
        .await
        .unwrap();
    store
        .insert_offer_definition(&OfferDefinition {
            id: "all".into(),
            title: "Everything".into(),
            description: Some("All our works".into()),
            selector: Selector::default(),
            policy_id: "urn:policy:fr".into(),
        })
        .await
        .unwrap();
    StoreCatalog::new(store, ME)
}

fn offer_ids(entry: &DatasetEntry) -> Vec<String> {
    entry.offers.iter().map(|o| o["@id"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn pages_cover_every_dataset_once_in_order() {
    let catalog = seeded().await;
    let mut ids = Vec::new();
    let mut cursor = None;
    for _ in 0..10 {
        let page = catalog.page(cursor.clone(), 2).await.unwrap();
        assert!(page.entries.len() <= 2);
        ids.extend(page.entries.iter().map(|e| e.id.clone()));
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(ids, ["collection:all", "collection:fr-freetv", "work:a", "work:b~2F1", "work:c", "work:d", "work:e"],);
    let all = catalog.page(None, 100).await.unwrap();
    assert_eq!(all.entries.len(), 7);
    assert!(all.next_cursor.is_none());
}

#[tokio::test]
async fn offers_follow_selectors_and_windows() {
    let catalog = seeded().await;
    let a = catalog.dataset("work:a").await.unwrap().unwrap();
    assert_eq!(
        offer_ids(&a),
        ["urn:passerelle:offer:all:work:a", "urn:passerelle:offer:fr-freetv:work:a", "urn:passerelle:window:r1",]
    );
    // c has FreeTV in DE and SVOD in FR: no single FR FreeTV window.
    let c = catalog.dataset("work:c").await.unwrap().unwrap();
    assert_eq!(
        offer_ids(&c),
        ["urn:passerelle:offer:all:work:c", "urn:passerelle:window:r2", "urn:passerelle:window:r3"]
    );
    for offer in a.offers.iter().chain(&c.offers) {
        assert_eq!(offer["@type"], "Offer");
        assert_eq!(offer["assigner"], ME);
        assert!(offer.get("target").is_none(), "no target inside a dataset: {offer}");
    }
    // The window became constraints.
    let window_offer = a.offers[2].to_string();
    assert!(window_offer.contains("spatial") && window_offer.contains("FR"), "{window_offer}");

    let b = catalog.dataset("work:b~2F1").await.unwrap().unwrap();
    assert_eq!(b.work.as_ref().map(|w| w.id.as_str()), Some("b/1"));
    assert_eq!(b.kind, DatasetKind::Work);
}

#[tokio::test]
async fn collections_are_datasets_with_their_policy() {
    let catalog = seeded().await;
    let fr = catalog.dataset("collection:fr-freetv").await.unwrap().unwrap();
    assert_eq!(fr.kind, DatasetKind::Collection);
    assert_eq!(fr.title, "French free-to-air");
    assert_eq!(fr.description.as_deref(), Some("Collection of works with a rights window of type FreeTV in FR."));
    assert_eq!(offer_ids(&fr), ["urn:passerelle:offer:fr-freetv:collection:fr-freetv"]);
}

#[tokio::test]
async fn offer_ids_are_unique_across_the_catalog() {
    let catalog = seeded().await;
    let page = catalog.page(None, 100).await.unwrap();
    let mut seen = BTreeSet::new();
    for entry in &page.entries {
        for id in offer_ids(entry) {
            assert!(seen.insert(id.clone()), "duplicate offer id {id}");
        }
    }
}

#[tokio::test]
async fn unknown_ids_and_foreign_cursors() {
    let catalog = seeded().await;
    assert!(catalog.dataset("work:zz").await.unwrap().is_none());
    assert!(catalog.dataset("collection:zz").await.unwrap().is_none());
    assert!(catalog.dataset("film:a").await.unwrap().is_none());
    assert!(catalog.dataset("work:a/b").await.unwrap().is_none());
    assert!(matches!(catalog.page(Some("bogus".into()), 2).await, Err(SourceError::InvalidCursor(_))));
    // A cursor naming a dataset that was deleted meanwhile still works: keyset, not offset.
    let page = catalog.page(Some("work:bb".into()), 10).await.unwrap();
    assert_eq!(page.entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["work:c", "work:d", "work:e"]);
}

#[tokio::test]
async fn languages_come_from_the_work_and_its_versions() {
    let store = Store::open_in_memory().await.unwrap();
    let w: Work =
        serde_json::from_value(json!({"id": "w", "kind": "movie", "title": "T", "original_language": "fr"})).unwrap();
    let v: passerelle_media::Version = serde_json::from_value(json!({
        "id": "v", "work_id": "w", "kind": "manifestation", "audio_languages": ["fr", "en"],
        "subtitles": [{"id": "s1", "language": "es-419", "kind": "subtitles"}, {"id": "s2", "language": "en", "kind": "sdh"}]
    }))
    .unwrap();
    store.import_batch(&[w], &[v], &[window("r", "w", "SVOD", "FR")]).await.unwrap();
    let catalog = StoreCatalog::new(store, ME);
    let entry = catalog.dataset("work:w").await.unwrap().unwrap();
    let langs: Vec<&str> = entry.languages.iter().map(|l| l.as_str()).collect();
    assert_eq!(langs, ["fr", "en", "es-419"]);
}

/// The first catalog page of a 100,000-work catalogue is served in well under 20 ms
/// (keyset pagination: the cost does not depend on the catalogue's size).
#[tokio::test]
async fn first_page_of_a_large_catalogue_is_fast() {
    let store = Store::open_in_memory().await.unwrap();
    let works: Vec<Work> = (0..100_000).map(|i| work(&format!("w{i:06}"))).collect();
    let rights: Vec<RightsWindow> =
        (0..100_000).step_by(3).map(|i| window(&format!("r{i}"), &format!("w{i:06}"), "SVOD", "FR")).collect();
    for chunk in works.chunks(20_000) {
        store.import_batch(chunk, &[], &[]).await.unwrap();
    }
    store.import_batch(&[], &[], &rights).await.unwrap();
    let catalog = StoreCatalog::new(store, ME);

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let started = Instant::now();
        let page = catalog.page(None, 50).await.unwrap();
        best = best.min(started.elapsed());
        assert_eq!(page.entries.len(), 50);
        assert_eq!(page.next_cursor.as_deref(), Some("work:w000049"));
    }
    // A page deep in the catalogue costs the same.
    let started = Instant::now();
    let deep = catalog.page(Some("work:w090000".into()), 50).await.unwrap();
    let deep_time = started.elapsed();
    assert_eq!(deep.entries[0].id, "work:w090001");
    eprintln!("first page {best:?}, deep page {deep_time:?}");
    assert!(best < Duration::from_millis(20), "first page took {best:?}");
    assert!(deep_time < Duration::from_millis(40), "deep page took {deep_time:?}");
}

#[tokio::test]
async fn the_direct_lookup_finds_what_the_catalog_source_finds() {
    let catalog = seeded().await;
    let service: crate::services::ServiceDefinition = serde_json::from_value(json!({"id": "subtitling",
        "title": "Subtitling", "languages": ["es", "fr"], "kinds": ["subtitles"], "formats": ["srt"],
        "turnaround_days": 10, "price": {"currency": "EUR", "per_minute": "4.50"}, "policy_id": "urn:policy:fr"}))
    .unwrap();
    catalog.store.insert_service(&service).await.unwrap();
    let mut ids: Vec<String> = catalog.page(None, 100).await.unwrap().entries.into_iter().map(|e| e.id).collect();
    assert!(ids.iter().any(|id| id.starts_with("service:")), "the seeded service is a dataset: {ids:?}");
    ids.extend(["work:zz", "collection:zz", "service:zz", "film:a", "work:a/b"].map(String::from));
    for id in ids {
        let through_pool = catalog.dataset(&id).await.unwrap();
        // The private in-memory store has one connection: lent here, back to the pool before the next lookup.
        let mut conn = catalog.store.pool().acquire().await.unwrap();
        let direct = crate::store::direct::lent(&mut conn, false, |db| catalog.dataset_on(db, &id)).await.unwrap();
        assert_eq!(direct.unwrap(), through_pool, "{id}");
    }
}
