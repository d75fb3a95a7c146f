//! Every failure of a catalog endpoint becomes an HTTP status and a DSP
//! `CatalogError` body whose reason says what to change.

use axum::Json;
use axum::http::StatusCode;
use axum::http::header::{CONTENT_TYPE, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::catalog::SourceError;
use crate::message::MessageError;
use crate::message::catalog::CatalogError;
use crate::render::RenderError;

/// What went wrong while answering a catalog request.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The body could not be read at all (too large, connection cut).
    #[error("{reason}")]
    Body { status: StatusCode, reason: String },
    #[error("{0}")]
    Paging(String),
    #[error("`filter` is not supported by this connector: send the request without `filter` or with an empty array")]
    FilterUnsupported,
    #[error("{0}")]
    BadPath(String),
    #[error("there is no dataset `{0}` in this catalog: request the catalog to see the datasets on offer")]
    DatasetNotFound(String),
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Unpublishable(RenderError),
    #[error("the response could not be serialized: {0}")]
    Serialize(String),
}

impl ProviderError {
    pub fn status(&self) -> StatusCode {
        match self {
            ProviderError::Message(_)
            | ProviderError::Paging(_)
            | ProviderError::FilterUnsupported
            | ProviderError::BadPath(_) => StatusCode::BAD_REQUEST,
            ProviderError::Body { status, .. } => *status,
            ProviderError::DatasetNotFound(_) => StatusCode::NOT_FOUND,
            ProviderError::Source(SourceError::InvalidCursor(_)) => StatusCode::BAD_REQUEST,
            ProviderError::Source(SourceError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ProviderError::Source(SourceError::Internal(_))
            | ProviderError::Unpublishable(_)
            | ProviderError::Serialize(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ProviderError::Message(_) => "INVALID_MESSAGE",
            ProviderError::Body { .. } => "UNREADABLE_BODY",
            ProviderError::Paging(_) => "INVALID_PAGINATION",
            ProviderError::FilterUnsupported => "FILTER_NOT_SUPPORTED",
            ProviderError::BadPath(_) => "INVALID_DATASET_ID",
            ProviderError::DatasetNotFound(_) => "DATASET_NOT_FOUND",
            ProviderError::Source(SourceError::InvalidCursor(_)) => "INVALID_PAGINATION",
            ProviderError::Source(SourceError::Unavailable(_)) => "CATALOG_UNAVAILABLE",
            ProviderError::Source(SourceError::Internal(_))
            | ProviderError::Unpublishable(_)
            | ProviderError::Serialize(_) => "INTERNAL_ERROR",
        }
    }

    /// The reason shown to the requester. Internal details stay in the log.
    fn public_reason(&self) -> String {
        if self.status().is_server_error() && self.status() != StatusCode::SERVICE_UNAVAILABLE {
            return "the provider could not answer this request because of an internal error; it has been logged"
                .to_string();
        }
        self.to_string()
    }

    pub fn to_catalog_error(&self) -> CatalogError {
        CatalogError::new(self.code(), [self.public_reason()])
    }
}

impl IntoResponse for ProviderError {
    fn into_response(self) -> Response {
        let status = self.status();
        if status.is_server_error() {
            tracing::error!(error = %self, "DSP catalog request failed");
        } else {
            tracing::debug!(error = %self, %status, "DSP catalog request refused");
        }
        let mut response = (status, Json(self.to_catalog_error())).into_response();
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_are_not_shown() {
        let e = ProviderError::Source(SourceError::Internal("db password rejected".into()));
        assert_eq!(e.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&e.to_catalog_error()).unwrap();
        assert!(!body.contains("password"), "{body}");
    }

    #[test]
    fn client_errors_explain_themselves() {
        let e = ProviderError::DatasetNotFound("work:x".into());
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        let ce = e.to_catalog_error();
        assert_eq!(ce.code.as_deref(), Some("DATASET_NOT_FOUND"));
        assert!(ce.reason[0].as_str().unwrap().contains("work:x"));
        assert_eq!(ProviderError::Source(SourceError::InvalidCursor("c".into())).status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            ProviderError::Source(SourceError::Unavailable("busy".into())).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
}
