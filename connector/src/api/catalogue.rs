//! `GET /api/v1/catalogue/search?…`: the data space's federated catalogue, searched through
//! this connector (`[catalogue] url`). The parameters are the catalogue's (`q`, `provider`,
//! `role`, `workType`, `eidr`, `isan`, `language`, `territory`, `licenseType`, `purpose`,
//! `kind`, `offset`, `limit`); each hit carries `providerAddress`, `datasetId` and `offerIds`,
//! which is what `POST /api/v1/negotiations` takes (`counterPartyAddress`, `datasetId`, `offerId`).
//!
//! Also here: the layer that tells the catalogue when a management call changed what this
//! connector offers.

use axum::Json;
use axum::extract::{RawQuery, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiState;
use super::error::ApiError;
use crate::catalogue::client::SearchOutcome;

/// Search the federated catalogue.
#[utoipa::path(get, path = "/api/v1/catalogue/search", tag = "catalogue",
    responses((status = 200, description = "`{total, offset, limit, hits: [{provider, providerAddress, datasetId, offerIds, title, …}], facets}`"),
        (status = 400, body = super::ErrorBody), (status = 502, body = super::ErrorBody),
        (status = 503, body = super::ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn search(State(state): State<ApiState>, RawQuery(query): RawQuery) -> Result<Response, ApiError> {
    let Some(client) = &state.catalogue else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "no federated catalogue is configured; set [catalogue] url (or PASSERELLE_CATALOGUE_URL) and restart",
        ));
    };
    match client.search(query.as_deref().unwrap_or("")).await {
        Ok(SearchOutcome::Results(results)) => Ok((StatusCode::OK, Json(results)).into_response()),
        Ok(SearchOutcome::BadParameters { message, .. }) => {
            let field = message
                .strip_prefix("search parameter `")
                .and_then(|rest| rest.split_once('`'))
                .map(|(name, _)| name.to_string())
                .unwrap_or_default();
            Err(ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", message).with_field(field))
        }
        Err(error) => {
            tracing::warn!(%error, "catalogue search failed");
            Err(ApiError::new(StatusCode::BAD_GATEWAY, "catalogue_unavailable", error.to_string()))
        }
    }
}

/// Whether a successful `method` on `path` (under `/api/v1`) changes the offers this connector publishes.
pub fn changes_offers(method: &Method, path: &str) -> bool {
    let mutating = [Method::POST, Method::PUT, Method::DELETE].contains(method);
    let published = ["/works", "/policies", "/offer-definitions", "/services"]
        .iter()
        .any(|root| path == *root || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/')));
    mutating && published
}

/// Layer of the authenticated routes: after a successful offer change, notify the catalogue.
pub async fn notify_on_change(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let changes = changes_offers(request.method(), request.uri().path());
    let response = next.run(request).await;
    if changes
        && response.status().is_success()
        && let Some(client) = &state.catalogue
    {
        client.notify_in_background("offer change through the management API");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_successful_changes_to_published_things_count() {
        assert!(changes_offers(&Method::POST, "/works"));
        assert!(changes_offers(&Method::PUT, "/offer-definitions/catalogue"));
        assert!(changes_offers(&Method::DELETE, "/works/x/rights/y"));
        assert!(!changes_offers(&Method::GET, "/works"));
        assert!(!changes_offers(&Method::POST, "/negotiations"));
        assert!(!changes_offers(&Method::POST, "/worksheets"));
    }
}
