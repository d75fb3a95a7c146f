//! The verifier side of DCP: from an `Authorization` header to a [`VerifiedParticipant`].

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures::future::BoxFuture;
use passerelle_media::Territory;
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::{
    AuthError, CredentialService, Identity, JtiStore, PresentationCache, PresentationQueryMessage,
    PresentationResponseMessage, Scope, TokenError, TokenVerifier, bearer_token,
};
use crate::clock::Clock;
use crate::did::{Did, DidResolver, split_did_url};
use crate::status::{StatusChecker, StatusError, StatusListSource};
use crate::trust::TrustList;
use crate::vc::gaiax::{GaiaxError, LegalPerson};
use crate::vc::membership::{Membership, MembershipError, Role};
use crate::vc::{CredentialError, CredentialVerifier, PresentationError, VerifiedCredential, types};

/// Who called, as established from its token and credentials: the context policies are evaluated in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedParticipant {
    pub did: Did,
    /// From the membership credential issued by the data-space authority.
    pub role: Role,
    pub legal_name: String,
    /// Country of registration.
    pub country: Territory,
    /// Types of every credential that was verified.
    pub credential_types: Vec<String>,
}

/// Fetches presentations from a holder's credential service.
pub trait PresentationClient: Send + Sync {
    /// Sends `message` to `<endpoint>/presentations/query` with `authorization` (`Bearer …`).
    fn query<'a>(
        &'a self,
        endpoint: &'a str,
        authorization: &'a str,
        message: &'a PresentationQueryMessage,
    ) -> BoxFuture<'a, Result<PresentationResponseMessage, String>>;
}

/// Queries credential services over HTTPS (plain HTTP only with `allow_http`).
#[derive(Debug, Clone)]
pub struct HttpPresentationClient {
    client: reqwest::Client,
    allow_http: bool,
}

/// Largest presentation response accepted.
const MAX_RESPONSE_LEN: usize = 1024 * 1024;

impl HttpPresentationClient {
    pub fn new(client: reqwest::Client, allow_http: bool) -> HttpPresentationClient {
        HttpPresentationClient { client, allow_http }
    }
}

impl PresentationClient for HttpPresentationClient {
    fn query<'a>(
        &'a self,
        endpoint: &'a str,
        authorization: &'a str,
        message: &'a PresentationQueryMessage,
    ) -> BoxFuture<'a, Result<PresentationResponseMessage, String>> {
        Box::pin(async move {
            if !(endpoint.starts_with("https://") || (self.allow_http && endpoint.starts_with("http://"))) {
                return Err(format!("credential service {endpoint} is not an https URL"));
            }
            let url = format!("{}/presentations/query", endpoint.trim_end_matches('/'));
            let mut response = self
                .client
                .post(&url)
                .header(header::AUTHORIZATION, authorization)
                .json(message)
                .send()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let status = response.status();
            let body = crate::did::read_limited(&mut response, MAX_RESPONSE_LEN)
                .await
                .map_err(|e| format!("{url}: {e}"))?
                .ok_or_else(|| format!("{url}: response larger than {MAX_RESPONSE_LEN} bytes"))?;
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body);
                return Err(format!(
                    "{url} answered HTTP {}: {}",
                    status.as_u16(),
                    text.chars().take(300).collect::<String>()
                ));
            }
            serde_json::from_slice(&body).map_err(|e| format!("{url}: not a PresentationResponseMessage: {e}"))
        })
    }
}

/// Calls credential services in the same process (tests, a catalogue hosting several identities).
#[derive(Debug, Default)]
pub struct DirectPresentationClient {
    services: RwLock<HashMap<String, Arc<CredentialService>>>,
}

impl DirectPresentationClient {
    pub fn new() -> DirectPresentationClient {
        DirectPresentationClient::default()
    }

    /// Serves `endpoint` (as published in the holder's DID document) with `service`.
    pub fn register(&self, endpoint: &str, service: Arc<CredentialService>) {
        self.services
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(endpoint.trim_end_matches('/').to_string(), service);
    }
}

impl PresentationClient for DirectPresentationClient {
    fn query<'a>(
        &'a self,
        endpoint: &'a str,
        authorization: &'a str,
        message: &'a PresentationQueryMessage,
    ) -> BoxFuture<'a, Result<PresentationResponseMessage, String>> {
        let service =
            self.services.read().unwrap_or_else(|e| e.into_inner()).get(endpoint.trim_end_matches('/')).cloned();
        Box::pin(async move {
            let service = service.ok_or_else(|| format!("no credential service at {endpoint}"))?;
            service.query(Some(authorization), message).await.map_err(|e| format!("HTTP {}: {e}", e.status().as_u16()))
        })
    }
}

/// Why a caller is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the ID token carries no `token` claim, so its credentials cannot be fetched")]
    MissingAccessToken,
    #[error("the DID document of {did} names no CredentialService")]
    NoCredentialService { did: String },
    #[error("the credential service of {did} did not answer: {reason}")]
    PresentationUnavailable { did: String, reason: String },
    #[error(transparent)]
    Presentation(#[from] PresentationError),
    #[error("the presentation holder is {holder}, but the token subject is {subject}")]
    PresentationHolderMismatch { holder: String, subject: String },
    #[error("credential {id} is about {subject:?}, not about the holder {holder}")]
    HolderMismatch { id: String, holder: String, subject: Option<String> },
    #[error("credential {id}: {source}")]
    Credential { id: String, source: CredentialError },
    #[error("credential {id} of type {types:?} is issued by {issuer}, who is not trusted for it")]
    UntrustedIssuer { id: String, issuer: String, types: Vec<String> },
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error("no valid {credential_type} credential was presented")]
    MissingCredential { credential_type: String },
    #[error("membership credential {id}: {source}")]
    InvalidMembership { id: String, source: MembershipError },
    #[error("LegalPerson credential {id}: {source}")]
    InvalidLegalPerson { id: String, source: GaiaxError },
    #[error("internal error while verifying: {0}")]
    Internal(String),
}

impl VerifyError {
    /// 401 when the caller is not authenticated, 403 when its claims do not hold.
    pub fn status(&self) -> StatusCode {
        match self {
            VerifyError::Auth(_) | VerifyError::Token(_) | VerifyError::MissingAccessToken => StatusCode::UNAUTHORIZED,
            VerifyError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::FORBIDDEN,
        }
    }

    /// A stable machine-readable code for the response body and logs.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::Auth(AuthError::MissingAuthorization) => "missing_authorization",
            VerifyError::Auth(AuthError::NotBearer) => "not_bearer",
            VerifyError::Token(e) => e.code(),
            VerifyError::MissingAccessToken => "missing_access_token",
            VerifyError::NoCredentialService { .. } => "no_credential_service",
            VerifyError::PresentationUnavailable { .. } => "presentation_unavailable",
            VerifyError::Presentation(_) => "presentation_invalid",
            VerifyError::PresentationHolderMismatch { .. } | VerifyError::HolderMismatch { .. } => "holder_mismatch",
            VerifyError::Credential { source: CredentialError::Expired { .. }, .. } => "credential_expired",
            VerifyError::Credential { source: CredentialError::NotYetValid { .. }, .. } => "credential_not_yet_valid",
            VerifyError::Credential { .. } => "credential_invalid",
            VerifyError::UntrustedIssuer { .. } => "untrusted_issuer",
            VerifyError::Status(StatusError::Revoked { .. }) => "credential_revoked",
            VerifyError::Status(StatusError::Suspended { .. }) => "credential_suspended",
            VerifyError::Status(_) => "credential_status_unavailable",
            VerifyError::MissingCredential { .. } => "missing_credential",
            VerifyError::InvalidMembership { .. } | VerifyError::InvalidLegalPerson { .. } => "credential_invalid",
            VerifyError::Internal(_) => "internal_error",
        }
    }
}

impl IntoResponse for VerifyError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::warn!(
            status = status.as_u16(),
            code = self.code(),
            reason = %self,
            "DCP verification refused the caller"
        );
        (status, Json(json!({"error": self.code(), "reason": self.to_string()}))).into_response()
    }
}

/// Tunables of the verifier.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// Credential types every caller must present (requested as DCP scopes).
    pub required_types: Vec<String>,
    /// Clock skew tolerated on every time check.
    pub leeway: Duration,
    /// ID tokens issued longer ago are refused.
    pub max_token_age: Duration,
    /// Lifetime of our own ID token towards the caller's credential service.
    pub query_token_ttl: Duration,
    /// How long a fetched status list is trusted.
    pub status_list_ttl: Duration,
    /// Remember a caller's verified presentation for the lifetime of its access token
    /// (bounded by `status_list_ttl` and the credentials' validity): see [`PresentationCache`].
    pub cache_presentations: bool,
}

impl Default for VerifierConfig {
    fn default() -> VerifierConfig {
        VerifierConfig {
            required_types: vec![types::MEMBERSHIP.into(), types::LEGAL_PERSON.into()],
            leeway: Duration::seconds(30),
            max_token_age: Duration::minutes(10),
            query_token_ttl: Duration::minutes(2),
            status_list_ttl: Duration::minutes(5),
            cache_presentations: true,
        }
    }
}

/// Everything a [`ParticipantVerifier`] is built from.
pub struct VerifierParts {
    /// Our identity (audience of incoming tokens; signer of our queries).
    pub identity: Identity,
    /// Resolves callers, issuers and our own DID (wrap it in a `CachingResolver`).
    pub resolver: Arc<dyn DidResolver>,
    pub jti: Arc<dyn JtiStore>,
    pub clock: Arc<dyn Clock>,
    pub presentations: Arc<dyn PresentationClient>,
    pub status_lists: Arc<dyn StatusListSource>,
    pub trust: TrustList,
    pub config: VerifierConfig,
}

/// Authenticates DSP callers (DCP) and establishes what they are.
pub struct ParticipantVerifier {
    identity: Identity,
    tokens: TokenVerifier,
    credentials: CredentialVerifier,
    status: StatusChecker,
    trust: TrustList,
    presentations: Arc<dyn PresentationClient>,
    clock: Arc<dyn Clock>,
    config: VerifierConfig,
    presented: PresentationCache,
}

impl ParticipantVerifier {
    pub fn new(parts: VerifierParts) -> ParticipantVerifier {
        let VerifierParts { identity, resolver, jti, clock, presentations, status_lists, trust, config } = parts;
        let tokens = TokenVerifier::new(identity.did(), resolver.clone(), jti, clock.clone())
            .with_leeway(config.leeway)
            .with_max_age(config.max_token_age);
        let credentials = CredentialVerifier::new(resolver, clock.clone(), config.leeway);
        let status = StatusChecker::new(status_lists, credentials.clone(), config.status_list_ttl);
        ParticipantVerifier {
            identity,
            tokens,
            credentials,
            status,
            trust,
            presentations,
            clock,
            config,
            presented: PresentationCache::new(),
        }
    }

    /// The scopes a caller's access token must grant.
    pub fn required_scopes(&self) -> Vec<Scope> {
        self.config.required_types.iter().map(|t| Scope::credential_type(t)).collect()
    }

    /// Reads the `Authorization` header and verifies the caller.
    pub async fn verify_headers(&self, headers: &HeaderMap) -> Result<VerifiedParticipant, VerifyError> {
        let value = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| VerifyError::Auth(AuthError::NotBearer))?),
        };
        self.verify_authorization(value).await
    }

    /// Token, then presentation, then each credential (issuer signature, validity window,
    /// holder binding, issuer trust, status), then the required types. The ID token is
    /// checked on every call; the presentation part is reused while the same caller presents
    /// the same access token (see [`PresentationCache`]).
    pub async fn verify_authorization(&self, authorization: Option<&str>) -> Result<VerifiedParticipant, VerifyError> {
        let token = bearer_token(authorization)?;
        let verified = self.tokens.verify(token).await?;
        let caller = verified.subject.clone();
        let access = verified.claims.token.clone().ok_or(VerifyError::MissingAccessToken)?;
        let now = self.clock.now();
        if self.config.cache_presentations
            && let Some(participant) = self.presented.get(caller.as_str(), &access, now)
        {
            return Ok(participant);
        }
        let access_expiry = super::presentations::unverified_expiry(&access);
        let endpoint = verified
            .document
            .service_endpoint("CredentialService")
            .ok_or_else(|| VerifyError::NoCredentialService { did: caller.to_string() })?
            .to_string();
        let our_token = self
            .identity
            .id_token(caller.as_str(), Some(access.clone()), now, self.config.query_token_ttl)
            .map_err(|e| VerifyError::Internal(e.to_string()))?;
        let query = PresentationQueryMessage::for_scopes(&self.required_scopes());
        let response = self
            .presentations
            .query(&endpoint, &format!("Bearer {our_token}"), &query)
            .await
            .map_err(|reason| VerifyError::PresentationUnavailable { did: caller.to_string(), reason })?;
        let mut credentials = Vec::new();
        // The cached answer must not outlive the status lists it was checked against.
        let mut status_fresh_until = now + self.config.status_list_ttl;
        for presentation in &response.presentation {
            let jwt = presentation.as_str().ok_or_else(|| {
                VerifyError::Presentation(PresentationError::NotAPresentation(
                    "only vp+jwt strings are accepted".into(),
                ))
            })?;
            let vp = self.credentials.verify_presentation(jwt, self.identity.did().as_str()).await?;
            if vp.holder != caller {
                return Err(VerifyError::PresentationHolderMismatch {
                    holder: vp.holder.to_string(),
                    subject: caller.to_string(),
                });
            }
            for vc in &vp.credentials {
                let (credential, fresh_until) = self.check_credential(vc, &caller).await?;
                credentials.push(credential);
                status_fresh_until = status_fresh_until.min(fresh_until.unwrap_or(status_fresh_until));
            }
        }
        let participant = self.participant(caller, &credentials)?;
        // An access token whose lifetime cannot be read is not cached: its lifetime is the bound.
        if self.config.cache_presentations
            && let Some(access_expiry) = access_expiry
        {
            let until = credentials
                .iter()
                .filter_map(|c| c.credential.valid_until)
                .fold(access_expiry.min(status_fresh_until), OffsetDateTime::min);
            self.presented.put(participant.did.as_str(), &access, &participant, now, until);
        }
        Ok(participant)
    }

    /// A credential of the presentation, checked; with until when its status answer stands.
    async fn check_credential(
        &self,
        jwt: &str,
        holder: &Did,
    ) -> Result<(VerifiedCredential, Option<OffsetDateTime>), VerifyError> {
        let verified = match self.credentials.verify_credential(jwt).await {
            Ok(v) => v,
            Err(source) => return Err(VerifyError::Credential { id: crate::vc::credential_label(jwt), source }),
        };
        let credential = &verified.credential;
        let subject = credential.subject_id();
        if subject.map(|s| split_did_url(s).0) != Some(holder.as_str()) {
            return Err(VerifyError::HolderMismatch {
                id: verified.label(),
                holder: holder.to_string(),
                subject: subject.map(String::from),
            });
        }
        if !self.trust.is_trusted(&credential.types, &credential.issuer, subject) {
            return Err(VerifyError::UntrustedIssuer {
                id: verified.label(),
                issuer: credential.issuer.clone(),
                types: credential.types.clone(),
            });
        }
        let fresh_until = self.status.check_fresh_until(credential).await?;
        Ok((verified, fresh_until))
    }

    fn participant(&self, did: Did, credentials: &[VerifiedCredential]) -> Result<VerifiedParticipant, VerifyError> {
        for required in &self.config.required_types {
            if !credentials.iter().any(|c| c.credential.has_type(required)) {
                return Err(VerifyError::MissingCredential { credential_type: required.clone() });
            }
        }
        let membership = credentials
            .iter()
            .find(|c| c.credential.has_type(types::MEMBERSHIP))
            .ok_or_else(|| VerifyError::MissingCredential { credential_type: types::MEMBERSHIP.into() })?;
        let member = Membership::from_subject(&membership.credential.credential_subject)
            .map_err(|source| VerifyError::InvalidMembership { id: membership.label(), source })?;
        if let Some(legal) = credentials.iter().find(|c| c.credential.has_type(types::LEGAL_PERSON)) {
            LegalPerson::from_subject(&legal.credential.credential_subject)
                .map_err(|source| VerifyError::InvalidLegalPerson { id: legal.label(), source })?;
        }
        let mut credential_types: Vec<String> = credentials
            .iter()
            .flat_map(|c| c.credential.types.iter().filter(|t| t.as_str() != types::VERIFIABLE_CREDENTIAL).cloned())
            .collect();
        credential_types.sort();
        credential_types.dedup();
        Ok(VerifiedParticipant {
            did,
            role: member.role,
            legal_name: member.legal_name,
            country: member.country,
            credential_types,
        })
    }
}

impl std::fmt::Debug for ParticipantVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParticipantVerifier")
            .field("verifier", self.identity.did())
            .field("required_types", &self.config.required_types)
            .finish_non_exhaustive()
    }
}

/// Axum middleware: refuses the request (401/403 with a logged reason) unless the caller
/// verifies, and otherwise adds its [`VerifiedParticipant`] to the request extensions.
///
/// `axum::middleware::from_fn_with_state(verifier, require_participant)`.
pub async fn require_participant(
    State(verifier): State<Arc<ParticipantVerifier>>,
    mut request: Request,
    next: Next,
) -> Response {
    match verifier.verify_headers(request.headers()).await {
        Ok(participant) => {
            request.extensions_mut().insert(participant);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}
