//! Contract negotiation: the state machine ([`machine`]), the messages as one
//! enum ([`NegotiationMessage`]) and the seam to the connector ([`NegotiationHost`]).

pub mod machine;

use std::future::Future;

pub use machine::{IllegalTransition, MessageKind, State, is_replay, next};

use crate::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationEventMessage, ContractNegotiationTerminationMessage, ContractOfferMessage,
    ContractRequestMessage, NegotiationEventType,
};
use crate::process::{CallerIdentity, ProtocolError, Role};

/// Any negotiation message, as received on a route or sent by the client.
#[derive(Debug, Clone, PartialEq)]
pub enum NegotiationMessage {
    Request(ContractRequestMessage),
    Offer(ContractOfferMessage),
    Agreement(ContractAgreementMessage),
    Verification(ContractAgreementVerificationMessage),
    Event(ContractNegotiationEventMessage),
    Termination(ContractNegotiationTerminationMessage),
}

impl NegotiationMessage {
    /// What the message does to the state machine.
    pub fn kind(&self) -> MessageKind {
        match self {
            NegotiationMessage::Request(_) => MessageKind::Request,
            NegotiationMessage::Offer(_) => MessageKind::Offer,
            NegotiationMessage::Agreement(_) => MessageKind::Agreement,
            NegotiationMessage::Verification(_) => MessageKind::Verification,
            NegotiationMessage::Event(e) => match e.event_type {
                NegotiationEventType::Accepted => MessageKind::Accepted,
                NegotiationEventType::Finalized => MessageKind::Finalized,
            },
            NegotiationMessage::Termination(_) => MessageKind::Termination,
        }
    }

    /// `providerPid`, absent only in a consumer's initial request.
    pub fn provider_pid(&self) -> Option<&str> {
        match self {
            NegotiationMessage::Request(m) => m.provider_pid.as_deref(),
            NegotiationMessage::Offer(m) => Some(&m.provider_pid),
            NegotiationMessage::Agreement(m) => Some(&m.provider_pid),
            NegotiationMessage::Verification(m) => Some(&m.provider_pid),
            NegotiationMessage::Event(m) => Some(&m.provider_pid),
            NegotiationMessage::Termination(m) => Some(&m.provider_pid),
        }
    }

    /// `consumerPid`, absent only in a provider's initial offer.
    pub fn consumer_pid(&self) -> Option<&str> {
        match self {
            NegotiationMessage::Request(m) => Some(&m.consumer_pid),
            NegotiationMessage::Offer(m) => m.consumer_pid.as_deref(),
            NegotiationMessage::Agreement(m) => Some(&m.consumer_pid),
            NegotiationMessage::Verification(m) => Some(&m.consumer_pid),
            NegotiationMessage::Event(m) => Some(&m.consumer_pid),
            NegotiationMessage::Termination(m) => Some(&m.consumer_pid),
        }
    }

    /// The pid the party playing `role` chose, if the message carries it.
    pub fn pid_of(&self, role: Role) -> Option<&str> {
        match role {
            Role::Provider => self.provider_pid(),
            Role::Consumer => self.consumer_pid(),
        }
    }

    /// The callback address, in the messages that start a negotiation.
    pub fn callback_address(&self) -> Option<&str> {
        match self {
            NegotiationMessage::Request(m) => m.callback_address.as_deref(),
            NegotiationMessage::Offer(m) => m.callback_address.as_deref(),
            _ => None,
        }
    }

    /// The message as JSON (for an outbox or a log of what was sent).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            NegotiationMessage::Request(m) => serde_json::to_value(m),
            NegotiationMessage::Offer(m) => serde_json::to_value(m),
            NegotiationMessage::Agreement(m) => serde_json::to_value(m),
            NegotiationMessage::Verification(m) => serde_json::to_value(m),
            NegotiationMessage::Event(m) => serde_json::to_value(m),
            NegotiationMessage::Termination(m) => serde_json::to_value(m),
        }
    }
}

macro_rules! from_message {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for NegotiationMessage {
            fn from(m: $ty) -> Self {
                NegotiationMessage::$variant(m)
            }
        })*
    };
}

from_message!(
    Request(ContractRequestMessage),
    Offer(ContractOfferMessage),
    Agreement(ContractAgreementMessage),
    Verification(ContractAgreementVerificationMessage),
    Event(ContractNegotiationEventMessage),
    Termination(ContractNegotiationTerminationMessage)
);

/// What the connector does with negotiation messages; the HTTP routes parse and
/// delegate here, then answer with the ACK or the error.
///
/// `side` is the role this connector plays in the negotiation (provider routes
/// pass [`Role::Provider`], consumer callback routes [`Role::Consumer`]); the
/// sender is the other role. `pid` is this side's pid from the path, `None` on
/// the routes that create a negotiation (`POST /negotiations/request` on a
/// provider, `POST /negotiations/offers` on a consumer). The routes have
/// already checked that the message is well-formed, that it is a message this
/// route accepts, and that the pid in its body (if any) equals the path's.
///
/// The host must apply [`machine::next`] (answering an [`IllegalTransition`]
/// as [`ProtocolError::IllegalTransition`] with the state unchanged), persist
/// the new state before answering, and answer unknown pids — or pids the
/// caller is not a party to — with [`ProtocolError::NotFound`].
pub trait NegotiationHost: Clone + Send + Sync + 'static {
    fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: NegotiationMessage,
        caller: CallerIdentity,
    ) -> impl Future<Output = Result<ContractNegotiation, ProtocolError>> + Send;

    /// The negotiation `pid` of this `side`, for `GET …/negotiations/{pid}`.
    fn get(
        &self,
        side: Role,
        pid: &str,
        caller: CallerIdentity,
    ) -> impl Future<Output = Result<ContractNegotiation, ProtocolError>> + Send;
}

impl From<IllegalTransition> for ProtocolError {
    fn from(e: IllegalTransition) -> Self {
        ProtocolError::IllegalTransition(e.to_string())
    }
}
