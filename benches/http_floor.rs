//! The HTTP floor under a DSP message: how many JSON POST exchanges (a ContractRequestMessage-sized body
//! and a ContractNegotiation-sized answer) axum and reqwest carry per second on loopback, the server on its own
//! 2-worker runtime (as a connector runs), the client on another. A negotiation is about six such exchanges
//! (four DSP messages, the management start and a long-poll), so this bounds the HTTP share of its CPU.
//!
//! `cargo bench --bench http_floor`; `PASSERELLE_BENCH_SECONDS` (default 5) and `PASSERELLE_BENCH_LEVELS`
//! (default `10,100`) as in the negotiation bench.

use std::time::{Duration, Instant};

use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

fn main() {
    let seconds: u64 = std::env::var("PASSERELLE_BENCH_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let levels: Vec<usize> = std::env::var("PASSERELLE_BENCH_LEVELS")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let server = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let listener = server.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
    let address = format!("http://{}/negotiations/request", listener.local_addr().expect("address"));
    let app = Router::new().route(
        "/negotiations/request",
        post(|Json(message): Json<Value>| async move {
            Json(json!({
                "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
                "@type": "ContractNegotiation",
                "providerPid": "urn:uuid:0f3b6a2e-8f3c-4c59-9d0e-5b2f4c1d7e10",
                "consumerPid": message["consumerPid"],
                "state": "REQUESTED"
            }))
        }),
    );
    server.spawn(async move { axum::serve(listener, app).await });

    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let body = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "offer": {"@id": "urn:uuid:d526561f-528e-4d5a-ae12-9a9b8e4b5d7a", "@type": "Offer", "target": "work:abc",
            "assigner": "did:web:provider.example", "permission": [{"action": "use", "constraint": [
                {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["FR", "DE"]}]}]},
        "callbackAddress": "http://127.0.0.1:9/dsp/2025-1/callback"
    });
    println!("HTTP floor: JSON POST exchanges through axum + reqwest on loopback, {seconds} s per level");
    println!("| concurrent | exchanges/s | µs of the 2 cores per exchange |");
    println!("|---|---|---|");
    for concurrency in levels {
        let http = reqwest::Client::new();
        let per_second = client.block_on(async {
            let started = Instant::now();
            let until = started + Duration::from_secs(seconds);
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..concurrency {
                let (http, body, address) = (http.clone(), body.clone(), address.clone());
                tasks.spawn(async move {
                    let mut done = 0u64;
                    while Instant::now() < until {
                        let answer = http.post(&address).json(&body).send().await.expect("exchange");
                        let _: Value = answer.json().await.expect("JSON answer");
                        done += 1;
                    }
                    done
                });
            }
            let mut total = 0;
            while let Some(done) = tasks.join_next().await {
                total += done.expect("client task");
            }
            total as f64 / started.elapsed().as_secs_f64()
        });
        println!("| {concurrency} | {per_second:.0} | {:.1} |", 2e6 / per_second);
    }
}
