//! `passerelle authority`: the data-space authority as a small service.
//!
//! One folder (made by [`init`]) holds `authority.toml`, the authority's signing key and
//! admin API key (files 0600 under `secrets/`) and its state (`state.json`: the member
//! records, from which both status lists are derived). [`AuthorityService`] serves:
//!
//! - on the public listener: its DID document (did:web of `public_url`), `POST /onboarding`
//!   (a presentation of the applicant's LegalPerson and registration-number credentials →
//!   a membership credential) and `GET /status/{revocation|suspension}`;
//! - on the management listener (loopback unless told otherwise, `X-Api-Key`): `GET /members`,
//!   `POST /members/{credential_id}/revoke|suspend|reinstate`.
//!
//! No notary exists in the data space yet, so by default the authority believes
//! registration numbers the applicant attests itself (`accept_self_issued_registration`);
//! list notary DIDs in `[trust] registration_number` and turn that off when one exists.

mod settings;
mod state;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration as StdDuration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use passerelle_identity::authority::{Authority, AuthorityConfig, admin_routes, public_routes};
use passerelle_identity::clock::{Clock, SystemClock};
use passerelle_identity::dcp::Identity;
use passerelle_identity::did::{CachingResolver, DidResolver, WebResolver, default_http_client, document_router};
use passerelle_identity::keys::{Algorithm, KeyPair};
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::types;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::secrets::{self, ApiKey};
pub use settings::{AUTHORITY_FILE, AuthoritySettings};
pub use state::FileAuthorityStore;

/// Why the authority cannot be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum AuthorityServiceError {
    #[error("{} already exists; pass --force to replace it and its keys (members are kept)", path.display())]
    Exists { path: PathBuf },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not a valid authority configuration: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("signing key: {0}")]
    Key(String),
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    #[error("authority state: {0}")]
    State(String),
    #[error("cannot listen on {addr}: {source}; choose another address or stop what uses it")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the {listener} listener failed: {source}")]
    Serve { listener: &'static str, source: std::io::Error },
}

/// What `passerelle authority init` needs.
#[derive(Debug, Clone)]
pub struct AuthorityInit {
    pub dir: PathBuf,
    pub name: String,
    pub public_url: String,
    pub algorithm: Algorithm,
    pub force: bool,
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct AuthorityInitOutcome {
    pub config_file: PathBuf,
    pub did: String,
    pub signing_kid: String,
    pub api_key_file: PathBuf,
}

/// Creates an authority folder.
pub fn init(options: &AuthorityInit) -> Result<AuthorityInitOutcome, AuthorityServiceError> {
    let text = AuthoritySettings::new_file(&options.name, &options.public_url)?;
    std::fs::create_dir_all(&options.dir)
        .map_err(|source| AuthorityServiceError::Io { path: options.dir.clone(), source })?;
    let config_file = std::path::absolute(options.dir.join(AUTHORITY_FILE))
        .map_err(|source| AuthorityServiceError::Io { path: options.dir.clone(), source })?;
    if config_file.exists() && !options.force {
        return Err(AuthorityServiceError::Exists { path: config_file });
    }
    std::fs::write(&config_file, text)
        .map_err(|source| AuthorityServiceError::Io { path: config_file.clone(), source })?;
    let settings = AuthoritySettings::load_with_env(&config_file, Vec::new())?;
    secrets::write_secret_file(&settings.api_key_file, ApiKey::generate()?.expose(), options.force)?;
    let key = KeyPair::generate(options.algorithm).map_err(|e| AuthorityServiceError::Key(e.to_string()))?;
    if let Some(dir) = settings.signing_key_file.parent() {
        std::fs::create_dir_all(dir).map_err(|source| AuthorityServiceError::Io { path: dir.to_path_buf(), source })?;
    }
    key.write_jwk_file(&settings.signing_key_file, options.force)
        .map_err(|e| AuthorityServiceError::Key(e.to_string()))?;
    Ok(AuthorityInitOutcome {
        config_file,
        did: settings.did.to_string(),
        signing_kid: key.key_id().to_string(),
        api_key_file: settings.api_key_file.clone(),
    })
}

/// A loaded authority, not yet listening.
pub struct AuthorityService {
    settings: AuthoritySettings,
    authority: Arc<Authority>,
    identity: Identity,
    api_key: ApiKey,
}

impl std::fmt::Debug for AuthorityService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorityService").field("did", &self.settings.did).finish_non_exhaustive()
    }
}

impl AuthorityService {
    /// Reads the key, the admin API key and the saved state.
    pub fn prepare(settings: AuthoritySettings) -> Result<AuthorityService, AuthorityServiceError> {
        let key = KeyPair::from_jwk_file(&settings.signing_key_file)
            .map_err(|e| AuthorityServiceError::Key(e.to_string()))?;
        let api_key = ApiKey::read(&settings.api_key_file)?;
        let identity = Identity::new(settings.did.clone(), key);
        let mut trust = TrustList::new().trust_self_issued(types::LEGAL_PERSON);
        if settings.accept_self_issued_registration {
            trust = trust.trust_self_issued(types::REGISTRATION_NUMBER);
        }
        for notary in &settings.registration_issuers {
            trust = trust.trust(types::REGISTRATION_NUMBER, notary.as_str());
        }
        let mut config = AuthorityConfig::new(identity.clone(), &settings.public_base_url(), trust);
        config.membership_validity = time::Duration::days(settings.membership_validity_days);
        config.status_list_validity = time::Duration::seconds(settings.status_list_validity_seconds);
        let http =
            default_http_client(StdDuration::from_secs(10)).map_err(|e| AuthorityServiceError::Key(e.to_string()))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let web: Arc<dyn DidResolver> = Arc::new(WebResolver::new(http).allow_http(settings.allow_http_did_web));
        // Applicants' documents change rarely during onboarding; a short cache spares repeated fetches.
        let resolver: Arc<dyn DidResolver> =
            Arc::new(CachingResolver::new(web, clock.clone(), time::Duration::minutes(1)));
        let store = Arc::new(FileAuthorityStore::new(settings.state_file.clone()));
        let state = store.load()?;
        let authority = Authority::new(config, resolver, clock, state, store)
            .map_err(|e| AuthorityServiceError::State(e.to_string()))?;
        Ok(AuthorityService { settings, authority: Arc::new(authority), identity, api_key })
    }

    pub fn settings(&self) -> &AuthoritySettings {
        &self.settings
    }

    /// The authority itself, for a service that hosts it next to its own routes (the catalogue).
    pub fn authority(&self) -> Arc<Authority> {
        self.authority.clone()
    }

    /// The authority's DID and signing key.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// DID document, onboarding and status lists.
    pub fn public_router(&self) -> Router {
        let mut document = self.identity.did_document(None);
        document.service.clear();
        let document = Arc::new(RwLock::new(document));
        document_router(self.identity.did(), document)
            .merge(public_routes(self.authority.clone()))
            .layer(middleware::from_fn(crate::server::log_request))
    }

    /// The admin API key (for the catalogue's console login).
    pub fn api_key(&self) -> &ApiKey {
        &self.api_key
    }

    /// Member administration, behind the admin API key.
    pub fn management_router(&self) -> Router {
        admin_routes(self.authority.clone())
            .layer(middleware::from_fn_with_state(self.api_key.clone(), require_api_key))
            .layer(middleware::from_fn(crate::server::log_request))
    }

    /// Binds both listeners.
    pub async fn bind(self) -> Result<BoundAuthority, AuthorityServiceError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|source| AuthorityServiceError::Bind { addr, source })
        };
        let public = bind(self.settings.bind).await?;
        let management = bind(self.settings.management_bind).await?;
        Ok(BoundAuthority { service: self, public, management })
    }
}

async fn require_api_key(State(key): State<ApiKey>, request: Request, next: Next) -> Response {
    let given = request.headers().get("x-api-key").and_then(|v| v.to_str().ok());
    if given.is_some_and(|candidate| key.matches(candidate)) {
        next.run(request).await
    } else {
        let body = serde_json::json!({
            "error": "unauthorized",
            "reason": "send the admin API key (secrets/admin-api-key of the authority folder) as X-Api-Key"
        });
        (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response()
    }
}

/// An authority with both sockets bound.
#[derive(Debug)]
pub struct BoundAuthority {
    service: AuthorityService,
    public: TcpListener,
    management: TcpListener,
}

impl BoundAuthority {
    pub fn public_addr(&self) -> Result<SocketAddr, AuthorityServiceError> {
        self.public.local_addr().map_err(|source| AuthorityServiceError::Serve { listener: "public", source })
    }

    pub fn management_addr(&self) -> Result<SocketAddr, AuthorityServiceError> {
        self.management.local_addr().map_err(|source| AuthorityServiceError::Serve { listener: "management", source })
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), AuthorityServiceError> {
        let BoundAuthority { service, public, management } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let public_task = tokio::spawn(
            axum::serve(public, service.public_router()).with_graceful_shutdown(stopped(stop_rx.clone())).into_future(),
        );
        let management_task = tokio::spawn(
            axum::serve(management, service.management_router()).with_graceful_shutdown(stopped(stop_rx)).into_future(),
        );
        shutdown.await;
        let _ = stop_tx.send(true);
        for (listener, task) in [("public", public_task), ("management", management_task)] {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(source)) => return Err(AuthorityServiceError::Serve { listener, source }),
                Err(join) => {
                    return Err(AuthorityServiceError::Serve {
                        listener,
                        source: std::io::Error::other(join.to_string()),
                    });
                }
            }
        }
        Ok(())
    }
}
