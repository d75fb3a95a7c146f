//! The operator console: server-rendered HTML under `/console` on the management listener.
//!
//! No JavaScript at all: pages are plain HTML with links and forms, styled by one stylesheet the
//! console serves itself (nothing is loaded from elsewhere; a `Content-Security-Policy` forbids it).
//! Every value goes through `maud`, which HTML-escapes it.
//!
//! Authentication is the management API key, typed once into `/console/login` (compared in
//! constant time) and exchanged for a session cookie ([`session`]): a random 256-bit id,
//! `HttpOnly; SameSite=Strict; Path=/console`, 8 hours, kept in memory. The key itself never
//! appears in a page, a URL or a log line. State-changing forms (login, logout, audit verification)
//! are POSTs carrying a CSRF token: the login form a double-submit token (its own short-lived cookie),
//! the others the session's token.
//!
//! Lists read the store directly with keyset paging (`WHERE key > cursor ORDER BY key LIMIT n+1`),
//! so a page costs the same on the 100,000th row as on the first; details load one process through
//! [`crate::contracts::Processes`].
//!
//! Routes (relative to `/console`): `/` overview, `/contracts[/{id}]`, `/negotiations[/{pid}]`,
//! `/transfers[/{pid}]`, `/orders[/{id}]`, `/offers`, `/works`, `/audit`, `POST /audit/verify`, `/login`,
//! `POST /logout`, `/style.css`.

mod audit;
mod catalogue;
mod contracts;
mod layout;
mod orders;
mod overview;
mod processes;
mod queries;
pub mod service;
mod session;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use passerelle_audit::KeyResolver;
use passerelle_identity::keys::PublicKey;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::contracts::{ProcessError, Processes};
use crate::secrets::ApiKey;
use crate::store::Store;
use session::{
    LOGIN_COOKIE, LOGIN_FORM_LIFETIME, SESSION_COOKIE, SESSION_LIFETIME, Session, Sessions, clear_cookie, cookie,
    random_token, set_cookie, tokens_match,
};

/// Where the console is mounted on the management listener.
pub const BASE: &str = "/console";

/// What the console's handlers share (cheap to clone).
#[derive(Clone)]
pub struct ConsoleState {
    inner: Arc<Inner>,
}

/// What opens a console: the key typed at login, the sessions it opened, and where the key is kept (shown on the
/// login page). The connector's console and the catalogue service's share it.
pub(crate) struct Gate {
    api_key: ApiKey,
    sessions: Sessions,
    key_hint: &'static str,
}

impl Gate {
    pub(crate) fn new(api_key: ApiKey, key_hint: &'static str) -> Gate {
        Gate { api_key, sessions: Sessions::new(SESSION_LIFETIME), key_hint }
    }
}

/// A console's state: what its login, logout and session check need.
pub(crate) trait Gated: Clone + Send + Sync + 'static {
    fn gate(&self) -> &Gate;
}

impl Gated for ConsoleState {
    fn gate(&self) -> &Gate {
        &self.inner.gate
    }
}

struct Inner {
    store: Store,
    processes: Processes,
    /// Subtitle orders, read through the same view the API gives.
    orders: crate::exchange::Orders,
    gate: Gate,
    /// The keys that may sign audit checkpoints (this connector's published keys).
    keys: Box<dyn KeyResolver + Send + Sync>,
    /// The last audit verification, and whether one is running ([`audit`]).
    verification: Mutex<audit::VerificationState>,
}

impl ConsoleState {
    /// A console over `processes` (and its store), opened with `api_key`, verifying audit
    /// checkpoints against `keys`.
    pub fn new(
        store: Store,
        processes: Processes,
        api_key: ApiKey,
        keys: impl KeyResolver + Send + Sync + 'static,
    ) -> ConsoleState {
        ConsoleState {
            inner: Arc::new(Inner {
                store,
                orders: crate::exchange::Orders::new(processes.clone()),
                processes,
                gate: Gate::new(api_key, "management.api_key_file"),
                keys: Box::new(keys),
                verification: Mutex::new(audit::VerificationState::default()),
            }),
        }
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    fn processes(&self) -> &Processes {
        &self.inner.processes
    }

    fn orders(&self) -> &crate::exchange::Orders {
        &self.inner.orders
    }

    fn pool(&self) -> &sqlx::SqlitePool {
        self.inner.store.pool()
    }

    fn resolve_key(&self, kid: &str) -> Option<PublicKey> {
        self.inner.keys.resolve(kid)
    }
}

/// The console's router, to be nested at [`BASE`].
pub fn router(state: ConsoleState) -> Router {
    let protected = Router::new()
        .route("/", get(overview::page))
        .route("/contracts", get(contracts::list))
        .route("/contracts/{id}", get(contracts::detail))
        .route("/negotiations", get(processes::negotiations))
        .route("/negotiations/{pid}", get(processes::negotiation))
        .route("/transfers", get(processes::transfers))
        .route("/transfers/{pid}", get(processes::transfer))
        .route("/offers", get(catalogue::offers))
        .route("/works", get(catalogue::works))
        .route("/audit", get(audit::page))
        .route("/audit/verify", post(audit::verify))
        .route("/orders", get(orders::list))
        .route("/orders/{id}", get(orders::detail))
        .route("/logout", post(logout::<ConsoleState>))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), require_session::<ConsoleState>));
    gated(protected, state)
}

/// `protected` behind the login, with the login page, the stylesheet and the security headers.
pub(crate) fn gated<S: Gated>(protected: Router<S>, state: S) -> Router {
    Router::new()
        .route("/login", get(login_form::<S>).post(login::<S>))
        .route("/style.css", get(stylesheet))
        .merge(protected)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(security_headers))
        .with_state(state)
}

/// Lets requests with a live session through (the session in the request's extensions); sends
/// everyone else to the login page.
pub(crate) async fn require_session<S: Gated>(State(state): State<S>, mut request: Request, next: Next) -> Response {
    let session = cookie(request.headers(), SESSION_COOKIE).and_then(|id| state.gate().sessions.get(&id));
    match session {
        Some(session) => {
            request.extensions_mut().insert(session);
            next.run(request).await
        }
        None => see_other(&format!("{BASE}/login")),
    }
}

/// No script, no frame, nothing from elsewhere, nothing cached: pages hold contract data.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        HeaderName::from_static("content-security-policy"),
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; \
         base-uri 'none'",
    );
    set(headers, HeaderName::from_static("x-content-type-options"), "nosniff");
    set(headers, HeaderName::from_static("referrer-policy"), "no-referrer");
    set(headers, HeaderName::from_static("x-frame-options"), "DENY");
    if !headers.contains_key(CACHE_CONTROL) {
        set(headers, CACHE_CONTROL, "no-store");
    }
    response
}

/// `303 See Other` to `location` (a path of ours).
fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    response
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

async fn stylesheet() -> Response {
    let mut response = include_str!("style.css").into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/css; charset=utf-8"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

/// The login form. Sets a fresh login token both as a short-lived cookie and in the form, so a
/// form posted from another site (which can set neither) is refused.
async fn login_form<S: Gated>(State(state): State<S>, request: Request) -> Response {
    let logged_in = cookie(request.headers(), SESSION_COOKIE).and_then(|id| state.gate().sessions.get(&id));
    if logged_in.is_some() {
        return see_other(BASE);
    }
    login_page(StatusCode::OK, None, state.gate().key_hint)
}

fn login_page(status: StatusCode, problem: Option<&str>, key_hint: &str) -> Response {
    let Some(token) = random_token() else {
        return PageError::Unavailable.into_response();
    };
    let page = layout::login(&token, problem, key_hint);
    let response = layout::html(status, page);
    with_cookie(response, &set_cookie(LOGIN_COOKIE, &token, &format!("{BASE}/login"), LOGIN_FORM_LIFETIME))
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    api_key: String,
}

async fn login<S: Gated>(State(state): State<S>, request: Request) -> Response {
    let hint = state.gate().key_hint;
    let form_cookie = cookie(request.headers(), LOGIN_COOKIE).unwrap_or_default();
    let body = match axum::body::to_bytes(request.into_body(), 64 * 1024).await {
        Ok(body) => body,
        Err(_) => return PageError::BadRequest("the login form is too large".into()).into_response(),
    };
    // The key is never logged or echoed: a parse failure reports nothing of the body.
    let Ok(form) = serde_urlencoded::from_bytes::<LoginForm>(&body) else {
        return login_page(StatusCode::BAD_REQUEST, Some("The form could not be read; please try again."), hint);
    };
    if !tokens_match(&form_cookie, &form.csrf) {
        return login_page(
            StatusCode::FORBIDDEN,
            Some("This login form has expired or was not sent from this console; please try again."),
            hint,
        );
    }
    if !state.gate().api_key.matches(form.api_key.trim()) {
        tracing::info!("console: login refused (wrong API key)");
        return login_page(StatusCode::UNAUTHORIZED, Some("That is not this service's API key."), hint);
    }
    let Some((id, _)) = state.gate().sessions.create() else {
        return PageError::Unavailable.into_response();
    };
    tracing::info!("console: operator logged in");
    let response = with_cookie(see_other(BASE), &set_cookie(SESSION_COOKIE, &id, BASE, SESSION_LIFETIME));
    with_cookie(response, &clear_cookie(LOGIN_COOKIE, &format!("{BASE}/login")))
}

/// A POSTed form with the session's CSRF token.
#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// Checks the CSRF token of a state-changing form against the session's.
fn check_csrf(session: &Session, body: &Bytes) -> Result<(), PageError> {
    let form: TokenForm = serde_urlencoded::from_bytes(body).map_err(|_| PageError::Forbidden)?;
    if tokens_match(&session.csrf, &form.csrf) { Ok(()) } else { Err(PageError::Forbidden) }
}

async fn logout<S: Gated>(
    State(state): State<S>,
    axum::Extension(session): axum::Extension<Session>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Result<Response, PageError> {
    check_csrf(&session, &body)?;
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        state.gate().sessions.remove(&id);
    }
    tracing::info!("console: operator logged out");
    Ok(with_cookie(see_other(&format!("{BASE}/login")), &clear_cookie(SESSION_COOKIE, BASE)))
}

pub(crate) async fn not_found() -> PageError {
    PageError::NotFound { kind: "page", id: None }
}

async fn method_not_allowed() -> Response {
    layout::html(
        StatusCode::METHOD_NOT_ALLOWED,
        layout::problem("Not allowed", "This page does not accept that method."),
    )
}

/// What a console page answers instead of its content. Never a 500: store trouble is a 503 page
/// whose cause goes to the log only.
#[derive(Debug)]
pub(crate) enum PageError {
    NotFound { kind: &'static str, id: Option<String> },
    BadRequest(String),
    Forbidden,
    Unavailable,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, text) = match self {
            PageError::NotFound { kind, id: Some(id) } => {
                (StatusCode::NOT_FOUND, "Not found", format!("There is no {kind} `{id}` on this connector."))
            }
            PageError::NotFound { kind, id: None } => {
                (StatusCode::NOT_FOUND, "Not found", format!("There is no such {kind} in the console."))
            }
            PageError::BadRequest(text) => (StatusCode::BAD_REQUEST, "Bad request", text),
            PageError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Refused",
                "The form did not carry this session's token (it may come from another site, or from before a \
                 new login). Go back, reload the page and try again."
                    .to_string(),
            ),
            PageError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Unavailable",
                "The store could not be read just now; try again in a moment. The connector's log has the cause."
                    .to_string(),
            ),
        };
        layout::html(status, layout::problem(title, &text))
    }
}

impl From<ProcessError> for PageError {
    fn from(e: ProcessError) -> Self {
        match e {
            ProcessError::NotFound { kind, id } => PageError::NotFound { kind, id: Some(id) },
            other => {
                tracing::warn!(error = %other, "console: reading processes failed");
                PageError::Unavailable
            }
        }
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::warn!(error = %e, "console: reading the store failed");
        PageError::Unavailable
    }
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        tracing::warn!(error = %e, "console: query failed");
        PageError::Unavailable
    }
}

impl From<passerelle_audit::StoreError> for PageError {
    fn from(e: passerelle_audit::StoreError) -> Self {
        tracing::warn!(error = %e, "console: reading the audit trail failed");
        PageError::Unavailable
    }
}

/// The query string as `T`; a malformed one is a 400 page (axum's own rejection is plain text).
pub(crate) struct Params<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Params<T> {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, PageError> {
        serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
            .map(Params)
            .map_err(|e| PageError::BadRequest(format!("The address's query cannot be read: {e}.")))
    }
}

/// One id from the path (percent-decoded); undecodable is a 400 page.
pub(crate) struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .map(|Path(id)| Id(id))
            .map_err(|_| PageError::BadRequest("The id in the address cannot be read.".into()))
    }
}

/// The page size asked for, bounded.
pub(crate) fn page_size(limit: Option<usize>) -> Result<usize, PageError> {
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
        Some(n) => Err(PageError::BadRequest(format!("A page holds 1 to {MAX_PAGE} rows, not {n}."))),
    }
}

/// Rows per page unless `limit` says otherwise.
pub(crate) const DEFAULT_PAGE: usize = 50;
pub(crate) const MAX_PAGE: usize = 200;

/// An optional filter: empty form fields count as absent.
pub(crate) fn filled(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests;
