//! WebVTT (W3C): a `WEBVTT` signature, header lines, then blocks separated by blank lines: cues (optional
//! identifier, `[HH:]MM:SS.mmm --> [HH:]MM:SS.mmm [settings]`, text), `NOTE` comments, `STYLE` and `REGION`
//! definitions.
//!
//! WebVTT has no standard language field; the `Language: xx` header line many tools write is read as the
//! declared language. Cue text loses its tags (`<v>`, `<c>`, `<i>`, `<ruby>`, timestamps) and its character
//! references are decoded.

use crate::error::{ParseError, Problem};
use crate::model::{Document, Location, SubtitleFormat};
use crate::text;
use crate::time::Time;

const FORMAT: SubtitleFormat = SubtitleFormat::WebVtt;
const TIME_SYNTAX: &str = "[HH:]MM:SS.mmm";

/// Whether `content` opens with the WebVTT signature (after an optional BOM).
pub(crate) fn has_signature(content: &str) -> bool {
    let content = content.strip_prefix('\u{feff}').unwrap_or(content);
    content.strip_prefix("WEBVTT").is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\n', '\r']))
}

/// Parses a WebVTT file (UTF-8, or UTF-16 with a BOM).
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let content = text::decode(bytes, FORMAT)?;
    if !has_signature(&content) {
        return Err(ParseError::new(FORMAT, Location::Line(1), Problem::MissingHeader { expected: "WEBVTT" }));
    }
    let lines: Vec<&str> = text::lines(&content).collect();
    let mut doc = Document::new(FORMAT);
    let mut i = 1;
    while let Some(line) = lines.get(i) {
        if line.is_empty() {
            break;
        }
        if let Some((key, value)) = line.split_once(':')
            && key.trim().eq_ignore_ascii_case("language")
            && !value.trim().is_empty()
        {
            doc.declared_language = Some(value.trim().to_owned());
        }
        i += 1;
    }
    while i < lines.len() {
        if lines[i].trim().is_empty() {
            i += 1;
            continue;
        }
        let timing_index = if lines[i].contains("-->") {
            Some(i)
        } else if lines.get(i + 1).is_some_and(|l| l.contains("-->")) && !is_non_cue_block(lines[i]) {
            Some(i + 1)
        } else {
            None
        };
        let Some(timing_index) = timing_index else {
            // NOTE, STYLE and REGION blocks, and stray text, carry nothing displayed.
            while lines.get(i).is_some_and(|l| !l.trim().is_empty()) {
                i += 1;
            }
            continue;
        };
        let (begin, end) = parse_timing(lines[timing_index], timing_index + 1)?;
        i = timing_index + 1;
        let mut cue_lines = Vec::new();
        while let Some(raw) = lines.get(i) {
            if raw.trim().is_empty() || raw.contains("-->") {
                break;
            }
            let plain = text::decode_entities(&text::strip_markup(raw, false));
            let plain = plain.trim();
            if !plain.is_empty() {
                cue_lines.push(plain.to_owned());
            }
            i += 1;
        }
        doc.push_cue(begin, Some(end), cue_lines, Location::Line(timing_index + 1));
    }
    Ok(doc)
}

fn is_non_cue_block(line: &str) -> bool {
    ["NOTE", "STYLE", "REGION"]
        .iter()
        .any(|keyword| line.strip_prefix(keyword).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t'])))
}

fn parse_timing(line: &str, line_number: usize) -> Result<(Time, Time), ParseError> {
    let malformed = || {
        ParseError::new(FORMAT, Location::Line(line_number), Problem::MalformedTimingLine { found: line.to_owned() })
    };
    let (left, right) = line.split_once("-->").ok_or_else(malformed)?;
    let end_text = right.split_whitespace().next().ok_or_else(malformed)?;
    Ok((parse_time(left.trim(), line_number)?, parse_time(end_text, line_number)?))
}

fn parse_time(text: &str, line_number: usize) -> Result<Time, ParseError> {
    let malformed = || {
        let problem = Problem::MalformedTime { found: text.to_owned(), expected: TIME_SYNTAX };
        ParseError::new(FORMAT, Location::Line(line_number), problem)
    };
    let (clock, millis) = text.split_once('.').ok_or_else(malformed)?;
    let fields: Vec<&str> = clock.split(':').collect();
    let (hours, minutes, seconds) = match fields.as_slice() {
        [m, s] => ("0", *m, *s),
        [h, m, s] if h.len() >= 2 => (*h, *m, *s),
        _ => return Err(malformed()),
    };
    let digits = |t: &str, len: Option<usize>| {
        !t.is_empty() && t.len() <= 9 && len.is_none_or(|l| t.len() == l) && t.bytes().all(|b| b.is_ascii_digit())
    };
    if !(digits(hours, None) && digits(minutes, Some(2)) && digits(seconds, Some(2)) && digits(millis, Some(3))) {
        return Err(malformed());
    }
    let number = |t: &str| t.parse::<i64>().map_err(|_| malformed());
    let (h, m, s, ms) = (number(hours)?, number(minutes)?, number(seconds)?, number(millis)?);
    if m >= 60 || s >= 60 {
        return Err(malformed());
    }
    Time::from_millis(((h * 60 + m) * 60 + s) * 1000 + ms).ok_or_else(|| {
        ParseError::new(FORMAT, Location::Line(line_number), Problem::TimeOutOfRange { found: text.to_owned() })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: i64) -> Time {
        Time::from_millis(millis).unwrap()
    }

    const SAMPLE: &str = "WEBVTT - film\nKind: captions\nLanguage: fr-CA\n\nSTYLE\n::cue { color: yellow }\n\n\
NOTE a comment\nspanning lines\n\nintro\n00:01.000 --> 00:04.250 line:0 align:start\n<v Anna>Bonjour &amp; <i>bienvenue</i></v>\n\
<c.yellow>Deuxième</c> ligne\n\n01:00:00.000 --> 01:00:01.000\n&lt;chuchote&gt;\n00:00:05.000 --> 00:00:06.000\nSans ligne vide\n";

    #[test]
    fn reads_header_language_and_cues() {
        let doc = parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(doc.declared_language.as_deref(), Some("fr-CA"));
        assert_eq!(doc.cues.len(), 3);
        assert_eq!(doc.cues[0].begin, ms(1000));
        assert_eq!(doc.cues[0].end, Some(ms(4250)));
        assert_eq!(doc.cues[0].lines, ["Bonjour & bienvenue", "Deuxième ligne"]);
        assert_eq!(doc.cues[0].source_location, Location::Line(12));
        assert_eq!(doc.cues[1].begin, ms(3_600_000));
        assert_eq!(doc.cues[1].lines, ["<chuchote>"]);
        assert_eq!(doc.cues[2].lines, ["Sans ligne vide"]);
    }

    #[test]
    fn signature_is_required() {
        let err = parse(b"WEBVTTX\n\n00:01.000 --> 00:02.000\nx\n").unwrap_err();
        assert_eq!(err.problem, Problem::MissingHeader { expected: "WEBVTT" });
        assert!(parse(b"\xEF\xBB\xBFWEBVTT").unwrap().cues.is_empty());
    }

    #[test]
    fn malformed_times_are_located() {
        for (input, line) in [
            ("WEBVTT\n\n00:01,000 --> 00:02.000\nx\n", 3),
            ("WEBVTT\n\n1:00:01.000 --> 00:02.000\nx\n", 3),
            ("WEBVTT\n\nid\n00:01.00 --> 00:02.000\nx\n", 4),
            ("WEBVTT\n\n00:01.000 --> \nx\n", 3),
        ] {
            let err = parse(input.as_bytes()).unwrap_err();
            assert_eq!(err.location, Location::Line(line), "{input}: {err}");
        }
    }
}
