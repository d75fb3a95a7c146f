//! The subtitle order workflow of Passerelle, as a pure core: what runs between a distributor and a subtitling
//! lab once they hold a service agreement.
//!
//! It owns:
//! - the **order** ([`Order`]): work, exact version (EIDR edit or ISAN version), target language, kind, format,
//!   frame rate, start timecode, style profile, due date, materials; [`Order::validate`] reports every problem at
//!   its JSON path;
//! - the **events** the parties exchange ([`Event`], sent by a [`Party`]) and the **state machine** over them
//!   ([`next`], [`OrderState`]), the same function on both sides;
//! - the **order log** ([`OrderLog`]): numbered events applied exactly once, with replays, conflicts and gaps
//!   told apart;
//! - **SLA risk** ([`sla_alerts`]) and the **agreement check** ([`check_agreement`], deciding through
//!   `passerelle-policy`).
//!
//! It does no I/O and no async: the connector stores the log, sends events through its outbox, serves the
//! exchange API and runs QC of deliveries (`passerelle-subtitle`, with [`Order::qc_profile`]) and manifest
//! verification (`passerelle-delivery`).
//!
//! # Invariants
//! - An [`OrderLog`] holds only events that were legal for their sender in the state they were applied in and
//!   whose content was valid; its numbers run 1, 2, 3… without gaps. Only [`OrderLog::apply`] adds to it.
//! - A refused event (illegal, invalid, conflicting, out of sequence) leaves the log unchanged; a replay gets the
//!   answer the original got and changes nothing.
//! - The first event of every log is `OrderPlaced` from the distributor with an order that passed
//!   [`Order::validate`]; later events that depend on the order (QC note timecodes) are checked against it.
//! - Final states (DECLINED, CANCELLED, SUPERSEDED, RECALLED) accept nothing; ACCEPTED accepts only a recall.
//! - Nothing here panics on input: every refusal is a typed error that says what was wrong and what to do.

mod agreement;
mod event;
mod log;
mod machine;
mod order;
mod sla;

pub use agreement::{AgreementCall, AgreementError, OrderCount, Permitted, check_agreement};
pub use event::{
    DeliveryProblem, Event, EventKind, NoteCategory, Party, Price, QcNote, Severity, Stage, TimecodeRange,
};
pub use log::{Applied, Entry, LogError, OrderLog};
pub use machine::{IllegalTransition, OrderState, allowed, next};
pub use order::{
    Counting, DeliveryFormat, FieldProblem, InvalidOrder, Material, MaterialKind, Order, OrderKind, Problem,
    ReadingSpeed, StyleProfile, VersionId, VersionRef, WorkRef,
};
pub use sla::{Alert, SlaRules, sla_alerts};
