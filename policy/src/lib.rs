//! ODRL 2.2 usage policies with the Passerelle media rights profile: the model, its DSP 2025-1 JSON-LD form, an
//! evaluator that explains itself, offer/agreement matching, rights windows as offers, and English rendering.
//!
//! Pure: no I/O, no async, no HTTP. Policies are validated and compiled when they are defined
//! ([`Policy::from_json`]), so that [`evaluate`] does no parsing and makes a single allocation.
//!
//! # Form
//! Policies are read and written in the DSP 2025-1 compact form (`@id`, `@type`, `permission`, `prohibition`,
//! `obligation`, `target`, `assigner`, `assignee`, `profile`, and the Agreement `timestamp`). Terms may be written
//! compact (`spatial`), prefixed (`odrl:spatial`) or as IRIs (`http://www.w3.org/ns/odrl/2/spatial`); each keeps
//! its spelling on the way out, so `Policy::from_json(&p.to_json()) == Ok(p)` and a peer's policy is echoed
//! exactly. Members outside ODRL (`@context`, `dct:title`…) are kept verbatim; ODRL members we do not implement
//! (`inheritFrom`, `refinement`, `remedy`, a `conflict` other than `prohibit`…) are refused.
//!
//! # Profile
//! Our media profile is `https://w3id.org/passerelle/odrl/profile` ([`PROFILE_IRI`]); its terms live in the
//! namespace `https://w3id.org/passerelle/odrl/` ([`PROFILE_NS`], prefix `passerelle:`). It adds the left operands
//! `channel` (Avails license type: EST, VOD, SVOD, AVOD, TVOD, FreeTV, PayTV, …) and `role` (distributor, lab,
//! broadcaster, producer, operator), and fixes the meaning of the ODRL operands below. Generated policies write
//! ODRL operands compact, as the DSP examples do, and profile operands as full IRIs, because the DSP context
//! defines no prefix for our namespace.
//!
//! # Left operands and right operands
//! - `spatial`: ISO 3166-1 alpha-2 codes and the named groups WORLD, EU, EEA, DACH, Benelux, Nordics,
//!   Scandinavia, Baltics, ANZ, UK (see [`vocab::territory::GROUPS`]); exclusions with `neq`/`isNoneOf`.
//! - `dateTime` (xsd:dateTime, seconds optional, a time zone required; a bare date is midnight UTC),
//!   `elapsedTime` (xsd:duration in weeks/days/hours/minutes/seconds), `count` (non-negative integer, compared
//!   with the count the request would reach).
//! - `purpose`: a vocabulary with `isA` (broadcast ⊂ linear; svod, avod, tvod, est, fvod, catch-up ⊂ vod;
//!   subtitling, dubbing ⊂ localization; ai-training ⊂ text-and-data-mining; theatrical, archive, …).
//! - `language`: BCP 47 ranges (`es` covers `es-419`).
//! - `recipient` (participant id), `event` (identifier), and the profile's `channel` and `role`.
//!
//! Vocabulary values (territories, groups, purposes, license types, roles) written as IRIs or blank-node ids are
//! read by their last segment — `http://example.org/EU` and `_:EU` (as in the DSP 2025-1 examples) mean `EU`. The
//! namespace of such an IRI is not interpreted; the segment must be a known code or name, or the policy is refused.
//!
//! Operators: eq, neq, gt, gteq, lt, lteq, isA, hasPart, isPartOf, isAllOf, isAnyOf, isNoneOf (which ones apply
//! to which operand is checked at definition time); logical constraints and, or, xone, andSequence.
//!
//! # Evaluation
//! [`evaluate`] returns a [`Decision`]: permitted or not, the [`Outcome`] (which rule decided), an explanation tree
//! (every rule, every constraint with the request value it saw and whether it held), and the duties the caller must
//! fulfil. Constraints are three-valued: a value missing from the request (no territory given) or a condition we
//! do not understand is *unknown*. A permission grants only when all its constraints hold; a prohibition applies
//! unless one of its constraints fails; prohibitions override permissions (ODRL conflict `prohibit`). Actions follow
//! ODRL's `includedIn` (a permission to `use` covers `play`). `count` is compared with the count the request would
//! reach (`uses_so_far + 1`), so `count lteq 5` allows five uses.
//!
//! # Offer matching
//! [`narrows`] checks that a consumer's requested policy equals or narrows the provider's offer: every requested
//! permission is covered by an offered one whose constraints it implies, and every offered prohibition and duty is
//! kept. It is sound (never accepts a request that permits something the offer does not), not complete.
//!
//! # Policies from other participants
//! [`Policy::from_peer_json`] accepts operands, operators and actions outside ODRL and our profile (the DSP
//! examples use `partner`) so a peer's offer can be displayed and echoed; such conditions are *unknown* at
//! evaluation and fail closed. [`Policy::from_json`] refuses them.

pub mod vocab;

mod check;
mod describe;
mod error;
mod evaluate;
mod lexical;
mod model;
mod narrow;
mod parse;
mod term;
mod window;
mod write;

pub use describe::{describe, territory_groups};
pub use error::{PolicyError, Problem};
pub use evaluate::{
    Actual, Children, Decision, DutySource, Explanation, Node, Obligation, Outcome, RequestContext, Subject, Truth,
    evaluate,
};
pub use model::{
    AtomicConstraint, Constraint, LeftOperand, LogicalConstraint, LogicalOp, Operator, Policy, PolicyType, Rule,
    RuleKind,
};
pub use narrow::{Mismatch, narrows};
pub use term::{ODRL_NS, PROFILE_IRI, PROFILE_NS, PROFILE_PREFIX};
pub use vocab::action::Action;
pub use vocab::territory::{TerritoryGroup, TerritorySet};
pub use vocab::{Channel, Purpose, Role};
pub use window::{RightsSummary, offer_for_window, summarize};
