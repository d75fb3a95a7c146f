//! The audit trail of a Passerelle connector: an append-only, hash-chained log of every
//! contract and exchange event (negotiation and transfer states, agreements, exchange
//! events, delivery receipts, policy decisions).
//!
//! Each [`Entry`] carries the hash of the one before it ([`entry`]); the connector
//! signs the head of the chain every N entries and on demand as a JWS with its DID key
//! ([`checkpoint`]). [`verify_chain`] walks a chain once and names the first altered,
//! missing, moved or inserted entry ([`Break`]); signed checkpoints also expose a
//! wholesale rewrite or a cut tail. [`AuditStore`] keeps the log in SQLite (its own
//! tables, serialised appends, streaming verification), and [`export`] writes and
//! checks JSON Lines exports that an auditor or a counter-party verifies with nothing
//! but the connector's public keys.
//!
//! The pure parts (canonical JSON, chaining, verification) do no I/O and read no clock:
//! callers pass timestamps in.

pub mod canonical;
pub mod checkpoint;
pub mod entry;
pub mod error;
pub mod export;
pub mod store;
pub mod verify;

pub use checkpoint::{
    CHECKPOINT_TYP, Checkpoint, CheckpointError, CheckpointSigner, KeyResolver, KeySet, SignedCheckpoint,
    VerifiedCheckpoints,
};
pub use entry::{ChainHash, ChainHead, Entry, EntryDraft, EntryError, EntryKind, Timestamp, entry_after, next_entry};
pub use error::{StoreError, VerifyError};
pub use export::verify_export;
pub use store::AuditStore;
pub use verify::{Break, ChainVerifier, Summary, verify_chain};
