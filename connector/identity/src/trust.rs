//! The trust list: which issuers a connector believes, per credential type.
//!
//! Trust is per type, not per issuer: the data-space authority is believed about
//! memberships, a notary about registration numbers, and a participant only about
//! itself (its self-issued `gx:LegalPerson`). Anything not listed is untrusted.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::did::split_did_url;

/// Who may issue one credential type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustRule {
    /// Issuer DIDs believed for this type.
    #[serde(default)]
    pub issuers: BTreeSet<String>,
    /// Whether a credential the holder issued about itself is believed.
    #[serde(default)]
    pub self_issued: bool,
}

/// Credential type → who may issue it. Serializes as a JSON/TOML map so that the
/// connector can load it from its configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TrustList {
    rules: BTreeMap<String, TrustRule>,
}

impl TrustList {
    pub fn new() -> TrustList {
        TrustList::default()
    }

    /// Believes `issuer` for credentials of `credential_type`.
    pub fn trust(mut self, credential_type: &str, issuer: &str) -> TrustList {
        self.rules.entry(credential_type.to_string()).or_default().issuers.insert(issuer.to_string());
        self
    }

    /// Believes self-issued credentials of `credential_type` (issuer = subject = holder).
    pub fn trust_self_issued(mut self, credential_type: &str) -> TrustList {
        self.rules.entry(credential_type.to_string()).or_default().self_issued = true;
        self
    }

    /// Whether a credential with `types`, issued by `issuer` about `subject`, is believed:
    /// one of its specific types (other than `VerifiableCredential`) must list the issuer,
    /// or allow self-issuance when the issuer is the subject's DID.
    pub fn is_trusted(&self, types: &[String], issuer: &str, subject: Option<&str>) -> bool {
        let self_issued = subject.is_some_and(|s| split_did_url(s).0 == issuer);
        types.iter().filter(|t| t.as_str() != crate::vc::types::VERIFIABLE_CREDENTIAL).any(|t| {
            self.rules.get(t).is_some_and(|rule| rule.issuers.contains(issuer) || (rule.self_issued && self_issued))
        })
    }

    /// The credential types that have a rule.
    pub fn types(&self) -> impl Iterator<Item = &str> {
        self.rules.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types(t: &str) -> Vec<String> {
        vec!["VerifiableCredential".into(), t.into()]
    }

    #[test]
    fn trust_is_per_type_and_issuer() {
        let list = TrustList::new()
            .trust("MembershipCredential", "did:web:authority.example")
            .trust_self_issued("gx:LegalPerson");
        let member = Some("did:web:a.example");
        assert!(list.is_trusted(&types("MembershipCredential"), "did:web:authority.example", member));
        assert!(!list.is_trusted(&types("MembershipCredential"), "did:web:rogue.example", member));
        assert!(!list.is_trusted(&types("gx:LegalPerson"), "did:web:authority.example", member));
        assert!(list.is_trusted(&types("gx:LegalPerson"), "did:web:a.example", member));
        assert!(list.is_trusted(&types("gx:LegalPerson"), "did:web:a.example", Some("did:web:a.example#x")));
        assert!(!list.is_trusted(&types("gx:LegalPerson"), "did:web:b.example", member));
        assert!(!list.is_trusted(&["VerifiableCredential".into()], "did:web:authority.example", member));
        assert!(!list.is_trusted(&types("Unknown"), "did:web:a.example", member));
    }

    #[test]
    fn trust_lists_load_from_configuration() {
        let list: TrustList = serde_json::from_str(
            r#"{"MembershipCredential": {"issuers": ["did:web:authority.example"]},
                "gx:LegalPerson": {"selfIssued": true}}"#,
        )
        .unwrap();
        assert!(list.is_trusted(&types("gx:LegalPerson"), "did:web:a.example", Some("did:web:a.example")));
        assert_eq!(list.types().count(), 2);
    }
}
