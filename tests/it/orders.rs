//! Subtitle orders between two real connectors (issue 7): a lab offers a subtitling service (two orders, Spanish
//! or French), a distributor negotiates it, starts a pull transfer and places orders; the two exchange the order's
//! events through their callbacks until acceptance, with identical logs on both sides. Refusals: beyond the
//! agreed count, outside the agreed languages, illegal and malformed events, bad tokens. The lab is SIGKILLed
//! mid-order and restarted: no event is lost either way.

use reqwest::Method;
use serde_json::{Value, json};

use crate::negotiation::{start_transfer, transfer_in};
use crate::negotiation_support::{Node, negotiate, poll};
use crate::support::sample;

/// A lab with one imported work offered as a subtitling service: at most two orders, Spanish or French subtitles.
async fn lab() -> Node {
    let mut lab = Node::new("lab", &["--no-default-offer"]).await;
    let import = lab.folder.import(&[sample("movielabs-mddf_MEC_movie_Counselor.xml")], true).await;
    assert_eq!(import.code(), Some(0), "{}\n{}", import.stdout, import.stderr);
    lab.start().await;
    offer_subtitling(&lab, &[]).await;
    lab
}

/// Offers the running `lab`'s subtitling service (`service:subtitling`: Spanish or French; subtitles or SDH; SRT,
/// WebVTT or IMSC) under a policy of at most two orders in Spanish or French, and `more`.
pub(crate) async fn offer_subtitling(lab: &Node, more: &[Value]) {
    let mut constraints = vec![
        json!({"leftOperand": "count", "operator": "lteq", "rightOperand": 2}),
        json!({"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]}),
    ];
    constraints.extend(more.iter().cloned());
    let policy = json!({"@id": "urn:lab:subtitling", "@type": "Offer",
        "permission": [{"action": "use", "constraint": constraints}]});
    let (status, body) = lab.api(Method::POST, "/api/v1/policies", Some(&policy)).await;
    assert_eq!(status, 201, "{body:#}");
    let (status, body) = lab.api(Method::POST, "/api/v1/services", Some(&subtitling_service())).await;
    assert_eq!(status, 201, "{body:#}");
}

/// The lab's subtitling service as its operator writes it.
pub(crate) fn subtitling_service() -> Value {
    json!({"id": "subtitling", "title": "Subtitling", "languages": ["es", "fr"], "kinds": ["subtitles", "sdh"],
        "formats": ["srt", "webvtt", "ttml-imsc1.1"], "turnaround_days": 10, "rush_turnaround_days": 3,
        "price": {"currency": "EUR", "per_minute": "4.50", "minimum_charge": "150.00", "rush_surcharge_percent": 50},
        "policy_id": "urn:lab:subtitling"})
}

/// The dataset `service:<service>` of a DSP `catalog`, a ServiceDataset.
pub(crate) fn service_dataset(catalog: &Value, service: &str) -> Value {
    let dataset_id = format!("service:{service}");
    let dataset = catalog["dataset"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["@id"] == dataset_id.as_str())
        .cloned()
        .unwrap_or_else(|| panic!("no `{dataset_id}` in the catalog: {catalog:#}"));
    assert_eq!(dataset["datasetKind"], "ServiceDataset", "{dataset:#}");
    dataset
}

/// The lab's service dataset in its DSP catalog, and the offer on it: `(dataset id, offer id)`.
pub(crate) async fn service_offer(lab: &Node, service: &str) -> (String, String) {
    let catalog = crate::negotiation_support::dsp_catalog(lab).await;
    let dataset_id = format!("service:{service}");
    let dataset = service_dataset(&catalog, service);
    let offer_id = dataset["hasPolicy"][0]["@id"].as_str().expect("the service's offer").to_string();
    (dataset_id, offer_id)
}

/// A distributor holding a FINALIZED agreement on the lab's service and a STARTED pull transfer under it:
/// `(distributor, transfer pid)`.
async fn distributor_of(lab: &Node) -> (Node, String) {
    let mut distributor = Node::new("distributor", &["--no-default-offer"]).await;
    distributor.start().await;
    let transfer = contract_service(&distributor, lab).await;
    (distributor, transfer)
}

/// The running `distributor` negotiates the lab's service to FINALIZED and starts a pull transfer under it; its pid.
pub(crate) async fn contract_service(distributor: &Node, lab: &Node) -> String {
    let (dataset_id, offer_id) = service_offer(lab, "subtitling").await;
    let pid = negotiate(distributor, lab, &dataset_id, &offer_id).await;
    let done = distributor
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "the service agreement", |n| {
            matches!(n["state"].as_str(), Some("FINALIZED" | "TERMINATED"))
        })
        .await;
    assert_eq!(done["state"], "FINALIZED", "the count and language wait for the orders: {done:#}");
    let agreement_id = done["agreement_id"].as_str().expect("agreement id").to_string();
    let (transfer, _) = start_transfer(distributor, lab, &agreement_id, "HttpData-PULL").await;
    transfer_in(distributor, &transfer, "STARTED").await;
    transfer
}

pub(crate) fn order(id: &str, language: &str) -> Value {
    json!({
        "id": id,
        "work": {"id": "md:cid:org:mpm.craigsmovies.com:20150323HDR", "title": "The Counselor"},
        "version": {"eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J", "label": "Theatrical"},
        "targetLanguage": language,
        "kind": "subtitles",
        "format": "ttml-imsc1.1",
        "frameRate": "24000/1001",
        "startTimecode": "10:00:00:00",
        "styleProfile": {
            "maxCharsPerLine": 42, "maxLines": 2,
            "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
            "minEventDurationMs": 833, "maxEventDurationMs": 7000, "minGapFrames": 2
        },
        "dueDate": "2099-07-01T17:00:00Z",
        "materials": [{"id": "proxy", "kind": "picture-proxy", "location": "https://files.example/counselor/proxy.mp4"}]
    })
}

async fn place(distributor: &Node, transfer: &str, order: &Value) -> (u16, Value) {
    distributor.api(Method::POST, "/api/v1/orders", Some(&json!({"transferPid": transfer, "order": order}))).await
}

async fn send(node: &Node, id: &str, event: Value) -> (u16, Value) {
    node.api(Method::POST, &format!("/api/v1/orders/{id}/events"), Some(&json!({"event": event}))).await
}

pub(crate) async fn send_ok(node: &Node, id: &str, event: Value) -> Value {
    let (status, body) = send(node, id, event.clone()).await;
    assert_eq!(status, 201, "{event}: {body:#}");
    body
}

/// The lab's id of the distributor's order `order_id`.
pub(crate) async fn lab_id(lab: &Node, order_id: &str) -> String {
    let list = lab.get("/api/v1/orders").await;
    let item = list["items"].as_array().into_iter().flatten().find(|o| o["orderId"] == order_id && o["side"] == "lab");
    item.and_then(|o| o["id"].as_str()).unwrap_or_else(|| panic!("no lab order {order_id}: {list:#}")).to_string()
}

/// Waits until order `id` on `node` has `len` events, none of ours still on its way.
async fn settled(node: &Node, id: &str, len: usize) -> Value {
    node.wait_for(&format!("/api/v1/orders/{id}"), &format!("{len} delivered events on {id}"), |o| {
        let log = o["log"].as_array().cloned().unwrap_or_default();
        log.len() == len && log.iter().all(|e| e["delivery"] == "sent" || e["delivery"] == "received")
    })
    .await
}

/// The log as both parties must agree on it: numbers, senders, events, states (delivery is each side's own).
fn shared_log(order: &Value) -> Vec<Value> {
    order["log"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| json!({"seq": e["seq"], "sender": e["sender"], "event": e["event"], "state": e["state"]}))
        .collect()
}

fn progress(stage: &str) -> Value {
    json!({"type": "StageProgress", "stage": stage, "percent": 100})
}

/// The data-plane token the lab handed with the transfer start.
pub(crate) async fn edr_token(distributor: &Node, transfer: &str) -> String {
    let edr = distributor.get(&format!("/api/v1/transfers/{transfer}/edr")).await;
    edr["endpointProperties"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "authorization"))
        .and_then(|p| p["value"].as_str())
        .expect("token")
        .to_string()
}

#[tokio::test]
async fn an_order_runs_from_placement_to_acceptance_with_the_same_log_on_both_sides() {
    let lab = lab().await;
    let (distributor, transfer) = distributor_of(&lab).await;

    // Outside the agreed languages: refused with the policy's explanation, nothing stored on either side.
    let (status, refused) = place(&distributor, &transfer, &order("PO-DE", "de")).await;
    assert_eq!(status, 403, "{refused:#}");
    assert_eq!(refused["error"], "agreement_refused");
    let why = refused["message"].as_str().unwrap_or_default();
    assert!(why.contains("DENIED") && why.contains("de") && why.contains("FAILS"), "{why}");
    assert_eq!(distributor.get("/api/v1/orders").await["items"], json!([]));
    assert_eq!(lab.get("/api/v1/orders").await["items"], json!([]));

    // A bad order is refused at its field before anyone is asked.
    let mut bad = order("PO-BAD", "es");
    bad["styleProfile"]["maxLines"] = json!("two");
    let (status, body) = place(&distributor, &transfer, &bad).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")), "{body:#}");
    assert_eq!(body["field"], "order.styleProfile.maxLines");

    // Within the agreement but not what the service produces (its terms: SRT, WebVTT, IMSC; subtitles or SDH):
    // the lab's refusal reaches the distributor's caller at the order's field.
    for (member, value) in [("format", "scc"), ("kind", "forced-narrative")] {
        let mut outside = order("PO-TERMS", "es");
        outside[member] = json!(value);
        let (status, body) = place(&distributor, &transfer, &outside).await;
        assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")), "{body:#}");
        assert_eq!(body["field"], format!("order.{member}"), "{body:#}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("the lab refused") && message.contains(&format!("not `{value}`")), "{body:#}");
    }
    assert_eq!(lab.get("/api/v1/orders").await["items"], json!([]), "nothing stored at the lab");

    // Placed: REQUESTED on both sides.
    let (status, placed) = place(&distributor, &transfer, &order("PO-1", "es-419")).await;
    assert_eq!(status, 201, "{placed:#}");
    assert_eq!((placed["state"].as_str(), placed["side"].as_str()), (Some("REQUESTED"), Some("distributor")));
    let ours = placed["id"].as_str().expect("id").to_string();
    let theirs = lab_id(&lab, "PO-1").await;
    let at_lab = lab.get(&format!("/api/v1/orders/{theirs}")).await;
    assert_eq!((at_lab["state"].as_str(), at_lab["ordinal"].as_u64()), (Some("REQUESTED"), Some(1)));
    assert!(!placed.to_string().contains(&edr_token(&distributor, &transfer).await), "tokens are never shown");

    // Lab quotes, distributor confirms, lab works through every stage and delivers.
    send_ok(&lab, &theirs, json!({"type": "Quoted", "price": {"amount": "1250.00", "currency": "EUR"}})).await;
    distributor
        .wait_for(&format!("/api/v1/orders/{ours}"), "QUOTED at the distributor", |o| o["state"] == "QUOTED")
        .await;
    send_ok(&distributor, &ours, json!({"type": "Confirmed"})).await;
    lab.wait_for(&format!("/api/v1/orders/{theirs}"), "CONFIRMED at the lab", |o| o["state"] == "CONFIRMED").await;
    send_ok(&lab, &theirs, json!({"type": "MaterialsReceived", "materials": ["proxy"], "complete": true})).await;
    for stage in ["spotting", "translation", "review", "qc"] {
        send_ok(&lab, &theirs, progress(stage)).await;
    }
    send_ok(&lab, &theirs, json!({"type": "Delivered", "manifestRef": "manifest-PO-1-v1"})).await;
    let delivered = distributor
        .wait_for(&format!("/api/v1/orders/{ours}"), "DELIVERED at the distributor", |o| o["state"] == "DELIVERED")
        .await;
    assert_eq!(delivered["log"][8]["event"]["manifestRef"], "manifest-PO-1-v1");

    // The distributor validates and accepts.
    send_ok(&distributor, &ours, json!({"type": "Validated", "qcReportRef": "qc-PO-1-v1"})).await;
    let accepted = send_ok(&distributor, &ours, json!({"type": "Accepted"})).await;
    assert_eq!(accepted["state"], "ACCEPTED");
    let at_lab = settled(&lab, &theirs, 11).await;
    let at_distributor = settled(&distributor, &ours, 11).await;
    assert_eq!(at_lab["state"], "ACCEPTED");
    assert_eq!(shared_log(&at_lab), shared_log(&at_distributor), "both sides hold the same log");
    let seqs: Vec<u64> = at_lab["log"].as_array().unwrap().iter().filter_map(|e| e["seq"].as_u64()).collect();
    assert_eq!(seqs, (1..=11).collect::<Vec<_>>());

    // Illegal and malformed events: refused, typed, state unchanged.
    let (status, body) = send(&lab, &theirs, json!({"type": "Quoted"})).await;
    assert_eq!((status, body["error"].as_str()), (409, Some("conflict")), "{body:#}");
    assert!(body["message"].as_str().unwrap().contains("not allowed"), "{body:#}");
    let (status, body) = send(&distributor, &ours, json!({"type": "Approved"})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")), "{body:#}");
    let (status, body) = send(&distributor, &ours, json!({"type": "Recalled", "reason": ""})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("event.reason")), "{body:#}");
    let (status, _) = send(&lab, "urn:uuid:nope", json!({"type": "Quoted"})).await;
    assert_eq!(status, 404);
    assert_eq!(lab.get(&format!("/api/v1/orders/{theirs}")).await["log"].as_array().map(Vec::len), Some(11));

    // The lab's routes: replays get the same answer, gaps name the number expected, tokens are checked.
    let token = edr_token(&distributor, &transfer).await;
    let events = format!("{}/exchange/orders/PO-1/events", lab.protocol());
    let confirmed = json!({"seq": 3, "event": {"type": "Confirmed"}});
    let replay: Value =
        lab.http.post(&events).bearer_auth(&token).json(&confirmed).send().await.unwrap().json().await.unwrap();
    assert_eq!((replay["replay"].as_bool(), replay["state"].as_str()), (Some(true), Some("CONFIRMED")), "{replay:#}");
    let gap = lab
        .http
        .post(&events)
        .bearer_auth(&token)
        .json(&json!({"seq": 20, "event": {"type": "Recalled",
        "reason": "rights"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(gap.status().as_u16(), 409);
    let gap: Value = gap.json().await.unwrap();
    assert_eq!((gap["error"].as_str(), gap["expectedSeq"].as_u64()), (Some("out_of_sequence"), Some(12)), "{gap:#}");
    let other = json!({"seq": 3, "event": {"type": "Confirmed", "note": "changed"}});
    let conflict = lab.http.post(&events).bearer_auth(&token).json(&other).send().await.unwrap();
    assert_eq!(conflict.status().as_u16(), 409);
    for bad in ["forged-token", ""] {
        let response = lab.http.post(&events).bearer_auth(bad).json(&confirmed).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "token `{bad}`");
    }
    let callback = format!("{}/exchange/callback/orders/{ours}", distributor.protocol());
    let response = distributor.http.post(&callback).bearer_auth(&token).json(&confirmed).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401, "the data-plane token is not the callback token");
    let shown: Value = lab
        .http
        .get(format!("{}/exchange/orders/PO-1", lab.protocol()))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["log"], json!(shared_log(&at_lab)), "the distributor can read the lab's log");

    // The agreement's count: a second order is taken, a third refused with the policy's explanation.
    let (status, second) = place(&distributor, &transfer, &order("PO-2", "fr")).await;
    assert_eq!(status, 201, "{second:#}");
    let (status, third) = place(&distributor, &transfer, &order("PO-3", "es")).await;
    assert_eq!((status, third["error"].as_str()), (403, Some("agreement_refused")), "{third:#}");
    assert!(third["message"].as_str().unwrap().contains("this would be use number 3"), "{third:#}");
    let (status, again) = place(&distributor, &transfer, &order("PO-2", "fr")).await;
    assert_eq!(status, 409, "an order id is placed once: {again:#}");

    // The CLI reads the same through the management API.
    let config = distributor.folder.config();
    let api = distributor.management.clone();
    let list = crate::support::passerelle(&["orders", "list", "--config", &config, "--api", &api], &[]).await;
    assert_eq!(list.code(), Some(0), "{}", list.stderr);
    assert!(list.stdout.starts_with("ID") && list.stdout.contains("PO-1") && list.stdout.contains("ACCEPTED"));
    let show = crate::support::passerelle(&["orders", "show", &ours, "--config", &config, "--api", &api], &[]).await;
    assert!(show.stdout.contains("Accepted") && show.stdout.contains("state       ACCEPTED"), "{}", show.stdout);
    let second_id = second["id"].as_str().unwrap();
    let cancel = r#"{"type": "Cancelled", "reason": "the edit changed"}"#;
    let sent = crate::support::passerelle(
        &["orders", "send", second_id, "--event", cancel, "--json", "--config", &config, "--api", &api],
        &[],
    )
    .await;
    assert_eq!(sent.code(), Some(0), "{}", sent.stderr);
    assert_eq!(serde_json::from_str::<Value>(&sent.stdout).unwrap()["state"], "CANCELLED");
    let refused = crate::support::passerelle(
        &["orders", "send", second_id, "--event", r#"{"type": "Accepted"}"#, "--config", &config, "--api", &api],
        &[],
    )
    .await;
    assert_eq!(refused.code(), Some(2), "a refusal exits 2");
    assert!(refused.stderr.contains("CANCELLED"), "{}", refused.stderr);
    let second_at_lab = lab_id(&lab, "PO-2").await;
    lab.wait_for(&format!("/api/v1/orders/{second_at_lab}"), "the cancellation at the lab", |o| {
        o["state"] == "CANCELLED"
    })
    .await;
}

#[tokio::test]
async fn the_lab_killed_mid_order_loses_no_event_and_the_logs_converge() {
    let mut lab = lab().await;
    let (distributor, transfer) = distributor_of(&lab).await;
    let (status, placed) = place(&distributor, &transfer, &order("PO-9", "fr-CA")).await;
    assert_eq!(status, 201, "{placed:#}");
    let ours = placed["id"].as_str().unwrap().to_string();
    let theirs = lab_id(&lab, "PO-9").await;
    send_ok(&lab, &theirs, json!({"type": "Quoted"})).await;
    distributor.wait_for(&format!("/api/v1/orders/{ours}"), "QUOTED", |o| o["state"] == "QUOTED").await;

    // The lab is killed: the distributor's confirmation waits in its store and is retried.
    lab.kill();
    send_ok(&distributor, &ours, json!({"type": "Confirmed"})).await;
    let waiting = distributor
        .wait_for(&format!("/api/v1/orders/{ours}"), "a failed attempt to reach the lab", |o| {
            o["log"][2]["attempts"].as_i64().unwrap_or(0) > 0
        })
        .await;
    assert_eq!(waiting["log"][2]["delivery"], "pending");
    assert!(waiting["delivery"].as_str().unwrap_or_default().contains("retrying"), "{waiting:#}");
    lab.start().await;
    lab.wait_for(&format!("/api/v1/orders/{theirs}"), "CONFIRMED after the restart", |o| o["state"] == "CONFIRMED")
        .await;

    // The lab writes three events and is killed at once: whatever was not delivered yet is sent after its restart.
    send_ok(&lab, &theirs, json!({"type": "MaterialsReceived", "materials": ["proxy"], "complete": true})).await;
    send_ok(&lab, &theirs, progress("spotting")).await;
    send_ok(&lab, &theirs, progress("translation")).await;
    lab.kill();
    lab.start().await;
    settled(&lab, &theirs, 6).await;
    let at_distributor = settled(&distributor, &ours, 6).await;
    assert_eq!(at_distributor["status"], "IN_PROGRESS(translation)");

    // And the order runs to its end.
    send_ok(&lab, &theirs, json!({"type": "Delivered", "manifestRef": "manifest-PO-9"})).await;
    distributor.wait_for(&format!("/api/v1/orders/{ours}"), "DELIVERED", |o| o["state"] == "DELIVERED").await;
    send_ok(&distributor, &ours, json!({"type": "Validated", "qcReportRef": "qc-PO-9"})).await;
    send_ok(&distributor, &ours, json!({"type": "Accepted"})).await;
    let at_lab = settled(&lab, &theirs, 9).await;
    let at_distributor = settled(&distributor, &ours, 9).await;
    assert_eq!(at_lab["state"], "ACCEPTED");
    assert_eq!(shared_log(&at_lab), shared_log(&at_distributor));
    // Exactly once in effect: every number once on each side.
    let both = poll(
        "both lists",
        || async { json!([lab.get("/api/v1/orders").await, distributor.get("/api/v1/orders").await]) },
        |v| v[0]["items"].as_array().map(Vec::len) == Some(1) && v[1]["items"].as_array().map(Vec::len) == Some(1),
    )
    .await;
    assert_eq!(both[0]["items"][0]["state"], "ACCEPTED");
}
