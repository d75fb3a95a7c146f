//! Where the client's `Authorization` header comes from: a [`TokenSource`],
//! so that DCP self-issued tokens (audience = the counter-party) plug in later.

use std::fmt;
use std::future::Future;

use url::Url;

/// What a token is requested for.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// The URL about to be called.
    pub url: &'a Url,
    /// The counter-party's participant id, when known (a DCP token's `aud`).
    pub audience: Option<&'a str>,
}

/// Why no token could be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no authorization token could be obtained: {reason}")]
pub struct TokenError {
    pub reason: String,
}

impl TokenError {
    pub fn new(reason: impl Into<String>) -> Self {
        TokenError { reason: reason.into() }
    }
}

/// Produces the `Authorization` header value for a request (`None`: send none).
pub trait TokenSource: Send + Sync {
    fn authorization(
        &self,
        request: TokenRequest<'_>,
    ) -> impl Future<Output = Result<Option<String>, TokenError>> + Send;
}

/// Sends no `Authorization` header.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoToken;

impl TokenSource for NoToken {
    async fn authorization(&self, _request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        Ok(None)
    }
}

/// Sends the same header value on every request (e.g. the TCK's fixed token).
#[derive(Clone, PartialEq, Eq)]
pub struct StaticToken(pub String);

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl TokenSource for StaticToken {
    async fn authorization(&self, _request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        Ok(Some(self.0.clone()))
    }
}

/// Any synchronous closure works as a token source.
impl<F> TokenSource for F
where
    F: Fn(TokenRequest<'_>) -> Result<Option<String>, TokenError> + Send + Sync,
{
    async fn authorization(&self, request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        self(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sources() {
        let url = Url::parse("https://p.example/dsp/2025-1/negotiations/request").unwrap();
        let request = TokenRequest { url: &url, audience: Some("did:web:p.example") };
        assert_eq!(NoToken.authorization(request).await, Ok(None));
        let token = StaticToken("Bearer abc".into());
        assert_eq!(token.authorization(request).await, Ok(Some("Bearer abc".into())));
        assert!(!format!("{token:?}").contains("abc"));
        let per_audience = |r: TokenRequest<'_>| match r.audience {
            Some(aud) => Ok(Some(format!("Bearer for:{aud}"))),
            None => Err(TokenError::new("the counter-party's DID is needed")),
        };
        assert_eq!(per_audience.authorization(request).await, Ok(Some("Bearer for:did:web:p.example".into())));
        let err = per_audience.authorization(TokenRequest { url: &url, audience: None }).await.unwrap_err();
        assert!(err.to_string().contains("DID is needed"));
    }
}
