//! Two real connectors negotiate a contract and transfer data end to end; a request the
//! policy refuses ends TERMINATED with a readable reason; protocol misuse gets typed 4xx.

use reqwest::Method;
use serde_json::{Value, json};

use crate::negotiation_support::{Node, assert_messages_valid, catalog_offer, negotiate, provider};

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

/// Waits until the transfer `pid` on `node` is in `wanted`.
pub(crate) async fn transfer_in(node: &Node, pid: &str, wanted: &str) -> Value {
    node.wait_for(&format!("/api/v1/transfers/{pid}"), &format!("transfer {pid} {wanted}"), |t| state(t) == wanted)
        .await
}

async fn act(node: &Node, pid: &str, action: &str) -> Value {
    let (status, body) = node.api(Method::POST, &format!("/api/v1/transfers/{pid}/{action}"), None).await;
    assert_eq!(status, 200, "{action}: {body:#}");
    body
}

pub(crate) async fn start_transfer(
    consumer: &Node,
    provider: &Node,
    agreement_id: &str,
    format: &str,
) -> (String, String) {
    let body = json!({"agreementId": agreement_id, "format": format});
    let (status, created) = consumer.api(Method::POST, "/api/v1/transfers", Some(&body)).await;
    assert_eq!(status, 201, "{created:#}");
    let pid = created["pid"].as_str().expect("pid").to_string();
    let ours = consumer
        .wait_for(&format!("/api/v1/transfers/{pid}"), "the provider's pid", |t| t["counterparty_pid"].is_string())
        .await;
    let provider_pid = ours["counterparty_pid"].as_str().expect("provider pid").to_string();
    provider.get(&format!("/api/v1/transfers/{provider_pid}")).await;
    (pid, provider_pid)
}

async fn data_plane(node: &Node, url: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = node.http.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("data plane");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_connectors_negotiate_and_transfer_end_to_end() {
    let provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;

    // Negotiation from a catalog offer: FINALIZED on both sides with one identical agreement.
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let finalized = consumer
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED on the consumer", |n| state(n) == "FINALIZED")
        .await;
    let provider_pid = finalized["counterparty_pid"].as_str().expect("provider pid").to_string();
    let theirs = provider
        .wait_for(&format!("/api/v1/negotiations/{provider_pid}"), "FINALIZED on the provider", |n| {
            state(n) == "FINALIZED"
        })
        .await;
    assert_eq!(theirs["side"], "provider");
    assert_eq!(theirs["counterparty_pid"], pid.as_str());
    let agreement_id = finalized["agreement_id"].as_str().expect("agreement id").to_string();
    assert_eq!(theirs["agreement_id"], agreement_id.as_str());
    let ours = consumer.get(&format!("/api/v1/agreements/{agreement_id}")).await;
    let provider_agreement = provider.get(&format!("/api/v1/agreements/{agreement_id}")).await;
    assert_eq!(ours["agreement"], provider_agreement["agreement"], "the same agreement on both sides");
    assert_eq!(ours["target"], dataset_id.as_str());
    assert!(ours["assigner"].is_string() && ours["assignee"].is_string() && ours["timestamp"].is_string());
    let steps: Vec<&str> =
        finalized["history"].as_array().unwrap().iter().map(|s| s["state"].as_str().unwrap()).collect();
    assert_eq!(steps, ["REQUESTED", "AGREED", "VERIFIED", "FINALIZED"]);

    // The protocol view of the same negotiation, on both sides, validates; misuse is refused, state unchanged.
    let ack: Value = provider
        .http
        .get(format!("{}/dsp/2025-1/negotiations/{provider_pid}", provider.protocol()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ack["state"], "FINALIZED");
    passerelle_dsp::schema::validate_message(&ack).expect("ContractNegotiation validates");
    let callback: Value = consumer
        .http
        .get(format!("{}/dsp/2025-1/callback/negotiations/{pid}", consumer.protocol()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(callback, ack, "both sides report the same process");
    let verification = json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractAgreementVerificationMessage", "providerPid": provider_pid, "consumerPid": pid,
        "unknownMember": "ignored"});
    let response = provider
        .http
        .post(format!("{}/dsp/2025-1/negotiations/{provider_pid}/agreement/verification", provider.protocol()))
        .json(&verification)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400, "a finalized negotiation accepts nothing");
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["@type"], "ContractNegotiationError");
    passerelle_dsp::schema::validate_message(&error).expect("ContractNegotiationError validates");
    assert_eq!(state(&provider.get(&format!("/api/v1/negotiations/{provider_pid}")).await), "FINALIZED");
    let response = provider
        .http
        .get(format!("{}/dsp/2025-1/negotiations/urn:uuid:00000000-0000-0000-0000-000000000000", provider.protocol()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // PULL: the start message carries an EDR; the data plane serves the dataset with its token only.
    let (pull, pull_provider) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PULL").await;
    transfer_in(&consumer, &pull, "STARTED").await;
    let data = consumer.get(&format!("/api/v1/transfers/{pull}/data")).await;
    let graph = data["@graph"].as_array().expect("documents");
    assert_eq!(graph.len(), 1);
    assert_eq!(graph[0]["@id"], dataset_id.as_str());
    assert!(graph[0]["work"].is_object(), "the work is described: {data:#}");
    let edr = consumer.get(&format!("/api/v1/transfers/{pull}/edr")).await;
    let endpoint = edr["endpoint"].as_str().expect("endpoint").to_string();
    let token = edr["endpointProperties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "authorization"))
        .and_then(|p| p["value"].as_str())
        .expect("token")
        .to_string();
    let shown = consumer.get(&format!("/api/v1/transfers/{pull}")).await;
    assert!(!shown.to_string().contains(&token), "transfer views never show the token");
    assert_eq!(data_plane(&provider, &endpoint, Some(&token)).await.0, 200);
    assert_eq!(data_plane(&provider, &endpoint, None).await.0, 401);
    assert_eq!(data_plane(&provider, &endpoint, Some("forged")).await.0, 401);
    let other = format!("{}/data/datasets/collection:open", provider.protocol());
    assert_eq!(data_plane(&provider, &other, Some(&token)).await.0, 403, "the token is for one dataset");
    let refresh = json!({"refreshToken": edr["endpointProperties"].as_array().unwrap().iter()
        .find(|p| p["name"] == "refreshToken").unwrap()["value"]});
    let url = format!("{}/data/token/refresh", provider.protocol());
    let first: Value = provider.http.post(&url).json(&refresh).send().await.unwrap().json().await.unwrap();
    let again: Value = provider.http.post(&url).json(&refresh).send().await.unwrap().json().await.unwrap();
    assert_eq!(first["authorization"], again["authorization"], "refresh is idempotent");

    // Suspend from the consumer, resume from the provider; suspend from the provider, resume from the consumer.
    act(&consumer, &pull, "suspend").await;
    transfer_in(&provider, &pull_provider, "SUSPENDED").await;
    assert_eq!(data_plane(&provider, &endpoint, Some(&token)).await.0, 403, "no data while suspended");
    act(&provider, &pull_provider, "resume").await;
    transfer_in(&consumer, &pull, "STARTED").await;
    act(&provider, &pull_provider, "suspend").await;
    transfer_in(&consumer, &pull, "SUSPENDED").await;
    act(&consumer, &pull, "resume").await;
    transfer_in(&provider, &pull_provider, "STARTED").await;
    assert_eq!(data_plane(&provider, &endpoint, Some(&token)).await.0, 200);
    act(&consumer, &pull, "complete").await;
    transfer_in(&provider, &pull_provider, "COMPLETED").await;
    assert_eq!(data_plane(&provider, &endpoint, Some(&token)).await.0, 403, "no data after completion");
    let (status, body) = consumer.api(Method::POST, &format!("/api/v1/transfers/{pull}/resume"), None).await;
    assert_eq!(status, 409, "a completed transfer accepts nothing: {body:#}");

    // Termination from either side.
    let (by_provider, by_provider_theirs) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PULL").await;
    transfer_in(&consumer, &by_provider, "STARTED").await;
    act(&provider, &by_provider_theirs, "terminate").await;
    let ended = transfer_in(&consumer, &by_provider, "TERMINATED").await;
    assert_eq!(ended["termination"]["by"], "provider");
    let (by_consumer, by_consumer_theirs) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PULL").await;
    transfer_in(&consumer, &by_consumer, "STARTED").await;
    act(&consumer, &by_consumer, "terminate").await;
    transfer_in(&provider, &by_consumer_theirs, "TERMINATED").await;

    // PUSH: the provider posts the documents to the consumer, then completes.
    let (push, _) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PUSH").await;
    transfer_in(&consumer, &push, "COMPLETED").await;
    let pushed = consumer.get(&format!("/api/v1/transfers/{push}/data")).await;
    let documents = &pushed["pushes"][0]["documents"];
    assert_eq!(documents["@graph"][0]["@id"], dataset_id.as_str(), "{pushed:#}");

    // A transfer under an agreement this consumer does not hold is refused.
    let (status, _) = consumer
        .api(
            Method::POST,
            "/api/v1/transfers",
            Some(&json!({"agreementId": "urn:uuid:nope", "format": "HttpData-PULL"})),
        )
        .await;
    assert_eq!(status, 404);

    // Policy refusal: TERMINATED with the policy's explanation, readable on the consumer side.
    let (future_dataset, future_offer) = catalog_offer(&provider, "future").await;
    let refused = negotiate(&consumer, &provider, &future_dataset, &future_offer).await;
    let terminated = consumer
        .wait_for(&format!("/api/v1/negotiations/{refused}"), "the refusal", |n| state(n) == "TERMINATED")
        .await;
    let reason = terminated["termination"]["reason"].to_string();
    assert_eq!(terminated["termination"]["by"], "provider");
    assert_eq!(terminated["termination"]["code"], "POLICY_REFUSED");
    assert!(reason.contains("does not permit") && reason.contains("2099"), "{reason}");
    assert!(terminated["agreement_id"].is_null());

    // Every message either side queued (resumptions, pushes' completion, terminations) validates.
    for node in [&consumer, &provider] {
        assert!(assert_messages_valid(node).await >= 10);
    }
}

#[tokio::test]
async fn every_message_sent_validates_against_the_dsp_schemas() {
    let provider = provider().await;
    let mut consumer = Node::new("lab", &["--no-default-offer"]).await;
    consumer.start().await;
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let done =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| state(n) == "FINALIZED").await;
    let agreement_id = done["agreement_id"].as_str().unwrap().to_string();
    let (pull, provider_pid) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PULL").await;
    transfer_in(&consumer, &pull, "STARTED").await;
    act(&consumer, &pull, "suspend").await;
    transfer_in(&provider, &provider_pid, "SUSPENDED").await;
    act(&provider, &provider_pid, "terminate").await;
    transfer_in(&consumer, &pull, "TERMINATED").await;
    let (future_dataset, future_offer) = catalog_offer(&provider, "future").await;
    let refused = negotiate(&consumer, &provider, &future_dataset, &future_offer).await;
    consumer.wait_for(&format!("/api/v1/negotiations/{refused}"), "TERMINATED", |n| state(n) == "TERMINATED").await;
    // The CLI reads the same from the store: a table, and JSON with the full history.
    let config = consumer.folder.config();
    let list = crate::support::passerelle(&["contracts", "list", "--config", &config], &[]).await;
    assert_eq!(list.code(), Some(0), "{}", list.stderr);
    assert!(list.stdout.starts_with("AGREEMENT") && list.stdout.contains(&agreement_id), "{}", list.stdout);
    assert!(list.stdout.contains("FINALIZED") && list.stdout.contains("consumer"), "{}", list.stdout);
    let show =
        crate::support::passerelle(&["contracts", "show", &agreement_id, "--json", "--config", &config], &[]).await;
    assert_eq!(show.code(), Some(0), "{}", show.stderr);
    let shown: Value = serde_json::from_str(&show.stdout).expect("--json prints JSON");
    assert_eq!(shown["agreement"]["id"], agreement_id.as_str());
    assert_eq!(shown["negotiation"]["history"].as_array().map(Vec::len), Some(4));
    let text = crate::support::passerelle(&["contracts", "show", &refused, "--config", &config], &[]).await;
    assert!(text.stdout.contains("ended by    provider (POLICY_REFUSED)"), "{}", text.stdout);
    let missing = crate::support::passerelle(&["contracts", "show", "urn:uuid:nope", "--config", &config], &[]).await;
    assert_eq!(missing.code(), Some(1));
    assert!(missing.stderr.contains("does not exist"), "{}", missing.stderr);
    let transfers = crate::support::passerelle(&["transfers", "--config", &config], &[]).await;
    assert!(
        transfers.stdout.contains("TERMINATED") && transfers.stdout.contains("HttpData-PULL"),
        "{}",
        transfers.stdout
    );

    for (node, at_least) in [(&consumer, 5), (&provider, 5)] {
        let count = assert_messages_valid(node).await;
        assert!(count >= at_least, "{count} messages");
    }
}
