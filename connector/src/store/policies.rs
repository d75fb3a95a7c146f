//! ODRL policies (stored as their JSON document) and offer definitions.
//!
//! The store does not validate policies: callers pass documents already accepted by
//! `passerelle_policy::Policy::from_json`. It does enforce the reference from a
//! definition to its policy (a foreign key): a definition cannot name a missing
//! policy, and a policy in use cannot be deleted.

use serde_json::Value;
use sqlx::Row;
use time::OffsetDateTime;

use super::direct::{self, Columns, Db};
use super::{
    Page, Store, StoreError, Written, db, from_doc, is_foreign_key_violation, is_unique_violation, now_text, page_from,
    parse_time, to_doc, written,
};
use crate::offers::{OfferDefinition, Selector};

/// A policy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPolicy {
    pub id: String,
    pub document: Value,
    pub revision: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

/// An offer definition as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredOfferDefinition {
    pub definition: OfferDefinition,
    pub revision: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const UPSERT_POLICY: &str = "INSERT INTO policies (id, doc, revision, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?3) \
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, revision = policies.revision + 1, updated_at = excluded.updated_at \
     WHERE policies.doc IS NOT excluded.doc RETURNING revision";

const UPSERT_DEFINITION: &str = "INSERT INTO offer_definitions (id, title, description, selector, policy_id, revision, created_at, updated_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6) \
     ON CONFLICT (id) DO UPDATE SET title = excluded.title, description = excluded.description, \
       selector = excluded.selector, policy_id = excluded.policy_id, revision = offer_definitions.revision + 1, \
       updated_at = excluded.updated_at \
     WHERE (offer_definitions.title, offer_definitions.description, offer_definitions.selector, offer_definitions.policy_id) \
       IS NOT (excluded.title, excluded.description, excluded.selector, excluded.policy_id) \
     RETURNING revision";

fn policy_row(row: &sqlx::sqlite::SqliteRow) -> Result<StoredPolicy, StoreError> {
    let id: String = row.try_get("id").map_err(db("reading a policy"))?;
    let doc: String = row.try_get("doc").map_err(db("reading a policy"))?;
    let revision: i64 = row.try_get("revision").map_err(db("reading a policy"))?;
    let created: String = row.try_get("created_at").map_err(db("reading a policy"))?;
    let updated: String = row.try_get("updated_at").map_err(db("reading a policy"))?;
    Ok(StoredPolicy {
        document: from_doc("policy", &id, &doc)?,
        revision,
        created_at: parse_time("policy", &id, &created)?,
        updated_at: parse_time("policy", &id, &updated)?,
        id,
    })
}

fn definition_row(row: &impl Columns) -> Result<StoredOfferDefinition, StoreError> {
    let column = super::db("reading an offer definition");
    let id = row.required_text("id").map_err(&column)?;
    let selector = row.required_text("selector").map_err(&column)?;
    let created = row.required_text("created_at").map_err(&column)?;
    let updated = row.required_text("updated_at").map_err(&column)?;
    let selector: Selector = from_doc("offer definition", &id, &selector)?;
    Ok(StoredOfferDefinition {
        definition: OfferDefinition {
            title: row.required_text("title").map_err(&column)?,
            description: row.text("description").map_err(&column)?,
            selector,
            policy_id: row.required_text("policy_id").map_err(&column)?,
            id: id.clone(),
        },
        revision: row
            .integer("revision")
            .map_err(&column)?
            .ok_or_else(|| column("column `revision` is NULL".to_string()))?,
        created_at: parse_time("offer definition", &id, &created)?,
        updated_at: parse_time("offer definition", &id, &updated)?,
    })
}

const DEFINITIONS_WITH_POLICIES: &str = "SELECT d.id, d.title, d.description, d.selector, d.policy_id, d.revision, \
     d.created_at, d.updated_at, p.doc AS policy_doc \
     FROM offer_definitions d JOIN policies p ON p.id = d.policy_id ORDER BY d.id";

fn definition_with_policy(row: &impl Columns) -> Result<(StoredOfferDefinition, Value), StoreError> {
    let def = definition_row(row)?;
    let doc = row.required_text("policy_doc").map_err(super::db("reading offer definitions"))?;
    let policy = from_doc("policy", &def.definition.policy_id, &doc)?;
    Ok((def, policy))
}

/// [`Store::offer_definitions_with_policies`] on a connection of the direct path (the provider's decision on a
/// contract request reads it there, without a hand-off to sqlx's worker).
pub(crate) fn offer_definitions_with_policies_on(db: &Db) -> Result<Vec<(StoredOfferDefinition, Value)>, StoreError> {
    direct::rows(db, DEFINITIONS_WITH_POLICIES, [], |row| Ok(definition_with_policy(row)))
        .map_err(super::db::<rusqlite::Error>("reading offer definitions"))?
        .into_iter()
        .collect()
}

impl Store {
    /// Creates a policy; [`StoreError::Conflict`] if the id is taken.
    pub async fn insert_policy(&self, id: &str, document: &Value) -> Result<(), StoreError> {
        let now = now_text();
        sqlx::query("INSERT INTO policies (id, doc, revision, created_at, updated_at) VALUES (?1, ?2, 1, ?3, ?3)")
            .bind(id)
            .bind(to_doc("policy", id, document)?)
            .bind(&now)
            .execute(&self.pool)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict { kind: "policy", id: id.to_string() }
                } else {
                    db("writing a policy")(e)
                }
            })?;
        Ok(())
    }

    /// Creates or replaces a policy.
    pub async fn put_policy(&self, id: &str, document: &Value) -> Result<Written, StoreError> {
        let revision: Option<i64> = sqlx::query_scalar(UPSERT_POLICY)
            .bind(id)
            .bind(to_doc("policy", id, document)?)
            .bind(now_text())
            .fetch_optional(&self.pool)
            .await
            .map_err(db("writing a policy"))?;
        Ok(written(revision))
    }

    pub async fn get_policy(&self, id: &str) -> Result<Option<StoredPolicy>, StoreError> {
        let row = sqlx::query("SELECT id, doc, revision, created_at, updated_at FROM policies WHERE id = ?1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db("reading a policy"))?;
        row.as_ref().map(policy_row).transpose()
    }

    pub async fn list_policies(&self, cursor: Option<&str>, limit: usize) -> Result<Page<StoredPolicy>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, doc, revision, created_at, updated_at FROM policies \
             WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(cursor)
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing policies"))?;
        let items = rows.iter().map(policy_row).collect::<Result<Vec<_>, _>>()?;
        Ok(page_from(items, limit, |p| p.id.clone()))
    }

    /// Deletes a policy. [`StoreError::InUse`] when an offer definition still uses it.
    pub async fn delete_policy(&self, id: &str) -> Result<bool, StoreError> {
        let users: Vec<String> = sqlx::query_scalar(
            "SELECT 'offer definition ' || id FROM offer_definitions WHERE policy_id = ?1 \
             UNION ALL SELECT 'service ' || id FROM services WHERE policy_id = ?1 ORDER BY 1",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await
        .map_err(db("checking policy users"))?;
        if !users.is_empty() {
            return Err(in_use(id, users));
        }
        let done =
            sqlx::query("DELETE FROM policies WHERE id = ?1").bind(id).execute(&self.pool).await.map_err(|e| {
                // A definition created between the check and the delete: the foreign key still protects it.
                if is_foreign_key_violation(&e) {
                    in_use(id, vec!["an offer definition or a service".into()])
                } else {
                    db("deleting a policy")(e)
                }
            })?;
        Ok(done.rows_affected() > 0)
    }

    /// Creates an offer definition; conflicts on a taken id, [`StoreError::MissingReference`] on an unknown policy.
    pub async fn insert_offer_definition(&self, def: &OfferDefinition) -> Result<(), StoreError> {
        let now = now_text();
        sqlx::query(
            "INSERT INTO offer_definitions (id, title, description, selector, policy_id, revision, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?6)",
        )
        .bind(&def.id)
        .bind(&def.title)
        .bind(def.description.as_deref())
        .bind(to_doc("offer definition", &def.id, &def.selector)?)
        .bind(&def.policy_id)
        .bind(&now)
        .execute(&self.pool)
        .await
        .map_err(|e| definition_error(e, def))?;
        Ok(())
    }

    /// Creates or replaces an offer definition.
    pub async fn put_offer_definition(&self, def: &OfferDefinition) -> Result<Written, StoreError> {
        let revision: Option<i64> = sqlx::query_scalar(UPSERT_DEFINITION)
            .bind(&def.id)
            .bind(&def.title)
            .bind(def.description.as_deref())
            .bind(to_doc("offer definition", &def.id, &def.selector)?)
            .bind(&def.policy_id)
            .bind(now_text())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| definition_error(e, def))?;
        Ok(written(revision))
    }

    pub async fn get_offer_definition(&self, id: &str) -> Result<Option<StoredOfferDefinition>, StoreError> {
        let row = sqlx::query(
            "SELECT id, title, description, selector, policy_id, revision, created_at, updated_at \
             FROM offer_definitions WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db("reading an offer definition"))?;
        row.as_ref().map(definition_row).transpose()
    }

    pub async fn list_offer_definitions(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<StoredOfferDefinition>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, title, description, selector, policy_id, revision, created_at, updated_at \
             FROM offer_definitions WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(cursor)
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing offer definitions"))?;
        let items = rows.iter().map(definition_row).collect::<Result<Vec<_>, _>>()?;
        Ok(page_from(items, limit, |d| d.definition.id.clone()))
    }

    /// Every offer definition with its policy document, in id order (the catalog's working set:
    /// definitions are few, so they are read once per catalog page).
    pub async fn offer_definitions_with_policies(&self) -> Result<Vec<(StoredOfferDefinition, Value)>, StoreError> {
        let rows = sqlx::query(DEFINITIONS_WITH_POLICIES)
            .fetch_all(&self.pool)
            .await
            .map_err(db("reading offer definitions"))?;
        rows.iter().map(definition_with_policy).collect()
    }

    pub async fn delete_offer_definition(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM offer_definitions WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("deleting an offer definition"))?;
        Ok(done.rows_affected() > 0)
    }
}

fn in_use(id: &str, users: Vec<String>) -> StoreError {
    StoreError::InUse { kind: "policy", id: id.to_string(), users: users.join(", ") }
}

fn definition_error(e: sqlx::Error, def: &OfferDefinition) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict { kind: "offer definition", id: def.id.clone() }
    } else if is_foreign_key_violation(&e) {
        StoreError::MissingReference { kind: "policy", id: def.policy_id.clone() }
    } else {
        db("writing an offer definition")(e)
    }
}
