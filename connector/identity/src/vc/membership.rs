//! The membership credential: issued by the data-space authority after onboarding,
//! it states the participant's role (what policies test as `recipient`/role), its
//! legal name and its country of registration (checked from its LegalPerson).

use std::fmt;
use std::str::FromStr;

use passerelle_media::Territory;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{Credential, types};
use crate::did::Did;

/// A participant's role in the media data space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Distributor,
    Lab,
    Broadcaster,
    Producer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Distributor, Role::Lab, Role::Broadcaster, Role::Producer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Distributor => "distributor",
            Role::Lab => "lab",
            Role::Broadcaster => "broadcaster",
            Role::Producer => "producer",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role `{0}`; expected distributor, lab, broadcaster or producer")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(s: &str) -> Result<Role, UnknownRole> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// Why a membership subject is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    #[error("membership subject has no valid `{field}`: {reason}")]
    Field { field: &'static str, reason: String },
}

/// What the authority attests about a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    pub member: Did,
    pub role: Role,
    pub legal_name: String,
    pub country: Territory,
}

impl Membership {
    pub fn credential_subject(&self) -> Value {
        json!({
            "id": self.member.as_str(),
            "type": "DataSpaceMember",
            "role": self.role.as_str(),
            "legalName": self.legal_name,
            "countryCode": self.country.as_str(),
        })
    }

    /// The unsigned membership credential, issued by `authority`.
    pub fn credential(&self, authority: &Did, valid_from: OffsetDateTime, valid_until: OffsetDateTime) -> Credential {
        Credential::new(types::MEMBERSHIP, authority, self.credential_subject(), valid_from).valid_until(valid_until)
    }

    pub fn from_subject(subject: &Value) -> Result<Membership, MembershipError> {
        let field = |field: &'static str| {
            subject.get(field).and_then(Value::as_str).ok_or(MembershipError::Field { field, reason: "missing".into() })
        };
        let bad = |field: &'static str, reason: String| MembershipError::Field { field, reason };
        Ok(Membership {
            member: Did::parse(field("id")?).map_err(|e| bad("id", e.to_string()))?,
            role: field("role")?.parse().map_err(|e: UnknownRole| bad("role", e.to_string()))?,
            legal_name: field("legalName")?.to_string(),
            country: Territory::parse(field("countryCode")?).map_err(|e| bad("countryCode", e.to_string()))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_and_print() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::to_value(role).unwrap(), role.as_str());
        }
        assert!("studio".parse::<Role>().unwrap_err().to_string().contains("distributor, lab"));
    }

    #[test]
    fn membership_round_trips() {
        let m = Membership {
            member: Did::parse("did:web:lab.example").unwrap(),
            role: Role::Lab,
            legal_name: "Sous-Titres SARL".into(),
            country: Territory::parse("FR").unwrap(),
        };
        assert_eq!(Membership::from_subject(&m.credential_subject()).unwrap(), m);
        let mut bad = m.credential_subject();
        bad["role"] = json!("studio");
        assert!(matches!(Membership::from_subject(&bad), Err(MembershipError::Field { field: "role", .. })));
        let authority = Did::parse("did:web:authority.example").unwrap();
        let c =
            m.credential(&authority, OffsetDateTime::UNIX_EPOCH, OffsetDateTime::UNIX_EPOCH + time::Duration::days(1));
        assert!(c.has_type(types::MEMBERSHIP));
        assert_eq!(c.issuer, "did:web:authority.example");
    }
}
