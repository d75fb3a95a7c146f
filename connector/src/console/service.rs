//! The catalogue service's console (`passerelle catalog run`, management listener, `/console`): the same login
//! and style as a connector's, opened with the authority's admin API key. Pages: the participants with their
//! crawl status (datasets, offers, last success, stale, the last crawl error) and the federated search.

use std::sync::Arc;

use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router, middleware};
use maud::{Markup, html};
use passerelle_catalog::SearchParams;

use super::layout::{self, text_or_dash};
use super::session::Session;
use super::{Gate, Gated, PageError, Params, gated, not_found, require_session};
use crate::catalogue::ServiceCatalogue;
use crate::secrets::ApiKey;

/// The catalogue console's state (cheap to clone).
#[derive(Clone)]
pub struct CatalogueConsole {
    inner: Arc<Inner>,
}

struct Inner {
    gate: Gate,
    catalogue: ServiceCatalogue,
    did: String,
}

impl Gated for CatalogueConsole {
    fn gate(&self) -> &Gate {
        &self.inner.gate
    }
}

impl CatalogueConsole {
    pub fn new(catalogue: ServiceCatalogue, api_key: ApiKey, did: String) -> CatalogueConsole {
        let gate = Gate::new(api_key, "secrets/admin-api-key of the catalogue folder");
        CatalogueConsole { inner: Arc::new(Inner { gate, catalogue, did }) }
    }
}

/// The console's router, to be nested at [`super::BASE`] on the catalogue's management listener.
pub fn router(state: CatalogueConsole) -> Router {
    let protected = Router::new()
        .route("/", get(participants))
        .route("/search", get(search))
        .route("/logout", axum::routing::post(super::logout::<CatalogueConsole>))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_session::<CatalogueConsole>));
    gated(protected, state)
}

fn page(active: usize, state: &CatalogueConsole, session: &Session, title: &str, body: Markup) -> Response {
    let nav = [(active == 0, "", "Participants"), (active == 1, "/search", "Search")];
    layout::frame(&nav, session, &state.inner.did, title, body)
}

async fn participants(
    State(state): State<CatalogueConsole>,
    Extension(session): Extension<Session>,
) -> Result<Response, PageError> {
    let mut statuses = state.inner.catalogue.statuses();
    statuses.sort_by(|a, b| a.participant.id.cmp(&b.participant.id));
    let datasets: usize = statuses.iter().map(|s| s.datasets).sum();
    let failing = statuses.iter().filter(|s| s.error.is_some()).count();
    let body = html! {
        p {
            (statuses.len()) " participant(s), " (datasets) " dataset(s) indexed; "
            @if failing == 0 { "every last crawl succeeded." } @else { span.error { (failing) " failing." } }
        }
        @if statuses.is_empty() {
            p.none { "No participant has been crawled yet." }
        } @else {
            table {
                thead { tr {
                    th { "Participant" } th { "Role" } th { "Datasets" } th { "Offers" } th { "Last success" }
                    th { "Stale" } th { "Last error" }
                } }
                tbody {
                    @for s in &statuses {
                        tr {
                            td { (s.participant.id) }
                            td { (s.participant.role) }
                            td { (s.datasets) }
                            td { (s.offers) }
                            td { (text_or_dash(s.last_success.and_then(|t|
                                t.format(&time::format_description::well_known::Rfc3339).ok()).as_deref())) }
                            td { @if s.stale { span class="state warn" { "stale" } } @else { "no" } }
                            td { (text_or_dash(s.error.as_ref().map(|e| format!("{}: {}", e.kind, e.message)).as_deref())) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(0, &state, &session, "Participants and crawl status", body))
}

async fn search(
    State(state): State<CatalogueConsole>,
    Extension(session): Extension<Session>,
    Params(params): Params<SearchParams>,
) -> Result<Response, PageError> {
    let filter = params.to_filter().map_err(|e| PageError::BadRequest(format!("The search cannot be run: {e}.")))?;
    let asked = filter.words.is_empty() && filter.provider.is_none();
    let results = state.inner.catalogue.search(&filter);
    let value = serde_json::to_value(&results).unwrap_or_default();
    let hits = value["hits"].as_array().cloned().unwrap_or_default();
    let q = params.q.clone();
    let body = html! {
        form.filters method="get" action={ (super::BASE) "/search" } {
            label { "Words (title, description, keywords)" input type="search" name="q" value=[q.as_deref()]; }
            button type="submit" { "Search" }
        }
        p { (value["total"].as_u64().unwrap_or(0)) " match(es)" @if asked { " (every dataset)" } "." }
        @if !hits.is_empty() {
            table {
                thead { tr { th { "Title" } th { "Provider" } th { "Kind" } th { "Dataset" } th { "Offers" } } }
                tbody {
                    @for h in &hits {
                        tr {
                            td { (h["title"].as_str().unwrap_or_default()) }
                            td { (h["provider"].as_str().unwrap_or_default()) }
                            td { (h["kind"].as_str().unwrap_or_default()) }
                            td { code { (h["datasetId"].as_str().unwrap_or_default()) } }
                            td { (h["offerIds"].as_array().map_or(0, Vec::len)) }
                        }
                    }
                }
            }
        }
    };
    Ok(page(1, &state, &session, "Search the federated catalogue", body))
}
