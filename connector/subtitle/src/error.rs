//! Typed parse errors: which format, where in the file, what is wrong and how to fix it.

use std::fmt;

use crate::model::{Location, SubtitleFormat};
use crate::time::TimecodeError;

/// A file could not be read as subtitles.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    /// Format being read; `None` when detection failed.
    pub format: Option<SubtitleFormat>,
    /// Where the problem is.
    pub location: Location,
    /// What is wrong.
    #[source]
    pub problem: Problem,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.format {
            Some(format) => write!(f, "{format} {}: {}", self.location, self.problem),
            None => write!(f, "subtitle file, {}: {}", self.location, self.problem),
        }
    }
}

impl ParseError {
    pub(crate) fn new(format: SubtitleFormat, location: Location, problem: Problem) -> ParseError {
        ParseError { format: Some(format), location, problem }
    }
}

/// What is wrong with a subtitle file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// Detection found no known format.
    #[error("the content is not SRT, WebVTT, TTML, EBU-STL or SCC; check the file is a subtitle file")]
    UnknownFormat,
    /// Text that is not in the expected encoding.
    #[error("the text is not valid {encoding}; re-save the file as UTF-8")]
    InvalidEncoding {
        /// The encoding the bytes were read as.
        encoding: &'static str,
    },
    /// The mandatory first line is missing.
    #[error("the file must start with {expected:?}")]
    MissingHeader {
        /// The header expected.
        expected: &'static str,
    },
    /// A time value that does not follow the format's syntax.
    #[error("malformed time {found:?}; expected {expected}")]
    MalformedTime {
        /// The offending text.
        found: String,
        /// The syntax expected.
        expected: &'static str,
    },
    /// A time too large for the timeline.
    #[error("time {found:?} is out of range")]
    TimeOutOfRange {
        /// The offending text.
        found: String,
    },
    /// A cue timing line without the `-->` separator and two times.
    #[error("malformed timing line {found:?}; expected \"<begin> --> <end>\"")]
    MalformedTimingLine {
        /// The offending line.
        found: String,
    },
    /// A line where a cue should start.
    #[error("expected a cue number or a timing line, found {found:?}")]
    UnexpectedLine {
        /// The offending line.
        found: String,
    },
    /// A cue number with no timing line after it.
    #[error("cue number {number:?} is not followed by a timing line")]
    MissingTimingLine {
        /// The cue number.
        number: String,
    },
    /// XML that is not well-formed.
    #[error("the XML is not well-formed: {detail}")]
    Xml {
        /// The XML parser's diagnosis.
        detail: String,
    },
    /// An XML document that is not TTML.
    #[error("the root element is <{found}>; a TTML document's root is <tt> in namespace http://www.w3.org/ns/ttml")]
    NotTtml {
        /// The root element found.
        found: String,
    },
    /// An attribute value outside what the format allows.
    #[error("attribute {attribute} has value {found:?}; expected {expected}")]
    InvalidAttribute {
        /// Attribute name.
        attribute: String,
        /// The offending value.
        found: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// EBU-STL file whose size is not a GSI block plus whole TTI blocks.
    #[error("the file is {len} bytes; an EBU-STL file is a 1024-byte GSI block followed by whole 128-byte TTI blocks")]
    StlSize {
        /// Size found.
        len: usize,
    },
    /// A GSI field with an unusable value.
    #[error("GSI field {field} is {found:?}; expected {expected}")]
    GsiField {
        /// Field mnemonic (EBU Tech 3264).
        field: &'static str,
        /// The value found.
        found: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// A timecode that does not exist at the file's frame rate.
    #[error("invalid timecode: {0}")]
    Timecode(#[from] TimecodeError),
    /// An SCC line that is not `timecode<tab>words`.
    #[error("expected \"HH:MM:SS:FF<tab>word word ...\", found {found:?}")]
    MalformedSccLine {
        /// The offending line.
        found: String,
    },
    /// An SCC word that is not four hex digits.
    #[error("SCC word {found:?} is not four hexadecimal digits")]
    MalformedSccWord {
        /// The offending word.
        found: String,
    },
}
