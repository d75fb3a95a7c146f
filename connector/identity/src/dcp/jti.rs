//! Replay protection: every token id (`jti`) is accepted once.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
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

/// A process-local store. Expired ids are forgotten as new ones arrive, oldest expiry first: a live id is
/// never looked at again until it expires (at 1,000 negotiations/s some 200,000 ids are live at once, and a
/// scan of them all per token took 6 % of a provider's CPU).
#[derive(Debug, Default)]
pub struct InMemoryJtiStore {
    seen: Mutex<Seen>,
}

type Key = (String, String);

#[derive(Debug, Default)]
struct Seen {
    until: HashMap<Key, i64>,
    /// Every recorded (expiry, id), soonest first; an id recorded again has a stale entry here, skipped.
    expiries: BinaryHeap<Reverse<(i64, Key)>>,
}

impl Seen {
    fn forget_expired(&mut self, now: i64) {
        while let Some(Reverse((at, _))) = self.expiries.peek() {
            if *at > now {
                return;
            }
            let Some(Reverse((at, key))) = self.expiries.pop() else { return };
            if self.until.get(&key) == Some(&at) {
                self.until.remove(&key);
            }
        }
    }
}

impl InMemoryJtiStore {
    pub fn new() -> InMemoryJtiStore {
        InMemoryJtiStore::default()
    }

    pub fn len(&self) -> usize {
        self.lock().until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
}

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
            seen.forget_expired(now);
            let key = (issuer.to_string(), jti.to_string());
            match seen.until.get(&key) {
                Some(until) if *until > now => false,
                _ => {
                    seen.until.insert(key.clone(), expires_at);
                    seen.expiries.push(Reverse((expires_at, key)));
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
    fn expired_ids_are_forgotten_and_live_ones_kept() {
        let store = InMemoryJtiStore::new();
        for i in 0..10_000 {
            // Expiries 10..=19: a tenth of the ids expires at each second.
            block_on(store.remember("i", &i.to_string(), 10 + i % 10, 0)).unwrap();
        }
        assert_eq!(store.len(), 10_000);
        block_on(store.remember("i", "late", 100, 14)).unwrap();
        assert_eq!(store.len(), 5_001, "ids expiring at 10..=14 are forgotten, the others kept");
        assert!(!block_on(store.remember("i", "9999", 100, 14)).unwrap(), "a live id is still refused");
        assert!(block_on(store.remember("i", "0", 100, 14)).unwrap(), "an expired id may come again");
        // Recorded again with a later expiry, it outlives its first expiry.
        assert!(!block_on(store.remember("i", "0", 100, 50)).unwrap());
        block_on(store.remember("i", "last", 200, 150)).unwrap();
        assert_eq!(store.len(), 1);
    }
}
