//! Recognising a subtitle format from content, never from a file name (deliveries are often misnamed).

use std::borrow::Cow;

use crate::model::SubtitleFormat;
use crate::{scc, stl, text, vtt};

/// How much of a text file detection looks at.
const SNIFF_LEN: usize = 8192;

/// The format `bytes` are in, or `None` when they match none of the supported formats.
pub fn detect(bytes: &[u8]) -> Option<SubtitleFormat> {
    if stl::has_signature(bytes) {
        return Some(SubtitleFormat::EbuStl);
    }
    let head = sniff_text(bytes);
    let content = head.trim_start_matches('\u{feff}');
    if vtt::has_signature(content) {
        return Some(SubtitleFormat::WebVtt);
    }
    if scc::has_signature(content) {
        return Some(SubtitleFormat::Scc);
    }
    let trimmed = content.trim_start();
    if trimmed.starts_with('<') {
        let ttml = ["http://www.w3.org/ns/ttml", "http://www.w3.org/2006/10/ttaf1", "http://www.w3.org/2006/04/ttaf1"];
        return ttml.iter().any(|ns| trimmed.contains(ns)).then_some(SubtitleFormat::Ttml);
    }
    let mut lines = text::lines(trimmed).map(str::trim);
    let first = lines.next().unwrap_or_default();
    let second = lines.next().unwrap_or_default();
    let numbered = !first.is_empty() && first.bytes().all(|b| b.is_ascii_digit()) && second.contains("-->");
    let unnumbered = first.contains("-->") && first.contains(',');
    (numbered || unnumbered).then_some(SubtitleFormat::Srt)
}

/// The start of the file as text, decoded leniently (detection must not fail on one bad byte).
fn sniff_text(bytes: &[u8]) -> Cow<'_, str> {
    let head = &bytes[..bytes.len().min(SNIFF_LEN)];
    match encoding_rs::Encoding::for_bom(head) {
        Some((encoding, bom_len)) => {
            let (decoded, _) = encoding.decode_without_bom_handling(&head[bom_len..]);
            decoded
        }
        None => String::from_utf8_lossy(head),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_format() {
        assert_eq!(detect(b"WEBVTT\n\n00:01.000 --> 00:02.000\nx"), Some(SubtitleFormat::WebVtt));
        assert_eq!(detect(b"\xEF\xBB\xBFWEBVTT"), Some(SubtitleFormat::WebVtt));
        assert_eq!(detect(b"Scenarist_SCC V1.0\n"), Some(SubtitleFormat::Scc));
        assert_eq!(detect(b"\n\n1\r\n00:00:01,000 --> 00:00:02,000\r\nx"), Some(SubtitleFormat::Srt));
        assert_eq!(detect(b"00:00:01,000 --> 00:00:02,000\nx"), Some(SubtitleFormat::Srt));
        assert_eq!(
            detect(b"<?xml version=\"1.0\"?>\n<tt xmlns=\"http://www.w3.org/ns/ttml\"/>"),
            Some(SubtitleFormat::Ttml)
        );
        let mut stl = vec![b' '; 1024];
        stl[..11].copy_from_slice(b"850STL25.01");
        assert_eq!(detect(&stl), Some(SubtitleFormat::EbuStl));
        let utf16: Vec<u8> =
            [0xFF, 0xFE].into_iter().chain("WEBVTT\n".encode_utf16().flat_map(u16::to_le_bytes)).collect();
        assert_eq!(detect(&utf16), Some(SubtitleFormat::WebVtt));
    }

    #[test]
    fn rejects_other_content() {
        for other in [&b""[..], b"hello", b"<html/>", b"WEBVTTX", b"1\nnot a timing line", b"\xff\xfe\xfd"] {
            assert_eq!(detect(other), None, "{other:?}");
        }
    }
}
