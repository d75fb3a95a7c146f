//! `passerelle orders …`: the management API's order routes from the command line (the running connector owns
//! delivery, so the CLI asks it rather than writing to the store), and the text the commands print.

use serde_json::Value;

use crate::config::{ApiKeySource, Config};
use crate::secrets::ApiKey;

/// The management API of a running connector.
pub struct ManagementClient {
    base: String,
    key: ApiKey,
    http: reqwest::Client,
}

/// Why the API could not be asked (its refusals are answers, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(
        "the management API at {url} cannot be reached ({reason}); is `passerelle run` running? (--api names another address)"
    )]
    Unreachable { url: String, reason: String },
}

impl ManagementClient {
    /// The API at `api` (e.g. `http://127.0.0.1:8181`), or at the configured `management.bind`.
    pub fn new(config: &Config, api: Option<&str>) -> Result<ManagementClient, ClientError> {
        let key = match &config.management.api_key {
            ApiKeySource::Inline(key) => key.clone(),
            ApiKeySource::File(path) => ApiKey::read(path)?,
        };
        // reqwest is built without a default TLS crypto provider; install ours (a second install is a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let base = api.map(str::to_string).unwrap_or_else(|| format!("http://{}", config.management.bind));
        Ok(ManagementClient { base: base.trim_end_matches('/').to_string(), key, http: reqwest::Client::new() })
    }

    /// `method path` (`GET`, `POST`…) with an optional JSON body: the status and the JSON answer.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<(u16, Value), ClientError> {
        let url = format!("{}{path}", self.base);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = self.http.request(method, &url).header(crate::api::API_KEY_HEADER, self.key.expose());
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| ClientError::Unreachable { url: self.base.clone(), reason: crate::outbox::error_chain(&e) })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text))))
    }
}

/// A management path segment for an order id.
pub fn order_path(id: &str) -> String {
    format!("/api/v1/orders/{}", crate::api::percent_segment(id))
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

/// The state of an order or a log entry in words: `IN_PROGRESS(review)`.
fn state_words(v: &Value) -> String {
    match v["stage"].as_str() {
        Some(stage) => format!("{}({stage})", text(&v["state"])),
        None => text(&v["state"]).to_string(),
    }
}

/// `GET /api/v1/orders` as a table.
pub fn render_list(list: &Value) -> String {
    let mut out = format!("{:<46} {:<20} {:<12} {:<26} {}\n", "ID", "ORDER", "SIDE", "STATE", "UPDATED");
    for item in list["items"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "{:<46} {:<20} {:<12} {:<26} {}\n",
            text(&item["id"]),
            text(&item["orderId"]),
            text(&item["side"]),
            state_words(item),
            text(&item["updatedAt"]),
        ));
    }
    out
}

/// `GET /api/v1/orders/{id}` in words: where it stands, its risks, its log.
pub fn render_order(order: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!("order       {} ({})\n", text(&order["orderId"]), text(&order["id"])));
    out.push_str(&format!("we are the  {}\n", text(&order["side"])));
    out.push_str(&format!("agreement   {}\n", text(&order["agreementId"])));
    out.push_str(&format!("state       {}\n", text(&order["status"])));
    if let Some(delivery) = order["delivery"].as_str() {
        out.push_str(&format!("delivery    {delivery}\n"));
    }
    for alert in order["alerts"].as_array().into_iter().flatten() {
        out.push_str(&format!("alert       {}\n", text(&alert["message"])));
    }
    out.push_str("log\n");
    for entry in order["log"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {:>3}  {:<12} {:<20} → {:<24} {}\n",
            entry["seq"],
            text(&entry["sender"]),
            text(&entry["event"]["type"]),
            state_words(&entry["state"]),
            text(&entry["delivery"]),
        ));
    }
    for delivery in order["deliveries"].as_array().into_iter().flatten() {
        out.push_str(&format!("delivery {}  {}\n", delivery["seq"], delivery_words(delivery)));
    }
    out
}

/// How one delivery stands, in words: verified or not, the receipt, QC.
fn delivery_words(delivery: &Value) -> String {
    let files = delivery["manifest"]["files"].as_array().map_or(0, Vec::len);
    let mut words = vec![format!("{files} file(s)")];
    words.push(
        match delivery["intact"].as_bool() {
            Some(true) => "intact",
            Some(false) => "NOT INTACT",
            None => "not verified yet",
        }
        .to_string(),
    );
    match delivery["receiptVerified"].as_bool() {
        Some(true) => words.push("receipt verified".into()),
        Some(false) => words.push(format!("receipt NOT verified: {}", text(&delivery["receiptError"]))),
        None if delivery["receipt"].is_string() => words.push("receipt signed".into()),
        None => {}
    }
    if let Some(qc) = delivery["qc"].as_array().filter(|q| !q.is_empty()) {
        let failed = qc.iter().filter(|f| f["passed"] != true).count();
        words.push(if failed == 0 { "QC passed".into() } else { format!("QC failed ({failed} file(s))") });
    }
    if let Some(error) = delivery["intakeError"].as_str() {
        words.push(format!("waiting: {error}"));
    }
    words.join(", ")
}

/// A JSON argument given inline or as `@FILE`.
pub fn read_json_argument(argument: &str) -> Result<Value, String> {
    let text = match argument.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
        None => argument.to_string(),
    };
    serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_delivery_reads_as_its_verdicts() {
        let d = json!({"seq": 2, "manifest": {"files": [{}]}, "intact": true, "receipt": "a.b.c",
            "receiptVerified": true, "qc": [{"file": "fr.srt", "passed": false}]});
        assert_eq!(delivery_words(&d), "1 file(s), intact, receipt verified, QC failed (1 file(s))");
        let d = json!({"seq": 1, "manifest": {"files": [{}, {}]}, "intact": false, "qc": []});
        assert_eq!(delivery_words(&d), "2 file(s), NOT INTACT");
    }

    #[test]
    fn an_order_reads_as_its_state_and_log() {
        let order = json!({"id": "urn:uuid:1", "orderId": "PO-1", "side": "lab", "agreementId": "urn:a",
        "status": "QUOTED", "alerts": [{"message": "overdue"}], "log": [
            {"seq": 1, "sender": "distributor", "event": {"type": "OrderPlaced"}, "state": {"state": "REQUESTED"}, "delivery": "received"},
            {"seq": 2, "sender": "lab", "event": {"type": "StageProgress"}, "state": {"state": "IN_PROGRESS", "stage": "qc"}, "delivery": "pending"}
        ]});
        let text = render_order(&order);
        assert!(text.contains("order       PO-1 (urn:uuid:1)"), "{text}");
        assert!(text.contains("alert       overdue"), "{text}");
        assert!(text.contains("IN_PROGRESS(qc)") && text.contains("pending"), "{text}");
        let list = render_list(&json!({"items": [{"id": "urn:uuid:1", "orderId": "PO-1", "side": "lab",
            "state": "ACCEPTED", "updatedAt": "2026-01-01T00:00:00Z"}]}));
        assert!(list.starts_with("ID") && list.contains("ACCEPTED"), "{list}");
    }

    #[test]
    fn json_arguments_inline_or_from_a_file() {
        assert_eq!(read_json_argument(r#"{"type": "Accepted"}"#).unwrap()["type"], "Accepted");
        assert!(read_json_argument("@/nonexistent/event.json").unwrap_err().contains("cannot read"));
        assert!(read_json_argument("{").unwrap_err().contains("not JSON"));
    }
}
