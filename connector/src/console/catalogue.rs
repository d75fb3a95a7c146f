//! `/console/offers` (own services and offer definitions with their policies) and `/console/works` (search by id
//! or title): what this connector publishes in its catalog.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::html;
use passerelle_policy::Policy;
use serde::Deserialize;

use super::layout::{self, Section, json_block};
use super::session::Session;
use super::{BASE, ConsoleState, PageError, Params, filled, page_size};
use crate::store::WorkFilter;

/// Offer definitions per page: each carries a whole policy, so fewer than other lists.
const OFFERS_PER_PAGE: usize = 20;
/// Services shown at most (a lab offers a handful).
const MAX_SERVICES: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct PageQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    q: Option<String>,
}

pub(crate) async fn offers(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<PageQuery>,
) -> Result<Response, PageError> {
    let limit = match query.limit {
        None => OFFERS_PER_PAGE,
        some => page_size(some)?,
    };
    let cursor = filled(&query.cursor);
    let page = state.store().list_offer_definitions(cursor, limit).await?;
    let mut shown = Vec::with_capacity(page.items.len());
    for stored in &page.items {
        let policy = policy_block(&state, &stored.definition.policy_id).await?;
        let selector = serde_json::to_value(&stored.definition.selector).unwrap_or_default();
        shown.push((stored, policy, selector));
    }
    // A lab offers few services: all of them, above the first page of definitions.
    let mut services = Vec::new();
    if cursor.is_none() {
        for stored in state.store().list_services(None, MAX_SERVICES).await?.items {
            let policy = policy_block(&state, &stored.service.policy_id).await?;
            services.push((stored, policy));
        }
    }
    let limit_text = query.limit.map(|l| l.to_string());
    let filters = [("limit", limit_text.as_deref())];
    let body = html! {
        @for (stored, policy) in &services {
            section.offer {
                h2 { "Service: " (stored.service.title) " " span.hint { code { (crate::catalog::ids::service_dataset_id(&stored.service.id)) } } }
                p { (stored.service.summary()) }
                (layout::facts(&[
                    ("Terms", html! { code { (serde_json::to_string(&stored.service.terms()).unwrap_or_default()) } }),
                    ("Policy", html! { code { (stored.service.policy_id) } }),
                    ("Revision", html! { (stored.revision) }),
                ]))
                (policy)
            }
        }
        p.note { "Each offer definition offers the works its selector picks, under its policy, in this connector's catalog." }
        @if shown.is_empty() {
            p.none { "No offer definitions: create them with " code { "POST /api/v1/offer-definitions" } "." }
        }
        @for (stored, policy, selector) in &shown {
            section.offer {
                h2 { (stored.definition.title) " " span.hint { code { (stored.definition.id) } } }
                @if let Some(d) = &stored.definition.description { p { (d) } }
                (layout::facts(&[
                    ("Selector", html! { code { (selector.to_string()) } }),
                    ("Policy", html! { code { (stored.definition.policy_id) } }),
                    ("Revision", html! { (stored.revision) }),
                ]))
                (policy)
            }
        }
        (layout::pager(&format!("{BASE}/offers"), &filters, cursor.is_none(), page.next_cursor.as_deref()))
    };
    Ok(layout::page(Section::Offers, &session, state.processes().participant_id(), "Own offers", body))
}

/// A stored policy in English, and as ODRL on demand (or why it cannot be shown).
async fn policy_block(state: &ConsoleState, policy_id: &str) -> Result<maud::Markup, PageError> {
    let policy = state.store().get_policy(policy_id).await?;
    let english = policy.as_ref().map(|p| match Policy::from_json(&p.document) {
        Ok(parsed) => Ok(passerelle_policy::describe(&parsed)),
        Err(e) => Err(e.to_string()),
    });
    Ok(html! {
        @match english {
            Some(Ok(text)) => pre.english { (text) },
            Some(Err(problem)) => p.alert { "The policy cannot be read: " (problem) },
            None => p.alert { "The policy is missing from the store." },
        }
        @if let Some(p) = &policy {
            details { summary { "As ODRL" } (json_block(&p.document)) }
        }
    })
}

pub(crate) async fn works(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<PageQuery>,
) -> Result<Response, PageError> {
    let limit = page_size(query.limit)?;
    let cursor = filled(&query.cursor);
    let q = filled(&query.q);
    // An exact id first (on the first page), then titles containing the text.
    let exact = match (q, cursor) {
        (Some(q), None) => state.store().get_work(q).await?,
        _ => None,
    };
    let filter = WorkFilter { title: q.map(str::to_string), ..WorkFilter::default() };
    let page = state.store().list_works(&filter, cursor, limit).await?;
    let limit_text = query.limit.map(|l| l.to_string());
    let filters = [("q", q), ("limit", limit_text.as_deref())];
    let rows = exact.iter().chain(page.items.iter().filter(|w| exact.as_ref().is_none_or(|e| e.id != w.id)));
    let body = html! {
        form.filters method="get" action={ (BASE) "/works" } {
            label { "Id or title" input type="search" name="q" value=[q]; }
            button type="submit" { "Search" }
        }
        table {
            thead { tr { th { "Work" } th { "Kind" } th { "Title" } th { "Year" } th { "EIDR" } } }
            tbody {
                @for w in rows {
                    tr {
                        td { code { (w.id) } }
                        td { (w.kind.as_str()) }
                        td { (w.title) }
                        td { @if let Some(y) = w.release_year { (y) } }
                        td { @if let Some(e) = &w.eidr { code { (e.to_string()) } } }
                    }
                }
            }
        }
        (layout::pager(&format!("{BASE}/works"), &filters, cursor.is_none(), page.next_cursor.as_deref()))
    };
    Ok(layout::page(Section::Works, &session, state.processes().participant_id(), "Works", body))
}
