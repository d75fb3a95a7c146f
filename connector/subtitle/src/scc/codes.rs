//! CEA-608 byte pairs (parity already removed) classified into the commands a caption decoder acts on.

/// One decoded byte pair on the caption channel it addresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Code {
    /// Padding (0x00 0x00) or extended data service bytes: nothing for captions.
    Nothing,
    /// One or two printable characters of the basic set.
    Text(char, Option<char>),
    /// A command on data channel 1 or 2.
    Command { channel: u8, command: Command },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Command {
    /// Preamble address code: move the cursor to `row` (0-based), `column`.
    Preamble {
        row: usize,
        column: usize,
    },
    /// Mid-row style change; occupies one blank cell.
    MidRow,
    /// A special (0x11 0x30–0x3F) character.
    Special(char),
    /// An extended character: replaces the basic-set fallback sent before it.
    Extended(char),
    /// Resume caption loading (pop-on).
    ResumeCaptionLoading,
    /// Roll-up with the given number of rows.
    RollUp(usize),
    /// Resume direct captioning (paint-on).
    ResumeDirectCaptioning,
    /// Text restart / resume text display: the text service, not captions.
    TextMode,
    Backspace,
    DeleteToEndOfRow,
    EraseDisplayedMemory,
    EraseNonDisplayedMemory,
    CarriageReturn,
    EndOfCaption,
    /// Tab offset by 1–3 columns.
    TabOffset(usize),
    /// Commands with no effect on text (flash, attributes, alarms).
    Ignored,
}

impl Code {
    /// Whether the pair is in the control range, where CEA-608 transmits every pair twice.
    pub(crate) fn is_control(first: u8) -> bool {
        (0x10..=0x1F).contains(&first)
    }

    /// Classifies a byte pair whose parity bits are already cleared.
    pub(crate) fn classify(first: u8, second: u8) -> Code {
        if first >= 0x20 {
            let a = basic_char(first);
            let b = (second >= 0x20).then(|| basic_char(second));
            return match a {
                Some(a) => Code::Text(a, b.flatten()),
                None => b.flatten().map_or(Code::Nothing, |b| Code::Text(b, None)),
            };
        }
        if !Code::is_control(first) {
            return Code::Nothing;
        }
        let channel = if first & 0x08 == 0 { 1 } else { 2 };
        let base = first & !0x08;
        let command = match (base, second) {
            (0x10..=0x17, 0x40..=0x7F) => preamble(base, second),
            (0x11, 0x20..=0x2F) => Command::MidRow,
            (0x11, 0x30..=0x3F) => Command::Special(SPECIAL[usize::from(second - 0x30)]),
            (0x12, 0x20..=0x3F) => Command::Extended(EXTENDED_12[usize::from(second - 0x20)]),
            (0x13, 0x20..=0x3F) => Command::Extended(EXTENDED_13[usize::from(second - 0x20)]),
            (0x14 | 0x15, 0x20..=0x2F) => misc(second),
            (0x17, 0x21..=0x23) => Command::TabOffset(usize::from(second - 0x20)),
            _ => Command::Ignored,
        };
        Code::Command { channel, command }
    }
}

fn misc(second: u8) -> Command {
    match second {
        0x20 => Command::ResumeCaptionLoading,
        0x21 => Command::Backspace,
        0x24 => Command::DeleteToEndOfRow,
        0x25 => Command::RollUp(2),
        0x26 => Command::RollUp(3),
        0x27 => Command::RollUp(4),
        0x29 => Command::ResumeDirectCaptioning,
        0x2A | 0x2B => Command::TextMode,
        0x2C => Command::EraseDisplayedMemory,
        0x2D => Command::CarriageReturn,
        0x2E => Command::EraseNonDisplayedMemory,
        0x2F => Command::EndOfCaption,
        _ => Command::Ignored,
    }
}

/// Rows addressed by the first byte of a preamble: (row for second byte 0x40–0x5F, row for 0x60–0x7F), 1-based.
fn preamble(base: u8, second: u8) -> Command {
    let (low, high) = match base {
        0x11 => (1, 2),
        0x12 => (3, 4),
        0x15 => (5, 6),
        0x16 => (7, 8),
        0x17 => (9, 10),
        0x10 => (11, 11),
        0x13 => (12, 13),
        _ => (14, 15),
    };
    let row = if second < 0x60 { low } else { high };
    let attribute = (second & 0x1F) >> 1;
    // Attributes 8–15 are indents of 0, 4, … 28 columns; 0–7 are colours and italics, starting at column 0.
    let column = if attribute >= 8 { usize::from(attribute - 8) * 4 } else { 0 };
    Command::Preamble { row: row - 1, column }
}

/// The basic character set: ASCII with nine letters swapped in.
fn basic_char(byte: u8) -> Option<char> {
    Some(match byte {
        0x2A => 'á',
        0x5C => 'é',
        0x5E => 'í',
        0x5F => 'ó',
        0x60 => 'ú',
        0x7B => 'ç',
        0x7C => '÷',
        0x7D => 'Ñ',
        0x7E => 'ñ',
        0x7F => '█',
        0x20..=0x7F => char::from(byte),
        _ => return None,
    })
}

const SPECIAL: [char; 16] = ['®', '°', '½', '¿', '™', '¢', '£', '♪', 'à', ' ', 'è', 'â', 'ê', 'î', 'ô', 'û'];

const EXTENDED_12: [char; 32] = [
    'Á', 'É', 'Ó', 'Ú', 'Ü', 'ü', '‘', '¡', '*', '\'', '—', '©', '℠', '•', '“', '”', 'À', 'Â', 'Ç', 'È', 'Ê', 'Ë', 'ë',
    'Î', 'Ï', 'ï', 'Ô', 'Ù', 'ù', 'Û', '«', '»',
];

const EXTENDED_13: [char; 32] = [
    'Ã', 'ã', 'Í', 'Ì', 'ì', 'Ò', 'ò', 'Õ', 'õ', '{', '}', '\\', '^', '_', '|', '~', 'Ä', 'ä', 'Ö', 'ö', 'ß', '¥', '¤',
    '│', 'Å', 'å', 'Ø', 'ø', '┌', '┐', '└', '┘',
];

#[cfg(test)]
mod tests {
    use super::*;

    fn command(first: u8, second: u8) -> Command {
        match Code::classify(first, second) {
            Code::Command { command, .. } => command,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn preambles_address_rows_and_indents() {
        assert_eq!(command(0x14, 0x7A), Command::Preamble { row: 14, column: 20 });
        assert_eq!(command(0x14, 0x52), Command::Preamble { row: 13, column: 4 });
        assert_eq!(command(0x11, 0x40), Command::Preamble { row: 0, column: 0 });
        assert_eq!(command(0x10, 0x50), Command::Preamble { row: 10, column: 0 });
        assert_eq!(command(0x13, 0x70), Command::Preamble { row: 12, column: 0 });
        assert_eq!(command(0x16, 0x48), Command::Preamble { row: 6, column: 0 });
    }

    #[test]
    fn channels_and_characters() {
        assert_eq!(Code::classify(0x1C, 0x2F), Code::Command { channel: 2, command: Command::EndOfCaption });
        assert_eq!(Code::classify(0x14, 0x2F), Code::Command { channel: 1, command: Command::EndOfCaption });
        assert_eq!(Code::classify(0x48, 0x2A), Code::Text('H', Some('á')));
        assert_eq!(Code::classify(0x73, 0x00), Code::Text('s', None));
        assert_eq!(Code::classify(0x00, 0x00), Code::Nothing);
        assert_eq!(command(0x11, 0x37), Command::Special('♪'));
        assert_eq!(command(0x13, 0x34), Command::Extended('ß'));
        assert_eq!(command(0x17, 0x22), Command::TabOffset(2));
    }
}
