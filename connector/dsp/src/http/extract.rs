//! The body extractor of DSP endpoints: any defect in the body becomes a 400
//! `CatalogError` saying what to fix, never axum's plain-text rejection.

use axum::extract::{FromRequest, Request};
use bytes::Bytes;
use serde::de::DeserializeOwned;

use super::error::ProviderError;
use crate::message::{DspMessage, parse_message};

/// A DSP message read from the request body (media type not enforced: the body decides).
#[derive(Debug, Clone)]
pub struct DspJson<T>(pub T);

impl<S, T> FromRequest<S> for DspJson<T>
where
    S: Send + Sync,
    T: DspMessage + DeserializeOwned,
{
    type Rejection = ProviderError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|rejection| ProviderError::Body { status: rejection.status(), reason: rejection.body_text() })?;
        Ok(DspJson(parse_message(&bytes)?))
    }
}
