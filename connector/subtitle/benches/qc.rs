//! Parse + QC of a feature-length subtitle file (1,500 cues) in SRT and TTML. Goal: under 10 ms each.

use std::fmt::Write;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use passerelle_subtitle::{FrameRate, StyleProfile, SubtitleFormat, TimeSpan, check, parse};

const CUES: usize = 1500;

/// Milliseconds of frame `frame` at 23.976 fps, rounded as subtitle tools write them.
fn frame_millis(frame: u64) -> u64 {
    (frame * 1001 * 1000 + 12_000) / 24_000
}

/// Cue `i` starts every 84 frames (3.5 s; 1,500 cues fill a 90-minute feature) and lasts 67 frames; text
/// alternates one and two lines and stays within a Netflix-like profile, as a delivery that passes QC would.
fn cue(i: usize) -> (u64, u64, Vec<String>) {
    let begin = 1_440 + i as u64 * 84;
    let mut lines = vec![format!("Réplique numéro {i},")];
    if i.is_multiple_of(2) {
        lines.push("dite avec conviction.".to_owned());
    }
    (frame_millis(begin), frame_millis(begin + 67), lines)
}

fn clock(ms: u64, separator: char) -> String {
    format!("{:02}:{:02}:{:02}{separator}{:03}", ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000)
}

fn srt() -> Vec<u8> {
    let mut out = String::new();
    for i in 0..CUES {
        let (begin, end, lines) = cue(i);
        let _ =
            write!(out, "{}\r\n{} --> {}\r\n{}\r\n\r\n", i + 1, clock(begin, ','), clock(end, ','), lines.join("\r\n"));
    }
    out.into_bytes()
}

fn ttml() -> Vec<u8> {
    let mut out = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<tt xmlns=\"http://www.w3.org/ns/ttml\" \
         xmlns:ttp=\"http://www.w3.org/ns/ttml#parameter\" xmlns:tts=\"http://www.w3.org/ns/ttml#styling\" \
         xml:lang=\"fr\" ttp:frameRate=\"24\" ttp:frameRateMultiplier=\"1000 1001\">\n<head><styling>\
         <style xml:id=\"s1\" tts:color=\"white\"/></styling></head>\n<body><div>\n",
    );
    for i in 0..CUES {
        let (begin, end, lines) = cue(i);
        let text = lines.join("<br/>");
        let _ = writeln!(
            out,
            "<p begin=\"{}\" end=\"{}\" style=\"s1\"><span tts:fontStyle=\"italic\">{text}</span></p>",
            clock(begin, '.'),
            clock(end, '.')
        );
    }
    out.push_str("</div></body></tt>\n");
    out.into_bytes()
}

fn profile() -> StyleProfile {
    let mut profile = StyleProfile::new(FrameRate::FPS_23_976);
    profile.max_chars_per_line = Some(42);
    profile.max_lines = Some(2);
    profile.max_reading_speed_cps = Some(17.0);
    profile.min_duration = Some(TimeSpan::Frames(20));
    profile.max_duration = Some(TimeSpan::Millis(7000));
    profile.min_gap_frames = Some(2);
    profile.expected_language = Some("fr".to_owned());
    profile
}

fn bench(c: &mut Criterion) {
    let profile = profile();
    for (name, bytes, format) in [("srt", srt(), SubtitleFormat::Srt), ("ttml", ttml(), SubtitleFormat::Ttml)] {
        let doc = parse(&bytes).unwrap_or_else(|err| panic!("generated {name} does not parse: {err}"));
        assert_eq!((doc.format, doc.cues.len()), (format, CUES));
        let report = check(&doc, &profile);
        // SRT cannot declare a language, so its only finding is that warning.
        let cue_findings: Vec<_> = report.findings.iter().filter(|f| f.cue.is_some()).collect();
        assert!(report.passed() && cue_findings.is_empty(), "generated {name} should pass QC: {cue_findings:?}");
        c.bench_function(&format!("parse+qc {name} 1500 cues"), |b| {
            b.iter(|| {
                let report = parse(black_box(&bytes)).map(|doc| check(&doc, &profile));
                black_box(report)
            })
        });
        c.bench_function(&format!("qc only {name} 1500 cues"), |b| {
            b.iter(|| black_box(check(black_box(&doc), &profile)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
