//! A provider killed (SIGKILL) while its agreement waits in the outbox resumes the
//! negotiation after a restart: the process completes, nothing is duplicated.

use serde_json::Value;

use crate::negotiation_support::{Node, catalog_offer, free_port, negotiate, provider, relay};

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_killed_provider_resumes_the_negotiation_after_restart() {
    let mut provider = provider().await;
    // The consumer announces a public port where nothing listens yet: the provider cannot call it back.
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.public_port = free_port();
    consumer.start().await;

    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let acked = consumer
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "the provider's ACK", |n| n["counterparty_pid"].is_string())
        .await;
    let provider_pid = acked["counterparty_pid"].as_str().unwrap().to_string();
    assert_eq!(state(&acked), "REQUESTED");
    assert!(
        acked["status"].as_str().unwrap_or_default().starts_with("waiting for the provider's agreement"),
        "{acked:#}"
    );

    // The provider has decided and queued its agreement, which cannot be delivered; it says so.
    let stalled = provider
        .wait_for(&format!("/api/v1/negotiations/{provider_pid}"), "a failed delivery attempt", |n| {
            n["status"].as_str().is_some_and(|s| s.contains("attempt"))
        })
        .await;
    let status = stalled["status"].as_str().unwrap();
    assert!(status.starts_with("outbox:") && status.contains("ContractAgreementMessage"), "{status}");
    assert!(status.contains("next retry at"), "{status}");
    assert_eq!(stalled["outbox"][0]["status"], "pending");

    // SIGKILL, then make the consumer reachable, then restart: the outbox resumes.
    provider.kill();
    let relay = relay(consumer.public_port, consumer.port).await;
    provider.start().await;

    let done = consumer
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED on the consumer", |n| state(n) == "FINALIZED")
        .await;
    // The provider marks a delivery once the consumer has answered it: the last mark may come just after
    // the consumer's FINALIZED, so wait for it too.
    let theirs = provider
        .wait_for(&format!("/api/v1/negotiations/{provider_pid}"), "FINALIZED on the provider, all sent", |n| {
            state(n) == "FINALIZED" && n["outbox"].as_array().is_some_and(|o| o.iter().all(|e| e["status"] == "sent"))
        })
        .await;
    assert_eq!(done["agreement_id"], theirs["agreement_id"]);
    for node in [&consumer, &provider] {
        let negotiations = node.get("/api/v1/negotiations").await;
        assert_eq!(negotiations["items"].as_array().map(Vec::len), Some(1), "no duplicate: {negotiations:#}");
        let agreements = node.get("/api/v1/agreements").await;
        assert_eq!(agreements["items"].as_array().map(Vec::len), Some(1), "one agreement: {agreements:#}");
    }
    let sent = theirs["outbox"].as_array().unwrap();
    assert!(sent[0]["attempts"].as_i64().unwrap() >= 2, "the agreement was retried: {sent:#?}");
    relay.abort();
}
