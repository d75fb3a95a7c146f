//! The one error shape of the management API:
//! `{"error": "<code>", "message": "<what is wrong and what to fix>", "field": "<where>"?}`.
//!
//! Bad input always maps to a 4xx with a code a client can branch on. Only a
//! failing database yields a 5xx, and its message never carries secrets.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONNECTION, HeaderValue, WWW_AUTHENTICATE};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::store::StoreError;

/// The JSON body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Stable machine-readable code: `malformed_json`, `unsupported_media_type`, `invalid_field`,
    /// `invalid_query`, `invalid_path`, `invalid_policy`, `unauthorized`, `not_found`,
    /// `method_not_allowed`, `conflict`, `payload_too_large`, `unavailable`, `internal`.
    pub error: String,
    /// What is wrong and what to do about it.
    pub message: String,
    /// The offending member (`eidr`, `titles[0].language`, `permission[0].constraint[1].rightOperand`,
    /// a query parameter), when the error is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error response of the management API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> ApiError {
        ApiError { status, body: ErrorBody { error: code.to_string(), message: message.into(), field: None } }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        let field = field.into();
        if !field.is_empty() && field != "." {
            self.body.field = Some(field);
        }
        self
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", format!("{what} `{id}` does not exist; check the id"))
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message).with_field(field)
    }

    pub fn invalid_query(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).with_field(field)
    }

    pub fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, Json(self.body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer, ApiKey header=\"X-Api-Key\""));
        }
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // The unread rest of the body makes the connection unusable: say so, or a
            // client reuses it for its next request and sees it dropped.
            response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match &e {
            StoreError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            StoreError::InUse { .. } => ApiError::new(StatusCode::CONFLICT, "conflict", e.to_string()),
            StoreError::MissingReference { kind: "policy", .. } => {
                ApiError::invalid_field("policy_id", format!("{e}; create the policy first (POST /api/v1/policies)"))
            }
            StoreError::MissingReference { .. } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", e.to_string())
            }
            StoreError::Database { .. } | StoreError::Open { .. } | StoreError::Migrate(_) => {
                tracing::error!(error = %e, "store failure while serving the management API");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the database is not available; retry later",
                )
            }
            StoreError::Corrupt { .. } => {
                tracing::error!(error = %e, "unreadable record in the store");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            }
        }
    }
}

/// Turns a serde error with its path into a field error.
///
/// Syntax errors (not JSON at all, truncated) are `400 malformed_json`; data errors
/// (wrong type, unknown enum value, invalid EIDR, missing member) are `422 invalid_field`
/// naming the member.
pub fn from_json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.inner();
    match inner.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof | serde_json::error::Category::Io => {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {inner}; send a JSON document"),
            )
        }
        serde_json::error::Category::Data => {
            let message = inner.to_string();
            let field = missing_member(&message).map(|m| join_path(&path, m)).unwrap_or(path.clone());
            let shown = if field.is_empty() || field == "." { message } else { format!("{field}: {message}") };
            ApiError::invalid_field(&field, shown)
        }
    }
}

/// `missing field `title`` → `title` (serde reports the parent's path for a missing member).
fn missing_member(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next()
}

fn join_path(parent: &str, member: &str) -> String {
    if parent.is_empty() || parent == "." { member.to_string() } else { format!("{parent}.{member}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ApiError> {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(from_json_error)
    }

    #[test]
    fn syntax_errors_are_400_and_data_errors_name_the_field() {
        let e = decode::<passerelle_media::Work>("{\"id\": ").unwrap_err();
        assert_eq!((e.status, e.body.error.as_str()), (StatusCode::BAD_REQUEST, "malformed_json"));

        let e = decode::<passerelle_media::Work>(
            r#"{"id":"w","kind":"movie","title":"t","eidr":"10.5240/7EC7-228A-510A-053E-CBB8-K"}"#,
        )
        .unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body.field.as_deref(), Some("eidr"));
        assert!(e.body.message.contains("check character"), "{}", e.body.message);

        let e = decode::<passerelle_media::Work>(r#"{"id":"w","kind":"movie"}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("title"));

        let e = decode::<passerelle_media::Work>(r#"{"id":"w","kind":"film-noir","title":"t"}"#).unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("kind"));

        let e = decode::<passerelle_media::Work>(
            r#"{"id":"w","kind":"movie","title":"t","titles":[{"language":"fr","title":"a"},{"language":"!!","title":"b"}]}"#,
        )
        .unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("titles[1].language"));
    }

    #[test]
    fn store_errors_map_to_4xx_except_database_failures() {
        let conflict: ApiError = StoreError::Conflict { kind: "work", id: "w".into() }.into();
        assert_eq!(conflict.status, StatusCode::CONFLICT);
        let missing: ApiError = StoreError::MissingReference { kind: "policy", id: "p".into() }.into();
        assert_eq!(
            (missing.status, missing.body.field.as_deref()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("policy_id"))
        );
        let down: ApiError = StoreError::Database { context: "x", reason: "disk I/O error".into() }.into();
        assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(!down.body.message.contains("disk"), "internals stay in the log");
    }
}
