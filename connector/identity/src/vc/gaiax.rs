//! Gaia-X Loire (25.11) credential subjects: `gx:LegalPerson`, registration
//! numbers and `gx:Issuer` (terms and conditions).
//!
//! The shapes in `spec/gaiax-loire-25.11/gx.shacl.ttl` are closed: a LegalPerson may
//! only carry `name`, `description`, `registrationNumber`, `legalAddress`,
//! `headquartersAddress` (and the two organisation links), addresses only their
//! vCard/country members. `sh:class gx:RegistrationNumber` sees the registration
//! node only when it is typed `gx:RegistrationNumber` besides its concrete type
//! (`gx:VatID`…), so both types are always written.

use passerelle_media::Territory;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use super::{Credential, types};
use crate::did::{Did, split_did_url};

/// The Gaia-X development context (`@vocab` = `https://w3id.org/gaia-x/development#`).
pub const GX_CONTEXT: &str = "https://w3id.org/gaia-x/development#";

/// Hashes of the Gaia-X terms and conditions an issuer may accept (from `gx:IssuerShape`).
pub const GAIAX_TERMS_HASHES: [&str; 2] = [
    "067dcac5efd18c1927deb1ffed3feab6d0ad044c0a9a263e6d5d8bdc43224515",
    "4bd7554097444c960292b4726c2efa1373485e8a5565d94d41195214c5e0ceb3",
];

/// Why a Gaia-X subject is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GaiaxError {
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{0} is missing")]
    Missing(String),
}

fn invalid(field: &str, reason: impl Into<String>) -> GaiaxError {
    GaiaxError::Invalid { field: field.into(), reason: reason.into() }
}

/// A postal address (`gx:Address`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub country_code: Territory,
    pub street_address: Option<String>,
    pub postal_code: Option<String>,
    pub locality: Option<String>,
}

impl Address {
    pub fn new(country_code: Territory) -> Address {
        Address { country_code, street_address: None, postal_code: None, locality: None }
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("type".into(), json!("gx:Address"));
        map.insert("countryCode".into(), json!(self.country_code.as_str()));
        for (name, value) in
            [("streetAddress", &self.street_address), ("postalCode", &self.postal_code), ("locality", &self.locality)]
        {
            if let Some(v) = value {
                map.insert(name.into(), json!(v));
            }
        }
        Value::Object(map)
    }

    pub fn from_json(field: &str, value: &Value) -> Result<Address, GaiaxError> {
        let map = value.as_object().ok_or_else(|| invalid(field, "must be an object"))?;
        check_keys(field, map, &["type", "countryCode", "streetAddress", "postalCode", "locality"])?;
        let code = text(map, "countryCode").ok_or_else(|| GaiaxError::Missing(format!("{field}.countryCode")))?;
        let country_code =
            Territory::parse(code).map_err(|e| invalid(&format!("{field}.countryCode"), e.to_string()))?;
        Ok(Address {
            country_code,
            street_address: text(map, "streetAddress").map(String::from),
            postal_code: text(map, "postalCode").map(String::from),
            locality: text(map, "locality").map(String::from),
        })
    }
}

/// The kinds of registration number Gaia-X accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationKind {
    VatId,
    Local,
    Eori,
    Euid,
    LeiCode,
}

impl RegistrationKind {
    const ALL: [RegistrationKind; 5] = [
        RegistrationKind::VatId,
        RegistrationKind::Local,
        RegistrationKind::Eori,
        RegistrationKind::Euid,
        RegistrationKind::LeiCode,
    ];

    /// The concrete Gaia-X class.
    pub fn class(self) -> &'static str {
        match self {
            RegistrationKind::VatId => "gx:VatID",
            RegistrationKind::Local => "gx:LocalRegistrationNumber",
            RegistrationKind::Eori => "gx:EORI",
            RegistrationKind::Euid => "gx:EUID",
            RegistrationKind::LeiCode => "gx:LeiCode",
        }
    }

    /// The property holding the number.
    fn property(self) -> &'static str {
        match self {
            RegistrationKind::VatId => "vatID",
            RegistrationKind::Local => "local",
            RegistrationKind::Eori => "eori",
            RegistrationKind::Euid => "euid",
            RegistrationKind::LeiCode => "leiCode",
        }
    }

    /// Whether the shape allows a `countryCode` beside the number.
    fn has_country(self) -> bool {
        matches!(self, RegistrationKind::VatId | RegistrationKind::LeiCode)
    }
}

/// A registration number node (`gx:RegistrationNumber` + its concrete class).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrationNumber {
    /// Node IRI, conventionally `<participant DID>#registration-number`.
    pub id: String,
    pub kind: RegistrationKind,
    pub value: String,
    pub country_code: Option<Territory>,
}

impl RegistrationNumber {
    /// A registration number of `holder` (node id `<holder>#registration-number`).
    pub fn new(
        holder: &Did,
        kind: RegistrationKind,
        value: &str,
        country_code: Option<Territory>,
    ) -> Result<RegistrationNumber, GaiaxError> {
        let number = RegistrationNumber {
            id: holder.key_url("registration-number"),
            kind,
            value: value.trim().to_string(),
            country_code: country_code.filter(|_| kind.has_country()),
        };
        number.check()?;
        Ok(number)
    }

    fn check(&self) -> Result<(), GaiaxError> {
        let field = self.kind.property();
        if self.value.is_empty() || self.value.len() > 64 {
            return Err(invalid(field, "expected 1 to 64 characters"));
        }
        if !self.value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '/' | ' ')) {
            return Err(invalid(field, "only letters, digits, space, `-`, `.` and `/` are allowed"));
        }
        Ok(())
    }

    /// The DID this number belongs to (the node id without its fragment).
    pub fn holder(&self) -> &str {
        split_did_url(&self.id).0
    }

    pub fn to_json(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id));
        map.insert("type".into(), json!([types::REGISTRATION_NUMBER, self.kind.class()]));
        map.insert(self.kind.property().into(), json!(self.value));
        if let Some(country) = &self.country_code {
            map.insert("countryCode".into(), json!(country.as_str()));
        }
        Value::Object(map)
    }

    pub fn from_json(value: &Value) -> Result<RegistrationNumber, GaiaxError> {
        let field = "registrationNumber";
        let map = value.as_object().ok_or_else(|| invalid(field, "must be an object"))?;
        let id = text(map, "id").ok_or_else(|| GaiaxError::Missing(format!("{field}.id")))?.to_string();
        let classes = strings(map.get("type"));
        if !classes.iter().any(|c| same_class(c, types::REGISTRATION_NUMBER)) {
            return Err(invalid(field, "must be typed gx:RegistrationNumber"));
        }
        let kind =
            RegistrationKind::ALL.into_iter().find(|k| classes.iter().any(|c| same_class(c, k.class()))).ok_or_else(
                || invalid(field, "needs one of gx:VatID, gx:LocalRegistrationNumber, gx:EORI, gx:EUID, gx:LeiCode"),
            )?;
        check_keys(field, map, &["id", "type", kind.property(), "countryCode"])?;
        let value =
            text(map, kind.property()).ok_or_else(|| GaiaxError::Missing(format!("{field}.{}", kind.property())))?;
        let country_code = match text(map, "countryCode") {
            Some(code) => {
                Some(Territory::parse(code).map_err(|e| invalid("registrationNumber.countryCode", e.to_string()))?)
            }
            None => None,
        };
        let number = RegistrationNumber { id, kind, value: value.to_string(), country_code };
        number.check()?;
        Ok(number)
    }

    /// The registration-number credential a notary issues about this number.
    pub fn credential(&self, notary: &Did, valid_from: OffsetDateTime) -> Credential {
        Credential::new(types::REGISTRATION_NUMBER, notary, self.to_json(), valid_from).with_context(GX_CONTEXT)
    }
}

/// A participant's self-description as a Gaia-X legal person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalPerson {
    /// The participant DID (the credential subject and holder).
    pub id: Did,
    pub name: String,
    pub description: Option<String>,
    pub registration_number: RegistrationNumber,
    pub legal_address: Address,
    pub headquarters_address: Address,
}

impl LegalPerson {
    /// The credential subject, as it appears inside the credential.
    pub fn credential_subject(&self) -> Value {
        let mut map = Map::new();
        map.insert("id".into(), json!(self.id.as_str()));
        map.insert("type".into(), json!(types::LEGAL_PERSON));
        map.insert("name".into(), json!(self.name));
        if let Some(description) = &self.description {
            map.insert("description".into(), json!(description));
        }
        map.insert("registrationNumber".into(), self.registration_number.to_json());
        map.insert("legalAddress".into(), self.legal_address.to_json());
        map.insert("headquartersAddress".into(), self.headquarters_address.to_json());
        Value::Object(map)
    }

    /// The credential subject as a standalone JSON-LD document (Gaia-X context plus the
    /// `id`/`type` keyword aliases the VC context provides inside a credential), the form
    /// SHACL validation reads.
    pub fn to_jsonld(&self) -> Value {
        let mut document = Map::new();
        document.insert("@context".into(), json!([GX_CONTEXT, {"id": "@id", "type": "@type"}]));
        if let Value::Object(subject) = self.credential_subject() {
            document.extend(subject);
        }
        Value::Object(document)
    }

    /// The self-issued `gx:LegalPerson` credential (issuer = subject = the participant).
    pub fn credential(&self, valid_from: OffsetDateTime) -> Credential {
        Credential::new(types::LEGAL_PERSON, &self.id, self.credential_subject(), valid_from).with_context(GX_CONTEXT)
    }

    /// Reads a LegalPerson credential subject, refusing members the closed shape forbids.
    pub fn from_subject(subject: &Value) -> Result<LegalPerson, GaiaxError> {
        let map = subject.as_object().ok_or_else(|| invalid("credentialSubject", "must be an object"))?;
        check_keys(
            "credentialSubject",
            map,
            &["id", "type", "name", "description", "registrationNumber", "legalAddress", "headquartersAddress"],
        )?;
        if !strings(map.get("type")).iter().any(|t| same_class(t, types::LEGAL_PERSON)) {
            return Err(invalid("credentialSubject.type", "must be gx:LegalPerson"));
        }
        let id = text(map, "id").ok_or_else(|| GaiaxError::Missing("credentialSubject.id".into()))?;
        let id = Did::parse(id).map_err(|e| invalid("credentialSubject.id", e.to_string()))?;
        let name = text(map, "name").ok_or_else(|| GaiaxError::Missing("name".into()))?.trim().to_string();
        if name.is_empty() {
            return Err(invalid("name", "must not be empty"));
        }
        let number = map.get("registrationNumber").ok_or_else(|| GaiaxError::Missing("registrationNumber".into()))?;
        let legal = map.get("legalAddress").ok_or_else(|| GaiaxError::Missing("legalAddress".into()))?;
        let hq = map.get("headquartersAddress").ok_or_else(|| GaiaxError::Missing("headquartersAddress".into()))?;
        Ok(LegalPerson {
            id,
            name,
            description: text(map, "description").map(String::from),
            registration_number: RegistrationNumber::from_json(number)?,
            legal_address: Address::from_json("legalAddress", legal)?,
            headquarters_address: Address::from_json("headquartersAddress", hq)?,
        })
    }
}

/// The `gx:Issuer` credential: the issuer accepts the Gaia-X terms and conditions.
pub fn issuer_terms_credential(
    issuer: &Did,
    terms_hash: &str,
    valid_from: OffsetDateTime,
) -> Result<Credential, GaiaxError> {
    if !GAIAX_TERMS_HASHES.contains(&terms_hash) {
        return Err(invalid("gaiaxTermsAndConditions", "not one of the hashes gx:IssuerShape accepts"));
    }
    let subject = json!({"id": issuer.as_str(), "type": types::ISSUER, "gaiaxTermsAndConditions": terms_hash});
    Ok(Credential::new(types::ISSUER, issuer, subject, valid_from).with_context(GX_CONTEXT))
}

fn text<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    map.get(name).and_then(Value::as_str)
}

/// Whether `written` names the Gaia-X class `prefixed` (`gx:X`): as `gx:X`, as `X` under
/// the Gaia-X `@vocab`, or as the full IRI, as other issuers may write it.
fn same_class(written: &str, prefixed: &str) -> bool {
    let local = prefixed.strip_prefix("gx:").unwrap_or(prefixed);
    written == prefixed || written == local || written.strip_prefix(GX_CONTEXT) == Some(local)
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    }
}

/// Closed shapes: refuse any member outside `allowed`.
fn check_keys(field: &str, map: &Map<String, Value>, allowed: &[&str]) -> Result<(), GaiaxError> {
    match map.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(extra) => {
            Err(invalid(field, format!("`{extra}` is not allowed by the Gaia-X shape (allowed: {allowed:?})")))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn sample() -> LegalPerson {
        let id = Did::parse("did:web:distributor.example").unwrap();
        let fr = Territory::parse("FR").unwrap();
        let mut address = Address::new(fr.clone());
        address.street_address = Some("12 rue des Archives".into());
        address.postal_code = Some("75004".into());
        address.locality = Some("Paris".into());
        LegalPerson {
            registration_number: RegistrationNumber::new(&id, RegistrationKind::VatId, "FR40303265045", Some(fr))
                .unwrap(),
            id,
            name: "Films du Marais SAS".into(),
            description: Some("Film distributor".into()),
            legal_address: address.clone(),
            headquarters_address: address,
        }
    }

    #[test]
    fn legal_person_round_trips_through_its_subject() {
        let person = sample();
        let subject = person.credential_subject();
        assert_eq!(subject["type"], "gx:LegalPerson");
        assert_eq!(subject["registrationNumber"]["type"], json!(["gx:RegistrationNumber", "gx:VatID"]));
        assert_eq!(LegalPerson::from_subject(&subject).unwrap(), person);
        let doc = person.to_jsonld();
        assert_eq!(doc["@context"][0], GX_CONTEXT);
        assert_eq!(doc["name"], "Films du Marais SAS");
    }

    #[test]
    fn members_outside_the_closed_shape_are_refused() {
        let mut subject = sample().credential_subject();
        subject["legalName"] = json!("old 22.10 property");
        assert!(matches!(LegalPerson::from_subject(&subject), Err(GaiaxError::Invalid { .. })));
        let mut subject = sample().credential_subject();
        subject["legalAddress"]["countryName"] = json!("France");
        assert!(LegalPerson::from_subject(&subject).is_err());
        let mut subject = sample().credential_subject();
        subject["legalAddress"]["countryCode"] = json!("ZZ");
        assert!(LegalPerson::from_subject(&subject).is_err());
        let mut subject = sample().credential_subject();
        subject.as_object_mut().unwrap().remove("registrationNumber");
        assert_eq!(LegalPerson::from_subject(&subject), Err(GaiaxError::Missing("registrationNumber".into())));
    }

    #[test]
    fn registration_numbers_carry_both_classes_and_only_allowed_members() {
        let holder = Did::parse("did:web:lab.example").unwrap();
        let local =
            RegistrationNumber::new(&holder, RegistrationKind::Local, "RCS 123", Territory::parse("FR").ok()).unwrap();
        let json = local.to_json();
        assert_eq!(json["type"], json!(["gx:RegistrationNumber", "gx:LocalRegistrationNumber"]));
        assert!(json.get("countryCode").is_none(), "the local-number shape has no countryCode");
        assert_eq!(local.holder(), "did:web:lab.example");
        assert_eq!(RegistrationNumber::from_json(&json).unwrap(), local);
        assert!(RegistrationNumber::new(&holder, RegistrationKind::Euid, "", None).is_err());
        assert!(RegistrationNumber::new(&holder, RegistrationKind::Euid, "<script>", None).is_err());
    }

    #[test]
    fn classes_are_recognised_in_every_written_form() {
        for form in ["gx:LegalPerson", "LegalPerson", "https://w3id.org/gaia-x/development#LegalPerson"] {
            let mut subject = sample().credential_subject();
            subject["type"] = json!(form);
            assert!(LegalPerson::from_subject(&subject).is_ok(), "{form}");
        }
        let mut subject = sample().credential_subject();
        subject["type"] = json!("gx:Participant");
        assert!(LegalPerson::from_subject(&subject).is_err());
    }

    #[test]
    fn issuer_terms_use_an_accepted_hash() {
        let did = Did::parse("did:web:a.example").unwrap();
        let now = OffsetDateTime::UNIX_EPOCH;
        let c = issuer_terms_credential(&did, GAIAX_TERMS_HASHES[0], now).unwrap();
        assert_eq!(c.types, vec!["VerifiableCredential", "gx:Issuer"]);
        assert_eq!(c.credential_subject["gaiaxTermsAndConditions"], GAIAX_TERMS_HASHES[0]);
        assert!(issuer_terms_credential(&did, "deadbeef", now).is_err());
    }
}
