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
