//! What a verifier remembers of a caller's verified presentation, so that a caller sending
//! many DSP messages under one access token is queried once per token, not once per message.
//!
//! Soundness: every request still carries a fresh self-issued ID token that is verified in
//! full (signature, audience, lifetime, replayed `jti`); only the presentation query and the
//! checks of the credentials it returned are skipped. An entry is keyed by the caller's DID
//! *and* the access token, so a new token (or another caller) always gets a fresh query, and
//! it expires at the earliest of: the access token's own `exp`, the earliest `validUntil` of
//! the credentials, and the status-list TTL after the check (a revocation is therefore seen
//! within the same bound as without the cache: the status list is itself cached that long).

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::VerifiedParticipant;

/// Entries kept at most; beyond it expired entries are swept and, if still full, nothing new is cached.
pub const MAX_ENTRIES: usize = 10_000;

/// Verified participants by (caller DID, SHA-256 of the access token).
#[derive(Debug, Default)]
pub struct PresentationCache {
    entries: Mutex<HashMap<Key, Cached>>,
}

type Key = (String, [u8; 32]);

#[derive(Debug, Clone)]
struct Cached {
    participant: VerifiedParticipant,
    until: OffsetDateTime,
}

impl PresentationCache {
    pub fn new() -> PresentationCache {
        PresentationCache::default()
    }

    /// The participant verified earlier for this caller and access token, if still fresh at `now`.
    pub fn get(&self, caller: &str, access_token: &str, now: OffsetDateTime) -> Option<VerifiedParticipant> {
        let key = key(caller, access_token);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(&key) {
            Some(cached) if now < cached.until => Some(cached.participant.clone()),
            Some(_) => {
                entries.remove(&key);
                None
            }
            None => None,
        }
    }

    /// Remembers `participant` until `until` (nothing is kept when `until` is not after `now`).
    pub fn put(
        &self,
        caller: &str,
        access_token: &str,
        participant: &VerifiedParticipant,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) {
        if until <= now {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, cached| now < cached.until);
            if entries.len() >= MAX_ENTRIES {
                return;
            }
        }
        entries.insert(key(caller, access_token), Cached { participant: participant.clone(), until });
    }

    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn key(caller: &str, access_token: &str) -> Key {
    (caller.to_string(), Sha256::digest(access_token.as_bytes()).into())
}

/// The `exp` claim of a compact JWS, read without checking its signature. The access token
/// is the caller's capability towards its own credential service, opaque to us; its `exp`
/// only shortens how long we cache, and the credential service checks the token for real.
pub fn unverified_expiry(jws: &str) -> Option<OffsetDateTime> {
    let payload = jws.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    OffsetDateTime::from_unix_timestamp(claims.get("exp")?.as_i64()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::did::Did;
    use crate::vc::membership::Role;
    use passerelle_media::Territory;
    use time::Duration;

    fn participant(did: &str) -> VerifiedParticipant {
        VerifiedParticipant {
            did: Did::parse(did).unwrap(),
            role: Role::Lab,
            legal_name: "Lab".into(),
            country: Territory::parse("FR").unwrap(),
            credential_types: vec![],
        }
    }

    #[test]
    fn entries_are_per_caller_and_token_and_expire() {
        let cache = PresentationCache::new();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let lab = participant("did:web:lab.example");
        cache.put("did:web:lab.example", "token-1", &lab, now, now + Duration::seconds(60));
        assert_eq!(cache.get("did:web:lab.example", "token-1", now), Some(lab.clone()));
        assert_eq!(cache.get("did:web:lab.example", "token-2", now), None, "another token is queried afresh");
        assert_eq!(cache.get("did:web:other.example", "token-1", now), None, "another caller never hits");
        assert_eq!(cache.get("did:web:lab.example", "token-1", now + Duration::seconds(60)), None, "expired");
        assert!(cache.is_empty(), "an expired entry is dropped when met");
        cache.put("did:web:lab.example", "token-1", &lab, now, now);
        assert!(cache.is_empty(), "nothing kept without a future expiry");
    }

    #[test]
    fn a_full_cache_sweeps_expired_entries_and_never_grows_past_its_bound() {
        let cache = PresentationCache::new();
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let lab = participant("did:web:lab.example");
        for i in 0..MAX_ENTRIES {
            cache.put("did:web:lab.example", &format!("t{i}"), &lab, now, now + Duration::seconds(1));
        }
        cache.put("did:web:lab.example", "late", &lab, now, now + Duration::seconds(10));
        assert_eq!(cache.len(), MAX_ENTRIES, "full of live entries: the new one is not kept");
        let later = now + Duration::seconds(2);
        cache.put("did:web:lab.example", "later", &lab, later, later + Duration::seconds(10));
        assert_eq!(cache.len(), 1, "expired entries swept");
    }

    #[test]
    fn the_expiry_of_a_token_is_read_from_its_payload() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"exp":1800000060,"iss":"did:web:lab.example"}"#);
        let jws = format!("e30.{payload}.c2ln");
        assert_eq!(unverified_expiry(&jws), OffsetDateTime::from_unix_timestamp(1_800_000_060).ok());
        assert_eq!(unverified_expiry("not a token"), None);
        assert_eq!(unverified_expiry("e30.e30.c2ln"), None, "no exp");
    }
}
