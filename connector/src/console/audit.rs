//! `/console/audit`: the audit trail's status and its latest entries; `POST /console/audit/verify`.
//!
//! Verifying recomputes the whole hash chain and checks every signed checkpoint: it reads every
//! entry, which takes seconds on 100,000 entries, far more than a page may take. So pages show the
//! last verification's result (and the cheap facts: head, checkpoint count), and the operator starts
//! a verification with a button. It runs in the background, bounded by [`VERIFY_TIME_LIMIT`], one at
//! a time; the page says it is running until it is done. Results live in memory: after a restart the
//! console says "not verified since start" rather than showing a stale verdict.

use std::time::{Duration, Instant};

use axum::Extension;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response;
use maud::{Markup, html};
use passerelle_audit::VerifyError;
use serde::Deserialize;

use super::layout::{self, Section, facts, item_href};
use super::queries;
use super::session::Session;
use super::{BASE, ConsoleState, PageError, Params, check_csrf, filled, page_size, see_other};
use crate::contracts::format_time;

/// The longest a console-started verification may run.
const VERIFY_TIME_LIMIT: Duration = Duration::from_secs(120);

/// The last verification and whether one runs now.
#[derive(Debug, Default)]
pub(crate) struct VerificationState {
    running_since: Option<String>,
    last: Option<Verification>,
}

#[derive(Debug, Clone)]
struct Verification {
    finished_at: String,
    took: Duration,
    outcome: Outcome,
}

#[derive(Debug, Clone)]
enum Outcome {
    Intact {
        entries: u64,
        checkpoints: usize,
        unsealed: u64,
    },
    Broken {
        entry: Option<u64>,
        problem: String,
    },
    /// The trail could not be read (not a verdict on its integrity).
    Failed(String),
    TimedOut,
}

/// What the overview and the audit page show.
pub(crate) struct Status {
    head: Option<(u64, String)>,
    checkpoints: i64,
    last_sealed: Option<i64>,
    running_since: Option<String>,
    last: Option<Verification>,
}

pub(crate) async fn status(state: &ConsoleState) -> Result<Status, PageError> {
    let head = state.processes().audit().head().await?.map(|e| (e.seq, e.at.as_str().to_string()));
    let (checkpoints, last_sealed) = queries::checkpoints(state.pool()).await?;
    let verification = state.inner.verification.lock().unwrap_or_else(|p| p.into_inner());
    Ok(Status {
        head,
        checkpoints,
        last_sealed,
        running_since: verification.running_since.clone(),
        last: verification.last.clone(),
    })
}

pub(crate) fn status_block(status: &Status, session: &Session) -> Markup {
    html! {
        @match status.last.as_ref().map(|v| &v.outcome) {
            Some(Outcome::Intact { entries, checkpoints, unsealed }) => p.good {
                "Intact: " (entries) " entries and " (checkpoints) " signed checkpoint(s) verified; "
                (unsealed) " entr" (if *unsealed == 1 { "y" } else { "ies" }) " after the last checkpoint."
            },
            Some(Outcome::Broken { entry, problem }) => p.alert {
                "BROKEN"
                @if let Some(seq) = entry { " at entry " (seq) }
                ": " (problem)
            },
            Some(Outcome::Failed(reason)) => p.alert { "The verification could not read the trail: " (reason) },
            Some(Outcome::TimedOut) => p.alert {
                "The verification did not finish within " (VERIFY_TIME_LIMIT.as_secs()) " s; use "
                code { "passerelle audit verify" } " (no time limit)."
            },
            None => p.note { "Not verified since the connector started." },
        }
        (facts(&[
            ("Entries", html! {
                @match &status.head {
                    Some((seq, at)) => { (seq) " (last written " (at) ")" },
                    None => span.none { "none yet" },
                }
            }),
            ("Signed checkpoints", html! {
                (status.checkpoints)
                @if let Some(seq) = status.last_sealed { " (last covers entry " (seq) ")" }
            }),
            ("Last verification", html! {
                @match &status.last {
                    Some(v) => { (v.finished_at) ", took " (format!("{:.1}", v.took.as_secs_f64())) " s" },
                    None => span.none { "—" },
                }
            }),
        ]))
        @if let Some(since) = &status.running_since {
            p.note { "A verification is running (started " (since) "); reload this page to see its result." }
        } @else {
            form method="post" action={ (BASE) "/audit/verify" } {
                input type="hidden" name="csrf" value=(session.csrf);
                button type="submit" { "Verify the chain now" }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct AuditQuery {
    cursor: Option<String>,
    limit: Option<usize>,
    subject: Option<String>,
}

pub(crate) async fn page(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    Params(query): Params<AuditQuery>,
) -> Result<Response, PageError> {
    let limit = page_size(query.limit)?;
    let before = match filled(&query.cursor) {
        Some(c) => Some(c.parse::<i64>().map_err(|_| PageError::BadRequest(format!("`{c}` is not an entry number.")))?),
        None => None,
    };
    let subject = filled(&query.subject);
    let status = status(&state).await?;
    let entries = queries::audit_entries(state.pool(), subject, before, limit).await?;
    let limit_text = query.limit.map(|l| l.to_string());
    let filters = [("subject", subject), ("limit", limit_text.as_deref())];
    let body = html! {
        (status_block(&status, &session))
        h2 { "Latest entries" }
        form.filters method="get" action={ (BASE) "/audit" } {
            label { "Subject (process or agreement id)" input type="search" name="subject" value=[subject]; }
            button type="submit" { "Filter" }
        }
        @if entries.items.is_empty() {
            p.none { "No entries." }
        } @else {
            table {
                thead { tr { th { "#" } th { "At" } th { "Kind" } th { "Subject" } th { "Actor" } th { "Details" } } }
                tbody {
                    @for e in &entries.items {
                        tr {
                            td.mono { (e.seq) }
                            td { (e.at) }
                            td { code { (e.kind) } }
                            td { (subject_link(&e.kind, &e.subject)) }
                            td { (e.actor) }
                            td {
                                details {
                                    summary { "payload" }
                                    pre.json { code { (e.payload) } }
                                    p.hint { "hash " code { (e.hash) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        (layout::pager(&format!("{BASE}/audit"), &filters, before.is_none(), entries.next.as_deref()))
    };
    Ok(layout::page(Section::Audit, &session, state.processes().participant_id(), "Audit trail", body))
}

/// The console page of an entry's subject, by the entry's kind (process pids, agreement ids).
fn subject_link(kind: &str, subject: &str) -> Markup {
    let section = match kind {
        "negotiation.state" | "policy.decision" => Some("negotiations"),
        "transfer.state" => Some("transfers"),
        "agreement" => Some("contracts"),
        _ => None,
    };
    html! {
        @match section {
            Some(section) => a href=(item_href(section, subject)) { (subject) },
            None => (subject),
        }
    }
}

/// Starts a verification in the background (unless one runs) and returns to the audit page.
pub(crate) async fn verify(
    State(state): State<ConsoleState>,
    Extension(session): Extension<Session>,
    body: Bytes,
) -> Result<Response, PageError> {
    check_csrf(&session, &body)?;
    {
        let mut verification = state.inner.verification.lock().unwrap_or_else(|p| p.into_inner());
        if verification.running_since.is_some() {
            return Ok(see_other(&format!("{BASE}/audit")));
        }
        verification.running_since = Some(format_time(time::OffsetDateTime::now_utc()));
    }
    tracing::info!("console: audit verification started");
    let task_state = state.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let resolver = |kid: &str| task_state.resolve_key(kid);
        let outcome =
            match tokio::time::timeout(VERIFY_TIME_LIMIT, task_state.processes().audit().verify(&resolver)).await {
                Ok(Ok(summary)) => Outcome::Intact {
                    entries: summary.entries,
                    checkpoints: summary.checkpoints,
                    unsealed: summary.unsealed,
                },
                Ok(Err(VerifyError::Broken(b))) => Outcome::Broken { entry: b.seq(), problem: b.to_string() },
                Ok(Err(other)) => Outcome::Failed(other.to_string()),
                Err(_) => Outcome::TimedOut,
            };
        tracing::info!(outcome = ?outcome, "console: audit verification finished");
        let mut verification = task_state.inner.verification.lock().unwrap_or_else(|p| p.into_inner());
        verification.running_since = None;
        verification.last = Some(Verification {
            finished_at: format_time(time::OffsetDateTime::now_utc()),
            took: started.elapsed(),
            outcome,
        });
    });
    Ok(see_other(&format!("{BASE}/audit")))
}
