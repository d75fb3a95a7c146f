//! The data plane, under `/data/…` on the protocol listener.
//!
//! - `GET /data/datasets/{id}` (provider): the agreed dataset's JSON-LD documents (the
//!   work, its versions, its rights windows, in our media terms), only with a valid
//!   bearer token for that dataset's agreement, and only while the transfer is STARTED;
//! - `POST /data/token/refresh` (provider): `{"refreshToken": …}` → a token for the same
//!   transfer; idempotent (a repeated refresh within half the token's life gets the
//!   same token);
//! - `POST /data/inbox/{pid}` (consumer): where a provider pushes documents
//!   (`HttpData-PUSH`), with the token the consumer gave in its data address.
//! - `POST /data/feed-inbox/{pid}` (consumer): where a provider pushes a versions-and-rights feed (`feed_push`).
//!
//! Tokens are random (256 bits), short-lived ([`TOKEN_TTL_MS`]) and bound to one
//! transfer, hence to one agreement and its target dataset.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use passerelle_dsp::catalog::{CatalogSource, DatasetEntry, DatasetKind};
use passerelle_dsp::media_context::media_context_url;
use passerelle_dsp::message::transfer::DataAddress;
use passerelle_dsp::render::media_description;
use serde_json::{Value, json};
use sqlx::Row;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::catalog::ids::{self, DatasetRef};
use crate::contracts::{AgreementRecord, ProcessError, Processes, now_text};
use crate::outbox::{Failure, error_chain};

mod feed;
pub mod feed_push;

/// Life of a data-plane access token.
pub const TOKEN_TTL_MS: i64 = 10 * 60 * 1000;
/// `endpointType` of our HTTP data addresses.
pub const HTTP_ENDPOINT_TYPE: &str = "https://w3id.org/idsa/v4.1/HTTP";
const CATALOG_PAGE: usize = 200;

fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn random_token() -> Result<String, ProcessError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ProcessError::Store(format!("no randomness for a token: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Issues a token for `transfer_pid` under `agreement` and returns the endpoint data reference.
pub(crate) fn issue(
    db: &crate::store::direct::Db,
    base_url: &str,
    transfer_pid: &str,
    agreement: &AgreementRecord,
) -> Result<DataAddress, ProcessError> {
    let (token, refresh) = (random_token()?, random_token()?);
    let issued = now_ms();
    db.prepare_cached(
        "INSERT INTO data_tokens (token, refresh_token, transfer_pid, agreement_id, dataset_id, issued_ms, expires_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )?
    .execute(rusqlite::params![
        token,
        refresh,
        transfer_pid,
        agreement.id,
        agreement.target,
        issued,
        issued + TOKEN_TTL_MS
    ])?;
    Ok(edr(base_url, &agreement.target, &token, &refresh))
}

fn edr(base_url: &str, dataset_id: &str, token: &str, refresh: &str) -> DataAddress {
    let address = DataAddress::new(HTTP_ENDPOINT_TYPE, format!("{base_url}/data/datasets/{dataset_id}"))
        .with_property("authorization", token)
        .with_property("authType", "bearer")
        .with_property("expiresIn", (TOKEN_TTL_MS / 1000).to_string())
        .with_property("refreshToken", refresh)
        .with_property("refreshEndpoint", format!("{base_url}/data/token/refresh"));
    match ids::parse_dataset_id(dataset_id) {
        // Where a service agreement's subtitle orders are placed, with the same token (`crate::exchange`).
        Some(DatasetRef::Service(_)) => {
            address.with_property(crate::exchange::ORDER_ENDPOINT_PROPERTY, format!("{base_url}/exchange/orders"))
        }
        // Works and collections have a versions-and-rights feed (`feed`).
        _ => address.with_property("feedEndpoint", format!("{base_url}/data/feed/{dataset_id}")),
    }
}

/// The data address a consumer gives for a push: our inbox for transfer `pid`, with a fresh token.
pub(crate) fn inbox_address(base_url: &str, pid: &str) -> DataAddress {
    // Without randomness the inbox cannot be protected; an empty token is refused by the inbox.
    let token = random_token().unwrap_or_default();
    DataAddress::new(HTTP_ENDPOINT_TYPE, format!("{base_url}/data/inbox/{pid}"))
        .with_property("authorization", token)
        .with_property("authType", "bearer")
}

/// The JSON-LD documents of a dataset: one per work (a collection has several).
pub(crate) async fn documents(processes: &Processes, dataset_id: &str) -> Result<Option<Value>, String> {
    let catalog = &processes.inner.catalog;
    let Some(entry) = catalog.dataset(dataset_id).await.map_err(|e| e.to_string())? else { return Ok(None) };
    let mut graph = Vec::new();
    match (entry.kind, ids::parse_dataset_id(dataset_id)) {
        (DatasetKind::Collection, Some(DatasetRef::Collection(definition))) => {
            let mut cursor = None;
            loop {
                let page = catalog.page(cursor, CATALOG_PAGE).await.map_err(|e| e.to_string())?;
                for work in page.entries.iter().filter(|e| e.kind == DatasetKind::Work) {
                    let offer_id = ids::definition_offer_id(&definition, &work.id);
                    if work.offers.iter().any(|o| o.get("@id").and_then(Value::as_str) == Some(offer_id.as_str())) {
                        graph.push(document(work));
                    }
                }
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
        }
        _ => graph.push(document(&entry)),
    }
    Ok(Some(json!({
        "@context": [media_context_url(&processes.inner.base_url)],
        "@id": dataset_id,
        "@graph": graph,
    })))
}

fn document(entry: &DatasetEntry) -> Value {
    let mut doc = serde_json::to_value(media_description(entry)).unwrap_or_else(|_| json!({}));
    if let Some(object) = doc.as_object_mut() {
        object.insert("@id".into(), Value::String(entry.id.clone()));
        object.insert("@type".into(), Value::String(entry.kind.as_str().to_string()));
    }
    doc
}

/// Posts the documents of a push job to the consumer (called by the outbox).
pub(crate) async fn push(processes: &Processes, pid: &str, endpoint: &str, job: &str) -> Result<(), Failure> {
    let permanent = |message: String| Failure { retryable: false, message };
    let job: Value = serde_json::from_str(job).map_err(|e| permanent(format!("push job is unreadable: {e}")))?;
    let dataset = job.get("dataset").and_then(Value::as_str).unwrap_or_default();
    let body = documents(processes, dataset)
        .await
        .map_err(|e| Failure { retryable: true, message: e })?
        .ok_or_else(|| permanent(format!("dataset `{dataset}` of transfer `{pid}` is no longer in the catalog")))?;
    let mut request = processes.inner.http.post(endpoint).json(&body);
    if let Some(token) = job.get("authorization").and_then(Value::as_str) {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request
        .send()
        .await
        .map_err(|e| Failure { retryable: true, message: format!("{endpoint}: {}", error_chain(&e)) })?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text: String = response.text().await.unwrap_or_default().chars().take(300).collect();
    Err(Failure {
        retryable: status.is_server_error() || status.as_u16() == 429,
        message: format!("{endpoint} answered HTTP {status}: {text}"),
    })
}

/// Pulls the documents from a provider's endpoint data reference.
pub(crate) async fn pull(http: &reqwest::Client, address: &DataAddress) -> Result<Value, ProcessError> {
    let endpoint =
        address.endpoint.clone().ok_or_else(|| ProcessError::Conflict("the data address has no endpoint".into()))?;
    let mut request = http.get(&endpoint);
    if let Some(token) = address.property("authorization") {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().await.map_err(|e| ProcessError::Peer(format!("{endpoint}: {}", error_chain(&e))))?;
    let status = response.status();
    let text = response.text().await.map_err(|e| ProcessError::Peer(format!("{endpoint}: {e}")))?;
    if !status.is_success() {
        let excerpt: String = text.chars().take(300).collect();
        return Err(ProcessError::Peer(format!("{endpoint} answered HTTP {status}: {excerpt}")));
    }
    serde_json::from_str(&text).map_err(|e| ProcessError::Peer(format!("{endpoint} did not answer JSON: {e}")))
}

/// What providers pushed for transfer `pid`, oldest first.
pub(crate) async fn received(pool: &sqlx::SqlitePool, pid: &str) -> Result<Value, ProcessError> {
    let rows = sqlx::query("SELECT body, received_at FROM received_data WHERE transfer_pid = ? ORDER BY id")
        .bind(pid)
        .fetch_all(pool)
        .await?;
    let mut pushes = Vec::with_capacity(rows.len());
    for row in rows {
        let body: String = row.try_get("body")?;
        let received_at: String = row.try_get("received_at")?;
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        pushes.push(json!({"received_at": received_at, "documents": body}));
    }
    Ok(json!({"pushes": pushes}))
}

/// Why the data plane refuses a request.
#[derive(Debug)]
pub(crate) struct DataError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl DataError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> DataError {
        DataError { status, code, message: message.into() }
    }
}

impl IntoResponse for DataError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": self.code, "message": self.message}))).into_response()
    }
}

fn internal(e: impl std::fmt::Display) -> DataError {
    tracing::error!(error = %e, "data plane failure");
    DataError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the data plane failed; the error has been logged")
}

fn bearer(headers: &HeaderMap) -> Result<String, DataError> {
    let value = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).unwrap_or_default().trim();
    let token =
        value.split_once(' ').filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer")).map(|(_, t)| t.trim());
    match token {
        Some(t) if !t.is_empty() => Ok(t.to_string()),
        _ => Err(DataError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "send the transfer's token as `Authorization: Bearer <token>` (from the start message's data address)",
        )),
    }
}

/// The data-plane routes (merged into the protocol router).
pub fn router(processes: Processes) -> Router {
    Router::new()
        .route("/data/datasets/{id}", get(serve_dataset))
        .route("/data/feed/{id}", get(feed::serve_feed))
        .route("/data/token/refresh", post(refresh))
        .route("/data/inbox/{pid}", post(inbox))
        .route("/data/feed-inbox/{pid}", post(feed_push::feed_inbox))
        .with_state(processes)
}

async fn serve_dataset(
    State(processes): State<Processes>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, DataError> {
    authorize(&processes, &headers, &id).await?;
    let body = documents(&processes, &id).await.map_err(internal)?.ok_or_else(|| {
        DataError::new(StatusCode::NOT_FOUND, "not_found", format!("dataset `{id}` is no longer offered"))
    })?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/ld+json")], Json(body)).into_response())
}

/// The request carries a live token of a STARTED transfer whose agreement is about dataset `id`.
async fn authorize(processes: &Processes, headers: &HeaderMap, id: &str) -> Result<Grant, DataError> {
    let grant = grant(processes, headers).await?;
    if grant.dataset_id != id {
        return Err(DataError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the token grants access to dataset `{}` only, under its agreement", grant.dataset_id),
        ));
    }
    Ok(grant)
}

/// What a valid data-plane token grants: one STARTED transfer (ours, as provider) under one agreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub transfer_pid: String,
    pub agreement_id: String,
    pub dataset_id: String,
}

/// The transfer the request's bearer token was issued for: known, not expired, and STARTED. The check of every
/// data-plane call, shared with the subtitle order routes (`crate::exchange`).
pub(crate) async fn grant(processes: &Processes, headers: &HeaderMap) -> Result<Grant, DataError> {
    let token = bearer(headers)?;
    let row = sqlx::query(
        "SELECT t.transfer_pid, t.agreement_id, t.dataset_id, t.expires_ms, tr.state FROM data_tokens t
         JOIN transfers tr ON tr.pid = t.transfer_pid AND tr.side = 'provider' WHERE t.token = ?",
    )
    .bind(&token)
    .fetch_optional(processes.pool())
    .await
    .map_err(internal)?
    .ok_or_else(|| DataError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the token is not valid here"))?;
    let get = |c: &str| row.try_get::<String, _>(c).map_err(internal);
    let expires: i64 = row.try_get("expires_ms").map_err(internal)?;
    let state = get("state")?;
    if expires <= now_ms() {
        return Err(DataError::new(
            StatusCode::UNAUTHORIZED,
            "token_expired",
            "the token has expired: get a new one from the refresh endpoint with the refresh token",
        ));
    }
    if state != "STARTED" {
        return Err(DataError::new(
            StatusCode::FORBIDDEN,
            "transfer_not_started",
            format!("the transfer is {state}: data is served only while it is STARTED"),
        ));
    }
    Ok(Grant { transfer_pid: get("transfer_pid")?, agreement_id: get("agreement_id")?, dataset_id: get("dataset_id")? })
}

async fn refresh(State(processes): State<Processes>, body: Bytes) -> Result<Response, DataError> {
    let request: Value = serde_json::from_slice(&body).map_err(|e| {
        DataError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("send {{\"refreshToken\": \"…\"}}: {e}"))
    })?;
    let Some(refresh) = request.get("refreshToken").and_then(Value::as_str) else {
        return Err(DataError::new(StatusCode::BAD_REQUEST, "invalid_field", "`refreshToken` is missing"));
    };
    let _guard = processes.inner.write.lock().await;
    let row = sqlx::query(
        "SELECT t.token, t.transfer_pid, t.agreement_id, t.dataset_id, t.issued_ms, tr.state FROM data_tokens t
         JOIN transfers tr ON tr.pid = t.transfer_pid AND tr.side = 'provider'
         WHERE t.refresh_token = ? ORDER BY t.issued_ms DESC LIMIT 1",
    )
    .bind(refresh)
    .fetch_optional(processes.pool())
    .await
    .map_err(internal)?
    .ok_or_else(|| DataError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the refresh token is not valid here"))?;
    let get = |c: &str| row.try_get::<String, _>(c).map_err(internal);
    let state = get("state")?;
    if state != "STARTED" && state != "SUSPENDED" {
        return Err(DataError::new(
            StatusCode::FORBIDDEN,
            "transfer_ended",
            format!("the transfer is {state}: its tokens are no longer refreshed"),
        ));
    }
    let issued: i64 = row.try_get("issued_ms").map_err(internal)?;
    let now = now_ms();
    let (token, expires_ms) = if now - issued < TOKEN_TTL_MS / 2 {
        (get("token")?, issued + TOKEN_TTL_MS)
    } else {
        let token = random_token().map_err(internal)?;
        sqlx::query(
            "INSERT INTO data_tokens (token, refresh_token, transfer_pid, agreement_id, dataset_id, issued_ms, expires_ms)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&token)
        .bind(refresh)
        .bind(get("transfer_pid")?)
        .bind(get("agreement_id")?)
        .bind(get("dataset_id")?)
        .bind(now)
        .bind(now + TOKEN_TTL_MS)
        .execute(processes.pool())
        .await
        .map_err(internal)?;
        (token, now + TOKEN_TTL_MS)
    };
    let endpoint = format!("{}/data/datasets/{}", processes.inner.base_url, get("dataset_id")?);
    Ok(Json(json!({
        "endpoint": endpoint,
        "authorization": token,
        "authType": "bearer",
        "expiresIn": ((expires_ms - now) / 1000).max(0),
    }))
    .into_response())
}

/// The checks of a push we receive: transfer `pid` is an `HttpData-PUSH` we consume (a feed one for the feed inbox,
/// another for the documents' inbox), the bearer token is the one we gave in its data address, and it is STARTED.
async fn pushed_to(processes: &Processes, headers: &HeaderMap, pid: &str, feed: bool) -> Result<(), DataError> {
    let token = bearer(headers)?;
    let what = if feed { "a feed" } else { "data" };
    let unknown =
        || DataError::new(StatusCode::NOT_FOUND, "not_found", format!("no transfer `{pid}` receives {what} here"));
    let row =
        sqlx::query("SELECT data_address, state FROM transfers WHERE pid = ? AND side = 'consumer' AND format = ?")
            .bind(pid)
            .bind(crate::transfers::PUSH)
            .fetch_optional(processes.pool())
            .await
            .map_err(internal)?
            .ok_or_else(unknown)?;
    let address: Option<DataAddress> =
        row.try_get::<Option<String>, _>("data_address").map_err(internal)?.and_then(|a| serde_json::from_str(&a).ok());
    let expected = address
        .filter(|a| feed_push::wants_feed(Some(a)) == feed)
        .and_then(|a| a.property("authorization").map(str::to_string))
        .filter(|t| !t.is_empty())
        .ok_or_else(unknown)?;
    if !bool::from(expected.as_bytes().ct_eq(token.as_bytes())) {
        return Err(DataError::new(StatusCode::UNAUTHORIZED, "unauthorized", "the token is not valid for this inbox"));
    }
    let state: String = row.try_get("state").map_err(internal)?;
    if state != "STARTED" {
        return Err(DataError::new(
            StatusCode::FORBIDDEN,
            "transfer_not_started",
            format!("transfer `{pid}` is {state}: {what} is accepted only while it is STARTED"),
        ));
    }
    Ok(())
}

async fn inbox(
    State(processes): State<Processes>,
    Path(pid): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, DataError> {
    let documents: Value = serde_json::from_slice(&body).map_err(|e| {
        DataError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the pushed body is not JSON: {e}"))
    })?;
    pushed_to(&processes, &headers, &pid, false).await?;
    sqlx::query("INSERT INTO received_data (transfer_pid, body, received_at) VALUES (?, ?, ?)")
        .bind(&pid)
        .bind(documents.to_string())
        .bind(now_text())
        .execute(processes.pool())
        .await
        .map_err(internal)?;
    Ok((StatusCode::OK, Json(json!({"received": true}))).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_url_safe() {
        let (a, b) = (random_token().unwrap(), random_token().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'), "{a}");
    }

    #[test]
    fn an_edr_names_the_dataset_endpoint_and_how_to_refresh() {
        let address = edr("https://p.example", "work:x", "t0k", "r3f");
        assert_eq!(address.endpoint.as_deref(), Some("https://p.example/data/datasets/work:x"));
        assert_eq!(address.property("authorization"), Some("t0k"));
        assert_eq!(address.property("refreshEndpoint"), Some("https://p.example/data/token/refresh"));
        let mut headers = HeaderMap::new();
        assert!(bearer(&headers).is_err());
        headers.insert(AUTHORIZATION, "Bearer  t0k ".parse().unwrap());
        assert_eq!(bearer(&headers).unwrap(), "t0k");
        headers.insert(AUTHORIZATION, "Basic t0k".parse().unwrap());
        assert!(bearer(&headers).is_err());
    }
}
