//! TP:01-01 … TP:03-06 (the TCK's `TransferProcessProvider0{1,2,3}Test`): the connector
//! is the provider, the test plays the TCK's consumer. TP:02-04 is `@Disabled` in the
//! TCK itself; it is ported anyway (DSP lets either side restart a suspended transfer).

use serde_json::{Value, json};

use super::{Mode, Received, Tck, assert_refused, message, pid};

const ERROR: &str = "TransferError";
const FORMAT: &str = "HttpData-PULL";

/// A transfer the TCK (consumer) requested from the connector (provider).
struct Transfer {
    tck: Tck,
    agreement: &'static str,
    consumer_pid: String,
    provider_pid: String,
}

impl Transfer {
    /// TCK->>CUT: TransferRequestMessage; CUT-->>TCK: TransferProcess (REQUESTED).
    async fn request(mode: Mode, agreement: &'static str) -> Transfer {
        let tck = Tck::start(mode).await;
        let consumer_pid = pid("tck-consumer");
        let body = message(
            "TransferRequestMessage",
            json!({"consumerPid": consumer_pid, "agreementId": agreement, "format": FORMAT,
                "callbackAddress": tck.callback()}),
        );
        let (status, ack) = tck.post(&tck.dsp("/transfers/request"), &body).await;
        assert_eq!(status, 201, "{ack}");
        assert_eq!((&ack["@type"], &ack["state"]), (&json!("TransferProcess"), &json!("REQUESTED")));
        let provider_pid = ack["providerPid"].as_str().expect("providerPid").to_string();
        Transfer { tck, agreement, consumer_pid, provider_pid }
    }

    async fn send(&self, route: &str, type_name: &str, more: Value) -> (u16, Value) {
        let mut members = json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid});
        if let (Some(m), Some(more)) = (members.as_object_mut(), more.as_object()) {
            m.extend(more.clone());
        }
        let url = self.tck.dsp(&format!("/transfers/{}/{route}", self.provider_pid));
        self.tck.post(&url, &message(type_name, members)).await
    }

    async fn start(&self) -> (u16, Value) {
        self.send("start", "TransferStartMessage", json!({})).await
    }

    async fn suspend(&self) -> (u16, Value) {
        self.send("suspension", "TransferSuspensionMessage", json!({"code": "TCK"})).await
    }

    async fn complete(&self) -> (u16, Value) {
        self.send("completion", "TransferCompletionMessage", json!({})).await
    }

    async fn terminate(&self) -> (u16, Value) {
        self.send("termination", "TransferTerminationMessage", json!({"code": "TCK"})).await
    }

    async fn expect(&self, type_name: &str, route: &str) -> Received {
        let path = format!("/consumer/transfers/{}/{route}", self.consumer_pid);
        let received = self.tck.expect(type_name, &path).await;
        assert_eq!(received.str("providerPid"), self.provider_pid);
        assert_eq!(received.str("consumerPid"), self.consumer_pid);
        received
    }

    /// A pull transfer's start carries where to pull from.
    async fn expect_start(&self) -> Received {
        let start = self.expect("TransferStartMessage", "start").await;
        assert!(start.body["dataAddress"]["endpoint"].is_string(), "a PULL start names the endpoint: {}", start.body);
        start
    }

    async fn expect_suspension(&self) {
        self.expect("TransferSuspensionMessage", "suspension").await;
    }

    async fn expect_completion(&self) {
        self.expect("TransferCompletionMessage", "completion").await;
    }

    async fn expect_termination(&self) {
        self.expect("TransferTerminationMessage", "termination").await;
    }

    async fn assert_state(&self, state: &str) {
        let url = self.tck.dsp(&format!("/transfers/{}", self.provider_pid));
        assert_eq!(self.tck.state_at(&url).await, state, "provider state under {}", self.agreement);
    }
}

fn ok((status, body): (u16, Value)) {
    assert_eq!(status, 200, "{body}");
}

async fn tp_01_01_started_provider_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0101").await;
    t.expect_start().await;
    t.expect_termination().await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_01_01_started_provider_terminates);

async fn tp_01_02_started_provider_completes(mode: Mode) {
    let t = Transfer::request(mode, "ATP0102").await;
    t.expect_start().await;
    t.expect_completion().await;
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_01_02_started_provider_completes);

async fn tp_01_03_started_suspended_provider_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0103").await;
    t.expect_start().await;
    t.expect_suspension().await;
    t.expect_termination().await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_01_03_started_suspended_provider_terminates);

async fn tp_01_04_started_suspended_restarted_completed(mode: Mode) {
    let t = Transfer::request(mode, "ATP0104").await;
    t.expect_start().await;
    t.expect_suspension().await;
    t.expect_start().await;
    t.expect_completion().await;
    t.assert_state("COMPLETED").await;
    t.tck.expect_nothing_queued().await;
}
both_modes!(tp_01_04_started_suspended_restarted_completed);

async fn tp_01_05_provider_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0105").await;
    t.expect_termination().await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_01_05_provider_terminates);

async fn tp_02_01_started_consumer_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0201").await;
    let start = t.expect_start().await;
    t.assert_state("STARTED").await;
    // The announced pull endpoint serves while STARTED.
    let endpoint = t.tck.cut.local(start.body["dataAddress"]["endpoint"].as_str().unwrap_or_default());
    let data = t.tck.cut.http.get(&endpoint).header("Authorization", t.tck.authorization()).send().await.expect("pull");
    assert_eq!(data.status().as_u16(), 200);
    let data: Value = data.json().await.expect("JSON");
    assert_eq!(data["agreementId"], "ATP0201");
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_02_01_started_consumer_terminates);

async fn tp_02_02_started_consumer_completes(mode: Mode) {
    let t = Transfer::request(mode, "ATP0202").await;
    t.expect_start().await;
    t.assert_state("STARTED").await;
    ok(t.complete().await);
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_02_02_started_consumer_completes);

async fn tp_02_03_started_consumer_suspends_then_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0203").await;
    t.expect_start().await;
    ok(t.suspend().await);
    t.assert_state("SUSPENDED").await;
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_02_03_started_consumer_suspends_then_terminates);

async fn tp_02_04_started_consumer_suspends_restarts_completes(mode: Mode) {
    let t = Transfer::request(mode, "ATP0204").await;
    t.expect_start().await;
    ok(t.suspend().await);
    t.assert_state("SUSPENDED").await;
    ok(t.start().await);
    t.assert_state("STARTED").await;
    ok(t.complete().await);
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_02_04_started_consumer_suspends_restarts_completes);

async fn tp_02_05_requested_consumer_terminates(mode: Mode) {
    let t = Transfer::request(mode, "ATP0205").await;
    t.assert_state("REQUESTED").await;
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_02_05_requested_consumer_terminates);

async fn tp_03_01_completion_while_requested_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0301").await;
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("REQUESTED").await;
}
both_modes!(tp_03_01_completion_while_requested_is_refused);

async fn tp_03_02_suspension_while_requested_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0302").await;
    assert_refused(&t.suspend().await, ERROR);
    t.assert_state("REQUESTED").await;
}
both_modes!(tp_03_02_suspension_while_requested_is_refused);

async fn tp_03_03_completion_while_suspended_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0303").await;
    t.expect_start().await;
    ok(t.suspend().await);
    t.assert_state("SUSPENDED").await;
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("SUSPENDED").await;
}
both_modes!(tp_03_03_completion_while_suspended_is_refused);

async fn tp_03_04_start_after_termination_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0304").await;
    t.expect_start().await;
    ok(t.terminate().await);
    assert_refused(&t.start().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_03_04_start_after_termination_is_refused);

async fn tp_03_05_suspension_after_termination_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0305").await;
    t.expect_start().await;
    ok(t.terminate().await);
    assert_refused(&t.suspend().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_03_05_suspension_after_termination_is_refused);

async fn tp_03_06_completion_after_termination_is_refused(mode: Mode) {
    let t = Transfer::request(mode, "ATP0306").await;
    t.expect_start().await;
    ok(t.terminate().await);
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_03_06_completion_after_termination_is_refused);

async fn a_transfer_under_an_unknown_agreement_is_refused(mode: Mode) {
    let tck = Tck::start(mode).await;
    let body = message(
        "TransferRequestMessage",
        json!({"consumerPid": pid("tck-consumer"), "agreementId": "ATP9999", "format": FORMAT,
            "callbackAddress": tck.callback()}),
    );
    assert_refused(&tck.post(&tck.dsp("/transfers/request"), &body).await, ERROR);
}
both_modes!(a_transfer_under_an_unknown_agreement_is_refused);
