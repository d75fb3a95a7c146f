//! Listing the files of a delivery folder.
//!
//! Symbolic links are reported, never followed: a link could make a delivery "contain" a file from anywhere on
//! the receiving machine.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use crate::ignore::IgnorePatterns;
use crate::path::{PathError, RelativePath};

/// What sits at a path in the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryKind {
    File,
    Symlink,
    /// Device, socket, FIFO…
    Special,
}

#[derive(Debug, Clone)]
pub(crate) struct FoundEntry {
    pub location: PathBuf,
    pub kind: EntryKind,
}

/// Why a folder could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("cannot read folder `{path}`: {source}")]
    Read { path: PathBuf, source: io::Error },
    #[error("`{path}` is not a folder")]
    NotAFolder { path: PathBuf },
    #[error("file name `{path}` is not valid UTF-8; delivery paths are Unicode text")]
    NonUtf8Name { path: PathBuf },
    #[error("file `{path}` cannot be named in a delivery: {source}")]
    BadName { path: PathBuf, source: PathError },
}

/// Every non-ignored, non-folder entry under `root`, keyed (and so sorted) by delivery path.
pub(crate) fn list_files(
    root: &Path,
    ignore: &IgnorePatterns,
) -> Result<BTreeMap<RelativePath, FoundEntry>, WalkError> {
    let meta = std::fs::metadata(root).map_err(|source| WalkError::Read { path: root.to_path_buf(), source })?;
    if !meta.is_dir() {
        return Err(WalkError::NotAFolder { path: root.to_path_buf() });
    }
    let mut found = BTreeMap::new();
    // Explicit stack: deep trees must not exhaust the thread's stack.
    let mut pending: Vec<(PathBuf, Vec<String>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, segments)) = pending.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| WalkError::Read { path: dir.clone(), source })?;
        for entry in entries {
            let entry = entry.map_err(|source| WalkError::Read { path: dir.clone(), source })?;
            let location = entry.path();
            let name =
                entry.file_name().into_string().map_err(|_| WalkError::NonUtf8Name { path: location.clone() })?;
            let file_type = entry.file_type().map_err(|source| WalkError::Read { path: location.clone(), source })?;
            let mut child = segments.clone();
            child.push(name.clone());
            let relative = child.join("/");
            if ignore.matches(&relative, &name, file_type.is_dir()) {
                continue;
            }
            if file_type.is_dir() {
                pending.push((location, child));
                continue;
            }
            let kind = if file_type.is_file() {
                EntryKind::File
            } else if file_type.is_symlink() {
                EntryKind::Symlink
            } else {
                EntryKind::Special
            };
            let path = RelativePath::from_segments(child.iter().map(String::as_str))
                .map_err(|source| WalkError::BadName { path: location.clone(), source })?;
            found.insert(path, FoundEntry { location, kind });
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_nested_files_sorted_and_skips_ignored() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("subs/fr")).unwrap();
        std::fs::create_dir_all(dir.path().join("ascmhl")).unwrap();
        std::fs::write(dir.path().join("subs/fr/a.srt"), b"1").unwrap();
        std::fs::write(dir.path().join("master.mxf"), b"2").unwrap();
        std::fs::write(dir.path().join(".DS_Store"), b"3").unwrap();
        std::fs::write(dir.path().join("ascmhl/0001.mhl"), b"4").unwrap();
        let found = list_files(dir.path(), &IgnorePatterns::default()).unwrap();
        let names: Vec<&str> = found.keys().map(RelativePath::as_str).collect();
        assert_eq!(names, vec!["master.mxf", "subs/fr/a.srt"]);
        assert!(found.values().all(|e| e.kind == EntryKind::File));
    }

    #[test]
    fn missing_root_and_file_root_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(list_files(&dir.path().join("nope"), &IgnorePatterns::none()), Err(WalkError::Read { .. })));
        std::fs::write(dir.path().join("f"), b"").unwrap();
        assert!(matches!(
            list_files(&dir.path().join("f"), &IgnorePatterns::none()),
            Err(WalkError::NotAFolder { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_listed_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::create_dir(outside.path().join("secret")).unwrap();
        std::fs::write(outside.path().join("secret/key"), b"k").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let found = list_files(dir.path(), &IgnorePatterns::none()).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found.values().next().unwrap().kind, EntryKind::Symlink);
    }
}
