//! The real sample files (sandflow/ttconv test resources) read exactly, QC over them, and robustness: arbitrary and
//! mutated input never panics.

use passerelle_subtitle::{
    CharCounting, Document, FrameRate, Location, Rule, StyleProfile, SubtitleFormat, Time, TimeSpan, Timecode, check,
    detect, parse, parse_as,
};
use proptest::prelude::*;

const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/samples/subtitles/");

fn sample(name: &str) -> Vec<u8> {
    let path = format!("{SAMPLES}{name}");
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

fn sample_names() -> [(&'static str, SubtitleFormat); 4] {
    [
        ("ttconv_alignment.srt", SubtitleFormat::Srt),
        ("ttconv_referential_styling.ttml", SubtitleFormat::Ttml),
        ("ttconv_pop-on.scc", SubtitleFormat::Scc),
        ("ttconv_multi_tti_subtitle.stl", SubtitleFormat::EbuStl),
    ]
}

fn at(label: &str, rate: FrameRate) -> Time {
    label.parse::<Timecode>().unwrap().to_time(rate).unwrap()
}

fn secs(num: i128, den: i128) -> Time {
    Time::from_ratio(num, den).unwrap()
}

#[test]
fn every_sample_is_detected_and_parses() {
    for (name, format) in sample_names() {
        let bytes = sample(name);
        assert_eq!(detect(&bytes), Some(format), "{name}");
        let doc = parse(&bytes).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(doc.format, format);
        assert!(!doc.cues.is_empty(), "{name}");
    }
}

#[test]
fn srt_alignment_sample() {
    let doc = parse(&sample("ttconv_alignment.srt")).unwrap();
    assert_eq!(doc.cues.len(), 9);
    assert_eq!(doc.declared_language, None);
    assert_eq!(doc.frame_rate, None);
    for (i, cue) in doc.cues.iter().enumerate() {
        let start = 2 * i as i128;
        assert_eq!(cue.index, i + 1);
        assert_eq!(cue.begin, secs(start, 1));
        assert_eq!(cue.end, Some(secs(start + 1, 1)));
        assert_eq!(cue.source_location, Location::Line(4 * i + 1));
        assert_eq!(cue.lines.len(), 1);
    }
    // The {\anN} positioning overrides are gone.
    assert_eq!(doc.cues[0].lines, ["V: Bottom - H: Left"]);
    assert_eq!(doc.cues[4].lines, ["V: Center - H: Center"]);
    assert_eq!(doc.cues[8].lines, ["V: Top - H: Right"]);
}

#[test]
fn ttml_referential_styling_sample() {
    let doc = parse(&sample("ttconv_referential_styling.ttml")).unwrap();
    assert_eq!(doc.declared_language.as_deref(), Some("en"));
    assert_eq!(doc.frame_rate, None);
    assert_eq!(doc.cues.len(), 2);
    // No timing anywhere: both paragraphs show from 0 and are never removed.
    for (cue, (text, line)) in doc.cues.iter().zip([("one", 22), ("two", 23)]) {
        assert_eq!(cue.begin, Time::ZERO);
        assert_eq!(cue.end, None);
        assert_eq!(cue.lines, [text]);
        assert_eq!(cue.source_location, Location::Line(line));
    }
}

#[test]
fn scc_pop_on_sample() {
    let doc = parse(&sample("ttconv_pop-on.scc")).unwrap();
    let rate = FrameRate::FPS_29_97_NDF;
    assert_eq!(doc.frame_rate, Some(rate));
    assert_eq!(doc.cues.len(), 3);
    // EOC is the 21st word of its line, so the caption appears 20 frames after the line's timecode.
    let first = &doc.cues[0];
    assert_eq!(first.lines, ["( horn honking )"]);
    assert_eq!(first.begin, at("01:02:54:04", rate));
    assert_eq!(first.end, Some(at("01:02:55:14", rate)));
    assert_eq!(first.source_location, Location::Line(3));
    let second = &doc.cues[1];
    assert_eq!(second.lines, ["HEY, THE®E."]);
    assert_eq!(second.begin, at("01:03:28:15", rate));
    assert_eq!(second.end, Some(at("01:11:32:04", rate)));
    assert_eq!(second.source_location, Location::Line(7));
    let third = &doc.cues[2];
    assert_eq!(third.lines, ["Test ½ Caption", "Test test Captions"]);
    assert_eq!(third.begin, at("01:11:32:06", rate));
    assert_eq!(third.end, Some(at("01:11:33:14", rate)));
    assert_eq!(third.source_location, Location::Line(9));
}

#[test]
fn stl_multi_tti_sample() {
    let doc = parse(&sample("ttconv_multi_tti_subtitle.stl")).unwrap();
    assert_eq!(doc.frame_rate, Some(FrameRate::FPS_25));
    assert_eq!(doc.declared_language.as_deref(), Some("en"));
    assert_eq!(doc.cues.len(), 1);
    let cue = &doc.cues[0];
    // Three TTI blocks of subtitle 1 (EBN 0, 2, 0xFF) joined; teletext colour and box codes dropped.
    assert_eq!(cue.lines, ["Foo Bar Baz"]);
    assert_eq!(cue.begin, secs(23, 25));
    assert_eq!(cue.end, Some(secs(2 * 25 + 23, 25)));
    assert_eq!(cue.source_location, Location::TtiBlock(1));
}

#[test]
fn qc_of_the_srt_sample_at_its_reading_speed_boundary() {
    let doc = parse(&sample("ttconv_alignment.srt")).unwrap();
    let mut profile = StyleProfile::new(FrameRate::FPS_25);
    profile.max_chars_per_line = Some(42);
    profile.max_lines = Some(2);
    profile.max_reading_speed_cps = Some(17.0);
    profile.min_duration = Some(TimeSpan::Frames(20));
    profile.max_duration = Some(TimeSpan::Millis(7000));
    profile.min_gap_frames = Some(2);
    profile.expected_format = Some(SubtitleFormat::Srt);
    let report = check(&doc, &profile);
    // One second per cue: 16 and 17 characters pass, 18 to 21 are read too fast.
    let too_fast: Vec<_> = report.findings_for(Rule::ReadingSpeed).filter_map(|f| f.cue).collect();
    assert_eq!(too_fast, [1, 2, 3, 4, 5, 6, 8]);
    assert_eq!(report.findings.len(), 7);
    assert!(report.passed());
    profile.reading_speed_counting = CharCounting::ExcludeSpacesAndPunctuation;
    assert!(check(&doc, &profile).findings.is_empty());
}

#[test]
fn qc_of_the_other_samples() {
    let scc = parse(&sample("ttconv_pop-on.scc")).unwrap();
    let mut profile = StyleProfile::new(FrameRate::FPS_29_97_DF);
    profile.max_chars_per_line = Some(32);
    let report = check(&scc, &profile);
    let rules: Vec<_> = report.findings.iter().map(|f| f.rule).collect();
    assert_eq!(rules, [Rule::FrameRate], "SCC written non-drop-frame for a drop-frame order");
    profile.frame_rate = FrameRate::FPS_29_97_NDF;
    profile.max_duration = Some(TimeSpan::Millis(7000));
    let report = check(&scc, &profile);
    let long: Vec<_> = report.findings_for(Rule::MaxDuration).filter_map(|f| f.cue).collect();
    assert_eq!(long, [2]);
    let timecodes = report.findings[0].timecodes.unwrap();
    assert_eq!(
        (timecodes.begin.to_string(), timecodes.end.map(|t| t.to_string())),
        ("01:03:28:15".to_owned(), Some("01:11:32:04".to_owned()))
    );

    let ttml = parse(&sample("ttconv_referential_styling.ttml")).unwrap();
    let mut profile = StyleProfile::new(FrameRate::FPS_25);
    profile.expected_language = Some("en-GB".to_owned());
    let report = check(&ttml, &profile);
    let rules: Vec<_> = report.findings.iter().map(|f| (f.rule, f.cue)).collect();
    assert_eq!(
        rules,
        [
            (Rule::Language, None),
            (Rule::TimecodeOrder, Some(1)),
            (Rule::TimecodeOrder, Some(2)),
            (Rule::Overlap, Some(2))
        ]
    );
    assert!(!report.passed());

    let stl = parse(&sample("ttconv_multi_tti_subtitle.stl")).unwrap();
    let mut profile = StyleProfile::new(FrameRate::FPS_25);
    profile.expected_language = Some("en".to_owned());
    profile.expected_format = Some(SubtitleFormat::EbuStl);
    profile.max_duration = Some(TimeSpan::Frames(50));
    assert!(check(&stl, &profile).findings.is_empty(), "exactly 50 frames long");
    profile.max_duration = Some(TimeSpan::Frames(49));
    assert_eq!(check(&stl, &profile).findings.len(), 1);
}

#[test]
fn unknown_content_is_a_typed_error() {
    let err = parse(b"just some notes").unwrap_err();
    assert_eq!(err.format, None);
    assert_eq!(err.location, Location::File);
    assert!(err.to_string().contains("not SRT, WebVTT, TTML, EBU-STL or SCC"), "{err}");
}

fn permissive_profile() -> StyleProfile {
    let mut profile = StyleProfile::new(FrameRate::FPS_29_97_DF);
    profile.max_chars_per_line = Some(37);
    profile.max_lines = Some(2);
    profile.max_reading_speed_cps = Some(17.0);
    profile.min_duration = Some(TimeSpan::Frames(20));
    profile.max_duration = Some(TimeSpan::Millis(7000));
    profile.min_gap_frames = Some(2);
    profile.expected_language = Some("fr".to_owned());
    profile.programme = Some(passerelle_subtitle::ProgrammeSpan {
        start: "00:00:00;00".parse().unwrap(),
        end: "10:00:00;00".parse().unwrap(),
    });
    profile
}

/// Parsing must end in a document or a typed error; QC of whatever parsed must finish too.
fn exercise(bytes: &[u8]) {
    let profile = permissive_profile();
    if let Ok(doc) = parse(bytes) {
        let _ = check(&doc, &profile);
    }
    for format in
        [SubtitleFormat::Srt, SubtitleFormat::WebVtt, SubtitleFormat::Ttml, SubtitleFormat::EbuStl, SubtitleFormat::Scc]
    {
        match parse_as(format, bytes) {
            Ok(doc) => {
                let report = check(&doc, &profile);
                assert_eq!(report.summary.cues, doc.cues.len());
            }
            Err(err) => assert!(!err.to_string().is_empty()),
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len().max(1);
        match *m {
            Mutation::Set(i, b) if !bytes.is_empty() => bytes[i % len] = b,
            Mutation::Insert(i, b) => bytes.insert(i % (bytes.len() + 1), b),
            Mutation::Remove(i) if !bytes.is_empty() => {
                bytes.remove(i % len);
            }
            Mutation::Truncate(i) => bytes.truncate(i % (bytes.len() + 1)),
            _ => {}
        }
    }
    bytes
}

fn stl_with_random_ttis(tti: &[u8]) -> Vec<u8> {
    let mut file = sample("ttconv_multi_tti_subtitle.stl");
    file.truncate(1024);
    file.extend_from_slice(&tti[..tti.len() - tti.len() % 128]);
    file
}

fn scc_line() -> impl Strategy<Value = String> {
    let timecode = (0u32..3, 0u32..60, 0u32..60, 0u32..30, any::<bool>())
        .prop_map(|(h, m, s, f, df)| format!("{h:02}:{m:02}:{s:02}{}{f:02}", if df { ';' } else { ':' }));
    let control = prop::sample::select(vec![
        0x9420u16, 0x9425, 0x9426, 0x9427, 0x9429, 0x942c, 0x942f, 0x94ad, 0x94ae, 0x9421, 0x94a4, 0x1c20, 0x9470,
        0x13ae, 0x97a1, 0x9137, 0x1331, 0x9120, 0x94d0, 0x9140,
    ]);
    let word = prop_oneof![control, any::<u16>()];
    (timecode, prop::collection::vec(word, 0..24)).prop_map(|(tc, words)| {
        let words: Vec<String> = words.iter().map(|w| format!("{w:04x}")).collect();
        format!("{tc}\t{}", words.join(" "))
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise(&bytes);
    }

    #[test]
    fn mutated_samples_never_panic(which in 0usize..4, mutations in prop::collection::vec(mutation(), 1..12)) {
        let (name, _) = sample_names()[which];
        exercise(&mutate(sample(name), &mutations));
    }

    #[test]
    fn random_stl_text_and_timing_blocks_never_panic(tti in prop::collection::vec(any::<u8>(), 128..1024)) {
        exercise(&stl_with_random_ttis(&tti));
    }

    #[test]
    fn random_scc_streams_never_panic(lines in prop::collection::vec(scc_line(), 0..16)) {
        let content = format!("Scenarist_SCC V1.0\n\n{}\n", lines.join("\n\n"));
        exercise(content.as_bytes());
    }

    #[test]
    fn random_text_around_cue_syntax_never_panics(
        pieces in prop::collection::vec(prop::sample::select(vec![
            "WEBVTT", "\n", "\r\n", "-->", " ", "00:00:01,000", "00:01.000", "99:59:59.999", "1", "<i>", "</i>", "{\\an8}",
            "&amp;", "&#x1F600;", "NOTE", "<tt xmlns=\"http://www.w3.org/ns/ttml\">", "<p begin=\"1s\" end=\"2s\">",
            "</p>", "<br/>", "<body>", "<div>", "</div>", "</body>", "</tt>", "&", "<", ":", ".", ",", "é",
        ]), 0..60)
    ) {
        exercise(pieces.concat().as_bytes());
    }

    #[test]
    fn qc_never_panics_on_extreme_times(
        cues in prop::collection::vec((any::<i64>(), prop::option::of(any::<i64>()), 0usize..4), 0..20)
    ) {
        let mut doc = parse_as(SubtitleFormat::Srt, b"").unwrap();
        for (i, (begin, end, lines)) in cues.into_iter().enumerate() {
            doc.cues.push(passerelle_subtitle::Cue {
                index: i + 1,
                begin: Time::from_units(begin),
                end: end.map(Time::from_units),
                lines: vec!["Ligne de sous-titre".to_owned(); lines],
                source_location: Location::Line(i + 1),
            });
        }
        let report = check(&doc, &permissive_profile());
        prop_assert_eq!(report.summary.cues, doc.cues.len());
        let json = serde_json::to_string(&report).unwrap();
        prop_assert!(json.contains("\"summary\""));
    }
}

#[test]
fn documents_are_plain_values() {
    let doc: Document = parse(&sample("ttconv_multi_tti_subtitle.stl")).unwrap();
    let copy = doc.clone();
    assert_eq!(doc, copy);
}
