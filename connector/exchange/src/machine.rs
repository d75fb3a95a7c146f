//! The subtitle order state machine, as a pure function of (state, event, sender).
//!
//! Both connectors apply the same events in the same order, so the same [`next`] serves both sides: what matters
//! is who *sent* the event. D is the distributor (orderer), L the lab (supplier).
//!
//! | from | event (sender) | to |
//! |---|---|---|
//! | — | OrderPlaced (D) | REQUESTED |
//! | REQUESTED, QUOTED | Quoted (L) | QUOTED (a second quote revises the first) |
//! | REQUESTED | Declined (L) | DECLINED (the lab will not take the job) |
//! | QUOTED | Declined (D) | DECLINED (the distributor refuses the quote) |
//! | QUOTED | Confirmed (D) | CONFIRMED |
//! | CONFIRMED, AWAITING_MATERIALS | MaterialsReceived, not complete (L) | AWAITING_MATERIALS |
//! | CONFIRMED, AWAITING_MATERIALS | MaterialsReceived, complete (L) | IN_PROGRESS(template) |
//! | IN_PROGRESS(s) | MaterialsReceived (L) | IN_PROGRESS(s) (a late or replaced material) |
//! | IN_PROGRESS, REDELIVERY_REQUESTED | StageProgress{stage} (L) | IN_PROGRESS(stage) |
//! | IN_PROGRESS(s) | OnHold (D or L) | ON_HOLD(s, held by the sender) |
//! | ON_HOLD(s, by P) | Resumed (P) | IN_PROGRESS(s) |
//! | before delivery | DueDateChanged (D) | unchanged |
//! | IN_PROGRESS, REDELIVERY_REQUESTED | Delivered (L) | DELIVERED |
//! | DELIVERED | DeliveryReceived (D) | DELIVERED (the receipt: intact, QC follows) |
//! | DELIVERED | DeliveryRefused (D) | REDELIVERY_REQUESTED (not intact) |
//! | DELIVERED | Validated (D) | VALIDATED |
//! | DELIVERED, VALIDATED | RedeliveryRequested (D) | REDELIVERY_REQUESTED |
//! | VALIDATED | Accepted (D) | ACCEPTED |
//! | before delivery | Cancelled (D) | CANCELLED |
//! | open | Superseded (D) | SUPERSEDED |
//! | ACCEPTED | Recalled (D or L) | RECALLED |
//!
//! "Before delivery" is every state from REQUESTED to ON_HOLD plus REDELIVERY_REQUESTED (the order is back in
//! work); "open" adds DELIVERED and VALIDATED. The delivery loop is: Delivered (lab) → DeliveryReceived or
//! DeliveryRefused (the distributor's connector, at once) → Validated or RedeliveryRequested (its automatic QC) →
//! Accepted or RedeliveryRequested (a person) → Delivered again. The lab may redeliver straight from
//! REDELIVERY_REQUESTED (a fixed file needs no new progress report) or report progress first. DECLINED, CANCELLED, SUPERSEDED and RECALLED are final and accept
//! nothing; ACCEPTED accepts only a recall.
//!
//! Why these senders: the lab quotes, reports and delivers because it does the work; the distributor confirms,
//! validates, accepts and asks for redelivery because it pays and receives (validation is its automatic QC on
//! receipt). Only the party that put an order on hold resumes it, so a lab cannot talk its way past a hold the
//! distributor placed (waiting for a new cut), nor the distributor past the lab's (waiting for an answer). A
//! redelivery goes back through IN_PROGRESS so the distributor sees the rework before the new files.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::event::{Event, EventKind, Party, Stage};

/// Where an order stands. Serialised as `{"state": "IN_PROGRESS", "stage": "review"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum OrderState {
    Requested,
    Quoted,
    Confirmed,
    AwaitingMaterials,
    InProgress {
        stage: Stage,
    },
    /// Work paused at `stage`; only `held_by` may resume it.
    OnHold {
        stage: Stage,
        held_by: Party,
    },
    Delivered,
    Validated,
    Accepted,
    RedeliveryRequested,
    Declined,
    Cancelled,
    Superseded,
    Recalled,
}

impl OrderState {
    /// One of each state (every stage of IN_PROGRESS, every stage and holder of ON_HOLD).
    pub fn all() -> Vec<OrderState> {
        use OrderState as S;
        let mut all = vec![S::Requested, S::Quoted, S::Confirmed, S::AwaitingMaterials];
        all.extend(Stage::ALL.iter().map(|&stage| S::InProgress { stage }));
        for stage in Stage::ALL {
            all.extend(Party::ALL.iter().map(|&held_by| S::OnHold { stage, held_by }));
        }
        all.extend([
            S::Delivered,
            S::Validated,
            S::Accepted,
            S::RedeliveryRequested,
            S::Declined,
            S::Cancelled,
            S::Superseded,
            S::Recalled,
        ]);
        all
    }

    /// DECLINED, CANCELLED, SUPERSEDED, RECALLED: nothing moves the order any more.
    pub fn is_final(self) -> bool {
        matches!(self, OrderState::Declined | OrderState::Cancelled | OrderState::Superseded | OrderState::Recalled)
    }

    /// The lab still owes a delivery: the order may be cancelled and its due date moved, and it is late once due.
    pub fn is_before_delivery(self) -> bool {
        use OrderState as S;
        matches!(
            self,
            S::Requested
                | S::Quoted
                | S::Confirmed
                | S::AwaitingMaterials
                | S::InProgress { .. }
                | S::OnHold { .. }
                | S::RedeliveryRequested
        )
    }

    /// Not final and not accepted: the order may still be superseded.
    pub fn is_open(self) -> bool {
        self.is_before_delivery() || matches!(self, OrderState::Delivered | OrderState::Validated)
    }

    /// The wire name, e.g. `IN_PROGRESS`.
    pub fn as_str(self) -> &'static str {
        use OrderState as S;
        match self {
            S::Requested => "REQUESTED",
            S::Quoted => "QUOTED",
            S::Confirmed => "CONFIRMED",
            S::AwaitingMaterials => "AWAITING_MATERIALS",
            S::InProgress { .. } => "IN_PROGRESS",
            S::OnHold { .. } => "ON_HOLD",
            S::Delivered => "DELIVERED",
            S::Validated => "VALIDATED",
            S::Accepted => "ACCEPTED",
            S::RedeliveryRequested => "REDELIVERY_REQUESTED",
            S::Declined => "DECLINED",
            S::Cancelled => "CANCELLED",
            S::Superseded => "SUPERSEDED",
            S::Recalled => "RECALLED",
        }
    }
}

impl fmt::Display for OrderState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OrderState::InProgress { stage } => write!(f, "IN_PROGRESS({stage})"),
            OrderState::OnHold { stage, held_by } => write!(f, "ON_HOLD({stage}, held by the {held_by})"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// An event that the order's current state does not allow from its sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct IllegalTransition {
    /// The state before the event (`None`: no order yet).
    pub state: Option<OrderState>,
    pub event: EventKind,
    pub sender: Party,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let IllegalTransition { state, event, sender } = self;
        match state {
            None => write!(
                f,
                "{event} from the {sender} cannot start an order: an order starts with OrderPlaced from the distributor"
            ),
            Some(state) if state.is_final() => {
                write!(f, "the order is {state}, a final state: it accepts no {event}; place a new order")
            }
            Some(state) => {
                let allowed: Vec<String> =
                    allowed(Some(*state)).iter().map(|(kind, party)| format!("{kind} from the {party}")).collect();
                write!(
                    f,
                    "{event} from the {sender} is not allowed while the order is {state}; allowed now: {}",
                    allowed.join(", ")
                )
            }
        }
    }
}

/// What an allowed event does; the payload decides the rest (which stage, whether materials are complete).
enum Move {
    To(OrderState),
    Stay,
    Materials,
    Progress,
    Hold(Stage),
    Resume(Stage),
}

/// The rule table. Legality depends on state, kind and sender only, never on the payload, so [`allowed`] can
/// list what is possible without example events.
fn rule(state: Option<OrderState>, kind: EventKind, sender: Party) -> Option<Move> {
    use EventKind as E;
    use OrderState as S;
    use Party::{Distributor as D, Lab as L};
    let m = match (state, kind, sender) {
        (None, E::OrderPlaced, D) => Move::To(S::Requested),
        (Some(S::Requested | S::Quoted), E::Quoted, L) => Move::To(S::Quoted),
        (Some(S::Requested), E::Declined, L) => Move::To(S::Declined),
        (Some(S::Quoted), E::Declined, D) => Move::To(S::Declined),
        (Some(S::Quoted), E::Confirmed, D) => Move::To(S::Confirmed),
        (Some(S::Confirmed | S::AwaitingMaterials), E::MaterialsReceived, L) => Move::Materials,
        (Some(S::InProgress { .. }), E::MaterialsReceived, L) => Move::Stay,
        (Some(S::InProgress { .. } | S::RedeliveryRequested), E::StageProgress, L) => Move::Progress,
        (Some(S::InProgress { stage }), E::OnHold, _) => Move::Hold(stage),
        (Some(S::OnHold { stage, held_by }), E::Resumed, by) if by == held_by => Move::Resume(stage),
        (Some(s), E::DueDateChanged, D) if s.is_before_delivery() => Move::Stay,
        (Some(S::InProgress { .. } | S::RedeliveryRequested), E::Delivered, L) => Move::To(S::Delivered),
        (Some(S::Delivered), E::DeliveryReceived, D) => Move::Stay,
        (Some(S::Delivered), E::DeliveryRefused, D) => Move::To(S::RedeliveryRequested),
        (Some(S::Delivered), E::Validated, D) => Move::To(S::Validated),
        (Some(S::Delivered | S::Validated), E::RedeliveryRequested, D) => Move::To(S::RedeliveryRequested),
        (Some(S::Validated), E::Accepted, D) => Move::To(S::Accepted),
        (Some(s), E::Cancelled, D) if s.is_before_delivery() => Move::To(S::Cancelled),
        (Some(s), E::Superseded, D) if s.is_open() => Move::To(S::Superseded),
        (Some(S::Accepted), E::Recalled, _) => Move::To(S::Recalled),
        _ => return None,
    };
    Some(m)
}

/// The state after `event`, sent by `sender`, is applied in `state` (`None`: no order yet).
pub fn next(state: Option<OrderState>, event: &Event, sender: Party) -> Result<OrderState, IllegalTransition> {
    let kind = event.kind();
    let illegal = IllegalTransition { state, event: kind, sender };
    let Some(m) = rule(state, kind, sender) else { return Err(illegal) };
    let to = match (m, event) {
        (Move::To(s), _) => s,
        (Move::Hold(stage), _) => OrderState::OnHold { stage, held_by: sender },
        (Move::Resume(stage), _) => OrderState::InProgress { stage },
        (Move::Progress, Event::StageProgress { stage, .. }) => OrderState::InProgress { stage: *stage },
        (Move::Materials, Event::MaterialsReceived { complete: true, .. }) => {
            OrderState::InProgress { stage: Stage::Template }
        }
        (Move::Materials, _) => OrderState::AwaitingMaterials,
        // `rule` returns Stay only with a state; a Progress move always comes with its StageProgress event.
        (Move::Stay | Move::Progress, _) => state.ok_or(illegal)?,
    };
    Ok(to)
}

/// Every (event, sender) pair that [`next`] accepts in `state`.
pub fn allowed(state: Option<OrderState>) -> Vec<(EventKind, Party)> {
    EventKind::ALL
        .iter()
        .flat_map(|kind| Party::ALL.iter().map(move |party| (*kind, *party)))
        .filter(|(kind, party)| rule(state, *kind, *party).is_some())
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::event::{NoteCategory, QcNote, Severity};
    use crate::order::tests::order;
    use EventKind as K;
    use OrderState as S;
    use Party::{Distributor as D, Lab as L};

    /// One event of each kind (two for MaterialsReceived: partial and complete).
    pub(crate) fn samples() -> Vec<Event> {
        vec![
            Event::OrderPlaced { order: Box::new(order()) },
            Event::Quoted { price: None, proposed_due_date: None, note: None },
            Event::Confirmed { note: None },
            Event::Declined { reason: "no translator free".into() },
            Event::MaterialsReceived { materials: vec!["proxy".into()], complete: false },
            Event::MaterialsReceived { materials: vec!["proxy".into(), "dl".into()], complete: true },
            Event::StageProgress { stage: Stage::Review, percent: 50, eta: Some(datetime!(2026-06-30 12:00 UTC)) },
            Event::OnHold { reason: "waiting for the final cut".into() },
            Event::Resumed { note: None },
            Event::DueDateChanged { due_date: datetime!(2026-07-08 17:00 UTC), reason: None },
            Event::Delivered { manifest_ref: "manifest-1".into(), manifest: None, location: None },
            Event::DeliveryReceived { manifest_ref: "manifest-1".into(), receipt: "a.b.c".into() },
            Event::DeliveryRefused {
                manifest_ref: "manifest-1".into(),
                problems: vec![crate::event::DeliveryProblem {
                    file: "fr.srt".into(),
                    problem: "hash_mismatch".into(),
                    algorithm: Some("sha256".into()),
                    expected: Some("00".into()),
                    actual: Some("11".into()),
                    message: "`fr.srt`: hash mismatch".into(),
                }],
            },
            Event::Validated { qc_report_ref: "qc-1".into() },
            Event::Accepted { note: None },
            Event::RedeliveryRequested {
                notes: vec![QcNote {
                    category: NoteCategory::ReadingSpeed,
                    severity: Severity::Major,
                    timecode_range: None,
                    text: "Reel 2 reads at 21 cps".into(),
                }],
                qc_report_ref: None,
            },
            Event::Cancelled { reason: "title withdrawn".into() },
            Event::Superseded { by_order: "PO-2026-0043".into() },
            Event::Recalled { reason: "a name is misspelt throughout".into() },
        ]
    }

    fn partial() -> Event {
        Event::MaterialsReceived { materials: vec![], complete: false }
    }

    /// The table of the module docs, written out independently of `rule`: (state, event kind, partial
    /// materials?, sender, target). `None` as a target means "the state stays".
    fn legal(state: Option<OrderState>, event: &Event, sender: Party) -> Option<OrderState> {
        let k = event.kind();
        let complete = matches!(event, Event::MaterialsReceived { complete: true, .. });
        let before_delivery = [
            S::Requested,
            S::Quoted,
            S::Confirmed,
            S::AwaitingMaterials,
            S::InProgress { stage: Stage::Translation },
            S::OnHold { stage: Stage::Translation, held_by: D },
            S::OnHold { stage: Stage::Translation, held_by: L },
            S::RedeliveryRequested,
        ];
        let s = state?;
        let listed: &[(OrderState, EventKind, Party, OrderState)] = &[
            (S::Requested, K::Quoted, L, S::Quoted),
            (S::Quoted, K::Quoted, L, S::Quoted),
            (S::Requested, K::Declined, L, S::Declined),
            (S::Quoted, K::Declined, D, S::Declined),
            (S::Quoted, K::Confirmed, D, S::Confirmed),
            (S::InProgress { stage: Stage::Translation }, K::StageProgress, L, S::InProgress { stage: Stage::Review }),
            (S::RedeliveryRequested, K::StageProgress, L, S::InProgress { stage: Stage::Review }),
            (
                S::InProgress { stage: Stage::Translation },
                K::OnHold,
                D,
                S::OnHold { stage: Stage::Translation, held_by: D },
            ),
            (
                S::InProgress { stage: Stage::Translation },
                K::OnHold,
                L,
                S::OnHold { stage: Stage::Translation, held_by: L },
            ),
            (
                S::OnHold { stage: Stage::Translation, held_by: D },
                K::Resumed,
                D,
                S::InProgress { stage: Stage::Translation },
            ),
            (
                S::OnHold { stage: Stage::Translation, held_by: L },
                K::Resumed,
                L,
                S::InProgress { stage: Stage::Translation },
            ),
            (S::InProgress { stage: Stage::Translation }, K::Delivered, L, S::Delivered),
            (S::RedeliveryRequested, K::Delivered, L, S::Delivered),
            (S::Delivered, K::DeliveryReceived, D, S::Delivered),
            (S::Delivered, K::DeliveryRefused, D, S::RedeliveryRequested),
            (
                S::InProgress { stage: Stage::Translation },
                K::MaterialsReceived,
                L,
                S::InProgress { stage: Stage::Translation },
            ),
            (S::Delivered, K::Validated, D, S::Validated),
            (S::Delivered, K::RedeliveryRequested, D, S::RedeliveryRequested),
            (S::Validated, K::RedeliveryRequested, D, S::RedeliveryRequested),
            (S::Validated, K::Accepted, D, S::Accepted),
            (S::Accepted, K::Recalled, D, S::Recalled),
            (S::Accepted, K::Recalled, L, S::Recalled),
        ];
        if let Some((.., to)) = listed.iter().find(|(f, kk, p, _)| *f == s && *kk == k && *p == sender) {
            return Some(*to);
        }
        match (s, k, sender) {
            (S::Confirmed | S::AwaitingMaterials, K::MaterialsReceived, L) => {
                Some(if complete { S::InProgress { stage: Stage::Template } } else { S::AwaitingMaterials })
            }
            (s, K::DueDateChanged, D) if before_delivery.contains(&s) => Some(s),
            (s, K::Cancelled, D) if before_delivery.contains(&s) => Some(S::Cancelled),
            (s, K::Superseded, D) if before_delivery.contains(&s) || matches!(s, S::Delivered | S::Validated) => {
                Some(S::Superseded)
            }
            _ => None,
        }
    }

    /// The states the table covers: every state, IN_PROGRESS and ON_HOLD at the translation stage.
    fn table_states() -> Vec<Option<OrderState>> {
        std::iter::once(None)
            .chain(
                OrderState::all()
                    .into_iter()
                    .filter(|s| match s {
                        S::InProgress { stage } | S::OnHold { stage, .. } => *stage == Stage::Translation,
                        _ => true,
                    })
                    .map(Some),
            )
            .collect()
    }

    #[test]
    fn every_triple_matches_the_table() {
        let mut legal_count = 0;
        let mut checked = 0;
        for state in table_states() {
            for event in samples().iter().chain([&partial()]) {
                for sender in Party::ALL {
                    let want = if state.is_none() {
                        (event.kind() == K::OrderPlaced && sender == D).then_some(S::Requested)
                    } else {
                        legal(state, event, sender)
                    };
                    match (want, next(state, event, sender)) {
                        (Some(to), Ok(got)) => {
                            assert_eq!(got, to, "{state:?} {:?} {sender}", event.kind());
                            legal_count += 1;
                        }
                        (None, Err(e)) => assert_eq!(e, IllegalTransition { state, event: event.kind(), sender }),
                        (want, got) => panic!("{state:?} {:?} {sender}: want {want:?}, got {got:?}", event.kind()),
                    }
                    checked += 1;
                }
            }
        }
        // No order yet + 15 states (IN_PROGRESS and ON_HOLD at one stage); 19 samples + a partial receipt; 2 parties.
        assert_eq!(checked, 16 * 20 * 2);
        // 1 to start; 22 listed rows (redelivery straight from REDELIVERY_REQUESTED, the receipt and the refusal
        // included), of which late materials in IN_PROGRESS match all 3 receipts (+2); 3 receipts in
        // CONFIRMED and in AWAITING_MATERIALS; due date, cancel and supersede in the 8 states before delivery;
        // supersede in DELIVERED and VALIDATED.
        assert_eq!(legal_count, 1 + 22 + 2 + 2 * 3 + 8 * 3 + 2);
    }

    #[test]
    fn each_stage_is_kept_through_hold_and_resume() {
        for stage in Stage::ALL {
            let held = next(Some(S::InProgress { stage }), &Event::OnHold { reason: "x".into() }, L).unwrap();
            assert_eq!(held, S::OnHold { stage, held_by: L });
            assert_eq!(next(Some(held), &Event::Resumed { note: None }, L), Ok(S::InProgress { stage }));
            let progress = Event::StageProgress { stage, percent: 10, eta: None };
            assert_eq!(next(Some(S::InProgress { stage: Stage::Template }), &progress, L), Ok(S::InProgress { stage }));
        }
    }

    #[test]
    fn illegal_by_party() {
        let s = samples();
        let by_kind = |k: EventKind| s.iter().find(|e| e.kind() == k).unwrap();
        // The distributor never quotes, delivers or reports progress; the lab never confirms, validates, accepts,
        // asks for redelivery, cancels, supersedes or moves the due date.
        assert!(next(Some(S::Requested), by_kind(K::Quoted), D).is_err());
        assert!(next(Some(S::InProgress { stage: Stage::Qc }), by_kind(K::Delivered), D).is_err());
        assert!(next(Some(S::InProgress { stage: Stage::Qc }), by_kind(K::StageProgress), D).is_err());
        assert!(next(Some(S::Confirmed), by_kind(K::MaterialsReceived), D).is_err());
        assert!(next(Some(S::Quoted), by_kind(K::Confirmed), L).is_err());
        assert!(next(Some(S::Delivered), by_kind(K::Validated), L).is_err());
        assert!(next(Some(S::Validated), by_kind(K::Accepted), L).is_err());
        assert!(next(Some(S::Validated), by_kind(K::RedeliveryRequested), L).is_err());
        assert!(next(Some(S::InProgress { stage: Stage::Qc }), by_kind(K::Cancelled), L).is_err());
        assert!(next(Some(S::Requested), by_kind(K::Superseded), L).is_err());
        assert!(next(Some(S::Requested), by_kind(K::DueDateChanged), L).is_err());
        assert!(next(None, by_kind(K::OrderPlaced), L).is_err());
        // A hold is lifted only by whoever placed it.
        let held = S::OnHold { stage: Stage::Spotting, held_by: D };
        assert!(next(Some(held), by_kind(K::Resumed), L).is_err());
        // Out of order: acceptance before validation, delivery before materials, cancel after delivery.
        assert!(next(Some(S::Delivered), by_kind(K::Accepted), D).is_err());
        assert!(next(Some(S::Confirmed), by_kind(K::Delivered), L).is_err());
        assert!(next(Some(S::Delivered), by_kind(K::Cancelled), D).is_err());
        // Only the receiving distributor issues a receipt or a refusal, and only for a delivery just made; a
        // receipt never validates nor accepts on its own.
        assert!(next(Some(S::Delivered), by_kind(K::DeliveryReceived), L).is_err());
        assert!(next(Some(S::Delivered), by_kind(K::DeliveryRefused), L).is_err());
        assert!(next(Some(S::Validated), by_kind(K::DeliveryReceived), D).is_err());
        assert!(next(Some(S::RedeliveryRequested), by_kind(K::DeliveryRefused), D).is_err());
        assert_eq!(next(Some(S::Delivered), by_kind(K::DeliveryReceived), D), Ok(S::Delivered));
        assert!(next(Some(S::RedeliveryRequested), by_kind(K::Accepted), D).is_err());
        assert!(next(Some(held), by_kind(K::Delivered), L).is_err());
        assert!(next(Some(S::Requested), by_kind(K::OrderPlaced), D).is_err());
    }

    #[test]
    fn the_redelivery_loop_runs_until_a_person_accepts() {
        let s = samples();
        let by_kind = |k: EventKind| s.iter().find(|e| e.kind() == k).unwrap().clone();
        let steps = [
            (L, K::Delivered, S::Delivered),
            (D, K::DeliveryRefused, S::RedeliveryRequested),
            (L, K::Delivered, S::Delivered),
            (D, K::DeliveryReceived, S::Delivered),
            (D, K::RedeliveryRequested, S::RedeliveryRequested),
            (L, K::Delivered, S::Delivered),
            (D, K::DeliveryReceived, S::Delivered),
            (D, K::Validated, S::Validated),
            (D, K::RedeliveryRequested, S::RedeliveryRequested),
            (L, K::Delivered, S::Delivered),
            (D, K::DeliveryReceived, S::Delivered),
            (D, K::Validated, S::Validated),
            (D, K::Accepted, S::Accepted),
        ];
        let mut state = S::InProgress { stage: Stage::Qc };
        for (sender, kind, to) in steps {
            state = next(Some(state), &by_kind(kind), sender).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(state, to, "{kind} from the {sender}");
        }
    }

    #[test]
    fn final_states_accept_nothing_and_accepted_only_a_recall() {
        for state in [S::Declined, S::Cancelled, S::Superseded, S::Recalled] {
            assert!(allowed(Some(state)).is_empty(), "{state}");
            for event in samples() {
                for sender in Party::ALL {
                    let text = next(Some(state), &event, sender).unwrap_err().to_string();
                    assert!(text.contains("a final state") && text.contains(state.as_str()), "{text}");
                }
            }
        }
        assert_eq!(allowed(Some(S::Accepted)), [(K::Recalled, D), (K::Recalled, L)]);
        assert_eq!(allowed(None), [(K::OrderPlaced, D)]);
    }

    #[test]
    fn illegal_transitions_name_state_event_and_sender_and_what_is_allowed() {
        let e = next(Some(S::Delivered), &Event::Accepted { note: None }, D).unwrap_err();
        assert_eq!(e, IllegalTransition { state: Some(S::Delivered), event: K::Accepted, sender: D });
        let text = e.to_string();
        assert!(text.contains("Accepted from the distributor") && text.contains("DELIVERED"), "{text}");
        assert!(text.contains("Validated from the distributor") && text.contains("RedeliveryRequested"), "{text}");
        let text = next(None, &Event::Confirmed { note: None }, D).unwrap_err().to_string();
        assert!(text.contains("cannot start an order"), "{text}");
        let held = S::OnHold { stage: Stage::Review, held_by: D };
        let text = next(Some(held), &Event::Resumed { note: None }, L).unwrap_err().to_string();
        assert!(text.contains("ON_HOLD(review, held by the distributor)"), "{text}");
    }

    #[test]
    fn states_serialise_with_their_stage() {
        let v = serde_json::to_value(S::OnHold { stage: Stage::Review, held_by: L }).unwrap();
        assert_eq!(v, serde_json::json!({"state": "ON_HOLD", "stage": "review", "heldBy": "lab"}));
        assert_eq!(
            serde_json::to_value(S::AwaitingMaterials).unwrap(),
            serde_json::json!({"state": "AWAITING_MATERIALS"})
        );
        for s in OrderState::all() {
            let back: OrderState = serde_json::from_value(serde_json::to_value(s).unwrap()).unwrap();
            assert_eq!(back, s);
            assert_eq!(serde_json::to_value(s).unwrap()["state"], s.as_str());
        }
    }

    fn any_state() -> impl Strategy<Value = OrderState> {
        proptest::sample::select(OrderState::all())
    }
    fn any_event() -> impl Strategy<Value = Event> {
        proptest::sample::select(samples())
    }
    fn any_party() -> impl Strategy<Value = Party> {
        proptest::sample::select(Party::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn allowed_agrees_with_next(state in proptest::option::of(any_state()), event in any_event(), sender in any_party()) {
            prop_assert_eq!(
                next(state, &event, sender).is_ok(),
                allowed(state).contains(&(event.kind(), sender))
            );
        }

        #[test]
        fn each_event_has_one_sender_except_hold_and_recall(state in any_state(), event in any_event()) {
            let senders: Vec<Party> = Party::ALL.into_iter().filter(|p| next(Some(state), &event, *p).is_ok()).collect();
            if !matches!(event.kind(), K::OnHold | K::Recalled) {
                prop_assert!(senders.len() <= 1, "{:?} in {} accepted from {:?}", event.kind(), state, senders);
            }
        }
    }
}
