//! DCP mode's refusals: the TCK routes are guarded exactly like the normal DSP routes, and
//! the TCK's side refuses connector messages whose token it cannot verify.

use axum::Router;
use serde_json::{Value, json};

use super::dcp_side::TckParticipant;
use super::{AUTHORIZATION, Mode, Tck, assert_valid, message, pid};

/// Asserts a refusal with `status` and a schema-valid DSP error body of `error_type` carrying `code`.
fn assert_dcp_refusal((status, body): &(u16, Value), expected: u16, error_type: &str, code: &str) {
    assert_eq!(*status, expected, "{body}");
    assert_eq!(body["@type"], error_type, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_valid(body, "the refusal");
}

fn contract_request(tck: &Tck) -> Value {
    let offer = json!({"@id": "CD123:ACN0101:456", "@type": "Offer", "target": "ACN0101",
        "permission": [{"action": "use", "constraint": []}]});
    message(
        "ContractRequestMessage",
        json!({"consumerPid": pid("tck-consumer"), "offer": offer, "callbackAddress": tck.callback()}),
    )
}

#[tokio::test]
async fn requests_without_a_valid_members_token_are_refused() {
    let tck = Tck::start(Mode::Dcp).await;
    let catalog = tck.dsp("/catalog/request");
    let request = message("CatalogRequestMessage", json!({}));

    let refusal = tck.post_raw(&catalog, &request, None).await;
    assert_dcp_refusal(&refusal, 401, "CatalogError", "MISSING_AUTHORIZATION");
    let refusal = tck.post_raw(&tck.dsp("/negotiations/request"), &contract_request(&tck), None).await;
    assert_dcp_refusal(&refusal, 401, "ContractNegotiationError", "MISSING_AUTHORIZATION");
    // The static TCK's value is no DCP token.
    let refusal = tck.post_raw(&catalog, &request, Some(AUTHORIZATION)).await;
    assert_eq!(refusal.0, 401, "{}", refusal.1);
    assert_valid(&refusal.1, "the refusal");
    // The trigger routes make the connector call out: they are guarded too.
    let trigger = format!("{}/tck/negotiations/requests", tck.cut.protocol);
    assert_eq!(tck.post_raw(&trigger, &json!({}), None).await.0, 401);

    // A token is good once: its replay is refused.
    let token = tck.authorization();
    assert_eq!(tck.post_raw(&catalog, &request, Some(&token)).await.0, 200);
    let refusal = tck.post_raw(&catalog, &request, Some(&token)).await;
    assert_eq!(refusal.0, 401, "a replayed token: {}", refusal.1);
    assert_eq!(refusal.1["@type"], "CatalogError");
}

#[tokio::test]
async fn a_non_member_is_refused_and_another_member_cannot_reach_the_tcks_process() {
    let tck = Tck::start(Mode::Dcp).await;
    let connector = tck.connector_did().expect("DCP mode").clone();
    // A participant with a did:web and a LegalPerson, never onboarded.
    let stranger = TckParticipant::start(false, |_| Router::new()).await;
    let refusal = tck
        .post_raw(
            &tck.dsp("/catalog/request"),
            &message("CatalogRequestMessage", json!({})),
            Some(&stranger.authorization_for(&connector)),
        )
        .await;
    assert_dcp_refusal(&refusal, 403, "CatalogError", "MISSING_CREDENTIAL");
    let refusal = tck
        .post_raw(
            &tck.dsp("/negotiations/request"),
            &contract_request(&tck),
            Some(&stranger.authorization_for(&connector)),
        )
        .await;
    assert_dcp_refusal(&refusal, 403, "ContractNegotiationError", "MISSING_CREDENTIAL");

    // The TCK's negotiation is bound to the DID DCP verified: another member does not even see it.
    let (status, ack) = tck.post(&tck.dsp("/negotiations/request"), &contract_request(&tck)).await;
    assert_eq!(status, 201, "{ack}");
    let url = tck.dsp(&format!("/negotiations/{}", ack["providerPid"].as_str().expect("providerPid")));
    let (status, negotiation) = tck.get(&url).await;
    assert_eq!(status, 200, "the TCK sees its own negotiation: {negotiation}");
    let other = TckParticipant::start(true, |_| Router::new()).await;
    let response = tck
        .cut
        .http
        .get(&url)
        .header("Authorization", other.authorization_for(&connector))
        .send()
        .await
        .expect("the connector answers");
    assert_eq!(response.status().as_u16(), 404, "another member must not see the TCK's negotiation");
}

#[tokio::test]
async fn the_tck_refuses_a_callback_without_a_valid_dcp_token() {
    let tck = Tck::start(Mode::Dcp).await;
    let event = message(
        "ContractNegotiationEventMessage",
        json!({"providerPid": "urn:uuid:p", "consumerPid": "urn:uuid:c", "eventType": "ACCEPTED"}),
    );
    let url = format!("{}/negotiations/urn:uuid:c/events", tck.callback());
    // Neither the static value, nor a valid token of the TCK itself (addressed to the connector).
    for authorization in [AUTHORIZATION.to_string(), tck.authorization()] {
        let response = tck
            .cut
            .http
            .post(&url)
            .header("Authorization", authorization)
            .json(&event)
            .send()
            .await
            .expect("the TCK answers");
        assert_eq!(response.status().as_u16(), 401);
        let received = tck.next_received().await;
        let refusal = received.verified.expect("verified in DCP mode").expect_err("refused");
        assert!(!refusal.is_empty());
    }
}
