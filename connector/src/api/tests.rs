//! The management router in process (tower `oneshot`), no socket.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt;

use super::*;

const KEY: &str = "test-key-0123456789abcdef";

async fn app() -> Router {
    let store = Store::open_in_memory().await.unwrap();
    management_router(ApiState::new(store, ApiKey::new(KEY)))
}

async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, Value, axum::http::HeaderMap) {
    let mut req = Request::builder().method(method).uri(uri).header("x-api-key", KEY);
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let json = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
    (status, json, headers)
}

fn movie(id: &str) -> Value {
    json!({"id": id, "kind": "movie", "title": "The Counselor", "eidr": "10.5240/AD07-310C-C59D-6785-C63A-G"})
}

#[tokio::test]
async fn works_versions_and_rights_round_trip() {
    let app = app().await;
    let (s, body, headers) = call(&app, "POST", "/api/v1/works", Some(movie("10.5240/AD07"))).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(headers[header::LOCATION], "/api/v1/works/10.5240%2FAD07");
    let (s, body, _) = call(&app, "GET", "/api/v1/works/10.5240%2FAD07", None).await;
    assert_eq!((s, body["title"].as_str()), (StatusCode::OK, Some("The Counselor")));

    let (s, _, _) = call(&app, "POST", "/api/v1/works", Some(movie("10.5240/AD07"))).await;
    assert_eq!(s, StatusCode::CONFLICT);

    let version = json!({"id": "v1", "kind": "edit", "label": "Theatrical", "audio_languages": ["en"]});
    let (s, body, _) = call(&app, "POST", "/api/v1/works/10.5240%2FAD07/versions", Some(version)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["work_id"], "10.5240/AD07");
    let rights = json!({"id": "r1", "license_type": "SVOD", "territories": ["FR"], "start": "2026-01-01T00:00:00Z"});
    let (s, _, _) = call(&app, "POST", "/api/v1/works/10.5240%2FAD07/rights", Some(rights.clone())).await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body, _) = call(&app, "PUT", "/api/v1/works/10.5240%2FAD07/rights/r1", Some(rights)).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (_, body, _) = call(&app, "GET", "/api/v1/works/10.5240%2FAD07/rights", None).await;
    assert_eq!(body["items"].as_array().map(Vec::len), Some(1));

    let mut renamed = movie("10.5240/AD07");
    renamed["title"] = json!("The Counselor (Extended)");
    let (s, _, _) = call(&app, "PUT", "/api/v1/works/10.5240%2FAD07", Some(renamed)).await;
    assert_eq!(s, StatusCode::OK);
    let (s, _, _) = call(&app, "PUT", "/api/v1/works/new-one", Some(movie("new-one"))).await;
    assert_eq!(s, StatusCode::CREATED);

    let (s, body, _) = call(&app, "GET", "/api/v1/works?limit=1&title=counselor", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body["items"][0]["title"], "The Counselor (Extended)");
    let cursor = body["next_cursor"].as_str().unwrap().to_string();
    let (_, body, _) =
        call(&app, "GET", &format!("/api/v1/works?limit=1&cursor={}", percent_segment(&cursor)), None).await;
    assert_eq!(body["items"][0]["id"], "new-one");
    assert!(body["next_cursor"].is_null());

    let (s, _, _) = call(&app, "DELETE", "/api/v1/works/10.5240%2FAD07", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _, _) = call(&app, "GET", "/api/v1/works/10.5240%2FAD07/versions/v1", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn policies_are_validated_and_offer_definitions_reference_them() {
    let app = app().await;
    let policy = json!({"@id": "urn:policy:fr", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["FR", "BE"]}]}]});
    let (s, body, _) = call(&app, "POST", "/api/v1/policies", Some(policy.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert!(body["description"].as_str().is_some_and(|d| !d.is_empty()));
    let (s, _, _) = call(&app, "PUT", "/api/v1/policies/urn:policy:fr", Some(policy)).await;
    assert_eq!(s, StatusCode::OK);

    let mut bad = json!({"@id": "urn:policy:bad", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
        {"leftOperand": "moonPhase", "operator": "eq", "rightOperand": "full"}]}]});
    let (s, body, _) = call(&app, "POST", "/api/v1/policies", Some(bad.clone())).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_policy")));
    assert!(body["field"].as_str().is_some_and(|f| f.contains("constraint[1]")), "{body}");
    bad["@id"] = json!("urn:policy:other");
    let (s, body, _) = call(&app, "PUT", "/api/v1/policies/urn:policy:fr", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let def = json!({"id": "fr", "title": "France", "selector": {"territories": ["FR"]}, "policy_id": "urn:policy:fr"});
    let (s, body, _) = call(&app, "POST", "/api/v1/offer-definitions", Some(def)).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["dataset_id"], "collection:fr");
    let orphan = json!({"id": "x", "title": "X", "policy_id": "urn:policy:none"});
    let (s, body, _) = call(&app, "POST", "/api/v1/offer-definitions", Some(orphan)).await;
    assert_eq!((s, body["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("policy_id")));
    let (s, body, _) = call(&app, "DELETE", "/api/v1/policies/urn:policy:fr", None).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    let (_, body, _) = call(&app, "GET", "/api/v1/offer-definitions", None).await;
    assert_eq!(body["items"][0]["selects"], "works with a rights window in FR");
}

#[tokio::test]
async fn health_and_openapi_need_no_key_everything_else_does() {
    let app = app().await;
    for (uri, expected) in [
        ("/health", StatusCode::OK),
        ("/api/v1/openapi.json", StatusCode::OK),
        ("/api/v1/works", StatusCode::UNAUTHORIZED),
        ("/api/v1/nothing-here", StatusCode::UNAUTHORIZED),
    ] {
        let response = app.clone().oneshot(Request::get(uri).body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), expected, "{uri}");
    }
    let bearer = Request::get("/api/v1/works").header("authorization", format!("Bearer {KEY}")).body(Body::empty());
    assert_eq!(app.clone().oneshot(bearer.unwrap()).await.unwrap().status(), StatusCode::OK);
    let (s, body, _) = call(&app, "GET", "/api/v1/nothing-here", None).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    let (s, body, _) = call(&app, "PATCH", "/api/v1/works", None).await;
    assert_eq!((s, body["error"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
}

#[test]
fn openapi_documents_every_route_and_both_auth_schemes() {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
    for path in [
        "/health",
        "/api/v1/works",
        "/api/v1/works/{id}",
        "/api/v1/works/{id}/versions",
        "/api/v1/works/{id}/versions/{version_id}",
        "/api/v1/works/{id}/rights",
        "/api/v1/works/{id}/rights/{rights_id}",
        "/api/v1/policies",
        "/api/v1/policies/{id}",
        "/api/v1/offer-definitions",
        "/api/v1/offer-definitions/{id}",
        "/api/v1/imports",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc["components"]["securitySchemes"]["api_key"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    for schema in ["Work", "Version", "RightsWindow", "ErrorBody", "SubtitleTrack"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} missing");
    }
}
