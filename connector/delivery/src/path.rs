//! Relative file paths inside a delivery.
//!
//! A delivery path is what both sides agree on, so it has exactly one spelling: segments separated by `/`,
//! no `.` or empty segments, never absolute, never climbing out with `..`. Refusing other spellings (instead of
//! quietly normalising them) keeps `a/b` and `./a//b` from naming one file twice in a manifest and stops a
//! crafted manifest from reaching outside the folder being verified.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a string is not a usable delivery path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("the path is empty")]
    Empty,
    #[error("path `{0}` is absolute; write it relative to the delivery folder (no leading `/` or drive letter)")]
    Absolute(String),
    #[error("path `{0}` climbs out of the delivery folder with `..`; paths must stay inside it")]
    Traversal(String),
    #[error("path `{0}` uses `\\` as a separator; use `/`")]
    Backslash(String),
    #[error("path `{path}` contains a control character (code {code:#04x})")]
    ControlCharacter { path: String, code: u32 },
    #[error("path `{path}` is not in normal form; write `{normal}`")]
    NotNormalised { path: String, normal: String },
}

/// A normalised, relative, `/`-separated path of a file inside a delivery.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RelativePath(String);

impl RelativePath {
    /// Accepts `text` only if it already is in normal form (see the module doc).
    pub fn parse(text: &str) -> Result<RelativePath, PathError> {
        if text.is_empty() {
            return Err(PathError::Empty);
        }
        if let Some(c) = text.chars().find(|c| c.is_control()) {
            return Err(PathError::ControlCharacter { path: text.to_owned(), code: u32::from(c) });
        }
        if text.contains('\\') {
            return Err(PathError::Backslash(text.to_owned()));
        }
        if text.starts_with('/') || has_drive_prefix(text) {
            return Err(PathError::Absolute(text.to_owned()));
        }
        if text.split('/').any(|segment| segment == "..") {
            return Err(PathError::Traversal(text.to_owned()));
        }
        let normal = text.split('/').filter(|s| !s.is_empty() && *s != ".").collect::<Vec<_>>().join("/");
        if normal.is_empty() {
            return Err(PathError::Empty);
        }
        if normal != text {
            return Err(PathError::NotNormalised { path: text.to_owned(), normal });
        }
        Ok(RelativePath(normal))
    }

    /// Joins already-checked directory entry names; each must be a single segment.
    pub(crate) fn from_segments<'a>(segments: impl IntoIterator<Item = &'a str>) -> Result<RelativePath, PathError> {
        let joined = segments.into_iter().collect::<Vec<_>>().join("/");
        RelativePath::parse(&joined)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// The last segment (the file or folder name).
    pub fn file_name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The containing folder, `None` for an entry at the top of the delivery.
    pub fn parent(&self) -> Option<RelativePath> {
        self.0.rsplit_once('/').map(|(parent, _)| RelativePath(parent.to_owned()))
    }

    /// The file-system location of this path under `root`, built segment by segment so that no separator
    /// convention of the host can reinterpret it.
    pub fn under(&self, root: &Path) -> PathBuf {
        self.segments().fold(root.to_path_buf(), |acc, segment| acc.join(segment))
    }
}

/// `C:`, `c:foo` — Windows drive-relative or absolute forms are never delivery-relative.
fn has_drive_prefix(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':'
}

impl fmt::Display for RelativePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RelativePath {
    type Error = PathError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        RelativePath::parse(&value)
    }
}

impl From<RelativePath> for String {
    fn from(value: RelativePath) -> String {
        value.0
    }
}

impl AsRef<str> for RelativePath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_normal_relative_paths() {
        let p = RelativePath::parse("Clips/A002C006_141024_R2EC.mov").unwrap();
        assert_eq!(p.file_name(), "A002C006_141024_R2EC.mov");
        assert_eq!(p.parent().unwrap().as_str(), "Clips");
        assert_eq!(p.segments().count(), 2);
        assert!(RelativePath::parse("Sidecar.txt").unwrap().parent().is_none());
        // `..` is only refused as a whole segment.
        assert!(RelativePath::parse("a..b/..c").is_ok());
    }

    #[test]
    fn refuses_traversal_and_absolute_paths() {
        assert_eq!(RelativePath::parse("../etc/passwd"), Err(PathError::Traversal("../etc/passwd".into())));
        assert!(matches!(RelativePath::parse("subs/../../x"), Err(PathError::Traversal(_))));
        assert!(matches!(RelativePath::parse(".."), Err(PathError::Traversal(_))));
        assert!(matches!(RelativePath::parse("/etc/passwd"), Err(PathError::Absolute(_))));
        assert!(matches!(RelativePath::parse("C:/x"), Err(PathError::Absolute(_))));
        assert!(matches!(RelativePath::parse("a\\b"), Err(PathError::Backslash(_))));
        assert!(matches!(RelativePath::parse("a\nb"), Err(PathError::ControlCharacter { code: 10, .. })));
        assert_eq!(RelativePath::parse(""), Err(PathError::Empty));
        assert_eq!(RelativePath::parse("./"), Err(PathError::Empty));
    }

    #[test]
    fn refuses_other_spellings_and_names_the_normal_form() {
        assert_eq!(
            RelativePath::parse("./subs//fr.srt/"),
            Err(PathError::NotNormalised { path: "./subs//fr.srt/".into(), normal: "subs/fr.srt".into() })
        );
    }

    #[test]
    fn serde_refuses_bad_paths() {
        let ok: RelativePath = serde_json::from_str("\"a/b.srt\"").unwrap();
        assert_eq!(ok.as_str(), "a/b.srt");
        let err = serde_json::from_str::<RelativePath>("\"../b.srt\"").unwrap_err();
        assert!(err.to_string().contains("climbs out"), "{err}");
    }

    #[test]
    fn under_joins_segments() {
        let p = RelativePath::parse("a/b/c.txt").unwrap();
        assert_eq!(p.under(Path::new("/root")), Path::new("/root/a/b/c.txt"));
    }
}
