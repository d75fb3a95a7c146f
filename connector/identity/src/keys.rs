//! Signing keys and public keys.
//!
//! A [`KeyPair`] holds a private JWK and signs JWS; it is loaded from a 0600 file
//! (the one `passerelle init` writes), from an environment variable, or generated.
//! Its `Debug` form never shows the private part. A [`PublicKey`] is the published
//! half found in a DID document; it verifies signatures of the algorithm its key
//! type allows (ES256 on P-256, EdDSA on Ed25519, RS256/PS256 on RSA).

use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use josekit::jwk::Jwk;
use josekit::jws::{JwsSigner, JwsVerifier};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// The JWS algorithms Passerelle signs or verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256: the default for participants.
    Es256,
    /// Ed25519.
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (verified for interoperability).
    Rs256,
    /// RSASSA-PSS with SHA-256 (verified for interoperability).
    Ps256,
}

impl Algorithm {
    /// The JOSE `alg` value.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Rs256 => "RS256",
            Algorithm::Ps256 => "PS256",
        }
    }

    /// Parses a JOSE `alg` value; `none`, HMAC and every other algorithm give `None`.
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "EdDSA" => Some(Algorithm::EdDsa),
            "RS256" => Some(Algorithm::Rs256),
            "PS256" => Some(Algorithm::Ps256),
            _ => None,
        }
    }

    /// Whether a key of this JWK type (and curve) may be used with this algorithm.
    fn fits(self, kty: &str, crv: Option<&str>) -> bool {
        match self {
            Algorithm::Es256 => kty == "EC" && crv == Some("P-256"),
            Algorithm::EdDsa => kty == "OKP" && crv == Some("Ed25519"),
            Algorithm::Rs256 | Algorithm::Ps256 => kty == "RSA",
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key could not be loaded, generated or used. Never carries key material.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "key file {} is accessible by group or others (mode {mode:o}); run `chmod 600 {}`",
        path.display(),
        path.display()
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("environment variable {var} is not set or not valid UTF-8; put the private JWK (JSON) in it")]
    MissingEnv { var: String },
    #[error("{origin} is not a usable JWK: {reason}")]
    Malformed { origin: String, reason: String },
    #[error(
        "{origin} holds a key of type {kty}{}; supported: EC P-256 (ES256), OKP Ed25519 (EdDSA), RSA (RS256/PS256)",
        crv.as_deref().map(|c| format!(" ({c})")).unwrap_or_default()
    )]
    Unsupported { origin: String, kty: String, crv: Option<String> },
    #[error("{origin} is a public key; a signing key needs its private part (`d`)")]
    NotPrivate { origin: String },
    #[error("{origin}: JWK `alg` is {declared} but the key type allows {expected}")]
    AlgorithmMismatch { origin: String, declared: String, expected: String },
    #[error("cannot generate a {algorithm} key: {reason}")]
    Generate { algorithm: Algorithm, reason: String },
    #[error("signing with key {key_id} failed: {reason}")]
    Sign { key_id: String, reason: String },
    #[error("cannot write key file {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// A private signing key with its algorithm and key id.
///
/// The key id is the JWK's `kid` when it has one (the file written by
/// `passerelle init` uses its RFC 7638 thumbprint), else the thumbprint. In a DID
/// document it becomes the fragment of the verification method: `<did>#<key_id>`.
#[derive(Clone)]
pub struct KeyPair {
    jwk: Jwk,
    algorithm: Algorithm,
    key_id: String,
    signer: Box<dyn JwsSigner>,
}

impl KeyPair {
    /// A fresh ES256 (P-256) key, the default for participants.
    pub fn generate_es256() -> Result<KeyPair, KeyError> {
        KeyPair::generate(Algorithm::Es256)
    }

    /// A fresh Ed25519 key.
    pub fn generate_ed25519() -> Result<KeyPair, KeyError> {
        KeyPair::generate(Algorithm::EdDsa)
    }

    /// A fresh key for `algorithm` (RSA keys are 2048 bits).
    pub fn generate(algorithm: Algorithm) -> Result<KeyPair, KeyError> {
        let generated = match algorithm {
            Algorithm::Es256 => Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256),
            Algorithm::EdDsa => Jwk::generate_ed_key(josekit::jwk::alg::ed::EdCurve::Ed25519),
            Algorithm::Rs256 | Algorithm::Ps256 => Jwk::generate_rsa_key(2048),
        };
        let mut jwk = generated.map_err(|e| KeyError::Generate { algorithm, reason: e.to_string() })?;
        jwk.set_algorithm(algorithm.name());
        jwk.set_key_use("sig");
        let kid = thumbprint(jwk.as_ref()).ok_or_else(|| KeyError::Generate {
            algorithm,
            reason: "the generated key lacks its public parameters".into(),
        })?;
        jwk.set_key_id(kid);
        KeyPair::from_jwk(jwk, "generated key")
    }

    /// Reads a private JWK file. On Unix the file must not be accessible by group or
    /// others (mode 0600 or stricter), so a leaked-by-permissions key is refused early.
    pub fn from_jwk_file(path: &Path) -> Result<KeyPair, KeyError> {
        let bytes = std::fs::read(path).map_err(|source| KeyError::Read { path: path.into(), source })?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path)
                .map_err(|source| KeyError::Read { path: path.into(), source })?
                .permissions()
                .mode()
                & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyError::InsecurePermissions { path: path.into(), mode });
            }
        }
        KeyPair::from_jwk_bytes(&bytes, &path.display().to_string())
    }

    /// Reads a private JWK (JSON) from the environment variable `var`.
    pub fn from_env(var: &str) -> Result<KeyPair, KeyError> {
        KeyPair::from_env_value(var, std::env::var(var).ok())
    }

    /// [`KeyPair::from_env`] on an already looked-up value (`None` when unset).
    pub fn from_env_value(var: &str, value: Option<String>) -> Result<KeyPair, KeyError> {
        let text = value.ok_or_else(|| KeyError::MissingEnv { var: var.into() })?;
        KeyPair::from_jwk_bytes(text.as_bytes(), &format!("environment variable {var}"))
    }

    /// Parses a private JWK; `origin` names where it came from in errors.
    pub fn from_jwk_bytes(bytes: &[u8], origin: &str) -> Result<KeyPair, KeyError> {
        let jwk =
            Jwk::from_bytes(bytes).map_err(|e| KeyError::Malformed { origin: origin.into(), reason: e.to_string() })?;
        KeyPair::from_jwk(jwk, origin)
    }

    fn from_jwk(jwk: Jwk, origin: &str) -> Result<KeyPair, KeyError> {
        let kty = jwk.key_type().to_string();
        let crv = jwk.curve().map(str::to_string);
        let natural = match (kty.as_str(), crv.as_deref()) {
            ("EC", Some("P-256")) => Algorithm::Es256,
            ("OKP", Some("Ed25519")) => Algorithm::EdDsa,
            ("RSA", _) if jwk.algorithm() == Some("PS256") => Algorithm::Ps256,
            ("RSA", _) => Algorithm::Rs256,
            _ => return Err(KeyError::Unsupported { origin: origin.into(), kty, crv }),
        };
        if let Some(declared) = jwk.algorithm()
            && declared != natural.name()
        {
            return Err(KeyError::AlgorithmMismatch {
                origin: origin.into(),
                declared: declared.into(),
                expected: natural.name().into(),
            });
        }
        if jwk.parameter("d").is_none() {
            return Err(KeyError::NotPrivate { origin: origin.into() });
        }
        let malformed = |e: josekit::JoseError| KeyError::Malformed { origin: origin.into(), reason: e.to_string() };
        let mut signer: Box<dyn JwsSigner> = match natural {
            Algorithm::Es256 => Box::new(crate::es256::Es256Signer::from_jwk(jwk.as_ref()).map_err(malformed)?),
            Algorithm::EdDsa => Box::new(josekit::jws::EdDSA.signer_from_jwk(&jwk).map_err(malformed)?),
            Algorithm::Rs256 => Box::new(josekit::jws::RS256.signer_from_jwk(&jwk).map_err(malformed)?),
            Algorithm::Ps256 => Box::new(josekit::jws::PS256.signer_from_jwk(&jwk).map_err(malformed)?),
        };
        // The JWS header's kid is set by us (a DID URL); the signer must not override it.
        signer = strip_signer_kid(signer);
        let key_id = match jwk.key_id() {
            Some(kid) if !kid.is_empty() => kid.to_string(),
            _ => thumbprint(jwk.as_ref()).ok_or_else(|| KeyError::Malformed {
                origin: origin.into(),
                reason: "the public parameters needed for a thumbprint are missing".into(),
            })?,
        };
        Ok(KeyPair { jwk, algorithm: natural, key_id, signer })
    }

    /// Replaces the key id (the fragment of the verification method in the DID document).
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> KeyPair {
        self.key_id = key_id.into();
        self
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public half, with `kid`, `alg` and `use` set: safe to publish.
    pub fn public_key(&self) -> PublicKey {
        let mut map: Map<String, Value> = Map::new();
        for (name, value) in self.jwk.as_ref() {
            if PUBLIC_MEMBERS.contains(&name.as_str()) {
                map.insert(name.clone(), value.clone());
            }
        }
        map.insert("kid".into(), Value::String(self.key_id.clone()));
        map.insert("alg".into(), Value::String(self.algorithm.name().into()));
        map.insert("use".into(), Value::String("sig".into()));
        PublicKey { jwk: map }
    }

    /// Signs `signing_input` (the `header.payload` part of a compact JWS).
    pub(crate) fn sign_raw(&self, signing_input: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.signer
            .sign(signing_input)
            .map_err(|e| KeyError::Sign { key_id: self.key_id.clone(), reason: e.to_string() })
    }

    /// Writes the private JWK to `path` with mode 0600. Without `overwrite` an existing
    /// file is an error, so a key is never silently replaced.
    pub fn write_jwk_file(&self, path: &Path, overwrite: bool) -> Result<(), KeyError> {
        let err = |source| KeyError::Write { path: path.into(), source };
        let mut options = std::fs::OpenOptions::new();
        options.write(true);
        if overwrite {
            options.create(true).truncate(true);
        } else {
            options.create_new(true);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(err)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(err)?;
        }
        let mut jwk = self.jwk.clone();
        jwk.set_key_id(self.key_id.clone());
        file.write_all(jwk.to_string().as_bytes()).map_err(err)?;
        file.write_all(b"\n").map_err(err)?;
        file.sync_all().map_err(err)
    }
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPair({}, kid={}, <private part redacted>)", self.algorithm, self.key_id)
    }
}

/// JWK members that may be published (RFC 7517/7518 public parameters).
const PUBLIC_MEMBERS: &[&str] = &["kty", "crv", "x", "y", "n", "e"];

fn strip_signer_kid(signer: Box<dyn JwsSigner>) -> Box<dyn JwsSigner> {
    if signer.key_id().is_none() {
        return signer;
    }
    Box::new(NoKid(signer))
}

/// A signer wrapper that reports no key id, so that serializers never inject the JWK's own `kid`.
#[derive(Debug, Clone)]
struct NoKid(Box<dyn JwsSigner>);

impl JwsSigner for NoKid {
    fn algorithm(&self) -> &dyn josekit::jws::JwsAlgorithm {
        self.0.algorithm()
    }
    fn key_id(&self) -> Option<&str> {
        None
    }
    fn signature_len(&self) -> usize {
        self.0.signature_len()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, josekit::JoseError> {
        self.0.sign(message)
    }
    fn box_clone(&self) -> Box<dyn JwsSigner> {
        Box::new(self.clone())
    }
}

/// RFC 7638 JWK thumbprint: SHA-256 over the required public members in lexicographic order.
pub fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty").and_then(Value::as_str)? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        let value = jwk.get(*name)?.as_str()?;
        if i > 0 {
            canonical.push(',');
        }
        canonical.push_str(&format!("\"{name}\":{}", Value::String(value.into())));
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// A published verification key (the `publicKeyJwk` of a verification method).
#[derive(Clone, PartialEq)]
pub struct PublicKey {
    jwk: Map<String, Value>,
}

/// Why a published key cannot verify a given signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicKeyError {
    #[error("the key is not a JWK object")]
    NotAnObject,
    #[error("the key holds private material (`d`); a DID document must publish public keys only")]
    ContainsPrivatePart,
    #[error("a {kty}{} key cannot verify {algorithm}", crv.as_deref().map(|c| format!(" {c}")).unwrap_or_default())]
    WrongKeyType { kty: String, crv: Option<String>, algorithm: Algorithm },
    #[error("the key declares alg {declared} but the token uses {algorithm}")]
    WrongAlgorithm { declared: String, algorithm: Algorithm },
    #[error("the key is not a valid {algorithm} public key: {reason}")]
    Invalid { algorithm: Algorithm, reason: String },
}

impl PublicKey {
    /// Wraps a `publicKeyJwk` value as found in a DID document.
    pub fn from_jwk_value(value: &Value) -> Result<PublicKey, PublicKeyError> {
        let jwk = value.as_object().ok_or(PublicKeyError::NotAnObject)?;
        if jwk.contains_key("d") {
            return Err(PublicKeyError::ContainsPrivatePart);
        }
        Ok(PublicKey { jwk: jwk.clone() })
    }

    pub fn jwk(&self) -> &Map<String, Value> {
        &self.jwk
    }

    pub fn key_id(&self) -> Option<&str> {
        self.jwk.get("kid").and_then(Value::as_str)
    }

    /// A verifier for `algorithm`, refusing keys of another type or declared algorithm.
    ///
    /// Verifiers are kept per algorithm and key material ([`VERIFIERS`]): building one decodes and checks the
    /// public point, which costs twice the verification itself (ES256: 127 µs against 64 µs, BENCHMARKS.md),
    /// and the same few keys sign every token a connector receives. The cache is keyed by the key itself, so
    /// a rotated-out key is never reached through it: its lookup in the DID document fails first.
    pub fn verifier(&self, algorithm: Algorithm) -> Result<Arc<dyn JwsVerifier>, PublicKeyError> {
        let kty = self.jwk.get("kty").and_then(Value::as_str).unwrap_or("");
        let crv = self.jwk.get("crv").and_then(Value::as_str);
        if !algorithm.fits(kty, crv) {
            return Err(PublicKeyError::WrongKeyType { kty: kty.to_string(), crv: crv.map(str::to_string), algorithm });
        }
        if let Some(declared) = self.jwk.get("alg").and_then(Value::as_str)
            && declared != algorithm.name()
        {
            return Err(PublicKeyError::WrongAlgorithm { declared: declared.into(), algorithm });
        }
        // Our own checks above already cover alg/kty; drop them so josekit's checks cannot
        // disagree with a `kid` or `use` written by another implementation.
        let mut map = self.jwk.clone();
        map.remove("kid");
        map.remove("alg");
        map.remove("key_ops");
        map.remove("use");
        // `Map` keeps its members sorted, so equal keys serialise alike.
        let material = Value::Object(map.clone()).to_string();
        let cached = lock(&VERIFIERS).get(&(algorithm, material.clone())).cloned();
        if let Some(verifier) = cached {
            return Ok(verifier);
        }
        let invalid = |e: josekit::JoseError| PublicKeyError::Invalid { algorithm, reason: e.to_string() };
        let jwk = |map| Jwk::from_map(map).map_err(invalid);
        let verifier: Arc<dyn JwsVerifier> = match algorithm {
            Algorithm::Es256 => Arc::new(crate::es256::Es256Verifier::from_jwk(&map).map_err(invalid)?),
            Algorithm::EdDsa => Arc::new(josekit::jws::EdDSA.verifier_from_jwk(&jwk(map)?).map_err(invalid)?),
            Algorithm::Rs256 => Arc::new(josekit::jws::RS256.verifier_from_jwk(&jwk(map)?).map_err(invalid)?),
            Algorithm::Ps256 => Arc::new(josekit::jws::PS256.verifier_from_jwk(&jwk(map)?).map_err(invalid)?),
        };
        Ok(keep_verifier(algorithm, material, verifier))
    }
}

/// Keeps `verifier` in [`VERIFIERS`] for the key `material` and gives it back.
fn keep_verifier(algorithm: Algorithm, material: String, verifier: Arc<dyn JwsVerifier>) -> Arc<dyn JwsVerifier> {
    let mut verifiers = lock(&VERIFIERS);
    if verifiers.len() >= MAX_VERIFIERS {
        // Far more keys than a data space's participants rotate through: start over rather than track use.
        verifiers.clear();
    }
    verifiers.insert((algorithm, material), verifier.clone());
    verifier
}

/// Most verifiers kept by [`PublicKey::verifier`].
const MAX_VERIFIERS: usize = 1024;

/// Verifiers by algorithm and key material (the JWK without `kid`, `alg`, `use`, `key_ops`, serialised).
type Verifiers = HashMap<(Algorithm, String), Arc<dyn JwsVerifier>>;

/// Verifiers built from published keys.
static VERIFIERS: LazyLock<Mutex<Verifiers>> = LazyLock::new(Mutex::default);

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Only whole entries are ever inserted: a panic elsewhere leaves the map usable.
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", Value::Object(self.jwk.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_verifiers_are_those_of_the_key_itself_not_of_its_kid() {
        let (one, two) = (KeyPair::generate_es256().unwrap(), KeyPair::generate_es256().unwrap());
        let signed = one.sign_raw(b"input").unwrap();
        // The same `kid` on both published keys: a verifier kept for the first must not serve the second.
        let published = |key: &KeyPair| {
            let mut jwk = key.public_key().jwk().clone();
            jwk.insert("kid".into(), Value::String("did:web:example.com#key-1".into()));
            PublicKey::from_jwk_value(&Value::Object(jwk)).unwrap()
        };
        for _ in 0..2 {
            assert!(published(&one).verifier(Algorithm::Es256).unwrap().verify(b"input", &signed).is_ok());
            assert!(published(&two).verifier(Algorithm::Es256).unwrap().verify(b"input", &signed).is_err());
        }
        // Checks of the key against the algorithm still run for a kept verifier.
        assert!(matches!(published(&one).verifier(Algorithm::EdDsa), Err(PublicKeyError::WrongKeyType { .. })));
    }

    #[test]
    fn generated_keys_carry_their_thumbprint_and_hide_the_private_part() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let key = KeyPair::generate(alg).unwrap();
            assert_eq!(key.algorithm(), alg);
            assert_eq!(key.key_id().len(), 43);
            let public = key.public_key();
            assert!(public.jwk().get("d").is_none());
            assert_eq!(thumbprint(public.jwk()).as_deref(), Some(key.key_id()));
            let debug = format!("{key:?}");
            assert!(debug.contains("redacted") && !debug.contains("\"d\""), "{debug}");
        }
    }

    #[test]
    fn rfc7638_thumbprint_example() {
        // The RSA key of RFC 7638 section 3.1 and its published thumbprint.
        let jwk: Value = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk.as_object().unwrap()).as_deref(),
            Some("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs")
        );
    }

    #[test]
    fn key_files_round_trip_and_insecure_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.jwk");
        let key = KeyPair::generate_es256().unwrap();
        key.write_jwk_file(&path, false).unwrap();
        assert!(matches!(key.write_jwk_file(&path, false), Err(KeyError::Write { .. })));
        let back = KeyPair::from_jwk_file(&path).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(back.public_key(), key.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = KeyPair::from_jwk_file(&path).unwrap_err();
            assert!(matches!(err, KeyError::InsecurePermissions { mode: 0o644, .. }), "{err}");
            assert!(err.to_string().contains("chmod 600"));
        }
    }

    /// The exact shape `passerelle init` writes (connector/src/secrets.rs): an EC P-256
    /// private JWK with alg ES256, use sig, kid = thumbprint, and a trailing newline.
    #[test]
    fn loads_the_file_written_by_passerelle_init() {
        let mut jwk = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
        jwk.set_algorithm("ES256");
        jwk.set_key_use("sig");
        let kid = thumbprint(jwk.as_ref()).unwrap();
        jwk.set_key_id(kid.clone());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.jwk");
        std::fs::write(&path, format!("{jwk}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let key = KeyPair::from_jwk_file(&path).unwrap();
        assert_eq!(key.key_id(), kid);
        assert_eq!(key.algorithm(), Algorithm::Es256);
    }

    #[test]
    fn bad_key_material_is_refused_with_a_reason() {
        assert!(matches!(KeyPair::from_jwk_bytes(b"{nope", "t"), Err(KeyError::Malformed { .. })));
        assert!(matches!(
            KeyPair::from_jwk_bytes(br#"{"kty":"oct","k":"AAAA"}"#, "t"),
            Err(KeyError::Unsupported { .. })
        ));
        let public = KeyPair::generate_es256().unwrap().public_key();
        let text = Value::Object(public.jwk().clone()).to_string();
        assert!(matches!(KeyPair::from_jwk_bytes(text.as_bytes(), "t"), Err(KeyError::NotPrivate { .. })));
        let mut jwk = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256).unwrap();
        jwk.set_algorithm("ES384");
        assert!(matches!(
            KeyPair::from_jwk_bytes(jwk.to_string().as_bytes(), "t"),
            Err(KeyError::AlgorithmMismatch { .. })
        ));
    }

    #[test]
    fn keys_come_from_the_environment() {
        let key = KeyPair::generate_ed25519().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.jwk");
        key.write_jwk_file(&path, false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        // The environment is not mutated: set_var races with getenv in other test threads.
        let back = KeyPair::from_env_value("PASSERELLE_KEY", Some(text)).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        let err = KeyPair::from_env("PASSERELLE_IDENTITY_TEST_UNSET").unwrap_err();
        assert!(matches!(err, KeyError::MissingEnv { .. }));
        let err = KeyPair::from_env_value("PASSERELLE_KEY", Some("{".into())).unwrap_err();
        assert!(err.to_string().contains("environment variable PASSERELLE_KEY"), "{err}");
    }

    #[test]
    fn public_keys_refuse_foreign_algorithms() {
        let ec = KeyPair::generate_es256().unwrap().public_key();
        assert!(ec.verifier(Algorithm::Es256).is_ok());
        assert!(matches!(ec.verifier(Algorithm::EdDsa), Err(PublicKeyError::WrongKeyType { .. })));
        assert!(matches!(ec.verifier(Algorithm::Rs256), Err(PublicKeyError::WrongKeyType { .. })));
        let with_d = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "a", "y": "b", "d": "c"});
        assert_eq!(PublicKey::from_jwk_value(&with_d), Err(PublicKeyError::ContainsPrivatePart));
        let garbage = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"});
        let key = PublicKey::from_jwk_value(&garbage).unwrap();
        assert!(matches!(key.verifier(Algorithm::Es256), Err(PublicKeyError::Invalid { .. })));
    }
}
