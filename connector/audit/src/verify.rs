//! Chain verification: walks entries in order, once, keeping only a few hashes.
//!
//! [`ChainVerifier`] is fed one entry at a time so that a store or an export file can
//! be verified while streaming; [`verify_chain`] drives it over an iterator. The
//! first problem stops the walk and is reported as a [`Break`] naming the entry.

use std::collections::VecDeque;

use crate::checkpoint::{Checkpoint, CheckpointError, VerifiedCheckpoints};
use crate::entry::{ChainHash, Entry};

/// How far around a misplaced entry we look for the sequence number it was written
/// under. Only tried after a hash mismatch, so it costs nothing on intact logs.
const MOVE_WINDOW: u64 = 32;

/// The first point where the log stops being trustworthy, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("entry {expected} is missing: the next entry found is {found}")]
    Missing { expected: u64, found: u64 },
    #[error("entry {expected} was expected but entry {found} came instead (entries reordered or duplicated)")]
    OutOfOrder { expected: u64, found: u64 },
    #[error("entry {seq} was altered: its stored hash is {stored} but its fields hash to {recomputed}")]
    HashMismatch { seq: u64, stored: ChainHash, recomputed: ChainHash },
    #[error(
        "entry {seq} holds the intact entry written as {written_as}: entries were reordered, or removed before it and \
         the rest renumbered"
    )]
    Renumbered { seq: u64, written_as: u64 },
    #[error("{count} entr{} inserted at {seq} (the genuine entry {seq} now sits at {})",
        if *count == 1 { "y was" } else { "ies were" }, seq + count)]
    Inserted { seq: u64, count: u64 },
    #[error(
        "entry {seq} names {found} as its predecessor but entry {} hashes to {expected}: the entry before it was \
         replaced or removed",
        seq.saturating_sub(1)
    )]
    PrevHashMismatch { seq: u64, expected: ChainHash, found: ChainHash },
    #[error("entry {seq} hashes to {chain} but the signed checkpoint for it says {signed}: the log was rewritten")]
    CheckpointMismatch { seq: u64, signed: ChainHash, chain: ChainHash },
    #[error("the log ends at entry {last_seq} but a signed checkpoint covers entry {checkpoint_seq}: its tail was cut")]
    Truncated { last_seq: u64, checkpoint_seq: u64 },
    #[error("checkpoint{} is not valid: {reason}", seq.map(|s| format!(" for entry {s}")).unwrap_or_default())]
    BadCheckpoint { seq: Option<u64>, reason: CheckpointError },
    #[error("{location} cannot be read: {reason}")]
    Unreadable { location: String, reason: String },
}

impl Break {
    /// The first entry that cannot be trusted, when one can be named.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Break::Missing { expected, .. } | Break::OutOfOrder { expected, .. } => Some(*expected),
            Break::HashMismatch { seq, .. }
            | Break::Renumbered { seq, .. }
            | Break::Inserted { seq, .. }
            | Break::PrevHashMismatch { seq, .. }
            | Break::CheckpointMismatch { seq, .. } => Some(*seq),
            Break::Truncated { last_seq, .. } => Some(last_seq.saturating_add(1)),
            Break::BadCheckpoint { seq, .. } => *seq,
            Break::Unreadable { .. } => None,
        }
    }
}

/// What an intact log looks like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub entries: u64,
    /// The last entry's seq and hash (`None` for an empty log).
    pub head: Option<(u64, ChainHash)>,
    /// Signed checkpoints that matched the chain.
    pub checkpoints: usize,
    /// Entries after the last checkpoint: protected by the chain only, so a cut there
    /// would not be noticed until the next checkpoint is signed.
    pub unsealed: u64,
}

/// Incremental verification of one chain.
#[derive(Debug)]
pub struct ChainVerifier {
    checkpoints: Vec<Checkpoint>,
    next_checkpoint: usize,
    matched: usize,
    last_sealed: u64,
    expected_seq: u64,
    prev_hash: ChainHash,
    /// Hashes of the last entries, newest last, to recognise insertions.
    recent: VecDeque<ChainHash>,
}

impl ChainVerifier {
    pub fn new(checkpoints: &VerifiedCheckpoints) -> ChainVerifier {
        ChainVerifier {
            checkpoints: checkpoints.as_slice().to_vec(),
            next_checkpoint: 0,
            matched: 0,
            last_sealed: 0,
            expected_seq: 1,
            prev_hash: ChainHash::GENESIS,
            recent: VecDeque::with_capacity(MOVE_WINDOW as usize + 1),
        }
    }

    /// Checks the next entry in order.
    pub fn push(&mut self, entry: &Entry) -> Result<(), Break> {
        let expected = self.expected_seq;
        if entry.seq > expected {
            return Err(Break::Missing { expected, found: entry.seq });
        }
        if entry.seq < expected {
            return Err(Break::OutOfOrder { expected, found: entry.seq });
        }
        let recomputed = entry.recompute_hash();
        if recomputed != entry.hash {
            return Err(self.diagnose_moved(entry).unwrap_or(Break::HashMismatch {
                seq: entry.seq,
                stored: entry.hash,
                recomputed,
            }));
        }
        if entry.prev_hash != self.prev_hash {
            return Err(Break::PrevHashMismatch { seq: entry.seq, expected: self.prev_hash, found: entry.prev_hash });
        }
        while let Some(checkpoint) = self.checkpoints.get(self.next_checkpoint)
            && checkpoint.seq == entry.seq
        {
            if checkpoint.hash != entry.hash {
                return Err(Break::CheckpointMismatch { seq: entry.seq, signed: checkpoint.hash, chain: entry.hash });
            }
            self.matched += 1;
            self.last_sealed = entry.seq;
            self.next_checkpoint += 1;
        }
        if self.recent.len() > MOVE_WINDOW as usize {
            self.recent.pop_front();
        }
        self.recent.push_back(entry.hash);
        self.prev_hash = entry.hash;
        self.expected_seq = expected.saturating_add(1);
        Ok(())
    }

    /// Ends the walk: every checkpoint must have been reached.
    pub fn finish(self) -> Result<Summary, Break> {
        let last_seq = self.expected_seq - 1;
        if let Some(beyond) = self.checkpoints.last().filter(|c| c.seq > last_seq) {
            return Err(Break::Truncated { last_seq, checkpoint_seq: beyond.seq });
        }
        Ok(Summary {
            entries: last_seq,
            head: (last_seq > 0).then_some((last_seq, self.prev_hash)),
            checkpoints: self.matched,
            unsealed: last_seq - self.last_sealed,
        })
    }

    /// An entry whose fields hash correctly under another seq was moved, not altered.
    fn diagnose_moved(&self, entry: &Entry) -> Option<Break> {
        let seq = entry.seq;
        let low = seq.saturating_sub(MOVE_WINDOW).max(1);
        let written_as =
            (low..=seq.saturating_add(MOVE_WINDOW)).find(|&s| s != seq && entry.hash_as(s) == entry.hash)?;
        if written_as < seq {
            // Accepted entries written_as..seq-1 were slipped in front of it if it still
            // links to the entry just before them.
            let count = seq - written_as;
            let before_inserted = self.recent.len().checked_sub(count as usize + 1).and_then(|i| self.recent.get(i));
            let links = match before_inserted {
                Some(hash) => *hash == entry.prev_hash,
                None => written_as == 1 && entry.prev_hash == ChainHash::GENESIS,
            };
            if links {
                return Some(Break::Inserted { seq: written_as, count });
            }
        }
        Some(Break::Renumbered { seq, written_as })
    }
}

/// Verifies a whole chain given in order, against already verified checkpoints.
pub fn verify_chain(
    entries: impl IntoIterator<Item = Entry>,
    checkpoints: &VerifiedCheckpoints,
) -> Result<Summary, Break> {
    let mut verifier = ChainVerifier::new(checkpoints);
    for entry in entries {
        verifier.push(&entry)?;
    }
    verifier.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::entry::{EntryDraft, EntryKind, Timestamp, entry_after, next_entry};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn draft(i: u64, subject: &str, payload: Value) -> EntryDraft {
        let at = time::macros::datetime!(2026-03-01 10:00 UTC) + time::Duration::milliseconds(i as i64 * 1500);
        EntryDraft {
            at: Timestamp::new(at).unwrap(),
            kind: EntryKind::TRANSFER_STATE,
            subject: subject.into(),
            actor: "did:web:broadcaster.example".into(),
            payload,
        }
    }

    fn chain(n: u64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for i in 1..=n {
            out.push(next_entry(out.last(), draft(i, "urn:uuid:tp-1", json!({"state": "STARTED", "i": i}))));
        }
        out
    }

    /// Rebuilds the hashes from `from` (index) on, as an attacker with write access would.
    fn rehash_from(entries: &mut [Entry], from: usize) {
        for i in from..entries.len() {
            entries[i].prev_hash = if i == 0 { ChainHash::GENESIS } else { entries[i - 1].hash };
            entries[i].hash = entries[i].recompute_hash();
        }
    }

    fn sealed(entries: &[Entry], at: &[usize]) -> VerifiedCheckpoints {
        let signer =
            CheckpointSigner::new(passerelle_identity::keys::KeyPair::generate_es256().unwrap(), "did:web:b#k");
        let signed: Vec<_> = at.iter().map(|i| signer.sign(entries[*i].head(), Timestamp::now()).unwrap()).collect();
        VerifiedCheckpoints::verify(&signed, &signer.key_set()).unwrap()
    }

    #[test]
    fn an_intact_chain_verifies_and_says_what_is_unsealed() {
        let entries = chain(10);
        let summary = verify_chain(entries.clone(), &sealed(&entries, &[3, 7])).unwrap();
        assert_eq!(summary, Summary { entries: 10, head: Some((10, entries[9].hash)), checkpoints: 2, unsealed: 2 });
        let empty = verify_chain(Vec::new(), &VerifiedCheckpoints::none()).unwrap();
        assert_eq!((empty.entries, empty.head), (0, None));
    }

    #[test]
    fn removals_moves_and_insertions_are_told_apart() {
        let entries = chain(10);
        let none = VerifiedCheckpoints::none();

        let mut gap = entries.clone();
        gap.remove(4);
        assert_eq!(verify_chain(gap, &none), Err(Break::Missing { expected: 5, found: 6 }));

        let mut swapped = entries.clone();
        swapped.swap(2, 3);
        (swapped[2].seq, swapped[3].seq) = (3, 4);
        assert_eq!(verify_chain(swapped, &none), Err(Break::Renumbered { seq: 3, written_as: 4 }));

        // Two forged entries slipped in at 5 and 6, the rest renumbered.
        let mut inserted = entries[..4].to_vec();
        for _ in 0..2 {
            let forged = entry_after(inserted.last().map(Entry::head), draft(99, "x", json!({"forged": true})));
            inserted.push(forged);
        }
        for (k, genuine) in entries[4..].iter().enumerate() {
            let mut moved = genuine.clone();
            moved.seq = 7 + k as u64;
            inserted.push(moved);
        }
        assert_eq!(verify_chain(inserted, &none), Err(Break::Inserted { seq: 5, count: 2 }));

        // A replaced entry with a self-consistent hash breaks the link of its successor.
        let mut replaced = entries.clone();
        replaced[5].payload = json!({"state": "TERMINATED"});
        replaced[5].hash = replaced[5].recompute_hash();
        let err = verify_chain(replaced, &none).unwrap_err();
        assert!(matches!(err, Break::PrevHashMismatch { seq: 7, .. }), "{err}");
    }

    #[test]
    fn checkpoints_expose_rewrites_and_cut_tails() {
        let entries = chain(10);
        let checkpoints = sealed(&entries, &[7]);
        let mut rewritten = entries.clone();
        rewritten[3].payload = json!({"state": "SUSPENDED"});
        rehash_from(&mut rewritten, 3);
        assert_eq!(verify_chain(rewritten.clone(), &VerifiedCheckpoints::none()).map(|s| s.entries), Ok(10));
        let err = verify_chain(rewritten, &checkpoints).unwrap_err();
        assert!(matches!(err, Break::CheckpointMismatch { seq: 8, .. }), "{err}");
        let cut = entries[..6].to_vec();
        assert_eq!(verify_chain(cut, &checkpoints), Err(Break::Truncated { last_seq: 6, checkpoint_seq: 8 }));
        assert_eq!(Break::Truncated { last_seq: 6, checkpoint_seq: 8 }.seq(), Some(7));
    }

    #[derive(Debug, Clone)]
    enum Mutation {
        Seq(u64),
        At(i64),
        Kind,
        Subject(String),
        Actor(String),
        Payload(String, i64),
        PrevHash(usize),
        Hash(usize),
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            (0u64..64).prop_map(Mutation::Seq),
            (-10_000_000_000i64..10_000_000_000).prop_filter("a change", |d| *d != 0).prop_map(Mutation::At),
            Just(Mutation::Kind),
            "[a-z]{1,6}".prop_map(Mutation::Subject),
            "\\PC{1,6}".prop_map(Mutation::Actor),
            ("[a-z]{1,4}", any::<i64>()).prop_map(|(k, v)| Mutation::Payload(k, v)),
            (0usize..32).prop_map(Mutation::PrevHash),
            (0usize..32).prop_map(Mutation::Hash),
        ]
    }

    fn apply(entry: &mut Entry, mutation: &Mutation) -> bool {
        match mutation {
            Mutation::Seq(s) if *s == entry.seq => return false,
            Mutation::Seq(s) => entry.seq = *s,
            Mutation::At(ns) => {
                entry.at = Timestamp::new(entry.at.instant() + time::Duration::nanoseconds(*ns)).unwrap();
            }
            Mutation::Kind => entry.kind = EntryKind::new("policy.decision.forged").unwrap(),
            Mutation::Subject(extra) => entry.subject.push_str(extra),
            Mutation::Actor(extra) => entry.actor.push_str(extra),
            Mutation::Payload(key, v) => {
                let Some(map) = entry.payload.as_object_mut() else { return false };
                if map.get(key.as_str()) == Some(&json!(v)) {
                    return false;
                }
                map.insert(key.clone(), json!(v));
            }
            Mutation::PrevHash(byte) => entry.prev_hash.0[*byte] ^= 0x01,
            Mutation::Hash(byte) => entry.hash.0[*byte] ^= 0x80,
        }
        true
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Any single-field change of any entry is reported at that very entry.
        #[test]
        fn every_single_field_mutation_is_caught_at_its_entry(
            payloads in prop::collection::vec(prop::collection::btree_map("[a-z]{1,4}", any::<i64>(), 0..4), 1..24),
            pick in any::<prop::sample::Index>(),
            mutation in mutation(),
        ) {
            let mut entries: Vec<Entry> = Vec::new();
            for (i, fields) in payloads.iter().enumerate() {
                let payload = Value::Object(fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect());
                entries.push(next_entry(entries.last(), draft(i as u64, &format!("s{}", i % 3), payload)));
            }
            let victim = pick.index(entries.len());
            prop_assume!(apply(&mut entries[victim], &mutation));
            let err = verify_chain(entries, &VerifiedCheckpoints::none()).unwrap_err();
            prop_assert_eq!(err.seq(), Some(victim as u64 + 1), "{}", err);
        }
    }
}
