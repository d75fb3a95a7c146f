//! Writing generation files in the layout ASC MHL tools produce (two-space indent, one element per line),
//! so a history written here reads like one written by the reference tool and diffs cleanly.

use quick_xml::escape::{escape, partial_escape};

use super::{DirectoryDigests, HashEntry, HashList, MHL_NAMESPACE, MhlHash, date};

/// An indenting XML text builder.
pub(crate) struct XmlOut {
    buf: String,
    depth: usize,
}

impl XmlOut {
    pub fn new() -> XmlOut {
        XmlOut { buf: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"), depth: 0 }
    }

    fn start_tag(&mut self, name: &str, attributes: &[(&str, Option<String>)]) {
        self.buf.extend(std::iter::repeat_n("  ", self.depth));
        self.buf.push('<');
        self.buf.push_str(name);
        for (key, value) in attributes {
            if let Some(value) = value {
                self.buf.push(' ');
                self.buf.push_str(key);
                self.buf.push_str("=\"");
                self.buf.push_str(&escape(value.as_str()));
                self.buf.push('"');
            }
        }
        self.buf.push('>');
    }

    pub fn open(&mut self, name: &str, attributes: &[(&str, Option<String>)]) {
        self.start_tag(name, attributes);
        self.buf.push('\n');
        self.depth += 1;
    }

    pub fn close(&mut self, name: &str) {
        self.depth = self.depth.saturating_sub(1);
        self.buf.extend(std::iter::repeat_n("  ", self.depth));
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    pub fn leaf(&mut self, name: &str, attributes: &[(&str, Option<String>)], text: &str) {
        self.start_tag(name, attributes);
        self.buf.push_str(&partial_escape(text));
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    /// An element whose content is already XML (kept verbatim from the source).
    pub fn raw(&mut self, name: &str, inner: &str) {
        self.start_tag(name, &[]);
        self.buf.push_str(inner);
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push_str(">\n");
    }

    pub fn finish(self) -> String {
        self.buf
    }
}

pub(crate) fn hash_element(out: &mut XmlOut, hash: &MhlHash) {
    out.leaf(
        hash.algorithm.name(),
        &[
            ("action", hash.action.map(|a| a.as_str().to_owned())),
            ("hashdate", hash.hash_date.map(date::format)),
            ("structure", hash.structure.clone()),
        ],
        &hash.value,
    );
}

fn directory_digests(out: &mut XmlOut, digests: &DirectoryDigests) {
    out.open("content", &[]);
    digests.content.iter().for_each(|h| hash_element(out, h));
    out.close("content");
    out.open("structure", &[]);
    digests.structure.iter().for_each(|h| hash_element(out, h));
    out.close("structure");
}

pub(crate) fn write_hash_list(list: &HashList) -> String {
    let mut out = XmlOut::new();
    out.open("hashlist", &[("version", Some("2.0".into())), ("xmlns", Some(MHL_NAMESPACE.into()))]);

    let creator = &list.creator;
    out.open("creatorinfo", &[]);
    out.leaf("creationdate", &[], &date::format(creator.creation_date));
    out.leaf("hostname", &[], &creator.hostname);
    out.leaf("tool", &[("version", creator.tool.version.clone())], &creator.tool.name);
    for author in &creator.authors {
        let attributes =
            [("email", author.email.clone()), ("phone", author.phone.clone()), ("role", author.role.clone())];
        out.leaf("author", &attributes, &author.name);
    }
    if let Some(location) = &creator.location {
        out.leaf("location", &[], location);
    }
    if let Some(comment) = &creator.comment {
        out.leaf("comment", &[], comment);
    }
    out.close("creatorinfo");

    let process = &list.process;
    out.open("processinfo", &[]);
    out.leaf("process", &[], process.process.as_str());
    if let Some(root) = &process.root_hash {
        out.open("roothash", &[]);
        directory_digests(&mut out, root);
        out.close("roothash");
    }
    if !process.ignore.is_empty() {
        out.open("ignore", &[]);
        process.ignore.iter().for_each(|p| out.leaf("pattern", &[], p));
        out.close("ignore");
    }
    out.close("processinfo");

    if !list.hashes.is_empty() {
        out.open("hashes", &[]);
        for entry in &list.hashes {
            match entry {
                HashEntry::File(file) => {
                    out.open("hash", &[]);
                    let attributes = [
                        ("size", file.size.map(|s| s.to_string())),
                        ("creationdate", file.creation_date.map(date::format)),
                        ("lastmodificationdate", file.last_modification_date.map(date::format)),
                    ];
                    out.leaf("path", &attributes, file.path.as_str());
                    file.hashes.iter().for_each(|h| hash_element(&mut out, h));
                    if let Some(previous) = &file.previous_path {
                        out.leaf("previousPath", &[], previous.as_str());
                    }
                    if let Some(metadata) = &file.metadata {
                        out.raw("metadata", metadata);
                    }
                    out.close("hash");
                }
                HashEntry::Directory(dir) => {
                    out.open("directoryhash", &[]);
                    let attributes = [
                        ("creationdate", dir.creation_date.map(date::format)),
                        ("lastmodificationdate", dir.last_modification_date.map(date::format)),
                    ];
                    out.leaf("path", &attributes, dir.path.as_str());
                    directory_digests(&mut out, &dir.digests);
                    if let Some(previous) = &dir.previous_path {
                        out.leaf("previousPath", &[], previous.as_str());
                    }
                    if let Some(metadata) = &dir.metadata {
                        out.raw("metadata", metadata);
                    }
                    out.close("directoryhash");
                }
            }
        }
        out.close("hashes");
    }
    if let Some(metadata) = &list.metadata {
        out.raw("metadata", metadata);
    }
    if !list.references.is_empty() {
        out.open("references", &[]);
        for reference in &list.references {
            out.open("hashlistreference", &[]);
            out.leaf("path", &[], reference.path.as_str());
            hash_element(&mut out, &reference.c4);
            out.close("hashlistreference");
        }
        out.close("references");
    }
    out.close("hashlist");
    out.finish()
}
