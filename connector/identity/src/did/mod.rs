//! `did:web` identifiers and DID documents.
//!
//! A participant's DID is derived from the public URL of its connector
//! (`https://example.com:8443/acme` → `did:web:example.com%3A8443:acme`) and its
//! document is served at `/.well-known/did.json` (host-only DIDs) or
//! `/<path>/did.json` (path DIDs). Keys are `JsonWebKey2020` verification methods;
//! which of them may sign what is stated by the verification relationships.

mod document;
mod resolver;
mod route;

pub use document::{DidDocument, KeyLookupError, MethodRef, Relationship, Service, VerificationMethod};
pub(crate) use resolver::read_limited;
pub use resolver::{
    CachingResolver, DidResolver, InMemoryResolver, MAX_DID_DOCUMENT_LEN, ResolveError, WebResolver,
    default_http_client,
};
pub use route::{SharedDidDocument, document_router};

use std::fmt;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

/// Why a string is not a usable `did:web`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DidError {
    #[error("`{0}` is not a DID (expected `did:<method>:<id>`)")]
    NotADid(String),
    #[error("`{0}` uses an unsupported DID method; Passerelle resolves did:web only")]
    UnsupportedMethod(String),
    #[error("`{did}` is not a valid did:web: {reason}")]
    InvalidWeb { did: String, reason: String },
    #[error("`{url}` cannot become a did:web: {reason}")]
    InvalidUrl { url: String, reason: String },
}

/// A validated `did:web` identifier (without fragment or query).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Did {
    value: String,
    /// The decoded authority (`host` or `host:port`).
    authority: String,
    /// The path segments, as written in the DID (percent-encoding kept).
    path: Vec<String>,
}

impl Did {
    pub fn parse(text: &str) -> Result<Did, DidError> {
        let invalid = |reason: &str| DidError::InvalidWeb { did: text.to_string(), reason: reason.to_string() };
        let rest = text.strip_prefix("did:").ok_or_else(|| DidError::NotADid(text.to_string()))?;
        let Some(id) = rest.strip_prefix("web:") else {
            return if rest.contains(':') {
                Err(DidError::UnsupportedMethod(text.to_string()))
            } else {
                Err(DidError::NotADid(text.to_string()))
            };
        };
        if id.contains(['#', '?', '/']) {
            return Err(invalid("a DID carries no path, query or fragment; use `:` between path segments"));
        }
        let mut segments = id.split(':');
        let host_segment = segments.next().unwrap_or_default();
        if host_segment.is_empty() {
            return Err(invalid("the host is empty"));
        }
        let authority = percent_decode_str(host_segment)
            .decode_utf8()
            .map_err(|_| invalid("the host is not UTF-8 after percent-decoding"))?
            .to_string();
        check_authority(&authority).map_err(|reason| invalid(&reason))?;
        let mut path = Vec::new();
        for segment in segments {
            if segment.is_empty() {
                return Err(invalid("empty path segment (`::` or a trailing `:`)"));
            }
            if !segment.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '%')) {
                return Err(invalid("path segments may only hold letters, digits, `.`, `-`, `_` and %-escapes"));
            }
            if segment == "." || segment == ".." {
                return Err(invalid("`.` and `..` are not path segments"));
            }
            path.push(segment.to_string());
        }
        Ok(Did { value: text.to_string(), authority, path })
    }

    /// The DID of a connector reachable at `base_url` (`https://host[:port][/path]`).
    pub fn from_base_url(base_url: &str) -> Result<Did, DidError> {
        let invalid = |reason: &str| DidError::InvalidUrl { url: base_url.to_string(), reason: reason.to_string() };
        let url = url::Url::parse(base_url).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("the scheme must be https (or http for local tests)"));
        }
        if !url.username().is_empty() || url.password().is_some() || url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("no user, query or fragment allowed"));
        }
        let host = url.host_str().ok_or_else(|| invalid("no host"))?;
        let mut did = format!("did:web:{host}");
        if let Some(port) = url.port() {
            did.push_str(&format!("%3A{port}"));
        }
        for segment in url.path().split('/').filter(|s| !s.is_empty()) {
            did.push(':');
            did.push_str(segment);
        }
        Did::parse(&did)
    }

    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// `host` or `host:port`.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Where the DID document lives. `https` always, `http` only when `allow_http`
    /// (loopback tests and local development; never in a real data space).
    pub fn document_url(&self, allow_http: bool) -> String {
        let scheme = if allow_http { "http" } else { "https" };
        if self.path.is_empty() {
            format!("{scheme}://{}/.well-known/did.json", self.authority)
        } else {
            format!("{scheme}://{}/{}/did.json", self.authority, self.path.join("/"))
        }
    }

    /// The HTTP path under which this DID's document is served (`/.well-known/did.json` or `/<path>/did.json`).
    pub fn document_path(&self) -> String {
        if self.path.is_empty() {
            "/.well-known/did.json".to_string()
        } else {
            format!("/{}/did.json", self.path.join("/"))
        }
    }

    /// The DID URL of a verification method: `<did>#<fragment>`.
    pub fn key_url(&self, fragment: &str) -> String {
        format!("{}#{fragment}", self.value)
    }
}

/// Splits a DID URL into its DID and fragment (`did:web:a#k` → (`did:web:a`, `Some("k")`)).
pub fn split_did_url(did_url: &str) -> (&str, Option<&str>) {
    match did_url.split_once('#') {
        Some((did, fragment)) => (did, Some(fragment)),
        None => (did_url, None),
    }
}

/// Why no key of a DID could be found to check a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyResolutionError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("the DID document fetched for {did} has id {document_id}")]
    DocumentMismatch { did: String, document_id: String },
    #[error("key `{kid}` belongs to another DID than {did}")]
    ForeignKey { kid: String, did: String },
    #[error(transparent)]
    Lookup(#[from] KeyLookupError),
}

/// The key of `did` that checks a signature with header `kid` for `relationship`.
///
/// The document's `id` must equal `did`; a `kid` naming another DID is refused; an
/// unknown `kid` triggers one fresh resolution (a key may have just been added).
pub async fn verification_key(
    resolver: &dyn DidResolver,
    did: &Did,
    kid: Option<&str>,
    relationship: Relationship,
) -> Result<(Arc<DidDocument>, crate::keys::PublicKey), KeyResolutionError> {
    if let Some(kid) = kid
        && kid.starts_with("did:")
        && split_did_url(kid).0 != did.as_str()
    {
        return Err(KeyResolutionError::ForeignKey { kid: kid.to_string(), did: did.to_string() });
    }
    let mut document = resolver.resolve(did).await?;
    let check_id = |document: &DidDocument| {
        if document.id == did.as_str() {
            Ok(())
        } else {
            Err(KeyResolutionError::DocumentMismatch { did: did.to_string(), document_id: document.id.clone() })
        }
    };
    check_id(&document)?;
    let key = match document.key_for(kid, relationship) {
        Err(KeyLookupError::UnknownKey { .. }) => {
            document = resolver.resolve_fresh(did).await?;
            check_id(&document)?;
            document.key_for(kid, relationship)?
        }
        other => other?,
    };
    Ok((document, key))
}

fn check_authority(authority: &str) -> Result<(), String> {
    if !authority.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
        return Err("the host may only hold letters, digits, `.`, `-` and a `%3A`-encoded port".into());
    }
    let url = url::Url::parse(&format!("https://{authority}/")).map_err(|e| format!("bad host: {e}"))?;
    if url.host_str().is_none_or(str::is_empty) || url.path() != "/" {
        return Err("bad host".into());
    }
    Ok(())
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.value)
    }
}

impl TryFrom<String> for Did {
    type Error = DidError;
    fn try_from(value: String) -> Result<Did, DidError> {
        Did::parse(&value)
    }
}

impl From<Did> for String {
    fn from(did: Did) -> String {
        did.value
    }
}

impl std::str::FromStr for Did {
    type Err = DidError;
    fn from_str(s: &str) -> Result<Did, DidError> {
        Did::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_web_maps_to_its_document_url() {
        let did = Did::parse("did:web:w3c-ccg.github.io").unwrap();
        assert_eq!(did.document_url(false), "https://w3c-ccg.github.io/.well-known/did.json");
        let did = Did::parse("did:web:w3c-ccg.github.io:user:alice").unwrap();
        assert_eq!(did.document_url(false), "https://w3c-ccg.github.io/user/alice/did.json");
        assert_eq!(did.document_path(), "/user/alice/did.json");
        let did = Did::parse("did:web:example.com%3A3000").unwrap();
        assert_eq!(did.authority(), "example.com:3000");
        assert_eq!(did.document_url(false), "https://example.com:3000/.well-known/did.json");
        assert_eq!(did.document_url(true), "http://example.com:3000/.well-known/did.json");
        let did = Did::parse("did:web:127.0.0.1%3A8080:authority").unwrap();
        assert_eq!(did.document_url(true), "http://127.0.0.1:8080/authority/did.json");
    }

    #[test]
    fn base_urls_become_dids() {
        let did = Did::from_base_url("https://connector.example.com").unwrap();
        assert_eq!(did.as_str(), "did:web:connector.example.com");
        let did = Did::from_base_url("https://example.com:8443/tenants/acme/").unwrap();
        assert_eq!(did.as_str(), "did:web:example.com%3A8443:tenants:acme");
        let did = Did::from_base_url("http://127.0.0.1:9000").unwrap();
        assert_eq!(did.as_str(), "did:web:127.0.0.1%3A9000");
        assert!(Did::from_base_url("ftp://example.com").is_err());
        assert!(Did::from_base_url("https://user@example.com").is_err());
        assert!(Did::from_base_url("not a url").is_err());
    }

    #[test]
    fn bad_dids_are_refused_with_a_reason() {
        assert!(matches!(Did::parse("web:example.com"), Err(DidError::NotADid(_))));
        assert!(matches!(Did::parse("did:key:z6Mk"), Err(DidError::UnsupportedMethod(_))));
        for bad in [
            "did:web:",
            "did:web:example.com#key",
            "did:web:example.com/path",
            "did:web:example.com::a",
            "did:web:example.com:a:",
            "did:web:exa mple.com",
            "did:web:user%40example.com",
            "did:web:example.com:..",
            "did:web:example.com:a%2Fb/c",
        ] {
            assert!(matches!(Did::parse(bad), Err(DidError::InvalidWeb { .. })), "{bad} accepted");
        }
    }

    #[test]
    fn did_urls_split_into_did_and_fragment() {
        assert_eq!(split_did_url("did:web:a.example#key-1"), ("did:web:a.example", Some("key-1")));
        assert_eq!(split_did_url("did:web:a.example"), ("did:web:a.example", None));
        let did = Did::parse("did:web:a.example").unwrap();
        assert_eq!(did.key_url("k"), "did:web:a.example#k");
    }

    #[test]
    fn dids_serialize_as_strings() {
        let did = Did::parse("did:web:a.example").unwrap();
        assert_eq!(serde_json::to_string(&did).unwrap(), "\"did:web:a.example\"");
        let back: Did = serde_json::from_str("\"did:web:a.example\"").unwrap();
        assert_eq!(back, did);
        assert!(serde_json::from_str::<Did>("\"did:key:x\"").is_err());
    }
}
