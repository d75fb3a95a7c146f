//! Text field decoding for the EBU-STL character code tables (GSI field CCT).
//!
//! Table 00 is the Latin alphabet of ISO/IEC 6937, where accents are non-spacing prefixes (0xC1–0xCF) placed
//! before the letter they modify; tables 01–04 are the upper halves of ISO 8859-5/6/7/8.

use unicode_normalization::UnicodeNormalization;

/// How the bytes of TTI text fields map to characters.
#[derive(Clone, Debug)]
pub(crate) enum CharacterTable {
    /// ISO/IEC 6937 Latin.
    Latin,
    /// An ISO 8859 part, as a decoded upper half (0xA0–0xFF).
    Iso8859(Box<[char; 96]>),
}

impl CharacterTable {
    /// The table for a CCT value, `None` when the value is not 00–04.
    pub(crate) fn from_cct(cct: &[u8]) -> Option<CharacterTable> {
        let encoding = match cct {
            b"00" | b"  " => return Some(CharacterTable::Latin),
            b"01" => encoding_rs::ISO_8859_5,
            b"02" => encoding_rs::ISO_8859_6,
            b"03" => encoding_rs::ISO_8859_7,
            b"04" => encoding_rs::ISO_8859_8,
            _ => return None,
        };
        let mut upper = ['\u{fffd}'; 96];
        for (slot, byte) in upper.iter_mut().zip(0xA0_u8..=0xFF) {
            let single = [byte];
            let (decoded, _) = encoding.decode_without_bom_handling(&single);
            *slot = decoded.chars().next().unwrap_or('\u{fffd}');
        }
        Some(CharacterTable::Iso8859(Box::new(upper)))
    }

    /// Decodes one run of printable bytes (no control codes) to NFC text.
    pub(crate) fn decode(&self, bytes: &[u8]) -> String {
        match self {
            CharacterTable::Iso8859(upper) => bytes.iter().filter_map(|&b| iso8859_char(upper, b)).collect(),
            CharacterTable::Latin => decode_6937(bytes),
        }
    }
}

fn iso8859_char(upper: &[char; 96], byte: u8) -> Option<char> {
    match byte {
        0x20..=0x7E => Some(char::from(byte)),
        0xA0..=0xFF => upper.get(usize::from(byte - 0xA0)).copied().filter(|c| *c != '\u{fffd}'),
        _ => None,
    }
}

fn decode_6937(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut pending_accent: Option<(char, char)> = None;
    for &byte in bytes {
        if let Some((combining, spacing)) = diacritic(byte) {
            if let Some((_, previous_spacing)) = pending_accent.replace((combining, spacing)) {
                out.push(previous_spacing);
            }
            continue;
        }
        let Some(base) = latin_char(byte) else { continue };
        match pending_accent.take() {
            Some((_, spacing)) if base == ' ' => out.push(spacing),
            Some((combining, _)) => {
                out.push(base);
                out.push(combining);
            }
            None => out.push(base),
        }
    }
    if let Some((_, spacing)) = pending_accent {
        out.push(spacing);
    }
    out.nfc().collect()
}

/// Non-spacing accent prefixes: the combining mark, and the spacing form used before a space.
fn diacritic(byte: u8) -> Option<(char, char)> {
    Some(match byte {
        0xC1 => ('\u{300}', '`'),
        0xC2 => ('\u{301}', '\u{b4}'),
        0xC3 => ('\u{302}', '^'),
        0xC4 => ('\u{303}', '~'),
        0xC5 => ('\u{304}', '\u{af}'),
        0xC6 => ('\u{306}', '\u{2d8}'),
        0xC7 => ('\u{307}', '\u{2d9}'),
        // 0xC9 is the umlaut of older editions, still written by some subtitling tools.
        0xC8 | 0xC9 => ('\u{308}', '\u{a8}'),
        0xCA => ('\u{30a}', '\u{2da}'),
        0xCB => ('\u{327}', '\u{b8}'),
        0xCD => ('\u{30b}', '\u{2dd}'),
        0xCE => ('\u{328}', '\u{2db}'),
        0xCF => ('\u{30c}', '\u{2c7}'),
        _ => return None,
    })
}

/// Spacing characters of the ISO/IEC 6937 Latin table; unassigned positions give `None`.
fn latin_char(byte: u8) -> Option<char> {
    const UPPER: [Option<char>; 96] = {
        let mut table = [None; 96];
        let pairs: &[(u8, char)] = &[
            (0xA0, '\u{a0}'),
            (0xA1, '¡'),
            (0xA2, '¢'),
            (0xA3, '£'),
            (0xA4, '$'),
            (0xA5, '¥'),
            (0xA6, '#'),
            (0xA7, '§'),
            (0xA8, '¤'),
            (0xA9, '‘'),
            (0xAA, '“'),
            (0xAB, '«'),
            (0xAC, '←'),
            (0xAD, '↑'),
            (0xAE, '→'),
            (0xAF, '↓'),
            (0xB0, '°'),
            (0xB1, '±'),
            (0xB2, '²'),
            (0xB3, '³'),
            (0xB4, '×'),
            (0xB5, 'µ'),
            (0xB6, '¶'),
            (0xB7, '·'),
            (0xB8, '÷'),
            (0xB9, '’'),
            (0xBA, '”'),
            (0xBB, '»'),
            (0xBC, '¼'),
            (0xBD, '½'),
            (0xBE, '¾'),
            (0xBF, '¿'),
            (0xD0, '―'),
            (0xD1, '¹'),
            (0xD2, '®'),
            (0xD3, '©'),
            (0xD4, '™'),
            (0xD5, '♪'),
            (0xD6, '¬'),
            (0xD7, '¦'),
            (0xDC, '⅛'),
            (0xDD, '⅜'),
            (0xDE, '⅝'),
            (0xDF, '⅞'),
            (0xE0, 'Ω'),
            (0xE1, 'Æ'),
            (0xE2, 'Đ'),
            (0xE3, 'ª'),
            (0xE4, 'Ħ'),
            (0xE6, 'Ĳ'),
            (0xE7, 'Ŀ'),
            (0xE8, 'Ł'),
            (0xE9, 'Ø'),
            (0xEA, 'Œ'),
            (0xEB, 'º'),
            (0xEC, 'Þ'),
            (0xED, 'Ŧ'),
            (0xEE, 'Ŋ'),
            (0xEF, 'ŉ'),
            (0xF0, 'ĸ'),
            (0xF1, 'æ'),
            (0xF2, 'đ'),
            (0xF3, 'ð'),
            (0xF4, 'ħ'),
            (0xF5, 'ı'),
            (0xF6, 'ĳ'),
            (0xF7, 'ŀ'),
            (0xF8, 'ł'),
            (0xF9, 'ø'),
            (0xFA, 'œ'),
            (0xFB, 'ß'),
            (0xFC, 'þ'),
            (0xFD, 'ŧ'),
            (0xFE, 'ŋ'),
            (0xFF, '\u{ad}'),
        ];
        let mut i = 0;
        while i < pairs.len() {
            let (byte, ch) = pairs[i];
            table[(byte - 0xA0) as usize] = Some(ch);
            i += 1;
        }
        table
    };
    match byte {
        0x20..=0x7E => Some(char::from(byte)),
        0xA0..=0xFF => UPPER[usize::from(byte - 0xA0)],
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin_accents_compose() {
        let table = CharacterTable::Latin;
        assert_eq!(table.decode(b"\xC2e\xC1a \xCBc\xC8u"), "éà çü");
        assert_eq!(table.decode(b"\xC2 x\xC3"), "\u{b4}x^");
        assert_eq!(table.decode(b"\xD5 \xE9\xFB \xA4"), "♪ Øß $");
    }

    #[test]
    fn iso8859_tables() {
        let cyrillic = CharacterTable::from_cct(b"01").unwrap();
        assert_eq!(cyrillic.decode(b"\xBF\xE0\xD8\xD2\xD5\xE2 1"), "Привет 1");
        let greek = CharacterTable::from_cct(b"03").unwrap();
        assert_eq!(greek.decode(b"\xE1"), "α");
        assert!(CharacterTable::from_cct(b"05").is_none());
    }
}
