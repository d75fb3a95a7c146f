//! `passerelle init`: a ready-to-run connector folder.
//!
//! Writes `passerelle.toml`, a fresh management API key and signing key (ES256, or
//! EdDSA on request; files mode 0600 under `secrets/`, folder 0700) and creates the
//! database with its schema. Given a legal name, registration number and country it
//! also writes the self-issued credentials under `identity/credentials/`. An existing configuration is never replaced without `force`; with
//! `force` the configuration and both keys are replaced, the database is kept.
//!
//! Unless told otherwise, init also seeds a default offer so that imported works
//! appear in the catalog at once: the policy [`DEFAULT_POLICY_ID`] ("use, for
//! participants whose membership credential gives one of the data space's roles")
//! and the offer definition [`DEFAULT_DEFINITION_ID`] selecting every work. Both are
//! ordinary records: change or delete them through the management API. An existing
//! one is never overwritten, not even with `force`.

use std::path::{Path, PathBuf};

use serde_json::json;

use passerelle_identity::keys::{Algorithm, KeyPair};

use crate::config::{self, ApiKeySource, Config, ConfigError, NewConfig, Role, StoreLocation};
use crate::identity::{IdentityError, SelfDescription};
use crate::offers::{OfferDefinition, Selector};
use crate::secrets::{self, ApiKey, SecretError};
use crate::store::{Store, StoreError};

/// What to initialise.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub dir: PathBuf,
    pub name: String,
    pub role: String,
    pub public_url: String,
    /// Replace an existing configuration and keys.
    pub force: bool,
    /// Seed the default policy and offer definition (see the module docs).
    pub default_offer: bool,
    /// Algorithm of the signing key: ES256 by default, EdDSA (Ed25519) on request.
    pub key_algorithm: Algorithm,
    /// Legal name, registration number and country: when given, the self-issued
    /// gx:LegalPerson, registration-number and gx:Issuer credentials are written.
    pub self_description: Option<SelfDescription>,
}

/// Id of the policy seeded by `init`.
pub const DEFAULT_POLICY_ID: &str = "urn:passerelle:policy:data-space-members";
/// Id of the offer definition seeded by `init`.
pub const DEFAULT_DEFINITION_ID: &str = "catalogue";

/// Where everything was written.
#[derive(Debug, Clone)]
pub struct InitOutcome {
    pub config_file: PathBuf,
    pub api_key_file: PathBuf,
    pub signing_key_file: PathBuf,
    pub signing_key_id: Option<String>,
    /// The participant's did:web (its participant id).
    pub did: String,
    /// Files of the self-issued credentials written (empty without a self-description).
    pub credentials: Vec<String>,
    pub store: StoreLocation,
    /// True when the default offer was written by this run.
    pub seeded_default_offer: bool,
}

/// Why initialisation stopped.
#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error("{} already exists; pass --force to replace it and its keys (the database is kept)", path.display())]
    Exists { path: PathBuf },
    #[error("cannot create {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

/// Creates (or with `force` replaces) a connector folder.
pub async fn init(options: &InitOptions) -> Result<InitOutcome, InitError> {
    let new = NewConfig::new(&options.name, &options.role, &options.public_url)?;
    std::fs::create_dir_all(&options.dir).map_err(|source| InitError::Io { path: options.dir.clone(), source })?;
    let config_file = std::path::absolute(options.dir.join(config::FILE_NAME))
        .map_err(|source| InitError::Io { path: options.dir.clone(), source })?;
    if config_file.exists() && !options.force {
        return Err(InitError::Exists { path: config_file });
    }
    write_config(&config_file, &new.to_toml(), options.force)?;

    // Read back what was written (without the environment): the paths below are the
    // ones `run` will use, resolved by the same code.
    let config = Config::load_with_env(&config_file, Vec::new())?;
    let api_key_file = match &config.management.api_key {
        ApiKeySource::File(path) => path.clone(),
        ApiKeySource::Inline(_) => config_file.with_file_name("secrets/management-api-key"),
    };
    secrets::write_secret_file(&api_key_file, ApiKey::generate()?.expose(), options.force)?;
    let signing_key = KeyPair::generate(options.key_algorithm).map_err(|e| IdentityError::Key(e.to_string()))?;
    if let Some(dir) = config.signing_key_file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| InitError::Io { path: dir.to_path_buf(), source })?;
    }
    signing_key
        .write_jwk_file(&config.signing_key_file, options.force)
        .map_err(|e| IdentityError::Key(e.to_string()))?;
    let credentials = match &options.self_description {
        Some(description) => crate::identity::self_describe(&config, description)?,
        None => Vec::new(),
    };

    let store = Store::open(&config.store).await?;
    let seeded = if options.default_offer { seed_default_offer(&store, &new.name).await } else { Ok(false) };
    store.close().await;
    let seeded_default_offer = seeded?;

    Ok(InitOutcome {
        config_file,
        api_key_file,
        signing_key_file: config.signing_key_file.clone(),
        signing_key_id: Some(signing_key.key_id().to_string()),
        did: config.identity.did.to_string(),
        credentials,
        store: config.store,
        seeded_default_offer,
    })
}

/// The default policy: `use`, for any participant holding one of the data space's roles.
pub fn default_policy() -> serde_json::Value {
    let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    json!({
        "@id": DEFAULT_POLICY_ID,
        "@type": "Offer",
        "permission": [{
            "action": "use",
            "constraint": [{
                "leftOperand": format!("{}role", passerelle_policy::PROFILE_NS),
                "operator": "isAnyOf",
                "rightOperand": roles
            }]
        }]
    })
}

/// Writes the default policy and offer definition unless records with their ids exist.
/// Returns whether the definition was written.
async fn seed_default_offer(store: &Store, participant_name: &str) -> Result<bool, InitError> {
    let policy = passerelle_policy::Policy::from_json(&default_policy()).map_err(|e| StoreError::Corrupt {
        kind: "default policy",
        id: DEFAULT_POLICY_ID.into(),
        reason: e.to_string(),
    })?;
    match store.insert_policy(DEFAULT_POLICY_ID, &policy.to_json()).await {
        Ok(()) | Err(StoreError::Conflict { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    let definition = OfferDefinition {
        id: DEFAULT_DEFINITION_ID.into(),
        title: format!("{participant_name} catalogue"),
        description: Some(format!("Every work of {participant_name}, offered to members of the data space.")),
        selector: Selector::default(),
        policy_id: DEFAULT_POLICY_ID.into(),
    };
    match store.insert_offer_definition(&definition).await {
        Ok(()) => Ok(true),
        Err(StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn write_config(path: &Path, text: &str, overwrite: bool) -> Result<(), InitError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let io = |source| InitError::Io { path: path.to_path_buf(), source };
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            InitError::Exists { path: path.to_path_buf() }
        } else {
            io(e)
        }
    })?;
    file.write_all(text.as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(dir: &Path) -> InitOptions {
        InitOptions {
            dir: dir.to_path_buf(),
            name: "Acme Films".into(),
            role: "distributor".into(),
            public_url: "http://127.0.0.1:8181".into(),
            force: false,
            default_offer: true,
            key_algorithm: Algorithm::Es256,
            self_description: None,
        }
    }

    #[tokio::test]
    async fn init_writes_a_loadable_folder_and_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let out = init(&options(dir.path())).await.unwrap();
        assert!(out.config_file.ends_with("passerelle.toml"));
        assert!(ApiKey::read(&out.api_key_file).is_ok());
        assert_eq!(KeyPair::from_jwk_file(&out.signing_key_file).unwrap().algorithm(), Algorithm::Es256);
        assert_eq!(out.did, "did:web:127.0.0.1%3A8181");
        assert!(out.credentials.is_empty());
        assert!(matches!(&out.store, StoreLocation::SqliteFile(p) if p.exists()));

        let before = std::fs::read(&out.api_key_file).unwrap();
        assert!(matches!(init(&options(dir.path())).await, Err(InitError::Exists { .. })));
        assert_eq!(std::fs::read(&out.api_key_file).unwrap(), before, "refusal leaves the keys alone");

        let forced = init(&InitOptions { force: true, ..options(dir.path()) }).await.unwrap();
        assert_ne!(std::fs::read(&forced.api_key_file).unwrap(), before);
        assert!(out.seeded_default_offer);
        assert!(!forced.seeded_default_offer, "an existing default offer is left alone");
    }

    #[tokio::test]
    async fn the_default_offer_is_seeded_unless_declined() {
        let dir = tempfile::tempdir().unwrap();
        let out = init(&options(dir.path())).await.unwrap();
        let store = Store::open(&out.store).await.unwrap();
        let def = store.get_offer_definition(DEFAULT_DEFINITION_ID).await.unwrap().unwrap();
        assert_eq!(def.definition.policy_id, DEFAULT_POLICY_ID);
        assert_eq!(def.definition.selector, Selector::default());
        assert!(store.get_policy(DEFAULT_POLICY_ID).await.unwrap().is_some());
        store.close().await;

        let bare = tempfile::tempdir().unwrap();
        let out = init(&InitOptions { default_offer: false, ..options(bare.path()) }).await.unwrap();
        let store = Store::open(&out.store).await.unwrap();
        assert!(store.list_offer_definitions(None, 10).await.unwrap().items.is_empty());
    }

    #[tokio::test]
    async fn bad_values_are_refused_before_anything_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("c");
        let e = init(&InitOptions { role: "studio".into(), ..options(&target) }).await.unwrap_err();
        assert!(e.to_string().contains("participant.role"), "{e}");
        assert!(!target.exists());
    }

    #[tokio::test]
    async fn eddsa_keys_and_self_issued_credentials_on_request() {
        let dir = tempfile::tempdir().unwrap();
        let description = SelfDescription::parse("Acme Films SAS", "vatID:FR40303265045", "FR", None).unwrap();
        let out = init(&InitOptions {
            key_algorithm: Algorithm::EdDsa,
            self_description: Some(description),
            ..options(dir.path())
        })
        .await
        .unwrap();
        assert_eq!(KeyPair::from_jwk_file(&out.signing_key_file).unwrap().algorithm(), Algorithm::EdDsa);
        assert_eq!(out.credentials.len(), 3);
        let config = Config::load_with_env(&out.config_file, Vec::new()).unwrap();
        let report = crate::identity::show(&config).unwrap();
        assert_eq!(report.keys.len(), 1);
        assert_eq!(report.keys[0].alg, "EdDSA");
        assert!(report.credentials.iter().any(|c| c.types.contains(&"gx:LegalPerson".to_string())));
    }
}
