//! Transfer processes through the real router with the `MemoryHost`: the
//! TCK's provider (TP) and consumer (TP_C) scenarios, every message in every
//! state on both sides, and the refusals the bindings prescribe.

use axum::Router;
use axum::http::StatusCode;
use passerelle_dsp::memory::{Counterparty, MemoryHost};
use passerelle_dsp::message::transfer::{
    DataAddress, TransferProcess, TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
};
use passerelle_dsp::process::Role;
use passerelle_dsp::transfer::{State, TransferMessage};
use passerelle_dsp::transfer_router;
use serde_json::{Value, json};

use crate::process::{Answer, BASE, CALLBACK, get, message, post};

const CONSUMER: &str = "did:web:broadcaster.example";
const PROVIDER: &str = "did:web:distributor.example";
const AGREEMENT: &str = "urn:uuid:agreement-1";
const ERROR: &str = "TransferError";

struct Transfer {
    router: Router,
    host: MemoryHost,
    provider_pid: String,
    consumer_pid: String,
}

impl Transfer {
    fn pids(&self) -> Value {
        json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid})
    }

    fn sent(&self, side: Role, message: impl Into<TransferMessage>) {
        self.host.transfer_sent(side, &message.into(), Counterparty::default()).unwrap();
    }

    async fn provider_state(&self) -> String {
        let answer = get(&self.router, &format!("{BASE}/transfers/{}", self.provider_pid), Some(CONSUMER)).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.text("state")
    }

    async fn consumer_state(&self) -> String {
        let answer = get(&self.router, &format!("{CALLBACK}/transfers/{}", self.consumer_pid), Some(PROVIDER)).await;
        assert_eq!(answer.status, StatusCode::OK);
        answer.text("state")
    }

    async fn receive_from_consumer(&self, path: &str, message_type: &str) -> Answer {
        let body = message(message_type, self.pids());
        post(&self.router, &format!("{BASE}/transfers/{}/{path}", self.provider_pid), &body, Some(CONSUMER)).await
    }

    async fn receive_from_provider(&self, path: &str, message_type: &str, extra: Value) -> Answer {
        let mut body = message(message_type, self.pids());
        if let (Some(target), Value::Object(extra)) = (body.as_object_mut(), extra) {
            target.extend(extra);
        }
        post(&self.router, &format!("{CALLBACK}/transfers/{}/{path}", self.consumer_pid), &body, Some(PROVIDER)).await
    }
}

fn request_body(consumer_pid: &str, agreement: &str) -> Value {
    message(
        "TransferRequestMessage",
        json!({"consumerPid": consumer_pid, "agreementId": agreement, "format": "HttpData-PULL",
               "callbackAddress": "https://broadcaster.example/dsp/2025-1/callback"}),
    )
}

fn pull_address() -> Value {
    json!({"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
           "endpoint": "https://distributor.example/data/works/1",
           "endpointProperties": [{"@type": "EndpointProperty", "name": "authorization", "value": "token-1"}]})
}

fn next_pid() -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(1);
    format!("urn:uuid:00000000-0000-4000-9000-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn provider_requested() -> Transfer {
    let host = MemoryHost::new();
    host.add_agreement(AGREEMENT, Some(CONSUMER.into()));
    let router = transfer_router(host.clone());
    let consumer_pid = next_pid();
    let answer =
        post(&router, &format!("{BASE}/transfers/request"), &request_body(&consumer_pid, AGREEMENT), Some(CONSUMER))
            .await;
    assert_eq!((answer.status, answer.state()), (StatusCode::CREATED, "REQUESTED"), "{:#}", answer.body);
    Transfer { router, host, provider_pid: answer.text("providerPid"), consumer_pid }
}

async fn provider_in(state: &str) -> Transfer {
    let t = provider_requested().await;
    let start = TransferStartMessage::new(&t.provider_pid, &t.consumer_pid);
    match state {
        "REQUESTED" => {}
        "STARTED" => t.sent(Role::Provider, start),
        "SUSPENDED" | "COMPLETED" => {
            t.sent(Role::Provider, start);
            let (path, kind) = if state == "SUSPENDED" {
                ("suspension", "TransferSuspensionMessage")
            } else {
                ("completion", "TransferCompletionMessage")
            };
            assert_eq!(t.receive_from_consumer(path, kind).await.state(), state);
        }
        "TERMINATED" => {
            assert_eq!(t.receive_from_consumer("termination", "TransferTerminationMessage").await.state(), state)
        }
        other => panic!("no path to {other}"),
    }
    assert_eq!(t.provider_state().await, state);
    t
}

async fn consumer_in(state: &str) -> Transfer {
    let host = MemoryHost::new();
    let router = transfer_router(host.clone());
    let (provider_pid, consumer_pid) = (next_pid(), next_pid());
    let request = TransferRequestMessage::new(&consumer_pid, AGREEMENT, "HttpData-PULL", "https://c.example/cb");
    let peer = Counterparty::new(Some(PROVIDER.into()), Some("https://distributor.example/dsp/2025-1".into()));
    host.transfer_sent(Role::Consumer, &request.into(), peer).unwrap();
    host.transfer_acknowledged(Role::Consumer, &TransferProcess::new(&provider_pid, &consumer_pid, State::Requested))
        .unwrap();
    let t = Transfer { router, host, provider_pid, consumer_pid };
    match state {
        "REQUESTED" => {}
        "STARTED" | "SUSPENDED" | "COMPLETED" => {
            let started =
                t.receive_from_provider("start", "TransferStartMessage", json!({"dataAddress": pull_address()})).await;
            assert_eq!(started.state(), "STARTED");
            if state == "SUSPENDED" {
                assert_eq!(
                    t.receive_from_provider("suspension", "TransferSuspensionMessage", json!({})).await.state(),
                    state
                );
            }
            if state == "COMPLETED" {
                assert_eq!(
                    t.receive_from_provider("completion", "TransferCompletionMessage", json!({})).await.state(),
                    state
                );
            }
        }
        "TERMINATED" => {
            let answer =
                t.receive_from_provider("termination", "TransferTerminationMessage", json!({"code": "1"})).await;
            assert_eq!(answer.state(), state);
        }
        other => panic!("no path to {other}"),
    }
    assert_eq!(t.consumer_state().await, state);
    t
}

const STATES: [&str; 5] = ["REQUESTED", "STARTED", "SUSPENDED", "COMPLETED", "TERMINATED"];
const MESSAGES: [(&str, &str); 4] = [
    ("start", "TransferStartMessage"),
    ("suspension", "TransferSuspensionMessage"),
    ("completion", "TransferCompletionMessage"),
    ("termination", "TransferTerminationMessage"),
];

/// The expected outcome of `message` from the counter-party in `state`
/// (`None`: 400, state unchanged); `provider_sends` says who sent it.
fn expects(state: &str, message: &str, provider_sends: bool) -> Option<&'static str> {
    match (state, message) {
        ("COMPLETED" | "TERMINATED", _) => None,
        (_, "termination") => Some("TERMINATED"),
        ("REQUESTED", "start") if provider_sends => Some("STARTED"),
        ("STARTED" | "SUSPENDED", "start") => Some("STARTED"),
        ("STARTED" | "SUSPENDED", "suspension") => Some("SUSPENDED"),
        ("STARTED", "completion") => Some("COMPLETED"),
        _ => None,
    }
}

#[tokio::test]
async fn provider_answers_every_consumer_message_in_every_state() {
    for state in STATES {
        for (path, kind) in MESSAGES {
            let t = provider_in(state).await;
            let answer = t.receive_from_consumer(path, kind).await;
            match expects(state, path, false) {
                Some(next) => assert_eq!((answer.status, answer.state()), (StatusCode::OK, next), "{state} + {path}"),
                None => {
                    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
                    assert_eq!(answer.body["providerPid"], t.provider_pid.as_str());
                    assert_eq!(answer.body["consumerPid"], t.consumer_pid.as_str());
                    assert_eq!(t.provider_state().await, state, "{state} + {path} left the state unchanged");
                }
            }
        }
    }
}

#[tokio::test]
async fn consumer_answers_every_provider_message_in_every_state() {
    for state in STATES {
        for (path, kind) in MESSAGES {
            let t = consumer_in(state).await;
            let answer = t.receive_from_provider(path, kind, json!({})).await;
            match expects(state, path, true) {
                Some(next) => assert_eq!((answer.status, answer.state()), (StatusCode::OK, next), "{state} + {path}"),
                None => {
                    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "ILLEGAL_TRANSITION");
                    assert_eq!(t.consumer_state().await, state, "{state} + {path} left the state unchanged");
                }
            }
        }
    }
}

/// TP:01-04 on the provider, TP_C:01-04 on the consumer: start, suspend, restart, complete.
#[tokio::test]
async fn suspended_transfers_restart_and_complete() {
    let t = provider_in("STARTED").await;
    t.sent(Role::Provider, TransferSuspensionMessage::new(&t.provider_pid, &t.consumer_pid));
    assert_eq!(t.provider_state().await, "SUSPENDED");
    t.sent(Role::Provider, TransferStartMessage::new(&t.provider_pid, &t.consumer_pid));
    assert_eq!(t.receive_from_consumer("completion", "TransferCompletionMessage").await.state(), "COMPLETED");

    let t = consumer_in("SUSPENDED").await;
    let record = t.host.transfer(Role::Consumer, &t.consumer_pid).unwrap();
    let address: DataAddress = serde_json::from_value(pull_address()).unwrap();
    assert_eq!(record.data_address, Some(address), "the pull address of the start message is kept");
    assert_eq!(t.receive_from_provider("start", "TransferStartMessage", json!({})).await.state(), "STARTED");
    assert_eq!(
        t.receive_from_provider("completion", "TransferCompletionMessage", json!({})).await.state(),
        "COMPLETED"
    );
    let states: Vec<State> =
        t.host.transfer(Role::Consumer, &t.consumer_pid).unwrap().history.iter().map(|s| s.state).collect();
    assert_eq!(states, [State::Requested, State::Started, State::Suspended, State::Started, State::Completed]);
}

#[tokio::test]
async fn requests_need_a_known_agreement_and_repeat_idempotently() {
    let t = provider_requested().await;
    let uri = format!("{BASE}/transfers/request");
    let again = post(&t.router, &uri, &request_body(&t.consumer_pid, AGREEMENT), Some(CONSUMER)).await;
    assert_eq!((again.status, again.text("providerPid")), (StatusCode::CREATED, t.provider_pid.clone()));
    let answer = post(&t.router, &uri, &request_body("urn:uuid:c-other", "urn:uuid:unknown"), Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "BAD_REQUEST");
    assert!(answer.body["reason"][0].as_str().unwrap().contains("urn:uuid:unknown"));
    assert_eq!(answer.body["consumerPid"], "urn:uuid:c-other");
    // The agreement was made with the broadcaster, not with this lab.
    let answer = post(&t.router, &uri, &request_body("urn:uuid:c-lab", AGREEMENT), Some("did:web:lab.example")).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "BAD_REQUEST");
    assert_eq!(t.host.transfers().len(), 1);
}

#[tokio::test]
async fn malformed_misrouted_unknown_and_foreign_messages_are_refused() {
    let t = provider_in("STARTED").await;
    let p = &t.provider_pid;
    let mut body = request_body("urn:uuid:c", AGREEMENT);
    body["callbackAddress"] = json!("not a url");
    post(&t.router, &format!("{BASE}/transfers/request"), &body, Some(CONSUMER)).await.assert_refused(
        StatusCode::BAD_REQUEST,
        ERROR,
        "INVALID_MESSAGE",
    );
    let start =
        message("TransferStartMessage", json!({"providerPid": p, "consumerPid": t.consumer_pid, "dataAddress": {}}));
    let answer = post(&t.router, &format!("{BASE}/transfers/{p}/start"), &start, Some(CONSUMER)).await;
    answer.assert_refused(StatusCode::BAD_REQUEST, ERROR, "INVALID_MESSAGE");
    assert!(answer.body["reason"][0].as_str().unwrap().contains("endpointType"));
    // A start sent to the creating route is not a route at all (405 from the router is not a DSP body),
    // so misrouting is tested on the pid routes: a completion with a foreign providerPid.
    let body =
        message("TransferCompletionMessage", json!({"providerPid": "urn:uuid:other", "consumerPid": t.consumer_pid}));
    post(&t.router, &format!("{BASE}/transfers/{p}/completion"), &body, Some(CONSUMER)).await.assert_refused(
        StatusCode::BAD_REQUEST,
        ERROR,
        "PID_MISMATCH",
    );
    let body = message("TransferCompletionMessage", json!({"providerPid": p, "consumerPid": "urn:uuid:someone-else"}));
    post(&t.router, &format!("{BASE}/transfers/{p}/completion"), &body, Some(CONSUMER)).await.assert_refused(
        StatusCode::BAD_REQUEST,
        ERROR,
        "BAD_REQUEST",
    );
    let body = message("TransferCompletionMessage", t.pids());
    post(&t.router, &format!("{BASE}/transfers/{p}/completion"), &body, Some("did:web:mallory.example"))
        .await
        .assert_refused(StatusCode::NOT_FOUND, ERROR, "NOT_FOUND");
    get(&t.router, &format!("{BASE}/transfers/urn:uuid:none"), Some(CONSUMER)).await.assert_refused(
        StatusCode::NOT_FOUND,
        ERROR,
        "NOT_FOUND",
    );
    get(&t.router, &format!("{CALLBACK}/transfers/{p}"), Some(CONSUMER)).await.assert_refused(
        StatusCode::NOT_FOUND,
        ERROR,
        "NOT_FOUND",
    );
    assert_eq!(t.provider_state().await, "STARTED", "nothing changed");
}
