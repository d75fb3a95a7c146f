//! Automatic QC of a subtitle document against an order's [`StyleProfile`].
//!
//! Times are first put on the profile's frame grid: a time within one millisecond of a frame boundary counts as
//! that boundary, because SRT, WebVTT and many TTML files can only write milliseconds and so never hit 23.976 or
//! 29.97 fps frames exactly. Times further off stay where they are and are reported by the frame-boundary rule.
//! All limits are then compared exactly: a value at the limit passes, one frame or character beyond fails.

mod counting;
mod profile;
mod report;
#[cfg(test)]
mod tests;

pub use profile::{CharCounting, ProfileError, ProgrammeSpan, StyleProfile, TimeSpan};
pub use report::{Finding, Measure, QcReport, QcSummary, Rule, Severity, SeverityCounts, TimecodeRange};

use crate::model::{Cue, Document};
use crate::time::{FrameRate, Time, Timecode};

/// Distance from a frame boundary still counted as on it (1 ms).
const FRAME_TOLERANCE_UNITS: i128 = (Time::UNITS_PER_SECOND / 1000) as i128;

/// Checks `doc` against `profile`. An unusable profile yields a single failing `profile` finding.
pub fn check(doc: &Document, profile: &StyleProfile) -> QcReport {
    let mut checker = Checker { profile, rate: profile.frame_rate, findings: Vec::new() };
    if let Err(err) = profile.validate() {
        checker.file_finding(Rule::Profile, format!("the style profile cannot be applied: {err}"), None, None);
        return QcReport::new(doc.format, profile.frame_rate, doc.cues.len(), checker.findings);
    }
    checker.check_format(doc);
    checker.check_language(doc);
    checker.check_frame_rate(doc);
    let timed: Vec<TimedCue<'_>> = doc.cues.iter().map(|cue| TimedCue::new(cue, profile.frame_rate)).collect();
    let programme = profile.programme.and_then(|span| span.times(profile.frame_rate).ok());
    for (i, cue) in timed.iter().enumerate() {
        checker.check_order(cue, i.checked_sub(1).and_then(|p| timed.get(p)));
        checker.check_frame_boundaries(cue);
        if let Some(span) = programme {
            checker.check_continuity(cue, span);
        }
        checker.check_durations(cue);
        checker.check_text(cue);
    }
    checker.check_sequence(&timed);
    let mut findings = checker.findings;
    findings.sort_by_key(|f| (f.cue.unwrap_or(0), f.rule));
    QcReport::new(doc.format, profile.frame_rate, doc.cues.len(), findings)
}

/// A time placed on the frame grid.
#[derive(Clone, Copy, Debug)]
struct GridTime {
    /// The frame boundary when within tolerance, else the time as written.
    time: Time,
    original: Time,
    on_frame: bool,
}

impl GridTime {
    fn new(time: Time, rate: FrameRate) -> GridTime {
        let frame = time.nearest_frame(rate);
        let offset = i128::from(time.units()) * i128::from(rate.numerator())
            - i128::from(frame) * i128::from(rate.denominator()) * i128::from(Time::UNITS_PER_SECOND);
        let on_frame = offset.abs() < FRAME_TOLERANCE_UNITS * i128::from(rate.numerator());
        let snapped = if on_frame { Time::from_frames(frame, rate) } else { None };
        GridTime { time: snapped.unwrap_or(time), original: time, on_frame }
    }
}

struct TimedCue<'a> {
    cue: &'a Cue,
    begin: GridTime,
    end: Option<GridTime>,
    range: TimecodeRange,
}

impl<'a> TimedCue<'a> {
    fn new(cue: &'a Cue, rate: FrameRate) -> TimedCue<'a> {
        let begin = GridTime::new(cue.begin, rate);
        let end = cue.end.map(|end| GridTime::new(end, rate));
        let range = TimecodeRange {
            begin: Timecode::from_time(begin.time, rate),
            end: end.map(|e| Timecode::from_time(e.time, rate)),
        };
        TimedCue { cue, begin, end, range }
    }

    /// Time on screen, when the cue ends after it begins.
    fn duration(&self) -> Option<Time> {
        let end = self.end?;
        (end.time > self.begin.time).then(|| end.time.checked_sub(self.begin.time)).flatten()
    }
}

fn round(value: f64, decimals: i32) -> f64 {
    let factor = 10_f64.powi(decimals);
    (value * factor).round() / factor
}

/// Frames in `span` at `rate`, rounded to hundredths for reports.
fn frames(span: Time, rate: FrameRate) -> f64 {
    round(span.frames_f64(rate), 2)
}

/// `span` is shorter than `count` frames at `rate`, compared exactly.
fn shorter_than_frames(span: Time, count: u32, rate: FrameRate) -> bool {
    i128::from(span.units()) * i128::from(rate.numerator())
        < i128::from(count) * i128::from(rate.denominator()) * i128::from(Time::UNITS_PER_SECOND)
}

fn language_matches(declared: &str, expected: &str) -> bool {
    let declared: Vec<&str> = declared.split(['-', '_']).collect();
    let expected: Vec<&str> = expected.split('-').collect();
    expected.len() <= declared.len() && expected.iter().zip(&declared).all(|(e, d)| e.eq_ignore_ascii_case(d))
}

struct Checker<'p> {
    profile: &'p StyleProfile,
    rate: FrameRate,
    findings: Vec<Finding>,
}

impl Checker<'_> {
    fn severity(&self, rule: Rule) -> Severity {
        self.profile.severity_overrides.get(&rule).copied().unwrap_or_else(|| rule.default_severity())
    }

    fn file_finding(&mut self, rule: Rule, message: String, measured: Option<Measure>, limit: Option<Measure>) {
        let severity = self.severity(rule);
        self.findings.push(Finding { rule, severity, cue: None, timecodes: None, message, measured, limit });
    }

    fn cue_finding(
        &mut self,
        rule: Rule,
        cue: &TimedCue<'_>,
        message: String,
        measured: Option<Measure>,
        limit: Option<Measure>,
    ) {
        let severity = self.severity(rule);
        self.findings.push(Finding {
            rule,
            severity,
            cue: Some(cue.cue.index),
            timecodes: Some(cue.range),
            message: format!("cue {} ({}): {message}", cue.cue.index, cue.range.begin),
            measured,
            limit,
        });
    }

    fn check_format(&mut self, doc: &Document) {
        if let Some(expected) = self.profile.expected_format
            && expected != doc.format
        {
            let message = format!("the file is {}, the order asks for {expected}", doc.format);
            let (measured, limit) = (Measure::Text(doc.format.to_string()), Measure::Text(expected.to_string()));
            self.file_finding(Rule::Format, message, Some(measured), Some(limit));
        }
    }

    fn check_language(&mut self, doc: &Document) {
        let Some(expected) = &self.profile.expected_language else { return };
        let limit = Some(Measure::Text(expected.clone()));
        match &doc.declared_language {
            None => {
                let message = format!("the file declares no language; the order expects {expected}");
                self.file_finding(Rule::LanguageUndeclared, message, None, limit);
            }
            Some(declared) if !language_matches(declared, expected) => {
                let message = format!("the file declares language {declared}, the order expects {expected}");
                self.file_finding(Rule::Language, message, Some(Measure::Text(declared.clone())), limit);
            }
            Some(_) => {}
        }
    }

    fn check_frame_rate(&mut self, doc: &Document) {
        let Some(declared) = doc.frame_rate else { return };
        let expected = self.rate;
        let message = if !declared.same_speed(expected) {
            format!("the file is timed at {declared} fps, the programme runs at {expected} fps")
        } else if doc.format.uses_timecodes() && declared.is_drop_frame() != expected.is_drop_frame() {
            let mode = |r: FrameRate| if r.is_drop_frame() { "drop-frame" } else { "non-drop-frame" };
            format!("the file uses {} timecode, the programme {}", mode(declared), mode(expected))
        } else {
            return;
        };
        let (measured, limit) = (Measure::Text(declared.to_string()), Measure::Text(expected.to_string()));
        self.file_finding(Rule::FrameRate, message, Some(measured), Some(limit));
    }

    fn check_order(&mut self, cue: &TimedCue<'_>, previous: Option<&TimedCue<'_>>) {
        if let Some(previous) = previous
            && cue.begin.time < previous.begin.time
        {
            let message = format!("starts before the previous cue {} ({})", previous.cue.index, previous.range.begin);
            self.cue_finding(Rule::TimecodeOrder, cue, message, None, None);
        }
        match cue.end {
            None => {
                let message = "has no end time and would stay on screen to the end of the programme".to_owned();
                self.cue_finding(Rule::TimecodeOrder, cue, message, None, None);
            }
            Some(end) if end.time <= cue.begin.time => {
                let message = format!("ends at {} but begins at {}", end.original, cue.begin.original);
                let duration = end.time.checked_sub(cue.begin.time).unwrap_or_default();
                let measured = Measure::Frames(frames(duration, self.rate));
                self.cue_finding(Rule::TimecodeOrder, cue, message, Some(measured), None);
            }
            Some(_) => {}
        }
    }

    fn check_frame_boundaries(&mut self, cue: &TimedCue<'_>) {
        let rate = self.rate;
        let edges = [("begin", Some(cue.begin)), ("end", cue.end)];
        for (edge, time) in edges {
            let Some(time) = time.filter(|t| !t.on_frame) else { continue };
            let position = round(time.original.frames_f64(rate), 3);
            let message =
                format!("{edge} {} is not on a frame boundary at {rate} fps (frame {position})", time.original);
            self.cue_finding(Rule::FrameBoundary, cue, message, Some(Measure::Frames(position)), None);
        }
    }

    fn check_continuity(&mut self, cue: &TimedCue<'_>, (start, end): (Time, Time)) {
        let Some(programme) = self.profile.programme else { return };
        let span = format!("{}–{}", programme.start, programme.end);
        if cue.begin.time < start {
            let message = format!("begins before the programme starts ({})", programme.start);
            let measured = Measure::Text(cue.range.begin.to_string());
            self.cue_finding(Rule::Continuity, cue, message, Some(measured), Some(Measure::Text(span.clone())));
        }
        if let Some(cue_end) = cue.end
            && cue_end.time > end
        {
            let message = format!("ends after the programme ends ({})", programme.end);
            let measured = Measure::Text(Timecode::from_time(cue_end.time, self.rate).to_string());
            self.cue_finding(Rule::Continuity, cue, message, Some(measured), Some(Measure::Text(span)));
        }
    }

    fn duration_measures(&self, duration: Time, limit: TimeSpan) -> (Measure, Measure) {
        match limit {
            TimeSpan::Frames(n) => (Measure::Frames(frames(duration, self.rate)), Measure::Frames(f64::from(n))),
            TimeSpan::Millis(ms) => {
                (Measure::Seconds(round(duration.as_secs_f64(), 3)), Measure::Seconds(ms as f64 / 1000.0))
            }
        }
    }

    fn check_durations(&mut self, cue: &TimedCue<'_>) {
        let Some(duration) = cue.duration() else { return };
        if let Some(min) = self.profile.min_duration
            && duration < min.to_time(self.rate)
        {
            let (measured, limit) = self.duration_measures(duration, min);
            let message = format!("is on screen for {}, less than the minimum", duration);
            self.cue_finding(Rule::MinDuration, cue, message, Some(measured), Some(limit));
        }
        if let Some(max) = self.profile.max_duration
            && duration > max.to_time(self.rate)
        {
            let (measured, limit) = self.duration_measures(duration, max);
            let message = format!("is on screen for {}, more than the maximum", duration);
            self.cue_finding(Rule::MaxDuration, cue, message, Some(measured), Some(limit));
        }
    }

    fn check_text(&mut self, cue: &TimedCue<'_>) {
        let lines = &cue.cue.lines;
        if let Some(max) = self.profile.max_lines
            && lines.len() > max as usize
        {
            let message = format!("has {} lines, more than {max}", lines.len());
            let (measured, limit) = (Measure::Lines(lines.len() as u64), Measure::Lines(u64::from(max)));
            self.cue_finding(Rule::MaxLines, cue, message, Some(measured), Some(limit));
        }
        if let Some(max) = self.profile.max_chars_per_line {
            for (number, line) in lines.iter().enumerate() {
                let length = counting::line_length(line);
                if length > max as usize {
                    let message = format!("line {} has {length} characters, more than {max}: {line:?}", number + 1);
                    let (measured, limit) = (Measure::Characters(length as u64), Measure::Characters(u64::from(max)));
                    self.cue_finding(Rule::MaxCharsPerLine, cue, message, Some(measured), Some(limit));
                }
            }
        }
        if let (Some(max_cps), Some(duration)) = (self.profile.max_reading_speed_cps, cue.duration()) {
            let characters = counting::reading_length(lines, self.profile.reading_speed_counting);
            // Exact for realistic values: both products stay far below 2^53.
            let too_fast = characters as f64 * Time::UNITS_PER_SECOND as f64 > max_cps * duration.units() as f64;
            if too_fast {
                let cps = round(characters as f64 / duration.as_secs_f64(), 2);
                let message = format!(
                    "{characters} characters in {duration} is {cps} characters per second, more than {max_cps}"
                );
                let (measured, limit) = (Measure::CharactersPerSecond(cps), Measure::CharactersPerSecond(max_cps));
                self.cue_finding(Rule::ReadingSpeed, cue, message, Some(measured), Some(limit));
            }
        }
    }

    /// Overlaps and gaps, taking cues in time order.
    fn check_sequence(&mut self, timed: &[TimedCue<'_>]) {
        let mut in_time_order: Vec<&TimedCue<'_>> =
            timed.iter().filter(|c| c.end.is_none_or(|end| end.time > c.begin.time)).collect();
        in_time_order.sort_by_key(|c| (c.begin.time, c.cue.index));
        let mut latest: Option<&TimedCue<'_>> = None;
        for cue in in_time_order {
            if let Some(previous) = latest {
                match previous.end {
                    None => {
                        let message = format!("starts while cue {} (never removed) is on screen", previous.cue.index);
                        self.cue_finding(Rule::Overlap, cue, message, None, None);
                    }
                    Some(previous_end) if cue.begin.time < previous_end.time => {
                        let overlap = previous_end.time.checked_sub(cue.begin.time).unwrap_or_default();
                        let message = format!(
                            "starts {} frames before cue {} ends ({})",
                            frames(overlap, self.rate),
                            previous.cue.index,
                            Timecode::from_time(previous_end.time, self.rate)
                        );
                        let measured = Measure::Frames(frames(overlap, self.rate));
                        self.cue_finding(Rule::Overlap, cue, message, Some(measured), Some(Measure::Frames(0.0)));
                    }
                    Some(previous_end) => self.check_gap(cue, previous, previous_end.time),
                }
            }
            let ends_later = match (latest.map(|l| l.end), cue.end) {
                (None, _) => true,
                (Some(None), _) => false,
                (Some(Some(_)), None) => true,
                (Some(Some(latest_end)), Some(end)) => end.time > latest_end.time,
            };
            if ends_later {
                latest = Some(cue);
            }
        }
    }

    fn check_gap(&mut self, cue: &TimedCue<'_>, previous: &TimedCue<'_>, previous_end: Time) {
        let Some(min_gap) = self.profile.min_gap_frames else { return };
        let gap = cue.begin.time.checked_sub(previous_end).unwrap_or_default();
        if shorter_than_frames(gap, min_gap, self.rate) {
            let message = format!(
                "follows cue {} after {} frames, fewer than {min_gap}",
                previous.cue.index,
                frames(gap, self.rate)
            );
            let (measured, limit) = (Measure::Frames(frames(gap, self.rate)), Measure::Frames(f64::from(min_gap)));
            self.cue_finding(Rule::MinGap, cue, message, Some(measured), Some(limit));
        }
    }
}
