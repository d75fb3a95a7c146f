//! Search and SPARQL at scale: generates N realistic work datasets (default
//! 100,000; `CATALOG_BENCH_DATASETS=1000000` for a million) spread over 20
//! providers, renders them as DSP datasets with passerelle-dsp, indexes them
//! (and converts them to RDF with the JSON-LD processor), then reports search
//! latency percentiles over a mix of queries and the time of a SPARQL count.
//!
//! Run: `cargo bench -p passerelle-catalog --bench search`
//!
//! Crawl mode (`CATALOG_BENCH_CRAWL=1`): starts `CATALOG_BENCH_CRAWL_PROVIDERS` (10) DSP
//! catalog endpoints on loopback HTTP, each serving `CATALOG_BENCH_CRAWL_DATASETS` (10,000)
//! datasets in pages of 200 linked by `Link: rel="next"`, rendered on request (so the
//! providers hold no memory of their own), and times one [`Catalogue::crawl_all`] through
//! the real crawler (fetch, parse, JSON-LD → RDF, index, snapshot off), with the process's
//! peak RSS (`VmHWM`) before and after, then a SPARQL count over the crawled store.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oxigraph::store::Store;
use passerelle_catalog::graph::{Contexts, page_quads, participant_graph, replace_graph};
use passerelle_catalog::index::{Shard, ShardView, search};
use passerelle_catalog::record::DatasetRecord;
use passerelle_catalog::{
    Catalogue, CatalogueConfig, MemoryRegistry, Participant, QueryRunner, ResultsFormat, SearchParams,
};
use passerelle_dsp::catalog::{DatasetEntry, DatasetKind, ProviderInfo};
use passerelle_dsp::render::{Placement, Renderer};
use passerelle_media::{LanguageTag, RightsWindow, Territory, Work, WorkKind};

const PROVIDERS: usize = 20;
const ADJECTIVES: &[&str] = &[
    "Silent", "Northern", "Crimson", "Hidden", "Last", "Golden", "Broken", "Distant", "Electric", "Frozen", "Secret",
    "Wild", "Lonely", "Burning", "Endless", "Velvet",
];
const NOUNS: &[&str] = &[
    "River",
    "Passage",
    "Harbour",
    "Summer",
    "Empire",
    "Garden",
    "Station",
    "Frontier",
    "Orchard",
    "Lighthouse",
    "Kingdom",
    "Mirror",
    "Valley",
    "Signal",
    "Winter",
    "Island",
    "Bridge",
    "Archive",
];
const LANGS: &[&str] = &["fr", "de", "es", "es-419", "en", "it", "nl", "sv", "pt-BR", "ja"];
const AREAS: &[&str] = &["FR BE", "DE AT CH", "NO SE DK", "US CA", "ES PT", "IT", "GB IE", "AU NZ", "PL CZ", "JP"];
const LICENSES: &[&str] = &["SVOD", "EST", "FreeTV", "AVOD", "TVOD", "PayTV"];

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.next() % items.len()]
    }
}

fn entry(i: usize, provider: &str, rng: &mut Rng) -> DatasetEntry {
    let title = format!("The {} {} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS), i % 997);
    let lang = LanguageTag::parse(rng.pick(LANGS)).expect("valid tag");
    let territories: Vec<Territory> =
        rng.pick(AREAS).split_whitespace().map(|c| Territory::parse(c).expect("valid code")).collect();
    let work_id = format!("md:cid:org:p{provider}:{i}");
    let window = RightsWindow {
        id: format!("{work_id}:w"),
        work_id: work_id.clone(),
        licensor: None,
        license_type: rng.pick(LICENSES).into(),
        territories,
        excluded_territories: vec![],
        start: None,
        end: None,
        languages: vec![lang.clone()],
        holdback_languages: vec![],
        format_profile: None,
    };
    let dataset_id = format!("urn:passerelle:dataset:{work_id}");
    let offer = passerelle_policy::offer_for_window(&window, &format!("urn:offer:{i}"), &dataset_id, provider)
        .expect("offer")
        .to_json();
    DatasetEntry {
        id: dataset_id,
        kind: DatasetKind::Work,
        title: title.clone(),
        description: Some(format!("Versions and rights of {title}, a {} drama", rng.pick(ADJECTIVES).to_lowercase())),
        work: Some(Work {
            id: work_id,
            kind: if i.is_multiple_of(3) { WorkKind::Episode } else { WorkKind::Movie },
            title,
            titles: vec![],
            summary: None,
            original_language: Some(lang.clone()),
            release_year: Some(1990 + (i % 35) as i32),
            runtime_seconds: Some(5400),
            genres: vec!["Drama".into()],
            countries_of_origin: vec![],
            eidr: None,
            isan: None,
            alt_ids: vec![],
            credits: vec![],
            parent: None,
            sequence: None,
        }),
        versions: vec![],
        rights: vec![window],
        keywords: vec![],
        languages: vec![lang],
        offers: vec![offer],
        modified: None,
        service_terms: None,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// `VmHWM` (peak resident set) and `VmRSS` of this process, in MiB.
fn memory_mib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmHWM:"), field("VmRSS:"))
}

const CRAWL_PAGE: usize = 200;

#[derive(serde::Deserialize)]
struct PageQuery {
    page: Option<usize>,
}

/// One provider's catalog endpoint: page `page` of `datasets` rendered on request.
async fn serve_provider(p: usize, datasets: usize) -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::Query;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let id = format!("did:web:provider-{p}.example");
    let renderer = Arc::new(Renderer::new(ProviderInfo {
        participant_id: id.clone(),
        protocol_base_url: base.clone(),
        catalog_id: format!("urn:catalog:{p}"),
    }));
    let handler = move |Query(q): Query<PageQuery>| {
        let renderer = renderer.clone();
        let id = id.clone();
        async move {
            let page = q.page.unwrap_or(0);
            let body = tokio::task::spawn_blocking(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ ((p * 1_000_003 + page) as u64 + 1));
                let first = page * CRAWL_PAGE;
                let last = (first + CRAWL_PAGE).min(datasets);
                let mut catalog = renderer.catalog_head();
                catalog.dataset = (first..last)
                    .map(|i| renderer.dataset(&entry(p * datasets + i, &id, &mut rng), Placement::InCatalog))
                    .collect::<Result<_, _>>()
                    .expect("renderable");
                serde_json::to_vec(&catalog).expect("json")
            })
            .await
            .expect("render");
            let mut response = axum::response::Response::new(axum::body::Body::from(body));
            response.headers_mut().insert("content-type", axum::http::HeaderValue::from_static("application/json"));
            if (page + 1) * CRAWL_PAGE < datasets {
                let link = format!("</dsp/2025-1/catalog/request?page={}>; rel=\"next\"", page + 1);
                response.headers_mut().insert("link", axum::http::HeaderValue::from_str(&link).expect("header"));
            }
            response
        }
    };
    let app = axum::Router::new().route("/dsp/2025-1/catalog/request", axum::routing::post(handler));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve");
    });
    (base, task)
}

fn crawl_bench() {
    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default);
    let providers = env("CATALOG_BENCH_CRAWL_PROVIDERS", 10);
    let datasets = env("CATALOG_BENCH_CRAWL_DATASETS", 10_000);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let mut registry = Vec::new();
        let mut servers = Vec::new();
        for p in 0..providers {
            let (base, task) = serve_provider(p, datasets).await;
            registry.push(Participant::active(
                format!("did:web:provider-{p}.example"),
                format!("{base}/dsp/2025-1"),
                "distributor",
            ));
            servers.push(task);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(300)).build().expect("client");
        let mut config = CatalogueConfig::new("did:web:catalogue.example", "http://catalogue.example");
        config.fetch.page_size = CRAWL_PAGE;
        config.sparql_timeout = Duration::from_secs(120);
        let catalogue = Catalogue::new(
            MemoryRegistry::new(registry),
            passerelle_dsp::client::NoToken,
            http,
            Contexts::dsp_2025_1(),
            config,
        )
        .expect("catalogue");
        let (peak_before, rss_before) = memory_mib();
        let started = Instant::now();
        let statuses = catalogue.crawl_all().await.expect("crawl");
        let took = started.elapsed();
        let (peak_after, rss_after) = memory_mib();
        let crawled: usize = statuses.iter().map(|s| s.datasets).sum();
        assert!(statuses.iter().all(|s| s.error.is_none()), "a crawl failed: {statuses:?}");
        assert_eq!(crawled, providers * datasets);
        println!(
            "crawl of {providers} providers × {datasets} datasets ({crawled} datasets, {} quads) over loopback HTTP: {took:.2?} \
             ({:.0} datasets/s); RSS before {rss_before} MiB (peak {peak_before}), after {rss_after} MiB, peak {peak_after} MiB",
            catalogue.store().len().expect("store size"),
            crawled as f64 / took.as_secs_f64()
        );
        let hits = catalogue.search(
            &serde_urlencoded::from_str::<SearchParams>("q=lighthouse&territory=EU").expect("params").to_filter().expect("filter"),
        );
        println!("  search q=lighthouse&territory=EU over the crawled catalogue → {} matches", hits.total);
        let count = "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { GRAPH ?g { ?d a <http://www.w3.org/ns/dcat#Dataset> } }";
        for _ in 0..3 {
            let t = Instant::now();
            let answer = catalogue.sparql(count.into(), ResultsFormat::Csv).await.expect("count");
            println!(
                "  SPARQL count → {} in {:.2?}",
                String::from_utf8_lossy(&answer.body).replace("\r\n", " "),
                t.elapsed()
            );
        }
        for task in servers {
            task.abort();
        }
    });
}

fn main() {
    if std::env::var("CATALOG_BENCH_CRAWL").is_ok_and(|v| v != "0") {
        crawl_bench();
        return;
    }
    let total: usize = std::env::var("CATALOG_BENCH_DATASETS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let with_rdf = std::env::var("CATALOG_BENCH_RDF").map(|v| v != "0").unwrap_or(true);
    let spec = passerelle_dsp_spec_context_dir();
    let contexts = Contexts::new().with_dsp_contexts_from(&spec).expect("DSP contexts");
    let store = Store::new().expect("store");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);

    let started = Instant::now();
    let mut views = Vec::new();
    let mut rdf_time = Duration::ZERO;
    let mut quads_total = 0;
    for p in 0..PROVIDERS {
        let id = format!("did:web:provider-{p}.example");
        let base = format!("http://provider-{p}.example");
        let renderer = Renderer::new(ProviderInfo {
            participant_id: id.clone(),
            protocol_base_url: base.clone(),
            catalog_id: format!("urn:catalog:{p}"),
        });
        let entries: Vec<DatasetEntry> = (0..total / PROVIDERS).map(|i| entry(p * total + i, &id, &mut rng)).collect();
        let datasets: Vec<_> =
            entries.iter().map(|e| renderer.dataset(e, Placement::InCatalog).expect("renderable")).collect();
        if with_rdf {
            let rdf_started = Instant::now();
            let graph = participant_graph(&id);
            let mut quads = Vec::new();
            for chunk in datasets.chunks(500) {
                let mut catalog = renderer.catalog_head();
                catalog.dataset = chunk.to_vec();
                let page = serde_json::to_vec(&catalog).expect("json");
                let (q, problems) = page_quads(&contexts, &page, &format!("{base}/dsp/2025-1/catalog/request"), &graph);
                assert!(problems.is_empty(), "{problems:?}");
                quads.extend(q);
            }
            quads_total += quads.len();
            replace_graph(&store, &graph, &quads).expect("store");
            rdf_time += rdf_started.elapsed();
        }
        let records = datasets.iter().map(DatasetRecord::from_dataset).collect();
        views.push(ShardView {
            participant: Participant::active(id, format!("{base}/dsp/2025-1"), "distributor"),
            shard: Arc::new(Shard::new(records)),
            stale: false,
            last_success: None,
        });
    }
    let build = started.elapsed();
    println!(
        "built {total} datasets over {PROVIDERS} providers in {build:.2?} (of which JSON-LD→RDF + store: {rdf_time:.2?}, {quads_total} quads)"
    );
    let columns: usize = views.iter().map(|v| v.shard.columns_heap_bytes()).sum();
    let (peak, rss) = memory_mib();
    println!(
        "  facet columns and ranking: {:.1} MiB ({:.1} bytes/dataset); process RSS {rss} MiB, peak {peak} MiB",
        columns as f64 / (1024.0 * 1024.0),
        columns as f64 / total as f64
    );

    let queries = [
        "q=river",
        "q=the+silent+pass",
        "q=lighthouse&territory=EU",
        "language=es",
        "territory=Nordics&licenseType=FreeTV",
        "q=gold&language=pt&limit=50",
        "kind=work&workType=Episode&offset=100",
        "q=frozen+archive+42",
        "purpose=svod&territory=DACH",
        "q=e",
    ];
    let filters: Vec<_> = queries
        .iter()
        .map(|q| serde_urlencoded::from_str::<SearchParams>(q).expect("params").to_filter().expect("filter"))
        .collect();
    for (q, f) in queries.iter().zip(&filters) {
        println!("  {q:45} → {} matches", search(&views, f).total);
    }
    let mut times = Vec::new();
    let mut per_query = vec![Vec::new(); filters.len()];
    for _ in 0..50 {
        for (i, f) in filters.iter().enumerate() {
            let t = Instant::now();
            std::hint::black_box(search(&views, f));
            let took = t.elapsed();
            times.push(took);
            per_query[i].push(took);
        }
    }
    for (q, mut t) in queries.iter().zip(per_query) {
        t.sort();
        println!("  {q:45} p50 {:.2?}, max {:.2?}", percentile(&t, 0.5), t[t.len() - 1]);
    }
    times.sort();
    println!(
        "search over {total} datasets, {} queries: p50 {:.2?}, p99 {:.2?}, max {:.2?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times[times.len() - 1]
    );

    if with_rdf {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let runner = QueryRunner::new(1, Duration::from_secs(120));
        let count = "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { GRAPH ?g { ?d a <http://www.w3.org/ns/dcat#Dataset> } }";
        for _ in 0..3 {
            let t = Instant::now();
            let answer = runtime.block_on(runner.run(store.clone(), count.into(), ResultsFormat::Csv)).expect("count");
            println!(
                "SPARQL count → {} in {:.2?}",
                String::from_utf8_lossy(&answer.body).replace("\r\n", " "),
                t.elapsed()
            );
        }
    }
}

fn passerelle_dsp_spec_context_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/dsp-2025-1/context")
}
