//! Transfer processes: the state machine ([`machine`]), the messages as one
//! enum ([`TransferMessage`]) and the seam to the connector ([`TransferHost`]).

pub mod machine;

use std::future::Future;

pub use machine::{IllegalTransition, MessageKind, State, is_replay, next};

use crate::message::transfer::{
    TransferCompletionMessage, TransferProcess, TransferRequestMessage, TransferStartMessage,
    TransferSuspensionMessage, TransferTerminationMessage,
};
use crate::process::{CallerIdentity, ProtocolError, Role};

/// Any transfer message, as received on a route or sent by the client.
#[derive(Debug, Clone, PartialEq)]
pub enum TransferMessage {
    Request(TransferRequestMessage),
    Start(TransferStartMessage),
    Suspension(TransferSuspensionMessage),
    Completion(TransferCompletionMessage),
    Termination(TransferTerminationMessage),
}

impl TransferMessage {
    /// What the message does to the state machine.
    pub fn kind(&self) -> MessageKind {
        match self {
            TransferMessage::Request(_) => MessageKind::Request,
            TransferMessage::Start(_) => MessageKind::Start,
            TransferMessage::Suspension(_) => MessageKind::Suspension,
            TransferMessage::Completion(_) => MessageKind::Completion,
            TransferMessage::Termination(_) => MessageKind::Termination,
        }
    }

    /// `providerPid`, absent only in the request that creates the transfer.
    pub fn provider_pid(&self) -> Option<&str> {
        match self {
            TransferMessage::Request(_) => None,
            TransferMessage::Start(m) => Some(&m.provider_pid),
            TransferMessage::Suspension(m) => Some(&m.provider_pid),
            TransferMessage::Completion(m) => Some(&m.provider_pid),
            TransferMessage::Termination(m) => Some(&m.provider_pid),
        }
    }

    /// `consumerPid`, carried by every transfer message.
    pub fn consumer_pid(&self) -> Option<&str> {
        match self {
            TransferMessage::Request(m) => Some(&m.consumer_pid),
            TransferMessage::Start(m) => Some(&m.consumer_pid),
            TransferMessage::Suspension(m) => Some(&m.consumer_pid),
            TransferMessage::Completion(m) => Some(&m.consumer_pid),
            TransferMessage::Termination(m) => Some(&m.consumer_pid),
        }
    }

    /// The pid the party playing `role` chose, if the message carries it.
    pub fn pid_of(&self, role: Role) -> Option<&str> {
        match role {
            Role::Provider => self.provider_pid(),
            Role::Consumer => self.consumer_pid(),
        }
    }

    /// The message as JSON (for an outbox or a log of what was sent).
    pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
        match self {
            TransferMessage::Request(m) => serde_json::to_value(m),
            TransferMessage::Start(m) => serde_json::to_value(m),
            TransferMessage::Suspension(m) => serde_json::to_value(m),
            TransferMessage::Completion(m) => serde_json::to_value(m),
            TransferMessage::Termination(m) => serde_json::to_value(m),
        }
    }
}

macro_rules! from_message {
    ($($variant:ident($ty:ty)),*) => {
        $(impl From<$ty> for TransferMessage {
            fn from(m: $ty) -> Self {
                TransferMessage::$variant(m)
            }
        })*
    };
}

from_message!(
    Request(TransferRequestMessage),
    Start(TransferStartMessage),
    Suspension(TransferSuspensionMessage),
    Completion(TransferCompletionMessage),
    Termination(TransferTerminationMessage)
);

/// What the connector does with transfer messages; same contract as
/// [`crate::negotiation::NegotiationHost`]: `side` is this connector's role,
/// `pid` this side's pid from the path (`None` for `POST /transfers/request`),
/// body and path pids already checked for consistency; the host applies
/// [`machine::next`], persists, and answers unknown or foreign pids with
/// [`ProtocolError::NotFound`]. Checking that `agreementId` names a finalized
/// agreement with this caller is the host's job too.
pub trait TransferHost: Clone + Send + Sync + 'static {
    fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: TransferMessage,
        caller: CallerIdentity,
    ) -> impl Future<Output = Result<TransferProcess, ProtocolError>> + Send;

    /// The transfer process `pid` of this `side`, for `GET …/transfers/{pid}`.
    fn get(
        &self,
        side: Role,
        pid: &str,
        caller: CallerIdentity,
    ) -> impl Future<Output = Result<TransferProcess, ProtocolError>> + Send;
}

impl From<IllegalTransition> for ProtocolError {
    fn from(e: IllegalTransition) -> Self {
        ProtocolError::IllegalTransition(e.to_string())
    }
}
