//! `/api/v1/services`: the services a lab offers, each a `ServiceDataset` in the catalog (`crate::services`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::paging::Paging;
use super::policies::ListQuery;
use crate::catalog::ids::service_dataset_id;
use crate::services::ServiceDefinition;
use crate::store::{StoredService, Written};

/// A service as the API shows it: the definition, its dataset id and the terms the catalog publishes.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceResource {
    #[serde(flatten)]
    pub service: ServiceDefinition,
    /// Id of the service dataset in the catalog (`service:<id>`).
    pub dataset_id: String,
    /// The terms as the catalog publishes them (our media context's words).
    #[schema(value_type = Object)]
    pub terms: Value,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A page of services.
#[derive(Debug, Serialize, ToSchema)]
pub struct ServicePage {
    pub items: Vec<ServiceResource>,
    pub next_cursor: Option<String>,
}

fn resource(stored: StoredService) -> ServiceResource {
    ServiceResource {
        dataset_id: service_dataset_id(&stored.service.id),
        terms: serde_json::to_value(stored.service.terms()).unwrap_or(Value::Null),
        service: stored.service,
        revision: stored.revision,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

/// Every problem of the definition in one answer, at the first one's field.
fn check(service: &ServiceDefinition) -> Result<(), ApiError> {
    let problems = service.problems();
    let Some(first) = problems.first() else { return Ok(()) };
    let message: Vec<String> = problems.iter().map(|p| format!("{}: {}", p.field, p.message)).collect();
    Err(ApiError::invalid_field(&first.field, message.join("; ")))
}

/// List services in id order.
#[utoipa::path(get, path = "/api/v1/services", tag = "services", params(ListQuery),
    responses((status = 200, body = ServicePage), (status = 400, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_services(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ServicePage>, ApiError> {
    let paging = Paging::new(q.limit, q.cursor)?;
    let page = state.store.list_services(paging.cursor.as_deref(), paging.limit).await?;
    Ok(Json(ServicePage { items: page.items.into_iter().map(resource).collect(), next_cursor: page.next_cursor }))
}

/// Offer a service (languages, kinds, formats, turnaround, price, under a stored policy).
#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = ServiceDefinition,
    responses((status = 201, body = ServiceResource), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create_service(
    State(state): State<ApiState>,
    ApiJson(service): ApiJson<ServiceDefinition>,
) -> Result<Response, ApiError> {
    check(&service)?;
    state.store.insert_service(&service).await?;
    let stored =
        state.store.get_service(&service.id).await?.ok_or_else(|| ApiError::not_found("service", &service.id))?;
    let url = format!("/api/v1/services/{}", service.id);
    Ok((StatusCode::CREATED, [(LOCATION, url)], Json(resource(stored))).into_response())
}

/// One service.
#[utoipa::path(get, path = "/api/v1/services/{id}", tag = "services", params(("id" = String, Path, description = "Service id")),
    responses((status = 200, body = ServiceResource), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_service(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ServiceResource>, ApiError> {
    let stored = state.store.get_service(&id).await?.ok_or_else(|| ApiError::not_found("service", &id))?;
    Ok(Json(resource(stored)))
}

/// Create or replace a service; the body's id must equal the URL's.
#[utoipa::path(put, path = "/api/v1/services/{id}", tag = "services", request_body = ServiceDefinition,
    params(("id" = String, Path, description = "Service id")),
    responses((status = 200, body = ServiceResource), (status = 201, body = ServiceResource), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_service(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(service): ApiJson<ServiceDefinition>,
) -> Result<Response, ApiError> {
    if service.id != id {
        return Err(ApiError::invalid_field(
            "id",
            format!("the body's id `{}` differs from the URL's `{id}`", service.id),
        ));
    }
    check(&service)?;
    let written = state.store.put_service(&service).await?;
    let stored = state.store.get_service(&id).await?.ok_or_else(|| ApiError::not_found("service", &id))?;
    let status = if written == Written::Inserted { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(resource(stored))).into_response())
}

/// Withdraw a service: its dataset leaves the catalog; orders under existing agreements are refused from then on.
#[utoipa::path(delete, path = "/api/v1/services/{id}", tag = "services", params(("id" = String, Path, description = "Service id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_service(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_service(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("service", &id))
    }
}
