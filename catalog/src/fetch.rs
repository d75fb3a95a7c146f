//! Fetching one participant's DSP catalog: `POST <address>/catalog/request`
//! with the `Authorization` header of the DSP client's [`TokenSource`],
//! following `Link: <…>; rel="next"` until the last page.

use std::collections::HashSet;

use passerelle_dsp::client::{TokenRequest, TokenSource, resolve};
use passerelle_dsp::message::catalog::{Catalog, CatalogRequestMessage, Dataset};
use passerelle_dsp::message::parse_message;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LINK};
use url::Url;

use crate::registry::Participant;

/// Why a participant's catalog could not be read. The participant keeps its
/// last good entries; this goes into its crawl status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("the participant's protocol address `{address}` is not usable: {reason}")]
    BadAddress { address: String, reason: String },
    #[error("no token to call {url}: {reason}")]
    Token { url: String, reason: String },
    #[error("{url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}: {reason}")]
    Rejected { url: String, status: u16, reason: String },
    #[error("{url} did not answer a DSP Catalog: {reason}")]
    Malformed { url: String, reason: String },
    #[error("pagination of {url} does not end: {reason}")]
    Pagination { url: String, reason: String },
    #[error("{url} answered the catalog of `{found}`, but the member registered there is `{registered}`")]
    NotTheParticipant { url: String, registered: String, found: String },
}

impl FetchError {
    /// Short word for the kind of failure, as shown in crawl statuses.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::BadAddress { .. } => "bad-address",
            FetchError::Token { .. } => "token",
            FetchError::Unreachable { .. } => "unreachable",
            FetchError::Rejected { .. } => "rejected",
            FetchError::Malformed { .. } => "malformed",
            FetchError::Pagination { .. } => "pagination",
            FetchError::NotTheParticipant { .. } => "identity",
        }
    }
}

/// One page as received.
#[derive(Debug, Clone)]
pub struct Page {
    pub url: String,
    pub body: bytes::Bytes,
}

/// A participant's whole catalog.
#[derive(Debug, Clone)]
pub struct FetchedCatalog {
    /// The first page's catalog without datasets (id, services, participant id).
    pub head: Catalog,
    /// Datasets of every page, nested catalogs' datasets included.
    pub datasets: Vec<Dataset>,
    pub pages: Vec<Page>,
}

/// How the crawler pages through a catalog.
#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    /// `limit` asked of the provider per page (it may lower it).
    pub page_size: usize,
    /// A catalog with more pages than this is refused (a provider whose `next` links never end).
    pub max_pages: usize,
}

impl Default for FetchLimits {
    fn default() -> Self {
        FetchLimits { page_size: 200, max_pages: 10_000 }
    }
}

pub async fn fetch_catalog<T: TokenSource>(
    http: &reqwest::Client,
    tokens: &T,
    participant: &Participant,
    limits: FetchLimits,
) -> Result<FetchedCatalog, FetchError> {
    let mut url = resolve(&participant.protocol_address, &["catalog".to_string(), "request".to_string()])
        .map_err(|e| FetchError::BadAddress { address: participant.protocol_address.clone(), reason: e.to_string() })?;
    url.query_pairs_mut().append_pair("limit", &limits.page_size.to_string());

    let body = serde_json::to_vec(&CatalogRequestMessage::new())
        .map_err(|e| FetchError::Malformed { url: url.to_string(), reason: e.to_string() })?;
    let mut seen = HashSet::new();
    let mut head: Option<Catalog> = None;
    let mut datasets = Vec::new();
    let mut pages = Vec::new();
    let mut next = Some(url);
    while let Some(url) = next.take() {
        let at = url.to_string();
        if !seen.insert(at.clone()) {
            return Err(FetchError::Pagination {
                url: at,
                reason: "a `next` link points back to a page already read".into(),
            });
        }
        if pages.len() >= limits.max_pages {
            return Err(FetchError::Pagination { url: at, reason: format!("more than {} pages", limits.max_pages) });
        }
        let token = tokens
            .authorization(TokenRequest { url: &url, audience: Some(&participant.id) })
            .await
            .map_err(|e| FetchError::Token { url: at.clone(), reason: e.reason })?;
        let mut request = http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body.clone());
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, token);
        }
        let unreachable = |e: reqwest::Error| FetchError::Unreachable { url: at.clone(), reason: e.to_string() };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        next = next_link(&url, response.headers());
        let bytes = response.bytes().await.map_err(unreachable)?;
        if !status.is_success() {
            let excerpt: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
            return Err(FetchError::Rejected { url: at, status: status.as_u16(), reason: excerpt });
        }
        let mut catalog = parse_message::<Catalog>(&bytes)
            .map_err(|e| FetchError::Malformed { url: at.clone(), reason: e.to_string() })?;
        // The address came from the member's DID document; the catalog must also say it is theirs,
        // or one member could publish offers in another's name.
        if let Some(found) = catalog.participant_id.as_deref()
            && found != participant.id
        {
            return Err(FetchError::NotTheParticipant {
                url: at,
                registered: participant.id.clone(),
                found: found.to_string(),
            });
        }
        collect_datasets(&mut catalog, &mut datasets);
        if head.is_none() {
            head = Some(catalog);
        }
        pages.push(Page { url: at, body: bytes });
    }
    let head = head.ok_or_else(|| FetchError::Malformed {
        url: participant.protocol_address.clone(),
        reason: "no page was read".into(),
    })?;
    Ok(FetchedCatalog { head, datasets, pages })
}

/// Moves the datasets of `catalog` and of its nested catalogs into `out`.
fn collect_datasets(catalog: &mut Catalog, out: &mut Vec<Dataset>) {
    out.append(&mut catalog.dataset);
    for nested in &mut catalog.catalog {
        collect_datasets(nested, out);
    }
}

/// The `rel="next"` target among the response's `Link` headers (RFC 8288), resolved against `base`.
fn next_link(base: &Url, headers: &reqwest::header::HeaderMap) -> Option<Url> {
    for value in headers.get_all(LINK) {
        let Ok(value) = value.to_str() else { continue };
        for link in value.split(',') {
            let link = link.trim();
            let Some(rest) = link.strip_prefix('<') else { continue };
            let Some((target, params)) = rest.split_once('>') else { continue };
            let is_next = params.split(';').any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|rel| rel.trim_matches('"'))
                    .is_some_and(|rel| rel.split_whitespace().any(|r| r.eq_ignore_ascii_case("next")))
            });
            if is_next {
                return base.join(target).ok();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue};

    #[test]
    fn next_links_are_found_among_others_and_resolved() {
        let base = Url::parse("http://p/dsp/2025-1/catalog/request?limit=2").unwrap();
        let mut headers = HeaderMap::new();
        headers.append(LINK, HeaderValue::from_static("<http://p/x?t=1>; rel=\"previous\""));
        headers.append(LINK, HeaderValue::from_static("</dsp/2025-1/catalog/request?t=%5B2%5D>; rel=\"next\""));
        assert_eq!(next_link(&base, &headers).unwrap().as_str(), "http://p/dsp/2025-1/catalog/request?t=%5B2%5D");
        let mut one = HeaderMap::new();
        one.append(LINK, HeaderValue::from_static("<a>; rel=previous, <b?x=1>; rel=next"));
        assert_eq!(next_link(&base, &one).unwrap().as_str(), "http://p/dsp/2025-1/catalog/b?x=1");
        assert_eq!(next_link(&base, &HeaderMap::new()), None);
    }
}
