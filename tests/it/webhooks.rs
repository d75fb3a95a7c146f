//! Webhooks to the participant's own MAM (a mock here: it lies outside the product): events
//! are signed, delivered in order, retried after a failure, and sent for what really happened.

use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use reqwest::Method;
use serde_json::{Value, json};

use crate::negotiation_support::{Node, catalog_offer, negotiate, poll, provider};

const SECRET: &str = "mam-shared-secret-0123456789";

#[derive(Clone, Default)]
struct Mam {
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

async fn receive(State(mam): State<Mam>, headers: HeaderMap, body: String) -> StatusCode {
    let mut received = mam.received.lock().unwrap();
    received.push((headers, body));
    // The MAM is briefly down at the first call: the connector must retry, not skip.
    if received.len() == 1 { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

#[tokio::test]
async fn the_mam_hears_of_finalized_contracts_started_transfers_and_feed_changes_in_order() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let mam_url = format!("http://{}/passerelle-events", listener.local_addr().expect("addr"));
    let mam = Mam::default();
    let app = axum::Router::new().route("/passerelle-events", axum::routing::post(receive)).with_state(mam.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.expect("mam") });

    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    let secret_file = consumer.folder.dir.path().join("secrets/webhook-secret");
    std::fs::write(&secret_file, SECRET).expect("secret");
    let mut config = std::fs::read_to_string(consumer.folder.config()).expect("config");
    config.push_str(&format!("\n[webhooks]\nurl = \"{mam_url}\"\nsecret_file = \"{}\"\n", secret_file.display()));
    std::fs::write(consumer.folder.config(), config).expect("config");
    consumer.start().await;

    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let finalized =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| n["state"] == "FINALIZED").await;
    let body = json!({"agreementId": finalized["agreement_id"], "format": "HttpData-PULL"});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let transfer = created["pid"].as_str().expect("pid").to_string();
    consumer.wait_for(&format!("/api/v1/transfers/{transfer}"), "STARTED", |t| t["state"] == "STARTED").await;
    let (status, page) = consumer.api(Method::GET, &format!("/api/v1/transfers/{transfer}/feed"), None).await;
    assert_eq!(status, 200, "{page:#}");
    let feed_changes = page["changes"].as_array().expect("changes").len();
    assert!(feed_changes > 0);

    // 1 finalized + 1 started + the feed changes, the first one sent twice (the 503).
    let expected = 2 + feed_changes;
    poll(
        "every event at the MAM",
        || async { json!(mam.received.lock().unwrap().len()) },
        |n| n.as_u64() == Some(expected as u64 + 1),
    )
    .await;
    let received = mam.received.lock().unwrap().clone();
    let ids: Vec<i64> = received.iter().map(|(h, _)| header(h, "x-passerelle-delivery").parse().expect("id")).collect();
    assert_eq!(ids[0], ids[1], "the refused first delivery was sent again");
    assert!(ids[1..].windows(2).all(|w| w[0] < w[1]), "in queue order, each once: {ids:?}");

    let events: Vec<String> = received[1..].iter().map(|(h, _)| header(h, "x-passerelle-event").to_string()).collect();
    assert_eq!(events[0], "negotiation.finalized", "{events:?}");
    assert_eq!(events[1], "transfer.started", "{events:?}");
    assert!(events[2..].iter().all(|e| e == "feed.change"), "{events:?}");
    for (headers, body) in &received {
        let timestamp: i64 = header(headers, "x-passerelle-timestamp").parse().expect("timestamp");
        let expected = passerelle_connector::webhooks::signature(SECRET.as_bytes(), timestamp, body);
        assert_eq!(header(headers, "x-passerelle-signature"), expected, "signed with the shared secret");
        assert!(!body.contains(SECRET) && !format!("{headers:?}").contains(SECRET), "the secret never travels");
    }
    let first: Value = serde_json::from_str(&received[1].1).expect("JSON body");
    assert_eq!(first["subject"], pid.as_str());
    assert_eq!(first["data"]["state"], "FINALIZED");
    let change: Value = serde_json::from_str(&received[3].1).expect("JSON body");
    assert_eq!(change["subject"], transfer.as_str());
    assert!(change["data"]["seq"].is_i64(), "{change:#}");
}
