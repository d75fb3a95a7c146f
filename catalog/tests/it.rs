//! End to end on loopback: three real DSP providers (passerelle-dsp's protocol
//! router over in-memory catalogs of works, a collection and a lab service), a
//! provider answering garbage, and the catalogue crawling them through its
//! HTTP router: search, SPARQL, the aggregated catalog, revocation,
//! unreachability, withdrawal and the snapshot.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use passerelle_catalog::{
    Catalogue, CatalogueConfig, Contexts, MemoryRegistry, Participant, ParticipantStatus, router,
};
use passerelle_dsp::catalog::{CatalogPage, CatalogSource, DatasetEntry, DatasetKind, ProviderInfo, SourceError};
use passerelle_dsp::client::StaticToken;
use passerelle_dsp::schema::{MessageKind, validate};
use passerelle_dsp::{CatalogPaging, protocol_address, protocol_router_with};
use passerelle_media::{
    Eidr, Isan, LanguageTag, LocalizedTitle, RightsWindow, SubtitleKind, SubtitleTrack, Territory, Version,
    VersionKind, Work, WorkKind,
};
use serde_json::{Value, json};
use time::macros::datetime;
use tokio::net::TcpListener;

// ---- providers ------------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct MemorySource(Arc<RwLock<Vec<DatasetEntry>>>);

impl MemorySource {
    fn new(entries: Vec<DatasetEntry>) -> Self {
        MemorySource(Arc::new(RwLock::new(entries)))
    }
    fn withdraw(&self, id: &str) {
        self.0.write().unwrap().retain(|e| e.id != id);
    }
}

impl CatalogSource for MemorySource {
    async fn page(&self, cursor: Option<String>, limit: usize) -> Result<CatalogPage, SourceError> {
        let entries = self.0.read().unwrap().clone();
        let start = match cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| SourceError::InvalidCursor(c))?,
        };
        let end = (start + limit).min(entries.len());
        let next_cursor = (end < entries.len()).then(|| end.to_string());
        Ok(CatalogPage { entries: entries.get(start..end).unwrap_or_default().to_vec(), next_cursor })
    }

    async fn dataset(&self, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        Ok(self.0.read().unwrap().iter().find(|e| e.id == id).cloned())
    }
}

struct Server {
    base: String,
    task: tokio::task::JoinHandle<()>,
}

async fn serve(app: axum::Router) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Server { base, task }
}

async fn provider(participant: &str, entries: Vec<DatasetEntry>, page_size: usize) -> (Server, MemorySource) {
    let source = MemorySource::new(entries);
    // The base URL is only known once bound: bind first, then build the router with it.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let info = ProviderInfo {
        participant_id: participant.into(),
        protocol_base_url: base.clone(),
        catalog_id: format!("urn:catalog:{participant}"),
    };
    let paging = CatalogPaging { default_limit: page_size, max_limit: page_size };
    let app = protocol_router_with(source.clone(), info, paging);
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (Server { base, task }, source)
}

fn lang(tag: &str) -> LanguageTag {
    LanguageTag::parse(tag).unwrap()
}

fn territories(codes: &str) -> Vec<Territory> {
    codes.split_whitespace().map(|c| Territory::parse(c).unwrap()).collect()
}

fn window(work: &str, license: &str, codes: &str, languages: &[&str]) -> RightsWindow {
    RightsWindow {
        id: format!("{work}:{license}"),
        work_id: work.into(),
        licensor: None,
        license_type: license.into(),
        territories: territories(codes),
        excluded_territories: vec![],
        start: Some(datetime!(2026-01-01 00:00 UTC)),
        end: Some(datetime!(2028-01-01 00:00 UTC)),
        languages: languages.iter().map(|l| lang(l)).collect(),
        holdback_languages: vec![],
        format_profile: Some("HD".into()),
    }
}

fn work(id: &str, kind: WorkKind, title: &str, original: &str) -> Work {
    Work {
        id: id.into(),
        kind,
        title: title.into(),
        titles: vec![],
        summary: None,
        original_language: Some(lang(original)),
        release_year: Some(2024),
        runtime_seconds: Some(5400),
        genres: vec!["Drama".into()],
        countries_of_origin: vec![],
        eidr: None,
        isan: None,
        alt_ids: vec![],
        credits: vec![],
        parent: None,
        sequence: None,
    }
}

/// A work dataset with one offer per rights window, generated as the connector does.
fn work_entry(provider: &str, work: Work, versions: Vec<Version>, windows: Vec<RightsWindow>) -> DatasetEntry {
    let dataset_id = format!("urn:passerelle:dataset:{}", work.id);
    let offers = windows
        .iter()
        .map(|w| {
            let offer_id = format!("urn:offer:{}", w.id);
            passerelle_policy::offer_for_window(w, &offer_id, &dataset_id, provider).unwrap().to_json()
        })
        .collect();
    DatasetEntry {
        id: dataset_id,
        kind: DatasetKind::Work,
        title: work.title.clone(),
        description: Some(format!("Versions and rights of {}", work.title)),
        languages: work.original_language.iter().cloned().collect(),
        work: Some(work),
        versions,
        rights: windows,
        keywords: vec![],
        offers,
        modified: Some(datetime!(2026-03-01 00:00 UTC)),
        service_terms: None,
    }
}

const DIST_A: &str = "did:web:dist-a.example";
const DIST_B: &str = "did:web:dist-b.example";
const LAB: &str = "did:web:lab.example";
const BROKEN: &str = "did:web:broken.example";
const PASSAGE_EIDR: &str = "10.5240/7EC7-228A-510A-053E-CBB8-J";

fn distributor_a() -> Vec<DatasetEntry> {
    let mut passage = work("md:cid:org:dist-a:ep-104", WorkKind::Episode, "Le Passage", "fr");
    passage.eidr = Some(Eidr::parse(PASSAGE_EIDR).unwrap());
    passage.isan = Some(Isan::parse("0000-0000-D07A-0090-Q").unwrap());
    passage.titles = vec![LocalizedTitle { language: lang("de"), title: "Die Passage".into(), summary: None }];
    let version = Version {
        id: "md:vid:org:dist-a:ep-104-broadcast".into(),
        work_id: passage.id.clone(),
        kind: VersionKind::Edit,
        label: Some("Broadcast".into()),
        eidr: Some(Eidr::parse("10.5240/1F2A-E1C5-680A-14C6-E76B-I").unwrap()),
        isan: None,
        runtime_seconds: Some(3120),
        frame_rate: Some("25".into()),
        audio_languages: vec![lang("fr")],
        subtitles: vec![SubtitleTrack {
            id: "sub-es".into(),
            language: lang("es-419"),
            kind: SubtitleKind::Subtitles,
            format: Some("IMSC1.1".into()),
            file: None,
        }],
        files: vec![],
    };
    let passage_id = passage.id.clone();
    let lights = work("md:cid:org:dist-a:lights", WorkKind::Movie, "Northern Lights", "nb");
    let lights_id = lights.id.clone();
    let mut collection =
        work_entry(DIST_A, work("x", WorkKind::Other, "x", "fr"), vec![], vec![window("coll", "FreeTV", "FR", &[])]);
    collection.id = "urn:passerelle:dataset:collection:fr-fta".into();
    collection.kind = DatasetKind::Collection;
    collection.title = "All works licensed for FR free-to-air".into();
    collection.work = None;
    vec![
        work_entry(
            DIST_A,
            passage,
            vec![version],
            vec![window(&passage_id, "SVOD", "FR BE", &["fr"]), window(&passage_id, "EST", "US", &[])],
        ),
        work_entry(DIST_A, lights, vec![], vec![window(&lights_id, "FreeTV", "NO SE DK", &["nb", "sv"])]),
        collection,
    ]
}

fn distributor_b() -> Vec<DatasetEntry> {
    let bridge = work("md:cid:org:dist-b:bridge", WorkKind::Movie, "Die Brücke", "de");
    let casa = work("md:cid:org:dist-b:casa", WorkKind::Movie, "La Casa del Mar", "es");
    let sunset = work("md:cid:org:dist-b:sunset", WorkKind::Movie, "Sunset Avenue", "en");
    let (b, c, s) = (bridge.id.clone(), casa.id.clone(), sunset.id.clone());
    vec![
        work_entry(DIST_B, bridge, vec![], vec![window(&b, "EST", "DE AT CH", &["de"])]),
        work_entry(DIST_B, casa, vec![], vec![window(&c, "SVOD", "ES", &["es"])]),
        work_entry(DIST_B, sunset, vec![], vec![window(&s, "AVOD", "US CA", &["en"])]),
    ]
}

fn lab() -> Vec<DatasetEntry> {
    let offer = json!({
        "@id": "urn:offer:lab:subtitling", "@type": "Offer",
        "permission": [{"action": "use", "constraint": [
            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "subtitling"}]}]
    });
    vec![DatasetEntry {
        id: "urn:passerelle:dataset:service:subtitling".into(),
        kind: DatasetKind::Service,
        title: "Subtitling service".into(),
        description: Some("Subtitles in French, German and Spanish; IMSC 1.1, SRT; 5-day turnaround".into()),
        work: None,
        versions: vec![],
        rights: vec![],
        keywords: vec!["subtitles".into(), "SDH".into()],
        languages: vec![lang("fr"), lang("de"), lang("es")],
        offers: vec![offer],
        modified: None,
        service_terms: None,
    }]
}

// ---- the catalogue --------------------------------------------------------------------------------------------

struct Space {
    dist_a: Server,
    dist_b_source: MemorySource,
    registry: MemoryRegistry,
    catalogue: Catalogue<MemoryRegistry, StaticToken>,
    api: String,
    http: reqwest::Client,
    _servers: Vec<Server>,
    snapshot: tempfile::TempDir,
}

fn contexts() -> Contexts {
    let dir = passerelle_dsp::schema::dsp_spec_dir().unwrap().join("context");
    Contexts::new().with_dsp_contexts_from(&dir).unwrap()
}

fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // No pooled connections: a stopped provider must look unreachable at once.
    reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap()
}

fn new_catalogue(registry: MemoryRegistry, snapshot: &std::path::Path) -> Catalogue<MemoryRegistry, StaticToken> {
    let mut config = CatalogueConfig::new("did:web:operator.example", "http://catalogue.example");
    config.snapshot_dir = Some(snapshot.to_path_buf());
    config.sparql_timeout = Duration::from_millis(500);
    Catalogue::new(registry, StaticToken("Bearer crawler".into()), http_client(), contexts(), config).unwrap()
}

async fn space() -> Space {
    let (dist_a, _) = provider(DIST_A, distributor_a(), 50).await;
    // Page size 2 with three datasets: the crawler has to follow `Link: rel="next"`.
    let (dist_b, dist_b_source) = provider(DIST_B, distributor_b(), 2).await;
    let (lab_server, _) = provider(LAB, lab(), 50).await;
    let broken = serve(axum::Router::new().route(
        "/dsp/2025-1/catalog/request",
        axum::routing::post(|| async { axum::Json(json!({"@context": ["x"], "@type": "Nonsense"})) }),
    ))
    .await;
    let registry = MemoryRegistry::new([
        Participant::active(DIST_A, protocol_address(&dist_a.base), "distributor"),
        Participant::active(DIST_B, protocol_address(&dist_b.base), "distributor"),
        Participant::active(LAB, protocol_address(&lab_server.base), "lab"),
        Participant::active(BROKEN, protocol_address(&broken.base), "broadcaster"),
    ]);
    let snapshot = tempfile::tempdir().unwrap();
    let catalogue = new_catalogue(registry.clone(), snapshot.path());
    let api = serve(router(catalogue.clone())).await;
    Space {
        dist_a,
        dist_b_source,
        registry,
        catalogue,
        api: api.base.clone(),
        http: http_client(),
        _servers: vec![dist_b, lab_server, broken, api],
        snapshot,
    }
}

impl Space {
    async fn get(&self, path: &str) -> (u16, Value) {
        let response = self.http.get(format!("{}{path}", self.api)).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn search(&self, query: &str) -> Vec<Value> {
        let (status, body) = self.get(&format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 200, "{body}");
        body["hits"].as_array().unwrap().clone()
    }

    async fn sparql(&self, query: &str, accept: &str) -> (u16, String) {
        let response = self
            .http
            .post(format!("{}/sparql", self.api))
            .header("accept", accept)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string([("query", query)]).unwrap())
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

fn titles(hits: &[Value]) -> Vec<&str> {
    hits.iter().map(|h| h["title"].as_str().unwrap()).collect()
}

const COUNT_DATASETS: &str =
    "SELECT (COUNT(DISTINCT ?d) AS ?n) WHERE { GRAPH ?g { ?d a <http://www.w3.org/ns/dcat#Dataset> } }";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crawl_search_sparql_and_the_aggregated_catalog() {
    let s = space().await;
    let statuses = s.catalogue.crawl_all().await.unwrap();
    let by_id = |id: &str| statuses.iter().find(|st| st.participant.id == id).unwrap();
    assert_eq!((by_id(DIST_A).datasets, by_id(DIST_A).offers), (3, 4));
    assert_eq!(by_id(DIST_B).datasets, 3, "three datasets over two pages");
    assert!(by_id(LAB).error.is_none() && by_id(LAB).warnings.is_empty(), "{:?}", by_id(LAB));
    let broken = by_id(BROKEN);
    let error = broken.error.as_ref().expect("a malformed catalog is reported");
    assert_eq!(error.kind, "malformed");
    assert!(error.message.contains("`@type`") || error.message.contains("@context"), "{}", error.message);
    assert_eq!((broken.datasets, broken.stale), (0, false));

    // A title (by prefix), with what is needed to negotiate.
    let hits = s.search("q=passag").await;
    assert_eq!(titles(&hits), ["Le Passage"]);
    let hit = &hits[0];
    assert_eq!(hit["provider"], DIST_A);
    assert_eq!(hit["providerAddress"], protocol_address(&s.dist_a.base));
    assert_eq!(hit["datasetId"], "urn:passerelle:dataset:md:cid:org:dist-a:ep-104");
    assert_eq!(
        hit["offerIds"],
        json!(["urn:offer:md:cid:org:dist-a:ep-104:SVOD", "urn:offer:md:cid:org:dist-a:ep-104:EST"])
    );
    assert_eq!(hit["stale"], false);
    // The localized title is searchable too.
    assert_eq!(titles(&s.search("q=die+passage").await), ["Le Passage"]);

    // EIDR, exact (DOI IRI form accepted); ISAN in any spelling.
    let hits = s.search(&format!("eidr=https://doi.org/{PASSAGE_EIDR}")).await;
    assert_eq!(titles(&hits), ["Le Passage"]);
    assert_eq!(titles(&s.search("isan=ISAN+0000-0000-D07A-0090-Q").await), ["Le Passage"]);
    assert!(s.search("eidr=10.5240/7EC7-228A-510A-053E-CBB8").await.is_empty(), "exact, not prefix");

    // Language by BCP 47 prefix: `es` finds the es-419 subtitles and the Spanish film and service.
    let hits = s.search("language=es").await;
    assert_eq!(titles(&hits), ["La Casa del Mar", "Le Passage", "Subtitling service"]);

    // Territory groups: only the offer usable there is returned.
    let hits = s.search("territory=Nordics&kind=work").await;
    assert_eq!(titles(&hits), ["Northern Lights"]);
    let hits = s.search("territory=DACH&kind=work").await;
    assert_eq!(titles(&hits), ["Die Brücke"]);
    let hits = s.search("q=passage&territory=EU").await;
    assert_eq!(hits[0]["offerIds"], json!(["urn:offer:md:cid:org:dist-a:ep-104:SVOD"]));
    let hits = s.search("q=passage&licenseType=EST").await;
    assert_eq!(hits[0]["offerIds"], json!(["urn:offer:md:cid:org:dist-a:ep-104:EST"]));

    // Other facets and paging.
    assert_eq!(titles(&s.search("role=lab").await), ["Subtitling service"]);
    assert_eq!(titles(&s.search("purpose=subtitling&kind=service").await), ["Subtitling service"]);
    assert_eq!(titles(&s.search("kind=collection").await), ["All works licensed for FR free-to-air"]);
    assert_eq!(titles(&s.search("workType=Episode").await), ["Le Passage"]);
    let (_, page) = s.get(&format!("/api/v1/search?provider={DIST_B}&limit=2&offset=2")).await;
    assert_eq!((page["total"].as_u64(), page["hits"].as_array().unwrap().len()), (Some(3), 1));
    assert_eq!(page["facets"]["provider"][DIST_B], 3);
    let (status, body) = s.get("/api/v1/search?territory=Atlantis").await;
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("territory"), "{body}");

    // SPARQL: a count in JSON and CSV.
    let (status, json_body) = s.sparql(COUNT_DATASETS, "application/sparql-results+json").await;
    assert_eq!(status, 200, "{json_body}");
    let v: Value = serde_json::from_str(&json_body).unwrap();
    assert_eq!(v["results"]["bindings"][0]["n"]["value"], "7");
    let (status, csv) = s.sparql(COUNT_DATASETS, "text/csv").await;
    assert_eq!((status, csv.replace('\r', "")), (200, "n\n7\n".to_string()));
    // Works of two providers meet by their EIDR IRI in the graph.
    let (_, body) = s
        .sparql(
            &format!(
                "SELECT ?g WHERE {{ GRAPH ?g {{ ?d <https://schema.org/about> <https://doi.org/{PASSAGE_EIDR}> }} }}"
            ),
            "application/json",
        )
        .await;
    assert!(body.contains(DIST_A), "{body}");
    // GET works too.
    let response = s
        .http
        .get(format!(
            "{}/sparql?{}",
            s.api,
            serde_urlencoded::to_string([("query", "ASK { GRAPH ?g { ?s ?p ?o } }")]).unwrap()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), r#"{"head":{},"boolean":true}"#);
    // Updates are refused, whichever way they come.
    let (status, body) = s.sparql("DROP ALL", "application/json").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("UPDATE_REFUSED"));
    let response = s
        .http
        .post(format!("{}/sparql", s.api))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("update=DROP+ALL")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(s.sparql(COUNT_DATASETS, "application/json").await.0, 200, "nothing was dropped");
    // A pathological query is stopped at the time limit.
    let started = std::time::Instant::now();
    let (status, body) = s
        .sparql(
            "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g1 { ?a ?b ?c } GRAPH ?g2 { ?d ?e ?f } GRAPH ?g3 { ?g ?h ?i } GRAPH ?g4 { ?j ?k ?l } }",
            "text/csv",
        )
        .await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("QUERY_TIMEOUT"));
    assert!(started.elapsed() < Duration::from_secs(5));

    // The aggregated DSP catalog nests each provider's catalog and is schema-valid.
    let response = s
        .http
        .post(format!("{}/dsp/2025-1/catalog/request", s.api))
        .json(&json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "CatalogRequestMessage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let aggregated: Value = response.json().await.unwrap();
    if let Err(errors) = validate(MessageKind::Catalog, &aggregated) {
        panic!("aggregated catalog invalid: {errors:?}");
    }
    let nested = aggregated["catalog"].as_array().unwrap();
    assert_eq!(nested.len(), 3, "the broken participant has no good catalog to show");
    let b = nested.iter().find(|c| c["participantId"] == DIST_B).unwrap();
    assert_eq!(b["dataset"].as_array().unwrap().len(), 3);
    assert!(b["service"][0]["endpointURL"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let response = s
        .http
        .post(format!("{}/dsp/2025-1/catalog/request", s.api))
        .json(&json!({"@type": "CatalogRequestMessage"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(response.json::<Value>().await.unwrap()["@type"], "CatalogError");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_withdrawal_unreachability_and_the_snapshot() {
    let s = space().await;
    s.catalogue.crawl_all().await.unwrap();
    assert_eq!(titles(&s.search("role=lab").await), ["Subtitling service"]);

    // Revoked: its offers leave the index and its graph leaves the store on the next crawl.
    assert!(s.registry.set_status(LAB, ParticipantStatus::Revoked));
    s.catalogue.crawl_all().await.unwrap();
    assert!(s.search("role=lab").await.is_empty());
    assert!(s.search("q=subtitling").await.is_empty());
    let (_, participants) = s.get("/api/v1/participants").await;
    assert!(!participants.as_array().unwrap().iter().any(|p| p["participant"]["id"] == LAB));
    let (_, body) = s.sparql(&format!("ASK {{ GRAPH <{LAB}> {{ ?s ?p ?o }} }}"), "application/json").await;
    assert!(body.contains("false"), "{body}");
    let response = s.http.post(format!("{}/api/v1/notify/{LAB}", s.api)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 409);

    // A withdrawn dataset disappears when its provider notifies the catalogue.
    s.dist_b_source.withdraw("urn:passerelle:dataset:md:cid:org:dist-b:sunset");
    let response = s.http.post(format!("{}/api/v1/notify/{DIST_B}", s.api)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["datasets"], 2);
    assert!(s.search("q=sunset").await.is_empty());
    assert_eq!(titles(&s.search("q=casa").await), ["La Casa del Mar"]);

    // Unreachable: the last good entries stay, marked stale with the last successful crawl.
    s.dist_a.task.abort();
    while !s.dist_a.task.is_finished() {
        tokio::task::yield_now().await;
    }
    let response = s.http.post(format!("{}/api/v1/notify/{DIST_A}", s.api)).send().await.unwrap();
    let status: Value = response.json().await.unwrap();
    assert_eq!(status["stale"], true, "{status}");
    assert_eq!(status["error"]["kind"], "unreachable");
    assert!(status["lastSuccess"].is_string());
    let hits = s.search("q=passage").await;
    assert_eq!(titles(&hits), ["Le Passage"]);
    assert_eq!(hits[0]["stale"], true);
    assert_eq!(hits[0]["lastCrawled"], status["lastSuccess"]);
    let response = s.http.post(format!("{}/api/v1/notify/did:web:nobody.example", s.api)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 404);

    // A catalogue started on the snapshot has the same entries, statuses and triples.
    let triples = s.catalogue.store().len().unwrap();
    let reloaded = new_catalogue(s.registry.clone(), s.snapshot.path());
    assert_eq!(reloaded.store().len().unwrap(), triples);
    assert_eq!(reloaded.statuses(), s.catalogue.statuses());
    let filter =
        passerelle_catalog::SearchParams { q: Some("passage".into()), ..Default::default() }.to_filter().unwrap();
    let hits = reloaded.search(&filter).hits;
    assert_eq!(hits.len(), 1);
    assert!(hits[0].stale);
    assert!(reloaded.search(&passerelle_catalog::SearchParams::default().to_filter().unwrap()).total >= 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_serving_another_participants_catalog_is_not_indexed() {
    // Registered as the impostor, the address answers distributor A's catalog (participantId DIST_A).
    let (copied, _) = provider(DIST_A, distributor_a(), 50).await;
    let impostor = "did:web:impostor.example";
    let registry = MemoryRegistry::new([Participant::active(impostor, protocol_address(&copied.base), "distributor")]);
    let snapshot = tempfile::tempdir().unwrap();
    let catalogue = new_catalogue(registry, snapshot.path());
    let statuses = catalogue.crawl_all().await.unwrap();
    let status = statuses.iter().find(|s| s.participant.id == impostor).expect("the impostor's status");
    let error = status.error.as_ref().expect("refused");
    assert_eq!(error.kind, "identity", "{error:?}");
    assert!(error.message.contains(DIST_A), "{error:?}");
    assert_eq!(catalogue.search(&passerelle_catalog::SearchParams::default().to_filter().unwrap()).total, 0);
}
