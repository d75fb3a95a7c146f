//! `/api/v1/imports`: the log of imported files, newest first.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::ApiQuery;
use super::paging::Paging;
use crate::store::ImportRunRecord;

/// Paging query of the import log.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One imported file.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRun {
    pub id: i64,
    pub file: String,
    pub format: Option<String>,
    /// `imported`, `partial` or `failed`.
    pub outcome: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: String,
    #[schema(value_type = String, format = DateTime)]
    pub finished_at: String,
    /// Counts and every rejection with file, location and reason.
    pub report: Value,
}

/// A page of the import log.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportPage {
    pub items: Vec<ImportRun>,
    pub next_cursor: Option<String>,
}

fn run(r: ImportRunRecord) -> ImportRun {
    let fmt = |t: time::OffsetDateTime| t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default();
    ImportRun {
        id: r.id,
        file: r.file,
        format: r.format,
        outcome: r.outcome,
        started_at: fmt(r.started_at),
        finished_at: fmt(r.finished_at),
        report: r.report,
    }
}

/// The import log, newest first.
#[utoipa::path(get, path = "/api/v1/imports", tag = "imports", params(ImportQuery),
    responses((status = 200, body = ImportPage), (status = 400, body = ErrorBody)), security(("api_key" = []), ("bearer" = [])))]
pub async fn list_imports(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<ImportQuery>,
) -> Result<Json<ImportPage>, ApiError> {
    let paging = Paging::new(q.limit, q.cursor)?;
    let cursor = match paging.cursor.as_deref() {
        None => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| {
            ApiError::invalid_query("cursor", format!("`{c}` is not a cursor of this list; pass next_cursor as given"))
        })?),
    };
    let page = state.store.list_import_runs(cursor, paging.limit).await?;
    Ok(Json(ImportPage { items: page.items.into_iter().map(run).collect(), next_cursor: page.next_cursor }))
}
