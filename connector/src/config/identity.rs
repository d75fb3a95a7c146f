//! The identity sections of the configuration: `[identity]`, `[dcp]`, `[trust]` and
//! the environment form of the signing key (`keys.signing_key`).
//!
//! Kept apart from the general keys so that what decides who may call this connector
//! (DCP on or off, whose memberships are believed) reads as one unit.

use std::path::PathBuf;
use std::time::Duration;

use passerelle_identity::did::Did;

use super::{ConfigError, Origin, Settings};

const DEFAULT_IDENTITY_DIR: &str = "identity";
const DEFAULT_STATUS_LIST_TTL_SECS: i64 = 300;
const DEFAULT_DID_CACHE_TTL_SECS: i64 = 300;
const MAX_TTL_SECS: i64 = 86_400;

/// Where the private signing key comes from.
#[derive(Clone)]
pub enum SigningKeySource {
    /// A JWK file, mode 0600 (`keys.signing_key_file`).
    File(PathBuf),
    /// The JWK JSON itself, normally from `PASSERELLE_KEYS_SIGNING_KEY`.
    Inline(String),
}

impl std::fmt::Debug for SigningKeySource {
    // The inline form is a private key: never show it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SigningKeySource::File(path) => f.debug_tuple("File").field(path).finish(),
            SigningKeySource::Inline(_) => f.write_str("Inline(<redacted>)"),
        }
    }
}

/// `[identity]`, `[dcp]` and `[trust]`, validated.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    /// The participant's did:web, derived from `participant.public_url`.
    pub did: Did,
    pub signing_key: SigningKeySource,
    /// Folder of the published key set and the held credentials.
    pub dir: PathBuf,
    /// Resolve did:web documents, status lists and credential services over plain HTTP (tests only).
    pub allow_http_did_web: bool,
    /// Whether protocol calls must carry a DCP token that verifies; also whether ours carry one
    /// (with DCP off, outgoing DSP messages have no `Authorization` header).
    pub dcp_enabled: bool,
    pub status_list_ttl: Duration,
    pub did_cache_ttl: Duration,
    /// Issuers believed for membership credentials (the data-space authority).
    pub trusted_membership_issuers: Vec<Did>,
}

impl Settings {
    pub(super) fn identity_settings(
        &self,
        public_url: &url::Url,
        signing_key_file: &std::path::Path,
    ) -> Result<IdentitySettings, ConfigError> {
        let did = Did::from_base_url(public_url.as_str()).map_err(|e| {
            Self::invalid("participant", "public_url", &self.default_origin(), format!("cannot become a did:web: {e}"))
        })?;
        let signing_key = match self.text("keys", "signing_key") {
            Some((jwk, _)) if !jwk.trim().is_empty() => SigningKeySource::Inline(jwk),
            _ => SigningKeySource::File(signing_key_file.to_path_buf()),
        };
        let dir = self.path(
            self.text("identity", "dir").map(|(v, _)| v).unwrap_or_else(|| DEFAULT_IDENTITY_DIR.to_string()).trim(),
        );
        let flag = |section: &'static str, key: &'static str, default: bool| {
            self.get(section, key).and_then(|s| s.value.as_bool()).unwrap_or(default)
        };
        let trusted_membership_issuers = match self.text("trust", "membership") {
            None => Vec::new(),
            Some((raw, origin)) => parse_dids(&raw).map_err(|r| Self::invalid("trust", "membership", &origin, r))?,
        };
        Ok(IdentitySettings {
            did,
            signing_key,
            dir,
            allow_http_did_web: flag("identity", "allow_http_did_web", false),
            dcp_enabled: flag("dcp", "enabled", true),
            status_list_ttl: self.seconds("dcp", "status_list_ttl", DEFAULT_STATUS_LIST_TTL_SECS)?,
            did_cache_ttl: self.seconds("dcp", "did_cache_ttl", DEFAULT_DID_CACHE_TTL_SECS)?,
            trusted_membership_issuers,
        })
    }

    fn seconds(&self, section: &'static str, key: &'static str, default: i64) -> Result<Duration, ConfigError> {
        let Some(setting) = self.get(section, key) else {
            return Ok(Duration::from_secs(default as u64));
        };
        let n = setting.value.as_integer().unwrap_or(default);
        if !(0..=MAX_TTL_SECS).contains(&n) {
            let origin: &Origin = &setting.origin;
            return Err(Self::invalid(
                section,
                key,
                origin,
                format!("{n} is out of range; use 0 to {MAX_TTL_SECS} seconds"),
            ));
        }
        Ok(Duration::from_secs(n as u64))
    }
}

/// DIDs separated by commas or whitespace.
fn parse_dids(raw: &str) -> Result<Vec<Did>, String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(|s| Did::parse(s).map_err(|e| format!("{e}; list did:web DIDs separated by commas")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_issuers_are_a_list_of_did_web() {
        let dids = parse_dids("did:web:authority.example, did:web:127.0.0.1%3A9000").unwrap();
        assert_eq!(dids.len(), 2);
        assert_eq!(dids[1].as_str(), "did:web:127.0.0.1%3A9000");
        assert!(parse_dids("https://authority.example").unwrap_err().contains("did:web"));
        assert!(parse_dids("  ").unwrap().is_empty());
    }

    #[test]
    fn an_inline_signing_key_is_never_shown() {
        let shown = format!("{:?}", SigningKeySource::Inline("{\"d\":\"secret\"}".into()));
        assert!(!shown.contains("secret"), "{shown}");
    }
}
