//! Replay protection: every token id (`jti`) is accepted once.

use std::collections::HashMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

/// Remembers token ids until they can no longer be replayed (the token expired).
/// The connector may back this with its database so that replays across restarts
/// and replicas are caught too.
pub trait JtiStore: Send + Sync {
    /// Records `jti` of `issuer` until `expires_at` (Unix seconds). Returns `Ok(false)`
    /// when it was already recorded and has not expired by `now`.
    fn remember<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, String>>;
}

/// A process-local store. Expired ids are pruned as new ones arrive.
#[derive(Debug, Default)]
pub struct InMemoryJtiStore {
    seen: Mutex<HashMap<(String, String), i64>>,
}

impl InMemoryJtiStore {
    pub fn new() -> InMemoryJtiStore {
        InMemoryJtiStore::default()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), i64>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Prune when the map reaches this size; tokens live minutes, so it stays small.
const PRUNE_AT: usize = 4096;

impl JtiStore for InMemoryJtiStore {
    fn remember<'a>(
        &'a self,
        issuer: &'a str,
        jti: &'a str,
        expires_at: i64,
        now: i64,
    ) -> BoxFuture<'a, Result<bool, String>> {
        let fresh = {
            let mut seen = self.lock();
            if seen.len() >= PRUNE_AT {
                seen.retain(|_, until| *until > now);
            }
            let key = (issuer.to_string(), jti.to_string());
            match seen.get(&key) {
                Some(until) if *until > now => false,
                _ => {
                    seen.insert(key, expires_at);
                    true
                }
            }
        };
        Box::pin(async move { Ok(fresh) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;

    #[test]
    fn a_jti_is_accepted_once_per_issuer() {
        let store = InMemoryJtiStore::new();
        assert!(block_on(store.remember("did:web:a", "1", 100, 0)).unwrap());
        assert!(!block_on(store.remember("did:web:a", "1", 100, 50)).unwrap());
        assert!(block_on(store.remember("did:web:b", "1", 100, 50)).unwrap());
        // After expiry the id may be forgotten: the token itself is refused as expired anyway.
        assert!(block_on(store.remember("did:web:a", "1", 300, 100)).unwrap());
    }

    #[test]
    fn expired_ids_are_pruned() {
        let store = InMemoryJtiStore::new();
        for i in 0..PRUNE_AT {
            block_on(store.remember("i", &i.to_string(), 10, 0)).unwrap();
        }
        block_on(store.remember("i", "last", 100, 20)).unwrap();
        assert_eq!(store.len(), 1);
    }
}
