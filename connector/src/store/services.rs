//! The services a lab offers (`crate::services`), stored as their definition document with a foreign key to the
//! policy they are offered under: a service cannot name a missing policy, and a policy in use cannot be deleted.

use time::OffsetDateTime;

use super::direct::{self, Columns, Db};
use super::{
    Page, Store, StoreError, Written, db, from_doc, is_foreign_key_violation, is_unique_violation, now_text, page_from,
    parse_time, to_doc, written,
};
use crate::services::ServiceDefinition;

/// A service as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredService {
    pub service: ServiceDefinition,
    pub revision: i64,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

const UPSERT: &str = "INSERT INTO services (id, doc, policy_id, revision, created_at, updated_at) \
     VALUES (?1, ?2, ?3, 1, ?4, ?4) \
     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, policy_id = excluded.policy_id, \
       revision = services.revision + 1, updated_at = excluded.updated_at \
     WHERE (services.doc, services.policy_id) IS NOT (excluded.doc, excluded.policy_id) \
     RETURNING revision";

fn service_row(row: &impl Columns) -> Result<StoredService, StoreError> {
    let read = super::db("reading a service");
    let id = row.required_text("id").map_err(&read)?;
    let doc = row.required_text("doc").map_err(&read)?;
    let revision =
        row.integer("revision").map_err(&read)?.ok_or_else(|| read("column `revision` is NULL".to_string()))?;
    let created = row.required_text("created_at").map_err(&read)?;
    let updated = row.required_text("updated_at").map_err(&read)?;
    Ok(StoredService {
        service: from_doc("service", &id, &doc)?,
        revision,
        created_at: parse_time("service", &id, &created)?,
        updated_at: parse_time("service", &id, &updated)?,
    })
}

const SERVICES_WITH_POLICIES: &str = "SELECT s.id, s.doc, s.policy_id, s.revision, s.created_at, s.updated_at, \
     p.doc AS policy_doc FROM services s JOIN policies p ON p.id = s.policy_id ORDER BY s.id";

fn service_with_policy(row: &impl Columns) -> Result<(StoredService, serde_json::Value), StoreError> {
    let stored = service_row(row)?;
    let doc = row.required_text("policy_doc").map_err(super::db("reading services"))?;
    let policy = from_doc("policy", &stored.service.policy_id, &doc)?;
    Ok((stored, policy))
}

/// [`Store::services_with_policies`] on a connection of the direct path.
pub(crate) fn services_with_policies_on(db: &Db) -> Result<Vec<(StoredService, serde_json::Value)>, StoreError> {
    direct::rows(db, SERVICES_WITH_POLICIES, [], |row| Ok(service_with_policy(row)))
        .map_err(super::db::<rusqlite::Error>("reading services"))?
        .into_iter()
        .collect()
}

fn write_error(e: sqlx::Error, service: &ServiceDefinition) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict { kind: "service", id: service.id.clone() }
    } else if is_foreign_key_violation(&e) {
        StoreError::MissingReference { kind: "policy", id: service.policy_id.clone() }
    } else {
        db("writing a service")(e)
    }
}

impl Store {
    /// Creates a service; conflicts on a taken id, [`StoreError::MissingReference`] on an unknown policy.
    pub async fn insert_service(&self, service: &ServiceDefinition) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO services (id, doc, policy_id, revision, created_at, updated_at) VALUES (?1, ?2, ?3, 1, ?4, ?4)",
        )
        .bind(&service.id)
        .bind(to_doc("service", &service.id, service)?)
        .bind(&service.policy_id)
        .bind(now_text())
        .execute(&self.pool)
        .await
        .map_err(|e| write_error(e, service))?;
        Ok(())
    }

    /// Creates or replaces a service (the revision moves only when something changed).
    pub async fn put_service(&self, service: &ServiceDefinition) -> Result<Written, StoreError> {
        let revision: Option<i64> = sqlx::query_scalar(UPSERT)
            .bind(&service.id)
            .bind(to_doc("service", &service.id, service)?)
            .bind(&service.policy_id)
            .bind(now_text())
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| write_error(e, service))?;
        Ok(written(revision))
    }

    pub async fn get_service(&self, id: &str) -> Result<Option<StoredService>, StoreError> {
        let row =
            sqlx::query("SELECT id, doc, policy_id, revision, created_at, updated_at FROM services WHERE id = ?1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db("reading a service"))?;
        row.as_ref().map(service_row).transpose()
    }

    pub async fn list_services(&self, cursor: Option<&str>, limit: usize) -> Result<Page<StoredService>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, doc, policy_id, revision, created_at, updated_at FROM services \
             WHERE (?1 IS NULL OR id > ?1) ORDER BY id LIMIT ?2",
        )
        .bind(cursor)
        .bind((limit + 1) as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db("listing services"))?;
        let items = rows.iter().map(service_row).collect::<Result<Vec<_>, _>>()?;
        Ok(page_from(items, limit, |s| s.service.id.clone()))
    }

    /// Every service with its policy document, in id order (the catalog's working set: a lab offers few).
    pub async fn services_with_policies(&self) -> Result<Vec<(StoredService, serde_json::Value)>, StoreError> {
        let rows = sqlx::query(SERVICES_WITH_POLICIES).fetch_all(&self.pool).await.map_err(db("reading services"))?;
        rows.iter().map(service_with_policy).collect()
    }

    pub async fn delete_service(&self, id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM services WHERE id = ?1")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(db("deleting a service"))?;
        Ok(done.rows_affected() > 0)
    }
}
