//! The federated catalogue of a Passerelle data space (the operator's side).
//!
//! It crawls the DSP catalog of every active participant of a [`Registry`]
//! (authenticated with the DSP client's [`TokenSource`], following `Link`
//! pagination), converts each catalog to RDF with a JSON-LD processor into one
//! named graph per participant of an in-memory oxigraph store (snapshotted to
//! N-Quads on every change and reloaded at start), and indexes titles,
//! descriptions and facets in memory. It answers:
//!
//! - full-text and faceted search ([`index::search`], `/api/v1/search`), whose
//!   hits carry the provider's address, the dataset id and the offer ids to negotiate;
//! - read-only SPARQL 1.1 with a time limit ([`sparql`], `/sparql`);
//! - an aggregated DSP catalog nesting every participant's catalog
//!   (`/dsp/2025-1/catalog/request`);
//! - crawl statuses (`/api/v1/participants`) and recrawl on demand
//!   (`/api/v1/notify/{participant}`).
//!
//! [`Catalogue`] holds the state; [`router`] is its HTTP face. The registry
//! and token source are seams: the data-space authority and DCP tokens plug
//! in there.
//!
//! [`TokenSource`]: passerelle_dsp::client::TokenSource

pub mod catalogue;
pub mod fetch;
pub mod graph;
pub mod http;
pub mod index;
pub mod query;
pub mod record;
pub mod registry;
pub mod sparql;
mod text;

pub use catalogue::{Catalogue, CatalogueConfig, CatalogueError, CrawlFailure, CrawlStatus};
pub use fetch::{FetchError, FetchLimits};
pub use graph::Contexts;
pub use http::router;
pub use index::{Filter, SearchHit, SearchResults};
pub use query::SearchParams;
pub use registry::{MemoryRegistry, Participant, ParticipantStatus, Registry, RegistryError};
pub use sparql::{QueryRunner, ResultsFormat, SparqlAnswer, SparqlError};
