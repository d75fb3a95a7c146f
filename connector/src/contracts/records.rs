//! Negotiations and agreements as rows: load, save, list.

use passerelle_dsp::message::negotiation::ContractNegotiation;
use passerelle_dsp::negotiation::{MessageKind, State, is_replay, next};
use passerelle_dsp::process::{ProtocolError, Role};
use serde::Serialize;
use serde_json::Value;

use passerelle_audit::{AuditStore, EntryKind};

use super::{ProcessError, Step, Termination, now_text, parse_role, role_str, serialize_role, trail};
use crate::store::direct::{Columns, Db, row, rows};

/// One negotiation as this side sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NegotiationRecord {
    /// This side's pid.
    pub pid: String,
    /// The role this connector plays.
    #[serde(serialize_with = "serialize_role")]
    pub side: Role,
    pub counterparty_pid: Option<String>,
    pub state: State,
    /// The counter-party's verified participant id (`None`: no authentication was in place).
    pub counterparty_id: Option<String>,
    /// Where messages to the counter-party go.
    pub counterparty_address: Option<String>,
    /// The dataset negotiated for (the offer's target).
    pub dataset_id: Option<String>,
    /// The last offer exchanged.
    pub offer: Option<Value>,
    pub agreement_id: Option<String>,
    pub termination: Option<Termination>,
    pub history: Vec<Step>,
    /// The last error a counter-party answered to one of our messages.
    pub last_error: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Steps already in the audit trail (the stored history's length when loaded).
    #[serde(skip)]
    pub(crate) audited_steps: usize,
}

impl NegotiationRecord {
    pub(crate) fn new(side: Role, pid: String) -> NegotiationRecord {
        let now = now_text();
        NegotiationRecord {
            pid,
            side,
            counterparty_pid: None,
            state: State::Requested,
            counterparty_id: None,
            counterparty_address: None,
            dataset_id: None,
            offer: None,
            agreement_id: None,
            termination: None,
            history: Vec::new(),
            last_error: None,
            created_at: now.clone(),
            updated_at: now,
            audited_steps: 0,
        }
    }

    pub fn provider_pid(&self) -> Option<&str> {
        self.pid_of(Role::Provider)
    }

    pub fn consumer_pid(&self) -> Option<&str> {
        self.pid_of(Role::Consumer)
    }

    fn pid_of(&self, role: Role) -> Option<&str> {
        if role == self.side { Some(&self.pid) } else { self.counterparty_pid.as_deref() }
    }

    /// The ACK for the current state.
    pub fn ack(&self) -> ContractNegotiation {
        self.ack_in(self.state)
    }

    /// The ACK describing this negotiation in `state` (an unknown counter-party pid is written empty).
    pub fn ack_in(&self, state: State) -> ContractNegotiation {
        ContractNegotiation::new(
            self.provider_pid().unwrap_or_default(),
            self.consumer_pid().unwrap_or_default(),
            state,
        )
    }

    /// The state the first message led to: the answer to a repeated creating message.
    pub fn first_state(&self) -> State {
        self.history.first().and_then(|s| parse_state(&s.state)).unwrap_or(self.state)
    }

    /// A caller may see and move the process if no participant was recorded, or if it is that participant.
    pub fn admits(&self, caller: Option<&str>) -> bool {
        self.counterparty_id.is_none() || self.counterparty_id.as_deref() == caller
    }

    /// Applies `kind` from `sender`: `Ok(true)` on a transition, `Ok(false)` for a replay
    /// (same ACK), an error with the record untouched otherwise. A counter-party pid seen
    /// for the first time is learned.
    pub(crate) fn advance(
        &mut self,
        kind: MessageKind,
        sender: Role,
        theirs: Option<&str>,
    ) -> Result<bool, ProtocolError> {
        if let (Some(given), Some(known)) = (theirs, &self.counterparty_pid)
            && given != known
        {
            return Err(ProtocolError::BadRequest(format!(
                "negotiation `{}` belongs to {} process `{known}`, but the message names `{given}`",
                self.pid,
                self.side.counterpart()
            )));
        }
        let changed = match next(Some(self.state), kind, sender) {
            Ok(state) => {
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
}

pub(crate) fn parse_state(text: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.as_str() == text)
}

fn corrupt(pid: &str, what: &str) -> ProcessError {
    ProcessError::Store(format!(
        "stored negotiation `{pid}` has an unreadable {what}; the database was changed outside Passerelle"
    ))
}

/// A JSON column of a process row (`None` for NULL); `kind` names the process in the error.
pub(crate) fn json_column<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    column: &str,
    kind: &str,
    pid: &str,
) -> Result<Option<T>, ProcessError> {
    row.text(column)
        .map_err(ProcessError::Store)?
        .map(|t| {
            serde_json::from_str(&t).map_err(|_| {
                ProcessError::Store(format!(
                    "stored {kind} `{pid}` has an unreadable {column}; the database was changed outside Passerelle"
                ))
            })
        })
        .transpose()
}

fn empty_as_none(text: Option<String>) -> Option<String> {
    text.filter(|t| !t.is_empty())
}

/// The columns of a row the mapping needs, with the store error naming what is wrong.
pub(crate) fn text(row: &impl Columns, column: &str) -> Result<Option<String>, ProcessError> {
    row.text(column).map_err(ProcessError::Store)
}

pub(crate) fn required(row: &impl Columns, column: &str) -> Result<String, ProcessError> {
    row.required_text(column).map_err(ProcessError::Store)
}

impl NegotiationRecord {
    pub(crate) fn from_row(row: &impl Columns) -> Result<NegotiationRecord, ProcessError> {
        let pid = required(row, "pid")?;
        let side = required(row, "side")?;
        let state = required(row, "state")?;
        let history: Vec<Step> = json_column(row, "history", "negotiation", &pid)?.unwrap_or_default();
        Ok(NegotiationRecord {
            audited_steps: history.len(),
            history,
            side: parse_role(&side).ok_or_else(|| corrupt(&pid, "side"))?,
            state: parse_state(&state).ok_or_else(|| corrupt(&pid, "state"))?,
            counterparty_pid: text(row, "counterparty_pid")?,
            counterparty_id: empty_as_none(text(row, "counterparty_id")?),
            counterparty_address: text(row, "counterparty_address")?,
            dataset_id: text(row, "dataset_id")?,
            offer: json_column(row, "offer", "negotiation", &pid)?,
            agreement_id: text(row, "agreement_id")?,
            termination: json_column(row, "termination", "negotiation", &pid)?,
            last_error: text(row, "last_error")?,
            created_at: required(row, "created_at")?,
            updated_at: required(row, "updated_at")?,
            pid,
        })
    }

    /// Inserts or updates the row (by pid) and appends the steps not yet in the audit trail,
    /// in the caller's transaction. A unique-index conflict (another row for the same
    /// counter-party pid) is returned as the error.
    pub(crate) fn save(&mut self, db: &Db, journal: &trail::Journal) -> Result<(), ProcessError> {
        self.upsert(db)?;
        let process = trail::ProcessRef {
            kind: EntryKind::NEGOTIATION_STATE,
            pid: &self.pid,
            side: self.side,
            counterparty_id: self.counterparty_id.as_deref(),
            counterparty_pid: self.counterparty_pid.as_deref(),
            about: serde_json::json!({"datasetId": self.dataset_id, "agreementId": self.agreement_id}),
        };
        trail::append_new_steps(journal, db, &process, &self.history, &mut self.audited_steps)
    }

    fn upsert(&self, db: &Db) -> Result<(), rusqlite::Error> {
        let to_text = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        let termination = self.termination.as_ref().and_then(|t| serde_json::to_string(t).ok());
        let history = serde_json::to_string(&self.history).unwrap_or_else(|_| "[]".into());
        db.prepare_cached(
            "INSERT INTO negotiations (pid, side, counterparty_pid, state, counterparty_id, counterparty_address,
                 dataset_id, offer, agreement_id, termination, history, last_error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (pid) DO UPDATE SET counterparty_pid = excluded.counterparty_pid, state = excluded.state,
                 counterparty_address = excluded.counterparty_address, dataset_id = excluded.dataset_id,
                 offer = excluded.offer, agreement_id = excluded.agreement_id, termination = excluded.termination,
                 history = excluded.history, last_error = excluded.last_error, updated_at = excluded.updated_at",
        )?
        .execute(rusqlite::params![
            self.pid,
            role_str(self.side),
            self.counterparty_pid,
            self.state.as_str(),
            self.counterparty_id.clone().unwrap_or_default(),
            self.counterparty_address,
            self.dataset_id,
            to_text(&self.offer),
            self.agreement_id,
            termination,
            history,
            self.last_error,
            self.created_at,
            self.updated_at,
        ])
        .map(|_| ())
    }
}

impl ProcessRow for NegotiationRecord {
    const TABLE: &'static str = "negotiations";

    fn from_row(row: &impl Columns) -> Result<Self, ProcessError> {
        NegotiationRecord::from_row(row)
    }
}

/// A process kind's table and row mapping: the same lookups serve negotiations and transfers.
pub(crate) trait ProcessRow: Sized {
    const TABLE: &'static str;

    fn from_row(row: &impl Columns) -> Result<Self, ProcessError>;

    fn load(db: &Db, side: Role, pid: &str) -> Result<Option<Self>, ProcessError> {
        let sql = format!("SELECT * FROM {} WHERE pid = ? AND side = ?", Self::TABLE);
        row(db, &sql, (pid, role_str(side)), |r| Self::from_row(r))
    }

    /// Any side: the management API names processes by our pid alone.
    fn load_any(db: &Db, pid: &str) -> Result<Option<Self>, ProcessError> {
        row(db, &format!("SELECT * FROM {} WHERE pid = ?", Self::TABLE), [pid], |r| Self::from_row(r))
    }

    fn find_by_counterparty(
        db: &Db,
        side: Role,
        counterparty_id: Option<&str>,
        counterparty_pid: &str,
    ) -> Result<Option<Self>, ProcessError> {
        let sql =
            format!("SELECT * FROM {} WHERE side = ? AND counterparty_id = ? AND counterparty_pid = ?", Self::TABLE);
        row(db, &sql, (role_str(side), counterparty_id.unwrap_or_default(), counterparty_pid), |r| Self::from_row(r))
    }

    /// Every process of the kind, newest first.
    fn list(db: &Db) -> Result<Vec<Self>, ProcessError> {
        rows(db, &format!("SELECT * FROM {} ORDER BY created_at DESC, pid", Self::TABLE), [], |r| Self::from_row(r))
    }
}

/// An agreement as stored (immutable).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AgreementRecord {
    pub id: String,
    /// `provider` or `consumer`: the role this connector plays in it.
    pub side: String,
    pub negotiation_pid: String,
    /// The dataset it grants access to.
    pub target: String,
    pub assigner: String,
    pub assignee: String,
    pub timestamp: String,
    /// The ODRL Agreement as exchanged.
    pub agreement: Value,
    pub created_at: String,
}

impl AgreementRecord {
    pub(crate) fn from_row(row: &impl Columns) -> Result<AgreementRecord, ProcessError> {
        let id = required(row, "id")?;
        let doc = required(row, "doc")?;
        Ok(AgreementRecord {
            agreement: serde_json::from_str(&doc).map_err(|_| {
                ProcessError::Store(format!(
                    "stored agreement `{id}` is not JSON; the database was changed outside Passerelle"
                ))
            })?,
            side: required(row, "side")?,
            negotiation_pid: required(row, "negotiation_pid")?,
            target: required(row, "target")?,
            assigner: required(row, "assigner")?,
            assignee: required(row, "assignee")?,
            timestamp: required(row, "timestamp")?,
            created_at: required(row, "created_at")?,
            id,
        })
    }

    /// Stores `agreement` once (a repeat is a no-op) and, the first time, records it in the
    /// audit trail in the same transaction.
    pub(crate) fn insert(
        db: &Db,
        audit: &AuditStore,
        side: Role,
        negotiation_pid: &str,
        agreement: &passerelle_dsp::message::policy::Agreement,
    ) -> Result<(), ProcessError> {
        let inserted = db
            .prepare_cached(
                "INSERT INTO agreements (id, side, negotiation_pid, target, assigner, assignee, timestamp, doc, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, side) DO NOTHING",
            )?
            .execute(rusqlite::params![
                agreement.id(),
                role_str(side),
                negotiation_pid,
                agreement.target(),
                agreement.assigner(),
                agreement.assignee(),
                agreement.timestamp(),
                agreement.as_value().to_string(),
                now_text(),
            ])?
            == 1;
        if inserted {
            let draft = trail::agreement(side, negotiation_pid, agreement);
            trail::append(audit, db, vec![draft]).map_err(ProcessError::Store)?;
        }
        Ok(())
    }

    pub(crate) fn load(db: &Db, id: &str, side: Option<Role>) -> Result<Option<AgreementRecord>, ProcessError> {
        let side = side.map(role_str);
        row(
            db,
            "SELECT * FROM agreements WHERE id = ?1 AND (?2 IS NULL OR side = ?2) ORDER BY side LIMIT 1",
            rusqlite::params![id, side],
            |r| AgreementRecord::from_row(r),
        )
    }

    pub(crate) fn list(db: &Db) -> Result<Vec<AgreementRecord>, ProcessError> {
        rows(db, "SELECT * FROM agreements ORDER BY created_at DESC, id", [], |r| AgreementRecord::from_row(r))
    }
}
