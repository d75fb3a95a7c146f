//! Data survives a restart; importing the same files again changes nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Folder, sample, whole_catalog};

#[tokio::test]
async fn restart_keeps_the_catalog_and_reimport_does_not_duplicate() {
    let folder = Folder::init("distributor").await;
    let files = vec![
        sample("movielabs-mddf_MEC_movie_Counselor.xml"),
        sample("movielabs-mddf_Avails_noErrors_v2.4.xml"),
        sample("movielabs-mddf_ManifestCore_forcedsub.xml"),
    ];

    // Import while the connector runs (the CLI and the server share the database).
    let first = folder.run().await;
    let import = folder.import(&files, true).await;
    assert_eq!(import.code(), Some(0), "{}\n{}", import.stdout, import.stderr);
    let report: Value = serde_json::from_str(&import.stdout).expect("--json prints JSON");
    let inserted = report["totals"]["works"]["inserted"].as_u64().expect("totals");
    assert!(inserted > 0);
    assert_eq!(report["exit_code"], 0);
    assert_eq!(report["files"].as_array().map(Vec::len), Some(3));

    let policy = json!({"@id": "urn:acme:movies", "@type": "Offer", "permission": [{"action": "use"}]});
    assert_eq!(first.api_json(Method::POST, "/api/v1/policies", &policy).await.0, 201);
    let definition =
        json!({"id": "movies", "title": "Movies", "selector": {"kinds": ["movie"]}, "policy_id": "urn:acme:movies"});
    assert_eq!(first.api_json(Method::POST, "/api/v1/offer-definitions", &definition).await.0, 201);

    let before = whole_catalog(&first, 3).await;
    assert!(before.len() > 3, "several pages");
    let works_before: Value =
        first.api(Method::GET, "/api/v1/works?limit=500").send().await.expect("works").json().await.expect("json");
    assert!(first.stop().await.success());

    // Same files again, connector stopped: nothing new, nothing changed.
    let again = folder.import(&files, true).await;
    assert_eq!(again.code(), Some(0), "{}", again.stderr);
    let report: Value = serde_json::from_str(&again.stdout).expect("json");
    for kind in ["works", "versions", "rights"] {
        assert_eq!(report["totals"][kind]["inserted"], 0, "{kind}: {report:#}");
        assert_eq!(report["totals"][kind]["updated"], 0, "{kind}: {report:#}");
    }
    assert_eq!(report["totals"]["works"]["unchanged"].as_u64(), Some(inserted));

    let second = folder.run().await;
    let after = whole_catalog(&second, 3).await;
    assert_eq!(after, before, "the catalog is identical after a restart and a re-import");
    let works_after: Value =
        second.api(Method::GET, "/api/v1/works?limit=500").send().await.expect("works").json().await.expect("json");
    assert_eq!(works_after, works_before);
    let runs: Value =
        second.api(Method::GET, "/api/v1/imports").send().await.expect("imports").json().await.expect("json");
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(6), "every imported file is logged");
    assert!(second.stop().await.success());
}
