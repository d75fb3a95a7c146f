//! The Passerelle connector: everything one participant of a media data space runs
//! next to its MAM.
//!
//! - [`config`]: `passerelle.toml` and its `PASSERELLE_<SECTION>_<KEY>` overrides;
//! - [`secrets`]: the management API key and the ES256 signing key (files mode 0600);
//! - [`setup`]: what `passerelle init` writes;
//! - [`store`]: persistence (SQLite today, behind a backend-neutral [`store::Store`]);
//! - [`import`]: MAM files → store, through `passerelle-mam`, with a per-file report;
//! - [`offers`]: offer definitions and their work selectors;
//! - [`catalog`]: the store seen as a DSP catalog (datasets, offers, ids);
//! - [`api`]: the management REST API (OpenAPI, API-key auth, typed errors);
//! - [`console`]: the operator console, server-rendered HTML under `/console` on the management listener;
//! - [`contracts`], [`transfers`], [`outbox`], [`dataplane`]: DSP negotiations, agreements and transfers,
//!   persisted before they are acknowledged, sent with retries, and the `/data/…` endpoints;
//! - [`exchange`]: subtitle orders between a distributor and a lab (`/exchange/…`, `/api/v1/orders`);
//! - [`demo`]: `passerelle demo`, the media data space on one machine and its story, played through the APIs;
//! - [`server`]: the two listeners (public protocol, private management) and shutdown;
//! - [`identity`]: the participant's did:web, keys, credentials and DCP on the protocol listener;
//! - [`authority`]: the data-space authority service (`passerelle authority`);
//! - [`catalogue`]: the federated catalogue service (`passerelle catalog`) and the connector's client of it;
//! - [`tck`]: the official DSP TCK's connector-under-test mode (`[tck]`, tests only).
//!
//! The `passerelle` binary only parses its command line and calls into this crate.

pub mod api;
pub mod audit;
pub mod authority;
pub mod catalog;
pub mod catalogue;
pub mod config;
pub mod console;
pub mod contracts;
pub mod dataplane;
pub mod demo;
pub mod exchange;
pub mod identity;
pub mod import;
pub mod offers;
pub mod outbox;
pub mod secrets;
pub mod server;
pub mod services;
pub mod setup;
pub mod store;
pub mod tck;
pub mod transfers;
pub mod webhooks;
