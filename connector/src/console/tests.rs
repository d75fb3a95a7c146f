//! The console's authentication, CSRF and error pages, through the real management router.

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{Request, StatusCode};
use tower::ServiceExt;

use super::*;
use crate::api::{ApiState, management_router};

const KEY: &str = "console-test-key-0123456789abcdef";

async fn app() -> Router {
    let store = Store::open_in_memory().await.expect("store");
    let processes = Processes::new(store.clone(), "did:web:console.test", "http://127.0.0.1:9");
    let console = ConsoleState::new(store.clone(), processes, ApiKey::new(KEY), |_: &str| None);
    management_router(ApiState::new(store, ApiKey::new(KEY))).nest(BASE, router(console))
}

struct Answer {
    status: StatusCode,
    location: Option<String>,
    cookies: Vec<String>,
    body: String,
}

async fn call(app: &Router, method: &str, uri: &str, cookie: Option<&str>, form: Option<String>) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(cookie) = cookie {
        request = request.header(COOKIE, cookie);
    }
    let body = match form {
        Some(form) => {
            request = request.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            Body::from(form)
        }
        None => Body::empty(),
    };
    let response = app.clone().oneshot(request.body(body).expect("request")).await.expect("response");
    let status = response.status();
    let location = response.headers().get(LOCATION).map(|v| v.to_str().unwrap().to_string());
    let cookies = response.headers().get_all(SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.expect("body");
    Answer { status, location, cookies, body: String::from_utf8_lossy(&bytes).into_owned() }
}

/// The `name=value` part of the first Set-Cookie for `name`.
fn cookie_pair(answer: &Answer, name: &str) -> Option<String> {
    answer.cookies.iter().find(|c| c.starts_with(&format!("{name}="))).map(|c| c.split(';').next().unwrap().to_string())
}

fn csrf_in(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[start..].split('"').next().unwrap().to_string()
}

fn form(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

/// Logs in and returns the session cookie pair.
async fn log_in(app: &Router) -> String {
    let page = call(app, "GET", "/console/login", None, None).await;
    let login_cookie = cookie_pair(&page, LOGIN_COOKIE).expect("login cookie");
    let token = csrf_in(&page.body);
    let done =
        call(app, "POST", "/console/login", Some(&login_cookie), Some(form(&[("csrf", &token), ("api_key", KEY)])))
            .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/console"));
    cookie_pair(&done, SESSION_COOKIE).expect("session cookie")
}

#[tokio::test]
async fn pages_need_a_session_and_redirect_to_login() {
    let app = app().await;
    for uri in ["/console", "/console/contracts", "/console/transfers/urn:x", "/console/nowhere"] {
        let answer = call(&app, "GET", uri, None, None).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(answer.location.as_deref(), Some("/console/login"), "{uri}");
    }
    let forged = call(&app, "GET", "/console", Some("passerelle_console=00ff"), None).await;
    assert_eq!(forged.status, StatusCode::SEE_OTHER, "an unknown session id is no session");
    // The stylesheet and the login page are public (they hold no data); the API is untouched.
    assert_eq!(call(&app, "GET", "/console/style.css", None, None).await.status, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/health", None, None).await.status, StatusCode::OK);
    assert_eq!(call(&app, "GET", "/api/v1/works", None, None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn login_checks_the_key_and_the_form_token() {
    let app = app().await;
    let page = call(&app, "GET", "/console/login", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    let login_cookie = cookie_pair(&page, LOGIN_COOKIE).expect("login cookie");
    let token = csrf_in(&page.body);
    assert!(page.body.contains("type=\"password\""));

    let wrong = "not-the-key-but-a-guess-123456";
    let refused =
        call(&app, "POST", "/console/login", Some(&login_cookie), Some(form(&[("csrf", &token), ("api_key", wrong)])))
            .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(cookie_pair(&refused, SESSION_COOKIE).is_none());
    assert!(!refused.body.contains(wrong), "what was typed is never echoed");

    // The right key from a form this console did not hand out (no or another token) is refused.
    let forged = call(&app, "POST", "/console/login", None, Some(form(&[("csrf", &token), ("api_key", KEY)]))).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(cookie_pair(&forged, SESSION_COOKIE).is_none());
    let other =
        call(&app, "POST", "/console/login", Some(&login_cookie), Some(form(&[("csrf", "0123"), ("api_key", KEY)])))
            .await;
    assert_eq!(other.status, StatusCode::FORBIDDEN);

    let done =
        call(&app, "POST", "/console/login", Some(&login_cookie), Some(form(&[("csrf", &token), ("api_key", KEY)])))
            .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let set = done.cookies.iter().find(|c| c.starts_with(SESSION_COOKIE)).expect("session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console", "Max-Age=28800"] {
        assert!(set.contains(attribute), "{set}");
    }
    let session = cookie_pair(&done, SESSION_COOKIE).unwrap();
    assert_eq!(session.len(), SESSION_COOKIE.len() + 1 + 64, "256-bit id");
    let overview = call(&app, "GET", "/console", Some(&session), None).await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("Overview") && overview.body.contains("Subtitle orders"));
    assert!(!overview.body.contains(KEY), "the key is never in a page");
    // Already logged in: the login page sends to the console.
    assert_eq!(call(&app, "GET", "/console/login", Some(&session), None).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn logout_needs_the_session_token() {
    let app = app().await;
    let session = log_in(&app).await;
    let page = call(&app, "GET", "/console/contracts", Some(&session), None).await;
    let token = csrf_in(&page.body);

    let no_token = call(&app, "POST", "/console/logout", Some(&session), Some(String::new())).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let bad_token = call(&app, "POST", "/console/logout", Some(&session), Some(form(&[("csrf", "abc")]))).await;
    assert_eq!(bad_token.status, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, "GET", "/console", Some(&session), None).await.status, StatusCode::OK, "still logged in");

    let out = call(&app, "POST", "/console/logout", Some(&session), Some(form(&[("csrf", &token)]))).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/console/login"));
    assert!(out.cookies.iter().any(|c| c.starts_with("passerelle_console=;") && c.contains("Max-Age=0")));
    assert_eq!(call(&app, "GET", "/console", Some(&session), None).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn unknown_things_are_404_pages_and_bad_queries_400() {
    let app = app().await;
    let session = log_in(&app).await;
    for uri in [
        "/console/contracts/urn:uuid:nope",
        "/console/negotiations/urn:uuid:nope",
        "/console/transfers/urn:uuid:nope",
        "/console/nowhere",
    ] {
        let answer = call(&app, "GET", uri, Some(&session), None).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert!(answer.body.contains("<h1>Not found</h1>"), "{uri}: {}", answer.body);
    }
    for uri in [
        "/console/negotiations?state=BOGUS",
        "/console/transfers?limit=abc",
        "/console/contracts?limit=0",
        "/console/audit?cursor=x",
    ] {
        let answer = call(&app, "GET", uri, Some(&session), None).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{uri}: {}", answer.body);
    }
    for uri in [
        "/console",
        "/console/contracts",
        "/console/negotiations",
        "/console/transfers",
        "/console/offers",
        "/console/works",
        "/console/audit",
    ] {
        let answer = call(&app, "GET", uri, Some(&session), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{uri}: {}", answer.body);
    }
}

#[tokio::test]
async fn pages_forbid_scripts_and_caching() {
    let app = app().await;
    let session = log_in(&app).await;
    let request = Request::get("/console").header(COOKIE, &session).body(Body::empty()).unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let csp = response.headers().get("content-security-policy").unwrap().to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");
}

#[tokio::test]
async fn audit_verification_runs_in_the_background_with_the_session_token() {
    let app = app().await;
    let session = log_in(&app).await;
    let token = csrf_in(&call(&app, "GET", "/console/audit", Some(&session), None).await.body);
    let refused = call(&app, "POST", "/console/audit/verify", Some(&session), Some(String::new())).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let started = call(&app, "POST", "/console/audit/verify", Some(&session), Some(form(&[("csrf", &token)]))).await;
    assert_eq!(started.status, StatusCode::SEE_OTHER);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = call(&app, "GET", "/console/audit", Some(&session), None).await;
        if page.body.contains("Intact: 0 entries") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "verification did not finish: {}", page.body);
        tokio::task::yield_now().await;
    }
}
