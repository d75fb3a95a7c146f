//! CN_C:01-01 … CN_C:03-06 (the TCK's `ContractNegotiationConsumer0{1,2,3}Test`): the
//! connector is the consumer, started through the TCK's trigger route; the test plays the
//! TCK's provider.

use serde_json::{Value, json};

use super::{Mode, Received, Tck, assert_refused, message, pid, provider_pid_for};

const ERROR: &str = "ContractNegotiationError";

/// A negotiation the connector (consumer) started with the TCK (provider).
struct Negotiation {
    tck: Tck,
    dataset: &'static str,
    consumer_pid: String,
    provider_pid: String,
    /// The connector's callback address, on the port it actually listens on.
    callback: String,
}

impl Negotiation {
    /// TCK->>CUT: signal to start; CUT->>TCK: ContractRequestMessage; TCK-->>CUT: ContractNegotiation.
    async fn initiate(mode: Mode, dataset: &'static str) -> Negotiation {
        let tck = Tck::start(mode).await;
        let trigger = json!({"providerId": tck.id(), "offerId": format!("offer{dataset}"), "datasetId": dataset,
            "connectorAddress": tck.provider_address()});
        let (status, started) = tck
            .post_raw(&format!("{}/tck/negotiations/requests", tck.cut.protocol), &trigger, Some(&tck.authorization()))
            .await;
        assert_eq!(status, 200, "{started}");
        let request = tck.expect("ContractRequestMessage", "/provider/negotiations/request").await;
        let consumer_pid = request.str("consumerPid");
        assert_eq!(started["consumerPid"], consumer_pid);
        assert_eq!(request.body["offer"]["@id"], format!("offer{dataset}"));
        assert_eq!(request.body["offer"]["target"], dataset);
        let callback = tck.cut.local(&request.str("callbackAddress"));
        Negotiation { provider_pid: provider_pid_for(&consumer_pid), tck, dataset, consumer_pid, callback }
    }

    async fn send(&self, route: &str, type_name: &str, more: Value) -> (u16, Value) {
        let mut members = json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid});
        if let (Some(m), Some(more)) = (members.as_object_mut(), more.as_object()) {
            m.extend(more.clone());
        }
        let url = format!("{}/negotiations/{}/{route}", self.callback, self.consumer_pid);
        self.tck.post(&url, &message(type_name, members)).await
    }

    async fn offer(&self) -> (u16, Value) {
        let offer = json!({"@id": format!("offer{}", self.dataset), "@type": "Offer", "target": self.dataset,
            "assigner": self.tck.id(), "permission": [{"action": "use", "constraint": []}]});
        self.send("offers", "ContractOfferMessage", json!({"offer": offer})).await
    }

    async fn agreement(&self) -> (u16, Value) {
        let agreement = json!({"@id": pid("agreement"), "@type": "Agreement", "target": self.dataset,
            "assigner": self.tck.id(), "assignee": "CONNECTOR_UNDER_TEST", "timestamp": "2026-03-01T12:00:00Z",
            "permission": [{"action": "use", "constraint": []}]});
        self.send("agreement", "ContractAgreementMessage", json!({"agreement": agreement})).await
    }

    async fn finalize(&self) -> (u16, Value) {
        self.send("events", "ContractNegotiationEventMessage", json!({"eventType": "FINALIZED"})).await
    }

    async fn terminate(&self) -> (u16, Value) {
        self.send("termination", "ContractNegotiationTerminationMessage", json!({"code": "TCK"})).await
    }

    /// CUT->>TCK: `type_name` on the provider's `route`.
    async fn expect(&self, type_name: &str, route: &str) -> Received {
        let path = format!("/provider/negotiations/{}/{route}", self.provider_pid);
        let received = self.tck.expect(type_name, &path).await;
        assert_eq!(received.str("providerPid"), self.provider_pid);
        assert_eq!(received.str("consumerPid"), self.consumer_pid);
        received
    }

    async fn expect_accepted(&self) {
        let event = self.expect("ContractNegotiationEventMessage", "events").await;
        assert_eq!(event.body["eventType"], "ACCEPTED");
    }

    async fn expect_verification(&self) {
        self.expect("ContractAgreementVerificationMessage", "agreement/verification").await;
    }

    async fn expect_termination(&self) {
        self.expect("ContractNegotiationTerminationMessage", "termination").await;
    }

    async fn assert_state(&self, state: &str) {
        let url = format!("{}/negotiations/{}", self.callback, self.consumer_pid);
        assert_eq!(self.tck.state_at(&url).await, state, "consumer state of {}", self.dataset);
    }
}

fn ok((status, body): (u16, Value)) {
    assert_eq!(status, 200, "{body}");
}

async fn cn_c_01_01_offer_accept_agreement_verify_finalize(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0101").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_accepted().await;
    n.assert_state("ACCEPTED").await;
    ok(n.agreement().await);
    n.expect_verification().await;
    n.assert_state("VERIFIED").await;
    ok(n.finalize().await);
    n.assert_state("FINALIZED").await;
    n.tck.expect_nothing_queued().await;
}
both_modes!(cn_c_01_01_offer_accept_agreement_verify_finalize);

async fn cn_c_01_02_offer_counter_request_provider_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0102").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    let counter = n.expect("ContractRequestMessage", "request").await;
    assert_eq!(counter.body["offer"]["@id"], "offerACNC0102");
    n.assert_state("REQUESTED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_01_02_offer_counter_request_provider_terminates);

async fn cn_c_01_03_offer_consumer_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0103").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_01_03_offer_consumer_terminates);

async fn cn_c_01_04_agreement_verify_finalize(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0104").await;
    n.assert_state("REQUESTED").await;
    ok(n.agreement().await);
    n.expect_verification().await;
    n.assert_state("VERIFIED").await;
    ok(n.finalize().await);
    n.assert_state("FINALIZED").await;
}
both_modes!(cn_c_01_04_agreement_verify_finalize);

async fn cn_c_02_01_provider_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0201").await;
    n.assert_state("REQUESTED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_01_provider_terminates);

async fn cn_c_02_02_consumer_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0202").await;
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_02_consumer_terminates);

async fn cn_c_02_03_agreement_consumer_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0203").await;
    n.assert_state("REQUESTED").await;
    ok(n.agreement().await);
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_03_agreement_consumer_terminates);

async fn cn_c_02_04_offer_provider_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0204").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.assert_state("OFFERED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_04_offer_provider_terminates);

async fn cn_c_02_05_offer_accept_provider_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0205").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_accepted().await;
    n.assert_state("ACCEPTED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_05_offer_accept_provider_terminates);

async fn cn_c_02_06_agreement_verify_provider_terminates(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0206").await;
    n.assert_state("REQUESTED").await;
    ok(n.agreement().await);
    n.expect_verification().await;
    n.assert_state("VERIFIED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_c_02_06_agreement_verify_provider_terminates);

async fn cn_c_03_01_finalized_while_requested_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0301").await;
    n.assert_state("REQUESTED").await;
    assert_refused(&n.finalize().await, ERROR);
    n.assert_state("REQUESTED").await;
}
both_modes!(cn_c_03_01_finalized_while_requested_is_refused);

async fn cn_c_03_02_agreement_while_offered_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0302").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.assert_state("OFFERED").await;
    assert_refused(&n.agreement().await, ERROR);
    n.assert_state("OFFERED").await;
}
both_modes!(cn_c_03_02_agreement_while_offered_is_refused);

async fn cn_c_03_03_finalized_while_offered_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0303").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    assert_refused(&n.finalize().await, ERROR);
    n.assert_state("OFFERED").await;
}
both_modes!(cn_c_03_03_finalized_while_offered_is_refused);

async fn cn_c_03_04_finalized_while_accepted_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0304").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_accepted().await;
    n.assert_state("ACCEPTED").await;
    assert_refused(&n.finalize().await, ERROR);
    n.assert_state("ACCEPTED").await;
}
both_modes!(cn_c_03_04_finalized_while_accepted_is_refused);

async fn cn_c_03_05_offer_while_accepted_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0305").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_accepted().await;
    n.assert_state("ACCEPTED").await;
    assert_refused(&n.offer().await, ERROR);
    n.assert_state("ACCEPTED").await;
}
both_modes!(cn_c_03_05_offer_while_accepted_is_refused);

async fn cn_c_03_06_finalized_while_agreed_is_refused(mode: Mode) {
    let n = Negotiation::initiate(mode, "ACNC0306").await;
    n.assert_state("REQUESTED").await;
    ok(n.offer().await);
    n.expect_accepted().await;
    ok(n.agreement().await);
    n.assert_state("AGREED").await;
    assert_refused(&n.finalize().await, ERROR);
    n.assert_state("AGREED").await;
    n.tck.expect_nothing_queued().await;
}
both_modes!(cn_c_03_06_finalized_while_agreed_is_refused);
