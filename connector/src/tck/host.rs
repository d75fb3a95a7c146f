//! [`TckHost`]: the in-memory DSP host of `passerelle-dsp`, wrapped so that after every
//! message it applies, the connector plays its scripted part ([`super::script`]).
//!
//! Scripted messages are applied to our side first and sent afterwards (the TCK may
//! answer before our HTTP call returns), each after the configured step delay, in a
//! task of their own so that the ACK of the message that triggered them goes out first.

use std::sync::Arc;
use std::time::Duration;

use passerelle_dsp::client::{DspClient, Peer, TokenError, TokenRequest, TokenSource};
use passerelle_dsp::memory::{Counterparty, MemoryHost, NegotiationRecord, TransferRecord};
use passerelle_dsp::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationEventMessage, ContractNegotiationTerminationMessage, ContractOfferMessage,
    ContractRequestMessage, NegotiationEventType,
};
use passerelle_dsp::message::policy::{Agreement, MessageOffer};
use passerelle_dsp::message::transfer::{
    DataAddress, TransferCompletionMessage, TransferProcess, TransferRequestMessage, TransferStartMessage,
    TransferSuspensionMessage, TransferTerminationMessage,
};
use passerelle_dsp::negotiation::{NegotiationHost, NegotiationMessage};
use passerelle_dsp::process::{CallerIdentity, ProtocolError, Role};
use passerelle_dsp::transfer::{TransferHost, TransferMessage};
use serde_json::{Value, json};

use crate::identity::token::DcpTokenSource;

use super::script::{self, NegotiationEvent, NegotiationStep, TransferEvent, TransferStep};
use super::seed;

/// Termination code of a scripted termination.
pub const SCRIPTED: &str = "TCK_SCRIPTED";
/// Endpoint type of the pull address a scripted start announces.
const HTTP_ENDPOINT: &str = "https://w3id.org/idsa/v4.1/HTTP";

/// What our own messages carry in `Authorization`: the TCK's static value (if configured),
/// or a DCP self-issued token addressed to the counter-party.
#[derive(Clone)]
pub enum OutgoingAuthorization {
    Static(Option<String>),
    // Boxed: the token source (identity, key, scopes) dwarfs an optional header value.
    Dcp(Box<DcpTokenSource>),
}

impl Default for OutgoingAuthorization {
    fn default() -> OutgoingAuthorization {
        OutgoingAuthorization::Static(None)
    }
}

impl OutgoingAuthorization {
    /// Under DCP the counter-party is a verified participant: processes are bound to it.
    fn is_dcp(&self) -> bool {
        matches!(self, OutgoingAuthorization::Dcp(_))
    }
}

impl std::fmt::Debug for OutgoingAuthorization {
    // The static value is a credential: never show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutgoingAuthorization::Static(value) => {
                write!(f, "Static({})", if value.is_some() { "<redacted>" } else { "none" })
            }
            OutgoingAuthorization::Dcp(source) => f.debug_tuple("Dcp").field(source).finish(),
        }
    }
}

impl TokenSource for OutgoingAuthorization {
    async fn authorization(&self, request: TokenRequest<'_>) -> Result<Option<String>, TokenError> {
        match self {
            OutgoingAuthorization::Static(value) => Ok(value.clone()),
            OutgoingAuthorization::Dcp(source) => source.authorization(request).await,
        }
    }
}

/// Why a TCK trigger could not start a process.
#[derive(Debug, thiserror::Error)]
pub enum TriggerError {
    #[error("{0}")]
    Invalid(String),
    #[error("the TCK at `{address}` did not accept the message: {reason}")]
    Peer { address: String, reason: String },
}

/// The TCK-mode host of negotiations and transfers (cheap to clone).
#[derive(Clone)]
pub struct TckHost {
    inner: Arc<Inner>,
}

struct Inner {
    memory: MemoryHost,
    client: DspClient<OutgoingAuthorization>,
    /// Whether counter-parties are verified DCP participants (their processes are then bound to them).
    verified_peers: bool,
    participant_id: String,
    base_url: String,
    delay: Duration,
}

impl std::fmt::Debug for TckHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TckHost").field("participant_id", &self.inner.participant_id).finish()
    }
}

impl TckHost {
    /// A host for `participant_id` reachable at `base_url`, knowing the TCK's provider agreements.
    pub fn new(participant_id: &str, base_url: &str, authorization: OutgoingAuthorization, delay: Duration) -> TckHost {
        let memory = MemoryHost::new();
        for agreement in script::provider_agreements() {
            memory.add_agreement(agreement, None);
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "HTTP client with timeouts unavailable; using defaults");
            reqwest::Client::new()
        });
        TckHost {
            inner: Arc::new(Inner {
                memory,
                verified_peers: authorization.is_dcp(),
                client: DspClient::new(http, authorization),
                participant_id: participant_id.to_string(),
                base_url: base_url.trim_end_matches('/').to_string(),
                delay,
            }),
        }
    }

    /// The processes, for inspection.
    pub fn memory(&self) -> &MemoryHost {
        &self.inner.memory
    }

    fn callback_address(&self) -> String {
        passerelle_dsp::callback_address(&self.inner.base_url)
    }

    // ---- the trigger endpoints ------------------------------------------------------

    /// Starts a negotiation as consumer: a ContractRequestMessage for `offer_id` on
    /// `dataset_id` to the provider at `address`. Returns our consumer pid.
    pub async fn start_negotiation(
        &self,
        provider_id: &str,
        offer_id: &str,
        dataset_id: &str,
        address: &str,
    ) -> Result<String, TriggerError> {
        let offer = json!({"@id": offer_id, "@type": "Offer", "target": dataset_id, "assigner": provider_id,
            "assignee": self.inner.participant_id, "permission": [{"action": "use"}]});
        let offer = MessageOffer::new(offer).map_err(|e| TriggerError::Invalid(e.to_string()))?;
        let pid = new_pid();
        let message = ContractRequestMessage::initial(&pid, offer, self.callback_address());
        let (counterparty, peer) = self.provider_at(provider_id, address);
        // Recorded before sending: the TCK may answer with an offer before its ACK arrives.
        self.inner
            .memory
            .negotiation_sent(Role::Consumer, &message.clone().into(), counterparty)
            .map_err(|e| TriggerError::Invalid(e.to_string()))?;
        let ack = self
            .inner
            .client
            .request_negotiation(&peer, &message)
            .await
            .map_err(|e| TriggerError::Peer { address: address.into(), reason: e.to_string() })?;
        if let Err(e) = self.inner.memory.negotiation_acknowledged(Role::Consumer, &ack) {
            tracing::warn!(error = %e, "the TCK's ACK does not match our negotiation");
        }
        self.react_negotiation(Role::Consumer, &pid, NegotiationEvent::Initiated);
        Ok(pid)
    }

    /// Starts a transfer as consumer under `agreement_id` with the provider at `address`.
    pub async fn start_transfer(
        &self,
        provider_id: &str,
        agreement_id: &str,
        format: &str,
        address: &str,
    ) -> Result<String, TriggerError> {
        let pid = new_pid();
        let message = TransferRequestMessage::new(&pid, agreement_id, format, self.callback_address());
        let (counterparty, peer) = self.provider_at(provider_id, address);
        self.inner
            .memory
            .transfer_sent(Role::Consumer, &message.clone().into(), counterparty)
            .map_err(|e| TriggerError::Invalid(e.to_string()))?;
        let ack = self
            .inner
            .client
            .request_transfer(&peer, &message)
            .await
            .map_err(|e| TriggerError::Peer { address: address.into(), reason: e.to_string() })?;
        if let Err(e) = self.inner.memory.transfer_acknowledged(Role::Consumer, &ack) {
            tracing::warn!(error = %e, "the TCK's ACK does not match our transfer process");
        }
        self.react_transfer(Role::Consumer, &pid, TransferEvent::Initiated);
        Ok(pid)
    }

    /// The provider a trigger names. Under DCP its id is the DID its tokens must carry (our token's
    /// audience, and the only caller who may move the process); the static TCK's id binds nothing,
    /// since its calls verify no participant.
    fn provider_at(&self, provider_id: &str, address: &str) -> (Counterparty, Peer) {
        let peer = Peer::new(address).with_participant(provider_id);
        let bound = self.inner.verified_peers.then(|| provider_id.to_string());
        (Counterparty::new(bound, Some(address.into())), peer)
    }

    // ---- negotiations -----------------------------------------------------------------

    fn react_negotiation(&self, side: Role, pid: &str, event: NegotiationEvent) {
        let Some(record) = self.inner.memory.negotiation(side, pid) else { return };
        let dataset = dataset_of(&record);
        let steps = match side {
            Role::Provider => script::provider_negotiation(&dataset, event),
            Role::Consumer => script::consumer_negotiation(&dataset, event),
        };
        if steps.is_empty() {
            return;
        }
        let host = self.clone();
        let pid = pid.to_string();
        tokio::spawn(async move {
            for step in steps {
                tokio::time::sleep(host.inner.delay).await;
                if let Err(e) = host.send_negotiation_step(side, &pid, *step).await {
                    tracing::warn!(%pid, ?step, error = %e, "scripted TCK negotiation step not sent");
                    return;
                }
            }
        });
    }

    async fn send_negotiation_step(&self, side: Role, pid: &str, step: NegotiationStep) -> Result<(), String> {
        let record = self.inner.memory.negotiation(side, pid).ok_or("the negotiation is gone")?;
        let (Some(p), Some(c)) = (record.provider_pid(), record.consumer_pid()) else {
            return Err("the counter-party's pid is not known yet".into());
        };
        let dataset = dataset_of(&record);
        let message: NegotiationMessage = match step {
            NegotiationStep::Offer => {
                let mut offer = seed::offer(&dataset, &self.inner.participant_id);
                offer["target"] = Value::String(dataset.clone());
                let offer = MessageOffer::new(offer).map_err(|e| e.to_string())?;
                ContractOfferMessage::counter(p, c, offer).into()
            }
            NegotiationStep::Agree => {
                let assignee = record
                    .counterparty
                    .participant_id
                    .clone()
                    .or_else(|| assignee_of(&record))
                    .unwrap_or_else(|| "urn:passerelle:tck:consumer".into());
                let agreement = Agreement::new(json!({"@id": new_pid(), "@type": "Agreement", "target": dataset,
                    "assigner": self.inner.participant_id, "assignee": assignee,
                    "timestamp": crate::contracts::now_text(), "permission": [{"action": "use"}]}))
                .map_err(|e| e.to_string())?;
                ContractAgreementMessage::new(p, c, agreement).into()
            }
            NegotiationStep::Finalize => ContractNegotiationEventMessage::finalized(p, c).into(),
            NegotiationStep::Accept => ContractNegotiationEventMessage::accepted(p, c).into(),
            NegotiationStep::Request => {
                let last = record.offers.last().cloned().ok_or("no offer to answer")?;
                let offer = MessageOffer::new(last).map_err(|e| e.to_string())?;
                ContractRequestMessage::counter(p, c, offer).into()
            }
            NegotiationStep::Verify => ContractAgreementVerificationMessage::new(p, c).into(),
            NegotiationStep::Terminate => ContractNegotiationTerminationMessage::new(p, c)
                .with_code(SCRIPTED)
                .with_reason(format!("the TCK scenario of {dataset} ends the negotiation here"))
                .into(),
        };
        let peer = peer_of(&record.counterparty)?;
        self.inner.memory.negotiation_sent(side, &message, record.counterparty.clone()).map_err(|e| e.to_string())?;
        self.inner.client.send_negotiation(&peer, side.counterpart(), &message).await.map_err(|e| e.to_string())?;
        Ok(())
    }

    // ---- transfers --------------------------------------------------------------------

    fn react_transfer(&self, side: Role, pid: &str, event: TransferEvent) {
        let Some(record) = self.inner.memory.transfer(side, pid) else { return };
        let steps = match side {
            Role::Provider => script::provider_transfer(&record.agreement_id, event),
            Role::Consumer => script::consumer_transfer(&record.agreement_id, event),
        };
        if steps.is_empty() {
            return;
        }
        let host = self.clone();
        let pid = pid.to_string();
        tokio::spawn(async move {
            for step in steps {
                tokio::time::sleep(host.inner.delay).await;
                if let Err(e) = host.send_transfer_step(side, &pid, *step).await {
                    tracing::warn!(%pid, ?step, error = %e, "scripted TCK transfer step not sent");
                    return;
                }
            }
        });
    }

    async fn send_transfer_step(&self, side: Role, pid: &str, step: TransferStep) -> Result<(), String> {
        let record = self.inner.memory.transfer(side, pid).ok_or("the transfer process is gone")?;
        let (Some(p), Some(c)) = (record.provider_pid(), record.consumer_pid()) else {
            return Err("the counter-party's pid is not known yet".into());
        };
        let message: TransferMessage = match step {
            TransferStep::Start => {
                let start = TransferStartMessage::new(p, c);
                if side == Role::Provider && is_pull(&record) {
                    let endpoint = format!("{}/tck/data/{p}", self.inner.base_url);
                    start.with_data_address(DataAddress::new(HTTP_ENDPOINT, endpoint)).into()
                } else {
                    start.into()
                }
            }
            TransferStep::Suspend => TransferSuspensionMessage::new(p, c)
                .with_code(SCRIPTED)
                .with_reason(format!("the TCK scenario of {} suspends here", record.agreement_id))
                .into(),
            TransferStep::Complete => TransferCompletionMessage::new(p, c).into(),
            TransferStep::Terminate => TransferTerminationMessage::new(p, c)
                .with_code(SCRIPTED)
                .with_reason(format!("the TCK scenario of {} ends here", record.agreement_id))
                .into(),
        };
        let peer = peer_of(&record.counterparty)?;
        self.inner.memory.transfer_sent(side, &message, record.counterparty.clone()).map_err(|e| e.to_string())?;
        self.inner.client.send_transfer(&peer, side.counterpart(), &message).await.map_err(|e| e.to_string())?;
        Ok(())
    }
}

/// Where a scripted message goes, and to whom (the audience of a DCP token).
fn peer_of(counterparty: &Counterparty) -> Result<Peer, String> {
    let address = counterparty.address.clone().ok_or("the counter-party's address is not known")?;
    Ok(match &counterparty.participant_id {
        Some(id) => Peer::new(address).with_participant(id),
        None => Peer::new(address),
    })
}

fn new_pid() -> String {
    format!("urn:uuid:{}", uuid::Uuid::new_v4())
}

/// The dataset a negotiation is about: the `target` of its first offer.
fn dataset_of(record: &NegotiationRecord) -> String {
    record.offers.first().and_then(|o| o.get("target")).and_then(Value::as_str).unwrap_or_default().to_string()
}

/// The consumer named in the request's offer, when authentication named none.
fn assignee_of(record: &NegotiationRecord) -> Option<String> {
    record.offers.first().and_then(|o| o.get("assignee")).and_then(Value::as_str).map(str::to_string)
}

fn is_pull(record: &TransferRecord) -> bool {
    record.format.to_ascii_uppercase().ends_with("PULL")
}

/// The event a received message is for this side's script; `None` for a replay.
fn negotiation_event(
    side: Role,
    message: &NegotiationMessage,
    before: Option<&NegotiationRecord>,
    after: &NegotiationRecord,
) -> Option<NegotiationEvent> {
    if before.is_some_and(|b| b.history.len() == after.history.len()) {
        return None;
    }
    match (side, message) {
        (Role::Provider, NegotiationMessage::Request(_)) => {
            let n = after.history.iter().filter(|s| s.sender == Role::Consumer && s.message == message.kind()).count();
            Some(NegotiationEvent::Requested(u8::try_from(n).unwrap_or(u8::MAX)))
        }
        (Role::Provider, NegotiationMessage::Event(e)) if e.event_type == NegotiationEventType::Accepted => {
            Some(NegotiationEvent::Accepted)
        }
        (Role::Provider, NegotiationMessage::Verification(_)) => Some(NegotiationEvent::Verified),
        (Role::Consumer, NegotiationMessage::Offer(_)) => Some(NegotiationEvent::Offered),
        (Role::Consumer, NegotiationMessage::Agreement(_)) => Some(NegotiationEvent::Agreed),
        _ => None,
    }
}

impl NegotiationHost for TckHost {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: NegotiationMessage,
        caller: CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        let before = pid.as_deref().and_then(|p| self.inner.memory.negotiation(side, p));
        let ack = NegotiationHost::on_message(&self.inner.memory, side, pid, message.clone(), caller).await?;
        let ours = match side {
            Role::Provider => &ack.provider_pid,
            Role::Consumer => &ack.consumer_pid,
        };
        if let Some(after) = self.inner.memory.negotiation(side, ours)
            && let Some(event) = negotiation_event(side, &message, before.as_ref(), &after)
        {
            self.react_negotiation(side, ours, event);
        }
        Ok(ack)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<ContractNegotiation, ProtocolError> {
        NegotiationHost::get(&self.inner.memory, side, pid, caller).await
    }
}

impl TransferHost for TckHost {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: TransferMessage,
        caller: CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        let before = pid.as_deref().and_then(|p| self.inner.memory.transfer(side, p));
        let ack = TransferHost::on_message(&self.inner.memory, side, pid, message.clone(), caller).await?;
        let ours = match side {
            Role::Provider => &ack.provider_pid,
            Role::Consumer => &ack.consumer_pid,
        };
        let after = self.inner.memory.transfer(side, ours);
        let moved = match (&before, &after) {
            (Some(b), Some(a)) => b.history.len() != a.history.len(),
            _ => true,
        };
        let event = match (side, &message) {
            (Role::Provider, TransferMessage::Request(_)) => Some(TransferEvent::Requested),
            (Role::Consumer, TransferMessage::Start(_)) => Some(TransferEvent::Started),
            _ => None,
        };
        if let (true, Some(event)) = (moved, event) {
            self.react_transfer(side, ours, event);
        }
        Ok(ack)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<TransferProcess, ProtocolError> {
        TransferHost::get(&self.inner.memory, side, pid, caller).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_nth_request_is_counted_and_a_replay_triggers_nothing() {
        let memory = MemoryHost::new();
        let offer = MessageOffer::new(json!({"@id": "CD123:ACN0102:456", "target": "ACN0102",
            "permission": [{"action": "use"}]}))
        .unwrap();
        let request: NegotiationMessage =
            ContractRequestMessage::initial("urn:uuid:c", offer, "https://tck.example/cb").into();
        let ack =
            NegotiationHost::on_message(&memory, Role::Provider, None, request.clone(), CallerIdentity::anonymous())
                .await
                .unwrap();
        let record = memory.negotiation(Role::Provider, &ack.provider_pid).unwrap();
        assert_eq!(dataset_of(&record), "ACN0102");
        assert_eq!(negotiation_event(Role::Provider, &request, None, &record), Some(NegotiationEvent::Requested(1)));
        assert_eq!(negotiation_event(Role::Provider, &request, Some(&record), &record), None, "a replay");
        // The consumer's own messages never trigger the provider's script.
        assert_eq!(negotiation_event(Role::Consumer, &request, None, &record), None);
    }

    #[tokio::test]
    async fn outgoing_messages_carry_the_static_value_or_a_dcp_token_for_the_counter_party() {
        use passerelle_identity::dcp::Identity;
        use passerelle_identity::did::Did;
        use passerelle_identity::jose::DecodedJws;
        use passerelle_identity::keys::KeyPair;

        let url = url::Url::parse("http://127.0.0.1:9/consumer/negotiations/x/offers").unwrap();
        let fixed = OutgoingAuthorization::Static(Some(r#"{"region": "any"}"#.into()));
        let header = fixed.authorization(TokenRequest { url: &url, audience: Some("TCK_PARTICIPANT") }).await.unwrap();
        assert_eq!(header.as_deref(), Some(r#"{"region": "any"}"#));
        assert!(!format!("{fixed:?}").contains("region"), "the static value is never shown");

        let me = Identity::new(Did::parse("did:web:cut.example").unwrap(), KeyPair::generate_es256().unwrap());
        let dcp = OutgoingAuthorization::Dcp(Box::new(DcpTokenSource::new(me)));
        let request = TokenRequest { url: &url, audience: Some("did:web:tck.example") };
        let header = dcp.authorization(request).await.unwrap().unwrap();
        let token = DecodedJws::decode(header.strip_prefix("Bearer ").unwrap()).unwrap();
        assert_eq!(
            (&token.payload["aud"], &token.payload["iss"]),
            (&json!("did:web:tck.example"), &json!("did:web:cut.example"))
        );
        // A callback address says nothing of whom it belongs to: without the counter-party's DID there is no token.
        assert!(dcp.authorization(TokenRequest { url: &url, audience: None }).await.is_err());
    }

    #[tokio::test]
    async fn only_under_dcp_is_a_triggered_process_bound_to_the_provider_named() {
        let me = crate::identity::token::DcpTokenSource::new(passerelle_identity::dcp::Identity::new(
            passerelle_identity::did::Did::parse("did:web:cut.example").unwrap(),
            passerelle_identity::keys::KeyPair::generate_es256().unwrap(),
        ));
        let dcp = TckHost::new(
            "did:web:cut.example",
            "http://127.0.0.1:9",
            OutgoingAuthorization::Dcp(Box::new(me)),
            Duration::ZERO,
        );
        let (counterparty, peer) = dcp.provider_at("did:web:tck.example", "http://127.0.0.1:8/provider");
        assert_eq!(counterparty.participant_id.as_deref(), Some("did:web:tck.example"));
        assert_eq!(peer.participant_id.as_deref(), Some("did:web:tck.example"), "the audience of our token");

        let fixed = TckHost::new("urn:cut", "http://127.0.0.1:9", OutgoingAuthorization::default(), Duration::ZERO);
        let (counterparty, _) = fixed.provider_at("TCK_PARTICIPANT", "http://127.0.0.1:8/provider");
        assert_eq!(counterparty.participant_id, None, "static callers verify no participant id to bind to");
    }

    #[test]
    fn only_pull_formats_get_a_data_address() {
        let record = TransferRecord {
            side: Role::Provider,
            pid: "p".into(),
            counterparty_pid: None,
            state: passerelle_dsp::transfer::State::Requested,
            counterparty: Counterparty::default(),
            agreement_id: "ATP0101".into(),
            format: "HttpData-PULL".into(),
            data_address: None,
            history: Vec::new(),
        };
        assert!(is_pull(&record));
        assert!(!is_pull(&TransferRecord { format: "HttpData-PUSH".into(), ..record }));
    }
}
