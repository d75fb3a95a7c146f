//! Crash safety of negotiations (issue 4): 200 negotiations started concurrently between two
//! real connectors (DCP off: this is about the store and the outbox, not identity), the
//! provider SIGKILLed while some are finalized and many are in flight, then the consumer
//! too; both restarted on the same ports and folders. Every negotiation must end (FINALIZED
//! or TERMINATED) on both sides, nothing may be duplicated, and both sides must hold the
//! same agreements.

use std::collections::{BTreeMap, HashSet};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::task::JoinSet;

use crate::negotiation_support::{Node, catalog_offer, poll, provider};

const TOTAL: usize = 200;
/// Started before the provider is killed; the rest are started while it is down.
const FIRST_WAVE: usize = 120;

fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

fn is_terminal(n: &Value) -> bool {
    matches!(n["state"].as_str(), Some("FINALIZED" | "TERMINATED"))
}

fn count_finalized(list: &Value) -> usize {
    items(list).iter().filter(|n| n["state"] == "FINALIZED").count()
}

/// Starts one negotiation per body on `consumer`, all at once, and returns the consumer pids.
async fn start_all(consumer: &Node, bodies: Vec<Value>) -> Vec<String> {
    let mut tasks = JoinSet::new();
    for body in bodies {
        let (http, url, key) =
            (consumer.http.clone(), format!("{}/api/v1/negotiations", consumer.management), consumer.folder.api_key());
        tasks.spawn(async move {
            let response = http.post(url).header("X-Api-Key", key).json(&body).send().await.expect("start request");
            let status = response.status().as_u16();
            let created: Value = response.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 201, "{created:#}");
            created["pid"].as_str().expect("pid").to_string()
        });
    }
    let mut pids = Vec::new();
    while let Some(pid) = tasks.join_next().await {
        pids.push(pid.expect("start task"));
    }
    pids
}

/// The full catalog offer (with its `target`), so that a negotiation can be started while the provider is down.
async fn full_offer(provider: &Node, dataset_id: &str, offer_id: &str) -> Value {
    let dataset: Value = provider
        .http
        .get(format!("{}/dsp/2025-1/catalog/datasets/{dataset_id}", provider.protocol()))
        .send()
        .await
        .expect("dataset")
        .json()
        .await
        .expect("dataset JSON");
    let mut offer = dataset["hasPolicy"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["@id"] == offer_id)
        .cloned()
        .unwrap_or_else(|| panic!("offer {offer_id} in {dataset:#}"));
    offer["target"] = json!(dataset_id);
    offer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn negotiations_survive_sigkill_of_either_side_without_duplicates() {
    let mut provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let offer = full_offer(&provider, &dataset_id, &offer_id).await;
    let address = provider.dsp_address();

    // Wave 1: by offer id (the consumer reads the offer from the provider's catalog).
    let by_id = json!({"counterPartyAddress": address, "offerId": offer_id, "datasetId": dataset_id});
    let first = tokio::spawn({
        let bodies = vec![by_id; FIRST_WAVE];
        let (http, management, key) = (consumer.http.clone(), consumer.management.clone(), consumer.folder.api_key());
        async move {
            let mut tasks = JoinSet::new();
            for body in bodies {
                let (http, url, key) = (http.clone(), format!("{management}/api/v1/negotiations"), key.clone());
                tasks.spawn(async move {
                    let response = http.post(url).header("X-Api-Key", key).json(&body).send().await.ok()?;
                    let created: Value = response.json().await.ok()?;
                    created["pid"].as_str().map(str::to_string)
                });
            }
            let mut pids = Vec::new();
            while let Some(pid) = tasks.join_next().await {
                pids.extend(pid.ok().flatten());
            }
            pids
        }
    });
    // Kill the provider as soon as some negotiations are finalized: the rest are somewhere in between.
    poll(
        "some negotiations finalized",
        || async { consumer.api(Method::GET, "/api/v1/negotiations", None).await.1 },
        |list| count_finalized(list) >= 5,
    )
    .await;
    provider.kill();
    // Starts that raced the kill may have failed (the offer is read from the provider); count what was created.
    let first_pids = first.await.expect("first wave");

    // Wave 2, while the provider is down: full offers, so the start needs no provider; all are in flight.
    let full = json!({"counterPartyAddress": address, "offer": offer});
    let second_pids = start_all(&consumer, vec![full; TOTAL - first_pids.len()]).await;
    let at_kill = consumer.get("/api/v1/negotiations").await;
    let finalized_at_kill = count_finalized(&at_kill);
    let open_at_kill = items(&at_kill).iter().filter(|n| !is_terminal(n)).count();
    assert!(finalized_at_kill >= 5 && open_at_kill >= TOTAL - first_pids.len(), "{finalized_at_kill} {open_at_kill}");
    eprintln!("crash: provider killed with {finalized_at_kill} negotiations finalized and {open_at_kill} in flight");

    provider.start().await;
    // Then the consumer, once the provider is making progress again.
    poll(
        "progress after the provider's restart",
        || async { consumer.api(Method::GET, "/api/v1/negotiations", None).await.1 },
        |list| count_finalized(list) >= finalized_at_kill + 5,
    )
    .await;
    consumer.kill();
    consumer.start().await;

    let pids: Vec<String> = first_pids.into_iter().chain(second_pids).collect();
    assert_eq!(pids.len(), TOTAL);
    let ours = poll(
        "every negotiation terminal on the consumer",
        || async { consumer.api(Method::GET, "/api/v1/negotiations", None).await.1 },
        |list| items(list).len() == TOTAL && items(list).iter().all(is_terminal),
    )
    .await;
    let theirs = poll(
        "every negotiation terminal on the provider",
        || async { provider.api(Method::GET, "/api/v1/negotiations", None).await.1 },
        |list| items(list).len() == TOTAL && items(list).iter().all(is_terminal),
    )
    .await;

    // No duplicates: one process per consumer pid on each side, pids unique, pairs matching.
    let ours = items(&ours);
    let theirs = items(&theirs);
    let consumer_side: BTreeMap<&str, &Value> = ours.iter().map(|n| (n["pid"].as_str().unwrap(), n)).collect();
    assert_eq!(consumer_side.len(), TOTAL, "consumer pids are unique");
    assert_eq!(consumer_side.keys().copied().collect::<HashSet<_>>(), pids.iter().map(String::as_str).collect());
    let provider_side: BTreeMap<&str, &Value> =
        theirs.iter().map(|n| (n["counterparty_pid"].as_str().expect("consumer pid known"), n)).collect();
    assert_eq!(provider_side.len(), TOTAL, "one provider process per consumer pid");
    let provider_pids: HashSet<&str> = theirs.iter().map(|n| n["pid"].as_str().unwrap()).collect();
    assert_eq!(provider_pids.len(), TOTAL, "provider pids are unique");
    let mut finalized = 0;
    for (pid, mine) in &consumer_side {
        let peer = provider_side.get(pid).unwrap_or_else(|| panic!("the provider has no process for {pid}"));
        assert_eq!(mine["counterparty_pid"], peer["pid"], "{pid}");
        assert_eq!(mine["state"], peer["state"], "both sides end in the same state: {mine:#}\n{peer:#}");
        assert_eq!(mine["agreement_id"], peer["agreement_id"], "{pid}");
        if mine["state"] == "FINALIZED" {
            finalized += 1;
            assert!(mine["agreement_id"].is_string(), "{mine:#}");
        }
    }
    // The offer is open to anyone: nothing had a reason to be terminated.
    assert_eq!(finalized, TOTAL, "every negotiation finalized");

    // One agreement per finalized negotiation, the same on both sides.
    let agreements = |list: Value| -> BTreeMap<String, Value> {
        items(&list).into_iter().map(|a| (a["id"].as_str().expect("agreement id").to_string(), a)).collect()
    };
    let our_agreements = agreements(consumer.get("/api/v1/agreements").await);
    let their_agreements = agreements(provider.get("/api/v1/agreements").await);
    assert_eq!(our_agreements.len(), finalized);
    assert_eq!(
        our_agreements.keys().collect::<Vec<_>>(),
        their_agreements.keys().collect::<Vec<_>>(),
        "the same agreement ids on both sides"
    );
    for (id, mine) in &our_agreements {
        let peer = &their_agreements[id];
        assert_eq!(mine["agreement"], peer["agreement"], "agreement {id} differs between the sides");
        let negotiation = consumer_side[mine["negotiation_pid"].as_str().unwrap()];
        assert_eq!(negotiation["agreement_id"].as_str(), Some(id.as_str()));
    }
}
