//! One test per rule, each with its boundary: exactly at the limit passes, one frame or character beyond fails.

use super::*;
use crate::model::{Document, Location, SubtitleFormat};

/// A document whose cues are given in frames at `rate`.
fn doc_in_frames(rate: FrameRate, cues: &[(i64, Option<i64>, &[&str])]) -> Document {
    let mut doc = Document::new(SubtitleFormat::Ttml);
    for (i, (begin, end, lines)) in cues.iter().enumerate() {
        let begin = Time::from_frames(*begin, rate).unwrap();
        let end = end.map(|e| Time::from_frames(e, rate).unwrap());
        doc.push_cue(begin, end, lines.iter().map(|l| (*l).to_owned()).collect(), Location::Line(i + 1));
    }
    doc
}

fn rules(report: &QcReport) -> Vec<(Rule, Option<usize>)> {
    report.findings.iter().map(|f| (f.rule, f.cue)).collect()
}

fn profile(rate: FrameRate) -> StyleProfile {
    StyleProfile::new(rate)
}

#[test]
fn chars_per_line_boundary() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(rate, &[(0, Some(50), &["0123456789", "é\u{301}"]), (100, Some(150), &["0123456789X"])]);
    let mut p = profile(rate);
    p.max_chars_per_line = Some(10);
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::MaxCharsPerLine, Some(2))]);
    let finding = &report.findings[0];
    assert_eq!(finding.measured, Some(Measure::Characters(11)));
    assert_eq!(finding.limit, Some(Measure::Characters(10)));
    assert_eq!(finding.severity, Severity::Error);
    assert!(!report.passed());
}

#[test]
fn lines_per_event_boundary() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(rate, &[(0, Some(50), &["a", "b"]), (100, Some(150), &["a", "b", "c"])]);
    let mut p = profile(rate);
    p.max_lines = Some(2);
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::MaxLines, Some(2))]);
    assert_eq!(report.findings[0].measured, Some(Measure::Lines(3)));
}

#[test]
fn reading_speed_boundary_at_25_fps() {
    let rate = FrameRate::FPS_25;
    // 17 characters in exactly one second (25 frames) is 17 cps.
    let doc =
        doc_in_frames(rate, &[(0, Some(25), &["12345678", "901234567"]), (50, Some(75), &["123456789012345678"])]);
    let mut p = profile(rate);
    p.max_reading_speed_cps = Some(17.0);
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::ReadingSpeed, Some(2))]);
    assert_eq!(report.findings[0].measured, Some(Measure::CharactersPerSecond(18.0)));
    assert_eq!(report.findings[0].severity, Severity::Warning);
    assert!(report.passed(), "reading speed is a warning by default");
}

#[test]
fn reading_speed_is_exact_at_29_97() {
    let rate = FrameRate::FPS_29_97_NDF;
    // 30 frames at 29.97 fps last 1.001 s: 15 characters give 14.985 cps, within 15; 16 do not.
    let doc = doc_in_frames(rate, &[(0, Some(30), &["123456789012345"]), (60, Some(90), &["1234567890123456"])]);
    let mut p = profile(rate);
    p.max_reading_speed_cps = Some(15.0);
    assert_eq!(rules(&check(&doc, &p)), [(Rule::ReadingSpeed, Some(2))]);
}

#[test]
fn reading_speed_counting_rules() {
    let rate = FrameRate::FPS_25;
    // 12 characters with 2 spaces and 2 punctuation marks, over one second.
    let doc = doc_in_frames(rate, &[(0, Some(25), &["Oh, non !", "Zut"])]);
    let mut p = profile(rate);
    p.max_reading_speed_cps = Some(10.0);
    for (counting, fails) in [
        (CharCounting::AllCharacters, true),
        (CharCounting::ExcludeSpaces, false),
        (CharCounting::ExcludePunctuation, false),
        (CharCounting::ExcludeSpacesAndPunctuation, false),
    ] {
        p.reading_speed_counting = counting;
        assert_eq!(check(&doc, &p).findings.len(), usize::from(fails), "{counting:?}");
    }
    p.max_reading_speed_cps = Some(8.0);
    p.reading_speed_counting = CharCounting::ExcludeSpacesAndPunctuation;
    assert!(check(&doc, &p).findings.is_empty());
    p.max_reading_speed_cps = Some(7.99);
    assert_eq!(rules(&check(&doc, &p)), [(Rule::ReadingSpeed, Some(1))]);
}

#[test]
fn min_duration_boundary_in_frames() {
    let rate = FrameRate::FPS_24;
    let doc = doc_in_frames(rate, &[(0, Some(20), &["ok"]), (100, Some(119), &["short"])]);
    let mut p = profile(rate);
    p.min_duration = Some(TimeSpan::Frames(20));
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::MinDuration, Some(2))]);
    assert_eq!(report.findings[0].measured, Some(Measure::Frames(19.0)));
    assert_eq!(report.findings[0].limit, Some(Measure::Frames(20.0)));
}

#[test]
fn max_duration_boundary_in_milliseconds() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(rate, &[(0, Some(175), &["7 s"]), (200, Some(376), &["7 s + 1 frame"])]);
    let mut p = profile(rate);
    p.max_duration = Some(TimeSpan::Millis(7000));
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::MaxDuration, Some(2))]);
    assert_eq!(report.findings[0].measured, Some(Measure::Seconds(7.04)));
    assert_eq!(report.findings[0].limit, Some(Measure::Seconds(7.0)));
    // At 23.976 fps, 7 s holds 167.83 frames: 167 pass, 168 fail.
    let rate = FrameRate::FPS_23_976;
    let doc = doc_in_frames(rate, &[(0, Some(167), &["a"]), (200, Some(368), &["b"])]);
    p.frame_rate = rate;
    assert_eq!(rules(&check(&doc, &p)), [(Rule::MaxDuration, Some(2))]);
}

#[test]
fn min_gap_boundary_and_chained_cues() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(
        rate,
        &[
            (0, Some(50), &["a"]),
            (52, Some(100), &["gap 2"]),
            (101, Some(150), &["gap 1"]),
            (150, Some(200), &["gap 0"]),
        ],
    );
    let mut p = profile(rate);
    p.min_gap_frames = Some(2);
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::MinGap, Some(3)), (Rule::MinGap, Some(4))]);
    assert_eq!(report.findings[0].measured, Some(Measure::Frames(1.0)));
    assert_eq!(report.findings[1].measured, Some(Measure::Frames(0.0)));
}

#[test]
fn overlaps_are_found_in_time_order() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(
        rate,
        &[
            (0, Some(100), &["long"]),
            (100, Some(120), &["touching"]),
            (119, Some(130), &["over by one frame"]),
            (200, None, &["open"]),
            (300, Some(310), &["under open"]),
        ],
    );
    let report = check(&doc, &profile(rate));
    let overlaps: Vec<_> = report.findings_for(Rule::Overlap).map(|f| (f.cue, f.measured.clone())).collect();
    assert_eq!(overlaps, [(Some(3), Some(Measure::Frames(1.0))), (Some(5), None)]);
}

#[test]
fn timecode_order_rules() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(
        rate,
        &[(50, Some(60), &["b"]), (10, Some(20), &["earlier"]), (70, Some(70), &["zero"]), (80, None, &["open"])],
    );
    let report = check(&doc, &profile(rate));
    let order: Vec<_> = report.findings_for(Rule::TimecodeOrder).map(|f| f.cue).collect();
    assert_eq!(order, [Some(2), Some(3), Some(4)]);
}

#[test]
fn frame_boundaries_tolerate_millisecond_rounding() {
    let rate = FrameRate::FPS_23_976;
    let mut doc = Document::new(SubtitleFormat::Srt);
    let ms = |m: i64| Time::from_millis(m).unwrap();
    // Frame 25 is at 1042.708 ms: 1042 and 1043 are within a millisecond, 1044 is not.
    for (begin, end) in [(1043, 2045), (1042, 3003)] {
        doc.push_cue(ms(begin), Some(ms(end)), vec!["x".to_owned()], Location::Line(1));
    }
    let report = check(&doc, &profile(rate));
    let off: Vec<_> = report.findings_for(Rule::FrameBoundary).map(|f| (f.cue, f.message.contains("end"))).collect();
    assert_eq!(off, [(Some(1), true)]);
    assert_eq!(report.findings[0].timecodes.unwrap().begin.to_string(), "00:00:01:01");
    // Exactly 1 ms off a 25 fps frame is flagged; 1 unit less is not.
    let rate = FrameRate::FPS_25;
    let frame = Time::from_frames(25, rate).unwrap();
    let mut doc = Document::new(SubtitleFormat::Ttml);
    let just_inside = Time::from_units(frame.units() + 89_999);
    let at_tolerance = Time::from_units(frame.units() + 90_000);
    doc.push_cue(just_inside, Some(Time::from_frames(40, rate).unwrap()), vec!["a".to_owned()], Location::Line(1));
    doc.push_cue(at_tolerance, Some(Time::from_frames(80, rate).unwrap()), vec!["b".to_owned()], Location::Line(2));
    let report = check(&doc, &profile(rate));
    assert_eq!(rules(&report), [(Rule::Overlap, Some(2)), (Rule::FrameBoundary, Some(2))]);
}

#[test]
fn continuity_boundary() {
    let rate = FrameRate::FPS_25;
    let hour = 3600 * 25;
    let doc = doc_in_frames(
        rate,
        &[
            (hour, Some(hour + 50), &["first frame"]),
            (hour - 1, Some(hour + 60), &["before"]),
            (hour + 200, Some(hour + 250), &["last frame"]),
            (hour + 240, Some(hour + 251), &["after"]),
        ],
    );
    let mut p = profile(rate);
    p.programme = Some(ProgrammeSpan { start: "01:00:00:00".parse().unwrap(), end: "01:00:10:00".parse().unwrap() });
    let report = check(&doc, &p);
    let continuity: Vec<_> = report.findings_for(Rule::Continuity).map(|f| f.cue).collect();
    assert_eq!(continuity, [Some(2), Some(4)]);
}

#[test]
fn frame_rate_and_drop_frame_mode() {
    let mut doc = doc_in_frames(FrameRate::FPS_25, &[]);
    doc.frame_rate = Some(FrameRate::FPS_25);
    assert!(check(&doc, &profile(FrameRate::FPS_25)).findings.is_empty());
    let report = check(&doc, &profile(FrameRate::FPS_24));
    assert_eq!(rules(&report), [(Rule::FrameRate, None)]);
    assert_eq!(report.findings[0].measured, Some(Measure::Text("25".to_owned())));
    // TTML media time has no drop-frame mode; SCC timecodes do.
    doc.frame_rate = Some(FrameRate::FPS_29_97_NDF);
    assert!(check(&doc, &profile(FrameRate::FPS_29_97_DF)).findings.is_empty());
    doc.format = SubtitleFormat::Scc;
    assert_eq!(rules(&check(&doc, &profile(FrameRate::FPS_29_97_DF))), [(Rule::FrameRate, None)]);
}

#[test]
fn declared_language_against_expected() {
    let mut doc = doc_in_frames(FrameRate::FPS_25, &[]);
    let mut p = profile(FrameRate::FPS_25);
    p.expected_language = Some("fr".to_owned());
    for (declared, finding) in [
        (Some("fr"), None),
        (Some("FR-ca"), None),
        (Some("fr_CA"), None),
        (Some("en"), Some(Rule::Language)),
        (Some("fra"), Some(Rule::Language)),
        (None, Some(Rule::LanguageUndeclared)),
    ] {
        doc.declared_language = declared.map(str::to_owned);
        let report = check(&doc, &p);
        assert_eq!(report.findings.first().map(|f| f.rule), finding, "{declared:?}");
    }
    doc.declared_language = None;
    assert!(check(&doc, &p).passed(), "an undeclared language is a warning");
    p.expected_language = Some("pt-BR".to_owned());
    doc.declared_language = Some("pt".to_owned());
    assert_eq!(rules(&check(&doc, &p)), [(Rule::Language, None)]);
}

#[test]
fn format_mismatch() {
    let doc = doc_in_frames(FrameRate::FPS_25, &[]);
    let mut p = profile(FrameRate::FPS_25);
    p.expected_format = Some(SubtitleFormat::Ttml);
    assert!(check(&doc, &p).passed());
    p.expected_format = Some(SubtitleFormat::EbuStl);
    let report = check(&doc, &p);
    assert_eq!(rules(&report), [(Rule::Format, None)]);
    assert_eq!(report.findings[0].limit, Some(Measure::Text("EBU-STL".to_owned())));
}

#[test]
fn invalid_profiles_fail_with_one_finding() {
    let doc = doc_in_frames(FrameRate::FPS_25, &[(0, Some(1), &["x"])]);
    let mut bad = [
        profile(FrameRate::FPS_25),
        profile(FrameRate::FPS_25),
        profile(FrameRate::FPS_25),
        profile(FrameRate::FPS_25),
    ];
    bad[0].max_reading_speed_cps = Some(f64::NAN);
    bad[1].min_duration = Some(TimeSpan::Millis(2000));
    bad[1].max_duration = Some(TimeSpan::Frames(25));
    bad[2].programme =
        Some(ProgrammeSpan { start: "10:00:00:00".parse().unwrap(), end: "10:00:00:25".parse().unwrap() });
    bad[3].expected_language = Some("fr CA".to_owned());
    for p in bad {
        let report = check(&doc, &p);
        assert_eq!(rules(&report), [(Rule::Profile, None)], "{p:?}");
        assert!(!report.passed());
    }
}

#[test]
fn severity_overrides_change_the_verdict() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(rate, &[(0, Some(25), &["much too much text to read"])]);
    let mut p = profile(rate);
    p.max_reading_speed_cps = Some(10.0);
    assert!(check(&doc, &p).passed());
    p.severity_overrides.insert(Rule::ReadingSpeed, Severity::Error);
    assert!(!check(&doc, &p).passed());
}

#[test]
fn drop_frame_timecodes_in_findings() {
    let rate = FrameRate::FPS_29_97_DF;
    let doc = doc_in_frames(rate, &[(1800, Some(1810), &["x"])]);
    let mut p = profile(rate);
    p.min_duration = Some(TimeSpan::Frames(20));
    let report = check(&doc, &p);
    let range = report.findings[0].timecodes.unwrap();
    assert_eq!(range.begin.to_string(), "00:01:00;02");
    assert_eq!(range.end.map(|t| t.to_string()).as_deref(), Some("00:01:00;12"));
}

#[test]
fn report_serialises_with_summary() {
    let rate = FrameRate::FPS_25;
    let doc = doc_in_frames(rate, &[(0, Some(10), &["a"]), (5, Some(30), &["b"]), (40, Some(50), &["c"])]);
    let mut p = profile(rate);
    p.min_duration = Some(TimeSpan::Frames(12));
    p.max_reading_speed_cps = Some(0.5);
    let report = check(&doc, &p);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["summary"]["passed"], false);
    assert_eq!(json["summary"]["cues"], 3);
    assert_eq!(json["summary"]["errors"], 3);
    assert_eq!(json["summary"]["warnings"], 3);
    assert_eq!(json["summary"]["by_rule"]["min_duration"]["errors"], 2);
    assert_eq!(json["summary"]["by_rule"]["overlap"]["errors"], 1);
    assert_eq!(json["summary"]["by_rule"]["reading_speed"]["warnings"], 3);
    assert_eq!(json["frame_rate"], "25");
    let first = &json["findings"][0];
    assert_eq!(first["rule"], "min_duration");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["cue"], 1);
    assert_eq!(first["timecodes"]["begin"], "00:00:00:00");
    assert_eq!(first["timecodes"]["end"], "00:00:00:10");
    assert_eq!(first["measured"], serde_json::json!({"unit": "frames", "value": 10.0}));
    let back: QcReport = serde_json::from_value(json).unwrap();
    assert_eq!(back, report);
}

#[test]
fn profile_reads_from_json() {
    let profile: StyleProfile = serde_json::from_str(
        r#"{"frame_rate": "23.976", "max_chars_per_line": 42, "max_lines": 2, "max_reading_speed_cps": 17,
            "reading_speed_counting": "exclude_spaces", "min_duration": {"frames": 20}, "max_duration": {"millis": 7000},
            "min_gap_frames": 2, "expected_language": "fr", "expected_format": "ttml",
            "programme": {"start": "10:00:00:00", "end": "11:30:00:00"}, "severity_overrides": {"frame_boundary": "error"}}"#,
    )
    .unwrap();
    assert_eq!(profile.frame_rate, FrameRate::FPS_23_976);
    assert_eq!(profile.min_duration, Some(TimeSpan::Frames(20)));
    assert_eq!(profile.severity_overrides.get(&Rule::FrameBoundary), Some(&Severity::Error));
    assert!(profile.validate().is_ok());
    let typo = serde_json::from_str::<StyleProfile>(r#"{"frame_rate": "25", "max_char_per_line": 42}"#);
    assert!(typo.is_err(), "unknown fields are refused");
}
