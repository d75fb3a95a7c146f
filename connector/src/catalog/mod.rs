//! The store seen as a Dataspace Protocol catalog.
//!
//! Datasets (ids: see [`ids`]):
//! - one per offer definition: its *collection* ("all works with an FR FreeTV
//!   window"), offered under the definition's policy;
//! - one per work ("versions and rights of work X"), offered under
//!   - the policy of every offer definition whose selector matches the work, with an
//!     `@id` unique per (definition, dataset), and
//!   - one offer per rights window of the work, made by
//!     `passerelle_policy::offer_for_window`: the Avails window (territories,
//!     exclusions, dates, license type, languages) becomes ODRL constraints.
//!
//! - one per service a lab offers (`crate::services`): a `ServiceDataset` with its terms (languages, kinds,
//!   formats, turnaround, price), offered under the service's policy.
//!
//! A work with neither is not offered, so the DSP layer leaves it out of the catalog.
//!
//! Pages run over collections (by definition id), then services (by service id), then works (by work id), using
//! keyset pagination: the cursor is the last dataset id served, which leads back
//! to its key without a lookup, so the cost of a page does not depend on the size
//! of the catalogue.

pub mod ids;

use std::collections::BTreeSet;

use passerelle_dsp::catalog::{CatalogPage, CatalogSource, DatasetEntry, DatasetKind, SourceError};
use passerelle_media::LanguageTag;
use passerelle_policy::Policy;
use serde_json::Value;

use crate::store::direct::Db;
use crate::store::{Store, StoreError, StoredOfferDefinition, StoredService, WorkRecord};
use ids::DatasetRef;

/// A [`CatalogSource`] over the connector's store.
#[derive(Debug, Clone)]
pub struct StoreCatalog {
    store: Store,
    participant_id: String,
}

/// An offer definition or a service ready to be applied: its policy parsed once per request.
struct Live<T> {
    stored: T,
    policy: Policy,
}

type LiveDefinition = Live<StoredOfferDefinition>;
type LiveService = Live<StoredService>;

impl StoreCatalog {
    /// `participant_id` is the provider, the assigner of every offer.
    pub fn new(store: Store, participant_id: impl Into<String>) -> StoreCatalog {
        StoreCatalog { store, participant_id: participant_id.into() }
    }

    async fn definitions(&self) -> Result<Vec<LiveDefinition>, SourceError> {
        Ok(live_definitions(self.store.offer_definitions_with_policies().await.map_err(source_error)?))
    }

    async fn services(&self) -> Result<Vec<LiveService>, SourceError> {
        Ok(live_services(self.store.services_with_policies().await.map_err(source_error)?))
    }

    /// [`CatalogSource::dataset`] on a connection of the direct path, inside the caller's transaction: the
    /// provider's decision on a contract request reads the offer there, without a hand-off to sqlx's worker.
    pub(crate) fn dataset_on(&self, db: &Db, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        let Some(reference) = ids::parse_dataset_id(id) else { return Ok(None) };
        let definitions =
            || crate::store::offer_definitions_with_policies_on(db).map(live_definitions).map_err(source_error);
        match reference {
            DatasetRef::Collection(def_id) => {
                Ok(definitions()?.iter().find(|d| d.stored.definition.id == def_id).map(|d| self.collection_entry(d)))
            }
            DatasetRef::Work(work_id) => {
                let Some(record) = crate::store::work_record_on(db, &work_id).map_err(source_error)? else {
                    return Ok(None);
                };
                Ok(Some(self.work_entry(record, &definitions()?)))
            }
            DatasetRef::Service(service_id) => {
                let services = crate::store::services_with_policies_on(db).map(live_services).map_err(source_error)?;
                Ok(services.iter().find(|s| s.stored.service.id == service_id).map(|s| self.service_entry(s)))
            }
        }
    }

    fn service_entry(&self, live: &LiveService) -> DatasetEntry {
        let service = &live.stored.service;
        let offer_id = ids::service_offer_id(&service.id);
        DatasetEntry {
            id: ids::service_dataset_id(&service.id),
            kind: DatasetKind::Service,
            title: service.title.clone(),
            description: Some(service.description.clone().unwrap_or_else(|| service.summary())),
            work: None,
            versions: Vec::new(),
            rights: Vec::new(),
            keywords: vec!["subtitling".into()],
            languages: service.languages.clone(),
            offers: vec![offer_json(
                live.policy.clone().with_id(&offer_id).with_assigner(&self.participant_id).without_target(),
            )],
            modified: Some(live.stored.updated_at),
            service_terms: Some(service.terms()),
        }
    }

    fn offer_from(&self, def: &LiveDefinition, dataset_id: &str) -> Value {
        let offer_id = ids::definition_offer_id(&def.stored.definition.id, dataset_id);
        offer_json(def.policy.clone().with_id(&offer_id).with_assigner(&self.participant_id).without_target())
    }

    fn collection_entry(&self, def: &LiveDefinition) -> DatasetEntry {
        let d = &def.stored.definition;
        let id = ids::collection_dataset_id(&d.id);
        let description =
            Some(d.description.clone().unwrap_or_else(|| format!("Collection of {}.", d.selector.describe())));
        DatasetEntry {
            offers: vec![self.offer_from(def, &id)],
            id,
            kind: DatasetKind::Collection,
            title: d.title.clone(),
            description,
            work: None,
            versions: Vec::new(),
            rights: Vec::new(),
            keywords: d.selector.genres.clone(),
            languages: d.selector.original_languages.clone(),
            modified: Some(def.stored.updated_at),
            service_terms: None,
        }
    }

    fn work_entry(&self, record: WorkRecord, definitions: &[LiveDefinition]) -> DatasetEntry {
        let id = ids::work_dataset_id(&record.work.id);
        let mut offers: Vec<Value> = definitions
            .iter()
            .filter(|d| d.stored.definition.selector.matches(&record.work, &record.rights))
            .map(|d| self.offer_from(d, &id))
            .collect();
        for window in &record.rights {
            let offer_id = ids::window_offer_id(&window.id);
            match passerelle_policy::offer_for_window(window, &offer_id, &id, &self.participant_id) {
                Ok(policy) => offers.push(offer_json(policy.without_target())),
                // A window that cannot be expressed (no territory at all) grants nothing to offer.
                Err(e) => tracing::warn!(window = %window.id, error = %e, "rights window not offered"),
            }
        }
        let languages = content_languages(&record);
        DatasetEntry {
            id,
            kind: DatasetKind::Work,
            title: record.work.title.clone(),
            description: record.work.summary.clone(),
            keywords: record.work.genres.clone(),
            languages,
            offers,
            modified: Some(record.modified),
            service_terms: None,
            work: Some(record.work),
            versions: record.versions,
            rights: record.rights,
        }
    }
}

/// The offer in DSP compact form; DSP requires `@type: Offer` inside a catalog.
fn offer_json(policy: Policy) -> Value {
    let mut json = policy.to_json();
    if let Some(object) = json.as_object_mut() {
        object.insert("@type".into(), Value::String("Offer".into()));
    }
    json
}

/// Languages a consumer can get: the original, audio and subtitle languages, each once.
fn content_languages(record: &WorkRecord) -> Vec<LanguageTag> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    let all = record
        .work
        .original_language
        .iter()
        .chain(record.versions.iter().flat_map(|v| v.audio_languages.iter()))
        .chain(record.versions.iter().flat_map(|v| v.subtitles.iter().map(|s| &s.language)));
    for lang in all {
        if seen.insert(lang.as_str().to_string()) {
            out.push(lang.clone());
        }
    }
    out
}

/// The definitions whose policy still parses (see [`live`]).
fn live_definitions(rows: Vec<(StoredOfferDefinition, serde_json::Value)>) -> Vec<LiveDefinition> {
    live(rows, |d| ("offer definition", &d.definition.id, &d.definition.policy_id))
}

/// The services whose policy still parses (see [`live`]).
fn live_services(rows: Vec<(StoredService, serde_json::Value)>) -> Vec<LiveService> {
    live(rows, |s| ("service", &s.service.id, &s.service.policy_id))
}

/// The rows whose policy still parses. Stored policies were validated when written; one that no longer parses
/// (after an upgrade of the policy profile) is skipped, never served half-understood. `named` gives what a row
/// is, its id and its policy's id, for the warning.
fn live<T>(rows: Vec<(T, serde_json::Value)>, named: impl Fn(&T) -> (&'static str, &str, &str)) -> Vec<Live<T>> {
    let mut out = Vec::with_capacity(rows.len());
    for (stored, document) in rows {
        match Policy::from_json(&document) {
            Ok(policy) => out.push(Live { stored, policy }),
            Err(e) => {
                let (kind, id, policy) = named(&stored);
                tracing::warn!(kind, id, policy, error = %e, "{kind} skipped: its policy is no longer valid");
            }
        }
    }
    out
}

fn source_error(e: StoreError) -> SourceError {
    match e {
        StoreError::Database { .. } | StoreError::Open { .. } => SourceError::Unavailable(e.to_string()),
        other => SourceError::Internal(other.to_string()),
    }
}

impl CatalogSource for StoreCatalog {
    async fn page(&self, cursor: Option<String>, limit: usize) -> Result<CatalogPage, SourceError> {
        let limit = limit.max(1);
        let position = match &cursor {
            None => None,
            Some(c) => Some(ids::parse_dataset_id(c).ok_or_else(|| SourceError::InvalidCursor(c.clone()))?),
        };
        let definitions = self.definitions().await?;
        // Fetch one entry more than asked to learn whether a next page exists.
        let wanted = limit + 1;
        let mut entries = Vec::with_capacity(wanted);
        // Where this page starts: within the collections, the services or the works.
        let (collections_after, services_after, work_after) = match &position {
            None => (Some(""), Some(""), None),
            Some(DatasetRef::Collection(after)) => (Some(after.as_str()), Some(""), None),
            Some(DatasetRef::Service(after)) => (None, Some(after.as_str()), None),
            Some(DatasetRef::Work(after)) => (None, None, Some(after.as_str())),
        };
        if let Some(after) = collections_after {
            entries.extend(
                definitions
                    .iter()
                    .filter(|d| d.stored.definition.id.as_str() > after)
                    .take(wanted)
                    .map(|d| self.collection_entry(d)),
            );
        }
        if let Some(after) = services_after
            && entries.len() < wanted
        {
            let services = self.services().await?;
            entries.extend(
                services
                    .iter()
                    .filter(|s| s.stored.service.id.as_str() > after)
                    .take(wanted - entries.len())
                    .map(|s| self.service_entry(s)),
            );
        }
        if entries.len() < wanted {
            let records = self.store.work_records(work_after, wanted - entries.len()).await.map_err(source_error)?;
            entries.extend(records.into_iter().map(|r| self.work_entry(r, &definitions)));
        }
        let next_cursor = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.id.clone())
        } else {
            None
        };
        Ok(CatalogPage { entries, next_cursor })
    }

    async fn dataset(&self, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        let Some(reference) = ids::parse_dataset_id(id) else { return Ok(None) };
        let definitions = self.definitions().await?;
        match reference {
            DatasetRef::Collection(def_id) => {
                Ok(definitions.iter().find(|d| d.stored.definition.id == def_id).map(|d| self.collection_entry(d)))
            }
            DatasetRef::Work(work_id) => {
                let record = self.store.work_record(&work_id).await.map_err(source_error)?;
                Ok(record.map(|r| self.work_entry(r, &definitions)))
            }
            DatasetRef::Service(service_id) => {
                let services = self.services().await?;
                Ok(services.iter().find(|s| s.stored.service.id == service_id).map(|s| self.service_entry(s)))
            }
        }
    }
}

#[cfg(test)]
mod tests;
