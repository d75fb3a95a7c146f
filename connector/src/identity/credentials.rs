//! The credentials this participant holds, one `vc+jwt` per file in
//! `<identity dir>/credentials/`, and the self-issued ones `init` creates.
//!
//! Files rather than database rows so that `passerelle identity onboard` can add the
//! membership credential while the connector runs: the credential service reads the
//! folder on every presentation query (a handful of small files).

use std::path::{Path, PathBuf};

use futures::future::BoxFuture;
use passerelle_identity::dcp::{CredentialStore, StoredCredential};
use passerelle_identity::did::Did;
use passerelle_identity::jose::DecodedJws;
use passerelle_identity::keys::KeyPair;
use passerelle_identity::vc::gaiax::{
    Address, GAIAX_TERMS_HASHES, LegalPerson, RegistrationKind, RegistrationNumber, issuer_terms_credential,
};
use passerelle_identity::vc::{Credential, types};
use passerelle_media::Territory;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::IdentityError;

/// Sub-folder of the identity folder holding the credentials.
pub const CREDENTIALS_DIR: &str = "credentials";
/// File of the membership credential the authority issued.
pub const MEMBERSHIP_FILE: &str = "membership.jwt";
/// File of the self-issued gx:LegalPerson credential.
pub const LEGAL_PERSON_FILE: &str = "legal-person.jwt";
/// File of the registration-number credential.
pub const REGISTRATION_NUMBER_FILE: &str = "registration-number.jwt";
/// Files of the self-issued credentials, re-signed on key rotation.
pub const SELF_ISSUED_FILES: [&str; 3] = [LEGAL_PERSON_FILE, REGISTRATION_NUMBER_FILE, "issuer-terms.jwt"];

/// What a participant says about itself (the `init` flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelfDescription {
    pub legal_name: String,
    pub registration: (RegistrationKind, String),
    pub country: Territory,
    pub address: Option<String>,
}

impl SelfDescription {
    /// Reads `--registration-number KIND:VALUE` (KIND: vatID, local, EORI, EUID, LEI) and `--country`.
    pub fn parse(
        legal_name: &str,
        registration: &str,
        country: &str,
        address: Option<&str>,
    ) -> Result<SelfDescription, IdentityError> {
        let bad = |field: &'static str, reason: String| IdentityError::SelfDescription { field, reason };
        if legal_name.trim().is_empty() {
            return Err(bad("legal-name", "must not be empty".into()));
        }
        let (kind, value) = registration.split_once(':').ok_or_else(|| {
            bad("registration-number", format!("`{registration}` names no kind; write e.g. vatID:FR40303265045"))
        })?;
        let kind = match kind.trim().to_ascii_lowercase().as_str() {
            "vatid" | "vat" => RegistrationKind::VatId,
            "local" => RegistrationKind::Local,
            "eori" => RegistrationKind::Eori,
            "euid" => RegistrationKind::Euid,
            "lei" | "leicode" => RegistrationKind::LeiCode,
            other => {
                return Err(bad(
                    "registration-number",
                    format!("`{other}` is not a kind; use vatID, local, EORI, EUID or LEI"),
                ));
            }
        };
        let country = Territory::parse(country.trim()).map_err(|e| bad("country", e.to_string()))?;
        Ok(SelfDescription {
            legal_name: legal_name.trim().to_string(),
            registration: (kind, value.trim().to_string()),
            country,
            address: address.map(str::trim).filter(|a| !a.is_empty()).map(String::from),
        })
    }

    fn legal_person(&self, did: &Did) -> Result<LegalPerson, IdentityError> {
        let (kind, value) = &self.registration;
        let number = RegistrationNumber::new(did, *kind, value, Some(self.country.clone()))
            .map_err(|e| IdentityError::SelfDescription { field: "registration-number", reason: e.to_string() })?;
        let mut address = Address::new(self.country.clone());
        address.street_address = self.address.clone();
        Ok(LegalPerson {
            id: did.clone(),
            name: self.legal_name.clone(),
            description: None,
            registration_number: number,
            legal_address: address.clone(),
            headquarters_address: address,
        })
    }

    /// The three self-issued credentials, signed with `key`, in [`SELF_ISSUED_FILES`] order.
    ///
    /// The registration number is self-attested: the data space has no notary yet, so
    /// the authority is configured to believe self-issued numbers (see the authority docs).
    pub fn credentials(&self, did: &Did, key: &KeyPair, now: OffsetDateTime) -> Result<[String; 3], IdentityError> {
        let person = self.legal_person(did)?;
        let number = person.registration_number.credential(did, now);
        let terms = issuer_terms_credential(did, GAIAX_TERMS_HASHES[0], now)
            .map_err(|e| IdentityError::SelfDescription { field: "terms", reason: e.to_string() })?;
        let sign = |c: &Credential| c.sign(key).map_err(|e| IdentityError::Key(e.to_string()));
        Ok([sign(&person.credential(now))?, sign(&number)?, sign(&terms)?])
    }
}

/// The folder of held credentials.
#[derive(Debug, Clone)]
pub struct CredentialFolder {
    dir: PathBuf,
}

/// A held credential as `identity show` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialSummary {
    pub file: String,
    pub types: Vec<String>,
    pub issuer: String,
    pub valid_until: Option<String>,
}

impl CredentialFolder {
    pub fn new(identity_dir: &Path) -> CredentialFolder {
        CredentialFolder { dir: identity_dir.join(CREDENTIALS_DIR) }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Stores `jwt` as `name` (replacing it). The payload must be a credential.
    pub fn put(&self, name: &str, jwt: &str) -> Result<(), IdentityError> {
        StoredCredential::from_jwt(jwt)
            .map_err(|reason| IdentityError::BadCredential { file: name.to_string(), reason })?;
        std::fs::create_dir_all(&self.dir).map_err(|source| IdentityError::Io { path: self.dir.clone(), source })?;
        super::keyset::write_atomically(&self.dir.join(name), format!("{}\n", jwt.trim()).as_bytes())
    }

    /// Whether `name` is held.
    pub fn has(&self, name: &str) -> bool {
        self.dir.join(name).is_file()
    }

    /// Every `*.jwt` file, sorted by name. A file that is not a credential is an error naming it.
    pub fn read_all(&self) -> Result<Vec<(String, String)>, IdentityError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(IdentityError::Io { path: self.dir.clone(), source }),
        };
        let mut out = Vec::new();
        for entry in entries {
            let path = entry.map_err(|source| IdentityError::Io { path: self.dir.clone(), source })?.path();
            if path.extension().and_then(|e| e.to_str()) != Some("jwt") {
                continue;
            }
            let text =
                std::fs::read_to_string(&path).map_err(|source| IdentityError::Io { path: path.clone(), source })?;
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push((name, text.trim().to_string()));
        }
        out.sort();
        Ok(out)
    }

    /// Type, issuer and expiry of each held credential.
    pub fn summaries(&self) -> Result<Vec<CredentialSummary>, IdentityError> {
        self.read_all()?
            .into_iter()
            .map(|(file, jwt)| {
                let decoded = DecodedJws::decode(&jwt)
                    .map_err(|e| IdentityError::BadCredential { file: file.clone(), reason: e.to_string() })?;
                let credential: Credential = serde_json::from_value(Value::Object(decoded.payload))
                    .map_err(|e| IdentityError::BadCredential { file: file.clone(), reason: e.to_string() })?;
                let types =
                    credential.types.iter().filter(|t| t.as_str() != types::VERIFIABLE_CREDENTIAL).cloned().collect();
                let valid_until = credential.valid_until.and_then(|t| t.format(&Rfc3339).ok());
                Ok(CredentialSummary { file, types, issuer: credential.issuer, valid_until })
            })
            .collect()
    }
}

impl CredentialStore for CredentialFolder {
    fn list(&self) -> BoxFuture<'_, Result<Vec<StoredCredential>, String>> {
        Box::pin(async move {
            let held = self.read_all().map_err(|e| e.to_string())?;
            held.iter()
                .map(|(file, jwt)| StoredCredential::from_jwt(jwt).map_err(|reason| format!("{file}: {reason}")))
                .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn description() -> SelfDescription {
        SelfDescription::parse("Films du Marais SAS", "vatID:FR40303265045", "FR", Some("12 rue des Archives, Paris"))
            .unwrap()
    }

    #[test]
    fn flags_are_read_with_reasons_for_mistakes() {
        let d = description();
        assert_eq!(d.registration, (RegistrationKind::VatId, "FR40303265045".into()));
        assert_eq!(d.country.as_str(), "FR");
        let e = SelfDescription::parse("X", "FR40303265045", "FR", None).unwrap_err();
        assert!(e.to_string().contains("vatID:"), "{e}");
        let e = SelfDescription::parse("X", "duns:123", "FR", None).unwrap_err();
        assert!(e.to_string().contains("EORI"), "{e}");
        assert!(SelfDescription::parse("X", "lei:529900T8BM49AURSDO55", "ZZ", None).is_err());
        assert!(SelfDescription::parse(" ", "eori:FR123", "FR", None).is_err());
    }

    #[tokio::test]
    async fn self_issued_credentials_are_stored_listed_and_served() {
        let dir = tempfile::tempdir().unwrap();
        let did = Did::parse("did:web:distributor.example").unwrap();
        let key = KeyPair::generate_es256().unwrap();
        let folder = CredentialFolder::new(dir.path());
        let jwts = description().credentials(&did, &key, OffsetDateTime::now_utc()).unwrap();
        for (name, jwt) in SELF_ISSUED_FILES.iter().zip(&jwts) {
            folder.put(name, jwt).unwrap();
        }
        assert!(folder.put("bad.jwt", "not a jwt").is_err());
        let summaries = folder.summaries().unwrap();
        let types: Vec<&str> = summaries.iter().map(|s| s.types[0].as_str()).collect();
        assert_eq!(types, ["gx:Issuer", types::LEGAL_PERSON, types::REGISTRATION_NUMBER]);
        assert!(summaries.iter().all(|s| s.issuer == did.as_str()));
        let stored = folder.list().await.unwrap();
        assert_eq!(stored.len(), 3);
        assert!(!folder.has(MEMBERSHIP_FILE));
    }
}
