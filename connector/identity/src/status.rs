//! Bitstring Status List (W3C Recommendation): revocation and suspension.
//!
//! The issuer keeps one list per purpose; each credential it issues carries a
//! `BitstringStatusListEntry` per list pointing at its bit. The list is published as
//! a `BitstringStatusListCredential` whose `encodedList` is the GZIP-compressed
//! bitstring in base64url multibase form (`u…`), at least 16 KiB (131,072 entries)
//! so that a single bit flip does not reveal which holder it concerns.
//! Index 0 is the left-most (most significant) bit of the first byte.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::future::BoxFuture;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::did::Did;
use crate::vc::{Credential, CredentialError, CredentialVerifier, types};

/// Smallest list size the Recommendation allows, in entries (16 KiB of bits).
pub const MIN_STATUS_LIST_ENTRIES: usize = 131_072;
/// Largest decompressed list accepted from others (guards against GZIP bombs).
pub const MAX_STATUS_LIST_BYTES: usize = 16 * 1024 * 1024;
/// Largest status list credential fetched from the network.
pub const MAX_STATUS_CREDENTIAL_LEN: usize = 512 * 1024;

/// What setting a bit means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StatusPurpose {
    /// Permanent: the credential is withdrawn.
    Revocation,
    /// Temporary: the credential is on hold and may be reinstated.
    Suspension,
}

impl StatusPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusPurpose::Revocation => "revocation",
            StatusPurpose::Suspension => "suspension",
        }
    }

    pub fn parse(s: &str) -> Option<StatusPurpose> {
        match s {
            "revocation" => Some(StatusPurpose::Revocation),
            "suspension" => Some(StatusPurpose::Suspension),
            _ => None,
        }
    }
}

/// Why a status list or entry is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusListError {
    #[error("status index {index} is outside the list of {len} entries")]
    IndexOutOfRange { index: usize, len: usize },
    #[error("encodedList must be multibase base64url (start with `u`)")]
    NotMultibase,
    #[error("encodedList is not base64url")]
    NotBase64,
    #[error("encodedList is not valid GZIP: {0}")]
    NotGzip(String),
    #[error("the decompressed list exceeds {MAX_STATUS_LIST_BYTES} bytes")]
    TooLarge,
    #[error("the list has {entries} entries; at least {MIN_STATUS_LIST_ENTRIES} are required")]
    TooSmall { entries: usize },
    #[error("not a status list credential: {0}")]
    NotAStatusList(String),
    #[error("invalid BitstringStatusListEntry: {0}")]
    BadEntry(String),
}

/// One bitstring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    purpose: StatusPurpose,
    bits: Vec<u8>,
}

impl StatusList {
    /// An all-clear list of the minimum size.
    pub fn new(purpose: StatusPurpose) -> StatusList {
        StatusList { purpose, bits: vec![0; MIN_STATUS_LIST_ENTRIES / 8] }
    }

    pub fn purpose(&self) -> StatusPurpose {
        self.purpose
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.bits.len() * 8
    }

    pub fn is_empty(&self) -> bool {
        self.bits.is_empty()
    }

    pub fn get(&self, index: usize) -> Result<bool, StatusListError> {
        let byte = self.bits.get(index / 8).ok_or(StatusListError::IndexOutOfRange { index, len: self.len() })?;
        Ok(byte & (0x80 >> (index % 8)) != 0)
    }

    pub fn set(&mut self, index: usize, value: bool) -> Result<(), StatusListError> {
        let len = self.len();
        let byte = self.bits.get_mut(index / 8).ok_or(StatusListError::IndexOutOfRange { index, len })?;
        let mask = 0x80 >> (index % 8);
        if value {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        Ok(())
    }

    /// `u` + base64url(GZIP(bitstring)).
    pub fn encode(&self) -> String {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        // Writing into a Vec cannot fail.
        let _ = gzip.write_all(&self.bits);
        let compressed = gzip.finish().unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    pub fn decode(purpose: StatusPurpose, encoded: &str) -> Result<StatusList, StatusListError> {
        let b64 = encoded.strip_prefix('u').ok_or(StatusListError::NotMultibase)?;
        let compressed = URL_SAFE_NO_PAD.decode(b64).map_err(|_| StatusListError::NotBase64)?;
        let mut bits = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_slice())
            .take(MAX_STATUS_LIST_BYTES as u64 + 1)
            .read_to_end(&mut bits)
            .map_err(|e| StatusListError::NotGzip(e.to_string()))?;
        if bits.len() > MAX_STATUS_LIST_BYTES {
            return Err(StatusListError::TooLarge);
        }
        if bits.len() * 8 < MIN_STATUS_LIST_ENTRIES {
            return Err(StatusListError::TooSmall { entries: bits.len() * 8 });
        }
        Ok(StatusList { purpose, bits })
    }

    /// The unsigned `BitstringStatusListCredential` published at `url`.
    pub fn credential(
        &self,
        issuer: &Did,
        url: &str,
        valid_from: OffsetDateTime,
        valid_until: OffsetDateTime,
    ) -> Credential {
        let subject = json!({
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": self.purpose.as_str(),
            "encodedList": self.encode(),
        });
        let mut credential = Credential::new(types::STATUS_LIST, issuer, subject, valid_from).valid_until(valid_until);
        credential.id = Some(url.to_string());
        credential
    }

    /// Reads the list out of a status list credential, for `purpose`.
    pub fn from_credential(credential: &Credential, purpose: StatusPurpose) -> Result<StatusList, StatusListError> {
        let not = |why: &str| StatusListError::NotAStatusList(why.to_string());
        if !credential.has_type(types::STATUS_LIST) {
            return Err(not("type lacks BitstringStatusListCredential"));
        }
        let subject = &credential.credential_subject;
        if subject.get("type").and_then(Value::as_str) != Some("BitstringStatusList") {
            return Err(not("credentialSubject.type is not BitstringStatusList"));
        }
        let purposes: Vec<&str> = match subject.get("statusPurpose") {
            Some(Value::String(p)) => vec![p.as_str()],
            Some(Value::Array(ps)) => ps.iter().filter_map(Value::as_str).collect(),
            _ => return Err(not("credentialSubject.statusPurpose is missing")),
        };
        if !purposes.contains(&purpose.as_str()) {
            return Err(not(&format!("the list serves {purposes:?}, not {}", purpose.as_str())));
        }
        let encoded = subject.get("encodedList").and_then(Value::as_str).ok_or_else(|| not("no encodedList"))?;
        StatusList::decode(purpose, encoded)
    }
}

/// A `BitstringStatusListEntry` (the `credentialStatus` of an issued credential).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusListEntry {
    pub purpose: StatusPurpose,
    pub index: usize,
    /// URL of the status list credential.
    pub list_url: String,
}

impl StatusListEntry {
    pub fn to_json(&self) -> Value {
        json!({
            "id": format!("{}#{}", self.list_url, self.index),
            "type": "BitstringStatusListEntry",
            "statusPurpose": self.purpose.as_str(),
            "statusListIndex": self.index.to_string(),
            "statusListCredential": self.list_url,
        })
    }

    pub fn from_json(value: &Value) -> Result<StatusListEntry, StatusListError> {
        let bad = |why: String| StatusListError::BadEntry(why);
        let kind = value.get("type").and_then(Value::as_str).unwrap_or("(none)");
        if kind != "BitstringStatusListEntry" {
            return Err(bad(format!("status type `{kind}` is not supported; only BitstringStatusListEntry is")));
        }
        let field = |name: &str| value.get(name).and_then(Value::as_str).ok_or_else(|| bad(format!("no `{name}`")));
        let purpose = field("statusPurpose")?;
        let purpose =
            StatusPurpose::parse(purpose).ok_or_else(|| bad(format!("statusPurpose `{purpose}` is not understood")))?;
        let index = field("statusListIndex")?;
        let index = index.parse::<usize>().map_err(|_| bad(format!("statusListIndex `{index}` is not an integer")))?;
        if let Some(size) = value.get("statusSize")
            && size.as_u64() != Some(1)
        {
            return Err(bad("only statusSize 1 is supported".into()));
        }
        Ok(StatusListEntry { purpose, index, list_url: field("statusListCredential")?.to_string() })
    }
}

/// Why a credential's status refuses it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error("credential {id} is revoked")]
    Revoked { id: String },
    #[error("credential {id} is suspended")]
    Suspended { id: String },
    #[error("credential {id}: {source}")]
    Entry { id: String, source: StatusListError },
    #[error("status list {url} is unavailable: {reason}")]
    Unavailable { url: String, reason: String },
    #[error("status list {url} is invalid: {reason}")]
    InvalidList { url: String, reason: String },
    #[error("status list {url} is issued by {list_issuer}, not by the credential's issuer {issuer}")]
    ForeignList { url: String, list_issuer: String, issuer: String },
}

/// Where status list credentials come from.
pub trait StatusListSource: Send + Sync {
    /// The `vc+jwt` published at `url`.
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, String>>;
}

/// Status lists held in memory (tests; an issuer reading its own lists).
#[derive(Debug, Default)]
pub struct InMemoryStatusListSource {
    lists: RwLock<HashMap<String, String>>,
}

impl InMemoryStatusListSource {
    pub fn new() -> InMemoryStatusListSource {
        InMemoryStatusListSource::default()
    }

    pub fn publish(&self, url: &str, credential_jwt: String) {
        self.lists.write().unwrap_or_else(|e| e.into_inner()).insert(url.to_string(), credential_jwt);
    }
}

impl StatusListSource for InMemoryStatusListSource {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, String>> {
        let found = self.lists.read().unwrap_or_else(|e| e.into_inner()).get(url).cloned();
        Box::pin(async move { found.ok_or_else(|| "no such list".to_string()) })
    }
}

/// Status lists fetched over HTTPS (plain HTTP only with `allow_http`, for loopback tests).
#[derive(Debug, Clone)]
pub struct HttpStatusListSource {
    client: reqwest::Client,
    allow_http: bool,
}

impl HttpStatusListSource {
    pub fn new(client: reqwest::Client, allow_http: bool) -> HttpStatusListSource {
        HttpStatusListSource { client, allow_http }
    }
}

impl StatusListSource for HttpStatusListSource {
    fn fetch<'a>(&'a self, url: &'a str) -> BoxFuture<'a, Result<String, String>> {
        Box::pin(async move {
            let scheme_ok = url.starts_with("https://") || (self.allow_http && url.starts_with("http://"));
            if !scheme_ok {
                return Err("only https status list URLs are fetched".to_string());
            }
            let mut response = self
                .client
                .get(url)
                .header(reqwest::header::ACCEPT, "application/vc+jwt, application/jwt")
                .send()
                .await
                .map_err(|e| e.to_string())?;
            if !response.status().is_success() {
                return Err(format!("HTTP {}", response.status().as_u16()));
            }
            let body = crate::did::read_limited(&mut response, MAX_STATUS_CREDENTIAL_LEN)
                .await
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("larger than {MAX_STATUS_CREDENTIAL_LEN} bytes"))?;
            String::from_utf8(body).map(|s| s.trim().to_string()).map_err(|_| "not UTF-8".to_string())
        })
    }
}

struct CachedList {
    issuer: String,
    list: StatusList,
    fetched: OffsetDateTime,
}

/// Checks credential status entries against their (verified, cached) status lists.
pub struct StatusChecker {
    source: Arc<dyn StatusListSource>,
    verifier: CredentialVerifier,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    cache: Mutex<HashMap<(String, StatusPurpose), Arc<CachedList>>>,
}

impl StatusChecker {
    /// Lists are re-fetched after `ttl`; the list credential must verify with `verifier`.
    pub fn new(source: Arc<dyn StatusListSource>, verifier: CredentialVerifier, ttl: Duration) -> StatusChecker {
        let clock = verifier.clock().clone();
        StatusChecker { source, verifier, clock, ttl, cache: Mutex::new(HashMap::new()) }
    }

    /// Refuses `credential` if any of its status entries is set. A credential without
    /// entries passes (the trust list decides whether that is acceptable for its type).
    pub async fn check(&self, credential: &Credential) -> Result<(), StatusError> {
        self.check_fresh_until(credential).await.map(|_| ())
    }

    /// [`StatusChecker::check`], also telling until when the answer stands: the earliest
    /// time one of the lists it read is due for a re-fetch (`None`: no status entry was read).
    pub async fn check_fresh_until(&self, credential: &Credential) -> Result<Option<OffsetDateTime>, StatusError> {
        let id = credential.id.clone().unwrap_or_else(|| "(credential without id)".into());
        let mut fresh_until: Option<OffsetDateTime> = None;
        for raw in &credential.credential_status {
            let entry =
                StatusListEntry::from_json(raw).map_err(|source| StatusError::Entry { id: id.clone(), source })?;
            let cached = self.list(&entry).await?;
            if cached.issuer != credential.issuer {
                return Err(StatusError::ForeignList {
                    url: entry.list_url.clone(),
                    list_issuer: cached.issuer.clone(),
                    issuer: credential.issuer.clone(),
                });
            }
            let set = cached.list.get(entry.index).map_err(|source| StatusError::Entry { id: id.clone(), source })?;
            if set {
                return Err(match entry.purpose {
                    StatusPurpose::Revocation => StatusError::Revoked { id },
                    StatusPurpose::Suspension => StatusError::Suspended { id },
                });
            }
            let until = cached.fetched + self.ttl;
            fresh_until = Some(fresh_until.map_or(until, |known| known.min(until)));
        }
        Ok(fresh_until)
    }

    /// Forgets cached lists (e.g. after the issuer announced a change).
    pub fn clear(&self) {
        self.lock().clear();
    }

    async fn list(&self, entry: &StatusListEntry) -> Result<Arc<CachedList>, StatusError> {
        let key = (entry.list_url.clone(), entry.purpose);
        let now = self.clock.now();
        if let Some(cached) = self.lock().get(&key).filter(|c| now - c.fetched < self.ttl).cloned() {
            return Ok(cached);
        }
        let url = entry.list_url.clone();
        let jwt =
            self.source.fetch(&url).await.map_err(|reason| StatusError::Unavailable { url: url.clone(), reason })?;
        let invalid = |reason: String| StatusError::InvalidList { url: url.clone(), reason };
        let verified =
            self.verifier.verify_credential(&jwt).await.map_err(|e: CredentialError| invalid(e.to_string()))?;
        let list =
            StatusList::from_credential(&verified.credential, entry.purpose).map_err(|e| invalid(e.to_string()))?;
        let cached = Arc::new(CachedList { issuer: verified.credential.issuer.clone(), list, fetched: now });
        self.lock().insert(key, cached.clone());
        Ok(cached)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, StatusPurpose), Arc<CachedList>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for StatusChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusChecker").field("ttl", &self.ttl).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bits_are_numbered_from_the_left() {
        let mut list = StatusList::new(StatusPurpose::Revocation);
        assert_eq!(list.len(), MIN_STATUS_LIST_ENTRIES);
        list.set(0, true).unwrap();
        list.set(9, true).unwrap();
        assert_eq!(list.bits[0], 0x80);
        assert_eq!(list.bits[1], 0x40);
        assert!(list.get(0).unwrap() && list.get(9).unwrap() && !list.get(1).unwrap());
        list.set(0, false).unwrap();
        assert!(!list.get(0).unwrap());
        assert!(matches!(list.get(MIN_STATUS_LIST_ENTRIES), Err(StatusListError::IndexOutOfRange { .. })));
        assert!(list.set(usize::MAX, true).is_err());
    }

    #[test]
    fn encoding_is_gzip_base64url_multibase_and_round_trips() {
        let mut list = StatusList::new(StatusPurpose::Suspension);
        list.set(94_567, true).unwrap();
        let encoded = list.encode();
        assert!(encoded.starts_with("uH4sI"), "GZIP magic in base64url: {encoded}");
        assert!(!encoded.contains(['+', '/', '=']));
        let back = StatusList::decode(StatusPurpose::Suspension, &encoded).unwrap();
        assert_eq!(back, list);
    }

    /// The empty 16 KiB list of the W3C Recommendation's examples decodes to all zeros.
    #[test]
    fn the_recommendation_example_list_decodes() {
        let example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
        let list = StatusList::decode(StatusPurpose::Revocation, example).unwrap();
        assert_eq!(list.len(), MIN_STATUS_LIST_ENTRIES);
        assert!((0..list.len()).step_by(997).all(|i| !list.get(i).unwrap()));
    }

    #[test]
    fn hostile_lists_are_refused() {
        let p = StatusPurpose::Revocation;
        assert_eq!(StatusList::decode(p, "zabc"), Err(StatusListError::NotMultibase));
        assert_eq!(StatusList::decode(p, "u!!"), Err(StatusListError::NotBase64));
        assert!(matches!(StatusList::decode(p, "uAAAA"), Err(StatusListError::NotGzip(_))));
        let small = StatusList { purpose: p, bits: vec![0; 10] }.encode();
        assert!(matches!(StatusList::decode(p, &small), Err(StatusListError::TooSmall { entries: 80 })));
        let bomb = StatusList { purpose: p, bits: vec![0; MAX_STATUS_LIST_BYTES + 1] }.encode();
        assert_eq!(StatusList::decode(p, &bomb), Err(StatusListError::TooLarge));
    }

    #[test]
    fn entries_round_trip_and_unknown_kinds_are_refused() {
        let entry = StatusListEntry {
            purpose: StatusPurpose::Revocation,
            index: 42,
            list_url: "https://a.example/status/r".into(),
        };
        let json = entry.to_json();
        assert_eq!(json["statusListIndex"], "42");
        assert_eq!(json["id"], "https://a.example/status/r#42");
        assert_eq!(StatusListEntry::from_json(&json).unwrap(), entry);
        let mut other = json.clone();
        other["type"] = json!("StatusList2021Entry");
        assert!(StatusListEntry::from_json(&other).unwrap_err().to_string().contains("StatusList2021Entry"));
        let mut bad_index = json.clone();
        bad_index["statusListIndex"] = json!("-1");
        assert!(StatusListEntry::from_json(&bad_index).is_err());
        let mut bad_purpose = json;
        bad_purpose["statusPurpose"] = json!("message");
        assert!(StatusListEntry::from_json(&bad_purpose).is_err());
    }

    #[test]
    fn list_credentials_carry_purpose_and_list() {
        let issuer = Did::parse("did:web:authority.example").unwrap();
        let mut list = StatusList::new(StatusPurpose::Revocation);
        list.set(7, true).unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let credential =
            list.credential(&issuer, "https://authority.example/status/revocation", now, now + Duration::days(1));
        assert_eq!(credential.types, vec!["VerifiableCredential", "BitstringStatusListCredential"]);
        assert_eq!(credential.credential_subject["statusPurpose"], "revocation");
        assert_eq!(StatusList::from_credential(&credential, StatusPurpose::Revocation).unwrap(), list);
        assert!(StatusList::from_credential(&credential, StatusPurpose::Suspension).is_err());
    }
}
