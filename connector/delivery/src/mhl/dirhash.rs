//! Folder hashes as ASC MHL defines them.
//!
//! A folder's *content* hash is the hash of its children's digests (files: their hash; folders: their content
//! hash) sorted and concatenated as bytes; it changes when any byte below changes. Its *structure* hash is the
//! hash of the sorted per-child hashes of `name ‖ digest` (folders contribute their structure hash), so renames
//! and moves change it while content alone does not. Both are computed from file digests only, so a history can
//! be checked for internal consistency without the media.

use std::collections::{BTreeMap, BTreeSet};

use super::{DirectoryDigests, HashList, MhlHash};
use crate::digest::{DigestValueError, HashAlgorithm, hash_bytes};
use crate::path::RelativePath;

/// Hashes of one folder, as written values of one algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FolderHashes {
    pub content: String,
    pub structure: String,
}

#[derive(Default)]
struct Folder {
    /// name → digest bytes
    files: Vec<(String, Vec<u8>)>,
    subfolders: BTreeSet<String>,
}

/// Hashes of every folder holding the given files (and of the listed, possibly empty, extra folders).
/// Keys are folder paths, `""` for the root.
pub(crate) fn folder_hashes<'a>(
    algorithm: HashAlgorithm,
    files: impl IntoIterator<Item = (&'a RelativePath, &'a str)>,
    extra_folders: impl IntoIterator<Item = &'a RelativePath>,
) -> Result<BTreeMap<String, FolderHashes>, DigestValueError> {
    let mut folders: BTreeMap<String, Folder> = BTreeMap::new();
    folders.entry(String::new()).or_default();
    let register = |folders: &mut BTreeMap<String, Folder>, path: &RelativePath| {
        // Make every ancestor know its child folder.
        let mut current = path.clone();
        while let Some(parent) = current.parent() {
            folders.entry(parent.as_str().to_owned()).or_default().subfolders.insert(current.file_name().to_owned());
            current = parent;
        }
        folders.entry(String::new()).or_default().subfolders.insert(current.file_name().to_owned());
        folders.entry(path.as_str().to_owned()).or_default();
    };
    for folder in extra_folders {
        register(&mut folders, folder);
    }
    for (path, value) in files {
        let bytes = algorithm.value_bytes(value)?;
        let parent = path.parent();
        if let Some(parent) = &parent {
            register(&mut folders, parent);
        }
        let key = parent.map(|p| p.as_str().to_owned()).unwrap_or_default();
        folders.entry(key).or_default().files.push((path.file_name().to_owned(), bytes));
    }

    // Deepest folders first, so every subfolder is done before its parent.
    let mut order: Vec<&String> = folders.keys().collect();
    order.sort_by_key(|k| std::cmp::Reverse(if k.is_empty() { 0 } else { k.split('/').count() }));
    let mut done: BTreeMap<String, (Vec<u8>, Vec<u8>)> = BTreeMap::new();
    for key in order {
        let Some(folder) = folders.get(key) else { continue };
        let mut content: Vec<Vec<u8>> = Vec::new();
        let mut structure: Vec<Vec<u8>> = Vec::new();
        for (name, digest) in &folder.files {
            content.push(digest.clone());
            structure.push(digest_of(algorithm, &[name.as_bytes(), digest])?);
        }
        for name in &folder.subfolders {
            let child = if key.is_empty() { name.clone() } else { format!("{key}/{name}") };
            let Some((child_content, child_structure)) = done.get(&child) else { continue };
            content.push(child_content.clone());
            structure.push(digest_of(algorithm, &[name.as_bytes(), child_structure])?);
        }
        let content = digest_of_sorted(algorithm, content)?;
        let structure = digest_of_sorted(algorithm, structure)?;
        done.insert(key.clone(), (content, structure));
    }
    done.into_iter()
        .map(|(k, (c, s))| {
            Ok((k, FolderHashes { content: written(algorithm, &c)?, structure: written(algorithm, &s)? }))
        })
        .collect()
}

fn digest_of(algorithm: HashAlgorithm, parts: &[&[u8]]) -> Result<Vec<u8>, DigestValueError> {
    let data = parts.concat();
    let digests = hash_bytes([algorithm], &data);
    algorithm.value_bytes(digests.get(algorithm).unwrap_or_default())
}

fn digest_of_sorted(algorithm: HashAlgorithm, mut parts: Vec<Vec<u8>>) -> Result<Vec<u8>, DigestValueError> {
    parts.sort();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    digest_of(algorithm, &refs)
}

fn written(algorithm: HashAlgorithm, bytes: &[u8]) -> Result<String, DigestValueError> {
    match algorithm {
        HashAlgorithm::C4 => {
            let array: [u8; 64] = bytes.try_into().map_err(|_| DigestValueError::Length {
                algorithm,
                expected: 64,
                actual: bytes.len(),
            })?;
            Ok(crate::c4::encode_sha512(&array))
        }
        _ => Ok(hex::encode(bytes)),
    }
}

/// Which of a folder's two hashes disagrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryPart {
    Content,
    Structure,
}

/// A declared folder hash that does not follow from the file hashes of the same generation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryHashProblem {
    #[error("folder `{folder}`: declared {algorithm} {part:?} hash {declared}, the files give {computed}")]
    Mismatch { folder: String, algorithm: HashAlgorithm, part: DirectoryPart, declared: String, computed: String },
    #[error("folder `{folder}`: cannot check the {algorithm} hashes, file `{file}` has no {algorithm} value")]
    Incomplete { folder: String, algorithm: HashAlgorithm, file: String },
    #[error("folder `{folder}`: {source}")]
    Value { folder: String, source: DigestValueError },
}

impl HashList {
    /// Recomputes every declared folder hash (and the root hash) from the file entries of this generation and
    /// reports those that disagree. Folders count only the files and folders the generation lists.
    pub fn check_directory_hashes(&self) -> Vec<DirectoryHashProblem> {
        let mut declared: Vec<(String, &DirectoryDigests)> =
            self.directories().map(|d| (d.path.as_str().to_owned(), &d.digests)).collect();
        if let Some(root) = &self.process.root_hash {
            declared.push((String::new(), root));
        }
        let algorithms: BTreeSet<HashAlgorithm> =
            declared.iter().flat_map(|(_, d)| d.content.iter().chain(&d.structure)).map(|h| h.algorithm).collect();
        let folder_paths: Vec<&RelativePath> = self.directories().map(|d| &d.path).collect();

        let mut problems = Vec::new();
        for algorithm in algorithms {
            let mut files = Vec::new();
            let mut lacking = None;
            for file in self.files() {
                // Folder hashes describe the files as measured in this run, `failed` values included.
                match file.hashes.iter().find(|h| h.algorithm == algorithm) {
                    Some(h) => files.push((&file.path, h.value.as_str())),
                    None => lacking = lacking.or(Some(file.path.as_str().to_owned())),
                }
            }
            let computed = match folder_hashes(algorithm, files, folder_paths.iter().copied()) {
                Ok(c) => c,
                Err(source) => {
                    problems.push(DirectoryHashProblem::Value { folder: String::new(), source });
                    continue;
                }
            };
            for (folder, digests) in &declared {
                let relevant = |h: &&MhlHash| h.algorithm == algorithm;
                if !digests.content.iter().chain(&digests.structure).any(|h| h.algorithm == algorithm) {
                    continue;
                }
                if let Some(file) = &lacking {
                    problems.push(DirectoryHashProblem::Incomplete {
                        folder: folder.clone(),
                        algorithm,
                        file: file.clone(),
                    });
                    continue;
                }
                let Some(mine) = computed.get(folder) else { continue };
                for (part, list, value) in [
                    (DirectoryPart::Content, &digests.content, &mine.content),
                    (DirectoryPart::Structure, &digests.structure, &mine.structure),
                ] {
                    for h in list.iter().filter(relevant) {
                        if !algorithm.same_value(&h.value, value) {
                            problems.push(DirectoryHashProblem::Mismatch {
                                folder: folder.clone(),
                                algorithm,
                                part,
                                declared: h.value.clone(),
                                computed: value.clone(),
                            });
                        }
                    }
                }
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> RelativePath {
        RelativePath::parse(s).unwrap()
    }

    #[test]
    fn content_ignores_names_structure_does_not() {
        let a = hash_bytes([HashAlgorithm::Xxh64], b"a");
        let av = a.get(HashAlgorithm::Xxh64).unwrap();
        let (x, y, z) = (p("d/x"), p("d/y"), p("d/z"));
        let one = folder_hashes(HashAlgorithm::Xxh64, [(&x, av)], []).unwrap();
        let renamed = folder_hashes(HashAlgorithm::Xxh64, [(&y, av)], []).unwrap();
        assert_eq!(one["d"].content, renamed["d"].content);
        assert_ne!(one["d"].structure, renamed["d"].structure);
        // Order of input does not matter (children are sorted).
        let ab = folder_hashes(HashAlgorithm::Xxh64, [(&x, av), (&z, "0000000000000001")], []).unwrap();
        let ba = folder_hashes(HashAlgorithm::Xxh64, [(&z, "0000000000000001"), (&x, av)], []).unwrap();
        assert_eq!(ab, ba);
        assert!(ab.contains_key(""));
    }

    #[test]
    fn empty_folders_hash_the_empty_list_and_c4_works() {
        let empty = p("empty");
        let hashes = folder_hashes(HashAlgorithm::C4, [], [&empty]).unwrap();
        assert_eq!(hashes["empty"].content, crate::c4::c4_id(b""));
        assert_eq!(hashes["empty"].structure, crate::c4::c4_id(b""));
    }

    #[test]
    fn bad_values_are_reported() {
        let x = p("x");
        assert!(folder_hashes(HashAlgorithm::Md5, [(&x, "nothex")], []).is_err());
    }
}
