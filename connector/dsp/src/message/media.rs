//! Our media terms inside a Dataset: the wire shape of what a catalogue reader
//! learns about a work, its versions and its rights windows.
//!
//! Every member name here is a term of `context/media.jsonld` (served at
//! `/context/media.jsonld`), which maps it onto DCT/DCAT, schema.org, EBUCore
//! and MovieLabs MDDF IRIs. Values are plain strings (not the validated domain
//! types) so that a consumer can read another provider's dataset even when it
//! carries identifiers we would not have accepted.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Descriptive members of a dataset (flattened into the Dataset object).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct MediaDescription {
    /// `dct:title`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `dct:description`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `dct:type`: `WorkDataset`, `CollectionDataset` or `ServiceDataset`.
    #[serde(rename = "datasetKind", default, skip_serializing_if = "Option::is_none")]
    pub dataset_kind: Option<String>,
    /// `dcat:keyword`: the connector's keywords and the work's genres.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyword: Vec<String>,
    /// `dct:language`: BCP 47 tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    /// `dct:modified`.
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub modified: Option<OffsetDateTime>,
    /// `schema:about`: the work this dataset describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub work: Option<WorkDescription>,
    /// The work's versions (edits and manifestations) with their subtitle tracks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub version: Vec<VersionDescription>,
    /// Summary of the rights windows under which the work is available.
    #[serde(rename = "rightsWindow", default, skip_serializing_if = "Vec::is_empty")]
    pub rights_window: Vec<RightsWindowSummary>,
    /// What a service dataset offers (`ServiceDataset` only).
    #[serde(rename = "serviceTerms", default, skip_serializing_if = "Option::is_none")]
    pub service_terms: Option<ServiceTerms>,
}

/// A lab's service in terms a distributor's connector can act on: what it produces (target languages, kinds of
/// subtitles, file formats), how fast, and at what price. The ODRL offer beside it says who may order and how
/// much; these say what may be ordered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTerms {
    /// Always `SubtitlingService`.
    #[serde(rename = "@type")]
    pub node_type: String,
    /// BCP 47 tags of the languages the lab subtitles into (`es` covers `es-419`).
    #[serde(rename = "targetLanguage", default)]
    pub target_language: Vec<String>,
    /// `subtitles`, `sdh`, `forced-narrative`.
    #[serde(rename = "subtitleKind", default)]
    pub subtitle_kind: Vec<String>,
    /// `srt`, `webvtt`, `ttml-imsc1.1`, `ebu-stl`, `scc` (the order's `format` words).
    #[serde(rename = "deliveryFormat", default)]
    pub delivery_format: Vec<String>,
    /// Standard turnaround as an ISO 8601 duration (`P10D`).
    pub turnaround: String,
    /// Rush turnaround, when offered (`P3D`).
    #[serde(rename = "rushTurnaround", default, skip_serializing_if = "Option::is_none")]
    pub rush_turnaround: Option<String>,
    #[serde(rename = "priceSpecification")]
    pub price: PriceTerms,
}

/// How a service is priced (`schema:UnitPriceSpecification`): per programme minute, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceTerms {
    /// Always `UnitPriceSpecification`.
    #[serde(rename = "@type")]
    pub node_type: String,
    /// ISO 4217 code.
    #[serde(rename = "priceCurrency")]
    pub currency: String,
    /// Decimal text (`4.50`): prices are never floats.
    #[serde(rename = "pricePerMinute")]
    pub per_minute: String,
    #[serde(rename = "minimumCharge", default, skip_serializing_if = "Option::is_none")]
    pub minimum_charge: Option<String>,
    /// Percent added for rush turnaround.
    #[serde(rename = "rushSurchargePercent", default, skip_serializing_if = "Option::is_none")]
    pub rush_surcharge_percent: Option<u32>,
}

/// A creative work (`schema:Movie`, `schema:TVEpisode`…).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorkDescription {
    /// The EIDR DOI as a resolvable IRI when known, so that datasets of different
    /// providers about the same work meet on one node in a catalogue's graph.
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Movie`, `TVSeries`, `TVSeason`, `TVEpisode` or `CreativeWork` (schema.org classes).
    #[serde(rename = "@type")]
    pub schema_type: String,
    /// MDDF WorkType word: `Movie`, `Series`, `Season`, `Episode`, `Short`, `Supplemental`, `Promotion`, `Other`.
    #[serde(rename = "workType")]
    pub work_type: String,
    pub title: String,
    /// Titles by language (`{"fr": "…", "de": "…"}`), a JSON-LD language map.
    #[serde(rename = "localizedTitle", default, skip_serializing_if = "BTreeMap::is_empty")]
    pub localized_title: BTreeMap<String, String>,
    /// The owner's key of the work and its alternative ids (`namespace:value`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<String>,
    #[serde(rename = "releaseYear", default, skip_serializing_if = "Option::is_none")]
    pub release_year: Option<i32>,
    #[serde(rename = "originalLanguage", default, skip_serializing_if = "Option::is_none")]
    pub original_language: Option<String>,
    #[serde(rename = "countryOfOrigin", default, skip_serializing_if = "Vec::is_empty")]
    pub country_of_origin: Vec<String>,
    /// ISO 8601 duration (`PT1H32M`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Owner's key of the enclosing work (season of an episode, series of a season).
    #[serde(rename = "partOf", default, skip_serializing_if = "Option::is_none")]
    pub part_of: Option<String>,
    /// Episode or season number within `partOf`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
}

/// An edit or manifestation of the work.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VersionDescription {
    /// EIDR DOI IRI of the edit / manifestation when known.
    #[serde(rename = "@id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The owner's key of the version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identifier: Vec<String>,
    /// `edit` or `manifestation`.
    #[serde(rename = "versionKind")]
    pub version_kind: String,
    /// "Theatrical", "Director's Cut"… (`schema:version`).
    #[serde(rename = "versionLabel", default, skip_serializing_if = "Option::is_none")]
    pub version_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Rational frame rate as given (`24000/1001`).
    #[serde(rename = "frameRate", default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<String>,
    #[serde(rename = "audioLanguage", default, skip_serializing_if = "Vec::is_empty")]
    pub audio_language: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtitle: Vec<SubtitleDescription>,
}

/// A subtitle track of a version (`ebucore:Subtitling`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtitleDescription {
    /// Always `Subtitling`.
    #[serde(rename = "@type")]
    pub node_type: String,
    pub language: String,
    /// `subtitles`, `sdh`, `forced-narrative`, `commentary`, `other`.
    #[serde(rename = "subtitleKind")]
    pub subtitle_kind: String,
    /// `TTML`, `IMSC1.1`, `SRT`, `WebVTT`, `EBU-STL`, `SCC`…
    #[serde(rename = "subtitleFormat", default, skip_serializing_if = "Option::is_none")]
    pub subtitle_format: Option<String>,
}

/// One rights window, summarised: where, how and when the work may be exploited.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightsWindowSummary {
    /// Always `RightsWindow`.
    #[serde(rename = "@type")]
    pub node_type: String,
    /// Avails LicenseType (`SVOD`, `EST`, `FreeTV`…).
    #[serde(rename = "licenseType")]
    pub license_type: String,
    /// ISO 3166-1 alpha-2 codes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territory: Vec<String>,
    #[serde(rename = "excludedTerritory", default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_territory: Vec<String>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub start: Option<OffsetDateTime>,
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub end: Option<OffsetDateTime>,
    /// Languages the window allows (BCP 47); absent = not restricted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub language: Vec<String>,
    /// Avails FormatProfile (`SD`, `HD`, `UHD`): two windows often differ only by it.
    #[serde(rename = "formatProfile", default, skip_serializing_if = "Option::is_none")]
    pub format_profile: Option<String>,
}
