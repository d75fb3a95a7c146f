//! EBU-STL (EBU Tech 3264): a 1024-byte General Subtitle Information (GSI) block, then 128-byte Text and Timing
//! Information (TTI) blocks.
//!
//! From the GSI the reader takes the disk format code (frame rate), the character code table and the language
//! code. A subtitle may span several TTI blocks sharing a subtitle number: their text fields are joined until the
//! block whose extension block number is 0xFF, whose timecodes the subtitle takes. User-data blocks (EBN 0xFE,
//! reserved 0xF0–0xFD) and comment blocks (CF 1) carry nothing displayed. Teletext spacing attributes (0x00–0x1F)
//! show as spaces, open-subtitle italic/underline/boxing toggles (0x80–0x85) show as nothing, 0x8A breaks the line
//! and 0x8F is unused space.
//!
//! `STL30.01` is read as 29.97 fps drop-frame timecode, which is what NTSC deliveries labelled so contain.

mod charset;
mod language;

use crate::error::{ParseError, Problem};
use crate::model::{Document, Location, SubtitleFormat};
use crate::text;
use crate::time::{FrameRate, Time, Timecode};
use charset::CharacterTable;

const FORMAT: SubtitleFormat = SubtitleFormat::EbuStl;
const GSI_LEN: usize = 1024;
const TTI_LEN: usize = 128;
const LAST_BLOCK: u8 = 0xFF;
const LINE_BREAK: u8 = 0x8A;

/// Whether `bytes` open like an EBU-STL file (a disk format code `STLxx.01` at offset 3).
pub(crate) fn has_signature(bytes: &[u8]) -> bool {
    bytes.len() >= GSI_LEN && bytes.get(3..6) == Some(b"STL".as_slice()) && bytes.get(8..11) == Some(b".01".as_slice())
}

/// Parses an EBU-STL file.
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    if bytes.len() < GSI_LEN {
        return Err(ParseError::new(FORMAT, Location::File, Problem::StlSize { len: bytes.len() }));
    }
    if !(bytes.len() - GSI_LEN).is_multiple_of(TTI_LEN) {
        let partial_at = bytes.len() - (bytes.len() - GSI_LEN) % TTI_LEN;
        return Err(ParseError::new(FORMAT, Location::Byte(partial_at), Problem::StlSize { len: bytes.len() }));
    }
    let (gsi, ttis) = bytes.split_at(GSI_LEN);
    let rate = frame_rate(&gsi[3..11])?;
    let cct = &gsi[12..14];
    let table = CharacterTable::from_cct(cct).ok_or_else(|| {
        let problem = Problem::GsiField {
            field: "CCT",
            found: String::from_utf8_lossy(cct).into_owned(),
            expected: "00 (Latin), 01 (Cyrillic), 02 (Arabic), 03 (Greek) or 04 (Hebrew)",
        };
        ParseError::new(FORMAT, Location::Byte(12), problem)
    })?;
    let mut doc = Document::new(FORMAT);
    doc.frame_rate = Some(rate);
    doc.declared_language = language::bcp47(&gsi[14..16]).map(str::to_owned);
    let mut pending: Option<Pending> = None;
    for (i, block) in ttis.chunks_exact(TTI_LEN).enumerate() {
        let tti = Tti::read(block);
        let block_number = i + 1;
        if (0xF0..LAST_BLOCK).contains(&tti.extension_block) || tti.comment {
            continue;
        }
        if let Some(open) = pending.take_if(|open| open.subtitle_number != tti.subtitle_number) {
            // The previous subtitle never reached its 0xFF block; its last block's timing is all there is.
            open.finish(&table, rate, &mut doc)?;
        }
        let open = pending.get_or_insert_with(|| Pending {
            subtitle_number: tti.subtitle_number,
            first_block: block_number,
            last: tti,
            last_block: block_number,
            text: Vec::new(),
        });
        open.text.extend_from_slice(tti.text_field);
        open.last = tti;
        open.last_block = block_number;
        if tti.extension_block == LAST_BLOCK
            && let Some(done) = pending.take()
        {
            done.finish(&table, rate, &mut doc)?;
        }
    }
    if let Some(open) = pending {
        open.finish(&table, rate, &mut doc)?;
    }
    Ok(doc)
}

fn frame_rate(dfc: &[u8]) -> Result<FrameRate, ParseError> {
    match dfc {
        b"STL23.01" => Ok(FrameRate::FPS_23_976),
        b"STL24.01" => Ok(FrameRate::FPS_24),
        b"STL25.01" => Ok(FrameRate::FPS_25),
        b"STL30.01" => Ok(FrameRate::FPS_29_97_DF),
        b"STL50.01" => Ok(FrameRate::FPS_50),
        _ => {
            let problem = Problem::GsiField {
                field: "DFC",
                found: String::from_utf8_lossy(dfc).into_owned(),
                expected: "STL23.01, STL24.01, STL25.01, STL30.01 or STL50.01",
            };
            Err(ParseError::new(FORMAT, Location::Byte(3), problem))
        }
    }
}

#[derive(Clone, Copy)]
struct Tti<'a> {
    subtitle_number: u16,
    extension_block: u8,
    time_in: [u8; 4],
    time_out: [u8; 4],
    comment: bool,
    text_field: &'a [u8],
}

impl<'a> Tti<'a> {
    fn read(block: &'a [u8]) -> Tti<'a> {
        let byte = |i: usize| block.get(i).copied().unwrap_or(0);
        Tti {
            subtitle_number: u16::from_le_bytes([byte(1), byte(2)]),
            extension_block: byte(3),
            time_in: [byte(5), byte(6), byte(7), byte(8)],
            time_out: [byte(9), byte(10), byte(11), byte(12)],
            comment: byte(15) == 1,
            text_field: block.get(16..).unwrap_or_default(),
        }
    }
}

struct Pending<'a> {
    subtitle_number: u16,
    first_block: usize,
    last: Tti<'a>,
    last_block: usize,
    text: Vec<u8>,
}

impl Pending<'_> {
    fn finish(self, table: &CharacterTable, rate: FrameRate, doc: &mut Document) -> Result<(), ParseError> {
        let location = Location::TtiBlock(self.last_block);
        let begin = timecode(self.last.time_in, rate, location)?;
        let end = timecode(self.last.time_out, rate, location)?;
        let lines = decode_text(&self.text, table);
        if !lines.is_empty() {
            doc.push_cue(begin, Some(end), lines, Location::TtiBlock(self.first_block));
        }
        Ok(())
    }
}

fn timecode(fields: [u8; 4], rate: FrameRate, location: Location) -> Result<Time, ParseError> {
    let [hours, minutes, seconds, frames] = fields.map(u32::from);
    let label = Timecode { hours, minutes, seconds, frames, drop_frame: rate.is_drop_frame() };
    label.to_time(rate).map_err(|err| ParseError::new(FORMAT, location, Problem::Timecode(err)))
}

/// Turns a joined text field into display lines.
fn decode_text(field: &[u8], table: &CharacterTable) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut run: Vec<u8> = Vec::new();
    for &byte in field {
        match byte {
            LINE_BREAK => {
                line.push_str(&table.decode(&run));
                run.clear();
                lines.push(std::mem::take(&mut line));
            }
            0x00..=0x1F => {
                line.push_str(&table.decode(&run));
                run.clear();
                line.push(' ');
            }
            0x80..=0x9F => {}
            _ => run.push(byte),
        }
    }
    line.push_str(&table.decode(&run));
    lines.push(line);
    lines.iter().map(|l| text::collapse_whitespace(l)).filter(|l| !l.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gsi(dfc: &[u8; 8], cct: &[u8; 2], lc: &[u8; 2]) -> Vec<u8> {
        let mut block = vec![b' '; GSI_LEN];
        block[..3].copy_from_slice(b"850");
        block[3..11].copy_from_slice(dfc);
        block[11] = b'1';
        block[12..14].copy_from_slice(cct);
        block[14..16].copy_from_slice(lc);
        block
    }

    fn tti(sn: u16, ebn: u8, tci: [u8; 4], tco: [u8; 4], text: &[u8]) -> Vec<u8> {
        let mut block = vec![0x8F; TTI_LEN];
        block[..16].fill(0);
        block[1..3].copy_from_slice(&sn.to_le_bytes());
        block[3] = ebn;
        block[5..9].copy_from_slice(&tci);
        block[9..13].copy_from_slice(&tco);
        block[16..16 + text.len()].copy_from_slice(text);
        block
    }

    #[test]
    fn reads_blocks_lines_and_language() {
        let mut file = gsi(b"STL25.01", b"00", b"0F");
        file.extend(tti(1, 0xFF, [10, 0, 0, 0], [10, 0, 2, 12], b"\x80Je t'\xC1a\x81ime\x8A\x8A\x0D\x07bien"));
        file.extend(tti(2, 0xFE, [0; 4], [0; 4], b"user data"));
        file.extend(tti(2, 0x00, [10, 0, 3, 0], [10, 0, 4, 0], b"Deux "));
        file.extend(tti(2, 0xFF, [10, 0, 3, 0], [10, 0, 4, 24], b"blocs"));
        let doc = parse(&file).unwrap();
        assert_eq!(doc.declared_language.as_deref(), Some("fr"));
        assert_eq!(doc.frame_rate, Some(FrameRate::FPS_25));
        assert_eq!(doc.cues.len(), 2);
        assert_eq!(doc.cues[0].lines, ["Je t'àime", "bien"]);
        assert_eq!(doc.cues[0].begin, Time::from_ratio(36_000, 1).unwrap());
        assert_eq!(doc.cues[0].end, Time::from_ratio(36_002 * 25 + 12, 25));
        assert_eq!(doc.cues[1].lines, ["Deux blocs"]);
        assert_eq!(doc.cues[1].end, Time::from_ratio(36_004 * 25 + 24, 25));
        assert_eq!(doc.cues[1].source_location, Location::TtiBlock(3));
    }

    #[test]
    fn malformed_files_are_located() {
        let err = parse(&gsi(b"STL25.01", b"00", b"09")[..1000]).unwrap_err();
        assert_eq!(err.location, Location::File);
        let mut truncated = gsi(b"STL25.01", b"00", b"09");
        truncated.extend(vec![0; 100]);
        assert_eq!(parse(&truncated).unwrap_err().location, Location::Byte(1024));
        let err = parse(&gsi(b"STL26.01", b"00", b"09")).unwrap_err();
        assert!(matches!(err.problem, Problem::GsiField { field: "DFC", .. }), "{err}");
        let err = parse(&gsi(b"STL25.01", b"09", b"09")).unwrap_err();
        assert!(matches!(err.problem, Problem::GsiField { field: "CCT", .. }), "{err}");
        let mut bad_frames = gsi(b"STL25.01", b"00", b"09");
        bad_frames.extend(tti(1, 0xFF, [0; 4], [0, 0, 0, 0], b"ok"));
        bad_frames.extend(tti(2, 0xFF, [0, 0, 1, 25], [0, 0, 2, 0], b"bad"));
        let err = parse(&bad_frames).unwrap_err();
        assert_eq!(err.location, Location::TtiBlock(2));
        assert!(matches!(err.problem, Problem::Timecode(_)), "{err}");
    }

    #[test]
    fn unterminated_subtitles_still_count() {
        let mut file = gsi(b"STL30.01", b"00", b"09");
        file.extend(tti(7, 0x00, [0, 1, 0, 2], [0, 1, 1, 0], b"no end block"));
        file.extend(tti(8, 0x01, [0, 2, 0, 2], [0, 2, 1, 0], b"nor here"));
        let doc = parse(&file).unwrap();
        assert_eq!(doc.frame_rate, Some(FrameRate::FPS_29_97_DF));
        assert_eq!(doc.cues.len(), 2);
        assert_eq!(doc.cues[0].begin, Time::from_frames(1800, FrameRate::FPS_29_97_NDF).unwrap());
    }
}
