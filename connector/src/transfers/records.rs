//! Transfer processes as rows.

use passerelle_dsp::message::transfer::{DataAddress, TransferProcess};
use passerelle_dsp::process::{ProtocolError, Role};
use passerelle_dsp::transfer::{MessageKind, State, TransferMessage, is_replay, next};
use serde::Serialize;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection};

use passerelle_audit::EntryKind;

use crate::contracts::trail;
use crate::contracts::{ProcessError, Step, Termination, now_text, parse_role, role_str, serialize_role};

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

    fn from_row(row: &SqliteRow) -> Result<TransferRecord, ProcessError> {
        let pid: String = row.try_get("pid")?;
        let corrupt = |what: &str| {
            ProcessError::Store(format!(
                "stored transfer `{pid}` has an unreadable {what}; the database was changed outside Passerelle"
            ))
        };
        let side: String = row.try_get("side")?;
        let state: String = row.try_get("state")?;
        let json = |column: &str| -> Result<Option<String>, ProcessError> { Ok(row.try_get(column)?) };
        let data_address =
            json("data_address")?.map(|t| serde_json::from_str(&t).map_err(|_| corrupt("data address"))).transpose()?;
        let termination =
            json("termination")?.map(|t| serde_json::from_str(&t).map_err(|_| corrupt("termination"))).transpose()?;
        let history: Vec<Step> = json("history")?
            .map(|t| serde_json::from_str(&t).map_err(|_| corrupt("history")))
            .transpose()?
            .unwrap_or_default();
        let counterparty_id: String = row.try_get("counterparty_id")?;
        Ok(TransferRecord {
            side: parse_role(&side).ok_or_else(|| corrupt("side"))?,
            state: parse_state(&state).ok_or_else(|| corrupt("state"))?,
            counterparty_pid: row.try_get("counterparty_pid")?,
            counterparty_id: (!counterparty_id.is_empty()).then_some(counterparty_id),
            counterparty_address: row.try_get("counterparty_address")?,
            audience: row.try_get("audience")?,
            agreement_id: row.try_get("agreement_id")?,
            format: row.try_get("format")?,
            data_address,
            termination,
            audited_steps: history.len(),
            history,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            pid,
        })
    }

    /// Inserts or updates the row and appends the steps not yet in the audit trail, in the
    /// caller's transaction.
    pub(crate) async fn save(
        &mut self,
        conn: &mut SqliteConnection,
        journal: &trail::Journal,
    ) -> Result<(), ProcessError> {
        self.upsert(conn).await?;
        let process = trail::ProcessRef {
            kind: EntryKind::TRANSFER_STATE,
            pid: &self.pid,
            side: self.side,
            counterparty_id: self.counterparty_id.as_deref(),
            counterparty_pid: self.counterparty_pid.as_deref(),
            about: serde_json::json!({"agreementId": self.agreement_id, "format": self.format}),
        };
        trail::append_new_steps(journal, conn, &process, &self.history, &mut self.audited_steps).await
    }

    async fn upsert(&self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let data_address = self.data_address.as_ref().and_then(|a| serde_json::to_string(a).ok());
        let termination = self.termination.as_ref().and_then(|t| serde_json::to_string(t).ok());
        let history = serde_json::to_string(&self.history).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO transfers (pid, side, counterparty_pid, state, counterparty_id, counterparty_address, audience,
                 agreement_id, format, data_address, termination, history, last_error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (pid) DO UPDATE SET counterparty_pid = excluded.counterparty_pid, state = excluded.state,
                 counterparty_address = excluded.counterparty_address, data_address = excluded.data_address,
                 termination = excluded.termination, history = excluded.history, last_error = excluded.last_error,
                 updated_at = excluded.updated_at",
        )
        .bind(&self.pid)
        .bind(role_str(self.side))
        .bind(&self.counterparty_pid)
        .bind(self.state.as_str())
        .bind(self.counterparty_id.clone().unwrap_or_default())
        .bind(&self.counterparty_address)
        .bind(&self.audience)
        .bind(&self.agreement_id)
        .bind(&self.format)
        .bind(data_address)
        .bind(termination)
        .bind(history)
        .bind(&self.last_error)
        .bind(&self.created_at)
        .bind(&self.updated_at)
        .execute(conn)
        .await
        .map(|_| ())
    }

    pub(crate) async fn load(
        conn: &mut SqliteConnection,
        side: Role,
        pid: &str,
    ) -> Result<Option<TransferRecord>, ProcessError> {
        let row = sqlx::query("SELECT * FROM transfers WHERE pid = ? AND side = ?")
            .bind(pid)
            .bind(role_str(side))
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(TransferRecord::from_row).transpose()
    }

    pub(crate) async fn load_any(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
        pid: &str,
    ) -> Result<Option<TransferRecord>, ProcessError> {
        let row = sqlx::query("SELECT * FROM transfers WHERE pid = ?").bind(pid).fetch_optional(executor).await?;
        row.as_ref().map(TransferRecord::from_row).transpose()
    }

    pub(crate) async fn find_by_counterparty(
        conn: &mut SqliteConnection,
        side: Role,
        counterparty_id: Option<&str>,
        counterparty_pid: &str,
    ) -> Result<Option<TransferRecord>, ProcessError> {
        let row =
            sqlx::query("SELECT * FROM transfers WHERE side = ? AND counterparty_id = ? AND counterparty_pid = ?")
                .bind(role_str(side))
                .bind(counterparty_id.unwrap_or_default())
                .bind(counterparty_pid)
                .fetch_optional(conn)
                .await?;
        row.as_ref().map(TransferRecord::from_row).transpose()
    }

    pub(crate) async fn list(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
    ) -> Result<Vec<TransferRecord>, ProcessError> {
        let rows = sqlx::query("SELECT * FROM transfers ORDER BY created_at DESC, pid").fetch_all(executor).await?;
        rows.iter().map(TransferRecord::from_row).collect()
    }
}

pub(crate) fn parse_state(text: &str) -> Option<State> {
    State::ALL.into_iter().find(|s| s.as_str() == text)
}
