//! The contract negotiation state machine of DSP 2025-1, as pure functions.
//!
//! Both parties keep the same state; each applies a message when it is
//! acknowledged (the receiver on receipt, the sender on the ACK). So the same
//! [`next`] serves both sides: what matters is who *sent* the message.
//!
//! The transitions are those of the protocol's state diagram:
//!
//! | from | message (sender) | to |
//! |---|---|---|
//! | — | ContractRequestMessage (C) | REQUESTED |
//! | — | ContractOfferMessage (P) | OFFERED |
//! | REQUESTED | ContractOfferMessage (P) | OFFERED |
//! | REQUESTED | ContractAgreementMessage (P) | AGREED |
//! | OFFERED | ContractRequestMessage (C) | REQUESTED |
//! | OFFERED | event ACCEPTED (C) | ACCEPTED |
//! | ACCEPTED | ContractAgreementMessage (P) | AGREED |
//! | AGREED | ContractAgreementVerificationMessage (C) | VERIFIED |
//! | VERIFIED | event FINALIZED (P) | FINALIZED |
//! | any non-final | ContractNegotiationTerminationMessage (C or P) | TERMINATED |
//!
//! Termination follows the prose ("MAY be sent at any state … by a Consumer or
//! Provider"), which the TCK's own state machine also implements; the diagram
//! draws only one sender's arrow from ACCEPTED, AGREED and VERIFIED, but
//! refusing the other party's termination would leave the two sides in
//! different states, which the protocol says must end in termination anyway.
//! FINALIZED and TERMINATED accept nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::process::Role;

/// A contract negotiation's state (`state` of the ContractNegotiation ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Requested,
    Offered,
    Accepted,
    Agreed,
    Verified,
    Finalized,
    Terminated,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Requested,
        State::Offered,
        State::Accepted,
        State::Agreed,
        State::Verified,
        State::Finalized,
        State::Terminated,
    ];

    /// FINALIZED and TERMINATED: no message moves the negotiation any more.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Finalized | State::Terminated)
    }

    /// The wire name, e.g. `REQUESTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "REQUESTED",
            State::Offered => "OFFERED",
            State::Accepted => "ACCEPTED",
            State::Agreed => "AGREED",
            State::Verified => "VERIFIED",
            State::Finalized => "FINALIZED",
            State::Terminated => "TERMINATED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a negotiation message does to the state machine (the event message counts
/// as two kinds, one per `eventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    /// ContractRequestMessage: the consumer's initial request or counter-offer.
    Request,
    /// ContractOfferMessage: the provider's initial offer or counter-offer.
    Offer,
    /// ContractNegotiationEventMessage with `eventType` ACCEPTED.
    Accepted,
    /// ContractAgreementMessage.
    Agreement,
    /// ContractAgreementVerificationMessage.
    Verification,
    /// ContractNegotiationEventMessage with `eventType` FINALIZED.
    Finalized,
    /// ContractNegotiationTerminationMessage.
    Termination,
}

impl MessageKind {
    pub const ALL: [MessageKind; 7] = [
        MessageKind::Request,
        MessageKind::Offer,
        MessageKind::Accepted,
        MessageKind::Agreement,
        MessageKind::Verification,
        MessageKind::Finalized,
        MessageKind::Termination,
    ];

    /// The message as named on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Request => "ContractRequestMessage",
            MessageKind::Offer => "ContractOfferMessage",
            MessageKind::Accepted => "ContractNegotiationEventMessage (ACCEPTED)",
            MessageKind::Agreement => "ContractAgreementMessage",
            MessageKind::Verification => "ContractAgreementVerificationMessage",
            MessageKind::Finalized => "ContractNegotiationEventMessage (FINALIZED)",
            MessageKind::Termination => "ContractNegotiationTerminationMessage",
        }
    }

    /// Offers and requests are moves of the bargaining: sending the same move
    /// twice is a second counter-offer out of turn, never a harmless repeat.
    fn is_move(self) -> bool {
        matches!(self, MessageKind::Request | MessageKind::Offer)
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that the negotiation's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct IllegalTransition {
    /// The state before the message (`None`: no negotiation yet).
    pub state: Option<State>,
    pub message: MessageKind,
    pub sender: Role,
}

impl fmt::Display for IllegalTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let IllegalTransition { state, message, sender } = self;
        match state {
            None => write!(
                f,
                "a {message} from the {sender} cannot start a negotiation: it starts with a ContractRequestMessage from the consumer or a ContractOfferMessage from the provider"
            ),
            Some(state) if state.is_terminal() => {
                write!(f, "the negotiation is {state}, a final state: it accepts no {message}; start a new negotiation")
            }
            Some(state) => {
                let allowed: Vec<String> =
                    allowed(Some(*state)).iter().map(|(kind, role)| format!("{kind} from the {role}")).collect();
                write!(
                    f,
                    "a {message} from the {sender} is not allowed while the negotiation is {state}; allowed now: {}",
                    allowed.join(", ")
                )
            }
        }
    }
}

/// The state after `message`, sent by `sender`, is acknowledged in `state`.
pub fn next(state: Option<State>, message: MessageKind, sender: Role) -> Result<State, IllegalTransition> {
    use MessageKind as M;
    use Role::{Consumer as C, Provider as P};
    use State as S;
    let to = match (state, message, sender) {
        (None, M::Request, C) => S::Requested,
        (None, M::Offer, P) => S::Offered,
        (Some(S::Requested), M::Offer, P) => S::Offered,
        (Some(S::Requested), M::Agreement, P) => S::Agreed,
        (Some(S::Offered), M::Request, C) => S::Requested,
        (Some(S::Offered), M::Accepted, C) => S::Accepted,
        (Some(S::Accepted), M::Agreement, P) => S::Agreed,
        (Some(S::Agreed), M::Verification, C) => S::Verified,
        (Some(S::Verified), M::Finalized, P) => S::Finalized,
        (Some(s), M::Termination, _) if !s.is_terminal() => S::Terminated,
        _ => return Err(IllegalTransition { state, message, sender }),
    };
    Ok(to)
}

/// True when `message` from `sender` repeats the one that brought the
/// negotiation into `state`, so the receiver can answer with the same ACK
/// instead of an error (a sender retrying after a lost ACK).
///
/// Never true in a final state (DSP: messages after a final state are errors)
/// nor for requests and offers (see [`MessageKind`]); the message that creates
/// a negotiation is deduplicated by the host through the sender's pid instead.
pub fn is_replay(state: State, message: MessageKind, sender: Role) -> bool {
    !state.is_terminal()
        && !message.is_move()
        && State::ALL.iter().any(|before| next(Some(*before), message, sender) == Ok(state))
}

/// Every (message, sender) pair that [`next`] accepts in `state`.
pub fn allowed(state: Option<State>) -> Vec<(MessageKind, Role)> {
    MessageKind::ALL
        .iter()
        .flat_map(|kind| Role::ALL.iter().map(move |role| (*kind, *role)))
        .filter(|(kind, role)| next(state, *kind, *role).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use MessageKind as M;
    use Role::{Consumer as C, Provider as P};
    use State as S;
    use proptest::prelude::*;

    /// The protocol's table, written out independently of `next`.
    const LEGAL: &[(Option<State>, MessageKind, Role, State)] = &[
        (None, M::Request, C, S::Requested),
        (None, M::Offer, P, S::Offered),
        (Some(S::Requested), M::Offer, P, S::Offered),
        (Some(S::Requested), M::Agreement, P, S::Agreed),
        (Some(S::Requested), M::Termination, C, S::Terminated),
        (Some(S::Requested), M::Termination, P, S::Terminated),
        (Some(S::Offered), M::Request, C, S::Requested),
        (Some(S::Offered), M::Accepted, C, S::Accepted),
        (Some(S::Offered), M::Termination, C, S::Terminated),
        (Some(S::Offered), M::Termination, P, S::Terminated),
        (Some(S::Accepted), M::Agreement, P, S::Agreed),
        (Some(S::Accepted), M::Termination, C, S::Terminated),
        (Some(S::Accepted), M::Termination, P, S::Terminated),
        (Some(S::Agreed), M::Verification, C, S::Verified),
        (Some(S::Agreed), M::Termination, C, S::Terminated),
        (Some(S::Agreed), M::Termination, P, S::Terminated),
        (Some(S::Verified), M::Finalized, P, S::Finalized),
        (Some(S::Verified), M::Termination, C, S::Terminated),
        (Some(S::Verified), M::Termination, P, S::Terminated),
    ];

    fn all_states() -> Vec<Option<State>> {
        std::iter::once(None).chain(State::ALL.iter().copied().map(Some)).collect()
    }

    #[test]
    fn every_triple_matches_the_table() {
        let mut checked = 0;
        for state in all_states() {
            for message in MessageKind::ALL {
                for sender in Role::ALL {
                    let expected = LEGAL.iter().find(|(s, m, r, _)| *s == state && *m == message && *r == sender);
                    match (expected, next(state, message, sender)) {
                        (Some((.., to)), Ok(got)) => assert_eq!(got, *to, "{state:?} {message:?} {sender:?}"),
                        (None, Err(e)) => assert_eq!(e, IllegalTransition { state, message, sender }),
                        (want, got) => panic!("{state:?} {message:?} {sender:?}: want {want:?}, got {got:?}"),
                    }
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 8 * 7 * 2);
    }

    #[test]
    fn the_tck_negative_cases_are_illegal() {
        // CN:03-01 termination after FINALIZED; CN:03-02 verification while OFFERED;
        // CN:03-03 verification while ACCEPTED; CN:03-04 a second counter-offer while REQUESTED.
        assert!(next(Some(S::Finalized), M::Termination, C).is_err());
        assert!(next(Some(S::Offered), M::Verification, C).is_err());
        assert!(next(Some(S::Accepted), M::Verification, C).is_err());
        assert!(next(Some(S::Requested), M::Request, C).is_err());
        assert!(!is_replay(S::Requested, M::Request, C));
        // CN_C:03-01/03/04/06 FINALIZED too early; CN_C:03-02 agreement while OFFERED; CN_C:03-05 offer while ACCEPTED.
        for state in [S::Requested, S::Offered, S::Accepted, S::Agreed] {
            assert!(next(Some(state), M::Finalized, P).is_err(), "{state}");
        }
        assert!(next(Some(S::Offered), M::Agreement, P).is_err());
        assert!(next(Some(S::Accepted), M::Offer, P).is_err());
        // Events in the wrong direction are errors (DSP prose).
        assert!(next(Some(S::Verified), M::Finalized, C).is_err());
        assert!(next(Some(S::Offered), M::Accepted, P).is_err());
    }

    #[test]
    fn replays_are_the_announcing_messages_of_the_current_state() {
        assert!(is_replay(S::Accepted, M::Accepted, C));
        assert!(is_replay(S::Agreed, M::Agreement, P));
        assert!(is_replay(S::Verified, M::Verification, C));
        assert!(!is_replay(S::Finalized, M::Finalized, P), "no events after a final state");
        assert!(!is_replay(S::Terminated, M::Termination, C));
        assert!(!is_replay(S::Offered, M::Offer, P), "offers are moves, not announcements");
        assert!(!is_replay(S::Agreed, M::Agreement, C), "the consumer never sends agreements");
    }

    #[test]
    fn illegal_transitions_explain_what_is_allowed() {
        let text = next(Some(S::Offered), M::Verification, C).unwrap_err().to_string();
        assert!(text.contains("OFFERED") && text.contains("ContractAgreementVerificationMessage"), "{text}");
        assert!(text.contains("ContractRequestMessage from the consumer"), "{text}");
        let text = next(Some(S::Finalized), M::Termination, P).unwrap_err().to_string();
        assert!(text.contains("final state"), "{text}");
        let text = next(None, M::Agreement, P).unwrap_err().to_string();
        assert!(text.contains("cannot start a negotiation"), "{text}");
        assert_eq!(serde_json::to_value(S::Requested).unwrap(), "REQUESTED");
        assert_eq!(serde_json::from_value::<State>("TERMINATED".into()).unwrap(), S::Terminated);
    }

    fn any_state() -> impl Strategy<Value = State> {
        proptest::sample::select(State::ALL.to_vec())
    }
    fn any_kind() -> impl Strategy<Value = MessageKind> {
        proptest::sample::select(MessageKind::ALL.to_vec())
    }
    fn any_role() -> impl Strategy<Value = Role> {
        proptest::sample::select(Role::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn final_states_absorb_everything(state in any_state(), kind in any_kind(), sender in any_role()) {
            if state.is_terminal() {
                prop_assert!(next(Some(state), kind, sender).is_err());
                prop_assert!(!is_replay(state, kind, sender));
            }
        }

        #[test]
        fn either_party_may_terminate_until_the_end(state in any_state(), sender in any_role()) {
            prop_assert_eq!(next(Some(state), M::Termination, sender).is_ok(), !state.is_terminal());
        }

        #[test]
        fn a_replay_is_never_also_a_transition(state in any_state(), kind in any_kind(), sender in any_role()) {
            if is_replay(state, kind, sender) {
                prop_assert!(next(Some(state), kind, sender).is_err());
            }
        }

        #[test]
        fn each_message_has_one_sender_except_termination(kind in any_kind(), state in proptest::option::of(any_state())) {
            let senders: Vec<Role> = Role::ALL.into_iter().filter(|r| next(state, kind, *r).is_ok()).collect();
            if kind != M::Termination {
                prop_assert!(senders.len() <= 1, "{:?} in {:?} accepted from {:?}", kind, state, senders);
            }
        }

        #[test]
        fn random_walks_stay_in_the_machine(steps in proptest::collection::vec((any_kind(), any_role()), 0..40)) {
            let mut state: Option<State> = None;
            for (kind, sender) in steps {
                let before = state;
                match next(state, kind, sender) {
                    Ok(to) => {
                        prop_assert!(before.is_none_or(|s| !s.is_terminal()));
                        state = Some(to);
                    }
                    Err(e) => prop_assert_eq!(e.state, before),
                }
                if before.is_some_and(State::is_terminal) {
                    prop_assert_eq!(state, before);
                }
            }
        }
    }
}
