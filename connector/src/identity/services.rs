//! What the protocol listener serves and checks for identity: the DID document, the
//! credential service, the DCP verifier, and the outgoing token source.

use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use axum::Router;
use axum::middleware;
use passerelle_identity::clock::{Clock, SystemClock};
use passerelle_identity::dcp::{
    CredentialService, HttpPresentationClient, InMemoryJtiStore, ParticipantVerifier, TokenVerifier, VerifierConfig,
    VerifierParts,
};
use passerelle_identity::did::{CachingResolver, DidResolver, WebResolver, document_router};
use passerelle_identity::status::HttpStatusListSource;
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::types;

use super::guard::require_dcp;
use super::token::DcpTokenSource;
use super::{CREDENTIAL_SERVICE_PATH, IdentityError, ParticipantIdentity};

/// Timeout of every identity-related outgoing request (DID documents, presentations, status lists).
const HTTP_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// The identity side of a running connector.
pub struct IdentityServices {
    identity: ParticipantIdentity,
    document: Arc<RwLock<passerelle_identity::did::DidDocument>>,
    credential_service: Arc<CredentialService>,
    /// `None` when `[dcp] enabled = false`.
    verifier: Option<Arc<ParticipantVerifier>>,
    tokens: DcpTokenSource,
}

impl std::fmt::Debug for IdentityServices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityServices")
            .field("did", self.identity.did())
            .field("dcp", &self.verifier.is_some())
            .finish_non_exhaustive()
    }
}

/// The trust list of a connector: its authorities for memberships, and each participant
/// about itself for its LegalPerson.
pub fn trust_list(identity: &ParticipantIdentity) -> TrustList {
    let mut trust = TrustList::new().trust_self_issued(types::LEGAL_PERSON);
    for issuer in &identity.settings().trusted_membership_issuers {
        trust = trust.trust(types::MEMBERSHIP, issuer.as_str());
    }
    trust
}

impl IdentityServices {
    pub fn new(identity: ParticipantIdentity) -> Result<IdentityServices, IdentityError> {
        let settings = identity.settings().clone();
        let allow_http = settings.allow_http_did_web;
        let http = identity.http_client(HTTP_TIMEOUT)?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let web: Arc<dyn DidResolver> = Arc::new(WebResolver::new(http.clone()).allow_http(allow_http));
        let ttl = time::Duration::try_from(settings.did_cache_ttl).unwrap_or(time::Duration::minutes(5));
        let resolver: Arc<dyn DidResolver> = Arc::new(CachingResolver::new(web, clock.clone(), ttl));
        let dcp = identity.dcp();

        let document = Arc::new(RwLock::new(identity.did_document()?));
        // Verifiers querying us sign their tokens for our DID; their replays are refused per jti.
        let query_tokens =
            TokenVerifier::new(dcp.did(), resolver.clone(), Arc::new(InMemoryJtiStore::new()), clock.clone());
        let credential_service = Arc::new(CredentialService::new(
            dcp.clone(),
            Arc::new(identity.credentials().clone()),
            query_tokens,
            clock.clone(),
        ));
        let verifier = settings.dcp_enabled.then(|| {
            let status_list_ttl =
                time::Duration::try_from(settings.status_list_ttl).unwrap_or(time::Duration::minutes(5));
            Arc::new(ParticipantVerifier::new(VerifierParts {
                identity: dcp.clone(),
                resolver: resolver.clone(),
                jti: Arc::new(InMemoryJtiStore::new()),
                clock: clock.clone(),
                presentations: Arc::new(HttpPresentationClient::new(http.clone(), allow_http)),
                status_lists: Arc::new(HttpStatusListSource::new(http.clone(), allow_http)),
                trust: trust_list(&identity),
                config: VerifierConfig { status_list_ttl, ..VerifierConfig::default() },
            }))
        });
        if identity.base_url.starts_with("http://") && !allow_http {
            tracing::warn!(
                did = %identity.did(),
                "participant.public_url is plain HTTP but did:web is resolved over HTTPS: other participants cannot \
                 reach this DID document (use an https public URL, or identity.allow_http_did_web for local tests)"
            );
        }
        if settings.dcp_enabled && settings.trusted_membership_issuers.is_empty() {
            tracing::warn!(
                "[dcp] is enabled but [trust] membership names no authority: every caller will be refused \
                 (missing trusted membership). Set trust.membership to the authority's DID."
            );
        }
        let tokens = DcpTokenSource::new(dcp);
        Ok(IdentityServices { identity, document, credential_service, verifier, tokens })
    }

    pub fn identity(&self) -> &ParticipantIdentity {
        &self.identity
    }

    /// Signs the `Authorization` header of outgoing DSP requests (for `DspClient::new`).
    pub fn token_source(&self) -> DcpTokenSource {
        self.tokens.clone()
    }

    /// The verifier, when DCP is enabled.
    pub fn verifier(&self) -> Option<Arc<ParticipantVerifier>> {
        self.verifier.clone()
    }

    /// Puts the DCP check in front of `dsp` (all its routes but the version document and
    /// contexts). Unchanged when DCP is disabled.
    pub fn protect(&self, dsp: Router) -> Router {
        match &self.verifier {
            Some(verifier) => dsp.layer(middleware::from_fn_with_state(verifier.clone(), require_dcp)),
            None => dsp,
        }
    }

    /// The routes that are public by nature: the DID document and the credential service
    /// (which checks its own tokens).
    pub fn public_router(&self) -> Router {
        document_router(self.identity.did(), self.document.clone())
            .nest(CREDENTIAL_SERVICE_PATH, self.credential_service.clone().router())
    }
}
