//! [`Processes`] as the DSP `NegotiationHost`: received negotiation messages, the
//! default automation, and what the outbox reports back.

use crate::contracts::ProcessRow;
use passerelle_dsp::catalog::SourceError;
use passerelle_dsp::message::negotiation::{
    ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiation,
    ContractNegotiationEventMessage, ContractNegotiationTerminationMessage,
};
use passerelle_dsp::negotiation::{NegotiationHost, NegotiationMessage, State, next};
use passerelle_dsp::process::{CallerIdentity, ProtocolError, Role};
use serde_json::Value;
use std::sync::atomic::Ordering;
use time::OffsetDateTime;

use super::decide::{Decision, Requester, decide};
use super::records::{AgreementRecord, NegotiationRecord};
use super::{ProcessError, Processes, Termination, internal, new_pid, reason_texts, role_str};
use crate::outbox::{Delivered, Due, Outgoing, ProcessKind, enqueue, lock, negotiation_kind};
use crate::store::direct::Db;

/// Termination code when a consumer refuses an agreement that does not match its request.
const AGREEMENT_MISMATCH: &str = "AGREEMENT_MISMATCH";

impl Processes {
    async fn decide_request(&self, offer: &Value, caller: &CallerIdentity) -> Decision {
        // With DCP on, the guard has verified the caller's credentials for this request: role and
        // country are decided on them, never on what the request claims.
        let requester = match crate::identity::guard::current_caller() {
            Some(verified) => Requester::verified(&verified),
            None => Requester { participant_id: caller.participant_id.clone(), ..Requester::default() },
        };
        // The offer is read on the host's connection: through the pool, its four statements and their hand-offs
        // to sqlx's worker cost the provider a tenth of its CPU per negotiation (BENCHMARKS.md).
        let catalog = &self.inner.catalog;
        let dataset = async |id: &str| match self.query(|db| catalog.dataset_on(db, id)).await {
            Ok(found) => found,
            Err(e) => Err(SourceError::Unavailable(e.to_string())),
        };
        decide(dataset, &self.inner.participant_id, offer, &requester, OffsetDateTime::now_utc()).await
    }

    fn create_negotiation(
        &self,
        db: &Db,
        side: Role,
        message: NegotiationMessage,
        caller: Option<&str>,
        decision: Option<Decision>,
    ) -> Result<(ContractNegotiation, Option<Due>), ProtocolError> {
        let sender = side.counterpart();
        let theirs = message.pid_of(sender).map(str::to_string).ok_or_else(|| {
            ProtocolError::BadRequest(format!("a message that starts a negotiation must carry the {sender}'s pid"))
        })?;
        if let Some(existing) = NegotiationRecord::find_by_counterparty(db, side, caller, &theirs).map_err(internal)? {
            let first_offer = existing.offer.as_ref().and_then(|o| o.get("@id")).and_then(Value::as_str);
            return if first_offer == offer_of(&message).and_then(|o| o.get("@id")).and_then(Value::as_str) {
                Ok((existing.ack_in(existing.first_state()), None))
            } else {
                Err(ProtocolError::BadRequest(format!(
                    "{sender} pid `{theirs}` already names negotiation `{}` with another offer: choose a new pid for a new negotiation",
                    existing.pid
                )))
            };
        }
        let state = next(None, message.kind(), sender)?;
        let mut record = NegotiationRecord::new(side, new_pid());
        record.counterparty_pid = Some(theirs);
        record.counterparty_id = caller.map(str::to_string);
        record.counterparty_address = message.callback_address().map(str::to_string);
        record.record_step(message.kind(), sender, state);
        self.absorb(db, &mut record, &message)?;
        let ack = record.ack();
        if let Some(decision) = &decision {
            let draft = super::trail::decision(&record.pid, caller, record.dataset_id.as_deref(), decision);
            super::trail::append(&self.inner.journal.audit, db, vec![draft]).map_err(internal)?;
        }
        let queued = self.automate(db, &mut record, &message, decision)?;
        record.save(db, &self.inner.journal).map_err(internal)?;
        Ok((ack, queued))
    }

    fn update_negotiation(
        &self,
        db: &Db,
        side: Role,
        pid: &str,
        message: NegotiationMessage,
        caller: Option<&str>,
        decision: Option<Decision>,
    ) -> Result<(ContractNegotiation, Option<Due>), ProtocolError> {
        let mut record = NegotiationRecord::load(db, side, pid)
            .map_err(internal)?
            .filter(|r| r.admits(caller))
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })?;
        let changed = record.advance(message.kind(), side.counterpart(), message.pid_of(side.counterpart()))?;
        if !changed {
            return Ok((record.ack(), None));
        }
        self.absorb(db, &mut record, &message)?;
        let ack = record.ack();
        let queued = self.automate(db, &mut record, &message, decision)?;
        record.save(db, &self.inner.journal).map_err(internal)?;
        Ok((ack, queued))
    }

    /// Keeps what a received message carries.
    fn absorb(
        &self,
        db: &Db,
        record: &mut NegotiationRecord,
        message: &NegotiationMessage,
    ) -> Result<(), ProtocolError> {
        match message {
            NegotiationMessage::Request(m) => {
                record.dataset_id = Some(m.offer.target().to_string());
                record.offer = Some(m.offer.as_value().clone());
            }
            NegotiationMessage::Offer(m) => {
                record.dataset_id = Some(m.offer.target().to_string());
                record.offer = Some(m.offer.as_value().clone());
            }
            NegotiationMessage::Agreement(m) => {
                record.agreement_id = Some(m.agreement.id().to_string());
                AgreementRecord::insert(db, &self.inner.journal.audit, record.side, &record.pid, &m.agreement)
                    .map_err(internal)?;
            }
            NegotiationMessage::Termination(m) => {
                record.termination = Some(Termination {
                    by: role_str(record.side.counterpart()).to_string(),
                    code: m.code.clone(),
                    reason: reason_texts(&m.reason),
                });
            }
            NegotiationMessage::Verification(_) | NegotiationMessage::Event(_) => {}
        }
        Ok(())
    }

    /// The default answers: agreement or termination to a request, FINALIZED to a
    /// verification (provider); verification of a matching agreement (consumer).
    fn automate(
        &self,
        db: &Db,
        record: &mut NegotiationRecord,
        message: &NegotiationMessage,
        decision: Option<Decision>,
    ) -> Result<Option<Due>, ProtocolError> {
        let (Some(provider_pid), Some(consumer_pid)) =
            (record.provider_pid().map(str::to_string), record.consumer_pid().map(str::to_string))
        else {
            return Ok(None);
        };
        let reply: Option<NegotiationMessage> = match (record.side, message, decision) {
            (Role::Provider, NegotiationMessage::Request(_), Some(Decision::Agree(agreement))) => {
                AgreementRecord::insert(db, &self.inner.journal.audit, Role::Provider, &record.pid, &agreement)
                    .map_err(internal)?;
                record.agreement_id = Some(agreement.id().to_string());
                Some(ContractAgreementMessage::new(&provider_pid, &consumer_pid, agreement).into())
            }
            (Role::Provider, NegotiationMessage::Request(_), Some(Decision::Refuse { code, reason })) => {
                tracing::info!(pid = %record.pid, %reason, "contract request refused");
                Some(self.termination(record, &provider_pid, &consumer_pid, code, reason))
            }
            (Role::Provider, NegotiationMessage::Verification(_), _) => {
                Some(ContractNegotiationEventMessage::finalized(&provider_pid, &consumer_pid).into())
            }
            (Role::Consumer, NegotiationMessage::Agreement(m), _) => match record.dataset_id.as_deref() {
                Some(asked) if asked != m.agreement.target() => {
                    let reason = format!(
                        "the agreement is about `{}`, but dataset `{asked}` was requested",
                        m.agreement.target()
                    );
                    Some(self.termination(record, &provider_pid, &consumer_pid, AGREEMENT_MISMATCH, reason))
                }
                _ => Some(ContractAgreementVerificationMessage::new(&provider_pid, &consumer_pid).into()),
            },
            _ => None,
        };
        reply.map(|reply| queue_negotiation(db, record, reply).map_err(|e| internal(e.to_string()))).transpose()
    }

    fn termination(
        &self,
        record: &mut NegotiationRecord,
        provider_pid: &str,
        consumer_pid: &str,
        code: &str,
        reason: String,
    ) -> NegotiationMessage {
        record.termination = Some(Termination {
            by: role_str(record.side).to_string(),
            code: Some(code.to_string()),
            reason: vec![reason.clone()],
        });
        ContractNegotiationTerminationMessage::new(provider_pid, consumer_pid)
            .with_code(code)
            .with_reason(reason)
            .into()
    }

    /// Records that outbox entry `outbox_id` of process `pid` was delivered (and the counter-party's pid its
    /// answer taught us). The mark is written by the next change that takes the writer lock, in that change's
    /// transaction (`Processes::on_locked`); only when no change comes within `MARK_DEFER` does the first
    /// delivery waiting write the marks in a transaction of their own. Answered once the mark is committed; after a push, the
    /// transfer then goes on (`after_push`).
    pub(crate) async fn delivered(
        &self,
        outbox_id: i64,
        process: &str,
        pid: &str,
        delivered: Delivered,
    ) -> Result<(), String> {
        let pushed = matches!(delivered, Delivered::Pushed);
        let learned = match delivered {
            Delivered::Negotiation(Some(ack)) => Some((ack.provider_pid, ack.consumer_pid)),
            Delivered::Transfer(Some(ack)) => Some((ack.provider_pid, ack.consumer_pid)),
            Delivered::Pushed | Delivered::Negotiation(None) | Delivered::Transfer(None) => None,
        };
        let (done, written) = tokio::sync::oneshot::channel();
        // Made before the check below, so that a wake-up between the two is not lost.
        let wanted = self.inner.marks_wanted.notified();
        let first = {
            let mut marks = lock(&self.inner.marks);
            marks.push(Mark { outbox_id, process: process.to_string(), pid: pid.to_string(), learned, done });
            marks.len() == 1
        };
        // The first mark waiting gives changes `MARK_DEFER` to take it along (the counter-party's answer to
        // what was just delivered is usually such a change); the others wait for the first, and write theirs
        // themselves only if it was cancelled (the worker stops). When the outbox has entries held up by
        // deliveries waiting so (the next message of this process, say), the marks are written at once.
        let wait = if first { MARK_DEFER } else { MARK_WAIT };
        let mut written = std::pin::pin!(written);
        let taken_along = if self.inner.marks_held_up.load(Ordering::Acquire) {
            None
        } else {
            tokio::select! {
                outcome = &mut written => Some(outcome),
                () = tokio::time::sleep(wait) => None,
                () = wanted => None,
            }
        };
        let outcome = match taken_along {
            Some(outcome) => outcome,
            None => {
                self.write_marks().await;
                written.await
            }
        };
        outcome.unwrap_or_else(|_| Err("the delivery mark was not written".to_string()))?;
        if pushed {
            return self.after_push(pid).await.map_err(|e| e.to_string());
        }
        Ok(())
    }

    /// The outbox worker says whether entries wait behind deliveries; when they start to, the deliveries
    /// waiting for their marks write them.
    pub(crate) fn marks_held_up(&self, held_up: bool) {
        if !self.inner.marks_held_up.swap(held_up, Ordering::AcqRel) && held_up {
            self.inner.marks_wanted.notify_waiters();
        }
    }

    /// The outbox gave up on an entry: the process shows the error; a failed push ends the transfer.
    pub(crate) async fn undeliverable(&self, process: &str, pid: &str, kind: &str, error: &str) -> Result<(), String> {
        let text = format!("{kind} could not be delivered: {error}");
        let query = if process == "negotiation" {
            "UPDATE negotiations SET last_error = ?, updated_at = ? WHERE pid = ?"
        } else {
            "UPDATE transfers SET last_error = ?, updated_at = ? WHERE pid = ?"
        };
        self.write(|db| Ok(db.prepare_cached(query)?.execute((&text, super::now_text(), pid)).map(|_| ())?))
            .await
            .map_err(|e| e.to_string())?;
        if kind == crate::outbox::PUSH_KIND {
            self.push_failed(pid, &text).await.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

/// Marks a change applied, with what became of each ([`apply_marks`]).
pub(crate) type Applied = (Vec<Mark>, Vec<Result<(), String>>);

/// A delivery waiting for its mark ([`Processes::delivered`]).
pub(crate) struct Mark {
    outbox_id: i64,
    process: String,
    pid: String,
    /// The (provider, consumer) pids of the counter-party's answer.
    learned: Option<(String, String)>,
    done: tokio::sync::oneshot::Sender<Result<(), String>>,
}

impl Mark {
    /// Tells the delivery waiting whether its mark was committed.
    pub(crate) fn answer(self, result: Result<(), String>) {
        let _ = self.done.send(result);
    }
}

/// Writes `marks` in the caller's transaction; what became of each, in order. A mark that fails leaves the
/// transaction to the change it rides with (SQLite undoes only the failed statement).
pub(crate) fn apply_marks(db: &Db, marks: &[Mark]) -> Vec<Result<(), String>> {
    marks
        .iter()
        .map(|mark| {
            crate::outbox::mark_sent(db, mark.outbox_id)?;
            if let Some((provider_pid, consumer_pid)) = &mark.learned {
                let query = if mark.process == "negotiation" {
                    "UPDATE negotiations SET counterparty_pid = CASE side WHEN 'provider' THEN ? ELSE ? END
                     WHERE pid = ? AND counterparty_pid IS NULL"
                } else {
                    "UPDATE transfers SET counterparty_pid = CASE side WHEN 'provider' THEN ? ELSE ? END
                     WHERE pid = ? AND counterparty_pid IS NULL"
                };
                db.prepare_cached(query)?.execute((consumer_pid, provider_pid, &mark.pid))?;
            }
            Ok(())
        })
        .map(|applied: Result<(), rusqlite::Error>| applied.map_err(|e| e.to_string()))
        .collect()
}

/// Answers each of `marks` with its result from [`apply_marks`], once their transaction has committed.
pub(crate) fn answer_marks(marks: Vec<Mark>, results: Vec<Result<(), String>>) {
    for (mark, result) in marks.into_iter().zip(results) {
        mark.answer(result);
    }
}

/// How long the first delivery waiting lets changes take the marks along before writing them itself.
const MARK_DEFER: std::time::Duration = std::time::Duration::from_millis(20);
/// How long a later delivery waits for the first to write its mark before writing it itself.
const MARK_WAIT: std::time::Duration = std::time::Duration::from_secs(1);

fn offer_of(message: &NegotiationMessage) -> Option<&Value> {
    match message {
        NegotiationMessage::Request(m) => Some(m.offer.as_value()),
        NegotiationMessage::Offer(m) => Some(m.offer.as_value()),
        _ => None,
    }
}

/// Applies a message this side sends and queues it, in the caller's transaction; the entry goes to
/// the outbox once that transaction has committed ([`Processes::transact_sending`]).
pub(crate) fn queue_negotiation(
    db: &Db,
    record: &mut NegotiationRecord,
    message: NegotiationMessage,
) -> Result<Due, ProcessError> {
    let side = record.side;
    let before = if record.history.is_empty() { None } else { Some(record.state) };
    let state = next(before, message.kind(), side).map_err(|e| ProcessError::Conflict(e.to_string()))?;
    let address = record.counterparty_address.clone().ok_or_else(|| {
        ProcessError::Conflict(format!("negotiation `{}` has no address of the {}", record.pid, side.counterpart()))
    })?;
    let body = message.to_json().map_err(|e| ProcessError::Invalid(e.to_string()))?;
    let audience = record
        .counterparty_id
        .clone()
        .or_else(|| record.offer.as_ref().and_then(|o| o.get("assigner")).and_then(Value::as_str).map(str::to_string))
        .filter(|_| side == Role::Consumer || record.counterparty_id.is_some());
    record.record_step(message.kind(), side, state);
    Ok(enqueue(
        db,
        Outgoing {
            process: ProcessKind::Negotiation,
            pid: &record.pid,
            kind: negotiation_kind(&message),
            recipient: side.counterpart(),
            address: &address,
            participant_id: audience.as_deref(),
            body: &body,
        },
    )?)
}

impl NegotiationHost for Processes {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: NegotiationMessage,
        caller: CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        // Decided before taking the write lock: it reads the catalog.
        let decision = match (side, &message) {
            (Role::Provider, NegotiationMessage::Request(m)) => {
                Some(self.decide_request(m.offer.as_value(), &caller).await)
            }
            _ => None,
        };
        let caller_id = caller.participant_id.as_deref();
        let ack = self
            .transact_sending(|db| match pid {
                None => self.create_negotiation(db, side, message, caller_id, decision),
                Some(pid) => self.update_negotiation(db, side, &pid, message, caller_id, decision),
            })
            .await
            .map_err(|e| ProtocolError::Unavailable(e.to_string()))??;
        // Waiters answer only at the end (`Processes::wait_negotiation`): waking them at every step would have
        // them read the state again for nothing.
        if ack.state.is_terminal() {
            self.changed(if side == Role::Provider { &ack.provider_pid } else { &ack.consumer_pid });
        }
        Ok(ack)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<ContractNegotiation, ProtocolError> {
        self.query(|db| NegotiationRecord::load(db, side, pid))
            .await
            .map_err(|e| ProtocolError::Unavailable(e.to_string()))?
            .map_err(internal)?
            .filter(|r| r.admits(caller.participant_id.as_deref()))
            .map(|r| r.ack())
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })
    }
}

/// States in which a consumer waits for the provider, and what it waits for.
pub(crate) fn waiting_for(record: &NegotiationRecord) -> Option<String> {
    let since = &record.updated_at;
    let what = match (record.side, record.state) {
        (Role::Consumer, State::Requested) => "the provider's agreement or offer",
        (Role::Consumer, State::Accepted) => "the provider's agreement",
        (Role::Consumer, State::Verified) => "the provider's FINALIZED event",
        (Role::Provider, State::Offered) => "the consumer's request or acceptance",
        (Role::Provider, State::Agreed) => "the consumer's verification",
        (Role::Consumer, State::Offered) => "a decision on the provider's offer (accept or counter-request)",
        _ => return None,
    };
    Some(format!("waiting for {what} since {since}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_states_say_for_what() {
        let mut record = NegotiationRecord::new(Role::Consumer, "urn:c:1".into());
        record.updated_at = "2030-01-01T00:00:00Z".into();
        assert_eq!(
            waiting_for(&record).as_deref(),
            Some("waiting for the provider's agreement or offer since 2030-01-01T00:00:00Z")
        );
        record.state = State::Finalized;
        assert_eq!(waiting_for(&record), None);
        assert_eq!(role_str(Role::Provider), "provider");
    }
}

#[cfg(test)]
mod host_tests {
    use passerelle_dsp::message::negotiation::ContractRequestMessage;
    use passerelle_dsp::message::policy::MessageOffer;
    use serde_json::json;

    use super::*;
    use crate::store::Store;

    async fn host() -> Processes {
        Processes::new(Store::open_in_memory().await.unwrap(), "did:web:p.example", "http://127.0.0.1:9")
    }

    fn request(consumer_pid: &str, offer_id: &str) -> NegotiationMessage {
        let offer =
            MessageOffer::new(json!({"@id": offer_id, "target": "work:none", "permission": [{"action": "use"}]}))
                .unwrap();
        ContractRequestMessage::initial(consumer_pid, offer, "http://127.0.0.1:9/dsp/2025-1/callback").into()
    }

    #[tokio::test]
    async fn requests_are_persisted_answered_idempotently_and_refused_with_a_reason() {
        let host = host().await;
        let caller = CallerIdentity::participant("did:web:c.example");
        let ack = host.on_message(Role::Provider, None, request("urn:c:1", "urn:o:1"), caller.clone()).await.unwrap();
        assert_eq!((ack.consumer_pid.as_str(), ack.state), ("urn:c:1", State::Requested));
        let again = host.on_message(Role::Provider, None, request("urn:c:1", "urn:o:1"), caller.clone()).await.unwrap();
        assert_eq!(again, ack, "a repeated request gets the same answer");
        assert!(host.on_message(Role::Provider, None, request("urn:c:1", "urn:o:2"), caller.clone()).await.is_err());
        assert_eq!(host.negotiations().await.unwrap().len(), 1, "no duplicate");

        // The dataset is not in our catalog: terminated, with a reason, through the outbox.
        let view = host.negotiation(&ack.provider_pid).await.unwrap();
        assert_eq!(view.record.state, State::Terminated);
        let termination = view.record.termination.unwrap();
        assert_eq!(termination.code.as_deref(), Some(crate::contracts::decide::UNKNOWN_OFFER), "{termination:?}");
        assert!(termination.reason[0].contains("work:none"), "{:?}", termination.reason);
        assert_eq!(view.outbox.len(), 1);
        assert_eq!(view.outbox[0].kind, "ContractNegotiationTerminationMessage");

        // Terminal: nothing more is accepted, and the state stays.
        let verification: NegotiationMessage =
            ContractAgreementVerificationMessage::new(&ack.provider_pid, "urn:c:1").into();
        let refused =
            host.on_message(Role::Provider, Some(ack.provider_pid.clone()), verification.clone(), caller).await;
        assert!(matches!(refused, Err(ProtocolError::IllegalTransition(_))), "{refused:?}");
        // Another participant cannot even see it.
        let stranger = CallerIdentity::participant("did:web:x.example");
        let hidden = host.on_message(Role::Provider, Some(ack.provider_pid.clone()), verification, stranger).await;
        assert!(matches!(hidden, Err(ProtocolError::NotFound { .. })));
        assert_eq!(host.negotiation(&ack.provider_pid).await.unwrap().record.state, State::Terminated);
    }

    #[tokio::test]
    async fn agreements_cannot_be_changed_or_deleted() {
        let host = host().await;
        let agreement = passerelle_dsp::message::policy::Agreement::new(json!({"@id": "urn:a:1", "@type": "Agreement",
            "target": "work:a", "assigner": "did:web:p", "assignee": "did:web:c", "timestamp": "2026-01-01T00:00:00Z",
            "permission": [{"action": "use"}]}))
        .unwrap();
        let audit = host.audit().clone();
        host.write(|db| {
            AgreementRecord::insert(db, &audit, Role::Provider, "urn:n:1", &agreement)?;
            AgreementRecord::insert(db, &audit, Role::Provider, "urn:n:1", &agreement)
        })
        .await
        .unwrap();
        let mut conn = host.pool().acquire().await.unwrap();
        let update = sqlx::query("UPDATE agreements SET assignee = 'did:web:mallory'").execute(&mut *conn).await;
        assert!(update.unwrap_err().to_string().contains("immutable"));
        assert!(sqlx::query("DELETE FROM agreements").execute(&mut *conn).await.is_err());
        drop(conn);
        assert_eq!(host.agreement("urn:a:1").await.unwrap().assignee, "did:web:c");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn deliveries_ending_together_are_all_marked_with_what_their_answers_taught() {
        let host = host().await;
        let mut pids = Vec::new();
        for n in 0..12 {
            pids.push(queued_request(&host, n).await);
        }
        let marks: Vec<_> = pids
            .iter()
            .map(|(pid, id)| {
                let (host, pid, id) = (host.clone(), pid.clone(), *id);
                tokio::spawn(async move {
                    let ack = passerelle_dsp::message::negotiation::ContractNegotiation::new(
                        format!("urn:p:{id}"),
                        &pid,
                        State::Requested,
                    );
                    host.delivered(id, "negotiation", &pid, Delivered::Negotiation(Some(ack))).await
                })
            })
            .collect();
        for written in marks {
            written.await.unwrap().unwrap();
        }
        assert!(host.inner.marks.lock().unwrap().is_empty(), "no mark left waiting");
        for (pid, id) in &pids {
            let view = host.negotiation(pid).await.unwrap();
            assert_eq!(view.outbox[0].status, "sent", "{pid}");
            assert_eq!(view.record.counterparty_pid.as_deref(), Some(format!("urn:p:{id}").as_str()), "{pid}");
        }
    }
    /// Starts negotiation `n`, whose request stays queued (no outbox runs here): its pid and outbox entry.
    async fn queued_request(host: &Processes, n: usize) -> (String, i64) {
        use crate::contracts::{NegotiationStart, OfferChoice};
        let offer = json!({"@id": format!("urn:o:{n}"), "target": "work:a", "permission": [{"action": "use"}]});
        let start = NegotiationStart {
            counter_party_address: "http://127.0.0.1:9/dsp/2025-1".into(),
            offer: OfferChoice::Full(offer),
        };
        let view = host.start_negotiation(start).await.unwrap();
        (view.record.pid.clone(), view.outbox[0].id)
    }

    /// Queues a request and a mark for its delivery without writing the mark, as a delivery ending while
    /// another change holds the writer lock would.
    async fn request_with_waiting_mark(
        host: &Processes,
        n: usize,
    ) -> (String, i64, tokio::sync::oneshot::Receiver<Result<(), String>>) {
        let (pid, id) = queued_request(host, n).await;
        let (done, written) = tokio::sync::oneshot::channel();
        let learned = Some((format!("urn:p:{n}"), pid.clone()));
        let mark = Mark { outbox_id: id, process: "negotiation".into(), pid: pid.clone(), learned, done };
        host.inner.marks.lock().unwrap().push(mark);
        (pid, id, written)
    }

    /// The outbox's signal that entries wait behind deliveries makes a delivery waiting for its mark write it at
    /// once instead of giving changes `MARK_DEFER` to take it along. While the delivery waits, the clock is
    /// paused and this task never lets the runtime idle, so no timer can fire: only the signal can end the wait.
    #[tokio::test]
    async fn a_delivery_waiting_for_its_mark_writes_it_at_once_when_entries_are_held_up() {
        let host = host().await;
        let (pid, id) = queued_request(&host, 1).await;
        tokio::time::pause();
        let delivering = tokio::spawn({
            let (host, pid) = (host.clone(), pid.clone());
            async move { host.delivered(id, "negotiation", &pid, Delivered::Negotiation(None)).await }
        });

        let began = tokio::time::Instant::now();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while host.inner.marks.lock().unwrap().is_empty() {
            assert!(std::time::Instant::now() < deadline, "the delivery never queued its mark");
            tokio::task::yield_now().await;
        }
        // The delivery now waits (single-threaded runtime: it ran up to its wait before we saw its mark).
        host.marks_held_up(true);
        while !delivering.is_finished() {
            assert!(std::time::Instant::now() < deadline, "the signal did not end the delivery's wait");
            tokio::task::yield_now().await;
        }
        assert_eq!(tokio::time::Instant::now(), began, "no timer fired");
        tokio::time::resume();
        delivering.await.unwrap().unwrap();
        assert_eq!(host.negotiation(&pid).await.unwrap().outbox[0].status, "sent");
        assert!(host.inner.marks.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_waiting_mark_rides_with_the_next_change_and_is_kept_when_that_change_fails() {
        let host = host().await;
        let (pid, _, mut written) = request_with_waiting_mark(&host, 1).await;

        // A change that fails is rolled back: the mark is not answered and waits for the next change.
        let failed: Result<(), ProcessError> = host.write(|_| Err(ProcessError::Invalid("refused".into()))).await;
        assert!(failed.is_err());
        assert!(written.try_recv().is_err(), "not answered by a change that was rolled back");
        assert_eq!(host.negotiation(&pid).await.unwrap().outbox[0].status, "pending");
        assert_eq!(host.inner.marks.lock().unwrap().len(), 1, "the mark waits again");

        // The next change, about anything, writes it in its own transaction.
        let (other, _, mut other_written) = request_with_waiting_mark(&host, 2).await;
        assert_eq!(host.inner.marks.lock().unwrap().len(), 1, "the start of `other` took the first mark along");
        assert_eq!(written.try_recv(), Ok(Ok(())));
        let view = host.negotiation(&pid).await.unwrap();
        assert_eq!(view.outbox[0].status, "sent");
        assert_eq!(view.record.counterparty_pid.as_deref(), Some("urn:p:1"));

        // With no change coming, the waiting delivery writes it itself; a read does not.
        host.negotiation(&other).await.unwrap();
        assert!(other_written.try_recv().is_err(), "a read writes no mark");
        host.write_marks().await;
        assert_eq!(other_written.try_recv(), Ok(Ok(())));
        assert_eq!(host.negotiation(&other).await.unwrap().outbox[0].status, "sent");
        assert!(host.inner.marks.lock().unwrap().is_empty());
    }
}
