//! DSP 2025-1 messages as serde types, in the compact JSON-LD form of the DSP
//! context (`https://w3id.org/dspace/2025/1/context.jsonld`): plain JSON, no
//! expansion needed.
//!
//! One submodule per protocol area ([`catalog`], [`negotiation`], [`transfer`]),
//! [`policy`] for the offers and agreements negotiation messages carry, plus
//! [`version`] for `/.well-known/dspace-version`. Each
//! message's `@type` is a zero-sized marker type that only (de)serializes as
//! its own name, so a value of a message type always carries the right `@type`.

pub mod catalog;
pub mod media;
pub mod negotiation;
pub mod policy;
pub mod transfer;
pub mod version;

mod checks;
mod context;
mod marker;
mod parse;

pub use context::{Context, DSPACE_CONTEXT};
pub(crate) use marker::type_marker;
pub use parse::{MessageError, parse_message};

/// A DSP message that is a JSON-LD document of its own (carries `@context` and `@type`).
pub trait DspMessage {
    /// The compact `@type` of the message, e.g. `CatalogRequestMessage`.
    const TYPE: &'static str;

    /// Rules across members that serde cannot express (e.g. "an initial request
    /// names a callback address"); [`parse_message`] applies them after reading.
    /// The error says what to change.
    fn check(&self) -> Result<(), String> {
        Ok(())
    }
}
