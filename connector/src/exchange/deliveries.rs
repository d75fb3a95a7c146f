//! Deliveries of a subtitle order, with proof of integrity, a signed receipt and automatic QC.
//!
//! - **Lab** ([`Orders::deliver`], `POST /api/v1/orders/{id}/deliveries {folder, manifest?}`): the folder must lie
//!   under one of the outbox roots (`<connector folder>/deliveries-out/` by default). Its manifest is the one given,
//!   else the newest ASC MHL generation in its `ascmhl/` folder (adopted after checking the files against it),
//!   else one built from the files (SHA-256, xxh3 and MD5, read once, in a blocking task). The Delivered event
//!   carries the manifest, its digest (`manifestRef`) and where the lab serves the files; the folder itself is
//!   never sent. The lab's protocol listener serves those files read-only to the holder of the order's
//!   data-plane token, only paths listed in the manifest, never outside the folder ([`serve_file`]).
//! - **Distributor** ([`intake`], started when a Delivered event is stored): downloads every listed file, streaming,
//!   into `<connector folder>/deliveries/<order>/<n>/` from the order endpoint it placed the order with (never from
//!   an address the lab names: a lab cannot make us fetch elsewhere), verifies count, sizes and every hash in a
//!   blocking task, and answers on its own: intact → `DeliveryReceived` with a receipt signed by our DID key
//!   (`receipt.rs`), then QC of every subtitle file (`qc.rs`) → `Validated` or `RedeliveryRequested` with notes;
//!   not intact → `DeliveryRefused` naming each file and problem. A person accepts; acceptance adds the subtitle
//!   track to the ordered Version in our store in the same transaction ([`add_track`]), which the feed carries.
//!   A failed download is kept as `intakeError` and the intake is run again at the next start.
//! - **Lab, on the receipt**: verifies it against the distributor's DID document (the agreement's assignee) and
//!   records `receiptVerified`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use passerelle_delivery::mhl::{CHAIN_FILE_NAME, HashList, MhlImportOptions, MhlWriteOptions, manifest_from_mhl};
use passerelle_delivery::{
    DeliveryManifest, FileOutcome, HashAlgorithm, ManifestEntry, ManifestOptions, RelativePath, VerificationReport,
    VerifyOptions, manifest_for_dir, verify_dir_against_manifest,
};
use passerelle_exchange::{DeliveryFormat, DeliveryProblem, Entry, Event, OrderLog, Party};
use passerelle_identity::did::{DidResolver, WebResolver};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::qc::{self, QcFileView};
use super::receipt::{self, Signer};
use super::records::{self, Delivery, DeliveryRow, OrderRow, RecordError};
use super::{ApplyError, OrderError, OrderView, Orders, log_refusal};
use crate::config::Config;
use crate::identity::ParticipantIdentity;

/// Attempts at downloading one file before the intake is left for the next start.
const DOWNLOAD_ATTEMPTS: u32 = 4;
/// Chunk size when serving files.
const SERVE_CHUNK: usize = 256 * 1024;

/// What deliveries need besides the store: where files go, which folders a lab may deliver from, who signs
/// receipts and how DID documents are fetched.
#[derive(Clone)]
pub struct DeliverySettings {
    pub(crate) state_dir: PathBuf,
    pub(crate) outbox_roots: Vec<PathBuf>,
    /// The largest total a delivery may announce (`[exchange] max_delivery_bytes`): checked before any download.
    pub(crate) max_delivery_bytes: u64,
    pub(crate) signer: Signer,
    pub(crate) resolver: Arc<dyn DidResolver>,
}

impl std::fmt::Debug for DeliverySettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliverySettings")
            .field("state_dir", &self.state_dir)
            .field("outbox_roots", &self.outbox_roots)
            .finish_non_exhaustive()
    }
}

impl DeliverySettings {
    /// The connector's: its folder (the configuration file's), its outbox roots (`[exchange] outbox_roots`, by
    /// default `deliveries-out/` in its folder, created), its DID key, and did:web resolution as its identity
    /// settings allow.
    pub fn for_connector(config: &Config, identity: &ParticipantIdentity) -> DeliverySettings {
        let state_dir = config.file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        let outbox_roots = if config.exchange_outbox_roots.is_empty() {
            let outbox = state_dir.join("deliveries-out");
            if let Err(e) = std::fs::create_dir_all(&outbox) {
                tracing::warn!(folder = %outbox.display(), error = %e, "cannot create the deliveries outbox");
            }
            vec![outbox]
        } else {
            config.exchange_outbox_roots.clone()
        };
        let allow_http = identity.settings().allow_http_did_web;
        let http = identity.http_client(Duration::from_secs(10)).unwrap_or_default();
        let resolver: Arc<dyn DidResolver> = Arc::new(WebResolver::new(http).allow_http(allow_http));
        let signer = Signer {
            did: identity.did().to_string(),
            kid: identity.dcp().key_url(),
            key: identity.signing_key().clone(),
        };
        let max_delivery_bytes = config.exchange_max_delivery_bytes;
        DeliverySettings { state_dir, outbox_roots, max_delivery_bytes, signer, resolver }
    }
}

/// One delivery as the management API and the console show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// 1 for the first delivery, 2 after a redelivery request…
    pub seq: u64,
    /// The number of the Delivered event in the log.
    pub event_seq: u64,
    /// The `passerelle-delivery` manifest.
    pub manifest: Value,
    pub manifest_ref: String,
    pub location: Option<String>,
    /// Distributor: the VerificationReport; lab: the refusal's problems, if refused.
    pub verification: Option<Value>,
    pub intact: Option<bool>,
    pub receipt: Option<String>,
    /// Lab: whether the receipt verified against the distributor's DID document.
    pub receipt_verified: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt_error: Option<String>,
    /// Distributor: why the files could not be fetched or checked yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intake_error: Option<String>,
    pub qc: Vec<QcFileView>,
}

impl From<DeliveryRow> for DeliveryView {
    fn from(row: DeliveryRow) -> DeliveryView {
        let json = |text: &Option<String>| text.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok());
        DeliveryView {
            seq: row.seq,
            event_seq: row.event_seq,
            manifest: serde_json::from_str(&row.manifest).unwrap_or(Value::Null),
            verification: json(&row.verification),
            qc: json(&row.qc).and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default(),
            manifest_ref: row.manifest_ref,
            location: row.location,
            intact: row.intact,
            receipt: row.receipt,
            receipt_verified: row.receipt_verified,
            receipt_error: row.receipt_error,
            intake_error: row.intake_error,
        }
    }
}

/// Body of `POST /api/v1/orders/{id}/deliveries`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    folder: Option<String>,
    manifest: Option<Value>,
}

fn invalid(field: &str, message: impl Into<String>) -> OrderError {
    OrderError::Invalid { field: field.into(), message: message.into() }
}

/// `folder` if it is an existing folder under one of `roots` (after resolving links), else why not.
pub(crate) fn allowed_folder(roots: &[PathBuf], folder: &str) -> Result<PathBuf, OrderError> {
    let path = Path::new(folder);
    if folder.trim().is_empty() {
        return Err(invalid("folder", "give the folder to deliver (an absolute path under an outbox root)"));
    }
    if path.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
        return Err(invalid("folder", "`..` is not allowed in a delivery folder; give the folder's real path"));
    }
    if !path.is_absolute() {
        return Err(invalid("folder", "give an absolute path"));
    }
    let roots_text = roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ");
    let real = path.canonicalize().map_err(|e| invalid("folder", format!("`{folder}` cannot be opened: {e}")))?;
    if !real.is_dir() {
        return Err(invalid("folder", format!("`{folder}` is not a folder")));
    }
    let inside = roots.iter().filter_map(|r| r.canonicalize().ok()).any(|root| real.starts_with(&root) && real != root);
    if !inside {
        return Err(invalid(
            "folder",
            format!("`{folder}` is not inside an outbox root ({roots_text}); copy the delivery into one of them"),
        ));
    }
    Ok(real)
}

/// The manifest of `folder`: from its newest ASC MHL generation when it has one, else built from the files.
fn build_manifest(folder: &Path, creator: &str) -> Result<DeliveryManifest, String> {
    let mhl_dir = folder.join("ascmhl");
    let mut generations: Vec<PathBuf> = std::fs::read_dir(&mhl_dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension().is_some_and(|x| x == "mhl") && p.file_name().is_some_and(|n| n != CHAIN_FILE_NAME)
                })
                .collect()
        })
        .unwrap_or_default();
    // Generation files start with their zero-padded sequence number: the last by name is the newest.
    generations.sort();
    let manifest = if let Some(newest) = generations.last() {
        let bytes = std::fs::read(newest).map_err(|e| format!("cannot read {}: {e}", newest.display()))?;
        let list = HashList::parse(&bytes).map_err(|e| format!("ascmhl/{}: {e}", file_name(newest)))?;
        let options = MhlImportOptions {
            extra_algorithms: vec![HashAlgorithm::Xxh3],
            creator: creator.to_string(),
            ..MhlImportOptions::default()
        };
        manifest_from_mhl(&list, folder, &options).map_err(|e| format!("ascmhl/{}: {e}", file_name(newest)))?
    } else {
        let options = ManifestOptions {
            extra_algorithms: vec![HashAlgorithm::Xxh3, HashAlgorithm::Md5],
            creator: creator.to_string(),
            ..ManifestOptions::default()
        };
        manifest_for_dir(folder, &options).map_err(|e| e.to_string())?
    };
    if manifest.files.is_empty() {
        return Err("the folder holds no file to deliver".into());
    }
    Ok(manifest)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `<state dir>/deliveries/<order key>/<n>`: the order key is a urn:uuid, kept to safe characters.
fn received_dir(state_dir: &Path, order_key: &str, n: u64) -> PathBuf {
    let safe: String = order_key.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    state_dir.join("deliveries").join(safe).join(n.to_string())
}

/// Where the lab serves file `path` of delivery `n` of its order `order_id`, under its order endpoint.
pub(crate) fn file_url(order_endpoint: &str, order_id: &str, n: u64, path: &RelativePath) -> String {
    let segments: Vec<String> = path.segments().map(crate::api::percent_segment).collect();
    format!(
        "{}/{}/deliveries/{n}/files/{}",
        order_endpoint.trim_end_matches('/'),
        crate::api::percent_segment(order_id),
        segments.join("/")
    )
}

impl Orders {
    fn settings(&self) -> Result<&DeliverySettings, OrderError> {
        self.deliveries.as_deref().ok_or_else(|| OrderError::Conflict {
            message: "deliveries are not enabled on this connector".into(),
            expected_seq: None,
        })
    }

    /// Lab: delivers the files of `folder` (or those `manifest` lists in it) on order `id`.
    pub async fn deliver(&self, id: &str, body: &Value) -> Result<OrderView, OrderError> {
        let request: DeliverRequest = serde_path_to_error::deserialize(body)
            .map_err(|e| invalid(&e.path().to_string(), format!("{}: {}", e.path(), e.inner())))?;
        let settings = self.settings()?.clone();
        let order = records::load_order(self.pool(), id).await?.ok_or_else(|| OrderError::NotFound(id.into()))?;
        let Some(folder) = request.folder else {
            return Err(invalid("folder", "give the folder holding the files to deliver, under an outbox root"));
        };
        if order.side != Party::Lab {
            return Err(OrderError::Conflict {
                message: "only the lab delivers; this connector placed the order".into(),
                expected_seq: None,
            });
        }
        let folder = allowed_folder(&settings.outbox_roots, &folder)?;
        let manifest = match request.manifest {
            Some(given) => {
                let manifest = DeliveryManifest::from_json(&given.to_string())
                    .map_err(|e| invalid("manifest", format!("manifest: {e}")))?;
                manifest.validate().map_err(|e| invalid("manifest", format!("manifest: {e}")))?;
                manifest
            }
            None => {
                let creator = self.processes.inner.participant_id.clone();
                let at = folder.clone();
                tokio::task::spawn_blocking(move || build_manifest(&at, &creator))
                    .await
                    .map_err(|e| OrderError::Store(format!("the manifest task failed: {e}")))?
                    .map_err(|e| invalid("folder", e))?
            }
        };
        let manifest_ref = receipt::manifest_digest(&manifest);
        let manifest_json = serde_json::to_value(&manifest).map_err(|e| OrderError::Store(e.to_string()))?;

        let outcome = {
            let _writer = self.processes.inner.write.lock().await;
            let mut tx = self.pool().begin().await?;
            let rows = records::events(&mut *tx, id).await?;
            let n = records::rebuild(&rows)?.deliveries() as u64 + 1;
            let location = format!(
                "{}/exchange/orders/{}/deliveries/{n}/files/",
                self.processes.inner.base_url,
                crate::api::percent_segment(&order.order_id)
            );
            let event = Event::Delivered {
                manifest_ref: manifest_ref.clone(),
                manifest: Some(manifest_json.clone()),
                location: Some(location.clone()),
            };
            let outcome = match self.apply_in(&mut tx, id, None, Party::Lab, event, Delivery::Pending).await {
                Ok(outcome) => outcome,
                Err(ApplyError::NotFound) => return Err(OrderError::NotFound(id.into())),
                Err(ApplyError::Log(e)) => return Err(log_refusal(e)),
                Err(ApplyError::Record(e)) => return Err(e.into()),
            };
            let folder = Some(folder.to_string_lossy().into_owned());
            let row =
                DeliveryRow::announced(n, outcome.seq, manifest_json.to_string(), manifest_ref, folder, Some(location));
            records::insert_delivery(&mut tx, id, &row).await?;
            tx.commit().await?;
            outcome
        };
        self.wake.notify_one();
        tracing::info!(order = %order.order_id, seq = outcome.seq, "delivered");
        self.view(id).await
    }

    /// One delivery of order `id`.
    pub async fn delivery(&self, id: &str, n: u64) -> Result<DeliveryView, OrderError> {
        records::load_order(self.pool(), id).await?.ok_or_else(|| OrderError::NotFound(id.into()))?;
        records::delivery(self.pool(), id, n).await?.map(DeliveryView::from).ok_or_else(|| {
            OrderError::NotFound(format!("{id}` has no delivery {n}; see its deliveries on the order. `{id}"))
        })
    }

    /// Delivery `n` of order `id` as an ASC MHL v2 generation (from its manifest).
    pub async fn delivery_mhl(&self, id: &str, n: u64) -> Result<String, OrderError> {
        let row = records::delivery(self.pool(), id, n).await?.ok_or_else(|| {
            OrderError::NotFound(format!("{id}` has no delivery {n}; see its deliveries on the order. `{id}"))
        })?;
        let manifest = DeliveryManifest::from_json(&row.manifest)
            .map_err(|e| OrderError::Store(format!("stored manifest of delivery {n}: {e}")))?;
        let list =
            HashList::from_manifest(&manifest, &MhlWriteOptions::default()).map_err(|e| OrderError::Conflict {
                message: format!("delivery {n} cannot be written as ASC MHL: {e}"),
                expected_seq: None,
            })?;
        Ok(list.to_xml())
    }

    pub(crate) async fn deliveries_of(&self, id: &str) -> Result<Vec<DeliveryView>, OrderError> {
        Ok(records::deliveries(self.pool(), id).await?.into_iter().map(DeliveryView::from).collect())
    }
}

/// What the distributor's connector stores with one of its automatic events, in the same transaction.
pub(crate) enum Also<'a> {
    /// The verification report (or a refusal's problems), the verdict and the receipt signed.
    Verification { n: u64, report: &'a str, intact: bool, receipt: Option<&'a str> },
    /// The QC reports of the delivery's subtitle files.
    Qc { n: u64, qc: &'a str },
}

impl Orders {
    /// Appends our automatic `event` to order `key` with what it concluded from (`also`), in one transaction, and
    /// queues it for the lab.
    pub(crate) async fn apply_with(&self, key: &str, event: Event, also: Also<'_>) -> Result<(), String> {
        let kind = event.kind();
        let (order, entry, log) = {
            let _writer = self.processes.inner.write.lock().await;
            let mut tx = self.pool().begin().await.map_err(|e| e.to_string())?;
            let outcome = match self.apply_in(&mut tx, key, None, Party::Distributor, event, Delivery::Pending).await {
                Ok(outcome) => outcome,
                Err(ApplyError::NotFound) => return Err("the order is gone".into()),
                Err(ApplyError::Log(e)) => return Err(format!("{kind} cannot be sent now: {e}")),
                Err(ApplyError::Record(e)) => return Err(e.to_string()),
            };
            let written = match also {
                Also::Verification { n, report, intact, receipt } => {
                    records::set_verification(&mut tx, key, n, report, intact, receipt).await
                }
                Also::Qc { n, qc } => records::set_qc(&mut tx, key, n, qc).await,
            };
            written.map_err(|e| e.to_string())?;
            tx.commit().await.map_err(|e| e.to_string())?;
            (outcome.order, outcome.entry, outcome.log)
        };
        self.wake.notify_one();
        if let Some(entry) = entry {
            after_commit(self, &order, &entry, &log);
        }
        Ok(())
    }
}

/// What a newly stored event changes besides the log, in the same transaction: the distributor records a
/// delivery announced to it, the lab the distributor's answer, and acceptance reaches the distributor's catalogue.
pub(crate) async fn on_applied(
    conn: &mut SqliteConnection,
    order: &OrderRow,
    entry: &Entry,
    log: &OrderLog,
) -> Result<(), RecordError> {
    let n = log.deliveries() as u64;
    match (&entry.event, order.side) {
        // A Delivered event without a manifest reports a delivery made entirely out of band (by hand): nothing to
        // fetch or verify, a person validates it.
        (Event::Delivered { manifest_ref, manifest: Some(manifest), location }, Party::Distributor) => {
            let row = DeliveryRow::announced(
                n,
                entry.seq,
                manifest.to_string(),
                manifest_ref.clone(),
                None,
                location.clone(),
            );
            records::insert_delivery(conn, &order.id, &row).await
        }
        (Event::DeliveryReceived { receipt, .. }, Party::Lab) => {
            records::set_verification(conn, &order.id, n, "null", true, Some(receipt)).await
        }
        (Event::DeliveryRefused { problems, .. }, Party::Lab) => {
            let problems = json!({ "problems": problems }).to_string();
            records::set_verification(conn, &order.id, n, &problems, false, None).await
        }
        (Event::Accepted { .. }, Party::Distributor) => add_track(conn, order, log).await,
        _ => Ok(()),
    }
}

/// What follows a newly stored event once committed: the distributor's intake of a delivery, the lab's check of
/// a receipt.
pub(crate) fn after_commit(orders: &Orders, order: &OrderRow, entry: &Entry, log: &OrderLog) {
    let n = log.deliveries() as u64;
    match (&entry.event, order.side) {
        (Event::Delivered { manifest: Some(_), .. }, Party::Distributor) => {
            tokio::spawn(intake(orders.clone(), order.id.clone(), n));
        }
        (Event::DeliveryReceived { .. }, Party::Lab) => {
            tokio::spawn(check_receipt(orders.clone(), order.id.clone(), n));
        }
        _ => {}
    }
}

/// At start: every delivery the distributor has not verified yet is taken in again.
pub(crate) async fn resume(orders: &Orders) {
    match records::unverified_deliveries(orders.pool()).await {
        Ok(pending) => {
            for (key, n) in pending {
                tokio::spawn(intake(orders.clone(), key, n));
            }
        }
        Err(e) => tracing::warn!(error = %e, "deliveries: cannot list the unverified ones"),
    }
}

/// Distributor: fetches, verifies and answers delivery `n` of order `key`.
pub(crate) async fn intake(orders: Orders, key: String, n: u64) {
    if let Err(message) = intake_once(&orders, &key, n).await {
        tracing::warn!(order = %key, delivery = n, error = %message, "delivery intake failed; retried at next start");
        // Every write goes through the writer lock, like the hosts' transactions.
        let _writer = orders.processes.inner.write.lock().await;
        if let Err(e) = records::set_intake_error(orders.pool(), &key, n, &message).await {
            tracing::warn!(order = %key, error = %e, "delivery intake: cannot record the failure");
        }
    }
}

async fn intake_once(orders: &Orders, key: &str, n: u64) -> Result<(), String> {
    let settings = orders.settings().map_err(|e| e.to_string())?.clone();
    let order = records::load_order(orders.pool(), key).await.map_err(|e| e.to_string())?.ok_or("order gone")?;
    let row = records::delivery(orders.pool(), key, n).await.map_err(|e| e.to_string())?.ok_or("delivery gone")?;
    if row.verification.is_some() {
        return Ok(());
    }
    // Only the latest delivery is answered: an older one still unverified (taken in again after a restart) was
    // superseded by a redelivery, and a receipt for it would be read as one for the new files.
    let rows = records::events(orders.pool(), key).await.map_err(|e| e.to_string())?;
    let latest = records::rebuild(&rows).map_err(|e| e.to_string())?.deliveries() as u64;
    if latest != n {
        let note = json!({"supersededBy": latest}).to_string();
        let _writer = orders.processes.inner.write.lock().await;
        let mut conn = orders.pool().acquire().await.map_err(|e| e.to_string())?;
        return records::set_verification(&mut conn, key, n, &note, false, None).await.map_err(|e| e.to_string());
    }
    let manifest = match DeliveryManifest::from_json(&row.manifest).and_then(|m| m.validate().map(|()| m)) {
        Ok(manifest) => manifest,
        Err(e) => {
            let problem = manifest_problem("manifest", format!("the delivery's manifest is unusable: {e}"));
            let verification = json!({"problems": [problem]}).to_string();
            return answer(orders, &order, n, &row.manifest_ref, vec![problem], &verification).await;
        }
    };
    if let Some(problem) = too_large(&manifest, settings.max_delivery_bytes) {
        // Refused before a byte is fetched: a lab cannot fill our disk by announcing a huge delivery.
        let verification = json!({"problems": [problem]}).to_string();
        return answer(orders, &order, n, &row.manifest_ref, vec![problem], &verification).await;
    }
    let dir = received_dir(&settings.state_dir, key, n);
    if dir.exists() {
        // A resumed intake starts from an empty folder: a half-written file of the last attempt proves nothing.
        tokio::fs::remove_dir_all(&dir).await.map_err(|e| format!("cannot clear {}: {e}", dir.display()))?;
    }
    tokio::fs::create_dir_all(&dir).await.map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    for entry in &manifest.files {
        download(orders, &order, n, entry, &dir).await?;
    }
    let (at, expected) = (dir.clone(), manifest.clone());
    let report =
        tokio::task::spawn_blocking(move || verify_dir_against_manifest(&at, &expected, &VerifyOptions::default()))
            .await
            .map_err(|e| format!("the verification task failed: {e}"))?
            .map_err(|e| format!("cannot verify: {e}"))?;
    let verification = serde_json::to_string(&report).map_err(|e| e.to_string())?;
    if !report.is_intact() {
        return answer(orders, &order, n, &row.manifest_ref, problems_of(&report), &verification).await;
    }
    let claims = receipt::claims(&settings.signer.did, &order.order_id, n, &row.manifest_ref, &report);
    let signed = receipt::sign(&settings.signer, &claims)?;
    let event = Event::DeliveryReceived { manifest_ref: row.manifest_ref.clone(), receipt: signed.clone() };
    let also = Also::Verification { n, report: &verification, intact: true, receipt: Some(&signed) };
    orders.apply_with(key, event, also).await?;
    tracing::info!(order = %order.order_id, delivery = n, "delivery received intact; receipt sent");
    run_qc(orders, &order, n, &manifest, &dir).await
}

/// A problem with the delivery as a whole (not with one of its files).
fn manifest_problem(problem: &str, message: String) -> DeliveryProblem {
    DeliveryProblem {
        file: "(manifest)".into(),
        problem: problem.into(),
        algorithm: None,
        expected: None,
        actual: None,
        message,
    }
}

/// The refusal of a delivery announcing more than `max` bytes in all.
fn too_large(manifest: &DeliveryManifest, max: u64) -> Option<DeliveryProblem> {
    let total = manifest.files.iter().fold(0_u64, |sum, f| sum.saturating_add(f.size));
    (total > max).then(|| {
        manifest_problem(
            "too_large",
            format!(
                "the delivery announces {total} bytes in {} file(s), more than the {max} this connector takes in \
                 ([exchange] max_delivery_bytes): split it or agree on a larger limit",
                manifest.files.len()
            ),
        )
    })
}

/// The refusal of a delivery that is not intact.
async fn answer(
    orders: &Orders,
    order: &OrderRow,
    n: u64,
    manifest_ref: &str,
    problems: Vec<DeliveryProblem>,
    verification: &str,
) -> Result<(), String> {
    tracing::info!(order = %order.order_id, delivery = n, problems = problems.len(), "delivery refused");
    let event = Event::DeliveryRefused { manifest_ref: manifest_ref.to_string(), problems };
    let also = Also::Verification { n, report: verification, intact: false, receipt: None };
    orders.apply_with(&order.id, event, also).await
}

/// Each file that keeps `report` from being intact, as the lab reads it.
pub(crate) fn problems_of(report: &VerificationReport) -> Vec<DeliveryProblem> {
    report
        .problems()
        .map(|f| {
            let (problem, mismatch) = match &f.outcome {
                FileOutcome::Missing => ("missing", None),
                FileOutcome::SizeMismatch { mismatches, .. } => ("size_mismatch", mismatches.first()),
                FileOutcome::HashMismatch { mismatches, .. } => ("hash_mismatch", mismatches.first()),
                FileOutcome::Unexpected { .. } => ("unexpected", None),
                FileOutcome::Unreadable { .. } => ("unreadable", None),
                FileOutcome::Ok { .. } => ("ok", None),
            };
            let (expected, actual) = match &f.outcome {
                FileOutcome::SizeMismatch { expected, actual, .. } if mismatch.is_none() => {
                    (Some(expected.to_string()), Some(actual.to_string()))
                }
                _ => (mismatch.map(|m| m.expected.clone()), mismatch.map(|m| m.actual.clone())),
            };
            DeliveryProblem {
                file: f.path.as_str().to_string(),
                problem: problem.into(),
                algorithm: mismatch.map(|m| m.algorithm.name().to_string()),
                expected,
                actual,
                message: f.to_string(),
            }
        })
        .collect()
}

/// Downloads one listed file into `dir`, streaming, never past its announced size plus one byte (enough to show
/// a size mismatch). A 404 leaves it absent (verification reports it missing).
async fn download(orders: &Orders, order: &OrderRow, n: u64, entry: &ManifestEntry, dir: &Path) -> Result<(), String> {
    let Ok(path) = RelativePath::parse(&entry.path) else { return Ok(()) };
    let url = file_url(&order.peer_address, &order.order_id, n, &path);
    let mut token = order.peer_token.clone();
    let mut attempt = 0;
    let response = loop {
        attempt += 1;
        let sent =
            orders.processes.inner.http.get(&url).header(header::AUTHORIZATION, format!("Bearer {token}")).send().await;
        match sent {
            Ok(r) if r.status().is_success() => break r,
            Ok(r) if r.status() == reqwest::StatusCode::NOT_FOUND => return Ok(()),
            // The lab's data-plane token expired: renew it as the event delivery does, and fetch again.
            Ok(r) if r.status() == reqwest::StatusCode::UNAUTHORIZED && attempt < DOWNLOAD_ATTEMPTS => {
                super::delivery::refresh(orders, &order.transfer_pid).await?;
                token = records::load_order(orders.pool(), &order.id)
                    .await
                    .map_err(|e| e.to_string())?
                    .map(|o| o.peer_token)
                    .ok_or("the order is gone")?;
            }
            Ok(r) if attempt >= DOWNLOAD_ATTEMPTS || !super::delivery::retryable_status(r.status().as_u16()) => {
                return Err(format!("{url} answered HTTP {}", r.status()));
            }
            Err(e) if attempt >= DOWNLOAD_ATTEMPTS => {
                return Err(format!("{url}: {}", crate::outbox::error_chain(&e)));
            }
            _ => tokio::time::sleep(Duration::from_millis(250 << attempt)).await,
        }
    };
    let target = path.under(dir);
    if let Some(parent) = target.parent() {
        tokio::fs::create_dir_all(parent).await.map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let mut file =
        tokio::fs::File::create(&target).await.map_err(|e| format!("cannot write {}: {e}", target.display()))?;
    let limit = entry.size.saturating_add(1);
    let mut written: u64 = 0;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| format!("{url}: {}", crate::outbox::error_chain(&e)))?;
        let take = usize::try_from((limit - written).min(chunk.len() as u64)).unwrap_or(chunk.len());
        file.write_all(&chunk[..take]).await.map_err(|e| format!("cannot write {}: {e}", target.display()))?;
        written += take as u64;
        if written >= limit {
            break;
        }
    }
    file.flush().await.map_err(|e| format!("cannot write {}: {e}", target.display()))
}

/// Automatic QC of an intact delivery: `Validated` when every subtitle file passes, else `RedeliveryRequested`
/// with the errors as notes. Never `Accepted`: that stays a person's decision.
async fn run_qc(
    orders: &Orders,
    order: &OrderRow,
    n: u64,
    manifest: &DeliveryManifest,
    dir: &Path,
) -> Result<(), String> {
    let rows = records::events(orders.pool(), &order.id).await.map_err(|e| e.to_string())?;
    let placed = records::rebuild(&rows).map_err(|e| e.to_string())?.order().cloned().ok_or("the order is missing")?;
    let files = qc::subtitle_files(manifest);
    let at = dir.to_path_buf();
    let results = tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|file| {
                let bytes = RelativePath::parse(file).ok().and_then(|p| std::fs::read(p.under(&at)).ok());
                qc::check_file(&placed, file, &bytes.unwrap_or_default())
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| format!("the QC task failed: {e}"))?;
    let views: Vec<&QcFileView> = results.iter().map(|(v, _)| v).collect();
    let stored = serde_json::to_string(&views).map_err(|e| e.to_string())?;
    let qc_report_ref = format!("sha256:{}", hex::encode(Sha256::digest(stored.as_bytes())));
    let mut notes = qc::notes(&results);
    if results.is_empty() {
        notes.push(passerelle_exchange::QcNote {
            category: passerelle_exchange::NoteCategory::Format,
            severity: passerelle_exchange::Severity::Critical,
            timecode_range: None,
            text: "the delivery holds no subtitle file; deliver the ordered subtitles".into(),
        });
    }
    let event = if notes.is_empty() {
        Event::Validated { qc_report_ref }
    } else {
        Event::RedeliveryRequested { notes, qc_report_ref: Some(qc_report_ref) }
    };
    let passed = matches!(event, Event::Validated { .. });
    orders.apply_with(&order.id, event, Also::Qc { n, qc: &stored }).await?;
    tracing::info!(order = %order.order_id, delivery = n, passed, "automatic QC done");
    Ok(())
}

/// Lab: checks the distributor's receipt for delivery `n` against its DID document and records the verdict.
pub(crate) async fn check_receipt(orders: Orders, key: String, n: u64) {
    let verdict = async {
        let settings = orders.settings().map_err(|e| e.to_string())?.clone();
        let order = records::load_order(orders.pool(), &key).await.map_err(|e| e.to_string())?.ok_or("order gone")?;
        let row = records::delivery(orders.pool(), &key, n).await.map_err(|e| e.to_string())?.ok_or("no delivery")?;
        let token = row.receipt.clone().ok_or("no receipt")?;
        let provider = Some(passerelle_dsp::process::Role::Provider);
        let agreement = orders
            .processes
            .read(|db| crate::contracts::AgreementRecord::load(db, &order.agreement_id, provider))
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the agreement is missing")?;
        let expected = receipt::Expected {
            issuer: &agreement.assignee,
            order_id: &order.order_id,
            delivery: n,
            manifest_ref: &row.manifest_ref,
        };
        receipt::verify(settings.resolver.as_ref(), &token, &expected).await
    }
    .await;
    let (verified, error) = match &verdict {
        Ok(()) => (true, None),
        Err(e) => (false, Some(e.as_str())),
    };
    tracing::info!(order = %key, delivery = n, verified, error = error.unwrap_or(""), "delivery receipt checked");
    let _writer = orders.processes.inner.write.lock().await;
    if let Err(e) = records::set_receipt_check(orders.pool(), &key, n, verified, error).await {
        tracing::warn!(order = %key, error = %e, "cannot record the receipt check");
    }
}

/// The trade's word for a delivery format, as Versions name their subtitle tracks.
fn format_word(format: DeliveryFormat) -> &'static str {
    match format {
        DeliveryFormat::Srt => "SRT",
        DeliveryFormat::WebVtt => "WebVTT",
        DeliveryFormat::TtmlImsc11 => "IMSC1.1",
        DeliveryFormat::EbuStl => "EBU-STL",
        DeliveryFormat::Scc => "SCC",
    }
}

/// Distributor, on acceptance: the subtitle files of the last intact delivery become tracks of the ordered
/// Version (its next revision), in the transaction of the Accepted event. A Version we do not hold is left alone
/// (logged): the order is ours to accept either way.
pub(crate) async fn add_track(
    conn: &mut SqliteConnection,
    order: &OrderRow,
    log: &OrderLog,
) -> Result<(), RecordError> {
    let Some(placed) = log.order() else { return Ok(()) };
    let deliveries = records::deliveries(&mut *conn, &order.id).await?;
    let Some(delivery) = deliveries.iter().rev().find(|d| d.intact == Some(true)) else {
        tracing::warn!(order = %order.order_id, "accepted without an intact delivery: no subtitle track added");
        return Ok(());
    };
    let manifest = DeliveryManifest::from_json(&delivery.manifest)
        .map_err(|e| RecordError::Corrupt(format!("manifest of delivery {}: {e}", delivery.seq)))?;
    let (eidr, isan) = (placed.version.eidr.as_deref(), placed.version.isan.as_deref());
    let version = crate::store::Store::version_by_identifier_in(conn, eidr, isan).await?;
    let Some(mut version) = version else {
        tracing::warn!(order = %order.order_id, "the ordered version is not in this store: no subtitle track added");
        return Ok(());
    };
    let language = placed.language().map_err(|e| RecordError::Corrupt(format!("order language: {e}")))?;
    let subtitle_files = qc::subtitle_files(&manifest);
    for entry in manifest.files.iter().filter(|f| subtitle_files.contains(&f.path)) {
        let hashes = entry
            .digests()
            .iter()
            .map(|(algorithm, value)| passerelle_media::FileHash {
                algorithm: algorithm.name().to_string(),
                value: value.to_string(),
            })
            .collect();
        let track = passerelle_media::SubtitleTrack {
            id: format!("{}/{}", placed.id, entry.path),
            language: language.clone(),
            kind: placed.kind.to_media(),
            format: Some(format_word(placed.format).to_string()),
            file: Some(passerelle_media::FileRef {
                location: format!("order:{}/delivery/{}/{}", placed.id, delivery.seq, entry.path),
                size: Some(entry.size),
                mime_type: entry.mime_type.clone(),
                hashes,
            }),
        };
        version.subtitles.retain(|t| t.id != track.id);
        version.subtitles.push(track);
    }
    // The store's own write: its columns and revision stay as an import would leave them, and the feed's
    // triggers record the change.
    crate::store::Store::put_version_in(conn, &version).await?;
    tracing::info!(order = %order.order_id, version = %version.id, "subtitle track added to the version");
    Ok(())
}

/// Lab, protocol listener: file `path` of delivery `n` of order `order_key`, if the manifest lists it and it lies
/// inside the delivered folder.
pub(crate) async fn serve_file(orders: &Orders, order_key: &str, n: &str, path: &str) -> Response {
    let not_found = |message: String| {
        (StatusCode::NOT_FOUND, axum::Json(json!({"error": "not_found", "message": message}))).into_response()
    };
    let Ok(n) = n.parse::<u64>() else { return not_found(format!("`{n}` is not a delivery number")) };
    let row = match records::delivery(orders.pool(), order_key, n).await {
        Ok(Some(row)) => row,
        Ok(None) => return not_found(format!("this order has no delivery {n}")),
        Err(e) => {
            tracing::error!(error = %e, "serving a delivered file");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                axum::Json(json!({"error": "unavailable",
                "message": "the store is unavailable; try again"})),
            )
                .into_response();
        }
    };
    let Ok(relative) = RelativePath::parse(path) else {
        return (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"error": "bad_path", "message": "give a file path of the delivery's manifest"})),
        )
            .into_response();
    };
    let listed = DeliveryManifest::from_json(&row.manifest)
        .map(|m| m.files.iter().any(|f| f.path == relative.as_str()))
        .unwrap_or(false);
    let Some(folder) = row.folder.filter(|_| listed) else {
        return not_found(format!("`{relative}` is not a file of delivery {n}"));
    };
    let folder = PathBuf::from(folder);
    // A link inside the folder must not lead out of it.
    let real = match (relative.under(&folder).canonicalize(), folder.canonicalize()) {
        (Ok(real), Ok(root)) if real.starts_with(&root) => real,
        _ => return not_found(format!("`{relative}` is no longer in the delivered folder")),
    };
    let Ok(file) = tokio::fs::File::open(&real).await else {
        return not_found(format!("`{relative}` is no longer in the delivered folder"));
    };
    let length = file.metadata().await.map(|m| m.len()).ok();
    let stream = futures::stream::try_unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; SERVE_CHUNK];
        let read = file.read(&mut buffer).await?;
        if read == 0 {
            return Ok::<_, std::io::Error>(None);
        }
        buffer.truncate(read);
        Ok(Some((Bytes::from(buffer), file)))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    if let Some(length) = length.and_then(|l| HeaderValue::from_str(&l.to_string()).ok()) {
        headers.insert(header::CONTENT_LENGTH, length);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_announcing_more_than_the_limit_is_refused_before_any_download() {
        let file =
            |path: &str, size: u64| json!({"path": path, "size": size, "sha256": "0".repeat(64), "role": "subtitle"});
        let manifest = DeliveryManifest::from_json(
            &json!({"files": [file("es.srt", 600), file("es.vtt", 500)], "created": "2026-11-23T00:00:00Z",
                "creator": "did:web:lab.example"})
            .to_string(),
        )
        .unwrap();
        assert_eq!(too_large(&manifest, 1_100), None, "exactly at the limit");
        let refused = too_large(&manifest, 1_099).expect("over the limit");
        assert_eq!((refused.file.as_str(), refused.problem.as_str()), ("(manifest)", "too_large"));
        assert!(refused.message.contains("1100 bytes in 2 file(s)") && refused.message.contains("max_delivery_bytes"));
        let mut huge = manifest.clone();
        huge.files[0].size = u64::MAX;
        assert!(too_large(&huge, u64::MAX - 1).is_some(), "sizes that overflow saturate, and are refused");
    }
    use crate::contracts::Processes;
    use crate::store::Store;

    #[tokio::test]
    async fn an_intake_that_cannot_fetch_is_recorded_and_taken_in_again_later() {
        let processes =
            Processes::new(Store::open_in_memory().await.unwrap(), "did:web:d.example", "http://127.0.0.1:9");
        let state = tempfile::tempdir().unwrap();
        let key = passerelle_identity::keys::KeyPair::generate(passerelle_identity::keys::Algorithm::Es256).unwrap();
        let signer = Signer { did: "did:web:d.example".into(), kid: "did:web:d.example#k".into(), key };
        let resolver: Arc<dyn DidResolver> = Arc::new(passerelle_identity::did::InMemoryResolver::new());
        let settings = DeliverySettings {
            state_dir: state.path().into(),
            outbox_roots: vec![],
            max_delivery_bytes: u64::MAX,
            signer,
            resolver,
        };
        let orders = Orders::new(processes).with_deliveries(settings);
        let order = passerelle_exchange::Order::from_json(
            json!({
                "id": "PO-1", "work": {"id": "md:cid:org:example:1"},
                "version": {"eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J"},
                "targetLanguage": "fr", "kind": "subtitles", "format": "srt", "frameRate": 25,
                "startTimecode": "00:00:00:00",
                "styleProfile": {"maxCharsPerLine": 42, "maxLines": 2,
                    "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
                    "minEventDurationMs": 833, "maxEventDurationMs": 7000, "minGapFrames": 2},
                "dueDate": "2099-07-01T17:00:00Z", "materials": []
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap();
        // The lab's order endpoint is a port nothing listens on.
        let row = OrderRow {
            id: "urn:uuid:d-1".into(),
            side: Party::Distributor,
            order_id: "PO-1".into(),
            agreement_id: "urn:uuid:a".into(),
            transfer_pid: "urn:uuid:t".into(),
            ordinal: None,
            peer_address: "http://127.0.0.1:9/exchange/orders".into(),
            peer_token: "token".into(),
            callback_token: Some("callback-token-0123456789".into()),
            created_at: "2026-11-22T00:00:00Z".into(),
            updated_at: "2026-11-22T00:00:00Z".into(),
        };
        let files = tempfile::tempdir().unwrap();
        std::fs::write(files.path().join("fr.srt"), b"1\n00:00:01,000 --> 00:00:03,000\nBonjour\n").unwrap();
        let manifest = manifest_for_dir(files.path(), &ManifestOptions::default()).unwrap();
        {
            let mut tx = orders.pool().begin().await.unwrap();
            records::insert_order(&mut tx, &row).await.unwrap();
            tx.commit().await.unwrap();
        }
        let script = [
            (Party::Distributor, Event::OrderPlaced { order: Box::new(order) }),
            (Party::Lab, Event::Quoted { price: None, proposed_due_date: None, note: None }),
            (Party::Distributor, Event::Confirmed { note: None }),
            (Party::Lab, Event::MaterialsReceived { materials: vec![], complete: true }),
            (
                Party::Lab,
                Event::Delivered {
                    manifest_ref: receipt::manifest_digest(&manifest),
                    manifest: Some(serde_json::to_value(&manifest).unwrap()),
                    location: None,
                },
            ),
        ];
        for (sender, event) in script {
            // Applied in our own transaction: nothing is started behind the test's back.
            let mut tx = orders.pool().begin().await.unwrap();
            let applied = orders.apply_in(&mut tx, &row.id, None, sender, event, Delivery::Received).await;
            assert!(applied.is_ok());
            tx.commit().await.unwrap();
        }

        intake(orders.clone(), row.id.clone(), 1).await;
        let stored = records::delivery(orders.pool(), &row.id, 1).await.unwrap().unwrap();
        assert!(stored.verification.is_none(), "nothing was verified");
        assert!(stored.intake_error.as_deref().unwrap_or_default().contains("127.0.0.1:9"), "{stored:?}");
        let pending = records::unverified_deliveries(orders.pool()).await.unwrap();
        assert_eq!(pending, [(row.id.clone(), 1)], "taken in again at the next start");
        let view = orders.view(&row.id).await.unwrap();
        assert_eq!((view.state.as_str(), view.deliveries.len()), ("DELIVERED", 1), "no answer was sent");
    }

    #[test]
    fn a_lab_delivers_only_from_inside_an_outbox_root() {
        let root = tempfile::tempdir().unwrap();
        let outbox = root.path().join("deliveries-out");
        std::fs::create_dir_all(outbox.join("PO-1")).unwrap();
        std::fs::create_dir_all(root.path().join("elsewhere")).unwrap();
        let roots = vec![outbox.clone()];
        assert!(allowed_folder(&roots, outbox.join("PO-1").to_str().unwrap()).is_ok());
        for (folder, why) in [
            (root.path().join("elsewhere").display().to_string(), "not inside an outbox root"),
            (format!("{}/PO-1/../../elsewhere", outbox.display()), "`..` is not allowed"),
            (outbox.display().to_string(), "not inside an outbox root"),
            ("relative/PO-1".to_string(), "absolute"),
            (outbox.join("missing").display().to_string(), "cannot be opened"),
            (" ".to_string(), "give the folder"),
        ] {
            let Err(OrderError::Invalid { field, message }) = allowed_folder(&roots, &folder) else {
                panic!("{folder} was allowed")
            };
            assert_eq!(field, "folder");
            assert!(message.contains(why), "{folder}: {message}");
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("elsewhere"), outbox.join("link")).unwrap();
            assert!(allowed_folder(&roots, outbox.join("link").to_str().unwrap()).is_err(), "a link leads out");
        }
    }

    #[test]
    fn files_are_fetched_from_the_order_endpoint_with_every_segment_encoded() {
        let path = RelativePath::parse("fr/PO 1.srt").unwrap();
        assert_eq!(
            file_url("http://lab.example/exchange/orders/", "PO/1", 2, &path),
            "http://lab.example/exchange/orders/PO%2F1/deliveries/2/files/fr/PO%201.srt"
        );
    }

    #[test]
    fn a_refusal_names_the_file_the_algorithm_and_both_values() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("fr.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nA\n").unwrap();
        let manifest = manifest_for_dir(dir.path(), &ManifestOptions::default()).unwrap();
        std::fs::write(dir.path().join("fr.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nB\n").unwrap();
        let report = verify_dir_against_manifest(dir.path(), &manifest, &VerifyOptions::default()).unwrap();
        let problems = problems_of(&report);
        assert_eq!(problems.len(), 1);
        let p = &problems[0];
        assert_eq!((p.file.as_str(), p.problem.as_str()), ("fr.srt", "hash_mismatch"));
        assert!(p.algorithm.is_some() && p.expected != p.actual, "{p:?}");
        std::fs::remove_file(dir.path().join("fr.srt")).unwrap();
        let report = verify_dir_against_manifest(dir.path(), &manifest, &VerifyOptions::default()).unwrap();
        assert_eq!(problems_of(&report)[0].problem, "missing");
    }

    #[test]
    fn a_folder_with_an_ascmhl_generation_is_adopted_and_an_empty_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(build_manifest(dir.path(), "lab").unwrap_err().contains("no file"));
        std::fs::write(dir.path().join("fr.srt"), b"1\n00:00:01,000 --> 00:00:02,000\nA\n").unwrap();
        let built = build_manifest(dir.path(), "lab").unwrap();
        assert!(built.files[0].xxh3.is_some() && built.files[0].md5.is_some());
        let mhl = HashList::from_manifest(&built, &MhlWriteOptions::default()).unwrap().to_xml();
        std::fs::create_dir_all(dir.path().join("ascmhl")).unwrap();
        std::fs::write(dir.path().join("ascmhl/0001_x_2026-11-22_000000Z.mhl"), mhl).unwrap();
        let adopted = build_manifest(dir.path(), "lab").unwrap();
        assert_eq!(adopted.files.len(), 1, "the ascmhl folder itself is not delivered");
        assert_eq!(adopted.files[0].sha256, built.files[0].sha256);
        std::fs::write(dir.path().join("fr.srt"), b"changed").unwrap();
        assert!(build_manifest(dir.path(), "lab").is_err(), "files that differ from their MHL are refused");
    }
}
