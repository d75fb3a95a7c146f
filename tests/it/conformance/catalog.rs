//! MET:01-01 and CAT:01-01…03 (the TCK's `Metadata01Test` and `Catalog01Test`), plus the
//! static authorization that replaces DCP in TCK mode's static variant (the DCP variant's
//! refusals are in `dcp_refusals`).

use serde_json::json;

use super::{AUTHORIZATION, Mode, Tck, assert_refused, assert_valid, message};

async fn met_01_01_version_document(mode: Mode) {
    let tck = Tck::start(mode).await;
    // Public: the TCK reads it without authorization, like any peer before it can authenticate.
    let response =
        tck.cut.http.get(format!("{}/.well-known/dspace-version", tck.cut.protocol)).send().await.expect("answer");
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.expect("JSON");
    let versions = body["protocolVersions"].as_array().expect("protocolVersions");
    assert!(
        versions.iter().any(|v| v["version"] == "2025-1" && v["path"].is_string() && v["binding"].is_string()),
        "{body}"
    );
    if let Err(errors) = passerelle_dsp::schema::validate(passerelle_dsp::schema::MessageKind::VersionResponse, &body) {
        panic!("the version document does not validate: {errors:?}");
    }
}
both_modes!(met_01_01_version_document);

async fn cat_01_01_catalog_request(mode: Mode) {
    let tck = Tck::start(mode).await;
    let (status, catalog) = tck.post(&tck.dsp("/catalog/request"), &message("CatalogRequestMessage", json!({}))).await;
    assert_eq!(status, 200, "{catalog}");
    assert_eq!(catalog["@type"], "Catalog");
    let datasets = catalog["dataset"].as_array().expect("datasets");
    assert!(datasets.iter().any(|d| d["@id"] == "CAT0101"), "{catalog}");
    let acn = datasets.iter().find(|d| d["@id"] == "ACN0101").expect("the negotiation datasets are listed");
    assert_eq!(acn["hasPolicy"][0]["@id"], "CD123:ACN0101:456");
}
both_modes!(cat_01_01_catalog_request);

async fn cat_01_02_dataset_request(mode: Mode) {
    let tck = Tck::start(mode).await;
    let (status, dataset) = tck.get(&tck.dsp("/catalog/datasets/CAT0102")).await;
    assert_eq!(status, 200, "{dataset}");
    assert_eq!((&dataset["@type"], &dataset["@id"]), (&json!("Dataset"), &json!("CAT0102")));
}
both_modes!(cat_01_02_dataset_request);

async fn cat_01_03_dataset_request_not_found(mode: Mode) {
    let tck = Tck::start(mode).await;
    let (status, error) = tck.get(&tck.dsp("/catalog/datasets/CAT0103")).await;
    assert_eq!(status, 404, "{error}");
    assert_eq!(error["@type"], "CatalogError");
}
both_modes!(cat_01_03_dataset_request_not_found);

#[tokio::test]
async fn tck_mode_accepts_only_the_static_authorization() {
    let tck = Tck::start(Mode::Static).await;
    let request = message("CatalogRequestMessage", json!({}));
    let url = tck.dsp("/catalog/request");
    assert_refused(&tck.post_raw(&url, &request, None).await, "CatalogError");
    assert_refused(&tck.post_raw(&url, &request, Some("Bearer something-else")).await, "CatalogError");
    let refused = tck.post_raw(&tck.dsp("/negotiations/request"), &json!({}), Some("x")).await;
    assert_eq!(refused.0, 401);
    assert_valid(&refused.1, "the refusal");
    assert_eq!(refused.1["@type"], "ContractNegotiationError");
    // The trigger routes too: they make the connector call out.
    let trigger = format!("{}/tck/negotiations/requests", tck.cut.protocol);
    let (status, _) = tck.post_raw(&trigger, &json!({}), None).await;
    assert_eq!(status, 401);
    let (status, body) = tck.post_raw(&trigger, &json!({"offerId": 1}), Some(AUTHORIZATION)).await;
    assert_eq!(status, 400, "a malformed trigger says what to send: {body}");
    assert!(body["message"].as_str().unwrap_or_default().contains("connectorAddress"), "{body}");
}
