//! Names left out of a delivery: operating-system litter and the MHL history folder itself.
//!
//! Patterns follow the simple form ASC MHL records in `processinfo/ignore`: a name or `*`/`?` wildcard pattern
//! matches a file or folder of that name at any depth; a trailing `/` restricts it to folders; a pattern with an
//! inner `/` matches the whole relative path.

use serde::{Deserialize, Serialize};

/// The patterns ASC MHL tools write by default, plus Windows' thumbnail cache.
pub const DEFAULT_IGNORE: [&str; 4] = [".DS_Store", "ascmhl", "ascmhl/", "Thumbs.db"];

/// A list of ignore patterns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct IgnorePatterns(Vec<String>);

impl Default for IgnorePatterns {
    fn default() -> Self {
        IgnorePatterns(DEFAULT_IGNORE.iter().map(|s| (*s).to_owned()).collect())
    }
}

impl IgnorePatterns {
    pub fn none() -> IgnorePatterns {
        IgnorePatterns(Vec::new())
    }

    pub fn new(patterns: impl IntoIterator<Item = impl Into<String>>) -> IgnorePatterns {
        IgnorePatterns(patterns.into_iter().map(Into::into).collect())
    }

    pub fn patterns(&self) -> &[String] {
        &self.0
    }

    /// Whether the entry at `relative` (a `/`-separated path) with last segment `name` is left out.
    pub fn matches(&self, relative: &str, name: &str, is_dir: bool) -> bool {
        self.0.iter().any(|pattern| {
            let (pattern, dir_only) = match pattern.strip_suffix('/') {
                Some(p) => (p, true),
                None => (pattern.as_str(), false),
            };
            if pattern.is_empty() || (dir_only && !is_dir) {
                return false;
            }
            if pattern.contains('/') {
                glob(pattern.trim_start_matches('/').as_bytes(), relative.as_bytes())
            } else {
                glob(pattern.as_bytes(), name.as_bytes())
            }
        })
    }
}

/// `*` matches any run of bytes (not `/` when matching a whole path), `?` one byte; iterative with one
/// backtrack point, so hostile patterns cannot blow up.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' && text[t] != b'/' || pattern[p] == text[t] && pattern[p] != b'*') {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            if text[st] == b'/' {
                return false;
            }
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_patterns_skip_litter_and_history() {
        let ignore = IgnorePatterns::default();
        assert!(ignore.matches(".DS_Store", ".DS_Store", false));
        assert!(ignore.matches("Clips/.DS_Store", ".DS_Store", false));
        assert!(ignore.matches("ascmhl", "ascmhl", true));
        assert!(!ignore.matches("Clips/A.mov", "A.mov", false));
    }

    #[test]
    fn wildcards_and_folder_only_patterns() {
        let ignore = IgnorePatterns::new(["*.tmp", "cache/", "proxies/*.mp4", "v?.txt"]);
        assert!(ignore.matches("a/b/x.tmp", "x.tmp", false));
        assert!(!ignore.matches("a/b/x.tmpl", "x.tmpl", false));
        assert!(ignore.matches("cache", "cache", true));
        assert!(!ignore.matches("cache", "cache", false));
        assert!(ignore.matches("proxies/a.mp4", "a.mp4", false));
        assert!(!ignore.matches("proxies/deep/a.mp4", "a.mp4", false));
        assert!(ignore.matches("v1.txt", "v1.txt", false));
        assert!(!ignore.matches("v10.txt", "v10.txt", false));
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob(b"*", b""));
        assert!(glob(b"a*b*c", b"aXXbYYc"));
        assert!(!glob(b"a*b*c", b"aXXbYY"));
        assert!(!glob(b"", b"a"));
        assert!(glob(b"**", b"abc"));
    }
}
