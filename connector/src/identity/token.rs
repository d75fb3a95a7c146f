//! The `Authorization` header of outgoing DSP requests: a DCP self-issued ID token
//! addressed to the counter-party, carrying an access token that lets it read our
//! membership and LegalPerson credentials from our credential service.
//!
//! The ID token is new for every request (its `jti` is single-use); the access token is
//! reused towards the same counter-party for most of its lifetime, which lets that
//! counter-party's verifier reuse the presentation it fetched with it instead of querying
//! our credential service for every message (`passerelle_identity::dcp::PresentationCache`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use passerelle_dsp::client::{TokenError, TokenRequest, TokenSource};
use passerelle_dsp::message::version::PROTOCOL_PATH;
use passerelle_identity::clock::{Clock, SystemClock};
use passerelle_identity::dcp::{Identity, Scope};
use passerelle_identity::did::Did;
use passerelle_identity::vc::types;
use time::{Duration, OffsetDateTime};

/// How long an outgoing token is valid: long enough for one request and its presentation query.
pub const TOKEN_TTL: Duration = Duration::minutes(2);
/// Lifetime of the access token carried inside: how long a verifier may keep our presentation.
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(5);
/// An access token is not reused when less than this is left: the counter-party must still be
/// able to query our credential service with it after receiving the request.
pub const ACCESS_TOKEN_MARGIN: Duration = Duration::minutes(2);

/// A [`TokenSource`] for [`passerelle_dsp::client::DspClient`] signing DCP tokens.
#[derive(Clone)]
pub struct DcpTokenSource {
    identity: Identity,
    scopes: Vec<Scope>,
    clock: Arc<dyn Clock>,
    /// Access token per counter-party DID, with its expiry.
    access: Arc<Mutex<HashMap<String, (String, OffsetDateTime)>>>,
}

impl std::fmt::Debug for DcpTokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DcpTokenSource").field("did", self.identity.did()).finish_non_exhaustive()
    }
}

impl DcpTokenSource {
    /// Grants the scopes every Passerelle verifier asks for (membership and LegalPerson).
    pub fn new(identity: Identity) -> DcpTokenSource {
        DcpTokenSource::with_clock(identity, Arc::new(SystemClock))
    }

    pub fn with_clock(identity: Identity, clock: Arc<dyn Clock>) -> DcpTokenSource {
        let scopes = [types::MEMBERSHIP, types::LEGAL_PERSON].iter().map(|t| Scope::credential_type(t)).collect();
        DcpTokenSource { identity, scopes, clock, access: Arc::default() }
    }

    /// The header value (`Bearer …`) for a request to `audience`.
    pub fn authorization_for(&self, audience: &Did) -> Result<String, TokenError> {
        let now = self.clock.now();
        let signing =
            |e: passerelle_identity::keys::KeyError| TokenError::new(format!("cannot sign the DCP token: {e}"));
        let access = self.access_token(audience, now).map_err(signing)?;
        let id_token = self.identity.id_token(audience.as_str(), Some(access), now, TOKEN_TTL).map_err(signing)?;
        Ok(format!("Bearer {id_token}"))
    }

    fn access_token(&self, audience: &Did, now: OffsetDateTime) -> Result<String, passerelle_identity::keys::KeyError> {
        let mut tokens = self.access.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, expires)) = tokens.get(audience.as_str())
            && *expires - now > ACCESS_TOKEN_MARGIN
        {
            return Ok(token.clone());
        }
        let token = self.identity.access_token(audience, &self.scopes, now, ACCESS_TOKEN_TTL)?;
        tokens.retain(|_, (_, expires)| *expires > now);
        tokens.insert(audience.to_string(), (token.clone(), now + ACCESS_TOKEN_TTL));
        Ok(token)
    }
}

/// The counter-party's DID: the participant id it announced when known, else the did:web of
/// the connector the URL points at (its base URL is what precedes `/dsp/2025-1`).
pub fn audience_of(request: &TokenRequest<'_>) -> Result<Did, TokenError> {
    if let Some(audience) = request.audience {
        return Did::parse(audience).map_err(|e| {
            TokenError::new(format!("the counter-party's participant id `{audience}` is not a did:web: {e}"))
        });
    }
    let url = request.url.as_str();
    let base = url.find(PROTOCOL_PATH).map(|at| &url[..at]).ok_or_else(|| {
        TokenError::new(format!("cannot tell the counter-party's DID from {url}: give its participant id"))
    })?;
    Did::from_base_url(base).map_err(|e| TokenError::new(e.to_string()))
}

impl TokenSource for DcpTokenSource {
    async fn authorization(&self, request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        let audience = audience_of(&request)?;
        self.authorization_for(&audience).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_identity::clock::ManualClock;
    use passerelle_identity::dcp::{InMemoryJtiStore, TokenVerifier};
    use passerelle_identity::did::InMemoryResolver;
    use passerelle_identity::keys::KeyPair;
    use url::Url;

    #[tokio::test]
    async fn tokens_are_addressed_to_the_counter_party_and_verify_there() {
        let clock = Arc::new(ManualClock::at_unix(1_800_000_000));
        let me = Identity::new(Did::parse("did:web:lab.example").unwrap(), KeyPair::generate_es256().unwrap());
        let source = DcpTokenSource::with_clock(me.clone(), clock.clone());
        let provider = Did::parse("did:web:distributor.example").unwrap();

        let url = Url::parse("https://distributor.example/dsp/2025-1/negotiations/request").unwrap();
        let header = source.authorization(TokenRequest { url: &url, audience: None }).await.unwrap().unwrap();
        let token = header.strip_prefix("Bearer ").unwrap();

        let resolver = Arc::new(InMemoryResolver::new());
        resolver.publish(me.did_document(None));
        let verifier = TokenVerifier::new(&provider, resolver, Arc::new(InMemoryJtiStore::new()), clock.clone());
        let verified = verifier.verify(token).await.unwrap();
        assert_eq!(verified.subject, *me.did());
        assert!(verified.claims.token.is_some(), "an access token for our credential service rides along");

        let elsewhere = TokenVerifier::new(
            &Did::parse("did:web:other.example").unwrap(),
            Arc::new(InMemoryResolver::new()),
            Arc::new(InMemoryJtiStore::new()),
            clock,
        );
        assert!(elsewhere.verify(token).await.is_err(), "a token for one party is refused by another");
    }

    #[tokio::test]
    async fn the_access_token_is_reused_per_counter_party_for_most_of_its_lifetime() {
        let clock = Arc::new(ManualClock::at_unix(1_800_000_000));
        let me = Identity::new(Did::parse("did:web:lab.example").unwrap(), KeyPair::generate_es256().unwrap());
        let source = DcpTokenSource::with_clock(me.clone(), clock.clone());
        let provider = Did::parse("did:web:distributor.example").unwrap();
        let resolver = Arc::new(InMemoryResolver::new());
        resolver.publish(me.did_document(None));
        let verifier = TokenVerifier::new(&provider, resolver, Arc::new(InMemoryJtiStore::new()), clock.clone());
        let claims = |header: String| {
            let verifier = &verifier;
            async move { verifier.verify(header.strip_prefix("Bearer ").unwrap()).await.unwrap().claims }
        };

        let first = claims(source.authorization_for(&provider).unwrap()).await;
        let second = claims(source.authorization_for(&provider).unwrap()).await;
        assert_ne!(
            first.jti, second.jti,
            "every request has its own ID token (the second was not refused as a replay)"
        );
        assert_eq!(first.token, second.token, "the access token rides along again");
        let other = Did::parse("did:web:broadcaster.example").unwrap();
        let elsewhere = source.authorization_for(&other).unwrap();
        assert!(!elsewhere.contains(first.token.as_deref().unwrap()), "each counter-party has its own access token");

        // Once less than the margin is left, a new one is made.
        clock.advance(ACCESS_TOKEN_TTL - ACCESS_TOKEN_MARGIN);
        let renewed = claims(source.authorization_for(&provider).unwrap()).await;
        assert_ne!(renewed.token, first.token);
    }

    #[test]
    fn the_audience_comes_from_the_participant_id_or_the_url() {
        let url = Url::parse("http://127.0.0.1:9000/dsp/2025-1/callback/negotiations/x/offers").unwrap();
        let from_url = audience_of(&TokenRequest { url: &url, audience: None }).unwrap();
        assert_eq!(from_url.as_str(), "did:web:127.0.0.1%3A9000");
        let named = audience_of(&TokenRequest { url: &url, audience: Some("did:web:b.example") }).unwrap();
        assert_eq!(named.as_str(), "did:web:b.example");
        assert!(audience_of(&TokenRequest { url: &url, audience: Some("https://b.example") }).is_err());
        let odd = Url::parse("https://b.example/somewhere").unwrap();
        assert!(audience_of(&TokenRequest { url: &odd, audience: None }).is_err());
    }
}
