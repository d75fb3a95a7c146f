//! Between ASC MHL and delivery manifests.
//!
//! MHL v2.0 has no SHA-256 element, and a manifest requires SHA-256, so the two directions differ: a manifest
//! exports to MHL directly (its MD5/xxHash values become MHL hashes), while adopting an MHL as a manifest needs
//! the files: they are read once, checked against the MHL's hashes, and SHA-256 is computed in the same pass.

use std::cmp::Ordering;
use std::path::Path;

use time::OffsetDateTime;
use time::macros::format_description;

use super::dirhash::folder_hashes;
use super::{
    Author, CreatorInfo, DirectoryDigests, DirectoryHash, FileHash, HashAction, HashEntry, HashList, MhlHash,
    ProcessInfo, ProcessKind, Tool,
};
use crate::digest::{DigestValueError, Digests, HashAlgorithm};
use crate::ignore::IgnorePatterns;
use crate::manifest::{DeliveryManifest, FileRole, MANIFEST_ALGORITHMS, ManifestEntry, ManifestError, guess_mime_type};
use crate::path::RelativePath;
use crate::verify::{ExpectedFile, FileOutcome, VerificationReport, VerifyOptions, verify_dir};
use crate::walk::WalkError;

/// Which algorithm folder hashes are written with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryHashChoice {
    /// No `directoryhash` entries and no root hash.
    None,
    /// The first of xxh64, xxh128, xxh3, c4, md5, sha1 that every file has; none if there is no such algorithm.
    Auto,
    Algorithm(HashAlgorithm),
}

/// What a written generation says about its creation.
#[derive(Debug, Clone)]
pub struct MhlWriteOptions {
    pub hostname: String,
    pub tool: Tool,
    pub authors: Vec<Author>,
    pub location: Option<String>,
    pub comment: Option<String>,
    pub process: ProcessKind,
    pub ignore: IgnorePatterns,
    /// Defaults to the manifest's creation or the verification time.
    pub creation_date: Option<OffsetDateTime>,
    pub directory_hashes: DirectoryHashChoice,
}

impl Default for MhlWriteOptions {
    fn default() -> Self {
        MhlWriteOptions {
            hostname: "localhost".to_owned(),
            tool: Tool { name: "passerelle".to_owned(), version: Some(env!("CARGO_PKG_VERSION").to_owned()) },
            authors: Vec::new(),
            location: None,
            comment: None,
            process: ProcessKind::InPlace,
            ignore: IgnorePatterns::default(),
            creation_date: None,
            directory_hashes: DirectoryHashChoice::Auto,
        }
    }
}

/// Why a generation could not be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MhlExportError {
    #[error(
        "`{path}` has no hash MHL can carry (MHL v2.0 has no sha256); add md5, xxh64, xxh3 or xxh128 to the manifest"
    )]
    NoMhlDigest { path: String },
    #[error("folder hashes cannot use {0}: some files lack it or MHL has no element for it")]
    DirectoryAlgorithm(HashAlgorithm),
    #[error("`{path}`: {source}")]
    Value { path: String, source: DigestValueError },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// How to adopt an MHL as a manifest.
#[derive(Debug, Clone)]
pub struct MhlImportOptions {
    /// Manifest hashes besides SHA-256 (md5, xxh64, xxh3, xxh128); those the MHL carries are kept anyway.
    pub extra_algorithms: Vec<HashAlgorithm>,
    /// Defaults to the MHL's own ignore patterns plus [`IgnorePatterns::default`].
    pub ignore: Option<IgnorePatterns>,
    pub creator: String,
    pub created: Option<OffsetDateTime>,
}

impl Default for MhlImportOptions {
    fn default() -> Self {
        MhlImportOptions {
            extra_algorithms: Vec::new(),
            ignore: None,
            creator: concat!("passerelle-delivery ", env!("CARGO_PKG_VERSION")).to_owned(),
            created: None,
        }
    }
}

/// Why an MHL could not become a manifest.
#[derive(Debug, thiserror::Error)]
pub enum MhlImportError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("{}", describe_not_intact(.0))]
    NotIntact(Box<VerificationReport>),
    #[error("a manifest has no field for {0}; choose among md5, xxh64, xxh3, xxh128")]
    Algorithm(HashAlgorithm),
}

fn describe_not_intact(report: &VerificationReport) -> String {
    const SHOWN: usize = 5;
    let problems: Vec<String> = report.problems().take(SHOWN).map(ToString::to_string).collect();
    let more = report.problems().count().saturating_sub(SHOWN);
    let tail = if more > 0 { format!(" and {more} more") } else { String::new() };
    format!("the folder does not match the MHL: {}{tail}", problems.join("; "))
}

/// `0001_A002R2EC_2020-01-16_091500Z.mhl`: sequence, folder name, UTC creation time, as ASC MHL names files.
pub fn generation_file_name(sequence_nr: u32, folder_name: &str, created: OffsetDateTime) -> String {
    let utc = created.to_offset(time::UtcOffset::UTC);
    let stamp = utc
        .format(format_description!("[year]-[month]-[day]_[hour][minute][second]Z"))
        .unwrap_or_else(|_| utc.unix_timestamp().to_string());
    format!("{sequence_nr:04}_{folder_name}_{stamp}.mhl")
}

/// Adopts an MHL generation for the folder `root` as a delivery manifest, reading each file once.
pub fn manifest_from_mhl(
    list: &HashList,
    root: &Path,
    options: &MhlImportOptions,
) -> Result<DeliveryManifest, MhlImportError> {
    if let Some(&bad) = options.extra_algorithms.iter().find(|a| !MANIFEST_ALGORITHMS.contains(a)) {
        return Err(MhlImportError::Algorithm(bad));
    }
    let ignore = options.ignore.clone().unwrap_or_else(|| {
        let mut patterns: Vec<String> = IgnorePatterns::default().patterns().to_vec();
        patterns.extend(list.process.ignore.iter().cloned());
        IgnorePatterns::new(patterns)
    });
    let mut extra = vec![HashAlgorithm::Sha256];
    extra.extend(options.extra_algorithms.iter().copied());
    let verify_options =
        VerifyOptions { ignore, extra_algorithms: extra, hash_unexpected: false, checked_at: options.created };
    let report = verify_dir(root, &list.expected_files(), &verify_options)?;
    if !report.is_intact() {
        return Err(MhlImportError::NotIntact(Box::new(report)));
    }
    let files = report
        .files
        .iter()
        .filter_map(|f| {
            let (size, digests) = f.measured()?;
            let mime = guess_mime_type(&f.path).map(str::to_owned);
            ManifestEntry::from_digests(&f.path, size, digests, FileRole::guess(&f.path), mime)
        })
        .collect();
    Ok(DeliveryManifest { files, created: report.checked_at, creator: options.creator.clone() })
}

impl HashList {
    /// The files this generation vouches for, as a verification target. Values recorded as `failed` are
    /// left out: they describe a bad copy, not the file.
    pub fn expected_files(&self) -> Vec<ExpectedFile> {
        let mut seen = std::collections::HashSet::new();
        self.files()
            .filter(|f| seen.insert(&f.path))
            .map(|f| ExpectedFile {
                path: f.path.clone(),
                size: f.size,
                digests: f
                    .hashes
                    .iter()
                    .filter(|h| h.action != Some(HashAction::Failed))
                    .map(|h| (h.algorithm, h.algorithm.canonical_value(&h.value)))
                    .collect(),
            })
            .collect()
    }

    /// A first generation recording a manifest's files (`original` hashes dated at the manifest's creation).
    pub fn from_manifest(manifest: &DeliveryManifest, options: &MhlWriteOptions) -> Result<HashList, MhlExportError> {
        let files = manifest
            .expected_files()?
            .into_iter()
            .map(|e| {
                let hashes = mhl_values(&e.digests).map(|(a, v)| (a, v, HashAction::Original)).collect();
                (e.path, e.size, hashes)
            })
            .collect();
        build(files, manifest.created, options)
    }

    /// A generation recording a verification: matching files `verified`, differing ones `failed` (with the
    /// measured values), unannounced ones `original`; missing or unreadable files are not listed.
    pub fn from_verification(
        report: &VerificationReport,
        options: &MhlWriteOptions,
    ) -> Result<HashList, MhlExportError> {
        let mut files = Vec::new();
        for file in &report.files {
            let Some((size, digests)) = file.measured() else { continue };
            let action_for = |algorithm: HashAlgorithm| match &file.outcome {
                FileOutcome::Ok { .. } => HashAction::Verified,
                FileOutcome::Unexpected { .. } => HashAction::Original,
                FileOutcome::SizeMismatch { .. } => HashAction::Failed,
                FileOutcome::HashMismatch { mismatches, .. } => {
                    if mismatches.iter().any(|m| m.algorithm == algorithm) {
                        HashAction::Failed
                    } else {
                        HashAction::Verified
                    }
                }
                FileOutcome::Missing | FileOutcome::Unreadable { .. } => HashAction::Failed,
            };
            let hashes = mhl_values(digests).map(|(a, v)| (a, v, action_for(a))).collect();
            files.push((file.path.clone(), Some(size), hashes));
        }
        build(files, report.checked_at, options)
    }
}

fn mhl_values(digests: &Digests) -> impl Iterator<Item = (HashAlgorithm, String)> + '_ {
    digests.iter().filter(|(a, _)| a.in_mhl()).map(|(a, v)| (a, a.canonical_value(v)))
}

type PlannedFile = (RelativePath, Option<u64>, Vec<(HashAlgorithm, String, HashAction)>);

fn build(files: Vec<PlannedFile>, when: OffsetDateTime, options: &MhlWriteOptions) -> Result<HashList, MhlExportError> {
    if let Some((path, _, _)) = files.iter().find(|(_, _, hashes)| hashes.is_empty()) {
        return Err(MhlExportError::NoMhlDigest { path: path.as_str().to_owned() });
    }
    let date = options.creation_date.unwrap_or(when);
    let algorithm = match options.directory_hashes {
        DirectoryHashChoice::None => None,
        DirectoryHashChoice::Auto => [
            HashAlgorithm::Xxh64,
            HashAlgorithm::Xxh128,
            HashAlgorithm::Xxh3,
            HashAlgorithm::C4,
            HashAlgorithm::Md5,
            HashAlgorithm::Sha1,
        ]
        .into_iter()
        .find(|a| files.iter().all(|(_, _, hashes)| hashes.iter().any(|(h, _, _)| h == a))),
        DirectoryHashChoice::Algorithm(a) => {
            if !a.in_mhl() || !files.iter().all(|(_, _, hashes)| hashes.iter().any(|(h, _, _)| *h == a)) {
                return Err(MhlExportError::DirectoryAlgorithm(a));
            }
            Some(a)
        }
    };
    let dated = |algorithm: HashAlgorithm, value: &str, action: Option<HashAction>| MhlHash {
        algorithm,
        value: value.to_owned(),
        action,
        hash_date: Some(date),
        structure: None,
    };

    let mut entries: Vec<HashEntry> = files
        .iter()
        .map(|(path, size, hashes)| {
            HashEntry::File(FileHash {
                path: path.clone(),
                size: *size,
                creation_date: None,
                last_modification_date: None,
                hashes: hashes.iter().map(|(a, v, action)| dated(*a, v, Some(*action))).collect(),
                previous_path: None,
                metadata: None,
            })
        })
        .collect();

    let mut root_hash = None;
    if let Some(algorithm) = algorithm {
        let values: Vec<(&RelativePath, &str)> = files
            .iter()
            .filter_map(|(path, _, hashes)| {
                hashes.iter().find(|(a, _, _)| *a == algorithm).map(|(_, v, _)| (path, v.as_str()))
            })
            .collect();
        let folders = folder_hashes(algorithm, values, [])
            .map_err(|source| MhlExportError::Value { path: String::new(), source })?;
        for (folder, hashes) in folders {
            let digests = DirectoryDigests {
                content: vec![dated(algorithm, &hashes.content, None)],
                structure: vec![dated(algorithm, &hashes.structure, None)],
            };
            if folder.is_empty() {
                root_hash = Some(digests);
                continue;
            }
            // Folder keys are parents of checked paths, so they parse.
            let Ok(path) = RelativePath::parse(&folder) else { continue };
            entries.push(HashEntry::Directory(DirectoryHash {
                path,
                creation_date: None,
                last_modification_date: None,
                digests,
                previous_path: None,
                metadata: None,
            }));
        }
    }
    entries.sort_by(|a, b| post_order(entry_path(a), entry_path(b)));

    Ok(HashList {
        creator: CreatorInfo {
            creation_date: date,
            hostname: options.hostname.clone(),
            tool: options.tool.clone(),
            authors: options.authors.clone(),
            location: options.location.clone(),
            comment: options.comment.clone(),
        },
        process: ProcessInfo { process: options.process, root_hash, ignore: options.ignore.patterns().to_vec() },
        hashes: entries,
        metadata: None,
        references: Vec::new(),
    })
}

fn entry_path(entry: &HashEntry) -> &RelativePath {
    match entry {
        HashEntry::File(f) => &f.path,
        HashEntry::Directory(d) => &d.path,
    }
}

/// The order ASC MHL tools list a tree in: siblings by name, a folder right after everything inside it.
fn post_order(a: &RelativePath, b: &RelativePath) -> Ordering {
    let mut left = a.segments();
    let mut right = b.segments();
    loop {
        match (left.next(), right.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (Some(x), Some(y)) => return x.as_bytes().cmp(y.as_bytes()),
            // `a` is an ancestor of `b`: the folder comes after its contents.
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (None, None) => return Ordering::Equal,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_order_puts_folders_after_contents() {
        let mut paths: Vec<RelativePath> = ["Sidecar.txt", "Clips", "Clips/b.mov", "Clips/a.mov", "A/x/y", "A/x", "A"]
            .iter()
            .map(|p| RelativePath::parse(p).unwrap())
            .collect();
        paths.sort_by(post_order);
        let names: Vec<&str> = paths.iter().map(RelativePath::as_str).collect();
        assert_eq!(names, ["A/x/y", "A/x", "A", "Clips/a.mov", "Clips/b.mov", "Clips", "Sidecar.txt"]);
    }

    #[test]
    fn generation_names_follow_the_mhl_convention() {
        let created = time::macros::datetime!(2020-01-16 10:15:00 +01:00);
        assert_eq!(generation_file_name(1, "A002R2EC", created), "0001_A002R2EC_2020-01-16_091500Z.mhl");
    }
}
