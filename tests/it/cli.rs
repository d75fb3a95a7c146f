//! Command-line behaviour: help texts, `init` refusals, configuration errors.

use crate::support::{Folder, passerelle};

#[tokio::test]
async fn help_explains_commands_and_every_configuration_key() {
    let out = passerelle(&["--help"], &[]).await;
    assert_eq!(out.code(), Some(0));
    for text in ["init", "run", "import", "Examples:", "PASSERELLE_<SECTION>_<KEY>"] {
        assert!(out.stdout.contains(text), "`{text}` missing from --help:\n{}", out.stdout);
    }
    let out = passerelle(&["run", "--help"], &[]).await;
    for key in passerelle_connector::config::keys::KEYS {
        assert!(out.stdout.contains(&key.env_var()), "{} undocumented:\n{}", key.env_var(), out.stdout);
    }
    let out = passerelle(&["import", "--help"], &[]).await;
    assert!(out.stdout.contains("Exit codes: 0"), "{}", out.stdout);
}

#[tokio::test]
async fn init_refuses_to_overwrite_and_bad_values() {
    let folder = Folder::init("lab").await;
    let dir = folder.dir.path().to_string_lossy().into_owned();
    let before = folder.api_key();
    let args = ["init", "--dir", &dir, "--name", "Other", "--role", "lab", "--public-url", "http://127.0.0.1:8181"];
    let again = passerelle(&args, &[]).await;
    assert_ne!(again.code(), Some(0));
    assert!(again.stderr.contains("--force"), "{}", again.stderr);
    assert_eq!(folder.api_key(), before, "nothing replaced");

    let forced = passerelle(&[&args[..], &["--force"]].concat(), &[]).await;
    assert_eq!(forced.code(), Some(0), "{}", forced.stderr);
    assert_ne!(folder.api_key(), before, "--force writes new keys");

    let other = tempfile::tempdir().expect("temp dir");
    let other_dir = other.path().join("c").to_string_lossy().into_owned();
    let bad = passerelle(
        &["init", "--dir", &other_dir, "--name", "X", "--role", "studio", "--public-url", "http://a.example"],
        &[],
    )
    .await;
    assert_ne!(bad.code(), Some(0));
    assert!(bad.stderr.contains("participant.role"), "{}", bad.stderr);
}

/// Writes `text` as a configuration and runs `passerelle run` on it.
async fn run_with(text: Option<&str>, env: &[(&str, &str)]) -> crate::support::Output {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("passerelle.toml");
    if let Some(text) = text {
        std::fs::write(&path, text).expect("write config");
    }
    passerelle(&["run", "--config", &path.to_string_lossy()], env).await
}

/// What is wrong, the configuration text (`None`: no file), extra environment, texts the error must contain.
type ConfigCase = (&'static str, Option<String>, Vec<(&'static str, &'static str)>, Vec<&'static str>);

const GOOD: &str = "[participant]\nname = \"Acme\"\nrole = \"broadcaster\"\npublic_url = \"http://127.0.0.1:8181\"\n";

#[tokio::test]
async fn configuration_errors_name_the_key_and_fail() {
    let cases: Vec<ConfigCase> = vec![
        ("missing file", None, vec![], vec!["not found", "passerelle init"]),
        ("invalid TOML", Some("[participant\nname = ".into()), vec![], vec!["not valid TOML"]),
        (
            "unknown role",
            Some(GOOD.replace("broadcaster", "studio")),
            vec![],
            vec!["participant.role", "studio", "distributor"],
        ),
        (
            "missing name",
            Some(GOOD.replace("name = \"Acme\"\n", "")),
            vec![],
            vec!["participant.name", "PASSERELLE_PARTICIPANT_NAME"],
        ),
        (
            "bad bind address in the file",
            Some(format!("{GOOD}[protocol]\nbind = \"somewhere:80\"\n")),
            vec![],
            vec!["protocol.bind", "somewhere:80"],
        ),
        (
            "bad bind address in the environment",
            Some(GOOD.into()),
            vec![("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1")],
            vec!["management.bind", "PASSERELLE_MANAGEMENT_BIND"],
        ),
        (
            "public management bind",
            Some(format!("{GOOD}[management]\nbind = \"0.0.0.0:8182\"\n")),
            vec![],
            vec!["management.bind", "allow_remote"],
        ),
        ("unknown key", Some(format!("{GOOD}[protocol]\nport = 8181\n")), vec![], vec!["protocol.port", "bind"]),
        (
            "wrong type",
            Some(format!("{GOOD}[catalog]\npage_size = \"fifty\"\n")),
            vec![],
            vec!["catalog.page_size", "integer"],
        ),
        ("no API key file", Some(GOOD.into()), vec![], vec!["management-api-key", "passerelle init"]),
    ];
    for (what, text, env, expected) in cases {
        let out = run_with(text.as_deref(), &env).await;
        assert_eq!(out.code(), Some(1), "{what}: exit code; stderr:\n{}", out.stderr);
        assert!(out.stdout.is_empty(), "{what}: nothing announced on stdout: {}", out.stdout);
        for text in expected {
            assert!(out.stderr.contains(text), "{what}: `{text}` missing from:\n{}", out.stderr);
        }
    }
}

#[tokio::test]
async fn import_with_a_broken_configuration_is_fatal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("nope.toml").to_string_lossy().into_owned();
    let out = passerelle(&["import", "--config", &config, "some.xml"], &[]).await;
    assert_eq!(out.code(), Some(1));
    assert!(out.stderr.contains("not found"), "{}", out.stderr);
}

#[tokio::test]
async fn unreadable_files_are_reported_and_the_rest_imported() {
    let folder = Folder::init("distributor").await;
    let missing = folder.dir.path().join("missing.xml");
    let garbage = folder.dir.path().join("garbage.bin");
    std::fs::write(&garbage, [0u8, 159, 146, 150, 7]).expect("write");
    let good = crate::support::sample("movielabs-mddf_MEC_movie_Counselor.xml");
    let out = folder.import(&[missing, garbage, good], false).await;
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stdout.contains("missing.xml: FAILED"), "{}", out.stdout);
    assert!(out.stdout.contains("garbage.bin: FAILED"), "{}", out.stdout);
    assert!(out.stdout.contains("works 1 new"), "{}", out.stdout);
    assert!(!out.stdout.contains('\u{1b}'), "no progress bar when stdout is not a terminal");
}

/// CLI parity with the console's contract page: the policy in English and as ODRL, who the other party is and
/// whether it was verified, the transfers under the contract; the same in `--json`, and never a token.
#[tokio::test]
async fn contracts_show_gives_what_the_console_contract_page_shows() {
    use crate::negotiation::{start_transfer, transfer_in};
    use crate::negotiation_support::{Node, catalog_offer, negotiate, provider};

    let provider = provider().await;
    let mut consumer = Node::new("lab", &["--no-default-offer"]).await;
    consumer.start().await;
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let done =
        consumer.wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED", |n| n["state"] == "FINALIZED").await;
    let agreement_id = done["agreement_id"].as_str().expect("agreement id").to_string();
    let (pull, _) = start_transfer(&consumer, &provider, &agreement_id, "HttpData-PULL").await;
    transfer_in(&consumer, &pull, "STARTED").await;

    let config = consumer.folder.config();
    let show =
        crate::support::passerelle(&["contracts", "show", &agreement_id, "--json", "--config", &config], &[]).await;
    assert_eq!(show.code(), Some(0), "{}", show.stderr);
    let shown: serde_json::Value = serde_json::from_str(&show.stdout).expect("--json prints JSON");
    let english = shown["policyInEnglish"].as_str().expect("the policy in English");
    assert!(english.to_lowercase().contains("use"), "{english}");
    assert!(shown["policyProblem"].is_null(), "{shown:#}");
    assert_eq!(shown["agreement"]["agreement"]["@type"], "Agreement", "the ODRL as exchanged: {shown:#}");
    assert_eq!(shown["counterparty"]["id"], shown["agreement"]["assigner"], "we consume: the other party assigns");
    assert!(shown["counterparty"]["verifiedId"].is_null(), "DCP is off in these nodes: {shown:#}");
    let transfers = shown["transfers"].as_array().expect("transfers");
    assert_eq!(transfers.len(), 1, "{shown:#}");
    assert_eq!(transfers[0]["transfer"]["pid"], pull.as_str());
    assert_eq!(transfers[0]["transfer"]["state"], "STARTED");
    let properties = transfers[0]["transfer"]["data_address"]["endpointProperties"].as_array().expect("data address");
    let secrets: Vec<&serde_json::Value> = properties
        .iter()
        .filter(|p| matches!(p["name"].as_str(), Some("authorization" | "refreshToken")))
        .map(|p| &p["value"])
        .collect();
    assert!(!secrets.is_empty(), "the pull transfer's data address has its tokens: {shown:#}");
    assert!(secrets.iter().all(|v| *v == "<redacted>"), "tokens never printed: {shown:#}");

    let text = crate::support::passerelle(&["contracts", "show", &agreement_id, "--config", &config], &[]).await;
    assert_eq!(text.code(), Some(0), "{}", text.stderr);
    for expected in ["policy\n", english.lines().next().unwrap_or_default(), "verified id - (", "transfers\n", &pull] {
        assert!(text.stdout.contains(expected), "`{expected}` missing from:\n{}", text.stdout);
    }
    assert!(text.stdout.contains("STARTED") && text.stdout.contains("HttpData-PULL"), "{}", text.stdout);

    // A negotiation without an agreement shows no policy or transfers block, and an unknown id fails.
    let (future_dataset, future_offer) = catalog_offer(&provider, "future").await;
    let refused = negotiate(&consumer, &provider, &future_dataset, &future_offer).await;
    consumer.wait_for(&format!("/api/v1/negotiations/{refused}"), "TERMINATED", |n| n["state"] == "TERMINATED").await;
    let none = crate::support::passerelle(&["contracts", "show", &refused, "--json", "--config", &config], &[]).await;
    let none: serde_json::Value = serde_json::from_str(&none.stdout).expect("JSON");
    assert!(none["agreement"].is_null() && none["policyInEnglish"].is_null(), "{none:#}");
    assert_eq!(none["transfers"], serde_json::json!([]));
    let missing = crate::support::passerelle(&["contracts", "show", "urn:uuid:nope", "--config", &config], &[]).await;
    assert_eq!(missing.code(), Some(1));
}
