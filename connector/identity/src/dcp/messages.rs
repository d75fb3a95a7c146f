//! DCP presentation messages and scopes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The DCP 1.0 JSON-LD context.
pub const DCP_CONTEXT: &str = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld";

const TYPE_ALIAS: &str = "org.eclipse.dspace.dcp.vc.type:";
const ID_ALIAS: &str = "org.eclipse.dspace.dcp.vc.id:";

/// Access to credentials, by type or by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// `org.eclipse.dspace.dcp.vc.type:<Type>` (optionally followed by `:read`).
    CredentialType(String),
    /// `org.eclipse.dspace.dcp.vc.id:<id>`.
    CredentialId(String),
}

/// A scope string that is not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "scope `{0}` is not understood; use `org.eclipse.dspace.dcp.vc.type:<Type>` or `org.eclipse.dspace.dcp.vc.id:<id>`"
)]
pub struct ScopeError(pub String);

impl Scope {
    pub fn credential_type(kind: &str) -> Scope {
        Scope::CredentialType(kind.to_string())
    }

    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        let bad = || ScopeError(text.to_string());
        if let Some(rest) = text.strip_prefix(TYPE_ALIAS) {
            // Types may themselves contain `:` (`gx:LegalPerson`); only a final `:read` is an access mode.
            let kind = rest.strip_suffix(":read").unwrap_or(rest);
            if kind.is_empty() || kind.chars().any(char::is_whitespace) {
                return Err(bad());
            }
            Ok(Scope::CredentialType(kind.to_string()))
        } else if let Some(id) = text.strip_prefix(ID_ALIAS) {
            if id.is_empty() || id.chars().any(char::is_whitespace) {
                return Err(bad());
            }
            Ok(Scope::CredentialId(id.to_string()))
        } else {
            Err(bad())
        }
    }

    /// Whether a credential with `id` and `types` falls under this scope.
    pub fn covers(&self, id: Option<&str>, types: &[String]) -> bool {
        match self {
            Scope::CredentialType(kind) => types.iter().any(|t| t == kind),
            Scope::CredentialId(wanted) => id == Some(wanted.as_str()),
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Scope::CredentialType(kind) => write!(f, "{TYPE_ALIAS}{kind}"),
            Scope::CredentialId(id) => write!(f, "{ID_ALIAS}{id}"),
        }
    }
}

/// `PresentationQueryMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresentationQueryMessage {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    #[serde(rename = "presentationDefinition", default, skip_serializing_if = "Option::is_none")]
    pub presentation_definition: Option<Value>,
}

impl PresentationQueryMessage {
    pub fn for_scopes(scopes: &[Scope]) -> PresentationQueryMessage {
        PresentationQueryMessage {
            context: vec![DCP_CONTEXT.into()],
            kind: "PresentationQueryMessage".into(),
            scope: Some(scopes.iter().map(Scope::to_string).collect()),
            presentation_definition: None,
        }
    }

    /// Checks the rules the schema cannot state and parses the scopes.
    pub fn scopes(&self) -> Result<Vec<Scope>, String> {
        if self.kind != "PresentationQueryMessage" {
            return Err(format!("type is `{}`, expected PresentationQueryMessage", self.kind));
        }
        if !self.context.iter().any(|c| c == DCP_CONTEXT) {
            return Err(format!("@context must contain {DCP_CONTEXT}"));
        }
        match (&self.scope, &self.presentation_definition) {
            (Some(_), Some(_)) => Err("a query carries either scope or presentationDefinition, not both".into()),
            (None, None) => Err("a query needs scope (or presentationDefinition)".into()),
            (None, Some(_)) => Ok(Vec::new()),
            (Some(scopes), None) if scopes.is_empty() => Err("scope must not be empty".into()),
            (Some(scopes), None) => {
                scopes.iter().map(|s| Scope::parse(s).map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()
            }
        }
    }
}

/// `PresentationResponseMessage`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresentationResponseMessage {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub presentation: Vec<Value>,
}

impl PresentationResponseMessage {
    pub fn new(presentations: Vec<String>) -> PresentationResponseMessage {
        PresentationResponseMessage {
            context: vec![DCP_CONTEXT.into()],
            kind: "PresentationResponseMessage".into(),
            presentation: presentations.into_iter().map(Value::String).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_with_and_without_read() {
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.type:MembershipCredential").unwrap(),
            Scope::credential_type("MembershipCredential")
        );
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.type:gx:LegalPerson:read").unwrap(),
            Scope::credential_type("gx:LegalPerson")
        );
        assert_eq!(
            Scope::parse("org.eclipse.dspace.dcp.vc.id:urn:uuid:1").unwrap(),
            Scope::CredentialId("urn:uuid:1".into())
        );
        for bad in [
            "",
            "openid",
            "org.eclipse.dspace.dcp.vc.type:",
            "org.eclipse.dspace.dcp.vc.type::read",
            "org.eclipse.dspace.dcp.vc.type:a b",
        ] {
            assert!(Scope::parse(bad).is_err(), "{bad}");
        }
        let s = Scope::credential_type("gx:LegalPerson");
        assert_eq!(Scope::parse(&s.to_string()).unwrap(), s);
        assert!(s.covers(None, &["VerifiableCredential".into(), "gx:LegalPerson".into()]));
        assert!(!s.covers(None, &["VerifiableCredential".into()]));
    }

    #[test]
    fn queries_need_exactly_one_of_scope_and_definition() {
        let mut q = PresentationQueryMessage::for_scopes(&[Scope::credential_type("X")]);
        assert_eq!(q.scopes().unwrap(), vec![Scope::credential_type("X")]);
        q.presentation_definition = Some(serde_json::json!({}));
        assert!(q.scopes().is_err());
        q.scope = None;
        assert_eq!(q.scopes().unwrap(), vec![]);
        q.presentation_definition = None;
        assert!(q.scopes().is_err());
        let mut q = PresentationQueryMessage::for_scopes(&[Scope::credential_type("X")]);
        q.context = vec!["https://example.com".into()];
        assert!(q.scopes().is_err());
    }
}
