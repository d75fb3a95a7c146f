//! Negotiation benchmark: complete contract negotiations per second and their latency,
//! between two real `passerelle run` processes on loopback (release build).
//!
//! Run with `cargo bench --bench negotiation`. For each of DCP off and DCP on (an
//! authority plus both connectors onboarded, as in `tests/it/dcp.rs`), and for 1, 10 and
//! 100 concurrent clients, each client loops: start a negotiation on the consumer's
//! management API (with the complete catalog offer, so no catalog read is measured),
//! then long-poll it (`GET /api/v1/negotiations/{pid}?wait_ms=…`) until it is FINALIZED.
//! Latency is start → FINALIZED as the client sees it.
//!
//! Environment: `PASSERELLE_BENCH_SECONDS` (per level, default 5), `PASSERELLE_BENCH_LEVELS`
//! (default `1,10,100`), `PASSERELLE_BENCH_DCP` (`off`, `on` or `both`, default `both`),
//! `PASSERELLE_BENCH_TRACE` (a `RUST_LOG` filter: both connectors log to the temp dir),
//! `PASSERELLE_BENCH_PACE` (default `1000`, or `off`): after the closed-loop levels, a paced level where 100
//! clients start that many negotiations per second between them. A closed loop of 100 clients always has
//! 100 negotiations in flight, so its latency is 100 / throughput (Little's law); the paced level shows the
//! latency at a given rate with 100 clients, which is what a latency goal at a rate can be held to.
//! `PASSERELLE_BENCH_TIMELINE=<dir>` writes each level's negotiations (start, latency) as CSV there, to tell a
//! tail spread over the run from one gathered in stalls.
//!
//! Where the time goes: the crypto part is computed from the number of ES256 signatures and
//! verifications a negotiation takes with DCP on (see [`CRYPTO_PER_MESSAGE`]) times their
//! cost measured here; the storage part from sqlx's own per-statement timings and the process
//! host's per-transaction timings (`store::direct`; a separate, logged run, since logging slows
//! the connectors down).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// DSP messages in one negotiation: request, agreement, verification, FINALIZED event.
const MESSAGES_PER_NEGOTIATION: u32 = 4;
/// Clients of the paced level (`PASSERELLE_BENCH_PACE`).
const PACED_CLIENTS: usize = 100;

/// ES256 operations per DSP message with DCP on in steady state, from the code path
/// (`DcpTokenSource`, `ParticipantVerifier::verify_authorization`): the caller signs a fresh ID
/// token and the verifier checks it. The access token inside is reused per counter-party, so
/// the verifier's cached presentation answers (`PresentationCache`); the full path — 4 signs,
/// 6 verifications and a presentation query — runs once per access token (every few minutes).
const CRYPTO_PER_MESSAGE: (u32, u32) = (1, 1);

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_passerelle")
}

fn shared_dir() -> PathBuf {
    let mut dir = Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf();
    loop {
        let candidate = dir.join("shared");
        if candidate.join("samples").is_dir() {
            return candidate;
        }
        assert!(dir.pop(), "no `shared/samples` folder above {}", env!("CARGO_MANIFEST_DIR"));
    }
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

fn run_ok(args: &[&str]) -> String {
    let out = command(args).output().expect("passerelle runs");
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A running process, killed when dropped.
struct Process {
    child: Child,
    lines: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `passerelle <args>` and waits for a line starting with each of `announces` (their rests, in order).
fn spawn(args: &[&str], env: &[(&str, &str)], announces: &[&str], stderr: Option<&Path>) -> Process {
    let mut cmd = command(args);
    cmd.stdout(Stdio::piped());
    match stderr {
        Some(path) => cmd.stderr(std::fs::File::create(path).expect("log file")),
        None => cmd.stderr(Stdio::null()),
    };
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn passerelle");
    let mut reader = BufReader::new(child.stdout.take().expect("stdout"));
    let mut found: Vec<Option<String>> = vec![None; announces.len()];
    let mut line = String::new();
    while found.iter().any(Option::is_none) {
        line.clear();
        if reader.read_line(&mut line).expect("read stdout") == 0 {
            panic!("{args:?} exited before announcing {announces:?}");
        }
        for (slot, prefix) in found.iter_mut().zip(announces) {
            if let Some(rest) = line.trim_end().strip_prefix(prefix) {
                *slot = Some(rest.to_string());
            }
        }
    }
    // Keep draining stdout so that the process never blocks on a full pipe.
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    Process { child, lines: found.into_iter().flatten().collect() }
}

struct Authority {
    _process: Process,
    _dir: tempfile::TempDir,
    url: String,
    did: String,
}

fn authority() -> Authority {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let path = dir.path().to_str().expect("utf-8").to_string();
    run_ok(&["authority", "init", "--dir", &path, "--name", "Bench Space", "--public-url", &url]);
    let config = dir.path().join("authority.toml").to_string_lossy().into_owned();
    let bind = format!("127.0.0.1:{port}");
    let process = spawn(
        &["authority", "run", "--config", &config],
        &[
            ("PASSERELLE_AUTHORITY_BIND", &bind),
            ("PASSERELLE_AUTHORITY_MANAGEMENT_BIND", "127.0.0.1:0"),
            ("RUST_LOG", "warn"),
        ],
        &["public listening on "],
        None,
    );
    Authority { _process: process, _dir: dir, url, did: format!("did:web:127.0.0.1%3A{port}") }
}

struct Connector {
    dir: tempfile::TempDir,
    port: u16,
    did: String,
    process: Option<Process>,
}

impl Connector {
    fn init(name: &str, role: &str, authority: Option<&Authority>) -> Connector {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let out = run_ok(&[
            "init",
            "--dir",
            &path,
            "--name",
            name,
            "--role",
            role,
            "--public-url",
            &url,
            "--registration-number",
            "vatID:FR40303265045",
            "--country",
            "FR",
            "--no-default-offer",
        ]);
        let did = format!("did:web:127.0.0.1%3A{port}");
        assert!(out.contains(&did), "{out}");
        if let Some(authority) = authority {
            let config = dir.path().join("passerelle.toml");
            let mut text = std::fs::read_to_string(&config).expect("config");
            text.push_str(&format!(
                "\n[identity]\nallow_http_did_web = true\n\n[trust]\nmembership = \"{}\"\n",
                authority.did
            ));
            std::fs::write(&config, text).expect("config written");
        }
        Connector { dir, port, did, process: None }
    }

    fn config(&self) -> String {
        self.dir.path().join("passerelle.toml").to_string_lossy().into_owned()
    }

    fn api_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("secrets/management-api-key")).expect("api key").trim().to_string()
    }

    fn protocol(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self, dcp: bool, log: Option<(&str, &Path)>) {
        self.process = None;
        let bind = format!("127.0.0.1:{}", self.port);
        let rust_log = log.map(|(filter, _)| filter).unwrap_or("warn");
        let env = [
            ("PASSERELLE_PROTOCOL_BIND", bind.as_str()),
            ("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0"),
            ("PASSERELLE_DCP_ENABLED", if dcp { "true" } else { "false" }),
            ("RUST_LOG", rust_log),
        ];
        let config = self.config();
        self.process =
            Some(spawn(&["run", "--config", &config], &env, &["management listening on "], log.map(|(_, p)| p)));
    }

    fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").child.id()
    }

    fn management(&self) -> String {
        self.process.as_ref().expect("running").lines[0].clone()
    }
}

/// A provider with one open offer and a consumer, both running; the full offer to request.
struct Pair {
    _authority: Option<Authority>,
    provider: Connector,
    consumer: Connector,
    offer: Value,
}

async fn admin(http: &reqwest::Client, node: &Connector, path: &str, body: &Value) {
    let response = http
        .post(format!("{}{path}", node.management()))
        .header("X-Api-Key", node.api_key())
        .json(body)
        .send()
        .await
        .expect("management call");
    assert_eq!(response.status().as_u16(), 201, "{path}: {}", response.text().await.unwrap_or_default());
}

async fn pair(http: &reqwest::Client, dcp: bool) -> Pair {
    let authority = dcp.then(authority);
    let mut provider = Connector::init("Bench Films", "distributor", authority.as_ref());
    let mut consumer = Connector::init("Bench TV", "broadcaster", authority.as_ref());
    let sample = shared_dir().join("samples/mddf/movielabs-mddf_MEC_movie_Counselor.xml");
    run_ok(&["import", "--config", &provider.config(), &sample.to_string_lossy()]);
    // `PASSERELLE_BENCH_TRACE=<RUST_LOG filter>` keeps both connectors' logs in the temp dir, to see where time goes.
    let trace = std::env::var("PASSERELLE_BENCH_TRACE").ok();
    let logs = trace.as_ref().map(|_| {
        let dir = std::env::temp_dir();
        let (p, c) = (
            dir.join(format!("passerelle-bench-provider-{}.log", provider.port)),
            dir.join(format!("passerelle-bench-consumer-{}.log", consumer.port)),
        );
        eprintln!("logs: {} {}", p.display(), c.display());
        (p, c)
    });
    provider.start(dcp, trace.as_deref().zip(logs.as_ref().map(|l| l.0.as_path())));
    consumer.start(dcp, trace.as_deref().zip(logs.as_ref().map(|l| l.1.as_path())));
    if let Some(authority) = &authority {
        for node in [&provider, &consumer] {
            run_ok(&["identity", "onboard", "--config", &node.config(), "--authority", &authority.url]);
        }
    }
    let policy = json!({"@id": "urn:bench:open", "@type": "Offer", "permission": [{"action": "use"}]});
    admin(http, &provider, "/api/v1/policies", &policy).await;
    let definition = json!({"id": "open", "title": "open", "policy_id": "urn:bench:open"});
    admin(http, &provider, "/api/v1/offer-definitions", &definition).await;

    let mut request = http.post(format!("{}/dsp/2025-1/catalog/request", provider.protocol())).json(
        &json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}),
    );
    if dcp {
        request = request.header("Authorization", token(&consumer, &provider.did));
    }
    let catalog: Value = request.send().await.expect("catalog").json().await.expect("catalog JSON");
    let offer = catalog["dataset"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|dataset| {
            let mut offer = dataset["hasPolicy"]
                .as_array()?
                .iter()
                .find(|o| o["@id"].as_str().is_some_and(|id| id.starts_with("urn:passerelle:offer:open:work:")))?
                .clone();
            offer["target"] = dataset["@id"].clone();
            Some(offer)
        })
        .unwrap_or_else(|| panic!("no open work offer in {catalog:#}"));
    Pair { _authority: authority, provider, consumer, offer }
}

fn key_of(node: &Connector) -> passerelle_identity::keys::KeyPair {
    passerelle_identity::keys::KeyPair::from_jwk_file(&node.dir.path().join("secrets/signing-key.jwk"))
        .expect("signing key")
}

fn token(node: &Connector, audience: &str) -> String {
    use passerelle_identity::did::Did;
    let identity = passerelle_identity::dcp::Identity::new(Did::parse(&node.did).expect("did"), key_of(node));
    passerelle_connector::identity::token::DcpTokenSource::new(identity)
        .authorization_for(&Did::parse(audience).expect("audience"))
        .expect("token")
}

/// CPU time (user + system) a process has used so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: u64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<u64>().ok()).sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

struct Level {
    /// CPU used by the provider and the consumer during the level.
    cpu: (Duration, Duration),
    concurrency: usize,
    completed: usize,
    failed: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    /// (start since the level began, latency) of every completed negotiation, in no order.
    timeline: Vec<(Duration, Duration)>,
    /// Wall-clock time of the level's start, to line the timeline up with the connectors' logs.
    began: std::time::SystemTime,
}

impl Level {
    fn rate(&self) -> f64 {
        self.completed as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let idx = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[idx]
    }
}

/// One negotiation, start → FINALIZED; `None` when it ended otherwise.
async fn negotiate(http: &reqwest::Client, management: &str, key: &str, body: &Value) -> Option<Duration> {
    let t0 = Instant::now();
    let response =
        http.post(format!("{management}/api/v1/negotiations")).header("X-Api-Key", key).json(body).send().await.ok()?;
    let created: Value = response.json().await.ok()?;
    let pid = created["pid"].as_str()?;
    loop {
        let view: Value = http
            .get(format!("{management}/api/v1/negotiations/{pid}?wait_ms=30000"))
            .header("X-Api-Key", key)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        match view["state"].as_str()? {
            "FINALIZED" => return Some(t0.elapsed()),
            "TERMINATED" => {
                eprintln!("terminated: {view}");
                return None;
            }
            _ if t0.elapsed() > Duration::from_secs(60) => return None,
            _ => {}
        }
    }
}

/// `concurrency` clients, each negotiating one after the other for `duration`. Closed loop (`pace: None`): each
/// starts its next negotiation as soon as the last ended. Paced (`Some(rate)`): the clients together start `rate`
/// negotiations per second, each on its own schedule (client `i` at `i / rate`, then every `concurrency / rate`);
/// a latency is counted from the scheduled start, so a negotiation begun late because the last one ran over
/// counts its wait too.
async fn level(
    http: &reqwest::Client,
    pair: &Pair,
    concurrency: usize,
    duration: Duration,
    pace: Option<f64>,
) -> Level {
    let body = Arc::new(json!({"counterPartyAddress": format!("{}/dsp/2025-1", pair.provider.protocol()),
        "offer": pair.offer}));
    let (management, key) = (Arc::new(pair.consumer.management()), Arc::new(pair.consumer.api_key()));
    let stop = Arc::new(AtomicBool::new(false));
    let pids = (pair.provider.pid(), pair.consumer.pid());
    let cpu0 = (cpu_time(pids.0), cpu_time(pids.1));
    let t0 = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let start = tokio::time::Instant::now();
    let wall_start = std::time::SystemTime::now();
    for client in 0..concurrency {
        let (http, body, management, key, stop) =
            (http.clone(), body.clone(), management.clone(), key.clone(), stop.clone());
        let schedule = pace.map(|rate| {
            let first = start + Duration::from_secs_f64(client as f64 / rate);
            (first, Duration::from_secs_f64(concurrency as f64 / rate))
        });
        tasks.spawn(async move {
            let (mut done, mut failed) = (Vec::new(), 0);
            let mut next = schedule.map(|(first, _)| first);
            while !stop.load(Ordering::Relaxed) {
                if let Some(at) = next {
                    tokio::time::sleep_until(at).await;
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                }
                let late = next.map_or(Duration::ZERO, |at| at.elapsed());
                let began = next.map_or_else(|| start.elapsed(), |at| at - start);
                match negotiate(&http, &management, &key, &body).await {
                    Some(latency) => done.push((began, late + latency)),
                    None => failed += 1,
                }
                next = next.zip(schedule).map(|(at, (_, every))| at + every);
            }
            (done, failed)
        });
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut result = Level {
        cpu: (Duration::ZERO, Duration::ZERO),
        concurrency,
        completed: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        timeline: Vec::new(),
        began: wall_start,
    };
    while let Some(joined) = tasks.join_next().await {
        let (done, failed) = joined.expect("client task");
        result.latencies.extend(done.iter().map(|(_, latency)| *latency));
        result.timeline.extend(done);
        result.failed += failed;
    }
    // Every client finishes the negotiation it was in: the window is until the last one ended.
    result.elapsed = t0.elapsed();
    result.cpu = (cpu_time(pids.0).saturating_sub(cpu0.0), cpu_time(pids.1).saturating_sub(cpu0.1));
    result.completed = result.latencies.len();
    result.latencies.sort();
    result
}

/// Mean cost of one ES256 signature and one verification, measured in this process.
fn es256_costs() -> (Duration, Duration) {
    use passerelle_identity::jose::{DecodedJws, sign_compact};
    let key = passerelle_identity::keys::KeyPair::generate_es256().expect("ES256 key");
    let payload = json!({"iss": "did:web:a", "sub": "did:web:a", "aud": "did:web:b", "exp": 2_000_000_000u64,
        "jti": "urn:uuid:00000000-0000-0000-0000-000000000000"});
    let n = 500;
    let t = Instant::now();
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        tokens.push(sign_compact(&key, "did:web:a#k", "JWT", None, &payload).expect("sign"));
    }
    let sign = t.elapsed() / n as u32;
    let public = key.public_key();
    let t = Instant::now();
    for token in &tokens {
        DecodedJws::decode(token).expect("decode").verify(&public).expect("verify");
    }
    (sign, t.elapsed() / n as u32)
}

/// Per-statement times sqlx logged (`elapsed_secs=`), summed per statement kind.
fn sqlite_time(log: &Path) -> (usize, Duration, HashMap<String, (usize, Duration)>) {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut total = Duration::ZERO;
    let mut count = 0;
    let mut by_kind: HashMap<String, (usize, Duration)> = HashMap::new();
    for line in text.lines() {
        let Some(secs) = line
            .split("elapsed_secs=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|s| s.parse::<f64>().ok())
        else {
            continue;
        };
        let spent = Duration::from_secs_f64(secs);
        let kind = line
            .split("summary=\"")
            .nth(1)
            .map(|rest| rest.split_whitespace().take(3).collect::<Vec<_>>().join(" ").trim_end_matches('"').to_string())
            .unwrap_or_else(|| "?".into());
        let entry = by_kind.entry(kind).or_default();
        entry.0 += 1;
        entry.1 += spent;
        total += spent;
        count += 1;
    }
    (count, total, by_kind)
}

/// With `PASSERELLE_BENCH_TIMELINE=<dir>`, writes `<dir>/<name>.csv`: one line per completed negotiation, its start
/// and latency in ms, in start order, to see whether a tail is spread out or gathered in stalls, and the start as
/// Unix milliseconds, to line it up with the connectors' logs (`PASSERELLE_BENCH_TRACE`).
fn write_timeline(name: &str, l: &Level) {
    let Ok(dir) = std::env::var("PASSERELLE_BENCH_TIMELINE") else { return };
    let mut lines = l.timeline.clone();
    lines.sort();
    let began = l.began.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let csv: String = std::iter::once("start_ms,latency_ms,start_unix_ms\n".to_string())
        .chain(lines.iter().map(|(at, latency)| {
            let ms = |d: Duration| d.as_secs_f64() * 1e3;
            format!("{:.3},{:.3},{:.3}\n", ms(*at), ms(*latency), ms(began + *at))
        }))
        .collect();
    let path = Path::new(&dir).join(format!("{name}.csv"));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, csv)) {
        eprintln!("cannot write the timeline {}: {e}", path.display());
    }
}

fn print_level(mode: &str, l: &Level) {
    println!("| {mode} | {:>3} | {} |", l.concurrency, l.columns());
}

impl Level {
    /// completed | failed | per second | p50 | p99 | max | CPU per negotiation, as table cells.
    fn columns(&self) -> String {
        format!(
            "{:>6} | {:>4} | {:>8.1} | {:>8.2} | {:>8.2} | {:>8.2} | {:>6.2} / {:>6.2}",
            self.completed,
            self.failed,
            self.rate(),
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.99).as_secs_f64() * 1e3,
            self.latencies.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            self.cpu.0.as_secs_f64() * 1e3 / self.completed.max(1) as f64,
            self.cpu.1.as_secs_f64() * 1e3 / self.completed.max(1) as f64,
        )
    }
}

fn main() {
    let seconds: u64 = std::env::var("PASSERELLE_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let levels: Vec<usize> = std::env::var("PASSERELLE_BENCH_LEVELS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 10, 100]);
    let modes: Vec<bool> = match std::env::var("PASSERELLE_BENCH_DCP").as_deref() {
        Ok("off") => vec![false],
        Ok("on") => vec![true],
        _ => vec![false, true],
    };
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let http = reqwest::Client::builder().pool_max_idle_per_host(256).build().expect("http client");
    let duration = Duration::from_secs(seconds);

    println!("negotiations between two `passerelle run` on loopback; {seconds} s per level, closed loop");
    println!(
        "| DCP | concurrent | completed | failed | per second | p50 ms | p99 ms | max ms | CPU ms/negotiation provider / consumer |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let pace: Option<f64> = match std::env::var("PASSERELLE_BENCH_PACE").as_deref() {
        Ok("off") | Ok("0") => None,
        Ok(rate) => Some(rate.parse().expect("PASSERELLE_BENCH_PACE: negotiations per second, or off")),
        Err(_) => Some(1000.0),
    };
    let mut by_mode = Vec::new();
    let mut paced = Vec::new();
    for dcp in &modes {
        let pair = rt.block_on(pair(&http, *dcp));
        // Warm-up: connections, caches (DID documents, status lists), SQLite pages.
        rt.block_on(level(&http, &pair, 10, Duration::from_millis(500), None));
        let mode = if *dcp { "on" } else { "off" };
        for &concurrency in &levels {
            let l = rt.block_on(level(&http, &pair, concurrency, duration, None));
            print_level(mode, &l);
            write_timeline(&format!("dcp-{mode}-{concurrency}"), &l);
            by_mode.push((*dcp, l));
        }
        if let Some(rate) = pace {
            let l = rt.block_on(level(&http, &pair, PACED_CLIENTS, duration, Some(rate)));
            write_timeline(&format!("dcp-{mode}-{PACED_CLIENTS}-paced-{rate}"), &l);
            paced.push((mode, rate, l));
        }
    }
    if !paced.is_empty() {
        println!();
        println!(
            "paced: {PACED_CLIENTS} concurrent clients starting the offered rate between them, each on its own \
             schedule; latency from the scheduled start"
        );
        println!(
            "| DCP | concurrent | offered/s | completed | failed | per second | p50 ms | p99 ms | max ms | CPU ms/negotiation provider / consumer |"
        );
        println!("|---|---|---|---|---|---|---|---|---|---|");
        for (mode, rate, l) in &paced {
            println!("| {mode} | {:>3} | {rate:>6.0} | {} |", l.concurrency, l.columns());
        }
    }

    let (sign, verify) = es256_costs();
    let (signs, verifies) =
        (CRYPTO_PER_MESSAGE.0 * MESSAGES_PER_NEGOTIATION, CRYPTO_PER_MESSAGE.1 * MESSAGES_PER_NEGOTIATION);
    let crypto = sign * signs + verify * verifies;
    println!();
    println!(
        "crypto with DCP on: {signs} ES256 signatures × {:.1} µs + {verifies} verifications × {:.1} µs = {:.2} ms CPU per negotiation (both sides together)",
        sign.as_secs_f64() * 1e6,
        verify.as_secs_f64() * 1e6,
        crypto.as_secs_f64() * 1e3
    );

    // Storage: a separate run with sqlx's statement log and the process host's transaction log
    // (`store::direct`: one line per transaction, its statements run synchronously) on both connectors, DCP off.
    let logs = tempfile::tempdir().expect("log dir");
    let mut pair = rt.block_on(pair(&http, false));
    let (provider_log, consumer_log) = (logs.path().join("provider.log"), logs.path().join("consumer.log"));
    let filter = "warn,sqlx::query=debug,passerelle_connector::store::direct=debug";
    pair.provider.start(false, Some((filter, &provider_log)));
    pair.consumer.start(false, Some((filter, &consumer_log)));
    let _ = std::fs::write(&provider_log, "");
    let _ = std::fs::write(&consumer_log, "");
    let measured = rt.block_on(level(&http, &pair, 10, Duration::from_secs(3), None));
    let mut total = Duration::ZERO;
    let mut statements = 0;
    let mut kinds: HashMap<String, (usize, Duration)> = HashMap::new();
    for log in [&provider_log, &consumer_log] {
        let (count, spent, by_kind) = sqlite_time(log);
        statements += count;
        total += spent;
        for (kind, (n, d)) in by_kind {
            let entry = kinds.entry(kind).or_default();
            entry.0 += n;
            entry.1 += d;
        }
    }
    let n = measured.completed.max(1) as u32;
    println!(
        "storage (DCP off, 10 concurrent, statement log on): {} negotiations, {:.1} sqlx statements and process-host transactions, {:.2} ms in SQLite per negotiation (both sides); wall p50 {:.2} ms",
        measured.completed,
        statements as f64 / f64::from(n),
        (total / n).as_secs_f64() * 1e3,
        measured.percentile(0.5).as_secs_f64() * 1e3,
    );
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by_key(|k| std::cmp::Reverse(k.1.1));
    for (kind, (count, spent)) in kinds.into_iter().take(8) {
        println!(
            "  {kind:<40} {:>6.1}/negotiation  {:>7.3} ms/negotiation",
            count as f64 / f64::from(n),
            (spent / n).as_secs_f64() * 1e3
        );
    }
}
