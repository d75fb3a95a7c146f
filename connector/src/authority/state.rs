//! The authority's member records in one JSON file, replaced atomically on every change.

use std::path::PathBuf;

use futures::future::BoxFuture;
use passerelle_identity::authority::{AuthorityState, AuthorityStore};

use super::AuthorityServiceError;

/// Saves [`AuthorityState`] to a file (temporary file + rename, so a crash never leaves half a state).
#[derive(Debug, Clone)]
pub struct FileAuthorityStore {
    path: PathBuf,
}

impl FileAuthorityStore {
    pub fn new(path: PathBuf) -> FileAuthorityStore {
        FileAuthorityStore { path }
    }

    /// The saved state; a missing file is a fresh authority.
    pub fn load(&self) -> Result<AuthorityState, AuthorityServiceError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| AuthorityServiceError::State(format!("{} cannot be read: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AuthorityState::default()),
            Err(source) => Err(AuthorityServiceError::Io { path: self.path.clone(), source }),
        }
    }
}

impl AuthorityStore for FileAuthorityStore {
    fn save<'a>(&'a self, state: &'a AuthorityState) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let text = serde_json::to_vec_pretty(state).map_err(|e| e.to_string())?;
            crate::identity::keyset::write_atomically(&self.path, &text).map_err(|e| e.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_identity::authority::MemberRecord;
    use passerelle_identity::vc::membership::Role;

    #[tokio::test]
    async fn state_survives_a_round_trip_and_a_missing_file_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileAuthorityStore::new(dir.path().join("state.json"));
        assert_eq!(store.load().unwrap(), AuthorityState::default());
        let mut state = AuthorityState::default();
        state.members.insert(
            "urn:uuid:1".into(),
            MemberRecord {
                credential_id: "urn:uuid:1".into(),
                did: "did:web:lab.example".into(),
                role: Role::Lab,
                legal_name: "Lab SA".into(),
                country: "FR".into(),
                status_index: 7,
                issued_at: 1,
                valid_until: 2,
                revoked: false,
                suspended: true,
            },
        );
        store.save(&state).await.unwrap();
        assert_eq!(store.load().unwrap(), state);
        std::fs::write(dir.path().join("state.json"), "{").unwrap();
        assert!(store.load().is_err());
    }
}
