//! The errors of the store and of verification.

use std::io;

use crate::checkpoint::CheckpointError;
use crate::verify::Break;

/// Why the audit store could not do what was asked (not: why the log is untrustworthy,
/// which is a [`Break`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("audit store: cannot {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("audit store: cannot {action}: {source}")]
    Direct {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("audit_log row {seq} cannot be read back: {reason}")]
    Corrupt { seq: i64, reason: String },
    #[error("no checkpoint signer is configured; build the store with `AuditStore::with_checkpoints`")]
    NoSigner,
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error("the audit log is full: sequence numbers above {} cannot be stored", i64::MAX)]
    SeqOverflow,
    #[error("import needs an empty audit log; this one already holds {0} entries")]
    NotEmpty(u64),
    #[error("cannot write the {what}: {source}")]
    Write {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |source| StoreError::Database { action, source }
}

pub(crate) fn direct(action: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Direct { action, source }
}

/// Why a verification did not produce a [`crate::Summary`].
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the audit log does not verify: {0}")]
    Broken(#[from] Break),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read the {what}: {source}")]
    Read {
        what: &'static str,
        #[source]
        source: io::Error,
    },
}

impl VerifyError {
    /// The break, when the log itself is at fault.
    pub fn as_break(&self) -> Option<&Break> {
        match self {
            VerifyError::Broken(b) => Some(b),
            _ => None,
        }
    }
}
