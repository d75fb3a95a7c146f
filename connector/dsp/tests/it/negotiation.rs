//! Contract negotiations through the real router with the `MemoryHost`: the
//! TCK's provider (CN) and consumer (CN_C) scenarios, every message in every
//! state on both sides, and the refusals the bindings prescribe.

use axum::Router;
use axum::http::StatusCode;
use passerelle_dsp::memory::{Counterparty, MemoryHost};
use passerelle_dsp::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
    ContractOfferMessage, ContractRequestMessage,
};
use passerelle_dsp::message::policy::{Agreement, MessageOffer};
use passerelle_dsp::negotiation::NegotiationMessage;
use passerelle_dsp::negotiation_router;
use passerelle_dsp::process::Role;
use serde_json::{Value, json};

use crate::process::{BASE, CALLBACK, agreement, get, message, offer, post};

const CONSUMER: &str = "did:web:broadcaster.example";
const PROVIDER: &str = "did:web:distributor.example";
const DATASET: &str = "urn:passerelle:dataset:work:1";
const ERROR: &str = "ContractNegotiationError";

fn connector() -> (Router, MemoryHost) {
    let host = MemoryHost::new();
    (negotiation_router(host.clone()), host)
}

/// A negotiation seen from one connector: its router, its host and the two pids.
struct Negotiation {
    router: Router,
    host: MemoryHost,
    provider_pid: String,
    consumer_pid: String,
}

impl Negotiation {
    fn pids(&self) -> Value {
        json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid})
    }

    fn with_pids(&self, extra: Value) -> Value {
        let mut members = self.pids();
        if let (Some(target), Value::Object(extra)) = (members.as_object_mut(), extra) {
            target.extend(extra);
        }
        members
    }

    /// What this connector sends as `side` (acknowledged by the peer).
    fn sent(&self, side: Role, message: impl Into<NegotiationMessage>) {
        self.host.negotiation_sent(side, &message.into(), Counterparty::default()).unwrap();
    }

    async fn provider_state(&self) -> String {
        let answer = get(&self.router, &format!("{BASE}/negotiations/{}", self.provider_pid), Some(CONSUMER)).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.text("state")
    }

    async fn consumer_state(&self) -> String {
        let answer = get(&self.router, &format!("{CALLBACK}/negotiations/{}", self.consumer_pid), Some(PROVIDER)).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.text("state")
    }

    /// A message from the consumer to this provider.
    async fn receive_from_consumer(&self, path: &str, message_type: &str, extra: Value) -> crate::process::Answer {
        let body = message(message_type, self.with_pids(extra));
        post(&self.router, &format!("{BASE}/negotiations/{}/{path}", self.provider_pid), &body, Some(CONSUMER)).await
    }

    /// A message from the provider to this consumer.
    async fn receive_from_provider(&self, path: &str, message_type: &str, extra: Value) -> crate::process::Answer {
        let body = message(message_type, self.with_pids(extra));
        post(&self.router, &format!("{CALLBACK}/negotiations/{}/{path}", self.consumer_pid), &body, Some(PROVIDER))
            .await
    }
}

fn typed_offer(id: &str) -> MessageOffer {
    MessageOffer::new(offer(id, DATASET)).unwrap()
}

fn typed_agreement() -> Agreement {
    Agreement::new(agreement("urn:uuid:agreement-1", DATASET)).unwrap()
}

/// The provider side after the consumer's initial request (TCK: `sendRequestMessage`).
async fn provider_requested() -> Negotiation {
    let (router, host) = connector();
    let consumer_pid = format!("urn:uuid:{}", uuid_like());
    let body = message(
        "ContractRequestMessage",
        json!({"consumerPid": consumer_pid, "offer": offer("urn:uuid:offer-1", DATASET),
               "callbackAddress": "https://broadcaster.example/dsp/2025-1/callback"}),
    );
    let answer = post(&router, &format!("{BASE}/negotiations/request"), &body, Some(CONSUMER)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
    assert_eq!(answer.state(), "REQUESTED");
    assert_eq!(answer.text("consumerPid"), consumer_pid);
    Negotiation { router, host, provider_pid: answer.text("providerPid"), consumer_pid }
}

fn uuid_like() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("00000000-0000-4000-8000-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// The provider side driven into `state` by the paths of the TCK scenarios.
async fn provider_in(state: &str) -> Negotiation {
    let n = provider_requested().await;
    let (p, c) = (n.provider_pid.clone(), n.consumer_pid.clone());
    let offered = |n: &Negotiation| {
        n.sent(Role::Provider, ContractOfferMessage::counter(&p, &c, typed_offer("urn:uuid:offer-2")))
    };
    let agreed = |n: &Negotiation| n.sent(Role::Provider, ContractAgreementMessage::new(&p, &c, typed_agreement()));
    match state {
        "REQUESTED" => {}
        "OFFERED" => offered(&n),
        "ACCEPTED" => {
            offered(&n);
            assert_eq!(
                n.receive_from_consumer("events", "ContractNegotiationEventMessage", json!({"eventType": "ACCEPTED"}))
                    .await
                    .state(),
                "ACCEPTED"
            );
        }
        "AGREED" => agreed(&n),
        "VERIFIED" | "FINALIZED" => {
            agreed(&n);
            let answer = n
                .receive_from_consumer("agreement/verification", "ContractAgreementVerificationMessage", json!({}))
                .await;
            assert_eq!(answer.state(), "VERIFIED");
            if state == "FINALIZED" {
                n.sent(Role::Provider, ContractNegotiationEventMessage::finalized(&p, &c));
            }
        }
        "TERMINATED" => {
            let answer =
                n.receive_from_consumer("termination", "ContractNegotiationTerminationMessage", json!({})).await;
            assert_eq!(answer.state(), "TERMINATED");
        }
        other => panic!("no path to {other}"),
    }
    assert_eq!(n.provider_state().await, state);
    n
}

/// The consumer side after its own initial request was acknowledged.
async fn consumer_requested() -> Negotiation {
    let (router, host) = connector();
    let consumer_pid = format!("urn:uuid:{}", uuid_like());
    let provider_pid = format!("urn:uuid:{}", uuid_like());
    let request =
        ContractRequestMessage::initial(&consumer_pid, typed_offer("urn:uuid:offer-1"), "https://c.example/cb");
    let peer = Counterparty::new(Some(PROVIDER.into()), Some("https://distributor.example/dsp/2025-1".into()));
    host.negotiation_sent(Role::Consumer, &request.into(), peer).unwrap();
    let ack = passerelle_dsp::message::negotiation::ContractNegotiation::new(
        &provider_pid,
        &consumer_pid,
        passerelle_dsp::negotiation::State::Requested,
    );
    host.negotiation_acknowledged(Role::Consumer, &ack).unwrap();
    Negotiation { router, host, provider_pid, consumer_pid }
}

/// The consumer side driven into `state`.
async fn consumer_in(state: &str) -> Negotiation {
    let n = consumer_requested().await;
    let (p, c) = (n.provider_pid.clone(), n.consumer_pid.clone());
    let offer_msg = || json!({"offer": offer("urn:uuid:offer-2", DATASET)});
    let agreement_msg = || json!({"agreement": agreement("urn:uuid:agreement-1", DATASET)});
    match state {
        "REQUESTED" => {}
        "OFFERED" | "ACCEPTED" => {
            assert_eq!(n.receive_from_provider("offers", "ContractOfferMessage", offer_msg()).await.state(), "OFFERED");
            if state == "ACCEPTED" {
                n.sent(Role::Consumer, ContractNegotiationEventMessage::accepted(&p, &c));
            }
        }
        "AGREED" | "VERIFIED" | "FINALIZED" => {
            assert_eq!(
                n.receive_from_provider("agreement", "ContractAgreementMessage", agreement_msg()).await.state(),
                "AGREED"
            );
            if state != "AGREED" {
                n.sent(Role::Consumer, ContractAgreementVerificationMessage::new(&p, &c));
            }
            if state == "FINALIZED" {
                let answer = n
                    .receive_from_provider(
                        "events",
                        "ContractNegotiationEventMessage",
                        json!({"eventType": "FINALIZED"}),
                    )
                    .await;
                assert_eq!(answer.state(), "FINALIZED");
            }
        }
        "TERMINATED" => {
            let answer = n
                .receive_from_provider("termination", "ContractNegotiationTerminationMessage", json!({"code": "X"}))
                .await;
            assert_eq!(answer.state(), "TERMINATED");
        }
        other => panic!("no path to {other}"),
    }
    assert_eq!(n.consumer_state().await, state);
    n
}

const STATES: [&str; 7] = ["REQUESTED", "OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED", "TERMINATED"];

/// Expected outcome of each consumer message at the provider, per state
/// (`None`: 400 and the state unchanged). Replays answer 200 with the same state.
fn provider_expects(state: &str, message: &str) -> Option<&'static str> {
    match (state, message) {
        ("OFFERED", "request") => Some("REQUESTED"),
        ("OFFERED", "accepted") | ("ACCEPTED", "accepted") => Some("ACCEPTED"),
        ("AGREED", "verification") | ("VERIFIED", "verification") => Some("VERIFIED"),
        ("FINALIZED" | "TERMINATED", _) => None,
        (_, "termination") => Some("TERMINATED"),
        _ => None,
    }
}

#[tokio::test]
async fn provider_answers_every_consumer_message_in_every_state() {
    let messages: [(&str, &str, &str, Value); 5] = [
        ("request", "request", "ContractRequestMessage", json!({"offer": offer("urn:uuid:counter", DATASET)})),
        ("accepted", "events", "ContractNegotiationEventMessage", json!({"eventType": "ACCEPTED"})),
        ("verification", "agreement/verification", "ContractAgreementVerificationMessage", json!({})),
        // The consumer never finalizes (DSP: an error).
        ("finalized", "events", "ContractNegotiationEventMessage", json!({"eventType": "FINALIZED"})),
        (
            "termination",
            "termination",
            "ContractNegotiationTerminationMessage",
            json!({"code": "1", "reason": [{"message": "bye"}]}),
        ),
    ];
    for state in STATES {
        for (name, path, message_type, extra) in &messages {
            let n = provider_in(state).await;
            let answer = n.receive_from_consumer(path, message_type, extra.clone()).await;
            match provider_expects(state, name) {
                Some(next) => {
                    assert_eq!(answer.status, StatusCode::OK, "{state} + {name}: {:#}", answer.body);
                    assert_eq!(answer.state(), next, "{state} + {name}");
                    assert_eq!(answer.body["providerPid"], n.provider_pid.as_str());
                }
                None => {
                    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
                    assert_eq!(answer.body["providerPid"], n.provider_pid.as_str(), "{state} + {name}");
                    assert_eq!(answer.body["consumerPid"], n.consumer_pid.as_str(), "{state} + {name}");
                    assert_eq!(n.provider_state().await, state, "{state} + {name} left the state unchanged");
                }
            }
        }
    }
}

/// Expected outcome of each provider message at the consumer, per state.
fn consumer_expects(state: &str, message: &str) -> Option<&'static str> {
    match (state, message) {
        ("REQUESTED", "offer") => Some("OFFERED"),
        ("REQUESTED" | "ACCEPTED" | "AGREED", "agreement") => Some("AGREED"),
        ("VERIFIED", "finalized") => Some("FINALIZED"),
        ("FINALIZED" | "TERMINATED", _) => None,
        (_, "termination") => Some("TERMINATED"),
        _ => None,
    }
}

#[tokio::test]
async fn consumer_answers_every_provider_message_in_every_state() {
    let messages: [(&str, &str, &str, Value); 5] = [
        ("offer", "offers", "ContractOfferMessage", json!({"offer": offer("urn:uuid:offer-3", DATASET)})),
        (
            "agreement",
            "agreement",
            "ContractAgreementMessage",
            json!({"agreement": agreement("urn:uuid:agreement-1", DATASET)}),
        ),
        ("finalized", "events", "ContractNegotiationEventMessage", json!({"eventType": "FINALIZED"})),
        // The provider never accepts (DSP: an error).
        ("accepted", "events", "ContractNegotiationEventMessage", json!({"eventType": "ACCEPTED"})),
        ("termination", "termination", "ContractNegotiationTerminationMessage", json!({})),
    ];
    for state in STATES {
        for (name, path, message_type, extra) in &messages {
            let n = consumer_in(state).await;
            let answer = n.receive_from_provider(path, message_type, extra.clone()).await;
            match consumer_expects(state, name) {
                Some(next) => {
                    assert_eq!(answer.status, StatusCode::OK, "{state} + {name}: {:#}", answer.body);
                    assert_eq!(answer.state(), next, "{state} + {name}");
                }
                None => {
                    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
                    assert_eq!(n.consumer_state().await, state, "{state} + {name} left the state unchanged");
                }
            }
        }
    }
}

/// CN:01-03 step by step, then the agreement is usable for transfers.
#[tokio::test]
async fn provider_negotiation_from_request_to_finalized() {
    let n = provider_requested().await;
    let (p, c) = (n.provider_pid.clone(), n.consumer_pid.clone());
    n.sent(Role::Provider, ContractOfferMessage::counter(&p, &c, typed_offer("urn:uuid:offer-2")));
    assert_eq!(n.provider_state().await, "OFFERED");
    let answer =
        n.receive_from_consumer("events", "ContractNegotiationEventMessage", json!({"eventType": "ACCEPTED"})).await;
    assert_eq!((answer.status, answer.state()), (StatusCode::OK, "ACCEPTED"));
    n.sent(Role::Provider, ContractAgreementMessage::new(&p, &c, typed_agreement()));
    let answer =
        n.receive_from_consumer("agreement/verification", "ContractAgreementVerificationMessage", json!({})).await;
    assert_eq!(answer.state(), "VERIFIED");
    n.sent(Role::Provider, ContractNegotiationEventMessage::finalized(&p, &c));
    assert_eq!(n.provider_state().await, "FINALIZED");

    let record = n.host.negotiation(Role::Provider, &p).unwrap();
    assert_eq!(record.offers.len(), 2, "the consumer's request and the provider's offer");
    assert_eq!(record.agreement.as_ref().unwrap()["@id"], "urn:uuid:agreement-1");
    assert_eq!(record.counterparty.participant_id.as_deref(), Some(CONSUMER));
    // CN:03-01: nothing after FINALIZED, not even a termination.
    let answer = n.receive_from_consumer("termination", "ContractNegotiationTerminationMessage", json!({})).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
    assert!(answer.body["reason"][0].as_str().unwrap().contains("final state"));
}

/// CN:03-04: the same counter-offer twice; the second is refused.
#[tokio::test]
async fn a_second_counter_offer_out_of_turn_is_refused() {
    let n = provider_in("OFFERED").await;
    let counter = json!({"offer": offer("CD123:ACN0304:456", "ACN0304")});
    let first = n.receive_from_consumer("request", "ContractRequestMessage", counter.clone()).await;
    assert_eq!((first.status, first.state()), (StatusCode::OK, "REQUESTED"));
    let second = n.receive_from_consumer("request", "ContractRequestMessage", counter).await;
    second.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
    assert_eq!(n.provider_state().await, "REQUESTED");
}

#[tokio::test]
async fn a_repeated_initial_request_gets_the_same_answer() {
    let (router, host) = connector();
    let body = message(
        "ContractRequestMessage",
        json!({"consumerPid": "urn:uuid:c-repeat", "offer": offer("urn:uuid:o", DATASET), "callbackAddress": "https://c.example/cb"}),
    );
    let uri = format!("{BASE}/negotiations/request");
    let first = post(&router, &uri, &body, Some(CONSUMER)).await;
    let again = post(&router, &uri, &body, Some(CONSUMER)).await;
    assert_eq!((first.status, again.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first.body, again.body);
    // Another participant may use the same consumerPid: it is its own negotiation.
    let other = post(&router, &uri, &body, Some("did:web:lab.example")).await;
    assert_ne!(other.body["providerPid"], first.body["providerPid"]);
    assert_eq!(host.negotiations().len(), 2);
}

#[tokio::test]
async fn malformed_misrouted_unknown_and_foreign_messages_are_refused() {
    let n = provider_in("OFFERED").await;
    let (router, p) = (&n.router, n.provider_pid.as_str());

    // Not JSON, no DSP context, a message of another type, a missing member: 400 with a reason.
    for (body, fragment) in [
        (json!("nope"), "not an object"),
        (json!({"@type": "ContractNegotiationEventMessage"}), "`@context` is missing"),
        (message("ContractAgreementVerificationMessage", n.pids()), "expects `ContractNegotiationEventMessage`"),
        (message("ContractNegotiationEventMessage", n.pids()), "missing field `eventType`"),
    ] {
        let answer = post(router, &format!("{BASE}/negotiations/{p}/events"), &body, Some(CONSUMER)).await;
        answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "INVALID_MESSAGE");
        assert!(answer.body["reason"][0].as_str().unwrap().contains(fragment), "{fragment}: {:#}", answer.body);
    }
    // The body's providerPid must be the path's.
    let body = message(
        "ContractNegotiationEventMessage",
        json!({"providerPid": "urn:uuid:other", "consumerPid": n.consumer_pid, "eventType": "ACCEPTED"}),
    );
    let answer = post(router, &format!("{BASE}/negotiations/{p}/events"), &body, Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "PID_MISMATCH");
    // A counter-offer sent to the creating route.
    let body = message("ContractRequestMessage", n.with_pids(json!({"offer": offer("urn:uuid:x", DATASET)})));
    let answer = post(router, &format!("{BASE}/negotiations/request"), &body, Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "PID_MISMATCH");
    // An initial request without a callback, and one whose offer has no target.
    let body =
        message("ContractRequestMessage", json!({"consumerPid": "urn:uuid:c9", "offer": offer("urn:uuid:x", DATASET)}));
    let answer = post(router, &format!("{BASE}/negotiations/request"), &body, Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "INVALID_MESSAGE");
    assert_eq!(answer.body["consumerPid"], "urn:uuid:c9");
    assert_eq!(answer.body["providerPid"], "", "no provider process exists");
    let body = message(
        "ContractRequestMessage",
        json!({"consumerPid": "urn:uuid:c9", "callbackAddress": "https://c.example/cb",
                                                        "offer": {"@id": "urn:uuid:x", "permission": [{"action": "use"}]}}),
    );
    let answer = post(router, &format!("{BASE}/negotiations/request"), &body, Some(CONSUMER)).await;
    assert!(answer.body["reason"][0].as_str().unwrap().contains("target"), "{:#}", answer.body);

    // Unknown pids and other participants' negotiations: 404, never a hint of existence.
    let accepted = json!({"eventType": "ACCEPTED"});
    let body = message(
        "ContractNegotiationEventMessage",
        json!({"providerPid": "urn:uuid:none", "consumerPid": n.consumer_pid, "eventType": "ACCEPTED"}),
    );
    let answer = post(router, &format!("{BASE}/negotiations/urn:uuid:none/events"), &body, Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::NOT_FOUND, ERROR, "NOT_FOUND");
    assert_eq!(answer.body["consumerPid"], n.consumer_pid.as_str());
    let body = message("ContractNegotiationEventMessage", n.with_pids(accepted));
    let answer = post(router, &format!("{BASE}/negotiations/{p}/events"), &body, Some("did:web:mallory.example")).await;
    answer.assert_refused(StatusCode::NOT_FOUND, ERROR, "NOT_FOUND");
    get(router, &format!("{BASE}/negotiations/{p}"), Some("did:web:mallory.example")).await.assert_refused(
        StatusCode::NOT_FOUND,
        ERROR,
        "NOT_FOUND",
    );
    get(router, &format!("{BASE}/negotiations/urn:uuid:none"), Some(CONSUMER)).await.assert_refused(
        StatusCode::NOT_FOUND,
        ERROR,
        "NOT_FOUND",
    );
    // The provider's pid means nothing on the consumer callback routes.
    get(router, &format!("{CALLBACK}/negotiations/{p}"), Some(CONSUMER)).await.assert_refused(
        StatusCode::NOT_FOUND,
        ERROR,
        "NOT_FOUND",
    );
    assert_eq!(n.provider_state().await, "OFFERED", "nothing changed");
}

/// CN_C:01-01 from the consumer's side, answering on its callback routes.
#[tokio::test]
async fn consumer_negotiation_through_callbacks() {
    let n = consumer_requested().await;
    let (p, c) = (n.provider_pid.clone(), n.consumer_pid.clone());
    assert_eq!(
        n.receive_from_provider("offers", "ContractOfferMessage", json!({"offer": offer("urn:uuid:o2", DATASET)}))
            .await
            .state(),
        "OFFERED"
    );
    n.sent(Role::Consumer, ContractNegotiationEventMessage::accepted(&p, &c));
    assert_eq!(n.consumer_state().await, "ACCEPTED");
    let members = json!({"agreement": agreement("urn:uuid:agreement-1", DATASET), "callbackAddress": "https://tck/cb"});
    assert_eq!(n.receive_from_provider("agreement", "ContractAgreementMessage", members).await.state(), "AGREED");
    n.sent(Role::Consumer, ContractAgreementVerificationMessage::new(&p, &c));
    let answer =
        n.receive_from_provider("events", "ContractNegotiationEventMessage", json!({"eventType": "FINALIZED"})).await;
    assert_eq!((answer.status, answer.state()), (StatusCode::OK, "FINALIZED"));
    let record = n.host.negotiation(Role::Consumer, &c).unwrap();
    assert_eq!(record.agreement.unwrap()["@id"], "urn:uuid:agreement-1");
    // Another provider cannot touch it; an agreement without timestamp is refused as malformed.
    let answer = post(
        &n.router,
        &format!("{CALLBACK}/negotiations/{c}/termination"),
        &message("ContractNegotiationTerminationMessage", n.pids()),
        Some("did:web:mallory.example"),
    )
    .await;
    answer.assert_refused(StatusCode::NOT_FOUND, ERROR, "NOT_FOUND");
    let mut bad = agreement("urn:uuid:agreement-2", DATASET);
    bad.as_object_mut().unwrap().remove("timestamp");
    let answer = n.receive_from_provider("agreement", "ContractAgreementMessage", json!({"agreement": bad})).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "INVALID_MESSAGE");
}

/// A provider-initiated negotiation: `POST /negotiations/offers` on the consumer.
#[tokio::test]
async fn a_provider_may_start_with_an_offer() {
    let (router, host) = connector();
    let body = message(
        "ContractOfferMessage",
        json!({"providerPid": "urn:uuid:p-offer", "offer": offer("urn:uuid:o", DATASET),
               "callbackAddress": "https://distributor.example/dsp/2025-1"}),
    );
    let answer = post(&router, &format!("{BASE}/negotiations/offers"), &body, Some(PROVIDER)).await;
    assert_eq!((answer.status, answer.state()), (StatusCode::CREATED, "OFFERED"));
    let c = answer.text("consumerPid");
    let record = host.negotiation(Role::Consumer, &c).unwrap();
    assert_eq!(record.counterparty_pid.as_deref(), Some("urn:uuid:p-offer"));
    assert_eq!(record.counterparty.address.as_deref(), Some("https://distributor.example/dsp/2025-1"));
    let fetched = get(&router, &format!("{CALLBACK}/negotiations/{c}"), Some(PROVIDER)).await;
    assert_eq!(fetched.body, answer.body);
    // Without a callback address the consumer could never answer: refused.
    let body =
        message("ContractOfferMessage", json!({"providerPid": "urn:uuid:p2", "offer": offer("urn:uuid:o", DATASET)}));
    post(&router, &format!("{BASE}/negotiations/offers"), &body, Some(PROVIDER)).await.assert_refused(
        StatusCode::BAD_REQUEST,
        ERROR,
        "INVALID_MESSAGE",
    );
}
