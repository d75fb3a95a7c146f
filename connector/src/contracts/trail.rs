//! What the process host writes to the audit trail (`passerelle-audit`), always inside the
//! transaction of the change it records: a state change, an agreement or a policy decision
//! is in the trail exactly when it is in the store.

use crate::store::direct::Db;
use passerelle_audit::{AuditStore, EntryDraft, EntryKind, Timestamp};
use passerelle_dsp::process::Role;
use serde_json::{Value, json};

use crate::webhooks::WebhookFilter;

use super::Step;
use super::decide::Decision;
use super::role_str;

/// Who the trail names for a step: `self` for what this connector sent, else the
/// counter-party's verified participant id (or that it was not authenticated).
fn actor(side: Role, step: &Step, counterparty_id: Option<&str>) -> String {
    if step.sender == role_str(side) {
        "self".to_string()
    } else {
        counterparty_id.map_or_else(|| "unauthenticated counter-party".to_string(), str::to_string)
    }
}

fn timestamp(text: &str) -> Timestamp {
    // Steps carry RFC 3339 times written by this connector; a parse failure can only come
    // from a hand-edited row, and the trail then records when it saw the step instead.
    Timestamp::parse(text).unwrap_or_else(|_| Timestamp::now())
}

/// The process whose steps are recorded.
pub(crate) struct ProcessRef<'a> {
    pub kind: EntryKind,
    pub pid: &'a str,
    pub side: Role,
    pub counterparty_id: Option<&'a str>,
    pub counterparty_pid: Option<&'a str>,
    /// What the process is about (dataset or agreement), merged into every entry.
    pub about: Value,
}

/// One entry per step, in order.
pub(crate) fn steps(process: &ProcessRef<'_>, steps: &[Step]) -> Vec<EntryDraft> {
    steps
        .iter()
        .map(|step| {
            let mut payload = json!({
                "side": role_str(process.side),
                "message": step.message,
                "sender": step.sender,
                "state": step.state,
                "counterpartyPid": process.counterparty_pid,
            });
            if let (Some(target), Some(about)) = (payload.as_object_mut(), process.about.as_object()) {
                target.extend(about.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            EntryDraft {
                at: timestamp(&step.at),
                kind: process.kind.clone(),
                subject: process.pid.to_string(),
                actor: actor(process.side, step, process.counterparty_id),
                payload,
            }
        })
        .collect()
}

/// An agreement concluded (provider) or received (consumer): its full text.
pub(crate) fn agreement(
    side: Role,
    negotiation_pid: &str,
    agreement: &passerelle_dsp::message::policy::Agreement,
) -> EntryDraft {
    EntryDraft {
        at: Timestamp::now(),
        kind: EntryKind::AGREEMENT,
        subject: agreement.id().to_string(),
        actor: if side == Role::Provider { "self".to_string() } else { agreement.assigner().to_string() },
        payload: json!({
            "side": role_str(side),
            "negotiationPid": negotiation_pid,
            "agreement": agreement.as_value(),
        }),
    }
}

/// The provider's decision on a contract request, with its reason when it refused.
pub(crate) fn decision(
    negotiation_pid: &str,
    requester: Option<&str>,
    dataset: Option<&str>,
    decision: &Decision,
) -> EntryDraft {
    let outcome = match decision {
        Decision::Agree(agreement) => json!({"outcome": "permit", "agreementId": agreement.id()}),
        Decision::Refuse { code, reason } => json!({"outcome": "deny", "code": code, "reason": reason}),
    };
    let mut payload = json!({"negotiationPid": negotiation_pid, "datasetId": dataset});
    if let (Some(target), Some(more)) = (payload.as_object_mut(), outcome.as_object()) {
        target.extend(more.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    EntryDraft {
        at: Timestamp::now(),
        kind: EntryKind::POLICY_DECISION,
        subject: negotiation_pid.to_string(),
        actor: requester.map_or_else(|| "unauthenticated counter-party".to_string(), str::to_string),
        payload,
    }
}

/// What is written alongside every process change: the audit trail, and the events the
/// participant's own tools subscribed to (`[webhooks]`).
#[derive(Debug, Clone)]
pub struct Journal {
    pub audit: AuditStore,
    pub webhooks: Option<WebhookFilter>,
}

/// States a webhook event is sent for, by process kind (`negotiation.finalized`…).
const NOTIFIED_STATES: &[&str] = &["FINALIZED", "TERMINATED", "STARTED", "COMPLETED"];

/// Appends the steps of `history` from `*audited` on (and their webhook events), and moves
/// `*audited` to its end.
pub(crate) fn append_new_steps(
    journal: &Journal,
    db: &Db,
    process: &ProcessRef<'_>,
    history: &[Step],
    audited: &mut usize,
) -> Result<(), super::ProcessError> {
    let new_steps = history.get(*audited..).unwrap_or_default();
    let prefix = if process.kind == EntryKind::NEGOTIATION_STATE { "negotiation" } else { "transfer" };
    for step in new_steps.iter().filter(|s| NOTIFIED_STATES.contains(&s.state.as_str())) {
        let event = format!("{prefix}.{}", step.state.to_ascii_lowercase());
        let mut data =
            json!({"side": role_str(process.side), "state": step.state, "counterpartyId": process.counterparty_id});
        if let (Some(target), Some(about)) = (data.as_object_mut(), process.about.as_object()) {
            target.extend(about.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        crate::webhooks::emit_on(journal.webhooks.as_ref(), db, &event, process.pid, data)?;
    }
    append(&journal.audit, db, steps(process, new_steps)).map_err(super::ProcessError::Store)?;
    *audited = history.len();
    Ok(())
}

/// Appends `drafts` in the caller's transaction.
pub(crate) fn append(audit: &AuditStore, db: &Db, drafts: Vec<EntryDraft>) -> Result<(), String> {
    audit.append_on(db, drafts).map(|_| ()).map_err(|e| format!("audit trail: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(sender: &str, state: &str) -> Step {
        Step {
            message: "ContractRequestMessage".into(),
            sender: sender.into(),
            state: state.into(),
            at: "2030-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn steps_name_who_caused_them_and_what_the_process_is_about() {
        let process = ProcessRef {
            kind: EntryKind::NEGOTIATION_STATE,
            pid: "urn:p:1",
            side: Role::Provider,
            counterparty_id: Some("did:web:c.example"),
            counterparty_pid: Some("urn:c:1"),
            about: json!({"datasetId": "work:a"}),
        };
        let drafts = steps(&process, &[step("consumer", "REQUESTED"), step("provider", "AGREED")]);
        assert_eq!(drafts.len(), 2);
        assert_eq!((drafts[0].actor.as_str(), drafts[1].actor.as_str()), ("did:web:c.example", "self"));
        assert_eq!(drafts[0].payload["datasetId"], "work:a");
        assert_eq!(drafts[1].payload["state"], "AGREED");
        assert_eq!(drafts[0].at.as_str(), "2030-01-01T00:00:00Z");
        let anonymous = ProcessRef { counterparty_id: None, ..process };
        assert_eq!(steps(&anonymous, &[step("consumer", "REQUESTED")])[0].actor, "unauthenticated counter-party");
    }

    #[test]
    fn refusals_keep_their_reason() {
        let refused = Decision::Refuse {
            code: "POLICY_DENIED",
            reason: "territory FR is outside the offer's territories (DE only)".into(),
        };
        let draft = decision("urn:p:1", Some("did:web:c.example"), Some("work:a"), &refused);
        assert_eq!(draft.payload["outcome"], "deny");
        assert_eq!(draft.payload["code"], "POLICY_DENIED");
        assert!(draft.payload["reason"].as_str().unwrap().contains("DE only"));
        assert_eq!(draft.kind, EntryKind::POLICY_DECISION);
    }
}
