//! Passerelle's Dataspace Protocol 2025-1 layer (Eclipse DSP), provider side of
//! the catalog protocol for now.
//!
//! - [`catalog`]: what the connector hands over ([`catalog::DatasetEntry`],
//!   the [`catalog::CatalogSource`] trait, [`catalog::ProviderInfo`]);
//! - [`message`]: the DSP messages as serde types, in the compact JSON-LD form
//!   of the DSP context, and their parsing with fix-it error reasons;
//! - [`render`]: pure mapping of entries to DCAT datasets with ODRL offers,
//!   distributions and our media terms ([`media_context`]);
//! - [`protocol_router`]: the HTTP routes (`/.well-known/dspace-version`,
//!   `/dsp/2025-1/catalog/…`, `/context/media.jsonld`), catalog pages streamed
//!   and linked with `Link` headers;
//! - `schema` (feature `schema-validation`): validation of any emitted
//!   message against the official DSP 2025-1 JSON Schemas, for tests here and
//!   in other crates: add `passerelle-dsp = { workspace = true, features =
//!   ["schema-validation"] }` to `[dev-dependencies]`, then call
//!   `passerelle_dsp::schema::validate(MessageKind::Catalog, &body)`.
//!
//! The router has no fallback route, so that the connector can merge it with
//! its other protocol routes (axum refuses to merge two fallbacks).

pub mod catalog;
mod http;
pub mod media_context;
pub mod message;
pub mod render;
#[cfg(feature = "schema-validation")]
pub mod schema;

pub use http::paging::{self as paging, CatalogPaging};
pub use http::{DspJson, ProviderError, VERSION_PATH, protocol_router, protocol_router_with};

#[cfg(test)]
pub(crate) mod test_support;
