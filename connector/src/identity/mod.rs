//! Who this connector is, and how protocol calls prove it (DCP 1.0), wired from the
//! `passerelle-identity` library:
//!
//! - [`ParticipantIdentity`]: the did:web derived from `participant.public_url`, the
//!   signing key (file 0600 or environment), the published key set ([`keyset`]) and the
//!   held credentials ([`credentials`]); it renders the DID document;
//! - [`services`]: what the protocol listener serves and checks: the DID document route,
//!   the credential service (`/dcp/presentations/query`), the DCP verifier in front of the
//!   protocol routes ([`guard`]), and the outgoing token source ([`token`]);
//! - [`visibility`]: the catalog each caller sees, filtered by what its offers allow;
//! - [`onboarding`]: asking the data-space authority for a membership credential;
//! - [`tls`]: the certificate the protocol listener serves and the CAs trusted when calling out;
//! - key rotation ([`rotate_key`], [`retire_key`]) and [`show`] for the CLI.

pub mod credentials;
pub mod guard;
pub mod keyset;
pub mod onboarding;
pub mod services;
pub mod tls;
pub mod token;
pub mod visibility;

use std::path::PathBuf;

use passerelle_identity::dcp::Identity;
use passerelle_identity::did::{Did, DidDocument, Relationship, Service};
use passerelle_identity::keys::{Algorithm, KeyPair};
use passerelle_identity::vc::types;
use serde::Serialize;
use time::OffsetDateTime;

use crate::config::{Config, IdentitySettings, SigningKeySource, TlsSettings};
pub use credentials::{CredentialFolder, CredentialSummary, SelfDescription};
pub use keyset::{KeySet, PublishedKey};

/// Path prefix of the credential service on the protocol listener; its `serviceEndpoint`.
pub const CREDENTIAL_SERVICE_PATH: &str = "/dcp";

/// Why the identity cannot be loaded or changed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("signing key: {0}")]
    Key(String),
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("published key set: {reason}")]
    KeySet { reason: String },
    #[error("key `{kid}` is the signing key; rotate first (`passerelle identity rotate-key`), then retire the old one")]
    RetireSigningKey { kid: String },
    #[error("no published key `{kid}`; published keys: {published}")]
    UnknownKey { kid: String, published: String },
    #[error(
        "the signing key comes from the environment (PASSERELLE_KEYS_SIGNING_KEY): rotate it where that secret is kept, \
         or use keys.signing_key_file"
    )]
    KeyInEnvironment,
    #[error("invalid --{field}: {reason}")]
    SelfDescription { field: &'static str, reason: String },
    #[error("credential file {file}: {reason}")]
    BadCredential { file: String, reason: String },
    #[error("onboarding failed: {0}")]
    Onboarding(String),
    #[error("cannot set up DCP: {0}")]
    Setup(String),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// The participant's own identity, as loaded from its folder.
#[derive(Debug, Clone)]
pub struct ParticipantIdentity {
    did: Did,
    key: KeyPair,
    keys: KeySet,
    credentials: CredentialFolder,
    base_url: String,
    settings: IdentitySettings,
    /// Whom outgoing calls trust (`[tls] extra_ca_file`).
    tls: TlsSettings,
}

impl ParticipantIdentity {
    /// Reads the signing key and the published key set. The signing key is always published.
    pub fn load(config: &Config) -> Result<ParticipantIdentity, IdentityError> {
        let settings = config.identity.clone();
        let key = match &settings.signing_key {
            SigningKeySource::File(path) => KeyPair::from_jwk_file(path),
            SigningKeySource::Inline(jwk) => {
                KeyPair::from_jwk_bytes(jwk.as_bytes(), "environment variable PASSERELLE_KEYS_SIGNING_KEY")
            }
        }
        .map_err(|e| IdentityError::Key(e.to_string()))?;
        let mut keys = KeySet::read(&settings.dir)?;
        keys.publish(&key, OffsetDateTime::now_utc().unix_timestamp());
        Ok(ParticipantIdentity {
            did: settings.did.clone(),
            key,
            keys,
            credentials: CredentialFolder::new(&settings.dir),
            base_url: config.participant.protocol_base_url(),
            settings,
            tls: config.tls.clone(),
        })
    }

    pub fn did(&self) -> &Did {
        &self.did
    }

    /// The signing key: the newest published key.
    pub fn signing_key(&self) -> &KeyPair {
        &self.key
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    pub fn credentials(&self) -> &CredentialFolder {
        &self.credentials
    }

    pub fn settings(&self) -> &IdentitySettings {
        &self.settings
    }

    /// An HTTP client for calls to other participants and authorities (system roots plus
    /// `[tls] extra_ca_file`).
    pub fn http_client(&self, timeout: std::time::Duration) -> Result<reqwest::Client, IdentityError> {
        Ok(tls::http_client(&self.tls, timeout)?)
    }

    /// The DCP identity (DID + signing key) the library signs with.
    pub fn dcp(&self) -> Identity {
        Identity::new(self.did.clone(), self.key.clone())
    }

    /// The credential service endpoint announced in the DID document.
    pub fn credential_service_url(&self) -> String {
        format!("{}{CREDENTIAL_SERVICE_PATH}", self.base_url)
    }

    /// The DID document: every published key (any may verify; the newest signs), the
    /// credential service and the DSP catalog and data services.
    pub fn did_document(&self) -> Result<DidDocument, IdentityError> {
        let mut document = DidDocument::new(&self.did);
        for published in &self.keys.keys {
            document.add_key(&published.public_key()?, &Relationship::ALL);
        }
        document.add_service(Service::credential_service(&self.did, &self.credential_service_url()));
        document.add_service(Service::dsp_catalog(&self.did, &format!("{}/dsp/2025-1/catalog", self.base_url)));
        document
            .add_service(Service::dsp_data(&self.did, &format!("{}{}", self.base_url, passerelle_dsp::VERSION_PATH)));
        Ok(document)
    }
}

/// What `passerelle identity show` prints: public facts only, never a private key.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityReport {
    pub did: String,
    pub did_document_url: String,
    pub signing_kid: String,
    pub keys: Vec<KeyReport>,
    pub credentials: Vec<CredentialReport>,
    pub dcp_enabled: bool,
    pub trusted_membership_issuers: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyReport {
    pub kid: String,
    pub alg: String,
    pub signing: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CredentialReport {
    pub file: String,
    pub types: Vec<String>,
    pub issuer: String,
    pub valid_until: Option<String>,
}

/// The identity of the connector configured by `config`.
pub fn show(config: &Config) -> Result<IdentityReport, IdentityError> {
    let identity = ParticipantIdentity::load(config)?;
    let settings = identity.settings();
    let keys = identity
        .keys
        .keys
        .iter()
        .map(|k| KeyReport { kid: k.kid.clone(), alg: k.alg.clone(), signing: k.kid == identity.key.key_id() })
        .collect();
    let credentials = identity
        .credentials
        .summaries()?
        .into_iter()
        .map(|c| CredentialReport { file: c.file, types: c.types, issuer: c.issuer, valid_until: c.valid_until })
        .collect();
    Ok(IdentityReport {
        did: identity.did.to_string(),
        did_document_url: identity.did.document_url(settings.allow_http_did_web),
        signing_kid: identity.key.key_id().to_string(),
        keys,
        credentials,
        dcp_enabled: settings.dcp_enabled,
        trusted_membership_issuers: settings.trusted_membership_issuers.iter().map(|d| d.to_string()).collect(),
    })
}

impl std::fmt::Display for IdentityReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "DID: {}", self.did)?;
        writeln!(f, "DID document: {}", self.did_document_url)?;
        writeln!(f, "keys (the signing key is marked *):")?;
        for key in &self.keys {
            writeln!(f, "  {} {} {}", if key.signing { "*" } else { " " }, key.alg, key.kid)?;
        }
        if self.credentials.is_empty() {
            writeln!(f, "credentials: none")?;
        } else {
            writeln!(f, "credentials:")?;
        }
        for c in &self.credentials {
            writeln!(
                f,
                "  {} issued by {} ({}) [{}]",
                c.types.join(", "),
                c.issuer,
                c.valid_until.as_deref().map(|t| format!("valid until {t}")).unwrap_or_else(|| "no expiry".into()),
                c.file
            )?;
        }
        let membership = self.credentials.iter().any(|c| c.types.iter().any(|t| t == types::MEMBERSHIP));
        if !membership {
            writeln!(f, "membership: none yet (passerelle identity onboard --authority URL)")?;
        }
        writeln!(
            f,
            "DCP on protocol calls: {}",
            if self.dcp_enabled { "required and presented" } else { "off (no token asked, none sent)" }
        )?;
        if self.trusted_membership_issuers.is_empty() {
            write!(f, "trusted membership issuers: none (set [trust] membership)")
        } else {
            write!(f, "trusted membership issuers: {}", self.trusted_membership_issuers.join(", "))
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub previous_kid: String,
    pub new_kid: String,
    pub algorithm: Algorithm,
    /// Self-issued credentials re-signed with the new key.
    pub resigned: Vec<String>,
}

/// Publishes a fresh signing key, keeping the previous one listed in the DID document
/// until [`retire_key`]. Self-issued credentials are re-signed with the new key so that
/// retiring the old one later does not invalidate them. A running connector picks the
/// new key up when restarted.
pub fn rotate_key(config: &Config, algorithm: Option<Algorithm>) -> Result<Rotation, IdentityError> {
    let SigningKeySource::File(key_file) = &config.identity.signing_key else {
        return Err(IdentityError::KeyInEnvironment);
    };
    let identity = ParticipantIdentity::load(config)?;
    let new = keyset::next_key(&identity.key, algorithm)?;
    let now = OffsetDateTime::now_utc();
    let mut keys = identity.keys.clone();
    keys.publish(&new, now.unix_timestamp());
    // Publish first: a crash after this leaves the old key signing and both listed.
    keys.write(&identity.settings.dir)?;
    keyset::replace_key_file(key_file, &new)?;
    let resigned = resign_self_issued(&identity, &new, now)?;
    tracing::info!(previous = %identity.key.key_id(), new = %new.key_id(), "signing key rotated");
    Ok(Rotation {
        previous_kid: identity.key.key_id().to_string(),
        new_kid: new.key_id().to_string(),
        algorithm: new.algorithm(),
        resigned,
    })
}

/// Removes `kid` from the DID document (never the signing key).
pub fn retire_key(config: &Config, kid: &str) -> Result<PublishedKey, IdentityError> {
    let identity = ParticipantIdentity::load(config)?;
    let mut keys = identity.keys.clone();
    let retired = keys.retire(kid, identity.key.key_id())?;
    keys.write(&identity.settings.dir)?;
    tracing::info!(kid, "key retired from the DID document");
    Ok(retired)
}

/// Re-signs the self-issued credentials (same content, fresh id and dates) with `key`.
fn resign_self_issued(
    identity: &ParticipantIdentity,
    key: &KeyPair,
    now: OffsetDateTime,
) -> Result<Vec<String>, IdentityError> {
    use passerelle_identity::jose::DecodedJws;
    use passerelle_identity::vc::Credential;
    let mut resigned = Vec::new();
    for (file, jwt) in identity.credentials.read_all()? {
        if !credentials::SELF_ISSUED_FILES.contains(&file.as_str()) {
            continue;
        }
        let decoded = DecodedJws::decode(&jwt)
            .map_err(|e| IdentityError::BadCredential { file: file.clone(), reason: e.to_string() })?;
        let mut credential: Credential = serde_json::from_value(serde_json::Value::Object(decoded.payload))
            .map_err(|e| IdentityError::BadCredential { file: file.clone(), reason: e.to_string() })?;
        if credential.issuer != identity.did.as_str() {
            continue;
        }
        credential.id = Some(format!("urn:uuid:{}", uuid::Uuid::new_v4()));
        credential.valid_from = Some(now);
        let signed = credential.sign(key).map_err(|e| IdentityError::Key(e.to_string()))?;
        identity.credentials.put(&file, &signed)?;
        resigned.push(file);
    }
    Ok(resigned)
}

/// Writes the self-issued credentials for `description` (at `init`, or again later).
pub fn self_describe(config: &Config, description: &SelfDescription) -> Result<Vec<String>, IdentityError> {
    let identity = ParticipantIdentity::load(config)?;
    let jwts = description.credentials(&identity.did, &identity.key, OffsetDateTime::now_utc())?;
    let mut written = Vec::new();
    for (name, jwt) in credentials::SELF_ISSUED_FILES.iter().zip(jwts) {
        identity.credentials.put(name, &jwt)?;
        written.push(name.to_string());
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::setup::{InitOptions, init};

    async fn folder(dir: &std::path::Path) -> Config {
        let out = init(&InitOptions {
            dir: dir.to_path_buf(),
            name: "Canal Est".into(),
            role: "broadcaster".into(),
            public_url: "https://dsp.canal.example".into(),
            force: false,
            default_offer: false,
            key_algorithm: Algorithm::Es256,
            self_description: Some(SelfDescription::parse("Canal Est SA", "EORI:FR123456789", "FR", None).unwrap()),
        })
        .await
        .unwrap();
        Config::load_with_env(&out.config_file, Vec::new()).unwrap()
    }

    #[tokio::test]
    async fn the_did_document_lists_keys_and_services() {
        let dir = tempfile::tempdir().unwrap();
        let config = folder(dir.path()).await;
        let identity = ParticipantIdentity::load(&config).unwrap();
        assert_eq!(identity.did().as_str(), "did:web:dsp.canal.example");
        let document = serde_json::to_value(identity.did_document().unwrap()).unwrap();
        assert_eq!(document["verificationMethod"][0]["id"], identity.dcp().key_url());
        assert!(document["verificationMethod"][0]["publicKeyJwk"].get("d").is_none());
        assert_eq!(document["service"][0]["serviceEndpoint"], "https://dsp.canal.example/dcp");
        assert_eq!(document["service"][2]["serviceEndpoint"], "https://dsp.canal.example/.well-known/dspace-version");
    }

    #[tokio::test]
    async fn rotation_keeps_the_old_key_published_until_retired() {
        let dir = tempfile::tempdir().unwrap();
        let config = folder(dir.path()).await;
        let before = ParticipantIdentity::load(&config).unwrap();
        let rotation = rotate_key(&config, Some(Algorithm::EdDsa)).unwrap();
        assert_eq!(rotation.previous_kid, before.signing_key().key_id());
        assert_eq!(rotation.resigned.len(), 3, "{:?}", rotation.resigned);

        let after = ParticipantIdentity::load(&config).unwrap();
        assert_eq!(after.signing_key().key_id(), rotation.new_kid);
        assert_eq!(after.signing_key().algorithm(), Algorithm::EdDsa);
        let kids: Vec<&str> = after.keys().keys.iter().map(|k| k.kid.as_str()).collect();
        assert_eq!(kids, [rotation.previous_kid.as_str(), rotation.new_kid.as_str()]);
        let summaries = after.credentials().summaries().unwrap();
        assert!(summaries.iter().all(|c| c.issuer == after.did().as_str()));

        assert!(matches!(retire_key(&config, &rotation.new_kid), Err(IdentityError::RetireSigningKey { .. })));
        retire_key(&config, &rotation.previous_kid).unwrap();
        let retired = ParticipantIdentity::load(&config).unwrap();
        assert_eq!(retired.keys().keys.len(), 1);
        let report = show(&config).unwrap();
        assert_eq!(report.keys.len(), 1);
        assert!(report.keys[0].signing);
        assert!(report.to_string().contains("membership: none yet"));
    }

    #[tokio::test]
    async fn a_key_from_the_environment_is_used_and_cannot_be_rotated_here() {
        let dir = tempfile::tempdir().unwrap();
        let config = folder(dir.path()).await;
        let key = KeyPair::generate_ed25519().unwrap();
        let path = dir.path().join("env-key.jwk");
        key.write_jwk_file(&path, false).unwrap();
        let jwk = std::fs::read_to_string(&path).unwrap();
        let config = Config::load_with_env(&config.file, vec![("PASSERELLE_KEYS_SIGNING_KEY".into(), jwk)]).unwrap();
        assert!(!format!("{config:?}").contains("\"d\""), "the inline key is redacted");
        let identity = ParticipantIdentity::load(&config).unwrap();
        assert_eq!(identity.signing_key().key_id(), key.key_id());
        assert!(matches!(rotate_key(&config, None), Err(IdentityError::KeyInEnvironment)));
    }
}
