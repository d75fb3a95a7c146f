//! DID resolution: over HTTPS (did:web), in memory (tests, fixed registries), and a
//! TTL cache in front of either.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use futures::future::BoxFuture;
use time::{Duration, OffsetDateTime};

use super::{Did, DidDocument};
use crate::clock::Clock;

/// DID documents larger than this are refused (a document with a few keys and services is ~2 KiB).
pub const MAX_DID_DOCUMENT_LEN: usize = 64 * 1024;

/// Why a DID could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no DID document is known for {did}")]
    NotFound { did: String },
    #[error("fetching the DID document of {did} from {url} failed: {reason}")]
    Fetch { did: String, url: String, reason: String },
    #[error("the DID document of {did} at {url} answered HTTP {status}")]
    Status { did: String, url: String, status: u16 },
    #[error("the DID document of {did} is larger than {MAX_DID_DOCUMENT_LEN} bytes")]
    TooLarge { did: String },
    #[error("the DID document of {did} is not valid: {reason}")]
    Invalid { did: String, reason: String },
}

/// Turns a DID into its current document.
pub trait DidResolver: Send + Sync {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>>;

    /// Resolves bypassing any cache; verifiers call it once when a `kid` is unknown so
    /// that a freshly published key is found at once. Resolvers without a cache resolve.
    fn resolve_fresh<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
        self.resolve(did)
    }
}

/// A fixed set of documents, keyed by DID string. The key need not equal the
/// document's `id`, which lets tests serve a mismatching document on purpose.
#[derive(Debug, Default)]
pub struct InMemoryResolver {
    documents: RwLock<HashMap<String, Arc<DidDocument>>>,
}

impl InMemoryResolver {
    pub fn new() -> InMemoryResolver {
        InMemoryResolver::default()
    }

    /// Registers (or replaces) the document served for `did`.
    pub fn insert(&self, did: &str, document: DidDocument) {
        self.write().insert(did.to_string(), Arc::new(document));
    }

    /// Registers a document under its own `id`.
    pub fn publish(&self, document: DidDocument) {
        let id = document.id.clone();
        self.insert(&id, document);
    }

    pub fn remove(&self, did: &str) -> bool {
        self.write().remove(did).is_some()
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<DidDocument>>> {
        self.documents.write().unwrap_or_else(|e| e.into_inner())
    }
}

impl DidResolver for InMemoryResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
        let found = self.documents.read().unwrap_or_else(|e| e.into_inner()).get(did.as_str()).cloned();
        Box::pin(async move { found.ok_or_else(|| ResolveError::NotFound { did: did.to_string() }) })
    }
}

/// did:web over HTTP(S).
#[derive(Debug, Clone)]
pub struct WebResolver {
    client: reqwest::Client,
    allow_http: bool,
}

impl WebResolver {
    /// Resolves over HTTPS with the caller's client (its TLS roots and timeouts apply).
    pub fn new(client: reqwest::Client) -> WebResolver {
        WebResolver { client, allow_http: false }
    }

    /// `allow_http_did_web`: fetch documents over plain HTTP. For loopback tests and local
    /// development only; a DID fetched this way proves nothing against a network attacker.
    pub fn allow_http(mut self, allow: bool) -> WebResolver {
        self.allow_http = allow;
        self
    }

    async fn fetch(&self, did: &Did) -> Result<DidDocument, ResolveError> {
        let url = did.document_url(self.allow_http);
        let fetch_error =
            |e: reqwest::Error| ResolveError::Fetch { did: did.to_string(), url: url.clone(), reason: e.to_string() };
        let mut response = self
            .client
            .get(&url)
            .header(reqwest::header::ACCEPT, "application/did+json, application/json")
            .send()
            .await
            .map_err(fetch_error)?;
        if !response.status().is_success() {
            return Err(ResolveError::Status { did: did.to_string(), url, status: response.status().as_u16() });
        }
        let body = read_limited(&mut response, MAX_DID_DOCUMENT_LEN)
            .await
            .map_err(fetch_error)?
            .ok_or_else(|| ResolveError::TooLarge { did: did.to_string() })?;
        serde_json::from_slice(&body).map_err(|e| ResolveError::Invalid { did: did.to_string(), reason: e.to_string() })
    }
}

impl DidResolver for WebResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
        Box::pin(async move { self.fetch(did).await.map(Arc::new) })
    }
}

/// Reads a response body up to `limit` bytes; `Ok(None)` when it is longer.
pub(crate) async fn read_limited(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<Option<Vec<u8>>, reqwest::Error> {
    if response.content_length().is_some_and(|len| len > limit as u64) {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > limit {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

/// An HTTP client for resolution, status lists and presentation queries, using the
/// ring crypto provider chosen for the whole workspace (installed process-wide if
/// no provider is installed yet: reqwest is built without one).
pub fn default_http_client(timeout: std::time::Duration) -> Result<reqwest::Client, reqwest::Error> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(timeout).build()
}

/// Caches resolved documents for a TTL. [`DidResolver::resolve_fresh`] bypasses the
/// cache: verifiers call it when a `kid` is unknown, so a freshly added key is found
/// without waiting for the TTL. A removed key keeps verifying until the TTL expires.
pub struct CachingResolver {
    inner: Arc<dyn DidResolver>,
    clock: Arc<dyn Clock>,
    ttl: Duration,
    max_entries: usize,
    cache: Mutex<HashMap<String, (Arc<DidDocument>, OffsetDateTime)>>,
}

impl CachingResolver {
    pub fn new(inner: Arc<dyn DidResolver>, clock: Arc<dyn Clock>, ttl: Duration) -> CachingResolver {
        CachingResolver { inner, clock, ttl, max_entries: 10_000, cache: Mutex::new(HashMap::new()) }
    }

    /// The cached document if still fresh.
    pub fn cached(&self, did: &Did) -> Option<Arc<DidDocument>> {
        let now = self.clock.now();
        let cache = self.lock();
        cache.get(did.as_str()).filter(|(_, fetched)| now - *fetched < self.ttl).map(|(doc, _)| doc.clone())
    }

    /// Resolves through the inner resolver and caches the result.
    async fn refresh(&self, did: &Did) -> Result<Arc<DidDocument>, ResolveError> {
        let document = self.inner.resolve(did).await?;
        let now = self.clock.now();
        let mut cache = self.lock();
        if cache.len() >= self.max_entries {
            let ttl = self.ttl;
            cache.retain(|_, (_, fetched)| now - *fetched < ttl);
            if cache.len() >= self.max_entries {
                cache.clear();
            }
        }
        cache.insert(did.as_str().to_string(), (document.clone(), now));
        Ok(document)
    }

    /// Forgets a DID (e.g. after its owner announced a key change).
    pub fn invalidate(&self, did: &Did) {
        self.lock().remove(did.as_str());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Arc<DidDocument>, OffsetDateTime)>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl DidResolver for CachingResolver {
    fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
        Box::pin(async move {
            match self.cached(did) {
                Some(doc) => Ok(doc),
                None => self.refresh(did).await,
            }
        })
    }

    fn resolve_fresh<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
        Box::pin(self.refresh(did))
    }
}

impl std::fmt::Debug for CachingResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachingResolver").field("ttl", &self.ttl).field("entries", &self.lock().len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counting {
        inner: InMemoryResolver,
        calls: AtomicUsize,
    }

    impl DidResolver for Counting {
        fn resolve<'a>(&'a self, did: &'a Did) -> BoxFuture<'a, Result<Arc<DidDocument>, ResolveError>> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            self.inner.resolve(did)
        }
    }

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn the_cache_serves_until_the_ttl_then_resolves_again() {
        let did = Did::parse("did:web:a.example").unwrap();
        let counting = Arc::new(Counting { inner: InMemoryResolver::new(), calls: AtomicUsize::new(0) });
        counting.inner.publish(DidDocument::new(&did));
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let cache = CachingResolver::new(counting.clone(), clock.clone(), Duration::minutes(5));
        block_on(cache.resolve(&did)).unwrap();
        block_on(cache.resolve(&did)).unwrap();
        assert_eq!(counting.calls.load(Ordering::SeqCst), 1);
        clock.advance(Duration::minutes(5));
        block_on(cache.resolve(&did)).unwrap();
        assert_eq!(counting.calls.load(Ordering::SeqCst), 2);
        block_on(cache.resolve_fresh(&did)).unwrap();
        assert_eq!(counting.calls.load(Ordering::SeqCst), 3);
        cache.invalidate(&did);
        assert!(cache.cached(&did).is_none());
    }

    #[test]
    fn unknown_dids_are_not_found() {
        let resolver = InMemoryResolver::new();
        let did = Did::parse("did:web:nobody.example").unwrap();
        assert!(matches!(block_on(resolver.resolve(&did)), Err(ResolveError::NotFound { .. })));
    }
}
