//! Reading generation files into the model, checking them against the ASC MHL v2.0 schema's structure.
//!
//! Unknown elements are refused rather than skipped: a silently dropped element would be lost when the
//! history is written back. Children may come in any order; counts and values are checked.

use time::OffsetDateTime;

use super::xml::{Element, XmlError, line_column, parse_document, strip_bom};
use super::{
    Author, CreatorInfo, DirectoryDigests, DirectoryHash, FileHash, HashAction, HashEntry, HashList, HashListReference,
    MHL_NAMESPACE, MhlHash, ProcessInfo, ProcessKind, Tool, date,
};
use crate::digest::{DigestValueError, HashAlgorithm};
use crate::path::{PathError, RelativePath};

/// Why an MHL file could not be read. `at` names the element (`hashlist/hashes/hash[2]/path`, line N).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MhlError {
    #[error("not well-formed XML: {0}")]
    Xml(#[from] XmlError),
    #[error(
        "the root element is `{found}` in namespace {namespace:?}; expected `{expected}` in `{expected_namespace}`"
    )]
    Root { found: String, namespace: Option<String>, expected: &'static str, expected_namespace: &'static str },
    #[error("{at}: `{element}` is not allowed here")]
    Unexpected { at: String, element: String },
    #[error("{at}: `{element}` is missing")]
    Missing { at: String, element: &'static str },
    #[error("{at}: `{element}` may appear only once")]
    Repeated { at: String, element: String },
    #[error("{at}: `{value}` is not valid: {reason}")]
    Value { at: String, value: String, reason: String },
    #[error("{at}: {source}")]
    Path { at: String, source: PathError },
    #[error("{at}: {source}")]
    Digest { at: String, source: DigestValueError },
}

/// Where in the document a value sits, for error messages: element path and start offset. Lines are only
/// counted when an error is actually reported.
#[derive(Clone)]
pub(crate) struct Ctx<'a> {
    text: &'a [u8],
    path: String,
    name: String,
    offset: usize,
}

impl<'a> Ctx<'a> {
    pub(crate) fn root(text: &'a [u8], element: &Element) -> Ctx<'a> {
        Ctx { text, path: element.name.clone(), name: element.name.clone(), offset: element.offset }
    }

    pub(crate) fn child(&self, name: &str, index: Option<usize>, element: &Element) -> Ctx<'a> {
        let path = match index {
            Some(i) => format!("{}/{name}[{}]", self.path, i + 1),
            None => format!("{}/{name}", self.path),
        };
        Ctx { text: self.text, path, name: name.to_owned(), offset: element.offset }
    }

    fn at(&self) -> String {
        let (line, _) = line_column(self.text, self.offset);
        format!("{} (line {line})", self.path)
    }

    pub(crate) fn unexpected(&self, element: &Element) -> MhlError {
        MhlError::Unexpected { at: self.at(), element: element.name.clone() }
    }

    pub(crate) fn missing(&self, element: &'static str) -> MhlError {
        MhlError::Missing { at: self.at(), element }
    }

    pub(crate) fn value(&self, value: &str, reason: impl Into<String>) -> MhlError {
        MhlError::Value { at: self.at(), value: value.to_owned(), reason: reason.into() }
    }
}

/// Parses a generation file.
pub(crate) fn parse_hash_list(bytes: &[u8]) -> Result<HashList, MhlError> {
    let bytes = strip_bom(bytes);
    let root = parse_document(bytes)?;
    if root.name != "hashlist" || root.namespace.as_deref() != Some(MHL_NAMESPACE) {
        return Err(MhlError::Root {
            found: root.name,
            namespace: root.namespace,
            expected: "hashlist",
            expected_namespace: MHL_NAMESPACE,
        });
    }
    let ctx = Ctx::root(bytes, &root);
    match root.attribute("version") {
        Some("2.0") => {}
        Some(other) => return Err(ctx.value(other, "only ASC MHL version 2.0 is read")),
        None => return Err(ctx.missing("version attribute")),
    }
    check_namespaces(&ctx, &root, MHL_NAMESPACE)?;

    let mut creator = None;
    let mut process = None;
    let mut hashes = None;
    let mut metadata = None;
    let mut references = None;
    for child in &root.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "creatorinfo" => set_once(&c, &mut creator, parse_creator(&c, child)?)?,
            "processinfo" => set_once(&c, &mut process, parse_process(&c, child)?)?,
            "hashes" => set_once(&c, &mut hashes, parse_hashes(&c, child)?)?,
            "metadata" => set_once(&c, &mut metadata, raw_inner(bytes, child))?,
            "references" => set_once(&c, &mut references, parse_references(&c, child)?)?,
            _ => return Err(ctx.unexpected(child)),
        }
    }
    Ok(HashList {
        creator: creator.ok_or_else(|| ctx.missing("creatorinfo"))?,
        process: process.ok_or_else(|| ctx.missing("processinfo"))?,
        hashes: hashes.unwrap_or_default(),
        metadata,
        references: references.unwrap_or_default(),
    })
}

/// Every element outside `metadata` must be in the MHL namespace.
pub(crate) fn check_namespaces(ctx: &Ctx<'_>, element: &Element, namespace: &str) -> Result<(), MhlError> {
    let mut pending: Vec<&Element> = element.children.iter().collect();
    while let Some(e) = pending.pop() {
        if e.name == "metadata" {
            continue;
        }
        if e.namespace.as_deref() != Some(namespace) {
            return Err(MhlError::Value {
                at: ctx.child(&e.name, None, e).at(),
                value: e.namespace.clone().unwrap_or_default(),
                reason: format!("`{}` must be in namespace `{namespace}`", e.name),
            });
        }
        pending.extend(e.children.iter());
    }
    Ok(())
}

pub(crate) fn set_once<T>(ctx: &Ctx<'_>, slot: &mut Option<T>, value: T) -> Result<(), MhlError> {
    if slot.is_some() {
        return Err(MhlError::Repeated { at: ctx.at(), element: ctx.name.clone() });
    }
    *slot = Some(value);
    Ok(())
}

fn raw_inner(bytes: &[u8], element: &Element) -> String {
    String::from_utf8_lossy(bytes.get(element.inner.clone()).unwrap_or_default()).into_owned()
}

/// Character content of a leaf element; child elements are refused.
pub(crate) fn leaf_text(ctx: &Ctx<'_>, element: &Element) -> Result<String, MhlError> {
    if let Some(child) = element.children.first() {
        return Err(ctx.child(&element.name, None, element).unexpected(child));
    }
    Ok(element.text.trim().to_owned())
}

fn no_attributes(ctx: &Ctx<'_>, element: &Element, allowed: &[&str]) -> Result<(), MhlError> {
    match element.attributes.iter().find(|(n, _)| !allowed.contains(&n.as_str())) {
        Some((name, _)) => Err(MhlError::Unexpected { at: ctx.at(), element: format!("attribute {name}") }),
        None => Ok(()),
    }
}

fn date_attr(ctx: &Ctx<'_>, element: &Element, name: &str) -> Result<Option<OffsetDateTime>, MhlError> {
    element
        .attribute(name)
        .map(|v| date::parse(v).ok_or_else(|| ctx.value(v, format!("{name} must be an RFC 3339 date with offset"))))
        .transpose()
}

pub(crate) fn relative_path(ctx: &Ctx<'_>, text: &str) -> Result<RelativePath, MhlError> {
    RelativePath::parse(text).map_err(|source| MhlError::Path { at: ctx.at(), source })
}

fn parse_creator(ctx: &Ctx<'_>, element: &Element) -> Result<CreatorInfo, MhlError> {
    let mut creation_date = None;
    let mut hostname = None;
    let mut tool = None;
    let mut authors = Vec::new();
    let mut location = None;
    let mut comment = None;
    for child in &element.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "creationdate" => {
                let text = leaf_text(ctx, child)?;
                let value =
                    date::parse(&text).ok_or_else(|| c.value(&text, "expected an RFC 3339 date with offset"))?;
                set_once(&c, &mut creation_date, value)?;
            }
            "hostname" => set_once(&c, &mut hostname, leaf_text(ctx, child)?)?,
            "tool" => {
                no_attributes(&c, child, &["version"])?;
                let name = leaf_text(ctx, child)?;
                set_once(&c, &mut tool, Tool { name, version: child.attribute("version").map(str::to_owned) })?;
            }
            "author" => {
                no_attributes(&c, child, &["email", "phone", "role"])?;
                authors.push(Author {
                    name: leaf_text(ctx, child)?,
                    email: child.attribute("email").map(str::to_owned),
                    phone: child.attribute("phone").map(str::to_owned),
                    role: child.attribute("role").map(str::to_owned),
                });
            }
            "location" => set_once(&c, &mut location, leaf_text(ctx, child)?)?,
            "comment" => set_once(&c, &mut comment, leaf_text(ctx, child)?)?,
            _ => return Err(ctx.unexpected(child)),
        }
    }
    Ok(CreatorInfo {
        creation_date: creation_date.ok_or_else(|| ctx.missing("creationdate"))?,
        hostname: hostname.ok_or_else(|| ctx.missing("hostname"))?,
        tool: tool.ok_or_else(|| ctx.missing("tool"))?,
        authors,
        location,
        comment,
    })
}

fn parse_process(ctx: &Ctx<'_>, element: &Element) -> Result<ProcessInfo, MhlError> {
    let mut process = None;
    let mut root_hash = None;
    let mut ignore = None;
    for child in &element.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "process" => {
                let text = leaf_text(ctx, child)?;
                let kind = ProcessKind::parse(&text)
                    .ok_or_else(|| c.value(&text, "expected in-place, transfer or flatten"))?;
                set_once(&c, &mut process, kind)?;
            }
            "roothash" => set_once(&c, &mut root_hash, parse_directory_digests(&c, child)?)?,
            "ignore" => {
                let mut patterns = Vec::new();
                for (i, p) in child.children.iter().enumerate() {
                    if p.name != "pattern" {
                        return Err(c.unexpected(p));
                    }
                    let text = leaf_text(&c.child("pattern", Some(i), p), p)?;
                    patterns.push(text);
                }
                set_once(&c, &mut ignore, patterns)?;
            }
            _ => return Err(ctx.unexpected(child)),
        }
    }
    Ok(ProcessInfo {
        process: process.ok_or_else(|| ctx.missing("process"))?,
        root_hash,
        ignore: ignore.unwrap_or_default(),
    })
}

/// `content` + `structure` containers (in `roothash` and `directoryhash`).
fn parse_directory_digests(ctx: &Ctx<'_>, element: &Element) -> Result<DirectoryDigests, MhlError> {
    let mut content = None;
    let mut structure = None;
    for child in &element.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "content" => set_once(&c, &mut content, parse_hash_container(&c, child)?)?,
            "structure" => set_once(&c, &mut structure, parse_hash_container(&c, child)?)?,
            "path" | "previousPath" | "metadata" if element.name == "directoryhash" => {}
            _ => return Err(ctx.unexpected(child)),
        }
    }
    Ok(DirectoryDigests {
        content: content.ok_or_else(|| ctx.missing("content"))?,
        structure: structure.ok_or_else(|| ctx.missing("structure"))?,
    })
}

fn parse_hash_container(ctx: &Ctx<'_>, element: &Element) -> Result<Vec<MhlHash>, MhlError> {
    let mut out = Vec::with_capacity(element.children.len());
    for (i, child) in element.children.iter().enumerate() {
        let c = ctx.child(&child.name, Some(i), child);
        match hash_algorithm(&child.name) {
            Some(algorithm) => out.push(parse_hash(&c, child, algorithm)?),
            None => return Err(ctx.unexpected(child)),
        }
    }
    if out.is_empty() {
        return Err(ctx.missing("hash value (md5, sha1, c4, xxh64, xxh3 or xxh128)"));
    }
    Ok(out)
}

/// MHL element name → algorithm; SHA-256 has no MHL element.
fn hash_algorithm(name: &str) -> Option<HashAlgorithm> {
    HashAlgorithm::from_name(name).filter(|a| a.in_mhl())
}

pub(crate) fn parse_hash(ctx: &Ctx<'_>, element: &Element, algorithm: HashAlgorithm) -> Result<MhlHash, MhlError> {
    no_attributes(ctx, element, &["action", "hashdate", "structure"])?;
    let value = leaf_text(ctx, element)?;
    algorithm.check_value(&value).map_err(|source| MhlError::Digest { at: ctx.at(), source })?;
    let action = element
        .attribute("action")
        .map(|a| HashAction::parse(a).ok_or_else(|| ctx.value(a, "action is original, verified or failed")))
        .transpose()?;
    Ok(MhlHash {
        algorithm,
        value,
        action,
        hash_date: date_attr(ctx, element, "hashdate")?,
        structure: element.attribute("structure").map(str::to_owned),
    })
}

fn parse_hashes(ctx: &Ctx<'_>, element: &Element) -> Result<Vec<HashEntry>, MhlError> {
    let mut entries = Vec::with_capacity(element.children.len());
    for (i, child) in element.children.iter().enumerate() {
        let c = ctx.child(&child.name, Some(i), child);
        match child.name.as_str() {
            "hash" => entries.push(HashEntry::File(parse_file_hash(&c, child)?)),
            "directoryhash" => entries.push(HashEntry::Directory(parse_directory_hash(&c, child)?)),
            _ => return Err(ctx.unexpected(child)),
        }
    }
    Ok(entries)
}

struct PathElement {
    path: RelativePath,
    size: Option<u64>,
    creation_date: Option<OffsetDateTime>,
    last_modification_date: Option<OffsetDateTime>,
}

fn parse_path(ctx: &Ctx<'_>, element: &Element, with_size: bool) -> Result<PathElement, MhlError> {
    let allowed: &[&str] = if with_size {
        &["size", "creationdate", "lastmodificationdate"]
    } else {
        &["creationdate", "lastmodificationdate"]
    };
    no_attributes(ctx, element, allowed)?;
    let text = leaf_text(ctx, element)?;
    let size = element
        .attribute("size")
        .map(|s| s.trim().parse::<u64>().map_err(|_| ctx.value(s, "size is a whole number of bytes")))
        .transpose()?;
    Ok(PathElement {
        path: relative_path(ctx, &text)?,
        size,
        creation_date: date_attr(ctx, element, "creationdate")?,
        last_modification_date: date_attr(ctx, element, "lastmodificationdate")?,
    })
}

fn parse_file_hash(ctx: &Ctx<'_>, element: &Element) -> Result<FileHash, MhlError> {
    no_attributes(ctx, element, &[])?;
    let mut path = None;
    let mut hashes = Vec::new();
    let mut previous_path = None;
    let mut metadata = None;
    for child in &element.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "path" => set_once(&c, &mut path, parse_path(&c, child, true)?)?,
            "previousPath" => set_once(&c, &mut previous_path, relative_path(&c, &leaf_text(ctx, child)?)?)?,
            "metadata" => set_once(&c, &mut metadata, raw_inner(ctx.text, child))?,
            name => match hash_algorithm(name) {
                Some(algorithm) => hashes.push(parse_hash(&c, child, algorithm)?),
                None => return Err(ctx.unexpected(child)),
            },
        }
    }
    let path = path.ok_or_else(|| ctx.missing("path"))?;
    if hashes.is_empty() {
        return Err(ctx.missing("hash value (md5, sha1, c4, xxh32, xxh64, xxh3 or xxh128)"));
    }
    Ok(FileHash {
        path: path.path,
        size: path.size,
        creation_date: path.creation_date,
        last_modification_date: path.last_modification_date,
        hashes,
        previous_path,
        metadata,
    })
}

fn parse_directory_hash(ctx: &Ctx<'_>, element: &Element) -> Result<DirectoryHash, MhlError> {
    no_attributes(ctx, element, &[])?;
    let mut path = None;
    let mut previous_path = None;
    let mut metadata = None;
    for child in &element.children {
        let c = ctx.child(&child.name, None, child);
        match child.name.as_str() {
            "path" => set_once(&c, &mut path, parse_path(&c, child, false)?)?,
            "previousPath" => set_once(&c, &mut previous_path, relative_path(&c, &leaf_text(ctx, child)?)?)?,
            "metadata" => set_once(&c, &mut metadata, raw_inner(ctx.text, child))?,
            _ => {}
        }
    }
    let digests = parse_directory_digests(ctx, element)?;
    let path = path.ok_or_else(|| ctx.missing("path"))?;
    Ok(DirectoryHash {
        path: path.path,
        creation_date: path.creation_date,
        last_modification_date: path.last_modification_date,
        digests,
        previous_path,
        metadata,
    })
}

fn parse_references(ctx: &Ctx<'_>, element: &Element) -> Result<Vec<HashListReference>, MhlError> {
    let mut out = Vec::new();
    for (i, child) in element.children.iter().enumerate() {
        let c = ctx.child(&child.name, Some(i), child);
        if child.name != "hashlistreference" {
            return Err(ctx.unexpected(child));
        }
        let mut path = None;
        let mut c4 = None;
        for part in &child.children {
            let p = c.child(&part.name, None, part);
            match part.name.as_str() {
                "path" => set_once(&p, &mut path, relative_path(&p, &leaf_text(&c, part)?)?)?,
                "c4" => set_once(&p, &mut c4, parse_hash(&p, part, HashAlgorithm::C4)?)?,
                _ => return Err(c.unexpected(part)),
            }
        }
        out.push(HashListReference {
            path: path.ok_or_else(|| c.missing("path"))?,
            c4: c4.ok_or_else(|| c.missing("c4"))?,
        });
    }
    Ok(out)
}
