//! Rendering: [`DatasetEntry`] → DSP [`Dataset`], and the catalog around it.
//!
//! Pure functions over the connector's data and [`ProviderInfo`]; no I/O. The
//! HTTP layer only chooses what to render and streams the result.

use std::collections::BTreeMap;

use passerelle_media::{RightsWindow, SubtitleKind, SubtitleTrack, Version, VersionKind, Work, WorkKind};
use serde_json::Value;

use crate::catalog::{DatasetEntry, ProviderInfo};
use crate::media_context::media_context_url;
use crate::message::Context;
use crate::message::catalog::DistributionType;
use crate::message::catalog::{AccessService, Catalog, CatalogType, DataService, Dataset, DatasetType, Distribution};
use crate::message::media::{
    MediaDescription, RightsWindowSummary, SubtitleDescription, VersionDescription, WorkDescription,
};

/// Transfer formats every dataset is distributed in.
pub const DISTRIBUTION_FORMATS: [&str; 2] = ["HttpData-PULL", "HttpData-PUSH"];

/// Why an entry cannot be published as a DSP dataset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// A dataset must carry at least one offer (`hasPolicy`), or nothing could be negotiated for it.
    #[error("dataset `{dataset}` has no offer, so it is not published")]
    NoOffer { dataset: String },
    #[error("offer #{index} of dataset `{dataset}` is not a DSP Offer: {reason}")]
    InvalidOffer { dataset: String, index: usize, reason: String },
}

/// Where a rendered dataset goes: inside a catalog, or alone as the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Inside a catalog: no `@context`; distributions reference the catalog's service by id.
    InCatalog,
    /// The root of a `GET …/datasets/{id}` response: `@context`, and the service embedded.
    Root,
}

/// Renders datasets and catalogs for one provider.
#[derive(Debug, Clone)]
pub struct Renderer {
    info: ProviderInfo,
    service: DataService,
    context: Context,
}

impl Renderer {
    pub fn new(info: ProviderInfo) -> Self {
        let base = info.protocol_base_url.trim_end_matches('/').to_string();
        // The service is identified by its version document, which is also what a
        // DID document's DataService entry points at (DSP common binding).
        let service = DataService::new(format!("{base}/.well-known/dspace-version"), base.clone());
        let context = Context::dsp_with([media_context_url(&base)]);
        Renderer { info, service, context }
    }

    pub fn info(&self) -> &ProviderInfo {
        &self.info
    }

    /// The DataService every distribution refers to (`endpointURL` = protocol base URL).
    pub fn data_service(&self) -> &DataService {
        &self.service
    }

    /// `@context` of every root document: the DSP context, then our media context.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// The root catalog with its service and without datasets (they are added or streamed after).
    pub fn catalog_head(&self) -> Catalog {
        Catalog {
            context: Some(self.context.clone()),
            id: self.info.catalog_id.clone(),
            message_type: CatalogType,
            participant_id: Some(self.info.participant_id.clone()),
            service: vec![self.service.clone()],
            distribution: Vec::new(),
            catalog: Vec::new(),
            dataset: Vec::new(),
        }
    }

    /// A complete (non-streamed) catalog of `entries`, skipping those that cannot be published.
    pub fn catalog(&self, entries: &[DatasetEntry]) -> Catalog {
        let mut catalog = self.catalog_head();
        catalog.dataset = entries.iter().filter_map(|e| self.dataset(e, Placement::InCatalog).ok()).collect();
        catalog
    }

    pub fn dataset(&self, entry: &DatasetEntry, placement: Placement) -> Result<Dataset, RenderError> {
        let offers = offers(entry)?;
        let access_service = match placement {
            Placement::InCatalog => AccessService::Reference(self.service.id.clone()),
            Placement::Root => AccessService::Service(self.service.clone()),
        };
        let distribution = DISTRIBUTION_FORMATS
            .iter()
            .map(|format| Distribution {
                message_type: DistributionType,
                format: (*format).to_string(),
                access_service: access_service.clone(),
                has_policy: Vec::new(),
            })
            .collect();
        Ok(Dataset {
            context: (placement == Placement::Root).then(|| self.context.clone()),
            id: entry.id.clone(),
            message_type: DatasetType,
            media: media_description(entry),
            has_policy: offers,
            distribution,
        })
    }
}

/// The entry's offers as they go into `hasPolicy`.
///
/// `target` is removed: inside a dataset the dataset itself is the target, and
/// the DSP schema forbids it there.
pub fn offers(entry: &DatasetEntry) -> Result<Vec<Value>, RenderError> {
    let invalid = |index: usize, reason: &str| RenderError::InvalidOffer {
        dataset: entry.id.clone(),
        index,
        reason: reason.to_string(),
    };
    if entry.offers.is_empty() {
        return Err(RenderError::NoOffer { dataset: entry.id.clone() });
    }
    let mut out = Vec::with_capacity(entry.offers.len());
    for (index, offer) in entry.offers.iter().enumerate() {
        let Some(object) = offer.as_object() else {
            return Err(invalid(index, "must be a JSON object"));
        };
        if !object.get("@id").is_some_and(Value::is_string) {
            return Err(invalid(index, "`@id` must be a string"));
        }
        if object.get("@type").and_then(Value::as_str) != Some("Offer") {
            return Err(invalid(index, "`@type` must be \"Offer\""));
        }
        let has_rules = ["permission", "prohibition"]
            .iter()
            .any(|k| object.get(*k).and_then(Value::as_array).is_some_and(|rules| !rules.is_empty()));
        if !has_rules {
            return Err(invalid(index, "needs a non-empty `permission` or `prohibition` array"));
        }
        let mut object = object.clone();
        object.remove("target");
        out.push(Value::Object(object));
    }
    Ok(out)
}

/// Descriptive metadata of an entry in our media terms.
pub fn media_description(entry: &DatasetEntry) -> MediaDescription {
    let mut keyword: Vec<String> = Vec::new();
    let genres = entry.work.iter().flat_map(|w| w.genres.iter());
    for word in entry.keywords.iter().chain(genres) {
        let word = word.trim();
        if !word.is_empty() && !keyword.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            keyword.push(word.to_string());
        }
    }
    let mut language: Vec<String> = Vec::new();
    for tag in &entry.languages {
        if !language.iter().any(|l| l == tag.as_str()) {
            language.push(tag.to_string());
        }
    }
    MediaDescription {
        title: Some(entry.title.clone()),
        description: entry.description.clone(),
        dataset_kind: Some(entry.kind.as_str().to_string()),
        keyword,
        language,
        modified: entry.modified,
        work: entry.work.as_ref().map(work_description),
        version: entry.versions.iter().map(version_description).collect(),
        rights_window: entry.rights.iter().map(rights_summary).collect(),
        service_terms: entry.service_terms.clone(),
    }
}

/// Resolvable IRI of an EIDR id (`https://doi.org/10.5240/…`).
pub fn eidr_iri(eidr: &passerelle_media::Eidr) -> String {
    format!("https://doi.org/{}", eidr.as_str())
}

pub fn work_description(work: &Work) -> WorkDescription {
    let (schema_type, work_type) = match work.kind {
        WorkKind::Movie => ("Movie", "Movie"),
        WorkKind::Series => ("TVSeries", "Series"),
        WorkKind::Season => ("TVSeason", "Season"),
        WorkKind::Episode => ("TVEpisode", "Episode"),
        WorkKind::Short => ("CreativeWork", "Short"),
        WorkKind::Supplemental => ("CreativeWork", "Supplemental"),
        WorkKind::Promotion => ("CreativeWork", "Promotion"),
        WorkKind::Other => ("CreativeWork", "Other"),
    };
    let mut localized_title = BTreeMap::new();
    for t in &work.titles {
        // A language map holds one title per language here: the first one listed wins.
        localized_title.entry(t.language.to_string()).or_insert_with(|| t.title.clone());
    }
    let mut identifier = vec![work.id.clone()];
    identifier.extend(work.alt_ids.iter().map(|a| format!("{}:{}", a.namespace, a.value)));
    WorkDescription {
        id: work.eidr.as_ref().map(eidr_iri),
        schema_type: schema_type.to_string(),
        work_type: work_type.to_string(),
        title: work.title.clone(),
        localized_title,
        identifier,
        eidr: work.eidr.as_ref().map(|e| e.to_string()),
        isan: work.isan.as_ref().map(|i| i.to_string()),
        release_year: work.release_year,
        original_language: work.original_language.as_ref().map(|l| l.to_string()),
        country_of_origin: work.countries_of_origin.iter().map(|c| c.to_string()).collect(),
        duration: work.runtime_seconds.map(iso_duration),
        part_of: work.parent.clone(),
        position: work.sequence,
    }
}

pub fn version_description(version: &Version) -> VersionDescription {
    VersionDescription {
        id: version.eidr.as_ref().map(eidr_iri),
        identifier: vec![version.id.clone()],
        version_kind: match version.kind {
            VersionKind::Edit => "edit",
            VersionKind::Manifestation => "manifestation",
        }
        .to_string(),
        version_label: version.label.clone(),
        eidr: version.eidr.as_ref().map(|e| e.to_string()),
        isan: version.isan.as_ref().map(|i| i.to_string()),
        duration: version.runtime_seconds.map(iso_duration),
        frame_rate: version.frame_rate.clone(),
        audio_language: version.audio_languages.iter().map(|l| l.to_string()).collect(),
        subtitle: version.subtitles.iter().map(subtitle_description).collect(),
    }
}

pub fn subtitle_description(track: &SubtitleTrack) -> SubtitleDescription {
    SubtitleDescription {
        node_type: "Subtitling".to_string(),
        language: track.language.to_string(),
        subtitle_kind: match track.kind {
            SubtitleKind::Subtitles => "subtitles",
            SubtitleKind::Sdh => "sdh",
            SubtitleKind::ForcedNarrative => "forced-narrative",
            SubtitleKind::Commentary => "commentary",
            SubtitleKind::Other => "other",
        }
        .to_string(),
        subtitle_format: track.format.clone(),
    }
}

pub fn rights_summary(window: &RightsWindow) -> RightsWindowSummary {
    RightsWindowSummary {
        node_type: "RightsWindow".to_string(),
        license_type: window.license_type.clone(),
        territory: window.territories.iter().map(|t| t.to_string()).collect(),
        excluded_territory: window.excluded_territories.iter().map(|t| t.to_string()).collect(),
        start: window.start,
        end: window.end,
        language: window.languages.iter().map(|l| l.to_string()).collect(),
        format_profile: window.format_profile.clone(),
    }
}

/// ISO 8601 duration of a runtime (`PT1H32M5S`; `PT0S` for zero).
pub fn iso_duration(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let mut out = String::from("PT");
    if h > 0 {
        out.push_str(&format!("{h}H"));
    }
    if m > 0 {
        out.push_str(&format!("{m}M"));
    }
    if s > 0 || (h == 0 && m == 0) {
        out.push_str(&format!("{s}S"));
    }
    out
}

#[cfg(test)]
mod tests;
