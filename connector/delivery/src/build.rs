//! Building a manifest from a delivery folder on the sender's side.

use std::io;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::digest::{HashAlgorithm, hash_file};
use crate::ignore::IgnorePatterns;
use crate::manifest::{DeliveryManifest, FileRole, MANIFEST_ALGORITHMS, ManifestEntry, guess_mime_type};
use crate::walk::{EntryKind, WalkError, list_files};

/// How to build a manifest.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// Hashes computed besides SHA-256 (which is always computed): any of md5, xxh64, xxh3, xxh128.
    pub extra_algorithms: Vec<HashAlgorithm>,
    pub ignore: IgnorePatterns,
    pub creator: String,
    /// Defaults to now.
    pub created: Option<OffsetDateTime>,
}

impl Default for ManifestOptions {
    fn default() -> Self {
        ManifestOptions {
            extra_algorithms: vec![HashAlgorithm::Md5, HashAlgorithm::Xxh64],
            ignore: IgnorePatterns::default(),
            creator: concat!("passerelle-delivery ", env!("CARGO_PKG_VERSION")).to_owned(),
            created: None,
        }
    }
}

/// Why a manifest could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("`{path}` is a symbolic link or special file; a delivery carries regular files only")]
    NotARegularFile { path: PathBuf },
    #[error("cannot read `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("a manifest has no field for {0}; choose among md5, xxh64, xxh3, xxh128")]
    Algorithm(HashAlgorithm),
}

/// Lists and hashes every file under `root` (each file read once, through all algorithms).
pub fn manifest_for_dir(root: &Path, options: &ManifestOptions) -> Result<DeliveryManifest, BuildError> {
    if let Some(&bad) = options.extra_algorithms.iter().find(|a| !MANIFEST_ALGORITHMS.contains(a)) {
        return Err(BuildError::Algorithm(bad));
    }
    let mut algorithms = vec![HashAlgorithm::Sha256];
    algorithms.extend(options.extra_algorithms.iter().copied().filter(|a| *a != HashAlgorithm::Sha256));

    let found = list_files(root, &options.ignore)?;
    let mut files = Vec::with_capacity(found.len());
    for (path, entry) in found {
        if entry.kind != EntryKind::File {
            return Err(BuildError::NotARegularFile { path: entry.location });
        }
        let (size, digests) = hash_file(&entry.location, algorithms.iter().copied())
            .map_err(|source| BuildError::Read { path: entry.location.clone(), source })?;
        let mime_type = guess_mime_type(&path).map(str::to_owned);
        // SHA-256 was requested above, so the entry always has it.
        if let Some(e) = ManifestEntry::from_digests(&path, size, &digests, FileRole::guess(&path), mime_type) {
            files.push(e);
        }
    }
    Ok(DeliveryManifest {
        files,
        created: options.created.unwrap_or_else(OffsetDateTime::now_utc),
        creator: options.creator.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_sorted_entries_with_requested_hashes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("subs")).unwrap();
        std::fs::write(dir.path().join("subs/fr.srt"), b"abc").unwrap();
        std::fs::write(dir.path().join("a.txt"), b"").unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"junk").unwrap();
        let options = ManifestOptions {
            extra_algorithms: vec![HashAlgorithm::Md5, HashAlgorithm::Xxh128],
            ..ManifestOptions::default()
        };
        let m = manifest_for_dir(dir.path(), &options).unwrap();
        assert_eq!(m.files.len(), 2);
        assert_eq!(m.files[0].path, "a.txt");
        assert_eq!(m.files[0].sha256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        let srt = &m.files[1];
        assert_eq!((srt.path.as_str(), srt.size, srt.role), ("subs/fr.srt", 3, FileRole::Subtitle));
        assert_eq!(srt.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(srt.xxh128.as_deref(), Some("06b05ab6733a618578af5f94892f3950"));
        assert_eq!(srt.xxh64, None);
        assert_eq!(srt.mime_type.as_deref(), Some("application/x-subrip"));
        m.validate().unwrap();
    }

    #[test]
    fn refuses_algorithms_without_a_manifest_field() {
        let dir = tempfile::tempdir().unwrap();
        let options = ManifestOptions { extra_algorithms: vec![HashAlgorithm::C4], ..ManifestOptions::default() };
        assert!(matches!(manifest_for_dir(dir.path(), &options), Err(BuildError::Algorithm(HashAlgorithm::C4))));
    }

    #[cfg(unix)]
    #[test]
    fn refuses_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link")).unwrap();
        let err = manifest_for_dir(dir.path(), &ManifestOptions::default()).unwrap_err();
        assert!(matches!(err, BuildError::NotARegularFile { .. }), "{err:?}");
    }
}
