//! The catalogue itself: crawls every active participant of the [`Registry`],
//! keeps one RDF graph and one index shard per participant, and answers
//! search, SPARQL and the aggregated DSP catalog from them.
//!
//! Failure rules: a participant that cannot be reached, refuses, or answers
//! something that is not a DSP catalog keeps its last good entries, marked
//! stale with the time of its last successful crawl, and its status says what
//! went wrong; nothing else is affected. A participant that leaves the
//! registry or stops being active loses its entries on the next crawl.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use oxigraph::io::RdfFormat;
use oxigraph::store::Store;
use passerelle_dsp::client::TokenSource;
use passerelle_dsp::media_context::media_context_url;
use passerelle_dsp::message::Context;
use passerelle_dsp::message::catalog::{Catalog, CatalogType};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fetch::{FetchError, FetchLimits, FetchedCatalog, fetch_catalog};
use crate::graph::{Contexts, drop_graph, page_quads, participant_graph, replace_graph};
use crate::index::{Filter, SearchResults, Shard, ShardView, search};
use crate::record::DatasetRecord;
use crate::registry::{Participant, ParticipantStatus, Registry, RegistryError};
use crate::sparql::{QueryRunner, ResultsFormat, SparqlAnswer, SparqlError};

/// RDF snapshot file inside the snapshot folder (N-Quads, readable by any triple store).
pub const SNAPSHOT_RDF: &str = "catalog.nq";
/// Participants, statuses and crawled catalogs, from which the search index is rebuilt at start.
pub const SNAPSHOT_STATE: &str = "participants.json";

/// How the catalogue is set up.
#[derive(Debug, Clone)]
pub struct CatalogueConfig {
    /// `@id` of the aggregated catalog.
    pub catalog_id: String,
    /// The operator's participant id (the aggregated catalog's `participantId`).
    pub participant_id: String,
    /// Public base URL of the catalogue's listener (where it serves the media context).
    pub public_base_url: String,
    /// Folder of the on-disk snapshot; `None` keeps everything in memory only.
    pub snapshot_dir: Option<PathBuf>,
    pub fetch: FetchLimits,
    /// Longest a SPARQL query may run.
    pub sparql_timeout: Duration,
    /// Most SPARQL queries running at once.
    pub sparql_concurrency: usize,
}

impl CatalogueConfig {
    pub fn new(participant_id: impl Into<String>, public_base_url: impl Into<String>) -> Self {
        let participant_id = participant_id.into();
        CatalogueConfig {
            catalog_id: format!("urn:passerelle:catalogue:{participant_id}"),
            participant_id,
            public_base_url: public_base_url.into(),
            snapshot_dir: None,
            fetch: FetchLimits::default(),
            sparql_timeout: Duration::from_secs(10),
            sparql_concurrency: 4,
        }
    }
}

/// What went wrong in a participant's last crawl.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlFailure {
    /// `unreachable`, `rejected`, `malformed`, `token`, `pagination`, `bad-address` or `store`.
    pub kind: String,
    pub message: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A participant's crawl status, as `/api/v1/participants` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlStatus {
    pub participant: Participant,
    #[serde(rename = "lastSuccess", with = "time::serde::rfc3339::option")]
    pub last_success: Option<OffsetDateTime>,
    /// True when the entries shown are from an earlier crawl because the last one failed.
    pub stale: bool,
    pub datasets: usize,
    pub offers: usize,
    pub error: Option<CrawlFailure>,
    /// JSON-LD problems of the last successful crawl (the datasets are indexed anyway).
    #[serde(default)]
    pub warnings: Vec<String>,
}

/// Why a catalogue operation failed as a whole.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("no participant `{0}` is registered")]
    NotRegistered(String),
    #[error("participant `{id}` is {status:?} in the registry, so it is not crawled (its entries were removed)")]
    NotActive { id: String, status: ParticipantStatus },
    #[error("the RDF store failed: {0}")]
    Store(String),
    #[error("snapshot {path}: {reason}")]
    Snapshot { path: String, reason: String },
}

struct Entry {
    status: CrawlStatus,
    shard: Arc<Shard>,
    /// The participant's catalog as last crawled (datasets included), for the aggregated catalog.
    catalog: Arc<Catalog>,
}

struct Inner<R, T> {
    registry: R,
    tokens: T,
    http: reqwest::Client,
    contexts: Contexts,
    store: Store,
    config: CatalogueConfig,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// One lock per participant: a notify and the periodic crawl never interleave their commits.
    crawl_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    snapshot_lock: tokio::sync::Mutex<()>,
    queries: QueryRunner,
}

/// The federated catalogue (cheap to clone; clones share everything).
pub struct Catalogue<R, T> {
    inner: Arc<Inner<R, T>>,
}

impl<R, T> Clone for Catalogue<R, T> {
    fn clone(&self) -> Self {
        Catalogue { inner: self.inner.clone() }
    }
}

#[derive(Serialize, Deserialize)]
struct SavedParticipant {
    status: CrawlStatus,
    catalog: Catalog,
}

fn lock_poisoned<G>(poisoned: std::sync::PoisonError<G>) -> G {
    poisoned.into_inner()
}

impl<R: Registry, T: TokenSource + 'static> Catalogue<R, T> {
    /// A catalogue over `registry`, calling participants with `http` and tokens from `tokens`.
    /// When the snapshot folder holds a snapshot, it is loaded (RDF and index).
    pub fn new(
        registry: R,
        tokens: T,
        http: reqwest::Client,
        contexts: Contexts,
        config: CatalogueConfig,
    ) -> Result<Self, CatalogueError> {
        let store = Store::new().map_err(|e| CatalogueError::Store(e.to_string()))?;
        let mut entries = BTreeMap::new();
        if let Some(dir) = &config.snapshot_dir {
            load_snapshot(dir, &store, &mut entries)?;
        }
        let queries = QueryRunner::new(config.sparql_concurrency, config.sparql_timeout);
        Ok(Catalogue {
            inner: Arc::new(Inner {
                queries,
                registry,
                tokens,
                http,
                contexts,
                store,
                config,
                entries: RwLock::new(entries),
                crawl_locks: Mutex::new(HashMap::new()),
                snapshot_lock: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn config(&self) -> &CatalogueConfig {
        &self.inner.config
    }

    /// The RDF store (one named graph per participant).
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Crawls every active participant, and drops those no longer registered or active.
    pub async fn crawl_all(&self) -> Result<Vec<CrawlStatus>, CatalogueError> {
        let participants = self.inner.registry.participants().await?;
        let active: BTreeMap<String, Participant> = participants
            .into_iter()
            .filter(|p| p.status == ParticipantStatus::Active)
            .map(|p| (p.id.clone(), p))
            .collect();
        let known: Vec<String> = self.inner.entries.read().unwrap_or_else(lock_poisoned).keys().cloned().collect();
        let mut changed = false;
        for id in known.iter().filter(|id| !active.contains_key(*id)) {
            changed |= self.forget(id)?;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for participant in active.into_values() {
            let this = self.clone();
            tasks.spawn(async move { this.crawl(participant).await });
        }
        let mut statuses = Vec::new();
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(status) => statuses.push(status?),
                Err(join) => return Err(CatalogueError::Store(format!("a crawl task stopped: {join}"))),
            }
        }
        if changed && statuses.is_empty() {
            self.save_snapshot().await?;
        }
        statuses.sort_by(|a, b| a.participant.id.cmp(&b.participant.id));
        Ok(statuses)
    }

    /// Recrawls one participant now (a connector calls this when its offers change).
    pub async fn notify(&self, participant_id: &str) -> Result<CrawlStatus, CatalogueError> {
        let participants = self.inner.registry.participants().await?;
        let Some(participant) = participants.into_iter().find(|p| p.id == participant_id) else {
            if self.forget(participant_id)? {
                self.save_snapshot().await?;
            }
            return Err(CatalogueError::NotRegistered(participant_id.to_string()));
        };
        if participant.status != ParticipantStatus::Active {
            if self.forget(participant_id)? {
                self.save_snapshot().await?;
            }
            return Err(CatalogueError::NotActive { id: participant.id, status: participant.status });
        }
        self.crawl(participant).await
    }

    /// Crawls everything every `every`, starting now; ends when the handle is aborted.
    pub fn spawn_periodic(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every.max(Duration::from_secs(1)));
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = this.crawl_all().await {
                    tracing::warn!(%error, "periodic catalogue crawl failed");
                }
            }
        })
    }

    /// Crawl status of every participant the catalogue holds entries or a status for.
    pub fn statuses(&self) -> Vec<CrawlStatus> {
        self.inner.entries.read().unwrap_or_else(lock_poisoned).values().map(|e| e.status.clone()).collect()
    }

    /// Full-text and faceted search over every participant's datasets.
    pub fn search(&self, filter: &Filter) -> SearchResults {
        let views: Vec<ShardView> = self
            .inner
            .entries
            .read()
            .unwrap_or_else(lock_poisoned)
            .values()
            .map(|e| ShardView {
                participant: e.status.participant.clone(),
                shard: e.shard.clone(),
                stale: e.status.stale,
                last_success: e.status.last_success,
            })
            .collect();
        search(&views, filter)
    }

    /// A DSP Catalog nesting each participant's last good catalog, for any DSP client to browse.
    pub fn aggregated_catalog(&self) -> Catalog {
        let entries = self.inner.entries.read().unwrap_or_else(lock_poisoned);
        let config = &self.inner.config;
        Catalog {
            context: Some(Context::dsp_with([media_context_url(&config.public_base_url)])),
            id: config.catalog_id.clone(),
            message_type: CatalogType,
            participant_id: Some(config.participant_id.clone()),
            service: Vec::new(),
            distribution: Vec::new(),
            // A participant never crawled successfully has nothing to show yet.
            catalog: entries
                .values()
                .filter(|e| e.status.last_success.is_some())
                .map(|e| (*e.catalog).clone())
                .collect(),
            dataset: Vec::new(),
        }
    }

    /// Runs a read-only SPARQL query within the configured time limit.
    pub async fn sparql(&self, query: String, format: ResultsFormat) -> Result<SparqlAnswer, SparqlError> {
        self.inner.queries.run(self.inner.store.clone(), query, format).await
    }

    fn crawl_lock(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.inner.crawl_locks.lock().unwrap_or_else(lock_poisoned);
        locks.entry(id.to_string()).or_default().clone()
    }

    /// Removes a participant's graph and entries; true when it had any.
    fn forget(&self, id: &str) -> Result<bool, CatalogueError> {
        drop_graph(&self.inner.store, &participant_graph(id)).map_err(|e| CatalogueError::Store(e.to_string()))?;
        Ok(self.inner.entries.write().unwrap_or_else(lock_poisoned).remove(id).is_some())
    }

    async fn crawl(&self, participant: Participant) -> Result<CrawlStatus, CatalogueError> {
        let lock = self.crawl_lock(&participant.id);
        let _guard = lock.lock().await;
        let fetched = fetch_catalog(&self.inner.http, &self.inner.tokens, &participant, self.inner.config.fetch).await;
        let status = match fetched {
            Ok(fetched) => self.commit(participant, fetched).await?,
            Err(error) => self.record_failure(participant, &error),
        };
        self.save_snapshot().await?;
        Ok(status)
    }

    async fn commit(&self, participant: Participant, fetched: FetchedCatalog) -> Result<CrawlStatus, CatalogueError> {
        let contexts = self.inner.contexts.clone();
        let store = self.inner.store.clone();
        let graph = participant_graph(&participant.id);
        // JSON-LD conversion and indexing are CPU work: keep them off the async workers.
        let built = tokio::task::spawn_blocking(move || {
            let mut quads = Vec::new();
            let mut warnings = Vec::new();
            for page in &fetched.pages {
                let (page_quads, problems) = page_quads(&contexts, &page.body, &page.url, &graph);
                quads.extend(page_quads);
                warnings.extend(problems);
            }
            replace_graph(&store, &graph, &quads).map_err(|e| CatalogueError::Store(e.to_string()))?;
            let records: Vec<DatasetRecord> = fetched.datasets.iter().map(DatasetRecord::from_dataset).collect();
            let mut catalog = fetched.head;
            catalog.context = None;
            catalog.catalog = Vec::new();
            catalog.dataset = fetched.datasets;
            Ok::<_, CatalogueError>((Shard::new(records), catalog, warnings))
        })
        .await
        .map_err(|join| CatalogueError::Store(format!("indexing stopped: {join}")))?;
        let (shard, mut catalog, warnings) = built?;
        catalog.participant_id = Some(participant.id.clone());
        let status = CrawlStatus {
            participant: participant.clone(),
            last_success: Some(OffsetDateTime::now_utc()),
            stale: false,
            datasets: catalog.dataset.len(),
            offers: catalog.dataset.iter().map(|d| d.has_policy.len()).sum(),
            error: None,
            warnings,
        };
        let entry = Entry { status: status.clone(), shard: Arc::new(shard), catalog: Arc::new(catalog) };
        self.inner.entries.write().unwrap_or_else(lock_poisoned).insert(participant.id, entry);
        Ok(status)
    }

    fn record_failure(&self, participant: Participant, error: &FetchError) -> CrawlStatus {
        tracing::warn!(participant = %participant.id, %error, "catalog crawl failed");
        let failure =
            CrawlFailure { kind: error.kind().to_string(), message: error.to_string(), at: OffsetDateTime::now_utc() };
        let mut entries = self.inner.entries.write().unwrap_or_else(lock_poisoned);
        let entry = entries.entry(participant.id.clone()).or_insert_with(|| Entry {
            status: CrawlStatus {
                participant: participant.clone(),
                last_success: None,
                stale: false,
                datasets: 0,
                offers: 0,
                error: None,
                warnings: Vec::new(),
            },
            shard: Arc::new(Shard::default()),
            catalog: Arc::new(empty_catalog(&participant)),
        });
        entry.status.participant = participant;
        entry.status.stale = entry.status.last_success.is_some();
        entry.status.error = Some(failure);
        entry.status.clone()
    }

    /// Writes the RDF dump and the participants file, each replaced atomically (write, then rename).
    async fn save_snapshot(&self) -> Result<(), CatalogueError> {
        let Some(dir) = self.inner.config.snapshot_dir.clone() else { return Ok(()) };
        let _guard = self.inner.snapshot_lock.lock().await;
        let saved: Vec<SavedParticipant> = self
            .inner
            .entries
            .read()
            .unwrap_or_else(lock_poisoned)
            .values()
            .map(|e| SavedParticipant { status: e.status.clone(), catalog: (*e.catalog).clone() })
            .collect();
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || write_snapshot(&dir, &store, &saved))
            .await
            .map_err(|join| CatalogueError::Snapshot { path: "-".into(), reason: join.to_string() })?
    }
}

fn empty_catalog(participant: &Participant) -> Catalog {
    Catalog {
        context: None,
        id: format!("urn:passerelle:catalog-of:{}", participant.id),
        message_type: CatalogType,
        participant_id: Some(participant.id.clone()),
        service: Vec::new(),
        distribution: Vec::new(),
        catalog: Vec::new(),
        dataset: Vec::new(),
    }
}

fn snapshot_error(path: &Path, reason: impl ToString) -> CatalogueError {
    CatalogueError::Snapshot { path: path.display().to_string(), reason: reason.to_string() }
}

fn write_snapshot(dir: &Path, store: &Store, saved: &[SavedParticipant]) -> Result<(), CatalogueError> {
    std::fs::create_dir_all(dir).map_err(|e| snapshot_error(dir, e))?;
    let state = serde_json::to_vec(saved).map_err(|e| snapshot_error(dir, e))?;
    replace_file(&dir.join(SNAPSHOT_STATE), |file| std::io::Write::write_all(file, &state))?;
    replace_file(&dir.join(SNAPSHOT_RDF), |file| {
        store
            .dump_to_writer(RdfFormat::NQuads, std::io::BufWriter::new(file))
            .map(|_| ())
            .map_err(std::io::Error::other)
    })
}

fn replace_file(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<(), CatalogueError> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp).map_err(|e| snapshot_error(&tmp, e))?;
    write(&mut file).and_then(|()| file.sync_all()).map_err(|e| snapshot_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| snapshot_error(path, e))
}

fn load_snapshot(dir: &Path, store: &Store, entries: &mut BTreeMap<String, Entry>) -> Result<(), CatalogueError> {
    let state_path = dir.join(SNAPSHOT_STATE);
    let rdf_path = dir.join(SNAPSHOT_RDF);
    if state_path.exists() {
        let bytes = std::fs::read(&state_path).map_err(|e| snapshot_error(&state_path, e))?;
        let saved: Vec<SavedParticipant> = serde_json::from_slice(&bytes)
            .map_err(|e| snapshot_error(&state_path, format!("{e}; move the file away to start empty")))?;
        for s in saved {
            let records = s.catalog.dataset.iter().map(DatasetRecord::from_dataset).collect();
            let id = s.status.participant.id.clone();
            entries.insert(
                id,
                Entry { status: s.status, shard: Arc::new(Shard::new(records)), catalog: Arc::new(s.catalog) },
            );
        }
    }
    if rdf_path.exists() {
        let file = std::fs::File::open(&rdf_path).map_err(|e| snapshot_error(&rdf_path, e))?;
        store
            .load_from_reader(RdfFormat::NQuads, std::io::BufReader::new(file))
            .map_err(|e| snapshot_error(&rdf_path, format!("{e}; move the file away to start empty")))?;
    }
    Ok(())
}
