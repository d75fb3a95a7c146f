//! Shared text handling: decoding bytes, line numbering, whitespace and inline-markup removal.

use crate::error::{ParseError, Problem};
use crate::model::{Location, SubtitleFormat};

/// Decodes a text subtitle file: UTF-8 (BOM optional) or UTF-16 with a BOM.
pub(crate) fn decode(bytes: &[u8], format: SubtitleFormat) -> Result<String, ParseError> {
    if let Some((encoding, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let body = &bytes[bom_len..];
        if encoding == encoding_rs::UTF_8 {
            return utf8(body, bom_len, format);
        }
        return encoding
            .decode_without_bom_handling_and_without_replacement(body)
            .map(|text| text.into_owned())
            .ok_or_else(|| {
                ParseError::new(format, Location::File, Problem::InvalidEncoding { encoding: encoding.name() })
            });
    }
    utf8(bytes, 0, format)
}

fn utf8(bytes: &[u8], offset: usize, format: SubtitleFormat) -> Result<String, ParseError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Ok(text.to_owned()),
        Err(err) => Err(ParseError::new(
            format,
            Location::Byte(offset + err.valid_up_to()),
            Problem::InvalidEncoding { encoding: "UTF-8" },
        )),
    }
}

/// Splits text into lines accepting LF, CRLF and lone CR endings.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        match current.find(['\n', '\r']) {
            Some(pos) => {
                let skip = if current[pos..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&current[pos + skip..]);
                Some(&current[..pos])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// Maps byte offsets to 1-based line numbers.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        let bytes = text.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let is_break = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if is_break {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset).max(1)
    }
}

/// Collapses every run of whitespace into one space and trims both ends.
pub(crate) fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Removes HTML-like tags (`<i>`, `</font>`, `<c.yellow>`, `<v Roger>`, `<00:01.000>`) and, when asked, SSA
/// override blocks (`{\an8}`) from one line of SRT or WebVTT text. A `<` that does not open a tag (`I <3 you`)
/// is kept.
pub(crate) fn strip_markup(line: &str, ssa_overrides: bool) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(pos) = rest.find(['<', '{']) {
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        let (is_tag, closer) = if let Some(after) = candidate.strip_prefix('<') {
            let next = after.chars().next();
            (next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/' || c == '.'), '>')
        } else {
            (ssa_overrides && candidate.starts_with("{\\"), '}')
        };
        match candidate.find(closer) {
            Some(end) if is_tag => rest = &candidate[end + 1..],
            _ => {
                out.push_str(&candidate[..1]);
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replaces the HTML character references WebVTT allows (`&amp;`, `&lt;`, `&nbsp;`, `&#233;`…). Unknown
/// references are kept as written.
pub(crate) fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('&') {
        out.push_str(&rest[..pos]);
        let candidate = &rest[pos..];
        let decoded = candidate.find(';').filter(|&end| end <= 12).and_then(|end| {
            let name = &candidate[1..end];
            let ch = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "lrm" => Some('\u{200e}'),
                "rlm" => Some('\u{200f}'),
                _ => name
                    .strip_prefix("#x")
                    .or_else(|| name.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| name.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32)
                    .filter(|&c| c != '\0'),
            };
            ch.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &candidate[end + 1..];
            }
            None => {
                out.push('&');
                rest = &candidate[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_accept_every_ending() {
        assert_eq!(lines("a\r\nb\rc\nd").collect::<Vec<_>>(), ["a", "b", "c", "d"]);
        assert_eq!(lines("a\n").collect::<Vec<_>>(), ["a", ""]);
        let index = LineIndex::new("a\r\nb\rc\nd");
        assert_eq!([0, 3, 5, 7].map(|o| index.line_of(o)), [1, 2, 3, 4]);
    }

    #[test]
    fn markup_is_removed_but_lone_brackets_stay() {
        assert_eq!(strip_markup("{\\an8}<i>Hello</i> <font color=\"red\">you</font>", true), "Hello you");
        assert_eq!(strip_markup("I <3 you {not ssa}", true), "I <3 you {not ssa}");
        assert_eq!(strip_markup("<v Roger>Hi <00:00:01.000>there<c.yellow>!</c>", false), "Hi there!");
        assert_eq!(strip_markup("unclosed <i", false), "unclosed <i");
    }

    #[test]
    fn entities_decode_and_unknown_ones_stay() {
        assert_eq!(decode_entities("Tom &amp; Jerry &lt;3 &#233;&#xE9; &bogus; &"), "Tom & Jerry <3 éé &bogus; &");
        assert_eq!(decode_entities("&#0;"), "&#0;");
    }

    #[test]
    fn bad_utf8_reports_the_byte() {
        let err = decode(b"ab\xffcd", SubtitleFormat::Srt).unwrap_err();
        assert_eq!(err.location, Location::Byte(2));
        let utf16 = [0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode(&utf16, SubtitleFormat::Srt).unwrap(), "hi");
        assert_eq!(decode(b"\xEF\xBB\xBFhi", SubtitleFormat::Srt).unwrap(), "hi");
    }
}
