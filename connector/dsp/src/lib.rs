//! Passerelle's Dataspace Protocol 2025-1 layer (Eclipse DSP): messages, the
//! catalog provider, the contract negotiation and transfer process state
//! machines, their HTTPS bindings (provider routes and consumer callbacks) and
//! a client. It knows nothing of storage: the connector plugs in through
//! [`catalog::CatalogSource`], [`negotiation::NegotiationHost`] and
//! [`transfer::TransferHost`].
//!
//! - [`catalog`]: what the connector hands over ([`catalog::DatasetEntry`],
//!   the [`catalog::CatalogSource`] trait, [`catalog::ProviderInfo`]);
//! - [`message`]: the DSP messages as serde types, in the compact JSON-LD form
//!   of the DSP context, and their parsing with fix-it error reasons;
//! - [`render`]: pure mapping of entries to DCAT datasets with ODRL offers,
//!   distributions and our media terms ([`media_context`]);
//! - [`negotiation`] and [`transfer`]: the state machines as pure functions
//!   (`machine::next(state, message, sender)`), the message enums and the host
//!   traits; [`process`]: roles, caller identity, [`process::ProtocolError`];
//! - [`protocol_router`] / [`protocol_router_full`]: the HTTP routes
//!   (`/.well-known/dspace-version`, `/dsp/2025-1/catalog/…`,
//!   `/dsp/2025-1/negotiations/…`, `/dsp/2025-1/transfers/…`, consumer
//!   callbacks under [`CALLBACK_PATH`], `/context/media.jsonld`);
//! - [`memory::MemoryHost`]: an in-memory host of both process kinds, for tests
//!   and the TCK harness;
//! - [`client::DspClient`]: sends every negotiation and transfer message to a
//!   counter-party, with an `Authorization` header from a [`client::TokenSource`];
//! - `schema` (feature `schema-validation`): validation of any emitted
//!   message against the official DSP 2025-1 JSON Schemas, for tests here and
//!   in other crates: add `passerelle-dsp = { workspace = true, features =
//!   ["schema-validation"] }` to `[dev-dependencies]`, then call
//!   `passerelle_dsp::schema::validate(MessageKind::Catalog, &body)`.
//!
//! The router has no fallback route, so that the connector can merge it with
//! its other protocol routes (axum refuses to merge two fallbacks).

pub mod catalog;
pub mod client;
mod http;
pub mod media_context;
pub mod memory;
pub mod message;
pub mod negotiation;
pub mod process;
pub mod render;
#[cfg(feature = "schema-validation")]
pub mod schema;
pub mod transfer;

pub use http::negotiation::negotiation_router;
pub use http::paging::{self as paging, CatalogPaging};
pub use http::transfer::transfer_router;
pub use http::{
    CALLBACK_PATH, DspJson, ProviderError, VERSION_PATH, callback_address, protocol_address, protocol_router,
    protocol_router_full, protocol_router_with,
};

#[cfg(test)]
pub(crate) mod test_support;
