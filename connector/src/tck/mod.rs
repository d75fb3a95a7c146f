//! TCK mode: the connector as the "connector under test" of the official Eclipse
//! Dataspace Protocol TCK (`[tck] enabled = true`; never in production).
//!
//! In this mode the protocol listener serves, instead of the store and the policy engine:
//! - [`seed`]: the datasets and offers of the TCK's `sample.tck.properties`;
//! - [`script`]: per seeded id, the part the connector plays in each TCK scenario;
//! - [`host`]: negotiations and transfers in memory, answered by the scripts;
//! - [`trigger`]: the routes the TCK calls to make us start a negotiation or a transfer
//!   as consumer;
//! - [`auth`]: the TCK's static `Authorization` value instead of DCP
//!   (`tck.authorization = "static"`, the default: what the official Java TCK sends).
//!
//! With `tck.authorization = "dcp"` the DCP verifier guards the same routes exactly as it
//! guards the normal DSP routes (the caller must be a member with a verified presentation,
//! and becomes the process's bound counter-party), and the scripted messages carry DCP
//! self-issued tokens from the connector's own token source, addressed to the counter-party.
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

use crate::config::{TckAuthorization, TckSettings};
use crate::identity::services::IdentityServices;
pub use host::{OutgoingAuthorization, TckHost};
pub use seed::SeededCatalog;

/// The DSP routes over the seeded catalog and the scripted host, plus the trigger routes,
/// behind what `tck.authorization` names: the static value when one is configured, or the
/// DCP verifier of `identity` (which the configuration guarantees is on in that mode).
pub fn protocol_routes(
    settings: &TckSettings,
    identity: &IdentityServices,
    info: ProviderInfo,
    paging: CatalogPaging,
) -> Router {
    let outgoing = match settings.authorization {
        TckAuthorization::Static => OutgoingAuthorization::Static(settings.static_authorization.clone()),
        TckAuthorization::Dcp => OutgoingAuthorization::Dcp(Box::new(identity.token_source())),
    };
    let host = TckHost::new(&info.participant_id, &info.protocol_base_url, outgoing, settings.step_delay);
    let catalog = SeededCatalog::new(&info.participant_id);
    let routes = passerelle_dsp::protocol_router_full(catalog, host.clone(), host.clone(), info, paging)
        .merge(trigger::router(host));
    match (settings.authorization, &settings.static_authorization) {
        (TckAuthorization::Dcp, _) => identity.protect(routes),
        (TckAuthorization::Static, Some(value)) => routes
            .layer(middleware::from_fn_with_state(auth::StaticAuthorization::new(value.clone()), auth::require_static)),
        (TckAuthorization::Static, None) => routes,
    }
}
