//! MovieLabs Asset Order & Delivery (AOD): the `AssetAvailability` report and the
//! AOD vocabulary file.
//!
//! An AssetAvailability tells which assets of a title a provider holds (tracks,
//! languages) and in what state. It describes a deliverable, so it becomes one
//! manifestation [`Version`] of the title: id `{ALID}#availability[-{region}]`,
//! work `md:cid:…` derived from the ALID (the MovieLabs convention), audio
//! languages and subtitle tracks taken from the dispositions whose status says the
//! asset exists (`available`, `offered`, `delivered`, `ingested`, `validated`).
//! Dispositions in other known states (processing, rejected…) are counted, not
//! imported; an unknown status code is reported.
//!
//! The vocabulary file (`{"aod": {"AssetAvailability/StatusCode": [...], ...}}`) is
//! reference data for the order workflow: it is recognised and yields an empty batch.

use std::collections::BTreeMap;

use passerelle_media::{LanguageTag, SubtitleKind, SubtitleTrack, Version, VersionKind};
use serde::{Deserialize, Serialize};

use crate::collect::{Collector, push_unique};
use crate::fields::content_id_for_alid;
use crate::xml::{Element, read_document};
use crate::{Format, ImportBatch, ImportError};

/// `AssetAvailability/StatusCode` values of the AOD vocabulary v1.4.
pub const AOD_STATUS_CODES: [&str; 14] = [
    "available",
    "offered",
    "processing",
    "delivered",
    "rework",
    "rejected",
    "recalled",
    "ingested",
    "validated",
    "abandoned",
    "superseded",
    "deleted",
    "on-hold",
    "orphaned",
];

/// Statuses meaning the asset exists on the provider's side.
const HELD: [&str; 5] = ["available", "offered", "delivered", "ingested", "validated"];

/// An AOD vocabulary: list name (`AssetAvailability/StatusCode`, `ProgressCodes`…) → terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vocabulary {
    pub lists: BTreeMap<String, Vec<String>>,
}

impl Vocabulary {
    /// The terms of one list, if the vocabulary has it.
    pub fn terms(&self, list: &str) -> Option<&[String]> {
        self.lists.get(list).map(Vec::as_slice)
    }
}

#[derive(Deserialize)]
struct VocabularyFile {
    aod: BTreeMap<String, Vec<String>>,
}

pub(crate) fn vocabulary(file: &str, bytes: &[u8]) -> Result<Vocabulary, ImportError> {
    let parsed: VocabularyFile = serde_json::from_slice(crate::xml::strip_bom(bytes)).map_err(|e| {
        ImportError::Json { file: file.to_string(), line: e.line(), column: e.column(), message: e.to_string() }
    })?;
    Ok(Vocabulary { lists: parsed.aod })
}

pub(crate) fn parse_vocabulary(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let vocab = vocabulary(file, bytes)?;
    let mut out = Collector::new(file, Format::AodVocabulary);
    out.records_seen = vocab.lists.len();
    Ok(out.finish())
}

pub(crate) fn parse_availability(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let doc = read_document(file, bytes)?;
    if doc.name != "AssetAvailability" {
        return Err(ImportError::UnexpectedRoot {
            file: file.to_string(),
            expected: "MovieLabs AOD AssetAvailability",
            found: doc.name,
        });
    }
    let mut out = Collector::new(file, Format::AodAvailabilityXml);
    let root_path = format!("/{}", doc.name);
    let scope = doc.child("Scope");
    let Some(alid) = scope.and_then(|s| s.child_text("ALID")) else {
        out.reject(Element::location(&root_path, &doc), None, "Scope/ALID is missing: the availability names no title");
        return Ok(out.finish());
    };
    let region = scope.and_then(|s| s.child("Region")).and_then(|r| r.child_text("country"));
    let id = match region {
        Some(r) => format!("{alid}#availability-{r}"),
        None => format!("{alid}#availability"),
    };
    let mut version = Version {
        id: id.clone(),
        work_id: content_id_for_alid(alid),
        kind: VersionKind::Manifestation,
        label: Some(match region {
            Some(r) => format!("assets available ({r})"),
            None => "assets available".to_string(),
        }),
        eidr: None,
        isan: None,
        runtime_seconds: None,
        frame_rate: None,
        audio_languages: Vec::new(),
        subtitles: Vec::new(),
        files: Vec::new(),
    };
    for disposition in doc.children_named("AssetDisposition") {
        out.records_seen += 1;
        let path = Element::path_of(&root_path, disposition);
        let status = disposition.child_text("StatusCode").unwrap_or("");
        if !AOD_STATUS_CODES.iter().any(|s| s.eq_ignore_ascii_case(status)) {
            out.reject(
                Element::location(&path, disposition),
                Some(&id),
                format!(
                    "StatusCode `{status}` is not in the AOD vocabulary ({}); disposition skipped",
                    AOD_STATUS_CODES.join(", ")
                ),
            );
            continue;
        }
        if !HELD.iter().any(|s| s.eq_ignore_ascii_case(status)) {
            continue;
        }
        for lang_el in disposition.children_named("Language") {
            let Some(raw) = lang_el.value() else { continue };
            match LanguageTag::parse(raw) {
                Ok(l) => push_unique(&mut version.audio_languages, l),
                Err(e) => out.reject(
                    Element::location(&Element::path_of(&path, lang_el), lang_el),
                    Some(&id),
                    format!("{e}; language dropped"),
                ),
            }
        }
        for track in disposition.children_named("Track") {
            for asset in &track.children {
                let at = Element::location(&Element::path_of(&Element::path_of(&path, track), asset), asset);
                let language = match asset.child_text("Language").map(LanguageTag::parse) {
                    None => continue,
                    Some(Ok(l)) => l,
                    Some(Err(e)) => {
                        out.reject(at, Some(&id), format!("{e}; track skipped"));
                        continue;
                    }
                };
                match asset.name.as_str() {
                    "Audio" => push_unique(&mut version.audio_languages, language),
                    "Subtitle" => {
                        let track_id = asset
                            .attr("SubtitleTrackID")
                            .map_or_else(|| format!("{id}#subtitle-{}", version.subtitles.len() + 1), str::to_string);
                        let kind = asset.child_text("Type").map_or(SubtitleKind::Subtitles, SubtitleKind::from_mddf);
                        version.subtitles.push(SubtitleTrack {
                            id: track_id,
                            language,
                            kind,
                            format: None,
                            file: None,
                        });
                    }
                    _ => {}
                }
            }
        }
    }
    out.add_version(version);
    Ok(out.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_status_is_reported_and_non_held_ignored() {
        let xml = r#"<d:AssetAvailability xmlns:d="urn:d" xmlns:md="urn:md" xmlns:manifest="urn:m">
          <d:Scope><d:ALID>md:alid:org:x:1</d:ALID></d:Scope>
          <d:AssetDisposition><d:Language>fr</d:Language><d:StatusCode>processing</d:StatusCode></d:AssetDisposition>
          <d:AssetDisposition><d:Language>de</d:Language><d:StatusCode>lost</d:StatusCode></d:AssetDisposition>
          <d:AssetDisposition><d:Track><manifest:Subtitle SubtitleTrackID="st1"><md:Type>SDH</md:Type><md:Language>es</md:Language></manifest:Subtitle></d:Track><d:StatusCode>delivered</d:StatusCode></d:AssetDisposition>
        </d:AssetAvailability>"#;
        let b = parse_availability("a.xml", xml.as_bytes()).expect("parse");
        assert_eq!(b.records_seen, 3);
        assert_eq!(b.rejected.len(), 1);
        let v = &b.versions[0];
        assert_eq!(v.id, "md:alid:org:x:1#availability");
        assert_eq!(v.work_id, "md:cid:org:x:1");
        assert!(v.audio_languages.is_empty());
        assert_eq!(v.subtitles[0].kind, SubtitleKind::Sdh);
        assert_eq!(v.subtitles[0].id, "st1");
    }

    #[test]
    fn vocabulary_lists() {
        let v = vocabulary("v.json", br#"{"aod":{"ProgressCodes":["Ready","Error"]}}"#).expect("vocab");
        assert_eq!(v.terms("ProgressCodes").map(<[String]>::len), Some(2));
        assert!(matches!(vocabulary("v.json", br#"{"aod":[1]}"#), Err(ImportError::Json { .. })));
    }
}
