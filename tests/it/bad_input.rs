//! Bad requests get a 4xx with a typed reason, never a 500, and change nothing.

use reqwest::Method;
use serde_json::{Value, json};

use crate::support::{Folder, Running};

/// How a request authenticates.
#[derive(Clone, Copy)]
enum Auth {
    Key,
    None,
    WrongKey,
    WrongBearer,
}

/// One row of the table: what is sent and what must come back.
struct Case {
    what: &'static str,
    method: Method,
    path: &'static str,
    auth: Auth,
    content_type: Option<&'static str>,
    body: Option<String>,
    status: u16,
    error: &'static str,
    /// The `field` the error must name (a prefix is enough for long JSON paths).
    field: Option<&'static str>,
}

fn case(
    what: &'static str,
    method: Method,
    path: &'static str,
    body: Option<Value>,
    status: u16,
    error: &'static str,
) -> Case {
    Case {
        what,
        method,
        path,
        auth: Auth::Key,
        content_type: body.as_ref().map(|_| "application/json"),
        body: body.map(|b| b.to_string()),
        status,
        error,
        field: None,
    }
}

impl Case {
    fn field(mut self, field: &'static str) -> Case {
        self.field = Some(field);
        self
    }
    fn auth(mut self, auth: Auth) -> Case {
        self.auth = auth;
        self
    }
    fn raw(mut self, content_type: Option<&'static str>, body: &str) -> Case {
        self.content_type = content_type;
        self.body = Some(body.to_string());
        self
    }
}

const WRONG_KEY: &str = "not-the-key-but-a-secret-of-something-else";

fn table() -> Vec<Case> {
    let movie = json!({"id": "w1", "kind": "movie", "title": "The Counselor"});
    let policy_with = |constraint: Value| json!({"@id": "urn:p:bad", "@type": "Offer", "permission": [{"action": "use", "constraint": [constraint]}]});
    vec![
        case("malformed JSON", Method::POST, "/api/v1/works", None, 400, "malformed_json")
            .raw(Some("application/json"), "{\"id\": \"w2\", \"kind\": "),
        case("not JSON at all", Method::POST, "/api/v1/works", None, 400, "malformed_json")
            .raw(Some("application/json"), "id=w2&kind=movie"),
        case("wrong content type", Method::POST, "/api/v1/works", None, 415, "unsupported_media_type")
            .raw(Some("text/plain"), &movie.to_string()),
        case("no content type", Method::POST, "/api/v1/works", None, 415, "unsupported_media_type")
            .raw(None, &movie.to_string()),
        case("wrong type", Method::POST, "/api/v1/works", Some(json!({"id": "w2", "kind": "movie", "title": 42})), 422, "invalid_field")
            .field("title"),
        case("missing member", Method::POST, "/api/v1/works", Some(json!({"id": "w2", "kind": "movie"})), 422, "invalid_field")
            .field("title"),
        case("unknown enum value", Method::POST, "/api/v1/works", Some(json!({"id": "w2", "kind": "film-noir", "title": "T"})), 422, "invalid_field")
            .field("kind"),
        case(
            "invalid EIDR check character",
            Method::POST,
            "/api/v1/works",
            Some(json!({"id": "w2", "kind": "movie", "title": "T", "eidr": "10.5240/7EC7-228A-510A-053E-CBB8-K"})),
            422,
            "invalid_field",
        )
        .field("eidr"),
        case(
            "invalid language deep inside",
            Method::POST,
            "/api/v1/works",
            Some(json!({"id": "w2", "kind": "movie", "title": "T", "titles": [{"language": "fr", "title": "a"}, {"language": "??", "title": "b"}]})),
            422,
            "invalid_field",
        )
        .field("titles[1].language"),
        case(
            "invalid territory in a window",
            Method::POST,
            "/api/v1/works/w1/rights",
            Some(json!({"id": "r9", "license_type": "SVOD", "territories": ["FR", "QQ"]})),
            422,
            "invalid_field",
        )
        .field("territories[1]"),
        case(
            "window ending before it starts",
            Method::POST,
            "/api/v1/works/w1/rights",
            Some(json!({"id": "r9", "license_type": "SVOD", "territories": ["FR"], "start": "2027-01-01T00:00:00Z", "end": "2026-01-01T00:00:00Z"})),
            422,
            "invalid_field",
        )
        .field("end"),
        case("version under another work", Method::POST, "/api/v1/works/w1/versions", Some(json!({"id": "v9", "work_id": "w-other", "kind": "edit"})), 422, "invalid_field")
            .field("work_id"),
        case("id differs from URL", Method::PUT, "/api/v1/works/w1", Some(json!({"id": "w3", "kind": "movie", "title": "T"})), 422, "invalid_field")
            .field("id"),
        case("duplicate id", Method::POST, "/api/v1/works", Some(movie.clone()), 409, "conflict"),
        case("unknown policy operand", Method::POST, "/api/v1/policies", Some(policy_with(json!({"leftOperand": "moonPhase", "operator": "eq", "rightOperand": "full"}))), 422, "invalid_policy")
            .field("permission[0].constraint[0].leftOperand"),
        case("malformed right operand", Method::POST, "/api/v1/policies", Some(policy_with(json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "XX"}))), 422, "invalid_policy")
            .field("permission[0].constraint[0].rightOperand"),
        case("unknown operator", Method::POST, "/api/v1/policies", Some(policy_with(json!({"leftOperand": "spatial", "operator": "near", "rightOperand": "FR"}))), 422, "invalid_policy")
            .field("permission[0].constraint[0].operator"),
        case("policy in use", Method::DELETE, "/api/v1/policies/urn:p:good", None, 409, "conflict"),
        case("offer definition with unknown policy", Method::POST, "/api/v1/offer-definitions", Some(json!({"id": "d9", "title": "D", "policy_id": "urn:p:none"})), 422, "invalid_field")
            .field("policy_id"),
        case("offer definition with a bad id", Method::POST, "/api/v1/offer-definitions", Some(json!({"id": "a b/c", "title": "D", "policy_id": "urn:p:good"})), 422, "invalid_field")
            .field("id"),
        case("selector with unknown criterion", Method::POST, "/api/v1/offer-definitions", Some(json!({"id": "d9", "title": "D", "policy_id": "urn:p:good", "selector": {"territory": ["FR"]}})), 422, "invalid_field")
            .field("selector"),
        case("missing auth", Method::GET, "/api/v1/works", None, 401, "unauthorized").auth(Auth::None),
        case("wrong key", Method::GET, "/api/v1/works", None, 401, "unauthorized").auth(Auth::WrongKey),
        case("wrong bearer token", Method::POST, "/api/v1/works", Some(movie.clone()), 401, "unauthorized").auth(Auth::WrongBearer),
        case("unknown work", Method::GET, "/api/v1/works/no-such-work", None, 404, "not_found"),
        case("unknown work's versions", Method::GET, "/api/v1/works/no-such-work/versions", None, 404, "not_found"),
        case("version of an unknown work", Method::POST, "/api/v1/works/no-such-work/versions", Some(json!({"id": "v9", "kind": "edit"})), 404, "not_found"),
        case("unknown version", Method::GET, "/api/v1/works/w1/versions/no-such-version", None, 404, "not_found"),
        case("unknown rights window", Method::DELETE, "/api/v1/works/w1/rights/no-such-window", None, 404, "not_found"),
        case("unknown policy", Method::GET, "/api/v1/policies/urn:p:none", None, 404, "not_found"),
        case("unknown offer definition", Method::DELETE, "/api/v1/offer-definitions/none", None, 404, "not_found"),
        case("unknown endpoint", Method::GET, "/api/v1/films", None, 404, "not_found"),
        case("wrong method", Method::PATCH, "/api/v1/works/w1", None, 405, "method_not_allowed"),
        case("limit zero", Method::GET, "/api/v1/works?limit=0", None, 400, "invalid_query").field("limit"),
        case("limit not a number", Method::GET, "/api/v1/works?limit=ten", None, 400, "invalid_query").field("limit"),
        case("limit too large", Method::GET, "/api/v1/works?limit=100000", None, 400, "invalid_query").field("limit"),
        case("negative limit", Method::GET, "/api/v1/policies?limit=-1", None, 400, "invalid_query").field("limit"),
        case("unknown query parameter", Method::GET, "/api/v1/works?page=2", None, 400, "invalid_query"),
        case("filter with an unknown kind", Method::GET, "/api/v1/works?kind=film-noir", None, 400, "invalid_query").field("kind"),
        case("filter with an invalid EIDR", Method::GET, "/api/v1/works?eidr=10.5240/XXXX", None, 400, "invalid_query").field("eidr"),
        case("foreign cursor", Method::GET, "/api/v1/imports?cursor=abc", None, 400, "invalid_query").field("cursor"),
    ]
}

async fn send(running: &Running, c: &Case) -> reqwest::Response {
    let url = format!("{}{}", running.management, c.path);
    let mut req = running.http.request(c.method.clone(), url);
    req = match c.auth {
        Auth::Key => req.header("X-Api-Key", &running.api_key),
        Auth::None => req,
        Auth::WrongKey => req.header("X-Api-Key", WRONG_KEY),
        Auth::WrongBearer => req.header("Authorization", format!("Bearer {WRONG_KEY}")),
    };
    if let Some(ct) = c.content_type {
        req = req.header("Content-Type", ct);
    }
    if let Some(body) = &c.body {
        req = req.body(body.clone());
    }
    req.send().await.expect("request is answered")
}

#[tokio::test]
async fn every_bad_request_gets_a_typed_4xx() {
    let folder = Folder::init("distributor").await;
    let running = folder.run().await;

    // Something to conflict with and to refer to.
    let movie = json!({"id": "w1", "kind": "movie", "title": "The Counselor"});
    assert_eq!(running.api_json(Method::POST, "/api/v1/works", &movie).await.0, 201);
    let good = json!({"@id": "urn:p:good", "@type": "Offer", "permission": [{"action": "use"}]});
    assert_eq!(running.api_json(Method::POST, "/api/v1/policies", &good).await.0, 201);
    let def = json!({"id": "all", "title": "All", "policy_id": "urn:p:good"});
    assert_eq!(running.api_json(Method::POST, "/api/v1/offer-definitions", &def).await.0, 201);

    let mut failures = Vec::new();
    for c in table() {
        let response = send(&running, &c).await;
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body["message"].as_str().unwrap_or_default();
        let field = body["field"].as_str();
        let ok = status == c.status
            && body["error"] == c.error
            && message.len() > 10
            && c.field.is_none_or(|want| field.is_some_and(|f| f.starts_with(want)))
            && !message.contains(WRONG_KEY)
            && !message.contains(&running.api_key);
        if !ok {
            failures.push(format!(
                "{}: expected {} {} field {:?}, got {status} {body}",
                c.what, c.status, c.error, c.field
            ));
        }
    }
    assert!(failures.is_empty(), "{} case(s) failed:\n{}", failures.len(), failures.join("\n"));

    // An oversized body is refused without reading it all.
    let huge = format!("{{\"id\": \"big\", \"kind\": \"movie\", \"title\": \"{}\"}}", "x".repeat(3 << 20));
    let response = running
        .api(Method::POST, "/api/v1/works")
        .header("Content-Type", "application/json")
        .body(huge)
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 413);
    assert_eq!(
        response.headers().get("connection").and_then(|v| v.to_str().ok()),
        Some("close"),
        "a 413 leaves unread bytes on the connection: the server must close it, not let the client reuse it"
    );
    let body: Value = response.json().await.expect("typed body");
    assert_eq!(body["error"], "payload_too_large");

    // The DSP side refuses bad catalog requests the same way.
    let response = running
        .http
        .post(format!("{}/dsp/2025-1/catalog/request", running.protocol))
        .header("Content-Type", "application/json")
        .body("{\"@type\": ")
        .send()
        .await
        .expect("answered");
    assert_eq!(response.status().as_u16(), 400);

    // Nothing was altered by all of the above.
    let (status, work) = running.api_json(Method::GET, "/api/v1/works/w1", &Value::Null).await;
    assert_eq!((status, work), (200, movie));
    let list: Value = running.api(Method::GET, "/api/v1/works").send().await.expect("list").json().await.expect("json");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let health = running.http.get(format!("{}/health", running.management)).send().await.expect("health");
    assert_eq!(health.status().as_u16(), 200);
    assert!(running.stop().await.success());
}
