//! The console's read-only SQL: keyset pages, counts and alerts.
//!
//! Lists are `WHERE key > cursor … ORDER BY key LIMIT n + 1` over the primary key, one more row than
//! shown telling whether there is a next page. Only the conditions in use go into the statement
//! (built from fixed fragments, values always bound), so SQLite walks the key index from the cursor
//! instead of testing an `? IS NULL OR …` on every row.

use sqlx::sqlite::SqliteRow;
use sqlx::{AssertSqlSafe, Row, SqlitePool};

/// A page of rows and the cursor of the next one.
pub(crate) struct Paged<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

fn paged<T>(mut items: Vec<T>, limit: usize, key: impl Fn(&T) -> String) -> Paged<T> {
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(key)
    } else {
        None
    };
    Paged { items, next }
}

/// A SELECT assembled from fixed fragments.
struct Select {
    head: &'static str,
    conditions: Vec<&'static str>,
    values: Vec<String>,
    order: &'static str,
}

impl Select {
    fn new(head: &'static str, order: &'static str) -> Select {
        Select { head, conditions: Vec::new(), values: Vec::new(), order }
    }

    /// Adds `condition` (with as many `?` as `values` has items) when `values` is `Some`.
    fn when<const N: usize>(&mut self, condition: &'static str, values: Option<[String; N]>) -> &mut Select {
        if let Some(values) = values {
            self.conditions.push(condition);
            self.values.extend(values);
        }
        self
    }

    async fn fetch(&self, pool: &SqlitePool, limit: usize) -> Result<Vec<SqliteRow>, sqlx::Error> {
        let mut sql = String::from(self.head);
        if !self.conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&self.conditions.join(" AND "));
        }
        sql.push_str(self.order);
        sql.push_str(" LIMIT ?");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in &self.values {
            query = query.bind(value.as_str());
        }
        query.bind((limit + 1) as i64).fetch_all(pool).await
    }
}

/// `%text%` for LIKE, with the wildcards in `text` taken literally.
fn contains(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// An agreement as listed.
pub(crate) struct AgreementRow {
    pub id: String,
    pub side: String,
    pub target: String,
    pub assigner: String,
    pub assignee: String,
    pub timestamp: String,
}

impl AgreementRow {
    /// The other party: the assignee when we are the provider, the assigner when we consume.
    pub fn counterparty(&self) -> &str {
        if self.side == "provider" { &self.assignee } else { &self.assigner }
    }
}

pub(crate) struct AgreementFilter<'a> {
    pub counterparty: Option<&'a str>,
    pub dataset: Option<&'a str>,
    pub q: Option<&'a str>,
}

/// Agreements by (id, side), the primary key; the cursor is `side:id`.
pub(crate) async fn agreements(
    pool: &SqlitePool,
    filter: &AgreementFilter<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Paged<AgreementRow>, sqlx::Error> {
    let after = cursor.and_then(|c| c.split_once(':')).map(|(side, id)| [id.to_string(), side.to_string()]);
    let rows =
        Select::new("SELECT id, side, target, assigner, assignee, timestamp FROM agreements", " ORDER BY id, side")
            .when("(id, side) > (?, ?)", after)
            .when(
                "(CASE side WHEN 'provider' THEN assignee ELSE assigner END) LIKE ? ESCAPE '\\'",
                filter.counterparty.map(|c| [contains(c)]),
            )
            .when("target LIKE ? ESCAPE '\\'", filter.dataset.map(|d| [contains(d)]))
            .when(
                "(id LIKE ? ESCAPE '\\' OR negotiation_pid LIKE ? ESCAPE '\\')",
                filter.q.map(|q| [contains(q), contains(q)]),
            )
            .fetch(pool, limit)
            .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(AgreementRow {
                id: r.try_get("id")?,
                side: r.try_get("side")?,
                target: r.try_get("target")?,
                assigner: r.try_get("assigner")?,
                assignee: r.try_get("assignee")?,
                timestamp: r.try_get("timestamp")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(paged(items, limit, |a| format!("{}:{}", a.side, a.id)))
}

/// A negotiation or transfer as listed.
pub(crate) struct ProcessRow {
    pub pid: String,
    pub side: String,
    pub state: String,
    pub counterparty_id: String,
    /// Negotiations: the dataset; transfers: the agreement.
    pub subject: Option<String>,
    /// Transfers: the format.
    pub format: Option<String>,
    pub last_error: Option<String>,
    pub updated_at: String,
}

pub(crate) struct ProcessFilter<'a> {
    pub state: Option<&'a str>,
    pub agreement: Option<&'a str>,
    pub q: Option<&'a str>,
}

pub(crate) async fn negotiations(
    pool: &SqlitePool,
    filter: &ProcessFilter<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Paged<ProcessRow>, sqlx::Error> {
    let rows = Select::new(
        "SELECT pid, side, state, counterparty_id, dataset_id AS subject, NULL AS format, last_error, updated_at \
         FROM negotiations",
        " ORDER BY pid",
    )
    .when("pid > ?", cursor.map(|c| [c.to_string()]))
    .when("state = ?", filter.state.map(|s| [s.to_string()]))
    .when(
        "(pid LIKE ? ESCAPE '\\' OR counterparty_pid LIKE ? ESCAPE '\\' OR dataset_id LIKE ? ESCAPE '\\' \
          OR agreement_id LIKE ? ESCAPE '\\')",
        filter.q.map(|q| [contains(q), contains(q), contains(q), contains(q)]),
    )
    .fetch(pool, limit)
    .await?;
    process_rows(&rows, limit)
}

pub(crate) async fn transfers(
    pool: &SqlitePool,
    filter: &ProcessFilter<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Paged<ProcessRow>, sqlx::Error> {
    let rows = Select::new(
        "SELECT pid, side, state, counterparty_id, agreement_id AS subject, format, last_error, updated_at \
         FROM transfers",
        " ORDER BY pid",
    )
    .when("pid > ?", cursor.map(|c| [c.to_string()]))
    .when("state = ?", filter.state.map(|s| [s.to_string()]))
    .when("agreement_id = ?", filter.agreement.map(|a| [a.to_string()]))
    .when(
        "(pid LIKE ? ESCAPE '\\' OR counterparty_pid LIKE ? ESCAPE '\\' OR agreement_id LIKE ? ESCAPE '\\')",
        filter.q.map(|q| [contains(q), contains(q), contains(q)]),
    )
    .fetch(pool, limit)
    .await?;
    process_rows(&rows, limit)
}

fn process_rows(rows: &[SqliteRow], limit: usize) -> Result<Paged<ProcessRow>, sqlx::Error> {
    let items = rows
        .iter()
        .map(|r| {
            Ok(ProcessRow {
                pid: r.try_get("pid")?,
                side: r.try_get("side")?,
                state: r.try_get("state")?,
                counterparty_id: r.try_get("counterparty_id")?,
                subject: r.try_get("subject")?,
                format: r.try_get("format")?,
                last_error: r.try_get("last_error")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(paged(items, limit, |p| p.pid.clone()))
}

/// One line of the subtitle-order list.
pub(crate) struct OrderRow {
    pub id: String,
    pub order_id: String,
    pub side: String,
    pub agreement_id: String,
    /// `OrderState`'s name (`IN_PROGRESS`…) and its production stage, from the row's derived state.
    pub state: String,
    pub stage: Option<String>,
    pub updated_at: String,
}

pub(crate) struct OrderFilter<'a> {
    pub state: Option<&'a str>,
    pub side: Option<&'a str>,
    pub agreement: Option<&'a str>,
    pub q: Option<&'a str>,
}

/// Subtitle orders by our id (keyset), filtered.
pub(crate) async fn orders(
    pool: &SqlitePool,
    filter: &OrderFilter<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> Result<Paged<OrderRow>, sqlx::Error> {
    let rows = Select::new(
        "SELECT id, order_id, side, agreement_id, json_extract(state, '$.state') AS state_name, \
         json_extract(state, '$.stage') AS stage, updated_at FROM orders",
        " ORDER BY id",
    )
    .when("id > ?", cursor.map(|c| [c.to_string()]))
    .when("json_extract(state, '$.state') = ?", filter.state.map(|s| [s.to_string()]))
    .when("side = ?", filter.side.map(|s| [s.to_string()]))
    .when("agreement_id = ?", filter.agreement.map(|a| [a.to_string()]))
    .when("(id LIKE ? ESCAPE '\\' OR order_id LIKE ? ESCAPE '\\')", filter.q.map(|q| [contains(q), contains(q)]))
    .fetch(pool, limit)
    .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(OrderRow {
                id: r.try_get("id")?,
                order_id: r.try_get("order_id")?,
                side: r.try_get("side")?,
                agreement_id: r.try_get("agreement_id")?,
                state: r.try_get::<Option<String>, _>("state_name")?.unwrap_or_default(),
                stage: r.try_get("stage")?,
                updated_at: r.try_get("updated_at")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(paged(items, limit, |o| o.id.clone()))
}

/// Our ids of the open orders (not accepted, declined, cancelled, superseded or recalled), latest change first.
pub(crate) async fn open_orders(pool: &SqlitePool, limit: usize) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM orders WHERE json_extract(state, '$.state') NOT IN \
         ('ACCEPTED', 'DECLINED', 'CANCELLED', 'SUPERSEDED', 'RECALLED') ORDER BY updated_at DESC LIMIT ?",
    )
    .bind(i64::try_from(limit).unwrap_or(i64::MAX))
    .fetch_all(pool)
    .await
}

/// `(state, count)` of the subtitle orders.
pub(crate) async fn order_counts(pool: &SqlitePool) -> Result<Vec<(String, i64)>, sqlx::Error> {
    // The same expression as the `orders_by_state` index, so the count reads the index alone.
    let rows: Vec<(Option<String>, i64)> = sqlx::query_as(
        "SELECT json_extract(state, '$.state'), COUNT(*) FROM orders \
         GROUP BY json_extract(state, '$.state') ORDER BY json_extract(state, '$.state')",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(state, n)| (state.unwrap_or_else(|| "?".into()), n)).collect())
}

/// `(state, count)` of a process table (`negotiations` or `transfers`).
pub(crate) async fn counts_by_state(pool: &SqlitePool, table: Table) -> Result<Vec<(String, i64)>, sqlx::Error> {
    let sql = match table {
        Table::Negotiations => "SELECT state, COUNT(*) FROM negotiations GROUP BY state ORDER BY state",
        Table::Transfers => "SELECT state, COUNT(*) FROM transfers GROUP BY state ORDER BY state",
    };
    sqlx::query_as(sql).fetch_all(pool).await
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Negotiations,
    Transfers,
}

pub(crate) async fn count(pool: &SqlitePool, what: Counted) -> Result<i64, sqlx::Error> {
    let sql = match what {
        Counted::Agreements => "SELECT COUNT(*) FROM agreements",
        Counted::OfferDefinitions => "SELECT COUNT(*) FROM offer_definitions",
        Counted::Policies => "SELECT COUNT(*) FROM policies",
    };
    sqlx::query_scalar(sql).fetch_one(pool).await
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Counted {
    Agreements,
    OfferDefinitions,
    Policies,
}

/// Processes whose outbox has a failed or retried message, newest first: `(process, pid)`.
pub(crate) async fn stalled(pool: &SqlitePool, limit: usize) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT process, process_pid FROM outbox \
         WHERE status = 'failed' OR (status = 'pending' AND attempts > 0) \
         GROUP BY process, process_pid ORDER BY MAX(id) DESC LIMIT ?",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await
}

/// Live processes whose counter-party answered with an error: `(process, pid, state, error)`.
pub(crate) async fn erring(
    pool: &SqlitePool,
    limit: usize,
) -> Result<Vec<(String, String, String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT 'negotiation', pid, state, last_error FROM negotiations \
           WHERE last_error IS NOT NULL AND state NOT IN ('FINALIZED', 'TERMINATED') \
         UNION ALL \
         SELECT 'transfer', pid, state, last_error FROM transfers \
           WHERE last_error IS NOT NULL AND state NOT IN ('COMPLETED', 'TERMINATED') \
         LIMIT ?",
    )
    .bind(limit as i64)
    .fetch_all(pool)
    .await
}

/// `(count, last sealed seq)` of the signed audit checkpoints.
pub(crate) async fn checkpoints(pool: &SqlitePool) -> Result<(i64, Option<i64>), sqlx::Error> {
    sqlx::query_as("SELECT COUNT(*), MAX(seq) FROM audit_checkpoints").fetch_one(pool).await
}

/// An audit entry as listed.
pub(crate) struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub subject: String,
    pub actor: String,
    pub payload: String,
    pub hash: String,
}

/// Audit entries newest first, before `before` (a seq), optionally about one subject.
pub(crate) async fn audit_entries(
    pool: &SqlitePool,
    subject: Option<&str>,
    before: Option<i64>,
    limit: usize,
) -> Result<Paged<AuditRow>, sqlx::Error> {
    let rows = Select::new("SELECT seq, at, kind, subject, actor, payload, hash FROM audit_log", " ORDER BY seq DESC")
        .when("seq < ?", before.map(|b| [b.to_string()]))
        .when("subject = ?", subject.map(|s| [s.to_string()]))
        .fetch(pool, limit)
        .await?;
    let items = rows
        .iter()
        .map(|r| {
            Ok(AuditRow {
                seq: r.try_get("seq")?,
                at: r.try_get("at")?,
                kind: r.try_get("kind")?,
                subject: r.try_get("subject")?,
                actor: r.try_get("actor")?,
                payload: r.try_get("payload")?,
                hash: r.try_get("hash")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    Ok(paged(items, limit, |e| e.seq.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_take_wildcards_literally() {
        assert_eq!(contains("a%b_c\\"), "%a\\%b\\_c\\\\%");
    }

    #[test]
    fn one_extra_row_means_a_next_page() {
        let page = paged(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!((page.items, page.next.as_deref()), (vec![1, 2], Some("2")));
        let page = paged(vec![1, 2], 2, |n| n.to_string());
        assert_eq!((page.items, page.next), (vec![1, 2], None));
    }
}
