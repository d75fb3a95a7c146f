//! Self-issued ID tokens (DCP base protocol) and the access tokens they carry.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::Duration;

use super::jti::JtiStore;
use super::{AuthError, Scope};
use crate::clock::Clock;
use crate::did::{
    Did, DidDocument, DidError, DidResolver, KeyLookupError, KeyResolutionError, Relationship, ResolveError,
    verification_key,
};
use crate::jose::{DecodedJws, JwsError, sign_compact};
use crate::keys::{KeyError, KeyPair};

/// `typ` of the access tokens our credential service issues (RFC 9068).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Claims of a self-issued ID token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    #[serde(serialize_with = "audience_out", deserialize_with = "audience_in")]
    pub aud: Vec<String>,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Access token for the issuer's credential service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl IdTokenClaims {
    /// Claims of `own` for `audience`, issued at `now` (Unix seconds), valid `ttl`, with a fresh `jti`.
    pub fn new(own: &Did, audience: &str, now: i64, ttl: Duration) -> IdTokenClaims {
        IdTokenClaims {
            iss: own.to_string(),
            sub: own.to_string(),
            aud: vec![audience.to_string()],
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now.saturating_add(ttl.whole_seconds()),
            nbf: None,
            token: None,
        }
    }

    pub fn with_access_token(mut self, token: impl Into<String>) -> IdTokenClaims {
        self.token = Some(token.into());
        self
    }

    /// Signs with `key`, naming it `<sub>#<key id>` (the DID document DCP resolves is the `sub`'s).
    pub fn sign(&self, key: &KeyPair) -> Result<String, KeyError> {
        self.sign_with_kid(key, &format!("{}#{}", self.sub, key.key_id()))
    }

    /// Signs with an explicit `kid` header.
    pub fn sign_with_kid(&self, key: &KeyPair, kid: &str) -> Result<String, KeyError> {
        let payload = serde_json::to_value(self)
            .map_err(|e| KeyError::Sign { key_id: key.key_id().into(), reason: e.to_string() })?;
        sign_compact(key, kid, "JWT", None, &payload)
    }
}

/// Claims of the access token a holder hands to a verifier inside its ID token: who may
/// use it (`sub`), for which scopes, until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    /// The holder whose credential service honours the token.
    pub iss: String,
    /// The verifier allowed to present it.
    pub sub: String,
    pub aud: String,
    /// Space-separated DCP scopes.
    pub scope: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl AccessTokenClaims {
    pub fn new(holder: &Did, verifier: &Did, scopes: &[Scope], now: i64, ttl: Duration) -> AccessTokenClaims {
        AccessTokenClaims {
            iss: holder.to_string(),
            sub: verifier.to_string(),
            aud: holder.to_string(),
            scope: scopes.iter().map(Scope::to_string).collect::<Vec<_>>().join(" "),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: now,
            exp: now.saturating_add(ttl.whole_seconds()),
        }
    }

    pub fn sign(&self, key: &KeyPair) -> Result<String, KeyError> {
        let payload = serde_json::to_value(self)
            .map_err(|e| KeyError::Sign { key_id: key.key_id().into(), reason: e.to_string() })?;
        sign_compact(key, &format!("{}#{}", self.iss, key.key_id()), ACCESS_TOKEN_TYP, None, &payload)
    }

    /// The granted scopes (unparseable entries are dropped: they grant nothing).
    pub fn scopes(&self) -> Vec<Scope> {
        self.scope.split_whitespace().filter_map(|s| Scope::parse(s).ok()).collect()
    }
}

fn audience_out<S: Serializer>(aud: &[String], s: S) -> Result<S::Ok, S::Error> {
    match aud {
        [one] => s.serialize_str(one),
        many => many.serialize(s),
    }
}

fn audience_in<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(vec![s]),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(serde::de::Error::custom("aud entries must be strings")),
            })
            .collect(),
        _ => Err(serde::de::Error::custom("aud must be a string or an array of strings")),
    }
}

/// Extracts the token from an `Authorization` header value.
pub fn bearer_token(header: Option<&str>) -> Result<&str, AuthError> {
    let value = header.ok_or(AuthError::MissingAuthorization)?;
    let (scheme, token) = value.trim().split_once(' ').ok_or(AuthError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::NotBearer);
    }
    Ok(token)
}

/// Why a self-issued ID token is refused. Every variant is an authentication failure (401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token: {0}")]
    Malformed(JwsError),
    #[error("the token claims are unusable: {0}")]
    BadClaims(String),
    #[error("iss ({iss}) and sub ({sub}) differ; a self-issued token has iss = sub")]
    IssuerNotSubject { iss: String, sub: String },
    #[error("the token is for {found:?}, not for {expected}")]
    WrongAudience { expected: String, found: Vec<String> },
    #[error("the token expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the token is not valid before {nbf} (now {now})")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("the token claims to be issued at {iat}, after now ({now})")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("the token was issued at {iat}, longer ago than {max_age} s (now {now})")]
    TooOld { iat: i64, now: i64, max_age: i64 },
    #[error("sub is not a usable DID: {0}")]
    SubjectNotADid(DidError),
    #[error("cannot resolve the token subject: {0}")]
    Unresolvable(ResolveError),
    #[error("sub is {sub} but the resolved DID document is {document_id}")]
    SubjectNotDidDocument { sub: String, document_id: String },
    #[error("the token's kid `{kid}` belongs to another DID than {sub}")]
    ForeignKey { kid: String, sub: String },
    #[error("signing key: {0}")]
    UnknownKey(KeyLookupError),
    #[error("key {kid} may not sign tokens: it is not a capabilityInvocation method")]
    KeyNotAuthorized { kid: String },
    #[error("the token signature does not verify with {kid}")]
    BadSignature { kid: String },
    #[error("token {jti} was already used")]
    Replayed { jti: String },
    #[error("the replay store failed: {0}")]
    JtiStore(String),
}

impl TokenError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Malformed(_) => "token_malformed",
            TokenError::BadClaims(_) => "token_bad_claims",
            TokenError::IssuerNotSubject { .. } => "token_iss_not_sub",
            TokenError::WrongAudience { .. } => "token_wrong_audience",
            TokenError::Expired { .. } => "token_expired",
            TokenError::NotYetValid { .. } => "token_not_yet_valid",
            TokenError::IssuedInFuture { .. } => "token_issued_in_future",
            TokenError::TooOld { .. } => "token_too_old",
            TokenError::SubjectNotADid(_) => "token_subject_not_a_did",
            TokenError::Unresolvable(_) => "did_unresolvable",
            TokenError::SubjectNotDidDocument { .. } => "token_sub_not_did_document",
            TokenError::ForeignKey { .. } => "token_foreign_key",
            TokenError::UnknownKey(_) => "token_unknown_key",
            TokenError::KeyNotAuthorized { .. } => "token_key_not_authorized",
            TokenError::BadSignature { .. } => "token_bad_signature",
            TokenError::Replayed { .. } => "token_replayed",
            TokenError::JtiStore(_) => "replay_store_failed",
        }
    }
}

/// A token that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedToken {
    pub subject: Did,
    pub claims: IdTokenClaims,
    pub document: Arc<DidDocument>,
}

/// Checks self-issued ID tokens addressed to one DID.
#[derive(Clone)]
pub struct TokenVerifier {
    audience: String,
    resolver: Arc<dyn DidResolver>,
    jti: Arc<dyn JtiStore>,
    clock: Arc<dyn Clock>,
    leeway: Duration,
    max_age: Duration,
}

impl TokenVerifier {
    /// Accepts tokens for `own` (aud). Defaults: 30 s leeway, tokens at most 10 min old.
    pub fn new(
        own: &Did,
        resolver: Arc<dyn DidResolver>,
        jti: Arc<dyn JtiStore>,
        clock: Arc<dyn Clock>,
    ) -> TokenVerifier {
        TokenVerifier {
            audience: own.to_string(),
            resolver,
            jti,
            clock,
            leeway: Duration::seconds(30),
            max_age: Duration::minutes(10),
        }
    }

    pub fn with_leeway(mut self, leeway: Duration) -> TokenVerifier {
        self.leeway = leeway;
        self
    }

    /// Tokens issued longer ago than this are refused, which bounds how long jtis are kept.
    pub fn with_max_age(mut self, max_age: Duration) -> TokenVerifier {
        self.max_age = max_age;
        self
    }

    /// The DCP validation steps: iss = sub, aud, time claims, DID resolution, sub = document
    /// id, a `capabilityInvocation` key, signature, and finally a never-seen jti (last, so
    /// that refused tokens do not burn their id).
    pub async fn verify(&self, token: &str) -> Result<VerifiedToken, TokenError> {
        let decoded = DecodedJws::decode(token).map_err(TokenError::Malformed)?;
        let claims: IdTokenClaims = serde_json::from_value(Value::Object(decoded.payload.clone()))
            .map_err(|e| TokenError::BadClaims(e.to_string()))?;
        if claims.iss != claims.sub {
            return Err(TokenError::IssuerNotSubject { iss: claims.iss, sub: claims.sub });
        }
        if !claims.aud.contains(&self.audience) {
            return Err(TokenError::WrongAudience { expected: self.audience.clone(), found: claims.aud });
        }
        let now = self.clock.unix();
        let leeway = self.leeway.whole_seconds();
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired { exp: claims.exp, now });
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(TokenError::NotYetValid { nbf, now });
        }
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture { iat: claims.iat, now });
        }
        let max_age = self.max_age.whole_seconds();
        if claims.iat < now.saturating_sub(max_age).saturating_sub(leeway) {
            return Err(TokenError::TooOld { iat: claims.iat, now, max_age });
        }
        let subject = Did::parse(&claims.sub).map_err(TokenError::SubjectNotADid)?;
        let (document, key) = verification_key(
            self.resolver.as_ref(),
            &subject,
            decoded.kid.as_deref(),
            Relationship::CapabilityInvocation,
        )
        .await
        .map_err(|e| match e {
            KeyResolutionError::Resolve(e) => TokenError::Unresolvable(e),
            KeyResolutionError::DocumentMismatch { did, document_id } => {
                TokenError::SubjectNotDidDocument { sub: did, document_id }
            }
            KeyResolutionError::ForeignKey { kid, did } => TokenError::ForeignKey { kid, sub: did },
            KeyResolutionError::Lookup(KeyLookupError::NotAuthorized { kid, .. }) => {
                TokenError::KeyNotAuthorized { kid }
            }
            KeyResolutionError::Lookup(other) => TokenError::UnknownKey(other),
        })?;
        let kid = decoded.kid.clone().unwrap_or_else(|| "(no kid)".into());
        decoded.verify(&key).map_err(|e| match e {
            JwsError::BadSignature => TokenError::BadSignature { kid: kid.clone() },
            other => TokenError::Malformed(other),
        })?;
        // Remember the id as long as the token could pass the checks above.
        let until = claims.exp.min(claims.iat.saturating_add(max_age)).saturating_add(leeway);
        let fresh = self.jti.remember(&claims.iss, &claims.jti, until, now).await.map_err(TokenError::JtiStore)?;
        if !fresh {
            return Err(TokenError::Replayed { jti: claims.jti });
        }
        Ok(VerifiedToken { subject, claims, document })
    }
}

impl std::fmt::Debug for TokenVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_parsed_strictly() {
        assert_eq!(bearer_token(Some("Bearer abc")), Ok("abc"));
        assert_eq!(bearer_token(Some("bearer  abc ")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(AuthError::MissingAuthorization));
        assert_eq!(bearer_token(Some("abc")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(Some("Basic abc")), Err(AuthError::NotBearer));
        assert_eq!(bearer_token(Some("Bearer ")), Err(AuthError::NotBearer));
    }

    #[test]
    fn audience_is_a_string_when_single() {
        let did = Did::parse("did:web:a.example").unwrap();
        let claims = IdTokenClaims::new(&did, "did:web:b.example", 1000, Duration::minutes(5));
        let json = serde_json::to_value(&claims).unwrap();
        assert_eq!(json["aud"], "did:web:b.example");
        assert_eq!(json["exp"], 1300);
        assert!(json.get("token").is_none());
        let mut many = claims.clone();
        many.aud.push("did:web:c.example".into());
        let back: IdTokenClaims = serde_json::from_value(serde_json::to_value(&many).unwrap()).unwrap();
        assert_eq!(back, many);
    }

    #[test]
    fn access_tokens_list_their_scopes() {
        let a = Did::parse("did:web:a.example").unwrap();
        let b = Did::parse("did:web:b.example").unwrap();
        let scopes = [Scope::credential_type("MembershipCredential"), Scope::credential_type("gx:LegalPerson")];
        let claims = AccessTokenClaims::new(&a, &b, &scopes, 0, Duration::minutes(5));
        assert_eq!(
            claims.scope,
            "org.eclipse.dspace.dcp.vc.type:MembershipCredential org.eclipse.dspace.dcp.vc.type:gx:LegalPerson"
        );
        assert_eq!(claims.scopes(), scopes.to_vec());
    }
}
