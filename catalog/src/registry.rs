//! Who the catalogue crawls: the participant registry seen through the
//! [`Registry`] trait, so that the data-space authority (issuing membership
//! credentials and revoking them) can plug in later without touching the crawler.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// Where a participant stands in the data space. Only [`ParticipantStatus::Active`]
/// participants are crawled; the entries of any other disappear on the next crawl.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantStatus {
    Active,
    /// Temporarily excluded by the operator (e.g. unpaid membership).
    Suspended,
    /// Membership credential revoked.
    Revoked,
    /// Membership credential past its validity.
    Expired,
}

/// One registered participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// Participant id (its DID once identities are in place), e.g. `did:web:distributor.example`.
    pub id: String,
    /// The participant's DSP address, e.g. `https://distributor.example/dsp/2025-1`:
    /// the catalog is requested at `<address>/catalog/request`.
    #[serde(rename = "protocolAddress")]
    pub protocol_address: String,
    /// Role from the membership credential: `distributor`, `lab`, `broadcaster`, `producer`…
    pub role: String,
    pub status: ParticipantStatus,
}

impl Participant {
    pub fn active(id: impl Into<String>, protocol_address: impl Into<String>, role: impl Into<String>) -> Self {
        Participant {
            id: id.into(),
            protocol_address: protocol_address.into(),
            role: role.into(),
            status: ParticipantStatus::Active,
        }
    }
}

/// Why the registry could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the participant registry could not be read: {0}")]
pub struct RegistryError(pub String);

/// The list of participants the catalogue knows.
pub trait Registry: Send + Sync + 'static {
    /// Every registered participant, whatever its status.
    fn participants(&self) -> impl Future<Output = Result<Vec<Participant>, RegistryError>> + Send;
}

/// A registry held in memory (tests, and a catalogue configured with a fixed list).
#[derive(Debug, Clone, Default)]
pub struct MemoryRegistry {
    participants: Arc<RwLock<BTreeMap<String, Participant>>>,
}

impl MemoryRegistry {
    pub fn new(participants: impl IntoIterator<Item = Participant>) -> Self {
        let registry = MemoryRegistry::default();
        for p in participants {
            registry.upsert(p);
        }
        registry
    }

    /// Adds the participant, or replaces the one with the same id.
    pub fn upsert(&self, participant: Participant) {
        let mut map = self.participants.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.insert(participant.id.clone(), participant);
    }

    /// Changes a participant's status; false when no participant has this id.
    pub fn set_status(&self, id: &str, status: ParticipantStatus) -> bool {
        let mut map = self.participants.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        match map.get_mut(id) {
            Some(p) => {
                p.status = status;
                true
            }
            None => false,
        }
    }

    /// Forgets a participant; false when no participant has this id.
    pub fn remove(&self, id: &str) -> bool {
        let mut map = self.participants.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.remove(id).is_some()
    }

    fn snapshot(&self) -> Vec<Participant> {
        let map = self.participants.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        map.values().cloned().collect()
    }
}

impl Registry for MemoryRegistry {
    async fn participants(&self) -> Result<Vec<Participant>, RegistryError> {
        Ok(self.snapshot())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_registry_tracks_status_changes() {
        let registry = MemoryRegistry::new([Participant::active("did:web:a", "http://a/dsp/2025-1", "distributor")]);
        assert!(registry.set_status("did:web:a", ParticipantStatus::Revoked));
        assert!(!registry.set_status("did:web:b", ParticipantStatus::Revoked));
        let all = registry.participants().await.unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].status, ParticipantStatus::Revoked);
        assert!(registry.remove("did:web:a"));
        assert!(registry.participants().await.unwrap().is_empty());
    }
}
