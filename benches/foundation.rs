//! Foundation benchmark: the figures of BENCHMARKS.md "Foundation" section.
//!
//! Run with `cargo bench --bench foundation` (release build). It drives the real
//! `passerelle` binary as a user would: `init`, `import` of N generated MEC works,
//! `run`, then measures start-up time, idle RSS and the latency of the first DSP
//! catalog page. `PASSERELLE_BENCH_WORKS` sets N (default 100,000).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_passerelle")
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()
}

struct Running {
    child: Child,
    protocol: String,
    startup: Duration,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(config: &Path) -> Running {
    let t0 = Instant::now();
    let mut child = Command::new(bin())
        .args(["run", "--config"])
        .arg(config)
        .env("PASSERELLE_PROTOCOL_BIND", "127.0.0.1:0")
        .env("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0")
        .env("RUST_LOG", "warn")
        // The foundation figures are the catalog's own cost; DCP verification is measured
        // separately (passerelle-identity's `verify` bench and the negotiation bench).
        .env("PASSERELLE_DCP_ENABLED", "false")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn passerelle run");
    let stdout = child.stdout.take().expect("stdout");
    let mut protocol = None;
    let mut management = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read stdout");
        if let Some(url) = line.strip_prefix("protocol listening on ") {
            protocol = Some(url.trim().to_string());
        } else if line.starts_with("management listening on ") {
            management = true;
        }
        if protocol.is_some() && management {
            break;
        }
    }
    let startup = t0.elapsed();
    Running { child, protocol: protocol.expect("protocol listener line"), startup }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn main() {
    // `cargo bench` passes `--bench`; ignore arguments.
    let works: usize = std::env::var("PASSERELLE_BENCH_WORKS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let conf_dir = dir.path().join("conn");
    let status = Command::new(bin())
        .args(["init", "--name", "Bench Distributor", "--role", "distributor", "--public-url", "http://127.0.0.1:8181"])
        .arg("--dir")
        .arg(&conf_dir)
        .stdout(Stdio::null())
        .status()
        .expect("init");
    assert!(status.success(), "passerelle init failed");
    let config = conf_dir.join("passerelle.toml");

    let feed = dir.path().join("feed.xml");
    let t = Instant::now();
    std::fs::write(&feed, passerelle_mam::testdata::generate_mec_feed(works)).expect("write feed");
    let gen_time = t.elapsed();
    let feed_size = std::fs::metadata(&feed).map(|m| m.len()).unwrap_or(0);

    // A fresh, empty connector first: start-up time and idle RSS without data.
    let empty = start(&config);
    std::thread::sleep(Duration::from_millis(500)); // let the allocator settle before reading RSS (measurement, not sync)
    let empty_rss = rss_kib(empty.child.id()).unwrap_or(0);
    let empty_startup = empty.startup;
    drop(empty);

    let t = Instant::now();
    let out =
        Command::new(bin()).args(["import", "--json", "--config"]).arg(&config).arg(&feed).output().expect("import");
    let import_time = t.elapsed();
    assert!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));

    let run = start(&config);
    std::thread::sleep(Duration::from_millis(500));
    let idle_rss = rss_kib(run.child.id()).unwrap_or(0);

    // reqwest is built without a default rustls provider (one provider for the whole workspace: ring).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let url = format!("{}/dsp/2025-1/catalog/request", run.protocol);
    let body = serde_json::json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage"
    });
    let (lat, datasets) = rt.block_on(async {
        let client = reqwest::Client::new();
        let mut lat = Vec::new();
        let mut datasets = 0;
        for i in 0..1_100 {
            let t = Instant::now();
            let resp = client.post(&url).json(&body).send().await.expect("catalog request");
            assert!(resp.status().is_success(), "catalog status {}", resp.status());
            let bytes = resp.bytes().await.expect("body");
            let d = t.elapsed();
            if i == 0 {
                let v: serde_json::Value = serde_json::from_slice(&bytes).expect("catalog json");
                datasets = v["dataset"].as_array().map(|a| a.len()).unwrap_or(0);
            }
            if i >= 100 {
                lat.push(d); // the first 100 warm the connection and caches
            }
        }
        (lat, datasets)
    });
    let mut sorted = lat.clone();
    sorted.sort();
    let loaded_rss = rss_kib(run.child.id()).unwrap_or(0);

    println!(
        "passerelle foundation benchmark ({works} generated MEC works, feed {:.1} MiB, generated in {:.2?})",
        feed_size as f64 / 1048576.0,
        gen_time
    );
    println!("import: {:.2?} wall ({:.0} works/s)", import_time, works as f64 / import_time.as_secs_f64());
    println!(
        "start-up (empty store): {:.1?}; idle RSS (empty store): {:.1} MiB",
        empty_startup,
        empty_rss as f64 / 1024.0
    );
    println!("start-up ({works} works): {:.1?}; idle RSS: {:.1} MiB", run.startup, idle_rss as f64 / 1024.0);
    println!(
        "first catalog page ({datasets} datasets/page), {} sequential requests: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        sorted.len(),
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.99),
        sorted[sorted.len() - 1]
    );
    println!("RSS after the catalog requests: {:.1} MiB", loaded_rss as f64 / 1024.0);
}
