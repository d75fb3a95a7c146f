//! ES256 signatures straight on OpenSSL's ECDSA, behind josekit's signer and verifier traits.
//!
//! josekit builds an EVP digest context for every signature and goes through DER signatures; with DCP on,
//! each DSP message is signed once and verified once, and that setup cost about 10 µs of the 27 µs of a
//! signature and of the 69 µs of a verification (BENCHMARKS.md). Here the SHA-256 digest is signed with the
//! key directly, and the JWS form of the signature (r ‖ s, 32 bytes each) is built as is. Verification goes
//! to ring, whose P-256 verification takes the JWS form as is and ran in 53 µs where OpenSSL's took 64 µs on
//! our machines (BENCHMARKS.md); the key is still checked to be a point of the curve when it is read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::JoseError;
use josekit::jws::{JwsAlgorithm, JwsSigner, JwsVerifier};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::ecdsa::EcdsaSig;
use openssl::nid::Nid;
use openssl::pkey::{Private, Public};
use serde_json::{Map, Value};

/// Bytes of each of r and s.
const HALF: usize = 32;

fn p256() -> Result<EcGroup, openssl::error::ErrorStack> {
    EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)
}

fn invalid(what: &str, e: impl std::fmt::Display) -> JoseError {
    JoseError::InvalidKeyFormat(anyhow::anyhow!("{what}: {e}"))
}

/// A coordinate or the private scalar of a P-256 JWK.
fn member(jwk: &Map<String, Value>, name: &str) -> Result<BigNum, JoseError> {
    let text = jwk.get(name).and_then(Value::as_str).ok_or_else(|| invalid(name, "missing or not a string"))?;
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|e| invalid(name, e))?;
    if bytes.len() != HALF {
        return Err(invalid(name, format!("{} bytes, a P-256 value has {HALF}", bytes.len())));
    }
    BigNum::from_slice(&bytes).map_err(|e| invalid(name, e))
}

/// The public key of a P-256 JWK (`x`, `y`); OpenSSL checks that the point is on the curve.
fn public_key(jwk: &Map<String, Value>) -> Result<EcKey<Public>, JoseError> {
    let group = p256().map_err(|e| invalid("P-256", e))?;
    let (x, y) = (member(jwk, "x")?, member(jwk, "y")?);
    EcKey::from_public_key_affine_coordinates(&group, &x, &y).map_err(|e| invalid("x, y", e))
}

/// Signs with a P-256 private key; reports no key id (the JWS header's `kid` is ours to set).
#[derive(Clone)]
pub(crate) struct Es256Signer {
    key: EcKey<Private>,
}

impl std::fmt::Debug for Es256Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Es256Signer(<private key redacted>)")
    }
}

impl Es256Signer {
    /// From a private P-256 JWK (`x`, `y`, `d`), checked to be one key pair.
    pub(crate) fn from_jwk(jwk: &Map<String, Value>) -> Result<Es256Signer, JoseError> {
        let public = public_key(jwk)?;
        let d = member(jwk, "d")?;
        let key =
            EcKey::from_private_components(public.group(), &d, public.public_key()).map_err(|e| invalid("d", e))?;
        key.check_key().map_err(|e| invalid("d does not match x, y", e))?;
        Ok(Es256Signer { key })
    }
}

impl JwsSigner for Es256Signer {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &josekit::jws::ES256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn signature_len(&self) -> usize {
        2 * HALF
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, JoseError> {
        let failed = |e: openssl::error::ErrorStack| JoseError::InvalidSignature(anyhow::anyhow!("ES256: {e}"));
        let signature = EcdsaSig::sign(&openssl::sha::sha256(message), &self.key).map_err(failed)?;
        let mut out = signature.r().to_vec_padded(HALF as i32).map_err(failed)?;
        out.extend(signature.s().to_vec_padded(HALF as i32).map_err(failed)?);
        Ok(out)
    }

    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// Verifies ES256 signatures (r ‖ s) with a P-256 public key.
#[derive(Debug, Clone)]
pub(crate) struct Es256Verifier {
    /// The key as an uncompressed point (`04 ‖ x ‖ y`), checked to be on the curve.
    point: Vec<u8>,
}

impl Es256Verifier {
    /// From a public P-256 JWK (`x`, `y`).
    pub(crate) fn from_jwk(jwk: &Map<String, Value>) -> Result<Es256Verifier, JoseError> {
        let key = public_key(jwk)?;
        let mut context = openssl::bn::BigNumContext::new().map_err(|e| invalid("P-256", e))?;
        let point = key
            .public_key()
            .to_bytes(key.group(), openssl::ec::PointConversionForm::UNCOMPRESSED, &mut context)
            .map_err(|e| invalid("x, y", e))?;
        Ok(Es256Verifier { point })
    }
}

impl JwsVerifier for Es256Verifier {
    fn algorithm(&self) -> &dyn JwsAlgorithm {
        &josekit::jws::ES256
    }

    fn key_id(&self) -> Option<&str> {
        None
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), JoseError> {
        let refused = |why: String| JoseError::InvalidSignature(anyhow::anyhow!("ES256: {why}"));
        if signature.len() != 2 * HALF {
            return Err(refused(format!("a signature of {} bytes, not {}", signature.len(), 2 * HALF)));
        }
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &self.point)
            .verify(message, signature)
            .map_err(|_| refused("the signature does not match".into()))
    }

    fn box_clone(&self) -> Box<dyn JwsVerifier> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use josekit::jwk::Jwk;

    fn generated() -> Jwk {
        Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap()
    }

    fn public(jwk: &Jwk) -> Map<String, Value> {
        let mut map = jwk.as_ref().clone();
        map.remove("d");
        map
    }

    #[test]
    fn signatures_verify_both_ways_with_josekit() {
        let jwk = generated();
        let message = b"header.payload";
        let ours = Es256Signer::from_jwk(jwk.as_ref()).unwrap().sign(message).unwrap();
        assert_eq!(ours.len(), 64);
        let theirs_verifier = josekit::jws::ES256.verifier_from_jwk(&Jwk::from_map(public(&jwk)).unwrap()).unwrap();
        theirs_verifier.verify(message, &ours).unwrap();

        let theirs = josekit::jws::ES256.signer_from_jwk(&jwk).unwrap().sign(message).unwrap();
        let verifier = Es256Verifier::from_jwk(&public(&jwk)).unwrap();
        verifier.verify(message, &theirs).unwrap();
        verifier.verify(message, &ours).unwrap();
    }

    #[test]
    fn a_changed_message_signature_or_key_is_refused() {
        let jwk = generated();
        let signature = Es256Signer::from_jwk(jwk.as_ref()).unwrap().sign(b"m").unwrap();
        let verifier = Es256Verifier::from_jwk(&public(&jwk)).unwrap();
        assert!(verifier.verify(b"n", &signature).is_err());
        let mut flipped = signature.clone();
        flipped[10] ^= 1;
        assert!(verifier.verify(b"m", &flipped).is_err());
        assert!(verifier.verify(b"m", &signature[..63]).is_err());
        assert!(verifier.verify(b"m", &[0; 64]).is_err(), "r = s = 0 is no signature");
        let other = Es256Verifier::from_jwk(&public(&generated())).unwrap();
        assert!(other.verify(b"m", &signature).is_err());
    }

    #[test]
    fn keys_that_are_not_one_p256_pair_are_refused() {
        let jwk = generated();
        let mut mismatched = jwk.as_ref().clone();
        mismatched.insert("d".into(), generated().as_ref()["d"].clone());
        assert!(Es256Signer::from_jwk(&mismatched).is_err(), "d of another key");
        let mut off_curve = public(&jwk);
        off_curve.insert("y".into(), off_curve["x"].clone());
        assert!(Es256Verifier::from_jwk(&off_curve).is_err(), "a point off the curve");
        let mut short = public(&jwk);
        short.insert("x".into(), Value::String("AAAA".into()));
        assert!(Es256Verifier::from_jwk(&short).is_err());
    }
}
