//! The connector's configuration: `passerelle.toml` plus environment overrides.
//!
//! The file is TOML with the sections listed in [`keys::KEYS`]. Every key can be
//! overridden by an environment variable `PASSERELLE_<SECTION>_<KEY>` (12-factor),
//! e.g. `PASSERELLE_PROTOCOL_BIND=127.0.0.1:0`. Relative paths are relative to the
//! folder of the configuration file, so a connector folder can be moved as a whole.
//!
//! Loading never panics and every error names the key, where its value came from
//! (the file or an environment variable) and what to do about it.

mod identity;
pub mod keys;
mod tck;
mod tls;

pub use identity::{IdentitySettings, SigningKeySource};
pub use tck::{TckAuthorization, TckSettings};
pub use tls::{ServerCertificate, TlsSettings};

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use url::Url;

use crate::secrets::ApiKey;
use keys::{KeyKind, KeySpec};

/// Prefix of every environment variable the connector reads.
pub const ENV_PREFIX: &str = "PASSERELLE_";
/// Name of the configuration file `passerelle init` writes.
pub const FILE_NAME: &str = "passerelle.toml";
/// Environment variables of the command line itself (not configuration keys).
pub const CLI_ENV_VARS: &[&str] = &["PASSERELLE_CONFIG"];

const DEFAULT_PROTOCOL_PORT: u16 = 8181;
const DEFAULT_MANAGEMENT_BIND: &str = "127.0.0.1:8182";
const DEFAULT_API_KEY_FILE: &str = "secrets/management-api-key";
const DEFAULT_SIGNING_KEY_FILE: &str = "secrets/signing-key.jwk";
const DEFAULT_STORE_PATH: &str = "data/passerelle.db";
const DEFAULT_PAGE_SIZE: i64 = 50;
const MAX_PAGE_SIZE: i64 = 1000;
/// Default of `[exchange] max_delivery_bytes`: 10 GiB, far above any subtitle delivery.
const DEFAULT_MAX_DELIVERY_BYTES: i64 = 10 * 1024 * 1024 * 1024;
const MIN_API_KEY_LEN: usize = 16;

/// The participant's role in the data space: the same type the membership credential
/// carries, so what the operator configures is what the authority attests.
pub use passerelle_identity::vc::membership::Role;

/// Reads a role as typed by an operator (case and surrounding spaces ignored).
fn parse_role(s: &str) -> Result<Role, String> {
    s.trim()
        .to_ascii_lowercase()
        .parse::<Role>()
        .map_err(|_| format!("`{s}` is not a role; use one of distributor, lab, broadcaster, producer"))
}

/// Who runs this connector.
#[derive(Debug, Clone)]
pub struct Participant {
    pub name: String,
    pub role: Role,
    pub public_url: Url,
    pub id: String,
}

impl Participant {
    /// The public URL without a trailing slash: the base of every protocol URL we announce.
    pub fn protocol_base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }
}

/// Where the management API key comes from.
#[derive(Debug, Clone)]
pub enum ApiKeySource {
    /// Given directly (usually through `PASSERELLE_MANAGEMENT_API_KEY`).
    Inline(ApiKey),
    /// Read from this file at start-up.
    File(PathBuf),
}

/// The private management listener.
#[derive(Debug, Clone)]
pub struct Management {
    pub bind: SocketAddr,
    pub allow_remote: bool,
    pub api_key: ApiKeySource,
}

/// `[webhooks]`: where events for the participant's own tools go.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookSettings {
    pub url: Url,
    /// The shared HMAC secret's file (read at start; never logged).
    pub secret_file: PathBuf,
    /// The events sent (all by default).
    pub events: Vec<String>,
}

/// Where the store lives. PostgreSQL slots in here later as another variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreLocation {
    SqliteFile(PathBuf),
    SqliteMemory,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The resolved configuration: every value validated, every path absolute.
#[derive(Debug, Clone)]
pub struct Config {
    /// Absolute path of the file this was read from.
    pub file: PathBuf,
    pub participant: Participant,
    pub protocol_bind: SocketAddr,
    pub management: Management,
    pub store: StoreLocation,
    pub signing_key_file: PathBuf,
    /// DID, keys, DCP and trust (`[identity]`, `[dcp]`, `[trust]`).
    pub identity: IdentitySettings,
    /// HTTPS on the protocol listener and the CA trusted for outgoing calls (`[tls]`).
    pub tls: TlsSettings,
    /// The official DSP TCK's connector-under-test mode (`[tck]`), off by default.
    pub tck: TckSettings,
    pub catalog_page_size: usize,
    /// The federated catalogue to notify and search (`[catalogue] url`).
    pub catalogue_url: Option<Url>,
    /// Events for the participant's own tools (`[webhooks]`).
    pub webhooks: Option<WebhookSettings>,
    /// Folders a lab may deliver subtitle orders from (`[exchange] outbox_roots`); empty: the connector folder's
    /// `deliveries-out/`.
    pub exchange_outbox_roots: Vec<PathBuf>,
    /// Largest total size of a delivery we take in (`[exchange] max_delivery_bytes`).
    pub exchange_max_delivery_bytes: u64,
    pub log_filter: String,
    pub log_format: LogFormat,
    /// Things worth telling the operator that do not stop the connector (unknown
    /// `PASSERELLE_*` variables, ignored keys).
    pub warnings: Vec<String>,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "configuration file {} not found: create one with `passerelle init --dir <folder> --name <name> --role <role> --public-url <url>` or pass the right --config",
        path.display()
    )]
    NotFound { path: PathBuf },
    #[error("cannot read configuration file {}: {source}", path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("configuration file {} is not valid TOML: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    #[error("unknown section [{section}] in {}; known sections: {known}", path.display())]
    UnknownSection { path: PathBuf, section: String, known: String },
    #[error("unknown key `{key}` in {}; keys of [{section}]: {known}", path.display())]
    UnknownKey { path: PathBuf, key: String, section: String, known: String },
    #[error("`{key}` ({origin}) must be {expected}, found {found}")]
    WrongType { key: String, origin: String, expected: &'static str, found: String },
    #[error("`{key}` is required: set it in {} or with the environment variable {env_var}", path.display())]
    Missing { key: String, path: PathBuf, env_var: String },
    #[error("invalid `{key}` ({origin}): {reason}")]
    Invalid { key: String, origin: String, reason: String },
}

impl ConfigError {
    /// The `section.key` the error is about, when it is about one key.
    pub fn key(&self) -> Option<&str> {
        match self {
            ConfigError::UnknownKey { key, .. }
            | ConfigError::WrongType { key, .. }
            | ConfigError::Missing { key, .. }
            | ConfigError::Invalid { key, .. } => Some(key),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum Origin {
    File(PathBuf),
    Env(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "from {}", p.display()),
            Origin::Env(v) => write!(f, "from environment variable {v}"),
        }
    }
}

#[derive(Debug, Clone)]
struct Setting {
    value: toml::Value,
    origin: Origin,
}

/// The raw values after the file and the environment are merged, before validation.
struct Settings {
    file: PathBuf,
    base_dir: PathBuf,
    values: HashMap<(&'static str, &'static str), Setting>,
}

impl Config {
    /// Reads `path` and applies the process environment.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// Reads `path` and applies the given environment (tests pass their own).
    pub fn load_with_env(path: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Config, ConfigError> {
        let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(ConfigError::NotFound { path: file }),
            Err(source) => return Err(ConfigError::Unreadable { path: file, source }),
        };
        Self::from_toml_str(&text, &file, env)
    }

    /// Parses configuration text as if it had been read from `file`.
    pub fn from_toml_str(
        text: &str,
        file: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| ConfigError::Syntax { path: file.to_path_buf(), message: e.to_string() })?;
        let mut settings = Settings::from_table(table, file)?;
        let warnings = settings.apply_env(env)?;
        settings.resolve(warnings)
    }

    /// The documentation of every key (for `--help`).
    pub fn reference() -> String {
        keys::reference()
    }
}

fn toml_type_name(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "a string",
        toml::Value::Integer(_) => "an integer",
        toml::Value::Float(_) => "a float",
        toml::Value::Boolean(_) => "a boolean",
        toml::Value::Datetime(_) => "a date-time",
        toml::Value::Array(_) => "an array",
        toml::Value::Table(_) => "a table",
    }
}

fn kind_matches(kind: KeyKind, v: &toml::Value) -> bool {
    matches!(
        (kind, v),
        (KeyKind::Text, toml::Value::String(_))
            | (KeyKind::Integer, toml::Value::Integer(_))
            | (KeyKind::Boolean, toml::Value::Boolean(_))
    )
}

fn parse_env_value(spec: &KeySpec, var: &str, raw: &str) -> Result<toml::Value, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        key: spec.dotted(),
        origin: format!("from environment variable {var}"),
        reason,
    };
    match spec.kind {
        KeyKind::Text => Ok(toml::Value::String(raw.to_string())),
        KeyKind::Integer => raw
            .trim()
            .parse::<i64>()
            .map(toml::Value::Integer)
            .map_err(|_| invalid(format!("`{raw}` is not an integer"))),
        KeyKind::Boolean => match raw.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(toml::Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(toml::Value::Boolean(false)),
            _ => Err(invalid(format!("`{raw}` is not a boolean; use true or false"))),
        },
    }
}

impl Settings {
    fn from_table(table: toml::Table, file: &Path) -> Result<Settings, ConfigError> {
        let base_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let mut values = HashMap::new();
        let sections = keys::sections();
        for (section, body) in table {
            let Some(&section_name) = sections.iter().find(|s| **s == section) else {
                return Err(ConfigError::UnknownSection {
                    path: file.to_path_buf(),
                    section,
                    known: sections.join(", "),
                });
            };
            let toml::Value::Table(body) = body else {
                return Err(ConfigError::WrongType {
                    key: section,
                    origin: format!("from {}", file.display()),
                    expected: "a table ([section] header)",
                    found: toml_type_name(&body).to_string(),
                });
            };
            for (key, value) in body {
                let Some(spec) = keys::find(section_name, &key) else {
                    let known: Vec<&str> =
                        keys::KEYS.iter().filter(|k| k.section == section_name).map(|k| k.key).collect();
                    return Err(ConfigError::UnknownKey {
                        path: file.to_path_buf(),
                        key: format!("{section_name}.{key}"),
                        section: section_name.to_string(),
                        known: known.join(", "),
                    });
                };
                if !kind_matches(spec.kind, &value) {
                    return Err(ConfigError::WrongType {
                        key: spec.dotted(),
                        origin: format!("from {}", file.display()),
                        expected: spec.kind.describe(),
                        found: toml_type_name(&value).to_string(),
                    });
                }
                values.insert((spec.section, spec.key), Setting { value, origin: Origin::File(file.to_path_buf()) });
            }
        }
        Ok(Settings { file: file.to_path_buf(), base_dir, values })
    }

    fn apply_env(&mut self, env: impl IntoIterator<Item = (String, String)>) -> Result<Vec<String>, ConfigError> {
        let mut warnings = Vec::new();
        let env: HashMap<String, String> = env.into_iter().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        let mut names: Vec<&String> = env.keys().collect();
        names.sort();
        for name in names {
            let raw = &env[name];
            if CLI_ENV_VARS.contains(&name.as_str()) {
                continue;
            }
            match keys::KEYS.iter().find(|k| &k.env_var() == name) {
                Some(spec) => {
                    let value = parse_env_value(spec, name, raw)?;
                    self.values.insert((spec.section, spec.key), Setting { value, origin: Origin::Env(name.clone()) });
                }
                None => warnings.push(format!(
                    "environment variable {name} is not a configuration key and is ignored (see `passerelle run --help` for the list)"
                )),
            }
        }
        Ok(warnings)
    }

    fn get(&self, section: &'static str, key: &'static str) -> Option<&Setting> {
        self.values.get(&(section, key))
    }

    fn spec(section: &'static str, key: &'static str) -> KeySpec {
        // The table is static and every caller names a declared key; a typo is caught by the tests.
        keys::find(section, key).copied().unwrap_or(KeySpec {
            section,
            key,
            kind: KeyKind::Text,
            default: None,
            doc: "",
        })
    }

    fn text(&self, section: &'static str, key: &'static str) -> Option<(String, Origin)> {
        self.get(section, key).and_then(|s| s.value.as_str().map(|v| (v.to_string(), s.origin.clone())))
    }

    fn required_text(&self, section: &'static str, key: &'static str) -> Result<(String, Origin), ConfigError> {
        match self.text(section, key) {
            Some((v, origin)) if !v.trim().is_empty() => Ok((v.trim().to_string(), origin)),
            Some((_, origin)) => Err(ConfigError::Invalid {
                key: format!("{section}.{key}"),
                origin: origin.to_string(),
                reason: "must not be empty".into(),
            }),
            None => Err(ConfigError::Missing {
                key: format!("{section}.{key}"),
                path: self.file.clone(),
                env_var: Self::spec(section, key).env_var(),
            }),
        }
    }

    fn invalid(section: &str, key: &str, origin: &Origin, reason: impl Into<String>) -> ConfigError {
        ConfigError::Invalid { key: format!("{section}.{key}"), origin: origin.to_string(), reason: reason.into() }
    }

    fn path(&self, raw: &str) -> PathBuf {
        let p = Path::new(raw);
        if p.is_absolute() { p.to_path_buf() } else { self.base_dir.join(p) }
    }

    fn default_origin(&self) -> Origin {
        Origin::File(self.file.clone())
    }

    fn socket(&self, section: &'static str, default: String) -> Result<(SocketAddr, Origin), ConfigError> {
        let (raw, origin) = self.text(section, "bind").unwrap_or_else(|| (default, self.default_origin()));
        let addr = raw.trim().parse::<SocketAddr>().map_err(|_| {
            Self::invalid(
                section,
                "bind",
                &origin,
                format!("`{raw}` is not a socket address; write IP:port, e.g. 127.0.0.1:8182 or [::1]:8182 (port 0 picks a free port)"),
            )
        })?;
        Ok((addr, origin))
    }

    fn resolve(self, mut warnings: Vec<String>) -> Result<Config, ConfigError> {
        let (name, _) = self.required_text("participant", "name")?;
        let (role_raw, role_origin) = self.required_text("participant", "role")?;
        let role = parse_role(&role_raw).map_err(|r| Self::invalid("participant", "role", &role_origin, r))?;
        let (url_raw, url_origin) = self.required_text("participant", "public_url")?;
        let public_url =
            parse_public_url(&url_raw).map_err(|r| Self::invalid("participant", "public_url", &url_origin, r))?;
        let id = match self.text("participant", "id") {
            Some((v, _)) if !v.trim().is_empty() => v.trim().to_string(),
            Some((_, origin)) => return Err(Self::invalid("participant", "id", &origin, "must not be empty")),
            // The participant is known by its did:web, derived from where it is reached.
            None => passerelle_identity::did::Did::from_base_url(public_url.as_str())
                .map(|did| did.to_string())
                .map_err(|e| Self::invalid("participant", "public_url", &url_origin, e.to_string()))?,
        };
        let participant = Participant { name, role, public_url, id };

        let protocol_port = participant.public_url.port().unwrap_or(DEFAULT_PROTOCOL_PORT);
        let (protocol_bind, _) = self.socket("protocol", format!("0.0.0.0:{protocol_port}"))?;

        let (management_bind, mgmt_origin) = self.socket("management", DEFAULT_MANAGEMENT_BIND.to_string())?;
        let allow_remote = self.get("management", "allow_remote").and_then(|s| s.value.as_bool()).unwrap_or(false);
        if !management_bind.ip().is_loopback() && !allow_remote {
            return Err(Self::invalid(
                "management",
                "bind",
                &mgmt_origin,
                format!(
                    "{management_bind} is not a loopback address; the management API must stay private. Bind 127.0.0.1 \
                     (or ::1), or set management.allow_remote = true if a firewall and TLS proxy protect it"
                ),
            ));
        }
        let api_key = match self.text("management", "api_key") {
            Some((key, origin)) => {
                let key = key.trim().to_string();
                if key.len() < MIN_API_KEY_LEN {
                    return Err(Self::invalid(
                        "management",
                        "api_key",
                        &origin,
                        format!("too short: use at least {MIN_API_KEY_LEN} random characters (the value is not shown)"),
                    ));
                }
                if self.get("management", "api_key_file").is_some() {
                    warnings.push("management.api_key is set, so management.api_key_file is ignored".into());
                }
                ApiKeySource::Inline(ApiKey::new(key))
            }
            None => {
                let raw = self
                    .text("management", "api_key_file")
                    .map(|(v, _)| v)
                    .unwrap_or_else(|| DEFAULT_API_KEY_FILE.to_string());
                ApiKeySource::File(self.path(raw.trim()))
            }
        };
        let management = Management { bind: management_bind, allow_remote, api_key };

        let store = match self.text("store", "url") {
            Some((url, origin)) => {
                if self.get("store", "path").is_some() {
                    warnings.push("store.url is set, so store.path is ignored".into());
                }
                self.store_url(&url).map_err(|r| Self::invalid("store", "url", &origin, r))?
            }
            None => {
                let raw = self.text("store", "path").map(|(v, _)| v).unwrap_or_else(|| DEFAULT_STORE_PATH.to_string());
                if raw.trim().is_empty() {
                    return Err(Self::invalid("store", "path", &self.default_origin(), "must not be empty"));
                }
                StoreLocation::SqliteFile(self.path(raw.trim()))
            }
        };

        let signing_key_file = self.path(
            self.text("keys", "signing_key_file")
                .map(|(v, _)| v)
                .unwrap_or_else(|| DEFAULT_SIGNING_KEY_FILE.to_string())
                .trim(),
        );

        let identity = self.identity_settings(&participant.public_url, &signing_key_file)?;
        let tls = self.tls_settings(&participant.public_url, &mut warnings)?;
        let tck = self.tck_settings()?;

        let catalog_page_size = match self.get("catalog", "page_size") {
            Some(s) => {
                let n = s.value.as_integer().unwrap_or(DEFAULT_PAGE_SIZE);
                if !(1..=MAX_PAGE_SIZE).contains(&n) {
                    return Err(Self::invalid(
                        "catalog",
                        "page_size",
                        &s.origin,
                        format!("{n} is out of range; use 1 to {MAX_PAGE_SIZE}"),
                    ));
                }
                n as usize
            }
            None => DEFAULT_PAGE_SIZE as usize,
        };

        let exchange_max_delivery_bytes = match self.get("exchange", "max_delivery_bytes") {
            Some(s) => {
                let n = s.value.as_integer().unwrap_or(DEFAULT_MAX_DELIVERY_BYTES);
                if n < 1 {
                    return Err(Self::invalid(
                        "exchange",
                        "max_delivery_bytes",
                        &s.origin,
                        format!("{n} is out of range; give a positive number of bytes"),
                    ));
                }
                n as u64
            }
            None => DEFAULT_MAX_DELIVERY_BYTES as u64,
        };

        let catalogue_url = match self.text("catalogue", "url") {
            None => None,
            Some((raw, origin)) => {
                Some(parse_public_url(raw.trim()).map_err(|r| Self::invalid("catalogue", "url", &origin, r))?)
            }
        };

        let webhooks = match self.text("webhooks", "url") {
            None => None,
            Some((raw, origin)) => {
                let url = Url::parse(raw.trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https")).ok_or_else(
                    || Self::invalid("webhooks", "url", &origin, "must be the http(s) URL of your webhook receiver"),
                )?;
                let (secret, _) = self.required_text("webhooks", "secret_file")?;
                let events = match self.text("webhooks", "events") {
                    None => crate::webhooks::EVENTS.iter().map(|e| e.to_string()).collect(),
                    Some((raw, origin)) => {
                        let names: Vec<String> = raw
                            .split(|c: char| c == ',' || c.is_whitespace())
                            .filter(|n| !n.is_empty())
                            .map(str::to_string)
                            .collect();
                        if let Some(unknown) = names.iter().find(|n| !crate::webhooks::EVENTS.contains(&n.as_str())) {
                            return Err(Self::invalid(
                                "webhooks",
                                "events",
                                &origin,
                                format!(
                                    "`{unknown}` is not an event; choose among {}",
                                    crate::webhooks::EVENTS.join(", ")
                                ),
                            ));
                        }
                        names
                    }
                };
                Some(WebhookSettings { url, secret_file: self.path(&secret), events })
            }
        };

        let exchange_outbox_roots: Vec<PathBuf> = self
            .text("exchange", "outbox_roots")
            .map(|(raw, _)| {
                raw.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .map(|p| self.path(p))
                    .collect()
            })
            .unwrap_or_default();

        let log_filter = self.text("log", "filter").map(|(v, _)| v).unwrap_or_else(|| "info".to_string());
        let log_format = match self.text("log", "format") {
            None => LogFormat::Text,
            Some((v, origin)) => match v.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                _ => {
                    return Err(Self::invalid(
                        "log",
                        "format",
                        &origin,
                        format!("`{v}` is not a format; use text or json"),
                    ));
                }
            },
        };

        Ok(Config {
            file: self.file.clone(),
            participant,
            protocol_bind,
            management,
            store,
            signing_key_file,
            identity,
            tls,
            tck,
            catalog_page_size,
            catalogue_url,
            webhooks,
            exchange_outbox_roots,
            exchange_max_delivery_bytes,
            log_filter,
            log_format,
            warnings,
        })
    }

    fn store_url(&self, url: &str) -> Result<StoreLocation, String> {
        let url = url.trim();
        if url == "sqlite::memory:" || url == "sqlite://:memory:" {
            return Ok(StoreLocation::SqliteMemory);
        }
        if let Some(rest) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            let path = rest.split('?').next().unwrap_or_default();
            if path.is_empty() {
                return Err("the sqlite URL has no file path; write sqlite://data/passerelle.db".into());
            }
            return Ok(StoreLocation::SqliteFile(self.path(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err("PostgreSQL is not supported yet; use sqlite://<file> (or store.path) for now".into());
        }
        Err(format!("`{url}` is not a supported database URL; write sqlite://<file> or sqlite::memory:"))
    }
}

fn parse_public_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw)
        .map_err(|e| format!("`{raw}` is not an absolute URL ({e}); write e.g. https://connector.example.com"))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(format!("`{raw}` must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{raw}` has no host name"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{raw}` must not carry a query or fragment"));
    }
    Ok(url)
}

/// What `passerelle init` needs to write a configuration file.
#[derive(Debug, Clone)]
pub struct NewConfig {
    pub name: String,
    pub role: Role,
    pub public_url: Url,
}

impl NewConfig {
    /// Validates the values a user typed on the command line.
    pub fn new(name: &str, role: &str, public_url: &str) -> Result<NewConfig, ConfigError> {
        let origin = "from the command line".to_string();
        if name.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "participant.name".into(),
                origin,
                reason: "must not be empty".into(),
            });
        }
        let role = parse_role(role).map_err(|reason| ConfigError::Invalid {
            key: "participant.role".into(),
            origin: origin.clone(),
            reason,
        })?;
        let public_url = parse_public_url(public_url).map_err(|reason| ConfigError::Invalid {
            key: "participant.public_url".into(),
            origin,
            reason,
        })?;
        Ok(NewConfig { name: name.trim().to_string(), role, public_url })
    }

    /// The TOML text of a fresh configuration file, commented for the operator.
    pub fn to_toml(&self) -> String {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        let port = self.public_url.port().unwrap_or(DEFAULT_PROTOCOL_PORT);
        format!(
            "# Passerelle connector configuration, written by `passerelle init`.\n\
             # Every key can be overridden with PASSERELLE_<SECTION>_<KEY>, e.g. PASSERELLE_PROTOCOL_BIND.\n\
             # Relative paths are relative to this file's folder. `passerelle run --help` documents every key.\n\
             \n\
             [participant]\n\
             name = {name}\n\
             role = {role}\n\
             public_url = {url}\n\
             \n\
             [protocol]\n\
             # Public listener for the Dataspace Protocol.\n\
             bind = {bind}\n\
             \n\
             # HTTPS on the protocol listener (PEM files). Without them it speaks plain HTTP and a proxy must\n\
             # terminate TLS. extra_ca_file: a private data-space CA trusted for outgoing calls.\n\
             # [tls]\n\
             # cert_file = \"secrets/tls-cert.pem\"\n\
             # key_file = \"secrets/tls-key.pem\"\n\
             # extra_ca_file = \"data-space-ca.pem\"\n\
             \n\
             [management]\n\
             # Private listener for /api/v1 and /health; loopback only unless allow_remote = true.\n\
             bind = {mbind}\n\
             allow_remote = false\n\
             api_key_file = {keyfile}\n\
             \n\
             [store]\n\
             path = {store}\n\
             \n\
             [keys]\n\
             signing_key_file = {signing}\n\
             \n\
             [catalog]\n\
             page_size = {page}\n\
             \n\
             [log]\n\
             filter = \"info\"\n\
             format = \"text\"\n\
             \n\
             # Identity and DCP: the did:web comes from public_url. Every protocol call must carry a DCP token\n\
             # (dcp.enabled = true by default); name the data-space authority whose memberships you believe:\n\
             # [trust]\n\
             # membership = \"did:web:authority.example\"\n\
             # [dcp]\n\
             # status_list_ttl = 300\n\
             # [identity]\n\
             # allow_http_did_web = true   # local tests over plain HTTP only\n",
            name = q(&self.name),
            role = q(self.role.as_str()),
            url = q(self.public_url.as_str().trim_end_matches('/')),
            bind = q(&format!("0.0.0.0:{port}")),
            mbind = q(DEFAULT_MANAGEMENT_BIND),
            keyfile = q(DEFAULT_API_KEY_FILE),
            store = q(DEFAULT_STORE_PATH),
            signing = q(DEFAULT_SIGNING_KEY_FILE),
            page = DEFAULT_PAGE_SIZE,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[participant]
name = "Acme Films"
role = "distributor"
public_url = "https://connector.acme.example:9443/"
"#;

    fn file() -> PathBuf {
        PathBuf::from("/srv/acme/passerelle.toml")
    }

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::from_toml_str(text, &file(), env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    #[test]
    fn minimal_file_gets_documented_defaults() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.participant.role, Role::Distributor);
        assert_eq!(c.participant.id, "did:web:connector.acme.example%3A9443");
        assert_eq!(c.identity.did.as_str(), c.participant.id);
        assert!(c.identity.dcp_enabled, "DCP is on unless switched off");
        assert!(!c.identity.allow_http_did_web);
        assert_eq!(c.participant.protocol_base_url(), "https://connector.acme.example:9443");
        assert_eq!(c.protocol_bind, "0.0.0.0:9443".parse().unwrap());
        assert_eq!(c.management.bind, "127.0.0.1:8182".parse().unwrap());
        assert_eq!(c.store, StoreLocation::SqliteFile(PathBuf::from("/srv/acme/data/passerelle.db")));
        assert_eq!(c.signing_key_file, PathBuf::from("/srv/acme/secrets/signing-key.jwk"));
        assert!(
            matches!(&c.management.api_key, ApiKeySource::File(p) if p == Path::new("/srv/acme/secrets/management-api-key"))
        );
        assert_eq!(c.catalog_page_size, 50);
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn exchange_outbox_roots_are_read_relative_to_the_file() {
        assert!(load(MINIMAL, &[]).unwrap().exchange_outbox_roots.is_empty(), "default: deliveries-out");
        let text = format!("{MINIMAL}\n[exchange]\noutbox_roots = \"out, /srv/lab/outbox\"\n");
        let roots = load(&text, &[]).unwrap().exchange_outbox_roots;
        assert_eq!(roots, [file().parent().unwrap().join("out"), PathBuf::from("/srv/lab/outbox")]);
    }

    #[test]
    fn protocol_port_defaults_to_8181_without_explicit_port() {
        let text = MINIMAL.replace(":9443/", "");
        assert_eq!(load(&text, &[]).unwrap().protocol_bind, "0.0.0.0:8181".parse().unwrap());
    }

    #[test]
    fn environment_overrides_the_file() {
        let text = format!("{MINIMAL}\n[protocol]\nbind = \"0.0.0.0:1\"\n[catalog]\npage_size = 20\n");
        let c = load(
            &text,
            &[
                ("PASSERELLE_PROTOCOL_BIND", "127.0.0.1:0"),
                ("PASSERELLE_CATALOG_PAGE_SIZE", "7"),
                ("PASSERELLE_MANAGEMENT_API_KEY", "0123456789abcdef0123"),
                ("PASSERELLE_PARTICIPANT_ROLE", "lab"),
                ("PASSERELLE_STORE_URL", "sqlite::memory:"),
                ("PASSERELLE_CONFIG", "ignored"),
                ("OTHER", "ignored"),
            ],
        )
        .unwrap();
        assert_eq!(c.protocol_bind, "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.catalog_page_size, 7);
        assert_eq!(c.participant.role, Role::Lab);
        assert_eq!(c.store, StoreLocation::SqliteMemory);
        assert!(matches!(&c.management.api_key, ApiKeySource::Inline(k) if k.matches("0123456789abcdef0123")));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn unknown_environment_variable_is_a_warning() {
        let c = load(MINIMAL, &[("PASSERELLE_PROTOCOL_BINDD", "x")]).unwrap();
        assert!(c.warnings.iter().any(|w| w.contains("PASSERELLE_PROTOCOL_BINDD")));
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let e = load(MINIMAL, &[("PASSERELLE_CATALOG_PAGE_SIZE", "many")]).unwrap_err();
        assert_eq!(e.key(), Some("catalog.page_size"));
        assert!(e.to_string().contains("PASSERELLE_CATALOG_PAGE_SIZE"), "{e}");
        let e = load(MINIMAL, &[("PASSERELLE_PROTOCOL_BIND", "localhost")]).unwrap_err();
        assert_eq!(e.key(), Some("protocol.bind"));
        assert!(e.to_string().contains("PASSERELLE_PROTOCOL_BIND"), "{e}");
    }

    #[test]
    fn errors_name_the_key() {
        let cases: &[(&str, &str)] = &[
            ("[participant]\nrole = \"distributor\"\npublic_url = \"https://a.example\"\n", "participant.name"),
            (&MINIMAL.replace("distributor", "studio"), "participant.role"),
            (&MINIMAL.replace("https://connector.acme.example:9443/", "not a url"), "participant.public_url"),
            (&MINIMAL.replace("https://connector.acme.example:9443/", "ftp://x.example"), "participant.public_url"),
            (&format!("{MINIMAL}[protocol]\nbind = \"nowhere\"\n"), "protocol.bind"),
            (&format!("{MINIMAL}[protocol]\nbind = 8181\n"), "protocol.bind"),
            (&format!("{MINIMAL}[management]\nbind = \"0.0.0.0:8182\"\n"), "management.bind"),
            (&format!("{MINIMAL}[management]\napi_key = \"short\"\n"), "management.api_key"),
            (&format!("{MINIMAL}[catalog]\npage_size = 0\n"), "catalog.page_size"),
            (&format!("{MINIMAL}[store]\nurl = \"postgres://db/x\"\n"), "store.url"),
            (&format!("{MINIMAL}[log]\nformat = \"xml\"\n"), "log.format"),
            (&format!("{MINIMAL}[protocol]\nbnd = \"0.0.0.0:1\"\n"), "protocol.bnd"),
            (&format!("{MINIMAL}[webhooks]\nurl = \"mailto:mam@acme.example\"\n"), "webhooks.url"),
            (&format!("{MINIMAL}[webhooks]\nurl = \"https://mam.acme.example/hook\"\n"), "webhooks.secret_file"),
            (
                &format!(
                    "{MINIMAL}[webhooks]\nurl = \"https://mam.acme.example/hook\"\nsecret_file = \"s\"\nevents = \"feed.change order.placed\"\n"
                ),
                "webhooks.events",
            ),
        ];
        for (text, key) in cases {
            let e = load(text, &[]).expect_err(key);
            assert_eq!(e.key(), Some(*key), "{e}");
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn remote_management_bind_needs_allow_remote() {
        let text = format!("{MINIMAL}[management]\nbind = \"0.0.0.0:8182\"\nallow_remote = true\n");
        assert!(load(&text, &[]).unwrap().management.allow_remote);
    }

    #[test]
    fn unknown_section_and_bad_toml_are_reported() {
        let e = load(&format!("{MINIMAL}[proxy]\ncert = \"x\"\n"), &[]).unwrap_err();
        assert!(matches!(e, ConfigError::UnknownSection { ref section, .. } if section == "proxy"), "{e}");
        let e = load("[participant\nname = 1", &[]).unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
    }

    #[test]
    fn roles_are_read_as_operators_type_them() {
        assert_eq!(parse_role(" Broadcaster "), Ok(Role::Broadcaster));
        assert_eq!(parse_role("LAB"), Ok(Role::Lab));
        assert!(parse_role("studio").unwrap_err().contains("distributor, lab, broadcaster, producer"));
    }

    #[test]
    fn tls_files_come_in_pairs_relative_to_the_file() {
        let c = load(MINIMAL, &[]).unwrap();
        assert_eq!(c.tls, TlsSettings::default());

        let text = format!(
            "{MINIMAL}[tls]\ncert_file = \"secrets/tls.pem\"\nkey_file = \"/etc/tls/key.pem\"\nextra_ca_file = \"ca.pem\"\n"
        );
        let c = load(&text, &[]).unwrap();
        let server = c.tls.server.expect("HTTPS configured");
        assert_eq!(server.cert_file, PathBuf::from("/srv/acme/secrets/tls.pem"));
        assert_eq!(server.key_file, PathBuf::from("/etc/tls/key.pem"));
        assert_eq!(c.tls.extra_ca_file, Some(PathBuf::from("/srv/acme/ca.pem")));
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        let e = load(&format!("{MINIMAL}[tls]\ncert_file = \"tls.pem\"\n"), &[]).unwrap_err();
        assert_eq!(e.key(), Some("tls.cert_file"));
        assert!(e.to_string().contains("tls.key_file"), "{e}");
        let e = load(MINIMAL, &[("PASSERELLE_TLS_KEY_FILE", "key.pem")]).unwrap_err();
        assert_eq!(e.key(), Some("tls.key_file"));
        assert!(e.to_string().contains("PASSERELLE_TLS_KEY_FILE"), "{e}");

        let http = MINIMAL.replace("https://", "http://");
        let c = load(&http, &[("PASSERELLE_TLS_CERT_FILE", "c.pem"), ("PASSERELLE_TLS_KEY_FILE", "k.pem")]).unwrap();
        assert!(c.warnings.iter().any(|w| w.contains("write https://")), "{:?}", c.warnings);
    }

    #[test]
    fn missing_file_says_how_to_create_one() {
        let e = Config::load_with_env(Path::new("/nonexistent/passerelle.toml"), Vec::new()).unwrap_err();
        assert!(matches!(e, ConfigError::NotFound { .. }));
        assert!(e.to_string().contains("passerelle init"), "{e}");
    }

    #[test]
    fn init_text_loads_back_with_the_same_values() {
        let new = NewConfig::new("Lab \"Sous-titres\" & Co", "lab", "http://127.0.0.1:9000").unwrap();
        let c = load(&new.to_toml(), &[]).unwrap();
        assert_eq!(c.participant.name, "Lab \"Sous-titres\" & Co");
        assert_eq!(c.participant.role, Role::Lab);
        assert_eq!(c.protocol_bind, "0.0.0.0:9000".parse().unwrap());
        assert!(NewConfig::new("x", "studio", "http://a.example").is_err());
        assert!(NewConfig::new(" ", "lab", "http://a.example").is_err());
    }
}
