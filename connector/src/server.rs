//! The running connector: two listeners and an orderly stop.
//!
//! - **protocol** (public): the Dataspace Protocol routes of `passerelle-dsp`
//!   over the store's catalog, behind DCP authentication. HTTPS (rustls) when
//!   `[tls]` names a certificate and key, plain HTTP otherwise (for a TLS proxy in
//!   front; a warning is logged at start-up).
//! - **management** (private, loopback by default): the API of [`crate::api`].
//!
//! [`Connector::bind`] binds both sockets first, so the caller can announce the
//! real addresses (port 0 picks free ports) before serving starts.

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::serve::ListenerExt;
use passerelle_dsp::CatalogPaging;
use passerelle_dsp::catalog::ProviderInfo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{ApiState, management_router};
use crate::catalog::StoreCatalog;
use crate::config::{ApiKeySource, Config};
use crate::contracts::Processes;
use crate::identity::services::IdentityServices;
use crate::identity::tls::{self, TlsError, TlsListener};
use crate::identity::visibility::VisibleCatalog;
use crate::identity::{IdentityError, ParticipantIdentity};
use crate::secrets::{ApiKey, SecretError};
use crate::store::{Store, StoreError};
use passerelle_audit::CheckpointSigner;

/// How long in-flight requests may take to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Audit entries between two signed checkpoints.
const AUDIT_CHECKPOINT_EVERY: std::num::NonZeroU64 = std::num::NonZeroU64::new(100).unwrap();
/// Largest page a catalog request may ask for.
const MAX_CATALOG_PAGE: usize = 1000;

/// Why the connector cannot start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr} ({key}): {source}; choose another address or stop what uses it")]
    Bind { addr: SocketAddr, key: &'static str, source: std::io::Error },
    #[error("the {listener} listener failed: {source}")]
    Serve { listener: &'static str, source: std::io::Error },
}

/// A connector whose configuration, keys and store are loaded, not yet listening.
#[derive(Debug)]
pub struct Connector {
    config: Config,
    store: Store,
    api_key: ApiKey,
    identity: IdentityServices,
    /// Negotiations, agreements and transfers (store-backed DSP hosts and their outbox).
    processes: Processes,
    /// The protocol listener's TLS configuration; `None` serves plain HTTP.
    tls: Option<std::sync::Arc<rustls::ServerConfig>>,
    /// Where webhook events go (`[webhooks]`), secret read at start.
    webhooks: Option<crate::webhooks::WebhookSender>,
    /// Subtitle orders (protocol routes, management routes, event delivery).
    orders: crate::exchange::Orders,
}

impl Connector {
    /// Reads the keys and opens (and migrates) the store.
    pub async fn prepare(config: Config) -> Result<Connector, ServerError> {
        let api_key = match &config.management.api_key {
            ApiKeySource::Inline(key) => key.clone(),
            ApiKeySource::File(path) => ApiKey::read(path)?,
        };
        // Certificate problems surface before anything is opened or bound.
        let tls = config.tls.server.as_ref().map(tls::server_config).transpose()?;
        let identity = IdentityServices::new(ParticipantIdentity::load(&config)?)?;
        let store = Store::open(&config.store).await?;
        // The audit trail is sealed with the DID key: a signed checkpoint every AUDIT_CHECKPOINT_EVERY
        // entries and at shutdown, so a rewritten or cut log shows even to someone holding only our keys.
        let own = identity.identity();
        let signer = CheckpointSigner::new(own.signing_key().clone(), own.did().key_url(own.signing_key().key_id()));
        let webhooks =
            config.webhooks.as_ref().map(|w| crate::webhooks::WebhookFilter::new(w.events.iter().map(String::as_str)));
        // DCP off means off both ways: callers are not asked for a token, and ours carry none (signing a
        // single-use ID token per message nobody checks would cost each side ~10 % of its CPU).
        let tokens = if config.identity.dcp_enabled {
            crate::outbox::SharedTokens::new(identity.token_source())
        } else {
            crate::outbox::SharedTokens::new(passerelle_dsp::client::NoToken)
        };
        let processes = Processes::with_journal(
            store.clone(),
            &config.participant.id,
            &config.participant.protocol_base_url(),
            tokens,
            Some((signer, AUDIT_CHECKPOINT_EVERY)),
            webhooks,
        );
        let webhooks = match &config.webhooks {
            Some(w) => {
                Some(crate::webhooks::WebhookSender { url: w.url.clone(), secret: ApiKey::read(&w.secret_file)? })
            }
            None => None,
        };
        let orders = crate::exchange::Orders::new(processes.clone())
            .with_deliveries(crate::exchange::DeliverySettings::for_connector(&config, identity.identity()));
        Ok(Connector { config, store, api_key, identity, processes, tls, webhooks, orders })
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The negotiation and transfer host.
    pub fn processes(&self) -> &Processes {
        &self.processes
    }

    /// The participant's signing key (the newest published key).
    pub fn signing_key(&self) -> &passerelle_identity::keys::KeyPair {
        self.identity.identity().signing_key()
    }

    /// DID document, credential service, DCP verifier and the outgoing token source
    /// (`identity().token_source()` for a `DspClient`).
    pub fn identity(&self) -> &IdentityServices {
        &self.identity
    }

    /// The protocol router: DSP catalog over the store.
    pub fn protocol_router(&self) -> Router {
        let participant = &self.config.participant;
        let base = participant.protocol_base_url();
        let info = ProviderInfo {
            participant_id: participant.id.clone(),
            catalog_id: format!("{base}/dsp/2025-1/catalog"),
            protocol_base_url: base,
        };
        let paging = CatalogPaging {
            default_limit: self.config.catalog_page_size,
            max_limit: MAX_CATALOG_PAGE.max(self.config.catalog_page_size),
        };
        // DCP in front of the DSP routes (or, in TCK mode, DCP or the TCK's static authorization in front
        // of its seeded, scripted routes); the DID document and credential service beside them.
        let dsp = if self.config.tck.enabled {
            tracing::warn!(
                authorization = ?self.config.tck.authorization,
                "TCK mode: serving the official DSP TCK's seeded datasets and scripts, not the store"
            );
            crate::tck::protocol_routes(&self.config.tck, &self.identity, info, paging)
        } else {
            let source = VisibleCatalog::new(StoreCatalog::new(self.store.clone(), participant.id.clone()));
            let dsp = passerelle_dsp::protocol_router_full(
                source,
                self.processes.clone(),
                self.processes.clone(),
                info,
                paging,
            );
            self.identity.protect(dsp)
        };
        dsp.layer(axum::Extension(self.version_document()))
            .merge(self.identity.public_router())
            // The data plane authenticates with transfer tokens, not DCP.
            .merge(crate::dataplane::router(self.processes.clone()))
            // Subtitle orders authenticate with transfer tokens (lab) or callback tokens (distributor), not DCP.
            .merge(crate::exchange::router(self.orders.clone()))
            .layer(middleware::from_fn(log_request))
    }

    /// The dspace-version document: with DCP on, it announces the `auth` profile and `did:web` identifiers.
    fn version_document(&self) -> passerelle_dsp::message::version::VersionResponse {
        let mut document = passerelle_dsp::message::version::VersionResponse::current();
        for version in &mut document.protocol_versions {
            version.identifier_type = Some("did:web".into());
            if self.config.identity.dcp_enabled {
                version.auth = serde_json::from_value(passerelle_identity::dcp::dsp_auth()).ok();
            }
        }
        document
    }

    /// The management router.
    pub fn management_router(&self) -> Router {
        let mut state = ApiState::new(self.store.clone(), self.api_key.clone())
            .with_processes(self.processes.clone())
            .with_orders(self.orders.clone());
        if let Some(catalogue) = crate::catalogue::client::CatalogueClient::from_config(&self.config) {
            state = state.with_catalogue(catalogue);
        }
        // The operator console (`/console`, HTML) beside the API, opened with the same key.
        let console = crate::console::ConsoleState::new(
            self.store.clone(),
            self.processes.clone(),
            self.api_key.clone(),
            crate::audit::PublishedKeys::of(self.identity.identity()),
        );
        management_router(state)
            .nest(crate::console::BASE, crate::console::router(console))
            .layer(middleware::from_fn(log_request))
    }

    /// Binds both listeners.
    pub async fn bind(self) -> Result<Bound, ServerError> {
        let protocol = bind(self.config.protocol_bind, "protocol.bind").await?;
        let management = bind(self.config.management.bind, "management.bind").await?;
        Ok(Bound { connector: self, protocol, management })
    }
}

/// Responses are written in few, large writes; without TCP_NODELAY the last small
/// write of a response waits for the peer's delayed ACK (~40 ms on Linux).
fn no_delay(tcp: &mut tokio::net::TcpStream) {
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("could not set TCP_NODELAY: {e}");
    }
}

async fn bind(addr: SocketAddr, key: &'static str) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, key, source })
}

/// A connector with both sockets bound.
#[derive(Debug)]
pub struct Bound {
    connector: Connector,
    protocol: TcpListener,
    management: TcpListener,
}

impl Bound {
    pub fn protocol_addr(&self) -> Result<SocketAddr, ServerError> {
        self.protocol.local_addr().map_err(|source| ServerError::Serve { listener: "protocol", source })
    }

    /// `https` when the protocol listener serves TLS, `http` otherwise.
    pub fn protocol_scheme(&self) -> &'static str {
        if self.connector.tls.is_some() { "https" } else { "http" }
    }

    pub fn management_addr(&self) -> Result<SocketAddr, ServerError> {
        self.management.local_addr().map_err(|source| ServerError::Serve { listener: "management", source })
    }

    /// Serves both listeners until `shutdown` completes, then lets in-flight requests finish
    /// (up to 10 s) and closes the store.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
        let Bound { connector, protocol, management } = self;
        let (stop_tx, stop_rx) = watch::channel(false);
        let stopped = |mut rx: watch::Receiver<bool>| async move {
            // An error means the sender is gone, which also means: stop.
            let _ = rx.wait_for(|stop| *stop).await;
        };

        let protocol_tcp = protocol.tap_io(no_delay);
        let protocol_server = match connector.tls.clone() {
            Some(config) => {
                let listener = TlsListener::new(protocol_tcp, config)
                    .map_err(|source| ServerError::Serve { listener: "protocol", source })?;
                let server =
                    axum::serve(listener, connector.protocol_router()).with_graceful_shutdown(stopped(stop_rx.clone()));
                futures::future::Either::Left(server.into_future())
            }
            None => {
                tracing::warn!(
                    public_url = %connector.config.participant.public_url,
                    "the protocol listener speaks plain HTTP: no [tls] cert_file/key_file is configured. Peers need \
                     HTTPS; set them, or terminate TLS in a proxy in front of this listener"
                );
                let server = axum::serve(protocol_tcp, connector.protocol_router())
                    .with_graceful_shutdown(stopped(stop_rx.clone()));
                futures::future::Either::Right(server.into_future())
            }
        };
        let management_server = axum::serve(management.tap_io(no_delay), connector.management_router())
            .with_graceful_shutdown(stopped(stop_rx.clone()))
            .into_future();
        let outbox_task = tokio::spawn(crate::outbox::run(connector.processes.clone(), stop_rx.clone()));
        // Undelivered order events stay pending in the store: a stop here loses nothing.
        tokio::spawn(crate::exchange::run(connector.orders.clone(), stop_rx.clone()));
        // Pushed feeds resume from their consumers' acknowledged cursors: a stop here loses nothing.
        tokio::spawn(crate::dataplane::feed_push::run(connector.processes.clone(), stop_rx.clone()));
        if let Some(sender) = connector.webhooks.clone() {
            // Undelivered events stay queued in the store: a stop here loses nothing.
            tokio::spawn(crate::webhooks::run(connector.store.pool().clone(), sender, stop_rx.clone()));
        }
        let mut protocol_task = tokio::spawn(protocol_server);
        let mut management_task = tokio::spawn(management_server);

        let early = tokio::select! {
            _ = shutdown => None,
            r = &mut protocol_task => Some(("protocol", r)),
            r = &mut management_task => Some(("management", r)),
        };
        tracing::info!("stopping: finishing in-flight requests");
        let _ = stop_tx.send(true);
        let result = match early {
            Some((listener, result)) => flatten(listener, result),
            None => {
                let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
                    let p = flatten("protocol", (&mut protocol_task).await);
                    let m = flatten("management", (&mut management_task).await);
                    p.and(m)
                })
                .await;
                drained.unwrap_or_else(|_| {
                    tracing::warn!("requests still running after {DRAIN_TIMEOUT:?}; closing them");
                    protocol_task.abort();
                    management_task.abort();
                    Ok(())
                })
            }
        };
        if tokio::time::timeout(DRAIN_TIMEOUT, outbox_task).await.is_err() {
            tracing::warn!(
                "the outbox is still sending after {DRAIN_TIMEOUT:?}; pending messages are sent after the next start"
            );
        }
        match connector.processes.audit().checkpoint(passerelle_audit::Timestamp::now()).await {
            Ok(Some(signed)) => tracing::info!(seq = signed.checkpoint().seq, "audit trail sealed"),
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "the audit trail could not be sealed at shutdown"),
        }
        connector.store.close().await;
        tracing::info!("stopped");
        result
    }
}

fn flatten(
    listener: &'static str,
    result: Result<Result<(), std::io::Error>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(source)) => Err(ServerError::Serve { listener, source }),
        Err(join) => Err(ServerError::Serve { listener, source: std::io::Error::other(join.to_string()) }),
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = terminate => tracing::info!("SIGTERM received"),
    }
}

/// One log line per request: method, path, status, time. Headers (API keys) and bodies are never logged.
pub(crate) async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16();
    let micros = started.elapsed().as_micros() as u64;
    if response.status().is_server_error() {
        tracing::warn!(%method, %path, status, micros, "request");
    } else {
        tracing::info!(%method, %path, status, micros, "request");
    }
    response
}
