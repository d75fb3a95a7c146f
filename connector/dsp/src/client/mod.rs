//! A DSP client: sends every negotiation and transfer message to a
//! counter-party and reads its ACK or typed error.
//!
//! The caller brings the `reqwest::Client` (TLS, timeouts, proxies are the
//! connector's policy; with `rustls-no-provider` a crypto provider must be
//! installed before building it) and a [`TokenSource`] for the
//! `Authorization` header. Failures say whether a retry can help
//! ([`ClientError::is_retryable`]), which is what an outbox needs.

mod route;
mod token;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

pub use route::{Route, negotiation_route, resolve, transfer_route};
pub use token::{NoToken, StaticToken, TokenError, TokenRequest, TokenSource};

use crate::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationEventMessage, ContractNegotiationTerminationMessage, ContractOfferMessage,
    ContractRequestMessage,
};
use crate::message::transfer::{
    TransferCompletionMessage, TransferProcess, TransferRequestMessage, TransferStartMessage,
    TransferSuspensionMessage, TransferTerminationMessage,
};
use crate::message::{DspMessage, parse_message};
use crate::negotiation::NegotiationMessage;
use crate::process::Role;
use crate::transfer::TransferMessage;

/// The counter-party a message goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Base URL of the recipient's routes: a provider's protocol address
    /// (`https://p.example/dsp/2025-1`, see [`crate::protocol_address`]), or the
    /// `callbackAddress` a consumer gave (its protocol address for an initial offer).
    pub address: String,
    /// Its participant id, when known (passed to the token source as audience).
    pub participant_id: Option<String>,
}

impl Peer {
    pub fn new(address: impl Into<String>) -> Self {
        Peer { address: address.into(), participant_id: None }
    }

    pub fn with_participant(mut self, participant_id: impl Into<String>) -> Self {
        self.participant_id = Some(participant_id.into());
        self
    }
}

/// Why a message was not delivered or not acknowledged.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("`{address}` is not a usable DSP address: {reason}")]
    InvalidAddress { address: String, reason: String },
    #[error("a {message} cannot be sent to the {recipient}: {hint}")]
    Misdirected { message: String, recipient: Role, hint: String },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the message could not be serialized: {0}")]
    Serialize(String),
    #[error("{url} could not be reached: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} refused the message with HTTP {status}{}: {}", .code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default(), .reasons.join("; "))]
    Rejected { url: String, status: u16, code: Option<String>, reasons: Vec<String> },
    #[error("{url} answered HTTP {status} without the expected {expected}: {reason}")]
    InvalidResponse { url: String, status: u16, expected: &'static str, reason: String },
}

impl ClientError {
    /// True when sending the same message again later may succeed (network
    /// failure, server error, overload); false when the message itself was refused.
    pub fn is_retryable(&self) -> bool {
        match self {
            ClientError::Transport { .. } => true,
            ClientError::Rejected { status, .. } => *status >= 500 || *status == 408 || *status == 429,
            _ => false,
        }
    }

    /// The HTTP status the counter-party answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Rejected { status, .. } | ClientError::InvalidResponse { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Sends DSP messages (cheap to clone when `T` is).
#[derive(Debug, Clone)]
pub struct DspClient<T> {
    http: reqwest::Client,
    tokens: T,
}

impl<T: TokenSource> DspClient<T> {
    pub fn new(http: reqwest::Client, tokens: T) -> Self {
        DspClient { http, tokens }
    }

    // ---- negotiation: consumer → provider ------------------------------------

    /// `POST <provider>/negotiations/request`: starts a negotiation; the ACK carries the provider's pid.
    pub async fn request_negotiation(
        &self,
        provider: &Peer,
        message: &ContractRequestMessage,
    ) -> Result<ContractNegotiation, ClientError> {
        self.creating(provider, Role::Provider, message.clone().into()).await
    }

    /// `POST <provider>/negotiations/{providerPid}/request`: a counter-offer.
    pub async fn send_counter_request(
        &self,
        provider: &Peer,
        message: &ContractRequestMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(provider, Role::Provider, message.clone().into()).await
    }

    /// `POST <provider>/negotiations/{providerPid}/events` with ACCEPTED.
    pub async fn accept_offer(
        &self,
        provider: &Peer,
        message: &ContractNegotiationEventMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(provider, Role::Provider, message.clone().into()).await
    }

    /// `POST <provider>/negotiations/{providerPid}/agreement/verification`.
    pub async fn verify_agreement(
        &self,
        provider: &Peer,
        message: &ContractAgreementVerificationMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(provider, Role::Provider, message.clone().into()).await
    }

    // ---- negotiation: provider → consumer ------------------------------------

    /// `POST <consumer>/negotiations/offers`: starts a negotiation on the consumer's side.
    pub async fn offer_negotiation(
        &self,
        consumer: &Peer,
        message: &ContractOfferMessage,
    ) -> Result<ContractNegotiation, ClientError> {
        self.creating(consumer, Role::Consumer, message.clone().into()).await
    }

    /// `POST <callback>/negotiations/{consumerPid}/offers`: a (counter-)offer.
    pub async fn send_counter_offer(
        &self,
        consumer: &Peer,
        message: &ContractOfferMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(consumer, Role::Consumer, message.clone().into()).await
    }

    /// `POST <callback>/negotiations/{consumerPid}/agreement`.
    pub async fn send_agreement(
        &self,
        consumer: &Peer,
        message: &ContractAgreementMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(consumer, Role::Consumer, message.clone().into()).await
    }

    /// `POST <callback>/negotiations/{consumerPid}/events` with FINALIZED.
    pub async fn finalize_negotiation(
        &self,
        consumer: &Peer,
        message: &ContractNegotiationEventMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(consumer, Role::Consumer, message.clone().into()).await
    }

    // ---- negotiation: either way ---------------------------------------------

    /// `POST …/negotiations/{pid}/termination` to the `recipient`.
    pub async fn terminate_negotiation(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &ContractNegotiationTerminationMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        self.updating(peer, recipient, message.clone().into()).await
    }

    /// Any negotiation message to `recipient`, routed by its kind (for an outbox
    /// replaying stored messages). Creating messages always return `Some`.
    pub async fn send_negotiation(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &NegotiationMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        let route = negotiation_route(recipient, message)?;
        let body = message.to_json().map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.post(peer, &route, body).await
    }

    /// `GET …/negotiations/{pid}` of the `recipient` (`pid` is the recipient's own pid).
    pub async fn get_negotiation(&self, peer: &Peer, pid: &str) -> Result<ContractNegotiation, ClientError> {
        self.get(peer, &["negotiations".to_string(), pid.to_string()]).await
    }

    // ---- transfers -------------------------------------------------------------

    /// `POST <provider>/transfers/request`; the ACK carries the provider's pid.
    pub async fn request_transfer(
        &self,
        provider: &Peer,
        message: &TransferRequestMessage,
    ) -> Result<TransferProcess, ClientError> {
        let message = TransferMessage::from(message.clone());
        let route = transfer_route(Role::Provider, &message)?;
        let body = message.to_json().map_err(|e| ClientError::Serialize(e.to_string()))?;
        let ack = self.post(provider, &route, body).await?;
        ack.ok_or_else(|| missing_ack(&provider.address, "TransferProcess"))
    }

    /// `POST …/transfers/{pid}/start` to the `recipient` (the consumer, or the provider to resume).
    pub async fn start_transfer(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &TransferStartMessage,
    ) -> Result<Option<TransferProcess>, ClientError> {
        self.send_transfer(peer, recipient, &message.clone().into()).await
    }

    /// `POST …/transfers/{pid}/suspension` to the `recipient`.
    pub async fn suspend_transfer(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &TransferSuspensionMessage,
    ) -> Result<Option<TransferProcess>, ClientError> {
        self.send_transfer(peer, recipient, &message.clone().into()).await
    }

    /// `POST …/transfers/{pid}/completion` to the `recipient`.
    pub async fn complete_transfer(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &TransferCompletionMessage,
    ) -> Result<Option<TransferProcess>, ClientError> {
        self.send_transfer(peer, recipient, &message.clone().into()).await
    }

    /// `POST …/transfers/{pid}/termination` to the `recipient`.
    pub async fn terminate_transfer(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &TransferTerminationMessage,
    ) -> Result<Option<TransferProcess>, ClientError> {
        self.send_transfer(peer, recipient, &message.clone().into()).await
    }

    /// Any transfer message to `recipient`, routed by its kind.
    pub async fn send_transfer(
        &self,
        peer: &Peer,
        recipient: Role,
        message: &TransferMessage,
    ) -> Result<Option<TransferProcess>, ClientError> {
        let route = transfer_route(recipient, message)?;
        let body = message.to_json().map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.post(peer, &route, body).await
    }

    /// `GET …/transfers/{pid}` of the recipient (`pid` is the recipient's own pid).
    pub async fn get_transfer(&self, peer: &Peer, pid: &str) -> Result<TransferProcess, ClientError> {
        self.get(peer, &["transfers".to_string(), pid.to_string()]).await
    }

    // ---- plumbing ---------------------------------------------------------------

    async fn creating(
        &self,
        peer: &Peer,
        recipient: Role,
        message: NegotiationMessage,
    ) -> Result<ContractNegotiation, ClientError> {
        let route = negotiation_route(recipient, &message)?;
        if !route.creates {
            return Err(ClientError::Misdirected {
                message: message.kind().to_string(),
                recipient,
                hint: format!("it already names the {recipient}'s pid: send it as a counter-message"),
            });
        }
        let body = message.to_json().map_err(|e| ClientError::Serialize(e.to_string()))?;
        let ack = self.post(peer, &route, body).await?;
        ack.ok_or_else(|| missing_ack(&peer.address, "ContractNegotiation"))
    }

    async fn updating(
        &self,
        peer: &Peer,
        recipient: Role,
        message: NegotiationMessage,
    ) -> Result<Option<ContractNegotiation>, ClientError> {
        let route = negotiation_route(recipient, &message)?;
        if route.creates {
            return Err(ClientError::Misdirected {
                message: message.kind().to_string(),
                recipient,
                hint: format!("it has no {recipient} pid, so it would start a new negotiation"),
            });
        }
        let body = message.to_json().map_err(|e| ClientError::Serialize(e.to_string()))?;
        self.post(peer, &route, body).await
    }

    async fn authorized(
        &self,
        request: reqwest::RequestBuilder,
        url: &Url,
        peer: &Peer,
    ) -> Result<reqwest::RequestBuilder, ClientError> {
        let token = self.tokens.authorization(TokenRequest { url, audience: peer.participant_id.as_deref() }).await?;
        Ok(match token {
            Some(value) => request.header(AUTHORIZATION, value),
            None => request,
        })
    }

    /// Posts `body`; a creating route must answer with the ACK, other routes may
    /// answer with anything (the bindings leave their body unspecified).
    async fn post<A: DspMessage + DeserializeOwned>(
        &self,
        peer: &Peer,
        route: &Route,
        body: Value,
    ) -> Result<Option<A>, ClientError> {
        let url = resolve(&peer.address, &route.segments)?;
        let request = self
            .http
            .post(url.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .json(&body);
        let (status, bytes) = self.exchange(self.authorized(request, &url, peer).await?, &url).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) && !route.creates {
            return Ok(None);
        }
        match parse_message::<A>(&bytes) {
            Ok(ack) => Ok(Some(ack)),
            Err(_) if !route.creates => Ok(None),
            Err(e) => Err(ClientError::InvalidResponse {
                url: url.to_string(),
                status,
                expected: A::TYPE,
                reason: e.to_string(),
            }),
        }
    }

    async fn get<A: DspMessage + DeserializeOwned>(&self, peer: &Peer, segments: &[String]) -> Result<A, ClientError> {
        let url = resolve(&peer.address, segments)?;
        let request = self.http.get(url.clone()).header(ACCEPT, "application/json");
        let (status, bytes) = self.exchange(self.authorized(request, &url, peer).await?, &url).await?;
        parse_message::<A>(&bytes).map_err(|e| ClientError::InvalidResponse {
            url: url.to_string(),
            status,
            expected: A::TYPE,
            reason: e.to_string(),
        })
    }

    /// Sends and reads the whole answer; non-2xx becomes [`ClientError::Rejected`].
    async fn exchange(&self, request: reqwest::RequestBuilder, url: &Url) -> Result<(u16, bytes::Bytes), ClientError> {
        let transport = |source| ClientError::Transport { url: url.to_string(), source };
        let response = request.send().await.map_err(transport)?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(transport)?;
        if (200..300).contains(&status) {
            Ok((status, bytes))
        } else {
            let (code, reasons) = error_details(&bytes);
            Err(ClientError::Rejected { url: url.to_string(), status, code, reasons })
        }
    }
}

fn missing_ack(address: &str, expected: &'static str) -> ClientError {
    ClientError::InvalidResponse {
        url: address.to_string(),
        status: 200,
        expected,
        reason: "the answer had no body; a creating route must return the ACK".to_string(),
    }
}

/// `code` and `reason` of a DSP error body; an excerpt of anything else.
fn error_details(body: &[u8]) -> (Option<String>, Vec<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        let text = String::from_utf8_lossy(body);
        let excerpt: String = text.chars().take(200).collect();
        return (None, if excerpt.trim().is_empty() { Vec::new() } else { vec![excerpt] });
    };
    let code = value.get("code").and_then(Value::as_str).map(str::to_string);
    let reasons = match value.get("reason") {
        Some(Value::Array(items)) => items.iter().map(reason_text).collect(),
        Some(one) => vec![reason_text(one)],
        None => Vec::new(),
    };
    (code, reasons)
}

fn reason_text(reason: &Value) -> String {
    match reason {
        Value::String(text) => text.clone(),
        Value::Object(object) => match object.get("message").or_else(|| object.get("@value")).and_then(Value::as_str) {
            Some(text) => text.to_string(),
            None => reason.to_string(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_are_read_whatever_their_shape() {
        let (code, reasons) =
            error_details(br#"{"@type":"ContractNegotiationError","code":"ILLEGAL_TRANSITION","reason":["not now"]}"#);
        assert_eq!((code.as_deref(), reasons), (Some("ILLEGAL_TRANSITION"), vec!["not now".to_string()]));
        let (_, reasons) = error_details(br#"{"reason":[{"message":"policy"},{"x":1}]}"#);
        assert_eq!(reasons, vec!["policy".to_string(), r#"{"x":1}"#.to_string()]);
        assert_eq!(error_details(b"Bad Gateway"), (None, vec!["Bad Gateway".to_string()]));
        assert_eq!(error_details(b""), (None, vec![]));
    }

    #[test]
    fn only_transient_failures_are_retryable() {
        let rejected =
            |status| ClientError::Rejected { url: "u".into(), status, code: None, reasons: vec!["r".into()] };
        assert!(rejected(503).is_retryable() && rejected(429).is_retryable() && rejected(500).is_retryable());
        assert!(!rejected(400).is_retryable() && !rejected(404).is_retryable());
        assert_eq!(rejected(404).status(), Some(404));
        assert!(rejected(400).to_string().contains("HTTP 400: r"));
        let misdirected = ClientError::Misdirected { message: "m".into(), recipient: Role::Provider, hint: "h".into() };
        assert!(!misdirected.is_retryable());
    }
}
