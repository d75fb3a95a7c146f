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

/// The seqs of a consumer's kept changes, in the order kept.
fn seqs(changes: &[Value]) -> Vec<i64> {
    changes.iter().map(|c| c["seq"].as_i64().expect("seq")).collect()
}

/// An agreement of `consumer` on the provider's `open` offer of a work: (dataset id, work id, agreement id).
async fn agreed_work(provider: &Node, consumer: &Node) -> (String, String, String) {
    let (dataset_id, offer_id) = catalog_offer(provider, "open").await;
    let work_id = match passerelle_connector::catalog::ids::parse_dataset_id(&dataset_id) {
        Some(passerelle_connector::catalog::ids::DatasetRef::Work(id)) => id,
        other => panic!("`open` is offered on works: {other:?}"),
    };
    let pid = negotiate(consumer, provider, &dataset_id, &offer_id).await;
    let finalized =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| state(n) == "FINALIZED").await;
    let agreement_id = finalized["agreement_id"].as_str().expect("agreement").to_string();
    (dataset_id, work_id, agreement_id)
}

/// A STARTED transfer by which the provider pushes the agreed feed to `consumer`: its pid.
async fn pushed_feed(consumer: &Node, agreement_id: &str) -> String {
    let body = json!({"agreementId": agreement_id, "format": "HttpData-PUSH", "feed": true});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let pid = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{pid}"), "STARTED", |t| state(t) == "STARTED").await;
    pid
}

/// The same feed by push: the provider posts every change to the consumer's feed inbox as it happens; the consumer
/// never asks. Both sides are killed with SIGKILL at some point; the changes kept stay exactly the provider's
/// sequence (the one a pull transfer on the same agreement reads), in order, none missing, none twice. Bad pushes
/// are refused with typed errors and keep nothing.
#[tokio::test]
async fn a_pushed_feed_reaches_the_consumer_in_order_across_restarts_of_either_side() {
    let mut provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let (dataset_id, work_id, agreement_id) = agreed_work(&provider, &consumer).await;

    // `feed` is for a push; a pull reads its feed itself.
    let body = json!({"agreementId": agreement_id, "format": "HttpData-PULL", "feed": true});
    let (status, refused) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!((status, refused["field"].is_null()), (422, true), "{refused:#}");

    let pushed = pushed_feed(&consumer, &agreement_id).await;
    // The reference: the provider's sequence for this work, read by a pull transfer under the same agreement.
    let body = json!({"agreementId": agreement_id, "format": "HttpData-PULL"});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let pulled = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{pulled}"), "STARTED", |t| state(t) == "STARTED").await;
    let mut reference: Vec<Value> = Vec::new();
    let read_reference = async |consumer: &Node, reference: &mut Vec<Value>| loop {
        let page = feed(consumer, &pulled).await;
        reference.extend(changes(&page));
        if page["more"] != true {
            break;
        }
    };
    read_reference(&consumer, &mut reference).await;
    assert!(!reference.is_empty());

    // Everything so far arrives without the consumer asking, and stays a STARTED (non-finite) transfer.
    let kept = |page: &Value| changes(page);
    let converged = async |consumer: &Node, reference: &[Value]| {
        let want = seqs(reference);
        let page = consumer
            .wait_for(&format!("/api/v1/transfers/{pushed}/feed"), "the pushed feed to catch up", |p| {
                seqs(&changes(p)) == want
            })
            .await;
        assert_eq!(page["mode"], "push");
        page
    };
    let first = converged(&consumer, &reference).await;
    assert!(kept(&first).iter().all(|c| c["document"].is_object()), "{first:#}");
    assert_eq!(state(&consumer.get(&format!("/api/v1/transfers/{pushed}")).await), "STARTED");

    // A change on the provider is pushed, once.
    let path = format!("/api/v1/works/{}", encode(&work_id));
    let mut work = provider.get(&path).await;
    work["title"] = json!("The Counselor (pushed cut)");
    let (status, body) = provider.api(Method::PUT, &path, Some(&work)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    read_reference(&consumer, &mut reference).await;
    let after_rename = converged(&consumer, &reference).await;
    assert!(kept(&after_rename).last().expect("a change").to_string().contains("(pushed cut)"), "{after_rename:#}");

    // The consumer is killed; changes made meanwhile wait for it and arrive after its restart, once.
    consumer.kill();
    work["title"] = json!("The Counselor (while the broadcaster was down)");
    let (status, body) = provider.api(Method::PUT, &path, Some(&work)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    let rights = provider.get(&format!("{path}/rights")).await;
    let mut window = rights["items"]
        .as_array()
        .or_else(|| rights.as_array())
        .and_then(|r| r.first().cloned())
        .unwrap_or_else(|| panic!("the sample work has rights windows: {rights:#}"));
    window["id"] = json!(format!("{}-pushed", window["id"].as_str().expect("window id")));
    let (status, body) = provider.api(Method::POST, &format!("{path}/rights"), Some(&window)).await;
    assert_eq!(status, 201, "{body:#}");
    consumer.start().await;
    read_reference(&consumer, &mut reference).await;
    let after_consumer = converged(&consumer, &reference).await;
    assert!(kept(&after_consumer).iter().any(|c| c["entity"] == "rights"), "{after_consumer:#}");

    // The provider is killed and restarted: it goes on from what the consumer acknowledged.
    provider.kill();
    provider.start().await;
    work["title"] = json!("The Counselor (after the distributor's restart)");
    let (status, body) = provider.api(Method::PUT, &path, Some(&work)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    read_reference(&consumer, &mut reference).await;
    let last = converged(&consumer, &reference).await;
    let all = seqs(&kept(&last));
    assert!(all.windows(2).all(|w| w[0] < w[1]), "in order, none twice: {all:?}");

    // Bad pushes: refused with typed errors, nothing kept.
    let pool = {
        let url = format!("sqlite://{}?mode=ro", consumer.database().display());
        sqlx::SqlitePool::connect(&url).await.expect("the consumer's store opens read-only")
    };
    let address: String = sqlx::query_scalar("SELECT data_address FROM transfers WHERE pid = ?")
        .bind(&pushed)
        .fetch_one(&pool)
        .await
        .expect("the push transfer's data address");
    let address: Value = serde_json::from_str(&address).expect("JSON");
    let inbox = address["endpoint"].as_str().expect("inbox").to_string();
    let token = address["endpointProperties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "authorization"))
        .and_then(|p| p["value"].as_str())
        .expect("token")
        .to_string();
    let cursor = last["cursor"].as_i64().expect("cursor");
    let post = |token: String, body: Value| {
        let (http, inbox) = (consumer.http.clone(), inbox.clone());
        async move {
            let response = http.post(&inbox).bearer_auth(token).json(&body).send().await.expect("inbox answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let batch = |after: i64, next: i64| json!({"dataset": dataset_id, "after": after, "next": next, "changes": []});
    let (status, body) = post("not-the-token".into(), batch(cursor, cursor + 1)).await;
    assert_eq!((status, body["error"].as_str()), (401, Some("unauthorized")), "{body:#}");
    let (status, body) = post(token.clone(), json!({"changes": "all of them"})).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("malformed_batch")), "{body:#}");
    let (status, body) = post(token.clone(), batch(cursor + 5, cursor + 1)).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_batch")), "{body:#}");
    let (status, body) = post(token.clone(), batch(cursor + 100, cursor + 200)).await;
    assert_eq!((status, body["error"].as_str(), body["cursor"].as_i64()), (409, Some("feed_gap"), Some(cursor)));
    let (status, body) = post(token.clone(), batch(0, cursor)).await;
    assert_eq!((status, body["duplicate"].as_bool(), body["cursor"].as_i64()), (200, Some(true), Some(cursor)));
    let unchanged = feed(&consumer, &pushed).await;
    assert_eq!(seqs(&kept(&unchanged)), all, "nothing kept from the bad pushes");
    assert_eq!(unchanged["cursor"].as_i64(), Some(cursor));
}

/// A suspended pushed feed keeps nothing (the provider pushes only to STARTED feeds, and the consumer's inbox
/// refuses pages for a feed that is not); resumed, it gets what changed meanwhile, in order and once. A second
/// feed on the same agreement, never suspended, shows when the provider has pushed a change.
#[tokio::test]
async fn a_suspended_pushed_feed_gets_nothing_until_resumed_then_catches_up() {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let (_, work_id, agreement_id) = agreed_work(&provider, &consumer).await;
    let (paused, witness) = (pushed_feed(&consumer, &agreement_id).await, pushed_feed(&consumer, &agreement_id).await);
    let caught_up = async |pid: &str, what: &str, wanted: &dyn Fn(&[Value]) -> bool| {
        consumer.wait_for(&format!("/api/v1/transfers/{pid}/feed"), what, |p| wanted(&changes(p))).await
    };
    let before = seqs(&changes(&caught_up(&witness, "the witness's first changes", &|c| !c.is_empty()).await));
    caught_up(&paused, "the first changes", &|c| seqs(c) == before).await;

    let view = consumer.get(&format!("/api/v1/transfers/{paused}")).await;
    let provider_pid = view["counterparty_pid"].as_str().expect("the provider's pid").to_string();
    let (status, body) = consumer.api(Method::POST, &format!("/api/v1/transfers/{paused}/suspend"), None).await;
    assert_eq!(status, 200, "{body:#}");
    provider.wait_for(&format!("/api/v1/transfers/{provider_pid}"), "SUSPENDED", |t| state(t) == "SUSPENDED").await;

    // Two changes, each seen pushed to the witness: the second shows the provider's push round after the first
    // one's went by.
    let path = format!("/api/v1/works/{}", encode(&work_id));
    let mut work = provider.get(&path).await;
    for title in ["The Counselor (while suspended)", "The Counselor (still suspended)"] {
        work["title"] = json!(title);
        let (status, body) = provider.api(Method::PUT, &path, Some(&work)).await;
        assert!(status == 200 || status == 201, "{body:#}");
        caught_up(&witness, title, &|c| c.last().is_some_and(|c| c.to_string().contains(title))).await;
    }
    let (status, page) = consumer.api(Method::GET, &format!("/api/v1/transfers/{paused}/feed"), None).await;
    assert_eq!(status, 200, "the consumer still reads what it kept: {page:#}");
    assert_eq!(seqs(&changes(&page)), before, "nothing was pushed to the suspended feed");

    // Resumed, it catches up with the witness: the same changes, in order, none twice.
    let (status, body) = consumer.api(Method::POST, &format!("/api/v1/transfers/{paused}/resume"), None).await;
    assert_eq!(status, 200, "{body:#}");
    let all = seqs(&changes(&caught_up(&witness, "the witness", &|_| true).await));
    assert!(all.len() > before.len() && all.windows(2).all(|w| w[0] < w[1]), "{all:?}");
    caught_up(&paused, "the changes made while suspended", &|c| seqs(c) == all).await;
}

/// A work that stops matching a collection's selector is announced as leaving it, once, to pulled and pushed
/// feeds alike; its later changes stay out; when it matches again it comes back marked `joined`. Reading the same
/// page again (a consumer that lost it) gives the same answer.
#[tokio::test]
async fn a_work_leaving_a_collection_is_announced_once_and_joining_again_is_marked() {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let works = provider.get("/api/v1/works?limit=200").await;
    let mut work = works["items"]
        .as_array()
        .and_then(|items| items.iter().find(|w| w["title"] == "The Counselor"))
        .cloned()
        .expect("the MEC sample's work");
    let work_id = work["id"].as_str().expect("id").to_string();
    let path = format!("/api/v1/works/{}", encode(&work_id));
    let set_genres = async |work: &mut Value, genres: Value| {
        work["genres"] = genres;
        let (status, body) = provider.api(Method::PUT, &path, Some(work)).await;
        assert!(status == 200 || status == 201, "{body:#}");
    };
    set_genres(&mut work, json!(["Thriller", "Festival selection"])).await;
    let definition = json!({"id": "festival", "title": "Festival selection",
        "selector": {"genres": ["Festival selection"]}, "policy_id": "urn:acme:open"});
    let (status, body) = provider.api(Method::POST, "/api/v1/offer-definitions", Some(&definition)).await;
    assert_eq!(status, 201, "{body:#}");
    let collection = passerelle_connector::catalog::ids::collection_dataset_id("festival");
    let offer_id = passerelle_connector::catalog::ids::definition_offer_id("festival", &collection);
    let pid = negotiate(&consumer, &provider, &collection, &offer_id).await;
    let finalized =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| state(n) == "FINALIZED").await;
    let agreement = finalized["agreement_id"].as_str().expect("agreement").to_string();
    let mut transfers = Vec::new();
    for (format, feed) in [("HttpData-PULL", false), ("HttpData-PUSH", true)] {
        let body = json!({"agreementId": agreement, "format": format, "feed": feed});
        let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
        assert_eq!(status, 201, "{created:#}");
        let transfer = created["pid"].as_str().expect("pid").to_string();
        consumer.wait_for(&format!("/api/v1/transfers/{transfer}"), "STARTED", |t| state(t) == "STARTED").await;
        transfers.push(transfer);
    }
    let (pulled, pushed) = (transfers[0].clone(), transfers[1].clone());
    let mut kept: Vec<Value> = Vec::new();
    let pull_all = async |consumer: &Node, kept: &mut Vec<Value>| loop {
        let page = feed(consumer, &pulled).await;
        kept.extend(changes(&page));
        if page["more"] != true {
            break;
        }
    };
    // Membership is decided when a change is first served: the pushed feed is let catch up before each change, so
    // that both feeds see the same membership and tell the same story.
    let story = |changes: &[Value]| -> Vec<(i64, String, String)> {
        changes
            .iter()
            .map(|c| {
                let op = c["op"].as_str().unwrap_or_default().to_string();
                (c["seq"].as_i64().unwrap_or(-1), op, c["membership"].as_str().unwrap_or_default().to_string())
            })
            .collect()
    };
    let push_caught_up = async |consumer: &Node, kept: &[Value]| {
        let want = story(kept);
        consumer
            .wait_for(&format!("/api/v1/transfers/{pushed}/feed"), "the pushed collection feed", |p| {
                story(&changes(p)) == want
            })
            .await;
    };
    pull_all(&consumer, &mut kept).await;
    assert!(!kept.is_empty() && kept.iter().all(|c| c["workId"] == work_id.as_str()), "{kept:#?}");
    assert_eq!(kept[0]["membership"], "joined", "the first change of a member says it joined: {kept:#?}");
    assert_eq!(kept.iter().filter(|c| c["membership"] == "joined").count(), 1, "{kept:#?}");
    push_caught_up(&consumer, &kept).await;

    // The work leaves the collection: one `leave`, no document; its next change stays out.
    set_genres(&mut work, json!(["Thriller"])).await;
    work["title"] = json!("The Counselor (outside the festival)");
    let (status, body) = provider.api(Method::PUT, &path, Some(&work)).await;
    assert!(status == 200 || status == 201, "{body:#}");
    let before = kept.len();
    pull_all(&consumer, &mut kept).await;
    let new = &kept[before..];
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!((new[0]["entity"].as_str(), new[0]["op"].as_str()), (Some("membership"), Some("leave")), "{new:#?}");
    assert_eq!(new[0]["workId"], work_id.as_str());
    assert!(new[0]["document"].is_null());
    push_caught_up(&consumer, &kept).await;

    // It matches again: back, marked `joined`, with its document.
    set_genres(&mut work, json!(["Thriller", "Festival selection"])).await;
    let before = kept.len();
    pull_all(&consumer, &mut kept).await;
    let new = &kept[before..];
    assert_eq!(new.len(), 1, "{new:#?}");
    assert_eq!(new[0]["membership"], "joined", "{new:#?}");
    assert!(new[0]["document"].to_string().contains("Festival selection"), "{new:#?}");
    push_caught_up(&consumer, &kept).await;

    // The provider serves the same page again the same way (a consumer that lost it reads it again).
    let edr = consumer.get(&format!("/api/v1/transfers/{pulled}/edr")).await;
    let property = |name: &str| {
        edr["endpointProperties"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == name))
            .and_then(|p| p["value"].as_str())
            .unwrap_or_else(|| panic!("no {name}: {edr:#}"))
            .to_string()
    };
    let (feed_url, token) = (property("feedEndpoint"), property("authorization"));
    let read = async |after: i64| -> Value {
        let response =
            consumer.http.get(format!("{feed_url}?after={after}")).bearer_auth(&token).send().await.expect("feed");
        assert_eq!(response.status().as_u16(), 200);
        response.json().await.expect("page")
    };
    let leave_seq = kept.iter().find(|c| c["op"] == "leave").and_then(|c| c["seq"].as_i64()).expect("leave");
    let (once, twice) = (read(leave_seq - 1).await, read(leave_seq - 1).await);
    assert_eq!(once["changes"], twice["changes"]);
    assert_eq!(once["changes"][0]["op"], "leave", "{once:#}");
}
