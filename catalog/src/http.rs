//! The catalogue's HTTP face: search, SPARQL 1.1 protocol (query only), the
//! aggregated DSP catalog, crawl statuses and the notify hook. Handlers only
//! parse and delegate to [`Catalogue`]; every refusal is a 4xx with a JSON body
//! saying what to change.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use passerelle_dsp::client::TokenSource;
use passerelle_dsp::media_context::{MEDIA_CONTEXT, MEDIA_CONTEXT_PATH};
use passerelle_dsp::message::catalog::{CatalogError, CatalogRequestMessage};
use passerelle_dsp::message::parse_message;
use passerelle_dsp::message::version::VersionResponse;
use serde_json::json;

use crate::catalogue::{Catalogue, CatalogueError};
use crate::query::SearchParams;
use crate::registry::Registry;
use crate::sparql::{ResultsFormat, SparqlError};

/// Every route of the catalogue.
pub fn router<R: Registry, T: TokenSource + 'static>(catalogue: Catalogue<R, T>) -> Router {
    Router::new()
        .route("/api/v1/search", get(search::<R, T>))
        .route("/api/v1/participants", get(participants::<R, T>))
        .route("/api/v1/notify/{participant}", post(notify::<R, T>))
        .route("/sparql", get(sparql_get::<R, T>).post(sparql_post::<R, T>))
        .route("/dsp/2025-1/catalog/request", post(dsp_catalog::<R, T>))
        .route("/.well-known/dspace-version", get(|| async { Json(VersionResponse::current()) }))
        .route(MEDIA_CONTEXT_PATH, get(media_context))
        .with_state(catalogue)
}

fn problem(status: StatusCode, code: &str, message: impl ToString) -> Response {
    (status, Json(json!({ "error": code, "message": message.to_string() }))).into_response()
}

async fn search<R: Registry, T: TokenSource + 'static>(
    State(catalogue): State<Catalogue<R, T>>,
    params: Result<Query<SearchParams>, QueryRejection>,
) -> Response {
    let params = match params {
        Ok(Query(p)) => p,
        Err(rejection) => return problem(StatusCode::BAD_REQUEST, "BAD_QUERY", rejection.body_text()),
    };
    match params.to_filter() {
        Ok(filter) => Json(catalogue.search(&filter)).into_response(),
        Err(error) => problem(StatusCode::BAD_REQUEST, "BAD_QUERY", error),
    }
}

async fn participants<R: Registry, T: TokenSource + 'static>(State(catalogue): State<Catalogue<R, T>>) -> Response {
    Json(catalogue.statuses()).into_response()
}

async fn notify<R: Registry, T: TokenSource + 'static>(
    State(catalogue): State<Catalogue<R, T>>,
    Path(participant): Path<String>,
) -> Response {
    match catalogue.notify(&participant).await {
        Ok(status) => Json(status).into_response(),
        Err(error @ CatalogueError::NotRegistered(_)) => problem(StatusCode::NOT_FOUND, "NOT_REGISTERED", error),
        Err(error @ CatalogueError::NotActive { .. }) => problem(StatusCode::CONFLICT, "NOT_ACTIVE", error),
        Err(error) => {
            tracing::error!(%error, "notify failed");
            problem(StatusCode::SERVICE_UNAVAILABLE, "CATALOGUE_UNAVAILABLE", error)
        }
    }
}

#[derive(serde::Deserialize)]
struct ProtocolParams {
    query: Option<String>,
    update: Option<String>,
}

fn protocol_params(text: &str) -> Result<ProtocolParams, Box<Response>> {
    serde_urlencoded::from_str(text).map_err(|e| Box::new(problem(StatusCode::BAD_REQUEST, "BAD_QUERY", e)))
}

async fn sparql_get<R: Registry, T: TokenSource + 'static>(
    State(catalogue): State<Catalogue<R, T>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match protocol_params(raw.as_deref().unwrap_or("")) {
        Ok(p) => p,
        Err(response) => return *response,
    };
    answer(&catalogue, &headers, params).await
}

async fn sparql_post<R: Registry, T: TokenSource + 'static>(
    State(catalogue): State<Catalogue<R, T>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    let text = match std::str::from_utf8(&body) {
        Ok(t) => t.to_string(),
        Err(_) => return problem(StatusCode::BAD_REQUEST, "BAD_QUERY", "the body is not UTF-8"),
    };
    let params = match content_type.as_str() {
        "application/sparql-query" => ProtocolParams { query: Some(text), update: None },
        "application/sparql-update" => ProtocolParams { query: None, update: Some(text) },
        "application/x-www-form-urlencoded" => match protocol_params(&text) {
            Ok(p) => p,
            Err(response) => return *response,
        },
        other => {
            return problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "BAD_CONTENT_TYPE",
                format!(
                    "content type `{other}` is not a SPARQL protocol request: use application/x-www-form-urlencoded (query=…) or application/sparql-query"
                ),
            );
        }
    };
    answer(&catalogue, &headers, params).await
}

async fn answer<R: Registry, T: TokenSource + 'static>(
    catalogue: &Catalogue<R, T>,
    headers: &HeaderMap,
    params: ProtocolParams,
) -> Response {
    if params.update.is_some() {
        return problem(StatusCode::BAD_REQUEST, "UPDATE_REFUSED", SparqlError::Update);
    }
    let Some(query) = params.query else {
        return problem(StatusCode::BAD_REQUEST, "MISSING_QUERY", SparqlError::MissingQuery);
    };
    let format = ResultsFormat::from_accept(headers.get(ACCEPT).and_then(|v| v.to_str().ok()));
    match catalogue.sparql(query, format).await {
        Ok(answer) => ([(CONTENT_TYPE, HeaderValue::from_static(answer.content_type))], answer.body).into_response(),
        Err(error @ (SparqlError::Update | SparqlError::Syntax(_) | SparqlError::MissingQuery)) => {
            let code = if matches!(error, SparqlError::Update) { "UPDATE_REFUSED" } else { "BAD_QUERY" };
            problem(StatusCode::BAD_REQUEST, code, error)
        }
        Err(error @ SparqlError::Busy) => problem(StatusCode::SERVICE_UNAVAILABLE, "BUSY", error),
        Err(error @ SparqlError::Timeout(_)) => problem(StatusCode::SERVICE_UNAVAILABLE, "QUERY_TIMEOUT", error),
        Err(error @ SparqlError::Evaluation(_)) => problem(StatusCode::INTERNAL_SERVER_ERROR, "QUERY_FAILED", error),
    }
}

async fn dsp_catalog<R: Registry, T: TokenSource + 'static>(
    State(catalogue): State<Catalogue<R, T>>,
    body: Bytes,
) -> Response {
    let dsp_error =
        |code: &str, reason: String| (StatusCode::BAD_REQUEST, Json(CatalogError::new(code, [reason]))).into_response();
    match parse_message::<CatalogRequestMessage>(&body) {
        Ok(message) if !message.filter.is_empty() => {
            dsp_error("FILTER_UNSUPPORTED", "this catalogue supports no `filter`: omit it".to_string())
        }
        Ok(_) => Json(catalogue.aggregated_catalog()).into_response(),
        Err(error) => dsp_error("BAD_REQUEST_BODY", error.to_string()),
    }
}

async fn media_context() -> Response {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/ld+json"))], MEDIA_CONTEXT).into_response()
}
