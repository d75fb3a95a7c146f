//! `passerelle audit`: checking and exporting the connector's audit trail (the log itself
//! lives in `passerelle-audit`; the process host writes it, see `contracts::trail`).
//!
//! Verification recomputes the hash chain over every stored entry and checks each signed
//! checkpoint against the keys this connector publishes in its DID document, so it proves
//! the same thing to an operator here as the export proves to an auditor elsewhere.

use std::path::{Path, PathBuf};

use passerelle_audit::{AuditStore, Break, KeyResolver, Summary, VerifyError};
use passerelle_identity::keys::PublicKey;
use serde_json::json;

use crate::config::Config;
use crate::identity::ParticipantIdentity;
use crate::store::Store;

/// File names of an export.
pub const ENTRIES_FILE: &str = "audit-entries.jsonl";
pub const CHECKPOINTS_FILE: &str = "audit-checkpoints.jsonl";

/// Why an audit command could not run (a broken chain is an outcome, not an error).
#[derive(Debug, thiserror::Error)]
pub enum AuditCommandError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Identity(#[from] crate::identity::IdentityError),
    #[error("cannot read the audit trail: {0}")]
    Read(String),
    #[error("cannot write {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The outcome of `passerelle audit verify`.
#[derive(Debug)]
pub enum Verdict {
    Intact(Summary),
    /// The first place where the stored log differs from what was written.
    Broken(Break),
}

impl Verdict {
    /// Text for people, or JSON (`{"intact": …}`) for tools.
    pub fn render(&self, as_json: bool) -> String {
        match (self, as_json) {
            (Verdict::Intact(s), false) => format!(
                "audit trail intact: {} entries, {} signed checkpoint(s), {} entr{} after the last checkpoint\n",
                s.entries,
                s.checkpoints,
                s.unsealed,
                if s.unsealed == 1 { "y" } else { "ies" }
            ),
            (Verdict::Broken(b), false) => format!("audit trail BROKEN: {b}\n"),
            (Verdict::Intact(s), true) => json!({
                "intact": true,
                "entries": s.entries,
                "checkpoints": s.checkpoints,
                "unsealed": s.unsealed,
                "head": s.head.as_ref().map(|(seq, hash)| json!({"seq": seq, "hash": hash.to_string()})),
            })
            .to_string(),
            (Verdict::Broken(b), true) => {
                json!({"intact": false, "entry": b.seq(), "problem": b.to_string()}).to_string()
            }
        }
    }
}

/// The connector's published keys, by DID URL (`did:web:…#kid`), for checkpoint signatures.
pub(crate) struct PublishedKeys {
    did: String,
    keys: Vec<(String, PublicKey)>,
}

impl PublishedKeys {
    pub(crate) fn of(identity: &ParticipantIdentity) -> PublishedKeys {
        let keys = identity.keys().keys.iter().filter_map(|k| Some((k.kid.clone(), k.public_key().ok()?))).collect();
        PublishedKeys { did: identity.did().to_string(), keys }
    }
}

impl KeyResolver for PublishedKeys {
    fn resolve(&self, kid: &str) -> Option<PublicKey> {
        let (did, fragment) = kid.split_once('#')?;
        if did != self.did {
            return None;
        }
        self.keys.iter().find(|(k, _)| k == fragment).map(|(_, key)| key.clone())
    }
}

async fn open(config: &Config) -> Result<(Store, AuditStore, PublishedKeys), AuditCommandError> {
    let identity = ParticipantIdentity::load(config)?;
    let store = Store::open(&config.store).await?;
    let audit = AuditStore::new(store.pool().clone());
    Ok((store, audit, PublishedKeys::of(&identity)))
}

/// Recomputes the chain and checks the checkpoints of the connector configured by `config`.
pub async fn verify(config: &Config) -> Result<Verdict, AuditCommandError> {
    let (store, audit, keys) = open(config).await?;
    let outcome = audit.verify(&keys).await;
    store.close().await;
    match outcome {
        Ok(summary) => Ok(Verdict::Intact(summary)),
        Err(VerifyError::Broken(b)) => Ok(Verdict::Broken(b)),
        Err(other) => Err(AuditCommandError::Read(other.to_string())),
    }
}

/// Writes the trail to `dir` as JSON Lines (entries) and one JWS per line (checkpoints);
/// returns the two counts.
pub async fn export(config: &Config, dir: &Path) -> Result<(u64, u64), AuditCommandError> {
    let (store, audit, _) = open(config).await?;
    std::fs::create_dir_all(dir).map_err(|source| AuditCommandError::Write { path: dir.to_path_buf(), source })?;
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .map(std::io::BufWriter::new)
            .map_err(|source| AuditCommandError::Write { path, source })
    };
    let (entries, checkpoints) = (create(ENTRIES_FILE)?, create(CHECKPOINTS_FILE)?);
    let counts = audit.export(entries, checkpoints).await.map_err(|e| AuditCommandError::Read(e.to_string()));
    store.close().await;
    counts
}
