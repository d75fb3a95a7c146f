//! OpenAPI descriptions of the media types the API exchanges.
//!
//! `passerelle-media` stays free of web dependencies, so its types do not derive
//! `ToSchema`; these mirrors document their serde form. A test compares every
//! mirror with the real serialization so that the two cannot drift apart.
#![allow(dead_code)] // the fields exist for the derived schema only

use utoipa::ToSchema;

/// A creative work (`passerelle_media::Work`).
#[derive(ToSchema)]
#[schema(as = Work)]
pub struct WorkSchema {
    /// Stable key in the owner's catalogue (ContentID, ALID, EIDR…).
    id: String,
    #[schema(inline)]
    kind: WorkKindSchema,
    /// Display title in the original language.
    title: String,
    titles: Option<Vec<LocalizedTitleSchema>>,
    summary: Option<String>,
    /// BCP 47 language tag, e.g. `es-419`.
    original_language: Option<String>,
    release_year: Option<i32>,
    runtime_seconds: Option<u32>,
    genres: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes.
    countries_of_origin: Option<Vec<String>>,
    /// EIDR with valid check character, e.g. `10.5240/7EC7-228A-510A-053E-CBB8-J`.
    eidr: Option<String>,
    /// ISAN with valid check characters.
    isan: Option<String>,
    alt_ids: Option<Vec<AltIdSchema>>,
    credits: Option<Vec<CreditSchema>>,
    /// Enclosing work id (season of an episode…).
    parent: Option<String>,
    sequence: Option<u32>,
}

#[derive(ToSchema)]
#[schema(as = WorkKind)]
#[allow(clippy::enum_variant_names)]
pub enum WorkKindSchema {
    #[schema(rename = "movie")]
    Movie,
    #[schema(rename = "series")]
    Series,
    #[schema(rename = "season")]
    Season,
    #[schema(rename = "episode")]
    Episode,
    #[schema(rename = "short")]
    Short,
    #[schema(rename = "supplemental")]
    Supplemental,
    #[schema(rename = "promotion")]
    Promotion,
    #[schema(rename = "other")]
    Other,
}

/// A title in one language.
#[derive(ToSchema)]
#[schema(as = LocalizedTitle)]
pub struct LocalizedTitleSchema {
    language: String,
    title: String,
    summary: Option<String>,
}

/// An identifier in a namespace Passerelle does not validate.
#[derive(ToSchema)]
#[schema(as = AltId)]
pub struct AltIdSchema {
    namespace: String,
    value: String,
}

/// A credited person.
#[derive(ToSchema)]
#[schema(as = Credit)]
pub struct CreditSchema {
    role: String,
    name: String,
}

/// A version (edit or manifestation) of a work (`passerelle_media::Version`).
#[derive(ToSchema)]
#[schema(as = Version)]
pub struct VersionSchema {
    id: String,
    /// May be left out in requests under `/works/{id}/`: the URL's work is used.
    work_id: String,
    /// `edit` or `manifestation`.
    kind: String,
    label: Option<String>,
    eidr: Option<String>,
    isan: Option<String>,
    runtime_seconds: Option<u32>,
    /// Rational frame rate, e.g. `24000/1001`.
    frame_rate: Option<String>,
    audio_languages: Option<Vec<String>>,
    subtitles: Option<Vec<SubtitleTrackSchema>>,
    files: Option<Vec<FileRefSchema>>,
}

/// A subtitle track.
#[derive(ToSchema)]
#[schema(as = SubtitleTrack)]
pub struct SubtitleTrackSchema {
    id: String,
    language: String,
    /// `subtitles`, `sdh`, `forced-narrative`, `commentary` or `other`.
    kind: String,
    format: Option<String>,
    file: Option<FileRefSchema>,
}

/// A file known by reference.
#[derive(ToSchema)]
#[schema(as = FileRef)]
pub struct FileRefSchema {
    location: String,
    size: Option<u64>,
    mime_type: Option<String>,
    hashes: Option<Vec<FileHashSchema>>,
}

/// A file digest.
#[derive(ToSchema)]
#[schema(as = FileHash)]
pub struct FileHashSchema {
    /// `sha256`, `md5`, `xxh64`, `xxh3`, `xxh128`.
    algorithm: String,
    /// Lower-case hex.
    value: String,
}

/// A rights window (`passerelle_media::RightsWindow`), one Avails transaction.
#[derive(ToSchema)]
#[schema(as = RightsWindow)]
pub struct RightsWindowSchema {
    id: String,
    /// May be left out in requests under `/works/{id}/`.
    work_id: String,
    licensor: Option<String>,
    /// Avails license type: `EST`, `VOD`, `SVOD`, `AVOD`, `TVOD`, `FVOD`, `PayTV`, `FreeTV`…
    license_type: String,
    /// ISO 3166-1 alpha-2 codes (at least one).
    territories: Vec<String>,
    excluded_territories: Option<Vec<String>>,
    /// RFC 3339; absent = open start.
    start: Option<String>,
    /// RFC 3339; absent = open end.
    end: Option<String>,
    languages: Option<Vec<String>>,
    holdback_languages: Option<Vec<String>>,
    format_profile: Option<String>,
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::{Value, json};
    use utoipa::PartialSchema;
    use utoipa::openapi::{RefOr, Schema};

    use super::*;

    fn properties<T: PartialSchema>() -> BTreeSet<String> {
        match T::schema() {
            RefOr::T(Schema::Object(o)) => o.properties.keys().cloned().collect(),
            _ => panic!("not an object schema"),
        }
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().map(|o| o.keys().cloned().collect()).unwrap_or_default()
    }

    #[test]
    fn mirrors_match_the_serde_forms() {
        let file = json!({"location": "a.ttml", "size": 1, "mime_type": "application/ttml+xml",
            "hashes": [{"algorithm": "md5", "value": "00"}]});
        let work: passerelle_media::Work = serde_json::from_value(json!({
            "id": "w", "kind": "movie", "title": "t", "titles": [{"language": "fr", "title": "t", "summary": "s"}],
            "summary": "s", "original_language": "fr", "release_year": 2020, "runtime_seconds": 1, "genres": ["g"],
            "countries_of_origin": ["FR"], "eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J",
            "isan": "0000-0000-D07A-0090-Q-0000-0000-X", "alt_ids": [{"namespace": "n", "value": "v"}],
            "credits": [{"role": "Director", "name": "n"}], "parent": "p", "sequence": 1
        }))
        .unwrap();
        let work = serde_json::to_value(&work).unwrap();
        assert_eq!(keys(&work), properties::<WorkSchema>());
        assert_eq!(keys(&work["titles"][0]), properties::<LocalizedTitleSchema>());
        assert_eq!(keys(&work["alt_ids"][0]), properties::<AltIdSchema>());
        assert_eq!(keys(&work["credits"][0]), properties::<CreditSchema>());

        let version: passerelle_media::Version = serde_json::from_value(json!({
            "id": "v", "work_id": "w", "kind": "edit", "label": "l", "eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J",
            "isan": "0000-0000-D07A-0090-Q-0000-0000-X", "runtime_seconds": 1, "frame_rate": "25",
            "audio_languages": ["fr"], "subtitles": [{"id": "s", "language": "fr", "kind": "sdh", "format": "TTML", "file": file}],
            "files": [file]
        }))
        .unwrap();
        let version = serde_json::to_value(&version).unwrap();
        assert_eq!(keys(&version), properties::<VersionSchema>());
        assert_eq!(keys(&version["subtitles"][0]), properties::<SubtitleTrackSchema>());
        assert_eq!(keys(&version["files"][0]), properties::<FileRefSchema>());
        assert_eq!(keys(&version["files"][0]["hashes"][0]), properties::<FileHashSchema>());

        let window: passerelle_media::RightsWindow = serde_json::from_value(json!({
            "id": "r", "work_id": "w", "licensor": "l", "license_type": "SVOD", "territories": ["FR"],
            "excluded_territories": ["MC"], "start": "2026-01-01T00:00:00Z", "end": "2027-01-01T00:00:00Z",
            "languages": ["fr"], "holdback_languages": ["de"], "format_profile": "HD"
        }))
        .unwrap();
        assert_eq!(keys(&serde_json::to_value(&window).unwrap()), properties::<RightsWindowSchema>());
    }
}
