//! TP_C:01-01 … TP_C:03-06 (the TCK's `TransferProcessConsumer0{1,2,3}Test`): the
//! connector is the consumer, started through the TCK's trigger route; the test plays the
//! TCK's provider. TP_C:02-04 is `@Disabled` in the TCK itself; it is ported anyway.

use serde_json::{Value, json};

use super::{Mode, Received, Tck, assert_refused, message, provider_pid_for};

const ERROR: &str = "TransferError";
const FORMAT: &str = "HttpData-PULL";

/// A transfer the connector (consumer) requested from the TCK (provider).
struct Transfer {
    tck: Tck,
    agreement: &'static str,
    consumer_pid: String,
    provider_pid: String,
    callback: String,
}

impl Transfer {
    /// TCK->>CUT: signal to start; CUT->>TCK: TransferRequestMessage; TCK-->>CUT: TransferProcess.
    async fn initiate(mode: Mode, agreement: &'static str) -> Transfer {
        let tck = Tck::start(mode).await;
        let trigger = json!({"providerId": tck.id(), "agreementId": agreement, "format": FORMAT,
            "connectorAddress": tck.provider_address()});
        let url = format!("{}/tck/transfers/requests", tck.cut.protocol);
        let (status, started) = tck.post_raw(&url, &trigger, Some(&tck.authorization())).await;
        assert_eq!(status, 200, "{started}");
        let request = tck.expect("TransferRequestMessage", "/provider/transfers/request").await;
        let consumer_pid = request.str("consumerPid");
        assert_eq!(started["consumerPid"], consumer_pid);
        assert_eq!((request.str("agreementId"), request.str("format")), (agreement.to_string(), FORMAT.to_string()));
        let callback = tck.cut.local(&request.str("callbackAddress"));
        Transfer { provider_pid: provider_pid_for(&consumer_pid), tck, agreement, consumer_pid, callback }
    }

    async fn send(&self, route: &str, type_name: &str, more: Value) -> (u16, Value) {
        let mut members = json!({"providerPid": self.provider_pid, "consumerPid": self.consumer_pid});
        if let (Some(m), Some(more)) = (members.as_object_mut(), more.as_object()) {
            m.extend(more.clone());
        }
        let url = format!("{}/transfers/{}/{route}", self.callback, self.consumer_pid);
        self.tck.post(&url, &message(type_name, members)).await
    }

    /// The TCK's `dataAddress()`: an HTTP endpoint with an authorization property.
    async fn start(&self) -> (u16, Value) {
        let address = json!({"@type": "DataAddress", "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": "http://example.com", "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": "TOKEN-ABCDEFG"},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"}]});
        self.send("start", "TransferStartMessage", json!({"dataAddress": address})).await
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
        let path = format!("/provider/transfers/{}/{route}", self.provider_pid);
        let received = self.tck.expect(type_name, &path).await;
        assert_eq!(received.str("providerPid"), self.provider_pid);
        assert_eq!(received.str("consumerPid"), self.consumer_pid);
        received
    }

    async fn assert_state(&self, state: &str) {
        let url = format!("{}/transfers/{}", self.callback, self.consumer_pid);
        assert_eq!(self.tck.state_at(&url).await, state, "consumer state under {}", self.agreement);
    }
}

fn ok((status, body): (u16, Value)) {
    assert_eq!(status, 200, "{body}");
}

async fn tp_c_01_01_started_provider_terminates(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0101").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.assert_state("STARTED").await;
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_01_01_started_provider_terminates);

async fn tp_c_01_02_started_provider_completes(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0102").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.assert_state("STARTED").await;
    ok(t.complete().await);
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_c_01_02_started_provider_completes);

async fn tp_c_01_03_started_suspended_provider_terminates(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0103").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.suspend().await);
    t.assert_state("SUSPENDED").await;
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_01_03_started_suspended_provider_terminates);

async fn tp_c_01_04_started_suspended_restarted_completed(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0104").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.suspend().await);
    t.assert_state("SUSPENDED").await;
    ok(t.start().await);
    t.assert_state("STARTED").await;
    ok(t.complete().await);
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_c_01_04_started_suspended_restarted_completed);

async fn tp_c_01_05_provider_terminates(mode: Mode) {
    // The TCK's sample properties reuse ATPC0104 for TP_C:01-05.
    let t = Transfer::initiate(mode, "ATPC0104").await;
    t.assert_state("REQUESTED").await;
    ok(t.terminate().await);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_01_05_provider_terminates);

async fn tp_c_02_01_started_consumer_terminates(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0201").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.expect("TransferTerminationMessage", "termination").await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_02_01_started_consumer_terminates);

async fn tp_c_02_02_started_consumer_completes(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0202").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.expect("TransferCompletionMessage", "completion").await;
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_c_02_02_started_consumer_completes);

async fn tp_c_02_03_started_consumer_suspends_then_terminates(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0203").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.expect("TransferSuspensionMessage", "suspension").await;
    t.expect("TransferTerminationMessage", "termination").await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_02_03_started_consumer_suspends_then_terminates);

async fn tp_c_02_04_started_consumer_suspends_restarts_completes(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0204").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    t.expect("TransferSuspensionMessage", "suspension").await;
    t.expect("TransferStartMessage", "start").await;
    t.expect("TransferCompletionMessage", "completion").await;
    t.assert_state("COMPLETED").await;
}
both_modes!(tp_c_02_04_started_consumer_suspends_restarts_completes);

async fn tp_c_02_05_requested_consumer_terminates(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0205").await;
    t.expect("TransferTerminationMessage", "termination").await;
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_02_05_requested_consumer_terminates);

async fn tp_c_03_01_completion_while_requested_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0301").await;
    t.assert_state("REQUESTED").await;
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("REQUESTED").await;
}
both_modes!(tp_c_03_01_completion_while_requested_is_refused);

async fn tp_c_03_02_suspension_while_requested_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0302").await;
    t.assert_state("REQUESTED").await;
    assert_refused(&t.suspend().await, ERROR);
    t.assert_state("REQUESTED").await;
}
both_modes!(tp_c_03_02_suspension_while_requested_is_refused);

async fn tp_c_03_03_completion_while_suspended_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0303").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.suspend().await);
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("SUSPENDED").await;
}
both_modes!(tp_c_03_03_completion_while_suspended_is_refused);

async fn tp_c_03_04_start_after_termination_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0304").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.terminate().await);
    assert_refused(&t.start().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_03_04_start_after_termination_is_refused);

async fn tp_c_03_05_suspension_after_termination_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0305").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.terminate().await);
    assert_refused(&t.suspend().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_03_05_suspension_after_termination_is_refused);

async fn tp_c_03_06_completion_after_termination_is_refused(mode: Mode) {
    let t = Transfer::initiate(mode, "ATPC0306").await;
    t.assert_state("REQUESTED").await;
    ok(t.start().await);
    ok(t.terminate().await);
    assert_refused(&t.complete().await, ERROR);
    t.assert_state("TERMINATED").await;
}
both_modes!(tp_c_03_06_completion_after_termination_is_refused);
