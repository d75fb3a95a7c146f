//! ASC Media Hash List v2.0: the hash history camera departments, labs and post houses keep beside media.
//!
//! A history is a folder `ascmhl/` holding numbered generation files (`hashlist`, namespace
//! `urn:ASC:MHL:v2.0`), one per verification run, and a chain file (`ascmhl_chain.xml`) listing each generation
//! with the C4 id of its bytes so that a rewritten generation is detected. Here: the model, a reader and a writer
//! for both files, directory hashes, and conversions to and from [`DeliveryManifest`](crate::DeliveryManifest).

mod chain;
mod convert;
mod dirhash;
mod parse;
mod write;
mod xml;

use time::OffsetDateTime;

use crate::digest::HashAlgorithm;
use crate::path::RelativePath;

pub use chain::{CHAIN_FILE_NAME, ChainError, ChainGeneration, MhlChain};
pub use convert::{
    DirectoryHashChoice, MhlExportError, MhlImportError, MhlImportOptions, MhlWriteOptions, generation_file_name,
    manifest_from_mhl,
};
pub use dirhash::{DirectoryHashProblem, DirectoryPart};
pub use parse::MhlError;
pub use xml::XmlError;

/// Namespace of generation files.
pub const MHL_NAMESPACE: &str = "urn:ASC:MHL:v2.0";
/// Namespace of the chain file.
pub const MHL_DIRECTORY_NAMESPACE: &str = "urn:ASC:MHL:DIRECTORY:v2.0";
/// Name of the history folder inside a media folder.
pub const HISTORY_FOLDER: &str = "ascmhl";

/// One generation file (`hashlist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashList {
    pub creator: CreatorInfo,
    pub process: ProcessInfo,
    /// File and directory entries in document order.
    pub hashes: Vec<HashEntry>,
    /// Opaque vendor metadata, kept verbatim (inner XML).
    pub metadata: Option<String>,
    /// Generations of nested histories.
    pub references: Vec<HashListReference>,
}

/// Who wrote a generation, when, with what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatorInfo {
    pub creation_date: OffsetDateTime,
    pub hostname: String,
    pub tool: Tool,
    pub authors: Vec<Author>,
    pub location: Option<String>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub name: String,
    pub version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub role: Option<String>,
}

/// What the run did to the media.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessKind {
    /// Hashed or verified where the files are.
    InPlace,
    /// Copied, hashing on the way.
    Transfer,
    /// Histories of several folders merged into one list.
    Flatten,
}

impl ProcessKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessKind::InPlace => "in-place",
            ProcessKind::Transfer => "transfer",
            ProcessKind::Flatten => "flatten",
        }
    }

    pub fn parse(text: &str) -> Option<ProcessKind> {
        [ProcessKind::InPlace, ProcessKind::Transfer, ProcessKind::Flatten].into_iter().find(|k| k.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessInfo {
    pub process: ProcessKind,
    /// Hashes of the whole folder.
    pub root_hash: Option<DirectoryDigests>,
    /// Patterns left out of the run (see [`IgnorePatterns`](crate::IgnorePatterns)).
    pub ignore: Vec<String>,
}

/// The two hashes of a folder: of its content (child content hashes) and of its structure (child names too).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryDigests {
    pub content: Vec<MhlHash>,
    pub structure: Vec<MhlHash>,
}

/// An entry of `hashes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashEntry {
    File(FileHash),
    Directory(DirectoryHash),
}

/// `hash`: the digests of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileHash {
    pub path: RelativePath,
    pub size: Option<u64>,
    pub creation_date: Option<OffsetDateTime>,
    pub last_modification_date: Option<OffsetDateTime>,
    pub hashes: Vec<MhlHash>,
    /// Where the file was before a transfer renamed it.
    pub previous_path: Option<RelativePath>,
    pub metadata: Option<String>,
}

impl FileHash {
    /// The digest of `algorithm` the entry vouches for (a `failed` value records a bad copy, not the file).
    pub fn trusted(&self, algorithm: HashAlgorithm) -> Option<&MhlHash> {
        self.hashes.iter().find(|h| h.algorithm == algorithm && h.action != Some(HashAction::Failed))
    }
}

/// `directoryhash`: the hashes of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryHash {
    pub path: RelativePath,
    pub creation_date: Option<OffsetDateTime>,
    pub last_modification_date: Option<OffsetDateTime>,
    pub digests: DirectoryDigests,
    pub previous_path: Option<RelativePath>,
    pub metadata: Option<String>,
}

/// What a hash records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAction {
    /// First time this file was hashed.
    Original,
    /// Re-hashed and equal to an earlier record.
    Verified,
    /// Re-hashed and different: the file changed or the copy is bad.
    Failed,
}

impl HashAction {
    pub fn as_str(self) -> &'static str {
        match self {
            HashAction::Original => "original",
            HashAction::Verified => "verified",
            HashAction::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<HashAction> {
        [HashAction::Original, HashAction::Verified, HashAction::Failed].into_iter().find(|a| a.as_str() == text)
    }
}

/// One digest element (`md5`, `xxh64`, `c4`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MhlHash {
    pub algorithm: HashAlgorithm,
    pub value: String,
    pub action: Option<HashAction>,
    pub hash_date: Option<OffsetDateTime>,
    /// `structure` attribute (free text in the schema), kept as read.
    pub structure: Option<String>,
}

impl MhlHash {
    pub fn new(algorithm: HashAlgorithm, value: impl Into<String>) -> MhlHash {
        MhlHash { algorithm, value: value.into(), action: None, hash_date: None, structure: None }
    }
}

/// `hashlistreference`: a generation of a nested history, by path and C4 id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashListReference {
    pub path: RelativePath,
    pub c4: MhlHash,
}

impl HashList {
    /// Reads a generation file (UTF-8, ASC MHL v2.0).
    pub fn parse(bytes: &[u8]) -> Result<HashList, MhlError> {
        parse::parse_hash_list(bytes)
    }

    /// Writes the generation in the reference tool's layout.
    pub fn to_xml(&self) -> String {
        write::write_hash_list(self)
    }

    /// File entries, in document order.
    pub fn files(&self) -> impl Iterator<Item = &FileHash> {
        self.hashes.iter().filter_map(|e| match e {
            HashEntry::File(f) => Some(f),
            HashEntry::Directory(_) => None,
        })
    }

    /// Directory entries, in document order.
    pub fn directories(&self) -> impl Iterator<Item = &DirectoryHash> {
        self.hashes.iter().filter_map(|e| match e {
            HashEntry::Directory(d) => Some(d),
            HashEntry::File(_) => None,
        })
    }
}

/// Dates as ASC MHL tools write them (`2020-01-16T09:15:00+00:00`, optional fraction); any RFC 3339 is read.
pub(crate) mod date {
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;
    use time::macros::format_description;

    pub fn parse(text: &str) -> Option<OffsetDateTime> {
        OffsetDateTime::parse(text.trim(), &Rfc3339).ok()
    }

    pub fn format(value: OffsetDateTime) -> String {
        let result = if value.nanosecond() == 0 {
            value.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
            ))
        } else {
            value.format(format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory]:[offset_minute]"
            ))
        };
        // Formatting only fails for years beyond four digits, which RFC 3339 input cannot produce.
        result.unwrap_or_else(|_| value.unix_timestamp().to_string())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn round_trips_mhl_spelling() {
            for text in ["2020-01-16T09:15:00+00:00", "2021-06-01T12:00:00.5+02:00", "1999-12-31T23:59:59-05:30"] {
                assert_eq!(format(parse(text).unwrap()), text);
            }
            assert_eq!(format(parse("2020-01-16T09:15:00Z").unwrap()), "2020-01-16T09:15:00+00:00");
            assert!(parse("2020-01-16 09:15").is_none());
        }
    }
}
