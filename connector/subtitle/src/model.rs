//! The format-independent subtitle document every parser produces and QC reads.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::time::{FrameRate, Time};

/// The subtitle file formats this crate reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SubtitleFormat {
    /// SubRip text.
    Srt,
    /// W3C WebVTT.
    WebVtt,
    /// W3C TTML, including IMSC 1.1 and EBU-TT-D.
    Ttml,
    /// EBU Tech 3264 subtitling data exchange format.
    EbuStl,
    /// Scenarist closed captions (CEA-608 byte pairs).
    Scc,
}

impl SubtitleFormat {
    /// Display name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            SubtitleFormat::Srt => "SRT",
            SubtitleFormat::WebVtt => "WebVTT",
            SubtitleFormat::Ttml => "TTML",
            SubtitleFormat::EbuStl => "EBU-STL",
            SubtitleFormat::Scc => "SCC",
        }
    }

    /// Whether the format stores SMPTE timecodes, so that its drop-frame mode is part of the delivery.
    pub fn uses_timecodes(self) -> bool {
        matches!(self, SubtitleFormat::EbuStl | SubtitleFormat::Scc)
    }
}

impl fmt::Display for SubtitleFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where something sits in the source file, so a subtitler can find it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// 1-based text line.
    Line(usize),
    /// 1-based TTI block of an EBU-STL file (the GSI block is not counted).
    TtiBlock(usize),
    /// 0-based byte offset.
    Byte(usize),
    /// The file as a whole.
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::TtiBlock(n) => write!(f, "TTI block {n}"),
            Location::Byte(n) => write!(f, "byte {n}"),
            Location::File => f.write_str("file"),
        }
    }
}

/// One subtitle event: text shown from `begin` until `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cue {
    /// 1-based position of the cue in the document.
    pub index: usize,
    /// When the text appears.
    pub begin: Time,
    /// When it disappears; `None` when the file never removes it (a TTML paragraph with no end in an untimed
    /// body, an SCC caption never erased).
    pub end: Option<Time>,
    /// Displayed lines as plain text: styling, positioning and markup removed, whitespace normalised.
    pub lines: Vec<String>,
    /// Where the cue starts in the file.
    pub source_location: Location,
}

/// A parsed subtitle file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Document {
    /// The format it was read as.
    pub format: SubtitleFormat,
    /// Language the file declares (BCP 47 as written, or mapped from an EBU-STL code), if any.
    pub declared_language: Option<String>,
    /// Frame rate the file declares or implies, if any.
    pub frame_rate: Option<FrameRate>,
    /// Events in file order.
    pub cues: Vec<Cue>,
}

impl Document {
    pub(crate) fn new(format: SubtitleFormat) -> Document {
        Document { format, declared_language: None, frame_rate: None, cues: Vec::new() }
    }

    /// Appends a cue, numbering it.
    pub(crate) fn push_cue(&mut self, begin: Time, end: Option<Time>, lines: Vec<String>, location: Location) {
        let index = self.cues.len() + 1;
        self.cues.push(Cue { index, begin, end, lines, source_location: location });
    }
}
