//! Decentralized Claims Protocol 1.0: self-issued ID tokens, the credential service
//! (holder side) and the verifier (the DSP provider checking its caller).
//!
//! Flow of one DSP request from A to B:
//! 1. A signs an ID token (`iss = sub = A`, `aud = B`) whose `token` claim is an access
//!    token for A's credential service, and sends it as `Authorization: Bearer …`.
//! 2. B checks the token ([`TokenVerifier`]), finds A's `CredentialService` in A's DID
//!    document and queries it with its own ID token carrying A's access token.
//! 3. A's [`CredentialService`] checks B's token and the access token, and answers with
//!    a presentation of the credentials the scopes name.
//! 4. B checks the presentation and each credential ([`ParticipantVerifier`]) and gets a
//!    [`VerifiedParticipant`].

mod credential_service;
mod jti;
mod messages;
mod participant;
mod presentations;
mod token;
mod verifier;

pub use credential_service::{
    CredentialService, CredentialServiceError, CredentialStore, InMemoryCredentialStore, StoredCredential,
};
pub use jti::{InMemoryJtiStore, JtiStore};
pub use messages::{DCP_CONTEXT, PresentationQueryMessage, PresentationResponseMessage, Scope, ScopeError};
pub use participant::Identity;
pub use presentations::PresentationCache;
pub use token::{AccessTokenClaims, IdTokenClaims, TokenError, TokenVerifier, VerifiedToken, bearer_token};
pub use verifier::{
    DirectPresentationClient, HttpPresentationClient, ParticipantVerifier, PresentationClient, VerifiedParticipant,
    VerifierConfig, VerifierParts, VerifyError, require_participant,
};

use serde_json::{Value, json};

/// The DCP profile Passerelle implements: VC Data Model 2.0, Bitstring Status List, JOSE.
pub const DCP_PROFILE: &str = "vc20-bssl/jwt";

/// Why an `Authorization` header does not carry a bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    #[error("no Authorization header; send `Authorization: Bearer <self-issued ID token>`")]
    MissingAuthorization,
    #[error("the Authorization header is not `Bearer <token>`")]
    NotBearer,
}

/// The `auth` member of this connector's entry in the DSP version response
/// (`/.well-known/dspace-version`, `protocolVersions[].auth`).
pub fn dsp_auth() -> Value {
    json!({"protocol": "DCP", "version": "1.0", "profile": [DCP_PROFILE]})
}
