//! Works, versions and rights windows.

use passerelle_media::{Eidr, RightsWindow, Version, Work, WorkKind};
use sqlx::{AssertSqlSafe, Row, Sqlite, SqliteConnection, Transaction};
use time::OffsetDateTime;

use super::direct::{self, Columns, Db};
use super::upsert::{Cell, Table, upsert};
use super::{
    BatchCounts, Counts, Page, Store, StoreError, Written, db, from_doc, now_text, page_from, parse_time, to_doc,
};

/// Filters of the work list (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct WorkFilter {
    pub kind: Option<WorkKind>,
    /// Case-insensitive substring of the display title.
    pub title: Option<String>,
    pub eidr: Option<Eidr>,
    /// Children of this work (episodes of a season…).
    pub parent: Option<String>,
}

/// A work with everything attached to it, as the catalog needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct WorkRecord {
    pub work: Work,
    pub versions: Vec<Version>,
    pub rights: Vec<RightsWindow>,
    /// Latest change to the work, one of its versions or windows.
    pub modified: OffsetDateTime,
}

const WORKS: Table =
    Table { name: "works", columns: &["id", "kind", "title", "eidr", "isan", "release_year", "parent_id", "doc"] };
const VERSIONS: Table = Table { name: "versions", columns: &["id", "work_id", "kind", "eidr", "doc"] };
const RIGHTS: Table = Table {
    name: "rights_windows",
    columns: &["id", "work_id", "license_type", "territories", "start_at", "end_at", "doc"],
};

fn text(s: &str) -> Cell {
    Cell::Text(Some(s.to_string()))
}

fn work_row(work: &Work) -> Result<Vec<Cell>, StoreError> {
    Ok(vec![
        text(&work.id),
        text(work.kind.as_str()),
        text(&work.title),
        Cell::Text(work.eidr.as_ref().map(|e| e.to_string())),
        Cell::Text(work.isan.as_ref().map(|i| i.to_string())),
        Cell::Int(work.release_year.map(i64::from)),
        Cell::Text(work.parent.clone()),
        Cell::Text(Some(to_doc("work", &work.id, work)?)),
    ])
}

fn version_kind(v: &Version) -> &'static str {
    match v.kind {
        passerelle_media::VersionKind::Edit => "edit",
        passerelle_media::VersionKind::Manifestation => "manifestation",
    }
}

fn version_row(version: &Version) -> Result<Vec<Cell>, StoreError> {
    Ok(vec![
        text(&version.id),
        text(&version.work_id),
        text(version_kind(version)),
        Cell::Text(version.eidr.as_ref().map(|e| e.to_string())),
        Cell::Text(Some(to_doc("version", &version.id, version)?)),
    ])
}

fn territory_column(w: &RightsWindow) -> String {
    let mut s = String::from(" ");
    for t in &w.territories {
        s.push_str(t.as_str());
        s.push(' ');
    }
    s
}

fn rights_row(window: &RightsWindow) -> Result<Vec<Cell>, StoreError> {
    Ok(vec![
        text(&window.id),
        text(&window.work_id),
        text(&window.license_type),
        Cell::Text(Some(territory_column(window))),
        Cell::Text(window.start.map(super::format_time)),
        Cell::Text(window.end.map(super::format_time)),
        Cell::Text(Some(to_doc("rights window", &window.id, window)?)),
    ])
}

fn rows<T>(items: &[T], row: impl Fn(&T) -> Result<Vec<Cell>, StoreError>) -> Result<Vec<Vec<Cell>>, StoreError> {
    items.iter().map(row).collect()
}

/// What a one-row upsert did.
fn single(c: Counts) -> Written {
    if c.inserted > 0 {
        Written::Inserted
    } else if c.updated > 0 {
        Written::Updated
    } else {
        Written::Unchanged
    }
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Store {
    /// Upserts works, versions and windows in ONE transaction: all or nothing.
    pub async fn import_batch(
        &self,
        works: &[Work],
        versions: &[Version],
        rights: &[RightsWindow],
    ) -> Result<BatchCounts, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting an import transaction"))?;
        let now = now_text();
        let counts = BatchCounts {
            works: upsert(&mut tx, &WORKS, rows(works, work_row)?, &now, "writing works").await?,
            versions: upsert(&mut tx, &VERSIONS, rows(versions, version_row)?, &now, "writing versions").await?,
            rights: upsert(&mut tx, &RIGHTS, rows(rights, rights_row)?, &now, "writing rights windows").await?,
        };
        tx.commit().await.map_err(db("committing an import"))?;
        Ok(counts)
    }

    /// Creates a work; [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_work(&self, work: &Work) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        if exists(&mut tx, "SELECT 1 FROM works WHERE id = ?1", &work.id).await? {
            return Err(StoreError::Conflict { kind: "work", id: work.id.clone() });
        }
        upsert(&mut tx, &WORKS, vec![work_row(work)?], &now_text(), "writing a work").await?;
        tx.commit().await.map_err(db("committing a work"))
    }

    /// Creates or replaces a work.
    pub async fn put_work(&self, work: &Work) -> Result<Written, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        let w = single(upsert(&mut tx, &WORKS, vec![work_row(work)?], &now_text(), "writing a work").await?);
        tx.commit().await.map_err(db("committing a work"))?;
        Ok(w)
    }

    pub async fn get_work(&self, id: &str) -> Result<Option<Work>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM works WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a work"))?;
        doc.map(|d| from_doc("work", id, &d)).transpose()
    }

    pub async fn count_works(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM works")
            .fetch_one(&self.pool)
            .await
            .map_err(db("counting works"))?;
        Ok(n.max(0) as u64)
    }

    /// Works in id order after `cursor` (a work id), filtered.
    pub async fn list_works(
        &self,
        filter: &WorkFilter,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<Work>, StoreError> {
        // Only the conditions in use go into the statement, so SQLite can walk the id index
        // from the cursor instead of testing every row. The text comes from fixed fragments only.
        let mut conditions: Vec<&str> = Vec::new();
        let mut values: Vec<String> = Vec::new();
        let mut add = |condition: &'static str, value: Option<String>| {
            if let Some(v) = value {
                conditions.push(condition);
                values.push(v);
            }
        };
        add("id > ?", cursor.map(str::to_string));
        add("kind = ?", filter.kind.map(|k| k.as_str().to_string()));
        add("title LIKE ? ESCAPE '\\'", filter.title.as_deref().map(|t| format!("%{}%", escape_like(t))));
        add("eidr = ?", filter.eidr.as_ref().map(|e| e.to_string()));
        add("parent_id = ?", filter.parent.clone());
        let mut sql = String::from("SELECT id, doc FROM works");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY id LIMIT ?");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for v in values {
            query = query.bind(v);
        }
        let rows = query.bind((limit + 1) as i64).fetch_all(&self.pool).await.map_err(db("listing works"))?;
        let mut works = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(db("listing works"))?;
            let doc: String = row.try_get("doc").map_err(db("listing works"))?;
            works.push(from_doc::<Work>("work", &id, &doc)?);
        }
        Ok(page_from(works, limit, |w| w.id.clone()))
    }

    /// Deletes a work with its versions and rights windows. False when it did not exist.
    pub async fn delete_work(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        sqlx::query("DELETE FROM versions WHERE work_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("deleting versions"))?;
        sqlx::query("DELETE FROM rights_windows WHERE work_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("deleting rights windows"))?;
        let done = sqlx::query("DELETE FROM works WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(db("deleting a work"))?;
        tx.commit().await.map_err(db("committing a deletion"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates or replaces a version (its work must exist: checked by the caller's API layer).
    pub async fn put_version(&self, version: &Version) -> Result<Written, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        let w =
            single(upsert(&mut tx, &VERSIONS, vec![version_row(version)?], &now_text(), "writing a version").await?);
        tx.commit().await.map_err(db("committing a version"))?;
        Ok(w)
    }

    /// The Version whose EIDR edit id (or, without one, whose ISAN) is given, in the caller's transaction.
    pub(crate) async fn version_by_identifier_in(
        conn: &mut SqliteConnection,
        eidr: Option<&str>,
        isan: Option<&str>,
    ) -> Result<Option<Version>, StoreError> {
        let row: Option<(String, String)> = match (eidr, isan) {
            (Some(eidr), _) => sqlx::query_as("SELECT id, doc FROM versions WHERE eidr = ?1 ORDER BY id LIMIT 1")
                .bind(eidr)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db("reading a version"))?,
            (None, Some(isan)) => sqlx::query_as(
                "SELECT id, doc FROM versions WHERE json_extract(doc, '$.isan') = ?1 ORDER BY id LIMIT 1",
            )
            .bind(isan)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db("reading a version"))?,
            (None, None) => None,
        };
        row.map(|(id, doc)| from_doc("version", &id, &doc)).transpose()
    }

    /// Creates or replaces a version in the caller's transaction (another module's change that must commit with
    /// it, e.g. an accepted subtitle delivery); the revision grows only on a real change, as for imports.
    pub(crate) async fn put_version_in(conn: &mut SqliteConnection, version: &Version) -> Result<Written, StoreError> {
        Ok(single(upsert(conn, &VERSIONS, vec![version_row(version)?], &now_text(), "writing a version").await?))
    }

    /// Creates a version; [`StoreError::Conflict`] if the id is taken (under any work).
    pub async fn insert_version(&self, version: &Version) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        if exists(&mut tx, "SELECT 1 FROM versions WHERE id = ?1", &version.id).await? {
            return Err(StoreError::Conflict { kind: "version", id: version.id.clone() });
        }
        upsert(&mut tx, &VERSIONS, vec![version_row(version)?], &now_text(), "writing a version").await?;
        tx.commit().await.map_err(db("committing a version"))
    }

    /// The version `id` if it belongs to `work_id`.
    pub async fn get_version(&self, work_id: &str, id: &str) -> Result<Option<Version>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM versions WHERE id = ?1 AND work_id = ?2")
            .bind(id)
            .bind(work_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a version"))?;
        doc.map(|d| from_doc("version", id, &d)).transpose()
    }

    pub async fn list_versions(&self, work_id: &str) -> Result<Vec<Version>, StoreError> {
        let rows = sqlx::query("SELECT id, doc FROM versions WHERE work_id = ?1 ORDER BY id")
            .bind(work_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db("listing versions"))?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(db("listing versions"))?;
                let doc: String = row.try_get("doc").map_err(db("listing versions"))?;
                from_doc("version", &id, &doc)
            })
            .collect()
    }

    pub async fn delete_version(&self, work_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM versions WHERE id = ?1 AND work_id = ?2")
            .bind(id)
            .bind(work_id)
            .execute(&self.pool)
            .await
            .map_err(db("deleting a version"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn put_rights(&self, window: &RightsWindow) -> Result<Written, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        let w =
            single(upsert(&mut tx, &RIGHTS, vec![rights_row(window)?], &now_text(), "writing a rights window").await?);
        tx.commit().await.map_err(db("committing a rights window"))?;
        Ok(w)
    }

    /// Creates a rights window; [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_rights(&self, window: &RightsWindow) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(db("starting a transaction"))?;
        if exists(&mut tx, "SELECT 1 FROM rights_windows WHERE id = ?1", &window.id).await? {
            return Err(StoreError::Conflict { kind: "rights window", id: window.id.clone() });
        }
        upsert(&mut tx, &RIGHTS, vec![rights_row(window)?], &now_text(), "writing a rights window").await?;
        tx.commit().await.map_err(db("committing a rights window"))
    }

    pub async fn get_rights(&self, work_id: &str, id: &str) -> Result<Option<RightsWindow>, StoreError> {
        let doc: Option<String> = sqlx::query_scalar("SELECT doc FROM rights_windows WHERE id = ?1 AND work_id = ?2")
            .bind(id)
            .bind(work_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a rights window"))?;
        doc.map(|d| from_doc("rights window", id, &d)).transpose()
    }

    pub async fn list_rights(&self, work_id: &str) -> Result<Vec<RightsWindow>, StoreError> {
        let rows = sqlx::query("SELECT id, doc FROM rights_windows WHERE work_id = ?1 ORDER BY id")
            .bind(work_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db("listing rights windows"))?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id").map_err(db("listing rights windows"))?;
                let doc: String = row.try_get("doc").map_err(db("listing rights windows"))?;
                from_doc("rights window", &id, &doc)
            })
            .collect()
    }

    pub async fn delete_rights(&self, work_id: &str, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM rights_windows WHERE id = ?1 AND work_id = ?2")
            .bind(id)
            .bind(work_id)
            .execute(&self.pool)
            .await
            .map_err(db("deleting a rights window"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Up to `limit` works after the work id `after`, each with its versions and windows
    /// (three indexed queries whatever the page size).
    pub async fn work_records(&self, after: Option<&str>, limit: usize) -> Result<Vec<WorkRecord>, StoreError> {
        let query = match after {
            Some(_) => "SELECT id, doc, updated_at FROM works WHERE id > ?1 ORDER BY id LIMIT ?2",
            None => "SELECT id, doc, updated_at FROM works WHERE ?1 IS NULL ORDER BY id LIMIT ?2",
        };
        let rows = sqlx::query(query)
            .bind(after)
            .bind(limit as i64)
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading a catalog page"))?;
        let mut records = Vec::with_capacity(rows.len());
        for row in rows {
            let id: String = row.try_get("id").map_err(db("reading a catalog page"))?;
            let doc: String = row.try_get("doc").map_err(db("reading a catalog page"))?;
            let updated: String = row.try_get("updated_at").map_err(db("reading a catalog page"))?;
            records.push(WorkRecord {
                work: from_doc("work", &id, &doc)?,
                versions: Vec::new(),
                rights: Vec::new(),
                modified: parse_time("work", &id, &updated)?,
            });
        }
        self.attach(&mut records).await?;
        Ok(records)
    }

    /// One work with its versions and windows.
    pub async fn work_record(&self, id: &str) -> Result<Option<WorkRecord>, StoreError> {
        let row = sqlx::query("SELECT doc, updated_at FROM works WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a work"))?;
        let Some(row) = row else { return Ok(None) };
        let doc: String = row.try_get("doc").map_err(db("reading a work"))?;
        let updated: String = row.try_get("updated_at").map_err(db("reading a work"))?;
        let mut records = vec![WorkRecord {
            work: from_doc("work", id, &doc)?,
            versions: Vec::new(),
            rights: Vec::new(),
            modified: parse_time("work", id, &updated)?,
        }];
        self.attach(&mut records).await?;
        Ok(records.pop())
    }

    /// Loads the versions and windows of `records` with one query each (ids passed as a JSON array).
    async fn attach(&self, records: &mut [WorkRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = records.iter().map(|r| r.work.id.as_str()).collect();
        let ids_json = serde_json::to_string(&ids)
            .map_err(|e| StoreError::Database { context: "reading a catalog page", reason: e.to_string() })?;
        let index: std::collections::HashMap<String, usize> =
            records.iter().enumerate().map(|(i, r)| (r.work.id.clone(), i)).collect();

        let rows =
            sqlx::query(VERSIONS_OF).bind(&ids_json).fetch_all(&self.pool).await.map_err(db("reading versions"))?;
        for row in rows {
            attach_row(records, &index, &row, VERSION, |r| &mut r.versions)?;
        }
        let rows = sqlx::query(RIGHTS_WINDOWS_OF)
            .bind(&ids_json)
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading rights windows"))?;
        for row in rows {
            attach_row(records, &index, &row, WINDOW, |r| &mut r.rights)?;
        }
        Ok(())
    }
}

fn four_columns(row: &impl Columns, context: &'static str) -> Result<(String, String, String, String), StoreError> {
    let column = super::db(context);
    Ok((
        row.required_text("id").map_err(&column)?,
        row.required_text("work_id").map_err(&column)?,
        row.required_text("doc").map_err(&column)?,
        row.required_text("updated_at").map_err(&column)?,
    ))
}

const VERSIONS_OF: &str = "SELECT id, work_id, doc, updated_at FROM versions \
     WHERE work_id IN (SELECT value FROM json_each(?1)) ORDER BY work_id, id";
const RIGHTS_WINDOWS_OF: &str = "SELECT id, work_id, doc, updated_at FROM rights_windows \
     WHERE work_id IN (SELECT value FROM json_each(?1)) ORDER BY work_id, id";

/// Adds a version or rights-window row (`kind`, read for `context`) to the record of its work, in `slot`.
fn attach_row<T: serde::de::DeserializeOwned>(
    records: &mut [WorkRecord],
    index: &std::collections::HashMap<String, usize>,
    row: &impl Columns,
    (kind, context): (&'static str, &'static str),
    slot: fn(&mut WorkRecord) -> &mut Vec<T>,
) -> Result<(), StoreError> {
    let (id, work_id, doc, updated) = four_columns(row, context)?;
    if let Some(&i) = index.get(&work_id) {
        let modified = parse_time(kind, &id, &updated)?;
        slot(&mut records[i]).push(from_doc(kind, &id, &doc)?);
        records[i].modified = records[i].modified.max(modified);
    }
    Ok(())
}

const VERSION: (&str, &str) = ("version", "reading versions");
const WINDOW: (&str, &str) = ("rights window", "reading rights windows");

/// [`Store::work_record`] on a connection of the direct path (the provider's decision on a contract request
/// reads it there, without a hand-off to sqlx's worker).
pub(crate) fn work_record_on(db: &Db, id: &str) -> Result<Option<WorkRecord>, StoreError> {
    let context = "reading a work";
    let found = direct::row(db, "SELECT doc, updated_at FROM works WHERE id = ?1", [id], |row| {
        Ok::<_, rusqlite::Error>((row.get::<_, String>("doc")?, row.get::<_, String>("updated_at")?))
    })
    .map_err(super::db(context))?;
    let Some((doc, updated)) = found else { return Ok(None) };
    let mut records = vec![WorkRecord {
        work: from_doc("work", id, &doc)?,
        versions: Vec::new(),
        rights: Vec::new(),
        modified: parse_time("work", id, &updated)?,
    }];
    let index = std::collections::HashMap::from([(id.to_string(), 0)]);
    let ids_json = serde_json::to_string(&[id]).map_err(super::db(context))?;
    attach_on(db, VERSIONS_OF, &ids_json, &mut records, &index, VERSION, |r| &mut r.versions)?;
    attach_on(db, RIGHTS_WINDOWS_OF, &ids_json, &mut records, &index, WINDOW, |r| &mut r.rights)?;
    Ok(records.pop())
}

/// Runs `sql` (one of [`VERSIONS_OF`], [`RIGHTS_WINDOWS_OF`]) on the direct path and attaches its rows.
fn attach_on<T: serde::de::DeserializeOwned>(
    db: &Db,
    sql: &str,
    ids_json: &str,
    records: &mut [WorkRecord],
    index: &std::collections::HashMap<String, usize>,
    what: (&'static str, &'static str),
    slot: fn(&mut WorkRecord) -> &mut Vec<T>,
) -> Result<(), StoreError> {
    let failed = super::db::<rusqlite::Error>(what.1);
    let mut statement = db.prepare_cached(sql).map_err(&failed)?;
    let mut rows = statement.query([ids_json]).map_err(&failed)?;
    while let Some(row) = rows.next().map_err(&failed)? {
        attach_row(records, index, row, what, slot)?;
    }
    Ok(())
}

async fn exists(tx: &mut Transaction<'static, Sqlite>, query: &'static str, id: &str) -> Result<bool, StoreError> {
    let found: Option<i64> =
        sqlx::query_scalar(query).bind(id).fetch_optional(&mut **tx).await.map_err(db("checking an id"))?;
    Ok(found.is_some())
}
