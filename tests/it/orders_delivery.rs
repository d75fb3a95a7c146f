//! Deliveries of subtitle orders between two real connectors (issue 7): the lab delivers a folder from its outbox,
//! the distributor fetches the files through the lab's protocol listener, verifies every hash, signs a receipt the
//! lab verifies against the distributor's DID document, runs QC against the order's style profile, and a person
//! accepts — which adds the subtitle track to the distributor's Version and so to its versions feed. The loop is
//! driven through its failures: a byte altered after the manifest was made (refused, naming the file and the
//! algorithm), then a file failing QC (redelivery requested with notes located by timecode), then the fix.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

use crate::negotiation_support::{Node, poll};
use crate::orders::{lab_id, send_ok};
use crate::support::sample;

/// The participants' own tools (a mock: outside the product), hearing the webhook events of both connectors.
#[derive(Clone, Default)]
struct Mam {
    events: Arc<Mutex<Vec<String>>>,
}

impl Mam {
    async fn start() -> (Mam, String) {
        async fn receive(
            axum::extract::State(mam): axum::extract::State<Mam>,
            headers: axum::http::HeaderMap,
        ) -> axum::http::StatusCode {
            let event = headers.get("x-passerelle-event").and_then(|v| v.to_str().ok()).unwrap_or_default();
            mam.events.lock().unwrap().push(event.to_string());
            axum::http::StatusCode::OK
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/events", listener.local_addr().expect("addr"));
        let mam = Mam::default();
        let app = axum::Router::new().route("/events", axum::routing::post(receive)).with_state(mam.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.expect("mam") });
        (mam, url)
    }

    fn heard(&self, event: &str) -> bool {
        self.events.lock().unwrap().iter().any(|e| e == event)
    }
}

/// Appends `text` to the node's configuration (before its first start).
fn configure(node: &Node, text: &str) {
    let config = node.folder.config();
    let mut current = std::fs::read_to_string(&config).expect("config");
    current.push_str(text);
    std::fs::write(&config, current).expect("config");
}

fn webhooks_to(node: &Node, url: &str) {
    let secret = node.folder.dir.path().join("secrets/webhook-secret");
    std::fs::write(&secret, "mam-shared-secret-0123456789").expect("secret");
    configure(node, &format!("\n[webhooks]\nurl = \"{url}\"\nsecret_file = \"{}\"\n", secret.display()));
}

/// A lab offering subtitling into Spanish or French, at most two orders, with `more` constraints; its webhooks
/// go to `mam`.
async fn lab(more: &[Value], mam: &str) -> Node {
    let mut lab = Node::new("lab", &["--no-default-offer"]).await;
    // The lab checks receipts against the distributor's DID document, served here over plain HTTP.
    configure(&lab, "\n[identity]\nallow_http_did_web = true\n");
    webhooks_to(&lab, mam);
    let import = lab.folder.import(&[sample("movielabs-mddf_MEC_movie_Counselor.xml")], true).await;
    assert_eq!(import.code(), Some(0), "{}\n{}", import.stdout, import.stderr);
    lab.start().await;
    crate::orders::offer_subtitling(&lab, more).await;
    lab
}

/// A distributor with a catalogue of its own (the Avails sample: works, versions with EIDR edits, rights), a
/// FINALIZED service agreement with the lab and a STARTED transfer under it.
async fn distributor_of(lab: &Node, mam: &str) -> (Node, String) {
    distributor_configured(lab, mam, "").await
}

/// [`distributor_of`] with `config` added to its configuration file.
async fn distributor_configured(lab: &Node, mam: &str, config: &str) -> (Node, String) {
    let mut distributor = Node::new("distributor", &["--no-default-offer"]).await;
    webhooks_to(&distributor, mam);
    if !config.is_empty() {
        configure(&distributor, config);
    }
    let import = distributor.folder.import(&[sample("movielabs-mddf_Avails_noErrors_v2.4.xml")], true).await;
    assert_eq!(import.code(), Some(0), "{}\n{}", import.stdout, import.stderr);
    distributor.start().await;
    let transfer = crate::orders::contract_service(&distributor, lab).await;
    (distributor, transfer)
}

async fn db(node: &Node) -> sqlx::SqlitePool {
    let url = format!("sqlite://{}?mode=ro", node.database().display());
    sqlx::SqlitePool::connect(&url).await.expect("the store opens read-only")
}

/// A Version of the distributor's store with an EIDR edit id: `(id, eidr)`.
async fn a_version_with_eidr(distributor: &Node) -> (String, String) {
    let pool = db(distributor).await;
    let row = sqlx::query("SELECT id, eidr FROM versions WHERE eidr IS NOT NULL ORDER BY id LIMIT 1")
        .fetch_one(&pool)
        .await
        .expect("the Avails sample holds a version with an EIDR");
    (row.get("id"), row.get("eidr"))
}

fn order(id: &str, eidr: &str) -> Value {
    passerelle_connector::demo::subtitle_order(id, "md:cid:org:example:ordered-work", "Ordered work", eidr, "fr")
}

const GOOD_SRT: &str = "1\n00:00:01,000 --> 00:00:03,000\nBonjour à tous.\n\n\
                        2\n00:00:04,000 --> 00:00:06,000\nOù est la gare ?\n";
/// Cue 2 holds a 64-character line (the profile allows 42).
const LONG_LINE_SRT: &str = "1\n00:00:01,000 --> 00:00:03,000\nBonjour à tous.\n\n\
                             2\n00:00:04,000 --> 00:00:06,000\nUne ligne beaucoup trop longue pour tenir dans la limite fixée\n";

/// A folder under the lab's outbox holding `fr.srt` with `content`.
fn outbox_folder(lab: &Node, name: &str, content: &str) -> PathBuf {
    let folder = lab.folder.dir.path().join("deliveries-out").join(name);
    std::fs::create_dir_all(&folder).expect("outbox folder");
    std::fs::write(folder.join("fr.srt"), content).expect("subtitle file");
    folder
}

async fn deliver(lab: &Node, id: &str, body: Value) -> (u16, Value) {
    lab.api(Method::POST, &format!("/api/v1/orders/{id}/deliveries"), Some(&body)).await
}

fn folder_text(path: &Path) -> String {
    path.to_str().expect("utf-8 path").to_string()
}

/// Brings an order to IN_PROGRESS(qc) at both ends: `(distributor id, lab id)`.
async fn in_work(lab: &Node, distributor: &Node, transfer: &str, order: &Value) -> (String, String) {
    let (status, placed) =
        distributor.api(Method::POST, "/api/v1/orders", Some(&json!({"transferPid": transfer, "order": order}))).await;
    assert_eq!(status, 201, "{placed:#}");
    let ours = placed["id"].as_str().expect("id").to_string();
    let theirs = lab_id(lab, order["id"].as_str().unwrap()).await;
    send_ok(lab, &theirs, json!({"type": "Quoted"})).await;
    distributor.wait_for(&format!("/api/v1/orders/{ours}"), "QUOTED", |o| o["state"] == "QUOTED").await;
    send_ok(distributor, &ours, json!({"type": "Confirmed"})).await;
    lab.wait_for(&format!("/api/v1/orders/{theirs}"), "CONFIRMED", |o| o["state"] == "CONFIRMED").await;
    send_ok(lab, &theirs, json!({"type": "MaterialsReceived", "materials": ["proxy"], "complete": true})).await;
    send_ok(lab, &theirs, json!({"type": "StageProgress", "stage": "qc", "percent": 100})).await;
    (ours, theirs)
}

#[tokio::test]
async fn deliveries_are_verified_receipted_checked_and_accepted_into_the_catalogue() {
    let (mam, mam_url) = Mam::start().await;
    let lab = lab(&[], &mam_url).await;
    let (distributor, transfer) = distributor_of(&lab, &mam_url).await;
    let (version_id, eidr) = a_version_with_eidr(&distributor).await;
    let (ours, theirs) = in_work(&lab, &distributor, &transfer, &order("PO-D1", &eidr)).await;
    let at_distributor = format!("/api/v1/orders/{ours}");
    let at_lab = format!("/api/v1/orders/{theirs}");

    // Bad input on the delivery route: typed 4xx, nothing delivered.
    let (status, body) = deliver(&lab, &theirs, json!({})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("folder")), "{body:#}");
    let escape = format!("{}/../..", lab.folder.dir.path().join("deliveries-out").display());
    let (status, body) = deliver(&lab, &theirs, json!({"folder": escape})).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("folder")), "{body:#}");
    assert!(body["message"].as_str().unwrap().contains(".."), "{body:#}");
    let (status, body) = deliver(&lab, &theirs, json!({"folder": folder_text(lab.folder.dir.path())})).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_field")), "outside the outbox: {body:#}");
    assert!(body["message"].as_str().unwrap().contains("outbox"), "{body:#}");
    let (status, body) = deliver(&lab, &theirs, json!({"folder": "/tmp", "extra": 1})).await;
    assert!((400..500).contains(&status), "unknown field: {status} {body:#}");
    let (status, body) = deliver(&lab, "urn:uuid:nope", json!({"folder": "/tmp"})).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("not_found")), "{body:#}");
    let (status, body) = deliver(&distributor, &ours, json!({"folder": "/tmp"})).await;
    assert!(status == 409 || status == 422, "a distributor does not deliver: {status} {body:#}");
    let (status, body) = distributor.api(Method::GET, &format!("{at_distributor}/deliveries/1"), None).await;
    assert_eq!(status, 404, "{body:#}");
    let (status, _) = distributor.api(Method::GET, &format!("{at_distributor}/deliveries/x/mhl"), None).await;
    assert_eq!(status, 404);
    // Manifests, receipts and refusals are the connectors' own work, never typed in by hand.
    let by_hand = json!({"event": {"type": "Delivered", "manifestRef": "m", "manifest": {"files": []}}});
    let (status, body) = lab.api(Method::POST, &format!("{at_lab}/events"), Some(&by_hand)).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("event.manifest")), "{body:#}");
    let forged = json!({"event": {"type": "DeliveryReceived", "manifestRef": "m", "receipt": "a.b.c"}});
    let (status, body) = distributor.api(Method::POST, &format!("{at_distributor}/events"), Some(&forged)).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("event.type")), "{body:#}");
    assert_eq!(lab.get(&at_lab).await["state"], "IN_PROGRESS");

    // Delivery 1: the manifest was made, then a byte changed. Refused, naming the file and the algorithm.
    let first = outbox_folder(&lab, "PO-D1-v1", GOOD_SRT);
    let manifest = passerelle_delivery::manifest_for_dir(&first, &passerelle_delivery::ManifestOptions::default())
        .expect("manifest");
    std::fs::write(first.join("fr.srt"), GOOD_SRT.replace("Bonjour", "Bonjoir")).unwrap();
    let (status, delivered) =
        deliver(&lab, &theirs, json!({"folder": folder_text(&first), "manifest": manifest})).await;
    assert_eq!(status, 201, "{delivered:#}");
    assert_eq!(delivered["state"], "DELIVERED");
    let refused = distributor
        .wait_for(&at_distributor, "the refusal of delivery 1", |o| o["state"] == "REDELIVERY_REQUESTED")
        .await;
    let refusal = refused["log"].as_array().unwrap().last().unwrap()["event"].clone();
    assert_eq!(refusal["type"], "DeliveryRefused", "{refused:#}");
    let problem = &refusal["problems"][0];
    assert_eq!((problem["file"].as_str(), problem["problem"].as_str()), (Some("fr.srt"), Some("hash_mismatch")));
    assert!(problem["algorithm"].is_string() && problem["expected"] != problem["actual"], "{problem:#}");
    assert_eq!(refused["deliveries"][0]["intact"], false);
    assert_eq!(refused["deliveries"][0]["verification"]["summary"]["hash_mismatch"], 1, "{refused:#}");
    let lab_view =
        lab.wait_for(&at_lab, "the refusal at the lab", |o| o["deliveries"][0]["intact"] == json!(false)).await;
    assert_eq!(lab_view["state"], "REDELIVERY_REQUESTED");
    assert_eq!(lab_view["deliveries"][0]["verification"]["problems"][0]["file"], "fr.srt");

    // The lab's file route: only the order's token, only the manifest's paths.
    let token = {
        let edr = distributor.get(&format!("/api/v1/transfers/{transfer}/edr")).await;
        edr["endpointProperties"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["name"] == "authorization"))
            .and_then(|p| p["value"].as_str())
            .expect("token")
            .to_string()
    };
    let files = format!("{}/exchange/orders/PO-D1/deliveries/1/files", lab.protocol());
    let ok = lab.http.get(format!("{files}/fr.srt")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    for (path, token, want) in [
        ("fr.srt", "forged-token", 401),
        ("..%2F..%2Fpasserelle.toml", token.as_str(), 404),
        ("../../passerelle.toml", token.as_str(), 404),
        ("other.srt", token.as_str(), 404),
    ] {
        let response = lab.http.get(format!("{files}/{path}")).bearer_auth(token).send().await.unwrap();
        let status = response.status().as_u16();
        assert!(status == want || (want == 404 && status == 400), "{path}: {status}");
    }

    // Delivery 2: intact, but a line is too long for the profile. Receipt signed and verified; QC asks for
    // redelivery with a note located at the cue's timecodes.
    let second = outbox_folder(&lab, "PO-D1-v2", LONG_LINE_SRT);
    let (status, body) = deliver(&lab, &theirs, json!({"folder": folder_text(&second)})).await;
    assert_eq!(status, 201, "{body:#}");
    let qc_failed = distributor
        .wait_for(&at_distributor, "QC of delivery 2", |o| {
            o["state"] == "REDELIVERY_REQUESTED" && o["deliveries"][1]["qc"].as_array().is_some_and(|q| !q.is_empty())
        })
        .await;
    let log = qc_failed["log"].as_array().unwrap();
    let kinds: Vec<&str> = log.iter().rev().take(3).map(|e| e["event"]["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RedeliveryRequested", "DeliveryReceived", "Delivered"], "{qc_failed:#}");
    let notes = &log.last().unwrap()["event"]["notes"];
    let note = notes.as_array().unwrap().iter().find(|n| n["category"] == "line-length").expect("a line note");
    assert_eq!(note["timecodeRange"], json!({"start": "00:00:04:00", "end": "00:00:06:00"}), "{note:#}");
    assert!(note["text"].as_str().unwrap().contains("fr.srt (cue 2)"), "{note:#}");
    let delivery = &qc_failed["deliveries"][1];
    assert_eq!((delivery["intact"].as_bool(), delivery["qc"][0]["passed"].as_bool()), (Some(true), Some(false)));
    assert!(delivery["manifest"]["files"][0]["xxh3"].is_string(), "{delivery:#}");
    let receipt = delivery["receipt"].as_str().expect("a receipt").to_string();
    assert_eq!(receipt.split('.').count(), 3, "a compact JWS");
    let lab_view = lab
        .wait_for(&at_lab, "the receipt checked and the QC notes at the lab", |o| {
            !o["deliveries"][1]["receiptVerified"].is_null() && o["state"] == "REDELIVERY_REQUESTED"
        })
        .await;
    assert_eq!(lab_view["deliveries"][1]["receiptVerified"], true, "{:#}", lab_view["deliveries"][1]);
    assert_eq!(lab_view["deliveries"][1]["receipt"], receipt.as_str());

    // Delivery 3: fixed, delivered with the CLI. QC passes → Validated; a person accepts → the Version carries
    // the track.
    let third = outbox_folder(&lab, "PO-D1-v3", GOOD_SRT);
    let (config, api) = (lab.folder.config(), lab.management.clone());
    let args = ["orders", "deliver", &theirs, "--folder", &folder_text(&third), "--config", &config, "--api", &api];
    let cli = crate::support::passerelle(&args, &[]).await;
    assert_eq!(cli.code(), Some(0), "{}\n{}", cli.stdout, cli.stderr);
    assert!(cli.stdout.contains("delivery 3  1 file(s)"), "{}", cli.stdout);
    let validated = distributor.wait_for(&at_distributor, "VALIDATED", |o| o["state"] == "VALIDATED").await;
    assert_eq!(validated["deliveries"][2]["qc"][0]["passed"], true, "{validated:#}");
    assert_eq!(validated["deliveries"][2]["qc"][0]["report"]["summary"]["passed"], true);
    let (status, mhl) = distributor.api(Method::GET, &format!("{at_distributor}/deliveries/3/mhl"), None).await;
    assert_eq!(status, 200, "{mhl:#}");
    let pool = db(&distributor).await;
    let changes_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_changes WHERE entity_id = ?")
        .bind(&version_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let accepted = send_ok(&distributor, &ours, json!({"type": "Accepted"})).await;
    assert_eq!(accepted["state"], "ACCEPTED");
    let row = sqlx::query("SELECT doc, revision FROM versions WHERE id = ?").bind(&version_id).fetch_one(&pool).await;
    let row = row.unwrap();
    let doc: Value = serde_json::from_str(row.get::<String, _>("doc").as_str()).unwrap();
    assert_eq!(row.get::<i64, _>("revision"), 2, "one new revision");
    let track = doc["subtitles"].as_array().unwrap().iter().find(|t| t["id"] == "PO-D1/fr.srt").cloned();
    let track = track.unwrap_or_else(|| panic!("no track in {doc:#}"));
    assert_eq!((track["language"].as_str(), track["format"].as_str()), (Some("fr"), Some("SRT")), "{track:#}");
    let hashes = track["file"]["hashes"].as_array().unwrap();
    assert!(hashes.iter().any(|h| h["algorithm"] == "sha256"), "{track:#}");
    assert!(track["file"]["location"].as_str().unwrap().contains("delivery/3"), "{track:#}");
    let changes_after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM media_changes WHERE entity_id = ?")
        .bind(&version_id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(changes_after, changes_before + 1, "the feed carries the new subtitle version");
    lab.wait_for(&at_lab, "ACCEPTED at the lab", |o| o["state"] == "ACCEPTED").await;

    // The audit trail holds every order event and the receipt, and verifies intact.
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, COUNT(*) FROM audit_log WHERE kind IN ('exchange.event', 'delivery.receipt') GROUP BY kind \
         ORDER BY kind",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let log_length = accepted["log"].as_array().unwrap().len() as i64;
    assert_eq!(kinds, [("delivery.receipt".to_string(), 2), ("exchange.event".to_string(), log_length)]);
    let verified =
        crate::support::passerelle(&["audit", "verify", "--config", &distributor.folder.config()], &[]).await;
    assert_eq!(verified.code(), Some(0), "{}\n{}", verified.stdout, verified.stderr);

    // The operator console shows the same order: the timeline, the refused delivery naming the file, the
    // receipt, the QC report with its finding located by timecode; the contract links to it; bad input is a 4xx.
    let console = crate::console::Console::login(&distributor).await;
    let list = console.page("/console/orders?side=distributor&state=ACCEPTED").await;
    assert!(list.contains("PO-D1"), "{list}");
    let page = console.page(&format!("/console/orders/{}", crate::console::segment(&ours))).await;
    for expected in [
        "Timeline",
        "DeliveryRefused",
        "hash mismatch",
        "verified intact",
        "QC report: fr.srt",
        "max chars per line",
        "00:00:04:00",
        "signed with our DID key",
    ] {
        assert!(page.contains(expected), "`{expected}` missing from the order page:\n{page}");
    }
    let agreement = accepted["agreementId"].as_str().expect("agreement id");
    let contract = console.page(&format!("/console/contracts/{}", crate::console::segment(agreement))).await;
    assert!(contract.contains("PO-D1"), "the contract lists its orders:\n{contract}");
    for (path, want) in
        [("/console/orders/urn:uuid:nope", 404), ("/console/orders?state=BOGUS", 400), ("/console/orders?limit=0", 400)]
    {
        assert_eq!(console.get(path).await.0, want, "{path}");
    }
    // CLI parity: the contract lists its orders; the order shows its deliveries and QC reports.
    let config = distributor.folder.config();
    let shown = crate::support::passerelle(&["contracts", "show", agreement, "--config", &config], &[]).await;
    assert_eq!(shown.code(), Some(0), "{}", shown.stderr);
    assert!(shown.stdout.contains("subtitle orders") && shown.stdout.contains("PO-D1"), "{}", shown.stdout);
    let shown = crate::support::passerelle(&["contracts", "show", agreement, "--config", &config, "--json"], &[]).await;
    let report: Value = serde_json::from_str(&shown.stdout).expect("JSON");
    assert_eq!(report["orders"][0]["orderId"], "PO-D1", "{report:#}");
    let api = distributor.management.clone();
    let order_json =
        crate::support::passerelle(&["orders", "show", &ours, "--config", &config, "--api", &api, "--json"], &[]).await;
    let order_json: Value = serde_json::from_str(&order_json.stdout).expect("JSON");
    assert_eq!(order_json["deliveries"][1]["qc"][0]["passed"], false, "{order_json:#}");
    let lab_console = crate::console::Console::login(&lab).await;
    let lab_page = lab_console.page(&format!("/console/orders/{}", crate::console::segment(&theirs))).await;
    assert!(lab_page.contains("verified against its DID document"), "{lab_page}");

    // Both parties' tools heard of it, in the transactions of the changes.
    let names = ["order.received", "order.delivery_received", "order.accepted", "order.event"];
    let heard = poll(
        "the order webhooks",
        || async { json!(names.map(|n| mam.heard(n))) },
        |v| v.as_array().is_some_and(|a| a.iter().all(|b| b == true)),
    )
    .await;
    assert_eq!(heard, json!([true, true, true, true]));
}

#[tokio::test]
async fn an_order_after_the_agreed_window_is_refused_with_the_policys_explanation() {
    let (_mam, mam_url) = Mam::start().await;
    // The service is offered for a few seconds: long enough to agree and start the transfer, not to order later.
    let until = time::OffsetDateTime::now_utc() + time::Duration::seconds(8);
    let end = until.format(&time::format_description::well_known::Rfc3339).unwrap();
    let window = json!({"leftOperand": "dateTime", "operator": "lt", "rightOperand": end});
    let lab = lab(&[window], &mam_url).await;
    let (distributor, transfer) = distributor_of(&lab, &mam_url).await;
    let (_, eidr) = a_version_with_eidr(&distributor).await;
    // The window is a matter of the clock: wait for it to close.
    let left = until - time::OffsetDateTime::now_utc();
    assert!(left.is_positive(), "the agreement took longer than the window; widen it");
    tokio::time::sleep(std::time::Duration::try_from(left).unwrap() + std::time::Duration::from_millis(200)).await;
    let (status, refused) = distributor
        .api(Method::POST, "/api/v1/orders", Some(&json!({"transferPid": transfer, "order": order("PO-LATE", &eidr)})))
        .await;
    assert_eq!((status, refused["error"].as_str()), (403, Some("agreement_refused")), "{refused:#}");
    let why = refused["message"].as_str().unwrap_or_default();
    assert!(why.contains("the time is before") && why.contains("→ FAILS"), "{why}");
    assert_eq!(lab.get("/api/v1/orders").await["items"], json!([]), "nothing stored at the lab");
}

/// A delivery announcing more than the distributor takes in (`[exchange] max_delivery_bytes`) is refused before any
/// file is fetched, and the lab reads why.
#[tokio::test]
async fn a_delivery_larger_than_the_distributor_takes_in_is_refused_unfetched() {
    let (_mam, mam_url) = Mam::start().await;
    let lab = lab(&[], &mam_url).await;
    let (distributor, transfer) =
        distributor_configured(&lab, &mam_url, "\n[exchange]\nmax_delivery_bytes = 16\n").await;
    let (_, eidr) = a_version_with_eidr(&distributor).await;
    let (ours, theirs) = in_work(&lab, &distributor, &transfer, &order("PO-BIG", &eidr)).await;
    let folder = outbox_folder(&lab, "PO-BIG-v1", GOOD_SRT);
    let (status, delivered) = deliver(&lab, &theirs, json!({"folder": folder_text(&folder)})).await;
    assert_eq!(status, 201, "{delivered:#}");
    let refused = distributor
        .wait_for(&format!("/api/v1/orders/{ours}"), "the refusal", |o| o["state"] == "REDELIVERY_REQUESTED")
        .await;
    let problem = &refused["log"].as_array().unwrap().last().unwrap()["event"]["problems"][0];
    assert_eq!((problem["file"].as_str(), problem["problem"].as_str()), (Some("(manifest)"), Some("too_large")));
    assert!(problem["message"].as_str().unwrap_or_default().contains("max_delivery_bytes"), "{problem:#}");
    let pool = db(&distributor).await;
    let fetched: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM order_deliveries WHERE intact = 1")
        .fetch_one(&pool)
        .await
        .expect("deliveries");
    assert_eq!(fetched, 0);
    let received = distributor.folder.dir.path().join("deliveries");
    let files = walk_files(&received);
    assert!(files.is_empty(), "nothing fetched: {files:?}");
    lab.wait_for(&format!("/api/v1/orders/{theirs}"), "the refusal at the lab", |o| {
        o["state"] == "REDELIVERY_REQUESTED"
    })
    .await;
}

fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries.flatten().flat_map(|e| if e.path().is_dir() { walk_files(&e.path()) } else { vec![e.path()] }).collect()
}

/// A distributor and a lab with a service contract, a STARTED transfer under it and an order whose delivery
/// failed QC (a line too long): what the console's browser test opens.
pub(crate) struct QcScene {
    /// Kept running for the order's life.
    _lab: Node,
    pub distributor: Node,
    pub agreement_id: String,
    pub transfer_pid: String,
    /// The distributor's id of the order.
    pub order: String,
    _mam: Mam,
}

pub(crate) async fn order_with_failed_qc() -> QcScene {
    let (mam, mam_url) = Mam::start().await;
    let lab = lab(&[], &mam_url).await;
    let (distributor, transfer_pid) = distributor_of(&lab, &mam_url).await;
    let (_, eidr) = a_version_with_eidr(&distributor).await;
    let (order, theirs) = in_work(&lab, &distributor, &transfer_pid, &order("PO-B1", &eidr)).await;
    let folder = outbox_folder(&lab, "PO-B1-v1", LONG_LINE_SRT);
    let (status, body) = deliver(&lab, &theirs, json!({"folder": folder_text(&folder)})).await;
    assert_eq!(status, 201, "{body:#}");
    let view = distributor
        .wait_for(&format!("/api/v1/orders/{order}"), "QC of the delivery", |o| {
            o["state"] == "REDELIVERY_REQUESTED" && o["deliveries"][0]["qc"].as_array().is_some_and(|q| !q.is_empty())
        })
        .await;
    let agreement_id = view["agreementId"].as_str().expect("agreement id").to_string();
    QcScene { _lab: lab, distributor, agreement_id, transfer_pid, order, _mam: mam }
}
