//! EBUCore (`ebuCoreMain/coreMetadata`), hand-written or produced by MediaInfo's
//! `--Output=EBUCore` (EBUCore 1.8: `format/videoFormat`, `audioFormat`,
//! `dataFormat/captioningFormat`, `containerFormat`, `technicalAttribute*`).
//!
//! The descriptive part (title, identifier, language, description, type, date)
//! gives a [`Work`] when it names a title; each `format` gives a manifestation
//! [`Version`] of that work: duration, frame rate, audio languages, subtitle and
//! caption tracks, the file with its size and hashes.
//!
//! Ids: the work is keyed by the first identifier that is not an EIDR or ISAN (a
//! house number), else the EIDR, else the ISAN, else the file name without its
//! extension (MediaInfo output carries no identifier). The version is keyed by
//! `format@formatId`, else the file locator, else `{work id}#format[n]`.

use passerelle_media::{
    AltId, FileHash, FileRef, LanguageTag, LocalizedTitle, SubtitleKind, SubtitleTrack, Version, VersionKind, Work,
    WorkKind,
};

use crate::collect::{Collector, bare_work, push_unique};
use crate::fields::{parse_duration_secs, parse_eidr, parse_isan, parse_year};
use crate::manifest::{format_from_extension, normalise_hash_algorithm};
use crate::xml::{Element, read_document};
use crate::{Format, ImportBatch, ImportError};

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let doc = read_document(file, bytes)?;
    if doc.name != "ebuCoreMain" {
        return Err(ImportError::UnexpectedRoot {
            file: file.to_string(),
            expected: "EBUCore (ebuCoreMain)",
            found: doc.name,
        });
    }
    let mut out = Collector::new(file, Format::EbuCoreXml);
    let root_path = format!("/{}", doc.name);
    let Some(core) = doc.child("coreMetadata") else {
        out.reject(Element::location(&root_path, &doc), None, "ebuCoreMain has no coreMetadata: nothing to import");
        return Ok(out.finish());
    };
    let core_path = Element::path_of(&root_path, core);
    let formats: Vec<&Element> = core.children_named("format").collect();

    let mut work = descriptive(core, &core_path, &mut out);
    let fallback_id = formats.iter().find_map(|f| file_location(f)).map(|loc| file_stem(&loc));
    let has_title = !work.title.is_empty();
    if work.id.is_empty() {
        match fallback_id {
            Some(id) => work.id = id,
            None => {
                out.reject(
                    Element::location(&core_path, core),
                    None,
                    "coreMetadata has no identifier and no file name: nothing identifies the work — add an ebucore:identifier",
                );
                return Ok(out.finish());
            }
        }
    }
    for (i, format) in formats.iter().enumerate() {
        out.records_seen += 1;
        let path = Element::path_of(&core_path, format);
        let version = version_of(format, &path, i + 1, &work, &mut out);
        if work.runtime_seconds.is_none() {
            work.runtime_seconds = version.runtime_seconds;
        }
        out.add_version(version);
    }
    if has_title {
        out.add_work(work);
    }
    Ok(out.finish())
}

/// The work as the descriptive elements tell it; `id` / `title` stay empty when absent.
fn descriptive(core: &Element, core_path: &str, out: &mut Collector) -> Work {
    let mut work = bare_work("", WorkKind::Other, "");
    let mut house_id: Option<String> = None;
    for ident in core.children_named("identifier") {
        let Some(value) = ident.child_text("identifier").or_else(|| ident.value()) else { continue };
        let label = ident.attr("typeLabel").or_else(|| ident.attr("formatLabel")).unwrap_or("");
        let upper = label.to_ascii_uppercase();
        let loc = || Element::location(&Element::path_of(core_path, ident), ident);
        if upper.contains("EIDR") || value.contains("10.5240") {
            match parse_eidr(value) {
                Ok(e) => {
                    work.eidr.get_or_insert(e);
                }
                Err(e) => out.reject(loc(), None, format!("{e}; EIDR dropped")),
            }
        } else if upper.contains("ISAN") {
            match parse_isan(value) {
                Ok(i) => {
                    work.isan.get_or_insert(i);
                }
                Err(e) => out.reject(loc(), None, format!("{e}; ISAN dropped")),
            }
        } else {
            if house_id.is_none() {
                house_id = Some(value.to_string());
            }
            let namespace = if label.is_empty() { "ebucore".to_string() } else { label.to_string() };
            push_unique(&mut work.alt_ids, AltId { namespace, value: value.to_string() });
        }
    }
    work.id = house_id
        .or_else(|| work.eidr.as_ref().map(|e| e.to_string()))
        .or_else(|| work.isan.as_ref().map(|i| i.to_string()))
        .unwrap_or_default();

    for title_el in core.children_named("title") {
        for t in title_el.children_named("title") {
            let Some(text) = t.value() else { continue };
            if work.title.is_empty() {
                work.title = text.to_string();
            }
            if let Some(lang) = t.attr("lang").or_else(|| title_el.attr("lang"))
                && let Ok(language) = LanguageTag::parse(lang)
                && !work.titles.iter().any(|x| x.language == language)
            {
                work.titles.push(LocalizedTitle { language, title: text.to_string(), summary: None });
            }
        }
    }
    for desc in core.children_named("description") {
        let text = desc.child_text("description").or_else(|| desc.value());
        let label = desc.attr("typeLabel").unwrap_or("").to_ascii_lowercase();
        if let Some(text) = text
            && (work.summary.is_none() || label.contains("synopsis") || label.contains("summary"))
        {
            work.summary = Some(text.to_string());
        }
    }
    if let Some(lang_el) = core.children_named("language").next() {
        let raw = lang_el.child_text("language").or_else(|| lang_el.attr("lang"));
        if let Some(raw) = raw {
            match LanguageTag::parse(raw) {
                Ok(l) => work.original_language = Some(l),
                Err(e) => out.reject(
                    Element::location(&Element::path_of(core_path, lang_el), lang_el),
                    None,
                    format!("{e}; language dropped"),
                ),
            }
        }
    }
    for ty in core.children_named("type") {
        if let Some(object) = ty.child("objectType").and_then(|o| o.attr("typeLabel").or_else(|| o.value())) {
            work.kind = WorkKind::from_mddf(object);
        }
        for genre in ty.children_named("genre") {
            if let Some(g) = genre.attr("typeLabel").or_else(|| genre.attr("typeDefinition")).or_else(|| genre.value())
            {
                push_unique(&mut work.genres, g.to_string());
            }
        }
    }
    for date in core.children_named("date") {
        for child in &date.children {
            let year = child
                .attr("year")
                .or_else(|| child.attr("startYear"))
                .or_else(|| child.attr("startDate"))
                .and_then(parse_year);
            if work.release_year.is_none() && (child.name == "released" || child.name == "created") {
                work.release_year = year;
            }
        }
    }
    work
}

fn version_of(format: &Element, path: &str, n: usize, work: &Work, out: &mut Collector) -> Version {
    let location = file_location(format);
    let id = format
        .attr("formatId")
        .map(str::to_string)
        .or_else(|| location.clone())
        .unwrap_or_else(|| format!("{}#format[{n}]", work.id));
    let container = format.child("containerFormat");
    let label = format
        .attr("formatName")
        .or_else(|| container.and_then(|c| c.attr("containerFormatName").or_else(|| c.attr("formatLabel"))))
        .map(str::to_string);
    let runtime_seconds = format.child("duration").and_then(|d| {
        d.child_text("normalPlayTime")
            .or_else(|| d.child_text("timecode"))
            .and_then(parse_duration_secs)
            .or_else(|| edit_units(d))
    });
    let frame_rate = format.children_named("videoFormat").find_map(|v| v.child("frameRate")).and_then(frame_rate);

    let mut audio_languages = Vec::new();
    for audio in format.children_named("audioFormat") {
        for track in audio.children_named("audioTrack") {
            let Some(raw) = track.attr("trackLanguage").or_else(|| track.attr("language")) else { continue };
            match LanguageTag::parse(raw) {
                Ok(l) => push_unique(&mut audio_languages, l),
                Err(e) => out.reject(
                    Element::location(&Element::path_of(&Element::path_of(path, audio), track), track),
                    Some(&id),
                    format!("{e}; audio language dropped"),
                ),
            }
        }
    }

    let mut subtitles = Vec::new();
    for data in format.children_named("dataFormat") {
        let data_path = Element::path_of(path, data);
        for track in data.children.iter().filter(|c| c.name == "captioningFormat" || c.name == "subtitlingFormat") {
            let track_path = Element::path_of(&data_path, track);
            let track_id = track
                .attr("trackId")
                .or_else(|| data.attr("dataTrackId"))
                .map_or_else(|| format!("{id}#{}", track.segment()), |t| format!("{id}#{t}"));
            let language = match track.attr("language").or_else(|| track.attr("trackLanguage")) {
                // An untagged track is common in MediaInfo output: its language is undetermined, not wrong.
                None => LanguageTag::parse("und").ok(),
                Some(raw) => match LanguageTag::parse(raw) {
                    Ok(l) => Some(l),
                    Err(e) => {
                        out.reject(
                            Element::location(&track_path, track),
                            Some(&track_id),
                            format!("{e}; track rejected"),
                        );
                        None
                    }
                },
            };
            let Some(language) = language else { continue };
            let format_name = text_format(track, data);
            subtitles.push(SubtitleTrack {
                id: track_id,
                language,
                kind: text_track_kind(track),
                format: format_name,
                file: None,
            });
        }
    }

    let files = location
        .map(|loc| {
            let size = format.child_text("fileSize").and_then(|s| s.parse().ok());
            let mime_type =
                format.child("mimeType").and_then(|m| m.attr("typeLabel").or_else(|| m.value())).map(str::to_string);
            let mut hashes = Vec::new();
            for hash in format.children_named("hash") {
                let value = hash.child_text("hashValue").map(str::to_ascii_lowercase);
                let algo = hash.child("hashFunction").and_then(|f| f.attr("typeLabel").or_else(|| f.value()));
                if let (Some(value), Some(algo)) = (value, algo) {
                    if value.bytes().all(|b| b.is_ascii_hexdigit()) {
                        hashes.push(FileHash { algorithm: normalise_hash_algorithm(algo), value });
                    } else {
                        out.reject(
                            Element::location(&Element::path_of(path, hash), hash),
                            Some(&id),
                            format!("`{value}` is not a hexadecimal {algo} digest; hash dropped"),
                        );
                    }
                }
            }
            vec![FileRef { location: loc, size, mime_type, hashes }]
        })
        .unwrap_or_default();

    Version {
        id,
        work_id: work.id.clone(),
        kind: VersionKind::Manifestation,
        label,
        eidr: None,
        isan: None,
        runtime_seconds,
        frame_rate,
        audio_languages,
        subtitles,
        files,
    }
}

/// The subtitle format word (`SRT`, `WebVTT`, `TTML`, `PGS`…) from the codec id
/// MediaInfo reports, else from the declared format name, else from a source file name.
fn text_format(track: &Element, data: &Element) -> Option<String> {
    let codec = data.child("codec").and_then(|c| c.child("codecIdentifier")).and_then(|i| i.child_text("identifier"));
    let from_codec = codec.and_then(|c| match c.to_ascii_uppercase().as_str() {
        "S_TEXT/UTF8" | "S_TEXT/ASCII" => Some("SRT"),
        "S_TEXT/WEBVTT" | "WVTT" => Some("WebVTT"),
        "S_TEXT/ASS" | "S_TEXT/SSA" => Some("ASS"),
        "S_HDMV/PGS" => Some("PGS"),
        "S_VOBSUB" => Some("VobSub"),
        "STPP" => Some("TTML"),
        "TX3G" => Some("tx3g"),
        "C608" => Some("CEA-608"),
        "C708" => Some("CEA-708"),
        _ => None,
    });
    if let Some(word) = from_codec {
        return Some(word.to_string());
    }
    let name = track
        .attr("captioningFormatName")
        .or_else(|| track.attr("subtitlingFormatName"))
        .or_else(|| data.attr("dataFormatName"));
    if let Some(name) = name {
        let word = match name.to_ascii_uppercase().as_str() {
            "UTF-8" | "SUBRIP" | "SRT" => "SRT",
            "WEBVTT" | "VTT" => "WebVTT",
            "TTML" | "TIMED TEXT MARKUP LANGUAGE" | "DFXP" => "TTML",
            "EBU STL" | "STL" | "EBU-STL" => "EBU-STL",
            "EIA-608" | "CEA-608" => "CEA-608",
            "EIA-708" | "CEA-708" => "CEA-708",
            "TIMED TEXT" => "tx3g",
            _ => name,
        };
        return Some(word.to_string());
    }
    track.attr("captioningSourceUri").or_else(|| track.attr("subtitlingSourceUri")).and_then(format_from_extension)
}

/// SDH / forced / subtitles from EBUCore's attributes and MediaInfo's track title
/// (`typeLabel`): captions marked `closed` are for the deaf and hard of hearing.
fn text_track_kind(track: &Element) -> SubtitleKind {
    let label = track.attr("typeLabel").unwrap_or("").to_ascii_lowercase();
    if label.contains("forced") {
        SubtitleKind::ForcedNarrative
    } else if label.contains("hard of hearing")
        || label.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| w == "sdh" || w == "cc")
    {
        SubtitleKind::Sdh
    } else if label.contains("commentary") {
        SubtitleKind::Commentary
    } else if track.name == "captioningFormat" && track.attr("closed").is_some_and(|c| c == "true") {
        SubtitleKind::Sdh
    } else {
        SubtitleKind::Subtitles
    }
}

/// `frameRate` text times `factorNumerator/factorDenominator`, as a reduced rational string.
fn frame_rate(el: &Element) -> Option<String> {
    let nominal: u64 = el.value().map_or(Some(1), |v| v.parse().ok())?;
    let num: u64 = el.attr("factorNumerator").map_or(Some(1), |v| v.parse().ok())?;
    let den: u64 = el.attr("factorDenominator").map_or(Some(1), |v| v.parse().ok())?;
    let top = nominal.checked_mul(num)?;
    if den == 0 || top == 0 {
        return None;
    }
    let g = gcd(top, den);
    let (top, den) = (top / g, den / g);
    Some(if den == 1 { top.to_string() } else { format!("{top}/{den}") })
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn edit_units(duration: &Element) -> Option<u32> {
    let units: f64 = duration.child_text("editUnitNumber")?.parse().ok()?;
    let el = duration.child("editUnitNumber")?;
    let rate: f64 = el.attr("editRate")?.parse().ok()?;
    let factor: f64 = el.attr("factorNumerator").and_then(|n| n.parse().ok()).unwrap_or(1.0)
        / el.attr("factorDenominator").and_then(|d| d.parse().ok()).unwrap_or(1.0);
    let fps = rate * factor;
    (fps > 0.0).then(|| units / fps).filter(|s| s.is_finite() && *s < f64::from(u32::MAX)).map(|s| s.round() as u32)
}

fn file_location(format: &Element) -> Option<String> {
    format.child_text("locator").or_else(|| format.child_text("fileName")).map(str::to_string)
}

fn file_stem(location: &str) -> String {
    let name = location.rsplit(['/', '\\']).next().unwrap_or(location);
    match name.rsplit_once('.') {
        Some((stem, _)) if !stem.is_empty() => stem.to_string(),
        _ => name.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn el(text: &str, attrs: &[(&str, &str)]) -> Element {
        Element {
            name: "frameRate".into(),
            text: text.into(),
            attrs: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Element::default()
        }
    }

    #[test]
    fn frame_rates() {
        assert_eq!(
            frame_rate(&el("24", &[("factorNumerator", "1000"), ("factorDenominator", "1001")])).as_deref(),
            Some("24000/1001")
        );
        assert_eq!(frame_rate(&el("25", &[])).as_deref(), Some("25"));
        assert_eq!(
            frame_rate(&el("1", &[("factorNumerator", "30000"), ("factorDenominator", "1001")])).as_deref(),
            Some("30000/1001")
        );
        assert_eq!(frame_rate(&el("x", &[])), None);
        assert_eq!(frame_rate(&el("25", &[("factorDenominator", "0")])), None);
    }

    #[test]
    fn stems() {
        assert_eq!(file_stem("/media/In/COUNSELOR_UHD.mxf"), "COUNSELOR_UHD");
        assert_eq!(file_stem("C:\\x\\a.b.mp4"), "a.b");
        assert_eq!(file_stem("noext"), "noext");
    }

    #[test]
    fn no_core_metadata_is_reported() {
        let b =
            parse("e.xml", b"<ebucore:ebuCoreMain xmlns:ebucore=\"urn:ebu:metadata-schema:ebucore\"/>").expect("parse");
        assert_eq!(b.rejected.len(), 1);
        assert!(b.works.is_empty() && b.versions.is_empty());
    }
}
