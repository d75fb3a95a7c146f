//! Streaming XML reading shared by the MDDF and EBUCore importers.
//!
//! The reader walks the document once with quick-xml and materialises only the
//! *records* (an `Avail`, a MEC `Basic`, or the whole root for small documents) as
//! a tiny element tree, so a 100 000-work feed never lives in memory as a DOM.
//! Names are local names: MDDF changes its namespace URIs with every version and
//! prefixes are the author's choice, so neither is relied upon.

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};

use crate::ImportError;

/// Deepest element nesting accepted; MDDF and EBUCore stay far below, a hostile
/// file would otherwise make the tree (and its recursive drop) arbitrarily deep.
const MAX_DEPTH: usize = 200;

/// One element of a record, with what is needed to report a precise location.
#[derive(Debug, Clone, Default)]
pub(crate) struct Element {
    /// Local name (prefix removed).
    pub name: String,
    /// Attributes by local name (namespace declarations left out).
    pub attrs: Vec<(String, String)>,
    /// Direct text content, entities resolved, not trimmed.
    pub text: String,
    pub children: Vec<Element>,
    /// 1-based line of the start tag.
    pub line: u32,
    /// 1-based position among the parent's children of the same name.
    pub pos: u32,
}

impl Element {
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == local).map(|(_, v)| v.trim()).filter(|v| !v.is_empty())
    }

    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Element> + use<'s, 'n> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of this element, `None` when blank.
    pub fn value(&self) -> Option<&str> {
        let t = self.text.trim();
        (!t.is_empty()).then_some(t)
    }

    /// Trimmed text of the first child called `name`, `None` when absent or blank.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).and_then(Element::value)
    }

    /// Path segment of this element: `Avail[3]`, or `Avail` for the first of its name.
    pub fn segment(&self) -> String {
        if self.pos > 1 { format!("{}[{}]", self.name, self.pos) } else { self.name.clone() }
    }

    /// Path of a child given this element's path.
    pub fn path_of(parent_path: &str, child: &Element) -> String {
        format!("{parent_path}/{}", child.segment())
    }

    /// A location string for an element at `path`: `path (line N)`.
    pub fn location(path: &str, el: &Element) -> String {
        format!("{path} (line {})", el.line)
    }
}

/// What the walk found besides the records.
pub(crate) struct Walk {
    /// Local name of the root element.
    pub root: String,
    /// Set when the document breaks off after the root started (truncated or
    /// malformed): the line and the parser's message. Records completed before it
    /// were delivered.
    pub broken: Option<(u32, String)>,
}

/// Counts lines up to a byte offset, advancing monotonically (one pass overall).
struct LineCounter<'a> {
    bytes: &'a [u8],
    pos: usize,
    line: u32,
}

impl<'a> LineCounter<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        LineCounter { bytes, pos: 0, line: 1 }
    }

    fn line_at(&mut self, offset: u64) -> u32 {
        let target = usize::try_from(offset).unwrap_or(usize::MAX).min(self.bytes.len());
        if target > self.pos {
            let newlines = self.bytes[self.pos..target].iter().filter(|&&b| b == b'\n').count();
            self.line = self.line.saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX));
            self.pos = target;
        }
        self.line
    }
}

/// Per open element outside records: its name and how many children of each name it had so far.
struct Frame {
    name: String,
    seen: Vec<(String, u32)>,
}

impl Frame {
    fn next_pos(&mut self, child: &str) -> u32 {
        if let Some((_, n)) = self.seen.iter_mut().find(|(name, _)| name == child) {
            *n += 1;
            return *n;
        }
        self.seen.push((child.to_string(), 1));
        1
    }
}

/// Decides whether an element starts a record: `(local name, depth, attributes)`;
/// depth 0 is the root.
pub(crate) type RecordTest<'t> = &'t dyn Fn(&str, usize, &[(String, String)]) -> bool;

/// Walks `bytes`, calling `on_record(element, path)` for every record; `path` is the
/// record's element path (`/AvailList/Avail[3]`).
pub(crate) fn walk(
    file: &str,
    bytes: &[u8],
    is_record: RecordTest<'_>,
    mut on_record: impl FnMut(Element, &str),
) -> Result<Walk, ImportError> {
    let text = std::str::from_utf8(strip_bom(bytes)).map_err(|e| ImportError::Encoding {
        file: file.to_string(),
        detail: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut lines = LineCounter::new(text.as_bytes());
    let mut frames: Vec<Frame> = Vec::new();
    // The record being built: a stack of open elements, the bottom one is the record.
    let mut building: Vec<Element> = Vec::new();
    let mut record_path = String::new();
    let mut root: Option<String> = None;

    loop {
        let offset = reader.buffer_position();
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(err) => {
                let line = lines.line_at(reader.error_position());
                return broken(file, root, line, err.to_string());
            }
        };
        match event {
            Event::Start(start) => {
                let line = lines.line_at(offset);
                if frames.len() + building.len() >= MAX_DEPTH {
                    return broken(file, root, line, format!("elements nested deeper than {MAX_DEPTH} levels"));
                }
                let el = match open(&start, line) {
                    Ok(el) => el,
                    Err(msg) => return broken(file, root, line, msg),
                };
                root.get_or_insert_with(|| el.name.clone());
                enter(el, &mut frames, &mut building, &mut record_path, is_record, &mut on_record, false);
            }
            Event::Empty(start) => {
                let line = lines.line_at(offset);
                let el = match open(&start, line) {
                    Ok(el) => el,
                    Err(msg) => return broken(file, root, line, msg),
                };
                root.get_or_insert_with(|| el.name.clone());
                enter(el, &mut frames, &mut building, &mut record_path, is_record, &mut on_record, true);
            }
            Event::End(_) => {
                if let Some(el) = building.pop() {
                    close(el, &mut building, &record_path, &mut on_record);
                } else {
                    frames.pop();
                }
            }
            Event::Text(t) => {
                if let Some(top) = building.last_mut() {
                    match t.xml10_content() {
                        Ok(s) => top.text.push_str(&s),
                        Err(e) => return broken(file, root, lines.line_at(offset), e.to_string()),
                    }
                } else if root.is_some() && frames.is_empty() && !t.iter().all(u8::is_ascii_whitespace) {
                    return broken(file, root, lines.line_at(offset), "text after the end of the root element".into());
                }
            }
            Event::CData(c) => {
                if let Some(top) = building.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&c));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = building.last_mut() {
                    match r.resolve_char_ref() {
                        Ok(Some(ch)) => top.text.push(ch),
                        Ok(None) => {
                            let name = String::from_utf8_lossy(&r).into_owned();
                            match resolve_predefined_entity(&name) {
                                Some(s) => top.text.push_str(s),
                                None => {
                                    let line = lines.line_at(offset);
                                    return broken(file, root, line, format!("undefined entity `&{name};`"));
                                }
                            }
                        }
                        Err(e) => return broken(file, root, lines.line_at(offset), e.to_string()),
                    }
                }
            }
            Event::Eof => {
                if root.is_none() {
                    return Err(ImportError::MalformedXml {
                        file: file.to_string(),
                        line: lines.line_at(offset),
                        message: "no root element".into(),
                    });
                }
                if !frames.is_empty() || !building.is_empty() {
                    let open =
                        frames.last().map(|f| f.name.clone()).or_else(|| building.last().map(|e| e.name.clone()));
                    let line = lines.line_at(offset);
                    return broken(
                        file,
                        root,
                        line,
                        format!("the file ends inside element `{}`: it is truncated", open.unwrap_or_default()),
                    );
                }
                return Ok(Walk { root: root.unwrap_or_default(), broken: None });
            }
            _ => {}
        }
    }
}

/// Reads a whole (small) document as one element tree.
pub(crate) fn read_document(file: &str, bytes: &[u8]) -> Result<Element, ImportError> {
    let mut doc: Option<Element> = None;
    let walk = walk(file, bytes, &|_, depth, _| depth == 0, |el, _| doc = Some(el))?;
    if let Some((line, message)) = walk.broken {
        return Err(ImportError::MalformedXml { file: file.to_string(), line, message });
    }
    doc.ok_or_else(|| ImportError::MalformedXml { file: file.to_string(), line: 1, message: "no root element".into() })
}

fn broken(file: &str, root: Option<String>, line: u32, message: String) -> Result<Walk, ImportError> {
    match root {
        Some(root) => Ok(Walk { root, broken: Some((line, message)) }),
        None => Err(ImportError::MalformedXml { file: file.to_string(), line, message }),
    }
}

fn open(start: &BytesStart<'_>, line: u32) -> Result<Element, String> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        let value = attr.unescape_value().map_err(|e| e.to_string())?.into_owned();
        attrs.push((key, value));
    }
    Ok(Element { name, attrs, line, ..Element::default() })
}

fn enter(
    mut el: Element,
    frames: &mut Vec<Frame>,
    building: &mut Vec<Element>,
    record_path: &mut String,
    is_record: RecordTest<'_>,
    on_record: &mut impl FnMut(Element, &str),
    empty: bool,
) {
    if let Some(parent) = building.last() {
        el.pos = parent.children.iter().filter(|c| c.name == el.name).count() as u32 + 1;
        if empty {
            if let Some(parent) = building.last_mut() {
                parent.children.push(el);
            }
        } else {
            building.push(el);
        }
        return;
    }
    el.pos = frames.last_mut().map_or(1, |f| f.next_pos(&el.name));
    if is_record(&el.name, frames.len(), &el.attrs) {
        record_path.clear();
        for f in frames.iter() {
            record_path.push('/');
            record_path.push_str(&f.name);
        }
        record_path.push('/');
        record_path.push_str(&el.segment());
        if empty {
            let path = record_path.clone();
            on_record(el, &path);
        } else {
            building.push(el);
        }
        return;
    }
    if !empty {
        let name = if el.pos > 1 { el.segment() } else { el.name };
        frames.push(Frame { name, seen: Vec::new() });
    }
}

fn close(mut el: Element, building: &mut [Element], record_path: &str, on_record: &mut impl FnMut(Element, &str)) {
    collapse_line_breaks(&mut el.text);
    match building.last_mut() {
        Some(parent) => parent.children.push(el),
        None => on_record(el, record_path),
    }
}

/// Pretty-printed XML wraps long titles over several indented lines; inside a value
/// a line break and its indentation mean one space.
fn collapse_line_breaks(text: &mut String) {
    if !text.bytes().any(|b| matches!(b, b'\n' | b'\r' | b'\t')) {
        return;
    }
    let mut out = String::with_capacity(text.len());
    for (i, word) in text.split_ascii_whitespace().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(word);
    }
    *text = out;
}

pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// The root element of an XML document: its local name and the namespace URI bound
/// to its prefix (or the default namespace), as far as the first start tag tells.
pub(crate) fn root_of(bytes: &[u8]) -> Option<(String, String)> {
    let text = std::str::from_utf8(strip_bom(bytes)).ok()?;
    let mut reader = Reader::from_str(text);
    loop {
        match reader.read_event().ok()? {
            Event::Start(start) | Event::Empty(start) => {
                let local = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let prefix = start.name().prefix().map(|p| p.as_ref().to_vec());
                let mut ns = String::new();
                for attr in start.attributes().flatten() {
                    let binding = attr.key.as_namespace_binding();
                    let matches = match (&binding, &prefix) {
                        (Some(quick_xml::name::PrefixDeclaration::Default), None) => true,
                        (Some(quick_xml::name::PrefixDeclaration::Named(p)), Some(want)) => p == &want.as_slice(),
                        _ => false,
                    };
                    if matches {
                        ns = String::from_utf8_lossy(&attr.value).into_owned();
                    }
                }
                return Some((local, ns));
            }
            Event::Eof => return None,
            Event::Text(t) if !t.iter().all(u8::is_ascii_whitespace) => return None,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(xml: &str, name: &'static str) -> (Vec<(Element, String)>, Walk) {
        let mut out = Vec::new();
        let walk = walk("t.xml", xml.as_bytes(), &|n, _, _| n == name, |el, path| out.push((el, path.to_string())))
            .expect("walk");
        (out, walk)
    }

    #[test]
    fn records_get_paths_lines_and_sibling_positions() {
        let xml = "<a:List xmlns:a=\"urn:x\">\n <a:Item id=\"1\"><a:T>one &amp; &#65;</a:T></a:Item>\n <a:Other/>\n <a:Item id=\"2\"><a:T/><a:T>x</a:T></a:Item>\n</a:List>";
        let (recs, walk) = records(xml, "Item");
        assert_eq!(walk.root, "List");
        assert!(walk.broken.is_none());
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].1, "/List/Item");
        assert_eq!(recs[0].0.child_text("T"), Some("one & A"));
        assert_eq!(recs[0].0.line, 2);
        assert_eq!(recs[1].1, "/List/Item[2]");
        assert_eq!(recs[1].0.line, 4);
        assert_eq!(recs[1].0.children[1].pos, 2);
        assert_eq!(recs[1].0.attr("id"), Some("2"));
    }

    #[test]
    fn wrapped_values_become_one_line() {
        let (recs, _) = records("<L><I><T>Star Wars: The Digital Movie\n\t\t Collection (5)</T></I></L>", "I");
        assert_eq!(recs[0].0.child_text("T"), Some("Star Wars: The Digital Movie Collection (5)"));
    }

    #[test]
    fn truncation_after_records_keeps_them_and_reports_where() {
        let xml = "<List>\n<Item>a</Item>\n<Item>b</Item>\n<Item>c";
        let (recs, walk) = records(xml, "Item");
        assert_eq!(recs.len(), 2);
        let (line, msg) = walk.broken.expect("broken");
        assert_eq!(line, 4);
        assert!(msg.contains("truncated"), "{msg}");
    }

    #[test]
    fn garbage_before_any_root_is_an_error() {
        let err = walk("t.xml", b"</a><b/>", &|_, _, _| true, |_, _| {}).err().expect("error");
        assert!(matches!(err, ImportError::MalformedXml { .. }), "{err:?}");
    }

    #[test]
    fn excessive_nesting_is_refused() {
        let xml = "<a>".repeat(MAX_DEPTH + 5);
        let doc = read_document("deep.xml", xml.as_bytes());
        assert!(matches!(doc, Err(ImportError::MalformedXml { .. })));
    }

    #[test]
    fn root_and_namespace_are_found() {
        let xml = "<?xml version=\"1.0\"?><!-- c --><avails:AvailList xmlns:md=\"urn:md\" xmlns:avails=\"http://www.movielabs.com/schema/avails/v2.4/avails\"/>";
        let (name, ns) = root_of(xml.as_bytes()).expect("root");
        assert_eq!(name, "AvailList");
        assert_eq!(ns, "http://www.movielabs.com/schema/avails/v2.4/avails");
        let (name, ns) = root_of(b"<ebuCoreMain xmlns=\"urn:ebu:metadata-schema:ebucore\">").expect("root");
        assert_eq!((name.as_str(), ns.as_str()), ("ebuCoreMain", "urn:ebu:metadata-schema:ebucore"));
    }
}
