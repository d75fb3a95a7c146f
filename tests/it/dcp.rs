//! DCP on the protocol listener, with the real binaries: an authority and connectors on
//! loopback ports. A connector's did:web is derived from its public URL, so each one gets
//! a port chosen before start (bound, released, then given to the process).

use std::process::{Child, Command, Stdio};

use passerelle_connector::identity::token::DcpTokenSource;
use passerelle_dsp::schema::{MessageKind, validate};
use passerelle_identity::dcp::Identity;
use passerelle_identity::did::Did;
use passerelle_identity::keys::KeyPair;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{DEADLINE, Output, Running, bin, clean_env, client, forward_lines, passerelle, sample};

/// A free loopback port for a process to bind later. Chosen at random below the ephemeral
/// range (32768+), so that no `bind(0)` and no outgoing connection takes it in between.
/// Ports already handed out are never handed out again by this test process.
pub fn free_port() -> u16 {
    use std::hash::{BuildHasher, RandomState};
    static HANDED_OUT: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let random = RandomState::new();
    let mut handed_out = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    for attempt in 0u64..1000 {
        let port = 20_000 + (random.hash_one(attempt) % 12_000) as u16;
        if !handed_out.contains(&port) && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            handed_out.push(port);
            return port;
        }
    }
    panic!("no free port between 20000 and 32000");
}

/// Starts `passerelle <args>` and waits for the lines starting with each of `announces`.
pub async fn spawn_announcing(args: &[&str], env: &[(&str, &str)], announces: &[&str]) -> (Child, Vec<String>) {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    clean_env(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("passerelle starts");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let (err_tx, mut err_rx) = mpsc::unbounded_channel();
    forward_lines(child.stdout.take().expect("stdout"), Some(tx));
    forward_lines(child.stderr.take().expect("stderr"), Some(err_tx));
    let mut found: Vec<Option<String>> = vec![None; announces.len()];
    let read = async {
        while found.iter().any(Option::is_none) {
            let Some(line) = rx.recv().await else { break };
            for (slot, prefix) in found.iter_mut().zip(announces) {
                if let Some(rest) = line.strip_prefix(prefix) {
                    *slot = Some(rest.to_string());
                }
            }
        }
    };
    let timed_out = tokio::time::timeout(DEADLINE, read).await.is_err();
    if found.iter().any(Option::is_none) {
        let _ = child.kill();
        let mut err = Vec::new();
        while let Ok(line) = err_rx.try_recv() {
            err.push(line);
        }
        panic!("{args:?} did not announce {announces:?} (timed out: {timed_out}); stderr:\n{}", err.join("\n"));
    }
    (child, found.into_iter().flatten().collect())
}

/// A running `passerelle authority`.
pub struct AuthorityProcess {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
    pub management: String,
    pub did: String,
    api_key: String,
    http: reqwest::Client,
}

impl AuthorityProcess {
    pub async fn start() -> AuthorityProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let out =
            passerelle(&["authority", "init", "--dir", &path, "--name", "Media Space", "--public-url", &url], &[])
                .await;
        assert_eq!(out.code(), Some(0), "authority init: {}", out.stderr);
        let did = format!("did:web:127.0.0.1%3A{port}");
        assert!(out.stdout.contains(&format!("DID: {did}")), "{}", out.stdout);
        let config = dir.path().join("authority.toml").to_string_lossy().into_owned();
        let bind = format!("127.0.0.1:{port}");
        let (child, lines) = spawn_announcing(
            &["authority", "run", "--config", &config],
            &[("PASSERELLE_AUTHORITY_BIND", &bind), ("PASSERELLE_AUTHORITY_MANAGEMENT_BIND", "127.0.0.1:0")],
            &["public listening on ", "management listening on "],
        )
        .await;
        assert_eq!(lines[0], url);
        let api_key = std::fs::read_to_string(dir.path().join("secrets/admin-api-key")).expect("admin key");
        AuthorityProcess {
            child,
            _dir: dir,
            url,
            management: lines[1].clone(),
            did,
            api_key: api_key.trim().to_string(),
            http: client(),
        }
    }

    /// An admin call with the API key.
    pub async fn admin(&self, method: Method, path: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.management))
            .header("X-Api-Key", &self.api_key)
            .send()
            .await
            .expect("admin request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    /// The credential id of `did`'s membership.
    pub async fn membership_of(&self, did: &str) -> String {
        let (status, members) = self.admin(Method::GET, "/members").await;
        assert_eq!(status, 200, "{members}");
        members
            .as_array()
            .expect("member list")
            .iter()
            .find(|m| m["did"] == did)
            .and_then(|m| m["credentialId"].as_str())
            .unwrap_or_else(|| panic!("{did} is not a member: {members:#}"))
            .to_string()
    }
}

impl Drop for AuthorityProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connector folder with its own did:web on a fixed loopback port, trusting `authority`.
pub struct Participant {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub did: String,
}

impl Participant {
    pub async fn init(name: &str, role: &str, authority: &AuthorityProcess, extra: &[&str]) -> Participant {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let mut args = vec![
            "init",
            "--dir",
            &path,
            "--name",
            name,
            "--role",
            role,
            "--public-url",
            &url,
            "--registration-number",
            "vatID:FR40303265045",
            "--country",
            "FR",
        ];
        args.extend_from_slice(extra);
        let out = passerelle(&args, &[]).await;
        assert_eq!(out.code(), Some(0), "init: {}", out.stderr);
        let did = format!("did:web:127.0.0.1%3A{port}");
        assert!(out.stdout.contains(&format!("DID: {did}")), "{}", out.stdout);
        let config = dir.path().join("passerelle.toml");
        let mut text = std::fs::read_to_string(&config).expect("config");
        text.push_str(&format!(
            "\n[identity]\nallow_http_did_web = true\n\n[dcp]\nstatus_list_ttl = 1\n\n[trust]\nmembership = \"{}\"\n",
            authority.did
        ));
        std::fs::write(&config, text).expect("config written");
        Participant { dir, port, did }
    }

    pub fn config(&self) -> String {
        self.dir.path().join("passerelle.toml").to_string_lossy().into_owned()
    }

    pub fn api_key(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("secrets/management-api-key")).expect("api key").trim().to_string()
    }

    /// `passerelle run` with DCP on, on this participant's port.
    pub async fn run(&self) -> Running {
        let bind = format!("127.0.0.1:{}", self.port);
        Running::start_with_env(&self.config(), self.api_key(), &[("PASSERELLE_PROTOCOL_BIND", &bind)]).await
    }

    pub async fn onboard(&self, authority: &AuthorityProcess) -> Output {
        passerelle(&["identity", "onboard", "--config", &self.config(), "--authority", &authority.url], &[]).await
    }

    /// A fresh DCP `Authorization` header for a request to `audience`, signed with the current key file.
    pub fn token_for(&self, audience: &str) -> String {
        let key = KeyPair::from_jwk_file(&self.dir.path().join("secrets/signing-key.jwk")).expect("signing key");
        let identity = Identity::new(Did::parse(&self.did).expect("did"), key);
        DcpTokenSource::new(identity).authorization_for(&Did::parse(audience).expect("audience")).expect("token")
    }
}

/// `POST /dsp/2025-1/catalog/request` to `provider` with an optional `Authorization` header.
pub async fn catalog_request(provider: &Running, authorization: Option<&str>) -> (u16, Value) {
    let body = json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage"
    });
    let mut request = provider.http.post(format!("{}/dsp/2025-1/catalog/request", provider.protocol)).json(&body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    let response = request.send().await.expect("catalog request");
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn assert_catalog_error(status: u16, body: &Value, expected_status: u16, code: &str) {
    assert_eq!(status, expected_status, "{body:#}");
    assert_eq!(body["@type"], "CatalogError", "{body:#}");
    assert_eq!(body["code"], code, "{body:#}");
    validate(MessageKind::CatalogError, body).expect("CatalogError is schema-valid");
}

/// Repeats `request` until its status satisfies `wanted` (a status list is re-read after its
/// TTL); any status other than 200 or 403 meanwhile is a failure.
async fn until<F, Fut>(request: F, wanted: impl Fn(u16) -> bool) -> Value
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (u16, Value)>,
{
    let poll = async {
        loop {
            let (status, body) = request().await;
            if wanted(status) {
                return body;
            }
            assert!(status == 200 || status == 403, "unexpected answer {status}: {body:#}");
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), poll).await.expect("the change took effect within the TTL")
}

#[tokio::test]
async fn only_members_get_the_catalog_and_status_changes_apply_within_the_ttl() {
    let authority = AuthorityProcess::start().await;
    let provider = Participant::init("Films du Marais", "distributor", &authority, &[]).await;
    let member = Participant::init("Canal Est", "broadcaster", &authority, &[]).await;
    let stranger = Participant::init("Labo Ouest", "lab", &authority, &[]).await;
    let provider_run = provider.run().await;
    let member_run = member.run().await;
    let stranger_run = stranger.run().await;

    let onboarded = member.onboard(&authority).await;
    assert_eq!(onboarded.code(), Some(0), "onboard: {}\n{}", onboarded.stdout, onboarded.stderr);
    assert!(onboarded.stdout.contains("as broadcaster"), "{}", onboarded.stdout);
    let again = member.onboard(&authority).await;
    assert_ne!(again.code(), Some(0), "a second onboarding of an active member is refused");
    assert!(again.stderr.contains("already a member"), "{}", again.stderr);

    // Public: the version document (announcing DCP) and the DID document.
    let version: Value = provider_run
        .http
        .get(format!("{}/.well-known/dspace-version", provider_run.protocol))
        .send()
        .await
        .expect("version")
        .json()
        .await
        .expect("json");
    validate(MessageKind::VersionResponse, &version).expect("schema-valid version document");
    assert_eq!(version["protocolVersions"][0]["auth"]["protocol"], "DCP", "{version:#}");
    assert_eq!(version["protocolVersions"][0]["identifierType"], "did:web");
    let document: Value = provider_run
        .http
        .get(format!("{}/.well-known/did.json", provider_run.protocol))
        .send()
        .await
        .expect("did document")
        .json()
        .await
        .expect("json");
    assert_eq!(document["id"], provider.did.as_str());
    let services: Vec<&str> =
        document["service"].as_array().expect("services").iter().filter_map(|s| s["type"].as_str()).collect();
    assert_eq!(services, ["CredentialService", "CatalogService", "DataService"], "{document:#}");
    assert_eq!(document["service"][0]["serviceEndpoint"], format!("{}/dcp", provider_run.protocol));

    // No token: 401 with a CatalogError.
    let (status, body) = catalog_request(&provider_run, None).await;
    assert_catalog_error(status, &body, 401, "MISSING_AUTHORIZATION");
    let (status, body) = catalog_request(&provider_run, Some("Bearer not.a.token")).await;
    assert_eq!(status, 401, "{body:#}");

    // A member gets the catalog, announced under the provider's DID.
    let token = member.token_for(&provider.did);
    let (status, catalog) = catalog_request(&provider_run, Some(&token)).await;
    assert_eq!(status, 200, "{catalog:#}");
    validate(MessageKind::Catalog, &catalog).expect("schema-valid catalog");
    assert_eq!(catalog["participantId"], provider.did.as_str());
    // The same token again is a replay.
    let (status, body) = catalog_request(&provider_run, Some(&token)).await;
    assert_eq!(status, 401, "{body:#}");
    // A token for another audience is refused.
    let (status, body) = catalog_request(&provider_run, Some(&member.token_for(&stranger.did))).await;
    assert_eq!(status, 401, "{body:#}");

    // A participant without membership: its LegalPerson alone is not enough.
    let (status, body) = catalog_request(&provider_run, Some(&stranger.token_for(&provider.did))).await;
    assert_catalog_error(status, &body, 403, "MISSING_CREDENTIAL");

    // Admin routes need the API key.
    let unauthenticated = client().get(format!("{}/members", authority.management)).send().await.expect("members");
    assert_eq!(unauthenticated.status().as_u16(), 401);

    // Suspension, reinstatement, then revocation: the provider follows each change once its
    // status list cache (1 s) expires.
    let credential = authority.membership_of(&member.did).await;
    let answer = || async { catalog_request(&provider_run, Some(&member.token_for(&provider.did))).await };
    let (status, record) = authority.admin(Method::POST, &format!("/members/{credential}/suspend")).await;
    assert_eq!(status, 200, "{record:#}");
    let body = until(answer, |status| status == 403).await;
    assert_eq!(body["code"], "CREDENTIAL_SUSPENDED", "{body:#}");
    let (status, record) = authority.admin(Method::POST, &format!("/members/{credential}/reinstate")).await;
    assert_eq!(status, 200, "{record:#}");
    until(answer, |status| status == 200).await;
    let (status, record) = authority.admin(Method::POST, &format!("/members/{credential}/revoke")).await;
    assert_eq!(status, 200, "{record:#}");
    assert_eq!(record["revoked"], true);
    let body = until(answer, |status| status == 403).await;
    assert_eq!(body["code"], "CREDENTIAL_REVOKED", "{body:#}");
    let (status, _) = authority.admin(Method::POST, &format!("/members/{credential}/reinstate")).await;
    assert_eq!(status, 409, "revocation is permanent");

    drop(stranger_run);
    drop(member_run);
    assert!(provider_run.stop().await.success());
}

#[tokio::test]
async fn an_offer_for_broadcasters_is_hidden_from_a_lab() {
    let authority = AuthorityProcess::start().await;
    let provider = Participant::init("Films du Marais", "distributor", &authority, &["--no-default-offer"]).await;
    let broadcaster = Participant::init("Canal Est", "broadcaster", &authority, &[]).await;
    let lab = Participant::init("Labo Ouest", "lab", &authority, &["--key-algorithm", "eddsa"]).await;
    let import = passerelle(
        &[
            "import",
            "--config",
            &provider.config(),
            &sample("movielabs-mddf_MEC_movie_Counselor.xml").to_string_lossy(),
        ],
        &[],
    )
    .await;
    assert_eq!(import.code(), Some(0), "{}", import.stderr);

    let provider_run = provider.run().await;
    let broadcaster_run = broadcaster.run().await;
    let lab_run = lab.run().await;
    for participant in [&broadcaster, &lab] {
        let out = participant.onboard(&authority).await;
        assert_eq!(out.code(), Some(0), "onboard: {}", out.stderr);
    }

    let policy = json!({
        "@id": "urn:passerelle:policy:broadcasters",
        "@type": "Offer",
        "permission": [{
            "action": "use",
            "constraint": [{
                "leftOperand": format!("{}role", passerelle_policy_ns()),
                "operator": "isAnyOf",
                "rightOperand": ["broadcaster"]
            }]
        }]
    });
    let (status, body) = provider_run.api_json(Method::POST, "/api/v1/policies", &policy).await;
    assert_eq!(status, 201, "{body:#}");
    let definition = json!({
        "id": "broadcast",
        "title": "For broadcasters",
        "policy_id": "urn:passerelle:policy:broadcasters"
    });
    let (status, body) = provider_run.api_json(Method::POST, "/api/v1/offer-definitions", &definition).await;
    assert_eq!(status, 201, "{body:#}");

    let (status, seen) = catalog_request(&provider_run, Some(&broadcaster.token_for(&provider.did))).await;
    assert_eq!(status, 200, "{seen:#}");
    let datasets = seen["dataset"].as_array().cloned().unwrap_or_default();
    assert!(datasets.iter().any(|d| d["@id"] == "collection:broadcast"), "{seen:#}");
    let work = datasets
        .iter()
        .find_map(|d| d["@id"].as_str().filter(|id| id.starts_with("work:")).map(String::from))
        .expect("the imported work is offered to broadcasters");

    // The lab (an EdDSA key) is a member too, but no offer is meant for it.
    let (status, hidden) = catalog_request(&provider_run, Some(&lab.token_for(&provider.did))).await;
    assert_eq!(status, 200, "{hidden:#}");
    assert!(hidden["dataset"].as_array().is_none_or(Vec::is_empty), "{hidden:#}");
    let response = lab_run
        .http
        .get(format!("{}/dsp/2025-1/catalog/datasets/{work}", provider_run.protocol))
        .header("Authorization", lab.token_for(&provider.did))
        .send()
        .await
        .expect("dataset");
    assert_eq!(response.status().as_u16(), 404);
    let response = broadcaster_run
        .http
        .get(format!("{}/dsp/2025-1/catalog/datasets/{work}", provider_run.protocol))
        .header("Authorization", broadcaster.token_for(&provider.did))
        .send()
        .await
        .expect("dataset");
    assert_eq!(response.status().as_u16(), 200);

    drop(lab_run);
    drop(broadcaster_run);
    assert!(provider_run.stop().await.success());
}

fn passerelle_policy_ns() -> &'static str {
    "https://w3id.org/passerelle/odrl/"
}

/// Polls the management API of `running` until `done` holds for `GET path`.
async fn wait_for(running: &Running, path: &str, done: impl Fn(&Value) -> bool) -> Value {
    let poll = async {
        loop {
            let (_, body) = running.api_json(Method::GET, path, &Value::Null).await;
            if done(&body) {
                return body;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(DEADLINE, poll).await.unwrap_or_else(|_| panic!("timed out waiting on {path}"))
}

/// Two onboarded members, both running with DCP on: a distributor offering the Counselor sample to
/// "broadcasters in FR" and a broadcaster, with the dataset and offer ids the broadcaster sees.
struct Members {
    _authority: AuthorityProcess,
    provider: Participant,
    consumer: Participant,
    provider_run: Running,
    consumer_run: Running,
    dataset_id: String,
    offer_id: String,
}

async fn members_with_an_offer() -> Members {
    let authority = AuthorityProcess::start().await;
    let provider = Participant::init("Films du Marais", "distributor", &authority, &["--no-default-offer"]).await;
    let consumer = Participant::init("Canal Est", "broadcaster", &authority, &["--no-default-offer"]).await;
    let import = passerelle(
        &[
            "import",
            "--config",
            &provider.config(),
            &sample("movielabs-mddf_MEC_movie_Counselor.xml").to_string_lossy(),
        ],
        &[],
    )
    .await;
    assert_eq!(import.code(), Some(0), "{}", import.stderr);
    let provider_run = provider.run().await;
    let consumer_run = consumer.run().await;
    // Both sides verify each other: the provider's agreement reaches the consumer's callback with DCP too.
    for participant in [&provider, &consumer] {
        let out = participant.onboard(&authority).await;
        assert_eq!(out.code(), Some(0), "onboard: {}", out.stderr);
    }
    // "Broadcasters in FR only": decided at negotiation on the role and country DCP verified.
    let policy = json!({"@id": "urn:acme:open", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": format!("{}role", passerelle_policy_ns()), "operator": "eq", "rightOperand": "broadcaster"},
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"}]}]});
    let (status, body) = provider_run.api_json(Method::POST, "/api/v1/policies", &policy).await;
    assert_eq!(status, 201, "{body:#}");
    let definition = json!({"id": "open", "title": "open", "policy_id": "urn:acme:open"});
    let (status, body) = provider_run.api_json(Method::POST, "/api/v1/offer-definitions", &definition).await;
    assert_eq!(status, 201, "{body:#}");

    let (status, catalog) = catalog_request(&provider_run, Some(&consumer.token_for(&provider.did))).await;
    assert_eq!(status, 200, "{catalog:#}");
    let (dataset_id, offer_id) = catalog["dataset"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|d| {
            let offer = d["hasPolicy"].as_array()?.iter().find_map(|o| {
                o["@id"].as_str().filter(|id| id.starts_with("urn:passerelle:offer:open:work:")).map(String::from)
            })?;
            Some((d["@id"].as_str()?.to_string(), offer))
        })
        .unwrap_or_else(|| panic!("no open work offer: {catalog:#}"));
    Members { _authority: authority, provider, consumer, provider_run, consumer_run, dataset_id, offer_id }
}

/// The management API's start of a negotiation for `offer_id` on `dataset_id` at `provider`.
fn negotiation_request(provider: &Running, dataset_id: &str, offer_id: &str) -> Value {
    json!({
        "counterPartyAddress": format!("{}/dsp/2025-1", provider.protocol),
        "offerId": offer_id,
        "datasetId": dataset_id
    })
}

#[tokio::test]
async fn two_members_negotiate_with_dcp_on_every_message() {
    // Every field bound: the authority and both folders must live to the end of the test.
    let Members { _authority, provider: _provider, consumer, provider_run, consumer_run, dataset_id, offer_id } =
        members_with_an_offer().await;

    let request = negotiation_request(&provider_run, &dataset_id, &offer_id);
    let (status, created) = consumer_run.api_json(Method::POST, "/api/v1/negotiations", &request).await;
    assert_eq!(status, 201, "{created:#}");
    let pid = created["pid"].as_str().expect("pid").to_string();
    let finalized = wait_for(&consumer_run, &format!("/api/v1/negotiations/{pid}"), |n| {
        n["state"] == "FINALIZED" || n["state"] == "TERMINATED"
    })
    .await;
    assert_eq!(finalized["state"], "FINALIZED", "{finalized:#}");
    let provider_pid = finalized["counterparty_pid"].as_str().expect("provider pid").to_string();
    let theirs =
        provider_run.api_json(Method::GET, &format!("/api/v1/negotiations/{provider_pid}"), &Value::Null).await.1;
    assert_eq!(theirs["state"], "FINALIZED", "{theirs:#}");
    // The provider knows its counter-party by the DID DCP verified.
    assert!(theirs.to_string().contains(&consumer.did), "{theirs:#}");

    // Without a token the provider's negotiation endpoints answer 401 with a ContractNegotiationError.
    let response = provider_run
        .http
        .get(format!("{}/dsp/2025-1/negotiations/{provider_pid}", provider_run.protocol))
        .send()
        .await
        .expect("negotiation");
    assert_eq!(response.status().as_u16(), 401);
    let error: Value = response.json().await.expect("json");
    assert_eq!(error["@type"], "ContractNegotiationError", "{error:#}");
    validate(MessageKind::ContractNegotiationError, &error).expect("schema-valid");

    drop(consumer_run);
    assert!(provider_run.stop().await.success());
}

/// DCP off is off both ways: a consumer switched off presents no token, so a provider that requires
/// DCP refuses its request, and the consumer shows the provider's reason on the negotiation.
#[tokio::test]
async fn a_consumer_with_dcp_off_presents_no_token_and_shows_the_refusal() {
    // Every field bound: the authority and both folders must live to the end of the test.
    let Members { _authority, provider: _provider, consumer, provider_run, consumer_run, dataset_id, offer_id } =
        members_with_an_offer().await;
    assert!(consumer_run.stop().await.success());
    let bind = format!("127.0.0.1:{}", consumer.port);
    let consumer_off = Running::start_with_env(
        &consumer.config(),
        consumer.api_key(),
        &[("PASSERELLE_PROTOCOL_BIND", &bind), ("PASSERELLE_DCP_ENABLED", "false")],
    )
    .await;
    let request = negotiation_request(&provider_run, &dataset_id, &offer_id);
    // The consumer reads the offer from the provider first: refused there, it says why and stores nothing.
    let (status, refused) = consumer_off.api_json(Method::POST, "/api/v1/negotiations", &request).await;
    assert_eq!(status, 502, "{refused:#}");
    assert_eq!(refused["error"], "counter_party_failed", "{refused:#}");
    let message = refused["message"].as_str().unwrap_or_default();
    assert!(message.contains("401") && message.contains("MISSING_AUTHORIZATION"), "{refused:#}");
    for running in [&consumer_off, &provider_run] {
        let (status, negotiations) = running.api_json(Method::GET, "/api/v1/negotiations", &Value::Null).await;
        assert_eq!(status, 200, "{negotiations:#}");
        assert!(!negotiations.to_string().contains("urn:uuid:"), "no negotiation stored: {negotiations:#}");
    }
    drop(consumer_off);
    assert!(provider_run.stop().await.success());
}

/// A lab's service "for distributors and producers" (issue 7's example): the role is decided at negotiation on the
/// credentials DCP verified — a distributor gets the agreement and places orders under it (an order call, which
/// carries the transfer's token and no credential, is not refused for the role it cannot show again); a
/// broadcaster does not even see the offer, and a request for it is refused.
#[tokio::test]
async fn a_service_for_distributors_is_agreed_on_the_verified_role_and_takes_their_orders() {
    let authority = AuthorityProcess::start().await;
    let lab = Participant::init("Sous-Titres Lab", "lab", &authority, &["--no-default-offer"]).await;
    let distributor = Participant::init("Films du Marais", "distributor", &authority, &["--no-default-offer"]).await;
    let broadcaster = Participant::init("Canal Est", "broadcaster", &authority, &["--no-default-offer"]).await;
    let (lab_run, distributor_run, broadcaster_run) =
        (lab.run().await, distributor.run().await, broadcaster.run().await);
    for participant in [&lab, &distributor, &broadcaster] {
        let out = participant.onboard(&authority).await;
        assert_eq!(out.code(), Some(0), "onboard: {}", out.stderr);
    }
    let policy = json!({"@id": "urn:lab:subtitling", "@type": "Offer", "permission": [{"action": "use", "constraint": [
        {"leftOperand": "role", "operator": "isAnyOf", "rightOperand": ["distributor", "producer"]},
        {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
        {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]}]}]});
    let (status, body) = lab_run.api_json(Method::POST, "/api/v1/policies", &policy).await;
    assert_eq!(status, 201, "{body:#}");
    let (status, body) = lab_run.api_json(Method::POST, "/api/v1/services", &crate::orders::subtitling_service()).await;
    assert_eq!(status, 201, "{body:#}");

    // The broadcaster's view of the lab's catalog has no service; the distributor's has it.
    let (status, seen_by_broadcaster) = catalog_request(&lab_run, Some(&broadcaster.token_for(&lab.did))).await;
    assert_eq!(status, 200, "{seen_by_broadcaster:#}");
    assert!(!seen_by_broadcaster.to_string().contains("service:subtitling"), "{seen_by_broadcaster:#}");
    let (status, catalog) = catalog_request(&lab_run, Some(&distributor.token_for(&lab.did))).await;
    assert_eq!(status, 200, "{catalog:#}");
    let service = crate::orders::service_dataset(&catalog, "subtitling");
    let offer_id = service["hasPolicy"][0]["@id"].as_str().expect("offer").to_string();

    // The broadcaster cannot fetch the offer (the dataset is hidden from it), so it asks with the whole offer, as
    // seen by someone else: the lab refuses it on the role DCP verified.
    let mut full_offer = service["hasPolicy"][0].clone();
    full_offer["target"] = json!("service:subtitling");
    let negotiate = async |consumer: &Running| {
        let mut request = json!({"counterPartyAddress": format!("{}/dsp/2025-1", lab_run.protocol)});
        if consumer.protocol == broadcaster_run.protocol {
            request["offer"] = full_offer.clone();
        } else {
            request["offerId"] = json!(offer_id);
            request["datasetId"] = json!("service:subtitling");
        }
        let (status, created) = consumer.api_json(Method::POST, "/api/v1/negotiations", &request).await;
        assert_eq!(status, 201, "{created:#}");
        let pid = created["pid"].as_str().expect("pid").to_string();
        wait_for(consumer, &format!("/api/v1/negotiations/{pid}"), |n| {
            n["state"] == "FINALIZED" || n["state"] == "TERMINATED"
        })
        .await
    };
    let refused = negotiate(&broadcaster_run).await;
    assert_eq!(refused["state"], "TERMINATED", "{refused:#}");
    assert!(refused.to_string().contains("broadcaster"), "the reason names the role: {refused:#}");

    let agreed = negotiate(&distributor_run).await;
    assert_eq!(agreed["state"], "FINALIZED", "{agreed:#}");
    let body = json!({"agreementId": agreed["agreement_id"], "format": "HttpData-PULL"});
    let (status, created) = distributor_run.api_json(Method::POST, "/api/v1/transfers", &body).await;
    assert_eq!(status, 201, "{created:#}");
    let transfer = created["pid"].as_str().expect("pid").to_string();
    wait_for(&distributor_run, &format!("/api/v1/transfers/{transfer}"), |t| t["state"] == "STARTED").await;
    let order = json!({"transferPid": transfer, "order": crate::orders::order("PO-ROLE-1", "es")});
    let (status, placed) = distributor_run.api_json(Method::POST, "/api/v1/orders", &order).await;
    assert_eq!((status, placed["state"].as_str()), (201, Some("REQUESTED")), "{placed:#}");
    // The other constraints still hold on every call: German is outside the agreement.
    let order = json!({"transferPid": transfer, "order": crate::orders::order("PO-ROLE-2", "de")});
    let (status, refused) = distributor_run.api_json(Method::POST, "/api/v1/orders", &order).await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("agreement_refused")), "{refused:#}");
}
