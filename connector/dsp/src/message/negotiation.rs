//! Contract negotiation messages (DSP 2025-1 §Contract Negotiation Protocol),
//! the ContractNegotiation ACK and the ContractNegotiationError.
//!
//! Constructors build only what the schemas accept (an initial request carries
//! `callbackAddress` and no `providerPid`, a later one the reverse). On input,
//! messages carrying both are accepted: peers differ and nothing is ambiguous.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks;
use super::policy::{Agreement, MessageOffer};
use super::{Context, DspMessage, type_marker};
use crate::negotiation::State;

type_marker!(
    /// `@type` of [`ContractRequestMessage`].
    ContractRequestMessageType = "ContractRequestMessage"
);
type_marker!(
    /// `@type` of [`ContractOfferMessage`].
    ContractOfferMessageType = "ContractOfferMessage"
);
type_marker!(
    /// `@type` of [`ContractAgreementMessage`].
    ContractAgreementMessageType = "ContractAgreementMessage"
);
type_marker!(
    /// `@type` of [`ContractAgreementVerificationMessage`].
    ContractAgreementVerificationMessageType = "ContractAgreementVerificationMessage"
);
type_marker!(
    /// `@type` of [`ContractNegotiationEventMessage`].
    ContractNegotiationEventMessageType = "ContractNegotiationEventMessage"
);
type_marker!(
    /// `@type` of [`ContractNegotiationTerminationMessage`].
    ContractNegotiationTerminationMessageType = "ContractNegotiationTerminationMessage"
);
type_marker!(
    /// `@type` of [`ContractNegotiation`].
    ContractNegotiationType = "ContractNegotiation"
);
type_marker!(
    /// `@type` of [`ContractNegotiationError`].
    ContractNegotiationErrorType = "ContractNegotiationError"
);

/// Consumer → provider: starts a negotiation (no `providerPid`) or answers an offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractRequestMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractRequestMessageType,
    #[serde(rename = "providerPid", default, skip_serializing_if = "Option::is_none")]
    pub provider_pid: Option<String>,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    pub offer: MessageOffer,
    /// Where the provider sends its messages (required when starting a negotiation).
    #[serde(rename = "callbackAddress", default, skip_serializing_if = "Option::is_none")]
    pub callback_address: Option<String>,
}

impl ContractRequestMessage {
    /// The request that starts a negotiation on the provider's side.
    pub fn initial(consumer_pid: impl Into<String>, offer: MessageOffer, callback_address: impl Into<String>) -> Self {
        ContractRequestMessage {
            context: Context::dsp(),
            message_type: ContractRequestMessageType,
            provider_pid: None,
            consumer_pid: consumer_pid.into(),
            offer,
            callback_address: Some(callback_address.into()),
        }
    }

    /// A counter-offer within an existing negotiation.
    pub fn counter(provider_pid: impl Into<String>, consumer_pid: impl Into<String>, offer: MessageOffer) -> Self {
        ContractRequestMessage {
            context: Context::dsp(),
            message_type: ContractRequestMessageType,
            provider_pid: Some(provider_pid.into()),
            consumer_pid: consumer_pid.into(),
            offer,
            callback_address: None,
        }
    }
}

impl DspMessage for ContractRequestMessage {
    const TYPE: &'static str = ContractRequestMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("consumerPid", &self.consumer_pid)?;
        checks::optional_pid("providerPid", self.provider_pid.as_deref())?;
        match (&self.provider_pid, &self.callback_address) {
            (None, None) => {
                Err("a request without `providerPid` starts a negotiation and must give `callbackAddress`; \
                 to answer an offer, give the negotiation's `providerPid`"
                    .to_string())
            }
            (_, Some(callback)) => checks::callback_address(callback),
            (Some(_), None) => Ok(()),
        }
    }
}

/// Provider → consumer: starts a negotiation (no `consumerPid`) or answers a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractOfferMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractOfferMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid", default, skip_serializing_if = "Option::is_none")]
    pub consumer_pid: Option<String>,
    pub offer: MessageOffer,
    /// Where the consumer sends its messages (required when starting a negotiation).
    #[serde(rename = "callbackAddress", default, skip_serializing_if = "Option::is_none")]
    pub callback_address: Option<String>,
}

impl ContractOfferMessage {
    /// The offer that starts a negotiation on the consumer's side.
    pub fn initial(provider_pid: impl Into<String>, offer: MessageOffer, callback_address: impl Into<String>) -> Self {
        ContractOfferMessage {
            context: Context::dsp(),
            message_type: ContractOfferMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: None,
            offer,
            callback_address: Some(callback_address.into()),
        }
    }

    /// A (counter-)offer within an existing negotiation.
    pub fn counter(provider_pid: impl Into<String>, consumer_pid: impl Into<String>, offer: MessageOffer) -> Self {
        ContractOfferMessage {
            context: Context::dsp(),
            message_type: ContractOfferMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: Some(consumer_pid.into()),
            offer,
            callback_address: None,
        }
    }
}

impl DspMessage for ContractOfferMessage {
    const TYPE: &'static str = ContractOfferMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::optional_pid("consumerPid", self.consumer_pid.as_deref())?;
        match (&self.consumer_pid, &self.callback_address) {
            (None, None) => {
                Err("an offer without `consumerPid` starts a negotiation and must give `callbackAddress`; \
                 to answer a request, give the negotiation's `consumerPid`"
                    .to_string())
            }
            (_, Some(callback)) => checks::callback_address(callback),
            (Some(_), None) => Ok(()),
        }
    }
}

/// Provider → consumer: the agreement the provider accepts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractAgreementMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractAgreementMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    pub agreement: Agreement,
}

impl ContractAgreementMessage {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>, agreement: Agreement) -> Self {
        ContractAgreementMessage {
            context: Context::dsp(),
            message_type: ContractAgreementMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            agreement,
        }
    }
}

impl DspMessage for ContractAgreementMessage {
    const TYPE: &'static str = ContractAgreementMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

/// Consumer → provider: the consumer confirms the agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractAgreementVerificationMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractAgreementVerificationMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
}

impl ContractAgreementVerificationMessage {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        ContractAgreementVerificationMessage {
            context: Context::dsp(),
            message_type: ContractAgreementVerificationMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
        }
    }
}

impl DspMessage for ContractAgreementVerificationMessage {
    const TYPE: &'static str = ContractAgreementVerificationMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

/// `eventType` of [`ContractNegotiationEventMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NegotiationEventType {
    /// Sent by the consumer: it accepts the provider's last offer.
    Accepted,
    /// Sent by the provider: the agreement is final.
    Finalized,
}

/// ACCEPTED (consumer → provider) or FINALIZED (provider → consumer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractNegotiationEventMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractNegotiationEventMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    #[serde(rename = "eventType")]
    pub event_type: NegotiationEventType,
}

impl ContractNegotiationEventMessage {
    pub fn new(
        provider_pid: impl Into<String>,
        consumer_pid: impl Into<String>,
        event_type: NegotiationEventType,
    ) -> Self {
        ContractNegotiationEventMessage {
            context: Context::dsp(),
            message_type: ContractNegotiationEventMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            event_type,
        }
    }

    pub fn accepted(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        Self::new(provider_pid, consumer_pid, NegotiationEventType::Accepted)
    }

    pub fn finalized(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        Self::new(provider_pid, consumer_pid, NegotiationEventType::Finalized)
    }
}

impl DspMessage for ContractNegotiationEventMessage {
    const TYPE: &'static str = ContractNegotiationEventMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

/// Either party ends the negotiation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractNegotiationTerminationMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractNegotiationTerminationMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Free-form reasons (strings or objects such as `{"message": …}`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason: Vec<Value>,
}

impl ContractNegotiationTerminationMessage {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        ContractNegotiationTerminationMessage {
            context: Context::dsp(),
            message_type: ContractNegotiationTerminationMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            code: None,
            reason: Vec::new(),
        }
    }

    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    pub fn with_reason(mut self, reason: impl Into<String>) -> Self {
        self.reason.push(Value::String(reason.into()));
        self
    }
}

impl DspMessage for ContractNegotiationTerminationMessage {
    const TYPE: &'static str = ContractNegotiationTerminationMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

/// The ACK of every negotiation message, and the body of `GET …/negotiations/{pid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractNegotiation {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractNegotiationType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    pub state: State,
}

impl ContractNegotiation {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>, state: State) -> Self {
        ContractNegotiation {
            context: Context::dsp(),
            message_type: ContractNegotiationType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            state,
        }
    }
}

impl DspMessage for ContractNegotiation {
    const TYPE: &'static str = ContractNegotiationType::VALUE;
}

/// The error body of every failed negotiation call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContractNegotiationError {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: ContractNegotiationErrorType,
    /// Empty when the provider side of the negotiation is unknown (e.g. a refused initial request).
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    /// Empty when the consumer side of the negotiation is unknown.
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason: Vec<Value>,
}

impl ContractNegotiationError {
    pub fn new<I, S>(
        provider_pid: impl Into<String>,
        consumer_pid: impl Into<String>,
        code: impl Into<String>,
        reasons: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ContractNegotiationError {
            context: Context::dsp(),
            message_type: ContractNegotiationErrorType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            code: Some(code.into()),
            reason: reasons.into_iter().map(|r| Value::String(r.into())).collect(),
        }
    }
}

impl DspMessage for ContractNegotiationError {
    const TYPE: &'static str = ContractNegotiationErrorType::VALUE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageError, parse_message};
    use crate::schema::{MessageKind, validate};
    use serde::de::DeserializeOwned;
    use serde_json::json;

    fn assert_valid(kind: MessageKind, value: &impl Serialize) -> Value {
        let value = serde_json::to_value(value).unwrap();
        if let Err(errors) = validate(kind, &value) {
            panic!("{kind:?} invalid:\n{}\n{value:#}", errors.join("\n"));
        }
        value
    }

    fn example(file: &str) -> Vec<u8> {
        let path = crate::test_support::spec_dir().join("negotiation").join("example").join(file);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    /// Parses an official example into `T`, writes it back and validates what we wrote.
    fn round_trip<T: DspMessage + DeserializeOwned + Serialize>(file: &str, kind: MessageKind) -> T {
        let parsed: T = parse_message(&example(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let written = assert_valid(kind, &parsed);
        let original: Value = serde_json::from_slice(&example(file)).unwrap();
        assert_eq!(written, original, "{file}: nothing lost or added");
        parsed
    }

    fn offer() -> MessageOffer {
        MessageOffer::new(json!({"@id": "urn:uuid:o1", "@type": "Offer", "target": "urn:passerelle:dataset:work:1",
                                 "permission": [{"action": "use"}]}))
        .unwrap()
    }

    fn agreement() -> Agreement {
        Agreement::new(json!({"@id": "urn:uuid:a1", "@type": "Agreement", "target": "urn:passerelle:dataset:work:1",
            "assigner": "did:web:distributor.example", "assignee": "did:web:broadcaster.example",
            "timestamp": "2025-03-01T12:00:00Z", "permission": [{"action": "use"}]}))
        .unwrap()
    }

    #[test]
    fn official_examples_read_and_write_back_schema_valid() {
        let initial: ContractRequestMessage =
            round_trip("contract-request-message_initial.json", MessageKind::ContractRequestMessage);
        assert!(initial.provider_pid.is_none() && initial.callback_address.is_some());
        let counter: ContractRequestMessage =
            round_trip("contract-request-message.json", MessageKind::ContractRequestMessage);
        assert_eq!(counter.offer.id(), "urn:uuid:d526561f-528e-4d5a-ae12-9a9dd9b7a815");
        let offer: ContractOfferMessage =
            round_trip("contract-offer-message_initial.json", MessageKind::ContractOfferMessage);
        assert!(offer.consumer_pid.is_none());
        round_trip::<ContractOfferMessage>("contract-offer-message.json", MessageKind::ContractOfferMessage);
        let agreement: ContractAgreementMessage =
            round_trip("contract-agreement-message.json", MessageKind::ContractAgreementMessage);
        assert_eq!(agreement.agreement.timestamp(), "2023-01-01T01:00:00Z");
        round_trip::<ContractAgreementMessage>(
            "contract-agreement-message-full.json",
            MessageKind::ContractAgreementMessage,
        );
        round_trip::<ContractAgreementVerificationMessage>(
            "contract-agreement-verification-message.json",
            MessageKind::ContractAgreementVerificationMessage,
        );
        let event: ContractNegotiationEventMessage =
            round_trip("contract-negotiation-event-message.json", MessageKind::ContractNegotiationEventMessage);
        assert_eq!(event.event_type, NegotiationEventType::Accepted);
        let termination: ContractNegotiationTerminationMessage = round_trip(
            "contract-negotiation-termination-message.json",
            MessageKind::ContractNegotiationTerminationMessage,
        );
        assert_eq!(termination.code.as_deref(), Some("99"));
        let ack: ContractNegotiation = round_trip("contract-negotiation.json", MessageKind::ContractNegotiation);
        assert_eq!(ack.state, State::Requested);
        let error: ContractNegotiationError =
            round_trip("contract-negotiation-error.json", MessageKind::ContractNegotiationError);
        assert_eq!(error.reason, vec![json!("Catalog not provisioned for this requester.")]);
    }

    #[test]
    fn what_we_build_is_schema_valid() {
        let p = "urn:uuid:p1";
        let c = "urn:uuid:c1";
        assert_valid(
            MessageKind::ContractRequestMessage,
            &ContractRequestMessage::initial(c, offer(), "https://broadcaster.example/dsp/2025-1/callback"),
        );
        assert_valid(MessageKind::ContractRequestMessage, &ContractRequestMessage::counter(p, c, offer()));
        assert_valid(
            MessageKind::ContractOfferMessage,
            &ContractOfferMessage::initial(p, offer(), "https://distributor.example/dsp/2025-1"),
        );
        assert_valid(MessageKind::ContractOfferMessage, &ContractOfferMessage::counter(p, c, offer()));
        assert_valid(MessageKind::ContractAgreementMessage, &ContractAgreementMessage::new(p, c, agreement()));
        assert_valid(
            MessageKind::ContractAgreementVerificationMessage,
            &ContractAgreementVerificationMessage::new(p, c),
        );
        for event in [ContractNegotiationEventMessage::accepted(p, c), ContractNegotiationEventMessage::finalized(p, c)]
        {
            assert_valid(MessageKind::ContractNegotiationEventMessage, &event);
        }
        let termination =
            ContractNegotiationTerminationMessage::new(p, c).with_code("LICENCE").with_reason("window closed");
        assert_eq!(
            assert_valid(MessageKind::ContractNegotiationTerminationMessage, &termination)["reason"],
            json!(["window closed"])
        );
        assert_valid(
            MessageKind::ContractNegotiationTerminationMessage,
            &ContractNegotiationTerminationMessage::new(p, c),
        );
        for state in State::ALL {
            assert_valid(MessageKind::ContractNegotiation, &ContractNegotiation::new(p, c, state));
        }
        assert_valid(MessageKind::ContractNegotiationError, &ContractNegotiationError::new(p, c, "X", ["why"]));
        assert_valid(MessageKind::ContractNegotiationError, &ContractNegotiationError::new("", c, "X", ["why"]));
    }

    fn parse<T: DspMessage + DeserializeOwned>(value: Value) -> Result<T, MessageError> {
        parse_message(value.to_string().as_bytes())
    }

    #[test]
    fn spec_rules_beyond_the_schemas_are_enforced() {
        let ctx = json!([crate::message::DSPACE_CONTEXT]);
        // An initial request needs a callback, a usable one.
        let err = parse::<ContractRequestMessage>(json!({"@context": ctx, "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:c", "offer": offer()}))
        .unwrap_err();
        assert!(err.to_string().contains("must give `callbackAddress`"), "{err}");
        let err = parse::<ContractRequestMessage>(json!({"@context": ctx, "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:c", "offer": offer(), "callbackAddress": "not a url"}))
        .unwrap_err();
        assert!(err.to_string().contains("callbackAddress"), "{err}");
        // The offer must name its target.
        let err = parse::<ContractRequestMessage>(json!({"@context": ctx, "@type": "ContractRequestMessage",
            "consumerPid": "urn:uuid:c", "callbackAddress": "https://c.example/cb",
            "offer": {"@id": "urn:uuid:o", "@type": "Offer", "permission": [{"action": "use"}]}}))
        .unwrap_err();
        assert!(err.to_string().contains("`offer` has no `target`"), "{err}");
        // The agreement must carry its timestamp.
        let mut agreement = agreement().into_value();
        agreement.as_object_mut().unwrap().remove("timestamp");
        let err = parse::<ContractAgreementMessage>(json!({"@context": ctx, "@type": "ContractAgreementMessage",
            "providerPid": "urn:uuid:p", "consumerPid": "urn:uuid:c", "agreement": agreement}))
        .unwrap_err();
        assert!(err.to_string().contains("timestamp"), "{err}");
        // Pids are never empty; event types are the two of the spec.
        let err = parse::<ContractAgreementVerificationMessage>(json!({"@context": ctx,
            "@type": "ContractAgreementVerificationMessage", "providerPid": "", "consumerPid": "urn:uuid:c"}))
        .unwrap_err();
        assert!(err.to_string().contains("`providerPid` is empty"), "{err}");
        let err = parse::<ContractNegotiationEventMessage>(json!({"@context": ctx,
            "@type": "ContractNegotiationEventMessage", "providerPid": "p", "consumerPid": "c", "eventType": "PAUSED"}))
        .unwrap_err();
        assert!(err.to_string().contains("ACCEPTED"), "{err}");
        // An initial offer needs a callback too.
        let err = parse::<ContractOfferMessage>(json!({"@context": ctx, "@type": "ContractOfferMessage",
            "providerPid": "urn:uuid:p", "offer": offer()}))
        .unwrap_err();
        assert!(err.to_string().contains("must give `callbackAddress`"), "{err}");
    }

    /// The TCK reads ACKs after JSON-LD expansion: every member we write must map
    /// to a DSP term, and `state` must expand to the DSP state IRI.
    #[test]
    fn what_we_write_means_what_dsp_says_in_json_ld() {
        use crate::test_support::{UNMAPPED, to_rdf};
        let unused_media_context = "https://unused.example/media.jsonld";
        let ack = serde_json::to_value(ContractNegotiation::new("urn:uuid:p", "urn:uuid:c", State::Agreed)).unwrap();
        let triples = to_rdf(&ack, unused_media_context).unwrap();
        assert!(
            triples.contains(&(
                "https://w3id.org/dspace/2025/1/state".into(),
                "<https://w3id.org/dspace/2025/1/AGREED>".into()
            )),
            "{triples:?}"
        );
        assert!(triples.contains(&("https://w3id.org/dspace/2025/1/providerPid".into(), "<urn:uuid:p>".into())));
        let messages = [
            serde_json::to_value(ContractRequestMessage::initial("urn:uuid:c", offer(), "https://c.example/cb"))
                .unwrap(),
            serde_json::to_value(ContractAgreementMessage::new("urn:uuid:p", "urn:uuid:c", agreement())).unwrap(),
            serde_json::to_value(ContractNegotiationEventMessage::finalized("urn:uuid:p", "urn:uuid:c")).unwrap(),
            serde_json::to_value(
                ContractNegotiationTerminationMessage::new("urn:uuid:p", "urn:uuid:c").with_code("X").with_reason("r"),
            )
            .unwrap(),
            serde_json::to_value(ContractNegotiationError::new("urn:uuid:p", "", "NOT_FOUND", ["r"])).unwrap(),
        ];
        for message in messages {
            let triples = to_rdf(&message, unused_media_context).unwrap();
            assert!(triples.iter().all(|(p, _)| !p.starts_with(UNMAPPED)), "{message:#}\n{triples:?}");
        }
        let event =
            serde_json::to_value(ContractNegotiationEventMessage::accepted("urn:uuid:p", "urn:uuid:c")).unwrap();
        let triples = to_rdf(&event, unused_media_context).unwrap();
        assert!(
            triples.iter().any(|(p, o)| p.ends_with("/eventType") && o == "<https://w3id.org/dspace/2025/1/ACCEPTED>")
        );
    }

    #[test]
    fn tck_shaped_messages_are_accepted() {
        // The TCK adds a message `@id`, objects as reasons and a callbackAddress on agreements.
        let ctx = json!([crate::message::DSPACE_CONTEXT]);
        let termination: ContractNegotiationTerminationMessage = parse(json!({"@id": "6a0c", "@context": ctx,
            "@type": "ContractNegotiationTerminationMessage", "providerPid": "p", "consumerPid": "c", "code": "1",
            "reason": [{"message": "bye"}]}))
        .unwrap();
        assert_eq!(termination.reason, vec![json!({"message": "bye"})]);
        let agreement: ContractAgreementMessage = parse(json!({"@id": "x", "@context": ctx,
            "@type": "ContractAgreementMessage", "providerPid": "p", "consumerPid": "c",
            "agreement": agreement(), "callbackAddress": "https://tck.example/cb"}))
        .unwrap();
        assert_eq!(agreement.agreement.id(), "urn:uuid:a1");
        let both: ContractRequestMessage = parse(json!({"@context": ctx, "@type": "ContractRequestMessage",
            "providerPid": "p", "consumerPid": "c", "offer": offer(), "callbackAddress": "https://c.example/cb"}))
        .unwrap();
        assert_eq!(both.provider_pid.as_deref(), Some("p"));
    }
}
