//! `GET /.well-known/dspace-version`: which protocol versions this connector
//! speaks and where (DSP 2025-1 §Exposure of Versions).

use serde::{Deserialize, Serialize};

/// The version this crate implements.
pub const PROTOCOL_VERSION: &str = "2025-1";
/// Path of the 2025-1 endpoints relative to the protocol base URL.
pub const PROTOCOL_PATH: &str = "/dsp/2025-1";

/// The version metadata document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionResponse {
    #[serde(rename = "protocolVersions")]
    pub protocol_versions: Vec<ProtocolVersion>,
}

impl VersionResponse {
    /// DSP 2025-1 over HTTPS at [`PROTOCOL_PATH`], without `auth` (added by the identity layer).
    pub fn current() -> Self {
        VersionResponse {
            protocol_versions: vec![ProtocolVersion {
                version: PROTOCOL_VERSION.to_string(),
                path: PROTOCOL_PATH.to_string(),
                binding: Binding::Https,
                auth: None,
                identifier_type: None,
                service_id: None,
            }],
        }
    }
}

/// One supported version and where its endpoints live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProtocolVersion {
    pub version: String,
    pub path: String,
    pub binding: Binding,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<Auth>,
    /// How participants are identified, e.g. `did:web`.
    #[serde(rename = "identifierType", default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    #[serde(rename = "serviceId", default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<String>,
}

/// Protocol binding; DSP 2025-1 defines HTTPS only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Binding {
    #[serde(rename = "HTTPS")]
    Https,
}

/// The authentication profile a version is protected by (e.g. DCP 1.0).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Auth {
    pub protocol: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub profile: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MessageKind, validate};
    use serde_json::json;

    #[test]
    fn current_version_document_is_schema_valid() {
        let v = serde_json::to_value(VersionResponse::current()).unwrap();
        assert_eq!(v, json!({"protocolVersions": [{"version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS"}]}));
        validate(MessageKind::VersionResponse, &v).unwrap();
    }

    #[test]
    fn auth_and_identifiers_slot_in() {
        let mut doc = VersionResponse::current();
        doc.protocol_versions[0].auth =
            Some(Auth { protocol: "DCP".into(), version: "1.0".into(), profile: vec!["vc20-bssl/jwt".into()] });
        doc.protocol_versions[0].identifier_type = Some("did:web".into());
        let v = serde_json::to_value(&doc).unwrap();
        validate(MessageKind::VersionResponse, &v).unwrap();
        assert_eq!(v["protocolVersions"][0]["auth"]["protocol"], "DCP");
        assert_eq!(serde_json::from_value::<VersionResponse>(v).unwrap(), doc);
    }

    #[test]
    fn the_official_example_reads() {
        let path = crate::test_support::spec_dir().join("common/example/protocol-version.json");
        let doc: VersionResponse = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        assert_eq!(doc.protocol_versions.len(), 3);
        assert_eq!(doc.protocol_versions[1].auth.as_ref().map(|a| a.profile.len()), Some(2));
    }
}
