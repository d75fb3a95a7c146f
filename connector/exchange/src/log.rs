//! The order log: the numbered events of one order, in order, each with the state it led to.
//!
//! Events are numbered from 1 by whoever writes them to the log; the other party's connector receives them
//! through an outbox that retries, so it sees some twice and, after a crash, may see a later one first. The log
//! therefore answers:
//! - the next number, valid and allowed → applied;
//! - a number already applied with the same sender and content → a replay: the same answer as the first time
//!   (the state that event led to), nothing changes;
//! - a number already applied with anything else → a conflict (the two sides disagree; a human must look);
//! - a number beyond the next → a gap, refused with the number expected, so the sender resends what is missing.
//!
//! A refused event leaves the log exactly as it was.

use serde::Serialize;
use time::OffsetDateTime;

use crate::event::{Event, EventKind, Party, Stage};
use crate::machine::{IllegalTransition, OrderState, next};
use crate::order::{FieldProblem, Order};

/// One applied event.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub seq: u64,
    pub sender: Party,
    pub event: Event,
    /// The state this event led to (the answer a replay gets).
    pub state: OrderState,
}

/// What [`OrderLog::apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Appended; the order is now in this state.
    New(OrderState),
    /// Already applied; this is the state it led to then.
    Replay(OrderState),
}

impl Applied {
    pub fn state(self) -> OrderState {
        match self {
            Applied::New(s) | Applied::Replay(s) => s,
        }
    }
}

/// Why an event was refused. The log is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error(
        "event {seq} was already applied as {applied} from the {applied_by}; this {offered} from the {offered_by} \
         reuses its number with different content (the two sides' logs disagree from event {seq} on)"
    )]
    Conflict { seq: u64, applied: EventKind, applied_by: Party, offered: EventKind, offered_by: Party },
    #[error("event {got} leaves a gap: the next event must be number {expected}; send the missing events first")]
    Gap { expected: u64, got: u64 },
    #[error("event numbers start at 1; the next event must be number {expected}")]
    Zero { expected: u64 },
    #[error("event {seq}: {transition}")]
    Illegal { seq: u64, transition: IllegalTransition },
    #[error("event {seq} ({kind}) is invalid: {}", list(problems))]
    Invalid { seq: u64, kind: EventKind, problems: Vec<FieldProblem> },
}

fn list(problems: &[FieldProblem]) -> String {
    problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// The events of one order. Only [`OrderLog::apply`] adds to it, so every entry was legal when applied and the
/// numbers run 1, 2, 3… without gaps.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OrderLog {
    entries: Vec<Entry>,
}

impl OrderLog {
    pub fn new() -> Self {
        OrderLog::default()
    }

    /// Rebuilds a log from stored events (in any order of storage; they are applied by number), checking each
    /// again: a store that was tampered with or written by an older, looser version is refused, not trusted.
    pub fn rebuild(events: impl IntoIterator<Item = (u64, Party, Event)>) -> Result<Self, LogError> {
        let mut events: Vec<_> = events.into_iter().collect();
        events.sort_by_key(|(seq, ..)| *seq);
        let mut log = OrderLog::new();
        for (seq, sender, event) in events {
            log.apply(seq, sender, event)?;
        }
        Ok(log)
    }

    /// Applies event number `seq` from `sender` (see the module docs for replays, conflicts and gaps).
    pub fn apply(&mut self, seq: u64, sender: Party, event: Event) -> Result<Applied, LogError> {
        let expected = self.next_seq();
        if seq == 0 {
            return Err(LogError::Zero { expected });
        }
        if seq < expected {
            let entry = &self.entries[(seq - 1) as usize];
            if entry.sender == sender && entry.event == event {
                return Ok(Applied::Replay(entry.state));
            }
            return Err(LogError::Conflict {
                seq,
                applied: entry.event.kind(),
                applied_by: entry.sender,
                offered: event.kind(),
                offered_by: sender,
            });
        }
        if seq > expected {
            return Err(LogError::Gap { expected, got: seq });
        }
        // Legality first: "you may not do that now" is more useful than a field complaint about an event that
        // could not be applied anyway.
        let state = next(self.state(), &event, sender).map_err(|transition| LogError::Illegal { seq, transition })?;
        let problems = event.problems(self.order());
        if !problems.is_empty() {
            return Err(LogError::Invalid { seq, kind: event.kind(), problems });
        }
        self.entries.push(Entry { seq, sender, event, state });
        Ok(Applied::New(state))
    }

    /// `None` before the order is placed.
    pub fn state(&self) -> Option<OrderState> {
        self.entries.last().map(|e| e.state)
    }

    pub fn last_seq(&self) -> u64 {
        self.entries.len() as u64
    }

    pub fn next_seq(&self) -> u64 {
        self.last_seq() + 1
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The order as placed (event 1).
    pub fn order(&self) -> Option<&Order> {
        match self.entries.first().map(|e| &e.event) {
            Some(Event::OrderPlaced { order }) => Some(order),
            _ => None,
        }
    }

    /// The due date in force: the last one the distributor set, else the order's.
    pub fn due_date(&self) -> Option<OffsetDateTime> {
        self.entries
            .iter()
            .rev()
            .find_map(|e| match &e.event {
                Event::DueDateChanged { due_date, .. } => Some(*due_date),
                _ => None,
            })
            .or_else(|| self.order().map(|o| o.due_date))
    }

    /// True once the lab has reported it has every material it needs.
    pub fn materials_complete(&self) -> bool {
        self.entries.iter().any(|e| matches!(e.event, Event::MaterialsReceived { complete: true, .. }))
    }

    /// The lab's latest delivery estimate in the current round of work (a redelivery request starts a new round:
    /// an estimate for the first delivery says nothing about the second).
    pub fn latest_eta(&self) -> Option<(Stage, OffsetDateTime)> {
        for e in self.entries.iter().rev() {
            match &e.event {
                Event::StageProgress { stage, eta: Some(eta), .. } => return Some((*stage, *eta)),
                Event::RedeliveryRequested { .. } | Event::Delivered { .. } => return None,
                _ => {}
            }
        }
        None
    }

    /// How many times the lab delivered (more than one after redelivery requests).
    pub fn deliveries(&self) -> usize {
        self.entries.iter().filter(|e| e.event.kind() == EventKind::Delivered).count()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;
    use crate::event::{NoteCategory, QcNote, Severity, TimecodeRange};
    use crate::machine::tests::samples;
    use crate::order::tests::order;
    use Party::{Distributor as D, Lab as L};

    pub(crate) fn progress(stage: Stage, eta: Option<OffsetDateTime>) -> Event {
        Event::StageProgress { stage, percent: 100, eta }
    }

    /// The story of issue 7: ordered, quoted, confirmed, materials in two goes, every stage, a hold, a delivery
    /// that fails human review, rework, redelivery, acceptance.
    pub(crate) fn story() -> Vec<(Party, Event)> {
        let note = QcNote {
            category: NoteCategory::Timing,
            severity: Severity::Major,
            timecode_range: Some(TimecodeRange { start: "10:12:03:00".into(), end: "10:12:09:12".into() }),
            text: "Events run over the shot change".into(),
        };
        vec![
            (D, Event::OrderPlaced { order: Box::new(order()) }),
            (L, Event::Quoted { price: None, proposed_due_date: None, note: Some("5 working days".into()) }),
            (D, Event::Confirmed { note: None }),
            (L, Event::MaterialsReceived { materials: vec!["proxy".into()], complete: false }),
            (L, Event::MaterialsReceived { materials: vec!["dl".into()], complete: true }),
            (L, progress(Stage::Spotting, Some(datetime!(2026-06-29 12:00 UTC)))),
            (D, Event::OnHold { reason: "the final cut changes reel 3".into() }),
            (D, Event::Resumed { note: None }),
            (L, progress(Stage::Translation, None)),
            (L, progress(Stage::Review, None)),
            (L, progress(Stage::Qc, None)),
            (L, Event::Delivered { manifest_ref: "manifest-1".into(), manifest: None, location: None }),
            (D, Event::Validated { qc_report_ref: "qc-1".into() }),
            (D, Event::RedeliveryRequested { notes: vec![note], qc_report_ref: Some("review-1".into()) }),
            (L, progress(Stage::Spotting, None)),
            (L, Event::Delivered { manifest_ref: "manifest-2".into(), manifest: None, location: None }),
            (D, Event::Validated { qc_report_ref: "qc-2".into() }),
            (D, Event::Accepted { note: None }),
        ]
    }

    pub(crate) fn log_of(events: &[(Party, Event)]) -> OrderLog {
        let mut log = OrderLog::new();
        for (i, (sender, event)) in events.iter().enumerate() {
            log.apply(i as u64 + 1, *sender, event.clone()).unwrap_or_else(|e| panic!("step {}: {e}", i + 1));
        }
        log
    }

    #[test]
    fn the_story_runs_to_acceptance() {
        let log = log_of(&story());
        let states: Vec<String> = log.entries().iter().map(|e| e.state.to_string()).collect();
        assert_eq!(
            states,
            [
                "REQUESTED",
                "QUOTED",
                "CONFIRMED",
                "AWAITING_MATERIALS",
                "IN_PROGRESS(template)",
                "IN_PROGRESS(spotting)",
                "ON_HOLD(spotting, held by the distributor)",
                "IN_PROGRESS(spotting)",
                "IN_PROGRESS(translation)",
                "IN_PROGRESS(review)",
                "IN_PROGRESS(qc)",
                "DELIVERED",
                "VALIDATED",
                "REDELIVERY_REQUESTED",
                "IN_PROGRESS(spotting)",
                "DELIVERED",
                "VALIDATED",
                "ACCEPTED",
            ]
        );
        assert_eq!(log.deliveries(), 2);
        assert!(log.materials_complete());
        assert_eq!(log.order().unwrap().id, "PO-2026-0042");
        assert_eq!(log.next_seq(), 19);
        let rebuilt = OrderLog::rebuild(
            log.entries().iter().rev().map(|e| (e.seq, e.sender, e.event.clone())).collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(rebuilt, log);
    }

    #[test]
    fn a_replay_gets_the_same_answer_and_changes_nothing() {
        let mut log = log_of(&story()[..5]);
        let before = log.clone();
        let (sender, event) = story()[3].clone();
        assert_eq!(log.apply(4, sender, event), Ok(Applied::Replay(OrderState::AwaitingMaterials)));
        let (sender, event) = story()[4].clone();
        assert_eq!(log.apply(5, sender, event), Ok(Applied::Replay(OrderState::InProgress { stage: Stage::Template })));
        assert_eq!(log, before);
    }

    #[test]
    fn a_different_event_under_a_used_number_is_a_conflict() {
        let mut log = log_of(&story()[..3]);
        let before = log.clone();
        let err = log.apply(2, L, Event::Quoted { price: None, proposed_due_date: None, note: None }).unwrap_err();
        assert_eq!(
            err,
            LogError::Conflict {
                seq: 2,
                applied: EventKind::Quoted,
                applied_by: L,
                offered: EventKind::Quoted,
                offered_by: L
            }
        );
        // Same content, other sender: still a conflict, never a replay.
        let (_, event) = story()[2].clone();
        assert!(matches!(log.apply(3, L, event), Err(LogError::Conflict { seq: 3, .. })));
        assert!(log.apply(1, D, Event::Cancelled { reason: "x".into() }).unwrap_err().to_string().contains("disagree"));
        assert_eq!(log, before);
    }

    #[test]
    fn a_gap_is_refused_with_the_number_expected() {
        let mut log = log_of(&story()[..3]);
        let before = log.clone();
        let (sender, event) = story()[4].clone();
        let err = log.apply(5, sender, event).unwrap_err();
        assert_eq!(err, LogError::Gap { expected: 4, got: 5 });
        assert!(err.to_string().contains("must be number 4"));
        assert_eq!(log.apply(0, L, Event::Resumed { note: None }), Err(LogError::Zero { expected: 4 }));
        assert_eq!(log, before);
        let mut empty = OrderLog::new();
        assert_eq!(
            empty.apply(2, D, Event::OrderPlaced { order: Box::new(order()) }),
            Err(LogError::Gap { expected: 1, got: 2 })
        );
    }

    #[test]
    fn illegal_and_invalid_events_are_refused_with_their_number() {
        let mut log = log_of(&story()[..2]);
        let before = log.clone();
        let err = log.apply(3, L, Event::Confirmed { note: None }).unwrap_err();
        assert!(matches!(&err, LogError::Illegal { seq: 3, transition } if transition.sender == L), "{err}");
        let err = log.apply(3, D, Event::Declined { reason: "".into() }).unwrap_err();
        assert!(
            matches!(&err, LogError::Invalid { seq: 3, kind: EventKind::Declined, problems } if problems[0].path == "reason")
        );
        assert_eq!(log, before);

        let mut bad = order();
        bad.style_profile.max_lines = 0;
        let err = OrderLog::new().apply(1, D, Event::OrderPlaced { order: Box::new(bad) }).unwrap_err();
        assert!(err.to_string().contains("order.styleProfile.maxLines"), "{err}");
    }

    #[test]
    fn due_date_and_eta_follow_the_latest_word() {
        let mut events = story()[..6].to_vec();
        let log = log_of(&events);
        assert_eq!(log.due_date(), Some(datetime!(2026-07-01 17:00 UTC)));
        assert_eq!(log.latest_eta(), Some((Stage::Spotting, datetime!(2026-06-29 12:00 UTC))));
        events.push((D, Event::DueDateChanged { due_date: datetime!(2026-07-03 17:00 UTC), reason: None }));
        events.push((L, progress(Stage::Translation, None)));
        let log = log_of(&events);
        assert_eq!(log.due_date(), Some(datetime!(2026-07-03 17:00 UTC)));
        assert_eq!(log.latest_eta(), Some((Stage::Spotting, datetime!(2026-06-29 12:00 UTC))), "no ETA keeps the last");
    }

    #[test]
    fn the_log_serialises_for_the_management_api() {
        let log = log_of(&story()[..2]);
        let v = serde_json::to_value(&log).unwrap();
        assert_eq!(v["entries"][1]["event"]["type"], "Quoted");
        assert_eq!(v["entries"][1]["state"]["state"], "QUOTED");
        assert_eq!(v["entries"][0]["sender"], "distributor");
    }

    /// A step of a random walk: which event, from whom, and how its number relates to the next expected one.
    fn any_step() -> impl Strategy<Value = (usize, Party, i8)> {
        (0..samples().len(), proptest::sample::select(Party::ALL.to_vec()), prop_oneof![6 => Just(0i8), 1 => -3i8..3])
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
        #[test]
        fn random_event_sequences_never_panic_and_refusals_change_nothing(
            prefix in 0..=18usize,
            steps in proptest::collection::vec(any_step(), 0..60)
        ) {
            // Starting part-way through the story lets the walk reach the late states often.
            let events = samples();
            let mut log = log_of(&story()[..prefix]);
            for (i, sender, offset) in steps {
                let seq = (log.next_seq() as i64 + i64::from(offset)).max(0) as u64;
                let before = log.clone();
                let event = events[i].clone();
                match log.apply(seq, sender, event.clone()) {
                    Ok(Applied::New(state)) => {
                        prop_assert_eq!(seq, before.next_seq());
                        prop_assert_eq!(Ok(state), next(before.state(), &event, sender));
                        prop_assert_eq!(log.last_seq(), seq);
                    }
                    Ok(Applied::Replay(state)) => {
                        prop_assert_eq!(&log, &before);
                        prop_assert_eq!(state, before.entries()[(seq - 1) as usize].state);
                    }
                    Err(_) => prop_assert_eq!(&log, &before),
                }
                if before.state().is_some_and(OrderState::is_final) {
                    prop_assert_eq!(log.state(), before.state());
                }
            }
            // Whatever happened, the log rebuilds to itself: every entry was legal when applied.
            let rebuilt = OrderLog::rebuild(log.entries().iter().map(|e| (e.seq, e.sender, e.event.clone())));
            prop_assert_eq!(rebuilt, Ok(log));
        }
    }
}
