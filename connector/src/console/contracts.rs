//! `/console/contracts`: agreements (paged, filtered) and one agreement with its policy in plain
//! English and as ODRL, the counter-party, the dataset, the negotiation and every transfer under it.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use passerelle_policy::Policy;
use serde::Deserialize;

use super::layout::{self, Section, facts, item_href, item_link, json_block, text_or_dash};
use super::processes::history_table;
use super::queries::{self, AgreementFilter, ProcessFilter};
use super::session::Session;
use super::{BASE, ConsoleState, Id, PageError, Params, filled, page_size};
use crate::catalog::ids::{DatasetRef, parse_dataset_id};

/// Transfers listed under one contract (the transfers page, filtered by agreement, has them all).
const TRANSFERS_SHOWN: usize = 100;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ContractQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    counterparty: Option<String>,
    dataset: Option<String>,
    q: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<ContractQuery>,
) -> Result<Response, PageError> {
    let limit = page_size(query.limit)?;
    let filter = AgreementFilter {
        counterparty: filled(&query.counterparty),
        dataset: filled(&query.dataset),
        q: filled(&query.q),
    };
    let cursor = filled(&query.cursor);
    let page = queries::agreements(state.pool(), &filter, cursor, limit).await?;
    let limit_text = query.limit.map(|l| l.to_string());
    let filters = [
        ("q", filter.q),
        ("counterparty", filter.counterparty),
        ("dataset", filter.dataset),
        ("limit", limit_text.as_deref()),
    ];
    let body = html! {
        form.filters method="get" action={ (BASE) "/contracts" } {
            label { "Id or negotiation" input type="search" name="q" value=[filter.q]; }
            label { "Counter-party" input type="search" name="counterparty" value=[filter.counterparty]; }
            label { "Dataset" input type="search" name="dataset" value=[filter.dataset]; }
            button type="submit" { "Filter" }
        }
        @if page.items.is_empty() {
            p.none { "No agreements" @if cursor.is_some() { " on this page" } "." }
        } @else {
            table {
                thead { tr { th { "Agreement" } th { "We are" } th { "Counter-party" } th { "Dataset" } th { "Signed" } } }
                tbody {
                    @for a in &page.items {
                        tr {
                            td { (item_link("contracts", &a.id)) }
                            td { (a.side) }
                            td { (a.counterparty()) }
                            td { (a.target) }
                            td { (a.timestamp) }
                        }
                    }
                }
            }
        }
        (layout::pager(&format!("{BASE}/contracts"), &filters, cursor.is_none(), page.next.as_deref()))
    };
    Ok(layout::page(Section::Contracts, &session, state.processes().participant_id(), "Contracts", body))
}

pub(crate) async fn detail(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Id(id): Id,
) -> Result<Response, PageError> {
    let agreement = state.processes().agreement(&id).await?;
    let negotiation = match state.processes().negotiation(&agreement.negotiation_pid).await {
        Ok(view) => Some(view),
        Err(crate::contracts::ProcessError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let transfers = queries::transfers(
        state.pool(),
        &ProcessFilter { state: None, agreement: Some(&agreement.id), q: None },
        None,
        TRANSFERS_SHOWN,
    )
    .await?;
    let orders = queries::orders(
        state.pool(),
        &queries::OrderFilter { state: None, side: None, agreement: Some(&agreement.id), q: None },
        None,
        10,
    )
    .await?;
    let dataset = dataset_label(&state, &agreement.target).await?;
    let provider_side = agreement.side == "provider";
    let counterparty = if provider_side { &agreement.assignee } else { &agreement.assigner };
    // Agreements come from peers too: read leniently, so terms outside our profile still show.
    let english = match Policy::from_peer_json(&agreement.agreement) {
        Ok(policy) => Ok(passerelle_policy::describe(&policy)),
        Err(e) => Err(e.to_string()),
    };

    let body = html! {
        (facts(&[
            ("We are", html! { "the " (agreement.side) }),
            ("Counter-party", html! { (counterparty) }),
            ("Verified identity", verified_identity(negotiation.as_ref().and_then(|n| n.record.counterparty_id.as_deref()))),
            ("Counter-party address", text_or_dash(negotiation.as_ref().and_then(|n| n.record.counterparty_address.as_deref()))),
            ("Dataset", html! {
                code { (agreement.target) }
                @if let Some(label) = &dataset { " — " (label) }
            }),
            ("Assigner (provider)", html! { (agreement.assigner) }),
            ("Assignee (consumer)", html! { (agreement.assignee) }),
            ("Signed", html! { (agreement.timestamp) }),
            ("Stored here", html! { (agreement.created_at) }),
            ("Negotiation", html! {
                (item_link("negotiations", &agreement.negotiation_pid))
                @if let Some(n) = &negotiation { " " (layout::state(n.record.state.as_str())) }
            }),
        ]))
        h2 { "Policy" }
        @match &english {
            Ok(text) => pre.english { (text) },
            Err(problem) => p.alert { "The agreement's policy cannot be read as ODRL: " (problem) },
        }
        details open {
            summary { "As ODRL (the agreement exchanged)" }
            (json_block(&agreement.agreement))
        }
        h2 { "Subtitle orders under this contract" }
        @if orders.items.is_empty() {
            p.none { "No subtitle order under this contract." }
        } @else {
            ul.orders {
                @for o in &orders.items {
                    li { (item_link("orders", &o.id)) " — " (o.order_id) " " (layout::state(&o.state)) }
                }
            }
            @if orders.next.is_some() {
                p { a href=(layout::link(&format!("{BASE}/orders"), &[("agreement", Some(&agreement.id))])) {
                    "All orders under this contract"
                } }
            }
        }
        h2 { "Transfers under this contract" }
        @if transfers.items.is_empty() {
            p.none { "No transfer yet." }
        } @else {
            table {
                thead { tr { th { "Transfer" } th { "We are" } th { "State" } th { "Format" } th { "Updated" } th { "Last error" } } }
                tbody {
                    @for t in &transfers.items {
                        tr {
                            td { (item_link("transfers", &t.pid)) }
                            td { (t.side) }
                            td { (layout::state(&t.state)) }
                            td { (t.format.as_deref().unwrap_or_default()) }
                            td { (t.updated_at) }
                            td { (text_or_dash(t.last_error.as_deref())) }
                        }
                    }
                }
            }
            @if transfers.next.is_some() {
                p { a href=(layout::link(&format!("{BASE}/transfers"), &[("agreement", Some(&agreement.id))])) {
                    "All transfers under this contract"
                } }
            }
        }
        @if let Some(n) = &negotiation {
            h2 { "Negotiation history" }
            (history_table(&n.record.history))
        }
        p { a href=(layout::link(&format!("{BASE}/audit"), &[("subject", Some(&agreement.id))])) {
            "Audit entries of this agreement"
        } }
    };
    let title = format!("Contract {}", agreement.id);
    Ok(layout::page(Section::Contracts, &session, state.processes().participant_id(), &title, body))
}

/// What is stored about who the counter-party is.
pub(crate) fn verified_identity(counterparty_id: Option<&str>) -> Markup {
    html! {
        @match counterparty_id.filter(|id| !id.is_empty()) {
            Some(id) => { code { (id) } " (verified by DCP when the process started)" },
            None => span.none { "not verified: no authentication was in place (DCP off)" },
        }
    }
}

/// The title of a dataset of ours (a work, an offer definition's collection or a service), if it is one.
pub(crate) async fn dataset_label(state: &ConsoleState, dataset_id: &str) -> Result<Option<String>, PageError> {
    Ok(match parse_dataset_id(dataset_id) {
        Some(DatasetRef::Work(id)) => state.store().get_work(&id).await?.map(|w| format!("work “{}”", w.title)),
        Some(DatasetRef::Collection(id)) => {
            state.store().get_offer_definition(&id).await?.map(|d| format!("collection “{}”", d.definition.title))
        }
        Some(DatasetRef::Service(id)) => {
            state.store().get_service(&id).await?.map(|s| format!("service “{}”", s.service.title))
        }
        None => None,
    })
}

/// Link to a contract (used by the process pages).
pub(crate) fn contract_href(id: &str) -> String {
    item_href("contracts", id)
}
