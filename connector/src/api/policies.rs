//! `/api/v1/policies` (ODRL documents) and `/api/v1/offer-definitions`.
//!
//! A policy is validated with `passerelle_policy::Policy::from_json` before it is
//! stored, so an unknown operand or a malformed right operand is refused at
//! definition time with the JSON path of the member at fault, and stored in the
//! normalised form the policy crate writes.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use passerelle_policy::Policy;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::paging::Paging;
use crate::catalog::ids::collection_dataset_id;
use crate::offers::{OfferDefinition, Selector, check_definition_id};
use crate::store::{StoredOfferDefinition, StoredPolicy, Written};

/// Paging query of the policy and offer-definition lists.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A stored policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyResource {
    pub id: String,
    /// The ODRL policy in DSP 2025-1 compact JSON-LD form.
    pub policy: Value,
    /// The policy in plain English.
    pub description: String,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A page of policies.
#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyPage {
    pub items: Vec<PolicyResource>,
    pub next_cursor: Option<String>,
}

/// An offer definition as written by a client.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)] // documents the request body; the handlers decode `OfferDefinition`
pub struct OfferDefinitionInput {
    /// Letters, digits, `-`, `_`, `.`; 1 to 128 characters.
    id: String,
    title: String,
    description: Option<String>,
    /// Which works are offered; all criteria must hold, any value of a list may match. Empty = all works.
    #[schema(inline)]
    selector: Option<SelectorSchema>,
    /// Id of a stored policy.
    policy_id: String,
}

/// Selector of an offer definition.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct SelectorSchema {
    work_ids: Option<Vec<String>>,
    /// `movie`, `series`, `season`, `episode`, `short`, `supplemental`, `promotion`, `other`.
    kinds: Option<Vec<String>>,
    genres: Option<Vec<String>>,
    /// BCP 47 ranges (`es` covers `es-419`).
    original_languages: Option<Vec<String>>,
    /// Avails license types; must hold for the same window as `territories`.
    license_types: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes.
    territories: Option<Vec<String>>,
}

/// A stored offer definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferDefinitionResource {
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[schema(value_type = SelectorSchema)]
    pub selector: Selector,
    pub policy_id: String,
    /// Id of the collection dataset this definition publishes in the catalog.
    pub dataset_id: String,
    /// The selector in plain English.
    pub selects: String,
    pub revision: i64,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: OffsetDateTime,
}

/// A page of offer definitions.
#[derive(Debug, Serialize, ToSchema)]
pub struct OfferDefinitionPage {
    pub items: Vec<OfferDefinitionResource>,
    pub next_cursor: Option<String>,
}

fn policy_resource(stored: StoredPolicy) -> PolicyResource {
    let description = match Policy::from_json(&stored.document) {
        Ok(p) => passerelle_policy::describe(&p),
        Err(e) => format!("(no longer valid: {e})"),
    };
    PolicyResource {
        id: stored.id,
        policy: stored.document,
        description,
        revision: stored.revision,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

fn definition_resource(stored: StoredOfferDefinition) -> OfferDefinitionResource {
    let d = stored.definition;
    OfferDefinitionResource {
        dataset_id: collection_dataset_id(&d.id),
        selects: d.selector.describe(),
        id: d.id,
        title: d.title,
        description: d.description,
        selector: d.selector,
        policy_id: d.policy_id,
        revision: stored.revision,
        created_at: stored.created_at,
        updated_at: stored.updated_at,
    }
}

/// Validates an ODRL document: the error names the member at fault.
fn validate_policy(document: &Value) -> Result<Policy, ApiError> {
    Policy::from_json(document).map_err(|e| {
        let field = e.path.clone();
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_policy", format!("the policy is not acceptable: {e}"))
            .with_field(if field == "$" { String::new() } else { field })
    })
}

fn policy_url(id: &str) -> String {
    format!("/api/v1/policies/{}", super::percent_segment(id))
}

/// List policies in id order.
#[utoipa::path(get, path = "/api/v1/policies", tag = "policies", params(ListQuery),
    responses((status = 200, body = PolicyPage), (status = 400, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_policies(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PolicyPage>, ApiError> {
    let paging = Paging::new(q.limit, q.cursor)?;
    let page = state.store.list_policies(paging.cursor.as_deref(), paging.limit).await?;
    Ok(Json(PolicyPage { items: page.items.into_iter().map(policy_resource).collect(), next_cursor: page.next_cursor }))
}

/// Store a new ODRL policy (its `@id` names it; 409 if taken).
#[utoipa::path(post, path = "/api/v1/policies", tag = "policies",
    request_body(content = Value, description = "An ODRL policy (Offer or Set) in DSP 2025-1 compact JSON-LD form"),
    responses((status = 201, body = PolicyResource), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create_policy(
    State(state): State<ApiState>,
    ApiJson(document): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let policy = validate_policy(&document)?;
    let id = policy.id().to_string();
    check_policy_id(&id)?;
    state.store.insert_policy(&id, &policy.to_json()).await?;
    let stored = state.store.get_policy(&id).await?.ok_or_else(|| ApiError::not_found("policy", &id))?;
    Ok((StatusCode::CREATED, [(LOCATION, policy_url(&id))], Json(policy_resource(stored))).into_response())
}

/// One policy.
#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path, description = "Policy @id")),
    responses((status = 200, body = PolicyResource), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_policy(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PolicyResource>, ApiError> {
    let stored = state.store.get_policy(&id).await?.ok_or_else(|| ApiError::not_found("policy", &id))?;
    Ok(Json(policy_resource(stored)))
}

/// Create or replace a policy; its `@id` must equal the URL's id.
#[utoipa::path(put, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path, description = "Policy @id")),
    request_body(content = Value, description = "An ODRL policy in DSP 2025-1 compact JSON-LD form"),
    responses((status = 200, body = PolicyResource), (status = 201, body = PolicyResource), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_policy(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(document): ApiJson<Value>,
) -> Result<Response, ApiError> {
    let policy = validate_policy(&document)?;
    if policy.id() != id {
        return Err(ApiError::invalid_field(
            "@id",
            format!("the policy's @id `{}` differs from the URL's `{id}`; they must be equal", policy.id()),
        ));
    }
    let written = state.store.put_policy(&id, &policy.to_json()).await?;
    let stored = state.store.get_policy(&id).await?.ok_or_else(|| ApiError::not_found("policy", &id))?;
    let status = if written == Written::Inserted { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(policy_resource(stored))).into_response())
}

/// Delete a policy (409 while an offer definition uses it).
#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "policies", params(("id" = String, Path, description = "Policy @id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_policy(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_policy(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("policy", &id))
    }
}

fn check_policy_id(id: &str) -> Result<(), ApiError> {
    if id.trim().is_empty() || id.len() > 512 || id.chars().any(char::is_control) {
        return Err(ApiError::invalid_field("@id", "@id must be 1 to 512 printable characters, e.g. urn:uuid:…"));
    }
    Ok(())
}

fn check_definition(def: &OfferDefinition) -> Result<(), ApiError> {
    check_definition_id(&def.id).map_err(|e| ApiError::invalid_field("id", e.to_string()))?;
    if def.title.trim().is_empty() {
        return Err(ApiError::invalid_field(
            "title",
            "title must not be empty: it is the collection's title in the catalog",
        ));
    }
    Ok(())
}

/// List offer definitions in id order.
#[utoipa::path(get, path = "/api/v1/offer-definitions", tag = "offer definitions", params(ListQuery),
    responses((status = 200, body = OfferDefinitionPage), (status = 400, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_definitions(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<OfferDefinitionPage>, ApiError> {
    let paging = Paging::new(q.limit, q.cursor)?;
    let page = state.store.list_offer_definitions(paging.cursor.as_deref(), paging.limit).await?;
    Ok(Json(OfferDefinitionPage {
        items: page.items.into_iter().map(definition_resource).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Create an offer definition (a selector over works + a stored policy).
#[utoipa::path(post, path = "/api/v1/offer-definitions", tag = "offer definitions", request_body = OfferDefinitionInput,
    responses((status = 201, body = OfferDefinitionResource), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn create_definition(
    State(state): State<ApiState>,
    ApiJson(def): ApiJson<OfferDefinition>,
) -> Result<Response, ApiError> {
    check_definition(&def)?;
    state.store.insert_offer_definition(&def).await?;
    let stored = state
        .store
        .get_offer_definition(&def.id)
        .await?
        .ok_or_else(|| ApiError::not_found("offer definition", &def.id))?;
    let url = format!("/api/v1/offer-definitions/{}", def.id);
    Ok((StatusCode::CREATED, [(LOCATION, url)], Json(definition_resource(stored))).into_response())
}

/// One offer definition.
#[utoipa::path(get, path = "/api/v1/offer-definitions/{id}", tag = "offer definitions",
    params(("id" = String, Path, description = "Offer definition id")),
    responses((status = 200, body = OfferDefinitionResource), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn get_definition(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<OfferDefinitionResource>, ApiError> {
    let stored =
        state.store.get_offer_definition(&id).await?.ok_or_else(|| ApiError::not_found("offer definition", &id))?;
    Ok(Json(definition_resource(stored)))
}

/// Create or replace an offer definition; the body's id must equal the URL's.
#[utoipa::path(put, path = "/api/v1/offer-definitions/{id}", tag = "offer definitions", request_body = OfferDefinitionInput,
    params(("id" = String, Path, description = "Offer definition id")),
    responses((status = 200, body = OfferDefinitionResource), (status = 201, body = OfferDefinitionResource), (status = 422, body = ErrorBody)),
    security(("api_key" = []), ("bearer" = [])))]
pub async fn put_definition(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(def): ApiJson<OfferDefinition>,
) -> Result<Response, ApiError> {
    if def.id != id {
        return Err(ApiError::invalid_field("id", format!("the body's id `{}` differs from the URL's `{id}`", def.id)));
    }
    check_definition(&def)?;
    let written = state.store.put_offer_definition(&def).await?;
    let stored =
        state.store.get_offer_definition(&id).await?.ok_or_else(|| ApiError::not_found("offer definition", &id))?;
    let status = if written == Written::Inserted { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(definition_resource(stored))).into_response())
}

/// Delete an offer definition (its collection and offers leave the catalog).
#[utoipa::path(delete, path = "/api/v1/offer-definitions/{id}", tag = "offer definitions",
    params(("id" = String, Path, description = "Offer definition id")),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn delete_definition(
    State(state): State<ApiState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    if state.store.delete_offer_definition(&id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("offer definition", &id))
    }
}
