//! `/api/v1/works`, with each work's versions and rights windows.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use passerelle_media::{Eidr, RightsWindow, Version, Work, WorkKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery, decode_value};
use super::paging::Paging;
use super::schema::{RightsWindowSchema, VersionSchema, WorkSchema};
use crate::store::{WorkFilter, Written};

/// Query of `GET /api/v1/works`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WorkQuery {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only works of this kind (`movie`, `series`, `season`, `episode`, …).
    #[param(value_type = Option<String>)]
    pub kind: Option<WorkKind>,
    /// Case-insensitive substring of the title.
    pub title: Option<String>,
    /// Only the work with this EIDR (validated, any accepted spelling).
    #[param(value_type = Option<String>)]
    pub eidr: Option<Eidr>,
    /// Only children of this work (episodes of a season, seasons of a series).
    pub parent: Option<String>,
}

/// A page of works.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkPage {
    #[schema(value_type = Vec<WorkSchema>)]
    pub items: Vec<Work>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

/// Versions of a work (all of them: a work has few).
#[derive(Debug, Serialize, ToSchema)]
pub struct VersionList {
    #[schema(value_type = Vec<VersionSchema>)]
    pub items: Vec<Version>,
}

/// Rights windows of a work.
#[derive(Debug, Serialize, ToSchema)]
pub struct RightsList {
    #[schema(value_type = Vec<RightsWindowSchema>)]
    pub items: Vec<RightsWindow>,
}

fn location(path: String) -> [(axum::http::HeaderName, String); 1] {
    [(LOCATION, path)]
}

fn segment(s: &str) -> String {
    super::percent_segment(s)
}

fn written_status(w: Written) -> StatusCode {
    if w == Written::Inserted { StatusCode::CREATED } else { StatusCode::OK }
}

/// Fills `work_id` from the path when the body leaves it out, and refuses a different one.
fn with_work_id(mut body: Value, work_id: &str) -> Result<Value, ApiError> {
    let Some(object) = body.as_object_mut() else {
        return Err(ApiError::invalid_field(".", "the body must be a JSON object"));
    };
    match object.get("work_id") {
        None | Some(Value::Null) => {
            object.insert("work_id".into(), Value::String(work_id.to_string()));
        }
        Some(Value::String(given)) if given == work_id => {}
        Some(_) => {
            return Err(ApiError::invalid_field(
                "work_id",
                format!("work_id must be the work of the URL (`{work_id}`), or left out"),
            ));
        }
    }
    Ok(body)
}

fn same_id(path_id: &str, body_id: &str) -> Result<(), ApiError> {
    if path_id != body_id {
        return Err(ApiError::invalid_field(
            "id",
            format!("the body's id `{body_id}` differs from the URL's `{path_id}`; they must be equal"),
        ));
    }
    Ok(())
}

async fn require_work(state: &ApiState, id: &str) -> Result<(), ApiError> {
    match state.store.get_work(id).await? {
        Some(_) => Ok(()),
        None => Err(ApiError::not_found("work", id)),
    }
}

/// List works, filtered, in id order.
#[utoipa::path(get, path = "/api/v1/works", tag = "works", params(WorkQuery),
    responses((status = 200, body = WorkPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn list_works(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<WorkQuery>,
) -> Result<Json<WorkPage>, ApiError> {
    let paging = Paging::new(q.limit, q.cursor)?;
    let filter = WorkFilter { kind: q.kind, title: q.title, eidr: q.eidr, parent: q.parent };
    let page = state.store.list_works(&filter, paging.cursor.as_deref(), paging.limit).await?;
    Ok(Json(WorkPage { items: page.items, next_cursor: page.next_cursor }))
}

/// Create a work (409 if the id exists: use PUT to replace).
#[utoipa::path(post, path = "/api/v1/works", tag = "works", request_body = WorkSchema,
    responses((status = 201, body = WorkSchema), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create_work(State(state): State<ApiState>, ApiJson(work): ApiJson<Work>) -> Result<Response, ApiError> {
    check_id("id", &work.id)?;
    state.store.insert_work(&work).await?;
    let url = format!("/api/v1/works/{}", segment(&work.id));
    Ok((StatusCode::CREATED, location(url), Json(work)).into_response())
}

/// One work.
#[utoipa::path(get, path = "/api/v1/works/{id}", tag = "works", params(("id" = String, Path, description = "Work id (percent-encoded)")),
    responses((status = 200, body = WorkSchema), (status = 404, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn get_work(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<Json<Work>, ApiError> {
    state.store.get_work(&id).await?.map(Json).ok_or_else(|| ApiError::not_found("work", &id))
}

/// Create or replace a work (201 when created, 200 when replaced or unchanged).
#[utoipa::path(put, path = "/api/v1/works/{id}", tag = "works", request_body = WorkSchema,
    params(("id" = String, Path, description = "Work id (percent-encoded)")),
    responses((status = 200, body = WorkSchema), (status = 201, body = WorkSchema), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_work(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(work): ApiJson<Work>,
) -> Result<Response, ApiError> {
    same_id(&id, &work.id)?;
    let written = state.store.put_work(&work).await?;
    Ok((written_status(written), Json(work)).into_response())
}

/// Delete a work with its versions and rights windows.
#[utoipa::path(delete, path = "/api/v1/works/{id}", tag = "works", params(("id" = String, Path, description = "Work id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_work(State(state): State<ApiState>, ApiPath(id): ApiPath<String>) -> Result<StatusCode, ApiError> {
    if state.store.delete_work(&id).await? { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("work", &id)) }
}

/// Versions of a work.
#[utoipa::path(get, path = "/api/v1/works/{id}/versions", tag = "works", params(("id" = String, Path, description = "Work id")),
    responses((status = 200, body = VersionList), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_versions(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<VersionList>, ApiError> {
    require_work(&state, &id).await?;
    Ok(Json(VersionList { items: state.store.list_versions(&id).await? }))
}

/// Add a version to a work (`work_id` may be left out of the body).
#[utoipa::path(post, path = "/api/v1/works/{id}/versions", tag = "works", request_body = VersionSchema,
    params(("id" = String, Path, description = "Work id")),
    responses((status = 201, body = VersionSchema), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_version(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let version: Version = decode_value(with_work_id(body, &id)?)?;
    check_id("id", &version.id)?;
    require_work(&state, &id).await?;
    state.store.insert_version(&version).await?;
    let url = format!("/api/v1/works/{}/versions/{}", segment(&id), segment(&version.id));
    Ok((StatusCode::CREATED, location(url), Json(version)).into_response())
}

/// One version of a work.
#[utoipa::path(get, path = "/api/v1/works/{id}/versions/{version_id}", tag = "works",
    params(("id" = String, Path, description = "Work id"), ("version_id" = String, Path, description = "Version id")),
    responses((status = 200, body = VersionSchema), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_version(
    State(state): State<ApiState>,
    ApiPath((id, version_id)): ApiPath<(String, String)>,
) -> Result<Json<Version>, ApiError> {
    state
        .store
        .get_version(&id, &version_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("version", &version_id))
}

/// Create or replace a version of a work.
#[utoipa::path(put, path = "/api/v1/works/{id}/versions/{version_id}", tag = "works", request_body = VersionSchema,
    params(("id" = String, Path, description = "Work id"), ("version_id" = String, Path, description = "Version id")),
    responses((status = 200, body = VersionSchema), (status = 201, body = VersionSchema), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn put_version(
    State(state): State<ApiState>,
    ApiPath((id, version_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let version: Version = decode_value(with_work_id(body, &id)?)?;
    same_id(&version_id, &version.id)?;
    require_work(&state, &id).await?;
    let written = state.store.put_version(&version).await?;
    Ok((written_status(written), Json(version)).into_response())
}

/// Delete a version.
#[utoipa::path(delete, path = "/api/v1/works/{id}/versions/{version_id}", tag = "works",
    params(("id" = String, Path, description = "Work id"), ("version_id" = String, Path, description = "Version id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_version(
    State(state): State<ApiState>,
    ApiPath((id, version_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_version(&id, &version_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("version", &version_id))
    }
}

/// Rights windows of a work.
#[utoipa::path(get, path = "/api/v1/works/{id}/rights", tag = "works", params(("id" = String, Path, description = "Work id")),
    responses((status = 200, body = RightsList), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_rights(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<RightsList>, ApiError> {
    require_work(&state, &id).await?;
    Ok(Json(RightsList { items: state.store.list_rights(&id).await? }))
}

/// Add a rights window to a work (`work_id` may be left out of the body).
#[utoipa::path(post, path = "/api/v1/works/{id}/rights", tag = "works", request_body = RightsWindowSchema,
    params(("id" = String, Path, description = "Work id")),
    responses((status = 201, body = RightsWindowSchema), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn create_rights(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let window: RightsWindow = decode_value(with_work_id(body, &id)?)?;
    check_window(&window)?;
    require_work(&state, &id).await?;
    state.store.insert_rights(&window).await?;
    let url = format!("/api/v1/works/{}/rights/{}", segment(&id), segment(&window.id));
    Ok((StatusCode::CREATED, location(url), Json(window)).into_response())
}

/// One rights window.
#[utoipa::path(get, path = "/api/v1/works/{id}/rights/{rights_id}", tag = "works",
    params(("id" = String, Path, description = "Work id"), ("rights_id" = String, Path, description = "Rights window id")),
    responses((status = 200, body = RightsWindowSchema), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_rights(
    State(state): State<ApiState>,
    ApiPath((id, rights_id)): ApiPath<(String, String)>,
) -> Result<Json<RightsWindow>, ApiError> {
    state
        .store
        .get_rights(&id, &rights_id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("rights window", &rights_id))
}

/// Create or replace a rights window.
#[utoipa::path(put, path = "/api/v1/works/{id}/rights/{rights_id}", tag = "works", request_body = RightsWindowSchema,
    params(("id" = String, Path, description = "Work id"), ("rights_id" = String, Path, description = "Rights window id")),
    responses((status = 200, body = RightsWindowSchema), (status = 201, body = RightsWindowSchema), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn put_rights(
    State(state): State<ApiState>,
    ApiPath((id, rights_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let window: RightsWindow = decode_value(with_work_id(body, &id)?)?;
    same_id(&rights_id, &window.id)?;
    check_window(&window)?;
    require_work(&state, &id).await?;
    let written = state.store.put_rights(&window).await?;
    Ok((written_status(written), Json(window)).into_response())
}

/// Delete a rights window.
#[utoipa::path(delete, path = "/api/v1/works/{id}/rights/{rights_id}", tag = "works",
    params(("id" = String, Path, description = "Work id"), ("rights_id" = String, Path, description = "Rights window id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_rights(
    State(state): State<ApiState>,
    ApiPath((id, rights_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_rights(&id, &rights_id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("rights window", &rights_id))
    }
}

/// Ids are keys in URLs and in dataset ids: refuse the empty and absurdly long ones.
fn check_id(field: &str, id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() {
        return Err(ApiError::invalid_field(field, format!("{field} must not be empty")));
    }
    if id.len() > 512 {
        return Err(ApiError::invalid_field(field, format!("{field} is longer than 512 bytes")));
    }
    if id.chars().any(char::is_control) {
        return Err(ApiError::invalid_field(field, format!("{field} must not contain control characters")));
    }
    Ok(())
}

/// What serde cannot say about a window: it needs a license type and a territory, and a start before its end.
fn check_window(w: &RightsWindow) -> Result<(), ApiError> {
    check_id("id", &w.id)?;
    if w.license_type.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "license_type",
            "license_type must name an Avails license type, e.g. SVOD",
        ));
    }
    if w.territories.is_empty() {
        return Err(ApiError::invalid_field("territories", "territories must list at least one ISO 3166-1 code"));
    }
    if let (Some(start), Some(end)) = (w.start, w.end)
        && start >= end
    {
        return Err(ApiError::invalid_field("end", "end must be after start"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_id_is_filled_or_checked() {
        let v = with_work_id(serde_json::json!({"id": "v"}), "w").unwrap();
        assert_eq!(v["work_id"], "w");
        assert!(with_work_id(serde_json::json!({"id": "v", "work_id": "w"}), "w").is_ok());
        let e = with_work_id(serde_json::json!({"id": "v", "work_id": "x"}), "w").unwrap_err();
        assert_eq!(e.body.field.as_deref(), Some("work_id"));
        assert!(with_work_id(serde_json::json!([1]), "w").is_err());
    }

    #[test]
    fn location_segments_are_percent_encoded() {
        assert_eq!(segment("10.5240/AD07"), "10.5240%2FAD07");
        assert_eq!(segment("a b"), "a%20b");
    }
}
