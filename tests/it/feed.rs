//! The versions-and-rights feed between two real connectors: a PULL transfer on a work stays
//! STARTED and the consumer reads every change of the work, its versions and rights windows, in
//! order, with a cursor that survives a kill -9 (nothing skipped, nothing read twice).

use reqwest::Method;
use serde_json::{Value, json};

use crate::negotiation_support::{Node, catalog_offer, negotiate, provider};

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

fn encode(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

async fn feed(consumer: &Node, pid: &str) -> Value {
    let (status, page) = consumer.api(Method::GET, &format!("/api/v1/transfers/{pid}/feed"), None).await;
    assert_eq!(status, 200, "{page:#}");
    page
}

fn changes(page: &Value) -> Vec<Value> {
    page["changes"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn a_consumer_follows_every_change_of_a_work_across_a_restart() {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;

    // The work behind the first `open` offer.
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let works = provider.get("/api/v1/works?limit=200").await;
    let work = works["items"]
        .as_array()
        .expect("works")
        .iter()
        .find(|w| {
            passerelle_connector::catalog::ids::work_dataset_id(w["id"].as_str().unwrap_or_default()) == dataset_id
        })
        .cloned()
        .unwrap_or_else(|| panic!("no work for {dataset_id}: {works:#}"));
    let work_id = work["id"].as_str().expect("work id").to_string();

    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let finalized =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| state(n) == "FINALIZED").await;
    let agreement_id = finalized["agreement_id"].as_str().expect("agreement");
    let body = json!({"agreementId": agreement_id, "format": "HttpData-PULL"});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let transfer = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{transfer}"), "STARTED", |t| state(t) == "STARTED").await;

    // First read: what is stored already, the work first, each change with the work's document.
    let first = feed(&consumer, &transfer).await;
    let initial = changes(&first);
    assert!(!initial.is_empty(), "{first:#}");
    assert!(initial.iter().any(|c| c["entity"] == "work" && c["id"] == work_id.as_str()), "{first:#}");
    assert!(initial.iter().all(|c| c["document"].is_object()), "{first:#}");
    let seqs: Vec<i64> = initial.iter().map(|c| c["seq"].as_i64().expect("seq")).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let cursor = first["cursor"].as_i64().expect("cursor");
    assert_eq!(cursor, *seqs.last().expect("a change"));
    assert!(changes(&feed(&consumer, &transfer).await).is_empty(), "nothing new, nothing twice");

    // A change on the provider reaches the consumer, once, with the new document.
    let mut renamed = work.clone();
    renamed["title"] = json!("The Counselor (director's cut)");
    let path = format!("/api/v1/works/{}", encode(&work_id));
    let (status, body) = provider.api(Method::PUT, &path, Some(&renamed)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    let after_rename = feed(&consumer, &transfer).await;
    let renamed_changes = changes(&after_rename);
    assert_eq!(renamed_changes.len(), 1, "{after_rename:#}");
    assert_eq!(renamed_changes[0]["entity"], "work");
    assert!(renamed_changes[0]["seq"].as_i64().expect("seq") > cursor);
    assert!(renamed_changes[0]["document"].to_string().contains("director's cut"), "{after_rename:#}");
    // The same PUT again changes nothing, so the feed stays quiet.
    let (status, _) = provider.api(Method::PUT, &path, Some(&renamed)).await;
    assert!(status == 200 || status == 201);
    assert!(changes(&feed(&consumer, &transfer).await).is_empty());

    // The consumer is killed and restarted: its cursor was kept with what it read.
    consumer.kill();
    consumer.start().await;
    assert!(changes(&feed(&consumer, &transfer).await).is_empty(), "nothing read twice after a restart");
    let rights = provider.get(&format!("{path}/rights")).await;
    let mut window = rights
        .as_array()
        .or_else(|| rights["items"].as_array())
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| panic!("the sample work has rights windows: {rights:#}"));
    window["id"] = json!(format!("{}-extension", window["id"].as_str().expect("window id")));
    let (status, body) = provider.api(Method::POST, &format!("{path}/rights"), Some(&window)).await;
    assert_eq!(status, 201, "{body:#}");
    let after_window = changes(&feed(&consumer, &transfer).await);
    assert_eq!(after_window.len(), 1, "{after_window:#?}");
    assert_eq!(after_window[0]["entity"], "rights");

    // The provider's feed checks the token like the dataset endpoint does.
    let edr = consumer.get(&format!("/api/v1/transfers/{transfer}/edr")).await;
    let feed_url = edr["endpointProperties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "feedEndpoint")
        .and_then(|p| p["value"].as_str())
        .unwrap_or_else(|| panic!("a feed endpoint in the EDR: {edr:#}"))
        .to_string();
    let anonymous = consumer.http.get(&feed_url).send().await.expect("feed");
    assert_eq!(anonymous.status().as_u16(), 401);
    let token = edr["endpointProperties"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "authorization")
        .and_then(|p| p["value"].as_str())
        .expect("token")
        .to_string();
    let bad = consumer.http.get(format!("{feed_url}?limit=lots")).bearer_auth(&token).send().await.expect("feed");
    assert_eq!(bad.status().as_u16(), 400);
    let other = feed_url.replace("/data/feed/", "/data/feed/x");
    let forbidden = consumer.http.get(&other).bearer_auth(&token).send().await.expect("feed");
    assert_eq!(forbidden.status().as_u16(), 403, "a token is for its agreement's dataset only");
}

/// A collection's feed (an offer definition's works): only the changes of the works it selects, in order.
#[tokio::test]
async fn a_collection_feed_carries_only_its_works_changes() {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let works = provider.get("/api/v1/works?limit=200").await;
    let items = works["items"].as_array().expect("works").clone();
    let inside = items.iter().find(|w| w["title"] == "The Counselor").expect("the MEC sample's work").clone();
    let outside = items.iter().find(|w| w["id"] != inside["id"] && w["kind"] == "movie").expect("another").clone();
    let inside_id = inside["id"].as_str().expect("id").to_string();
    let definition = json!({"id": "one-title", "title": "One title", "selector": {"work_ids": [inside_id]},
        "policy_id": "urn:acme:open"});
    let (status, body) = provider.api(Method::POST, "/api/v1/offer-definitions", Some(&definition)).await;
    assert_eq!(status, 201, "{body:#}");

    let collection = passerelle_connector::catalog::ids::collection_dataset_id("one-title");
    let catalog = crate::negotiation_support::dsp_catalog(&provider).await;
    let dataset = catalog["dataset"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["@id"] == collection.as_str())
        .unwrap_or_else(|| panic!("no collection {collection}: {catalog:#}"));
    let offer_id = dataset["hasPolicy"][0]["@id"].as_str().expect("offer id").to_string();
    let pid = negotiate(&consumer, &provider, &collection, &offer_id).await;
    let finalized =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| state(n) == "FINALIZED").await;
    let body = json!({"agreementId": finalized["agreement_id"], "format": "HttpData-PULL"});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let transfer = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{transfer}"), "STARTED", |t| state(t) == "STARTED").await;

    let first = changes(&feed(&consumer, &transfer).await);
    assert!(!first.is_empty(), "the selected work's history");
    assert!(first.iter().all(|c| c["workId"] == inside_id.as_str()), "{first:#?}");

    // A change outside the collection stays out; one inside comes through, once.
    let mut renamed = outside.clone();
    renamed["title"] = json!("Not in the collection");
    let path = format!("/api/v1/works/{}", encode(outside["id"].as_str().expect("id")));
    let (status, body) = provider.api(Method::PUT, &path, Some(&renamed)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    assert!(changes(&feed(&consumer, &transfer).await).is_empty(), "a work outside the collection");
    let mut renamed = inside.clone();
    renamed["title"] = json!("The Counselor (extended)");
    let (status, body) =
        provider.api(Method::PUT, &format!("/api/v1/works/{}", encode(&inside_id)), Some(&renamed)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    let after = changes(&feed(&consumer, &transfer).await);
    assert_eq!(after.len(), 1, "{after:#?}");
    assert!(after[0]["document"].to_string().contains("(extended)"), "{after:#?}");
    assert!(changes(&feed(&consumer, &transfer).await).is_empty(), "nothing twice");
}
