//! What Passerelle emits validates against the official DCP 1.0 and DSP 2025-1 JSON
//! Schemas in `shared/spec`, registered locally (no network).

use jsonschema::{Draft, Validator};
use passerelle_identity::dcp::{PresentationQueryMessage, dsp_auth};
use passerelle_identity::did::Service;
use serde_json::{Value, json};
use time::Duration;

use crate::support::{Transport, World, read_json, spec_dir};

const DCP: &str = "https://w3id.org/dspace-dcp/v1.0/";
const DSP: &str = "https://w3id.org/dspace/2025/1/";
const PE: &str = "https://identity.foundation/";

/// Every schema the DCP presentation and DSP common schemas reference, by the URI they are referenced with.
fn documents() -> Vec<(String, Value)> {
    let spec = spec_dir();
    let dcp = spec.join("dcp-1.0");
    let dsp = spec.join("dsp-2025-1");
    let pe = dcp.join("presentation-exchange");
    let dcp_context = read_json(&dcp.join("common/context-schema.json"));
    // A presentation definition's `filter` is itself a JSON Schema, referenced as the
    // draft-07 meta-schema, which jsonschema cannot reach from a custom retriever; it is
    // narrowed to "an object" (Passerelle never emits presentation definitions).
    let mut definition = read_json(&pe.join("presentation-exchange/schemas/presentation-definition.json"));
    replace_meta_refs(&mut definition);
    let mut did_service = read_json(&dsp.join("common/did-service-schema.json"));
    // Upstream defect 2: the DataService example (and the DSP prose) point at
    // `/.well-known/dspace-version`, which the `/catalog$` pattern forbids.
    did_service["definitions"]["DidService"]["properties"]["serviceEndpoint"]["pattern"] =
        json!(r"https?://.*?/(catalog|\.well-known/dspace-version)$");
    vec![
        (
            format!("{DCP}presentation/presentation-query-message-schema.json"),
            read_json(&dcp.join("presentation/presentation-query-message-schema.json")),
        ),
        (
            format!("{DCP}presentation/presentation-response-message-schema.json"),
            read_json(&dcp.join("presentation/presentation-response-message-schema.json")),
        ),
        // Referenced as v1.0 but declaring a v08 `$id`: registered under both.
        (format!("{DCP}common/context-schema.json"), dcp_context.clone()),
        ("https://w3id.org/dspace-dcp/v08/common/context-schema.json".into(), dcp_context),
        (format!("{PE}presentation-exchange/schemas/presentation-definition.json"), definition),
        (
            format!("{PE}presentation-exchange/schemas/presentation-submission.json"),
            read_json(&pe.join("presentation-exchange/schemas/presentation-submission.json")),
        ),
        (
            format!("{PE}claim-format-registry/schemas/presentation-definition-claim-format-designations.json"),
            read_json(&pe.join("claim-format-registry/schemas/presentation-definition-claim-format-designations.json")),
        ),
        (
            format!("{PE}claim-format-registry/schemas/presentation-submission-claim-format-designations.json"),
            read_json(&pe.join("claim-format-registry/schemas/presentation-submission-claim-format-designations.json")),
        ),
        (
            format!("{DSP}common/protocol-version-schema.json"),
            read_json(&dsp.join("common/protocol-version-schema.json")),
        ),
        (format!("{DSP}common/context-schema.json"), read_json(&dsp.join("common/context-schema.json"))),
        (format!("{DSP}common/did-service-schema.json"), did_service),
    ]
}

fn replace_meta_refs(value: &mut Value) {
    match value {
        Value::Object(map)
            if map.get("$ref").and_then(Value::as_str) == Some("http://json-schema.org/draft-07/schema#") =>
        {
            *value = json!({"type": "object"});
        }
        Value::Object(map) => map.values_mut().for_each(replace_meta_refs),
        Value::Array(items) => items.iter_mut().for_each(replace_meta_refs),
        _ => {}
    }
}

/// Serves the local copies by URI; anything else (but the built-in meta-schemas) is an error.
struct LocalSchemas(Vec<(String, Value)>);

impl jsonschema::Retrieve for LocalSchemas {
    fn retrieve(&self, uri: &jsonschema::Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let wanted = uri.as_str().trim_end_matches('#');
        self.0
            .iter()
            .find(|(u, _)| u == wanted)
            .map(|(_, d)| d.clone())
            .ok_or_else(|| format!("{wanted} is not a local schema (no network in tests)").into())
    }
}

struct Schemas {
    documents: Vec<(String, Value)>,
}

impl Schemas {
    fn load() -> Schemas {
        Schemas { documents: documents() }
    }

    fn validator(&self, uri: &str) -> Validator {
        let schema = &self.documents.iter().find(|(u, _)| u == uri).unwrap_or_else(|| panic!("no schema {uri}")).1;
        jsonschema::options()
            .with_draft(Draft::Draft201909)
            .with_retriever(LocalSchemas(self.documents.clone()))
            .build(schema)
            .unwrap_or_else(|e| panic!("{uri}: {e}"))
    }

    fn errors(&self, uri: &str, instance: &Value) -> Vec<String> {
        self.validator(uri).iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
    }
}

fn query_schema() -> String {
    format!("{DCP}presentation/presentation-query-message-schema.json")
}

fn response_schema() -> String {
    format!("{DCP}presentation/presentation-response-message-schema.json")
}

/// The loader is right: the official examples pass (including the presentation-exchange references).
#[test]
fn official_dcp_examples_validate() {
    let schemas = Schemas::load();
    let examples = spec_dir().join("dcp-1.0/presentation/example");
    for (file, schema) in [
        ("presentation-query-message.json", query_schema()),
        ("presentation-query-message-w-presentation-definition.json", query_schema()),
        ("presentation-response-message.json", response_schema()),
        ("presentation-response-message-w-presentation-submission.json", response_schema()),
    ] {
        let errors = schemas.errors(&schema, &read_json(&examples.join(file)));
        assert!(errors.is_empty(), "{file}: {errors:?}");
    }
}

#[tokio::test]
async fn our_presentation_messages_validate() {
    let schemas = Schemas::load();
    let world = World::new(Transport::Memory).await;
    let query = PresentationQueryMessage::for_scopes(&world.scopes());
    let query_json = serde_json::to_value(&query).unwrap();
    assert_eq!(schemas.errors(&query_schema(), &query_json), Vec::<String>::new());

    // A real answer of the holder's credential service.
    let token = world
        .verifier_id
        .id_token(world.holder.did().as_str(), Some(world.access_token()), world.now(), Duration::minutes(2))
        .unwrap();
    let response = world.holder_service.query(Some(&format!("Bearer {token}")), &query).await.unwrap();
    let response_json = serde_json::to_value(&response).unwrap();
    assert_eq!(schemas.errors(&response_schema(), &response_json), Vec::<String>::new());
    assert_eq!(response_json["presentation"].as_array().map(Vec::len), Some(1));

    // The schemas do bite.
    let mut broken = query_json.clone();
    broken["type"] = json!("PresentationRequestMessage");
    assert!(!schemas.errors(&query_schema(), &broken).is_empty());
    let mut broken = response_json;
    broken.as_object_mut().unwrap().remove("presentation");
    assert!(!schemas.errors(&response_schema(), &broken).is_empty());
    let scope_only = json!({
        "@context": ["https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"],
        "type": "PresentationQueryMessage",
        "scope": []
    });
    assert!(!schemas.errors(&query_schema(), &scope_only).is_empty());
}

#[test]
fn the_dsp_version_auth_object_validates() {
    let schemas = Schemas::load();
    let schema = format!("{DSP}common/protocol-version-schema.json");
    let version = json!({"protocolVersions": [{
        "version": "2025-1", "path": "/dsp/2025-1", "binding": "HTTPS",
        "identifierType": "did:web", "serviceId": "did:web:a.example#dsp-data", "auth": dsp_auth()
    }]});
    assert_eq!(schemas.errors(&schema, &version), Vec::<String>::new());
    assert_eq!(dsp_auth(), json!({"protocol": "DCP", "version": "1.0", "profile": ["vc20-bssl/jwt"]}));
    let mut broken = version;
    broken["protocolVersions"][0]["auth"].as_object_mut().unwrap().remove("protocol");
    assert!(!schemas.errors(&schema, &broken).is_empty());
}

#[test]
fn did_document_dsp_services_validate() {
    let schemas = Schemas::load();
    let schema = format!("{DSP}common/did-service-schema.json");
    let did = passerelle_identity::did::Did::parse("did:web:a.example").unwrap();
    for service in [
        Service::dsp_catalog(&did, "https://a.example/dsp/2025-1/catalog"),
        Service::dsp_data(&did, "https://a.example/.well-known/dspace-version"),
    ] {
        let json = serde_json::to_value(&service).unwrap();
        assert_eq!(schemas.errors(&schema, &json), Vec::<String>::new(), "{json}");
    }
    let wrong = serde_json::to_value(Service::dsp_catalog(&did, "https://a.example/dsp")).unwrap();
    assert!(!schemas.errors(&schema, &wrong).is_empty());
}
