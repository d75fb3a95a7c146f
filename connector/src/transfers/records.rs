//! Transfer processes as rows.

use passerelle_dsp::message::transfer::{DataAddress, TransferProcess};
use passerelle_dsp::process::{ProtocolError, Role};
use passerelle_dsp::transfer::{MessageKind, State, TransferMessage, is_replay, next};
use serde::Serialize;

use passerelle_audit::EntryKind;

use crate::contracts::trail;
use crate::contracts::{ProcessError, Step, Termination, now_text, parse_role, role_str, serialize_role};
use crate::contracts::{ProcessRow, json_column, required, text};
use crate::store::direct::{Columns, Db};

/// One transfer process as this side sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransferRecord {
    pub pid: String,
    #[serde(serialize_with = "serialize_role")]
    pub side: Role,
    pub counterparty_pid: Option<String>,
    pub state: State,
    pub counterparty_id: Option<String>,
    pub counterparty_address: Option<String>,
    /// The participant id our tokens are made out to when the counter-party is not verified.
    pub audience: Option<String>,
    pub agreement_id: String,
    pub format: String,
    /// Consumer: the provider's pull address (EDR) or our push inbox. Provider: the consumer's push address.
    pub data_address: Option<DataAddress>,
    /// Why it was last suspended or terminated.
    pub termination: Option<Termination>,
    pub history: Vec<Step>,
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Steps already in the audit trail (the stored history's length when loaded).
    #[serde(skip)]
    pub(crate) audited_steps: usize,
}

impl TransferRecord {
    pub(crate) fn new(side: Role, pid: String, agreement_id: String, format: String) -> TransferRecord {
        let now = now_text();
        TransferRecord {
            pid,
            side,
            counterparty_pid: None,
            state: State::Requested,
            counterparty_id: None,
            counterparty_address: None,
            audience: None,
            agreement_id,
            format,
            data_address: None,
            termination: None,
            history: Vec::new(),
            last_error: None,
            created_at: now.clone(),
            updated_at: now,
            audited_steps: 0,
        }
    }

    pub fn provider_pid(&self) -> Option<&str> {
        if self.side == Role::Provider { Some(&self.pid) } else { self.counterparty_pid.as_deref() }
    }

    pub fn consumer_pid(&self) -> Option<&str> {
        if self.side == Role::Consumer { Some(&self.pid) } else { self.counterparty_pid.as_deref() }
    }

    /// Both pids, or why a message cannot be sent yet.
    pub(crate) fn pids(&self) -> Result<(String, String), ProcessError> {
        match (self.provider_pid(), self.consumer_pid()) {
            (Some(p), Some(c)) => Ok((p.to_string(), c.to_string())),
            _ => Err(ProcessError::Conflict(format!(
                "transfer `{}` has no {} pid yet (not acknowledged); retry in a moment",
                self.pid,
                self.side.counterpart()
            ))),
        }
    }

    pub fn ack(&self) -> TransferProcess {
        self.ack_in(self.state)
    }

    pub fn ack_in(&self, state: State) -> TransferProcess {
        TransferProcess::new(self.provider_pid().unwrap_or_default(), self.consumer_pid().unwrap_or_default(), state)
    }

    pub fn first_state(&self) -> State {
        self.history.first().and_then(|s| parse_state(&s.state)).unwrap_or(self.state)
    }

    pub fn admits(&self, caller: Option<&str>) -> bool {
        self.counterparty_id.is_none() || self.counterparty_id.as_deref() == caller
    }

    /// The record with tokens in data addresses hidden (for display).
    pub fn redacted(mut self) -> TransferRecord {
        self.data_address = self.data_address.as_ref().map(super::redact);
        self
    }

    /// Applies a received `message` from `sender` (see the negotiation counterpart).
    pub(crate) fn advance(&mut self, message: &TransferMessage, sender: Role) -> Result<bool, ProtocolError> {
        let theirs = message.pid_of(self.side.counterpart());
        if let (Some(given), Some(known)) = (theirs, &self.counterparty_pid)
            && given != known
        {
            return Err(ProtocolError::BadRequest(format!(
                "transfer process `{}` belongs to {} process `{known}`, but the message names `{given}`",
                self.pid,
                self.side.counterpart()
            )));
        }
        let kind = message.kind();
        let changed = match next(Some(self.state), kind, sender) {
            Ok(state) => {
                if let TransferMessage::Start(start) = message
                    && start.data_address.is_some()
                {
                    self.data_address.clone_from(&start.data_address);
                }
                self.record_step(kind, sender, state);
                true
            }
            Err(_) if is_replay(self.state, kind, sender) => false,
            Err(illegal) => return Err(illegal.into()),
        };
        if self.counterparty_pid.is_none() {
            self.counterparty_pid = theirs.map(str::to_string);
        }
        Ok(changed)
    }

    pub(crate) fn record_step(&mut self, kind: MessageKind, sender: Role, state: State) {
        self.state = state;
        let at = now_text();
        self.history.push(Step {
            message: kind.as_str().to_string(),
            sender: role_str(sender).to_string(),
            state: state.as_str().to_string(),
            at: at.clone(),
        });
        self.updated_at = at;
    }

    pub(crate) fn from_row(row: &impl Columns) -> Result<TransferRecord, ProcessError> {
        let pid = required(row, "pid")?;
        let corrupt = |what: &str| {
            ProcessError::Store(format!(
                "stored transfer `{pid}` has an unreadable {what}; the database was changed outside Passerelle"
            ))
        };
        let side = required(row, "side")?;
        let state = required(row, "state")?;
        let history: Vec<Step> = json_column(row, "history", "transfer", &pid)?.unwrap_or_default();
        Ok(TransferRecord {
            side: parse_role(&side).ok_or_else(|| corrupt("side"))?,
            state: parse_state(&state).ok_or_else(|| corrupt("state"))?,
            counterparty_pid: text(row, "counterparty_pid")?,
            counterparty_id: text(row, "counterparty_id")?.filter(|id| !id.is_empty()),
            counterparty_address: text(row, "counterparty_address")?,
            audience: text(row, "audience")?,
            agreement_id: required(row, "agreement_id")?,
            format: required(row, "format")?,
            data_address: json_column(row, "data_address", "transfer", &pid)?,
            termination: json_column(row, "termination", "transfer", &pid)?,
            audited_steps: history.len(),
            history,
            last_error: text(row, "last_error")?,
            created_at: required(row, "created_at")?,
            updated_at: required(row, "updated_at")?,
            pid,
        })
    }

    /// Inserts or updates the row and appends the steps not yet in the audit trail, in the
    /// caller's transaction.
    pub(crate) fn save(&mut self, db: &Db, journal: &trail::Journal) -> Result<(), ProcessError> {
        self.upsert(db)?;
        let process = trail::ProcessRef {
            kind: EntryKind::TRANSFER_STATE,
            pid: &self.pid,
            side: self.side,
            counterparty_id: self.counterparty_id.as_deref(),
            counterparty_pid: self.counterparty_pid.as_deref(),
            about: serde_json::json!({"agreementId": self.agreement_id, "format": self.format}),
        };
        trail::append_new_steps(journal, db, &process, &self.history, &mut self.audited_steps)
    }

    fn upsert(&self, db: &Db) -> Result<(), rusqlite::Error> {
        let data_address = self.data_address.as_ref().and_then(|a| serde_json::to_string(a).ok());
        let termination = self.termination.as_ref().and_then(|t| serde_json::to_string(t).ok());
        let history = serde_json::to_string(&self.history).unwrap_or_else(|_| "[]".into());
        db.prepare_cached(
            "INSERT INTO transfers (pid, side, counterparty_pid, state, counterparty_id, counterparty_address, audience,
                 agreement_id, format, data_address, termination, history, last_error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (pid) DO UPDATE SET counterparty_pid = excluded.counterparty_pid, state = excluded.state,
                 counterparty_address = excluded.counterparty_address, data_address = excluded.data_address,
                 termination = excluded.termination, history = excluded.history, last_error = excluded.last_error,
                 updated_at = excluded.updated_at",
        )?
        .execute(rusqlite::params![
            self.pid,
            role_str(self.side),
            self.counterparty_pid,
            self.state.as_str(),
            self.counterparty_id.clone().unwrap_or_default(),
            self.counterparty_address,
            self.audience,
            self.agreement_id,
            self.format,
            data_address,
            termination,
            history,
            self.last_error,
            self.created_at,
            self.updated_at,
        ])
        .map(|_| ())
    }
}

impl ProcessRow for TransferRecord {
    const TABLE: &'static str = "transfers";

    fn from_row(row: &impl Columns) -> Result<Self, ProcessError> {
        TransferRecord::from_row(row)
    }
}

pub(crate) fn parse_state(text: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.as_str() == text)
}
