//! Negotiations and agreements as rows: load, save, list.

use passerelle_dsp::message::negotiation::ContractNegotiation;
use passerelle_dsp::negotiation::{MessageKind, State, is_replay, next};
use passerelle_dsp::process::{ProtocolError, Role};
use serde::Serialize;
use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, Sqlite, SqliteConnection};

use passerelle_audit::{AuditStore, EntryKind};

use super::{ProcessError, Step, Termination, now_text, parse_role, role_str, serialize_role, trail};

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

fn json_column<T: serde::de::DeserializeOwned>(
    row: &SqliteRow,
    column: &str,
    pid: &str,
) -> Result<Option<T>, ProcessError> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| serde_json::from_str(&t).map_err(|_| corrupt(pid, column))).transpose()
}

fn empty_as_none(text: String) -> Option<String> {
    if text.is_empty() { None } else { Some(text) }
}

impl NegotiationRecord {
    fn from_row(row: &SqliteRow) -> Result<NegotiationRecord, ProcessError> {
        let pid: String = row.try_get("pid")?;
        let side: String = row.try_get("side")?;
        let state: String = row.try_get("state")?;
        let history: Vec<Step> = json_column(row, "history", &pid)?.unwrap_or_default();
        Ok(NegotiationRecord {
            audited_steps: history.len(),
            history,
            side: parse_role(&side).ok_or_else(|| corrupt(&pid, "side"))?,
            state: parse_state(&state).ok_or_else(|| corrupt(&pid, "state"))?,
            counterparty_pid: row.try_get("counterparty_pid")?,
            counterparty_id: empty_as_none(row.try_get("counterparty_id")?),
            counterparty_address: row.try_get("counterparty_address")?,
            dataset_id: row.try_get("dataset_id")?,
            offer: json_column(row, "offer", &pid)?,
            agreement_id: row.try_get("agreement_id")?,
            termination: json_column(row, "termination", &pid)?,
            last_error: row.try_get("last_error")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
            pid,
        })
    }

    /// Inserts or updates the row (by pid) and appends the steps not yet in the audit trail,
    /// in the caller's transaction. A unique-index conflict (another row for the same
    /// counter-party pid) is returned as the error.
    pub(crate) async fn save(
        &mut self,
        conn: &mut SqliteConnection,
        journal: &trail::Journal,
    ) -> Result<(), ProcessError> {
        self.upsert(conn).await?;
        let process = trail::ProcessRef {
            kind: EntryKind::NEGOTIATION_STATE,
            pid: &self.pid,
            side: self.side,
            counterparty_id: self.counterparty_id.as_deref(),
            counterparty_pid: self.counterparty_pid.as_deref(),
            about: serde_json::json!({"datasetId": self.dataset_id, "agreementId": self.agreement_id}),
        };
        trail::append_new_steps(journal, conn, &process, &self.history, &mut self.audited_steps).await
    }

    async fn upsert(&self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        let to_text = |v: &Option<Value>| v.as_ref().map(Value::to_string);
        let termination = self.termination.as_ref().and_then(|t| serde_json::to_string(t).ok());
        let history = serde_json::to_string(&self.history).unwrap_or_else(|_| "[]".into());
        sqlx::query(
            "INSERT INTO negotiations (pid, side, counterparty_pid, state, counterparty_id, counterparty_address,
                 dataset_id, offer, agreement_id, termination, history, last_error, created_at, updated_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
             ON CONFLICT (pid) DO UPDATE SET counterparty_pid = excluded.counterparty_pid, state = excluded.state,
                 counterparty_address = excluded.counterparty_address, dataset_id = excluded.dataset_id,
                 offer = excluded.offer, agreement_id = excluded.agreement_id, termination = excluded.termination,
                 history = excluded.history, last_error = excluded.last_error, updated_at = excluded.updated_at",
        )
        .bind(&self.pid)
        .bind(role_str(self.side))
        .bind(&self.counterparty_pid)
        .bind(self.state.as_str())
        .bind(self.counterparty_id.clone().unwrap_or_default())
        .bind(&self.counterparty_address)
        .bind(&self.dataset_id)
        .bind(to_text(&self.offer))
        .bind(&self.agreement_id)
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
    ) -> Result<Option<NegotiationRecord>, ProcessError> {
        let row = sqlx::query("SELECT * FROM negotiations WHERE pid = ? AND side = ?")
            .bind(pid)
            .bind(role_str(side))
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(NegotiationRecord::from_row).transpose()
    }

    /// Any side: the management API names processes by our pid alone.
    pub(crate) async fn load_any(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
        pid: &str,
    ) -> Result<Option<NegotiationRecord>, ProcessError> {
        let row = sqlx::query("SELECT * FROM negotiations WHERE pid = ?").bind(pid).fetch_optional(executor).await?;
        row.as_ref().map(NegotiationRecord::from_row).transpose()
    }

    pub(crate) async fn find_by_counterparty(
        conn: &mut SqliteConnection,
        side: Role,
        counterparty_id: Option<&str>,
        counterparty_pid: &str,
    ) -> Result<Option<NegotiationRecord>, ProcessError> {
        let row =
            sqlx::query("SELECT * FROM negotiations WHERE side = ? AND counterparty_id = ? AND counterparty_pid = ?")
                .bind(role_str(side))
                .bind(counterparty_id.unwrap_or_default())
                .bind(counterparty_pid)
                .fetch_optional(conn)
                .await?;
        row.as_ref().map(NegotiationRecord::from_row).transpose()
    }

    /// Every negotiation, newest first.
    pub(crate) async fn list(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
    ) -> Result<Vec<NegotiationRecord>, ProcessError> {
        let rows = sqlx::query("SELECT * FROM negotiations ORDER BY created_at DESC, pid").fetch_all(executor).await?;
        rows.iter().map(NegotiationRecord::from_row).collect()
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
    fn from_row(row: &SqliteRow) -> Result<AgreementRecord, ProcessError> {
        let id: String = row.try_get("id")?;
        let doc: String = row.try_get("doc")?;
        Ok(AgreementRecord {
            agreement: serde_json::from_str(&doc).map_err(|_| {
                ProcessError::Store(format!(
                    "stored agreement `{id}` is not JSON; the database was changed outside Passerelle"
                ))
            })?,
            side: row.try_get("side")?,
            negotiation_pid: row.try_get("negotiation_pid")?,
            target: row.try_get("target")?,
            assigner: row.try_get("assigner")?,
            assignee: row.try_get("assignee")?,
            timestamp: row.try_get("timestamp")?,
            created_at: row.try_get("created_at")?,
            id,
        })
    }

    /// Stores an agreement once; storing the same id for the same side again changes nothing.
    /// Stores `agreement` once (a repeat is a no-op) and, the first time, records it in the
    /// audit trail in the same transaction.
    pub(crate) async fn insert(
        conn: &mut SqliteConnection,
        audit: &AuditStore,
        side: Role,
        negotiation_pid: &str,
        agreement: &passerelle_dsp::message::policy::Agreement,
    ) -> Result<(), ProcessError> {
        let inserted = Self::insert_row(&mut *conn, side, negotiation_pid, agreement).await?;
        if inserted {
            let draft = trail::agreement(side, negotiation_pid, agreement);
            trail::append(audit, conn, vec![draft]).await.map_err(ProcessError::Store)?;
        }
        Ok(())
    }

    async fn insert_row(
        conn: &mut SqliteConnection,
        side: Role,
        negotiation_pid: &str,
        agreement: &passerelle_dsp::message::policy::Agreement,
    ) -> Result<bool, sqlx::Error> {
        sqlx::query(
            "INSERT INTO agreements (id, side, negotiation_pid, target, assigner, assignee, timestamp, doc, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id, side) DO NOTHING",
        )
        .bind(agreement.id())
        .bind(role_str(side))
        .bind(negotiation_pid)
        .bind(agreement.target())
        .bind(agreement.assigner())
        .bind(agreement.assignee())
        .bind(agreement.timestamp())
        .bind(agreement.as_value().to_string())
        .bind(now_text())
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1)
    }

    pub(crate) async fn load(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
        id: &str,
        side: Option<Role>,
    ) -> Result<Option<AgreementRecord>, ProcessError> {
        let row =
            sqlx::query("SELECT * FROM agreements WHERE id = ? AND (? IS NULL OR side = ?) ORDER BY side LIMIT 1")
                .bind(id)
                .bind(side.map(role_str))
                .bind(side.map(role_str))
                .fetch_optional(executor)
                .await?;
        row.as_ref().map(AgreementRecord::from_row).transpose()
    }

    pub(crate) async fn list(
        executor: impl sqlx::Executor<'_, Database = Sqlite>,
    ) -> Result<Vec<AgreementRecord>, ProcessError> {
        let rows = sqlx::query("SELECT * FROM agreements ORDER BY created_at DESC, id").fetch_all(executor).await?;
        rows.iter().map(AgreementRecord::from_row).collect()
    }
}
