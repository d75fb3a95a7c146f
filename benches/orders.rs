//! Orders benchmark (issue 7): 1,000 subtitle orders with 20 events each between two real `passerelle run`
//! processes on loopback (release build), a distributor and a lab holding a service agreement.
//!
//! Run with `cargo bench --bench orders`. Each of `PASSERELLE_BENCH_CONCURRENCY` clients (default 16) takes the
//! next order and drives it as the two parties' people would, through the management APIs:
//! place (1) → lab quotes (2), waits until the distributor sees it → distributor confirms (3), waits until the lab
//! sees it → lab: materials (4), 13 stage progress reports (5–17), delivered (18), waits until the distributor has
//! all 18 → distributor validates (19) and accepts (20), waits until the lab sees ACCEPTED. Each wait is a
//! round trip measured from the API call to the state visible on the other side (polled every 5 ms, so a round
//! trip is over-estimated by up to 5 ms). `PASSERELLE_BENCH_ORDERS` changes the number of orders. DCP is off: the
//! order channel authenticates with the transfer's data-plane token and callback token, not DCP.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const EVENTS_PER_ORDER: usize = 20;
const STAGES: [(&str, u8); 13] = [
    ("template", 50),
    ("template", 100),
    ("spotting", 50),
    ("spotting", 100),
    ("translation", 20),
    ("translation", 40),
    ("translation", 60),
    ("translation", 80),
    ("translation", 100),
    ("review", 50),
    ("review", 100),
    ("qc", 50),
    ("qc", 100),
];

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_passerelle")
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("free port").local_addr().expect("addr").port()
}

fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("PASSERELLE_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A running connector (killed when dropped).
struct Node {
    child: Child,
    _dir: tempfile::TempDir,
    protocol: String,
    management: String,
    key: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn node(name: &str, role: &str) -> Node {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let path = dir.path().to_str().expect("utf-8").to_string();
    let url = format!("http://127.0.0.1:{port}");
    let init = command(&["init", "--dir", &path, "--name", name, "--role", role, "--public-url", &url])
        .arg("--no-default-offer")
        .output()
        .expect("init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    let config = dir.path().join("passerelle.toml").to_string_lossy().into_owned();
    let mut child = command(&["run", "--config", &config])
        .env("PASSERELLE_PROTOCOL_BIND", format!("127.0.0.1:{port}"))
        .env("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0")
        .env("PASSERELLE_DCP_ENABLED", "false")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut management = None;
    let mut line = String::new();
    while management.is_none() {
        line.clear();
        assert!(reader.read_line(&mut line).expect("stdout") > 0, "{name} exited before listening");
        management = line.trim_end().strip_prefix("management listening on ").map(str::to_string);
    }
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let key = std::fs::read_to_string(dir.path().join("secrets/management-api-key")).expect("key").trim().to_string();
    Node { child, _dir: dir, protocol: url, management: management.expect("management"), key }
}

#[derive(Clone)]
struct Api {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Api {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).header("X-Api-Key", &self.key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn ok(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Value {
        let (status, answer) = self.call(method.clone(), path, body).await;
        assert!((200..300).contains(&status), "{method} {path}: {status} {answer:#}");
        answer
    }

    async fn event(&self, id: &str, event: Value) {
        self.ok(reqwest::Method::POST, &format!("/api/v1/orders/{id}/events"), Some(&json!({"event": event}))).await;
    }

    /// Polls order `id` until `done`; the time it took.
    async fn until(&self, id: &str, done: impl Fn(&Value) -> bool) -> Duration {
        let started = Instant::now();
        loop {
            let (status, order) = self.call(reqwest::Method::GET, &format!("/api/v1/orders/{id}"), None).await;
            if status == 200 && done(&order) {
                return started.elapsed();
            }
            assert!(started.elapsed() < Duration::from_secs(120), "order {id} stuck: {order:#}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

fn order(n: usize) -> Value {
    let id = format!("PO-{n:05}");
    passerelle_connector::demo::subtitle_order(&id, "md:cid:org:example:bench", "Bench work", BENCH_EIDR, "es")
}

/// The edit every order of the run is for.
const BENCH_EIDR: &str = "10.5240/2156-FA16-777A-20BF-AF2B-C";

/// One order's life; its four round trips.
async fn drive(distributor: &Api, lab: &Api, transfer: &str, n: usize) -> [Duration; 4] {
    let placed = distributor
        .ok(reqwest::Method::POST, "/api/v1/orders", Some(&json!({"transferPid": transfer, "order": order(n)})))
        .await;
    let ours = placed["id"].as_str().expect("id").to_string();
    let reference = format!("PO-{n:05}");
    let list = lab.ok(reqwest::Method::GET, "/api/v1/orders", None).await;
    let theirs = list["items"]
        .as_array()
        .and_then(|items| items.iter().find(|o| o["orderId"] == reference.as_str()))
        .and_then(|o| o["id"].as_str())
        .expect("the lab holds the order")
        .to_string();
    lab.event(&theirs, json!({"type": "Quoted"})).await;
    let quoted = distributor.until(&ours, |o| o["state"] == "QUOTED").await;
    distributor.event(&ours, json!({"type": "Confirmed"})).await;
    let confirmed = lab.until(&theirs, |o| o["state"] == "CONFIRMED").await;
    lab.event(&theirs, json!({"type": "MaterialsReceived", "materials": ["proxy"], "complete": true})).await;
    for (stage, percent) in STAGES {
        lab.event(&theirs, json!({"type": "StageProgress", "stage": stage, "percent": percent})).await;
    }
    lab.event(&theirs, json!({"type": "Delivered", "manifestRef": format!("manifest-{n}")})).await;
    let delivered =
        distributor.until(&ours, |o| o["state"] == "DELIVERED" && o["log"].as_array().map_or(0, Vec::len) == 18).await;
    distributor.event(&ours, json!({"type": "Validated", "qcReportRef": format!("qc-{n}")})).await;
    distributor.event(&ours, json!({"type": "Accepted"})).await;
    let accepted = lab
        .until(&theirs, |o| o["state"] == "ACCEPTED" && o["log"].as_array().map_or(0, Vec::len) == EVENTS_PER_ORDER)
        .await;
    [quoted, confirmed, delivered, accepted]
}

#[tokio::main]
async fn main() {
    let orders = env_number("PASSERELLE_BENCH_ORDERS", 1_000);
    let concurrency = env_number("PASSERELLE_BENCH_CONCURRENCY", 16);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().expect("client");
    let lab_node = node("Bench Lab", "lab");
    let distributor_node = node("Bench Films", "distributor");
    let lab = Api { http: http.clone(), base: lab_node.management.clone(), key: lab_node.key.clone() };
    let distributor =
        Api { http: http.clone(), base: distributor_node.management.clone(), key: distributor_node.key.clone() };

    // The lab's service, under a policy allowing every order of the run, in Spanish.
    let policy = json!({"@id": "urn:lab:bench", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "count", "operator": "lteq", "rightOperand": orders},
        {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es"]}]}]});
    lab.ok(reqwest::Method::POST, "/api/v1/policies", Some(&policy)).await;
    let service = json!({"id": "subtitling", "title": "Subtitling", "languages": ["es"], "kinds": ["subtitles"],
        "formats": ["srt"], "turnaround_days": 10, "price": {"currency": "EUR", "per_minute": "4.50"},
        "policy_id": "urn:lab:bench"});
    lab.ok(reqwest::Method::POST, "/api/v1/services", Some(&service)).await;
    let request =
        json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"});
    let catalog: Value = http
        .post(format!("{}/dsp/2025-1/catalog/request", lab_node.protocol))
        .json(&request)
        .send()
        .await
        .expect("catalog")
        .json()
        .await
        .expect("catalog JSON");
    let dataset = &catalog["dataset"][0];
    let start = json!({"counterPartyAddress": format!("{}/dsp/2025-1", lab_node.protocol),
        "datasetId": dataset["@id"], "offerId": dataset["hasPolicy"][0]["@id"]});
    let negotiation = distributor.ok(reqwest::Method::POST, "/api/v1/negotiations", Some(&start)).await;
    let pid = negotiation["pid"].as_str().expect("pid").to_string();
    let started = Instant::now();
    let agreement = loop {
        let n = distributor.ok(reqwest::Method::GET, &format!("/api/v1/negotiations/{pid}"), None).await;
        if n["state"] == "FINALIZED" {
            break n["agreement_id"].as_str().expect("agreement").to_string();
        }
        assert!(n["state"] != "TERMINATED" && started.elapsed() < Duration::from_secs(30), "{n:#}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let transfer = distributor
        .ok(
            reqwest::Method::POST,
            "/api/v1/transfers",
            Some(&json!({"agreementId": agreement, "format": "HttpData-PULL"})),
        )
        .await;
    let transfer = transfer["pid"].as_str().expect("transfer").to_string();
    loop {
        let t = distributor.ok(reqwest::Method::GET, &format!("/api/v1/transfers/{transfer}"), None).await;
        if t["state"] == "STARTED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    println!("{orders} orders × {EVENTS_PER_ORDER} events, {concurrency} concurrent clients");
    let next = Arc::new(AtomicUsize::new(0));
    let began = Instant::now();
    let mut clients = Vec::new();
    for _ in 0..concurrency {
        let (distributor, lab, transfer, next) = (distributor.clone(), lab.clone(), transfer.clone(), next.clone());
        clients.push(tokio::spawn(async move {
            let mut trips = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= orders {
                    return trips;
                }
                trips.push(drive(&distributor, &lab, &transfer, n).await);
            }
        }));
    }
    let mut lives: Vec<[Duration; 4]> = Vec::new();
    for client in clients {
        lives.extend(client.await.expect("client"));
    }
    let wall = began.elapsed();
    let mut trips: Vec<Duration> = lives.iter().flatten().copied().collect();
    trips.sort();
    let at = |q: f64| trips[((trips.len() as f64 * q) as usize).min(trips.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let events = orders * EVENTS_PER_ORDER;
    println!("| orders | events | wall | orders/s | events/s | round trip p50 | p99 | max |");
    println!("|---|---|---|---|---|---|---|---|");
    println!(
        "| {orders} | {events} | {:.1} s | {:.1} | {:.0} | {:.1} ms | {:.1} ms | {:.1} ms |",
        wall.as_secs_f64(),
        orders as f64 / wall.as_secs_f64(),
        events as f64 / wall.as_secs_f64(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(*trips.last().expect("trips")),
    );
    // Which wait the tail comes from: each round trip on its own.
    println!("\n| round trip | p50 | p99 | max |\n|---|---|---|---|");
    let kinds = [
        "quote seen by the distributor",
        "confirmation seen by the lab",
        "18 events seen by the distributor",
        "acceptance seen by the lab",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        let mut one: Vec<Duration> = lives.iter().map(|life| life[i]).collect();
        one.sort();
        let q = |q: f64| ms(one[((one.len() as f64 * q) as usize).min(one.len() - 1)]);
        println!("| {kind} | {:.1} ms | {:.1} ms | {:.1} ms |", q(0.5), q(0.99), ms(*one.last().expect("trips")));
    }
    drop(distributor_node);
    drop(lab_node);
}
