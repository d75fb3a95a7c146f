//! One line of the audit trail and how it is chained to the line before it.
//!
//! An entry's hash covers every field but itself: SHA-256 over the domain tag
//! [`HASH_DOMAIN`] followed by the canonical JSON ([`crate::canonical`]) of the object
//! `{actor, at, kind, payload, prev_hash, seq, subject}`. An auditor can therefore
//! recompute it with any RFC 8785 implementation and a SHA-256 tool.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::canonical;

/// Prefix of every hashed entry, so an entry hash can never be mistaken for the hash
/// of some other canonical JSON document.
pub const HASH_DOMAIN: &str = "passerelle-audit/v1\n";

/// Why a value cannot become part of an entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("`{0}` is not an RFC 3339 timestamp (e.g. 2026-03-01T09:30:00Z)")]
    BadTimestamp(String),
    #[error("timestamp {0} cannot be written in RFC 3339 (the year must be 0000 to 9999)")]
    TimestampOutOfRange(String),
    #[error("entry kind `{0}` is invalid: use 1 to 64 characters among a-z, 0-9, `.`, `_`, `-`")]
    BadKind(String),
    #[error("`{0}` is not a chain hash: expected 64 lower-case hexadecimal digits")]
    BadHash(String),
}

/// A SHA-256 digest of an entry (or [`ChainHash::GENESIS`] before the first one).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// What the first entry names as its predecessor.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({self})")
    }
}

impl FromStr for ChainHash {
    type Err = EntryError;
    fn from_str(s: &str) -> Result<ChainHash, EntryError> {
        // Upper-case hex would decode too, but then the stored text and the hash
        // would have two spellings; one is enough.
        if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(EntryError::BadHash(s.to_string()));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(s, &mut bytes).map_err(|_| EntryError::BadHash(s.to_string()))?;
        Ok(ChainHash(bytes))
    }
}

impl Serialize for ChainHash {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ChainHash, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A UTC instant with its one RFC 3339 spelling (the one that is hashed).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    instant: OffsetDateTime,
    text: String,
}

impl Timestamp {
    /// Normalises to UTC; fails only for years RFC 3339 cannot write.
    pub fn new(instant: OffsetDateTime) -> Result<Timestamp, EntryError> {
        let instant = instant.to_offset(time::UtcOffset::UTC);
        let text = instant.format(&Rfc3339).map_err(|_| EntryError::TimestampOutOfRange(instant.to_string()))?;
        Ok(Timestamp { instant, text })
    }

    /// The current time (callers that need reproducible entries pass their own).
    pub fn now() -> Timestamp {
        let now = OffsetDateTime::now_utc();
        // The wall clock is always within years 0000..9999.
        Timestamp::new(now).unwrap_or_else(|_| Timestamp { instant: now, text: now.to_string() })
    }

    /// Parses any RFC 3339 spelling; equal instants give equal timestamps.
    pub fn parse(text: &str) -> Result<Timestamp, EntryError> {
        let instant = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| EntryError::BadTimestamp(text.to_string()))?;
        Timestamp::new(instant)
    }

    pub fn instant(&self) -> OffsetDateTime {
        self.instant
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.text)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// What kind of state change an entry records.
///
/// The connector's kinds are constants; other dotted lower-case names are accepted
/// so that a later release can add kinds without breaking older verifiers.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryKind(Cow<'static, str>);

impl EntryKind {
    /// A contract negotiation changed state (DSP).
    pub const NEGOTIATION_STATE: EntryKind = EntryKind(Cow::Borrowed("negotiation.state"));
    /// A transfer process changed state (DSP).
    pub const TRANSFER_STATE: EntryKind = EntryKind(Cow::Borrowed("transfer.state"));
    /// An agreement was concluded (its full text is the payload).
    pub const AGREEMENT: EntryKind = EntryKind(Cow::Borrowed("agreement"));
    /// An exchange event (a subtitle order step, a feed item…).
    pub const EXCHANGE_EVENT: EntryKind = EntryKind(Cow::Borrowed("exchange.event"));
    /// A delivery receipt was issued or received.
    pub const DELIVERY_RECEIPT: EntryKind = EntryKind(Cow::Borrowed("delivery.receipt"));
    /// A policy decision with its explanation.
    pub const POLICY_DECISION: EntryKind = EntryKind(Cow::Borrowed("policy.decision"));

    pub fn new(name: &str) -> Result<EntryKind, EntryError> {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
        if !valid {
            return Err(EntryError::BadKind(name.to_string()));
        }
        Ok(EntryKind(Cow::Owned(name.to_string())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EntryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EntryKind({})", self.0)
    }
}

impl Serialize for EntryKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for EntryKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<EntryKind, D::Error> {
        let text = Cow::<str>::deserialize(deserializer)?;
        EntryKind::new(&text).map_err(serde::de::Error::custom)
    }
}

/// What the caller records; the log adds `seq`, `prev_hash` and `hash`.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryDraft {
    pub at: Timestamp,
    pub kind: EntryKind,
    /// The process, agreement or order the entry is about.
    pub subject: String,
    /// Who caused the change (a participant DID, `system`, an operator).
    pub actor: String,
    pub payload: Value,
}

/// One recorded state change, chained to its predecessor.
///
/// `PartialEq` compares payloads as `serde_json` does (`2.0 != 2`); two entries record
/// the same fact exactly when their [`Entry::recompute_hash`] agree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// 1 for the first entry, then +1 without gaps.
    pub seq: u64,
    pub at: Timestamp,
    pub kind: EntryKind,
    pub subject: String,
    pub actor: String,
    pub payload: Value,
    /// The previous entry's hash ([`ChainHash::GENESIS`] for seq 1).
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

/// The end of a chain: all a writer needs to append the next entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainHead {
    pub seq: u64,
    pub hash: ChainHash,
}

impl Entry {
    pub fn head(&self) -> ChainHead {
        ChainHead { seq: self.seq, hash: self.hash }
    }

    /// The hash this entry's fields give, whatever its `hash` field says.
    pub fn recompute_hash(&self) -> ChainHash {
        self.hash_as(self.seq)
    }

    /// The hash the fields would give under another sequence number (used to tell a
    /// moved entry from an altered one).
    pub(crate) fn hash_as(&self, seq: u64) -> ChainHash {
        entry_hash(seq, &self.at, &self.kind, &self.subject, &self.actor, &self.payload, &self.prev_hash)
    }
}

/// Chains `draft` after `prev` (the first entry when `prev` is `None`).
pub fn next_entry(prev: Option<&Entry>, draft: EntryDraft) -> Entry {
    entry_after(prev.map(Entry::head), draft)
}

/// [`next_entry`] when only the head of the chain is at hand.
pub fn entry_after(head: Option<ChainHead>, draft: EntryDraft) -> Entry {
    entry_with_payload_text(head, draft).0
}

/// [`entry_after`] with the payload's canonical JSON, which the hash covers and the store keeps: rendered once
/// for both.
pub fn entry_with_payload_text(head: Option<ChainHead>, draft: EntryDraft) -> (Entry, String) {
    let (seq, prev_hash) = match head {
        // Sequence numbers are stored as SQLite INTEGER (i64); 2^63 entries are out of reach.
        Some(head) => (head.seq.saturating_add(1), head.hash),
        None => (1, ChainHash::GENESIS),
    };
    let EntryDraft { at, kind, subject, actor, payload } = draft;
    let payload_text = canonical::to_canonical_string(&payload);
    let hash = hash_of(&form_with(seq, &at, &kind, &subject, &actor, &payload_text, &prev_hash));
    (Entry { seq, at, kind, subject, actor, payload, prev_hash, hash }, payload_text)
}

/// The canonical bytes an entry hash covers (without the domain tag).
pub fn canonical_form(
    seq: u64,
    at: &Timestamp,
    kind: &EntryKind,
    subject: &str,
    actor: &str,
    payload: &Value,
    prev_hash: &ChainHash,
) -> String {
    form_with(seq, at, kind, subject, actor, &canonical::to_canonical_string(payload), prev_hash)
}

/// [`canonical_form`] with the payload already in canonical JSON.
fn form_with(
    seq: u64,
    at: &Timestamp,
    kind: &EntryKind,
    subject: &str,
    actor: &str,
    payload: &str,
    prev_hash: &ChainHash,
) -> String {
    // Member names in RFC 8785 order, so this equals the canonical JSON of the object.
    let mut out = String::with_capacity(256 + payload.len());
    out.push_str("{\"actor\":");
    canonical::write_string(&mut out, actor);
    out.push_str(",\"at\":");
    canonical::write_string(&mut out, at.as_str());
    out.push_str(",\"kind\":");
    canonical::write_string(&mut out, kind.as_str());
    out.push_str(",\"payload\":");
    out.push_str(payload);
    out.push_str(",\"prev_hash\":\"");
    out.push_str(&prev_hash.to_string());
    out.push_str("\",\"seq\":");
    out.push_str(&seq.to_string());
    out.push_str(",\"subject\":");
    canonical::write_string(&mut out, subject);
    out.push('}');
    out
}

fn entry_hash(
    seq: u64,
    at: &Timestamp,
    kind: &EntryKind,
    subject: &str,
    actor: &str,
    payload: &Value,
    prev_hash: &ChainHash,
) -> ChainHash {
    hash_of(&canonical_form(seq, at, kind, subject, actor, payload, prev_hash))
}

/// The entry hash of a canonical form: SHA-256 over the domain tag and the form.
fn hash_of(form: &str) -> ChainHash {
    let mut hasher = Sha256::new();
    hasher.update(HASH_DOMAIN.as_bytes());
    hasher.update(form.as_bytes());
    ChainHash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn draft(n: u32) -> EntryDraft {
        EntryDraft {
            at: Timestamp::parse("2026-03-01T09:30:00.250+01:00").unwrap(),
            kind: EntryKind::NEGOTIATION_STATE,
            subject: format!("urn:uuid:neg-{n}"),
            actor: "did:web:lab.example".into(),
            payload: json!({"state": "REQUESTED", "n": n}),
        }
    }

    #[test]
    fn timestamps_are_normalised_to_utc() {
        let t = Timestamp::parse("2026-03-01T09:30:00.250+01:00").unwrap();
        assert_eq!(t.as_str(), "2026-03-01T08:30:00.25Z");
        assert_eq!(t, Timestamp::parse("2026-03-01T08:30:00.250Z").unwrap());
        assert!(matches!(Timestamp::parse("yesterday"), Err(EntryError::BadTimestamp(_))));
        let before_year_zero = time::macros::datetime!(-0001-06-01 0:00 UTC);
        assert!(matches!(Timestamp::new(before_year_zero), Err(EntryError::TimestampOutOfRange(_))));
    }

    #[test]
    fn chain_links_and_hash_cover_the_fields() {
        let first = next_entry(None, draft(1));
        assert_eq!((first.seq, first.prev_hash), (1, ChainHash::GENESIS));
        assert_eq!(first.recompute_hash(), first.hash);
        let second = next_entry(Some(&first), draft(2));
        assert_eq!((second.seq, second.prev_hash), (2, first.hash));
        assert_ne!(second.hash, first.hash);
        // The documented recipe, computed independently of entry_hash.
        let object = json!({
            "seq": 2, "at": "2026-03-01T08:30:00.25Z", "kind": "negotiation.state",
            "subject": "urn:uuid:neg-2", "actor": "did:web:lab.example",
            "payload": {"n": 2, "state": "REQUESTED"}, "prev_hash": first.hash.to_string(),
        });
        let mut bytes = HASH_DOMAIN.as_bytes().to_vec();
        bytes.extend_from_slice(canonical::to_canonical_string(&object).as_bytes());
        assert_eq!(second.hash, ChainHash(Sha256::digest(&bytes).into()));
    }

    #[test]
    fn entries_round_trip_through_json_and_refuse_extras() {
        let entry = next_entry(None, draft(1));
        let text = serde_json::to_string(&entry).unwrap();
        let back: Entry = serde_json::from_str(&text).unwrap();
        assert_eq!(back, entry);
        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["note"] = json!("unhashed");
        assert!(serde_json::from_value::<Entry>(value).is_err());
        // Doubles must survive text and back bit for bit, or intact logs would fail to verify.
        let mut floaty = draft(2);
        floaty.payload = json!({"ratio": 1.0 / 3.0, "sum": 0.1 + 0.2, "tiny": 5e-324, "big": 1.7976931348623157e308});
        let entry = next_entry(None, floaty);
        let back: Entry = serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
        assert_eq!(back.recompute_hash(), entry.hash);
        let canonical_text = canonical::to_canonical_string(&entry.payload);
        let reparsed: Value = serde_json::from_str(&canonical_text).unwrap();
        assert_eq!(canonical::to_canonical_string(&reparsed), canonical_text);
        let mut value: Value = serde_json::from_str(&text).unwrap();
        value["hash"] = json!(42);
        assert!(serde_json::from_value::<Entry>(value).is_err());
    }

    #[test]
    fn kinds_and_hashes_are_validated() {
        assert_eq!(EntryKind::new("order.redelivery").unwrap().as_str(), "order.redelivery");
        for bad in ["", "Upper", "with space", &"x".repeat(65)] {
            assert!(matches!(EntryKind::new(bad), Err(EntryError::BadKind(_))), "{bad}");
        }
        let hash = next_entry(None, draft(1)).hash;
        assert_eq!(hash.to_string().parse::<ChainHash>().unwrap(), hash);
        for bad in ["00", &"g".repeat(64), &"A".repeat(64)] {
            assert!(bad.parse::<ChainHash>().is_err(), "{bad}");
        }
    }
}
