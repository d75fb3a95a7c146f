//! CN:01-01 … CN:03-04 (the TCK's `ContractNegotiationProvider0{1,2,3}Test`): the
//! connector is the provider, the test plays the TCK's consumer.

use serde_json::{Value, json};

use super::{Mode, Received, Tck, assert_refused, message, pid};

const ERROR: &str = "ContractNegotiationError";

/// A negotiation the TCK (consumer) started with the connector (provider).
struct Negotiation {
    tck: Tck,
    dataset: &'static str,
    consumer_pid: String,
    provider_pid: String,
}

fn offer(dataset: &str) -> Value {
    json!({"@id": format!("CD123:{dataset}:456"), "@type": "Offer", "target": dataset,
        "permission": [{"action": "use", "constraint": []}]})
}

impl Negotiation {
    /// TCK->>CUT: ContractRequestMessage; CUT-->>TCK: ContractNegotiation (REQUESTED).
    async fn request(mode: Mode, dataset: &'static str) -> Negotiation {
        let tck = Tck::start(mode).await;
        let consumer_pid = pid("tck-consumer");
        let body = message(
            "ContractRequestMessage",
            json!({"consumerPid": consumer_pid, "offer": offer(dataset), "callbackAddress": tck.callback()}),
        );
        let (status, ack) = tck.post(&tck.dsp("/negotiations/request"), &body).await;
        assert_eq!(status, 201, "{ack}");
        assert_eq!((&ack["@type"], &ack["state"]), (&json!("ContractNegotiation"), &json!("REQUESTED")));
        assert_eq!(ack["consumerPid"], consumer_pid);
        let provider_pid = ack["providerPid"].as_str().expect("providerPid").to_string();
        Negotiation { tck, dataset, consumer_pid, provider_pid }
    }

    fn pids(&self, more: Value) -> Value {
        let mut members = json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid});
        if let (Some(m), Some(more)) = (members.as_object_mut(), more.as_object()) {
            m.extend(more.clone());
        }
        members
    }

    async fn send(&self, route: &str, type_name: &str, more: Value) -> (u16, Value) {
        let url = self.tck.dsp(&format!("/negotiations/{}/{route}", self.provider_pid));
        self.tck.post(&url, &message(type_name, self.pids(more))).await
    }

    async fn counter_request(&self) -> (u16, Value) {
        self.send("request", "ContractRequestMessage", json!({"offer": offer(self.dataset)})).await
    }

    async fn accept(&self) -> (u16, Value) {
        self.send("events", "ContractNegotiationEventMessage", json!({"eventType": "ACCEPTED"})).await
    }

    async fn verify(&self) -> (u16, Value) {
        self.send("agreement/verification", "ContractAgreementVerificationMessage", json!({})).await
    }

    async fn terminate(&self) -> (u16, Value) {
        self.send("termination", "ContractNegotiationTerminationMessage", json!({"code": "TCK"})).await
    }

    /// CUT->>TCK: `type_name` on the consumer's callback `route`.
    async fn expect(&self, type_name: &str, route: &str) -> Received {
        let path = format!("/consumer/negotiations/{}/{route}", self.consumer_pid);
        let received = self.tck.expect(type_name, &path).await;
        assert_eq!(received.str("providerPid"), self.provider_pid);
        assert_eq!(received.str("consumerPid"), self.consumer_pid);
        received
    }

    async fn expect_offer(&self) {
        let offer = self.expect("ContractOfferMessage", "offers").await;
        assert_eq!(offer.body["offer"]["target"], self.dataset);
    }

    async fn expect_agreement(&self) {
        let agreement = self.expect("ContractAgreementMessage", "agreement").await;
        assert_eq!(agreement.body["agreement"]["target"], self.dataset);
        assert_eq!(agreement.body["agreement"]["@type"], "Agreement");
    }

    async fn expect_finalized(&self) {
        let event = self.expect("ContractNegotiationEventMessage", "events").await;
        assert_eq!(event.body["eventType"], "FINALIZED");
    }

    async fn expect_termination(&self) {
        self.expect("ContractNegotiationTerminationMessage", "termination").await;
    }

    async fn state(&self) -> String {
        self.tck.state_at(&self.tck.dsp(&format!("/negotiations/{}", self.provider_pid))).await
    }

    async fn assert_state(&self, state: &str) {
        assert_eq!(self.state().await, state, "provider state of {}", self.dataset);
    }
}

fn ok((status, body): (u16, Value)) {
    assert_eq!(status, 200, "{body}");
}

async fn cn_01_01_request_offer_terminate(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0101").await;
    n.expect_offer().await;
    n.assert_state("OFFERED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_01_01_request_offer_terminate);

async fn cn_01_02_request_offer_counter_request_provider_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0102").await;
    n.expect_offer().await;
    n.assert_state("OFFERED").await;
    let (status, ack) = n.counter_request().await;
    assert_eq!((status, &ack["state"]), (200, &json!("REQUESTED")), "{ack}");
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_01_02_request_offer_counter_request_provider_terminates);

async fn cn_01_03_request_offer_accept_agreement_verify_finalize(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0103").await;
    n.expect_offer().await;
    ok(n.accept().await);
    n.expect_agreement().await;
    n.assert_state("AGREED").await;
    ok(n.verify().await);
    n.expect_finalized().await;
    n.assert_state("FINALIZED").await;
    n.tck.expect_nothing_queued().await;
}
both_modes!(cn_01_03_request_offer_accept_agreement_verify_finalize);

async fn cn_01_04_request_agreement_verify_finalize(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0104").await;
    n.expect_agreement().await;
    n.assert_state("AGREED").await;
    ok(n.verify().await);
    n.expect_finalized().await;
    n.assert_state("FINALIZED").await;
}
both_modes!(cn_01_04_request_agreement_verify_finalize);

async fn cn_02_01_request_provider_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0201").await;
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_01_request_provider_terminates);

async fn cn_02_02_request_consumer_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0202").await;
    n.assert_state("REQUESTED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
    n.tck.expect_nothing_queued().await;
}
both_modes!(cn_02_02_request_consumer_terminates);

async fn cn_02_03_request_agreement_consumer_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0203").await;
    n.expect_agreement().await;
    n.assert_state("AGREED").await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_03_request_agreement_consumer_terminates);

async fn cn_02_04_request_offer_consumer_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0204").await;
    n.expect_offer().await;
    ok(n.terminate().await);
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_04_request_offer_consumer_terminates);

async fn cn_02_05_request_offer_provider_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0205").await;
    n.expect_offer().await;
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_05_request_offer_provider_terminates);

async fn cn_02_06_request_offer_accept_provider_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0206").await;
    n.expect_offer().await;
    ok(n.accept().await);
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_06_request_offer_accept_provider_terminates);

async fn cn_02_07_request_agreement_verify_provider_terminates(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0207").await;
    n.expect_agreement().await;
    ok(n.verify().await);
    n.expect_termination().await;
    n.assert_state("TERMINATED").await;
}
both_modes!(cn_02_07_request_agreement_verify_provider_terminates);

async fn cn_03_01_termination_after_finalized_is_refused(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0301").await;
    n.expect_agreement().await;
    ok(n.verify().await);
    n.expect_finalized().await;
    n.assert_state("FINALIZED").await;
    assert_refused(&n.terminate().await, ERROR);
    n.assert_state("FINALIZED").await;
}
both_modes!(cn_03_01_termination_after_finalized_is_refused);

async fn cn_03_02_verification_while_offered_is_refused(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0302").await;
    n.expect_offer().await;
    assert_refused(&n.verify().await, ERROR);
    n.assert_state("OFFERED").await;
}
both_modes!(cn_03_02_verification_while_offered_is_refused);

async fn cn_03_03_verification_while_accepted_is_refused(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0303").await;
    n.expect_offer().await;
    ok(n.accept().await);
    n.assert_state("ACCEPTED").await;
    assert_refused(&n.verify().await, ERROR);
    n.assert_state("ACCEPTED").await;
}
both_modes!(cn_03_03_verification_while_accepted_is_refused);

async fn cn_03_04_second_counter_request_is_refused(mode: Mode) {
    let n = Negotiation::request(mode, "ACN0304").await;
    n.expect_offer().await;
    let (status, ack) = n.counter_request().await;
    assert_eq!((status, &ack["state"]), (200, &json!("REQUESTED")), "{ack}");
    assert_refused(&n.counter_request().await, ERROR);
    n.assert_state("REQUESTED").await;
}
both_modes!(cn_03_04_second_counter_request_is_refused);
