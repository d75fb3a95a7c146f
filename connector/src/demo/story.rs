//! The story, step by step, through the services' management APIs (what a user or a MAM would call).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::process::{Launch, Service, free_port, run_command};
use super::{DataSpace, DemoError, DemoOptions, STEPS, Step};
use crate::catalog::ids::{service_dataset_id, work_dataset_id};

/// Every participant shows the same (test) company registration; the authority checks its form, not the registry.
const REGISTRATION: &str = "vatID:FR40303265045";
const ORDER_ID: &str = "PO-2026-ES-001";
/// The lab's subtitling service (its dataset is `service:subtitling`).
const SERVICE: &str = "subtitling";

/// A Spanish subtitle file the order's style profile accepts (what the lab delivers).
const SPANISH_SRT: &str = "1\n00:00:01,000 --> 00:00:03,500\nBuenas noches.\n\n\
                           2\n00:00:04,000 --> 00:00:06,500\n¿Dónde está la estación?\n\n\
                           3\n00:00:07,000 --> 00:00:09,500\nNo lo sé, pregunta al consejero.\n";

struct Progress<'a> {
    report: &'a mut dyn FnMut(&Step),
}

impl Progress<'_> {
    fn done(&mut self, name: &'static str, detail: impl Into<String>) {
        let number = STEPS.iter().position(|s| *s == name).map_or(0, |i| i + 1);
        (self.report)(&Step { number, name, detail: detail.into() });
    }
}

/// Maps a step's failure to the demo's error.
fn at(step: &'static str) -> impl Fn(String) -> DemoError {
    move |message| DemoError::Step { step, message }
}

fn text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Plays the whole story; the running data space on success (its services stop when it is dropped).
pub async fn play(options: &DemoOptions, report: &mut dyn FnMut(&Step)) -> Result<DataSpace, DemoError> {
    let mut progress = Progress { report };
    let exe = options.exe.as_path();

    // 1. The authority with its catalogue, and the three participants.
    let fail = at("start");
    if options.dir.exists() && std::fs::read_dir(&options.dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(fail(format!("{} is not empty: give an empty or new folder with --dir", options.dir.display())));
    }
    std::fs::create_dir_all(&options.dir).map_err(|e| fail(format!("{}: {e}", options.dir.display())))?;
    let mec = options.samples.join("mddf/movielabs-mddf_MEC_movie_Counselor.xml");
    let avails = options.samples.join("mddf/movielabs-mddf_Avails_noErrors_v2.4.xml");
    for sample in [&mec, &avails] {
        if !sample.is_file() {
            return Err(fail(format!("sample {} not found: point --samples at shared/samples", sample.display())));
        }
    }
    let authority = start_authority(exe, &options.dir).await.map_err(&fail)?;
    let distributor =
        start_participant(exe, &options.dir, "distributor", "Acme Films", &authority, true).await.map_err(&fail)?;
    let lab =
        start_participant(exe, &options.dir, "lab", "Sous-Titres Atelier", &authority, false).await.map_err(&fail)?;
    let broadcaster =
        start_participant(exe, &options.dir, "broadcaster", "Canal Nord", &authority, false).await.map_err(&fail)?;
    progress.done(
        "start",
        format!("authority + catalogue {}, distributor, lab, broadcaster on loopback", authority.public),
    );

    // 2. Membership credentials from the authority, carrying each one's role.
    let fail = at("onboard");
    for participant in [&distributor, &lab, &broadcaster] {
        let config = text(&participant.config);
        run_command(exe, &["identity", "onboard", "--config", &config, "--authority", &authority.public])
            .map_err(&fail)?;
    }
    progress.done("onboard", "three members onboarded; every protocol call now carries DCP credentials");

    // 3. The distributor's MAM exports, and the lab's service with its policy (at most 10 orders, es or fr).
    let fail = at("publish");
    run_command(exe, &["import", "--config", &text(&distributor.config), &text(&mec), &text(&avails)])
        .map_err(&fail)?;
    let policy = json!({"@id": "urn:lab:subtitling", "@type": "Offer", "permission": [{"action": "use",
        "constraint": [
            {"leftOperand": "count", "operator": "lteq", "rightOperand": 10},
            {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]}]}]});
    lab.post("/api/v1/policies", &policy).await.map_err(&fail)?;
    let service = json!({"id": SERVICE, "title": "Subtitling: Spanish and French (SRT, WebVTT, IMSC 1.1)",
        "languages": ["es", "fr"], "kinds": ["subtitles", "sdh", "forced-narrative"],
        "formats": ["srt", "webvtt", "ttml-imsc1.1"], "turnaround_days": 10, "rush_turnaround_days": 3,
        "price": {"currency": "EUR", "per_minute": "4.50", "minimum_charge": "150.00", "rush_surcharge_percent": 50},
        "policy_id": "urn:lab:subtitling"});
    lab.post("/api/v1/services", &service).await.map_err(&fail)?;
    let (version_id, eidr, work_id, title) = a_version_to_subtitle(&distributor).await.map_err(&fail)?;
    progress.done("publish", "distributor imported the MovieLabs samples; lab offers its subtitling service");

    // 4. Discovery in the federated catalogue (the crawler indexes each participant after it notifies).
    let fail = at("discover");
    // The distributor looks for a service that subtitles into Spanish, the broadcaster for the title.
    let service_hit = find(
        &distributor,
        "kind=service&language=es",
        "a Spanish subtitling service",
        &lab.did,
        &service_dataset_id(SERVICE),
    )
    .await
    .map_err(&fail)?;
    let work_query = format!("q={}", url_words(&title));
    let work_hit =
        find(&broadcaster, &work_query, &format!("\"{title}\""), &distributor.did, &work_dataset_id(&work_id))
            .await
            .map_err(&fail)?;
    progress.done(
        "discover",
        format!("distributor found the lab's service (kind=service, language=es); broadcaster found \"{title}\""),
    );

    // 5. The distributor contracts the lab's service (the lab verifies who asks) and opens the order channel.
    let fail = at("negotiate-service");
    let pull = json!({"format": "HttpData-PULL"});
    let (service_agreement, service_transfer) = contract(&distributor, &service_hit, pull).await.map_err(&fail)?;
    progress.done("negotiate-service", format!("agreement {service_agreement}, transfer {service_transfer} STARTED"));

    // 6. The broadcaster contracts the work and has its versions-and-rights feed pushed to it.
    let fail = at("negotiate-feed");
    let push = json!({"format": "HttpData-PUSH", "feed": true});
    let (feed_agreement, feed_transfer) = contract(&broadcaster, &work_hit, push).await.map_err(&fail)?;
    let feed_path = format!("/api/v1/transfers/{feed_transfer}/feed");
    let first = broadcaster
        .wait_for(&feed_path, "the first pushed changes", |page| {
            page["changes"].as_array().is_some_and(|c| !c.is_empty())
        })
        .await
        .map_err(&fail)?;
    let known = first["changes"].as_array().map_or(0, Vec::len);
    progress.done(
        "negotiate-feed",
        format!("agreement {feed_agreement}; the feed is pushed to the broadcaster: {known} change(s) so far"),
    );

    // 7. The order: Spanish subtitles for the exact version (EIDR edit).
    let fail = at("order");
    let order = order_for(&eidr, &work_id, &title);
    let placed = distributor
        .post("/api/v1/orders", &json!({"transferPid": service_transfer, "order": order}))
        .await
        .map_err(&fail)?;
    let ours = placed["id"].as_str().unwrap_or_default().to_string();
    let at_distributor = format!("/api/v1/orders/{ours}");
    let list =
        lab.wait_for("/api/v1/orders", "the order at the lab", |l| lab_order(l).is_some()).await.map_err(&fail)?;
    let theirs = lab_order(&list).unwrap_or_default();
    let at_lab = format!("/api/v1/orders/{theirs}");
    progress.done("order", format!("{ORDER_ID}: Spanish subtitles for EIDR {eidr}, REQUESTED"));

    // 8. Quote, confirmation, materials and the production stages.
    let fail = at("production");
    let event = |e: Value| json!({"event": e});
    let quote = json!({"type": "Quoted", "price": {"amount": "1250.00", "currency": "EUR"}});
    lab.post(&format!("{at_lab}/events"), &event(quote)).await.map_err(&fail)?;
    distributor.wait_for(&at_distributor, "the quote", |o| o["state"] == "QUOTED").await.map_err(&fail)?;
    distributor.post(&format!("{at_distributor}/events"), &event(json!({"type": "Confirmed"}))).await.map_err(&fail)?;
    lab.wait_for(&at_lab, "the confirmation", |o| o["state"] == "CONFIRMED").await.map_err(&fail)?;
    let materials = json!({"type": "MaterialsReceived", "materials": ["proxy", "script"], "complete": true});
    lab.post(&format!("{at_lab}/events"), &event(materials)).await.map_err(&fail)?;
    for stage in ["translation", "review", "qc"] {
        let step = json!({"type": "StageProgress", "stage": stage, "percent": 100});
        lab.post(&format!("{at_lab}/events"), &event(step)).await.map_err(&fail)?;
    }
    let seen = distributor.wait_for(&at_distributor, "the progress", |o| o["stage"] == "qc").await.map_err(&fail)?;
    progress.done("production", format!("quoted 1250.00 EUR, confirmed; distributor sees {}", seen["status"]));

    // 9. Delivery: a folder in the lab's outbox; the manifest (hashes) travels with the event.
    let fail = at("deliver");
    let folder = lab_outbox(&lab).join(ORDER_ID);
    std::fs::create_dir_all(&folder).map_err(|e| fail(format!("{}: {e}", folder.display())))?;
    std::fs::write(folder.join("es.srt"), SPANISH_SRT).map_err(|e| fail(e.to_string()))?;
    lab.post(&format!("{at_lab}/deliveries"), &json!({"folder": text(&folder)})).await.map_err(&fail)?;
    progress.done("deliver", "es.srt delivered with its manifest (SHA-256, xxh3, MD5)");

    // 10. The distributor's connector fetches, verifies every hash, signs a receipt and runs QC.
    let fail = at("receipt-and-qc");
    let checked = distributor
        .wait_for(&at_distributor, "verification and QC", |o| {
            matches!(o["state"].as_str(), Some("VALIDATED" | "REDELIVERY_REQUESTED"))
        })
        .await
        .map_err(&fail)?;
    if checked["state"] != "VALIDATED" {
        return Err(fail(format!("the delivery was not validated: {}", checked["log"])));
    }
    let delivery = &checked["deliveries"][0];
    lab.wait_for(&at_lab, "the receipt at the lab", |o| o["deliveries"][0]["receiptVerified"] == true)
        .await
        .map_err(&fail)?;
    let cues = delivery["qc"][0]["report"]["summary"]["cues"].as_u64().unwrap_or(0);
    progress.done(
        "receipt-and-qc",
        format!("hashes intact, receipt signed and verified by the lab, QC passed ({cues} cues)"),
    );

    // 11. A person accepts (automatic QC never does).
    let fail = at("accept");
    distributor.post(&format!("{at_distributor}/events"), &event(json!({"type": "Accepted"}))).await.map_err(&fail)?;
    progress.done("accept", format!("accepted: version {version_id} now carries Spanish subtitles"));

    // 12. The broadcaster's feed shows the new subtitle version.
    let fail = at("feed");
    let change = broadcaster
        .wait_for(&feed_path, "the new subtitle version in the feed", |page| spanish_track(page, &version_id))
        .await
        .map_err(&fail)?;
    let seq = change["changes"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == version_id.as_str()))
        .map(|c| c["seq"].clone())
        .unwrap_or(Value::Null);
    progress.done("feed", format!("broadcaster's feed: change {seq}, version {version_id} with subtitles es"));

    let space = DataSpace { services: vec![authority, distributor, lab, broadcaster] };
    progress.done("ready", "every service keeps running; the summary below says where to look");
    Ok(space)
}

async fn start_authority(exe: &Path, dir: &Path) -> Result<Service, String> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let folder = dir.join("authority");
    let path = text(&folder);
    run_command(
        exe,
        &[
            "catalog",
            "init",
            "--dir",
            &path,
            "--name",
            "Media Data Space",
            "--public-url",
            &url,
            "--registration-number",
            REGISTRATION,
            "--country",
            "FR",
        ],
    )?;
    let config = folder.join("catalogue.toml");
    Launch {
        exe,
        name: "authority",
        args: vec!["catalog".into(), "run".into(), "--config".into(), text(&config)],
        env: vec![
            ("PASSERELLE_AUTHORITY_BIND", format!("127.0.0.1:{port}")),
            ("PASSERELLE_AUTHORITY_MANAGEMENT_BIND", "127.0.0.1:0".into()),
        ],
        log: dir.join("authority.log"),
        announces: ["public listening on ", "management listening on "],
        did: format!("did:web:127.0.0.1%3A{port}"),
        api_key_file: folder.join("secrets/admin-api-key"),
        config,
        has_console: false,
    }
    .start()
    .await
}

async fn start_participant(
    exe: &Path,
    dir: &Path,
    role: &'static str,
    legal_name: &str,
    authority: &Service,
    default_offer: bool,
) -> Result<Service, String> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let folder = dir.join(role);
    let path = text(&folder);
    let mut args = vec![
        "init",
        "--dir",
        &path,
        "--name",
        legal_name,
        "--role",
        role,
        "--public-url",
        &url,
        "--registration-number",
        REGISTRATION,
        "--country",
        "FR",
    ];
    if !default_offer {
        args.push("--no-default-offer");
    }
    run_command(exe, &args)?;
    let config = folder.join("passerelle.toml");
    let mut settings = std::fs::read_to_string(&config).map_err(|e| format!("{}: {e}", config.display()))?;
    // Loopback only: did:web over plain http is allowed for this demo, never by default.
    settings.push_str(&format!(
        "\n[identity]\nallow_http_did_web = true\n\n[trust]\nmembership = \"{}\"\n\n[catalogue]\nurl = \"{}\"\n",
        authority.did, authority.public
    ));
    std::fs::write(&config, settings).map_err(|e| format!("{}: {e}", config.display()))?;
    Launch {
        exe,
        name: role,
        args: vec!["run".into(), "--config".into(), text(&config)],
        env: vec![
            ("PASSERELLE_PROTOCOL_BIND", format!("127.0.0.1:{port}")),
            ("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0".into()),
        ],
        log: dir.join(format!("{role}.log")),
        announces: ["protocol listening on ", "management listening on "],
        did: format!("did:web:127.0.0.1%3A{port}"),
        api_key_file: folder.join("secrets/management-api-key"),
        config,
        has_console: true,
    }
    .start()
    .await
}

fn lab_outbox(lab: &Service) -> PathBuf {
    lab.config.parent().map(|d| d.join("deliveries-out")).unwrap_or_else(|| PathBuf::from("deliveries-out"))
}

/// The first imported Version with an EIDR edit id: `(version id, eidr, work id, work title)`.
async fn a_version_to_subtitle(distributor: &Service) -> Result<(String, String, String, String), String> {
    let works = distributor.get("/api/v1/works?limit=200").await?;
    for work in works["items"].as_array().into_iter().flatten() {
        let work_id = work["id"].as_str().unwrap_or_default();
        let versions =
            distributor.get(&format!("/api/v1/works/{}/versions", crate::api::percent_segment(work_id))).await?;
        for version in versions["items"].as_array().into_iter().flatten() {
            if let (Some(id), Some(eidr)) = (version["id"].as_str(), version["eidr"].as_str()) {
                let title = work["title"].as_str().unwrap_or_default().to_string();
                return Ok((id.to_string(), eidr.to_string(), work_id.to_string(), title));
            }
        }
    }
    Err("the imported samples hold no version with an EIDR edit id".into())
}

/// Searches the catalogue through `who`'s connector with `query` (URL query parameters) until `dataset` of
/// `provider` is found; the hit.
async fn find(who: &Service, query: &str, what: &str, provider: &str, dataset: &str) -> Result<Value, String> {
    let results = who
        .wait_for(&format!("/api/v1/catalogue/search?{query}&limit=50"), &format!("{what} in the catalogue"), |r| {
            hit_of(r, provider, dataset).is_some()
        })
        .await?;
    hit_of(&results, provider, dataset).ok_or_else(|| "the hit vanished".into())
}

/// The words of a title as a query value (each percent-encoded; the search takes words as prefixes).
fn url_words(words: &str) -> String {
    words
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            w.bytes()
                .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("+")
}

fn hit_of(results: &Value, provider: &str, dataset: &str) -> Option<Value> {
    results["hits"]
        .as_array()?
        .iter()
        .find(|h| h["provider"] == provider && h["datasetId"] == dataset && h["offerIds"][0].is_string())
        .cloned()
}

/// Negotiates the hit's first offer to FINALIZED and starts a pull transfer: `(agreement id, transfer pid)`.
/// Negotiates `hit`'s offer and starts a transfer under the agreement (`transfer`: the format and options of the
/// request, e.g. `{"format": "HttpData-PULL"}`); `(agreement, transfer pid)` once it is STARTED.
async fn contract(consumer: &Service, hit: &Value, transfer: Value) -> Result<(String, String), String> {
    let start = json!({"counterPartyAddress": hit["providerAddress"], "datasetId": hit["datasetId"],
        "offerId": hit["offerIds"][0]});
    let created = consumer.post("/api/v1/negotiations", &start).await?;
    let pid = created["pid"].as_str().unwrap_or_default().to_string();
    let done = consumer
        .wait_for(&format!("/api/v1/negotiations/{pid}"), "the negotiation to end", |n| {
            matches!(n["state"].as_str(), Some("FINALIZED" | "TERMINATED"))
        })
        .await?;
    if done["state"] != "FINALIZED" {
        return Err(format!("negotiation {pid} was terminated: {}", done["termination"]));
    }
    let agreement = done["agreement_id"].as_str().unwrap_or_default().to_string();
    let mut request = transfer;
    request["agreementId"] = json!(agreement);
    let transfer = consumer.post("/api/v1/transfers", &request).await?;
    let pid = transfer["pid"].as_str().unwrap_or_default().to_string();
    consumer
        .wait_for(&format!("/api/v1/transfers/{pid}"), "the transfer to start", |t| t["state"] == "STARTED")
        .await?;
    Ok((agreement, pid))
}

fn order_for(eidr: &str, work_id: &str, title: &str) -> Value {
    let mut order = super::subtitle_order(ORDER_ID, work_id, title, eidr, "es");
    order["instructions"] = json!("Castilian Spanish; keep the character names as in the original.");
    order
}

/// The lab's id of the demo's order.
fn lab_order(list: &Value) -> Option<String> {
    list["items"]
        .as_array()?
        .iter()
        .find(|o| o["orderId"] == ORDER_ID && o["side"] == "lab")
        .and_then(|o| o["id"].as_str())
        .map(str::to_string)
}

/// Whether a feed page holds a change of `version_id` whose document carries a Spanish subtitle track.
fn spanish_track(page: &Value, version_id: &str) -> bool {
    page["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|change| change["id"] == version_id && contains_spanish_subtitles(&change["document"]))
}

fn contains_spanish_subtitles(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            // The feed's documents are the DCAT/JSON-LD form (`subtitle`); the store's JSON says `subtitles`.
            let tracks = map.get("subtitle").or_else(|| map.get("subtitles")).and_then(Value::as_array);
            let here = tracks.is_some_and(|tracks| {
                tracks.iter().any(|t| t["language"].as_str().is_some_and(|l| l == "es" || l.starts_with("es-")))
            });
            here || map.values().any(contains_spanish_subtitles)
        }
        Value::Array(items) => items.iter().any(contains_spanish_subtitles),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_become_search_words() {
        assert_eq!(url_words("The Counselor"), "The+Counselor");
        assert_eq!(url_words("Subtitling: es & fr!"), "Subtitling+es+fr");
        assert_eq!(url_words("Voll auf die Nüsse"), "Voll+auf+die+N%C3%BCsse");
    }

    #[test]
    fn a_feed_page_shows_a_spanish_track_only_on_the_right_version() {
        let page = json!({"changes": [{"id": "v1", "document": {"version": [{"identifier": ["v1"],
            "subtitle": [{"@type": "Subtitling", "language": "es", "subtitleFormat": "SRT"}]}]}}]});
        assert!(spanish_track(&page, "v1"));
        assert!(!spanish_track(&page, "v2"));
        let french = json!({"changes": [{"id": "v1", "document": {"subtitles": [{"language": "fr"}]}}]});
        assert!(!spanish_track(&french, "v1"));
    }
}
