//! `/console`: health, counts, alerts and the audit trail's status at a glance.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};

use super::layout::{self, Section, item_link};
use super::queries::{self, Counted, Table};
use super::session::Session;
use super::{BASE, ConsoleState, PageError, audit};

/// Alerts shown at most (the lists behind them have the rest).
const MAX_ALERTS: usize = 20;

pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
) -> Result<Response, PageError> {
    let pool = state.pool();
    let store_ok = state.store().ping().await.is_ok();
    let works = state.store().count_works().await?;
    let offers = queries::count(pool, Counted::OfferDefinitions).await?;
    let policies = queries::count(pool, Counted::Policies).await?;
    let agreements = queries::count(pool, Counted::Agreements).await?;
    let negotiations = queries::counts_by_state(pool, Table::Negotiations).await?;
    let transfers = queries::counts_by_state(pool, Table::Transfers).await?;
    let orders = queries::order_counts(pool).await?;
    let sla_risks = sla_risks(&state).await?;

    // Alerts: a message the outbox cannot deliver (why, in the outbox's words), and live processes
    // whose counter-party answered with an error.
    let mut stalls = Vec::new();
    for (process, pid) in queries::stalled(pool, MAX_ALERTS).await? {
        let entries = crate::outbox::entries_in(pool, &pid).await?;
        if let Some(reason) = crate::outbox::stall_reason(&entries) {
            stalls.push((process, pid, reason));
        }
    }
    let erring = queries::erring(pool, MAX_ALERTS).await?;
    let audit_status = audit::status(&state).await?;

    let body = html! {
        h2 { "Health" }
        @if store_ok {
            p.good { "Store reachable. Connector version " (env!("CARGO_PKG_VERSION")) "." }
        } @else {
            p.alert { "The store does not answer: see the connector's log." }
        }
        h2 { "Counts" }
        div.cards {
            (card("Works", works as i64, &format!("{BASE}/works")))
            (card("Offer definitions", offers, &format!("{BASE}/offers")))
            (card("Policies", policies, &format!("{BASE}/offers")))
            (card("Agreements", agreements, &format!("{BASE}/contracts")))
        }
        h2 { "Negotiations by state" }
        (by_state(&negotiations, "negotiations"))
        h2 { "Transfers by state" }
        (by_state(&transfers, "transfers"))
        h2 { "Subtitle orders by state" }
        (by_state(&orders, "orders"))
        h2 { "Alerts" }
        @for (id, order_id, message) in &sla_risks {
            p.alert { "Order " a href=(layout::item_href("orders", id)) { (order_id) } ": " (message) }
        }
        @if stalls.is_empty() && erring.is_empty() {
            p.good { "Nothing is stalled: every queued message was delivered or is on its first try." }
        } @else {
            table {
                thead { tr { th { "Process" } th { "State" } th { "Why" } } }
                tbody {
                    @for (process, pid, reason) in &stalls {
                        tr { td { (process) " " (item_link(section(process), pid)) } td { "—" } td { (reason) } }
                    }
                    @for (process, pid, state, error) in &erring {
                        tr {
                            td { (process) " " (item_link(section(process), pid)) }
                            td { (layout::state(state)) }
                            td { "the counter-party answered: " (error) }
                        }
                    }
                }
            }
            @if stalls.len() + erring.len() >= MAX_ALERTS {
                p.note { "Only the first " (MAX_ALERTS) " alerts of each kind are shown." }
            }
        }
        h2 { "Audit trail" }
        (audit::status_block(&audit_status, &session))
    };
    Ok(layout::page(Section::Overview, &session, state.processes().participant_id(), "Overview", body))
}

/// SLA risks of the most recently updated open orders: `(our id, order reference, advice)`.
async fn sla_risks(state: &ConsoleState) -> Result<Vec<(String, String, String)>, PageError> {
    let mut risks = Vec::new();
    for id in queries::open_orders(state.pool(), MAX_ALERTS).await? {
        // An order that vanished between the two reads simply has no alert.
        let Ok(view) = state.orders().view(&id).await else { continue };
        for alert in view.alerts {
            risks.push((view.id.clone(), view.order_id.clone(), alert.message));
        }
    }
    Ok(risks)
}

fn section(process: &str) -> &'static str {
    if process == "transfer" { "transfers" } else { "negotiations" }
}

fn card(label: &str, count: i64, href: &str) -> Markup {
    html! {
        div.card {
            div.count { (count) }
            a href=(href) { (label) }
        }
    }
}

fn by_state(counts: &[(String, i64)], section: &str) -> Markup {
    html! {
        @if counts.is_empty() {
            p.none { "None yet." }
        } @else {
            div.cards {
                @for (state, count) in counts {
                    div.card {
                        div.count { (count) }
                        a href=(layout::link(&format!("{BASE}/{section}"), &[("state", Some(state))])) {
                            (layout::state(state))
                        }
                    }
                }
            }
        }
    }
}
