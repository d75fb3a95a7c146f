//! The holder's credential service: answers `PresentationQueryMessage`s from verifiers
//! that hold one of our access tokens.

use std::sync::{Arc, RwLock};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use time::Duration;

use super::token::ACCESS_TOKEN_TYP;
use super::{
    AccessTokenClaims, AuthError, Identity, PresentationQueryMessage, PresentationResponseMessage, TokenError,
    TokenVerifier, bearer_token,
};
use crate::clock::Clock;
use crate::jose::DecodedJws;
use crate::keys::KeyError;
use crate::vc::{Credential, sign_presentation};

/// A credential held by the participant, as stored (the `vc+jwt` plus what selection needs).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCredential {
    pub id: Option<String>,
    pub types: Vec<String>,
    pub jwt: String,
}

impl StoredCredential {
    /// Reads id and types from a `vc+jwt` (the signature was checked when it was received).
    pub fn from_jwt(jwt: &str) -> Result<StoredCredential, String> {
        let decoded = DecodedJws::decode(jwt).map_err(|e| e.to_string())?;
        let credential: Credential =
            serde_json::from_value(Value::Object(decoded.payload)).map_err(|e| format!("not a credential: {e}"))?;
        Ok(StoredCredential { id: credential.id, types: credential.types, jwt: jwt.to_string() })
    }
}

/// Where the holder keeps its credentials.
pub trait CredentialStore: Send + Sync {
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredCredential>, String>>;
}

/// Credentials held in memory.
#[derive(Debug, Default)]
pub struct InMemoryCredentialStore {
    credentials: RwLock<Vec<StoredCredential>>,
}

impl InMemoryCredentialStore {
    pub fn new() -> InMemoryCredentialStore {
        InMemoryCredentialStore::default()
    }

    /// Adds a credential, replacing one with the same id.
    pub fn add(&self, jwt: &str) -> Result<(), String> {
        let stored = StoredCredential::from_jwt(jwt)?;
        let mut all = self.write();
        if stored.id.is_some() {
            all.retain(|c| c.id != stored.id);
        }
        all.push(stored);
        Ok(())
    }

    /// Removes every credential of `kind`; returns how many.
    pub fn remove_type(&self, kind: &str) -> usize {
        let mut all = self.write();
        let before = all.len();
        all.retain(|c| !c.types.iter().any(|t| t == kind));
        before - all.len()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Vec<StoredCredential>> {
        self.credentials.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl CredentialStore for InMemoryCredentialStore {
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredCredential>, String>> {
        let all = self.credentials.read().unwrap_or_else(|e| e.into_inner()).clone();
        Box::pin(async move { Ok(all) })
    }
}

/// Why a presentation query is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialServiceError {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("verifier token: {0}")]
    Token(#[from] TokenError),
    #[error("the verifier's ID token carries no `token` claim (our access token)")]
    MissingAccessToken,
    #[error("access token refused: {0}")]
    AccessToken(String),
    #[error("scope `{0}` was not granted by the access token")]
    ScopeNotGranted(String),
    #[error("invalid PresentationQueryMessage: {0}")]
    BadQuery(String),
    #[error("presentationDefinition queries are not supported; query by scope")]
    PresentationDefinitionUnsupported,
    #[error("the credential store failed: {0}")]
    Store(String),
    #[error("cannot sign the presentation: {0}")]
    Sign(String),
}

impl CredentialServiceError {
    pub fn status(&self) -> StatusCode {
        match self {
            CredentialServiceError::Auth(_)
            | CredentialServiceError::Token(_)
            | CredentialServiceError::MissingAccessToken
            | CredentialServiceError::AccessToken(_) => StatusCode::UNAUTHORIZED,
            CredentialServiceError::ScopeNotGranted(_) => StatusCode::FORBIDDEN,
            CredentialServiceError::BadQuery(_) => StatusCode::BAD_REQUEST,
            CredentialServiceError::PresentationDefinitionUnsupported => StatusCode::NOT_IMPLEMENTED,
            CredentialServiceError::Store(_) | CredentialServiceError::Sign(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for CredentialServiceError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::warn!(status = status.as_u16(), reason = %self, "presentation query refused");
        (status, Json(json!({"error": status.canonical_reason(), "reason": self.to_string()}))).into_response()
    }
}

/// The credential service of one participant.
pub struct CredentialService {
    identity: Identity,
    store: Arc<dyn CredentialStore>,
    tokens: TokenVerifier,
    clock: Arc<dyn Clock>,
    presentation_ttl: Duration,
}

impl CredentialService {
    /// `tokens` must accept tokens addressed to `identity`'s DID.
    pub fn new(
        identity: Identity,
        store: Arc<dyn CredentialStore>,
        tokens: TokenVerifier,
        clock: Arc<dyn Clock>,
    ) -> CredentialService {
        CredentialService { identity, store, tokens, clock, presentation_ttl: Duration::minutes(5) }
    }

    /// Answers a query: the verifier's ID token (header), our access token inside it,
    /// every requested scope granted by it, then a presentation of the matching credentials.
    pub async fn query(
        &self,
        authorization: Option<&str>,
        message: &PresentationQueryMessage,
    ) -> Result<PresentationResponseMessage, CredentialServiceError> {
        let token = bearer_token(authorization)?;
        let verified = self.tokens.verify(token).await?;
        let access = verified.claims.token.as_deref().ok_or(CredentialServiceError::MissingAccessToken)?;
        let grant = self.check_access_token(access, verified.subject.as_str())?;
        let requested = message.scopes().map_err(CredentialServiceError::BadQuery)?;
        if requested.is_empty() {
            return Err(CredentialServiceError::PresentationDefinitionUnsupported);
        }
        let granted = grant.scopes();
        if let Some(missing) = requested.iter().find(|s| !granted.contains(s)) {
            return Err(CredentialServiceError::ScopeNotGranted(missing.to_string()));
        }
        let held = self.store.list().await.map_err(CredentialServiceError::Store)?;
        let selected: Vec<String> = held
            .into_iter()
            .filter(|c| requested.iter().any(|s| s.covers(c.id.as_deref(), &c.types)))
            .map(|c| c.jwt)
            .collect();
        let presentation = sign_presentation(
            self.identity.key(),
            self.identity.did(),
            verified.subject.as_str(),
            &selected,
            self.clock.now(),
            self.presentation_ttl,
        )
        .map_err(|e: KeyError| CredentialServiceError::Sign(e.to_string()))?;
        Ok(PresentationResponseMessage::new(vec![presentation]))
    }

    /// Our access token: signed by our key, issued by us, for this verifier, unexpired.
    fn check_access_token(&self, token: &str, verifier: &str) -> Result<AccessTokenClaims, CredentialServiceError> {
        let refuse = |why: String| CredentialServiceError::AccessToken(why);
        let decoded = DecodedJws::decode(token).map_err(|e| refuse(e.to_string()))?;
        if decoded.typ.as_deref() != Some(ACCESS_TOKEN_TYP) {
            return Err(refuse("not an access token of this credential service".into()));
        }
        decoded.verify(&self.identity.key().public_key()).map_err(|e| refuse(e.to_string()))?;
        let claims: AccessTokenClaims =
            serde_json::from_value(Value::Object(decoded.payload)).map_err(|e| refuse(e.to_string()))?;
        if claims.iss != self.identity.did().as_str() {
            return Err(refuse(format!("issued by {}, not by this holder", claims.iss)));
        }
        if claims.sub != verifier {
            return Err(refuse(format!("granted to {}, presented by {verifier}", claims.sub)));
        }
        if self.clock.unix() >= claims.exp {
            return Err(refuse("expired".into()));
        }
        Ok(claims)
    }

    /// `POST /presentations/query`, to mount under the `CredentialService` endpoint.
    pub fn router(self: Arc<Self>) -> axum::Router {
        axum::Router::new().route("/presentations/query", post(query_handler)).with_state(self)
    }
}

async fn query_handler(
    State(service): State<Arc<CredentialService>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let message: PresentationQueryMessage = match serde_json::from_slice(&body) {
        Ok(message) => message,
        Err(e) => return CredentialServiceError::BadQuery(e.to_string()).into_response(),
    };
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    match service.query(authorization, &message).await {
        Ok(response) => Json(response).into_response(),
        Err(e) => e.into_response(),
    }
}

impl std::fmt::Debug for CredentialService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialService").field("holder", self.identity.did()).finish_non_exhaustive()
    }
}
