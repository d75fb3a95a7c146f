//! Secret material: the management API key and the participant's signing key.
//!
//! Both live in files readable only by their owner (mode 0600). Their `Debug`
//! forms never show the secret, so they cannot leak through logs or errors.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use josekit::jwk::Jwk;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Why secret material could not be created or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read {}: {source}; run `passerelle init` or fix the path in the configuration", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is empty or too short to be an API key; write at least 16 random characters into it", path.display())]
    WeakApiKey { path: PathBuf },
    #[error("{} is not a usable ES256 private key in JWK form: {reason}", path.display())]
    BadSigningKey { path: PathBuf, reason: String },
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
    #[error("cannot generate a signing key: {0}")]
    KeyGeneration(String),
}

/// The management API key. Compared in constant time; never printed.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn new(value: impl Into<String>) -> ApiKey {
        ApiKey(value.into())
    }

    /// A fresh key: 32 random bytes as lower-case hex.
    pub fn generate() -> Result<ApiKey, SecretError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| SecretError::Random(e.to_string()))?;
        Ok(ApiKey(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Reads a key file (surrounding whitespace ignored).
    pub fn read(path: &Path) -> Result<ApiKey, SecretError> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretError::Read { path: path.into(), source })?;
        let key = text.trim();
        if key.len() < 16 {
            return Err(SecretError::WeakApiKey { path: path.into() });
        }
        Ok(ApiKey(key.to_string()))
    }

    /// Constant-time comparison. Both sides are hashed first so that neither the
    /// content nor the length of the real key shows in the timing.
    pub fn matches(&self, candidate: &str) -> bool {
        let a = Sha256::digest(self.0.as_bytes());
        let b = Sha256::digest(candidate.as_bytes());
        a.ct_eq(&b).into()
    }

    /// The secret itself, for writing it to its file once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// The participant's ES256 signing key pair as a JWK (private part included).
#[derive(Clone)]
pub struct SigningKey {
    jwk: Jwk,
}

impl SigningKey {
    /// A fresh P-256 key whose `kid` is its RFC 7638 thumbprint.
    pub fn generate() -> Result<SigningKey, SecretError> {
        let mut jwk = Jwk::generate_ec_key(josekit::jwk::alg::ec::EcCurve::P256)
            .map_err(|e| SecretError::KeyGeneration(e.to_string()))?;
        jwk.set_algorithm("ES256");
        jwk.set_key_use("sig");
        let kid = thumbprint(&jwk).ok_or_else(|| SecretError::KeyGeneration("generated key lacks x/y".into()))?;
        jwk.set_key_id(kid);
        Ok(SigningKey { jwk })
    }

    /// Reads and checks a JWK file: it must hold an EC P-256 private key usable for ES256.
    pub fn read(path: &Path) -> Result<SigningKey, SecretError> {
        let bytes = std::fs::read(path).map_err(|source| SecretError::Read { path: path.into(), source })?;
        let bad = |reason: String| SecretError::BadSigningKey { path: path.into(), reason };
        let jwk = Jwk::from_bytes(&bytes).map_err(|e| bad(e.to_string()))?;
        if jwk.key_type() != "EC" || jwk.curve() != Some("P-256") {
            return Err(bad(format!("expected kty EC and crv P-256, found kty {}", jwk.key_type())));
        }
        josekit::jws::ES256.signer_from_jwk(&jwk).map_err(|e| bad(e.to_string()))?;
        Ok(SigningKey { jwk })
    }

    pub fn key_id(&self) -> Option<&str> {
        self.jwk.key_id()
    }

    /// The public half, safe to publish (DID document, JWKS) — used by the identity work.
    pub fn public_jwk(&self) -> Result<Jwk, SecretError> {
        self.jwk.to_public_key().map_err(|e| SecretError::KeyGeneration(e.to_string()))
    }

    fn to_json(&self) -> String {
        self.jwk.to_string()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey(kid={:?}, <private part redacted>)", self.key_id())
    }
}

/// RFC 7638 JWK thumbprint of an EC key: SHA-256 over the required members in lexicographic order.
fn thumbprint(jwk: &Jwk) -> Option<String> {
    let s = |name: &str| jwk.parameter(name).and_then(|v| v.as_str());
    let canonical = format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, s("crv")?, s("x")?, s("y")?);
    Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())))
}

/// Writes `contents` to `path` readable by the owner only (0600). With `overwrite`
/// false an existing file is an error, so secrets are never silently replaced.
pub fn write_secret_file(path: &Path, contents: &str, overwrite: bool) -> Result<(), SecretError> {
    let err = |source| SecretError::Write { path: path.into(), source };
    if let Some(dir) = path.parent() {
        create_private_dir(dir).map_err(err)?;
    }
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
    // An existing file keeps its old mode on truncate: force 0600 again.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(err)?;
    }
    file.write_all(contents.as_bytes()).map_err(err)?;
    file.write_all(b"\n").map_err(err)?;
    file.sync_all().map_err(err)
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Writes a signing key file (0600).
pub fn write_signing_key(path: &Path, key: &SigningKey, overwrite: bool) -> Result<(), SecretError> {
    write_secret_file(path, &key.to_json(), overwrite)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_random_and_compare_exactly() {
        let a = ApiKey::generate().unwrap();
        let b = ApiKey::generate().unwrap();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(""));
        assert!(!a.matches(&a.expose()[..63]));
        assert!(!format!("{a:?}").contains(a.expose()));
    }

    #[test]
    fn secret_files_are_private_and_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets/api-key");
        write_secret_file(&path, "0123456789abcdef0123", false).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().permissions().mode() & 0o777, 0o700);
        }
        assert!(write_secret_file(&path, "other", false).is_err());
        assert!(ApiKey::read(&path).unwrap().matches("0123456789abcdef0123"));
        write_secret_file(&path, "short", true).unwrap();
        assert!(matches!(ApiKey::read(&path), Err(SecretError::WeakApiKey { .. })));
    }

    #[test]
    fn signing_key_round_trips_through_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.jwk");
        let key = SigningKey::generate().unwrap();
        write_signing_key(&path, &key, false).unwrap();
        let back = SigningKey::read(&path).unwrap();
        assert_eq!(back.key_id(), key.key_id());
        assert_eq!(key.key_id().map(str::len), Some(43));
        let public = back.public_jwk().unwrap();
        assert!(public.parameter("d").is_none());
        assert!(!format!("{back:?}").contains("\"d\""));
    }

    #[test]
    fn broken_signing_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.jwk");
        std::fs::write(&path, "{not json").unwrap();
        assert!(matches!(SigningKey::read(&path), Err(SecretError::BadSigningKey { .. })));
        std::fs::write(&path, r#"{"kty":"oct","k":"AAAA"}"#).unwrap();
        assert!(matches!(SigningKey::read(&path), Err(SecretError::BadSigningKey { .. })));
        let public = SigningKey::generate().unwrap().public_jwk().unwrap();
        std::fs::write(&path, public.to_string()).unwrap();
        assert!(matches!(SigningKey::read(&path), Err(SecretError::BadSigningKey { .. })));
        assert!(matches!(SigningKey::read(&dir.path().join("missing")), Err(SecretError::Read { .. })));
    }
}
