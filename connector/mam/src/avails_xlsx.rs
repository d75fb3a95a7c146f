//! The MovieLabs Avails spreadsheet (template v1.7–1.9): one row per transaction.
//!
//! The header row is found by its column names (the template puts a category row
//! above it and a `//REQ`/`//Opt` row below it), on the sheet named like "Movies"
//! first, then on any other sheet. Rows are reported with the spreadsheet's own
//! 1-based row numbers so that a rejection can be found in Excel directly.

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx, open_workbook_from_rs};
use passerelle_media::{AltId, Credit, LanguageTag, LocalizedTitle, Version, VersionKind, WorkKind};

use crate::avails::{Located, WindowDraft, build_window};
use crate::collect::{Collector, bare_work, push_unique};
use crate::fields::{content_id_for_alid, excel_serial, parse_duration_secs, parse_eidr, parse_year, split_list};
use crate::{Format, ImportBatch, ImportError};

/// Columns without which a row cannot become a window; each entry lists accepted spellings.
const REQUIRED: [&[&str]; 7] = [
    &["Territory"],
    &["WorkType"],
    &["LicenseType"],
    &["Start"],
    &["End"],
    &["ContentID", "ALID", "EpisodeContentID"],
    &["TitleInternalAlias", "TitleDisplayUnlimited", "EpisodeTitleDisplayUnlimited", "EpisodeTitleInternalAlias"],
];

/// How many rows from the top are searched for the header.
const HEADER_SEARCH_ROWS: usize = 30;

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let spreadsheet = |message: String| ImportError::Spreadsheet { file: file.to_string(), message };
    let mut book: Xlsx<Cursor<&[u8]>> =
        open_workbook_from_rs(Cursor::new(bytes)).map_err(|e: calamine::XlsxError| spreadsheet(e.to_string()))?;
    let mut names = book.sheet_names();
    // The template's sheet is "Movies" (or "Template-Movies"…); look there first.
    names.sort_by_key(|n| !n.to_ascii_lowercase().contains("movie"));
    let mut best: Option<(usize, String, Vec<String>, Vec<String>)> = None;
    for name in names {
        let range = book.worksheet_range(&name).map_err(|e| spreadsheet(format!("sheet `{name}`: {e}")))?;
        // Rows are numbered from the range's first row, which need not be row 1.
        let first_row = range.start().map_or(0, |(r, _)| r);
        let rows: Vec<&[Data]> = range.rows().collect();
        match find_header(&rows) {
            Header::Found { row, columns } => {
                let mut out = Collector::new(file, Format::AvailsXlsx);
                let sheet = Sheet { columns };
                for (i, cells) in rows.iter().enumerate().skip(row + 1) {
                    sheet.row(cells, first_row as usize + i + 1, &mut out);
                }
                return Ok(out.finish());
            }
            Header::Partial { score, missing, found } => {
                if best.as_ref().is_none_or(|(s, ..)| score > *s) {
                    best = Some((score, name.clone(), missing, found));
                }
            }
        }
    }
    let (place, missing, found) = match best {
        Some((_, sheet, missing, found)) => (format!("sheet `{sheet}`"), missing, found),
        None => ("the workbook".to_string(), REQUIRED.iter().map(|a| a.join("/")).collect(), Vec::new()),
    };
    Err(ImportError::MissingColumns { file: file.to_string(), place, missing, found })
}

enum Header {
    Found { row: usize, columns: HashMap<String, usize> },
    Partial { score: usize, missing: Vec<String>, found: Vec<String> },
}

fn find_header(rows: &[&[Data]]) -> Header {
    let mut best = Header::Partial { score: 0, missing: Vec::new(), found: Vec::new() };
    for (i, cells) in rows.iter().enumerate().take(HEADER_SEARCH_ROWS) {
        let mut columns = HashMap::new();
        for (j, cell) in cells.iter().enumerate() {
            let name = text(cell);
            if !name.is_empty() {
                columns.entry(name.to_ascii_lowercase()).or_insert(j);
            }
        }
        let missing: Vec<String> = REQUIRED
            .iter()
            .filter(|alts| !alts.iter().any(|a| columns.contains_key(&a.to_ascii_lowercase())))
            .map(|alts| alts.join(" or "))
            .collect();
        if missing.is_empty() {
            return Header::Found { row: i, columns };
        }
        let score = REQUIRED.len() - missing.len();
        if score >= 2 && matches!(&best, Header::Partial { score: s, .. } if score > *s) {
            let found = cells.iter().map(text).filter(|t| !t.is_empty()).collect();
            best = Header::Partial { score, missing, found };
        }
    }
    best
}

struct Sheet {
    columns: HashMap<String, usize>,
}

impl Sheet {
    fn cell<'r>(&self, cells: &'r [Data], name: &str) -> Option<&'r Data> {
        let j = *self.columns.get(&name.to_ascii_lowercase())?;
        cells.get(j).filter(|c| !text(c).is_empty())
    }

    fn get(&self, cells: &[Data], name: &str) -> Option<String> {
        self.cell(cells, name).map(text)
    }

    fn first(&self, cells: &[Data], names: &[&str]) -> Option<String> {
        names.iter().find_map(|n| self.get(cells, n))
    }

    fn row(&self, cells: &[Data], row_no: usize, out: &mut Collector) {
        if cells.iter().all(|c| text(c).is_empty()) {
            return;
        }
        // The template's `//REQ` / `//Opt` guidance row, and any comment row like it.
        let is_comment = ["Territory", "LicenseType", "ContentID", "WorkType"]
            .iter()
            .any(|n| self.get(cells, n).is_some_and(|v| v.starts_with("//")));
        if is_comment {
            return;
        }
        out.records_seen += 1;
        let at = |column: &str| format!("row {row_no}, column {column}");

        let content_id = self.first(cells, &["ContentID", "EpisodeContentID"]);
        let alid_cell = self.get(cells, "ALID");
        let Some(work_id) = content_id.clone().or_else(|| alid_cell.as_deref().map(content_id_for_alid)) else {
            out.reject(
                format!("row {row_no}"),
                None,
                "the row has neither ContentID nor ALID: nothing identifies the work",
            );
            return;
        };
        let alid = alid_cell.unwrap_or_else(|| work_id.clone());

        let title_display = self.first(cells, &["TitleDisplayUnlimited", "EpisodeTitleDisplayUnlimited"]);
        let title = title_display
            .clone()
            .or_else(|| self.first(cells, &["TitleInternalAlias", "EpisodeTitleInternalAlias"]))
            .unwrap_or_else(|| {
                out.reject(
                    at("TitleInternalAlias"),
                    Some(&work_id),
                    "no title on this row: the work id is used as its title",
                );
                work_id.clone()
            });
        let kind = self.get(cells, "WorkType").map_or(WorkKind::Other, |k| WorkKind::from_mddf(&k));
        let mut work = bare_work(&work_id, kind, &title);
        work.release_year = self.get(cells, "ReleaseYear").and_then(|y| parse_year(&y));
        work.runtime_seconds = self.cell(cells, "TotalRunTime").and_then(runtime);
        work.parent = self.get(cells, "SeasonContentID");
        work.sequence = self.get(cells, "EpisodeNumber").and_then(|n| n.trim_end_matches(".0").parse().ok());
        if let Some(alt) = self.get(cells, "AltID") {
            push_unique(&mut work.alt_ids, AltId { namespace: "AltID".into(), value: alt });
        }
        if let Some(director) = self.get(cells, "Director") {
            for name in director.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                push_unique(&mut work.credits, Credit { role: "Director".into(), name: name.to_string() });
            }
        }
        let asset_language = self.get(cells, "AssetLanguage");
        if let (Some(lang), Some(display)) = (asset_language.as_deref(), title_display.as_deref())
            && let Ok(language) = LanguageTag::parse(lang)
        {
            work.titles.push(LocalizedTitle { language, title: display.to_string(), summary: None });
        }
        for column in ["TitleID", "EpisodeTitleID"] {
            if let Some(raw) = self.get(cells, column) {
                match parse_eidr(&raw) {
                    Ok(eidr) => {
                        work.eidr.get_or_insert(eidr);
                    }
                    Err(e) => out.reject(at(column), Some(&work_id), format!("{e}; title EIDR dropped, work kept")),
                }
            }
        }
        if let Some(raw) = self.get(cells, "EditID") {
            match parse_eidr(&raw) {
                Ok(eidr) => out.add_version(Version {
                    id: format!("{work_id}#edit"),
                    work_id: work_id.clone(),
                    kind: VersionKind::Edit,
                    label: None,
                    eidr: Some(eidr),
                    isan: None,
                    runtime_seconds: work.runtime_seconds,
                    frame_rate: None,
                    audio_languages: Vec::new(),
                    subtitles: Vec::new(),
                    files: Vec::new(),
                }),
                Err(e) => out.reject(
                    at("EditID"),
                    Some(&work_id),
                    format!("{e}; edit EIDR dropped, no edit version recorded"),
                ),
            }
        }
        out.add_work(work);

        let located = |column: &str, value: String| (value, at(column));
        let license = self.get(cells, "LicenseType").map(|v| located("LicenseType", v));
        let territories: Vec<(String, String)> = self
            .get(cells, "Territory")
            .map(|v| split_list(&v).map(|t| located("Territory", t.to_string())).collect())
            .unwrap_or_default();
        let excluded: Vec<(String, String)> = self
            .get(cells, "TerritoryExclusion")
            .map(|v| split_list(&v).map(|t| located("TerritoryExclusion", t.to_string())).collect())
            .unwrap_or_default();
        let start = self.cell(cells, "Start").map(|c| located("Start", date_text(c)));
        let end = self.cell(cells, "End").map(|c| located("End", date_text(c)));
        let mut languages: Vec<(String, String)> = self
            .get(cells, "AllowedLanguages")
            .map(|v| split_list(&v).map(|l| located("AllowedLanguages", l.to_string())).collect())
            .unwrap_or_default();
        if languages.is_empty()
            && let Some(lang) = asset_language
        {
            // The row licenses the asset in its language when no wider list is given.
            languages.push(located("AssetLanguage", lang));
        }
        let holdback: Vec<(String, String)> = self
            .get(cells, "HoldbackLanguage")
            .map(|v| split_list(&v).map(|l| located("HoldbackLanguage", l.to_string())).collect())
            .unwrap_or_default();
        let draft = WindowDraft {
            id: self.get(cells, "AvailID").map(|a| format!("{alid}#{a}")),
            alid: alid.clone(),
            work_id,
            licensor: self.get(cells, "DisplayName"),
            license_type: license.as_ref().map(|(v, l)| Located { value: v.as_str(), location: l.clone() }),
            territories: to_located(&territories),
            excluded: to_located(&excluded),
            start: start.as_ref().map(|(v, l)| Located { value: v.as_str(), location: l.clone() }),
            end: end.as_ref().map(|(v, l)| Located { value: v.as_str(), location: l.clone() }),
            languages: to_located(&languages),
            holdback_languages: to_located(&holdback),
            format_profile: self.get(cells, "FormatProfile"),
            location: format!("row {row_no}"),
        };
        if let Some(window) = build_window(draft, out) {
            out.add_rights(window, &format!("row {row_no}"));
        }
    }
}

fn to_located(list: &[(String, String)]) -> Vec<Located<'_>> {
    list.iter().map(|(v, l)| Located { value: v.as_str(), location: l.clone() }).collect()
}

/// A cell as text: numbers without a spurious `.0`, dates in ISO form.
fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => {
            let (y, mo, d, h, mi, s, _) = dt.to_ymd_hms_milli();
            if (h, mi, s) == (0, 0, 0) {
                format!("{y:04}-{mo:02}-{d:02}")
            } else {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}")
            }
        }
        Data::Error(_) | Data::Empty => String::new(),
    }
}

/// A Start/End cell: Excel stores dates as serial numbers, shown as dates by the
/// cell style; a plain number in a date column is such a serial.
fn date_text(cell: &Data) -> String {
    let serial = match cell {
        Data::Float(f) => Some(*f),
        Data::Int(i) => Some(*i as f64),
        _ => None,
    };
    match serial.and_then(excel_serial) {
        Some(parsed) if parsed.date_only => parsed.at.date().to_string(),
        Some(parsed) => {
            let t = parsed.at;
            format!("{}T{:02}:{:02}:{:02}", t.date(), t.hour(), t.minute(), t.second())
        }
        None => text(cell),
    }
}

/// TotalRunTime: a time-of-day cell (fraction of a day) or text such as `01:56:20` / `PT1H56M`.
fn runtime(cell: &Data) -> Option<u32> {
    let days = match cell {
        Data::Float(f) if *f < 1.0 => Some(*f),
        Data::DateTime(dt) if dt.as_f64() < 1.0 => Some(dt.as_f64()),
        _ => None,
    };
    match days {
        Some(d) if d.is_finite() && d > 0.0 => Some((d * 86_400.0).round() as u32),
        Some(_) => None,
        None => parse_duration_secs(&text(cell)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Data {
        Data::String(v.into())
    }

    #[test]
    fn header_is_found_below_a_category_row() {
        let category: Vec<Data> = vec![s("Avail"), s("AvailTrans")];
        let header: Vec<Data> =
            ["Territory", "WorkType", "LicenseType", "Start", "End", "ContentID", "TitleInternalAlias"]
                .iter()
                .map(|n| s(n))
                .collect();
        let rows: Vec<&[Data]> = vec![&category, &header];
        match find_header(&rows) {
            Header::Found { row, columns } => {
                assert_eq!(row, 1);
                assert_eq!(columns.get("contentid"), Some(&5));
            }
            Header::Partial { missing, .. } => panic!("missing {missing:?}"),
        }
    }

    #[test]
    fn partial_header_names_what_is_missing() {
        let header: Vec<Data> = ["WorkType", "LicenseType", "Start", "End", "ContentID", "TitleInternalAlias"]
            .iter()
            .map(|n| s(n))
            .collect();
        let rows: Vec<&[Data]> = vec![&header];
        match find_header(&rows) {
            Header::Partial { missing, score, .. } => {
                assert_eq!(missing, vec!["Territory".to_string()]);
                assert_eq!(score, 6);
            }
            Header::Found { .. } => panic!("Territory is missing"),
        }
    }

    #[test]
    fn cells_as_text_dates_and_runtimes() {
        assert_eq!(text(&Data::Float(2006.0)), "2006");
        assert_eq!(text(&Data::Float(0.5)), "0.5");
        assert_eq!(date_text(&Data::Float(41439.0)), "2013-06-14");
        assert_eq!(date_text(&s("Open")), "Open");
        assert_eq!(runtime(&Data::Float(0.080787037037037)), Some(6980));
        assert_eq!(runtime(&s("01:56:20")), Some(6980));
        assert_eq!(runtime(&Data::Float(-0.2)), None);
    }

    #[test]
    fn garbage_is_a_spreadsheet_error() {
        let err = parse("x.xlsx", b"PK\x03\x04 not really a zip").unwrap_err();
        assert!(matches!(err, ImportError::Spreadsheet { .. }), "{err:?}");
    }
}
