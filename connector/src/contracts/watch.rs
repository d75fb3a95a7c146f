//! Waiting for a negotiation to end without polling: a management caller (an operator's
//! script, the benchmark) parks on the process's pid and is woken by the commit that
//! changes it, instead of asking again and again.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use passerelle_dsp::negotiation::State;

use super::manage::NegotiationView;
use super::records::parse_state;
use super::{ProcessError, Processes};
use crate::store::direct::{Db, row};

/// The longest a caller may wait in one request.
pub const MAX_WAIT: Duration = Duration::from_secs(30);

impl Processes {
    /// Wakes whoever waits on negotiation `pid` (ours): it changed. Called when it ended (FINALIZED or
    /// TERMINATED), the only change a waiter answers on.
    pub(crate) fn changed(&self, pid: &str) {
        let watchers = self.inner.watchers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(notify) = watchers.get(pid) {
            notify.notify_waiters();
        }
    }

    /// Negotiation `pid` once it is FINALIZED or TERMINATED, or as it is after `timeout`
    /// (capped at [`MAX_WAIT`]); the caller looks at the state to tell which.
    pub async fn wait_negotiation(&self, pid: &str, timeout: Duration) -> Result<NegotiationView, ProcessError> {
        let deadline = tokio::time::Instant::now() + timeout.min(MAX_WAIT);
        let notify = {
            let mut watchers = self.inner.watchers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            watchers.entry(pid.to_string()).or_insert_with(|| Arc::new(Notify::new())).clone()
        };
        let result = loop {
            // Registered before reading, so that a commit between the read and the wait is not missed.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            // Only the state until it is worth answering: the whole view (with the outbox and why the process
            // is stalled) is built once, for the answer, not at every step of the negotiation.
            let state = match self.read(|db| negotiation_state(db, pid)).await {
                Ok(state) => state,
                Err(e) => break Err(e),
            };
            if state.is_none_or(State::is_terminal) || tokio::time::Instant::now() >= deadline {
                break self.negotiation(pid).await;
            }
            // A timeout is not an error: the view after it says where the process stands.
            let _ = tokio::time::timeout_at(deadline, notified).await;
        };
        let mut watchers = self.inner.watchers.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Ours and the map's: nobody else waits on this pid.
        if Arc::strong_count(&notify) <= 2 {
            watchers.remove(pid);
        }
        result
    }
}

/// The state of negotiation `pid` (ours, either side); `None` when there is none (the caller then builds the view,
/// which says so).
fn negotiation_state(db: &Db, pid: &str) -> Result<Option<State>, ProcessError> {
    let state = row(db, "SELECT state FROM negotiations WHERE pid = ?", [pid], |r| r.get::<_, String>(0))?;
    state
        .map(|text| {
            parse_state(&text)
                .ok_or_else(|| ProcessError::Store(format!("negotiation `{pid}`: unknown state `{text}`")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use passerelle_dsp::message::negotiation::ContractNegotiationTerminationMessage;
    use passerelle_dsp::negotiation::{NegotiationHost as _, NegotiationMessage, State};
    use passerelle_dsp::process::{CallerIdentity, Role};
    use serde_json::json;

    use super::MAX_WAIT;
    use crate::contracts::{NegotiationStart, OfferChoice, Processes};
    use crate::store::Store;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_is_woken_by_the_change_that_ends_the_negotiation() {
        let host = Processes::new(Store::open_in_memory().await.unwrap(), "did:web:c.example", "http://127.0.0.1:9");
        let offer = json!({"@id": "urn:o:1", "target": "work:a", "permission": [{"action": "use"}]});
        let start = NegotiationStart {
            counter_party_address: "http://127.0.0.1:9/dsp/2025-1".into(),
            offer: OfferChoice::Full(offer),
        };
        // No outbox runs here: the request stays queued and the negotiation REQUESTED.
        let pid = host.start_negotiation(start).await.unwrap().record.pid;
        let view = host.wait_negotiation(&pid, Duration::from_millis(20)).await.unwrap();
        assert_eq!(view.record.state, State::Requested, "a wait that times out shows the current state");

        let t0 = Instant::now();
        let waiter = tokio::spawn({
            let (host, pid) = (host.clone(), pid.clone());
            async move { host.wait_negotiation(&pid, MAX_WAIT).await }
        });
        let termination: NegotiationMessage = ContractNegotiationTerminationMessage::new("urn:p:1", &pid).into();
        host.on_message(Role::Consumer, Some(pid.clone()), termination, CallerIdentity::anonymous()).await.unwrap();
        let view = waiter.await.unwrap().unwrap();
        assert_eq!(view.record.state, State::Terminated);
        assert!(t0.elapsed() < MAX_WAIT / 3, "woken by the change, not by the timeout: {:?}", t0.elapsed());
        assert!(host.inner.watchers.lock().unwrap().is_empty(), "nobody waits any more");
        assert!(host.wait_negotiation("urn:none", MAX_WAIT).await.is_err(), "an unknown pid is not waited for");
    }
}
