//! Checking `vc+jwt` credentials and `vp+jwt` presentations: signature by a key of
//! the issuer's (holder's) DID document, and validity window. Trust in the issuer
//! and credential status are separate steps (see [`crate::trust`], [`crate::status`]).

use std::sync::Arc;

use serde_json::Value;
use time::{Duration, OffsetDateTime};

use super::{Credential, ENVELOPED_VC_PREFIX, VC_JWT_TYP, VP_JWT_TYP};
use crate::clock::Clock;
use crate::did::{Did, DidError, DidResolver, KeyResolutionError, Relationship, verification_key};
use crate::jose::{DecodedJws, JwsError};

/// Why a credential is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("credential: {0}")]
    Jws(#[from] JwsError),
    #[error("credential JWS has typ {found:?}; expected `vc+jwt`")]
    NotVcJwt { found: Option<String> },
    #[error("the payload is not a VC 2.0 credential: {0}")]
    NotACredential(String),
    #[error("credential issuer: {0}")]
    IssuerNotADid(DidError),
    #[error("credential issuer key: {0}")]
    Key(#[from] KeyResolutionError),
    #[error("credential {id} is not valid before {valid_from}")]
    NotYetValid { id: String, valid_from: String },
    #[error("credential {id} expired at {valid_until}")]
    Expired { id: String, valid_until: String },
}

/// Why a presentation is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresentationError {
    #[error("presentation: {0}")]
    Jws(#[from] JwsError),
    #[error("presentation JWS has typ {found:?}; expected `vp+jwt`")]
    NotVpJwt { found: Option<String> },
    #[error("the payload is not a verifiable presentation: {0}")]
    NotAPresentation(String),
    #[error("presentation holder: {0}")]
    HolderNotADid(DidError),
    #[error("presentation holder key: {0}")]
    Key(#[from] KeyResolutionError),
    #[error("the presentation is addressed to {found:?}, not to {expected}")]
    WrongAudience { expected: String, found: Vec<String> },
    #[error("the presentation expired at {exp} (now {now})")]
    Expired { exp: i64, now: i64 },
    #[error("the presentation claims to be issued at {iat}, after now ({now})")]
    IssuedInFuture { iat: i64, now: i64 },
}

/// A credential whose signature and validity window have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCredential {
    pub credential: Credential,
    pub jwt: String,
}

impl VerifiedCredential {
    /// The credential id, or a placeholder for messages.
    pub fn label(&self) -> String {
        self.credential.id.clone().unwrap_or_else(|| "(credential without id)".into())
    }
}

/// A presentation whose signature, audience and time claims have been checked; its
/// credentials are not verified yet.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedPresentation {
    pub holder: Did,
    /// The enveloped credentials (`vc+jwt` strings), in order.
    pub credentials: Vec<String>,
}

/// Verifies credentials and presentations against resolved DID documents.
#[derive(Clone)]
pub struct CredentialVerifier {
    resolver: Arc<dyn DidResolver>,
    clock: Arc<dyn Clock>,
    leeway: Duration,
}

impl CredentialVerifier {
    /// `leeway` absorbs clock skew on every time comparison.
    pub fn new(resolver: Arc<dyn DidResolver>, clock: Arc<dyn Clock>, leeway: Duration) -> CredentialVerifier {
        CredentialVerifier { resolver, clock, leeway }
    }

    pub fn resolver(&self) -> &Arc<dyn DidResolver> {
        &self.resolver
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Checks a `vc+jwt`: typ, structure, signature by an `assertionMethod` key of the
    /// issuer, and `validFrom`/`validUntil` against now (with leeway).
    pub async fn verify_credential(&self, jwt: &str) -> Result<VerifiedCredential, CredentialError> {
        let decoded = DecodedJws::decode(jwt)?;
        if decoded.typ.as_deref() != Some(VC_JWT_TYP) {
            return Err(CredentialError::NotVcJwt { found: decoded.typ.clone() });
        }
        let credential: Credential = serde_json::from_value(Value::Object(decoded.payload.clone()))
            .map_err(|e| CredentialError::NotACredential(e.to_string()))?;
        if !credential.has_type(super::types::VERIFIABLE_CREDENTIAL) {
            return Err(CredentialError::NotACredential("`type` lacks VerifiableCredential".into()));
        }
        if !credential.credential_subject.is_object() {
            return Err(CredentialError::NotACredential("credentialSubject must be a single object".into()));
        }
        let issuer = Did::parse(&credential.issuer).map_err(CredentialError::IssuerNotADid)?;
        let (_, key) =
            verification_key(self.resolver.as_ref(), &issuer, decoded.kid.as_deref(), Relationship::AssertionMethod)
                .await?;
        decoded.verify(&key)?;
        self.check_window(&credential)?;
        Ok(VerifiedCredential { credential, jwt: jwt.to_string() })
    }

    fn check_window(&self, credential: &Credential) -> Result<(), CredentialError> {
        let now = self.clock.now();
        let id = || credential.id.clone().unwrap_or_default();
        if let Some(from) = credential.valid_from
            && from > now + self.leeway
        {
            return Err(CredentialError::NotYetValid { id: id(), valid_from: rfc3339(from) });
        }
        if let Some(until) = credential.valid_until
            && until <= now - self.leeway
        {
            return Err(CredentialError::Expired { id: id(), valid_until: rfc3339(until) });
        }
        Ok(())
    }

    /// Checks a `vp+jwt`: typ, signature by an `authentication` key of the holder,
    /// `aud` naming `audience`, `exp`/`iat` against now. Returns the enveloped credentials.
    pub async fn verify_presentation(
        &self,
        jwt: &str,
        audience: &str,
    ) -> Result<VerifiedPresentation, PresentationError> {
        let decoded = DecodedJws::decode(jwt)?;
        if decoded.typ.as_deref() != Some(VP_JWT_TYP) {
            return Err(PresentationError::NotVpJwt { found: decoded.typ.clone() });
        }
        let payload = &decoded.payload;
        let not_vp = |why: &str| PresentationError::NotAPresentation(why.to_string());
        let is_vp = match payload.get("type") {
            Some(Value::String(t)) => t == "VerifiablePresentation",
            Some(Value::Array(ts)) => ts.iter().any(|t| t.as_str() == Some("VerifiablePresentation")),
            _ => false,
        };
        if !is_vp {
            return Err(not_vp("`type` lacks VerifiablePresentation"));
        }
        let holder = payload.get("holder").and_then(Value::as_str).ok_or_else(|| not_vp("no `holder`"))?;
        let holder = Did::parse(holder).map_err(PresentationError::HolderNotADid)?;
        let audiences = string_or_array(payload.get("aud"));
        if !audiences.iter().any(|a| a == audience) {
            return Err(PresentationError::WrongAudience { expected: audience.into(), found: audiences });
        }
        let now = self.clock.unix();
        let leeway = self.leeway.whole_seconds();
        let exp = payload.get("exp").and_then(Value::as_i64).ok_or_else(|| not_vp("no numeric `exp`"))?;
        if now >= exp.saturating_add(leeway) {
            return Err(PresentationError::Expired { exp, now });
        }
        if let Some(iat) = payload.get("iat").and_then(Value::as_i64)
            && iat > now.saturating_add(leeway)
        {
            return Err(PresentationError::IssuedInFuture { iat, now });
        }
        let (_, key) =
            verification_key(self.resolver.as_ref(), &holder, decoded.kid.as_deref(), Relationship::Authentication)
                .await?;
        decoded.verify(&key)?;
        let credentials = match payload.get("verifiableCredential") {
            None => Vec::new(),
            Some(Value::Array(items)) => items.iter().map(unwrap_envelope).collect::<Result<_, _>>()?,
            Some(single) => vec![unwrap_envelope(single)?],
        };
        Ok(VerifiedPresentation { holder, credentials })
    }
}

/// A credential's id for messages, read without verification.
pub(crate) fn credential_label(jwt: &str) -> String {
    DecodedJws::decode(jwt)
        .ok()
        .and_then(|d| d.claim_str("id").map(String::from))
        .unwrap_or_else(|| "(unreadable credential)".into())
}

fn unwrap_envelope(item: &Value) -> Result<String, PresentationError> {
    let bad = |why: &str| PresentationError::NotAPresentation(format!("verifiableCredential entry: {why}"));
    match item {
        Value::String(jwt) => Ok(jwt.clone()),
        Value::Object(map) => {
            let is_enveloped = map.get("type").and_then(Value::as_str) == Some("EnvelopedVerifiableCredential");
            let id = map.get("id").and_then(Value::as_str).ok_or_else(|| bad("no `id`"))?;
            match id.strip_prefix(ENVELOPED_VC_PREFIX) {
                Some(jwt) if is_enveloped => Ok(jwt.to_string()),
                _ => Err(bad("only EnvelopedVerifiableCredential with a data:application/vc+jwt id is accepted")),
            }
        }
        _ => Err(bad("must be an object or a string")),
    }
}

fn string_or_array(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    }
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::did::{DidDocument, InMemoryResolver};
    use crate::keys::KeyPair;
    use crate::vc::{envelope, sign_presentation};
    use serde_json::json;

    struct Setup {
        resolver: Arc<InMemoryResolver>,
        clock: Arc<ManualClock>,
        issuer: Did,
        issuer_key: KeyPair,
        holder: Did,
        holder_key: KeyPair,
    }

    fn setup() -> Setup {
        let resolver = Arc::new(InMemoryResolver::new());
        let issuer = Did::parse("did:web:issuer.example").unwrap();
        let holder = Did::parse("did:web:holder.example").unwrap();
        let issuer_key = KeyPair::generate_es256().unwrap();
        let holder_key = KeyPair::generate_ed25519().unwrap();
        for (did, key) in [(&issuer, &issuer_key), (&holder, &holder_key)] {
            let mut doc = DidDocument::new(did);
            doc.add_key(&key.public_key(), &Relationship::ALL);
            resolver.publish(doc);
        }
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        Setup { resolver, clock, issuer, issuer_key, holder, holder_key }
    }

    fn verifier(s: &Setup) -> CredentialVerifier {
        CredentialVerifier::new(s.resolver.clone(), s.clock.clone(), Duration::seconds(30))
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    fn credential(s: &Setup) -> Credential {
        let now = s.clock.now();
        Credential::new("MembershipCredential", &s.issuer, json!({"id": s.holder.as_str()}), now)
            .valid_until(now + Duration::days(30))
    }

    #[test]
    fn a_signed_credential_verifies_within_its_window() {
        let s = setup();
        let jwt = credential(&s).sign(&s.issuer_key).unwrap();
        let verified = block_on(verifier(&s).verify_credential(&jwt)).unwrap();
        assert_eq!(verified.credential.issuer, s.issuer.as_str());
        s.clock.advance(Duration::days(31));
        assert!(matches!(block_on(verifier(&s).verify_credential(&jwt)), Err(CredentialError::Expired { .. })));
        s.clock.advance(Duration::days(-60));
        assert!(matches!(block_on(verifier(&s).verify_credential(&jwt)), Err(CredentialError::NotYetValid { .. })));
    }

    #[test]
    fn a_credential_signed_by_someone_else_fails() {
        let s = setup();
        // Signed with the holder's key but claiming the issuer: the kid names the issuer's DID
        // but no such method exists there.
        let jwt = credential(&s).sign(&s.holder_key).unwrap();
        let err = block_on(verifier(&s).verify_credential(&jwt)).unwrap_err();
        assert!(matches!(err, CredentialError::Key(KeyResolutionError::Lookup(_))), "{err}");
        // Same kid as the issuer's real key, other private key: the signature fails.
        let impostor = KeyPair::generate_es256().unwrap().with_key_id(s.issuer_key.key_id());
        let jwt = credential(&s).sign(&impostor).unwrap();
        let err = block_on(verifier(&s).verify_credential(&jwt)).unwrap_err();
        assert_eq!(err, CredentialError::Jws(JwsError::BadSignature));
    }

    #[test]
    fn presentations_are_bound_to_holder_and_audience() {
        let s = setup();
        let vc = credential(&s).sign(&s.issuer_key).unwrap();
        let v = verifier(&s);
        let vp = sign_presentation(
            &s.holder_key,
            &s.holder,
            "did:web:v.example",
            std::slice::from_ref(&vc),
            s.clock.now(),
            Duration::minutes(5),
        )
        .unwrap();
        let verified = block_on(v.verify_presentation(&vp, "did:web:v.example")).unwrap();
        assert_eq!(verified.holder, s.holder);
        assert_eq!(verified.credentials, vec![vc]);
        assert!(matches!(
            block_on(v.verify_presentation(&vp, "did:web:other.example")),
            Err(PresentationError::WrongAudience { .. })
        ));
        s.clock.advance(Duration::minutes(10));
        assert!(matches!(
            block_on(v.verify_presentation(&vp, "did:web:v.example")),
            Err(PresentationError::Expired { .. })
        ));
        // A credential is not a presentation.
        assert!(matches!(
            block_on(v.verify_presentation(&credential(&s).sign(&s.issuer_key).unwrap(), "x")),
            Err(PresentationError::NotVpJwt { .. })
        ));
    }

    #[test]
    fn envelopes_must_be_vc_jwt_data_urls() {
        assert_eq!(unwrap_envelope(&envelope("a.b.c")).unwrap(), "a.b.c");
        assert_eq!(unwrap_envelope(&json!("a.b.c")).unwrap(), "a.b.c");
        let wrong = json!({"type": "EnvelopedVerifiableCredential", "id": "data:application/vc+sd-jwt,x"});
        assert!(unwrap_envelope(&wrong).is_err());
        assert!(unwrap_envelope(&json!(3)).is_err());
    }
}
