//! The log of import runs: one row per imported file with its full report.

use serde::Serialize;
use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;

use super::{Page, Store, StoreError, db, format_time, from_doc, page_from, parse_time, to_doc};

/// One imported file, as logged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportRunRecord {
    pub id: i64,
    pub file: String,
    pub format: Option<String>,
    /// `imported`, `partial` (some records rejected) or `failed` (nothing imported).
    pub outcome: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// The per-file report (counts and every rejection).
    pub report: Value,
}

impl Store {
    /// Logs a run and returns its id.
    pub async fn record_import_run(
        &self,
        file: &str,
        format: Option<&str>,
        outcome: &str,
        started_at: OffsetDateTime,
        finished_at: OffsetDateTime,
        report: &Value,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO import_runs (file, format, outcome, started_at, finished_at, report) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(file)
        .bind(format)
        .bind(outcome)
        .bind(format_time(started_at))
        .bind(format_time(finished_at))
        .bind(to_doc("import run", file, report)?)
        .fetch_one(&self.pool)
        .await
        .map_err(db("logging an import run"))?;
        Ok(id)
    }

    /// Runs, newest first; `cursor` is the id of the last run of the previous page.
    pub async fn list_import_runs(
        &self,
        cursor: Option<i64>,
        limit: usize,
    ) -> Result<Page<ImportRunRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, file, format, outcome, started_at, finished_at, report FROM import_runs \
             WHERE (?1 IS NULL OR id < ?1) ORDER BY id DESC LIMIT ?2",
        )
        .bind(cursor)
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing import runs"))?;
        let ctx = "listing import runs";
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let id: i64 = row.try_get("id").map_err(db(ctx))?;
            let key = id.to_string();
            let started: String = row.try_get("started_at").map_err(db(ctx))?;
            let finished: String = row.try_get("finished_at").map_err(db(ctx))?;
            let report: String = row.try_get("report").map_err(db(ctx))?;
            items.push(ImportRunRecord {
                id,
                file: row.try_get("file").map_err(db(ctx))?,
                format: row.try_get("format").map_err(db(ctx))?,
                outcome: row.try_get("outcome").map_err(db(ctx))?,
                started_at: parse_time("import run", &key, &started)?,
                finished_at: parse_time("import run", &key, &finished)?,
                report: from_doc("import run", &key, &report)?,
            });
        }
        Ok(page_from(items, limit, |r| r.id.to_string()))
    }
}
