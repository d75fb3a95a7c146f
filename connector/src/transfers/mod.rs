//! Transfer processes in the running connector: [`Processes`] as the DSP
//! `TransferHost`, and what people do with transfers (request one on an agreement,
//! suspend, resume, complete, terminate, fetch the data).
//!
//! Formats: `HttpData-PULL` (the provider's start message carries an endpoint data
//! reference: our `/data/…` endpoint and a short-lived token bound to the agreement)
//! and `HttpData-PUSH` (the provider posts the documents to the consumer's data
//! address, then completes). Default automation: as provider, a request under a
//! finalized agreement with this consumer is started at once.

mod records;

use crate::contracts::ProcessRow;
use passerelle_dsp::message::transfer::{
    DataAddress, TransferCompletionMessage, TransferProcess, TransferRequestMessage, TransferStartMessage,
    TransferSuspensionMessage, TransferTerminationMessage,
};
use passerelle_dsp::negotiation::State as NegotiationState;
use passerelle_dsp::process::{CallerIdentity, ProtocolError, Role};
use passerelle_dsp::transfer::{State, TransferHost, TransferMessage, next};
use serde_json::{Value, json};

pub use records::TransferRecord;

use crate::contracts::{
    AgreementRecord, NegotiationRecord, ProcessError, Processes, Termination, internal, new_pid, reason_texts, role_str,
};
use crate::dataplane;
use crate::outbox::{
    Due, OutboxEntry, Outgoing, PUSH_KIND, ProcessKind, enqueue, entries_for, stall_reason, transfer_kind,
};
use crate::store::direct::Db;

pub const PULL: &str = "HttpData-PULL";
pub const PUSH: &str = "HttpData-PUSH";

/// What an operator asks of a transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferAction {
    Suspend,
    Resume,
    Complete,
    Terminate,
}

impl TransferAction {
    pub fn parse(text: &str) -> Option<TransferAction> {
        match text {
            "suspend" => Some(TransferAction::Suspend),
            "resume" | "start" => Some(TransferAction::Resume),
            "complete" => Some(TransferAction::Complete),
            "terminate" => Some(TransferAction::Terminate),
            _ => None,
        }
    }
}

/// A transfer with what an operator needs to follow it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TransferView {
    #[serde(flatten)]
    pub record: TransferRecord,
    /// Why the transfer is not moving, when it is not.
    pub status: Option<String>,
    pub outbox: Vec<OutboxEntry>,
}

impl Processes {
    fn create_transfer(
        &self,
        db: &Db,
        message: TransferMessage,
        caller: Option<&str>,
    ) -> Result<(TransferProcess, Vec<Due>), ProtocolError> {
        let TransferMessage::Request(request) = &message else {
            return Err(next(None, message.kind(), Role::Consumer).map_or_else(ProtocolError::from, |_| {
                ProtocolError::BadRequest("only a TransferRequestMessage starts a transfer process".into())
            }));
        };
        if let Some(existing) =
            TransferRecord::find_by_counterparty(db, Role::Provider, caller, &request.consumer_pid).map_err(internal)?
        {
            return if existing.agreement_id == request.agreement_id && existing.format == request.format {
                Ok((existing.ack_in(existing.first_state()), Vec::new()))
            } else {
                Err(ProtocolError::BadRequest(format!(
                    "consumerPid `{}` already names transfer process `{}` for another agreement or format: choose a new pid",
                    request.consumer_pid, existing.pid
                )))
            };
        }
        let agreement = self.transferable_agreement(db, &request.agreement_id, caller)?;
        if request.format != PULL && request.format != PUSH {
            return Err(ProtocolError::BadRequest(format!(
                "format `{}` is not offered: use {PULL} or {PUSH}",
                request.format
            )));
        }
        if request.format == PUSH
            && dataplane::feed_push::wants_feed(request.data_address.as_ref())
            && !matches!(
                crate::catalog::ids::parse_dataset_id(&agreement.target),
                Some(crate::catalog::ids::DatasetRef::Work(_) | crate::catalog::ids::DatasetRef::Collection(_))
            )
        {
            return Err(ProtocolError::BadRequest(format!(
                "`{}` has no versions-and-rights feed to push: only a work or a collection has one",
                agreement.target
            )));
        }
        let push_endpoint = request.data_address.as_ref().and_then(|a| a.endpoint.clone());
        if request.format == PUSH && push_endpoint.is_none() {
            return Err(ProtocolError::BadRequest(format!(
                "a {PUSH} request must carry `dataAddress` with the `endpoint` the documents are posted to"
            )));
        }
        let state = next(None, message.kind(), Role::Consumer)?;
        let mut record =
            TransferRecord::new(Role::Provider, new_pid(), request.agreement_id.clone(), request.format.clone());
        record.counterparty_pid = Some(request.consumer_pid.clone());
        record.counterparty_id = caller.map(str::to_string);
        record.counterparty_address = Some(request.callback_address.clone());
        record.data_address = request.data_address.clone();
        record.record_step(message.kind(), Role::Consumer, state);
        let ack = record.ack();
        let queued = self.start_providing(db, &mut record, &agreement).map_err(|e| internal(e.to_string()))?;
        record.save(db, &self.inner.journal).map_err(internal)?;
        Ok((ack, queued))
    }

    /// The provider-side agreement a transfer may run under: ours, finalized, with this caller.
    fn transferable_agreement(
        &self,
        db: &Db,
        agreement_id: &str,
        caller: Option<&str>,
    ) -> Result<AgreementRecord, ProtocolError> {
        let refused = || {
            ProtocolError::BadRequest(format!(
                "agreementId `{agreement_id}` names no agreement this provider has finalized with you: negotiate one first"
            ))
        };
        let agreement =
            AgreementRecord::load(db, agreement_id, Some(Role::Provider)).map_err(internal)?.ok_or_else(refused)?;
        let negotiation = NegotiationRecord::load(db, Role::Provider, &agreement.negotiation_pid)
            .map_err(internal)?
            .ok_or_else(refused)?;
        let same_consumer = caller.is_none() || caller == Some(agreement.assignee.as_str());
        if negotiation.state != NegotiationState::Finalized || !same_consumer {
            return Err(refused());
        }
        Ok(agreement)
    }

    /// Starts a requested transfer as provider: PULL gets an endpoint data reference,
    /// PUSH gets the start message then the documents (the outbox completes it after the push).
    fn start_providing(
        &self,
        db: &Db,
        record: &mut TransferRecord,
        agreement: &AgreementRecord,
    ) -> Result<Vec<Due>, ProcessError> {
        let (provider_pid, consumer_pid) = record.pids()?;
        let mut start = TransferStartMessage::new(&provider_pid, &consumer_pid);
        if record.format == PULL {
            let edr = dataplane::issue(db, &self.inner.base_url, &record.pid, agreement)?;
            start = start.with_data_address(edr);
        }
        let mut queued = vec![queue_transfer(db, record, start.into())?];
        if record.format == PUSH && dataplane::feed_push::wants_feed(record.data_address.as_ref()) {
            // A feed does not end: the transfer stays STARTED and every change is pushed as it happens.
            dataplane::feed_push::subscribe(db, &record.pid, &agreement.target)?;
        } else if record.format == PUSH {
            let endpoint = record.data_address.as_ref().and_then(|a| a.endpoint.clone()).unwrap_or_default();
            let authorization =
                record.data_address.as_ref().and_then(|a| a.property("authorization")).map(str::to_string);
            let body = json!({"dataset": agreement.target, "authorization": authorization});
            queued.push(enqueue(
                db,
                Outgoing {
                    process: ProcessKind::Transfer,
                    pid: &record.pid,
                    kind: PUSH_KIND,
                    recipient: Role::Consumer,
                    address: &endpoint,
                    participant_id: record.counterparty_id.as_deref(),
                    body: &body,
                },
            )?);
        }
        Ok(queued)
    }

    fn update_transfer(
        &self,
        db: &Db,
        side: Role,
        pid: &str,
        message: TransferMessage,
        caller: Option<&str>,
    ) -> Result<(TransferProcess, Vec<Due>), ProtocolError> {
        let mut record = TransferRecord::load(db, side, pid)
            .map_err(internal)?
            .filter(|r| r.admits(caller))
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })?;
        let changed = record.advance(&message, side.counterpart())?;
        if changed {
            match &message {
                TransferMessage::Termination(m) => {
                    record.termination = Some(Termination {
                        by: role_str(side.counterpart()).to_string(),
                        code: m.code.clone(),
                        reason: reason_texts(&m.reason),
                    });
                }
                TransferMessage::Suspension(m) => {
                    record.termination = Some(Termination {
                        by: role_str(side.counterpart()).to_string(),
                        code: m.code.clone(),
                        reason: reason_texts(&m.reason),
                    });
                }
                _ => {}
            }
            record.save(db, &self.inner.journal).map_err(internal)?;
        }
        Ok((record.ack(), Vec::new()))
    }

    /// After the documents were pushed: complete the transfer (if it is still running).
    pub(crate) async fn after_push(&self, pid: &str) -> Result<(), ProcessError> {
        self.write_sending(|db| {
            let Some(mut record) = TransferRecord::load(db, Role::Provider, pid)? else { return Ok(((), None)) };
            if record.state != State::Started {
                return Ok(((), None));
            }
            let (provider_pid, consumer_pid) = record.pids()?;
            let completion = TransferCompletionMessage::new(provider_pid, consumer_pid).into();
            let queued = queue_transfer(db, &mut record, completion)?;
            record.save(db, &self.inner.journal)?;
            Ok(((), Some(queued)))
        })
        .await?;
        Ok(())
    }

    /// The documents could not be pushed: terminate the transfer with the reason.
    pub(crate) async fn push_failed(&self, pid: &str, reason: &str) -> Result<(), ProcessError> {
        self.write_sending(|db| {
            let Some(mut record) = TransferRecord::load(db, Role::Provider, pid)? else { return Ok(((), None)) };
            if record.state.is_terminal() {
                return Ok(((), None));
            }
            let (provider_pid, consumer_pid) = record.pids()?;
            let message = TransferTerminationMessage::new(provider_pid, consumer_pid)
                .with_code("PUSH_FAILED")
                .with_reason(reason);
            record.termination = Some(Termination {
                by: "provider".into(),
                code: Some("PUSH_FAILED".into()),
                reason: vec![reason.into()],
            });
            let queued = queue_transfer(db, &mut record, message.into())?;
            record.save(db, &self.inner.journal)?;
            Ok(((), Some(queued)))
        })
        .await?;
        Ok(())
    }

    /// Requests a transfer as consumer under an agreement we hold.
    /// With `feed`, a PUSH transfer asks for the versions-and-rights feed by push (`dataplane::feed_push`).
    pub async fn request_transfer(
        &self,
        agreement_id: &str,
        format: &str,
        feed: bool,
    ) -> Result<TransferView, ProcessError> {
        if format != PULL && format != PUSH {
            return Err(ProcessError::Invalid(format!("format `{format}` is not supported: use {PULL} or {PUSH}")));
        }
        if feed && format != PUSH {
            return Err(ProcessError::Invalid(format!(
                "`feed: true` asks for the feed by push: use {PUSH} (a {PULL} transfer reads the feed at its feedEndpoint)"
            )));
        }
        let pid = new_pid();
        self.write_sending(|db| {
            let agreement = AgreementRecord::load(db, agreement_id, Some(Role::Consumer))?
                .ok_or_else(|| ProcessError::NotFound { kind: "agreement", id: agreement_id.to_string() })?;
            let negotiation = NegotiationRecord::load(db, Role::Consumer, &agreement.negotiation_pid)?
                .ok_or_else(|| ProcessError::NotFound { kind: "negotiation", id: agreement.negotiation_pid.clone() })?;
            if negotiation.state != NegotiationState::Finalized {
                return Err(ProcessError::Conflict(format!(
                    "agreement `{agreement_id}` is not finalized yet (negotiation `{}` is {}); wait for FINALIZED",
                    negotiation.pid, negotiation.state
                )));
            }
            let mut record =
                TransferRecord::new(Role::Consumer, pid.clone(), agreement_id.to_string(), format.to_string());
            record.counterparty_address = negotiation.counterparty_address.clone();
            record.counterparty_id = negotiation.counterparty_id.clone();
            record.audience = Some(agreement.assigner.clone());
            let mut request = TransferRequestMessage::new(&pid, agreement_id, format, self.callback_address());
            if feed {
                let inbox = dataplane::feed_push::feed_inbox_address(&self.inner.base_url, &pid)?;
                record.data_address = Some(inbox.clone());
                request = request.with_data_address(inbox);
            } else if format == PUSH {
                let inbox = dataplane::inbox_address(&self.inner.base_url, &pid);
                record.data_address = Some(inbox.clone());
                request = request.with_data_address(inbox);
            }
            let queued = queue_transfer(db, &mut record, request.into())?;
            record.save(db, &self.inner.journal)?;
            Ok(((), [queued]))
        })
        .await?;
        self.transfer(&pid).await
    }

    /// Suspends, resumes, completes or terminates a transfer from our side (either role).
    pub async fn act_on_transfer(
        &self,
        pid: &str,
        action: TransferAction,
        reason: Option<String>,
    ) -> Result<TransferView, ProcessError> {
        self.write_sending(|db| {
            let mut record = TransferRecord::load_any(db, pid)?
                .ok_or_else(|| ProcessError::NotFound { kind: "transfer", id: pid.to_string() })?;
            let (provider_pid, consumer_pid) = record.pids()?;
            let by = role_str(record.side).to_string();
            let message: TransferMessage = match action {
                TransferAction::Suspend => {
                    let reason = reason.unwrap_or_else(|| format!("suspended by the {by}'s operator"));
                    record.termination = Some(Termination { by, code: None, reason: vec![reason.clone()] });
                    TransferSuspensionMessage::new(provider_pid, consumer_pid).with_reason(reason).into()
                }
                TransferAction::Resume => {
                    let mut start = TransferStartMessage::new(provider_pid, consumer_pid);
                    if record.side == Role::Provider && record.format == PULL {
                        let agreement =
                            AgreementRecord::load(db, &record.agreement_id, Some(Role::Provider))?.ok_or_else(
                                || ProcessError::NotFound { kind: "agreement", id: record.agreement_id.clone() },
                            )?;
                        start = start.with_data_address(dataplane::issue(
                            db,
                            &self.inner.base_url,
                            &record.pid,
                            &agreement,
                        )?);
                    }
                    record.termination = None;
                    start.into()
                }
                TransferAction::Complete => TransferCompletionMessage::new(provider_pid, consumer_pid).into(),
                TransferAction::Terminate => {
                    let reason = reason.unwrap_or_else(|| format!("terminated by the {by}'s operator"));
                    record.termination = Some(Termination {
                        by,
                        code: Some("TERMINATED_BY_OPERATOR".into()),
                        reason: vec![reason.clone()],
                    });
                    TransferTerminationMessage::new(provider_pid, consumer_pid)
                        .with_code("TERMINATED_BY_OPERATOR")
                        .with_reason(reason)
                        .into()
                }
            };
            let queued = queue_transfer(db, &mut record, message)?;
            record.save(db, &self.inner.journal)?;
            Ok(((), [queued]))
        })
        .await?;
        self.transfer(pid).await
    }

    /// The data of a transfer we consume: pulled now from the provider's endpoint (PULL)
    /// or what the provider pushed (PUSH).
    pub async fn transfer_data(&self, pid: &str) -> Result<Value, ProcessError> {
        let record = self
            .read(|db| TransferRecord::load_any(db, pid))
            .await?
            .ok_or_else(|| ProcessError::NotFound { kind: "transfer", id: pid.to_string() })?;
        if record.side != Role::Consumer {
            return Err(ProcessError::Invalid(format!(
                "transfer `{pid}` is one we provide; its data is fetched by the consumer"
            )));
        }
        if record.format == PUSH {
            return dataplane::received(self.pool(), pid).await;
        }
        let address = record.data_address.as_ref().filter(|_| record.state == State::Started).ok_or_else(|| {
            ProcessError::Conflict(format!(
                "transfer `{pid}` is {}: data can be pulled only while it is STARTED with the provider's data address",
                record.state
            ))
        })?;
        dataplane::pull(&self.inner.http, address).await
    }

    /// The record as stored, tokens included (for its own operator).
    pub async fn transfer_record(&self, pid: &str) -> Result<Option<TransferRecord>, ProcessError> {
        self.read(|db| TransferRecord::load_any(db, pid)).await
    }

    pub async fn transfer(&self, pid: &str) -> Result<TransferView, ProcessError> {
        self.read(|db| {
            let record = TransferRecord::load_any(db, pid)?
                .ok_or_else(|| ProcessError::NotFound { kind: "transfer", id: pid.to_string() })?;
            transfer_view(db, record)
        })
        .await
    }

    pub async fn transfers(&self) -> Result<Vec<TransferView>, ProcessError> {
        self.read(|db| TransferRecord::list(db)?.into_iter().map(|record| transfer_view(db, record)).collect()).await
    }
}

fn transfer_view(db: &Db, record: TransferRecord) -> Result<TransferView, ProcessError> {
    let outbox = entries_for(db, &record.pid)?;
    let status = stall_reason(&outbox).or_else(|| record.last_error.clone()).or_else(|| {
        (record.side == Role::Consumer && record.state == State::Requested)
            .then(|| format!("waiting for the provider's start message since {}", record.updated_at))
    });
    Ok(TransferView { record: record.redacted(), status, outbox })
}

/// Applies a message this side sends and queues it, in the caller's transaction.
pub(crate) fn queue_transfer(
    db: &Db,
    record: &mut TransferRecord,
    message: TransferMessage,
) -> Result<Due, ProcessError> {
    let side = record.side;
    let before = if record.history.is_empty() { None } else { Some(record.state) };
    let state = next(before, message.kind(), side).map_err(|e| ProcessError::Conflict(e.to_string()))?;
    let address = record.counterparty_address.clone().ok_or_else(|| {
        ProcessError::Conflict(format!("transfer `{}` has no address of the {}", record.pid, side.counterpart()))
    })?;
    let body = message.to_json().map_err(|e| ProcessError::Invalid(e.to_string()))?;
    record.record_step(message.kind(), side, state);
    let audience = record.counterparty_id.clone().or_else(|| record.audience.clone());
    Ok(enqueue(
        db,
        Outgoing {
            process: ProcessKind::Transfer,
            pid: &record.pid,
            kind: transfer_kind(&message),
            recipient: side.counterpart(),
            address: &address,
            participant_id: audience.as_deref(),
            body: &body,
        },
    )?)
}

impl TransferHost for Processes {
    async fn on_message(
        &self,
        side: Role,
        pid: Option<String>,
        message: TransferMessage,
        caller: CallerIdentity,
    ) -> Result<TransferProcess, ProtocolError> {
        let caller_id = caller.participant_id.as_deref();
        if pid.is_none() && side != Role::Provider {
            return Err(ProtocolError::BadRequest("a consumer does not receive transfer requests".into()));
        }
        let ack = self
            .transact_sending(|db| match pid {
                None => self.create_transfer(db, message, caller_id),
                Some(pid) => self.update_transfer(db, side, &pid, message, caller_id),
            })
            .await
            .map_err(|e| ProtocolError::Unavailable(e.to_string()))??;
        Ok(ack)
    }

    async fn get(&self, side: Role, pid: &str, caller: CallerIdentity) -> Result<TransferProcess, ProtocolError> {
        self.query(|db| TransferRecord::load(db, side, pid))
            .await
            .map_err(|e| ProtocolError::Unavailable(e.to_string()))?
            .map_err(internal)?
            .filter(|r| r.admits(caller.participant_id.as_deref()))
            .map(|r| r.ack())
            .ok_or_else(|| ProtocolError::NotFound { pid: pid.to_string() })
    }
}

/// The data address a consumer gives for PUSH, or a provider for PULL, with its token hidden.
pub(crate) fn redact(address: &DataAddress) -> DataAddress {
    let mut shown = DataAddress::new(address.endpoint_type.clone(), address.endpoint.clone().unwrap_or_default());
    for p in &address.endpoint_properties {
        let secret = matches!(p.name.as_str(), "authorization" | "refreshToken");
        shown = shown.with_property(p.name.clone(), if secret { "<redacted>".to_string() } else { p.value.clone() });
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_actions_parse_and_tokens_never_show() {
        assert_eq!(TransferAction::parse("suspend"), Some(TransferAction::Suspend));
        assert_eq!(TransferAction::parse("resume"), Some(TransferAction::Resume));
        assert_eq!(TransferAction::parse("explode"), None);
        let address = DataAddress::new("https://w3id.org/idsa/v4.1/HTTP", "https://p.example/data/x")
            .with_property("authorization", "s3cret")
            .with_property("authType", "bearer");
        let shown = redact(&address);
        assert_eq!(shown.property("authorization"), Some("<redacted>"));
        assert_eq!(shown.property("authType"), Some("bearer"));
        assert_eq!(shown.endpoint, address.endpoint);
    }
}
