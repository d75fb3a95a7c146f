//! [`MemoryHost`]: a complete in-memory host of negotiations and transfers,
//! driven by the state machines. Tests use it behind the real routers; the
//! connector's TCK harness can wrap it (delegate, then react).
//!
//! It keeps one record per process and side, keyed by this side's pid. A
//! record is created when a creating message is received (this side picks its
//! pid, a `urn:uuid`) or when this side reports one it sent
//! ([`MemoryHost::negotiation_sent`], [`MemoryHost::transfer_sent`]). What this
//! side sends is applied when reported: report a creating message *before*
//! sending it if the counter-party may answer before its ACK is read (the
//! counter-party's pid is then learned from the ACK via
//! [`MemoryHost::negotiation_acknowledged`] or from its first message).
//!
//! Rules it applies, as a real connector must:
//! - messages go through `machine::next`; an illegal one changes nothing and is
//!   refused; a repeat of the message that led to the current state
//!   (`machine::is_replay`) gets the same ACK;
//! - a creating message repeated by the same caller with the same pid gets the
//!   ACK of the process it created; with the same pid but other content it is refused;
//! - a process is visible only to the participant it was created with (when
//!   the caller's participant id is known): others get 404;
//! - a transfer request must name an agreement this host finalized as provider
//!   or was told about ([`MemoryHost::add_agreement`]).

mod negotiation;
mod transfer;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

pub use negotiation::NegotiationRecord;
pub use transfer::TransferRecord;

use crate::process::{CallerIdentity, Role};

/// Who is on the other side of a process, as far as this side knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Counterparty {
    /// The verified participant id; `None` when no authentication is in place.
    pub participant_id: Option<String>,
    /// Where messages to the counter-party go: its `callbackAddress` when it is
    /// the consumer, its protocol address (or the callback it gave) when it is the provider.
    pub address: Option<String>,
}

impl Counterparty {
    pub fn new(participant_id: Option<String>, address: Option<String>) -> Self {
        Counterparty { participant_id, address }
    }

    /// A caller may see and move the process if no participant was recorded, or if it is that participant.
    fn admits(&self, caller: &CallerIdentity) -> bool {
        self.participant_id.is_none() || self.participant_id == caller.participant_id
    }
}

/// One applied message in a record's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step<K, S> {
    pub message: K,
    pub sender: Role,
    /// The state the message led to.
    pub state: S,
}

/// An agreement transfers may be requested under.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KnownAgreement {
    /// The consumer it was made with, when known.
    consumer: Option<String>,
}

#[derive(Debug, Default)]
struct Books {
    negotiations: BTreeMap<(Role, String), NegotiationRecord>,
    transfers: BTreeMap<(Role, String), TransferRecord>,
    /// Agreements this side may serve transfers under (as provider), by `@id`.
    agreements: BTreeMap<String, KnownAgreement>,
}

/// In-memory host of both process kinds (cheap to clone: clones share the books).
#[derive(Debug, Clone, Default)]
pub struct MemoryHost {
    books: Arc<Mutex<Books>>,
}

impl MemoryHost {
    pub fn new() -> Self {
        MemoryHost::default()
    }

    /// Lets transfers be requested under `agreement_id` (made outside this host,
    /// e.g. the TCK's configured agreements), with `consumer` if it is known.
    pub fn add_agreement(&self, agreement_id: impl Into<String>, consumer: Option<String>) {
        self.lock().agreements.insert(agreement_id.into(), KnownAgreement { consumer });
    }

    // Every mutation is a single insert or field update, so the books stay
    // consistent even if a panicking thread poisoned the lock: keep using them.
    fn lock(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fresh process id.
fn new_pid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}
