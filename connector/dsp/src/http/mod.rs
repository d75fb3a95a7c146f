//! The DSP 2025-1 HTTPS bindings: the catalog (provider side), contract
//! negotiation and transfer process (provider routes and consumer callbacks),
//! plus the version document and our media context.
//!
//! Handlers are thin: catalog handlers parse, ask the [`CatalogSource`], render
//! with [`Renderer`] and stream the result; process handlers parse and delegate
//! to the connector's [`NegotiationHost`] / [`TransferHost`].

mod body;
mod error;
mod extract;
pub mod negotiation;
pub mod paging;
mod process;
pub mod transfer;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::Extension;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, HeaderValue, LINK};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

pub use error::ProviderError;
pub use extract::DspJson;
pub use paging::CatalogPaging;

use crate::catalog::{CatalogSource, ProviderInfo};
use crate::media_context::{MEDIA_CONTEXT, MEDIA_CONTEXT_PATH};
use crate::message::catalog::CatalogRequestMessage;
use crate::message::version::{PROTOCOL_PATH, VersionResponse};
use crate::negotiation::NegotiationHost;
use crate::process::Role;
use crate::render::{Placement, RenderError, Renderer};
use crate::transfer::TransferHost;
use paging::{PagePosition, PageQuery, link_value, page_url};

/// Path of the version document.
pub const VERSION_PATH: &str = "/.well-known/dspace-version";

/// Prefix of the consumer callback routes (negotiation and transfer): the
/// `callbackAddress` this connector sends is its protocol base URL followed by this.
pub const CALLBACK_PATH: &str = "/dsp/2025-1/callback";

/// The `callbackAddress` of a connector whose protocol listener is reachable at
/// `protocol_base_url` (e.g. `https://broadcaster.example`).
pub fn callback_address(protocol_base_url: &str) -> String {
    format!("{}{CALLBACK_PATH}", protocol_base_url.trim_end_matches('/'))
}

/// The address of a connector's DSP 2025-1 endpoints (where providers are sent
/// requests and consumers initial offers), e.g. `https://distributor.example/dsp/2025-1`.
pub fn protocol_address(protocol_base_url: &str) -> String {
    format!("{}{PROTOCOL_PATH}", protocol_base_url.trim_end_matches('/'))
}

/// The role a route serves, from its const parameter.
fn role(provider: bool) -> Role {
    if provider { Role::Provider } else { Role::Consumer }
}

struct Provider<S> {
    source: S,
    renderer: Renderer,
    paging: CatalogPaging,
    /// Absolute URL of the catalog request endpoint, the base of `Link` URLs.
    request_url: String,
}

/// All DSP routes of the provider, mounted at the root, with default page sizes.
pub fn protocol_router<S: CatalogSource>(source: S, info: ProviderInfo) -> Router {
    protocol_router_with(source, info, CatalogPaging::default())
}

/// Every DSP route of the connector: the catalog ([`protocol_router_with`]),
/// [`negotiation::negotiation_router`] and [`transfer::transfer_router`].
pub fn protocol_router_full<S, N, T>(
    source: S,
    negotiation_host: N,
    transfer_host: T,
    info: ProviderInfo,
    paging: CatalogPaging,
) -> Router
where
    S: CatalogSource,
    N: NegotiationHost,
    T: TransferHost,
{
    protocol_router_with(source, info, paging)
        .merge(negotiation::negotiation_router(negotiation_host))
        .merge(transfer::transfer_router(transfer_host))
}

/// [`protocol_router`] with the catalog's page sizes chosen by the caller.
pub fn protocol_router_with<S: CatalogSource>(source: S, info: ProviderInfo, paging: CatalogPaging) -> Router {
    let paging = CatalogPaging { default_limit: paging.default_limit.max(1), max_limit: paging.max_limit.max(1) };
    let request_url = format!("{}{PROTOCOL_PATH}/catalog/request", info.protocol_base_url.trim_end_matches('/'));
    let provider = Arc::new(Provider { source, renderer: Renderer::new(info), paging, request_url });
    Router::new()
        .route(VERSION_PATH, get(version))
        .route(MEDIA_CONTEXT_PATH, get(media_context))
        .route(&format!("{PROTOCOL_PATH}/catalog/request"), post(catalog_request::<S>))
        .route(&format!("{PROTOCOL_PATH}/catalog/datasets/{{id}}"), get(dataset::<S>))
        .with_state(provider)
}

/// The version document: [`VersionResponse::current`], unless the connector layered its own
/// (`Router::layer(axum::Extension(document))`), e.g. with the `auth` profile of its identity layer.
async fn version(document: Option<Extension<VersionResponse>>) -> Json<VersionResponse> {
    Json(document.map(|Extension(document)| document).unwrap_or_else(VersionResponse::current))
}

async fn media_context() -> impl IntoResponse {
    ([(CONTENT_TYPE, HeaderValue::from_static("application/ld+json"))], MEDIA_CONTEXT)
}

async fn catalog_request<S: CatalogSource>(
    State(provider): State<Arc<Provider<S>>>,
    query: Result<Query<PageQuery>, QueryRejection>,
    DspJson(message): DspJson<CatalogRequestMessage>,
) -> Result<Response, ProviderError> {
    if !message.filter.is_empty() {
        return Err(ProviderError::FilterUnsupported);
    }
    let Query(query) = query.map_err(|rejection| ProviderError::Paging(rejection.body_text()))?;
    let request = query.resolve(&provider.paging).map_err(ProviderError::Paging)?;
    let page = provider.source.page(request.position.cursor(), request.limit).await?;

    let renderer = &provider.renderer;
    let datasets = page
        .entries
        .iter()
        .filter_map(|entry| match renderer.dataset(entry, Placement::InCatalog) {
            Ok(dataset) => Some(dataset),
            Err(error) => {
                log_unpublished(&error);
                None
            }
        })
        .collect();
    let body =
        body::catalog_stream(renderer.catalog_head(), datasets).map_err(|e| ProviderError::Serialize(e.to_string()))?;

    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let links = [
        request.position.previous().map(|p| ("previous", p)),
        page.next_cursor.map(|c| ("next", request.position.next(c))),
    ];
    for (rel, position) in links.into_iter().flatten() {
        headers.append(LINK, link_header(&provider.request_url, request.limit, &position, rel)?);
    }
    Ok(response)
}

fn link_header(
    request_url: &str,
    limit: usize,
    position: &PagePosition,
    rel: &str,
) -> Result<HeaderValue, ProviderError> {
    HeaderValue::from_str(&link_value(&page_url(request_url, limit, position), rel))
        .map_err(|e| ProviderError::Serialize(format!("`Link` header: {e}")))
}

async fn dataset<S: CatalogSource>(
    State(provider): State<Arc<Provider<S>>>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ProviderError> {
    let Path(id) = id.map_err(|rejection| {
        ProviderError::BadPath(format!("the dataset id in the path is not usable: {}", rejection.body_text()))
    })?;
    let entry = provider.source.dataset(&id).await?.ok_or_else(|| ProviderError::DatasetNotFound(id.clone()))?;
    match provider.renderer.dataset(&entry, Placement::Root) {
        Ok(dataset) => Ok(Json(dataset).into_response()),
        Err(error @ RenderError::NoOffer { .. }) => {
            log_unpublished(&error);
            Err(ProviderError::DatasetNotFound(id))
        }
        Err(error) => Err(ProviderError::Unpublishable(error)),
    }
}

fn log_unpublished(error: &RenderError) {
    match error {
        RenderError::NoOffer { .. } => tracing::debug!(%error, "dataset left out of the catalog"),
        RenderError::InvalidOffer { .. } => tracing::warn!(%error, "dataset left out of the catalog"),
    }
}
