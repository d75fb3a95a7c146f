//! The published key set: every public key the DID document lists.
//!
//! The signing key is always the newest. A rotation publishes a fresh key and keeps the
//! previous one listed, so that tokens and credentials it signed still verify, until the
//! operator retires it. Only public halves are kept here (`<identity dir>/keys.json`);
//! the private key lives in the signing key file (0600) or the environment.

use std::path::{Path, PathBuf};

use passerelle_identity::keys::{Algorithm, KeyPair, PublicKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::IdentityError;

/// File name of the key set inside the identity folder.
pub const KEYS_FILE: &str = "keys.json";

/// One published public key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PublishedKey {
    pub kid: String,
    pub alg: String,
    /// Unix time the key was first published.
    pub added: i64,
    #[serde(rename = "publicKeyJwk")]
    pub public_jwk: Value,
}

impl PublishedKey {
    pub fn of(key: &KeyPair, added: i64) -> PublishedKey {
        PublishedKey {
            kid: key.key_id().to_string(),
            alg: key.algorithm().name().to_string(),
            added,
            public_jwk: Value::Object(key.public_key().jwk().clone()),
        }
    }

    pub fn public_key(&self) -> Result<PublicKey, IdentityError> {
        PublicKey::from_jwk_value(&self.public_jwk).map_err(|e| IdentityError::KeySet {
            reason: format!("key `{}` is not a usable public JWK: {e}", self.kid),
        })
    }
}

/// The keys the DID document publishes, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KeySet {
    pub keys: Vec<PublishedKey>,
}

impl KeySet {
    /// Reads `<dir>/keys.json`; a missing file is an empty set.
    pub fn read(dir: &Path) -> Result<KeySet, IdentityError> {
        let path = dir.join(KEYS_FILE);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| IdentityError::KeySet { reason: format!("{} is not a key set: {e}", path.display()) }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(KeySet::default()),
            Err(source) => Err(IdentityError::Io { path, source }),
        }
    }

    /// Writes `<dir>/keys.json` atomically (temporary file, then rename).
    pub fn write(&self, dir: &Path) -> Result<(), IdentityError> {
        std::fs::create_dir_all(dir).map_err(|source| IdentityError::Io { path: dir.to_path_buf(), source })?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| IdentityError::KeySet { reason: format!("cannot serialize the key set: {e}") })?;
        write_atomically(&dir.join(KEYS_FILE), text.as_bytes())
    }

    pub fn contains(&self, kid: &str) -> bool {
        self.keys.iter().any(|k| k.kid == kid)
    }

    /// Adds `key` unless a key with its id is already published. Returns whether it was added.
    pub fn publish(&mut self, key: &KeyPair, now: i64) -> bool {
        if self.contains(key.key_id()) {
            return false;
        }
        self.keys.push(PublishedKey::of(key, now));
        true
    }

    /// Removes `kid`; refuses to remove the key currently signing.
    pub fn retire(&mut self, kid: &str, signing_kid: &str) -> Result<PublishedKey, IdentityError> {
        if kid == signing_kid {
            return Err(IdentityError::RetireSigningKey { kid: kid.to_string() });
        }
        let index = self.keys.iter().position(|k| k.kid == kid).ok_or_else(|| IdentityError::UnknownKey {
            kid: kid.to_string(),
            published: self.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>().join(", "),
        })?;
        Ok(self.keys.remove(index))
    }
}

/// A fresh key with the same algorithm as `current` (or `algorithm` when given).
pub fn next_key(current: &KeyPair, algorithm: Option<Algorithm>) -> Result<KeyPair, IdentityError> {
    let algorithm = algorithm.unwrap_or(current.algorithm());
    KeyPair::generate(algorithm).map_err(|e| IdentityError::Key(e.to_string()))
}

/// Replaces the private key file with `key`: written beside it (0600), then renamed over it,
/// so a crash leaves either the old or the new key, never half a file.
pub fn replace_key_file(path: &Path, key: &KeyPair) -> Result<(), IdentityError> {
    let temporary = sibling(path, ".new");
    let _ = std::fs::remove_file(&temporary);
    key.write_jwk_file(&temporary, false).map_err(|e| IdentityError::Key(e.to_string()))?;
    std::fs::rename(&temporary, path).map_err(|source| IdentityError::Io { path: path.to_path_buf(), source })
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), IdentityError> {
    use std::io::Write;
    let temporary = sibling(path, ".tmp");
    let io = |source| IdentityError::Io { path: path.to_path_buf(), source };
    let mut file = std::fs::File::create(&temporary).map_err(io)?;
    file.write_all(bytes).map_err(io)?;
    file.sync_all().map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_published_once_and_the_signing_key_cannot_be_retired() {
        let dir = tempfile::tempdir().unwrap();
        let old = KeyPair::generate_es256().unwrap();
        let new = next_key(&old, None).unwrap();
        assert_eq!(new.algorithm(), Algorithm::Es256);
        assert_ne!(new.key_id(), old.key_id());

        let mut set = KeySet::read(dir.path()).unwrap();
        assert!(set.keys.is_empty());
        assert!(set.publish(&old, 1));
        assert!(!set.publish(&old, 2), "publishing twice keeps one entry");
        assert!(set.publish(&new, 3));
        set.write(dir.path()).unwrap();
        let back = KeySet::read(dir.path()).unwrap();
        assert_eq!(back, set);
        assert!(back.keys[0].public_key().is_ok());
        assert!(!back.keys[0].public_jwk.as_object().unwrap().contains_key("d"), "no private part is published");

        let mut set = back;
        assert!(matches!(set.retire(new.key_id(), new.key_id()), Err(IdentityError::RetireSigningKey { .. })));
        assert!(matches!(set.retire("nope", new.key_id()), Err(IdentityError::UnknownKey { .. })));
        assert_eq!(set.retire(old.key_id(), new.key_id()).unwrap().kid, old.key_id());
        assert_eq!(set.keys.len(), 1);
    }

    #[test]
    fn a_replaced_key_file_holds_the_new_key_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("signing-key.jwk");
        let old = KeyPair::generate_ed25519().unwrap();
        old.write_jwk_file(&path, false).unwrap();
        let new = next_key(&old, None).unwrap();
        replace_key_file(&path, &new).unwrap();
        let read = KeyPair::from_jwk_file(&path).unwrap();
        assert_eq!(read.key_id(), new.key_id());
        assert_eq!(read.algorithm(), Algorithm::EdDsa);
    }
}
