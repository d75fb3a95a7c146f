//! A participant's own identity: its DID and signing key, and what it signs with them.

use time::{Duration, OffsetDateTime};

use super::{AccessTokenClaims, IdTokenClaims, Scope};
use crate::did::{Did, DidDocument, Relationship, Service};
use crate::keys::{KeyError, KeyPair};

/// Own DID + current signing key.
#[derive(Debug, Clone)]
pub struct Identity {
    did: Did,
    key: KeyPair,
}

impl Identity {
    pub fn new(did: Did, key: KeyPair) -> Identity {
        Identity { did, key }
    }

    pub fn did(&self) -> &Did {
        &self.did
    }

    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    /// The DID URL of the signing key.
    pub fn key_url(&self) -> String {
        self.did.key_url(self.key.key_id())
    }

    /// A DID document publishing the signing key under every relationship, with a
    /// credential service at `credential_service_url` (if any).
    pub fn did_document(&self, credential_service_url: Option<&str>) -> DidDocument {
        let mut document = DidDocument::new(&self.did);
        document.add_key(&self.key.public_key(), &Relationship::ALL);
        if let Some(url) = credential_service_url {
            document.add_service(Service::credential_service(&self.did, url));
        }
        document
    }

    /// An access token letting `verifier` read the credentials `scopes` name from our credential service.
    pub fn access_token(
        &self,
        verifier: &Did,
        scopes: &[Scope],
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, KeyError> {
        AccessTokenClaims::new(&self.did, verifier, scopes, now.unix_timestamp(), ttl).sign(&self.key)
    }

    /// A self-issued ID token for `audience`, optionally carrying an access token.
    pub fn id_token(
        &self,
        audience: &str,
        access_token: Option<String>,
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, KeyError> {
        let mut claims = IdTokenClaims::new(&self.did, audience, now.unix_timestamp(), ttl);
        claims.token = access_token;
        claims.sign(&self.key)
    }

    /// The `Authorization` header value for an outgoing DSP request to `verifier`: an ID
    /// token whose access token grants `scopes`.
    pub fn dsp_authorization(
        &self,
        verifier: &Did,
        scopes: &[Scope],
        now: OffsetDateTime,
        ttl: Duration,
    ) -> Result<String, KeyError> {
        let access = self.access_token(verifier, scopes, now, ttl)?;
        Ok(format!("Bearer {}", self.id_token(verifier.as_str(), Some(access), now, ttl)?))
    }
}
