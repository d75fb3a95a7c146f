//! Validation against the official DSP 2025-1 JSON Schemas (feature `schema-validation`).
//!
//! Test support for this crate and its users: every message Passerelle emits
//! must pass [`validate`]. The schemas are read once from
//! `shared/spec/dsp-2025-1/` beside the repository (or from the directory named by
//! `PASSERELLE_DSP_SPEC_DIR`), registered under their `$id`
//! (`https://w3id.org/dspace/2025/1/<area>/<file>`), so nothing is fetched
//! from the network.
//!
//! Known upstream defects are worked around in memory (the files stay untouched):
//! 1. `transfer-{error,suspension,termination}` reference
//!    `transfer-schema.json#definitions/…` without the `/` a JSON pointer needs;
//!    the pointer is rewritten.
//! 2. `did-service-schema.json` requires `serviceEndpoint` to end in `/catalog`,
//!    which its own DataService example (pointing at `/.well-known/dspace-version`)
//!    violates; both endings are accepted.
//! 3. The prose requires `Agreement.timestamp` and `ContractRequestMessage.offer.target`,
//!    the schemas do not: [`validate`] checks them in addition.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::{Draft, Registry, Validator};
use serde_json::Value;

/// `$id` prefix of every DSP 2025-1 schema.
pub const DSP_SCHEMA_BASE: &str = "https://w3id.org/dspace/2025/1/";

/// Environment variable naming the `dsp-2025-1` spec directory, overriding the search.
pub const SPEC_DIR_ENV: &str = "PASSERELLE_DSP_SPEC_DIR";

/// Why the schemas could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error(
        "the DSP 2025-1 schemas were not found: expected `shared/spec/dsp-2025-1` in a parent of {searched_from}, or set {SPEC_DIR_ENV}"
    )]
    SpecNotFound { searched_from: String },
    #[error("cannot read schema {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("schema {path} is not usable: {reason}")]
    Invalid { path: String, reason: String },
    #[error("no DSP schema `{0}`: name one as `<area>/<file>`, e.g. `catalog/catalog-schema.json`")]
    Unknown(String),
}

/// A DSP message or document that has its own schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageKind {
    CatalogRequestMessage,
    DatasetRequestMessage,
    Catalog,
    Dataset,
    CatalogError,
    /// The `/.well-known/dspace-version` document.
    VersionResponse,
    /// A DSP service entry of a DID document.
    DidService,
    ContractRequestMessage,
    ContractOfferMessage,
    ContractAgreementMessage,
    ContractAgreementVerificationMessage,
    ContractNegotiationEventMessage,
    ContractNegotiationTerminationMessage,
    ContractNegotiation,
    ContractNegotiationError,
    TransferRequestMessage,
    TransferStartMessage,
    TransferCompletionMessage,
    TransferSuspensionMessage,
    TransferTerminationMessage,
    TransferProcess,
    TransferError,
}

impl MessageKind {
    pub const ALL: [MessageKind; 22] = [
        MessageKind::CatalogRequestMessage,
        MessageKind::DatasetRequestMessage,
        MessageKind::Catalog,
        MessageKind::Dataset,
        MessageKind::CatalogError,
        MessageKind::VersionResponse,
        MessageKind::DidService,
        MessageKind::ContractRequestMessage,
        MessageKind::ContractOfferMessage,
        MessageKind::ContractAgreementMessage,
        MessageKind::ContractAgreementVerificationMessage,
        MessageKind::ContractNegotiationEventMessage,
        MessageKind::ContractNegotiationTerminationMessage,
        MessageKind::ContractNegotiation,
        MessageKind::ContractNegotiationError,
        MessageKind::TransferRequestMessage,
        MessageKind::TransferStartMessage,
        MessageKind::TransferCompletionMessage,
        MessageKind::TransferSuspensionMessage,
        MessageKind::TransferTerminationMessage,
        MessageKind::TransferProcess,
        MessageKind::TransferError,
    ];

    /// The schema file, relative to the `dsp-2025-1` directory.
    pub fn schema_path(self) -> &'static str {
        match self {
            MessageKind::CatalogRequestMessage => "catalog/catalog-request-message-schema.json",
            MessageKind::DatasetRequestMessage => "catalog/dataset-request-message-schema.json",
            MessageKind::Catalog => "catalog/catalog-schema.json",
            MessageKind::Dataset => "catalog/dataset-schema.json",
            MessageKind::CatalogError => "catalog/catalog-error-schema.json",
            MessageKind::VersionResponse => "common/protocol-version-schema.json",
            MessageKind::DidService => "common/did-service-schema.json",
            MessageKind::ContractRequestMessage => "negotiation/contract-request-message-schema.json",
            MessageKind::ContractOfferMessage => "negotiation/contract-offer-message-schema.json",
            MessageKind::ContractAgreementMessage => "negotiation/contract-agreement-message-schema.json",
            MessageKind::ContractAgreementVerificationMessage => {
                "negotiation/contract-agreement-verification-message-schema.json"
            }
            MessageKind::ContractNegotiationEventMessage => {
                "negotiation/contract-negotiation-event-message-schema.json"
            }
            MessageKind::ContractNegotiationTerminationMessage => {
                "negotiation/contract-negotiation-termination-message-schema.json"
            }
            MessageKind::ContractNegotiation => "negotiation/contract-negotiation-schema.json",
            MessageKind::ContractNegotiationError => "negotiation/contract-negotiation-error-schema.json",
            MessageKind::TransferRequestMessage => "transfer/transfer-request-message-schema.json",
            MessageKind::TransferStartMessage => "transfer/transfer-start-message-schema.json",
            MessageKind::TransferCompletionMessage => "transfer/transfer-completion-message-schema.json",
            MessageKind::TransferSuspensionMessage => "transfer/transfer-suspension-message-schema.json",
            MessageKind::TransferTerminationMessage => "transfer/transfer-termination-message-schema.json",
            MessageKind::TransferProcess => "transfer/transfer-process-schema.json",
            MessageKind::TransferError => "transfer/transfer-error-schema.json",
        }
    }

    /// The kind whose compact `@type` is `type_name` (`Catalog`, `ContractRequestMessage`…).
    pub fn from_type(type_name: &str) -> Option<MessageKind> {
        let name = match type_name {
            "CatalogRequestMessage" => MessageKind::CatalogRequestMessage,
            "DatasetRequestMessage" => MessageKind::DatasetRequestMessage,
            "Catalog" => MessageKind::Catalog,
            "Dataset" => MessageKind::Dataset,
            "CatalogError" => MessageKind::CatalogError,
            "DataService" | "CatalogService" => MessageKind::DidService,
            "ContractRequestMessage" => MessageKind::ContractRequestMessage,
            "ContractOfferMessage" => MessageKind::ContractOfferMessage,
            "ContractAgreementMessage" => MessageKind::ContractAgreementMessage,
            "ContractAgreementVerificationMessage" => MessageKind::ContractAgreementVerificationMessage,
            "ContractNegotiationEventMessage" => MessageKind::ContractNegotiationEventMessage,
            "ContractNegotiationTerminationMessage" => MessageKind::ContractNegotiationTerminationMessage,
            "ContractNegotiation" => MessageKind::ContractNegotiation,
            "ContractNegotiationError" => MessageKind::ContractNegotiationError,
            "TransferRequestMessage" => MessageKind::TransferRequestMessage,
            "TransferStartMessage" => MessageKind::TransferStartMessage,
            "TransferCompletionMessage" => MessageKind::TransferCompletionMessage,
            "TransferSuspensionMessage" => MessageKind::TransferSuspensionMessage,
            "TransferTerminationMessage" => MessageKind::TransferTerminationMessage,
            "TransferProcess" => MessageKind::TransferProcess,
            "TransferError" => MessageKind::TransferError,
            _ => return None,
        };
        Some(name)
    }

    /// The kind of a document: by its `@type` (or DID-style `type`), else a version document.
    pub fn of(instance: &Value) -> Option<MessageKind> {
        let declared = instance.get("@type").or_else(|| instance.get("type")).and_then(Value::as_str);
        match declared {
            Some(t) => MessageKind::from_type(t),
            None if instance.get("protocolVersions").is_some() => Some(MessageKind::VersionResponse),
            None => None,
        }
    }
}

/// Validates `instance` against the schema of `kind` (and the prose rules listed in the module docs).
///
/// Errors read `<instance path>: <what is wrong>`.
pub fn validate(kind: MessageKind, instance: &Value) -> Result<(), Vec<String>> {
    let mut errors = match validate_with(kind.schema_path(), instance) {
        Ok(()) => Vec::new(),
        Err(errors) => errors,
    };
    errors.extend(prose_rules(kind, instance));
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Validates a document whose kind follows from its `@type` (see [`MessageKind::of`]).
pub fn validate_message(instance: &Value) -> Result<(), Vec<String>> {
    match MessageKind::of(instance) {
        Some(kind) => validate(kind, instance),
        None => Err(vec!["the document has no `@type` naming a DSP message; call `validate` with its kind".into()]),
    }
}

/// Validates `instance` against the schema file `schema_path` (`<area>/<file>`), schema rules only.
pub fn validate_with(schema_path: &str, instance: &Value) -> Result<(), Vec<String>> {
    let set = schemas().map_err(|e| vec![e.to_string()])?;
    let validator =
        set.validators.get(schema_path).ok_or_else(|| vec![SchemaError::Unknown(schema_path.into()).to_string()])?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { at.as_str() })
        })
        .collect();
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Paths (`<area>/<file>`) of every schema loaded.
pub fn schema_paths() -> Result<Vec<String>, SchemaError> {
    Ok(schemas()?.validators.keys().cloned().collect())
}

/// Requirements stated in the DSP prose that the schemas do not encode.
fn prose_rules(kind: MessageKind, instance: &Value) -> Vec<String> {
    let (pointer, rule) = match kind {
        MessageKind::ContractAgreementMessage => {
            ("/agreement/timestamp", "/agreement: an Agreement must carry `timestamp` (DSP 2025-1 prose)")
        }
        MessageKind::ContractRequestMessage => {
            ("/offer/target", "/offer: the offer of a ContractRequestMessage must carry `target` (DSP 2025-1 prose)")
        }
        _ => return Vec::new(),
    };
    if instance.pointer(pointer).is_some_and(Value::is_string) { Vec::new() } else { vec![rule.to_string()] }
}

/// The `dsp-2025-1` spec directory: `$PASSERELLE_DSP_SPEC_DIR`, else `shared/spec/dsp-2025-1`
/// in the nearest ancestor of this crate's manifest directory that has one.
pub fn dsp_spec_dir() -> Result<PathBuf, SchemaError> {
    if let Some(dir) = std::env::var_os(SPEC_DIR_ENV) {
        return Ok(PathBuf::from(dir));
    }
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("spec").join("dsp-2025-1"))
        .find(|candidate| candidate.is_dir())
        .ok_or_else(|| SchemaError::SpecNotFound { searched_from: start.display().to_string() })
}

struct SchemaSet {
    validators: BTreeMap<String, Validator>,
}

fn schemas() -> Result<&'static SchemaSet, SchemaError> {
    static SET: OnceLock<Result<SchemaSet, SchemaError>> = OnceLock::new();
    SET.get_or_init(load).as_ref().map_err(Clone::clone)
}

fn load() -> Result<SchemaSet, SchemaError> {
    let root = dsp_spec_dir()?;
    let mut documents: BTreeMap<String, Value> = BTreeMap::new();
    for area in ["catalog", "common", "negotiation", "transfer"] {
        let dir = root.join(area);
        let entries = std::fs::read_dir(&dir)
            .map_err(|e| SchemaError::Read { path: dir.display().to_string(), reason: e.to_string() })?;
        for entry in entries {
            let path =
                entry.map_err(|e| SchemaError::Read { path: dir.display().to_string(), reason: e.to_string() })?.path();
            let Some(file) = path.file_name().and_then(|f| f.to_str()) else { continue };
            if !(path.is_file() && file.ends_with("-schema.json")) {
                continue;
            }
            let text = std::fs::read_to_string(&path)
                .map_err(|e| SchemaError::Read { path: path.display().to_string(), reason: e.to_string() })?;
            let mut schema: Value = serde_json::from_str(&text)
                .map_err(|e| SchemaError::Invalid { path: path.display().to_string(), reason: e.to_string() })?;
            patch_upstream_defects(&mut schema);
            documents.insert(format!("{area}/{file}"), schema);
        }
    }
    let invalid = |path: &str, reason: String| SchemaError::Invalid { path: path.to_string(), reason };
    let registry = Registry::new()
        .draft(Draft::Draft201909)
        .extend(documents.iter().map(|(rel, schema)| (format!("{DSP_SCHEMA_BASE}{rel}"), schema.clone())))
        .map_err(|e| invalid("registry", e.to_string()))?
        .prepare()
        .map_err(|e| invalid("registry", e.to_string()))?;
    let mut validators = BTreeMap::new();
    for (rel, schema) in &documents {
        let validator = jsonschema::options()
            .with_draft(Draft::Draft201909)
            .with_registry(&registry)
            .build(schema)
            .map_err(|e| invalid(rel, e.to_string()))?;
        validators.insert(rel.clone(), validator);
    }
    Ok(SchemaSet { validators })
}

/// Applies the in-memory workarounds 1 and 2 of the module docs.
fn patch_upstream_defects(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, member) in map.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = member
                    && let Some((doc, pointer)) = target.split_once('#')
                    && !pointer.is_empty()
                    && !pointer.starts_with('/')
                {
                    *target = format!("{doc}#/{pointer}");
                } else if key == "serviceEndpoint"
                    && let Some(pattern) = member.get_mut("pattern")
                    && pattern.as_str() == Some("https?://.*?/catalog$")
                {
                    *pattern = Value::String(r"https?://.*?/(catalog|\.well-known/dspace-version)$".into());
                } else {
                    patch_upstream_defects(member);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(patch_upstream_defects),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_schema_file_is_loaded() {
        let paths = schema_paths().unwrap();
        for kind in MessageKind::ALL {
            assert!(paths.iter().any(|p| p == kind.schema_path()), "{kind:?} missing from {paths:?}");
        }
        let root = dsp_spec_dir().unwrap();
        let on_disk = ["catalog", "common", "negotiation", "transfer"]
            .iter()
            .flat_map(|area| std::fs::read_dir(root.join(area)).unwrap())
            .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with("-schema.json"))
            .count();
        assert_eq!(paths.len(), on_disk, "{paths:?}");
    }

    #[test]
    fn the_transfer_pointer_defect_is_repaired_and_enforced() {
        let mut s =
            json!({"allOf": [{"$ref": "https://w3id.org/dspace/2025/1/transfer/transfer-schema.json#definitions/X"}]});
        patch_upstream_defects(&mut s);
        assert_eq!(
            s["allOf"][0]["$ref"],
            "https://w3id.org/dspace/2025/1/transfer/transfer-schema.json#/definitions/X"
        );
        // The repaired reference is followed: providerPid comes from the abstract transfer message.
        let error = json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@type": "TransferError",
                           "consumerPid": "urn:uuid:1"});
        assert!(validate(MessageKind::TransferError, &error).is_err());
    }

    #[test]
    fn invalid_documents_fail_with_a_path() {
        let catalog =
            json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@id": "c", "@type": "Catalog"});
        let errors = validate(MessageKind::Catalog, &catalog).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("participantId")), "{errors:?}");
        let errors = validate(MessageKind::CatalogError, &json!({"@type": "CatalogError"})).unwrap_err();
        assert!(errors.iter().any(|e| e.starts_with("/: ") && e.contains("@context")), "{errors:?}");
    }

    #[test]
    fn prose_rules_are_checked() {
        let request = json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
            "@type": "ContractRequestMessage", "consumerPid": "urn:uuid:c", "callbackAddress": "https://c/cb",
            "offer": {"@id": "urn:uuid:o", "@type": "Offer", "permission": [{"action": "use"}]}});
        let errors = validate(MessageKind::ContractRequestMessage, &request).unwrap_err();
        assert!(errors.iter().any(|e| e.contains("target")), "{errors:?}");
    }

    #[test]
    fn unknown_schema_names_are_reported() {
        let errors = validate_with("catalog/nope.json", &json!({})).unwrap_err();
        assert!(errors[0].contains("catalog/nope.json"), "{errors:?}");
    }

    /// The official examples pass with this loader: proof that every schema and
    /// cross-file reference is registered and that the workarounds hold.
    #[test]
    fn official_examples_validate() {
        let root = dsp_spec_dir().unwrap();
        let mut checked = 0;
        for area in ["catalog", "common", "negotiation", "transfer"] {
            for entry in std::fs::read_dir(root.join(area).join("example")).unwrap() {
                let path = entry.unwrap().path();
                let example: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                let kind = MessageKind::of(&example).unwrap_or_else(|| panic!("no kind for {}", path.display()));
                if let Err(errors) = validate(kind, &example) {
                    panic!("{} ({kind:?}):\n{}", path.display(), errors.join("\n"));
                }
                checked += 1;
            }
        }
        assert!(checked >= 27, "only {checked} examples found");
    }

    #[test]
    fn did_service_endpoints_may_be_the_catalog_or_the_version_document() {
        for (endpoint, accepted) in [
            ("https://p.example/x/catalog", true),
            ("https://p.example/.well-known/dspace-version", true),
            ("https://p.example/other", false),
        ] {
            let doc = json!({"@context": ["https://w3id.org/dspace/2025/1/context.jsonld", "https://www.w3.org/ns/did/v1"],
                             "id": "did:web:p.example#dsp", "type": "DataService", "serviceEndpoint": endpoint});
            assert_eq!(validate(MessageKind::DidService, &doc).is_ok(), accepted, "{endpoint}");
        }
    }
}
