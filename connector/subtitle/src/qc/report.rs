//! What QC found: findings per rule and cue, and a summary that decides pass or fail.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::SubtitleFormat;
use crate::time::{FrameRate, Timecode};

/// A QC rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The style profile itself is unusable, so nothing else was checked.
    Profile,
    /// Delivered format differs from the ordered one.
    Format,
    /// Declared language differs from the ordered one.
    Language,
    /// The file declares no language while the order expects one.
    LanguageUndeclared,
    /// The file's frame rate (or drop-frame mode) differs from the programme's.
    FrameRate,
    /// A cue starts before the previous one, ends at or before it starts, or never ends.
    TimecodeOrder,
    /// Two cues on screen at once.
    Overlap,
    /// Cue shorter than the minimum duration.
    MinDuration,
    /// Cue longer than the maximum duration.
    MaxDuration,
    /// Too few frames between two cues.
    MinGap,
    /// Too many lines in one cue.
    MaxLines,
    /// Too many characters on one line.
    MaxCharsPerLine,
    /// Text to read faster than the reading speed limit.
    ReadingSpeed,
    /// A begin or end time between two frames.
    FrameBoundary,
    /// A cue outside the programme's timecode span.
    Continuity,
}

impl Rule {
    /// Severity when the profile does not override it: reading speed, frame alignment and an undeclared
    /// language are warnings a reviewer weighs, everything else breaks the delivery.
    pub fn default_severity(self) -> Severity {
        match self {
            Rule::ReadingSpeed | Rule::FrameBoundary | Rule::LanguageUndeclared => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// How serious a finding is. Errors fail the delivery; warnings do not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Does not fail QC.
    Warning,
    /// Fails QC.
    Error,
}

/// A measured value or a limit, with its unit.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", content = "value", rename_all = "snake_case")]
pub enum Measure {
    /// Frames at the profile's rate (fractional when off the frame grid).
    Frames(f64),
    /// Seconds.
    Seconds(f64),
    /// A count of lines.
    Lines(u64),
    /// A count of characters.
    Characters(u64),
    /// Characters per second.
    CharactersPerSecond(f64),
    /// A label: language tag, format, frame rate, timecode.
    Text(String),
}

/// Where a cue sits, as SMPTE timecodes at the profile's frame rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimecodeRange {
    /// Timecode of the first frame shown.
    pub begin: Timecode,
    /// Timecode where the cue is removed; `None` when it never is.
    pub end: Option<Timecode>,
}

/// One problem found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule broken.
    pub rule: Rule,
    /// How serious it is.
    pub severity: Severity,
    /// 1-based index of the cue concerned; `None` for findings about the whole file.
    pub cue: Option<usize>,
    /// The cue's timecodes.
    pub timecodes: Option<TimecodeRange>,
    /// What is wrong, for a person.
    pub message: String,
    /// What was measured.
    pub measured: Option<Measure>,
    /// The limit it was held to.
    pub limit: Option<Measure>,
}

/// Finding counts for one rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
}

/// Totals and the verdict.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QcSummary {
    /// `true` when no finding is an error.
    pub passed: bool,
    /// Cues checked.
    pub cues: usize,
    /// Findings of severity error.
    pub errors: usize,
    /// Findings of severity warning.
    pub warnings: usize,
    /// Counts per rule (rules with no finding are absent).
    pub by_rule: BTreeMap<Rule, SeverityCounts>,
}

/// The result of checking one subtitle file against a style profile.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QcReport {
    /// Format of the file checked.
    pub format: SubtitleFormat,
    /// Frame rate the timecodes in the findings are labelled at.
    pub frame_rate: FrameRate,
    /// Totals and verdict.
    pub summary: QcSummary,
    /// Findings, file-level first, then by cue.
    pub findings: Vec<Finding>,
}

impl QcReport {
    pub(crate) fn new(format: SubtitleFormat, frame_rate: FrameRate, cues: usize, findings: Vec<Finding>) -> QcReport {
        let mut by_rule: BTreeMap<Rule, SeverityCounts> = BTreeMap::new();
        for finding in &findings {
            let counts = by_rule.entry(finding.rule).or_default();
            match finding.severity {
                Severity::Error => counts.errors += 1,
                Severity::Warning => counts.warnings += 1,
            }
        }
        let errors = by_rule.values().map(|c| c.errors).sum();
        let warnings = by_rule.values().map(|c| c.warnings).sum();
        let summary = QcSummary { passed: errors == 0, cues, errors, warnings, by_rule };
        QcReport { format, frame_rate, summary, findings }
    }

    /// Whether the file passed (no error findings).
    pub fn passed(&self) -> bool {
        self.summary.passed
    }

    /// Findings for one rule.
    pub fn findings_for(&self, rule: Rule) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.rule == rule)
    }
}
