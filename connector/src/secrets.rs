//! Secret material: the management API key, and writing secret files.
//!
//! Secrets live in files readable only by their owner (mode 0600). The signing key
//! is a `passerelle_identity::keys::KeyPair` (see `crate::identity`); the API key's
//! `Debug` form never shows the secret, so it cannot leak through logs or errors.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    #[error("the operating system's random generator failed: {0}")]
    Random(String),
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
}
