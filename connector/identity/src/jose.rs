//! Compact JWS: the one serialization every token, credential and presentation uses here.
//!
//! Signing builds the protected header itself so that `kid` is always the DID URL
//! of the verification method. Decoding is split from verifying because the key
//! can only be chosen after reading the header (`kid`, `alg`) and the claims (`iss`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::keys::{Algorithm, KeyError, KeyPair, PublicKey, PublicKeyError};

/// Tokens larger than this are refused before any parsing (a presentation with a
/// handful of credentials stays far below it).
pub const MAX_TOKEN_LEN: usize = 256 * 1024;

/// Why a compact JWS is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("not a compact JWS: {0}")]
    Malformed(String),
    #[error("JWS algorithm `{0}` is not accepted; use ES256, EdDSA, RS256 or PS256")]
    UnsupportedAlgorithm(String),
    #[error("the JWS carries critical header parameters {0:?}, none of which is supported")]
    UnsupportedCritical(Vec<String>),
    #[error("the signing key cannot be used: {0}")]
    Key(#[from] PublicKeyError),
    #[error("the signature does not verify")]
    BadSignature,
}

/// Signs `payload` as a compact JWS with header `{alg, typ, cty?, kid}`.
pub fn sign_compact(
    key: &KeyPair,
    kid: &str,
    typ: &str,
    cty: Option<&str>,
    payload: &Value,
) -> Result<String, KeyError> {
    let mut header = Map::new();
    header.insert("alg".into(), Value::String(key.algorithm().name().into()));
    header.insert("typ".into(), Value::String(typ.into()));
    if let Some(cty) = cty {
        header.insert("cty".into(), Value::String(cty.into()));
    }
    header.insert("kid".into(), Value::String(kid.into()));
    let mut token = URL_SAFE_NO_PAD.encode(Value::Object(header).to_string());
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(payload.to_string()));
    let signature = key.sign_raw(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// A compact JWS whose header and payload have been read but whose signature is not yet checked.
#[derive(Debug, Clone)]
pub struct DecodedJws {
    pub algorithm: Algorithm,
    pub kid: Option<String>,
    pub typ: Option<String>,
    pub cty: Option<String>,
    /// The claims (a JSON object).
    pub payload: Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl DecodedJws {
    pub fn decode(token: &str) -> Result<DecodedJws, JwsError> {
        let malformed = |why: &str| JwsError::Malformed(why.to_string());
        if token.len() > MAX_TOKEN_LEN {
            return Err(JwsError::Malformed(format!("longer than {MAX_TOKEN_LEN} bytes")));
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed("expected three base64url parts separated by dots"));
        };
        let header = decode_object(header_b64, "header")?;
        let payload = decode_object(payload_b64, "payload")?;
        let signature =
            URL_SAFE_NO_PAD.decode(signature_b64).map_err(|_| malformed("the signature is not base64url"))?;
        let alg = header.get("alg").and_then(Value::as_str).ok_or_else(|| malformed("the header has no `alg`"))?;
        let algorithm = Algorithm::from_name(alg).ok_or_else(|| JwsError::UnsupportedAlgorithm(alg.to_string()))?;
        if let Some(crit) = header.get("crit") {
            let names = crit.as_array().map(|a| a.iter().filter_map(|v| v.as_str().map(String::from)).collect());
            return Err(JwsError::UnsupportedCritical(names.unwrap_or_default()));
        }
        let text = |name: &str| -> Result<Option<String>, JwsError> {
            match header.get(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(JwsError::Malformed(format!("header `{name}` is not a string"))),
            }
        };
        Ok(DecodedJws {
            algorithm,
            kid: text("kid")?,
            typ: text("typ")?,
            cty: text("cty")?,
            payload,
            signing_input: format!("{header_b64}.{payload_b64}"),
            signature,
        })
    }

    /// Checks the signature with `key` under the header's algorithm.
    pub fn verify(&self, key: &PublicKey) -> Result<(), JwsError> {
        let verifier = key.verifier(self.algorithm)?;
        verifier.verify(self.signing_input.as_bytes(), &self.signature).map_err(|_| JwsError::BadSignature)
    }

    /// A string claim of the payload.
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.payload.get(name).and_then(Value::as_str)
    }
}

fn decode_object(part: &str, what: &str) -> Result<Map<String, Value>, JwsError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| JwsError::Malformed(format!("the {what} is not base64url")))?;
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JwsError::Malformed(format!("the {what} is not a JSON object"))),
        Err(e) => Err(JwsError::Malformed(format!("the {what} is not JSON: {e}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(alg: Algorithm) {
        let key = KeyPair::generate(alg).unwrap();
        let token = sign_compact(&key, "did:web:a.example#k1", "vc+jwt", Some("vc"), &json!({"x": 1})).unwrap();
        let decoded = DecodedJws::decode(&token).unwrap();
        assert_eq!(decoded.algorithm, alg);
        assert_eq!(decoded.kid.as_deref(), Some("did:web:a.example#k1"));
        assert_eq!(decoded.typ.as_deref(), Some("vc+jwt"));
        assert_eq!(decoded.cty.as_deref(), Some("vc"));
        assert_eq!(decoded.payload.get("x"), Some(&json!(1)));
        decoded.verify(&key.public_key()).unwrap();
        let other = KeyPair::generate(alg).unwrap();
        assert_eq!(decoded.verify(&other.public_key()), Err(JwsError::BadSignature));
    }

    #[test]
    fn every_supported_algorithm_signs_and_verifies() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256, Algorithm::Ps256] {
            round_trip(alg);
        }
    }

    #[test]
    fn tampered_payloads_fail() {
        let key = KeyPair::generate_es256().unwrap();
        let token = sign_compact(&key, "k", "JWT", None, &json!({"sub": "a"})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(r#"{"sub":"b"}"#), parts[2]);
        let decoded = DecodedJws::decode(&forged).unwrap();
        assert_eq!(decoded.verify(&key.public_key()), Err(JwsError::BadSignature));
    }

    #[test]
    fn garbage_never_panics() {
        let key = KeyPair::generate_es256().unwrap().public_key();
        let none_alg = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#), URL_SAFE_NO_PAD.encode("{}"));
        let hs = format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#), URL_SAFE_NO_PAD.encode("{}"));
        let crit = format!(
            "{}.{}.AAAA",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256","crit":["b64"],"b64":false}"#),
            URL_SAFE_NO_PAD.encode("{}")
        );
        let short_sig =
            format!("{}.{}.AAAA", URL_SAFE_NO_PAD.encode(r#"{"alg":"ES256"}"#), URL_SAFE_NO_PAD.encode("{}"));
        assert!(matches!(DecodedJws::decode(""), Err(JwsError::Malformed(_))));
        assert!(matches!(DecodedJws::decode("a.b"), Err(JwsError::Malformed(_))));
        assert!(matches!(DecodedJws::decode("a.b.c.d"), Err(JwsError::Malformed(_))));
        assert!(matches!(DecodedJws::decode("!!.??.**"), Err(JwsError::Malformed(_))));
        assert!(matches!(DecodedJws::decode(&none_alg), Err(JwsError::UnsupportedAlgorithm(a)) if a == "none"));
        assert!(matches!(DecodedJws::decode(&hs), Err(JwsError::UnsupportedAlgorithm(_))));
        assert!(matches!(DecodedJws::decode(&crit), Err(JwsError::UnsupportedCritical(_))));
        let decoded = DecodedJws::decode(&short_sig).unwrap();
        assert_eq!(decoded.verify(&key), Err(JwsError::BadSignature));
        let huge = "a".repeat(MAX_TOKEN_LEN + 1);
        assert!(matches!(DecodedJws::decode(&huge), Err(JwsError::Malformed(_))));
    }
}
