//! Catalog protocol messages (DSP 2025-1 §Catalog): the request messages a
//! consumer sends, and the Catalog, Dataset and CatalogError a provider answers.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::media::MediaDescription;
use super::{Context, DspMessage, type_marker};

type_marker!(
    /// `@type` of [`CatalogRequestMessage`].
    CatalogRequestMessageType = "CatalogRequestMessage"
);
type_marker!(
    /// `@type` of [`DatasetRequestMessage`].
    DatasetRequestMessageType = "DatasetRequestMessage"
);
type_marker!(
    /// `@type` of [`CatalogError`].
    CatalogErrorType = "CatalogError"
);
type_marker!(
    /// `@type` of [`Catalog`].
    CatalogType = "Catalog"
);
type_marker!(
    /// `@type` of [`Dataset`].
    DatasetType = "Dataset"
);
type_marker!(
    /// `@type` of [`Distribution`].
    DistributionType = "Distribution"
);
type_marker!(
    /// `@type` of [`DataService`].
    DataServiceType = "DataService"
);

/// `POST <base>/catalog/request`: asks for the provider's catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogRequestMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: CatalogRequestMessageType,
    /// Implementation-specific filter expressions; we support none, so a non-empty
    /// filter is refused with 400 as the HTTPS binding requires.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter: Vec<Value>,
}

impl CatalogRequestMessage {
    pub fn new() -> Self {
        CatalogRequestMessage { context: Context::dsp(), message_type: CatalogRequestMessageType, filter: Vec::new() }
    }
}

impl Default for CatalogRequestMessage {
    fn default() -> Self {
        Self::new()
    }
}

impl DspMessage for CatalogRequestMessage {
    const TYPE: &'static str = CatalogRequestMessageType::VALUE;
}

/// The dataset request: over HTTPS it is `GET <base>/catalog/datasets/{id}`; the
/// message form is what a consumer's client works with before choosing the URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRequestMessage {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: DatasetRequestMessageType,
    pub dataset: String,
}

impl DatasetRequestMessage {
    pub fn new(dataset: impl Into<String>) -> Self {
        DatasetRequestMessage {
            context: Context::dsp(),
            message_type: DatasetRequestMessageType,
            dataset: dataset.into(),
        }
    }
}

impl DspMessage for DatasetRequestMessage {
    const TYPE: &'static str = DatasetRequestMessageType::VALUE;
}

/// The error body of every failed catalog call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CatalogError {
    #[serde(rename = "@context")]
    pub context: Context,
    #[serde(rename = "@type")]
    pub message_type: CatalogErrorType,
    /// A short machine-readable code of ours (e.g. `BAD_REQUEST_BODY`, `DATASET_NOT_FOUND`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable reasons, each saying what was wrong and what to do about it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reason: Vec<Value>,
}

impl CatalogError {
    pub fn new<I, S>(code: impl Into<String>, reasons: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CatalogError {
            context: Context::dsp(),
            message_type: CatalogErrorType,
            code: Some(code.into()),
            reason: reasons.into_iter().map(|r| Value::String(r.into())).collect(),
        }
    }
}

impl DspMessage for CatalogError {
    const TYPE: &'static str = CatalogErrorType::VALUE;
}

/// A `dcat:Catalog`. At the root of a response it carries `@context` and
/// `participantId`; nested catalogs carry neither.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub message_type: CatalogType,
    #[serde(rename = "participantId", default, skip_serializing_if = "Option::is_none")]
    pub participant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<DataService>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub distribution: Vec<Distribution>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub catalog: Vec<Catalog>,
    /// Last on purpose: a streamed catalog writes every other member first, then
    /// the datasets one by one (see `http::body`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dataset: Vec<Dataset>,
}

impl DspMessage for Catalog {
    const TYPE: &'static str = CatalogType::VALUE;
}

/// A `dcat:Dataset` with its offers (`hasPolicy`) and distributions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Present only when the dataset is the root of a response (`GET …/datasets/{id}`).
    #[serde(rename = "@context", default, skip_serializing_if = "Option::is_none")]
    pub context: Option<Context>,
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub message_type: DatasetType,
    #[serde(flatten)]
    pub media: MediaDescription,
    /// ODRL Offers in compact form, without `target` (the dataset is the target).
    #[serde(rename = "hasPolicy", default)]
    pub has_policy: Vec<Value>,
    #[serde(default)]
    pub distribution: Vec<Distribution>,
}

impl DspMessage for Dataset {
    const TYPE: &'static str = DatasetType::VALUE;
}

/// A `dcat:Distribution`: how the dataset can be transferred (`format`) and through which service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    #[serde(rename = "@type")]
    pub message_type: DistributionType,
    /// Transfer type, e.g. `HttpData-PULL`, `HttpData-PUSH`.
    pub format: String,
    #[serde(rename = "accessService")]
    pub access_service: AccessService,
    #[serde(rename = "hasPolicy", default, skip_serializing_if = "Vec::is_empty")]
    pub has_policy: Vec<Value>,
}

/// A distribution's service: a reference to a service listed in the catalog, or the service itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AccessService {
    Reference(String),
    Service(DataService),
}

/// A `dcat:DataService`: the connector endpoint serving the datasets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataService {
    #[serde(rename = "@id")]
    pub id: String,
    #[serde(rename = "@type")]
    pub message_type: DataServiceType,
    #[serde(rename = "endpointURL")]
    pub endpoint_url: String,
    #[serde(rename = "endpointDescription", default, skip_serializing_if = "Option::is_none")]
    pub endpoint_description: Option<String>,
}

impl DataService {
    pub fn new(id: impl Into<String>, endpoint_url: impl Into<String>) -> Self {
        DataService {
            id: id.into(),
            message_type: DataServiceType,
            endpoint_url: endpoint_url.into(),
            endpoint_description: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{MessageKind, validate};
    use serde_json::json;

    fn assert_valid(kind: MessageKind, value: &Value) {
        if let Err(errors) = validate(kind, value) {
            panic!("{kind:?} invalid:\n{}\n{value:#}", errors.join("\n"));
        }
    }

    #[test]
    fn request_messages_serialize_schema_valid_and_round_trip() {
        let request = CatalogRequestMessage::new();
        let v = serde_json::to_value(&request).unwrap();
        assert_eq!(v, json!({"@context": [crate::message::DSPACE_CONTEXT], "@type": "CatalogRequestMessage"}));
        assert_valid(MessageKind::CatalogRequestMessage, &v);
        assert_eq!(serde_json::from_value::<CatalogRequestMessage>(v).unwrap(), request);

        let request = DatasetRequestMessage::new("urn:passerelle:dataset:work:1");
        let v = serde_json::to_value(&request).unwrap();
        assert_valid(MessageKind::DatasetRequestMessage, &v);
        assert_eq!(serde_json::from_value::<DatasetRequestMessage>(v).unwrap(), request);
    }

    #[test]
    fn catalog_error_is_schema_valid() {
        let error = CatalogError::new("DATASET_NOT_FOUND", ["no dataset `x`"]);
        let v = serde_json::to_value(&error).unwrap();
        assert_valid(MessageKind::CatalogError, &v);
        assert_eq!(v["reason"], json!(["no dataset `x`"]));
        assert_eq!(serde_json::from_value::<CatalogError>(v).unwrap(), error);
    }

    #[test]
    fn type_markers_refuse_other_types() {
        let err = serde_json::from_value::<Catalog>(json!({"@id": "c", "@type": "Dataset"})).unwrap_err();
        assert!(err.to_string().contains("`@type` must be `Catalog`, found `Dataset`"), "{err}");
    }

    #[test]
    fn official_catalog_examples_read_into_our_types() {
        let dir = crate::test_support::spec_dir().join("catalog").join("example");
        let read = |f: &str| -> Value { serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap() };
        let catalog: Catalog = serde_json::from_value(read("catalog.json")).unwrap();
        assert_eq!(catalog.dataset.len(), 1);
        assert_eq!(catalog.dataset[0].distribution[0].format, "HttpData-PULL");
        let nested: Catalog = serde_json::from_value(read("nested-catalog.json")).unwrap();
        assert_eq!(nested.catalog[0].service[0].endpoint_url, "https://provder-a.com/subcatalog");
        let dataset: Dataset = serde_json::from_value(read("dataset.json")).unwrap();
        assert!(matches!(dataset.distribution[0].access_service, AccessService::Service(_)));
        // What we read, we write back schema-valid.
        assert_valid(MessageKind::Catalog, &serde_json::to_value(&catalog).unwrap());
        assert_valid(MessageKind::Catalog, &serde_json::to_value(&nested).unwrap());
        assert_valid(MessageKind::Dataset, &serde_json::to_value(&dataset).unwrap());
        let error: CatalogError = serde_json::from_value(read("catalog-error.json")).unwrap();
        assert_eq!(error.code.as_deref(), Some("123-A"));
    }
}
