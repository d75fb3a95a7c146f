//! The transfer process state machine of DSP 2025-1, as pure functions.
//!
//! | from | message (sender) | to |
//! |---|---|---|
//! | — | TransferRequestMessage (C) | REQUESTED |
//! | REQUESTED | TransferStartMessage (P) | STARTED |
//! | SUSPENDED | TransferStartMessage (C or P) | STARTED |
//! | STARTED | TransferSuspensionMessage (C or P) | SUSPENDED |
//! | STARTED | TransferCompletionMessage (C or P) | COMPLETED |
//! | REQUESTED, STARTED, SUSPENDED | TransferTerminationMessage (C or P) | TERMINATED |
//!
//! Only the provider starts a requested transfer (it owns the data plane);
//! either side resumes a suspended one. A transfer is completed only while
//! started (TCK TP:03-01, TP:03-03). COMPLETED and TERMINATED accept nothing.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::process::Role;

/// A transfer process's state (`state` of the TransferProcess ACK).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum State {
    Requested,
    Started,
    Suspended,
    Completed,
    Terminated,
}

impl State {
    pub const ALL: [State; 5] =
        [State::Requested, State::Started, State::Suspended, State::Completed, State::Terminated];

    /// COMPLETED and TERMINATED.
    pub fn is_terminal(self) -> bool {
        matches!(self, State::Completed | State::Terminated)
    }

    /// The wire name, e.g. `STARTED`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Requested => "REQUESTED",
            State::Started => "STARTED",
            State::Suspended => "SUSPENDED",
            State::Completed => "COMPLETED",
            State::Terminated => "TERMINATED",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The transfer messages, as far as the state machine is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    Request,
    Start,
    Suspension,
    Completion,
    Termination,
}

impl MessageKind {
    pub const ALL: [MessageKind; 5] = [
        MessageKind::Request,
        MessageKind::Start,
        MessageKind::Suspension,
        MessageKind::Completion,
        MessageKind::Termination,
    ];

    /// The message as named on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Request => "TransferRequestMessage",
            MessageKind::Start => "TransferStartMessage",
            MessageKind::Suspension => "TransferSuspensionMessage",
            MessageKind::Completion => "TransferCompletionMessage",
            MessageKind::Termination => "TransferTerminationMessage",
        }
    }
}

impl fmt::Display for MessageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A message that the transfer's current state does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct IllegalTransition {
    /// The state before the message (`None`: no transfer yet).
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
                "a {message} from the {sender} cannot start a transfer process: it starts with a TransferRequestMessage from the consumer"
            ),
            Some(state) if state.is_terminal() => write!(
                f,
                "the transfer process is {state}, a final state: it accepts no {message}; request a new transfer"
            ),
            Some(state) => {
                let allowed: Vec<String> =
                    allowed(Some(*state)).iter().map(|(kind, role)| format!("{kind} from the {role}")).collect();
                write!(
                    f,
                    "a {message} from the {sender} is not allowed while the transfer process is {state}; allowed now: {}",
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
        (Some(S::Requested), M::Start, P) => S::Started,
        (Some(S::Suspended), M::Start, _) => S::Started,
        (Some(S::Started), M::Suspension, _) => S::Suspended,
        (Some(S::Started), M::Completion, _) => S::Completed,
        (Some(s), M::Termination, _) if !s.is_terminal() => S::Terminated,
        _ => return Err(IllegalTransition { state, message, sender }),
    };
    Ok(to)
}

/// True when `message` from `sender` repeats the one that brought the transfer
/// into `state` (a retry after a lost ACK): answer with the same ACK.
/// Never true in a final state.
pub fn is_replay(state: State, message: MessageKind, sender: Role) -> bool {
    !state.is_terminal()
        && (next(None, message, sender) == Ok(state)
            || State::ALL.iter().any(|before| next(Some(*before), message, sender) == Ok(state)))
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
        (Some(S::Requested), M::Start, P, S::Started),
        (Some(S::Requested), M::Termination, C, S::Terminated),
        (Some(S::Requested), M::Termination, P, S::Terminated),
        (Some(S::Started), M::Suspension, C, S::Suspended),
        (Some(S::Started), M::Suspension, P, S::Suspended),
        (Some(S::Started), M::Completion, C, S::Completed),
        (Some(S::Started), M::Completion, P, S::Completed),
        (Some(S::Started), M::Termination, C, S::Terminated),
        (Some(S::Started), M::Termination, P, S::Terminated),
        (Some(S::Suspended), M::Start, C, S::Started),
        (Some(S::Suspended), M::Start, P, S::Started),
        (Some(S::Suspended), M::Termination, C, S::Terminated),
        (Some(S::Suspended), M::Termination, P, S::Terminated),
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
        assert_eq!(checked, 6 * 5 * 2);
    }

    #[test]
    fn the_tck_negative_cases_are_illegal() {
        for sender in Role::ALL {
            // TP:03-01/TP_C:03-01 completion while REQUESTED; TP:03-02/TP_C:03-02 suspension while REQUESTED;
            // TP:03-03/TP_C:03-03 completion while SUSPENDED; TP:03-04..06 anything after TERMINATED.
            assert!(next(Some(S::Requested), M::Completion, sender).is_err());
            assert!(next(Some(S::Requested), M::Suspension, sender).is_err());
            assert!(next(Some(S::Suspended), M::Completion, sender).is_err());
            for kind in [M::Start, M::Suspension, M::Completion] {
                assert!(next(Some(S::Terminated), kind, sender).is_err());
            }
        }
        assert!(next(Some(S::Requested), M::Start, C).is_err(), "only the provider starts a requested transfer");
    }

    #[test]
    fn replays() {
        assert!(is_replay(S::Requested, M::Request, C));
        assert!(is_replay(S::Started, M::Start, P));
        assert!(is_replay(S::Started, M::Start, C), "a consumer resuming twice");
        assert!(is_replay(S::Suspended, M::Suspension, C));
        assert!(!is_replay(S::Completed, M::Completion, C));
        assert!(!is_replay(S::Terminated, M::Termination, P));
        assert!(!is_replay(S::Requested, M::Request, P));
    }

    #[test]
    fn illegal_transitions_explain_what_is_allowed() {
        let text = next(Some(S::Requested), M::Completion, C).unwrap_err().to_string();
        assert!(text.contains("REQUESTED") && text.contains("TransferStartMessage from the provider"), "{text}");
        let text = next(Some(S::Completed), M::Start, P).unwrap_err().to_string();
        assert!(text.contains("final state"), "{text}");
        assert!(next(None, M::Start, P).unwrap_err().to_string().contains("cannot start a transfer"));
        assert_eq!(serde_json::to_value(S::Suspended).unwrap(), "SUSPENDED");
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
        fn random_walks_stay_in_the_machine(steps in proptest::collection::vec((any_kind(), any_role()), 0..40)) {
            let mut state: Option<State> = None;
            for (kind, sender) in steps {
                let before = state;
                match next(state, kind, sender) {
                    Ok(to) => {
                        prop_assert!(before.is_none_or(|s| !s.is_terminal()));
                        prop_assert!(before.is_some() || to == S::Requested);
                        state = Some(to);
                    }
                    Err(e) => prop_assert_eq!(e.state, before),
                }
            }
        }
    }
}
