//! SubRip (SRT): numbered blocks of `HH:MM:SS,mmm --> HH:MM:SS,mmm` and text lines, separated by blank lines.
//!
//! Real files stray from the informal format, so the reader accepts what players accept: a `.` instead of `,`
//! before the milliseconds, fewer than three millisecond digits, missing cue numbers, `X1:… Y2:…` coordinates after
//! the end time and a missing blank line before the next numbered cue. HTML-like tags and SSA overrides (`{\an8}`)
//! are removed from the text.

use crate::error::{ParseError, Problem};
use crate::model::{Document, Location, SubtitleFormat};
use crate::text;
use crate::time::Time;

const FORMAT: SubtitleFormat = SubtitleFormat::Srt;
const TIME_SYNTAX: &str = "HH:MM:SS,mmm";

/// Parses an SRT file (UTF-8, or UTF-16 with a BOM).
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let content = text::decode(bytes, FORMAT)?;
    let lines: Vec<&str> = text::lines(&content).collect();
    let mut doc = Document::new(FORMAT);
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line.is_empty() {
            i += 1;
            continue;
        }
        let first_line = i + 1;
        let timing_index = if line.contains("-->") {
            i
        } else if is_cue_number(line) {
            match lines.get(i + 1) {
                Some(next) if next.contains("-->") => i + 1,
                _ => {
                    let problem = Problem::MissingTimingLine { number: line.to_owned() };
                    return Err(ParseError::new(FORMAT, Location::Line(first_line), problem));
                }
            }
        } else {
            let problem = Problem::UnexpectedLine { found: line.to_owned() };
            return Err(ParseError::new(FORMAT, Location::Line(first_line), problem));
        };
        let (begin, end) = parse_timing(lines[timing_index], timing_index + 1)?;
        i = timing_index + 1;
        let mut cue_lines = Vec::new();
        while let Some(raw) = lines.get(i) {
            if raw.trim().is_empty() || starts_next_cue(&lines, i) {
                break;
            }
            let plain = text::strip_markup(raw, true);
            let plain = plain.trim();
            if !plain.is_empty() {
                cue_lines.push(plain.to_owned());
            }
            i += 1;
        }
        doc.push_cue(begin, Some(end), cue_lines, Location::Line(first_line));
    }
    Ok(doc)
}

fn is_cue_number(line: &str) -> bool {
    !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit())
}

/// A line that opens a new cue although no blank line preceded it.
fn starts_next_cue(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim();
    line.contains("-->") || (is_cue_number(line) && lines.get(i + 1).is_some_and(|next| next.contains("-->")))
}

fn parse_timing(line: &str, line_number: usize) -> Result<(Time, Time), ParseError> {
    let malformed = || {
        ParseError::new(FORMAT, Location::Line(line_number), Problem::MalformedTimingLine { found: line.to_owned() })
    };
    let (left, right) = line.split_once("-->").ok_or_else(malformed)?;
    let end_text = right.split_whitespace().next().ok_or_else(malformed)?;
    let begin = parse_time(left.trim(), line_number)?;
    let end = parse_time(end_text, line_number)?;
    Ok((begin, end))
}

fn parse_time(text: &str, line_number: usize) -> Result<Time, ParseError> {
    let malformed = || {
        let problem = Problem::MalformedTime { found: text.to_owned(), expected: TIME_SYNTAX };
        ParseError::new(FORMAT, Location::Line(line_number), problem)
    };
    let (clock, fraction) = text.split_once([',', '.']).ok_or_else(malformed)?;
    let mut fields = clock.split(':');
    let (Some(h), Some(m), Some(s), None) = (fields.next(), fields.next(), fields.next(), fields.next()) else {
        return Err(malformed());
    };
    let digits = |t: &str, max_len: usize| !t.is_empty() && t.len() <= max_len && t.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h, 9) && digits(m, 2) && digits(s, 2) && digits(fraction, 3)) {
        return Err(malformed());
    }
    let number = |t: &str| t.parse::<i64>().map_err(|_| malformed());
    let (hours, minutes, seconds) = (number(h)?, number(m)?, number(s)?);
    if minutes >= 60 || seconds >= 60 {
        return Err(malformed());
    }
    // ",5" means 500 ms: pad the fraction on the right to three digits.
    let millis = number(fraction)? * 10_i64.pow(3 - fraction.len() as u32);
    let total = ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis;
    Time::from_millis(total).ok_or_else(|| {
        ParseError::new(FORMAT, Location::Line(line_number), Problem::TimeOutOfRange { found: text.to_owned() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: i64) -> Time {
        Time::from_millis(millis).unwrap()
    }

    #[test]
    fn reads_cues_with_markup_removed() {
        let doc = parse(
            b"1\r\n00:00:01,000 --> 00:00:02,500\r\n<i>Hello</i>\r\n{\\an8}there\r\n\r\n2\r\n00:01:00.04 --> 01:00:00,000 X1:10 X2:20\r\nBye\r\n",
        )
        .unwrap();
        assert_eq!(doc.cues.len(), 2);
        assert_eq!(doc.cues[0].begin, ms(1000));
        assert_eq!(doc.cues[0].end, Some(ms(2500)));
        assert_eq!(doc.cues[0].lines, ["Hello", "there"]);
        assert_eq!(doc.cues[0].source_location, Location::Line(1));
        assert_eq!(doc.cues[1].begin, ms(60_040));
        assert_eq!(doc.cues[1].end, Some(ms(3_600_000)));
        assert_eq!(doc.cues[1].source_location, Location::Line(6));
        assert_eq!(doc.cues[1].index, 2);
    }

    #[test]
    fn tolerates_missing_numbers_and_missing_blank_lines() {
        let doc = parse(b"00:00:01,000 --> 00:00:02,000\nA\n2\n00:00:03,000 --> 00:00:04,000\nB\n").unwrap();
        assert_eq!(doc.cues.iter().map(|c| c.lines.clone()).collect::<Vec<_>>(), [vec!["A"], vec!["B"]]);
    }

    #[test]
    fn end_before_begin_is_kept_for_qc() {
        let doc = parse(b"1\n00:00:05,000 --> 00:00:04,000\nBackwards\n").unwrap();
        assert_eq!(doc.cues[0].end, Some(ms(4000)));
    }

    #[test]
    fn malformed_input_is_located() {
        let cases: [(&[u8], usize); 5] = [
            (b"1\n00:00:01,000 -> 00:00:02,000\nx\n", 1),
            (b"1\n00:00:01,000 --> 00:00:02\nx\n", 2),
            (b"1\n00:61:01,000 --> 00:00:02,000\nx\n", 2),
            (b"\n\nhello\n", 3),
            (b"1\n00:00:01,000 -->\nx\n", 2),
        ];
        for (input, line) in cases {
            let err = parse(input).unwrap_err();
            assert_eq!(err.location, Location::Line(line), "{err}");
            assert_eq!(err.format, Some(SubtitleFormat::Srt));
        }
        let err = parse(b"1\n999999999:00:00,000 --> 00:00:02,000\n").unwrap_err();
        assert!(matches!(err.problem, Problem::TimeOutOfRange { .. }), "{err}");
    }
}
