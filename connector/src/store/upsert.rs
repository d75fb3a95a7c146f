//! Multi-row upserts: one statement per chunk of rows rather than one per row,
//! which is what makes importing 100,000 works a matter of seconds.
//!
//! Every media table has the same shape: `id`, indexed columns, `doc` (the JSON
//! document), `revision`, `created_at`, `updated_at`. An identical `doc` leaves
//! the row alone; a different one replaces it and bumps `revision`. `RETURNING
//! revision` tells inserted rows (1) from updated ones (>1); rows not returned
//! were unchanged.

use std::fmt::Write;

use sqlx::{AssertSqlSafe, SqliteConnection};

use super::{Counts, StoreError, db};

/// Rows per statement: 100 rows of at most 8 columns stay far below SQLite's 32,766 parameters.
const CHUNK_ROWS: usize = 100;

/// One bound value.
pub(super) enum Cell {
    Text(Option<String>),
    Int(Option<i64>),
}

/// A media table: `columns` start with `id`; `doc` is among them.
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
}

fn statement(table: &Table, rows: usize) -> String {
    let n = table.columns.len();
    let mut values = String::with_capacity(rows * (n * 6 + 16));
    for r in 0..rows {
        values.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..n {
            // ?1 is the shared timestamp; row r's cells follow.
            let _ = write!(values, "?{}, ", 2 + r * n + c);
        }
        values.push_str("1, ?1, ?1)");
    }
    let updates: Vec<String> = table.columns[1..].iter().map(|c| format!("{c} = excluded.{c}")).collect();
    format!(
        "INSERT INTO {t} ({cols}, revision, created_at, updated_at) VALUES {values} \
         ON CONFLICT (id) DO UPDATE SET {updates}, revision = {t}.revision + 1, updated_at = excluded.updated_at \
         WHERE {t}.doc IS NOT excluded.doc RETURNING revision",
        t = table.name,
        cols = table.columns.join(", "),
        updates = updates.join(", "),
    )
}

/// Upserts `rows` (each with one cell per column, in order) on `conn` (the caller's transaction).
pub(super) async fn upsert(
    conn: &mut SqliteConnection,
    table: &Table,
    rows: Vec<Vec<Cell>>,
    now: &str,
    context: &'static str,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Cell>> = rows.by_ref().take(CHUNK_ROWS).collect();
        // The text is built only from the static table description and row counts, never from data.
        let mut query =
            sqlx::query_scalar::<_, i64>(AssertSqlSafe(statement(table, chunk.len()))).bind(now.to_string());
        let len = chunk.len();
        for cell in chunk.into_iter().flatten() {
            query = match cell {
                Cell::Text(v) => query.bind(v),
                Cell::Int(v) => query.bind(v),
            };
        }
        let revisions = query.fetch_all(&mut *conn).await.map_err(db(context))?;
        let inserted = revisions.iter().filter(|r| **r == 1).count();
        counts.inserted += inserted;
        counts.updated += revisions.len() - inserted;
        counts.unchanged += len.saturating_sub(revisions.len());
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_number_parameters_per_row() {
        let t = Table { name: "versions", columns: &["id", "work_id", "doc"] };
        let sql = statement(&t, 2);
        assert!(sql.contains("VALUES (?2, ?3, ?4, 1, ?1, ?1), (?5, ?6, ?7, 1, ?1, ?1)"), "{sql}");
        assert!(sql.contains("SET work_id = excluded.work_id, doc = excluded.doc, revision = versions.revision + 1"));
        assert!(sql.ends_with("RETURNING revision"));
    }
}
