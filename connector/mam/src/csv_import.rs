//! Passerelle's CSV layout (documented in `CSV.md`): one row per work, optional
//! rights columns turning the row into a window too.

use std::collections::HashMap;

use passerelle_media::{AltId, Isan, LanguageTag, Territory, Work, WorkKind};

use crate::avails::{Located, WindowDraft, build_window};
use crate::collect::{Collector, bare_work, push_unique};
use crate::fields::{parse_duration_secs, parse_year, split_list};
use crate::xml::strip_bom;
use crate::{Format, ImportBatch, ImportError};

/// Every column the layout defines; others are refused so that a misspelt column
/// is noticed instead of silently ignored.
pub(crate) const COLUMNS: [&str; 25] = [
    "work_id",
    "title",
    "kind",
    "original_language",
    "release_year",
    "runtime",
    "summary",
    "genres",
    "countries_of_origin",
    "eidr",
    "isan",
    "alt_ids",
    "parent_id",
    "sequence",
    "window_id",
    "licensor",
    "license_type",
    "territories",
    "excluded_territories",
    "start",
    "end",
    "languages",
    "holdback_languages",
    "format_profile",
    "title_language",
];

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let body = strip_bom(bytes);
    let text = std::str::from_utf8(body).map_err(|e| ImportError::Encoding {
        file: file.to_string(),
        detail: format!("invalid UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let first_line = text.lines().next().unwrap_or("");
    let delimiter = if first_line.matches(';').count() > first_line.matches(',').count() { b';' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).flexible(true).from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Csv { file: file.to_string(), line: 1, message: e.to_string() })?
        .clone();
    let mut columns: HashMap<String, usize> = HashMap::new();
    let mut unknown = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        let name = h.trim().to_ascii_lowercase();
        if name.is_empty() {
            continue;
        }
        if COLUMNS.contains(&name.as_str()) {
            columns.entry(name).or_insert(i);
        } else {
            unknown.push(h.trim().to_string());
        }
    }
    let missing: Vec<String> =
        ["work_id", "title"].iter().filter(|c| !columns.contains_key(**c)).map(|c| (*c).to_string()).collect();
    if !missing.is_empty() || !unknown.is_empty() {
        let mut missing = missing;
        if !unknown.is_empty() {
            missing.push(format!("(unknown column(s) {} — see CSV.md for the layout)", unknown.join(", ")));
        }
        return Err(ImportError::MissingColumns {
            file: file.to_string(),
            place: "the header line".into(),
            missing,
            found: headers.iter().map(|h| h.trim().to_string()).collect(),
        });
    }

    let mut out = Collector::new(file, Format::Csv);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                out.reject(format!("line {line}"), None, format!("unreadable CSV row: {e}"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        out.records_seen += 1;
        let get = |name: &str| -> Option<&str> {
            columns.get(name).and_then(|&i| record.get(i)).map(str::trim).filter(|v| !v.is_empty())
        };
        row(&get, line, &mut out);
    }
    Ok(out.finish())
}

fn row<'r>(get: &dyn Fn(&str) -> Option<&'r str>, line: u64, out: &mut Collector) {
    let at = |column: &str| format!("line {line}, column {column}");
    let Some(work_id) = get("work_id") else {
        out.reject(format!("line {line}"), None, "work_id is empty: the row has no key");
        return;
    };
    let Some(title) = get("title") else {
        out.reject(at("title"), Some(work_id), "title is empty: a work needs a title; row rejected");
        return;
    };
    let mut work: Work = bare_work(work_id, get("kind").map_or(WorkKind::Movie, WorkKind::from_mddf), title);
    work.summary = get("summary").map(str::to_string);
    work.release_year = match get("release_year") {
        None => None,
        Some(y) => match parse_year(y) {
            Some(y) => Some(y),
            None => {
                out.reject(at("release_year"), Some(work_id), format!("`{y}` is not a year; dropped, work kept"));
                None
            }
        },
    };
    work.runtime_seconds = match get("runtime") {
        None => None,
        Some(r) => match parse_duration_secs(r) {
            Some(s) => Some(s),
            None => {
                out.reject(
                    at("runtime"),
                    Some(work_id),
                    format!("`{r}` is not a duration (seconds, HH:MM:SS or ISO 8601 like PT1H30M); dropped, work kept"),
                );
                None
            }
        },
    };
    work.parent = get("parent_id").map(str::to_string);
    work.sequence = get("sequence").and_then(|s| s.parse().ok());
    if let Some(genres) = get("genres") {
        for g in split_list(genres) {
            push_unique(&mut work.genres, g.to_string());
        }
    }
    let field_error = |out: &mut Collector, column: &str, e: passerelle_media::IdError| {
        out.reject(at(column), Some(work_id), format!("{e}; dropped, work kept"));
    };
    if let Some(raw) = get("original_language") {
        match LanguageTag::parse(raw) {
            Ok(l) => work.original_language = Some(l),
            Err(e) => field_error(out, "original_language", e),
        }
    }
    if let Some(list) = get("countries_of_origin") {
        for c in split_list(list) {
            match Territory::parse(c) {
                Ok(t) => push_unique(&mut work.countries_of_origin, t),
                Err(e) => field_error(out, "countries_of_origin", e),
            }
        }
    }
    if let Some(raw) = get("eidr") {
        match crate::fields::parse_eidr(raw) {
            Ok(e) => work.eidr = Some(e),
            Err(e) => field_error(out, "eidr", e),
        }
    }
    if let Some(raw) = get("isan") {
        match Isan::parse(raw) {
            Ok(i) => work.isan = Some(i),
            Err(e) => field_error(out, "isan", e),
        }
    }
    if let Some(list) = get("alt_ids") {
        for item in split_list(list) {
            match item.split_once('=') {
                Some((ns, value)) if !ns.trim().is_empty() && !value.trim().is_empty() => {
                    push_unique(&mut work.alt_ids, AltId { namespace: ns.trim().into(), value: value.trim().into() });
                }
                _ => out.reject(
                    at("alt_ids"),
                    Some(work_id),
                    format!("`{item}` is not `namespace=value`; dropped, work kept"),
                ),
            }
        }
    }
    if let Some(lang) = get("title_language") {
        match LanguageTag::parse(lang) {
            Ok(language) => {
                work.titles.push(passerelle_media::LocalizedTitle { language, title: title.to_string(), summary: None })
            }
            Err(e) => field_error(out, "title_language", e),
        }
    }
    out.add_work(work);

    let rights_given = ["license_type", "territories", "start", "end", "window_id"].iter().any(|c| get(c).is_some());
    if !rights_given {
        return;
    }
    let located = |column: &str, value: &'r str| Located { value, location: at(column) };
    let list = |column: &str| -> Vec<Located<'r>> {
        get(column).map(|v| split_list(v).map(|item| located(column, item)).collect()).unwrap_or_default()
    };
    let draft = WindowDraft {
        id: get("window_id").map(str::to_string),
        alid: work_id.to_string(),
        work_id: work_id.to_string(),
        licensor: get("licensor").map(str::to_string),
        license_type: get("license_type").map(|v| located("license_type", v)),
        territories: list("territories"),
        excluded: list("excluded_territories"),
        start: get("start").map(|v| located("start", v)),
        end: get("end").map(|v| located("end", v)),
        languages: list("languages"),
        holdback_languages: list("holdback_languages"),
        format_profile: get("format_profile").map(str::to_string),
        location: format!("line {line}"),
    };
    if let Some(window) = build_window(draft, out) {
        out.add_rights(window, &format!("line {line}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_works_and_windows() {
        let csv = "work_id,title,kind,eidr,genres,license_type,territories,start,end,languages\n\
                   w1,First,movie,10.5240/7EC7-228A-510A-053E-CBB8-J,Drama|Crime,SVOD,FR|BE,2024-01-01,2024-12-31,fr\n\
                   w2,Second,episode,,,,,,,\n\
                   w3,Third,movie,10.5240/7EC7-228A-510A-053E-CBB8-K,,EST,XX,2024-01-01,,\n\
                   ,NoKey,movie,,,,,,,\n";
        let b = parse("c.csv", csv.as_bytes()).expect("parse");
        assert_eq!(b.records_seen, 4);
        assert_eq!(b.works.len(), 3);
        assert_eq!(b.works[0].genres, ["Drama", "Crime"]);
        assert_eq!(b.works[1].kind, WorkKind::Episode);
        assert!(b.works[2].eidr.is_none());
        assert_eq!(b.rights.len(), 1);
        assert_eq!(b.rights[0].id, "w1#SVOD-FR+BE--2024-01-01");
        let locations: Vec<&str> = b.rejected.iter().map(|r| r.location.as_str()).collect();
        assert_eq!(locations, ["line 4, column eidr", "line 4, column territories", "line 5"]);
    }

    #[test]
    fn semicolon_delimiter_and_unknown_columns() {
        let b = parse("c.csv", "work_id;title\nw1;Un titre\n".as_bytes()).expect("parse");
        assert_eq!(b.works[0].title, "Un titre");
        let err = parse("c.csv", b"work_id,title,colour\n").unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = parse("c.csv", b"id,name\n").unwrap_err();
        assert!(matches!(err, ImportError::MissingColumns { .. }));
    }
}
