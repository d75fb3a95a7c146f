//! W3C Verifiable Credentials Data Model 2.0, secured with JOSE (VC-JOSE-COSE).
//!
//! A credential is signed as a compact JWS whose payload is the credential itself
//! (`typ: vc+jwt`, `cty: vc`); a presentation likewise (`typ: vp+jwt`, `cty: vp`) and
//! carries its credentials as `EnvelopedVerifiableCredential`s
//! (`data:application/vc+jwt,<jwt>`).

pub mod gaiax;
pub mod membership;
mod verify;

pub(crate) use verify::credential_label;
pub use verify::{CredentialError, CredentialVerifier, PresentationError, VerifiedCredential, VerifiedPresentation};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::did::Did;
use crate::jose::sign_compact;
use crate::keys::{KeyError, KeyPair};

/// The VC 2.0 base context.
pub const VC_CONTEXT_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// `typ` of a credential secured as a JWS.
pub const VC_JWT_TYP: &str = "vc+jwt";
/// `typ` of a presentation secured as a JWS.
pub const VP_JWT_TYP: &str = "vp+jwt";
/// Prefix of the `id` of an enveloped JWS credential.
pub const ENVELOPED_VC_PREFIX: &str = "data:application/vc+jwt,";

/// The credential types Passerelle issues and checks.
pub mod types {
    pub const VERIFIABLE_CREDENTIAL: &str = "VerifiableCredential";
    /// Self-issued Gaia-X participant description.
    pub const LEGAL_PERSON: &str = "gx:LegalPerson";
    /// Gaia-X terms and conditions accepted by an issuer.
    pub const ISSUER: &str = "gx:Issuer";
    /// Registration number (VAT, local, EORI, EUID or LEI), issued by a notary.
    pub const REGISTRATION_NUMBER: &str = "gx:RegistrationNumber";
    /// Membership of the data space, with the participant's role; issued by the authority.
    pub const MEMBERSHIP: &str = "MembershipCredential";
    /// A Bitstring Status List.
    pub const STATUS_LIST: &str = "BitstringStatusListCredential";
}

/// A credential (unsigned form). Fields other than those of VC 2.0 that Passerelle
/// uses are kept in `credential_subject` or ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credential {
    #[serde(rename = "@context")]
    pub context: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "type", deserialize_with = "one_or_many")]
    pub types: Vec<String>,
    #[serde(deserialize_with = "issuer_id")]
    pub issuer: String,
    #[serde(
        rename = "validFrom",
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_from: Option<OffsetDateTime>,
    #[serde(
        rename = "validUntil",
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub valid_until: Option<OffsetDateTime>,
    #[serde(rename = "credentialSubject")]
    pub credential_subject: Value,
    /// Status entries; only `BitstringStatusListEntry` is understood (see [`crate::status`]).
    #[serde(
        rename = "credentialStatus",
        default,
        deserialize_with = "one_or_many_values",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub credential_status: Vec<Value>,
}

impl Credential {
    /// A credential of `kind` (after `VerifiableCredential`) with a fresh `urn:uuid:` id.
    pub fn new(kind: &str, issuer: &Did, subject: Value, valid_from: OffsetDateTime) -> Credential {
        Credential {
            context: vec![Value::String(VC_CONTEXT_V2.into())],
            id: Some(format!("urn:uuid:{}", uuid::Uuid::new_v4())),
            types: vec![types::VERIFIABLE_CREDENTIAL.into(), kind.into()],
            issuer: issuer.to_string(),
            valid_from: Some(valid_from),
            valid_until: None,
            credential_subject: subject,
            credential_status: Vec::new(),
        }
    }

    pub fn valid_until(mut self, until: OffsetDateTime) -> Credential {
        self.valid_until = Some(until);
        self
    }

    pub fn with_context(mut self, context: &str) -> Credential {
        if !self.context.iter().any(|c| c.as_str() == Some(context)) {
            self.context.push(Value::String(context.into()));
        }
        self
    }

    pub fn has_type(&self, kind: &str) -> bool {
        self.types.iter().any(|t| t == kind)
    }

    /// The `id` of the (single) credential subject: the holder the credential is about.
    pub fn subject_id(&self) -> Option<&str> {
        self.credential_subject.get("id").and_then(Value::as_str)
    }

    /// Signs the credential as `vc+jwt` with `key`, published as `<issuer>#<key id>`.
    pub fn sign(&self, key: &KeyPair) -> Result<String, KeyError> {
        let kid = format!("{}#{}", self.issuer, key.key_id());
        let payload = serde_json::to_value(self).map_err(|e| KeyError::Sign {
            key_id: key.key_id().to_string(),
            reason: format!("credential not serializable: {e}"),
        })?;
        sign_compact(key, &kid, VC_JWT_TYP, Some("vc"), &payload)
    }
}

/// Wraps a `vc+jwt` for inclusion in a presentation.
pub fn envelope(credential_jwt: &str) -> Value {
    json!({
        "@context": VC_CONTEXT_V2,
        "id": format!("{ENVELOPED_VC_PREFIX}{credential_jwt}"),
        "type": "EnvelopedVerifiableCredential",
    })
}

/// Signs a presentation of `credentials` (each a `vc+jwt`) by `holder` for `audience`,
/// valid `ttl` from `now`. The JWT claims `iss`, `aud`, `iat`, `exp` and `jti` sit beside
/// the presentation's own properties so that a verifier can refuse replays to another audience.
pub fn sign_presentation(
    key: &KeyPair,
    holder: &Did,
    audience: &str,
    credentials: &[String],
    now: OffsetDateTime,
    ttl: time::Duration,
) -> Result<String, KeyError> {
    let mut payload = Map::new();
    payload.insert("@context".into(), json!([VC_CONTEXT_V2]));
    payload.insert("id".into(), Value::String(format!("urn:uuid:{}", uuid::Uuid::new_v4())));
    payload.insert("type".into(), json!(["VerifiablePresentation"]));
    payload.insert("holder".into(), Value::String(holder.to_string()));
    payload.insert("verifiableCredential".into(), Value::Array(credentials.iter().map(|c| envelope(c)).collect()));
    payload.insert("iss".into(), Value::String(holder.to_string()));
    payload.insert("aud".into(), Value::String(audience.into()));
    payload.insert("iat".into(), json!(now.unix_timestamp()));
    payload.insert("exp".into(), json!((now + ttl).unix_timestamp()));
    payload.insert("jti".into(), Value::String(uuid::Uuid::new_v4().to_string()));
    sign_compact(key, &holder.key_url(key.key_id()), VP_JWT_TYP, Some("vp"), &Value::Object(payload))
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

fn one_or_many_values<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        other => vec![other],
    })
}

fn issuer_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Object(map) => match map.get("id") {
            Some(Value::String(s)) => Ok(s.clone()),
            _ => Err(serde::de::Error::custom("the issuer object has no string `id`")),
        },
        _ => Err(serde::de::Error::custom("issuer must be a string or an object with `id`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::DecodedJws;

    #[test]
    fn credentials_sign_as_vc_jwt_with_the_credential_as_payload() {
        let issuer = Did::parse("did:web:issuer.example").unwrap();
        let key = KeyPair::generate_es256().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let credential = Credential::new("MembershipCredential", &issuer, json!({"id": "did:web:a.example"}), now)
            .valid_until(now + time::Duration::days(1));
        let jwt = credential.sign(&key).unwrap();
        let decoded = DecodedJws::decode(&jwt).unwrap();
        assert_eq!(decoded.typ.as_deref(), Some("vc+jwt"));
        assert_eq!(decoded.cty.as_deref(), Some("vc"));
        assert_eq!(decoded.kid, Some(format!("did:web:issuer.example#{}", key.key_id())));
        let back: Credential = serde_json::from_value(Value::Object(decoded.payload)).unwrap();
        assert_eq!(back, credential);
        assert_eq!(back.subject_id(), Some("did:web:a.example"));
        assert_eq!(serde_json::to_value(&back).unwrap()["validFrom"], "2023-11-14T22:13:20Z");
    }

    #[test]
    fn lenient_forms_of_type_issuer_and_status_parse() {
        let c: Credential = serde_json::from_value(json!({
            "@context": [VC_CONTEXT_V2],
            "type": "VerifiableCredential",
            "issuer": {"id": "did:web:i.example", "name": "Issuer"},
            "credentialSubject": {"id": "did:web:a.example"},
            "credentialStatus": {"type": "BitstringStatusListEntry"}
        }))
        .unwrap();
        assert_eq!(c.types, vec!["VerifiableCredential"]);
        assert_eq!(c.issuer, "did:web:i.example");
        assert_eq!(c.credential_status.len(), 1);
        let bad = json!({"@context": [], "type": [], "issuer": 3, "credentialSubject": {}});
        assert!(serde_json::from_value::<Credential>(bad).is_err());
    }

    #[test]
    fn presentations_envelope_their_credentials() {
        let holder = Did::parse("did:web:a.example").unwrap();
        let key = KeyPair::generate_es256().unwrap();
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let vp =
            sign_presentation(&key, &holder, "did:web:b.example", &["a.b.c".into()], now, time::Duration::minutes(5))
                .unwrap();
        let decoded = DecodedJws::decode(&vp).unwrap();
        assert_eq!(decoded.typ.as_deref(), Some("vp+jwt"));
        assert_eq!(decoded.payload["holder"], "did:web:a.example");
        assert_eq!(decoded.payload["aud"], "did:web:b.example");
        assert_eq!(decoded.payload["exp"], 1_700_000_300);
        let vc = &decoded.payload["verifiableCredential"][0];
        assert_eq!(vc["type"], "EnvelopedVerifiableCredential");
        assert_eq!(vc["id"], "data:application/vc+jwt,a.b.c");
    }
}
