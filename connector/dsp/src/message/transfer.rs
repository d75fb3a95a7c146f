//! Transfer process messages (DSP 2025-1 §Transfer Process Protocol), the
//! TransferProcess ACK, the TransferError and the DataAddress.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::checks;
use super::{Context, DspMessage, type_marker};
use crate::transfer::State;

type_marker!(
    /// `@type` of [`TransferRequestMessage`].
    TransferRequestMessageType = "TransferRequestMessage"
);
type_marker!(
    /// `@type` of [`TransferStartMessage`].
    TransferStartMessageType = "TransferStartMessage"
);
type_marker!(
    /// `@type` of [`TransferSuspensionMessage`].
    TransferSuspensionMessageType = "TransferSuspensionMessage"
);
type_marker!(
    /// `@type` of [`TransferCompletionMessage`].
    TransferCompletionMessageType = "TransferCompletionMessage"
);
type_marker!(
    /// `@type` of [`TransferTerminationMessage`].
    TransferTerminationMessageType = "TransferTerminationMessage"
);
type_marker!(
    /// `@type` of [`TransferProcess`].
    TransferProcessType = "TransferProcess"
);
type_marker!(
    /// `@type` of [`TransferError`].
    TransferErrorType = "TransferError"
);
type_marker!(
    /// `@type` of [`DataAddress`].
    DataAddressType = "DataAddress"
);
type_marker!(
    /// `@type` of [`EndpointProperty`].
    EndpointPropertyType = "EndpointProperty"
);

/// Where data is pushed to (in a request) or pulled from (in a start message).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataAddress {
    /// Always written; tolerated when missing on input (its member name says what it is).
    #[serde(rename = "@type", default)]
    pub message_type: DataAddressType,
    /// The transport, e.g. `https://w3id.org/idsa/v4.1/HTTP`.
    #[serde(rename = "endpointType")]
    pub endpoint_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Transport-specific properties such as `authorization` and `authType`.
    #[serde(rename = "endpointProperties", default, skip_serializing_if = "Vec::is_empty")]
    pub endpoint_properties: Vec<EndpointProperty>,
}

impl DataAddress {
    pub fn new(endpoint_type: impl Into<String>, endpoint: impl Into<String>) -> Self {
        DataAddress {
            message_type: DataAddressType,
            endpoint_type: endpoint_type.into(),
            endpoint: Some(endpoint.into()),
            endpoint_properties: Vec::new(),
        }
    }

    pub fn with_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.endpoint_properties.push(EndpointProperty::new(name, value));
        self
    }

    /// The value of the first property called `name`.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.endpoint_properties.iter().find(|p| p.name == name).map(|p| p.value.as_str())
    }

    fn check(&self, member: &str) -> Result<(), String> {
        if self.endpoint_type.trim().is_empty() {
            return Err(format!(
                "`{member}.endpointType` is empty: name the transport, e.g. \"https://w3id.org/idsa/v4.1/HTTP\""
            ));
        }
        Ok(())
    }
}

/// One `{name, value}` pair of a [`DataAddress`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EndpointProperty {
    #[serde(rename = "@type", default)]
    pub message_type: EndpointPropertyType,
    pub name: String,
    pub value: String,
}

impl EndpointProperty {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        EndpointProperty { message_type: EndpointPropertyType, name: name.into(), value: value.into() }
    }
}

impl fmt::Debug for EndpointProperty {
    // Values are often access tokens: never print them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EndpointProperty").field("name", &self.name).field("value", &"<redacted>").finish()
    }
}

/// Consumer → provider: asks for the data of an agreement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferRequestMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: TransferRequestMessageType,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    #[serde(rename = "agreementId")]
    pub agreement_id: String,
    /// A distribution format of the dataset, e.g. `HttpData-PULL`.
    pub format: String,
    /// Only for push transfers: where the provider delivers.
    #[serde(rename = "dataAddress", default, skip_serializing_if = "Option::is_none")]
    pub data_address: Option<DataAddress>,
    #[serde(rename = "callbackAddress")]
    pub callback_address: String,
}

impl TransferRequestMessage {
    pub fn new(
        consumer_pid: impl Into<String>,
        agreement_id: impl Into<String>,
        format: impl Into<String>,
        callback_address: impl Into<String>,
    ) -> Self {
        TransferRequestMessage {
            context: Context::dsp(),
            message_type: TransferRequestMessageType,
            consumer_pid: consumer_pid.into(),
            agreement_id: agreement_id.into(),
            format: format.into(),
            data_address: None,
            callback_address: callback_address.into(),
        }
    }

    pub fn with_data_address(mut self, address: DataAddress) -> Self {
        self.data_address = Some(address);
        self
    }
}

impl DspMessage for TransferRequestMessage {
    const TYPE: &'static str = TransferRequestMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("consumerPid", &self.consumer_pid)?;
        if self.agreement_id.trim().is_empty() {
            return Err("`agreementId` is empty: give the id of the agreement the transfer is made under".into());
        }
        if self.format.trim().is_empty() {
            return Err("`format` is empty: give a distribution format of the dataset, e.g. \"HttpData-PULL\"".into());
        }
        checks::callback_address(&self.callback_address)?;
        self.data_address.as_ref().map_or(Ok(()), |a| a.check("dataAddress"))
    }
}

/// Provider → consumer (or consumer → provider to resume): the transfer runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferStartMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: TransferStartMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    /// For pull transfers: where the consumer fetches the data.
    #[serde(rename = "dataAddress", default, skip_serializing_if = "Option::is_none")]
    pub data_address: Option<DataAddress>,
}

impl TransferStartMessage {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        TransferStartMessage {
            context: Context::dsp(),
            message_type: TransferStartMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            data_address: None,
        }
    }

    pub fn with_data_address(mut self, address: DataAddress) -> Self {
        self.data_address = Some(address);
        self
    }
}

impl DspMessage for TransferStartMessage {
    const TYPE: &'static str = TransferStartMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)?;
        self.data_address.as_ref().map_or(Ok(()), |a| a.check("dataAddress"))
    }
}

/// Declares a message made of the two pids plus an optional `code` and `reason`
/// (suspension, termination and the error share this shape).
macro_rules! code_message {
    ($(#[$doc:meta])* $name:ident, $marker:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        pub struct $name {
            #[serde(rename = "@context")]
            pub context: Context,
            #[serde(rename = "@type")]
            pub message_type: $marker,
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

        impl $name {
            pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
                $name {
                    context: Context::dsp(),
                    message_type: $marker,
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
    };
}

code_message!(
    /// Either party pauses a started transfer.
    TransferSuspensionMessage,
    TransferSuspensionMessageType
);
code_message!(
    /// Either party ends the transfer before completion.
    TransferTerminationMessage,
    TransferTerminationMessageType
);
code_message!(
    /// The error body of every failed transfer call (pids empty where unknown).
    TransferError,
    TransferErrorType
);

impl DspMessage for TransferSuspensionMessage {
    const TYPE: &'static str = TransferSuspensionMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

impl DspMessage for TransferTerminationMessage {
    const TYPE: &'static str = TransferTerminationMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

impl DspMessage for TransferError {
    const TYPE: &'static str = TransferErrorType::VALUE;
}

/// Either party declares the transfer complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferCompletionMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: TransferCompletionMessageType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
}

impl TransferCompletionMessage {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>) -> Self {
        TransferCompletionMessage {
            context: Context::dsp(),
            message_type: TransferCompletionMessageType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
        }
    }
}

impl DspMessage for TransferCompletionMessage {
    const TYPE: &'static str = TransferCompletionMessageType::VALUE;

    fn check(&self) -> Result<(), String> {
        checks::pid("providerPid", &self.provider_pid)?;
        checks::pid("consumerPid", &self.consumer_pid)
    }
}

/// The ACK of every transfer message, and the body of `GET …/transfers/{pid}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferProcess {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: TransferProcessType,
    #[serde(rename = "providerPid")]
    pub provider_pid: String,
    #[serde(rename = "consumerPid")]
    pub consumer_pid: String,
    pub state: State,
}

impl TransferProcess {
    pub fn new(provider_pid: impl Into<String>, consumer_pid: impl Into<String>, state: State) -> Self {
        TransferProcess {
            context: Context::dsp(),
            message_type: TransferProcessType,
            provider_pid: provider_pid.into(),
            consumer_pid: consumer_pid.into(),
            state,
        }
    }
}

impl DspMessage for TransferProcess {
    const TYPE: &'static str = TransferProcessType::VALUE;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MessageError, parse_message};
    use crate::schema::{MessageKind, validate, validate_with};
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
        let path = crate::test_support::spec_dir().join("transfer").join("example").join(file);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn round_trip<T: DspMessage + DeserializeOwned + Serialize>(file: &str, kind: MessageKind) -> T {
        let parsed: T = parse_message(&example(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let written = assert_valid(kind, &parsed);
        let original: Value = serde_json::from_slice(&example(file)).unwrap();
        assert_eq!(written, original, "{file}: nothing lost or added");
        parsed
    }

    fn pull_address() -> DataAddress {
        DataAddress::new("https://w3id.org/idsa/v4.1/HTTP", "https://distributor.example/data/works/1")
            .with_property("authorization", "eyJhbGciOi.secret")
            .with_property("authType", "bearer")
    }

    #[test]
    fn official_examples_read_and_write_back_schema_valid() {
        let request: TransferRequestMessage =
            round_trip("transfer-request-message.json", MessageKind::TransferRequestMessage);
        let address = request.data_address.unwrap();
        assert_eq!(address.property("authType"), Some("bearer"));
        let start: TransferStartMessage = round_trip("transfer-start-message.json", MessageKind::TransferStartMessage);
        assert_eq!(start.data_address.unwrap().endpoint.as_deref(), Some("http://example.com"));
        round_trip::<TransferCompletionMessage>(
            "transfer-completion-message.json",
            MessageKind::TransferCompletionMessage,
        );
        let suspension: TransferSuspensionMessage =
            round_trip("transfer-suspension-message.json", MessageKind::TransferSuspensionMessage);
        assert_eq!(suspension.reason, vec![json!("Policy violation")]);
        round_trip::<TransferTerminationMessage>(
            "transfer-termination-message.json",
            MessageKind::TransferTerminationMessage,
        );
        let ack: TransferProcess = round_trip("transfer-process.json", MessageKind::TransferProcess);
        assert_eq!(ack.state, State::Requested);
        let error: TransferError = round_trip("transfer-error.json", MessageKind::TransferError);
        assert_eq!(error.code.as_deref(), Some("99"));
    }

    #[test]
    fn what_we_build_is_schema_valid() {
        let (p, c) = ("urn:uuid:p1", "urn:uuid:c1");
        let cb = "https://broadcaster.example/dsp/2025-1/callback";
        assert_valid(
            MessageKind::TransferRequestMessage,
            &TransferRequestMessage::new(c, "urn:uuid:a1", "HttpData-PULL", cb),
        );
        assert_valid(
            MessageKind::TransferRequestMessage,
            &TransferRequestMessage::new(c, "urn:uuid:a1", "HttpData-PUSH", cb).with_data_address(pull_address()),
        );
        assert_valid(MessageKind::TransferStartMessage, &TransferStartMessage::new(p, c));
        let start = assert_valid(
            MessageKind::TransferStartMessage,
            &TransferStartMessage::new(p, c).with_data_address(pull_address()),
        );
        assert!(validate_with("transfer/data-address-schema.json", &start["dataAddress"]).is_ok());
        assert_valid(MessageKind::TransferCompletionMessage, &TransferCompletionMessage::new(p, c));
        assert_valid(MessageKind::TransferSuspensionMessage, &TransferSuspensionMessage::new(p, c).with_code("PAUSE"));
        assert_valid(
            MessageKind::TransferTerminationMessage,
            &TransferTerminationMessage::new(p, c).with_code("DONE").with_reason("window ended"),
        );
        for state in State::ALL {
            assert_valid(MessageKind::TransferProcess, &TransferProcess::new(p, c, state));
        }
        assert_valid(MessageKind::TransferError, &TransferError::new(p, "").with_code("NOT_FOUND").with_reason("x"));
    }

    #[test]
    fn what_we_write_means_what_dsp_says_in_json_ld() {
        use crate::test_support::{UNMAPPED, to_rdf};
        let unused_media_context = "https://unused.example/media.jsonld";
        let ack = serde_json::to_value(TransferProcess::new("urn:uuid:p", "urn:uuid:c", State::Started)).unwrap();
        let triples = to_rdf(&ack, unused_media_context).unwrap();
        assert!(
            triples.contains(&(
                "https://w3id.org/dspace/2025/1/state".into(),
                "<https://w3id.org/dspace/2025/1/STARTED>".into()
            )),
            "{triples:?}"
        );
        let messages = [
            serde_json::to_value(
                TransferRequestMessage::new("urn:uuid:c", "urn:uuid:a", "HttpData-PUSH", "https://c.example/cb")
                    .with_data_address(pull_address()),
            )
            .unwrap(),
            serde_json::to_value(
                TransferStartMessage::new("urn:uuid:p", "urn:uuid:c").with_data_address(pull_address()),
            )
            .unwrap(),
            serde_json::to_value(TransferSuspensionMessage::new("urn:uuid:p", "urn:uuid:c").with_reason("r")).unwrap(),
            serde_json::to_value(TransferError::new("urn:uuid:p", "urn:uuid:c").with_code("X")).unwrap(),
        ];
        for message in messages {
            let triples = to_rdf(&message, unused_media_context).unwrap();
            assert!(triples.iter().all(|(p, _)| !p.starts_with(UNMAPPED)), "{message:#}\n{triples:?}");
        }
    }

    fn parse<T: DspMessage + DeserializeOwned>(value: Value) -> Result<T, MessageError> {
        parse_message(value.to_string().as_bytes())
    }

    #[test]
    fn requests_need_agreement_format_and_a_usable_callback() {
        let ctx = json!([crate::message::DSPACE_CONTEXT]);
        let base = json!({"@context": ctx, "@type": "TransferRequestMessage", "consumerPid": "urn:uuid:c",
                          "agreementId": "urn:uuid:a", "format": "HttpData-PULL", "callbackAddress": "https://c.example/cb"});
        assert!(parse::<TransferRequestMessage>(base.clone()).is_ok());
        for (member, value, hint) in [
            ("agreementId", json!(""), "agreementId"),
            ("format", json!(" "), "format"),
            ("callbackAddress", json!("cb"), "callbackAddress"),
            ("dataAddress", json!({}), "endpointType"),
            ("dataAddress", json!({"endpointType": ""}), "endpointType"),
        ] {
            let mut body = base.clone();
            body[member] = value;
            let err = parse::<TransferRequestMessage>(body).unwrap_err();
            assert!(err.to_string().contains(hint), "{member}: {err}");
        }
        let mut body = base;
        body.as_object_mut().unwrap().remove("callbackAddress");
        assert!(parse::<TransferRequestMessage>(body).unwrap_err().to_string().contains("callbackAddress"));
    }

    #[test]
    fn tck_shaped_messages_are_accepted_and_tokens_never_printed() {
        let ctx = json!([crate::message::DSPACE_CONTEXT]);
        let start: TransferStartMessage =
            parse(json!({"@id": "9b1c", "@context": ctx, "@type": "TransferStartMessage",
            "providerPid": "p", "consumerPid": "c",
            "dataAddress": {"@type": "DataAddress", "endpoint": "http://example.com",
                            "endpointType": "https://w3id.org/idsa/v4.1/HTTP"}}))
            .unwrap();
        assert_eq!(start.data_address.unwrap().endpoint_type, "https://w3id.org/idsa/v4.1/HTTP");
        let termination: TransferTerminationMessage =
            parse(json!({"@context": ctx, "@type": "TransferTerminationMessage",
            "providerPid": "p", "consumerPid": "c", "code": "1", "reason": [{"message": "stop"}]}))
            .unwrap();
        assert_eq!(termination.reason[0]["message"], "stop");
        let shown = format!("{:?}", pull_address());
        assert!(!shown.contains("secret") && shown.contains("authorization"), "{shown}");
    }
}
