//! Subtitle files for the subtitle-order workflow.
//!
//! A lab delivers subtitles as SRT, WebVTT, TTML/IMSC 1.1, EBU-STL or SCC. This crate reads any of them from
//! bytes into one format-independent [`Document`] (cues with exact begin/end times and plain-text lines), and
//! [`check`]s it against the order's [`StyleProfile`] (characters per line, lines, reading speed, durations,
//! gaps, frame alignment, timecode order and continuity, language, format, frame rate), producing a
//! serialisable [`QcReport`]. It is pure: no I/O beyond the byte slice it is given, no async.
//!
//! ```
//! use passerelle_subtitle::{check, parse, FrameRate, StyleProfile};
//!
//! let doc = parse(b"1\n00:00:01,000 --> 00:00:03,000\nBonjour\n").unwrap();
//! let mut profile = StyleProfile::new(FrameRate::FPS_25);
//! profile.max_chars_per_line = Some(42);
//! assert!(check(&doc, &profile).passed());
//! ```

mod detect;
mod error;
mod model;
pub mod qc;
pub mod scc;
pub mod srt;
pub mod stl;
mod text;
mod time;
pub mod ttml;
pub mod vtt;

pub use detect::detect;
pub use error::{ParseError, Problem};
pub use model::{Cue, Document, Location, SubtitleFormat};
pub use qc::{
    CharCounting, Finding, Measure, ProfileError, ProgrammeSpan, QcReport, QcSummary, Rule, Severity, SeverityCounts,
    StyleProfile, TimeSpan, TimecodeRange, check,
};
pub use time::{FrameRate, FrameRateError, Time, Timecode, TimecodeError};

/// Reads a subtitle file, recognising its format from the content.
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let format =
        detect(bytes).ok_or(ParseError { format: None, location: Location::File, problem: Problem::UnknownFormat })?;
    parse_as(format, bytes)
}

/// Reads a subtitle file in a known format.
pub fn parse_as(format: SubtitleFormat, bytes: &[u8]) -> Result<Document, ParseError> {
    match format {
        SubtitleFormat::Srt => srt::parse(bytes),
        SubtitleFormat::WebVtt => vtt::parse(bytes),
        SubtitleFormat::Ttml => ttml::parse(bytes),
        SubtitleFormat::EbuStl => stl::parse(bytes),
        SubtitleFormat::Scc => scc::parse(bytes),
    }
}
