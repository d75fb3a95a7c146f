//! `authority.toml`: where the authority listens, who it is, whom it believes.
//!
//! Two environment variables override the listeners, as for the connector:
//! `PASSERELLE_AUTHORITY_BIND` and `PASSERELLE_AUTHORITY_MANAGEMENT_BIND`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use passerelle_identity::did::Did;
use serde::Deserialize;

use super::AuthorityServiceError;

/// File name `passerelle authority init` writes.
pub const AUTHORITY_FILE: &str = "authority.toml";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    authority: Section,
    #[serde(default)]
    trust: TrustSection,
    #[serde(default)]
    files: FilesSection,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    name: String,
    public_url: String,
    bind: Option<String>,
    management_bind: Option<String>,
    #[serde(default)]
    allow_http_did_web: bool,
    #[serde(default)]
    allow_remote_management: bool,
    membership_validity_days: Option<i64>,
    status_list_validity_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustSection {
    #[serde(default)]
    registration_number: Vec<String>,
    #[serde(default = "yes")]
    accept_self_issued_registration: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilesSection {
    signing_key: Option<String>,
    api_key: Option<String>,
    state: Option<String>,
}

/// The validated authority configuration; paths are absolute.
#[derive(Debug, Clone)]
pub struct AuthoritySettings {
    pub file: PathBuf,
    pub name: String,
    pub public_url: url::Url,
    pub did: Did,
    pub bind: SocketAddr,
    pub management_bind: SocketAddr,
    pub allow_http_did_web: bool,
    pub membership_validity_days: i64,
    pub status_list_validity_seconds: i64,
    pub registration_issuers: Vec<Did>,
    pub accept_self_issued_registration: bool,
    pub signing_key_file: PathBuf,
    pub api_key_file: PathBuf,
    pub state_file: PathBuf,
}

impl AuthoritySettings {
    /// The text of a fresh `authority.toml`.
    pub fn new_file(name: &str, public_url: &str) -> Result<String, AuthorityServiceError> {
        if name.trim().is_empty() {
            return Err(AuthorityServiceError::Invalid { field: "name", reason: "must not be empty".into() });
        }
        let url = url::Url::parse(public_url)
            .map_err(|e| AuthorityServiceError::Invalid { field: "public-url", reason: e.to_string() })?;
        Did::from_base_url(url.as_str())
            .map_err(|e| AuthorityServiceError::Invalid { field: "public-url", reason: e.to_string() })?;
        let http = url.scheme() == "http";
        let port = url.port_or_known_default().unwrap_or(8190);
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        Ok(format!(
            "# Data-space authority, written by `passerelle authority init`.\n\
             # PASSERELLE_AUTHORITY_BIND and PASSERELLE_AUTHORITY_MANAGEMENT_BIND override the listeners.\n\
             \n\
             [authority]\n\
             name = {name}\n\
             # Its DID is the did:web of this URL; the DID document, /onboarding and /status/* are served there.\n\
             public_url = {url}\n\
             bind = {bind}\n\
             # Admin routes (/members, revoke, suspend, reinstate) with the X-Api-Key of files.api_key.\n\
             management_bind = \"127.0.0.1:{mport}\"\n\
             # Plain-HTTP did:web resolution: local tests only.\n\
             allow_http_did_web = {http}\n\
             membership_validity_days = 365\n\
             # Lifetime of a signed status list; connectors re-fetch them after their [dcp] status_list_ttl.\n\
             status_list_validity_seconds = 86400\n\
             \n\
             [trust]\n\
             # DIDs of notaries believed for registration-number credentials.\n\
             registration_number = []\n\
             # No notary yet: believe the number an applicant attests itself. Turn off once a notary exists.\n\
             accept_self_issued_registration = true\n\
             \n\
             [files]\n\
             signing_key = \"secrets/signing-key.jwk\"\n\
             api_key = \"secrets/admin-api-key\"\n\
             state = \"state.json\"\n",
            name = q(name.trim()),
            url = q(url.as_str().trim_end_matches('/')),
            bind = q(&format!("0.0.0.0:{port}")),
            mport = port.saturating_add(1),
        ))
    }

    pub fn load(path: &Path) -> Result<AuthoritySettings, AuthorityServiceError> {
        AuthoritySettings::load_with_env(path, std::env::vars())
    }

    pub fn load_with_env(
        path: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<AuthoritySettings, AuthorityServiceError> {
        let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let text = std::fs::read_to_string(&file)
            .map_err(|source| AuthorityServiceError::Io { path: file.clone(), source })?;
        let bad = |reason: String| AuthorityServiceError::Config { path: file.clone(), reason };
        let raw: File = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |value: Option<String>, default: &str| {
            let value = value.unwrap_or_else(|| default.to_string());
            let p = Path::new(&value);
            if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
        };
        let public_url = url::Url::parse(&raw.authority.public_url)
            .map_err(|e| bad(format!("authority.public_url `{}`: {e}", raw.authority.public_url)))?;
        let did = Did::from_base_url(public_url.as_str()).map_err(|e| bad(format!("authority.public_url: {e}")))?;
        let env: Vec<(String, String)> = env.into_iter().collect();
        let from_env = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let socket = |key: &str, value: Option<String>, default: String| -> Result<SocketAddr, AuthorityServiceError> {
            let value = value.unwrap_or(default);
            value.trim().parse().map_err(|_| bad(format!("{key} `{value}` is not IP:port, e.g. 127.0.0.1:8190")))
        };
        let port = public_url.port_or_known_default().unwrap_or(8190);
        let bind = socket(
            "authority.bind",
            from_env("PASSERELLE_AUTHORITY_BIND").or(raw.authority.bind),
            format!("0.0.0.0:{port}"),
        )?;
        let management_bind = socket(
            "authority.management_bind",
            from_env("PASSERELLE_AUTHORITY_MANAGEMENT_BIND").or(raw.authority.management_bind),
            format!("127.0.0.1:{}", port.saturating_add(1)),
        )?;
        if !management_bind.ip().is_loopback() && !raw.authority.allow_remote_management {
            return Err(bad(format!(
                "authority.management_bind {management_bind} is not loopback; the admin routes must stay private \
                 (or set allow_remote_management = true behind a firewall and TLS proxy)"
            )));
        }
        let registration_issuers = raw
            .trust
            .registration_number
            .iter()
            .map(|d| Did::parse(d).map_err(|e| bad(format!("trust.registration_number: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        let membership_validity_days = raw.authority.membership_validity_days.unwrap_or(365);
        if !(1..=3650).contains(&membership_validity_days) {
            return Err(bad("authority.membership_validity_days must be 1 to 3650".into()));
        }
        let status_list_validity_seconds = raw.authority.status_list_validity_seconds.unwrap_or(86_400);
        if !(60..=31_536_000).contains(&status_list_validity_seconds) {
            return Err(bad("authority.status_list_validity_seconds must be 60 to 31536000".into()));
        }
        Ok(AuthoritySettings {
            name: raw.authority.name,
            public_url,
            did,
            bind,
            management_bind,
            allow_http_did_web: raw.authority.allow_http_did_web,
            membership_validity_days,
            status_list_validity_seconds,
            registration_issuers,
            accept_self_issued_registration: raw.trust.accept_self_issued_registration,
            signing_key_file: resolve(raw.files.signing_key, "secrets/signing-key.jwk"),
            api_key_file: resolve(raw.files.api_key, "secrets/admin-api-key"),
            state_file: resolve(raw.files.state, "state.json"),
            file,
        })
    }

    /// The public URL without a trailing slash.
    pub fn public_base_url(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_file_loads_with_its_defaults_and_env_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUTHORITY_FILE);
        std::fs::write(&path, AuthoritySettings::new_file("Media Space", "http://127.0.0.1:9100").unwrap()).unwrap();
        let s = AuthoritySettings::load_with_env(&path, Vec::new()).unwrap();
        assert_eq!(s.did.as_str(), "did:web:127.0.0.1%3A9100");
        assert!(s.allow_http_did_web, "an http public URL is a local test setup");
        assert_eq!(s.bind, "0.0.0.0:9100".parse().unwrap());
        assert_eq!(s.management_bind, "127.0.0.1:9101".parse().unwrap());
        assert!(s.accept_self_issued_registration);
        assert_eq!(s.state_file, dir.path().join("state.json"));
        let env = vec![("PASSERELLE_AUTHORITY_BIND".to_string(), "127.0.0.1:0".to_string())];
        assert_eq!(AuthoritySettings::load_with_env(&path, env).unwrap().bind, "127.0.0.1:0".parse().unwrap());
    }

    #[test]
    fn mistakes_name_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(AUTHORITY_FILE);
        let text = AuthoritySettings::new_file("A", "https://authority.example").unwrap();
        std::fs::write(&path, text.replace("127.0.0.1:444", "0.0.0.0:444")).unwrap();
        let e = AuthoritySettings::load_with_env(&path, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("not loopback"), "{e}");
        std::fs::write(&path, text.replace("[files]", "[files]\nbogus = 1")).unwrap();
        let e = AuthoritySettings::load_with_env(&path, Vec::new()).unwrap_err();
        assert!(e.to_string().contains("bogus"), "{e}");
        assert!(AuthoritySettings::new_file("A", "ftp://x").is_err());
        assert!(AuthoritySettings::new_file(" ", "https://x.example").is_err());
    }
}
