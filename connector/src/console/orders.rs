//! `/console/orders`: subtitle orders (either side) by state, and one order with what was ordered,
//! where it stands, its SLA alerts, the numbered timeline both parties share, and each delivery with
//! its manifest, hash verification, signed receipt and QC reports located by timecode.
//!
//! The list reads the `orders` table with keyset paging; the page of one order is
//! [`crate::exchange::Orders::view`], the same view the API and `passerelle orders show` give.

use axum::Extension;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use passerelle_exchange::Event;
use passerelle_subtitle::{Measure, QcReport};
use serde::Deserialize;

use super::contracts::contract_href;
use super::layout::{self, Section, facts, item_href, item_link, json_block, text_or_dash};
use super::queries::{self, OrderFilter, OrderRow, Paged};
use super::session::Session;
use super::{BASE, ConsoleState, Id, PageError, Params, filled, page_size};
use crate::exchange::{DeliveryView, OrderError, OrderView};

/// The states an order can be listed by (`OrderState`'s `state` names).
const STATES: [&str; 14] = [
    "REQUESTED",
    "QUOTED",
    "CONFIRMED",
    "AWAITING_MATERIALS",
    "IN_PROGRESS",
    "ON_HOLD",
    "DELIVERED",
    "VALIDATED",
    "REDELIVERY_REQUESTED",
    "ACCEPTED",
    "DECLINED",
    "CANCELLED",
    "SUPERSEDED",
    "RECALLED",
];

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct OrderQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    state: Option<String>,
    side: Option<String>,
    agreement: Option<String>,
    q: Option<String>,
}

pub(crate) async fn list(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<OrderQuery>,
) -> Result<Response, PageError> {
    let limit = page_size(query.limit)?;
    let wanted = filled(&query.state);
    if let Some(s) = wanted
        && !STATES.contains(&s)
    {
        return Err(PageError::BadRequest(format!("`{s}` is not an order state; one of {}.", STATES.join(", "))));
    }
    let side = filled(&query.side);
    if let Some(s) = side
        && !matches!(s, "distributor" | "lab")
    {
        return Err(PageError::BadRequest(format!("`{s}` is not a side; `distributor` or `lab`.")));
    }
    let filter = OrderFilter { state: wanted, side, agreement: filled(&query.agreement), q: filled(&query.q) };
    let cursor = filled(&query.cursor);
    let page = queries::orders(state.pool(), &filter, cursor, limit).await?;
    let limit_text = query.limit.map(|l| l.to_string());
    let filters = [
        ("state", filter.state),
        ("side", filter.side),
        ("agreement", filter.agreement),
        ("q", filter.q),
        ("limit", limit_text.as_deref()),
    ];
    let path = format!("{BASE}/orders");
    let body = html! {
        form.filters method="get" action=(path) {
            label { "State"
                select name="state" {
                    option value="" { "any" }
                    @for s in STATES { option value=(s) selected[wanted == Some(s)] { (s) } }
                }
            }
            label { "We are"
                select name="side" {
                    option value="" { "either" }
                    @for s in ["distributor", "lab"] { option value=(s) selected[side == Some(s)] { "the " (s) } }
                }
            }
            label { "Search (order reference, id)" input type="search" name="q" value=[filter.q]; }
            @if let Some(a) = filter.agreement { input type="hidden" name="agreement" value=(a); }
            button type="submit" { "Filter" }
        }
        @if let Some(a) = filter.agreement {
            p.note { "Orders under contract " a href=(contract_href(a)) { (a) } "." }
        }
        (rows(&page))
        (layout::pager(&path, &filters, cursor.is_none(), page.next.as_deref()))
    };
    Ok(layout::page(Section::Orders, &session, state.processes().participant_id(), "Subtitle orders", body))
}

fn rows(page: &Paged<OrderRow>) -> Markup {
    html! {
        @if page.items.is_empty() {
            p.none { "Nothing matches." }
        } @else {
            table {
                thead { tr {
                    th { "Order" } th { "Reference" } th { "We are" } th { "State" } th { "Agreement" } th { "Updated" }
                } }
                tbody {
                    @for o in &page.items {
                        tr {
                            td { (item_link("orders", &o.id)) }
                            td { (o.order_id) }
                            td { (o.side) }
                            td { (order_state(&o.state, o.stage.as_deref())) }
                            td { a href=(contract_href(&o.agreement_id)) { (o.agreement_id) } }
                            td { (o.updated_at) }
                        }
                    }
                }
            }
        }
    }
}

/// An order state as a badge, with the production stage when there is one.
fn order_state(state: &str, stage: Option<&str>) -> Markup {
    let class = match state {
        "ACCEPTED" | "VALIDATED" => "state ok",
        "DECLINED" | "CANCELLED" | "RECALLED" | "SUPERSEDED" => "state bad",
        "ON_HOLD" | "REDELIVERY_REQUESTED" => "state warn",
        _ => "state",
    };
    html! {
        span class=(class) { (state) }
        @if let Some(stage) = stage { " " span.stage { (stage) } }
    }
}

pub(crate) async fn detail(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Id(id): Id,
) -> Result<Response, PageError> {
    let view = state.orders().view(&id).await.map_err(|e| match e {
        OrderError::NotFound(id) => PageError::NotFound { kind: "order", id: Some(id) },
        other => {
            tracing::warn!(error = %other, "console: reading an order failed");
            PageError::Unavailable
        }
    })?;
    let title = format!("Order {}", view.order_id);
    let body = order_page(&view);
    Ok(layout::page(Section::Orders, &session, state.processes().participant_id(), &title, body))
}

fn order_page(view: &OrderView) -> Markup {
    let placed = view.log.iter().find_map(|entry| match &entry.event {
        Event::OrderPlaced { order } => Some(order.as_ref()),
        _ => None,
    });
    let state_value = serde_json::to_value(view.state).unwrap_or_default();
    html! {
        (facts(&[
            ("State", order_state(
                state_value["state"].as_str().unwrap_or_default(),
                state_value["stage"].as_str(),
            )),
            ("We are", html! { "the " (view.side) }),
            ("Our id", html! { (view.id) }),
            ("Agreement", html! { a href=(contract_href(&view.agreement_id)) { (view.agreement_id) } }),
            ("Transfer", item_link("transfers", &view.transfer_pid)),
            ("Order number under the agreement", html! {
                @match view.ordinal { Some(n) => (n), None => span.none { "—" } }
            }),
            ("Placed", html! { (view.created_at) }),
            ("Updated", html! { (view.updated_at) }),
        ]))
        @if let Some(why) = &view.delivery {
            p.alert role="alert" { "Our events are not reaching the other party: " (why) }
        }
        @if !view.alerts.is_empty() {
            h2 { "SLA alerts" }
            ul.alerts { @for alert in &view.alerts { li { (alert.message) } } }
        }
        @if let Some(order) = placed {
            h2 { "What was ordered" }
            (facts(&[
                ("Work", html! {
                    (order.work.id)
                    @if let Some(title) = &order.work.title { " — " (title) }
                }),
                ("Version", html! {
                    @if let Some(eidr) = &order.version.eidr { "EIDR " (eidr) " " }
                    @if let Some(isan) = &order.version.isan { "ISAN " (isan) " " }
                    @if let Some(label) = &order.version.label { "(" (label) ")" }
                }),
                ("Language", html! { (order.target_language) }),
                ("Kind, format", html! {
                    (json_text(&serde_json::to_value(order.kind).unwrap_or_default()))
                    ", "
                    (json_text(&serde_json::to_value(order.format).unwrap_or_default()))
                    @if let Some(profile) = &order.profile { " (" (profile) ")" }
                }),
                ("Frame rate, start", html! {
                    (json_text(&serde_json::to_value(order.frame_rate).unwrap_or_default()))
                    ", " (order.start_timecode)
                }),
                ("Style profile", html! {
                    (order.style_profile.max_lines) " lines of " (order.style_profile.max_chars_per_line)
                    " characters, at most " (order.style_profile.reading_speed.max_chars_per_second)
                    " characters/s, events " (order.style_profile.min_event_duration_ms) "–"
                    (order.style_profile.max_event_duration_ms) " ms, gap ≥ " (order.style_profile.min_gap_frames)
                    " frames"
                }),
                ("Due", html! {
                    (order.due_date.format(&time::format_description::well_known::Rfc3339).unwrap_or_default())
                }),
                ("Instructions", text_or_dash(order.instructions.as_deref())),
            ]))
        }
        h2 { "Timeline" }
        table.timeline {
            thead { tr { th { "#" } th { "From" } th { "Event" } th { "State after" } th { "Delivery" } } }
            tbody {
                @for entry in &view.log {
                    tr {
                        td { (entry.seq) }
                        td { (entry.sender) }
                        td { (entry.event.kind().to_string()) (event_detail(&entry.event)) }
                        td { (entry.state.to_string()) }
                        td {
                            (entry.delivery)
                            @if entry.attempts > 1 { " after " (entry.attempts) " attempts" }
                            @if let Some(e) = &entry.last_error { br; span.error { (e) } }
                        }
                    }
                }
            }
        }
        h2 { "Deliveries" }
        @if view.deliveries.is_empty() {
            p.none { "Nothing delivered yet." }
        }
        @for delivery in &view.deliveries {
            (delivery_section(view, delivery))
        }
    }
}

/// The words of an event worth a glance in the timeline (notes, reasons, stages).
fn event_detail(event: &Event) -> Markup {
    let text = match event {
        Event::StageProgress { stage, percent, .. } => {
            Some(format!("{} {percent} %", serde_json::to_value(stage).unwrap_or_default().as_str().unwrap_or("")))
        }
        Event::Declined { reason } | Event::OnHold { reason } | Event::Cancelled { reason } => Some(reason.clone()),
        Event::Recalled { reason } => Some(reason.clone()),
        Event::RedeliveryRequested { notes, .. } => Some(format!("{} QC note(s)", notes.len())),
        _ => None,
    };
    html! { @if let Some(text) = text { ": " (text) } }
}

fn delivery_section(view: &OrderView, d: &DeliveryView) -> Markup {
    let anchor = format!("delivery-{}", d.seq);
    let files = d.manifest["files"].as_array().cloned().unwrap_or_default();
    let problems = d.verification.as_ref().map(verification_problems).unwrap_or_default();
    html! {
        section.delivery id=(anchor) {
            h3 { "Delivery " (d.seq) " (event " (d.event_seq) ")" }
            (facts(&[
                ("Manifest", html! { code { (d.manifest_ref) } }),
                ("Hashes", match d.intact {
                    Some(true) => html! { span class="state ok" { "verified intact" } },
                    Some(false) => html! { span class="state bad" { "refused: not intact" } },
                    None => html! { span.none { "not verified here" } },
                }),
                ("Receipt", match (&d.receipt, d.receipt_verified) {
                    (Some(_), Some(true)) => html! { "signed by the distributor, verified against its DID document" },
                    (Some(_), Some(false)) => html! { span class="state bad" { "signature does not verify" } },
                    (Some(_), None) => html! { "signed with our DID key and sent" },
                    (None, _) => html! { span.none { "none" } },
                }),
            ]))
            @if let Some(e) = &d.intake_error { p.alert { "The files could not be fetched or checked: " (e) } }
            @if let Some(e) = &d.receipt_error { p.alert { "The receipt did not verify: " (e) } }
            @if !problems.is_empty() {
                p.alert role="alert" { "Integrity problems:" }
                ul.problems { @for p in &problems { li { (p) } } }
            }
            table.manifest {
                thead { tr { th { "File" } th { "Role" } th { "Size (bytes)" } th { "SHA-256" } } }
                tbody {
                    @for f in &files {
                        tr {
                            td { (f["path"].as_str().unwrap_or_default()) }
                            td { (f["role"].as_str().unwrap_or_default()) }
                            td { (f["size"].as_u64().map(|s| s.to_string()).unwrap_or_default()) }
                            td { code { (f["sha256"].as_str().unwrap_or_default()) } }
                        }
                    }
                }
            }
            @for qc in &d.qc {
                (qc_report(view, d.seq, &qc.file, &qc.report, qc.passed))
            }
        }
    }
}

/// Every file that keeps the delivery from being intact, in words: from the distributor's verification report,
/// or from the problems of the lab's refused delivery.
fn verification_problems(verification: &serde_json::Value) -> Vec<String> {
    if let Ok(report) = serde_json::from_value::<passerelle_delivery::VerificationReport>(verification.clone()) {
        return report.problems().map(|file| file.to_string()).collect();
    }
    serde_json::from_value::<Vec<passerelle_exchange::DeliveryProblem>>(verification.clone())
        .map(|problems| problems.into_iter().map(|p| p.message).collect())
        .unwrap_or_default()
}

fn qc_report(view: &OrderView, delivery: u64, file: &str, report: &serde_json::Value, passed: bool) -> Markup {
    let id = format!("qc-{delivery}-{}", file.replace(|c: char| !c.is_ascii_alphanumeric(), "-"));
    let typed: Option<QcReport> = serde_json::from_value(report.clone()).ok();
    html! {
        section.qc id=(id) {
            h4 {
                "QC report: " (file) " "
                @if passed { span class="state ok" { "passed" } } @else { span class="state bad" { "failed" } }
            }
            @match &typed {
                Some(r) => {
                    p {
                        (r.summary.cues) " cues checked at " (r.frame_rate.to_string()) ": "
                        (r.summary.errors) " error(s), " (r.summary.warnings) " warning(s)."
                    }
                    @if !r.summary.by_rule.is_empty() {
                        ul.by-rule {
                            @for (rule, counts) in &r.summary.by_rule {
                                li { (rule_name(rule)) ": " (counts.errors) " error(s), " (counts.warnings) " warning(s)" }
                            }
                        }
                    }
                    @if !r.findings.is_empty() {
                        table.findings {
                            thead { tr {
                                th { "Cue" } th { "Timecodes" } th { "Rule" } th { "Severity" } th { "Finding" }
                                th { "Measured" } th { "Limit" }
                            } }
                            tbody {
                                @for f in &r.findings {
                                    tr {
                                        td { @match f.cue { Some(c) => (c), None => "file" } }
                                        td { @if let Some(t) = &f.timecodes {
                                            (t.begin.to_string())
                                            @if let Some(end) = &t.end { " – " (end.to_string()) }
                                        } }
                                        td { (rule_name(&f.rule)) }
                                        td { (json_text(&serde_json::to_value(f.severity).unwrap_or_default())) }
                                        td { (f.message) }
                                        td { (measure(f.measured.as_ref())) }
                                        td { (measure(f.limit.as_ref())) }
                                    }
                                }
                            }
                        }
                    }
                },
                None => (json_block(report)),
            }
            p.note { "Order " a href=(item_href("orders", &view.id)) { (view.order_id) } ", delivery " (delivery) "." }
        }
    }
}

/// A JSON scalar as text (strings without their quotes).
fn json_text(value: &serde_json::Value) -> String {
    value.as_str().map(str::to_string).unwrap_or_else(|| value.to_string())
}

fn rule_name(rule: &passerelle_subtitle::Rule) -> String {
    serde_json::to_value(rule).ok().and_then(|v| v.as_str().map(|s| s.replace('_', " "))).unwrap_or_default()
}

fn measure(m: Option<&Measure>) -> String {
    match m {
        None => String::new(),
        Some(Measure::Frames(v)) => format!("{v} frames"),
        Some(Measure::Seconds(v)) => format!("{v} s"),
        Some(Measure::Lines(v)) => format!("{v} lines"),
        Some(Measure::Characters(v)) => format!("{v} characters"),
        Some(Measure::CharactersPerSecond(v)) => format!("{v:.1} characters/s"),
        Some(Measure::Text(t)) => t.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_problems_name_the_files_that_are_not_intact() {
        let problems = serde_json::json!([{
            "file": "b.srt", "problem": "hash_mismatch", "algorithm": "sha256",
            "expected": "00", "actual": "ff", "message": "`b.srt`: hash mismatch, sha256 expected 00 got ff"
        }]);
        assert_eq!(verification_problems(&problems), vec!["`b.srt`: hash mismatch, sha256 expected 00 got ff"]);
        assert!(verification_problems(&serde_json::json!({"unknown": true})).is_empty());
    }

    #[test]
    fn states_and_measures_read_as_words() {
        let badge = order_state("IN_PROGRESS", Some("review")).into_string();
        assert!(badge.contains("IN_PROGRESS") && badge.contains("review"), "{badge}");
        assert!(order_state("ACCEPTED", None).into_string().contains("state ok"));
        assert_eq!(measure(Some(&Measure::Characters(43))), "43 characters");
        assert_eq!(measure(None), "");
    }
}
