//! The media domain as the trade names it: a Work, its Versions (edits and
//! manifestations), their subtitle tracks and files, and the RightsWindows under
//! which a Work may be exploited.
//!
//! Values here are plain data: every identifier inside is already validated by
//! its type (see [`crate::ids`]). Ids of works, versions and windows are the
//! stable keys of the source system (a MovieLabs ContentID, an ALID, an EIDR…):
//! re-importing the same record addresses the same id, which is what makes
//! imports idempotent.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::{Eidr, Isan, LanguageTag, Territory};

/// What kind of creative work this is (MovieLabs `WorkType`, simplified).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WorkKind {
    Movie,
    Series,
    Season,
    Episode,
    Short,
    Supplemental,
    Promotion,
    Other,
}

impl WorkKind {
    /// Maps a MovieLabs / EIDR work type word (`Movie`, `Feature`, `Episode`, `Series`…).
    pub fn from_mddf(word: &str) -> WorkKind {
        match word.trim().to_ascii_lowercase().as_str() {
            "movie" | "feature" | "film" => WorkKind::Movie,
            "series" | "collection" => WorkKind::Series,
            "season" => WorkKind::Season,
            "episode" => WorkKind::Episode,
            "short" => WorkKind::Short,
            "supplemental" | "bonus" | "excerpt" => WorkKind::Supplemental,
            "promotion" | "trailer" | "teaser" | "ad" => WorkKind::Promotion,
            _ => WorkKind::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            WorkKind::Movie => "movie",
            WorkKind::Series => "series",
            WorkKind::Season => "season",
            WorkKind::Episode => "episode",
            WorkKind::Short => "short",
            WorkKind::Supplemental => "supplemental",
            WorkKind::Promotion => "promotion",
            WorkKind::Other => "other",
        }
    }
}

/// A title in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalizedTitle {
    pub language: LanguageTag,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// An identifier in a namespace we do not validate (ALID, proprietary MAM ids, IMDb…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AltId {
    pub namespace: String,
    pub value: String,
}

/// A person credited on a work, with the job as the source names it (Director, Actor…).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credit {
    pub role: String,
    pub name: String,
}

/// The abstract creative work: "versions and rights of work X" is one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Work {
    /// Stable key in the owner's catalogue (ContentID, ALID, EIDR…).
    pub id: String,
    pub kind: WorkKind,
    /// Display title in the original / primary language.
    pub title: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titles: Vec<LocalizedTitle>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_language: Option<LanguageTag>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_year: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub countries_of_origin: Vec<Territory>,
    /// EIDR title-level id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<Eidr>,
    /// ISAN of the work (root + episode, with or without version part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<Isan>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alt_ids: Vec<AltId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub credits: Vec<Credit>,
    /// The enclosing work (season of an episode, series of a season), by work id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Episode / season number within the parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u32>,
}

/// An edit (a cut with its own runtime: theatrical, director's cut, airline) or a
/// manifestation (a deliverable rendition of an edit: a package in a format).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VersionKind {
    Edit,
    Manifestation,
}

/// How a subtitle track is meant to be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubtitleKind {
    /// Translation of dialogue for viewers who do not understand the language.
    Subtitles,
    /// Subtitles for the deaf and hard of hearing (MovieLabs `SDH`, `CC`).
    Sdh,
    /// Forced narrative: only the foreign-language or on-screen text parts.
    ForcedNarrative,
    Commentary,
    Other,
}

impl SubtitleKind {
    /// Maps a MovieLabs subtitle `Type` word (`normal`, `SDH`, `forced`, `commentary`, `CC`…).
    pub fn from_mddf(word: &str) -> SubtitleKind {
        match word.trim().to_ascii_lowercase().as_str() {
            "normal" | "subtitle" | "subtitles" | "translation" => SubtitleKind::Subtitles,
            "sdh" | "cc" | "closed" | "closedcaption" | "easyreader" => SubtitleKind::Sdh,
            "forced" | "forcednarrative" | "forced-narrative" | "narrative" => SubtitleKind::ForcedNarrative,
            "commentary" => SubtitleKind::Commentary,
            _ => SubtitleKind::Other,
        }
    }
}

/// A digest of a file as exchanged in the trade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    /// `sha256`, `md5`, `xxh64`, `xxh3`, `xxh128` (lower case).
    pub algorithm: String,
    /// Lower-case hex.
    pub value: String,
}

/// A file of a version (essence, subtitle file, artwork) known by reference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// Path or URL as given by the source.
    pub location: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<FileHash>,
}

/// A subtitle track of a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubtitleTrack {
    /// Track id in the source (Manifest `SubtitleTrackID`).
    pub id: String,
    pub language: LanguageTag,
    pub kind: SubtitleKind,
    /// Format word as declared: `TTML`, `IMSC1.1`, `SRT`, `WebVTT`, `EBU-STL`, `SCC`…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
}

/// A version of a work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Version {
    pub id: String,
    pub work_id: String,
    pub kind: VersionKind,
    /// "Theatrical", "Director's Cut", "UHD HDR package"…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// EIDR edit / manifestation id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eidr: Option<Eidr>,
    /// ISAN with version part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub isan: Option<Isan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_seconds: Option<u32>,
    /// Frame rate as a rational string (`24000/1001`, `25`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audio_languages: Vec<LanguageTag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subtitles: Vec<SubtitleTrack>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileRef>,
}

/// A window during which a work may be exploited under one license type in some
/// territories (one MovieLabs Avails transaction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RightsWindow {
    /// Stable key (Avails `ALID` + transaction id, or the source row's key).
    pub id: String,
    pub work_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licensor: Option<String>,
    /// Avails license type: `EST`, `VOD`, `SVOD`, `AVOD`, `TVOD`, `FVOD`, `PayTV`, `FreeTV`, `POEST`…
    pub license_type: String,
    /// Territories licensed (ISO 3166-1 alpha-2).
    pub territories: Vec<Territory>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded_territories: Vec<Territory>,
    /// Open start means "from now on".
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub start: Option<OffsetDateTime>,
    /// Open end means "until further notice".
    #[serde(default, with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub end: Option<OffsetDateTime>,
    /// Languages the work may be offered in; empty = not restricted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub languages: Vec<LanguageTag>,
    /// Languages under holdback (may not be offered) in this window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holdback_languages: Vec<LanguageTag>,
    /// `SD`, `HD`, `UHD`, `3D`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_profile: Option<String>,
}

impl RightsWindow {
    /// True when `at` lies in `[start, end)` (open ends are unbounded).
    pub fn is_open_at(&self, at: OffsetDateTime) -> bool {
        self.start.is_none_or(|s| s <= at) && self.end.is_none_or(|e| at < e)
    }
}
