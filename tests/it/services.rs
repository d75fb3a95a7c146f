//! A lab's services (issue 7): `/api/v1/services` with every bad input refused at its field and nothing stored
//! altered; the service as a `ServiceDataset` with its terms in the DSP catalog; orders only under a service
//! agreement (a work's agreement hands a feed, not an order endpoint, and the lab refuses orders under it).

use reqwest::Method;
use serde_json::{Value, json};

use crate::negotiation::{start_transfer, transfer_in};
use crate::negotiation_support::{Node, catalog_offer, client, dsp_catalog, negotiate, provider};
use crate::orders::{edr_token, offer_subtitling, order, service_dataset, subtitling_service};

async fn refused(node: &Node, method: Method, path: &str, body: &Value) -> (u16, Value) {
    let (status, answer) = node.api(method, path, Some(body)).await;
    assert!((400..500).contains(&status), "{path} {body}: {status} {answer:#}");
    assert!(answer["error"].is_string() && answer["message"].is_string(), "typed error: {answer:#}");
    (status, answer)
}

#[tokio::test]
async fn services_are_managed_with_every_bad_input_refused_at_its_field() {
    let mut lab = Node::new("lab", &["--no-default-offer"]).await;
    lab.start().await;
    offer_subtitling(&lab, &[]).await;
    let stored = lab.get("/api/v1/services/subtitling").await;
    assert_eq!(stored["dataset_id"], "service:subtitling");
    assert_eq!(stored["terms"]["targetLanguage"], json!(["es", "fr"]));
    assert_eq!(stored["revision"], 1);

    let cases: Vec<(Value, u16, &str)> = vec![
        (json!({"unknown": 1}), 422, ""),
        (json!({"languages": ["not a tag"]}), 422, "languages"),
        (json!({"kinds": ["dubbing"]}), 422, "kinds"),
        (json!({"formats": ["docx"]}), 422, "formats"),
        (json!({"languages": []}), 422, "languages"),
        (json!({"turnaround_days": 0}), 422, "turnaround_days"),
        (json!({"price": {"currency": "euro", "per_minute": "4.50"}}), 422, "price.currency"),
        (json!({"price": {"currency": "EUR", "per_minute": "4,50"}}), 422, "price.per_minute"),
        (json!({"id": "sub titling"}), 422, "id"),
    ];
    for (change, status, field) in cases {
        let mut body = subtitling_service();
        body["id"] = json!("other");
        for (k, v) in change.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (got, answer) = refused(&lab, Method::POST, "/api/v1/services", &body).await;
        assert_eq!(got, status, "{change}: {answer:#}");
        if !field.is_empty() {
            assert_eq!(
                answer["field"].as_str().unwrap_or_default().split('[').next(),
                Some(field),
                "{change}: {answer:#}"
            );
        }
    }
    let mut unknown_policy = subtitling_service();
    unknown_policy["id"] = json!("other");
    unknown_policy["policy_id"] = json!("urn:nobody");
    let (_, answer) = refused(&lab, Method::POST, "/api/v1/services", &unknown_policy).await;
    assert!(answer["message"].as_str().unwrap_or_default().contains("urn:nobody"), "{answer:#}");
    let (status, answer) = refused(&lab, Method::POST, "/api/v1/services", &subtitling_service()).await;
    assert_eq!((status, answer["error"].as_str()), (409, Some("conflict")), "{answer:#}");
    let (status, _) = refused(&lab, Method::PUT, "/api/v1/services/elsewhere", &subtitling_service()).await;
    assert_eq!(status, 422);
    // A policy a service is offered under cannot be deleted.
    let (status, answer) = lab.api(Method::DELETE, "/api/v1/policies/urn:lab:subtitling", None).await;
    assert_eq!(status, 409, "{answer:#}");
    assert!(answer["message"].as_str().unwrap_or_default().contains("service subtitling"), "{answer:#}");

    // Nothing refused altered what is stored.
    let (status, list) = lab.api(Method::GET, "/api/v1/services", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1), "{list:#}");
    assert_eq!(lab.get("/api/v1/services/subtitling").await, stored);

    // PUT changes it (revision + 1) and the catalog follows; DELETE withdraws it.
    let mut faster = subtitling_service();
    faster["turnaround_days"] = json!(5);
    let (status, changed) = lab.api(Method::PUT, "/api/v1/services/subtitling", Some(&faster)).await;
    assert_eq!((status, changed["revision"].as_i64()), (200, Some(2)), "{changed:#}");
    let catalog = dsp_catalog(&lab).await;
    let dataset = catalog["dataset"].as_array().into_iter().flatten().find(|d| d["@id"] == "service:subtitling");
    assert_eq!(dataset.map(|d| d["serviceTerms"]["turnaround"].clone()), Some(json!("P5D")), "{catalog:#}");
    let (status, _) = lab.api(Method::DELETE, "/api/v1/services/subtitling", None).await;
    assert_eq!(status, 204);
    let (status, answer) = lab.api(Method::GET, "/api/v1/services/subtitling", None).await;
    assert_eq!((status, answer["error"].as_str()), (404, Some("not_found")));
    let catalog = dsp_catalog(&lab).await;
    assert!(!catalog.to_string().contains("service:subtitling"), "withdrawn from the catalog: {catalog:#}");
}

#[tokio::test]
async fn the_service_dataset_carries_its_terms_and_only_its_agreements_take_orders() {
    // One connector offers both a service and works (a lab that also distributes).
    let lab = provider().await;
    offer_subtitling(&lab, &[]).await;
    let catalog = dsp_catalog(&lab).await;
    let service = service_dataset(&catalog, "subtitling");
    let terms = &service["serviceTerms"];
    assert_eq!(terms["@type"], "SubtitlingService");
    assert_eq!(terms["subtitleKind"], json!(["subtitles", "sdh"]));
    assert_eq!(terms["deliveryFormat"], json!(["srt", "webvtt", "ttml-imsc1.1"]));
    assert_eq!((terms["turnaround"].as_str(), terms["rushTurnaround"].as_str()), (Some("P10D"), Some("P3D")));
    assert_eq!(terms["priceSpecification"]["pricePerMinute"], "4.50");
    assert_eq!(service["language"], json!(["es", "fr"]));
    assert_eq!(service["hasPolicy"][0]["@id"], "urn:passerelle:service-offer:subtitling");

    // A distributor contracts one of the works instead: its transfer hands a feed, no order endpoint, and the lab
    // refuses an order sent under that agreement anyway.
    let mut distributor = Node::new("distributor", &["--no-default-offer"]).await;
    distributor.start().await;
    let (dataset_id, offer_id) = catalog_offer(&lab, "open").await;
    let pid = negotiate(&distributor, &lab, &dataset_id, &offer_id).await;
    let done = distributor
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "the work agreement", |n| n["state"] == "FINALIZED")
        .await;
    let agreement = done["agreement_id"].as_str().expect("agreement");
    let (transfer, _) = start_transfer(&distributor, &lab, agreement, "HttpData-PULL").await;
    transfer_in(&distributor, &transfer, "STARTED").await;
    let edr = distributor.get(&format!("/api/v1/transfers/{transfer}/edr")).await;
    let names: Vec<&str> =
        edr["endpointProperties"].as_array().into_iter().flatten().filter_map(|p| p["name"].as_str()).collect();
    assert!(names.contains(&"feedEndpoint") && !names.contains(&"orderEndpoint"), "{edr:#}");
    let token = edr_token(&distributor, &transfer).await;
    let response = client()
        .post(format!("{}/exchange/orders", lab.protocol()))
        .bearer_auth(&token)
        .json(&json!({"order": order("PO-W", "es"), "callbackAddress": "http://127.0.0.1:9/cb",
            "callbackToken": "0123456789abcdef0123456789abcdef"}))
        .send()
        .await
        .expect("lab answers");
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.expect("typed error");
    assert_eq!(body["error"], "not_a_service_agreement", "{body:#}");
    assert!(body["message"].as_str().unwrap_or_default().contains(&dataset_id), "{body:#}");
    assert_eq!(lab.get("/api/v1/orders").await["items"], json!([]), "nothing stored");
}
