//! Automatic QC of a received delivery: every subtitle file is read and checked against the order's style profile
//! (`Order::qc_profile`: frame rate, target language, format, line and reading-speed limits), and the errors
//! become the QC notes of a redelivery request, located by timecode. Warnings are kept in the reports for the
//! reviewer but do not ask for redelivery.

use passerelle_delivery::{DeliveryManifest, FileRole, RelativePath};
use passerelle_exchange::{NoteCategory, Order, QcNote, Severity, TimecodeRange};
use passerelle_subtitle::{QcReport, Rule};
use serde::Serialize;
use serde_json::{Value, json};

/// At most this many notes go into one redelivery request; the rest are counted in a last note (the full
/// reports stay with the delivery).
pub(crate) const MAX_NOTES: usize = 50;

/// One subtitle file's QC, as stored and shown (`report` is the `passerelle-subtitle` QcReport, or
/// `{"error": …}` when the file could not be read as subtitles).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct QcFileView {
    pub file: String,
    pub report: Value,
    pub passed: bool,
}

/// The files of `manifest` QC looks at: role subtitle, or a subtitle extension.
pub(crate) fn subtitle_files(manifest: &DeliveryManifest) -> Vec<String> {
    manifest
        .files
        .iter()
        .filter(|f| {
            f.role == FileRole::Subtitle
                || RelativePath::parse(&f.path).is_ok_and(|p| FileRole::guess(&p) == FileRole::Subtitle)
        })
        .map(|f| f.path.clone())
        .collect()
}

/// Reads and checks one file's bytes against the order.
pub(crate) fn check_file(order: &Order, file: &str, bytes: &[u8]) -> (QcFileView, Option<QcReport>) {
    match passerelle_subtitle::parse(bytes) {
        Ok(doc) => {
            let report = passerelle_subtitle::check(&doc, &order.qc_profile());
            let view = QcFileView {
                file: file.to_string(),
                report: serde_json::to_value(&report).unwrap_or(Value::Null),
                passed: report.passed(),
            };
            (view, Some(report))
        }
        Err(e) => {
            let view = QcFileView { file: file.to_string(), report: json!({"error": e.to_string()}), passed: false };
            (view, None)
        }
    }
}

fn category(rule: Rule) -> NoteCategory {
    match rule {
        Rule::ReadingSpeed => NoteCategory::ReadingSpeed,
        Rule::MaxCharsPerLine => NoteCategory::LineLength,
        Rule::MaxLines => NoteCategory::LineCount,
        Rule::Format | Rule::Language | Rule::LanguageUndeclared | Rule::FrameRate | Rule::Profile => {
            NoteCategory::Format
        }
        Rule::TimecodeOrder
        | Rule::Overlap
        | Rule::MinDuration
        | Rule::MaxDuration
        | Rule::MinGap
        | Rule::FrameBoundary
        | Rule::Continuity => NoteCategory::Timing,
    }
}

/// The redelivery notes for the failing files: one per error finding (file-level ones critical, per-cue ones
/// major), located by the cue's timecodes; a file that does not parse is one critical format note.
pub(crate) fn notes(files: &[(QcFileView, Option<QcReport>)]) -> Vec<QcNote> {
    let mut out = Vec::new();
    for (view, report) in files.iter().filter(|(v, _)| !v.passed) {
        let Some(report) = report else {
            let why = view.report["error"].as_str().unwrap_or("unreadable");
            out.push(QcNote {
                category: NoteCategory::Format,
                severity: Severity::Critical,
                timecode_range: None,
                text: format!("{}: cannot be read as subtitles ({why}); deliver a valid file", view.file),
            });
            continue;
        };
        for finding in report.findings.iter().filter(|f| f.severity == passerelle_subtitle::Severity::Error) {
            let timecode_range = finding
                .timecodes
                .map(|tc| TimecodeRange { start: tc.begin.to_string(), end: tc.end.unwrap_or(tc.begin).to_string() });
            let cue = finding.cue.map(|n| format!(" (cue {n})")).unwrap_or_default();
            out.push(QcNote {
                category: category(finding.rule),
                severity: if finding.cue.is_some() { Severity::Major } else { Severity::Critical },
                timecode_range,
                text: format!("{}{cue}: {}", view.file, finding.message),
            });
        }
    }
    if out.len() > MAX_NOTES {
        let more = out.len() - (MAX_NOTES - 1);
        out.truncate(MAX_NOTES - 1);
        out.push(QcNote {
            category: NoteCategory::Other,
            severity: Severity::Major,
            timecode_range: None,
            text: format!("{more} more errors: see the QC reports of this delivery"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(format: &str, rate: &str) -> Order {
        let json = json!({
            "id": "PO-1",
            "work": {"id": "md:cid:org:example:1"},
            "version": {"eidr": "10.5240/7EC7-228A-510A-053E-CBB8-J"},
            "targetLanguage": "fr", "kind": "subtitles", "format": format, "frameRate": rate,
            "startTimecode": "00:00:00:00",
            "styleProfile": {"maxCharsPerLine": 42, "maxLines": 2,
                "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
                "minEventDurationMs": 833, "maxEventDurationMs": 7000, "minGapFrames": 2},
            "dueDate": "2099-07-01T17:00:00Z", "materials": []
        });
        Order::from_json(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn errors_become_notes_located_by_timecode_and_warnings_do_not() {
        let o = order("srt", "25");
        let good = b"1\n00:00:01,000 --> 00:00:03,000\nBonjour\n\n2\n00:00:04,000 --> 00:00:06,000\nSalut\n";
        let (view, report) = check_file(&o, "fr.srt", good);
        assert!(view.passed, "{:#}", view.report);
        assert!(notes(&[(view, report)]).is_empty());

        let long = "Une ligne beaucoup trop longue pour tenir dans la limite fixée";
        let bad = format!("1\n00:00:01,000 --> 00:00:03,000\n{long}\n");
        let (view, report) = check_file(&o, "fr.srt", bad.as_bytes());
        assert!(!view.passed);
        let notes = notes(&[(view, report)]);
        let note = notes.iter().find(|n| n.category == NoteCategory::LineLength).expect("a line-length note");
        let range = note.timecode_range.as_ref().expect("located");
        assert_eq!((range.start.as_str(), range.end.as_str()), ("00:00:01:00", "00:00:03:00"));
        assert!(note.text.starts_with("fr.srt (cue 1)"), "{}", note.text);
    }

    #[test]
    fn an_unreadable_file_is_one_critical_format_note() {
        let (view, report) = check_file(&order("srt", "25"), "fr.srt", b"not subtitles at all");
        assert!(!view.passed && report.is_none());
        let notes = notes(&[(view, report)]);
        assert_eq!((notes.len(), notes[0].category, notes[0].severity), (1, NoteCategory::Format, Severity::Critical));
    }

    #[test]
    fn subtitle_files_are_found_by_role_or_extension() {
        let manifest: DeliveryManifest = serde_json::from_value(json!({
            "files": [
                {"path": "fr.srt", "size": 1, "sha256": "00", "role": "other"},
                {"path": "notes.txt", "size": 1, "sha256": "00", "role": "other"},
                {"path": "x/track.bin", "size": 1, "sha256": "00", "role": "subtitle"}],
            "created": "2026-11-22T00:00:00Z", "creator": "t"}))
        .unwrap();
        assert_eq!(subtitle_files(&manifest), ["fr.srt", "x/track.bin"]);
    }
}
