//! The DID document: verification methods, relationships and services.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Did;
use crate::keys::{PublicKey, PublicKeyError};

/// `@context` of the documents Passerelle publishes. The DSP and DCP contexts define
/// the `CatalogService`/`DataService` and `CredentialService` service types.
pub const DID_CONTEXT: &[&str] = &[
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/security/suites/jws-2020/v1",
    "https://w3id.org/dspace/2025/1/context.jsonld",
    "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld",
];

/// What a verification method may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Relationship {
    /// Proving control of the DID: signing presentations.
    Authentication,
    /// Issuing credentials.
    AssertionMethod,
    /// Invoking capabilities: signing DCP self-issued ID tokens.
    CapabilityInvocation,
}

impl Relationship {
    pub const ALL: [Relationship; 3] =
        [Relationship::Authentication, Relationship::AssertionMethod, Relationship::CapabilityInvocation];

    pub fn name(self) -> &'static str {
        match self {
            Relationship::Authentication => "authentication",
            Relationship::AssertionMethod => "assertionMethod",
            Relationship::CapabilityInvocation => "capabilityInvocation",
        }
    }
}

/// A verification method (`JsonWebKey2020` with a `publicKeyJwk`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerificationMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub controller: String,
    #[serde(rename = "publicKeyJwk", default, skip_serializing_if = "Option::is_none")]
    pub public_key_jwk: Option<Value>,
}

/// An entry of a verification relationship: a reference to a method, or an embedded one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MethodRef {
    Reference(String),
    Embedded(VerificationMethod),
}

/// A `service` entry. `type` and `serviceEndpoint` stay JSON values because other
/// implementations may use arrays or maps there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Service {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Value,
    #[serde(rename = "serviceEndpoint")]
    pub endpoint: Value,
}

impl Service {
    /// The DCP credential service (`serviceEndpoint` = base URL of `/presentations/query`).
    pub fn credential_service(did: &Did, base_url: &str) -> Service {
        Service::new(did, "credential-service", "CredentialService", base_url)
    }

    /// The DSP catalog service (`serviceEndpoint` ends in `/catalog`).
    pub fn dsp_catalog(did: &Did, catalog_url: &str) -> Service {
        Service::new(did, "dsp-catalog", "CatalogService", catalog_url)
    }

    /// The DSP data service: its endpoint is the `/.well-known/dspace-version` URL
    /// (as in the DSP example; the schema's `/catalog` pattern contradicts it, upstream defect 2).
    pub fn dsp_data(did: &Did, version_url: &str) -> Service {
        Service::new(did, "dsp-data", "DataService", version_url)
    }

    fn new(did: &Did, fragment: &str, kind: &str, endpoint: &str) -> Service {
        Service {
            id: did.key_url(fragment),
            kind: Value::String(kind.into()),
            endpoint: Value::String(endpoint.trim_end_matches('/').to_string()),
        }
    }

    pub fn has_type(&self, kind: &str) -> bool {
        match &self.kind {
            Value::String(s) => s == kind,
            Value::Array(items) => items.iter().any(|v| v.as_str() == Some(kind)),
            _ => false,
        }
    }
}

/// Why no key of a DID document may check a signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyLookupError {
    #[error("the DID document of {did} has no verification method `{kid}`")]
    UnknownKey { did: String, kid: String },
    #[error("verification method `{kid}` is not listed under `{}` in the DID document", relationship.name())]
    NotAuthorized { kid: String, relationship: Relationship },
    #[error(
        "the JWS names no `kid` and the DID document of {did} has {count} verification methods; name the key with `kid`"
    )]
    AmbiguousKey { did: String, count: usize },
    #[error("verification method `{kid}` has no usable publicKeyJwk: {reason}")]
    BadKey { kid: String, reason: String },
}

/// A DID document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DidDocument {
    #[serde(rename = "@context", default = "default_context")]
    pub context: Value,
    pub id: String,
    #[serde(rename = "verificationMethod", default)]
    pub verification_method: Vec<VerificationMethod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication: Vec<MethodRef>,
    #[serde(rename = "assertionMethod", default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<MethodRef>,
    #[serde(rename = "capabilityInvocation", default, skip_serializing_if = "Vec::is_empty")]
    pub capability_invocation: Vec<MethodRef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
}

fn default_context() -> Value {
    Value::Array(DID_CONTEXT.iter().map(|c| Value::String((*c).into())).collect())
}

impl DidDocument {
    /// An empty document for `did`.
    pub fn new(did: &Did) -> DidDocument {
        DidDocument {
            context: default_context(),
            id: did.as_str().to_string(),
            verification_method: Vec::new(),
            authentication: Vec::new(),
            assertion_method: Vec::new(),
            capability_invocation: Vec::new(),
            service: Vec::new(),
        }
    }

    /// Publishes `key` as `JsonWebKey2020` method `<id>#<key id>` with the given relationships
    /// (replacing a method with the same id).
    pub fn add_key(&mut self, key: &PublicKey, relationships: &[Relationship]) -> &mut DidDocument {
        let fragment = key.key_id().unwrap_or("key-1").to_string();
        let id = format!("{}#{fragment}", self.id);
        self.remove_key(&id);
        self.verification_method.push(VerificationMethod {
            id: id.clone(),
            kind: "JsonWebKey2020".into(),
            controller: self.id.clone(),
            public_key_jwk: Some(Value::Object(key.jwk().clone())),
        });
        for relationship in relationships {
            self.relationship_mut(*relationship).push(MethodRef::Reference(id.clone()));
        }
        self
    }

    /// Withdraws a key (by DID URL or fragment) from the document and every relationship.
    /// Returns whether it was there. Whatever it signed stops verifying once verifiers
    /// see the new document.
    pub fn remove_key(&mut self, kid: &str) -> bool {
        let id = self.absolute(kid);
        let before = self.verification_method.len();
        self.verification_method.retain(|m| m.id != id);
        let removed = before != self.verification_method.len();
        for relationship in Relationship::ALL {
            let doc_id = self.id.clone();
            self.relationship_mut(relationship).retain(|r| match r {
                MethodRef::Reference(r) => absolute_in(&doc_id, r) != id,
                MethodRef::Embedded(m) => m.id != id,
            });
        }
        removed
    }

    pub fn add_service(&mut self, service: Service) -> &mut DidDocument {
        self.service.retain(|s| s.id != service.id);
        self.service.push(service);
        self
    }

    /// The endpoint URL of the first service of type `kind`.
    pub fn service_endpoint(&self, kind: &str) -> Option<&str> {
        self.service.iter().find(|s| s.has_type(kind)).and_then(|s| s.endpoint.as_str())
    }

    /// The key that checks a signature with header `kid` for `relationship`, following the
    /// DCP rules: a `kid` must name a method listed under the relationship; without `kid`
    /// the document must hold exactly one method, and it must be listed.
    pub fn key_for(&self, kid: Option<&str>, relationship: Relationship) -> Result<PublicKey, KeyLookupError> {
        let method = match kid {
            Some(kid) => {
                let id = self.absolute(kid);
                self.method(&id).ok_or_else(|| KeyLookupError::UnknownKey { did: self.id.clone(), kid: id.clone() })?
            }
            None => {
                let all = self.all_methods();
                match all.as_slice() {
                    [only] => *only,
                    _ => return Err(KeyLookupError::AmbiguousKey { did: self.id.clone(), count: all.len() }),
                }
            }
        };
        let method_id = self.absolute(&method.id);
        if !self.has_relationship(&method_id, relationship) {
            return Err(KeyLookupError::NotAuthorized { kid: method_id, relationship });
        }
        let jwk = method.public_key_jwk.as_ref().ok_or_else(|| KeyLookupError::BadKey {
            kid: method_id.clone(),
            reason: "only publicKeyJwk is supported".into(),
        })?;
        PublicKey::from_jwk_value(jwk)
            .map_err(|e: PublicKeyError| KeyLookupError::BadKey { kid: method_id, reason: e.to_string() })
    }

    /// Whether the method `kid` (DID URL or fragment) exists in this document.
    pub fn has_key(&self, kid: &str) -> bool {
        self.method(&self.absolute(kid)).is_some()
    }

    fn method(&self, id: &str) -> Option<&VerificationMethod> {
        self.all_methods().into_iter().find(|m| m.id == id || self.absolute(&m.id) == id)
    }

    fn all_methods(&self) -> Vec<&VerificationMethod> {
        let mut all: Vec<&VerificationMethod> = self.verification_method.iter().collect();
        for relationship in Relationship::ALL {
            for r in self.relationship(relationship) {
                if let MethodRef::Embedded(m) = r
                    && !all.iter().any(|x| x.id == m.id)
                {
                    all.push(m);
                }
            }
        }
        all
    }

    fn has_relationship(&self, id: &str, relationship: Relationship) -> bool {
        self.relationship(relationship).iter().any(|r| match r {
            MethodRef::Reference(r) => self.absolute(r) == id,
            MethodRef::Embedded(m) => self.absolute(&m.id) == id,
        })
    }

    fn relationship(&self, relationship: Relationship) -> &Vec<MethodRef> {
        match relationship {
            Relationship::Authentication => &self.authentication,
            Relationship::AssertionMethod => &self.assertion_method,
            Relationship::CapabilityInvocation => &self.capability_invocation,
        }
    }

    fn relationship_mut(&mut self, relationship: Relationship) -> &mut Vec<MethodRef> {
        match relationship {
            Relationship::Authentication => &mut self.authentication,
            Relationship::AssertionMethod => &mut self.assertion_method,
            Relationship::CapabilityInvocation => &mut self.capability_invocation,
        }
    }

    /// A key reference made absolute: `#k` and bare `k` become `<id>#k`.
    fn absolute(&self, kid: &str) -> String {
        absolute_in(&self.id, kid)
    }
}

fn absolute_in(doc_id: &str, kid: &str) -> String {
    if let Some(fragment) = kid.strip_prefix('#') {
        format!("{doc_id}#{fragment}")
    } else if kid.contains('#') || kid.starts_with("did:") {
        kid.to_string()
    } else {
        format!("{doc_id}#{kid}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::KeyPair;

    fn did() -> Did {
        Did::parse("did:web:a.example").unwrap()
    }

    #[test]
    fn keys_are_published_with_their_relationships() {
        let did = did();
        let invoke = KeyPair::generate_es256().unwrap();
        let assert_only = KeyPair::generate_ed25519().unwrap();
        let mut doc = DidDocument::new(&did);
        doc.add_key(&invoke.public_key(), &Relationship::ALL);
        doc.add_key(&assert_only.public_key(), &[Relationship::AssertionMethod]);
        let kid = did.key_url(invoke.key_id());
        assert_eq!(doc.key_for(Some(&kid), Relationship::CapabilityInvocation).unwrap(), invoke.public_key());
        // Fragment-only and bare key ids resolve against the document id.
        let fragment = format!("#{}", invoke.key_id());
        assert!(doc.key_for(Some(&fragment), Relationship::Authentication).is_ok());
        assert!(doc.key_for(Some(invoke.key_id()), Relationship::Authentication).is_ok());
        let other = did.key_url(assert_only.key_id());
        assert!(matches!(
            doc.key_for(Some(&other), Relationship::CapabilityInvocation),
            Err(KeyLookupError::NotAuthorized { relationship: Relationship::CapabilityInvocation, .. })
        ));
        assert!(doc.key_for(Some(&other), Relationship::AssertionMethod).is_ok());
        assert!(matches!(
            doc.key_for(Some("did:web:a.example#nope"), Relationship::AssertionMethod),
            Err(KeyLookupError::UnknownKey { .. })
        ));
        assert!(matches!(
            doc.key_for(None, Relationship::AssertionMethod),
            Err(KeyLookupError::AmbiguousKey { count: 2, .. })
        ));
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["verificationMethod"][0]["type"], "JsonWebKey2020");
        assert_eq!(json["capabilityInvocation"][0], Value::String(kid.clone()));
        assert!(json["verificationMethod"][0]["publicKeyJwk"].get("d").is_none());
    }

    #[test]
    fn a_single_key_needs_no_kid_but_must_hold_the_relationship() {
        let did = did();
        let key = KeyPair::generate_es256().unwrap();
        let mut doc = DidDocument::new(&did);
        doc.add_key(&key.public_key(), &[Relationship::CapabilityInvocation]);
        assert!(doc.key_for(None, Relationship::CapabilityInvocation).is_ok());
        assert!(matches!(doc.key_for(None, Relationship::AssertionMethod), Err(KeyLookupError::NotAuthorized { .. })));
    }

    #[test]
    fn removed_keys_disappear_from_every_relationship() {
        let did = did();
        let key = KeyPair::generate_es256().unwrap();
        let mut doc = DidDocument::new(&did);
        doc.add_key(&key.public_key(), &Relationship::ALL);
        assert!(doc.remove_key(key.key_id()));
        assert!(!doc.remove_key(key.key_id()));
        assert!(doc.verification_method.is_empty() && doc.authentication.is_empty());
        assert!(doc.assertion_method.is_empty() && doc.capability_invocation.is_empty());
    }

    #[test]
    fn foreign_documents_with_embedded_and_relative_methods_parse() {
        let key = KeyPair::generate_es256().unwrap();
        let jwk = Value::Object(key.public_key().jwk().clone());
        let doc: DidDocument = serde_json::from_value(serde_json::json!({
            "@context": "https://www.w3.org/ns/did/v1",
            "id": "did:web:b.example",
            "authentication": [{"id": "#emb", "type": "JsonWebKey2020", "controller": "did:web:b.example",
                                "publicKeyJwk": jwk}],
            "capabilityInvocation": ["#emb"],
            "service": [{"id": "#cs", "type": ["CredentialService"], "serviceEndpoint": "https://b.example/cs"}],
            "alsoKnownAs": ["https://b.example"]
        }))
        .unwrap();
        assert!(doc.key_for(Some("did:web:b.example#emb"), Relationship::CapabilityInvocation).is_ok());
        assert!(doc.key_for(None, Relationship::Authentication).is_ok());
        assert_eq!(doc.service_endpoint("CredentialService"), Some("https://b.example/cs"));
        assert_eq!(doc.service_endpoint("CatalogService"), None);
    }

    #[test]
    fn services_use_the_dsp_and_dcp_types() {
        let did = did();
        let mut doc = DidDocument::new(&did);
        doc.add_service(Service::credential_service(&did, "https://a.example/dcp/"));
        doc.add_service(Service::dsp_catalog(&did, "https://a.example/dsp/2025-1/catalog"));
        doc.add_service(Service::dsp_data(&did, "https://a.example/.well-known/dspace-version"));
        assert_eq!(doc.service_endpoint("CredentialService"), Some("https://a.example/dcp"));
        assert_eq!(doc.service[1].id, "did:web:a.example#dsp-catalog");
        assert!(doc.service[2].has_type("DataService"));
    }
}
