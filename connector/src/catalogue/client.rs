//! The connector's side of the federated catalogue (`[catalogue] url`): it tells the
//! catalogue when its offers change, and forwards searches to it.
//!
//! Notifications are best effort: a failure is logged and never fails the import or the
//! management call that caused it. Bursts are coalesced: while one notification is in
//! flight, further changes ask for exactly one more.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::config::Config;
use crate::identity::ParticipantIdentity;
use crate::identity::token::DcpTokenSource;
use passerelle_identity::did::Did;

/// Timeout of one call to the catalogue (a notification waits for the recrawl).
const TIMEOUT: Duration = Duration::from_secs(60);
/// Largest catalogue answer read.
const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// Why a call to the catalogue failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueClientError {
    #[error("the catalogue at {url} could not be reached: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the catalogue at {url} answered HTTP {status}: {message}")]
    Refused { url: String, status: u16, message: String },
    #[error("the catalogue at {url} answered something that is not JSON: {reason}")]
    BadAnswer { url: String, reason: String },
    #[error("cannot prove our identity to the catalogue at {url}: {reason}")]
    Identity { url: String, reason: String },
}

/// A search answer of the catalogue, or its refusal of the parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum SearchOutcome {
    Results(Value),
    /// The catalogue refused the parameters (HTTP 4xx); its message says what to fix.
    BadParameters {
        status: u16,
        message: String,
    },
}

/// Calls one catalogue on behalf of one participant.
#[derive(Debug, Clone)]
pub struct CatalogueClient {
    http: reqwest::Client,
    base: Url,
    participant_id: String,
    /// Signs the DCP token the catalogue asks of a notifying member.
    tokens: Option<DcpTokenSource>,
    pending: Arc<AtomicBool>,
    sending: Arc<AtomicBool>,
}

impl CatalogueClient {
    /// `base` is the catalogue's public URL; `participant_id` is this connector's id (its DID).
    pub fn new(http: reqwest::Client, base: Url, participant_id: impl Into<String>) -> CatalogueClient {
        CatalogueClient {
            http,
            base,
            participant_id: participant_id.into(),
            tokens: None,
            pending: Arc::new(AtomicBool::new(false)),
            sending: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Notifications carry a DCP token signed by `tokens` (the catalogue refuses them without).
    pub fn with_tokens(mut self, tokens: DcpTokenSource) -> CatalogueClient {
        self.tokens = Some(tokens);
        self
    }

    /// The client of `[catalogue] url`, if set, calling out as the connector does (`[tls]`) and
    /// signing notifications with the connector's identity.
    pub fn from_config(config: &Config) -> Option<CatalogueClient> {
        let base = config.catalogue_url.clone()?;
        let tokens = match ParticipantIdentity::load(config) {
            Ok(identity) => Some(DcpTokenSource::new(identity.dcp())),
            Err(error) => {
                tracing::warn!(%error, "no identity to sign catalogue notifications with; the catalogue will refuse them");
                None
            }
        };
        match crate::identity::tls::http_client(&config.tls, TIMEOUT) {
            Ok(http) => {
                let client = CatalogueClient::new(http, base, config.participant.id.clone());
                Some(match tokens {
                    Some(tokens) => client.with_tokens(tokens),
                    None => client,
                })
            }
            Err(error) => {
                tracing::warn!(%error, "no HTTP client for the catalogue; it is neither notified nor searched");
                None
            }
        }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `<base>/api/v1/notify/<participant id, one encoded path segment>`.
    pub fn notify_url(&self) -> Url {
        self.endpoint(&["api", "v1", "notify", &self.participant_id])
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        url.set_query(None);
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Asks the catalogue to recrawl this participant now; returns the crawl status it answered.
    pub async fn notify(&self) -> Result<Value, CatalogueClientError> {
        let url = self.notify_url();
        let mut request = self.http.post(url.clone());
        if let Some(tokens) = &self.tokens {
            // The catalogue's DID is the did:web of its public URL, as for any participant.
            let identity = |reason: String| CatalogueClientError::Identity { url: url.to_string(), reason };
            let audience =
                Did::from_base_url(self.base.as_str().trim_end_matches('/')).map_err(|e| identity(e.to_string()))?;
            let header = tokens.authorization_for(&audience).map_err(|e| identity(e.to_string()))?;
            request = request.header(reqwest::header::AUTHORIZATION, header);
        }
        let response = request.send().await.map_err(|e| unreachable(&url, &e))?;
        let (status, body) = read_json(&url, response).await?;
        if (200..300).contains(&status) {
            Ok(body)
        } else {
            Err(CatalogueClientError::Refused { url: url.to_string(), status, message: message_of(&body) })
        }
    }

    /// Notifies in the background (see the module notes); `why` goes into the log.
    pub fn notify_in_background(&self, why: &'static str) {
        self.pending.store(true, Ordering::SeqCst);
        if self.sending.swap(true, Ordering::SeqCst) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                while this.pending.swap(false, Ordering::SeqCst) {
                    match this.notify().await {
                        Ok(status) => tracing::info!(
                            why,
                            datasets = status.get("datasets").and_then(serde_json::Value::as_u64),
                            "catalogue notified"
                        ),
                        Err(error) => tracing::warn!(why, %error, "catalogue notification failed (best effort)"),
                    }
                }
                this.sending.store(false, Ordering::SeqCst);
                // A change may have arrived between the last check and the release.
                if !this.pending.load(Ordering::SeqCst) || this.sending.swap(true, Ordering::SeqCst) {
                    break;
                }
            }
        });
    }

    /// `GET <base>/api/v1/search?<query>` (the query string as given, already encoded).
    pub async fn search(&self, query: &str) -> Result<SearchOutcome, CatalogueClientError> {
        let mut url = self.endpoint(&["api", "v1", "search"]);
        url.set_query(Some(query).filter(|q| !q.is_empty()));
        let response = self.http.get(url.clone()).send().await.map_err(|e| unreachable(&url, &e))?;
        let (status, body) = read_json(&url, response).await?;
        match status {
            200..=299 => Ok(SearchOutcome::Results(body)),
            400..=499 => Ok(SearchOutcome::BadParameters { status, message: message_of(&body) }),
            _ => Err(CatalogueClientError::Refused { url: url.to_string(), status, message: message_of(&body) }),
        }
    }
}

/// `[(name, value)]` as a query string (`passerelle search` flags).
pub fn query_string(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

fn unreachable(url: &Url, error: &reqwest::Error) -> CatalogueClientError {
    CatalogueClientError::Unreachable { url: url.to_string(), reason: error.to_string() }
}

async fn read_json(url: &Url, response: reqwest::Response) -> Result<(u16, Value), CatalogueClientError> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.map_err(|e| unreachable(url, &e))?;
    if bytes.len() > MAX_ANSWER {
        return Err(CatalogueClientError::BadAnswer {
            url: url.to_string(),
            reason: format!("more than {MAX_ANSWER} bytes"),
        });
    }
    let body = serde_json::from_slice(&bytes)
        .map_err(|e| CatalogueClientError::BadAnswer { url: url.to_string(), reason: format!("HTTP {status}: {e}") })?;
    Ok((status, body))
}

/// The catalogue's `message` (its error bodies are `{"error", "message"}`), else the whole body.
fn message_of(body: &Value) -> String {
    body.get("message").and_then(Value::as_str).map(String::from).unwrap_or_else(|| body.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> CatalogueClient {
        let http = passerelle_identity::did::default_http_client(std::time::Duration::from_secs(5)).unwrap();
        CatalogueClient::new(http, Url::parse(base).unwrap(), "did:web:127.0.0.1%3A9000")
    }

    #[test]
    fn the_participant_id_is_one_encoded_path_segment() {
        let url = client("http://127.0.0.1:9300").notify_url();
        assert_eq!(url.as_str(), "http://127.0.0.1:9300/api/v1/notify/did:web:127.0.0.1%253A9000");
        let nested = client("https://ops.example/catalogue/").notify_url();
        assert_eq!(nested.as_str(), "https://ops.example/catalogue/api/v1/notify/did:web:127.0.0.1%253A9000");
    }

    #[test]
    fn flags_become_an_encoded_query() {
        assert_eq!(query_string(&[("q", "Le Passage"), ("eidr", "10.5240/1&2")]), "q=Le+Passage&eidr=10.5240%2F1%262");
        assert_eq!(query_string(&[]), "");
    }

    #[tokio::test]
    async fn an_unreachable_catalogue_is_an_error_not_a_panic() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let error = client(&format!("http://127.0.0.1:{port}")).notify().await.unwrap_err();
        assert!(matches!(error, CatalogueClientError::Unreachable { .. }), "{error}");
    }
}
