//! `/console/negotiations` and `/console/transfers`: lists by state, and one process with its full
//! history, why it is not moving, the counter-party's last error, its outbox and its audit entries.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use serde::Deserialize;

use super::contracts::{contract_href, dataset_label, verified_identity};
use super::layout::{self, Section, facts, item_link, json_block, text_or_dash};
use super::queries::{self, Paged, ProcessFilter, ProcessRow};
use super::session::Session;
use super::{BASE, ConsoleState, Id, PageError, Params, filled, page_size};
use crate::contracts::{Step, Termination};
use crate::outbox::OutboxEntry;

/// Audit entries shown on a process page (the audit page, filtered by subject, pages through all).
const AUDIT_SHOWN: usize = 50;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct ProcessQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    state: Option<String>,
    q: Option<String>,
    agreement: Option<String>,
}

#[derive(Clone, Copy)]
enum Kind {
    Negotiations,
    Transfers,
}

impl Kind {
    fn path(self) -> &'static str {
        match self {
            Kind::Negotiations => "negotiations",
            Kind::Transfers => "transfers",
        }
    }

    fn states(self) -> Vec<&'static str> {
        match self {
            Kind::Negotiations => passerelle_dsp::negotiation::State::ALL.iter().map(|s| s.as_str()).collect(),
            Kind::Transfers => passerelle_dsp::transfer::State::ALL.iter().map(|s| s.as_str()).collect(),
        }
    }
}

pub(crate) async fn negotiations(
    state: State<ConsoleState>,
    session: Extension<Session>,
    query: Params<ProcessQuery>,
) -> Result<Response, PageError> {
    list(Kind::Negotiations, state, session, query).await
}

pub(crate) async fn transfers(
    state: State<ConsoleState>,
    session: Extension<Session>,
    query: Params<ProcessQuery>,
) -> Result<Response, PageError> {
    list(Kind::Transfers, state, session, query).await
}

async fn list(
    kind: Kind,
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<ProcessQuery>,
) -> Result<Response, PageError> {
    let limit = page_size(query.limit)?;
    let states = kind.states();
    let wanted = filled(&query.state);
    if let Some(s) = wanted
        && !states.contains(&s)
    {
        return Err(PageError::BadRequest(format!("`{s}` is not a state; one of {}.", states.join(", "))));
    }
    let agreement = match kind {
        Kind::Transfers => filled(&query.agreement),
        Kind::Negotiations => None,
    };
    let filter = ProcessFilter { state: wanted, agreement, q: filled(&query.q) };
    let cursor = filled(&query.cursor);
    let page = match kind {
        Kind::Negotiations => queries::negotiations(state.pool(), &filter, cursor, limit).await?,
        Kind::Transfers => queries::transfers(state.pool(), &filter, cursor, limit).await?,
    };
    let limit_text = query.limit.map(|l| l.to_string());
    let filters =
        [("state", filter.state), ("q", filter.q), ("agreement", filter.agreement), ("limit", limit_text.as_deref())];
    let path = format!("{BASE}/{}", kind.path());
    let body = html! {
        form.filters method="get" action=(path) {
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for s in &states { option value=(s) selected[wanted == Some(*s)] { (s) } }
                }
            }
            label { "Search (pid, counter-party pid, "
                @match kind { Kind::Negotiations => "dataset", Kind::Transfers => "agreement" } ")"
                input type="search" name="q" value=[filter.q];
            }
            @if let Some(a) = agreement { input type="hidden" name="agreement" value=(a); }
            button type="submit" { "Filter" }
        }
        @if let Some(a) = agreement {
            p.note { "Transfers under contract " a href=(contract_href(a)) { (a) } "." }
        }
        (rows(kind, &page))
        (layout::pager(&path, &filters, cursor.is_none(), page.next.as_deref()))
    };
    let title = match kind {
        Kind::Negotiations => "Negotiations",
        Kind::Transfers => "Transfers",
    };
    let section = match kind {
        Kind::Negotiations => Section::Negotiations,
        Kind::Transfers => Section::Transfers,
    };
    Ok(layout::page(section, &session, state.processes().participant_id(), title, body))
}

fn rows(kind: Kind, page: &Paged<ProcessRow>) -> Markup {
    html! {
        @if page.items.is_empty() {
            p.none { "Nothing matches." }
        } @else {
            table {
                thead { tr {
                    th { "Process" } th { "We are" } th { "Verified counter-party" } th { "State" }
                    @match kind {
                        Kind::Negotiations => th { "Dataset" },
                        Kind::Transfers => { th { "Agreement" } th { "Format" } },
                    }
                    th { "Updated" } th { "Last counter-party error" }
                } }
                tbody {
                    @for p in &page.items {
                        tr {
                            td { (item_link(kind.path(), &p.pid)) }
                            td { (p.side) }
                            td { (text_or_dash(Some(&p.counterparty_id))) }
                            td { (layout::state(&p.state)) }
                            @match kind {
                                Kind::Negotiations => td { (text_or_dash(p.subject.as_deref())) },
                                Kind::Transfers => {
                                    td { @if let Some(a) = &p.subject { a href=(contract_href(a)) { (a) } } }
                                    td { (p.format.as_deref().unwrap_or_default()) }
                                },
                            }
                            td { (p.updated_at) }
                            td { (text_or_dash(p.last_error.as_deref())) }
                        }
                    }
                }
            }
        }
    }
}

pub(crate) async fn negotiation(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Id(pid): Id,
) -> Result<Response, PageError> {
    let view = state.processes().negotiation(&pid).await?;
    let r = &view.record;
    let dataset = match &r.dataset_id {
        Some(id) => dataset_label(&state, id).await?,
        None => None,
    };
    let audit = queries::audit_entries(state.pool(), Some(&r.pid), None, AUDIT_SHOWN).await?;
    let body = html! {
        (facts(&[
            ("State", layout::state(r.state.as_str())),
            ("We are", html! { "the " (r.side.as_str()) }),
            ("Their pid", text_or_dash(r.counterparty_pid.as_deref())),
            ("Verified identity", verified_identity(r.counterparty_id.as_deref())),
            ("Counter-party address", text_or_dash(r.counterparty_address.as_deref())),
            ("Dataset", html! {
                (text_or_dash(r.dataset_id.as_deref()))
                @if let Some(label) = &dataset { " — " (label) }
            }),
            ("Agreement", html! {
                @match &r.agreement_id {
                    Some(a) => a href=(contract_href(a)) { (a) },
                    None => span.none { "none yet" },
                }
            }),
            ("Started", html! { (r.created_at) }),
            ("Updated", html! { (r.updated_at) }),
        ]))
        (status_and_errors(view.status.as_deref(), r.last_error.as_deref(), r.termination.as_ref()))
        h2 { "History" }
        (history_table(&r.history))
        @if let Some(offer) = &r.offer {
            details {
                summary { "Last offer exchanged (ODRL)" }
                (json_block(offer))
            }
        }
        h2 { "Messages we sent" }
        (outbox_table(&view.outbox))
        h2 { "Audit entries" }
        (audit_table(&audit, &r.pid))
    };
    let title = format!("Negotiation {}", r.pid);
    Ok(layout::page(Section::Negotiations, &session, state.processes().participant_id(), &title, body))
}

pub(crate) async fn transfer(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Id(pid): Id,
) -> Result<Response, PageError> {
    // The view is redacted: data-address tokens never reach the page.
    let view = state.processes().transfer(&pid).await?;
    let r = &view.record;
    let audit = queries::audit_entries(state.pool(), Some(&r.pid), None, AUDIT_SHOWN).await?;
    let body = html! {
        (facts(&[
            ("State", layout::state(r.state.as_str())),
            ("We are", html! { "the " (r.side.as_str()) }),
            ("Contract", html! { a href=(contract_href(&r.agreement_id)) { (r.agreement_id) } }),
            ("Format", html! { (r.format) }),
            ("Their pid", text_or_dash(r.counterparty_pid.as_deref())),
            ("Verified identity", verified_identity(r.counterparty_id.as_deref())),
            ("Counter-party address", text_or_dash(r.counterparty_address.as_deref())),
            ("Started", html! { (r.created_at) }),
            ("Updated", html! { (r.updated_at) }),
        ]))
        (status_and_errors(view.status.as_deref(), r.last_error.as_deref(), r.termination.as_ref()))
        h2 { "History" }
        (history_table(&r.history))
        h2 { "Messages we sent" }
        (outbox_table(&view.outbox))
        h2 { "Audit entries" }
        (audit_table(&audit, &r.pid))
    };
    let title = format!("Transfer {}", r.pid);
    Ok(layout::page(Section::Transfers, &session, state.processes().participant_id(), &title, body))
}

fn status_and_errors(status: Option<&str>, last_error: Option<&str>, termination: Option<&Termination>) -> Markup {
    html! {
        @if let Some(status) = status {
            p.note { strong { "Status: " } (status) }
        }
        @if let Some(error) = last_error {
            p.alert { strong { "Last counter-party error: " } (error) }
        }
        @if let Some(t) = termination {
            p.alert {
                strong { "Ended by the " (t.by) }
                @if let Some(code) = &t.code { " (" code { (code) } ")" }
                @if !t.reason.is_empty() { ": " (t.reason.join("; ")) }
            }
        }
    }
}

pub(crate) fn history_table(history: &[Step]) -> Markup {
    html! {
        @if history.is_empty() {
            p.none { "No message applied yet." }
        } @else {
            table {
                thead { tr { th { "At" } th { "From" } th { "Message" } th { "State after" } } }
                tbody {
                    @for s in history {
                        tr { td { (s.at) } td { (s.sender) } td { code { (s.message) } } td { (layout::state(&s.state)) } }
                    }
                }
            }
        }
    }
}

fn outbox_table(entries: &[OutboxEntry]) -> Markup {
    html! {
        @if entries.is_empty() {
            p.none { "Nothing sent." }
        } @else {
            table {
                thead { tr { th { "Message" } th { "To" } th { "Status" } th { "Attempts" } th { "Last error" } th { "Queued" } th { "Done" } } }
                tbody {
                    @for e in entries {
                        tr {
                            td { code { (e.kind) } }
                            td { (e.recipient) " " span.hint { (e.address) } }
                            td {
                                (e.status)
                                @if let Some(next) = &e.next_attempt_at { span.hint { " next try " (next) } }
                            }
                            td { (e.attempts) }
                            td { (text_or_dash(e.last_error.as_deref())) }
                            td { (e.created_at) }
                            td { (text_or_dash(e.done_at.as_deref())) }
                        }
                    }
                }
            }
        }
    }
}

fn audit_table(entries: &Paged<queries::AuditRow>, subject: &str) -> Markup {
    html! {
        @if entries.items.is_empty() {
            p.none { "No audit entries." }
        } @else {
            table {
                thead { tr { th { "#" } th { "At" } th { "Kind" } th { "Actor" } } }
                tbody {
                    @for e in &entries.items {
                        tr { td.mono { (e.seq) } td { (e.at) } td { code { (e.kind) } } td { (e.actor) } }
                    }
                }
            }
        }
        p { a href=(layout::link(&format!("{BASE}/audit"), &[("subject", Some(subject))])) { "All audit entries of this process" } }
    }
}
