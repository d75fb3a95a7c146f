//! The federated catalogue end to end, with the real binary: `passerelle catalog` (authority +
//! catalogue) and three connectors with DCP on, onboarded at it. They publish (a MEC sample and a
//! JSON file imported from the command line, a work created through the management API), each
//! change notifies the catalogue, and its crawler (a DCP member itself) indexes their catalogs.
//! Searches by title, EIDR and language find the right offer; a consumer negotiates from a hit
//! to FINALIZED; a revoked participant's offers leave the results.

use std::process::Child;

use reqwest::Method;
use serde_json::{Value, json};

use passerelle_connector::catalogue::client::{CatalogueClient, CatalogueClientError};
use passerelle_connector::identity::token::DcpTokenSource;

use crate::dcp::{free_port, spawn_announcing};
use crate::negotiation_support::poll;
use crate::support::{Output, Running, client, passerelle, sample};

/// The Counselor MEC sample's EIDR (its ContentID `md:cid:eidr-s:…`).
const COUNSELOR_EIDR: &str = "10.5240/AD07-310C-C59D-6785-C63A-G";
const PASSAGE_EIDR: &str = "10.5240/7791-8534-2C23-9030-8610-5";
const NORDLYS_EIDR: &str = "10.5240/1F2A-E1C5-680A-14C6-E76B-I";

/// A running `passerelle catalog`.
struct CatalogueProcess {
    child: Child,
    _dir: tempfile::TempDir,
    url: String,
    management: String,
    did: String,
    api_key: String,
    http: reqwest::Client,
}

impl CatalogueProcess {
    async fn start() -> CatalogueProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let args = [
            "catalog",
            "init",
            "--dir",
            &path,
            "--name",
            "Media Space",
            "--public-url",
            &url,
            "--registration-number",
            "vatID:FR40303265045",
            "--country",
            "FR",
        ];
        let out = passerelle(&args, &[]).await;
        assert_eq!(out.code(), Some(0), "catalog init: {}", out.stderr);
        let did = format!("did:web:127.0.0.1%3A{port}");
        assert!(out.stdout.contains(&format!("DID: {did}")), "{}", out.stdout);
        let again = passerelle(&args, &[]).await;
        assert_eq!(again.code(), Some(1), "a second init without --force is refused");
        assert!(again.stderr.contains("--force"), "{}", again.stderr);

        let config = dir.path().join("catalogue.toml").to_string_lossy().into_owned();
        let bind = format!("127.0.0.1:{port}");
        let (child, lines) = spawn_announcing(
            &["catalog", "run", "--config", &config],
            &[("PASSERELLE_AUTHORITY_BIND", &bind), ("PASSERELLE_AUTHORITY_MANAGEMENT_BIND", "127.0.0.1:0")],
            &["public listening on ", "management listening on "],
        )
        .await;
        assert_eq!(lines[0], url);
        let api_key = std::fs::read_to_string(dir.path().join("secrets/admin-api-key")).expect("admin key");
        CatalogueProcess {
            child,
            _dir: dir,
            url,
            management: lines[1].clone(),
            did,
            api_key: api_key.trim().to_string(),
            http: client(),
        }
    }

    async fn admin(&self, method: Method, path: &str) -> (u16, Value) {
        let response = self
            .http
            .request(method, format!("{}{path}", self.management))
            .header("X-Api-Key", &self.api_key)
            .send()
            .await
            .expect("admin request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn public(&self, method: Method, path: &str) -> (u16, Value) {
        let response = self.http.request(method, format!("{}{path}", self.url)).send().await.expect("request");
        (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
    }

    async fn search(&self, query: &str) -> Value {
        let (status, body) = self.public(Method::GET, &format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 200, "{body:#}");
        body
    }
}

impl Drop for CatalogueProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connector folder on a fixed loopback port, trusting the catalogue's authority and notifying it.
struct Member {
    dir: tempfile::TempDir,
    port: u16,
    did: String,
}

impl Member {
    async fn init(name: &str, role: &str, catalogue: &CatalogueProcess) -> Member {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let url = format!("http://127.0.0.1:{port}");
        let path = dir.path().to_str().expect("utf-8").to_string();
        let args = [
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
        let out = passerelle(&args, &[]).await;
        assert_eq!(out.code(), Some(0), "init: {}", out.stderr);
        let config = dir.path().join("passerelle.toml");
        let mut text = std::fs::read_to_string(&config).expect("config");
        text.push_str(&format!(
            "\n[identity]\nallow_http_did_web = true\n\n[dcp]\nstatus_list_ttl = 1\n\n[trust]\nmembership = \"{}\"\n\n\
             [catalogue]\nurl = \"{}\"\n",
            catalogue.did, catalogue.url
        ));
        std::fs::write(&config, text).expect("config written");
        Member { dir, port, did: format!("did:web:127.0.0.1%3A{port}") }
    }

    fn config(&self) -> String {
        self.dir.path().join("passerelle.toml").to_string_lossy().into_owned()
    }

    async fn run(&self) -> Running {
        let api_key = std::fs::read_to_string(self.dir.path().join("secrets/management-api-key")).expect("api key");
        let bind = format!("127.0.0.1:{}", self.port);
        Running::start_with_env(&self.config(), api_key.trim().to_string(), &[("PASSERELLE_PROTOCOL_BIND", &bind)])
            .await
    }

    async fn onboard(&self, catalogue: &CatalogueProcess) {
        let out =
            passerelle(&["identity", "onboard", "--config", &self.config(), "--authority", &catalogue.url], &[]).await;
        assert_eq!(out.code(), Some(0), "onboard: {}\n{}", out.stdout, out.stderr);
    }

    async fn import(&self, file: &std::path::Path) -> Output {
        let file = file.to_str().expect("utf-8");
        passerelle(&["import", "--config", &self.config(), "--json", file], &[]).await
    }
}

/// The work hits of `results`.
fn work_hits(results: &Value) -> Vec<Value> {
    results["hits"].as_array().into_iter().flatten().filter(|h| h["kind"] == "work").cloned().collect()
}

/// Polls the catalogue's search until `done` holds for the results.
async fn search_until(catalogue: &CatalogueProcess, query: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    poll(what, || catalogue.search(query), done).await
}

#[tokio::test]
async fn three_connectors_are_crawled_searched_negotiated_from_and_a_revoked_one_leaves() {
    let catalogue = CatalogueProcess::start().await;
    let distributor = Member::init("Acme Films", "distributor", &catalogue).await;
    let producer = Member::init("Studio Passage", "producer", &catalogue).await;
    let broadcaster = Member::init("Canal Nord", "broadcaster", &catalogue).await;
    let (distributor_run, producer_run, broadcaster_run) =
        tokio::join!(distributor.run(), producer.run(), broadcaster.run());
    for member in [&distributor, &producer, &broadcaster] {
        member.onboard(&catalogue).await;
    }

    // Publishing: two imports from the command line and one work through the management API;
    // each notifies the catalogue, which crawls that participant with DCP.
    let counselor = distributor.import(&sample("movielabs-mddf_MEC_movie_Counselor.xml")).await;
    assert_eq!(counselor.code(), Some(0), "{}\n{}", counselor.stdout, counselor.stderr);
    let passage = producer.dir.path().join("passage.json");
    let works = json!({"works": [{"id": "passage-1", "kind": "movie", "title": "Le Passage secret",
        "eidr": PASSAGE_EIDR, "original_language": "fr"}]});
    std::fs::write(&passage, works.to_string()).expect("JSON written");
    let imported = producer.import(&passage).await;
    assert_eq!(imported.code(), Some(0), "{}\n{}", imported.stdout, imported.stderr);
    let nordlys = json!({"id": "nordlys-1", "kind": "movie", "title": "Nordlys", "eidr": NORDLYS_EIDR,
        "original_language": "nb"});
    let (status, body) = broadcaster_run.api_json(Method::POST, "/api/v1/works", &nordlys).await;
    assert_eq!(status, 201, "{body:#}");

    // The catalogue's crawler authenticated as a member: every participant was crawled.
    let statuses = poll(
        "three participants crawled with datasets",
        || async { catalogue.public(Method::GET, "/api/v1/participants").await.1 },
        |all| {
            [&distributor.did, &producer.did, &broadcaster.did].iter().all(|did| {
                all.as_array().into_iter().flatten().any(|s| {
                    s["participant"]["id"] == did.as_str()
                        && s["datasets"].as_u64().unwrap_or(0) > 0
                        && s["error"].is_null()
                })
            })
        },
    )
    .await;
    assert!(statuses.as_array().expect("statuses").iter().all(|s| s["participant"]["id"] != catalogue.did.as_str()));

    // By title (words as prefixes), by EIDR, by language: each finds the right provider's work.
    let by_title = search_until(&catalogue, "q=passage+secr", "the title search", |r| !work_hits(r).is_empty()).await;
    let hits = work_hits(&by_title);
    assert_eq!(hits.len(), 1, "{by_title:#}");
    let hit = &hits[0];
    assert_eq!(hit["provider"], producer.did.as_str());
    assert_eq!(hit["title"], "Le Passage secret");
    assert_eq!(hit["providerAddress"], format!("http://127.0.0.1:{}/dsp/2025-1", producer.port));
    assert!(!hit["offerIds"].as_array().expect("offer ids").is_empty(), "{hit:#}");

    let by_eidr = catalogue.search(&format!("eidr={COUNSELOR_EIDR}")).await;
    let counselor_hits = work_hits(&by_eidr);
    assert_eq!(counselor_hits.len(), 1, "{by_eidr:#}");
    assert_eq!(counselor_hits[0]["provider"], distributor.did.as_str());
    assert_eq!(counselor_hits[0]["title"], "The Counselor");

    // The broadcaster's work came through the management API, whose notification runs in the background.
    let by_language =
        search_until(&catalogue, "language=nb", "the language search", |r| !work_hits(r).is_empty()).await;
    let norwegian = work_hits(&by_language);
    assert_eq!(norwegian.len(), 1, "{by_language:#}");
    assert_eq!(norwegian[0]["provider"], broadcaster.did.as_str());
    assert_eq!(norwegian[0]["eidr"][0], NORDLYS_EIDR);

    // The same search through a connector's management API (what `passerelle search` asks too).
    let response = broadcaster_run
        .api(Method::GET, &format!("/api/v1/catalogue/search?eidr={PASSAGE_EIDR}"))
        .send()
        .await
        .expect("proxied search");
    assert_eq!(response.status().as_u16(), 200);
    let proxied: Value = response.json().await.expect("JSON");
    let proxied_hits = work_hits(&proxied);
    assert_eq!(proxied_hits.len(), 1, "{proxied:#}");
    assert_eq!((&proxied_hits[0]["provider"], &proxied_hits[0]["datasetId"]), (&hit["provider"], &hit["datasetId"]));
    let cli = passerelle(&["search", "--config", &broadcaster.config(), "--title", "Nordlys"], &[]).await;
    assert_eq!(cli.code(), Some(0), "{}", cli.stderr);
    assert!(cli.stdout.contains("Nordlys") && cli.stdout.contains(&broadcaster.did), "{}", cli.stdout);

    // The catalogue's console (same login as a connector's, the admin key): participants with their crawl
    // status, and the search; a bad search parameter is a 400 page.
    let console = crate::console::Console::login_at(&catalogue.management, &catalogue.api_key).await;
    let participants = console.page("/console").await;
    for member in [&distributor, &producer, &broadcaster] {
        assert!(participants.contains(&member.did), "{participants}");
    }
    assert!(participants.contains("every last crawl succeeded"), "{participants}");
    let found = console.page("/console/search?q=nordlys").await;
    assert!(found.contains("Nordlys") && found.contains(&broadcaster.did), "{found}");
    assert_eq!(console.get("/console/search?limit=lots").await.0, 400);
    assert_eq!(console.get("/console/nowhere").await.0, 404);
    let (status, _) = catalogue.admin(Method::GET, "/members").await;
    assert_eq!(status, 200, "the admin API keeps its X-Api-Key");

    // Negotiating from the hit: its address, dataset and offer are what the negotiation route takes.
    let start = json!({"counterPartyAddress": hit["providerAddress"], "datasetId": hit["datasetId"],
        "offerId": hit["offerIds"][0]});
    let (status, created) = broadcaster_run.api_json(Method::POST, "/api/v1/negotiations", &start).await;
    assert_eq!(status, 201, "{created:#}");
    let pid = created["pid"].as_str().expect("pid").to_string();
    let finalized = poll(
        "the negotiation from the search hit to finish",
        || async {
            let response = broadcaster_run.api(Method::GET, &format!("/api/v1/negotiations/{pid}")).send().await;
            response.expect("negotiation").json::<Value>().await.expect("JSON")
        },
        |n| n["state"] == "FINALIZED" || n["state"] == "TERMINATED",
    )
    .await;
    assert_eq!(finalized["state"], "FINALIZED", "{finalized:#}");

    // Revoking the producer at the authority removes its offers from the catalogue at once.
    let members = catalogue.admin(Method::GET, "/members").await.1;
    let credential = members
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["did"] == producer.did.as_str())
        .and_then(|m| m["credentialId"].as_str())
        .expect("the producer is a member")
        .to_string();
    let (status, revoked) = catalogue.admin(Method::POST, &format!("/members/{credential}/revoke")).await;
    assert_eq!(status, 200, "{revoked:#}");
    assert!(work_hits(&catalogue.search("q=passage+secr").await).is_empty());
    assert!(work_hits(&catalogue.search(&format!("eidr={PASSAGE_EIDR}")).await).is_empty());
    assert_eq!(work_hits(&catalogue.search(&format!("eidr={COUNSELOR_EIDR}")).await).len(), 1, "others stay");
    // Only a member may ask for its own recrawl, proven with DCP: anonymous and on-behalf calls are refused.
    let producer_notify = format!("/api/v1/notify/{}", producer.did.replace('%', "%25"));
    let (status, body) = catalogue.public(Method::POST, &producer_notify).await;
    assert_eq!(status, 401, "{body:#}");
    assert_eq!(body["error"], "MISSING_AUTHORIZATION", "{body:#}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("Bearer")), "says what to send: {body:#}");
    let distributor_config =
        passerelle_connector::config::Config::load(std::path::Path::new(&distributor.config())).expect("config");
    let signed = CatalogueClient::from_config(&distributor_config).expect("catalogue client");
    let on_behalf = CatalogueClient::new(client(), signed.base().clone(), producer.did.clone());
    let on_behalf = match passerelle_connector::identity::ParticipantIdentity::load(&distributor_config) {
        Ok(identity) => on_behalf.with_tokens(DcpTokenSource::new(identity.dcp())),
        Err(e) => panic!("distributor identity: {e}"),
    };
    match on_behalf.notify().await {
        Err(CatalogueClientError::Refused { status, message, .. }) => {
            assert_eq!(status, 403, "{message}");
            assert!(message.contains("its own recrawl"), "{message}");
        }
        other => panic!("a member notifying for another is refused: {other:?}"),
    }
    // The revoked producer's own notification is refused too: it is not crawled again.
    let producer_config =
        passerelle_connector::config::Config::load(std::path::Path::new(&producer.config())).expect("config");
    let revoked_notify = CatalogueClient::from_config(&producer_config).expect("catalogue client").notify().await;
    match revoked_notify {
        Err(CatalogueClientError::Refused { status, .. }) => assert!(status == 403 || status == 409, "{status}"),
        other => panic!("the revoked producer's notification is refused: {other:?}"),
    }
    assert!(work_hits(&catalogue.search("q=passage+secr").await).is_empty(), "and its offers stay out");

    // Bad input: typed 400s for bad search parameters (catalogue and proxy), 404 for an unknown participant.
    for query in ["territory=Atlantis", "limit=0", "kind=film", "titel=Nordlys"] {
        let (status, body) = catalogue.public(Method::GET, &format!("/api/v1/search?{query}")).await;
        assert_eq!(status, 400, "{query}: {body:#}");
        assert_eq!(body["error"], "BAD_QUERY", "{query}: {body:#}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body:#}");
    }
    let response = broadcaster_run.api(Method::GET, "/api/v1/catalogue/search?territory=Atlantis").send().await;
    let response = response.expect("proxied bad search");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("JSON");
    assert_eq!(body["error"], "invalid_query", "{body:#}");
    assert_eq!(body["field"], "territory", "{body:#}");
    let bad_cli = passerelle(&["search", "--config", &broadcaster.config(), "--territory", "Atlantis"], &[]).await;
    assert_eq!(bad_cli.code(), Some(2), "{}", bad_cli.stderr);
    let (status, body) = catalogue.public(Method::POST, "/api/v1/notify/did:web:nobody.example").await;
    assert_eq!(status, 401, "an unknown participant cannot prove anything: {body:#}");

    for running in [distributor_run, producer_run, broadcaster_run] {
        assert!(running.stop().await.success());
    }
}
