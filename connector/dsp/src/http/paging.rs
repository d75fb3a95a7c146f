//! Catalog pagination: page size limits, continuation tokens and `Link` headers
//! (DSP 2025-1 catalog HTTPS binding, RFC 8288 web linking with `next` and
//! `previous`).
//!
//! A [`CatalogSource`](crate::catalog::CatalogSource) only moves forward (its
//! cursors name the page after one). To offer `previous` links, the
//! continuation token carries the trail of source cursors that led to the
//! page. The trail is capped at [`MAX_TRAIL`] so URLs stay short: beyond that,
//! the oldest cursors are forgotten (a `null` marks the gap) and walking back
//! stops there with no `previous` link, instead of pointing at a wrong page.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;

/// How many source cursors a continuation token remembers.
pub const MAX_TRAIL: usize = 16;

/// Query parameter carrying the continuation token.
pub const TOKEN_PARAM: &str = "continuationToken";
/// Query parameter carrying the page size.
pub const LIMIT_PARAM: &str = "limit";

/// Page sizes of the catalog endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogPaging {
    /// Used when the request names no `limit`.
    pub default_limit: usize,
    /// Larger requested limits are lowered to this; it bounds the memory of one response.
    pub max_limit: usize,
}

impl Default for CatalogPaging {
    fn default() -> Self {
        CatalogPaging { default_limit: 50, max_limit: 500 }
    }
}

/// The query string of `POST …/catalog/request`, as received.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(rename = "limit")]
    pub limit: Option<String>,
    #[serde(rename = "continuationToken")]
    pub token: Option<String>,
}

/// Where in the catalogue a request starts, and how many entries it wants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: usize,
    pub position: PagePosition,
}

/// A page, named by the source cursors that lead to it (empty trail = first page).
///
/// Invariant: every entry is `Some` except possibly the first, which is `None`
/// when older cursors were forgotten; the last entry, if any, is `Some`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PagePosition {
    trail: Vec<Option<String>>,
}

impl PagePosition {
    pub fn first() -> Self {
        PagePosition::default()
    }

    /// The source cursor of this page (`None` for the first page).
    pub fn cursor(&self) -> Option<String> {
        self.trail.last().cloned().flatten()
    }

    /// The page after this one, reached with the source's `next_cursor`.
    pub fn next(&self, next_cursor: String) -> PagePosition {
        let mut trail = self.trail.clone();
        trail.push(Some(next_cursor));
        if trail.len() > MAX_TRAIL {
            let drop = trail.len() - MAX_TRAIL;
            trail.drain(..drop);
            trail[0] = None;
        }
        PagePosition { trail }
    }

    /// The page before this one: `None` on the first page, and also when the way back was forgotten.
    pub fn previous(&self) -> Option<PagePosition> {
        let (_, before) = self.trail.split_last()?;
        match before.last() {
            Some(None) => None,
            _ => Some(PagePosition { trail: before.to_vec() }),
        }
    }

    /// The continuation token naming this page (`None` for the first page).
    pub fn token(&self) -> Option<String> {
        if self.trail.is_empty() {
            return None;
        }
        serde_json::to_string(&self.trail).ok()
    }

    /// Reads a token issued by [`PagePosition::token`].
    pub fn from_token(token: &str) -> Result<PagePosition, String> {
        let refuse = || {
            format!(
                "`{TOKEN_PARAM}` is not one this connector issued: follow the `Link` headers of a previous response or omit it to start from the first page"
            )
        };
        let trail: Vec<Option<String>> = serde_json::from_str(token).map_err(|_| refuse())?;
        let well_formed = !trail.is_empty()
            && trail.len() <= MAX_TRAIL
            && trail.iter().skip(1).all(Option::is_some)
            && trail.last().is_some_and(Option::is_some);
        if !well_formed {
            return Err(refuse());
        }
        Ok(PagePosition { trail })
    }
}

impl PageQuery {
    /// Validates the query against the paging limits.
    pub fn resolve(&self, paging: &CatalogPaging) -> Result<PageRequest, String> {
        let limit = match self.limit.as_deref().map(str::trim) {
            None | Some("") => paging.default_limit,
            Some(text) => match text.parse::<usize>() {
                Ok(0) | Err(_) => {
                    return Err(format!(
                        "`{LIMIT_PARAM}` must be a whole number from 1 to {}, found `{text}`",
                        paging.max_limit
                    ));
                }
                Ok(n) => n.min(paging.max_limit),
            },
        };
        let position = match self.token.as_deref() {
            None | Some("") => PagePosition::first(),
            Some(token) => PagePosition::from_token(token)?,
        };
        Ok(PageRequest { limit: limit.max(1), position })
    }
}

/// Characters escaped in query values: everything but RFC 3986 unreserved characters.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// URL of the catalog request endpoint for one page.
pub fn page_url(request_url: &str, limit: usize, position: &PagePosition) -> String {
    match position.token() {
        None => format!("{request_url}?{LIMIT_PARAM}={limit}"),
        Some(token) => {
            format!("{request_url}?{LIMIT_PARAM}={limit}&{TOKEN_PARAM}={}", utf8_percent_encode(&token, QUERY_VALUE))
        }
    }
}

/// One `Link` header value (`<url>; rel="next"`).
pub fn link_value(url: &str, rel: &str) -> String {
    format!("<{url}>; rel=\"{rel}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(limit: Option<&str>, token: Option<&str>) -> PageQuery {
        PageQuery { limit: limit.map(String::from), token: token.map(String::from) }
    }

    #[test]
    fn limits_default_clamp_and_refuse() {
        let p = CatalogPaging { default_limit: 10, max_limit: 100 };
        assert_eq!(query(None, None).resolve(&p).unwrap().limit, 10);
        assert_eq!(query(Some("7"), None).resolve(&p).unwrap().limit, 7);
        assert_eq!(query(Some("100000"), None).resolve(&p).unwrap().limit, 100);
        for bad in ["0", "-1", "ten", "1.5"] {
            let err = query(Some(bad), None).resolve(&p).unwrap_err();
            assert!(err.contains("from 1 to 100"), "{err}");
        }
    }

    #[test]
    fn walking_forward_and_back() {
        let first = PagePosition::first();
        assert_eq!(first.cursor(), None);
        assert_eq!(first.previous(), None);
        assert_eq!(first.token(), None);
        let second = first.next("c1".into());
        let third = second.next("c2".into());
        assert_eq!(third.cursor().as_deref(), Some("c2"));
        assert_eq!(third.previous(), Some(second.clone()));
        assert_eq!(second.previous(), Some(first));
        let token = third.token().unwrap();
        assert_eq!(PagePosition::from_token(&token).unwrap(), third);
    }

    #[test]
    fn long_walks_forget_the_oldest_pages_and_stop_going_back_there() {
        let mut pos = PagePosition::first();
        for i in 0..(MAX_TRAIL + 5) {
            pos = pos.next(format!("c{i}"));
        }
        assert!(pos.token().unwrap().len() < 16 * MAX_TRAIL);
        let mut back = 0;
        let mut cur = pos.clone();
        while let Some(p) = cur.previous() {
            assert!(p.cursor().is_some());
            cur = p;
            back += 1;
        }
        assert_eq!(back, MAX_TRAIL - 2, "walks back until the forgotten part");
        assert_eq!(pos.cursor().as_deref(), Some(format!("c{}", MAX_TRAIL + 4).as_str()));
        assert_eq!(PagePosition::from_token(&pos.token().unwrap()).unwrap(), pos);
    }

    #[test]
    fn foreign_tokens_are_refused_with_a_hint() {
        for bad in ["abc", "[]", "[null]", "[\"a\",null]", "{}", "[1]"] {
            let err = PagePosition::from_token(bad).unwrap_err();
            assert!(err.contains("omit it"), "{bad}: {err}");
        }
    }

    #[test]
    fn urls_escape_the_token() {
        let pos = PagePosition::first().next("a b&c=\"d\"".into());
        let url = page_url("http://h/dsp/2025-1/catalog/request", 5, &pos);
        assert!(url.starts_with("http://h/dsp/2025-1/catalog/request?limit=5&continuationToken=%5B%22a%20b%26c%3D"));
        let query = &url[url.find('?').unwrap() + 1..];
        assert_eq!(query.matches('&').count(), 1, "{query}");
        assert!(!query.contains(['"', ' ', '[', ']']), "{query}");
        assert_eq!(page_url("http://h/r", 5, &PagePosition::first()), "http://h/r?limit=5");
        assert_eq!(link_value("http://h/r?limit=5", "next"), "<http://h/r?limit=5>; rel=\"next\"");
    }
}
