//! From a clean folder: `init`, `import ../shared/samples/mddf/*`, `run`, and the DSP
//! catalog shows the imported works as schema-valid datasets with offers.

use std::collections::BTreeSet;

use passerelle_connector::catalog::ids::work_dataset_id;
use passerelle_dsp::schema::{MessageKind, validate};
use reqwest::Method;
use serde_json::Value;

use crate::support::{Folder, mddf_samples};

fn ids(datasets: &[Value]) -> BTreeSet<String> {
    datasets.iter().map(|d| d["@id"].as_str().expect("dataset @id").to_string()).collect()
}

async fn all_work_ids(running: &crate::support::Running) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/works?limit=7&cursor={}", encode(c)),
            None => "/api/v1/works?limit=7".to_string(),
        };
        let page: Value = running.api(Method::GET, &path).send().await.expect("list works").json().await.expect("json");
        out.extend(page["items"].as_array().expect("items").iter().map(|w| w["id"].as_str().expect("id").to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn imported_samples_are_served_as_schema_valid_datasets_with_offers() {
    let folder = Folder::init("distributor").await;
    let import = folder.import(&mddf_samples(), false).await;
    // The Avails spreadsheet carries placeholder EIDRs: those records are reported, the rest is stored.
    assert_eq!(import.code(), Some(2), "stdout:\n{}\nstderr:\n{}", import.stdout, import.stderr);
    assert!(import.stdout.contains("rejected: "), "{}", import.stdout);
    assert!(import.stdout.contains("movielabs-mddf_Avails_Movies_v1.9.xlsx, row "), "{}", import.stdout);
    assert!(import.stdout.contains("is not an EIDR"), "{}", import.stdout);

    let running = folder.run().await;

    let version: Value = running
        .http
        .get(format!("{}/.well-known/dspace-version", running.protocol))
        .send()
        .await
        .expect("version")
        .json()
        .await
        .expect("json");
    validate(MessageKind::VersionResponse, &version).expect("version document is schema-valid");

    let works = all_work_ids(&running).await;
    assert!(works.len() >= 10, "the samples hold many works, got {works:?}");

    // No API call needed: `init` seeded the default offer, so every imported work is published.
    let datasets = crate::support::whole_catalog(&running, 4).await;
    let served = ids(&datasets);
    assert!(served.contains("collection:catalogue"), "{served:?}");
    for work in &works {
        assert!(served.contains(&work_dataset_id(work)), "work {work} is missing from the catalog");
    }
    assert_eq!(served.len(), works.len() + 1, "one dataset per work plus the default collection");
    assert_eq!(datasets.len(), served.len(), "no dataset is served twice across pages");

    let mut offer_ids = BTreeSet::new();
    for dataset in &datasets {
        let policies = dataset["hasPolicy"].as_array().expect("hasPolicy");
        assert!(!policies.is_empty(), "{dataset}");
        assert!(
            policies
                .iter()
                .any(|p| p["@id"].as_str().is_some_and(|id| id.starts_with("urn:passerelle:offer:catalogue:"))),
            "the default offer applies to {}",
            dataset["@id"]
        );
        for offer in policies {
            assert_eq!(offer["@type"], "Offer");
            assert!(offer_ids.insert(offer["@id"].as_str().expect("offer id").to_string()), "duplicate offer {offer}");
        }
    }
    // Rights windows became ODRL constraints.
    let window_offer = datasets
        .iter()
        .flat_map(|d| d["hasPolicy"].as_array().cloned().unwrap_or_default())
        .find(|o| o["@id"].as_str().is_some_and(|id| id.starts_with("urn:passerelle:window:")))
        .expect("a window offer");
    let text = window_offer.to_string();
    assert!(text.contains("spatial") && text.contains("dateTime"), "{text}");

    // Every dataset can be fetched on its own, schema-valid, by the id the catalog gave.
    for id in served.iter().filter(|id| id.contains('~')).chain(served.iter().take(3)) {
        let response = running
            .http
            .get(format!("{}/dsp/2025-1/catalog/datasets/{id}", running.protocol))
            .send()
            .await
            .expect("dataset");
        assert_eq!(response.status().as_u16(), 200, "{id}");
        let dataset: Value = response.json().await.expect("json");
        if let Err(errors) = validate(MessageKind::Dataset, &dataset) {
            panic!("dataset {id} is not schema-valid: {errors:#?}");
        }
        assert_eq!(dataset["@id"], id.as_str());
        // The validator is live: the same document without its offers is refused.
        let mut broken = dataset.clone();
        broken.as_object_mut().map(|o| o.remove("hasPolicy"));
        assert!(validate(MessageKind::Dataset, &broken).is_err(), "a dataset without hasPolicy must not validate");
    }

    let response = running
        .http
        .get(format!("{}/dsp/2025-1/catalog/datasets/work:no-such-work", running.protocol))
        .send()
        .await
        .expect("unknown dataset");
    assert_eq!(response.status().as_u16(), 404);
    let error: Value = response.json().await.expect("json");
    validate(MessageKind::CatalogError, &error).expect("CatalogError is schema-valid");

    let status = running.stop().await;
    assert!(status.success(), "graceful stop exits 0: {status:?}");
}

#[tokio::test]
async fn without_the_default_offer_only_rights_windows_are_offered() {
    let folder = Folder::init_with("distributor", &["--no-default-offer"]).await;
    let files = [
        crate::support::sample("movielabs-mddf_MEC_movie_Counselor.xml"),
        crate::support::sample("movielabs-mddf_Avails_noErrors_v2.4.xml"),
    ];
    assert_eq!(folder.import(&files, false).await.code(), Some(0));
    let running = folder.run().await;
    let datasets = crate::support::whole_catalog(&running, 50).await;
    assert!(!datasets.is_empty(), "Avails works carry windows, hence offers");
    let served = ids(&datasets);
    assert!(!served.iter().any(|id| id.starts_with("collection:")), "{served:?}");
    let counselor: Value = running
        .api(Method::GET, "/api/v1/works?title=counselor")
        .send()
        .await
        .expect("works")
        .json()
        .await
        .expect("json");
    let counselor = counselor["items"][0]["id"].as_str().expect("the MEC work is stored").to_string();
    assert!(!served.contains(&work_dataset_id(&counselor)), "a work without offer is not published");
    for dataset in &datasets {
        let policies = dataset["hasPolicy"].as_array().expect("hasPolicy");
        assert!(policies.iter().all(|p| p["@id"].as_str().is_some_and(|id| id.starts_with("urn:passerelle:window:"))));
    }
    assert!(running.stop().await.success());
}
