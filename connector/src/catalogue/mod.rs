//! `passerelle catalog`: the data-space operator's service, one process hosting the
//! authority (registry of participants) and the federated catalogue of `passerelle-catalog`.
//!
//! One folder (made by [`init`]) holds the authority's files (`authority.toml`, keys, member
//! records) and `catalogue.toml` ([`settings`]). [`CatalogueService`] serves, with the
//! authority's DID as its own identity:
//!
//! - on the public listener: the DID document (with its credential service and the aggregated
//!   catalog), onboarding and status lists, the credential service (`/dcp`), and the
//!   catalogue: `/api/v1/search`, `/sparql`, `/dsp/2025-1/catalog/request`,
//!   `/api/v1/participants`, `/api/v1/notify/{participant}` (DCP: only that participant, [`notify_guard`]);
//! - on the management listener (loopback, `X-Api-Key`): the authority's member routes.
//!
//! The crawler reads the members through [`registry::AuthorityRegistry`] and authenticates
//! to connectors with DCP as a member ([`credentials`]); member changes made through the
//! authority's routes reach the catalogue at once ([`hooks`]). [`client`] is the connector's
//! side: notifications after a change, and search.

pub mod client;
pub mod credentials;
pub mod hooks;
pub mod notify_guard;
pub mod registry;
pub mod settings;

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::middleware;
use passerelle_catalog::{Catalogue, CatalogueConfig, CatalogueError, Contexts};
use passerelle_identity::authority::public_routes;
use passerelle_identity::clock::{Clock, SystemClock};
use passerelle_identity::dcp::{
    CredentialService, HttpPresentationClient, Identity, InMemoryJtiStore, ParticipantVerifier, TokenVerifier,
    VerifierConfig, VerifierParts,
};
use passerelle_identity::did::{
    CachingResolver, DidResolver, Service, WebResolver, default_http_client, document_router,
};
use passerelle_identity::keys::Algorithm;
use passerelle_identity::status::HttpStatusListSource;
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::membership::Role;
use passerelle_identity::vc::types;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::authority::{AUTHORITY_FILE, AuthorityInit, AuthorityService, AuthorityServiceError};
use crate::identity::token::DcpTokenSource;
use crate::identity::{CREDENTIAL_SERVICE_PATH, SelfDescription};
use registry::AuthorityRegistry;
pub use settings::{CATALOGUE_FILE, CatalogueSettings};

/// The catalogue as this service runs it.
pub type ServiceCatalogue = Catalogue<AuthorityRegistry, DcpTokenSource>;

/// Timeout of one catalog page request, DID resolution or presentation query.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a resolved member DID document (its DSP address) is reused.
const DID_CACHE_TTL: time::Duration = time::Duration::minutes(5);

/// Why the catalogue service cannot be set up or run.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueServiceError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{} is not a valid catalogue configuration: {reason}", path.display())]
    Config { path: PathBuf, reason: String },
    #[error("invalid --{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error(transparent)]
    Authority(#[from] AuthorityServiceError),
    #[error("the catalogue's own credentials: {0}")]
    Credentials(String),
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
    #[error("HTTP client: {0}")]
    Http(String),
    #[error("cannot listen on {addr}: {source}; choose another address or stop what uses it")]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error("the {listener} listener failed: {source}")]
    Serve { listener: &'static str, source: std::io::Error },
}

/// What `passerelle catalog init` needs.
#[derive(Debug, Clone)]
pub struct CatalogueInit {
    pub dir: PathBuf,
    pub name: String,
    pub public_url: String,
    pub algorithm: Algorithm,
    pub force: bool,
    /// Role of the catalogue's own membership (which offers connectors show its crawler).
    pub role: String,
    /// Legal name of its LegalPerson credential (default: `name`).
    pub legal_name: Option<String>,
    /// `KIND:VALUE`, as for `passerelle init`.
    pub registration_number: String,
    pub country: String,
}

/// What `init` wrote.
#[derive(Debug, Clone)]
pub struct CatalogueInitOutcome {
    pub config_file: PathBuf,
    pub authority_file: PathBuf,
    pub did: String,
    pub api_key_file: PathBuf,
}

/// Creates a catalogue folder: the authority's files and `catalogue.toml`.
pub fn init(options: &CatalogueInit) -> Result<CatalogueInitOutcome, CatalogueServiceError> {
    let role: Role = options.role.parse().map_err(|_| CatalogueServiceError::Invalid {
        field: "role",
        reason: format!("`{}` is not distributor, lab, broadcaster or producer", options.role),
    })?;
    let legal_name = options.legal_name.as_deref().unwrap_or(&options.name);
    let description = SelfDescription::parse(legal_name, &options.registration_number, &options.country, None)
        .map_err(|e| CatalogueServiceError::Invalid { field: "registration-number", reason: e.to_string() })?;
    let text = CatalogueSettings::new_file(role, &description, &options.registration_number)?;
    let config_file = std::path::absolute(options.dir.join(CATALOGUE_FILE))
        .map_err(|source| CatalogueServiceError::Io { path: options.dir.clone(), source })?;
    if config_file.exists() && !options.force {
        return Err(AuthorityServiceError::Exists { path: config_file }.into());
    }
    let authority = crate::authority::init(&AuthorityInit {
        dir: options.dir.clone(),
        name: options.name.clone(),
        public_url: options.public_url.clone(),
        algorithm: options.algorithm,
        force: options.force,
    })?;
    std::fs::write(&config_file, text)
        .map_err(|source| CatalogueServiceError::Io { path: config_file.clone(), source })?;
    Ok(CatalogueInitOutcome {
        authority_file: options.dir.join(AUTHORITY_FILE),
        config_file,
        did: authority.did,
        api_key_file: authority.api_key_file,
    })
}

/// A loaded catalogue service, not yet listening.
pub struct CatalogueService {
    settings: CatalogueSettings,
    authority: AuthorityService,
    identity: Identity,
    catalogue: ServiceCatalogue,
    credential_service: Arc<CredentialService>,
    /// Checks the DCP token of a member notifying a change ([`notify_guard`]).
    members: Arc<ParticipantVerifier>,
}

impl std::fmt::Debug for CatalogueService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatalogueService").field("did", self.identity.did()).finish_non_exhaustive()
    }
}

impl CatalogueService {
    /// Loads the authority, makes sure the catalogue holds a live membership, and loads the snapshot.
    pub async fn prepare(settings: CatalogueSettings) -> Result<CatalogueService, CatalogueServiceError> {
        let authority = AuthorityService::prepare(settings.authority.clone())?;
        let identity = authority.identity().clone();
        let http = default_http_client(HTTP_TIMEOUT).map_err(|e| CatalogueServiceError::Http(e.to_string()))?;
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let web: Arc<dyn DidResolver> =
            Arc::new(WebResolver::new(http.clone()).allow_http(settings.authority.allow_http_did_web));
        let resolver: Arc<dyn DidResolver> = Arc::new(CachingResolver::new(web, clock.clone(), DID_CACHE_TTL));

        let held = credentials::own_credentials(
            &authority.authority(),
            &identity,
            settings.role,
            &settings.self_description,
            &settings.credentials_dir,
        )
        .await?;
        // Connectors verifying the crawler sign their queries for our DID; replays are refused per jti.
        let query_tokens =
            TokenVerifier::new(identity.did(), resolver.clone(), Arc::new(InMemoryJtiStore::new()), clock.clone());
        let credential_service =
            Arc::new(CredentialService::new(identity.clone(), Arc::new(held), query_tokens, clock.clone()));

        // Members calling us (notify) present the membership we issued and a self-issued LegalPerson.
        let members = Arc::new(ParticipantVerifier::new(VerifierParts {
            identity: identity.clone(),
            resolver: resolver.clone(),
            jti: Arc::new(InMemoryJtiStore::new()),
            clock: clock.clone(),
            presentations: Arc::new(HttpPresentationClient::new(http.clone(), settings.authority.allow_http_did_web)),
            status_lists: Arc::new(HttpStatusListSource::new(http.clone(), settings.authority.allow_http_did_web)),
            trust: TrustList::new()
                .trust(types::MEMBERSHIP, identity.did().as_str())
                .trust_self_issued(types::LEGAL_PERSON),
            config: VerifierConfig::default(),
        }));
        let registry = AuthorityRegistry::new(authority.authority(), identity.did(), resolver, clock);
        let mut config = CatalogueConfig::new(identity.did().to_string(), settings.authority.public_base_url());
        config.snapshot_dir = Some(settings.snapshot_dir.clone());
        config.sparql_timeout = settings.sparql_timeout;
        config.fetch.page_size = settings.page_size;
        let tokens = DcpTokenSource::new(identity.clone());
        let catalogue = Catalogue::new(registry, tokens, http, Contexts::dsp_2025_1(), config)?;
        Ok(CatalogueService { settings, authority, identity, catalogue, credential_service, members })
    }

    pub fn settings(&self) -> &CatalogueSettings {
        &self.settings
    }

    pub fn catalogue(&self) -> &ServiceCatalogue {
        &self.catalogue
    }

    /// DID document, authority public routes, credential service and the catalogue.
    pub fn public_router(&self) -> Router {
        let base = self.settings.authority.public_base_url();
        let did = self.identity.did();
        let mut document = self.identity.did_document(Some(&format!("{base}{CREDENTIAL_SERVICE_PATH}")));
        // DSP clients find the aggregated catalog as they find any participant's.
        document.add_service(Service::dsp_catalog(did, &format!("{base}/dsp/2025-1/catalog")));
        document_router(did, Arc::new(RwLock::new(document)))
            .merge(public_routes(self.authority.authority()))
            .nest(CREDENTIAL_SERVICE_PATH, self.credential_service.clone().router())
            .merge(
                passerelle_catalog::router(self.catalogue.clone())
                    .layer(middleware::from_fn_with_state(self.members.clone(), notify_guard::require_own_notify)),
            )
            .layer(middleware::from_fn_with_state(self.catalogue.clone(), hooks::follow_members))
            .layer(middleware::from_fn(crate::server::log_request))
    }

    /// The authority's member administration (API key), followed by the catalogue, and the console (`/console`).
    pub fn management_router(&self) -> Router {
        let console = crate::console::service::CatalogueConsole::new(
            self.catalogue.clone(),
            self.authority.api_key().clone(),
            self.identity.did().to_string(),
        );
        self.authority
            .management_router()
            .layer(middleware::from_fn_with_state(self.catalogue.clone(), hooks::follow_members))
            // The console logs in with the same key, by form and session rather than X-Api-Key.
            .nest(crate::console::BASE, crate::console::service::router(console))
    }

    /// Binds both listeners (addresses from `authority.toml` and its environment overrides).
    pub async fn bind(self) -> Result<BoundCatalogue, CatalogueServiceError> {
        let bind = |addr: SocketAddr| async move {
            TcpListener::bind(addr).await.map_err(|source| CatalogueServiceError::Bind { addr, source })
        };
        let public = bind(self.settings.authority.bind).await?;
        let management = bind(self.settings.authority.management_bind).await?;
        Ok(BoundCatalogue { service: self, public, management })
    }
}

/// A catalogue service with both sockets bound.
#[derive(Debug)]
pub struct BoundCatalogue {
    service: CatalogueService,
    public: TcpListener,
    management: TcpListener,
}

impl BoundCatalogue {
    pub fn public_addr(&self) -> Result<SocketAddr, CatalogueServiceError> {
        self.public.local_addr().map_err(|source| CatalogueServiceError::Serve { listener: "public", source })
    }

    pub fn management_addr(&self) -> Result<SocketAddr, CatalogueServiceError> {
        self.management.local_addr().map_err(|source| CatalogueServiceError::Serve { listener: "management", source })
    }

    /// Serves and recrawls periodically until `shutdown` completes.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), CatalogueServiceError> {
        let BoundCatalogue { service, public, management } = self;
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
        // Started once the listeners serve: connectors resolve our DID document while we crawl them.
        let crawler = service.catalogue.spawn_periodic(service.settings.recrawl);
        shutdown.await;
        crawler.abort();
        let _ = stop_tx.send(true);
        for (listener, task) in [("public", public_task), ("management", management_task)] {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(source)) => return Err(CatalogueServiceError::Serve { listener, source }),
                Err(join) => {
                    return Err(CatalogueServiceError::Serve {
                        listener,
                        source: std::io::Error::other(join.to_string()),
                    });
                }
            }
        }
        Ok(())
    }
}
