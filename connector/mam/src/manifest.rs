//! MovieLabs Media Manifest: one manifestation [`Version`] per `Experience`.
//!
//! An Experience names the work (`ContentID`) and, through its Audiovisual
//! presentations and picture groups, the inventory it is made of: audio tracks
//! (→ audio languages), subtitle tracks (→ [`SubtitleTrack`]s with kind, language,
//! format and file), video, images and metadata files (→ [`FileRef`]s with their
//! hashes). Inventory that no Experience references belongs to the manifest as a
//! whole and is attached to the first root Experience (the main title).
//! Manifests are small, so the whole document is read as one tree.

use std::collections::{HashMap, HashSet};

use passerelle_media::{FileHash, FileRef, LanguageTag, SubtitleKind, SubtitleTrack, Version, VersionKind};

use crate::collect::{Collector, push_unique};
use crate::xml::{Element, read_document};
use crate::{Format, ImportBatch, ImportError};

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let doc = read_document(file, bytes)?;
    if doc.name != "MediaManifest" {
        return Err(ImportError::UnexpectedRoot {
            file: file.to_string(),
            expected: "MovieLabs Media Manifest (manifest:MediaManifest)",
            found: doc.name,
        });
    }
    let mut out = Collector::new(file, Format::ManifestXml);
    let root_path = format!("/{}", doc.name);
    let inventory = Inventory::read(&doc, &root_path, &mut out);

    let presentations: HashMap<&str, Vec<&str>> = doc
        .child("Presentations")
        .map(|ps| {
            ps.children_named("Presentation")
                .filter_map(|p| {
                    let id = p.attr("PresentationID")?;
                    let mut refs = Vec::new();
                    for tm in p.children_named("TrackMetadata") {
                        for r in &tm.children {
                            if let Some(track) =
                                r.children.iter().find(|c| c.name.ends_with("TrackID")).and_then(Element::value)
                            {
                                refs.push(track);
                            }
                        }
                    }
                    Some((id, refs))
                })
                .collect()
        })
        .unwrap_or_default();
    let picture_groups: HashMap<&str, Vec<&str>> = doc
        .child("PictureGroups")
        .map(|gs| {
            gs.children_named("PictureGroup")
                .filter_map(|g| {
                    let id = g.attr("PictureGroupID")?;
                    Some((id, g.children_named("Picture").filter_map(|p| p.child_text("ImageID")).collect()))
                })
                .collect()
        })
        .unwrap_or_default();

    let experiences: Vec<&Element> =
        doc.child("Experiences").map(|e| e.children_named("Experience").collect()).unwrap_or_default();
    let children: HashSet<&str> = experiences
        .iter()
        .flat_map(|e| e.children_named("ExperienceChild").filter_map(|c| c.child_text("ExperienceID")))
        .collect();
    let experiences_path = format!("{root_path}/Experiences");

    let mut used: HashSet<String> = HashSet::new();
    let mut root_version: Option<usize> = None;
    let mut versions: Vec<Version> = Vec::new();
    for exp in &experiences {
        out.records_seen += 1;
        let path = Element::path_of(&experiences_path, exp);
        let Some(id) = exp.attr("ExperienceID") else {
            out.reject(Element::location(&path, exp), None, "Experience has no ExperienceID: the version has no key");
            continue;
        };
        let audiovisuals: Vec<&Element> = exp.children_named("Audiovisual").collect();
        let work_id = exp.child_text("ContentID").or_else(|| audiovisuals.iter().find_map(|a| a.attr("ContentID")));
        let Some(work_id) = work_id else {
            out.reject(
                Element::location(&path, exp),
                Some(id),
                "Experience has no ContentID: it does not say which work it is",
            );
            continue;
        };
        let label = audiovisuals.first().and_then(|a| {
            let parts: Vec<&str> = [a.child_text("Type"), a.child_text("SubType")].into_iter().flatten().collect();
            (!parts.is_empty()).then(|| parts.join(" / "))
        });
        let mut version = Version {
            id: id.to_string(),
            work_id: work_id.to_string(),
            kind: VersionKind::Manifestation,
            label,
            eidr: None,
            isan: None,
            runtime_seconds: None,
            frame_rate: None,
            audio_languages: Vec::new(),
            subtitles: Vec::new(),
            files: Vec::new(),
        };
        let mut track_ids: Vec<&str> = Vec::new();
        for av in &audiovisuals {
            for pid in av.children_named("PresentationID").filter_map(Element::value) {
                match presentations.get(pid) {
                    Some(refs) => track_ids.extend(refs),
                    None => out.reject(
                        Element::location(&Element::path_of(&path, av), av),
                        Some(id),
                        format!("PresentationID `{pid}` is not defined under Presentations; its tracks are unknown"),
                    ),
                }
            }
        }
        for track in track_ids {
            inventory.attach_track(track, &mut version);
            used.insert(track.to_string());
        }
        for group in exp.children_named("PictureGroupID").filter_map(Element::value) {
            for image in picture_groups.get(group).into_iter().flatten() {
                if let Some(file) = inventory.images.get(*image) {
                    push_file(&mut version, file.clone());
                    used.insert((*image).to_string());
                }
            }
        }
        for file in inventory.metadata.get(work_id).into_iter().flatten() {
            push_file(&mut version, file.clone());
        }
        used.insert(work_id.to_string());
        if root_version.is_none() && !children.contains(id) {
            root_version = Some(versions.len());
        }
        versions.push(version);
    }

    let orphans = inventory.unreferenced(&used);
    match root_version {
        Some(i) => {
            for orphan in orphans {
                orphan.attach(&mut versions[i]);
            }
        }
        None if !orphans.is_empty() => out.reject(
            format!("{root_path}/Inventory"),
            doc.attr("ManifestID"),
            format!(
                "{} inventory item(s) are not attached to any Experience with a ContentID; they were not imported",
                orphans.len()
            ),
        ),
        None => {}
    }
    for v in versions {
        out.add_version(v);
    }
    Ok(out.finish())
}

fn push_file(version: &mut Version, file: FileRef) {
    if !version.files.iter().any(|f| f.location == file.location) {
        version.files.push(file);
    }
}

/// The manifest's inventory, by id.
struct Inventory {
    audio: HashMap<String, (Option<LanguageTag>, Option<FileRef>)>,
    subtitles: HashMap<String, SubtitleTrack>,
    video: HashMap<String, Option<FileRef>>,
    images: HashMap<String, FileRef>,
    metadata: HashMap<String, Vec<FileRef>>,
    /// Ids in document order, for a deterministic attachment of orphans.
    order: Vec<(String, Kind)>,
}

#[derive(Clone, Copy)]
enum Kind {
    Audio,
    Subtitle,
    Video,
    Image,
    Metadata,
}

/// An inventory item that a version takes in: a track or a file.
enum Item<'a> {
    Audio(&'a (Option<LanguageTag>, Option<FileRef>)),
    Subtitle(&'a SubtitleTrack),
    File(&'a FileRef),
}

impl Item<'_> {
    fn attach(self, version: &mut Version) {
        match self {
            Item::Audio((lang, file)) => {
                if let Some(lang) = lang {
                    push_unique(&mut version.audio_languages, lang.clone());
                }
                if let Some(file) = file {
                    push_file(version, file.clone());
                }
            }
            Item::Subtitle(track) => {
                if !version.subtitles.iter().any(|t| t.id == track.id) {
                    version.subtitles.push(track.clone());
                }
            }
            Item::File(file) => push_file(version, file.clone()),
        }
    }
}

impl Inventory {
    fn read(doc: &Element, root_path: &str, out: &mut Collector) -> Inventory {
        let mut inv = Inventory {
            audio: HashMap::new(),
            subtitles: HashMap::new(),
            video: HashMap::new(),
            images: HashMap::new(),
            metadata: HashMap::new(),
            order: Vec::new(),
        };
        let Some(inventory) = doc.child("Inventory") else { return inv };
        let inv_path = format!("{root_path}/Inventory");
        for item in &inventory.children {
            let path = Element::path_of(&inv_path, item);
            match item.name.as_str() {
                "Audio" => {
                    let Some(id) = item.attr("AudioTrackID") else { continue };
                    let lang = item.child_text("Language").and_then(|raw| match LanguageTag::parse(raw) {
                        Ok(l) => Some(l),
                        Err(e) => {
                            out.reject(
                                Element::location(&path, item),
                                Some(id),
                                format!("{e}; audio language dropped"),
                            );
                            None
                        }
                    });
                    let file = file_ref(item, &path, id, out);
                    inv.audio.insert(id.to_string(), (lang, file));
                    inv.order.push((id.to_string(), Kind::Audio));
                }
                "Subtitle" => {
                    let Some(id) = item.attr("SubtitleTrackID") else { continue };
                    let Some(raw) = item.child_text("Language") else {
                        out.reject(
                            Element::location(&path, item),
                            Some(id),
                            "subtitle track has no Language; track rejected",
                        );
                        continue;
                    };
                    let language = match LanguageTag::parse(raw) {
                        Ok(l) => l,
                        Err(e) => {
                            out.reject(
                                Element::location(&path, item),
                                Some(id),
                                format!("{e}; subtitle track rejected"),
                            );
                            continue;
                        }
                    };
                    let kind = subtitle_kind(item);
                    let file = file_ref(item, &path, id, out);
                    let format = item
                        .child("Encoding")
                        .and_then(|e| e.child_text("Codec"))
                        .or_else(|| item.child_text("FormatType"))
                        .map(str::to_string)
                        .or_else(|| file.as_ref().and_then(|f| format_from_extension(&f.location)));
                    inv.subtitles
                        .insert(id.to_string(), SubtitleTrack { id: id.to_string(), language, kind, format, file });
                    inv.order.push((id.to_string(), Kind::Subtitle));
                }
                "Video" => {
                    let Some(id) = item.attr("VideoTrackID") else { continue };
                    inv.video.insert(id.to_string(), file_ref(item, &path, id, out));
                    inv.order.push((id.to_string(), Kind::Video));
                }
                "Image" => {
                    let Some(id) = item.attr("ImageID") else { continue };
                    if let Some(file) = file_ref(item, &path, id, out) {
                        inv.images.insert(id.to_string(), file);
                        inv.order.push((id.to_string(), Kind::Image));
                    }
                }
                "Metadata" => {
                    let Some(cid) = item.attr("ContentID") else { continue };
                    if let Some(file) = file_ref(item, &path, cid, out) {
                        inv.metadata.entry(cid.to_string()).or_default().push(file);
                        if !inv.order.iter().any(|(i, _)| i == cid) {
                            inv.order.push((cid.to_string(), Kind::Metadata));
                        }
                    }
                }
                _ => {}
            }
        }
        inv
    }

    fn attach_track(&self, id: &str, version: &mut Version) {
        if let Some(entry) = self.audio.get(id) {
            Item::Audio(entry).attach(version);
        } else if let Some(track) = self.subtitles.get(id) {
            Item::Subtitle(track).attach(version);
        } else if let Some(Some(file)) = self.video.get(id) {
            push_file(version, file.clone());
        }
    }

    fn unreferenced(&self, used: &HashSet<String>) -> Vec<Item<'_>> {
        let mut orphans = Vec::new();
        for (id, kind) in &self.order {
            if used.contains(id) {
                continue;
            }
            match kind {
                Kind::Audio => orphans.extend(self.audio.get(id).map(Item::Audio)),
                Kind::Subtitle => orphans.extend(self.subtitles.get(id).map(Item::Subtitle)),
                Kind::Video => orphans.extend(self.video.get(id).and_then(Option::as_ref).map(Item::File)),
                Kind::Image => orphans.extend(self.images.get(id).map(Item::File)),
                Kind::Metadata => {
                    orphans.extend(self.metadata.get(id).into_iter().flatten().map(Item::File));
                }
            }
        }
        orphans
    }
}

/// The SDH / forced / normal word of a subtitle: the most specific `Type` given.
fn subtitle_kind(item: &Element) -> SubtitleKind {
    let kinds: Vec<SubtitleKind> =
        item.children_named("Type").filter_map(Element::value).map(SubtitleKind::from_mddf).collect();
    [SubtitleKind::ForcedNarrative, SubtitleKind::Sdh, SubtitleKind::Commentary, SubtitleKind::Subtitles]
        .into_iter()
        .find(|k| kinds.contains(k))
        .unwrap_or(if kinds.is_empty() { SubtitleKind::Subtitles } else { SubtitleKind::Other })
}

/// The first container of an inventory item, with its size and hashes. A malformed
/// hash is dropped (and reported): the file is still known, only unverifiable.
fn file_ref(item: &Element, path: &str, record: &str, out: &mut Collector) -> Option<FileRef> {
    let container = item.child("ContainerReference")?;
    let location = container.child_text("ContainerLocation")?.to_string();
    let size = container.child_text("Length").and_then(|l| l.parse().ok());
    let mut hashes = Vec::new();
    for hash in container.children_named("Hash") {
        let Some(value) = hash.value() else { continue };
        let method = hash.attr("method").unwrap_or("MD5");
        let algorithm = normalise_hash_algorithm(method);
        let value = value.to_ascii_lowercase();
        let expected_len = match algorithm.as_str() {
            "md5" => Some(32),
            "sha1" => Some(40),
            "sha256" => Some(64),
            "xxh64" => Some(16),
            "xxh128" => Some(32),
            _ => None,
        };
        let hex = value.bytes().all(|b| b.is_ascii_hexdigit());
        if !hex || expected_len.is_some_and(|n| n != value.len()) {
            let cpath = Element::path_of(&Element::path_of(path, container), hash);
            out.reject(
                Element::location(&cpath, hash),
                Some(record),
                format!(
                    "`{value}` is not a valid {method} digest (hex, {} digits); hash dropped, file kept",
                    expected_len.unwrap_or(0)
                ),
            );
            continue;
        }
        hashes.push(FileHash { algorithm, value });
    }
    Some(FileRef { location, size, mime_type: None, hashes })
}

pub(crate) fn normalise_hash_algorithm(method: &str) -> String {
    let m: String = method.trim().to_ascii_lowercase().chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    match m.as_str() {
        "sha256" | "sha2256" => "sha256".into(),
        "sha1" => "sha1".into(),
        "md5" => "md5".into(),
        "xxhash64" | "xxh64" | "xxhash" => "xxh64".into(),
        "xxh3" | "xxh364" | "xxhash3" => "xxh3".into(),
        "xxh128" | "xxhash128" => "xxh128".into(),
        other => other.to_string(),
    }
}

/// The subtitle format word from a file extension, when the manifest does not say.
pub(crate) fn format_from_extension(location: &str) -> Option<String> {
    let ext = location.rsplit_once('.')?.1.to_ascii_lowercase();
    let word = match ext.as_str() {
        "scc" => "SCC",
        "srt" => "SRT",
        "vtt" | "webvtt" => "WebVTT",
        "stl" => "EBU-STL",
        "ttml" | "dfxp" | "xml" => "TTML",
        "imsc" => "IMSC1.1",
        "sup" => "PGS",
        _ => return None,
    };
    Some(word.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtitle_kinds_and_formats() {
        assert_eq!(format_from_extension("./a/b.scc").as_deref(), Some("SCC"));
        assert_eq!(format_from_extension("noext"), None);
        assert_eq!(normalise_hash_algorithm("SHA-256"), "sha256");
        assert_eq!(normalise_hash_algorithm("xxHash64"), "xxh64");
    }

    #[test]
    fn bad_hash_and_language_are_reported_experience_without_content_id_rejected() {
        let xml = r#"<manifest:MediaManifest xmlns:manifest="urn:m" xmlns:md="urn:md" ManifestID="m1">
          <manifest:Inventory>
            <manifest:Subtitle SubtitleTrackID="s1"><md:Type>normal</md:Type><md:Language>xx-!!</md:Language></manifest:Subtitle>
            <manifest:Subtitle SubtitleTrackID="s2"><md:Type>SDH</md:Type><md:Language>fr</md:Language>
              <manifest:ContainerReference><manifest:ContainerLocation>fr.vtt</manifest:ContainerLocation><manifest:Hash method="MD5">zz</manifest:Hash><manifest:Hash method="SHA-256">00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF</manifest:Hash></manifest:ContainerReference></manifest:Subtitle>
          </manifest:Inventory>
          <manifest:Experiences>
            <manifest:Experience ExperienceID="e0"/>
            <manifest:Experience ExperienceID="e1"><manifest:ContentID>c1</manifest:ContentID></manifest:Experience>
          </manifest:Experiences></manifest:MediaManifest>"#;
        let b = parse("m.xml", xml.as_bytes()).expect("parse");
        assert_eq!(b.records_seen, 2);
        assert_eq!(b.versions.len(), 1);
        let v = &b.versions[0];
        assert_eq!(v.subtitles.len(), 1, "orphan subtitle attached to the root experience");
        assert_eq!(v.subtitles[0].kind, SubtitleKind::Sdh);
        assert_eq!(v.subtitles[0].format.as_deref(), Some("WebVTT"));
        let file = v.subtitles[0].file.as_ref().expect("file");
        assert_eq!(file.hashes.len(), 1);
        assert_eq!(file.hashes[0].algorithm, "sha256");
        assert_eq!(b.rejected.len(), 3, "{:#?}", b.rejected);
    }
}
