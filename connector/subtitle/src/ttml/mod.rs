//! TTML / IMSC 1.1 text profile (also EBU-TT-D and legacy DFXP namespaces).
//!
//! Each `<p>` becomes one cue. Its active interval follows TTML parallel time containment (`timeContainer="seq"`
//! is refused with an error rather than mistimed): `begin`/`end` count from the parent's begin, `dur` from the
//! element's own begin, the earlier of `end` and `begin + dur` wins, an element without either lasts as long as
//! its parent, and every interval is clipped by its parent's. A body
//! without timing leaves untimed paragraphs open-ended. `<span>` and `<br/>` shape the text; styling, layout,
//! metadata and animation are irrelevant to QC and skipped. Spans timed to lie wholly outside their paragraph add no
//! text; a paragraph whose own `end` precedes its `begin` is kept so that QC reports it.

mod timing;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

use crate::error::{ParseError, Problem};
use crate::model::{Document, Location, SubtitleFormat};
use crate::text::{self, LineIndex};
use crate::time::Time;
use timing::TimingParameters;

const FORMAT: SubtitleFormat = SubtitleFormat::Ttml;
const TIME_EXPRESSION: &str = "a TTML time expression such as 00:00:01.000, 00:00:01:12, 1.5s, 24f or 9000t";
const TTML_NAMESPACES: [&str; 3] =
    ["http://www.w3.org/ns/ttml", "http://www.w3.org/2006/10/ttaf1", "http://www.w3.org/2006/04/ttaf1"];

/// Parses a TTML document (UTF-8, UTF-16 with a BOM, or the encoding its XML declaration names).
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let content = decode_xml(bytes)?;
    Parser::new(&content).run()
}

fn decode_xml(bytes: &[u8]) -> Result<String, ParseError> {
    if encoding_rs::Encoding::for_bom(bytes).is_some() || std::str::from_utf8(bytes).is_ok() {
        return text::decode(bytes, FORMAT);
    }
    let head = &bytes[..bytes.len().min(200)];
    let declared = String::from_utf8_lossy(head)
        .split_once("encoding=")
        .and_then(|(_, rest)| {
            let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
            rest[1..].split(quote).next().map(str::to_owned)
        })
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    match declared {
        Some(encoding) if encoding != encoding_rs::UTF_8 => encoding
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|text| text.into_owned())
            .ok_or_else(|| {
                ParseError::new(FORMAT, Location::File, Problem::InvalidEncoding { encoding: encoding.name() })
            }),
        _ => text::decode(bytes, FORMAT),
    }
}

fn is_ttml_namespace(ns: &[u8]) -> bool {
    TTML_NAMESPACES.iter().any(|candidate| candidate.as_bytes() == ns)
}

fn is_parameter_namespace(ns: &[u8]) -> bool {
    ns.strip_suffix(b"#parameter").is_some_and(is_ttml_namespace)
}

/// What an open element means for the text being collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Root,
    Container,
    Paragraph,
    Span,
    LineBreak,
    Skipped,
}

#[derive(Debug)]
struct OpenElement {
    name: String,
    role: Role,
    begin: Time,
    end: Option<Time>,
    preserve_space: bool,
}

/// The part of an open element its children inherit.
#[derive(Clone, Copy, Debug)]
struct Scope {
    role: Role,
    begin: Time,
    end: Option<Time>,
    preserve_space: bool,
}

struct CueBuilder {
    begin: Time,
    end: Option<Time>,
    lines: Vec<String>,
    preserve_space: bool,
    line: usize,
}

struct Parser<'a> {
    reader: NsReader<&'a [u8]>,
    lines: LineIndex,
    params: TimingParameters,
    stack: Vec<OpenElement>,
    cue: Option<CueBuilder>,
    doc: Document,
    root_closed: bool,
}

impl<'a> Parser<'a> {
    fn new(content: &'a str) -> Parser<'a> {
        let mut reader = NsReader::from_str(content);
        reader.config_mut().expand_empty_elements = true;
        Parser {
            reader,
            lines: LineIndex::new(content),
            params: TimingParameters::default(),
            stack: Vec::new(),
            cue: None,
            doc: Document::new(FORMAT),
            root_closed: false,
        }
    }

    fn error_at(&self, offset: u64, problem: Problem) -> ParseError {
        let line = self.lines.line_of(usize::try_from(offset).unwrap_or(usize::MAX));
        ParseError::new(FORMAT, Location::Line(line), problem)
    }

    fn run(mut self) -> Result<Document, ParseError> {
        loop {
            let position = self.reader.buffer_position();
            let (in_ttml, event) = match self.reader.read_resolved_event() {
                Ok((ns, event)) => (matches!(ns, ResolveResult::Bound(Namespace(n)) if is_ttml_namespace(n)), event),
                Err(err) => {
                    let offset = self.reader.error_position();
                    return Err(self.error_at(offset, Problem::Xml { detail: err.to_string() }));
                }
            };
            match event {
                Event::Start(start) => self.open(&start, in_ttml, position)?,
                Event::End(_) => self.close(),
                Event::Text(text) => {
                    let decoded = text
                        .xml_content()
                        .map_err(|err| self.error_at(position, Problem::Xml { detail: err.to_string() }))?;
                    self.append_text(&decoded);
                }
                Event::CData(data) => {
                    let decoded = data
                        .xml_content()
                        .map_err(|err| self.error_at(position, Problem::Xml { detail: err.to_string() }))?;
                    self.append_text(&decoded);
                }
                Event::GeneralRef(reference) => {
                    let resolved = match reference.resolve_char_ref() {
                        Ok(Some(ch)) => Some(ch.to_string()),
                        Ok(None) => reference
                            .decode()
                            .ok()
                            .and_then(|name| quick_xml::escape::resolve_predefined_entity(&name))
                            .map(str::to_owned),
                        Err(_) => None,
                    };
                    let Some(resolved) = resolved else {
                        let name = String::from_utf8_lossy(&reference).into_owned();
                        let detail = format!("unknown or invalid entity reference &{name};");
                        return Err(self.error_at(position, Problem::Xml { detail }));
                    };
                    self.append_text(&resolved);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        if let Some(open) = self.stack.last() {
            let detail = format!("the file ends inside <{}>", open.name);
            let end = self.reader.buffer_position();
            return Err(self.error_at(end, Problem::Xml { detail }));
        }
        if !self.root_closed {
            return Err(ParseError::new(FORMAT, Location::File, Problem::NotTtml { found: "(none)".to_owned() }));
        }
        Ok(self.doc)
    }

    fn open(&mut self, start: &BytesStart<'_>, in_ttml: bool, position: u64) -> Result<(), ParseError> {
        let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
        let parent = self.stack.last().map(|p| Scope {
            role: p.role,
            begin: p.begin,
            end: p.end,
            preserve_space: p.preserve_space,
        });
        let Some(parent) = parent else {
            if self.root_closed {
                let detail = format!("element <{local}> after the root element");
                return Err(self.error_at(position, Problem::Xml { detail }));
            }
            if !(in_ttml && local == "tt") {
                let found = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                return Err(self.error_at(position, Problem::NotTtml { found }));
            }
            let preserve_space = self.read_root_attributes(start, position)?;
            self.stack.push(OpenElement {
                name: local,
                role: Role::Root,
                begin: Time::ZERO,
                end: None,
                preserve_space,
            });
            return Ok(());
        };
        let role = match (in_ttml, parent.role, local.as_str()) {
            (_, Role::Skipped | Role::LineBreak, _) | (false, _, _) => Role::Skipped,
            (true, Role::Root, "body") | (true, Role::Container, "div") => Role::Container,
            (true, Role::Container, "p") => Role::Paragraph,
            (true, Role::Paragraph | Role::Span, "span") => Role::Span,
            (true, Role::Paragraph | Role::Span, "br") => Role::LineBreak,
            _ => Role::Skipped,
        };
        let mut element =
            OpenElement { name: local, role, begin: parent.begin, end: parent.end, preserve_space: false };
        element.preserve_space = self.space_attribute(start, position)?.unwrap_or(parent.preserve_space);
        if matches!(role, Role::Container | Role::Paragraph | Role::Span) {
            let own = self.timing(start, position, &parent)?;
            element.begin = own.begin;
            element.end = own.end;
            let clipped_out = parent.end.is_some_and(|parent_end| own.begin >= parent_end);
            let own_empty = own.end.is_some_and(|end| end <= own.begin);
            let keep_for_qc = role == Role::Paragraph && own.explicit_end && !clipped_out;
            if (clipped_out || own_empty) && !keep_for_qc {
                element.role = Role::Skipped;
            }
        }
        match element.role {
            Role::Paragraph => {
                self.cue = Some(CueBuilder {
                    begin: element.begin,
                    end: element.end,
                    lines: vec![String::new()],
                    preserve_space: element.preserve_space,
                    line: self.lines.line_of(usize::try_from(position).unwrap_or(usize::MAX)),
                });
            }
            Role::LineBreak => {
                if let Some(cue) = self.cue.as_mut() {
                    cue.lines.push(String::new());
                }
            }
            _ => {}
        }
        self.stack.push(element);
        Ok(())
    }

    fn close(&mut self) {
        let Some(element) = self.stack.pop() else { return };
        match element.role {
            Role::Root => self.root_closed = true,
            Role::Paragraph => {
                if let Some(cue) = self.cue.take() {
                    let lines: Vec<String> =
                        cue.lines
                            .iter()
                            .map(|line| {
                                if cue.preserve_space {
                                    line.trim().to_owned()
                                } else {
                                    text::collapse_whitespace(line)
                                }
                            })
                            .filter(|line| !line.is_empty())
                            .collect();
                    if !lines.is_empty() {
                        self.doc.push_cue(cue.begin, cue.end, lines, Location::Line(cue.line));
                    }
                }
            }
            _ => {}
        }
    }

    fn append_text(&mut self, content: &str) {
        let Some(top) = self.stack.last() else { return };
        if !matches!(top.role, Role::Paragraph | Role::Span) {
            return;
        }
        let preserve = top.preserve_space;
        let Some(cue) = self.cue.as_mut() else { return };
        for (i, piece) in content.split('\n').enumerate() {
            if i > 0 {
                if preserve {
                    cue.lines.push(String::new());
                } else if let Some(line) = cue.lines.last_mut() {
                    line.push(' ');
                }
            }
            if let Some(line) = cue.lines.last_mut() {
                line.push_str(piece);
            }
        }
    }

    fn attribute_error(&self, position: u64, err: impl std::fmt::Display) -> ParseError {
        self.error_at(position, Problem::Xml { detail: err.to_string() })
    }

    /// Reads `xml:space`; `Some(true)` for `preserve`.
    fn space_attribute(&self, start: &BytesStart<'_>, position: u64) -> Result<Option<bool>, ParseError> {
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| self.attribute_error(position, err))?;
            if attribute.key.as_ref() == b"xml:space" {
                let value = attribute
                    .decode_and_unescape_value(self.reader.decoder())
                    .map_err(|err| self.attribute_error(position, err))?;
                return match value.trim() {
                    "preserve" => Ok(Some(true)),
                    "default" => Ok(Some(false)),
                    other => Err(self.invalid(position, "xml:space", other, "\"default\" or \"preserve\"")),
                };
            }
        }
        Ok(None)
    }

    fn invalid(&self, position: u64, attribute: &str, found: &str, expected: &'static str) -> ParseError {
        let problem = Problem::InvalidAttribute { attribute: attribute.to_owned(), found: found.to_owned(), expected };
        self.error_at(position, problem)
    }

    /// Reads language and timing parameters from `<tt>`; returns its `xml:space` setting.
    fn read_root_attributes(&mut self, start: &BytesStart<'_>, position: u64) -> Result<bool, ParseError> {
        let mut params = TimingParameters::default();
        let mut time_base = String::from("media");
        let mut drop_mode = String::from("nonDrop");
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| self.attribute_error(position, err))?;
            let value = attribute
                .decode_and_unescape_value(self.reader.decoder())
                .map_err(|err| self.attribute_error(position, err))?;
            let value = value.trim();
            if attribute.key.as_ref() == b"xml:lang" {
                self.doc.declared_language = (!value.is_empty()).then(|| value.to_owned());
                continue;
            }
            let (ns, local) = self.reader.resolve_attribute(attribute.key);
            let is_parameter = matches!(ns, ResolveResult::Bound(Namespace(n)) if is_parameter_namespace(n));
            if !is_parameter {
                continue;
            }
            let positive = |name: &str| -> Result<u32, ParseError> {
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|v| *v > 0 && value.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| self.invalid(position, name, value, "a positive integer"))
            };
            match local.as_ref() {
                b"frameRate" => {
                    params.frame_rate = positive("ttp:frameRate")?;
                    params.frame_rate_declared = true;
                }
                b"subFrameRate" => params.sub_frame_rate = positive("ttp:subFrameRate")?,
                b"tickRate" => params.tick_rate = Some(positive("ttp:tickRate")?),
                b"frameRateMultiplier" => {
                    let mut parts = value.split_whitespace().map(|p| p.parse::<u32>().ok().filter(|v| *v > 0));
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(Some(n)), Some(Some(d)), None) => params.multiplier = (n, d),
                        _ => {
                            let expected = "two positive integers such as \"1000 1001\"";
                            return Err(self.invalid(position, "ttp:frameRateMultiplier", value, expected));
                        }
                    }
                }
                b"timeBase" => time_base = value.to_owned(),
                b"dropMode" => drop_mode = value.to_owned(),
                _ => {}
            }
        }
        if !matches!(time_base.as_str(), "media" | "smpte" | "clock") {
            return Err(self.invalid(position, "ttp:timeBase", &time_base, "\"media\", \"smpte\" or \"clock\""));
        }
        match drop_mode.as_str() {
            "nonDrop" => {}
            "dropNTSC" if time_base == "smpte" => {
                if params.frame_rate != 30 || params.multiplier != (1000, 1001) {
                    let expected = "ttp:frameRate=\"30\" with ttp:frameRateMultiplier=\"1000 1001\" for dropNTSC";
                    return Err(self.invalid(position, "ttp:dropMode", &drop_mode, expected));
                }
                params.drop_ntsc = true;
            }
            "dropNTSC" => {}
            other => {
                let expected = "\"nonDrop\" or \"dropNTSC\" (dropPAL is not supported)";
                return Err(self.invalid(position, "ttp:dropMode", other, expected));
            }
        }
        self.params = params;
        self.doc.frame_rate = params.declared_frame_rate();
        Ok(self.space_attribute(start, position)?.unwrap_or(false))
    }

    fn timing(&self, start: &BytesStart<'_>, position: u64, parent: &Scope) -> Result<OwnTiming, ParseError> {
        let (mut begin, mut end, mut dur) = (None, None, None);
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|err| self.attribute_error(position, err))?;
            if attribute.key.as_ref() == b"timeContainer" {
                let value = attribute
                    .decode_and_unescape_value(self.reader.decoder())
                    .map_err(|err| self.attribute_error(position, err))?;
                if value.trim() != "par" {
                    let expected = "\"par\" (sequential time containers are not supported; time children explicitly)";
                    return Err(self.invalid(position, "timeContainer", &value, expected));
                }
                continue;
            }
            let slot = match attribute.key.as_ref() {
                b"begin" => &mut begin,
                b"end" => &mut end,
                b"dur" => &mut dur,
                _ => continue,
            };
            let name = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .decode_and_unescape_value(self.reader.decoder())
                .map_err(|err| self.attribute_error(position, err))?;
            let time =
                self.params.evaluate(&value).ok_or_else(|| self.invalid(position, &name, &value, TIME_EXPRESSION))?;
            *slot = Some(time);
        }
        let overflow = || self.error_at(position, Problem::TimeOutOfRange { found: "begin/end/dur".to_owned() });
        let own_begin = parent.begin.checked_add(begin.unwrap_or(Time::ZERO)).ok_or_else(overflow)?;
        let by_end = end.map(|e| parent.begin.checked_add(e).ok_or_else(overflow)).transpose()?;
        let by_dur = dur.map(|d| own_begin.checked_add(d).ok_or_else(overflow)).transpose()?;
        let own_end = match (by_end, by_dur) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (Some(a), None) | (None, Some(a)) => Some(a),
            (None, None) => None,
        };
        let explicit_end = own_end.is_some();
        let end = match (own_end.or(parent.end), parent.end) {
            (Some(own), Some(limit)) => Some(own.min(limit)),
            (own, _) => own,
        };
        Ok(OwnTiming { begin: own_begin, end, explicit_end })
    }
}

struct OwnTiming {
    begin: Time,
    end: Option<Time>,
    explicit_end: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::FrameRate;

    fn secs(num: i128, den: i128) -> Time {
        Time::from_ratio(num, den).unwrap()
    }

    const NESTED: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
    xmlns:tts="http://www.w3.org/ns/ttml#styling" xml:lang="fr"
    ttp:frameRate="24" ttp:frameRateMultiplier="1000 1001" ttp:tickRate="10000000">
  <head><metadata><p>not a cue</p></metadata></head>
  <body begin="10s">
    <div begin="00:00:01:00">
      <p begin="0s" end="2s">Bonjour <span tts:fontStyle="italic">à
         tous</span><br/>et   &amp; <span begin="5s" end="6s">hors champ</span>merci&#x21;</p>
      <p begin="24f" dur="10000000t"><metadata>note</metadata>Deux</p>
      <p begin="3s" end="1s">Inversé</p>
      <p xml:space="preserve" begin="5s" end="6s">ligne un
ligne deux</p>
      <p begin="1s" end="2s">   </p>
    </div>
    <div end="1s"><p begin="2s">clipped out</p></div>
  </body>
</tt>"#;

    #[test]
    fn nested_timing_and_text() {
        let doc = parse(NESTED.as_bytes()).unwrap();
        assert_eq!(doc.declared_language.as_deref(), Some("fr"));
        assert_eq!(doc.frame_rate, Some(FrameRate::FPS_23_976));
        let cues: Vec<_> = doc.cues.iter().map(|c| (c.begin, c.end, c.lines.clone())).collect();
        // body 10 s + div 1 s (clock seconds are real seconds; frames would add 1.001/24 s each).
        let div = secs(11, 1);
        assert_eq!(
            cues[0],
            (
                div,
                Some(div.checked_add(secs(2, 1)).unwrap()),
                vec!["Bonjour à tous".to_owned(), "et & merci!".to_owned()]
            )
        );
        let two = div.checked_add(secs(1001, 1000)).unwrap();
        assert_eq!(cues[1], (two, Some(two.checked_add(secs(1, 1)).unwrap()), vec!["Deux".to_owned()]));
        assert_eq!(cues[2].1, Some(div.checked_add(secs(1, 1)).unwrap()));
        assert!(cues[2].0 > cues[2].1.unwrap(), "inverted paragraph kept for QC");
        assert_eq!(cues[3].2, ["ligne un", "ligne deux"]);
        assert_eq!(cues.len(), 4);
        assert_eq!(doc.cues[0].source_location, Location::Line(8));
    }

    #[test]
    fn untimed_paragraphs_are_open_ended() {
        let doc = parse(br#"<tt xmlns="http://www.w3.org/ns/ttml"><body><div><p>a</p></div></body></tt>"#).unwrap();
        assert_eq!(doc.cues[0].begin, Time::ZERO);
        assert_eq!(doc.cues[0].end, None);
        assert_eq!(doc.declared_language, None);
        assert_eq!(doc.frame_rate, None);
    }

    #[test]
    fn errors_are_typed_and_located() {
        let not_tt = parse(b"<html xmlns=\"http://www.w3.org/1999/xhtml\"/>").unwrap_err();
        assert!(matches!(not_tt.problem, Problem::NotTtml { .. }), "{not_tt}");
        let bad_time =
            parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\">\n<body>\n<div><p begin=\"1.5x\">a</p></div></body></tt>")
                .unwrap_err();
        assert_eq!(bad_time.location, Location::Line(3));
        assert!(matches!(bad_time.problem, Problem::InvalidAttribute { ref attribute, .. } if attribute == "begin"));
        let unclosed = parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\"><body><div><p>a</p>").unwrap_err();
        assert!(matches!(unclosed.problem, Problem::Xml { .. }), "{unclosed}");
        let mismatched = parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\">\n<body></div></tt>").unwrap_err();
        assert_eq!(mismatched.location, Location::Line(2), "{mismatched}");
        let seq = parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\"><body timeContainer=\"seq\"/></tt>").unwrap_err();
        assert!(matches!(seq.problem, Problem::InvalidAttribute { ref attribute, .. } if attribute == "timeContainer"));
        let bad_rate = parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\" xmlns:ttp=\"http://www.w3.org/ns/ttml#parameter\" ttp:frameRate=\"0\"/>").unwrap_err();
        assert!(matches!(bad_rate.problem, Problem::InvalidAttribute { .. }), "{bad_rate}");
        let entity =
            parse(b"<tt xmlns=\"http://www.w3.org/ns/ttml\"><body><div><p>&nope;</p></div></body></tt>").unwrap_err();
        assert!(matches!(entity.problem, Problem::Xml { .. }), "{entity}");
    }

    #[test]
    fn declared_legacy_encoding_is_honoured() {
        let mut bytes =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><tt xmlns=\"http://www.w3.org/ns/ttml\"><body><div><p>caf"
                .to_vec();
        bytes.push(0xE9);
        bytes.extend_from_slice(b"</p></div></body></tt>");
        assert_eq!(parse(&bytes).unwrap().cues[0].lines, ["café"]);
    }
}
