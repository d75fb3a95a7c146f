//! Checking a received delivery against what was announced (a manifest or an MHL generation).
//!
//! Every expected file is read once, through every algorithm it has a digest for, and the outcome is recorded
//! per file, so a receipt or a redelivery request can say exactly which file failed and how.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::digest::{Digests, HashAlgorithm, hash_file};
use crate::ignore::IgnorePatterns;
use crate::manifest::{DeliveryManifest, ManifestError};
use crate::path::RelativePath;
use crate::walk::{EntryKind, FoundEntry, WalkError, list_files};

/// A file the receiver should find, with what it should measure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedFile {
    pub path: RelativePath,
    /// `None` when the announcement gave no size (MHL sizes are optional).
    pub size: Option<u64>,
    pub digests: Digests,
}

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Files and folders that are neither expected nor reported as extra.
    pub ignore: IgnorePatterns,
    /// Computed for every present file besides the expected digests (e.g. SHA-256 when adopting an MHL).
    pub extra_algorithms: Vec<HashAlgorithm>,
    /// Hash unexpected files too, so the report (and an MHL written from it) records what they contain.
    pub hash_unexpected: bool,
    /// Defaults to now.
    pub checked_at: Option<OffsetDateTime>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            ignore: IgnorePatterns::default(),
            extra_algorithms: Vec::new(),
            hash_unexpected: true,
            checked_at: None,
        }
    }
}

/// One digest that did not match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestMismatch {
    pub algorithm: HashAlgorithm,
    pub expected: String,
    pub actual: String,
}

/// What verification found for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileOutcome {
    /// Size and every expected digest match.
    Ok { size: u64, digests: Digests },
    /// Expected but not in the folder.
    Missing,
    /// The size differs (a truncated or padded copy); digests are still computed and compared.
    SizeMismatch { expected: u64, actual: u64, mismatches: Vec<DigestMismatch>, digests: Digests },
    /// Right size, different content.
    HashMismatch { size: u64, mismatches: Vec<DigestMismatch>, digests: Digests },
    /// In the folder but not announced.
    Unexpected {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(default, skip_serializing_if = "Digests::is_empty")]
        digests: Digests,
    },
    /// Present but could not be read as a regular file.
    Unreadable { reason: String },
}

/// The verdict for one file, named by its delivery path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileVerification {
    pub path: RelativePath,
    #[serde(flatten)]
    pub outcome: FileOutcome,
}

impl FileVerification {
    pub fn is_ok(&self) -> bool {
        matches!(self.outcome, FileOutcome::Ok { .. })
    }

    /// The digests measured on the received file, if it was read.
    pub fn measured(&self) -> Option<(u64, &Digests)> {
        match &self.outcome {
            FileOutcome::Ok { size, digests } | FileOutcome::HashMismatch { size, digests, .. } => {
                Some((*size, digests))
            }
            FileOutcome::SizeMismatch { actual, digests, .. } => Some((*actual, digests)),
            FileOutcome::Unexpected { size: Some(size), digests } => Some((*size, digests)),
            _ => None,
        }
    }
}

impl fmt::Display for FileVerification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = &self.path;
        let list = |mismatches: &[DigestMismatch]| {
            mismatches
                .iter()
                .map(|m| format!("{} expected {} got {}", m.algorithm, m.expected, m.actual))
                .collect::<Vec<_>>()
                .join("; ")
        };
        match &self.outcome {
            FileOutcome::Ok { size, .. } => write!(f, "`{path}`: ok ({size} bytes)"),
            FileOutcome::Missing => write!(f, "`{path}`: missing"),
            FileOutcome::SizeMismatch { expected, actual, .. } => {
                write!(f, "`{path}`: size mismatch, expected {expected} bytes, found {actual}")
            }
            FileOutcome::HashMismatch { mismatches, .. } => write!(f, "`{path}`: hash mismatch, {}", list(mismatches)),
            FileOutcome::Unexpected { .. } => write!(f, "`{path}`: unexpected file, not in the announcement"),
            FileOutcome::Unreadable { reason } => write!(f, "`{path}`: unreadable, {reason}"),
        }
    }
}

/// Counts per outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationSummary {
    pub expected: usize,
    pub ok: usize,
    pub missing: usize,
    pub size_mismatch: usize,
    pub hash_mismatch: usize,
    pub unexpected: usize,
    pub unreadable: usize,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
}

/// The result of verifying a delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerificationReport {
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// Expected files in announcement order, then unexpected ones by path.
    pub files: Vec<FileVerification>,
    pub summary: VerificationSummary,
}

impl VerificationReport {
    /// Every announced file is present and matches, and nothing else was delivered.
    pub fn is_intact(&self) -> bool {
        self.files.iter().all(FileVerification::is_ok)
    }

    /// The files that keep the delivery from being intact.
    pub fn problems(&self) -> impl Iterator<Item = &FileVerification> {
        self.files.iter().filter(|f| !f.is_ok())
    }

    pub fn file(&self, path: &str) -> Option<&FileVerification> {
        self.files.iter().find(|f| f.path.as_str() == path)
    }
}

/// Why verification could not run at all (per-file problems are in the report instead).
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("the manifest cannot be verified against: {0}")]
    Manifest(#[from] ManifestError),
}

/// Verifies the folder `root` against `expected`; files under `root` that are not expected are reported.
pub fn verify_dir(
    root: &Path,
    expected: &[ExpectedFile],
    options: &VerifyOptions,
) -> Result<VerificationReport, WalkError> {
    let found = list_files(root, &options.ignore)?;
    Ok(verify_found(&found, expected, options))
}

/// Verifies a folder against a received manifest (validated first).
pub fn verify_dir_against_manifest(
    root: &Path,
    manifest: &DeliveryManifest,
    options: &VerifyOptions,
) -> Result<VerificationReport, VerifyError> {
    let expected = manifest.expected_files()?;
    Ok(verify_dir(root, &expected, options)?)
}

/// Verifies files given one by one (delivery path → where it is on disk), e.g. from a staging area.
/// Listed files that do not exist count as absent.
pub fn verify_files(
    files: &[(RelativePath, PathBuf)],
    expected: &[ExpectedFile],
    options: &VerifyOptions,
) -> VerificationReport {
    let found = files
        .iter()
        .filter_map(|(path, location)| {
            let meta = std::fs::symlink_metadata(location).ok()?;
            let kind = if meta.is_file() {
                EntryKind::File
            } else if meta.file_type().is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::Special
            };
            Some((path.clone(), FoundEntry { location: location.clone(), kind }))
        })
        .collect();
    verify_found(&found, expected, options)
}

fn verify_found(
    found: &BTreeMap<RelativePath, FoundEntry>,
    expected: &[ExpectedFile],
    options: &VerifyOptions,
) -> VerificationReport {
    let mut summary = VerificationSummary { expected: expected.len(), ..VerificationSummary::default() };
    let mut files = Vec::with_capacity(expected.len());
    let mut seen: HashSet<&RelativePath> = HashSet::with_capacity(expected.len());
    let mut all_algorithms: BTreeSet<HashAlgorithm> = options.extra_algorithms.iter().copied().collect();

    for want in expected {
        seen.insert(&want.path);
        all_algorithms.extend(want.digests.algorithms());
        let outcome = match found.get(&want.path) {
            None => FileOutcome::Missing,
            Some(entry) => match read_entry(entry, want.digests.algorithms().chain(options.extra_algorithms.clone())) {
                Err(reason) => FileOutcome::Unreadable { reason },
                Ok((size, digests)) => {
                    summary.bytes_hashed += size;
                    judge(want, size, digests)
                }
            },
        };
        files.push(FileVerification { path: want.path.clone(), outcome });
    }

    for (path, entry) in found.iter().filter(|(p, _)| !seen.contains(p)) {
        let outcome = if !options.hash_unexpected {
            FileOutcome::Unexpected { size: None, digests: Digests::new() }
        } else {
            match read_entry(entry, all_algorithms.iter().copied()) {
                Ok((size, digests)) => {
                    summary.bytes_hashed += size;
                    FileOutcome::Unexpected { size: Some(size), digests }
                }
                Err(_) => FileOutcome::Unexpected { size: None, digests: Digests::new() },
            }
        };
        files.push(FileVerification { path: path.clone(), outcome });
    }

    for f in &files {
        match f.outcome {
            FileOutcome::Ok { .. } => summary.ok += 1,
            FileOutcome::Missing => summary.missing += 1,
            FileOutcome::SizeMismatch { .. } => summary.size_mismatch += 1,
            FileOutcome::HashMismatch { .. } => summary.hash_mismatch += 1,
            FileOutcome::Unexpected { .. } => summary.unexpected += 1,
            FileOutcome::Unreadable { .. } => summary.unreadable += 1,
        }
    }
    VerificationReport { checked_at: options.checked_at.unwrap_or_else(OffsetDateTime::now_utc), files, summary }
}

fn read_entry(
    entry: &FoundEntry,
    algorithms: impl IntoIterator<Item = HashAlgorithm>,
) -> Result<(u64, Digests), String> {
    match entry.kind {
        EntryKind::File => hash_file(&entry.location, algorithms).map_err(|e| format!("read failed: {e}")),
        EntryKind::Symlink => Err("it is a symbolic link; a delivery carries regular files only".to_owned()),
        EntryKind::Special => Err("it is not a regular file".to_owned()),
    }
}

fn judge(want: &ExpectedFile, size: u64, digests: Digests) -> FileOutcome {
    let mismatches: Vec<DigestMismatch> = want
        .digests
        .iter()
        .filter_map(|(algorithm, expected)| {
            let actual = digests.get(algorithm)?;
            (!algorithm.same_value(expected, actual)).then(|| DigestMismatch {
                algorithm,
                expected: expected.to_owned(),
                actual: actual.to_owned(),
            })
        })
        .collect();
    match want.size {
        Some(expected) if expected != size => FileOutcome::SizeMismatch { expected, actual: size, mismatches, digests },
        _ if !mismatches.is_empty() => FileOutcome::HashMismatch { size, mismatches, digests },
        _ => FileOutcome::Ok { size, digests },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::hash_bytes;

    fn expect(path: &str, content: &[u8], algorithms: &[HashAlgorithm]) -> ExpectedFile {
        ExpectedFile {
            path: RelativePath::parse(path).unwrap(),
            size: Some(content.len() as u64),
            digests: hash_bytes(algorithms.iter().copied(), content),
        }
    }

    #[test]
    fn judge_prefers_size_over_hash_and_lists_every_mismatch() {
        let want = expect("a", b"abc", &[HashAlgorithm::Sha256, HashAlgorithm::Md5]);
        let got = hash_bytes([HashAlgorithm::Sha256, HashAlgorithm::Md5], b"abd");
        match judge(&want, 3, got.clone()) {
            FileOutcome::HashMismatch { mismatches, .. } => assert_eq!(mismatches.len(), 2),
            other => panic!("{other:?}"),
        }
        assert!(matches!(judge(&want, 2, got), FileOutcome::SizeMismatch { expected: 3, actual: 2, .. }));
        let same = hash_bytes([HashAlgorithm::Sha256, HashAlgorithm::Md5], b"abc");
        assert!(matches!(judge(&want, 3, same), FileOutcome::Ok { size: 3, .. }));
    }

    #[test]
    fn upper_case_expected_hex_still_matches() {
        let mut want = expect("a", b"abc", &[HashAlgorithm::Md5]);
        want.digests.insert(HashAlgorithm::Md5, "900150983CD24FB0D6963F7D28E17F72");
        let got = hash_bytes([HashAlgorithm::Md5], b"abc");
        assert!(matches!(judge(&want, 3, got), FileOutcome::Ok { .. }));
    }

    #[test]
    fn verify_files_takes_an_explicit_list() {
        let dir = tempfile::tempdir().unwrap();
        let staged = dir.path().join("upload-17.bin");
        std::fs::write(&staged, b"abc").unwrap();
        let path = RelativePath::parse("subs/fr.srt").unwrap();
        let expected = [expect("subs/fr.srt", b"abc", &[HashAlgorithm::Sha256])];
        let report = verify_files(&[(path, staged)], &expected, &VerifyOptions::default());
        assert!(report.is_intact(), "{report:?}");
        assert_eq!(report.summary.bytes_hashed, 3);
        let report = verify_files(&[], &expected, &VerifyOptions::default());
        assert_eq!(report.files[0].outcome, FileOutcome::Missing);
    }

    #[test]
    fn report_serialises_with_a_status_per_file() {
        let report = VerificationReport {
            checked_at: time::macros::datetime!(2026-03-01 10:00 UTC),
            files: vec![
                FileVerification { path: RelativePath::parse("a.srt").unwrap(), outcome: FileOutcome::Missing },
                FileVerification {
                    path: RelativePath::parse("b.srt").unwrap(),
                    outcome: FileOutcome::HashMismatch {
                        size: 3,
                        mismatches: vec![DigestMismatch {
                            algorithm: HashAlgorithm::Xxh64,
                            expected: "0000000000000000".into(),
                            actual: "44bc2cf5ad770999".into(),
                        }],
                        digests: hash_bytes([HashAlgorithm::Xxh64], b"abc"),
                    },
                },
            ],
            summary: VerificationSummary { expected: 2, missing: 1, hash_mismatch: 1, ..Default::default() },
        };
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["files"][0], serde_json::json!({"path": "a.srt", "status": "missing"}));
        assert_eq!(json["files"][1]["status"], "hash_mismatch");
        assert_eq!(json["files"][1]["mismatches"][0]["algorithm"], "xxh64");
        let back: VerificationReport = serde_json::from_value(json).unwrap();
        assert_eq!(back, report);
        assert!(!back.is_intact());
        assert_eq!(back.problems().count(), 2);
        assert_eq!(
            back.files[1].to_string(),
            "`b.srt`: hash mismatch, xxh64 expected 0000000000000000 got 44bc2cf5ad770999"
        );
    }
}
