//! Console benchmark: how long console pages take with 100,000 agreements (and as many
//! negotiations and transfers) in the store, served by the real `passerelle run` (release build).
//!
//! Run with `cargo bench --bench console`. The store is seeded directly with SQL (one transaction,
//! recursive CTEs) after `passerelle init` and a first `Store::open_file` has created the schema;
//! then the connector starts, the bench logs in to the console like a browser (login form, session
//! cookie) and requests each page sequentially: 5 warm-up requests, then `PASSERELLE_BENCH_REQUESTS`
//! (default 50) measured ones. Latency is request → full body on loopback, an upper bound of the
//! server time. `PASSERELLE_BENCH_AGREEMENTS=N` changes the number of rows.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sqlx::Connection;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_passerelle")
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const SEED: &[&str] = &[
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO negotiations (pid, side, counterparty_pid, state, counterparty_id, counterparty_address, dataset_id,
                               offer, agreement_id, termination, history, last_error, created_at, updated_at)
     SELECT printf('urn:uuid:neg-%07d', i), 'provider', printf('urn:uuid:their-%07d', i),
            CASE WHEN i % 50 = 0 THEN 'TERMINATED' ELSE 'FINALIZED' END,
            printf('did:web:consumer-%d.example', i % 100), 'http://127.0.0.1:9/dsp/2025-1',
            printf('urn:passerelle:work:w%07d', i), NULL, printf('urn:uuid:agr-%07d', i), NULL,
            json_array(
              json_object('message', 'ContractRequestMessage', 'sender', 'consumer', 'state', 'REQUESTED', 'at', '2026-11-22T10:00:00Z'),
              json_object('message', 'ContractAgreementMessage', 'sender', 'provider', 'state', 'AGREED', 'at', '2026-11-22T10:00:01Z'),
              json_object('message', 'ContractAgreementVerificationMessage', 'sender', 'consumer', 'state', 'VERIFIED', 'at', '2026-11-22T10:00:02Z'),
              json_object('message', 'ContractNegotiationEventMessage', 'sender', 'provider', 'state', 'FINALIZED', 'at', '2026-11-22T10:00:03Z')),
            NULL, '2026-11-22T10:00:00Z', '2026-11-22T10:00:03Z'
     FROM n",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO agreements (id, side, negotiation_pid, target, assigner, assignee, timestamp, doc, created_at)
     SELECT printf('urn:uuid:agr-%07d', i), 'provider', printf('urn:uuid:neg-%07d', i),
            printf('urn:passerelle:work:w%07d', i), 'did:web:provider.example',
            printf('did:web:consumer-%d.example', i % 100), '2026-11-22T10:00:01Z',
            json_object('@id', printf('urn:uuid:agr-%07d', i), '@type', 'Agreement',
                        'target', printf('urn:passerelle:work:w%07d', i), 'assigner', 'did:web:provider.example',
                        'assignee', printf('did:web:consumer-%d.example', i % 100), 'timestamp', '2026-11-22T10:00:01Z',
                        'permission', json_array(json_object('action', 'use', 'constraint', json_array(
                            json_object('leftOperand', 'spatial', 'operator', 'isAnyOf', 'rightOperand', json_array('FR', 'BE')))))),
            '2026-11-22T10:00:01Z'
     FROM n",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO transfers (pid, side, counterparty_pid, state, counterparty_id, counterparty_address, audience,
                            agreement_id, format, data_address, termination, history, last_error, created_at, updated_at)
     SELECT printf('urn:uuid:tp-%07d', i), 'provider', printf('urn:uuid:their-tp-%07d', i),
            CASE WHEN i % 3 = 0 THEN 'COMPLETED' ELSE 'STARTED' END,
            printf('did:web:consumer-%d.example', i % 100), 'http://127.0.0.1:9/dsp/2025-1', NULL,
            printf('urn:uuid:agr-%07d', i), 'HttpData-PULL', NULL, NULL,
            json_array(json_object('message', 'TransferRequestMessage', 'sender', 'consumer', 'state', 'REQUESTED',
                                   'at', '2026-11-22T10:01:00Z')),
            NULL, '2026-11-22T10:01:00Z', '2026-11-22T10:01:00Z'
     FROM n",
    // One subtitle order per agreement, 10 % of them still open: the order list and the overview's order counts
    // and SLA checks run over the whole table. (Their event logs are not seeded: the order page is measured by
    // the e2e tests' real orders, not here.)
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
     INSERT INTO orders (id, side, order_id, agreement_id, transfer_pid, ordinal, peer_address, peer_token,
                         callback_token, state, created_at, updated_at)
     SELECT printf('urn:uuid:ord-%07d', i), 'lab', printf('PO-%07d', i), printf('urn:uuid:agr-%07d', i),
            printf('urn:uuid:tp-%07d', i), 1, 'http://127.0.0.1:9/exchange/callback', 'not-a-real-token', NULL,
            CASE WHEN i % 10 = 0 THEN '{\"state\":\"IN_PROGRESS\",\"stage\":\"translation\"}'
                 ELSE '{\"state\":\"ACCEPTED\"}' END,
            '2026-11-22T10:02:00Z', printf('2026-11-22T10:%02d:00Z', i % 60)
     FROM n",
];

fn form_body(pairs: &[(&str, &str)]) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
            .collect()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field") + marker.len();
    html[start..].split('"').next().unwrap_or_default().to_string()
}

#[tokio::main]
async fn main() {
    let rows = env_number("PASSERELLE_BENCH_AGREEMENTS", 100_000);
    let requests = env_number("PASSERELLE_BENCH_REQUESTS", 50);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().expect("utf-8").to_string();
    let init = Command::new(bin())
        .args(["init", "--dir", &path, "--name", "Bench", "--role", "distributor", "--no-default-offer"])
        .args(["--public-url", "http://127.0.0.1:8181"])
        .output()
        .expect("init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let db = dir.path().join("data/passerelle.db");
    let store = passerelle_connector::store::Store::open_file(&db).await.expect("store");
    store.close().await;

    let started = Instant::now();
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.expect("db");
    let mut tx = conn.begin().await.expect("tx");
    for statement in SEED {
        sqlx::query(*statement).bind(rows as i64).execute(&mut *tx).await.expect("seed");
    }
    tx.commit().await.expect("commit");
    conn.close().await.expect("close");
    println!(
        "seeded {rows} negotiations, agreements, transfers and orders in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let config = dir.path().join("passerelle.toml");
    let mut cmd = Command::new(bin());
    cmd.args(["run", "--config", config.to_str().expect("utf-8")]).stdout(Stdio::piped()).stderr(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("PASSERELLE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("PASSERELLE_PROTOCOL_BIND", "127.0.0.1:0")
        .env("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0")
        .env("PASSERELLE_DCP_ENABLED", "false")
        .env("RUST_LOG", "warn");
    let mut child = cmd.spawn().expect("run");
    let stdout = child.stdout.take().expect("stdout");
    let base = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("management listening on ").map(str::to_string))
        .expect("management address");

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    let key = std::fs::read_to_string(dir.path().join("secrets/management-api-key")).expect("key");
    let form = http.get(format!("{base}/console/login")).send().await.expect("login form");
    let login_cookie = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("passerelle_console_login="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .expect("login cookie");
    let token = csrf_in(&form.text().await.expect("login page"));
    let done = http
        .post(format!("{base}/console/login"))
        .header("cookie", login_cookie)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[("csrf", &token), ("api_key", key.trim())]))
        .send()
        .await
        .expect("login");
    let cookie = done
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("passerelle_console="))
        .map(|c| c.split(';').next().unwrap_or_default().to_string())
        .expect("session cookie");

    let last = format!("{rows:07}");
    let middle = format!("{:07}", rows / 2);
    let pages = [
        ("overview (counts by state, alerts, audit status)", "/console".to_string()),
        ("contracts, first page", "/console/contracts".to_string()),
        (
            "contracts, page in the middle (keyset cursor)",
            format!("/console/contracts?cursor=provider:urn:uuid:agr-{middle}"),
        ),
        (
            "contracts filtered by counter-party (1 % match)",
            "/console/contracts?counterparty=consumer-7.example".to_string(),
        ),
        ("contract detail (policy, negotiation, transfers)", format!("/console/contracts/urn:uuid:agr-{last}")),
        ("negotiations, state TERMINATED (2 %)", "/console/negotiations?state=TERMINATED".to_string()),
        ("negotiation detail", format!("/console/negotiations/urn:uuid:neg-{last}")),
        ("transfers of one agreement", format!("/console/transfers?agreement=urn:uuid:agr-{last}")),
        ("transfer detail", format!("/console/transfers/urn:uuid:tp-{last}")),
        ("audit trail page", "/console/audit".to_string()),
        ("subtitle orders, first page", "/console/orders".to_string()),
        ("subtitle orders, state IN_PROGRESS (10 %)", "/console/orders?state=IN_PROGRESS".to_string()),
    ];
    println!("| page | p50 | p99 | max |");
    println!("|---|---|---|---|");
    for (label, path) in &pages {
        let mut times = Vec::with_capacity(requests);
        for i in 0..requests + 5 {
            let t = Instant::now();
            let response = http.get(format!("{base}{path}")).header("cookie", &cookie).send().await.expect("page");
            let status = response.status();
            let body = response.text().await.expect("body");
            let elapsed = t.elapsed();
            assert_eq!(status, 200, "{path}: {body}");
            if i >= 5 {
                times.push(elapsed);
            }
        }
        times.sort();
        let at = |q: f64| times[((times.len() as f64 * q) as usize).min(times.len() - 1)];
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        println!("| {label} | {} | {} | {} |", ms(at(0.5)), ms(at(0.99)), ms(*times.last().expect("times")));
    }
    let _ = child.kill();
    let _ = child.wait();
}
