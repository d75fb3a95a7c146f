//! The DSP routers for real: the catalog provider with an in-memory catalogue
//! (here), negotiations and transfers through the router with the
//! `MemoryHost` on both sides ([`negotiation`], [`transfer`]), and the client
//! against routers served on 127.0.0.1 ([`client`]). Every response body is
//! checked against the official schemas.

mod client;
mod negotiation;
mod process;
mod transfer;

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use passerelle_dsp::catalog::{CatalogPage, CatalogSource, DatasetEntry, DatasetKind, ProviderInfo, SourceError};
use passerelle_dsp::media_context::MEDIA_CONTEXT;
use passerelle_dsp::message::DSPACE_CONTEXT;
use passerelle_dsp::schema::{MessageKind, validate};
use passerelle_dsp::{CatalogPaging, protocol_router, protocol_router_with};
use passerelle_media::{Eidr, LanguageTag, Work, WorkKind};
use serde_json::{Value, json};
use tower::ServiceExt;

const BASE: &str = "http://127.0.0.1:8181";
const REQUEST_PATH: &str = "/dsp/2025-1/catalog/request";

#[derive(Clone)]
struct MemorySource {
    entries: Arc<Vec<DatasetEntry>>,
    failure: Option<SourceError>,
}

impl MemorySource {
    fn new(entries: Vec<DatasetEntry>) -> Self {
        let mut entries = entries;
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        MemorySource { entries: Arc::new(entries), failure: None }
    }
}

impl CatalogSource for MemorySource {
    // Keyset pagination: the cursor is the id of the first entry of the page.
    async fn page(&self, cursor: Option<String>, limit: usize) -> Result<CatalogPage, SourceError> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        let start = match &cursor {
            None => 0,
            Some(c) => self.entries.iter().position(|e| &e.id == c).ok_or(SourceError::InvalidCursor(c.clone()))?,
        };
        let entries: Vec<DatasetEntry> = self.entries.iter().skip(start).take(limit).cloned().collect();
        let next_cursor = self.entries.get(start + limit).map(|e| e.id.clone());
        Ok(CatalogPage { entries, next_cursor })
    }

    async fn dataset(&self, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        Ok(self.entries.iter().find(|e| e.id == id).cloned())
    }
}

fn info() -> ProviderInfo {
    ProviderInfo {
        participant_id: "did:web:distributor.example".into(),
        protocol_base_url: BASE.into(),
        catalog_id: "urn:uuid:6f1c2a4e-0b7d-4c55-9d0e-3a1f2b3c4d5e".into(),
    }
}

fn offer(id: &str) -> Value {
    json!({"@id": id, "@type": "Offer",
           "permission": [{"action": "use", "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"}]}]})
}

fn work_entry(n: usize) -> DatasetEntry {
    DatasetEntry {
        id: format!("urn:passerelle:dataset:work:{n:03}"),
        kind: DatasetKind::Work,
        title: format!("Work {n}"),
        description: Some(format!("Versions and rights of work {n}")),
        work: Some(Work {
            id: format!("md:cid:org:example:{n}"),
            kind: WorkKind::Movie,
            title: format!("Work {n}"),
            titles: vec![],
            summary: None,
            original_language: Some(LanguageTag::parse("fr").unwrap()),
            release_year: Some(2000 + n as i32),
            runtime_seconds: Some(5400),
            genres: vec!["Drama".into()],
            countries_of_origin: vec![],
            eidr: (n == 0).then(|| Eidr::parse("10.5240/AD07-310C-C59D-6785-C63A-G").unwrap()),
            isan: None,
            alt_ids: vec![],
            credits: vec![],
            parent: None,
            sequence: None,
        }),
        versions: vec![],
        rights: vec![],
        keywords: vec!["feature".into()],
        languages: vec![LanguageTag::parse("fr").unwrap()],
        offers: vec![offer(&format!("urn:passerelle:offer:{n}"))],
        modified: None,
        service_terms: None,
    }
}

fn collection_entry() -> DatasetEntry {
    DatasetEntry {
        id: "urn:passerelle:dataset:collection:fr-free-tv".into(),
        kind: DatasetKind::Collection,
        title: "All works licensed for FR free-to-air".into(),
        description: None,
        work: None,
        versions: vec![],
        rights: vec![],
        keywords: vec![],
        languages: vec![],
        offers: vec![offer("urn:passerelle:offer:collection")],
        modified: None,
        service_terms: None,
    }
}

const SLASHED_ID: &str = "urn:passerelle:dataset:work:10.5240/AD07-310C-C59D-6785-C63A-G";

/// 8 publishable datasets (one with a `/` in its id) plus one without offers (never listed).
fn catalogue() -> Vec<DatasetEntry> {
    let mut entries: Vec<DatasetEntry> = (0..6).map(work_entry).collect();
    entries.push(collection_entry());
    let mut slashed = work_entry(7);
    slashed.id = SLASHED_ID.into();
    entries.push(slashed);
    let mut hidden = work_entry(99);
    hidden.offers.clear();
    entries.push(hidden);
    entries
}

fn router() -> Router {
    protocol_router(MemorySource::new(catalogue()), info())
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    Reply { status, headers, body }
}

fn catalog_request_body() -> String {
    json!({"@context": [DSPACE_CONTEXT], "@type": "CatalogRequestMessage", "filter": []}).to_string()
}

fn post(uri: &str, body: impl Into<Body>) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body.into())
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::builder().uri(uri).body(Body::empty()).unwrap()
}

fn assert_valid(kind: MessageKind, body: &Value) {
    if let Err(errors) = validate(kind, body) {
        panic!("{kind:?} invalid:\n{}\n{body:#}", errors.join("\n"));
    }
}

/// The `Link` header values by relation, as `(rel, path-and-query)`.
fn links(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .get_all(header::LINK)
        .iter()
        .map(|v| {
            let text = v.to_str().unwrap();
            let (target, params) = text.split_once(';').unwrap();
            let url = target.trim().trim_start_matches('<').trim_end_matches('>');
            let rel = params.trim().strip_prefix("rel=\"").unwrap().trim_end_matches('"');
            let path = url.strip_prefix(BASE).expect("links are absolute URLs under the protocol base");
            (rel.to_string(), path.to_string())
        })
        .collect()
}

fn link(headers: &HeaderMap, rel: &str) -> Option<String> {
    links(headers).into_iter().find(|(r, _)| r == rel).map(|(_, p)| p)
}

fn dataset_ids(catalog: &Value) -> Vec<String> {
    catalog["dataset"].as_array().map_or(vec![], |a| a.iter().map(|d| d["@id"].as_str().unwrap().to_string()).collect())
}

#[tokio::test]
async fn version_document_lists_2025_1_over_https() {
    let reply = send(&router(), get("/.well-known/dspace-version")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_valid(MessageKind::VersionResponse, &reply.body);
    assert_eq!(
        reply.body,
        json!({"protocolVersions": [{"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS"}]})
    );
}

#[tokio::test]
async fn catalog_pages_follow_link_headers_forward_and_back() {
    let router = router();
    let mut uri = format!("{REQUEST_PATH}?limit=3");
    let mut pages: Vec<Reply> = Vec::new();
    loop {
        let reply = send(&router, post(&uri, catalog_request_body())).await;
        assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert_valid(MessageKind::Catalog, &reply.body);
        let next = link(&reply.headers, "next");
        pages.push(reply);
        match next {
            Some(next) => uri = next,
            None => break,
        }
        assert!(pages.len() < 10, "pagination does not end");
    }
    // 9 entries by 3; the entry without offers is left out of its page.
    assert_eq!(pages.len(), 3);
    let ids: Vec<String> = pages.iter().flat_map(|p| dataset_ids(&p.body)).collect();
    let mut expected: Vec<String> = catalogue().into_iter().filter(|e| !e.offers.is_empty()).map(|e| e.id).collect();
    expected.sort();
    assert_eq!(ids, expected, "every publishable dataset exactly once, in source order");

    // First page: next only. Middle: both. Last: previous only.
    assert_eq!(link(&pages[0].headers, "previous"), None);
    assert!(link(&pages[1].headers, "previous").is_some() && link(&pages[1].headers, "next").is_some());
    assert!(link(&pages[2].headers, "previous").is_some());
    for page in &pages {
        assert!(links(&page.headers).iter().all(|(_, p)| p.starts_with(&format!("{REQUEST_PATH}?limit=3"))));
        assert_eq!(page.body["participantId"], "did:web:distributor.example");
        assert_eq!(page.body["service"][0]["endpointURL"], BASE);
    }

    // Walking back from the last page gives the same pages again.
    let back = link(&pages[2].headers, "previous").unwrap();
    let middle = send(&router, post(&back, catalog_request_body())).await;
    assert_eq!(middle.body, pages[1].body);
    let back = link(&middle.headers, "previous").unwrap();
    let first = send(&router, post(&back, catalog_request_body())).await;
    assert_eq!(first.body, pages[0].body);
    assert_eq!(link(&first.headers, "previous"), None);
}

#[tokio::test]
async fn catalog_datasets_carry_offers_distributions_and_media_terms() {
    let reply = send(&router(), post(&format!("{REQUEST_PATH}?limit=1"), catalog_request_body())).await;
    assert_valid(MessageKind::Catalog, &reply.body);
    let catalog = &reply.body;
    assert_eq!(catalog["@context"], json!([DSPACE_CONTEXT, format!("{BASE}/context/media.jsonld")]));
    assert_eq!(catalog["@type"], "Catalog");
    let service_id = catalog["service"][0]["@id"].as_str().unwrap();
    let dataset = &catalog["dataset"][0];
    assert_eq!(dataset["@id"], "urn:passerelle:dataset:collection:fr-free-tv");
    assert_eq!(dataset["hasPolicy"][0]["@id"], "urn:passerelle:offer:collection");
    let formats: Vec<&str> =
        dataset["distribution"].as_array().unwrap().iter().map(|d| d["format"].as_str().unwrap()).collect();
    assert_eq!(formats, ["HttpData-PULL", "HttpData-PUSH"]);
    assert!(dataset["distribution"].as_array().unwrap().iter().all(|d| d["accessService"] == service_id));
    assert_eq!(dataset["datasetKind"], "CollectionDataset");
    assert!(dataset.get("@context").is_none(), "nested datasets inherit the catalog's context");
}

#[tokio::test]
async fn default_and_maximum_page_sizes_apply() {
    let paging = CatalogPaging { default_limit: 2, max_limit: 4 };
    let router = protocol_router_with(MemorySource::new(catalogue()), info(), paging);
    let reply = send(&router, post(REQUEST_PATH, catalog_request_body())).await;
    assert_eq!(dataset_ids(&reply.body).len(), 2);
    assert!(link(&reply.headers, "next").unwrap().starts_with(&format!("{REQUEST_PATH}?limit=2&")));
    let reply = send(&router, post(&format!("{REQUEST_PATH}?limit=1000"), catalog_request_body())).await;
    assert_eq!(dataset_ids(&reply.body).len(), 4);
    assert!(link(&reply.headers, "next").unwrap().starts_with(&format!("{REQUEST_PATH}?limit=4&")));
}

#[tokio::test]
async fn an_empty_catalog_is_still_a_valid_catalog() {
    let router = protocol_router(MemorySource::new(vec![]), info());
    let reply = send(&router, post(REQUEST_PATH, catalog_request_body())).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_valid(MessageKind::Catalog, &reply.body);
    assert!(reply.body.get("dataset").is_none());
    assert!(links(&reply.headers).is_empty());
}

#[tokio::test]
async fn the_catalog_body_is_streamed_in_coalesced_chunks() {
    let response = router().oneshot(post(&format!("{REQUEST_PATH}?limit=5"), catalog_request_body())).await.unwrap();
    let mut stream = response.into_body().into_data_stream();
    let mut chunks = Vec::new();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        chunks.push(chunk.unwrap());
    }
    // head, five small datasets and the closing brace are coalesced into one chunk
    // (one write per dataset would cost a Nagle/delayed-ACK round per page).
    assert_eq!(chunks.len(), 1);
    let whole: Vec<u8> = chunks.concat();
    let catalog: Value = serde_json::from_slice(&whole).unwrap();
    assert_valid(MessageKind::Catalog, &catalog);
    assert_eq!(dataset_ids(&catalog).len(), 5);
}

#[tokio::test]
async fn dataset_by_id_is_a_root_dataset_with_its_service() {
    let id = "urn:passerelle:dataset:work:000";
    let path = format!("/dsp/2025-1/catalog/datasets/{}", id.replace(':', "%3A"));
    let reply = send(&router(), get(&path)).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_valid(MessageKind::Dataset, &reply.body);
    let d = &reply.body;
    assert_eq!(d["@id"], id);
    assert_eq!(d["@context"], json!([DSPACE_CONTEXT, format!("{BASE}/context/media.jsonld")]));
    assert_eq!(d["distribution"][0]["accessService"]["@type"], "DataService");
    assert_eq!(d["distribution"][0]["accessService"]["endpointURL"], BASE);
    assert_eq!(d["work"]["@id"], "https://doi.org/10.5240/AD07-310C-C59D-6785-C63A-G");
    assert_eq!(d["work"]["releaseYear"], 2000);
    assert_eq!(d["keyword"], json!(["feature", "Drama"]));
}

#[tokio::test]
async fn dataset_ids_with_reserved_characters_are_percent_encoded_in_the_path() {
    let reply = send(
        &router(),
        get("/dsp/2025-1/catalog/datasets/urn%3Apasserelle%3Adataset%3Awork%3A10.5240%2FAD07-310C-C59D-6785-C63A-G"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_valid(MessageKind::Dataset, &reply.body);
    assert_eq!(reply.body["@id"], SLASHED_ID);
    // Unencoded, the slash splits the path: no such route.
    let reply = send(&router(), get(&format!("/dsp/2025-1/catalog/datasets/{SLASHED_ID}"))).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unknown_and_offerless_datasets_are_404_with_a_catalog_error() {
    for id in ["urn:passerelle:dataset:nope", "urn:passerelle:dataset:work:099"] {
        let reply = send(&router(), get(&format!("/dsp/2025-1/catalog/datasets/{id}"))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{id}");
        assert_valid(MessageKind::CatalogError, &reply.body);
        assert_eq!(reply.body["code"], "DATASET_NOT_FOUND");
        assert!(reply.body["reason"][0].as_str().unwrap().contains(id));
    }
}

#[tokio::test]
async fn malformed_requests_get_400_saying_what_to_fix() {
    let router = router();
    let ctx = json!([DSPACE_CONTEXT]);
    let cases: Vec<(String, String, &str)> = vec![
        (REQUEST_PATH.into(), String::new(), "empty"),
        (REQUEST_PATH.into(), "{\"@context\": [".into(), "not JSON"),
        (REQUEST_PATH.into(), "[]".into(), "not an object"),
        (REQUEST_PATH.into(), json!({"@type": "CatalogRequestMessage"}).to_string(), "`@context` is missing"),
        (
            REQUEST_PATH.into(),
            json!({"@context": ["https://example.org/other"], "@type": "CatalogRequestMessage"}).to_string(),
            "does not include the DSP 2025-1 context",
        ),
        (REQUEST_PATH.into(), json!({"@context": ctx}).to_string(), "`@type` is missing"),
        (
            REQUEST_PATH.into(),
            json!({"@context": ctx, "@type": "DatasetRequestMessage", "dataset": "x"}).to_string(),
            "expects `CatalogRequestMessage`",
        ),
        (
            REQUEST_PATH.into(),
            json!({"@context": ctx, "@type": "CatalogRequestMessage", "filter": "x"}).to_string(),
            "invalid member",
        ),
        (
            REQUEST_PATH.into(),
            json!({"@context": ctx, "@type": "CatalogRequestMessage", "filter": [{"q": "genre=drama"}]}).to_string(),
            "`filter` is not supported",
        ),
        (format!("{REQUEST_PATH}?limit=0"), catalog_request_body(), "`limit` must be a whole number"),
        (format!("{REQUEST_PATH}?limit=abc"), catalog_request_body(), "`limit` must be a whole number"),
        (format!("{REQUEST_PATH}?continuationToken=forged"), catalog_request_body(), "omit it"),
        (
            format!("{REQUEST_PATH}?continuationToken=%5B%22urn%3Anope%22%5D"),
            catalog_request_body(),
            "unknown or expired catalog cursor",
        ),
    ];
    for (uri, body, hint) in cases {
        let reply = send(&router, post(&uri, body.clone())).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{uri} {body}: {:#}", reply.body);
        assert_valid(MessageKind::CatalogError, &reply.body);
        let reason = reply.body["reason"][0].as_str().unwrap();
        assert!(reason.contains(hint), "{body}: expected `{hint}` in `{reason}`");
    }
}

#[tokio::test]
async fn unknown_members_are_ignored() {
    let body = json!({"@context": [DSPACE_CONTEXT, "https://example.org/extra.jsonld"], "@type": "CatalogRequestMessage",
                      "x-requested-by": "tests", "nested": {"a": [1, 2]}});
    let reply = send(&router(), post(REQUEST_PATH, body.to_string())).await;
    assert_eq!(reply.status, StatusCode::OK, "{:#}", reply.body);
    assert_valid(MessageKind::Catalog, &reply.body);
}

#[tokio::test]
async fn source_failures_become_catalog_errors_without_internals() {
    let mut source = MemorySource::new(catalogue());
    source.failure = Some(SourceError::Internal("sqlite: database disk image is malformed".into()));
    let router = protocol_router(source.clone(), info());
    let reply = send(&router, post(REQUEST_PATH, catalog_request_body())).await;
    assert_eq!(reply.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_valid(MessageKind::CatalogError, &reply.body);
    assert!(!reply.body.to_string().contains("sqlite"));

    source.failure = Some(SourceError::Unavailable("store is migrating".into()));
    let router = protocol_router(source, info());
    let reply = send(&router, get("/dsp/2025-1/catalog/datasets/x")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_valid(MessageKind::CatalogError, &reply.body);
}

#[tokio::test]
async fn media_context_is_served_as_json_ld() {
    let response = router().oneshot(get("/context/media.jsonld")).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/ld+json");
    let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    assert_eq!(&bytes[..], MEDIA_CONTEXT.as_bytes());
}

#[tokio::test]
async fn works_over_a_real_socket() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, router()).await });
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = catalog_request_body();
    let request = format!(
        "POST {REQUEST_PATH}?limit=2 HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut raw).await.unwrap();
    server.abort();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text.to_ascii_lowercase().contains("transfer-encoding: chunked"), "streamed without a length: {text}");
    assert!(text.contains("rel=\"next\""));
}
