//! A small element tree read with quick-xml, sized for MHL files.
//!
//! MHL files are small (one line per file of a card or a delivery), so a tree is simpler to validate than a
//! stream. The tree is built without recursion and nesting is capped, so hostile input cannot exhaust the stack.
//! Each element remembers where its content sits in the input, so opaque `metadata` can be written back
//! verbatim.

use std::ops::Range;

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

/// Deeper nesting than this is refused (an MHL needs 5 levels; `metadata` gets the rest).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub name: String,
    pub namespace: Option<String>,
    /// Local names and unescaped values, namespace declarations left out.
    pub attributes: Vec<(String, String)>,
    pub children: Vec<Element>,
    /// Character data directly inside this element, unescaped.
    pub text: String,
    /// Byte range of everything between the start and the end tag.
    pub inner: Range<usize>,
    /// Byte offset of the start tag, for error messages.
    pub offset: usize,
}

impl Element {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Not well-formed XML (or not UTF-8), with where it went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct XmlError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl XmlError {
    fn at(text: &str, offset: usize, message: impl Into<String>) -> XmlError {
        let (line, column) = line_column(text.as_bytes(), offset);
        XmlError { line, column, message: message.into() }
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_column(text: &[u8], offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or_default();
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    (line, offset - line_start + 1)
}

/// The document without a UTF-8 byte order mark; offsets in the tree are relative to this slice.
pub(crate) fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Parses a whole document (without byte order mark, see [`strip_bom`]) and returns its root element.
pub(crate) fn parse_document(bytes: &[u8]) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(bytes).map_err(|e| XmlError {
        line: 0,
        column: 0,
        message: format!("the file is not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
    })?;
    let mut reader = NsReader::from_str(text);
    reader.config_mut().expand_empty_elements = true;

    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let before = to_usize(reader.buffer_position());
        let (namespace, event) = match reader.read_resolved_event() {
            Ok(resolved) => resolved,
            Err(e) => return Err(XmlError::at(text, to_usize(reader.error_position()), e.to_string())),
        };
        let namespace = match namespace {
            ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(prefix) => {
                return Err(XmlError::at(
                    text,
                    before,
                    format!("namespace prefix `{}` is not declared", String::from_utf8_lossy(&prefix)),
                ));
            }
        };
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(XmlError::at(text, before, "content after the root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::at(text, before, format!("elements nest deeper than {MAX_DEPTH} levels")));
                }
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                let mut attributes = Vec::new();
                for attribute in start.attributes() {
                    let attribute = attribute.map_err(|e| XmlError::at(text, before, e.to_string()))?;
                    let key = attribute.key;
                    if key.as_namespace_binding().is_some() {
                        continue;
                    }
                    let value = attribute
                        .decode_and_unescape_value(reader.decoder())
                        .map_err(|e| XmlError::at(text, before, e.to_string()))?;
                    attributes
                        .push((String::from_utf8_lossy(key.local_name().as_ref()).into_owned(), value.into_owned()));
                }
                let inner_start = to_usize(reader.buffer_position());
                stack.push(Element {
                    name,
                    namespace,
                    attributes,
                    children: Vec::new(),
                    text: String::new(),
                    inner: inner_start..inner_start,
                    offset: before,
                });
            }
            Event::End(_) => {
                let Some(mut done) = stack.pop() else {
                    return Err(XmlError::at(text, before, "end tag without a start tag"));
                };
                done.inner.end = before;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => root = Some(done),
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content().map_err(|e| XmlError::at(text, before, e.to_string()))?;
                append_text(&mut stack, &root, &content, text, before)?;
            }
            Event::CData(c) => {
                let content = c.xml10_content().map_err(|e| XmlError::at(text, before, e.to_string()))?;
                append_text(&mut stack, &root, &content, text, before)?;
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => return Err(XmlError::at(text, before, "invalid character reference")),
                    }
                } else {
                    let name = r.decode().map_err(|e| XmlError::at(text, before, e.to_string()))?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        None => return Err(XmlError::at(text, before, format!("unknown entity `&{name};`"))),
                    }
                };
                append_text(&mut stack, &root, &resolved, text, before)?;
            }
            Event::Decl(decl) => {
                if let Some(Ok(encoding)) = decl.encoding()
                    && !encoding.eq_ignore_ascii_case(b"utf-8")
                {
                    return Err(XmlError::at(
                        text,
                        before,
                        format!(
                            "declared encoding `{}` is not supported; MHL files are UTF-8",
                            String::from_utf8_lossy(&encoding)
                        ),
                    ));
                }
            }
            Event::DocType(_) => {
                return Err(XmlError::at(text, before, "document type declarations are not allowed in MHL files"));
            }
            Event::Comment(_) | Event::PI(_) | Event::Empty(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::at(text, text.len(), "the document ends inside an element"));
    }
    root.ok_or_else(|| XmlError::at(text, text.len(), "the document has no root element"))
}

fn append_text(
    stack: &mut [Element],
    root: &Option<Element>,
    content: &str,
    text: &str,
    at: usize,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(open) => {
            open.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None if root.is_some() => Err(XmlError::at(text, at, "text after the root element")),
        None => Err(XmlError::at(text, at, "text before the root element")),
    }
}

fn to_usize(position: u64) -> usize {
    usize::try_from(position).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_tree_with_namespaces_text_and_spans() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<m:a xmlns:m="urn:x" k="v &amp; w"><b>t &lt;1&#x41;</b><m:c/><meta><x y="1"/></meta></m:a>"#;
        let root = parse_document(xml.as_bytes()).unwrap();
        assert_eq!((root.name.as_str(), root.namespace.as_deref()), ("a", Some("urn:x")));
        assert_eq!(root.attributes, vec![("k".to_owned(), "v & w".to_owned())]);
        assert_eq!(root.children[0].text, "t <1A");
        assert_eq!(root.children[0].namespace, None);
        assert_eq!(root.children[1].name, "c");
        assert_eq!(&xml[root.children[2].inner.clone()], r#"<x y="1"/>"#);
    }

    #[test]
    fn errors_carry_line_and_column() {
        let err = parse_document(b"<a>\n  <b></c>\n</a>").unwrap_err();
        assert_eq!(err.line, 2, "{err}");
        assert!(parse_document(b"<a>").unwrap_err().message.contains("ends inside"));
        assert!(parse_document(b"").unwrap_err().message.contains("no root"));
        assert!(parse_document(b"<a/><b/>").is_err());
        assert!(parse_document(b"<a/>junk").is_err());
        assert!(parse_document(b"<a>&bogus;</a>").unwrap_err().message.contains("bogus"));
        assert!(parse_document(b"<p:a/>").unwrap_err().message.contains("not declared"));
        assert!(parse_document(b"\xff\xfe<a/>").unwrap_err().message.contains("UTF-8"));
        assert!(parse_document(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>").is_err());
    }

    #[test]
    fn nesting_is_capped() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse_document(deep.as_bytes()).unwrap_err().message.contains("nest deeper"));
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse_document(ok.as_bytes()).is_ok());
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
        assert_eq!(line_column(b"ab", 99), (1, 3));
    }
}
