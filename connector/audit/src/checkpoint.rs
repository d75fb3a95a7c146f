//! Signed checkpoints: the connector's signature over the chain head at some entry.
//!
//! The hash chain alone shows that entries were not altered *relative to each other*;
//! whoever can write the database could still rewrite every hash from some point on,
//! or cut the tail. A checkpoint — `{seq, hash, at, kid}` signed as a compact JWS with
//! the connector's DID key — pins the head at `seq`, so a rewrite before it or a cut
//! after it is detected by anyone holding the connector's public keys.

use std::collections::HashMap;

use passerelle_identity::jose::{DecodedJws, JwsError, sign_compact};
use passerelle_identity::keys::{KeyPair, PublicKey};
use serde_json::{Value, json};

use crate::entry::{ChainHash, ChainHead, EntryError, Timestamp};

/// The JWS `typ` of a checkpoint, so that no other token of the connector's key can
/// be replayed as one.
pub const CHECKPOINT_TYP: &str = "passerelle-audit-checkpoint+jwt";

/// Why a checkpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot sign the checkpoint: {0}")]
    Sign(String),
    #[error("the checkpoint is not a readable JWS: {0}")]
    Jws(JwsError),
    #[error("the JWS type is {found:?}; a checkpoint has typ `{CHECKPOINT_TYP}`")]
    WrongType { found: Option<String> },
    #[error("the checkpoint claims are invalid: {0}")]
    Claims(String),
    #[error("the header kid {header:?} differs from the signed kid `{claim}`")]
    KidMismatch { header: Option<String>, claim: String },
    #[error("no public key is known for kid `{0}`; add the connector's DID key to the verifier's key set")]
    UnknownKey(String),
    #[error("the signature does not verify with the key for `{kid}`: {reason}")]
    BadSignature { kid: String, reason: JwsError },
}

/// The signed statement: "the entry with sequence `seq` has hash `hash`".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub hash: ChainHash,
    /// When it was signed.
    pub at: Timestamp,
    /// The DID URL of the signing key (`did:web:…#key-id`).
    pub kid: String,
}

/// A checkpoint with its compact JWS; the fields are read from the JWS itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    checkpoint: Checkpoint,
    jws: String,
}

impl SignedCheckpoint {
    /// Reads a checkpoint JWS without checking its signature ([`SignedCheckpoint::verify`] does).
    pub fn from_jws(jws: &str) -> Result<SignedCheckpoint, CheckpointError> {
        let decoded = DecodedJws::decode(jws.trim()).map_err(CheckpointError::Jws)?;
        Ok(SignedCheckpoint { checkpoint: claims(&decoded)?, jws: jws.trim().to_string() })
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    pub fn jws(&self) -> &str {
        &self.jws
    }

    /// Checks the type, the key binding and the signature.
    pub fn verify(&self, keys: &impl KeyResolver) -> Result<(), CheckpointError> {
        let decoded = DecodedJws::decode(&self.jws).map_err(CheckpointError::Jws)?;
        if decoded.typ.as_deref() != Some(CHECKPOINT_TYP) {
            return Err(CheckpointError::WrongType { found: decoded.typ.clone() });
        }
        let kid = &self.checkpoint.kid;
        if decoded.kid.as_deref() != Some(kid.as_str()) {
            return Err(CheckpointError::KidMismatch { header: decoded.kid.clone(), claim: kid.clone() });
        }
        let key = keys.resolve(kid).ok_or_else(|| CheckpointError::UnknownKey(kid.clone()))?;
        decoded.verify(&key).map_err(|reason| CheckpointError::BadSignature { kid: kid.clone(), reason })
    }
}

fn claims(decoded: &DecodedJws) -> Result<Checkpoint, CheckpointError> {
    let bad = |why: &str| CheckpointError::Claims(why.to_string());
    let seq = decoded.payload.get("seq").and_then(Value::as_u64).ok_or_else(|| bad("`seq` is not a number"))?;
    if seq == 0 {
        return Err(bad("`seq` is 0; entries start at 1"));
    }
    let hash = decoded
        .claim_str("hash")
        .ok_or_else(|| bad("`hash` is missing"))?
        .parse()
        .map_err(|e: EntryError| CheckpointError::Claims(e.to_string()))?;
    let at = Timestamp::parse(decoded.claim_str("at").ok_or_else(|| bad("`at` is missing"))?)
        .map_err(|e| CheckpointError::Claims(e.to_string()))?;
    let kid = decoded.claim_str("kid").ok_or_else(|| bad("`kid` is missing"))?.to_string();
    Ok(Checkpoint { seq, hash, at, kid })
}

/// The connector's key and the DID URL it is published under.
#[derive(Debug, Clone)]
pub struct CheckpointSigner {
    key: KeyPair,
    kid: String,
}

impl CheckpointSigner {
    /// `kid` is the verification method's DID URL, e.g. `did:web:lab.example#<key id>`.
    pub fn new(key: KeyPair, kid: impl Into<String>) -> CheckpointSigner {
        CheckpointSigner { key, kid: kid.into() }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one-key set that verifies this signer's checkpoints.
    pub fn key_set(&self) -> KeySet {
        let mut keys = KeySet::default();
        keys.insert(self.kid.clone(), self.key.public_key());
        keys
    }

    pub fn sign(&self, head: ChainHead, at: Timestamp) -> Result<SignedCheckpoint, CheckpointError> {
        let claims = json!({"seq": head.seq, "hash": head.hash.to_string(), "at": at.as_str(), "kid": self.kid});
        let jws = sign_compact(&self.key, &self.kid, CHECKPOINT_TYP, None, &claims)
            .map_err(|e| CheckpointError::Sign(e.to_string()))?;
        let checkpoint = Checkpoint { seq: head.seq, hash: head.hash, at, kid: self.kid.clone() };
        Ok(SignedCheckpoint { checkpoint, jws })
    }
}

/// Finds the public key for a checkpoint's `kid` (a DID URL).
///
/// A closure works (e.g. one backed by a DID resolver's cache); so does a [`KeySet`].
pub trait KeyResolver {
    fn resolve(&self, kid: &str) -> Option<PublicKey>;
}

impl<F: Fn(&str) -> Option<PublicKey>> KeyResolver for F {
    fn resolve(&self, kid: &str) -> Option<PublicKey> {
        self(kid)
    }
}

/// Public keys by DID URL: what an auditor is given alongside an export.
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    keys: HashMap<String, PublicKey>,
}

impl KeySet {
    pub fn insert(&mut self, kid: impl Into<String>, key: PublicKey) {
        self.keys.insert(kid.into(), key);
    }
}

impl KeyResolver for KeySet {
    fn resolve(&self, kid: &str) -> Option<PublicKey> {
        self.keys.get(kid).cloned()
    }
}

/// Checkpoints whose signatures have been checked, in sequence order; the only way to
/// hand checkpoints to [`crate::verify_chain`].
#[derive(Debug, Clone, Default)]
pub struct VerifiedCheckpoints {
    sorted: Vec<Checkpoint>,
}

impl VerifiedCheckpoints {
    /// No checkpoints: the chain is then only checked for internal consistency.
    pub fn none() -> VerifiedCheckpoints {
        VerifiedCheckpoints::default()
    }

    /// Verifies every signature; the first failure is returned with its checkpoint's seq.
    pub fn verify<'a>(
        signed: impl IntoIterator<Item = &'a SignedCheckpoint>,
        keys: &impl KeyResolver,
    ) -> Result<VerifiedCheckpoints, crate::Break> {
        let mut sorted = Vec::new();
        for checkpoint in signed {
            checkpoint
                .verify(keys)
                .map_err(|reason| crate::Break::BadCheckpoint { seq: Some(checkpoint.checkpoint.seq), reason })?;
            sorted.push(checkpoint.checkpoint.clone());
        }
        sorted.sort_by_key(|c| c.seq);
        Ok(VerifiedCheckpoints { sorted })
    }

    pub fn as_slice(&self) -> &[Checkpoint] {
        &self.sorted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn signer() -> CheckpointSigner {
        let key = passerelle_identity::keys::KeyPair::generate_es256().unwrap();
        let kid = format!("did:web:lab.example#{}", key.key_id());
        CheckpointSigner::new(key, kid)
    }

    fn head() -> ChainHead {
        ChainHead { seq: 42, hash: ChainHash([7; 32]) }
    }

    #[test]
    fn signed_checkpoints_read_back_and_verify() {
        let signer = signer();
        let at = Timestamp::parse("2026-03-01T10:00:00Z").unwrap();
        let signed = signer.sign(head(), at.clone()).unwrap();
        let back = SignedCheckpoint::from_jws(signed.jws()).unwrap();
        assert_eq!(back.checkpoint(), &Checkpoint { seq: 42, hash: ChainHash([7; 32]), at, kid: signer.kid().into() });
        back.verify(&signer.key_set()).unwrap();
        let ed = passerelle_identity::keys::KeyPair::generate_ed25519().unwrap();
        let ed_signer = CheckpointSigner::new(ed, "did:web:lab.example#ed");
        let signed = ed_signer.sign(head(), Timestamp::now()).unwrap();
        signed
            .verify(&|kid: &str| (kid == "did:web:lab.example#ed").then(|| ed_signer.key_set().resolve(kid))?)
            .unwrap();
    }

    #[test]
    fn foreign_keys_unknown_kids_and_other_tokens_are_refused() {
        let signer = signer();
        let signed = signer.sign(head(), Timestamp::now()).unwrap();
        let stranger = self::signer();
        let mut wrong = KeySet::default();
        wrong.insert(signer.kid(), stranger.key_set().resolve(stranger.kid()).unwrap());
        assert!(matches!(signed.verify(&wrong), Err(CheckpointError::BadSignature { .. })));
        assert!(matches!(signed.verify(&KeySet::default()), Err(CheckpointError::UnknownKey(_))));
        // A token of the same key but another type (e.g. a DCP ID token) is not a checkpoint.
        let claims = json!({"seq": 42, "hash": ChainHash([7; 32]).to_string(), "at": "2026-03-01T10:00:00Z",
            "kid": signer.kid()});
        let other = sign_compact(&signer.key, signer.kid(), "JWT", None, &claims).unwrap();
        let other = SignedCheckpoint::from_jws(&other).unwrap();
        assert!(matches!(other.verify(&signer.key_set()), Err(CheckpointError::WrongType { .. })));
    }

    #[test]
    fn bad_claims_are_named() {
        let header = b64(br#"{"alg":"ES256","typ":"passerelle-audit-checkpoint+jwt","kid":"k"}"#);
        for (payload, needle) in [
            (r#"{"hash":"00","at":"2026-03-01T10:00:00Z","kid":"k"}"#, "seq"),
            (r#"{"seq":0,"hash":"00","at":"2026-03-01T10:00:00Z","kid":"k"}"#, "seq"),
            (r#"{"seq":1,"hash":"00","at":"2026-03-01T10:00:00Z","kid":"k"}"#, "chain hash"),
            (r#"{"seq":1,"hash":"0000000000000000000000000000000000000000000000000000000000000000","kid":"k"}"#, "at"),
        ] {
            let token = format!("{header}.{}.AAAA", b64(payload.as_bytes()));
            let err = SignedCheckpoint::from_jws(&token).unwrap_err();
            assert!(matches!(err, CheckpointError::Claims(_)) && err.to_string().contains(needle), "{err}");
        }
        assert!(matches!(SignedCheckpoint::from_jws("not a jws"), Err(CheckpointError::Jws(_))));
    }
}
