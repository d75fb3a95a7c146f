//! The style profile an order sets for its subtitles: the limits QC checks a delivery against.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::report::{Rule, Severity};
use crate::model::SubtitleFormat;
use crate::time::{FrameRate, Time, Timecode, TimecodeError};

/// Limits for one subtitle order. Every limit is optional; an absent limit is not checked.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleProfile {
    /// Frame rate of the programme; timecodes in the report are labelled at this rate and frame rules count its
    /// frames.
    pub frame_rate: FrameRate,
    /// Most characters on one line (spaces and punctuation included; combining marks and invisible format
    /// characters not).
    #[serde(default)]
    pub max_chars_per_line: Option<u32>,
    /// Most lines in one cue.
    #[serde(default)]
    pub max_lines: Option<u32>,
    /// Highest reading speed in characters per second, counted as `reading_speed_counting` says.
    #[serde(default)]
    pub max_reading_speed_cps: Option<f64>,
    /// Which characters reading speed counts.
    #[serde(default)]
    pub reading_speed_counting: CharCounting,
    /// Shortest time a cue may stay on screen.
    #[serde(default)]
    pub min_duration: Option<TimeSpan>,
    /// Longest time a cue may stay on screen.
    #[serde(default)]
    pub max_duration: Option<TimeSpan>,
    /// Fewest frames between the end of one cue and the start of the next (a gap of 0, chained cues, is checked
    /// too).
    #[serde(default)]
    pub min_gap_frames: Option<u32>,
    /// BCP 47 language the file must declare, e.g. `fr` or `pt-BR`.
    #[serde(default)]
    pub expected_language: Option<String>,
    /// File format ordered.
    #[serde(default)]
    pub expected_format: Option<SubtitleFormat>,
    /// Timecode continuity of the programme: every cue must lie between its first and last timecode.
    #[serde(default)]
    pub programme: Option<ProgrammeSpan>,
    /// Severity to use instead of a rule's default.
    #[serde(default)]
    pub severity_overrides: BTreeMap<Rule, Severity>,
}

impl StyleProfile {
    /// A profile at `frame_rate` with no limits set.
    pub fn new(frame_rate: FrameRate) -> StyleProfile {
        StyleProfile {
            frame_rate,
            max_chars_per_line: None,
            max_lines: None,
            max_reading_speed_cps: None,
            reading_speed_counting: CharCounting::default(),
            min_duration: None,
            max_duration: None,
            min_gap_frames: None,
            expected_language: None,
            expected_format: None,
            programme: None,
            severity_overrides: BTreeMap::new(),
        }
    }

    /// Checks that the profile itself is usable.
    pub fn validate(&self) -> Result<(), ProfileError> {
        if let Some(cps) = self.max_reading_speed_cps
            && !(cps.is_finite() && cps > 0.0)
        {
            return Err(ProfileError::ReadingSpeed { value: cps });
        }
        if self.max_chars_per_line == Some(0) {
            return Err(ProfileError::Zero { field: "max_chars_per_line" });
        }
        if self.max_lines == Some(0) {
            return Err(ProfileError::Zero { field: "max_lines" });
        }
        if let (Some(min), Some(max)) = (self.min_duration, self.max_duration)
            && min.to_time(self.frame_rate) > max.to_time(self.frame_rate)
        {
            return Err(ProfileError::DurationOrder);
        }
        if let Some(language) = &self.expected_language {
            let well_formed = language
                .split('-')
                .all(|subtag| (1..=8).contains(&subtag.len()) && subtag.bytes().all(|b| b.is_ascii_alphanumeric()));
            if !well_formed {
                return Err(ProfileError::Language { found: language.clone() });
            }
        }
        if let Some(programme) = &self.programme {
            let (start, end) = programme.times(self.frame_rate).map_err(ProfileError::Programme)?;
            if start >= end {
                return Err(ProfileError::ProgrammeOrder { start: programme.start, end: programme.end });
            }
        }
        Ok(())
    }
}

/// Which characters count towards reading speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CharCounting {
    /// Every visible character, spaces and punctuation included.
    #[default]
    AllCharacters,
    /// Everything but spaces.
    ExcludeSpaces,
    /// Everything but punctuation and symbols.
    ExcludePunctuation,
    /// Letters and digits only.
    ExcludeSpacesAndPunctuation,
}

/// A length of time given in frames at the profile's rate or in milliseconds, as style guides state them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSpan {
    /// Whole frames at the profile's frame rate, e.g. `{"frames": 20}`.
    Frames(u32),
    /// Milliseconds, e.g. `{"millis": 7000}`.
    Millis(u64),
}

impl TimeSpan {
    /// The exact length at `rate`.
    pub fn to_time(self, rate: FrameRate) -> Time {
        match self {
            TimeSpan::Frames(frames) => {
                Time::from_frames(i64::from(frames), rate).unwrap_or(Time::from_units(i64::MAX))
            }
            TimeSpan::Millis(millis) => {
                i64::try_from(millis).ok().and_then(Time::from_millis).unwrap_or(Time::from_units(i64::MAX))
            }
        }
    }
}

/// The programme's first and last timecode, at the profile's frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeSpan {
    /// First timecode of the programme, e.g. `10:00:00:00`.
    pub start: Timecode,
    /// Timecode where the programme ends; cues must be off screen by then.
    pub end: Timecode,
}

impl ProgrammeSpan {
    pub(crate) fn times(&self, rate: FrameRate) -> Result<(Time, Time), TimecodeError> {
        Ok((self.start.to_time(rate)?, self.end.to_time(rate)?))
    }
}

/// A style profile that cannot be applied.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ProfileError {
    /// Reading speed limit not a positive number.
    #[error("max_reading_speed_cps is {value}; it must be a positive number of characters per second")]
    ReadingSpeed {
        /// The value given.
        value: f64,
    },
    /// A count limit of zero.
    #[error("{field} is 0; set it to at least 1 or leave it out")]
    Zero {
        /// The field.
        field: &'static str,
    },
    /// Minimum duration above maximum.
    #[error("min_duration is longer than max_duration")]
    DurationOrder,
    /// Not a BCP 47 tag.
    #[error("expected_language {found:?} is not a BCP 47 tag such as \"fr\" or \"pt-BR\"")]
    Language {
        /// The value given.
        found: String,
    },
    /// Programme timecode that does not exist at the profile's rate.
    #[error("programme timecode: {0}")]
    Programme(TimecodeError),
    /// Programme ending before it starts.
    #[error("programme ends at {end}, not after its start {start}")]
    ProgrammeOrder {
        /// Start given.
        start: Timecode,
        /// End given.
        end: Timecode,
    },
}
