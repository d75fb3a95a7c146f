//! Transfer processes in the [`MemoryHost`].

use super::{Books, Counterparty, MemoryHost, Step, new_pid};
use crate::message::transfer::{DataAddress, TransferProcess};
use crate::process::{CallerIdentity, ProtocolError, Role};
use crate::transfer::{MessageKind, State, TransferHost, TransferMessage, is_replay, next};

/// One transfer process as this side sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TransferRecord {
    /// The role this side plays.
    pub side: Role,
    /// This side's pid.
    pub pid: String,
    /// The counter-party's pid, once known.
    pub counterparty_pid: Option<String>,
    pub state: State,
    pub counterparty: Counterparty,
    pub agreement_id: String,
    pub format: String,
    /// The consumer's push address (from the request) or the provider's pull
    /// address (from the last start message that carried one).
    pub data_address: Option<DataAddress>,
    pub history: Vec<Step<MessageKind, State>>,
}

impl TransferRecord {
    pub fn provider_pid(&self) -> Option<&str> {
        self.pid_of(Role::Provider)
    }

    pub fn consumer_pid(&self) -> Option<&str> {
        self.pid_of(Role::Consumer)
    }

    fn pid_of(&self, role: Role) -> Option<&str> {
        if role == self.side { Some(&self.pid) } else { self.counterparty_pid.as_deref() }
    }

    /// The ACK describing this transfer (an unknown counter-party pid is written empty).
    pub fn ack(&self) -> TransferProcess {
        TransferProcess::new(
            self.provider_pid().unwrap_or_default(),
            self.consumer_pid().unwrap_or_default(),
            self.state,
        )
    }

    /// The counter-party pid `message` names, if it is consistent with the record.
    fn counterparty_pid_in<'m>(&self, message: &'m TransferMessage) -> Result<Option<&'m str>, ProtocolError> {
        let theirs = self.side.counterpart();
        match (message.pid_of(theirs), &self.counterparty_pid) {
            (Some(given), Some(known)) if given != known => Err(ProtocolError::BadRequest(format!(
                "transfer process `{}` belongs to {theirs} process `{known}`, but the message names `{given}`",
                self.pid
            ))),
            (given, _) => Ok(given),
        }
    }

    /// Applies `message` from `sender`: transition, or same state for a replay, or refusal.
    fn advance(&mut self, message: &TransferMessage, sender: Role) -> Result<(), ProtocolError> {
        let learned = self.counterparty_pid_in(message)?.map(str::to_string);
        let kind = message.kind();
        match next(Some(self.state), kind, sender) {
            Ok(state) => {
                if let TransferMessage::Start(start) = message
                    && start.data_address.is_some()
                {
                    self.data_address.clone_from(&start.data_address);
                }
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

fn created_record(
    side: Role,
    pid: String,
    counterparty_pid: Option<String>,
    message: &TransferMessage,
    state: State,
    counterparty: Counterparty,
) -> Result<TransferRecord, ProtocolError> {
    let TransferMessage::Request(request) = message else {
        return Err(ProtocolError::BadRequest(format!(
            "a transfer process starts with a TransferRequestMessage, not a {}",
            message.kind()
        )));
    };
    Ok(TransferRecord {
        side,
        pid,
        counterparty_pid,
        state,
        counterparty,
        agreement_id: request.agreement_id.clone(),
        format: request.format.clone(),
        data_address: request.data_address.clone(),
        history: vec![Step { message: MessageKind::Request, sender: Role::Consumer, state }],
    })
}

impl Books {
    fn receive_transfer(
        &mut self,
        side: Role,
        pid: Option<String>,
        message: TransferMessage,
        caller: &CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        let Some(pid) = pid else { return self.create_received_transfer(side, message, caller) };
        let record = self
            .transfers
            .get_mut(&(side, pid.clone()))
            .filter(|r| r.counterparty.admits(caller))
            .ok_or(ProtocolError::NotFound { pid })?;
        record.advance(&message, side.counterpart())?;
        Ok(record.ack())
    }

    fn create_received_transfer(
        &mut self,
        side: Role,
        message: TransferMessage,
        caller: &CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        let sender = side.counterpart();
        let TransferMessage::Request(request) = &message else {
            return Err(next(None, message.kind(), sender).map_or_else(ProtocolError::from, |_| {
                ProtocolError::BadRequest("only a TransferRequestMessage starts a transfer process".into())
            }));
        };
        let repeated = self.transfers.values().find(|r| {
            r.side == side
                && r.counterparty_pid.as_deref() == Some(request.consumer_pid.as_str())
                && r.counterparty.participant_id == caller.participant_id
        });
        if let Some(existing) = repeated {
            return if existing.agreement_id == request.agreement_id && existing.format == request.format {
                Ok(existing.ack())
            } else {
                Err(ProtocolError::BadRequest(format!(
                    "consumerPid `{}` already names transfer process `{}` for another agreement or format: choose a new pid",
                    request.consumer_pid, existing.pid
                )))
            };
        }
        let known = self
            .agreements
            .get(&request.agreement_id)
            .filter(|a| a.consumer.is_none() || caller.participant_id.is_none() || a.consumer == caller.participant_id);
        if known.is_none() {
            return Err(ProtocolError::BadRequest(format!(
                "agreementId `{}` names no agreement this provider has finalized with you: negotiate one first",
                request.agreement_id
            )));
        }
        let state = next(None, message.kind(), sender)?;
        let counterparty = Counterparty::new(caller.participant_id.clone(), Some(request.callback_address.clone()));
        let pid = new_pid();
        let record =
            created_record(side, pid.clone(), Some(request.consumer_pid.clone()), &message, state, counterparty)?;
        let ack = record.ack();
        self.transfers.insert((side, pid), record);
        Ok(ack)
    }

    fn sent_transfer(
        &mut self,
        side: Role,
        message: &TransferMessage,
        counterparty: Counterparty,
    ) -> Result<State, ProtocolError> {
        let ours = message.pid_of(side).map(str::to_string).ok_or_else(|| {
            ProtocolError::BadRequest(format!("the message does not carry this side's pid (the {side}'s)"))
        })?;
        let key = (side, ours.clone());
        if let Some(record) = self.transfers.get_mut(&key) {
            record.advance(message, side)?;
            return Ok(record.state);
        }
        let state = next(None, message.kind(), side)?;
        let theirs = message.pid_of(side.counterpart()).map(str::to_string);
        let record = created_record(side, ours, theirs, message, state, counterparty)?;
        self.transfers.insert(key, record);
        Ok(state)
    }
}

impl MemoryHost {
    /// The transfer process whose pid on this `side` is `pid`.
    pub fn transfer(&self, side: Role, pid: &str) -> Option<TransferRecord> {
        self.lock().transfers.get(&(side, pid.to_string())).cloned()
    }

    /// Every transfer process, both sides.
    pub fn transfers(&self) -> Vec<TransferRecord> {
        self.lock().transfers.values().cloned().collect()
    }

    /// Applies a message this `side` sent; a TransferRequestMessage creates the record.
    pub fn transfer_sent(
        &self,
        side: Role,
        message: &TransferMessage,
        counterparty: Counterparty,
    ) -> Result<State, ProtocolError> {
        self.lock().sent_transfer(side, message, counterparty)
    }

    /// Records the counter-party's pid from its ACK to a message this `side` sent.
    pub fn transfer_acknowledged(&self, side: Role, ack: &TransferProcess) -> Result<(), ProtocolError> {
        let (ours, theirs) = match side {
            Role::Provider => (&ack.provider_pid, &ack.consumer_pid),
            Role::Consumer => (&ack.consumer_pid, &ack.provider_pid),
        };
        let mut books = self.lock();
        let record = books
            .transfers
            .get_mut(&(side, ours.clone()))
            .ok_or_else(|| ProtocolError::NotFound { pid: ours.clone() })?;
        match &record.counterparty_pid {
            Some(known) if known != theirs => Err(ProtocolError::BadRequest(format!(
                "the ACK names {} pid `{theirs}` but transfer process `{ours}` already belongs to `{known}`",
                side.counterpart()
            ))),
            _ => {
                record.counterparty_pid = Some(theirs.clone());
                Ok(())
            }
        }
    }
}

impl TransferHost for MemoryHost {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: TransferMessage,
        caller: CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        self.lock().receive_transfer(side, pid, message, &caller)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<TransferProcess, ProtocolError> {
        self.lock()
            .transfers
            .get(&(side, pid.to_string()))
            .filter(|r| r.counterparty.admits(&caller))
            .map(TransferRecord::ack)
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::transfer::{
        TransferCompletionMessage, TransferRequestMessage, TransferStartMessage, TransferSuspensionMessage,
    };

    fn request(consumer_pid: &str, agreement: &str) -> TransferMessage {
        TransferRequestMessage::new(consumer_pid, agreement, "HttpData-PULL", "https://c.example/cb").into()
    }

    async fn receive(
        host: &MemoryHost,
        side: Role,
        pid: Option<&str>,
        message: impl Into<TransferMessage>,
        caller: &CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        TransferHost::on_message(host, side, pid.map(String::from), message.into(), caller.clone()).await
    }

    #[tokio::test]
    async fn transfers_need_a_known_agreement_with_this_consumer() {
        let host = MemoryHost::new();
        let caller = CallerIdentity::participant("did:web:c");
        let err = receive(&host, Role::Provider, None, request("urn:c:1", "urn:a:1"), &caller).await.unwrap_err();
        assert!(err.to_string().contains("agreementId `urn:a:1`"), "{err}");
        host.add_agreement("urn:a:1", Some("did:web:other".into()));
        assert!(receive(&host, Role::Provider, None, request("urn:c:1", "urn:a:1"), &caller).await.is_err());
        host.add_agreement("urn:a:2", Some("did:web:c".into()));
        let ack = receive(&host, Role::Provider, None, request("urn:c:1", "urn:a:2"), &caller).await.unwrap();
        assert_eq!((ack.consumer_pid.as_str(), ack.state), ("urn:c:1", State::Requested));
        assert_eq!(receive(&host, Role::Provider, None, request("urn:c:1", "urn:a:2"), &caller).await.unwrap(), ack);
        assert_eq!(host.transfers().len(), 1);
    }

    #[tokio::test]
    async fn both_sides_follow_the_machine() {
        let provider = MemoryHost::new();
        provider.add_agreement("urn:a:1", None);
        let anyone = CallerIdentity::anonymous();
        let p = receive(&provider, Role::Provider, None, request("urn:c:2", "urn:a:1"), &anyone)
            .await
            .unwrap()
            .provider_pid;

        // The consumer cannot complete or suspend a requested transfer; nothing changes.
        let completion = TransferCompletionMessage::new(&p, "urn:c:2");
        assert!(matches!(
            receive(&provider, Role::Provider, Some(&p), completion.clone(), &anyone).await,
            Err(ProtocolError::IllegalTransition(_))
        ));
        assert_eq!(provider.transfer(Role::Provider, &p).unwrap().state, State::Requested);

        let start = TransferStartMessage::new(&p, "urn:c:2");
        assert_eq!(provider.transfer_sent(Role::Provider, &start.into(), Counterparty::default()), Ok(State::Started));
        let suspension = TransferSuspensionMessage::new(&p, "urn:c:2");
        let ack = receive(&provider, Role::Provider, Some(&p), suspension.clone(), &anyone).await.unwrap();
        assert_eq!(ack.state, State::Suspended);
        assert_eq!(receive(&provider, Role::Provider, Some(&p), suspension, &anyone).await.unwrap(), ack, "replay");
        let resume = TransferStartMessage::new(&p, "urn:c:2");
        assert_eq!(receive(&provider, Role::Provider, Some(&p), resume, &anyone).await.unwrap().state, State::Started);
        assert_eq!(
            receive(&provider, Role::Provider, Some(&p), completion.clone(), &anyone).await.unwrap().state,
            State::Completed
        );
        assert!(receive(&provider, Role::Provider, Some(&p), completion, &anyone).await.is_err(), "final");

        // Consumer side: what it sent, then the provider's start with a pull address.
        let consumer = MemoryHost::new();
        let peer = Counterparty::new(None, Some("https://p.example/dsp/2025-1".into()));
        consumer.transfer_sent(Role::Consumer, &request("urn:c:3", "urn:a:1"), peer).unwrap();
        consumer
            .transfer_acknowledged(Role::Consumer, &TransferProcess::new("urn:p:3", "urn:c:3", State::Requested))
            .unwrap();
        let address = DataAddress::new("https://w3id.org/idsa/v4.1/HTTP", "https://p.example/data/1");
        let start = TransferStartMessage::new("urn:p:3", "urn:c:3").with_data_address(address.clone());
        let ack = receive(&consumer, Role::Consumer, Some("urn:c:3"), start, &anyone).await.unwrap();
        assert_eq!(ack, TransferProcess::new("urn:p:3", "urn:c:3", State::Started));
        assert_eq!(consumer.transfer(Role::Consumer, "urn:c:3").unwrap().data_address, Some(address));
        let foreign = TransferStartMessage::new("urn:p:other", "urn:c:3");
        assert!(matches!(
            receive(&consumer, Role::Consumer, Some("urn:c:3"), foreign, &anyone).await,
            Err(ProtocolError::BadRequest(_))
        ));
    }
}
