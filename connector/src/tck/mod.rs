//! TCK mode: the connector as the "connector under test" of the official Eclipse
//! Dataspace Protocol TCK (`[tck] enabled = true`; never in production).
//!
//! In this mode the protocol listener serves, instead of the store, the policy engine
//! and DCP:
//! - [`seed`]: the datasets and offers of the TCK's `sample.tck.properties`;
//! - [`script`]: per seeded id, the part the connector plays in each TCK scenario;
//! - [`host`]: negotiations and transfers in memory, answered by the scripts;
//! - [`trigger`]: the routes the TCK calls to make us start a negotiation or a transfer
//!   as consumer;
//! - [`auth`]: the TCK's static `Authorization` value instead of DCP.
//!
//! The same DSP routes (`passerelle_dsp::protocol_router_full`) serve both modes, so the
//! TCK exercises the real HTTP bindings and state machines.

pub mod auth;
pub mod host;
pub mod script;
pub mod seed;
pub mod trigger;

use axum::Router;
use axum::middleware;
use passerelle_dsp::CatalogPaging;
use passerelle_dsp::catalog::ProviderInfo;

use crate::config::TckSettings;
pub use host::TckHost;
pub use seed::SeededCatalog;

/// The DSP routes over the seeded catalog and the scripted host, plus the trigger routes,
/// behind the static authorization when one is configured.
pub fn protocol_routes(settings: &TckSettings, info: ProviderInfo, paging: CatalogPaging) -> Router {
    let host = TckHost::new(
        &info.participant_id,
        &info.protocol_base_url,
        settings.static_authorization.clone(),
        settings.step_delay,
    );
    let catalog = SeededCatalog::new(&info.participant_id);
    let routes = passerelle_dsp::protocol_router_full(catalog, host.clone(), host.clone(), info, paging)
        .merge(trigger::router(host));
    match &settings.static_authorization {
        Some(value) => routes
            .layer(middleware::from_fn_with_state(auth::StaticAuthorization::new(value.clone()), auth::require_static)),
        None => routes,
    }
}
