//! The delivery manifest: what travels in the protocol next to an out-of-band delivery.
//!
//! Every file carries its size and SHA-256 (the proof the receipt is signed over) and, when the sender's tools
//! produce them, the hashes the trade already exchanges (MD5, xxHash) so a lab's existing checksums can be
//! checked without re-hashing on its side.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::digest::{DigestValueError, Digests, HashAlgorithm};
use crate::path::{PathError, RelativePath};
use crate::verify::ExpectedFile;

/// The algorithms a manifest entry can carry; SHA-256 is always present.
pub const MANIFEST_ALGORITHMS: [HashAlgorithm; 5] =
    [HashAlgorithm::Sha256, HashAlgorithm::Md5, HashAlgorithm::Xxh64, HashAlgorithm::Xxh3, HashAlgorithm::Xxh128];

/// What a delivered file is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileRole {
    Subtitle,
    Master,
    QcReport,
    Other,
}

impl FileRole {
    /// A first guess from the file name, for manifests built from a folder; senders can correct it.
    pub fn guess(path: &RelativePath) -> FileRole {
        let name = path.file_name().to_ascii_lowercase();
        let extension = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        match extension {
            "srt" | "vtt" | "ttml" | "dfxp" | "imsc" | "stl" | "scc" | "itt" | "sub" | "ass" | "ssa" => {
                FileRole::Subtitle
            }
            "mxf" | "mov" | "mp4" | "m4v" | "mkv" | "ts" | "wav" | "j2c" | "dpx" | "exr" => FileRole::Master,
            _ if name.contains("qc") && matches!(extension, "pdf" | "xml" | "json" | "csv" | "txt" | "html") => {
                FileRole::QcReport
            }
            _ => FileRole::Other,
        }
    }
}

/// A MIME type guess from the extension, for the formats a subtitle order moves.
pub fn guess_mime_type(path: &RelativePath) -> Option<&'static str> {
    let name = path.file_name().to_ascii_lowercase();
    let extension = name.rsplit_once('.').map(|(_, e)| e)?;
    Some(match extension {
        "srt" => "application/x-subrip",
        "vtt" => "text/vtt",
        "ttml" | "dfxp" | "imsc" => "application/ttml+xml",
        "stl" => "application/x-ebu-stl",
        "scc" => "text/x-scc",
        "xml" => "application/xml",
        "json" => "application/json",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "pdf" => "application/pdf",
        "mxf" => "application/mxf",
        "mov" => "video/quicktime",
        "mp4" | "m4v" => "video/mp4",
        "mkv" => "video/x-matroska",
        "wav" => "audio/wav",
        "mhl" => "application/xml",
        _ => return None,
    })
}

/// One file of a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Relative to the delivery folder, `/`-separated, normal form (see [`RelativePath`]).
    pub path: String,
    pub size: u64,
    /// Lower-case hex.
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub md5: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xxh64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xxh3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xxh128: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    pub role: FileRole,
}

impl ManifestEntry {
    /// Every digest the entry carries, by algorithm.
    pub fn digests(&self) -> Digests {
        let optional = [
            (HashAlgorithm::Md5, &self.md5),
            (HashAlgorithm::Xxh64, &self.xxh64),
            (HashAlgorithm::Xxh3, &self.xxh3),
            (HashAlgorithm::Xxh128, &self.xxh128),
        ];
        std::iter::once((HashAlgorithm::Sha256, self.sha256.clone()))
            .chain(optional.into_iter().filter_map(|(a, v)| v.clone().map(|v| (a, v))))
            .collect()
    }

    /// Fills the entry's digest fields from computed digests; algorithms a manifest has no field for are
    /// dropped. Fails if SHA-256 is not among them.
    pub fn from_digests(
        path: &RelativePath,
        size: u64,
        digests: &Digests,
        role: FileRole,
        mime_type: Option<String>,
    ) -> Option<ManifestEntry> {
        let pick = |a: HashAlgorithm| digests.get(a).map(|v| a.canonical_value(v));
        Some(ManifestEntry {
            path: path.as_str().to_owned(),
            size,
            sha256: pick(HashAlgorithm::Sha256)?,
            md5: pick(HashAlgorithm::Md5),
            xxh64: pick(HashAlgorithm::Xxh64),
            xxh3: pick(HashAlgorithm::Xxh3),
            xxh128: pick(HashAlgorithm::Xxh128),
            mime_type,
            role,
        })
    }
}

/// The list of files of one delivery with their proofs of integrity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryManifest {
    pub files: Vec<ManifestEntry>,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Who produced the manifest (participant or tool).
    pub creator: String,
}

/// A manifest entry that cannot be used, named by its position and path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest entry {index} (`{path}`): {source}")]
    Path { index: usize, path: String, source: PathError },
    #[error("manifest entry {index} (`{path}`) repeats the path of entry {first}; each file is listed once")]
    Duplicate { index: usize, first: usize, path: String },
    #[error("manifest entry {index} (`{path}`), {algorithm}: {source}")]
    Digest { index: usize, path: String, algorithm: HashAlgorithm, source: DigestValueError },
    #[error("the manifest is not valid JSON for a delivery manifest: {0}")]
    Json(String),
}

impl DeliveryManifest {
    /// Parses and validates a manifest received in a protocol message.
    pub fn from_json(text: &str) -> Result<DeliveryManifest, ManifestError> {
        let manifest: DeliveryManifest = serde_json::from_str(text).map_err(|e| ManifestError::Json(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    pub fn to_json_pretty(&self) -> String {
        // A struct of strings, numbers and enums always serialises.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Checks every entry: path form, no duplicates, digest lengths and digits. Stops at the first problem.
    pub fn validate(&self) -> Result<(), ManifestError> {
        self.expected_files().map(|_| ())
    }

    /// The manifest as a verification target (validated).
    pub fn expected_files(&self) -> Result<Vec<ExpectedFile>, ManifestError> {
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(self.files.len());
        let mut expected = Vec::with_capacity(self.files.len());
        for (index, entry) in self.files.iter().enumerate() {
            let path = RelativePath::parse(&entry.path).map_err(|source| ManifestError::Path {
                index,
                path: entry.path.clone(),
                source,
            })?;
            if let Some(&first) = seen.get(entry.path.as_str()) {
                return Err(ManifestError::Duplicate { index, first, path: entry.path.clone() });
            }
            seen.insert(entry.path.as_str(), index);
            let digests = entry.digests();
            for (algorithm, value) in digests.iter() {
                algorithm.check_value(value).map_err(|source| ManifestError::Digest {
                    index,
                    path: entry.path.clone(),
                    algorithm,
                    source,
                })?;
            }
            expected.push(ExpectedFile { path, size: Some(entry.size), digests });
        }
        Ok(expected)
    }

    /// Total bytes of the delivery.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Subtitle => "subtitle",
            FileRole::Master => "master",
            FileRole::QcReport => "qc-report",
            FileRole::Other => "other",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    fn entry(path: &str) -> ManifestEntry {
        ManifestEntry {
            path: path.into(),
            size: 3,
            sha256: SHA_ABC.into(),
            md5: Some("900150983cd24fb0d6963f7d28e17f72".into()),
            xxh64: None,
            xxh3: None,
            xxh128: None,
            mime_type: Some("application/x-subrip".into()),
            role: FileRole::Subtitle,
        }
    }

    fn manifest(files: Vec<ManifestEntry>) -> DeliveryManifest {
        DeliveryManifest { files, created: time::macros::datetime!(2026-03-01 10:00 UTC), creator: "lab".into() }
    }

    #[test]
    fn json_round_trip_and_wire_shape() {
        let m = manifest(vec![entry("subs/fr.srt")]);
        let json = m.to_json_pretty();
        assert!(json.contains("\"role\": \"subtitle\""), "{json}");
        assert!(json.contains("\"created\": \"2026-03-01T10:00:00Z\""), "{json}");
        assert!(!json.contains("xxh64"), "absent digests are left out: {json}");
        assert_eq!(DeliveryManifest::from_json(&json).unwrap(), m);
        let qc = serde_json::to_string(&FileRole::QcReport).unwrap();
        assert_eq!(qc, "\"qc-report\"");
    }

    #[test]
    fn duplicate_paths_are_refused_naming_both_entries() {
        let err = manifest(vec![entry("a.srt"), entry("b.srt"), entry("a.srt")]).validate().unwrap_err();
        assert_eq!(err, ManifestError::Duplicate { index: 2, first: 0, path: "a.srt".into() });
        assert!(err.to_string().contains("entry 2 (`a.srt`)"), "{err}");
    }

    #[test]
    fn absolute_and_traversing_paths_are_refused() {
        let err = manifest(vec![entry("ok.srt"), entry("/etc/passwd")]).validate().unwrap_err();
        assert!(matches!(err, ManifestError::Path { index: 1, source: PathError::Absolute(_), .. }), "{err:?}");
        let err = manifest(vec![entry("subs/../../x")]).validate().unwrap_err();
        assert!(matches!(err, ManifestError::Path { index: 0, source: PathError::Traversal(_), .. }), "{err:?}");
    }

    #[test]
    fn bad_digest_lengths_name_entry_and_algorithm() {
        let mut e = entry("fr.srt");
        e.xxh64 = Some("abc".into());
        let err = manifest(vec![e]).validate().unwrap_err();
        assert!(
            matches!(
                &err,
                ManifestError::Digest {
                    index: 0,
                    algorithm: HashAlgorithm::Xxh64,
                    source: DigestValueError::Length { .. },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains("xxh64"), "{err}");
        let mut e = entry("fr.srt");
        e.sha256 = "z".repeat(64);
        assert!(matches!(
            manifest(vec![e]).validate(),
            Err(ManifestError::Digest { algorithm: HashAlgorithm::Sha256, .. })
        ));
    }

    #[test]
    fn malformed_json_is_a_typed_error() {
        assert!(matches!(DeliveryManifest::from_json("{"), Err(ManifestError::Json(_))));
        let unknown_role = r#"{"files":[{"path":"a","size":1,"sha256":"00","role":"trailer"}],
            "created":"2026-01-01T00:00:00Z","creator":"x"}"#;
        assert!(matches!(DeliveryManifest::from_json(unknown_role), Err(ManifestError::Json(_))));
    }

    #[test]
    fn role_and_mime_guesses() {
        let p = |s: &str| RelativePath::parse(s).unwrap();
        assert_eq!(FileRole::guess(&p("subs/FR.SRT")), FileRole::Subtitle);
        assert_eq!(FileRole::guess(&p("master.mxf")), FileRole::Master);
        assert_eq!(FileRole::guess(&p("reports/qc_fr.pdf")), FileRole::QcReport);
        assert_eq!(FileRole::guess(&p("readme")), FileRole::Other);
        assert_eq!(guess_mime_type(&p("a.ttml")), Some("application/ttml+xml"));
        assert_eq!(guess_mime_type(&p("noext")), None);
    }

    #[test]
    fn digests_collects_present_fields() {
        let d = entry("a").digests();
        assert_eq!(d.len(), 2);
        assert_eq!(d.get(HashAlgorithm::Sha256), Some(SHA_ABC));
        let back = ManifestEntry::from_digests(
            &RelativePath::parse("a").unwrap(),
            3,
            &d,
            FileRole::Subtitle,
            Some("application/x-subrip".into()),
        );
        assert_eq!(back, Some(entry("a")));
    }
}
