//! The one-command media data space (`passerelle demo`, issue 7) as a test: the real binary starts an authority
//! with its catalogue, a distributor, a lab and a broadcaster, and plays the story. Each step of the demo checks
//! the state it reaches through the connectors' APIs and fails the demo otherwise; here every step must be
//! reported, in order, with the facts it established, no secret may be printed, and the services must stop.

use crate::support::{bin, shared_dir};

#[test]
fn the_demo_plays_the_whole_story_and_stops_its_services() {
    let dir = tempfile::tempdir().expect("temp dir");
    let space = dir.path().join("space");
    let samples = shared_dir().join("samples");
    let out = std::process::Command::new(bin())
        .args(["demo", "--exit-when-done", "--dir"])
        .arg(&space)
        .arg("--samples")
        .arg(&samples)
        .env_remove("PASSERELLE_CONFIG")
        .output()
        .expect("passerelle demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{stderr}", out.status.code());

    // Every step, in order, with what it established.
    let expected = [
        ("[ 1/13] start", "authority + catalogue http://127.0.0.1:"),
        ("[ 2/13] onboard", "three members onboarded"),
        ("[ 3/13] publish", "lab offers its subtitling service"),
        ("[ 4/13] discover", "distributor found the lab's service (kind=service, language=es); broadcaster found"),
        ("[ 5/13] negotiate-service", "STARTED"),
        ("[ 6/13] negotiate-feed", "the feed is pushed to the broadcaster"),
        ("[ 7/13] order", "PO-2026-ES-001: Spanish subtitles for EIDR 10.5240/"),
        ("[ 8/13] production", "IN_PROGRESS(qc)"),
        ("[ 9/13] deliver", "es.srt delivered"),
        ("[10/13] receipt-and-qc", "hashes intact, receipt signed and verified by the lab, QC passed (3 cues)"),
        ("[11/13] accept", "now carries Spanish subtitles"),
        ("[12/13] feed", "with subtitles es"),
        ("[13/13] ready", "every service keeps running"),
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    let mut at = 0;
    for (step, fact) in expected {
        let found = lines[at..].iter().position(|l| l.starts_with(step));
        let index = at + found.unwrap_or_else(|| panic!("`{step}` missing or out of order:\n{stdout}"));
        assert!(lines[index].contains(fact), "`{step}` lacks `{fact}`: {}", lines[index]);
        at = index + 1;
    }
    // The same version was ordered, accepted and seen in the broadcaster's feed.
    let version = |prefix: &str| {
        let line = lines.iter().find(|l| l.starts_with(prefix)).expect("step line");
        line.split("version ").nth(1).and_then(|rest| rest.split_whitespace().next()).expect("a version id").to_string()
    };
    assert_eq!(version("[11/13]"), version("[12/13]"), "{stdout}");
    for service in ["distributor", "lab", "broadcaster"] {
        assert!(stdout.contains(&format!("/{service}/secrets/management-api-key")), "key files shown: {stdout}");
        let key = std::fs::read_to_string(space.join(service).join("secrets/management-api-key")).expect("key");
        assert!(!stdout.contains(key.trim()) && !stderr.contains(key.trim()), "{service}'s API key printed");
        assert!(stdout.contains("console http://127.0.0.1:"), "{stdout}");
    }

    // --exit-when-done stopped every service: no listener answers any more.
    let listeners: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.trim().strip_prefix("API    http://"))
        .filter_map(|rest| rest.split(['/', ' ']).next())
        .collect();
    assert_eq!(listeners.len(), 4, "{stdout}");
    for address in listeners {
        assert!(std::net::TcpStream::connect(address).is_err(), "{address} still listens after the demo");
    }

    // A folder already in use is refused with what to do, and nothing is started.
    let again = std::process::Command::new(bin())
        .args(["demo", "--exit-when-done", "--dir"])
        .arg(&space)
        .arg("--samples")
        .arg(&samples)
        .output()
        .expect("passerelle demo runs");
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is not empty"), "{again:?}");
}

/// `cargo run --example tamis` is the same demo: the example (built by `cargo test`, beside this test's binary)
/// hands its arguments to `passerelle demo` and exits with its code. `PASSERELLE_EXE` gives it the binary under
/// test, so that it does not run a second cargo.
#[test]
fn the_tamis_example_plays_the_demo() {
    let deps = std::env::current_exe().expect("test binary path");
    let example = deps
        .parent()
        .and_then(|d| d.parent())
        .map(|profile| profile.join("examples").join(format!("tamis{}", std::env::consts::EXE_SUFFIX)))
        .expect("target profile folder");
    if !example.is_file() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but {} is missing: the README's `cargo test --workspace` builds it",
            example.display()
        );
        eprintln!("skipped: {} is not built (`cargo test --workspace` builds it)", example.display());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = std::process::Command::new(&example)
        .args(["--exit-when-done", "--dir"])
        .arg(dir.path().join("space"))
        .arg("--samples")
        .arg(shared_dir().join("samples"))
        .env("PASSERELLE_EXE", bin())
        .env_remove("PASSERELLE_CONFIG")
        .output()
        .expect("the tamis example runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "exit {:?}\n{stdout}\n{}", out.status.code(), String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("[13/13] ready")), "{stdout}");
    assert!(stdout.contains("broadcaster's feed: change"), "{stdout}");

    // A failing demo is the example's failure too: a folder in use is refused with exit code 1.
    let refused = std::process::Command::new(&example)
        .args(["--exit-when-done", "--dir"])
        .arg(dir.path().join("space"))
        .arg("--samples")
        .arg(shared_dir().join("samples"))
        .env("PASSERELLE_EXE", bin())
        .output()
        .expect("the tamis example runs");
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not empty"), "{refused:?}");
}
