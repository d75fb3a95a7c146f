//! Negotiations in the [`MemoryHost`].

use serde_json::Value;

use super::{Books, Counterparty, KnownAgreement, MemoryHost, Step, new_pid};
use crate::message::negotiation::ContractNegotiation;
use crate::negotiation::{MessageKind, NegotiationHost, NegotiationMessage, State, is_replay, next};
use crate::process::{CallerIdentity, ProtocolError, Role};

/// One negotiation as this side sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct NegotiationRecord {
    /// The role this side plays.
    pub side: Role,
    /// This side's pid.
    pub pid: String,
    /// The counter-party's pid, once known.
    pub counterparty_pid: Option<String>,
    pub state: State,
    pub counterparty: Counterparty,
    /// Every offer exchanged, oldest first (the consumer's requests included).
    pub offers: Vec<Value>,
    pub agreement: Option<Value>,
    pub history: Vec<Step<MessageKind, State>>,
}

impl NegotiationRecord {
    pub fn provider_pid(&self) -> Option<&str> {
        self.pid_of(Role::Provider)
    }

    pub fn consumer_pid(&self) -> Option<&str> {
        self.pid_of(Role::Consumer)
    }

    fn pid_of(&self, role: Role) -> Option<&str> {
        if role == self.side { Some(&self.pid) } else { self.counterparty_pid.as_deref() }
    }

    /// The ACK describing this negotiation (an unknown counter-party pid is written empty).
    pub fn ack(&self) -> ContractNegotiation {
        ContractNegotiation::new(
            self.provider_pid().unwrap_or_default(),
            self.consumer_pid().unwrap_or_default(),
            self.state,
        )
    }

    /// The counter-party pid `message` names, if it is consistent with the record.
    fn counterparty_pid_in<'m>(&self, message: &'m NegotiationMessage) -> Result<Option<&'m str>, ProtocolError> {
        let theirs = self.side.counterpart();
        match (message.pid_of(theirs), &self.counterparty_pid) {
            (Some(given), Some(known)) if given != known => Err(ProtocolError::BadRequest(format!(
                "negotiation `{}` belongs to {theirs} process `{known}`, but the message names `{given}`",
                self.pid
            ))),
            (given, _) => Ok(given),
        }
    }

    /// Applies `message` from `sender`: transition, or same state for a replay,
    /// or refusal with the record untouched. A counter-party pid seen for the
    /// first time is learned.
    fn advance(&mut self, message: &NegotiationMessage, sender: Role) -> Result<(), ProtocolError> {
        let learned = self.counterparty_pid_in(message)?.map(str::to_string);
        let kind = message.kind();
        match next(Some(self.state), kind, sender) {
            Ok(state) => {
                absorb(self, message);
                self.state = state;
                self.history.push(Step { message: kind, sender, state });
            }
            Err(_) if is_replay(self.state, kind, sender) => {}
            Err(illegal) => return Err(illegal.into()),
        }
        if self.counterparty_pid.is_none() {
            self.counterparty_pid = learned;
        }
        Ok(())
    }
}

/// Keeps the policies a message carries.
fn absorb(record: &mut NegotiationRecord, message: &NegotiationMessage) {
    match message {
        NegotiationMessage::Request(m) => record.offers.push(m.offer.as_value().clone()),
        NegotiationMessage::Offer(m) => record.offers.push(m.offer.as_value().clone()),
        NegotiationMessage::Agreement(m) => record.agreement = Some(m.agreement.as_value().clone()),
        _ => {}
    }
}

/// Once FINALIZED on the provider side, the agreement can be transferred under.
fn register_agreement(books: &mut Books, side: Role, pid: &str) {
    let Some(record) = books.negotiations.get(&(side, pid.to_string())) else { return };
    if record.side != Role::Provider || record.state != State::Finalized {
        return;
    }
    let Some(id) = record.agreement.as_ref().and_then(|a| a.get("@id")).and_then(Value::as_str) else { return };
    let agreement = KnownAgreement { consumer: record.counterparty.participant_id.clone() };
    books.agreements.insert(id.to_string(), agreement);
}

fn created_record(
    side: Role,
    pid: String,
    counterparty_pid: Option<String>,
    message: &NegotiationMessage,
    sender: Role,
    state: State,
    counterparty: Counterparty,
) -> NegotiationRecord {
    let mut record = NegotiationRecord {
        side,
        pid,
        counterparty_pid,
        state,
        counterparty,
        offers: Vec::new(),
        agreement: None,
        history: vec![Step { message: message.kind(), sender, state }],
    };
    absorb(&mut record, message);
    record
}

impl Books {
    fn receive_negotiation(
        &mut self,
        side: Role,
        pid: Option<String>,
        message: NegotiationMessage,
        caller: &CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        let sender = side.counterpart();
        let Some(pid) = pid else { return self.create_received_negotiation(side, message, caller) };
        let record = self
            .negotiations
            .get_mut(&(side, pid.clone()))
            .filter(|r| r.counterparty.admits(caller))
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.clone() })?;
        record.advance(&message, sender)?;
        let ack = record.ack();
        register_agreement(self, side, &pid);
        Ok(ack)
    }

    fn create_received_negotiation(
        &mut self,
        side: Role,
        message: NegotiationMessage,
        caller: &CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        let sender = side.counterpart();
        let theirs = message.pid_of(sender).map(str::to_string).ok_or_else(|| {
            ProtocolError::BadRequest(format!("a message that starts a negotiation must carry the {sender}'s pid"))
        })?;
        let repeated = self.negotiations.values().find(|r| {
            r.side == side
                && r.counterparty_pid.as_deref() == Some(theirs.as_str())
                && r.counterparty.participant_id == caller.participant_id
        });
        if let Some(existing) = repeated {
            let offer = match &message {
                NegotiationMessage::Request(m) => Some(m.offer.as_value()),
                NegotiationMessage::Offer(m) => Some(m.offer.as_value()),
                _ => None,
            };
            return if existing.offers.first() == offer {
                Ok(existing.ack())
            } else {
                Err(ProtocolError::BadRequest(format!(
                    "{sender} pid `{theirs}` already names negotiation `{}` with another offer: choose a new pid for a new negotiation",
                    existing.pid
                )))
            };
        }
        let state = next(None, message.kind(), sender)?;
        let counterparty =
            Counterparty::new(caller.participant_id.clone(), message.callback_address().map(str::to_string));
        let pid = new_pid();
        let record = created_record(side, pid.clone(), Some(theirs), &message, sender, state, counterparty);
        let ack = record.ack();
        self.negotiations.insert((side, pid), record);
        Ok(ack)
    }

    fn sent_negotiation(
        &mut self,
        side: Role,
        message: &NegotiationMessage,
        counterparty: Counterparty,
    ) -> Result<State, ProtocolError> {
        let ours = message.pid_of(side).map(str::to_string).ok_or_else(|| {
            ProtocolError::BadRequest(format!("the message does not carry this side's pid (the {side}'s)"))
        })?;
        let key = (side, ours.clone());
        if let Some(record) = self.negotiations.get_mut(&key) {
            record.advance(message, side)?;
            let state = record.state;
            register_agreement(self, side, &ours);
            return Ok(state);
        }
        let state = next(None, message.kind(), side)?;
        let theirs = message.pid_of(side.counterpart()).map(str::to_string);
        let record = created_record(side, ours, theirs, message, side, state, counterparty);
        self.negotiations.insert(key, record);
        Ok(state)
    }
}

impl MemoryHost {
    /// The negotiation whose pid on this `side` is `pid`.
    pub fn negotiation(&self, side: Role, pid: &str) -> Option<NegotiationRecord> {
        self.lock().negotiations.get(&(side, pid.to_string())).cloned()
    }

    /// Every negotiation, both sides.
    pub fn negotiations(&self) -> Vec<NegotiationRecord> {
        self.lock().negotiations.values().cloned().collect()
    }

    /// Applies a message this `side` sent (see the module docs for when to call
    /// it); a creating message creates the record. Returns the new state.
    pub fn negotiation_sent(
        &self,
        side: Role,
        message: &NegotiationMessage,
        counterparty: Counterparty,
    ) -> Result<State, ProtocolError> {
        self.lock().sent_negotiation(side, message, counterparty)
    }

    /// Records the counter-party's pid from its ACK to a message this `side` sent.
    pub fn negotiation_acknowledged(&self, side: Role, ack: &ContractNegotiation) -> Result<(), ProtocolError> {
        let (ours, theirs) = match side {
            Role::Provider => (&ack.provider_pid, &ack.consumer_pid),
            Role::Consumer => (&ack.consumer_pid, &ack.provider_pid),
        };
        let mut books = self.lock();
        let record = books
            .negotiations
            .get_mut(&(side, ours.clone()))
            .ok_or_else(|| ProtocolError::NotFound { pid: ours.clone() })?;
        match &record.counterparty_pid {
            Some(known) if known != theirs => Err(ProtocolError::BadRequest(format!(
                "the ACK names {} pid `{theirs}` but negotiation `{ours}` already belongs to `{known}`",
                side.counterpart()
            ))),
            _ => {
                record.counterparty_pid = Some(theirs.clone());
                Ok(())
            }
        }
    }
}

impl NegotiationHost for MemoryHost {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: NegotiationMessage,
        caller: CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        self.lock().receive_negotiation(side, pid, message, &caller)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<ContractNegotiation, ProtocolError> {
        self.lock()
            .negotiations
            .get(&(side, pid.to_string()))
            .filter(|r| r.counterparty.admits(&caller))
            .map(NegotiationRecord::ack)
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::negotiation::{
        ContractAgreementMessage, ContractAgreementVerificationMessage, ContractNegotiationEventMessage,
        ContractNegotiationTerminationMessage, ContractOfferMessage, ContractRequestMessage,
    };
    use crate::message::policy::{Agreement, MessageOffer};
    use serde_json::json;

    fn offer(id: &str) -> MessageOffer {
        MessageOffer::new(json!({"@id": id, "@type": "Offer", "target": "urn:d:1", "permission": [{"action": "use"}]}))
            .unwrap()
    }

    fn agreement() -> Agreement {
        Agreement::new(json!({"@id": "urn:uuid:agreement-1", "@type": "Agreement", "target": "urn:d:1",
            "assigner": "did:web:p", "assignee": "did:web:c", "timestamp": "2025-01-01T00:00:00Z",
            "permission": [{"action": "use"}]}))
        .unwrap()
    }

    fn request(consumer_pid: &str) -> NegotiationMessage {
        ContractRequestMessage::initial(consumer_pid, offer("urn:o:1"), "https://c.example/cb").into()
    }

    async fn receive(
        host: &MemoryHost,
        pid: Option<&str>,
        message: impl Into<NegotiationMessage>,
        caller: &CallerIdentity,
    ) -> Result<ContractNegotiation, ProtocolError> {
        host.on_message(Role::Provider, pid.map(String::from), message.into(), caller.clone()).await
    }

    #[tokio::test]
    async fn provider_runs_a_negotiation_to_finalized_and_learns_the_agreement() {
        let host = MemoryHost::new();
        let caller = CallerIdentity::participant("did:web:c");
        let ack = receive(&host, None, request("urn:c:1"), &caller).await.unwrap();
        assert_eq!((ack.consumer_pid.as_str(), ack.state), ("urn:c:1", State::Requested));
        let p = ack.provider_pid.clone();
        assert!(p.starts_with("urn:uuid:"));

        let agreement = ContractAgreementMessage::new(&p, "urn:c:1", agreement());
        assert_eq!(
            host.negotiation_sent(Role::Provider, &agreement.into(), Counterparty::default()),
            Ok(State::Agreed)
        );
        let verification = ContractAgreementVerificationMessage::new(&p, "urn:c:1");
        assert_eq!(receive(&host, Some(&p), verification, &caller).await.unwrap().state, State::Verified);
        let finalized = ContractNegotiationEventMessage::finalized(&p, "urn:c:1");
        assert_eq!(
            host.negotiation_sent(Role::Provider, &finalized.into(), Counterparty::default()),
            Ok(State::Finalized)
        );

        let record = host.negotiation(Role::Provider, &p).unwrap();
        assert_eq!(record.counterparty.address.as_deref(), Some("https://c.example/cb"));
        let states: Vec<State> = record.history.iter().map(|s| s.state).collect();
        assert_eq!(states, [State::Requested, State::Agreed, State::Verified, State::Finalized]);
        assert!(host.lock().agreements.contains_key("urn:uuid:agreement-1"));
    }

    #[tokio::test]
    async fn illegal_messages_change_nothing_and_replays_get_the_same_ack() {
        let host = MemoryHost::new();
        let caller = CallerIdentity::anonymous();
        let ack = receive(&host, None, request("urn:c:2"), &caller).await.unwrap();
        let p = ack.provider_pid.clone();
        let counter = ContractRequestMessage::counter(&p, "urn:c:2", offer("urn:o:2"));
        let err = receive(&host, Some(&p), counter, &caller).await.unwrap_err();
        assert!(matches!(err, ProtocolError::IllegalTransition(_)), "{err:?}");
        let record = host.negotiation(Role::Provider, &p).unwrap();
        assert_eq!((record.state, record.offers.len(), record.history.len()), (State::Requested, 1, 1));

        // The initial request again: same ACK, no second negotiation.
        assert_eq!(receive(&host, None, request("urn:c:2"), &caller).await.unwrap(), ack);
        assert_eq!(host.negotiations().len(), 1);
        // Same consumer pid, another offer: refused.
        let other = ContractRequestMessage::initial("urn:c:2", offer("urn:o:9"), "https://c.example/cb");
        assert!(matches!(receive(&host, None, other, &caller).await, Err(ProtocolError::BadRequest(_))));

        let offer = ContractOfferMessage::counter(&p, "urn:c:2", offer("urn:o:3"));
        host.negotiation_sent(Role::Provider, &offer.into(), Counterparty::default()).unwrap();
        let accepted = ContractNegotiationEventMessage::accepted(&p, "urn:c:2");
        let first = receive(&host, Some(&p), accepted.clone(), &caller).await.unwrap();
        assert_eq!(first.state, State::Accepted);
        assert_eq!(receive(&host, Some(&p), accepted, &caller).await.unwrap(), first, "replay");
        assert_eq!(host.negotiation(Role::Provider, &p).unwrap().history.len(), 3);
    }

    #[tokio::test]
    async fn unknown_foreign_and_mismatched_pids() {
        let host = MemoryHost::new();
        let owner = CallerIdentity::participant("did:web:c");
        let p = receive(&host, None, request("urn:c:3"), &owner).await.unwrap().provider_pid;
        let termination = ContractNegotiationTerminationMessage::new(&p, "urn:c:3");
        let stranger = CallerIdentity::participant("did:web:mallory");
        let err = receive(&host, Some(&p), termination.clone(), &stranger).await.unwrap_err();
        assert_eq!(err, ProtocolError::NotFound { pid: p.clone() });
        assert!(host.get(Role::Provider, &p, stranger).await.is_err());
        assert!(host.get(Role::Consumer, &p, owner.clone()).await.is_err(), "sides are separate");
        let err = receive(&host, Some("urn:uuid:nope"), termination, &owner).await.unwrap_err();
        assert!(matches!(err, ProtocolError::NotFound { .. }));
        let wrong = ContractNegotiationTerminationMessage::new(&p, "urn:c:other");
        assert!(matches!(receive(&host, Some(&p), wrong, &owner).await, Err(ProtocolError::BadRequest(_))));
        assert_eq!(host.get(Role::Provider, &p, owner).await.unwrap().state, State::Requested);
    }

    #[tokio::test]
    async fn consumer_records_what_it_sends_and_learns_the_provider_pid() {
        let host = MemoryHost::new();
        let peer = Counterparty::new(Some("did:web:p".into()), Some("https://p.example/dsp/2025-1".into()));
        assert_eq!(host.negotiation_sent(Role::Consumer, &request("urn:c:4"), peer), Ok(State::Requested));
        assert_eq!(host.negotiation(Role::Consumer, "urn:c:4").unwrap().ack().provider_pid, "");
        let ack = ContractNegotiation::new("urn:p:4", "urn:c:4", State::Requested);
        host.negotiation_acknowledged(Role::Consumer, &ack).unwrap();
        let wrong = ContractNegotiation::new("urn:p:other", "urn:c:4", State::Requested);
        assert!(host.negotiation_acknowledged(Role::Consumer, &wrong).is_err());
        assert_eq!(host.negotiation(Role::Consumer, "urn:c:4").unwrap().ack(), ack);
        // The provider's offer arrives on the consumer side.
        let offer = ContractOfferMessage::counter("urn:p:4", "urn:c:4", offer("urn:o:5"));
        let provider = CallerIdentity::participant("did:web:p");
        let got = host.on_message(Role::Consumer, Some("urn:c:4".into()), offer.into(), provider).await.unwrap();
        assert_eq!(got.state, State::Offered);
    }
}
