//! Which URL a message goes to: pure, from the message, its recipient's role
//! and the recipient's address.

use url::Url;

use super::ClientError;
use crate::message::negotiation::NegotiationEventType;
use crate::negotiation::NegotiationMessage;
use crate::process::Role;
use crate::transfer::TransferMessage;

/// Where to post a message, and whether the route creates a process (201 + ACK required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Path segments below the recipient's address, unencoded.
    pub segments: Vec<String>,
    pub creates: bool,
}

impl Route {
    fn new(segments: &[&str], creates: bool) -> Self {
        Route { segments: segments.iter().map(|s| s.to_string()).collect(), creates }
    }
}

fn misdirected(message: &str, recipient: Role) -> ClientError {
    ClientError::Misdirected {
        message: message.to_string(),
        recipient,
        hint: format!("the {recipient} does not receive this message; send it to the {}", recipient.counterpart()),
    }
}

/// A process pid a route needs, which the message must carry.
fn required<'a>(pid: Option<&'a str>, member: &str, message: &str) -> Result<&'a str, ClientError> {
    pid.ok_or_else(|| ClientError::Misdirected {
        message: message.to_string(),
        recipient: if member == "providerPid" { Role::Provider } else { Role::Consumer },
        hint: format!("it has no `{member}`, so it can only go to the route that creates a process"),
    })
}

/// The route of a negotiation message sent to `recipient`.
///
/// Provider routes are relative to its protocol address (`…/dsp/2025-1`);
/// consumer routes to the `callbackAddress` it gave, except the initial offer,
/// which goes to the consumer's protocol address.
pub fn negotiation_route(recipient: Role, message: &NegotiationMessage) -> Result<Route, ClientError> {
    let name = message.kind().as_str();
    match (recipient, message) {
        (Role::Provider, NegotiationMessage::Request(m)) => Ok(match &m.provider_pid {
            None => Route::new(&["negotiations", "request"], true),
            Some(pid) => Route::new(&["negotiations", pid, "request"], false),
        }),
        (Role::Provider, NegotiationMessage::Event(m)) if m.event_type == NegotiationEventType::Accepted => {
            Ok(Route::new(&["negotiations", &m.provider_pid, "events"], false))
        }
        (Role::Provider, NegotiationMessage::Verification(m)) => {
            Ok(Route::new(&["negotiations", &m.provider_pid, "agreement", "verification"], false))
        }
        (Role::Provider, NegotiationMessage::Termination(m)) => {
            Ok(Route::new(&["negotiations", &m.provider_pid, "termination"], false))
        }
        (Role::Consumer, NegotiationMessage::Offer(m)) => Ok(match &m.consumer_pid {
            None => Route::new(&["negotiations", "offers"], true),
            Some(pid) => Route::new(&["negotiations", pid, "offers"], false),
        }),
        (Role::Consumer, NegotiationMessage::Agreement(m)) => {
            Ok(Route::new(&["negotiations", &m.consumer_pid, "agreement"], false))
        }
        (Role::Consumer, NegotiationMessage::Event(m)) if m.event_type == NegotiationEventType::Finalized => {
            Ok(Route::new(&["negotiations", &m.consumer_pid, "events"], false))
        }
        (Role::Consumer, NegotiationMessage::Termination(m)) => {
            Ok(Route::new(&["negotiations", &m.consumer_pid, "termination"], false))
        }
        _ => Err(misdirected(name, recipient)),
    }
}

/// The route of a transfer message sent to `recipient` (provider: its protocol
/// address; consumer: its `callbackAddress`).
pub fn transfer_route(recipient: Role, message: &TransferMessage) -> Result<Route, ClientError> {
    let name = message.kind().as_str();
    let last = match message {
        TransferMessage::Request(_) if recipient == Role::Provider => {
            return Ok(Route::new(&["transfers", "request"], true));
        }
        TransferMessage::Request(_) => return Err(misdirected(name, recipient)),
        TransferMessage::Start(_) => "start",
        TransferMessage::Suspension(_) => "suspension",
        TransferMessage::Completion(_) => "completion",
        TransferMessage::Termination(_) => "termination",
    };
    let member = if recipient == Role::Provider { "providerPid" } else { "consumerPid" };
    let pid = required(message.pid_of(recipient), member, name)?;
    Ok(Route::new(&["transfers", pid, last], false))
}

/// `address` + the route's segments, each percent-encoded as one path segment.
pub fn resolve(address: &str, segments: &[String]) -> Result<Url, ClientError> {
    let invalid =
        |reason: &str| ClientError::InvalidAddress { address: address.to_string(), reason: reason.to_string() };
    let mut url = Url::parse(address).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(url.scheme(), "https" | "http") {
        return Err(invalid("DSP is spoken over https (or http on a test loopback)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a DSP address has no query or fragment"));
    }
    {
        let mut path = url.path_segments_mut().map_err(|()| invalid("it cannot have a path"))?;
        // `…/callback` and `…/callback/` name the same base (the bindings ask for both to work).
        path.pop_if_empty();
        path.extend(segments);
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::negotiation::*;
    use crate::message::policy::{Agreement, MessageOffer};
    use crate::message::transfer::*;
    use serde_json::json;

    fn offer() -> MessageOffer {
        MessageOffer::new(json!({"@id": "urn:o", "target": "urn:d", "permission": [{"action": "use"}]})).unwrap()
    }

    fn path(recipient: Role, message: impl Into<NegotiationMessage>) -> Option<(String, bool)> {
        negotiation_route(recipient, &message.into()).ok().map(|r| (r.segments.join("/"), r.creates))
    }

    #[test]
    fn negotiation_routes_follow_the_binding() {
        use Role::{Consumer as C, Provider as P};
        let ok = |s: &str, creates: bool| Some((s.to_string(), creates));
        assert_eq!(
            path(P, ContractRequestMessage::initial("c", offer(), "https://c/cb")),
            ok("negotiations/request", true)
        );
        assert_eq!(path(P, ContractRequestMessage::counter("p", "c", offer())), ok("negotiations/p/request", false));
        assert_eq!(path(P, ContractNegotiationEventMessage::accepted("p", "c")), ok("negotiations/p/events", false));
        assert_eq!(
            path(P, ContractAgreementVerificationMessage::new("p", "c")),
            ok("negotiations/p/agreement/verification", false)
        );
        assert_eq!(
            path(P, ContractNegotiationTerminationMessage::new("p", "c")),
            ok("negotiations/p/termination", false)
        );
        assert_eq!(
            path(C, ContractOfferMessage::initial("p", offer(), "https://p/dsp")),
            ok("negotiations/offers", true)
        );
        assert_eq!(path(C, ContractOfferMessage::counter("p", "c", offer())), ok("negotiations/c/offers", false));
        let agreement = Agreement::new(json!({"@id": "a", "target": "d", "assigner": "p", "assignee": "c",
                                              "timestamp": "2025-01-01T00:00:00Z"}))
        .unwrap();
        assert_eq!(
            path(C, ContractAgreementMessage::new("p", "c", agreement.clone())),
            ok("negotiations/c/agreement", false)
        );
        assert_eq!(path(C, ContractNegotiationEventMessage::finalized("p", "c")), ok("negotiations/c/events", false));
        assert_eq!(
            path(C, ContractNegotiationTerminationMessage::new("p", "c")),
            ok("negotiations/c/termination", false)
        );
        // Messages sent the wrong way are refused before anything is sent.
        assert!(path(C, ContractRequestMessage::counter("p", "c", offer())).is_none());
        assert!(path(P, ContractAgreementMessage::new("p", "c", agreement)).is_none());
        assert!(path(P, ContractNegotiationEventMessage::finalized("p", "c")).is_none());
        assert!(path(C, ContractNegotiationEventMessage::accepted("p", "c")).is_none());
        assert!(path(P, ContractOfferMessage::counter("p", "c", offer())).is_none());
    }

    #[test]
    fn transfer_routes_follow_the_binding() {
        let route =
            |recipient, message: TransferMessage| transfer_route(recipient, &message).map(|r| r.segments.join("/"));
        let request = TransferRequestMessage::new("c", "a", "HttpData-PULL", "https://c/cb");
        assert_eq!(route(Role::Provider, request.clone().into()).unwrap(), "transfers/request");
        assert!(transfer_route(Role::Provider, &request.clone().into()).unwrap().creates);
        assert!(route(Role::Consumer, request.into()).is_err());
        assert_eq!(route(Role::Consumer, TransferStartMessage::new("p", "c").into()).unwrap(), "transfers/c/start");
        assert_eq!(route(Role::Provider, TransferStartMessage::new("p", "c").into()).unwrap(), "transfers/p/start");
        assert_eq!(
            route(Role::Provider, TransferSuspensionMessage::new("p", "c").into()).unwrap(),
            "transfers/p/suspension"
        );
        assert_eq!(
            route(Role::Consumer, TransferCompletionMessage::new("p", "c").into()).unwrap(),
            "transfers/c/completion"
        );
        assert_eq!(
            route(Role::Consumer, TransferTerminationMessage::new("p", "c").into()).unwrap(),
            "transfers/c/termination"
        );
    }

    #[test]
    fn addresses_join_with_or_without_slash_and_pids_are_encoded() {
        let segments = vec!["negotiations".to_string(), "urn:uuid:a/b c".to_string(), "termination".to_string()];
        for base in ["https://c.example/dsp/2025-1/callback", "https://c.example/dsp/2025-1/callback/"] {
            assert_eq!(
                resolve(base, &segments).unwrap().as_str(),
                "https://c.example/dsp/2025-1/callback/negotiations/urn:uuid:a%2Fb%20c/termination"
            );
        }
        assert_eq!(resolve("http://127.0.0.1:9/", &segments[..1]).unwrap().as_str(), "http://127.0.0.1:9/negotiations");
        for bad in ["c.example/cb", "ftp://c.example/", "https://c.example/cb?x=1", "mailto:x@y"] {
            assert!(matches!(resolve(bad, &segments), Err(ClientError::InvalidAddress { .. })), "{bad}");
        }
    }
}
