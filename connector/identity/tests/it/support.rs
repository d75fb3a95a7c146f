//! A small data space for tests: an authority, a notary, a holder (distributor) with
//! its credential service, and a verifier (the DSP provider), wired either in memory
//! or over HTTP on 127.0.0.1 with real did:web resolution (`allow_http`).

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use axum::Extension;
use axum::routing::get;
use passerelle_identity::authority::{
    Authority, AuthorityConfig, AuthorityState, InMemoryAuthorityStore, OnboardingRequest, admin_routes, public_routes,
};
use passerelle_identity::clock::{Clock, ManualClock};
use passerelle_identity::dcp::{
    CredentialService, DirectPresentationClient, HttpPresentationClient, IdTokenClaims, Identity,
    InMemoryCredentialStore, InMemoryJtiStore, ParticipantVerifier, PresentationClient, Scope, TokenVerifier,
    VerifiedParticipant, VerifierConfig, VerifierParts, require_participant,
};
use passerelle_identity::did::{
    CachingResolver, Did, DidDocument, DidResolver, InMemoryResolver, Relationship, WebResolver, default_http_client,
    document_router,
};
use passerelle_identity::keys::KeyPair;
use passerelle_identity::status::{HttpStatusListSource, InMemoryStatusListSource, StatusListSource, StatusPurpose};
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::gaiax::{Address, LegalPerson, RegistrationKind, RegistrationNumber};
use passerelle_identity::vc::membership::Role;
use passerelle_identity::vc::{sign_presentation, types};
use passerelle_media::Territory;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

/// 2026-05-28T...: a fixed "now" so that every time check is reproducible.
pub const NOW: i64 = 1_780_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Memory,
    Http,
}

/// What a caller gets back: the participant, or (HTTP status, error code).
pub type Outcome = Result<Participant, (u16, String)>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub did: String,
    pub role: String,
    pub legal_name: String,
    pub country: String,
}

impl From<&VerifiedParticipant> for Participant {
    fn from(p: &VerifiedParticipant) -> Participant {
        Participant {
            did: p.did.to_string(),
            role: p.role.to_string(),
            legal_name: p.legal_name.clone(),
            country: p.country.as_str().to_string(),
        }
    }
}

pub struct World {
    pub clock: Arc<ManualClock>,
    pub authority: Arc<Authority>,
    pub authority_id: Identity,
    pub notary: Identity,
    pub holder: Identity,
    /// A second key of the holder, published under `assertionMethod` only.
    pub holder_assertion_key: KeyPair,
    pub holder_store: Arc<InMemoryCredentialStore>,
    pub holder_service: Arc<CredentialService>,
    pub membership_id: String,
    pub membership_jwt: String,
    pub legal_person_jwt: String,
    pub verifier_id: Identity,
    pub verifier: Arc<ParticipantVerifier>,
    /// A DID whose served document carries the holder's id instead of its own.
    pub mismatch_did: Did,
    /// Where the authority's public routes are mounted.
    pub registry: String,
    memory: Option<MemoryParts>,
    http: Option<HttpParts>,
}

struct MemoryParts {
    status: Arc<InMemoryStatusListSource>,
}

struct HttpParts {
    client: reqwest::Client,
    verifier_base: String,
    admin_base: String,
}

struct Names {
    holder: Did,
    mismatch: Did,
    verifier: Did,
    authority: Did,
    notary: Did,
    credential_service: String,
    registry: String,
}

fn names(holder_base: &str, verifier_base: &str) -> Names {
    let holder = Did::from_base_url(holder_base).unwrap();
    let verifier = Did::from_base_url(verifier_base).unwrap();
    Names {
        mismatch: Did::parse(&format!("{holder}:mismatch")).unwrap(),
        authority: Did::parse(&format!("{verifier}:authority")).unwrap(),
        notary: Did::parse(&format!("{verifier}:notary")).unwrap(),
        credential_service: format!("{holder_base}/dcp"),
        registry: format!("{verifier_base}/authority/registry"),
        holder,
        verifier,
    }
}

fn document(identity: &Identity, credential_service: Option<&str>) -> DidDocument {
    identity.did_document(credential_service)
}

pub fn fr() -> Territory {
    Territory::parse("FR").unwrap()
}

/// The holder's Gaia-X self-description.
pub fn legal_person(did: &Did) -> LegalPerson {
    let mut address = Address::new(fr());
    address.street_address = Some("12 rue des Archives".into());
    address.postal_code = Some("75004".into());
    address.locality = Some("Paris".into());
    LegalPerson {
        id: did.clone(),
        name: "Films du Marais SAS".into(),
        description: None,
        registration_number: RegistrationNumber::new(did, RegistrationKind::VatId, "FR40303265045", Some(fr()))
            .unwrap(),
        legal_address: address.clone(),
        headquarters_address: address,
    }
}

/// The authority's trust list: LegalPerson self-issued, registration numbers from the notary.
pub fn authority_trust(notary: &Did) -> TrustList {
    TrustList::new().trust_self_issued(types::LEGAL_PERSON).trust(types::REGISTRATION_NUMBER, notary.as_str())
}

/// The presentation a participant sends to the authority to onboard.
pub fn onboarding_presentation(
    holder: &Identity,
    notary: &Identity,
    authority: &Did,
    person: &LegalPerson,
    now: OffsetDateTime,
) -> String {
    let lp = person.credential(now).sign(holder.key()).unwrap();
    let rn = person.registration_number.credential(notary.did(), now).sign(notary.key()).unwrap();
    sign_presentation(holder.key(), holder.did(), authority.as_str(), &[lp, rn], now, Duration::minutes(5)).unwrap()
}

impl World {
    pub async fn new(transport: Transport) -> World {
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let (names, listeners) = match transport {
            Transport::Memory => (names("https://holder.example", "https://verifier.example"), None),
            Transport::Http => {
                let holder = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let verifier = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let h = format!("http://{}", holder.local_addr().unwrap());
                let v = format!("http://{}", verifier.local_addr().unwrap());
                (names(&h, &v), Some((holder, verifier, v)))
            }
        };
        let holder = Identity::new(names.holder.clone(), KeyPair::generate_es256().unwrap());
        let verifier_id = Identity::new(names.verifier.clone(), KeyPair::generate_es256().unwrap());
        let authority_id = Identity::new(names.authority.clone(), KeyPair::generate_es256().unwrap());
        let notary = Identity::new(names.notary.clone(), KeyPair::generate_ed25519().unwrap());
        let holder_assertion_key = KeyPair::generate_es256().unwrap();

        let mut holder_doc = document(&holder, Some(&names.credential_service));
        holder_doc.add_key(&holder_assertion_key.public_key(), &[Relationship::AssertionMethod]);
        let mut mismatch_doc = holder_doc.clone();
        mismatch_doc.id = names.holder.to_string();
        let docs = [
            (names.holder.clone(), holder_doc),
            (names.mismatch.clone(), mismatch_doc),
            (names.verifier.clone(), document(&verifier_id, None)),
            (names.authority.clone(), document(&authority_id, None)),
            (names.notary.clone(), document(&notary, None)),
        ];

        let client = default_http_client(std::time::Duration::from_secs(10)).unwrap();
        let make_resolver = |docs: &[(Did, DidDocument)]| -> Arc<dyn DidResolver> {
            match transport {
                Transport::Memory => {
                    let r = InMemoryResolver::new();
                    for (did, doc) in docs {
                        r.insert(did.as_str(), doc.clone());
                    }
                    Arc::new(r)
                }
                Transport::Http => Arc::new(CachingResolver::new(
                    Arc::new(WebResolver::new(client.clone()).allow_http(true)),
                    clock.clone(),
                    Duration::minutes(5),
                )),
            }
        };
        let memory_status = Arc::new(InMemoryStatusListSource::new());
        let status_source: Arc<dyn StatusListSource> = match transport {
            Transport::Memory => memory_status.clone(),
            Transport::Http => Arc::new(HttpStatusListSource::new(client.clone(), true)),
        };

        let authority = Arc::new(
            Authority::new(
                AuthorityConfig::new(authority_id.clone(), &names.registry, authority_trust(notary.did())),
                make_resolver(&docs),
                clock.clone(),
                AuthorityState::default(),
                Arc::new(InMemoryAuthorityStore::new()),
            )
            .unwrap(),
        );

        let holder_store = Arc::new(InMemoryCredentialStore::new());
        let holder_service = Arc::new(CredentialService::new(
            holder.clone(),
            holder_store.clone(),
            TokenVerifier::new(holder.did(), make_resolver(&docs), Arc::new(InMemoryJtiStore::new()), clock.clone()),
            clock.clone(),
        ));
        let presentations: Arc<dyn PresentationClient> = match transport {
            Transport::Memory => {
                let direct = DirectPresentationClient::new();
                direct.register(&names.credential_service, holder_service.clone());
                Arc::new(direct)
            }
            Transport::Http => Arc::new(HttpPresentationClient::new(client.clone(), true)),
        };
        let verifier = Arc::new(ParticipantVerifier::new(VerifierParts {
            identity: verifier_id.clone(),
            resolver: make_resolver(&docs),
            jti: Arc::new(InMemoryJtiStore::new()),
            clock: clock.clone(),
            presentations,
            status_lists: status_source,
            trust: TrustList::new()
                .trust(types::MEMBERSHIP, authority_id.did().as_str())
                .trust_self_issued(types::LEGAL_PERSON),
            config: VerifierConfig::default(),
        }));

        let mut http = None;
        if let Some((holder_listener, verifier_listener, verifier_base)) = listeners {
            let shared = |doc: &DidDocument| Arc::new(RwLock::new(doc.clone()));
            let holder_app = document_router(&docs[0].0, shared(&docs[0].1))
                .merge(document_router(&docs[1].0, shared(&docs[1].1)))
                .nest("/dcp", holder_service.clone().router());
            let ping = axum::Router::new()
                .route("/dsp/ping", get(ping))
                .layer(axum::middleware::from_fn_with_state(verifier.clone(), require_participant));
            let verifier_app = document_router(&docs[2].0, shared(&docs[2].1))
                .merge(document_router(&docs[3].0, shared(&docs[3].1)))
                .merge(document_router(&docs[4].0, shared(&docs[4].1)))
                .nest("/authority/registry", public_routes(authority.clone()))
                .nest("/admin", admin_routes(authority.clone()))
                .merge(ping);
            tokio::spawn(async move { axum::serve(holder_listener, holder_app).await });
            tokio::spawn(async move { axum::serve(verifier_listener, verifier_app).await });
            http =
                Some(HttpParts { client: client.clone(), admin_base: format!("{verifier_base}/admin"), verifier_base });
        }

        // Onboarding: LegalPerson (self-issued) + registration number (notary) → membership.
        let now = clock.now();
        let person = legal_person(holder.did());
        let request = OnboardingRequest {
            presentation: onboarding_presentation(&holder, &notary, authority_id.did(), &person, now),
            role: Role::Distributor,
        };
        let (membership_id, membership_jwt) = match &http {
            None => {
                let onboarded = authority.onboard(&request).await.unwrap();
                (onboarded.credential_id, onboarded.credential)
            }
            Some(h) => {
                let response =
                    h.client.post(format!("{}/onboarding", names.registry)).json(&request).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 201);
                let body: Value = response.json().await.unwrap();
                (body["credentialId"].as_str().unwrap().to_string(), body["credential"].as_str().unwrap().to_string())
            }
        };
        let legal_person_jwt = person.credential(now).sign(holder.key()).unwrap();
        holder_store.add(&legal_person_jwt).unwrap();
        holder_store.add(&membership_jwt).unwrap();

        let world = World {
            clock,
            authority,
            authority_id,
            notary,
            holder,
            holder_assertion_key,
            holder_store,
            holder_service,
            membership_id,
            membership_jwt,
            legal_person_jwt,
            verifier_id,
            verifier,
            mismatch_did: names.mismatch,
            registry: names.registry,
            memory: (transport == Transport::Memory).then_some(MemoryParts { status: memory_status }),
            http,
        };
        world.publish_status_lists().await;
        world
    }

    /// The HTTP client and the admin base URL (HTTP worlds only).
    pub fn http(&self) -> Option<(&reqwest::Client, &str)> {
        self.http.as_ref().map(|h| (&h.client, h.admin_base.as_str()))
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub fn scopes(&self) -> Vec<Scope> {
        self.verifier.required_scopes()
    }

    /// An access token of the holder for the verifier.
    pub fn access_token(&self) -> String {
        self.holder.access_token(self.verifier_id.did(), &self.scopes(), self.now(), Duration::minutes(5)).unwrap()
    }

    /// Claims of a correct ID token of the holder for the verifier, to be altered by a test.
    pub fn claims(&self) -> IdTokenClaims {
        IdTokenClaims::new(self.holder.did(), self.verifier_id.did().as_str(), NOW, Duration::minutes(5))
            .with_access_token(self.access_token())
    }

    pub fn valid_header(&self) -> String {
        self.holder.dsp_authorization(self.verifier_id.did(), &self.scopes(), self.now(), Duration::minutes(5)).unwrap()
    }

    /// A `Bearer` header with `claims` signed by the holder's signing key.
    pub fn header(&self, claims: &IdTokenClaims) -> String {
        format!("Bearer {}", claims.sign(self.holder.key()).unwrap())
    }

    /// Sends a DSP request to the verifier (in memory: straight to the verifier).
    pub async fn call(&self, authorization: Option<&str>) -> Outcome {
        match &self.http {
            None => match self.verifier.verify_authorization(authorization).await {
                Ok(p) => Ok(Participant::from(&p)),
                Err(e) => Err((e.status().as_u16(), e.code().to_string())),
            },
            Some(h) => {
                let mut request = h.client.get(format!("{}/dsp/ping", h.verifier_base));
                if let Some(value) = authorization {
                    request = request.header("Authorization", value);
                }
                let response = request.send().await.unwrap();
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap();
                if status == 200 {
                    Ok(Participant {
                        did: body["did"].as_str().unwrap().into(),
                        role: body["role"].as_str().unwrap().into(),
                        legal_name: body["legalName"].as_str().unwrap().into(),
                        country: body["country"].as_str().unwrap().into(),
                    })
                } else {
                    Err((status, body["error"].as_str().unwrap_or_default().to_string()))
                }
            }
        }
    }

    /// Revokes or suspends the holder's membership (over the admin routes when on HTTP).
    pub async fn change_membership(&self, action: &str) {
        match &self.http {
            None => {
                match action {
                    "revoke" => self.authority.revoke(&self.membership_id).await.unwrap(),
                    "suspend" => self.authority.suspend(&self.membership_id).await.unwrap(),
                    "reinstate" => self.authority.reinstate(&self.membership_id).await.unwrap(),
                    other => panic!("no action {other}"),
                };
            }
            Some(h) => {
                let url = format!("{}/members/{}/{action}", h.admin_base, self.membership_id);
                let response = h.client.post(url).send().await.unwrap();
                assert_eq!(response.status().as_u16(), 200, "{action}");
            }
        }
        self.publish_status_lists().await;
    }

    /// In memory, status lists are "published" by copying them into the verifier's source.
    async fn publish_status_lists(&self) {
        if let Some(memory) = &self.memory {
            for purpose in [StatusPurpose::Revocation, StatusPurpose::Suspension] {
                let jwt = self.authority.status_list_credential(purpose).await.unwrap();
                memory.status.publish(&self.authority.status_list_url(purpose), jwt);
            }
        }
    }

    /// Replaces the holder's membership credentials with `jwt`.
    pub fn replace_membership(&self, jwt: &str) {
        self.holder_store.remove_type(types::MEMBERSHIP);
        self.holder_store.add(jwt).unwrap();
    }
}

async fn ping(Extension(participant): Extension<VerifiedParticipant>) -> axum::Json<Value> {
    axum::Json(json!({
        "did": participant.did.as_str(),
        "role": participant.role.as_str(),
        "legalName": participant.legal_name,
        "country": participant.country.as_str(),
    }))
}

/// `shared/spec` beside the repository.
pub fn spec_dir() -> PathBuf {
    let start = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|dir| dir.join("shared").join("spec"))
        .find(|candidate| candidate.is_dir())
        .unwrap_or_else(|| panic!("no shared/spec above {}", start.display()))
}

pub fn read_json(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
