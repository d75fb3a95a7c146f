//! `catalogue.toml`: the catalogue's own settings, next to the `authority.toml` of the
//! authority it hosts (which keeps its listeners, DID, keys and member records).

use std::path::{Path, PathBuf};
use std::time::Duration;

use passerelle_identity::vc::membership::Role;
use serde::Deserialize;

use super::CatalogueServiceError;
use crate::authority::AuthoritySettings;
use crate::identity::SelfDescription;

/// File name `passerelle catalog init` writes.
pub const CATALOGUE_FILE: &str = "catalogue.toml";

const DEFAULT_RECRAWL_SECONDS: u64 = 300;
const DEFAULT_SPARQL_TIMEOUT_SECONDS: u64 = 10;
const DEFAULT_PAGE_SIZE: usize = 200;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    catalogue: Section,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    authority: Option<String>,
    role: Option<String>,
    legal_name: String,
    registration_number: String,
    country: String,
    recrawl_seconds: Option<u64>,
    sparql_timeout_seconds: Option<u64>,
    page_size: Option<usize>,
    snapshot_dir: Option<String>,
}

/// The validated catalogue configuration; paths are absolute.
#[derive(Debug, Clone)]
pub struct CatalogueSettings {
    pub file: PathBuf,
    /// The hosted authority (listeners, DID, keys, members).
    pub authority: AuthoritySettings,
    /// Role of the catalogue's own membership: connectors show it the offers that role may see.
    pub role: Role,
    /// What its self-issued LegalPerson credential says.
    pub self_description: SelfDescription,
    /// Every participant is recrawled this often (notifications recrawl one at once).
    pub recrawl: Duration,
    pub sparql_timeout: Duration,
    /// Datasets asked per catalog page when crawling.
    pub page_size: usize,
    /// Where the RDF and index snapshot is kept.
    pub snapshot_dir: PathBuf,
    /// Where the catalogue's membership credential is kept.
    pub credentials_dir: PathBuf,
}

impl CatalogueSettings {
    /// The text of a fresh `catalogue.toml`; refuses a self-description that cannot be used.
    pub fn new_file(
        role: Role,
        description: &SelfDescription,
        registration_number: &str,
    ) -> Result<String, CatalogueServiceError> {
        let q = |s: &str| toml::Value::String(s.to_string()).to_string();
        Ok(format!(
            "# Federated catalogue, written by `passerelle catalog init`.\n\
             # Listeners, DID and keys are those of the authority it hosts (authority.toml).\n\
             \n\
             [catalogue]\n\
             authority = \"authority.toml\"\n\
             # Role in the catalogue's own membership credential: connectors show the crawler the offers\n\
             # this role may see (distributor, lab, broadcaster or producer).\n\
             role = {role}\n\
             # Its self-issued gx:LegalPerson credential.\n\
             legal_name = {legal_name}\n\
             registration_number = {number}\n\
             country = {country}\n\
             # Every participant is recrawled this often; a connector's notification recrawls it at once.\n\
             recrawl_seconds = {DEFAULT_RECRAWL_SECONDS}\n\
             sparql_timeout_seconds = {DEFAULT_SPARQL_TIMEOUT_SECONDS}\n\
             page_size = {DEFAULT_PAGE_SIZE}\n\
             snapshot_dir = \"snapshot\"\n",
            role = q(role.as_str()),
            legal_name = q(&description.legal_name),
            number = q(registration_number.trim()),
            country = q(description.country.as_str()),
        ))
    }

    pub fn load(path: &Path) -> Result<CatalogueSettings, CatalogueServiceError> {
        let file = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let text = std::fs::read_to_string(&file)
            .map_err(|source| CatalogueServiceError::Io { path: file.clone(), source })?;
        let bad = |reason: String| CatalogueServiceError::Config { path: file.clone(), reason };
        let raw: File = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let raw = raw.catalogue;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |value: Option<String>, default: &str| {
            let value = value.unwrap_or_else(|| default.to_string());
            let p = Path::new(&value);
            if p.is_absolute() { p.to_path_buf() } else { base.join(p) }
        };
        let role_text = raw.role.unwrap_or_else(|| Role::Broadcaster.as_str().to_string());
        let role: Role = role_text.parse().map_err(|_| {
            bad(format!("catalogue.role `{role_text}` is not distributor, lab, broadcaster or producer"))
        })?;
        let self_description = SelfDescription::parse(&raw.legal_name, &raw.registration_number, &raw.country, None)
            .map_err(|e| bad(format!("catalogue self-description: {e}")))?;
        let seconds = |key: &str, value: Option<u64>, default: u64, max: u64| match value.unwrap_or(default) {
            n if (1..=max).contains(&n) => Ok(Duration::from_secs(n)),
            n => Err(bad(format!("catalogue.{key} = {n} is out of range; use 1 to {max}"))),
        };
        let recrawl = seconds("recrawl_seconds", raw.recrawl_seconds, DEFAULT_RECRAWL_SECONDS, 7 * 86_400)?;
        let sparql_timeout =
            seconds("sparql_timeout_seconds", raw.sparql_timeout_seconds, DEFAULT_SPARQL_TIMEOUT_SECONDS, 600)?;
        let page_size = raw.page_size.unwrap_or(DEFAULT_PAGE_SIZE);
        if !(1..=1000).contains(&page_size) {
            return Err(bad(format!("catalogue.page_size = {page_size} is out of range; use 1 to 1000")));
        }
        let authority = AuthoritySettings::load(&resolve(raw.authority, "authority.toml"))?;
        Ok(CatalogueSettings {
            authority,
            role,
            self_description,
            recrawl,
            sparql_timeout,
            page_size,
            snapshot_dir: resolve(raw.snapshot_dir, "snapshot"),
            credentials_dir: base.join("credentials"),
            file,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::authority::{AUTHORITY_FILE, AuthorityInit};
    use passerelle_identity::keys::Algorithm;

    fn folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        crate::authority::init(&AuthorityInit {
            dir: dir.path().to_path_buf(),
            name: "Media Space".into(),
            public_url: "http://127.0.0.1:9300".into(),
            algorithm: Algorithm::Es256,
            force: false,
        })
        .unwrap();
        assert!(dir.path().join(AUTHORITY_FILE).exists());
        dir
    }

    #[test]
    fn a_fresh_file_loads_with_its_defaults() {
        let dir = folder();
        let description = SelfDescription::parse("Media Space SAS", "vatID:FR40303265045", "FR", None).unwrap();
        let text = CatalogueSettings::new_file(Role::Broadcaster, &description, "vatID:FR40303265045").unwrap();
        let path = dir.path().join(CATALOGUE_FILE);
        std::fs::write(&path, text).unwrap();
        let settings = CatalogueSettings::load(&path).unwrap();
        assert_eq!(settings.role, Role::Broadcaster);
        assert_eq!(settings.recrawl, Duration::from_secs(300));
        assert_eq!(settings.self_description, description);
        assert_eq!(settings.snapshot_dir, dir.path().join("snapshot"));
        assert_eq!(settings.authority.did.as_str(), "did:web:127.0.0.1%3A9300");
    }

    #[test]
    fn mistakes_name_the_key() {
        let dir = folder();
        let description = SelfDescription::parse("M", "vatID:FR40303265045", "FR", None).unwrap();
        let text = CatalogueSettings::new_file(Role::Lab, &description, "vatID:FR40303265045").unwrap();
        let path = dir.path().join(CATALOGUE_FILE);
        for (from, to, expected) in [
            ("recrawl_seconds = 300", "recrawl_seconds = 0", "recrawl_seconds"),
            ("role = \"lab\"", "role = \"operator\"", "catalogue.role"),
            ("page_size = 200", "page_size = 200\nbogus = 1", "bogus"),
            ("country = \"FR\"", "country = \"France\"", "country"),
            ("authority.toml", "missing.toml", "missing.toml"),
        ] {
            std::fs::write(&path, text.replace(from, to)).unwrap();
            let error = CatalogueSettings::load(&path).unwrap_err().to_string();
            assert!(error.contains(expected), "{from} → {error}");
        }
    }
}
