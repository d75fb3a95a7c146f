//! The audit trail of real negotiations: every state change, agreement and policy decision is
//! in it, `passerelle audit verify` finds it intact, and an altered, deleted or reordered row
//! makes it fail naming the entry.

use reqwest::Method;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};

use crate::negotiation_support::{Node, catalog_offer, negotiate, provider};
use crate::support::passerelle;

fn state(v: &Value) -> &str {
    v["state"].as_str().unwrap_or_default()
}

async fn verify(node: &Node) -> (Option<i32>, Value) {
    let out = passerelle(&["audit", "verify", "--config", &node.folder.config(), "--json"], &[]).await;
    let report = serde_json::from_str(out.stdout.trim()).unwrap_or(Value::Null);
    (out.code(), report)
}

/// Opens the connector's database as someone with write access to the file would: triggers off.
async fn tamper_access(node: &Node) -> SqlitePool {
    let options = SqliteConnectOptions::new().filename(node.database());
    let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await.expect("database");
    for trigger in ["audit_log_no_update", "audit_log_no_delete"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}")))
            .execute(&pool)
            .await
            .expect("drop trigger");
    }
    pool
}

/// Runs `sql` with the append-only triggers dropped first (every `passerelle` start, the
/// verification included, creates them again).
async fn exec(pool: &SqlitePool, sql: &str) {
    for trigger in ["audit_log_no_update", "audit_log_no_delete"] {
        sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}"))).execute(pool).await.unwrap();
    }
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string())).execute(pool).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

#[tokio::test]
async fn negotiations_are_in_the_trail_and_any_tampered_entry_is_named() {
    let mut provider = provider().await;
    let mut consumer = Node::new("broadcaster", &["--no-default-offer"]).await;
    consumer.start().await;

    // One negotiation agreed, one refused by policy (an offer valid from 2099 on).
    let (dataset_id, offer_id) = catalog_offer(&provider, "open").await;
    let pid = negotiate(&consumer, &provider, &dataset_id, &offer_id).await;
    let finalized = consumer
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "FINALIZED on the consumer", |n| state(n) == "FINALIZED")
        .await;
    let provider_pid = finalized["counterparty_pid"].as_str().expect("provider pid").to_string();
    provider
        .wait_for(&format!("/api/v1/negotiations/{provider_pid}"), "FINALIZED on the provider", |n| {
            state(n) == "FINALIZED"
        })
        .await;
    let (future_dataset, future_offer) = catalog_offer(&provider, "future").await;
    let refused = negotiate(&consumer, &provider, &future_dataset, &future_offer).await;
    consumer
        .wait_for(&format!("/api/v1/negotiations/{refused}"), "TERMINATED by policy", |n| state(n) == "TERMINATED")
        .await;
    let (status, _) = provider.api(Method::GET, "/health", None).await;
    assert_eq!(status, 200);
    provider.kill();

    let (code, report) = verify(&provider).await;
    assert_eq!(code, Some(0), "{report:#}");
    assert_eq!(report["intact"], true, "{report:#}");
    let (code, consumer_report) = verify(&consumer).await;
    assert_eq!(code, Some(0), "the consumer's trail too: {consumer_report:#}");

    // What the provider's trail holds: the four states, the agreement, both decisions, the termination.
    let db = tamper_access(&provider).await;
    let rows: Vec<(i64, String, String, String)> =
        sqlx::query_as("SELECT seq, kind, subject, payload FROM audit_log ORDER BY seq")
            .fetch_all(&db)
            .await
            .expect("audit rows");
    assert_eq!(report["entries"], rows.len(), "{report:#}");
    let states: Vec<String> = rows
        .iter()
        .filter(|(_, kind, subject, _)| kind == "negotiation.state" && *subject == provider_pid)
        .map(|(_, _, _, payload)| serde_json::from_str::<Value>(payload).expect("payload")["state"].to_string())
        .collect();
    assert_eq!(states, ["\"REQUESTED\"", "\"AGREED\"", "\"VERIFIED\"", "\"FINALIZED\""]);
    let agreement_id = finalized["agreement_id"].as_str().expect("agreement id");
    assert!(rows.iter().any(|(_, kind, subject, _)| kind == "agreement" && subject == agreement_id));
    let decisions: Vec<Value> = rows
        .iter()
        .filter(|(_, kind, _, _)| kind == "policy.decision")
        .map(|(_, _, _, payload)| serde_json::from_str(payload).expect("payload"))
        .collect();
    assert_eq!(decisions.len(), 2, "{decisions:#?}");
    assert_eq!(decisions[0]["outcome"], "permit");
    assert_eq!(decisions[1]["outcome"], "deny");
    assert!(decisions[1]["reason"].as_str().is_some_and(|r| !r.is_empty()), "the refusal keeps its reason");
    assert!(rows.iter().any(|(_, kind, _, payload)| kind == "negotiation.state" && payload.contains("TERMINATED")));

    // Altering one entry's payload: named, then restored.
    let (seq, _, _, original) = rows[2].clone();
    exec(&db, &format!("UPDATE audit_log SET payload = '{{\"state\":\"FORGED\"}}' WHERE seq = {seq}")).await;
    let (code, broken) = verify(&provider).await;
    assert_eq!(code, Some(2), "{broken:#}");
    assert_eq!(
        (broken["intact"].clone(), broken["entry"].clone()),
        (Value::Bool(false), Value::from(seq)),
        "{broken:#}"
    );
    assert!(broken["problem"].as_str().is_some_and(|p| p.contains("altered")), "{broken:#}");
    exec(&db, "DROP TRIGGER IF EXISTS audit_log_no_update").await;
    sqlx::query("UPDATE audit_log SET payload = ? WHERE seq = ?").bind(&original).bind(seq).execute(&db).await.unwrap();
    assert_eq!(verify(&provider).await.0, Some(0), "restored");

    // Deleting one entry: the gap is named.
    exec(&db, "CREATE TABLE kept AS SELECT * FROM audit_log WHERE seq = 4").await;
    exec(&db, "DELETE FROM audit_log WHERE seq = 4").await;
    let (code, broken) = verify(&provider).await;
    assert_eq!(code, Some(2), "{broken:#}");
    assert_eq!(broken["entry"], 4, "{broken:#}");
    assert!(broken["problem"].as_str().is_some_and(|p| p.contains("missing")), "{broken:#}");
    exec(&db, "INSERT INTO audit_log SELECT * FROM kept").await;
    assert_eq!(verify(&provider).await.0, Some(0), "restored");

    // Reordering two entries (swapping their positions): named.
    exec(&db, "UPDATE audit_log SET seq = 1000000 WHERE seq = 5").await;
    exec(&db, "UPDATE audit_log SET seq = 5 WHERE seq = 6").await;
    exec(&db, "UPDATE audit_log SET seq = 6 WHERE seq = 1000000").await;
    let (code, broken) = verify(&provider).await;
    assert_eq!(code, Some(2), "{broken:#}");
    assert_eq!(broken["entry"], 5, "{broken:#}");

    // An export for an auditor carries every entry.
    exec(&db, "UPDATE audit_log SET seq = 1000000 WHERE seq = 5").await;
    exec(&db, "UPDATE audit_log SET seq = 5 WHERE seq = 6").await;
    exec(&db, "UPDATE audit_log SET seq = 6 WHERE seq = 1000000").await;
    db.close().await;
    let out_dir = provider.folder.dir.path().join("audit-export");
    let export = passerelle(
        &["audit", "export", "--config", &provider.folder.config(), "--out", &out_dir.to_string_lossy()],
        &[],
    )
    .await;
    assert_eq!(export.code(), Some(0), "{}", export.stderr);
    let lines = std::fs::read_to_string(out_dir.join("audit-entries.jsonl")).expect("export");
    assert_eq!(lines.lines().count(), rows.len());
}
