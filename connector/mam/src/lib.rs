//! MAM importers of Passerelle: turn the files a distributor's MAM exports into
//! [`passerelle_media`] values ([`Work`], [`Version`], [`RightsWindow`]) and report
//! every record that could not be taken, with file, location and reason.
//!
//! # Formats
//!
//! | [`Format`] | what | becomes |
//! |---|---|---|
//! | `MecXml` | MovieLabs Common Metadata (`mdmec:CoreMetadata`, any MDDF version); a file may hold many works (see below) | one [`Work`] per `Basic` element |
//! | `AvailsXml` | MovieLabs Avails XML (`avails:AvailList`, any version) | a [`Work`] per `Asset` (plus its season/series), an edit [`Version`] when an Edit EIDR is given, one [`RightsWindow`] per `Transaction` |
//! | `AvailsXlsx` | the Avails spreadsheet (MovieLabs template v1.7–1.9, "Movies" sheet) | one [`RightsWindow`] per row, works merged by `ContentID` |
//! | `ManifestXml` | MovieLabs Media Manifest (`manifest:MediaManifest`) | one manifestation [`Version`] per `Experience`, with audio languages, subtitle tracks and files with their hashes |
//! | `EbuCoreXml` | EBUCore (`ebuCoreMain`), including MediaInfo's `--Output=EBUCore` | a [`Work`] when the document names a title, one manifestation [`Version`] per `format` |
//! | `Csv` | Passerelle's CSV layout, see `CSV.md` | one [`Work`] per row, a [`RightsWindow`] when the row has a `license_type` |
//! | `Json` | `{"works":[…],"versions":[…],"rights":[…]}` in the serde forms of `passerelle-media` | as given |
//! | `AodAvailabilityXml` | MovieLabs Asset Order & Delivery `AssetAvailability` | one manifestation [`Version`] listing the languages and tracks declared available |
//! | `AodVocabulary` | the AOD vocabulary JSON (`{"aod": {…}}`) | recognised, nothing to store (an empty batch, not an error) |
//!
//! The format is detected from the content ([`detect`]): the XML root element and
//! its namespace (matched on local names, so every MDDF version is accepted), the
//! zip signature of an xlsx workbook, the top-level keys of a JSON object, the
//! header line of a CSV file. The file name is only a hint for text that could be
//! a CSV file.
//!
//! # CSV layout and JSON form
//!
//! Both are documented in full, with examples, in `CSV.md` beside this crate's
//! `Cargo.toml`. In short, the CSV file has a header line and one row per work:
//!
//! - work columns: `work_id` and `title` (required), `kind`, `title_language`,
//!   `original_language`, `release_year`, `runtime`, `summary`, `genres`,
//!   `countries_of_origin`, `eidr`, `isan`, `alt_ids` (`ns=value`), `parent_id`, `sequence`;
//! - rights columns (a row filling any of them is also one window): `license_type`,
//!   `territories`, `excluded_territories`, `start`, `end`, `languages`,
//!   `holdback_languages`, `format_profile`, `licensor`, `window_id`.
//!
//! Separator `,` (or `;`), lists separated by `|`, dates `YYYY-MM-DD` or RFC 3339, unknown
//! columns refused. The JSON form is `{"works":[…],"versions":[…],"rights":[…]}` with the
//! serde forms of [`Work`], [`Version`] and [`RightsWindow`].
//!
//! # Many works in one MEC file
//!
//! A MEC document describes one work. To carry a catalogue in one file, any
//! wrapper root is accepted whose namespace is the `mdmec` one (we write
//! `mdmec:CoreMetadataSet`) holding many `mdmec:CoreMetadata` elements; every
//! `Basic` (or `md:BasicMetadata`) element carrying a `ContentID` is one work.
//! [`testdata::generate_mec_feed`] writes this form. Parsing is streaming: one
//! record is held in memory at a time.
//!
//! # Stable ids (idempotent import)
//!
//! Ids are derived from the source only, never from import order or time, so that
//! importing the same file again addresses the same records and the store upserts
//! them: works by `ContentID` (MEC, Avails, Manifest references), edit versions by
//! `{ContentID}#edit`, manifest versions by `ExperienceID`, EBUCore versions by
//! `formatId` or file locator, windows by `{ALID}#{TransactionID}` (Avails XML),
//! `{ALID}#{AvailID}` or a row key (xlsx, CSV; see `CSV.md`).
//!
//! # Rejections
//!
//! A record that cannot be taken is reported in [`ImportBatch::rejected`] and the
//! others are kept. Per field:
//! - an invalid EIDR or ISAN on a work or version: the identifier is dropped, the
//!   record is kept (it is still identified by its ContentID), the drop is reported;
//! - an invalid language in a list (allowed / holdback / audio languages, a
//!   localized title): that entry is dropped and reported;
//! - an invalid territory, date or a missing license type on a window: the window
//!   is rejected (a window with a wrong territory would grant rights it should not);
//! - an invalid subtitle track language: the track is rejected, the version kept;
//! - a record without its key (ContentID, ExperienceID, work id): rejected.
//!
//! Locations are `line N` (CSV), `row N, column X` (xlsx, 1-based as shown by the
//! spreadsheet), an element path such as `/AvailList/Avail[3]/Transaction[2]/Territory (line 40)`
//! (XML; a segment without index is the first of its name) or a JSON pointer.

mod aod;
mod avails;
mod avails_xlsx;
mod avails_xml;
mod collect;
mod csv_import;
mod detect;
mod ebucore;
mod fields;
mod json_import;
mod manifest;
mod mec;
pub mod testdata;
mod xml;

use serde::{Deserialize, Serialize};

pub use aod::AOD_STATUS_CODES;
pub use detect::detect;
pub use passerelle_media::{RightsWindow, Version, Work};

/// A file format the importers understand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// MovieLabs Common Metadata (MEC) XML.
    MecXml,
    /// MovieLabs Avails XML.
    AvailsXml,
    /// MovieLabs Avails spreadsheet (xlsx).
    AvailsXlsx,
    /// MovieLabs Media Manifest XML.
    ManifestXml,
    /// EBUCore XML, including MediaInfo's EBUCore output.
    EbuCoreXml,
    /// Passerelle's CSV layout (`CSV.md`).
    Csv,
    /// Passerelle's JSON form.
    Json,
    /// MovieLabs Asset Order & Delivery `AssetAvailability` XML.
    AodAvailabilityXml,
    /// MovieLabs Asset Order & Delivery vocabulary JSON.
    AodVocabulary,
}

impl Format {
    /// Every format, in a stable order (for listings and tests).
    pub const ALL: [Format; 9] = [
        Format::MecXml,
        Format::AvailsXml,
        Format::AvailsXlsx,
        Format::ManifestXml,
        Format::EbuCoreXml,
        Format::Csv,
        Format::Json,
        Format::AodAvailabilityXml,
        Format::AodVocabulary,
    ];

    /// Short stable name (`mec-xml`, `avails-xlsx`…), the same as the serde form.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::MecXml => "mec-xml",
            Format::AvailsXml => "avails-xml",
            Format::AvailsXlsx => "avails-xlsx",
            Format::ManifestXml => "manifest-xml",
            Format::EbuCoreXml => "ebucore-xml",
            Format::Csv => "csv",
            Format::Json => "json",
            Format::AodAvailabilityXml => "aod-availability-xml",
            Format::AodVocabulary => "aod-vocabulary",
        }
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Format {
    type Err = ImportError;
    fn from_str(s: &str) -> Result<Self, ImportError> {
        Format::ALL.into_iter().find(|f| f.as_str().eq_ignore_ascii_case(s.trim())).ok_or_else(|| {
            ImportError::UnknownFormat {
                file: String::new(),
                detail: format!(
                    "`{s}` is not a format name; use one of {}",
                    Format::ALL.map(Format::as_str).join(", ")
                ),
            }
        })
    }
}

/// A record (or a field of a record) that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    /// The file name given to [`parse`].
    pub file: String,
    /// `line 12`, `row 7, column ContentID`, `/AvailList/Avail[3]/Asset/AltIdentifier (line 40)`, `/works/3`.
    pub location: String,
    /// Id of the record concerned, when known.
    pub record: Option<String>,
    /// What is wrong and, where possible, how to fix it.
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.file, self.location)?;
        if let Some(record) = &self.record {
            write!(f, " [{record}]")?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// What one file gave: the records to upsert and the ones rejected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportBatch {
    pub format: Format,
    /// Works, each id once (records of the same work within a file are merged).
    pub works: Vec<Work>,
    pub versions: Vec<Version>,
    pub rights: Vec<RightsWindow>,
    pub rejected: Vec<Rejection>,
    /// Source records examined (MEC `Basic`, Avails `Avail`, xlsx/CSV data rows,
    /// manifest `Experience`, EBUCore `format`, JSON array entries, AOD dispositions,
    /// vocabulary lists).
    pub records_seen: usize,
}

/// Why a whole file could not be imported (single records never cause this: they
/// end up in [`ImportBatch::rejected`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("`{file}` is empty: there is nothing to import")]
    Empty { file: String },
    #[error("`{file}`: format not recognised: {detail}")]
    UnknownFormat { file: String, detail: String },
    #[error("`{file}` is not UTF-8 text ({detail}); export it as UTF-8")]
    Encoding { file: String, detail: String },
    #[error("`{file}` is not well-formed XML at line {line}: {message}")]
    MalformedXml { file: String, line: u32, message: String },
    #[error("`{file}`: root element `{found}` is not a {expected} document")]
    UnexpectedRoot { file: String, expected: &'static str, found: String },
    #[error("`{file}` cannot be read as an xlsx workbook: {message}")]
    Spreadsheet { file: String, message: String },
    #[error("`{file}`: {place} lacks the required column(s) {}; found: {}", missing.join(", "), found.join(", "))]
    MissingColumns { file: String, place: String, missing: Vec<String>, found: Vec<String> },
    #[error("`{file}` is not valid JSON at line {line}, column {column}: {message}")]
    Json { file: String, line: usize, column: usize, message: String },
    #[error("`{file}` is not a readable CSV file at line {line}: {message}")]
    Csv { file: String, line: u64, message: String },
}

/// Detects the format of `bytes` and imports it.
///
/// Fails only when the whole file is unusable (empty, unknown format, not XML at
/// all, missing columns…); bad records are reported in [`ImportBatch::rejected`].
pub fn parse(file_name: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let format = detect(file_name, bytes)?;
    parse_as(format, file_name, bytes)
}

/// Imports `bytes` as `format`, for callers that know the format (an API endpoint
/// per format, a CLI `--format` option). A document of another format is refused.
pub fn parse_as(format: Format, file_name: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ImportError::Empty { file: file_name.to_string() });
    }
    match format {
        Format::MecXml => mec::parse(file_name, bytes),
        Format::AvailsXml => avails_xml::parse(file_name, bytes),
        Format::AvailsXlsx => avails_xlsx::parse(file_name, bytes),
        Format::ManifestXml => manifest::parse(file_name, bytes),
        Format::EbuCoreXml => ebucore::parse(file_name, bytes),
        Format::Csv => csv_import::parse(file_name, bytes),
        Format::Json => json_import::parse(file_name, bytes),
        Format::AodAvailabilityXml => aod::parse_availability(file_name, bytes),
        Format::AodVocabulary => aod::parse_vocabulary(file_name, bytes),
    }
}

/// The lists of a MovieLabs AOD vocabulary file (`{"aod": {"AssetAvailability/StatusCode": [...], ...}}`),
/// for the order workflow that speaks this vocabulary.
pub fn aod_vocabulary(file_name: &str, bytes: &[u8]) -> Result<aod::Vocabulary, ImportError> {
    aod::vocabulary(file_name, bytes)
}

pub use aod::Vocabulary;
