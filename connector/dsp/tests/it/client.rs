//! The DSP client between two connectors served on 127.0.0.1 (a distributor
//! as provider, a broadcaster as consumer), each with its own `MemoryHost`
//! behind `protocol_router_full`: a whole negotiation and transfer, then the
//! failures the client must type correctly.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::Response;
use passerelle_dsp::client::{ClientError, DspClient, Peer, StaticToken, TokenError, TokenRequest, TokenSource};
use passerelle_dsp::memory::{Counterparty, MemoryHost};
use passerelle_dsp::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage,
};
use passerelle_dsp::message::policy::{Agreement, MessageOffer};
use passerelle_dsp::message::transfer::{
    DataAddress, TransferCompletionMessage, TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
};
use passerelle_dsp::negotiation::{self, NegotiationMessage};
use passerelle_dsp::process::{Role, VerifiedParticipant};
use passerelle_dsp::schema::validate_message;
use passerelle_dsp::transfer::{self, TransferMessage};
use passerelle_dsp::{CatalogPaging, callback_address, protocol_address, protocol_router_full};

use crate::process::{agreement, offer};

const PROVIDER: &str = "did:web:distributor.example";
const CONSUMER: &str = "did:web:broadcaster.example";
const DATASET: &str = "urn:passerelle:dataset:work:1";

/// Stands in for DCP verification: `Bearer <participant id>` marks the caller as that participant.
async fn pretend_auth(mut request: Request, next: Next) -> Response {
    let participant = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    if let Some(id) = participant {
        request.extensions_mut().insert(VerifiedParticipant(id));
    }
    next.run(request).await
}

/// Serves a connector on an ephemeral loopback port; returns its base URL.
async fn serve(host: MemoryHost) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut info = crate::info();
    info.protocol_base_url = base.clone();
    let router: Router =
        protocol_router_full(crate::MemorySource::new(vec![]), host.clone(), host, info, CatalogPaging::default())
            .layer(middleware::from_fn(pretend_auth));
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn http() -> reqwest::Client {
    // reqwest is built without a crypto provider; install ring once for the process.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

/// Every message the client sends must be schema-valid.
fn valid(message: serde_json::Value) {
    if let Err(errors) = validate_message(&message) {
        panic!("the client would send an invalid message:\n{}\n{message:#}", errors.join("\n"));
    }
}

fn n_valid(message: &NegotiationMessage) {
    valid(message.to_json().unwrap());
}

fn t_valid(message: &TransferMessage) {
    valid(message.to_json().unwrap());
}

#[tokio::test]
async fn two_connectors_negotiate_and_transfer_over_http() {
    let (provider_host, consumer_host) = (MemoryHost::new(), MemoryHost::new());
    let provider_base = serve(provider_host.clone()).await;
    let consumer_base = serve(consumer_host.clone()).await;

    // The consumer's token source sees who each request is for.
    let audiences = Arc::new(Mutex::new(Vec::<String>::new()));
    let seen = audiences.clone();
    let consumer_tokens = move |request: TokenRequest<'_>| -> Result<Option<String>, TokenError> {
        seen.lock().unwrap().push(request.audience.unwrap_or("?").to_string());
        Ok(Some(format!("Bearer {CONSUMER}")))
    };
    let consumer = DspClient::new(http(), consumer_tokens);
    let provider = DspClient::new(http(), StaticToken(format!("Bearer {PROVIDER}")));
    let to_provider = Peer::new(protocol_address(&provider_base)).with_participant(PROVIDER);
    let to_consumer = Peer::new(callback_address(&consumer_base)).with_participant(CONSUMER);

    // --- negotiation -----------------------------------------------------------
    let c = "urn:uuid:broadcaster-negotiation-1";
    let request = ContractRequestMessage::initial(
        c,
        MessageOffer::new(offer("urn:uuid:offer-1", DATASET)).unwrap(),
        callback_address(&consumer_base),
    );
    n_valid(&request.clone().into());
    // Recorded before sending, so that a quick answer from the provider finds it.
    let peer = Counterparty::new(Some(PROVIDER.into()), Some(to_provider.address.clone()));
    consumer_host.negotiation_sent(Role::Consumer, &request.clone().into(), peer).unwrap();
    let ack = consumer.request_negotiation(&to_provider, &request).await.unwrap();
    assert_eq!(ack.state, negotiation::State::Requested);
    consumer_host.negotiation_acknowledged(Role::Consumer, &ack).unwrap();
    let p = ack.provider_pid.clone();
    let provider_record = provider_host.negotiation(Role::Provider, &p).unwrap();
    assert_eq!(provider_record.counterparty.address.as_deref(), Some(to_consumer.address.as_str()));

    let counter = ContractOfferMessage::counter(&p, c, MessageOffer::new(offer("urn:uuid:offer-2", DATASET)).unwrap());
    n_valid(&counter.clone().into());
    let ack = provider.send_counter_offer(&to_consumer, &counter).await.unwrap().unwrap();
    assert_eq!(ack.state, negotiation::State::Offered);
    provider_host.negotiation_sent(Role::Provider, &counter.into(), Counterparty::default()).unwrap();

    let accepted = ContractNegotiationEventMessage::accepted(&p, c);
    n_valid(&accepted.clone().into());
    assert_eq!(
        consumer.accept_offer(&to_provider, &accepted).await.unwrap().unwrap().state,
        negotiation::State::Accepted
    );
    consumer_host.negotiation_sent(Role::Consumer, &accepted.into(), Counterparty::default()).unwrap();

    let agreement_message =
        ContractAgreementMessage::new(&p, c, Agreement::new(agreement("urn:uuid:agreement-1", DATASET)).unwrap());
    n_valid(&agreement_message.clone().into());
    assert_eq!(
        provider.send_agreement(&to_consumer, &agreement_message).await.unwrap().unwrap().state,
        negotiation::State::Agreed
    );
    provider_host.negotiation_sent(Role::Provider, &agreement_message.into(), Counterparty::default()).unwrap();

    let verification = ContractAgreementVerificationMessage::new(&p, c);
    n_valid(&verification.clone().into());
    assert_eq!(
        consumer.verify_agreement(&to_provider, &verification).await.unwrap().unwrap().state,
        negotiation::State::Verified
    );
    consumer_host.negotiation_sent(Role::Consumer, &verification.clone().into(), Counterparty::default()).unwrap();

    let finalized = ContractNegotiationEventMessage::finalized(&p, c);
    n_valid(&finalized.clone().into());
    assert_eq!(
        provider.finalize_negotiation(&to_consumer, &finalized).await.unwrap().unwrap().state,
        negotiation::State::Finalized
    );
    provider_host.negotiation_sent(Role::Provider, &finalized.into(), Counterparty::default()).unwrap();

    // Both sides agree, and each can read the other's view.
    assert_eq!(provider.get_negotiation(&to_consumer, c).await.unwrap().state, negotiation::State::Finalized);
    assert_eq!(consumer.get_negotiation(&to_provider, &p).await.unwrap().state, negotiation::State::Finalized);
    assert_eq!(provider_host.negotiation(Role::Provider, &p).unwrap().state, negotiation::State::Finalized);

    // An illegal message is a typed, final refusal.
    let err = consumer.verify_agreement(&to_provider, &verification).await.unwrap_err();
    match &err {
        ClientError::Rejected { status: 400, code: Some(code), reasons, .. } => {
            assert_eq!(code, "ILLEGAL_TRANSITION");
            assert!(reasons[0].contains("FINALIZED"), "{reasons:?}");
        }
        other => panic!("expected a 400 rejection, got {other:?}"),
    }
    assert!(!err.is_retryable());

    // --- transfer under the agreement ----------------------------------------
    let tc = "urn:uuid:broadcaster-transfer-1";
    let request =
        TransferRequestMessage::new(tc, "urn:uuid:agreement-1", "HttpData-PULL", callback_address(&consumer_base));
    t_valid(&request.clone().into());
    consumer_host.transfer_sent(Role::Consumer, &request.clone().into(), Counterparty::default()).unwrap();
    let ack = consumer.request_transfer(&to_provider, &request).await.unwrap();
    assert_eq!(ack.state, transfer::State::Requested);
    consumer_host.transfer_acknowledged(Role::Consumer, &ack).unwrap();
    let tp = ack.provider_pid.clone();

    let address = DataAddress::new("https://w3id.org/idsa/v4.1/HTTP", format!("{provider_base}/data/works/1"))
        .with_property("authorization", "short-lived-token")
        .with_property("authType", "bearer");
    let start = TransferStartMessage::new(&tp, tc).with_data_address(address.clone());
    t_valid(&start.clone().into());
    assert_eq!(
        provider.start_transfer(&to_consumer, Role::Consumer, &start).await.unwrap().unwrap().state,
        transfer::State::Started
    );
    provider_host.transfer_sent(Role::Provider, &start.into(), Counterparty::default()).unwrap();
    assert_eq!(consumer_host.transfer(Role::Consumer, tc).unwrap().data_address, Some(address));

    let suspension = TransferSuspensionMessage::new(&tp, tc).with_code("PAUSE").with_reason("maintenance window");
    t_valid(&suspension.clone().into());
    let ack = consumer.suspend_transfer(&to_provider, Role::Provider, &suspension).await.unwrap().unwrap();
    assert_eq!(ack.state, transfer::State::Suspended);
    consumer_host.transfer_sent(Role::Consumer, &suspension.into(), Counterparty::default()).unwrap();

    let resume = TransferStartMessage::new(&tp, tc);
    assert_eq!(
        consumer.start_transfer(&to_provider, Role::Provider, &resume).await.unwrap().unwrap().state,
        transfer::State::Started
    );
    consumer_host.transfer_sent(Role::Consumer, &resume.into(), Counterparty::default()).unwrap();

    let completion = TransferCompletionMessage::new(&tp, tc);
    t_valid(&completion.clone().into());
    assert_eq!(
        provider.complete_transfer(&to_consumer, Role::Consumer, &completion).await.unwrap().unwrap().state,
        transfer::State::Completed
    );
    provider_host.transfer_sent(Role::Provider, &completion.into(), Counterparty::default()).unwrap();
    assert_eq!(consumer.get_transfer(&to_provider, &tp).await.unwrap().state, transfer::State::Completed);
    assert_eq!(provider.get_transfer(&to_consumer, tc).await.unwrap().state, transfer::State::Completed);

    assert!(audiences.lock().unwrap().iter().all(|a| a == PROVIDER), "every consumer request was for the provider");
}

#[tokio::test]
async fn failures_are_typed_and_say_whether_to_retry() {
    let host = MemoryHost::new();
    let base = serve(host.clone()).await;
    let to_provider = Peer::new(protocol_address(&base)).with_participant(PROVIDER);
    let client = DspClient::new(http(), StaticToken(format!("Bearer {CONSUMER}")));

    // Unknown pid: 404 with the DSP error code.
    match client.get_negotiation(&to_provider, "urn:uuid:none").await.unwrap_err() {
        ClientError::Rejected { status: 404, code, .. } => assert_eq!(code.as_deref(), Some("NOT_FOUND")),
        other => panic!("expected 404, got {other:?}"),
    }
    // Someone else's negotiation looks exactly like an unknown one.
    let request = ContractRequestMessage::initial(
        "urn:uuid:c-1",
        MessageOffer::new(offer("urn:uuid:o", DATASET)).unwrap(),
        "http://127.0.0.1:9/dsp/2025-1/callback",
    );
    let p = client.request_negotiation(&to_provider, &request).await.unwrap().provider_pid;
    let mallory = DspClient::new(http(), StaticToken("Bearer did:web:mallory.example".into()));
    assert_eq!(mallory.get_negotiation(&to_provider, &p).await.unwrap_err().status(), Some(404));
    let termination = ContractNegotiationTerminationMessage::new(&p, "urn:uuid:c-1");
    assert_eq!(
        mallory.terminate_negotiation(&to_provider, Role::Provider, &termination).await.unwrap_err().status(),
        Some(404)
    );
    // Repeating the creating request returns the same negotiation.
    assert_eq!(client.request_negotiation(&to_provider, &request).await.unwrap().provider_pid, p);

    // Messages sent the wrong way never leave the client.
    let counter =
        ContractRequestMessage::counter(&p, "urn:uuid:c-1", MessageOffer::new(offer("urn:uuid:o2", DATASET)).unwrap());
    let err = client.send_negotiation(&to_provider, Role::Consumer, &counter.clone().into()).await.unwrap_err();
    assert!(matches!(err, ClientError::Misdirected { .. }), "{err:?}");
    assert!(matches!(client.request_negotiation(&to_provider, &counter).await, Err(ClientError::Misdirected { .. })));
    let err = client.get_transfer(&Peer::new("not a url"), "x").await.unwrap_err();
    assert!(matches!(err, ClientError::InvalidAddress { .. }));

    // Nobody listening: a transport failure, worth retrying.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let err = client.request_negotiation(&Peer::new(protocol_address(&gone)), &request).await.unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }) && err.is_retryable(), "{err:?}");

    // A token source that fails stops the request before it is sent.
    let failing = DspClient::new(http(), |_: TokenRequest<'_>| Err(TokenError::new("no key loaded")));
    assert!(matches!(failing.get_negotiation(&to_provider, &p).await, Err(ClientError::Token(_))));
    fn assert_source<T: TokenSource>(_: &T) {}
    assert_source(&StaticToken(String::new()));
}
