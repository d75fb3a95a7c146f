//! The DCP mode of the conformance suite: the TCK's side is a real data-space participant.
//!
//! - One data-space authority per test process, in process (the `passerelle-identity`
//!   library's `Authority` and routes, on its own thread and runtime so that every test's
//!   runtime can come and go): it onboards each TCK identity and each connector under test.
//! - [`TckParticipant`]: a did:web on the TCK's own callback server (127.0.0.1, a port never
//!   used before by this process, so no DID is ever a member twice), its DID document, its
//!   credential service holding its LegalPerson, registration-number and membership
//!   credentials, a fresh DCP token for every request it sends, and a `ParticipantVerifier`
//!   for every message it receives.
//! - [`start_connector`]: a connector folder whose did:web is its real protocol port, run in
//!   TCK mode with `tck.authorization = "dcp"`, and onboarded.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use axum::Router;
use passerelle_connector::config::Config;
use passerelle_connector::identity::SelfDescription;
use passerelle_connector::identity::token::DcpTokenSource;
use passerelle_identity::authority::{
    Authority, AuthorityConfig, AuthorityState, InMemoryAuthorityStore, Onboarded, OnboardingRequest, public_routes,
};
use passerelle_identity::clock::{Clock, SystemClock};
use passerelle_identity::dcp::{
    CredentialService, HttpPresentationClient, Identity, InMemoryCredentialStore, InMemoryJtiStore,
    ParticipantVerifier, TokenVerifier, VerifierConfig, VerifierParts,
};
use passerelle_identity::did::{CachingResolver, Did, DidResolver, WebResolver, document_router};
use passerelle_identity::keys::KeyPair;
use passerelle_identity::status::HttpStatusListSource;
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::membership::Role;
use passerelle_identity::vc::{sign_presentation, types};
use tokio::net::TcpListener;

use crate::support::{DEADLINE, Folder, Running, passerelle};

/// Where a participant's credential service is mounted on its server.
const CREDENTIAL_SERVICE: &str = "/dcp";

/// The in-process data-space authority all DCP scenarios share.
pub struct SharedAuthority {
    pub url: String,
    pub did: Did,
}

/// The authority, started on first use. It trusts applicants about their own LegalPerson and
/// registration number (no notary in a test data space), like `passerelle authority` by default.
pub fn authority() -> &'static SharedAuthority {
    static AUTHORITY: OnceLock<SharedAuthority> = OnceLock::new();
    AUTHORITY.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("tck-authority".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .enable_all()
                    .build()
                    .expect("the authority's runtime");
                runtime.block_on(serve_authority(tx));
            })
            .expect("the authority's thread");
        rx.recv_timeout(DEADLINE).expect("the authority starts")
    })
}

async fn serve_authority(started: std::sync::mpsc::Sender<SharedAuthority>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the authority");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let did = Did::from_base_url(&url).expect("the authority's did:web");
    let identity = Identity::new(did.clone(), KeyPair::generate_es256().expect("authority key"));
    let trust = TrustList::new().trust_self_issued(types::LEGAL_PERSON).trust_self_issued(types::REGISTRATION_NUMBER);
    let config = AuthorityConfig::new(identity.clone(), &url, trust);
    // No cache: every applicant is new, and its document must be read as it is now.
    let resolver: Arc<dyn DidResolver> = Arc::new(WebResolver::new(loopback_client()).allow_http(true));
    let authority = Authority::new(
        config,
        resolver,
        Arc::new(SystemClock),
        AuthorityState::default(),
        Arc::new(InMemoryAuthorityStore::new()),
    )
    .expect("the authority");
    let mut document = identity.did_document(None);
    document.service.clear();
    let app = document_router(&did, Arc::new(RwLock::new(document))).merge(public_routes(Arc::new(authority)));
    started.send(SharedAuthority { url, did }).expect("the test waits for the authority");
    axum::serve(listener, app).await.expect("the authority serves");
}

/// An HTTP client for loopback calls only: without root certificates, whose loading dominates
/// building a client in a debug build (one per participant).
fn loopback_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().timeout(DEADLINE).tls_certs_only([]).build().expect("http client")
}

/// A loopback listener on a port this process has never listened on before.
async fn fresh_listener() -> TcpListener {
    static USED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    for _ in 0..100 {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let port = listener.local_addr().expect("address").port();
        let mut used = USED.lock().unwrap_or_else(|e| e.into_inner());
        if used.get_or_insert_with(HashSet::new).insert(port) {
            return listener;
        }
    }
    panic!("the OS keeps handing out loopback ports this process already used");
}

/// The TCK as a DCP participant: its DID, server and tokens (its verifier lives in its callbacks).
pub struct TckParticipant {
    pub did: Did,
    /// `http://127.0.0.1:<port>` of its server (DID document, credential service, callbacks).
    pub base: String,
    tokens: DcpTokenSource,
}

impl TckParticipant {
    /// Serves the DID document and credential service beside `callbacks` (built with the
    /// participant's verifier) and, when `member`, onboards it with the authority.
    pub async fn start(member: bool, callbacks: impl FnOnce(Arc<ParticipantVerifier>) -> Router) -> TckParticipant {
        let listener = fresh_listener().await;
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let did = Did::from_base_url(&base).expect("the TCK's did:web");
        let key = KeyPair::generate_es256().expect("the TCK's key");
        let identity = Identity::new(did.clone(), key.clone());
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let http = loopback_client();
        let web: Arc<dyn DidResolver> = Arc::new(WebResolver::new(http.clone()).allow_http(true));
        let resolver: Arc<dyn DidResolver> =
            Arc::new(CachingResolver::new(web, clock.clone(), time::Duration::minutes(5)));

        let self_description =
            SelfDescription::parse("TCK Participant SAS", "vatID:FR40303265045", "FR", None).expect("description");
        let [legal_person, registration, _terms] =
            self_description.credentials(&did, &key, clock.now()).expect("self-issued credentials");
        let store = Arc::new(InMemoryCredentialStore::new());
        store.add(&legal_person).expect("LegalPerson");
        store.add(&registration).expect("registration number");
        let query_tokens = TokenVerifier::new(&did, resolver.clone(), Arc::new(InMemoryJtiStore::new()), clock.clone());
        let credential_service =
            Arc::new(CredentialService::new(identity.clone(), store.clone(), query_tokens, clock.clone()));

        let authority = authority();
        let verifier = Arc::new(ParticipantVerifier::new(VerifierParts {
            identity: identity.clone(),
            resolver,
            jti: Arc::new(InMemoryJtiStore::new()),
            clock: clock.clone(),
            presentations: Arc::new(HttpPresentationClient::new(http.clone(), true)),
            status_lists: Arc::new(HttpStatusListSource::new(http.clone(), true)),
            trust: TrustList::new()
                .trust_self_issued(types::LEGAL_PERSON)
                .trust(types::MEMBERSHIP, authority.did.as_str()),
            config: VerifierConfig::default(),
        }));

        let document = identity.did_document(Some(&format!("{base}{CREDENTIAL_SERVICE}")));
        let app = callbacks(verifier)
            .merge(document_router(&did, Arc::new(RwLock::new(document))))
            .nest(CREDENTIAL_SERVICE, credential_service.router());
        tokio::spawn(async move { axum::serve(listener, app).await });

        if member {
            let presentation = sign_presentation(
                &key,
                &did,
                authority.did.as_str(),
                &[legal_person, registration],
                clock.now(),
                time::Duration::minutes(5),
            )
            .expect("onboarding presentation");
            let request = OnboardingRequest { presentation, role: Role::Broadcaster };
            let response =
                http.post(format!("{}/onboarding", authority.url)).json(&request).send().await.expect("onboarding");
            let status = response.status().as_u16();
            let text = response.text().await.expect("onboarding answer");
            assert_eq!(status, 201, "the authority refused the TCK's onboarding: {text}");
            let onboarded: Onboarded = serde_json::from_str(&text).expect("a membership");
            store.add(&onboarded.credential).expect("membership");
        }
        TckParticipant { did: did.clone(), base, tokens: DcpTokenSource::new(identity) }
    }

    /// A fresh self-issued ID token (`Bearer …`) for a request to `audience`.
    pub fn authorization_for(&self, audience: &Did) -> String {
        self.tokens.authorization_for(audience).expect("the TCK signs its token")
    }
}

/// A connector under test with DCP on: running in TCK mode (`tck.authorization = "dcp"`),
/// trusting the shared authority, onboarded with it. Returns its folder, process and DID.
pub async fn start_connector() -> (Folder, Running, Did) {
    let authority = authority();
    let folder = Folder { dir: tempfile::tempdir().expect("temp dir") };
    let port = crate::dcp::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let path = folder.dir.path().to_str().expect("utf-8 temp path").to_string();
    let args = [
        "init",
        "--dir",
        &path,
        "--name",
        "Acme Films",
        "--role",
        "distributor",
        "--public-url",
        &url,
        "--registration-number",
        "vatID:FR40303265045",
        "--country",
        "FR",
    ];
    let out = passerelle(&args, &[]).await;
    assert_eq!(out.code(), Some(0), "init failed: {}", out.stderr);
    let config = folder.config();
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("\n[identity]\nallow_http_did_web = true\n\n[trust]\nmembership = \"{}\"\n", authority.did));
    std::fs::write(&config, text).expect("config written");

    let bind = format!("127.0.0.1:{port}");
    let running = Running::start_with_env(
        &config,
        folder.api_key(),
        &[
            ("PASSERELLE_PROTOCOL_BIND", &bind),
            ("PASSERELLE_TCK_ENABLED", "true"),
            ("PASSERELLE_TCK_AUTHORIZATION", "dcp"),
            ("PASSERELLE_TCK_STEP_DELAY_MS", "0"),
        ],
    )
    .await;
    // The authority reads the running connector's DID document; the membership lands in its
    // credential folder, which its credential service reads on every query.
    let loaded = Config::load_with_env(std::path::Path::new(&config), Vec::new()).expect("the connector's config");
    passerelle_connector::identity::onboarding::onboard(&loaded, &authority.url)
        .await
        .unwrap_or_else(|e| panic!("the connector's onboarding: {e}"));
    (folder, running, Did::from_base_url(&url).expect("the connector's did:web"))
}
