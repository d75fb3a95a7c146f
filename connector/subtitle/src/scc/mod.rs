//! Scenarist SCC: `Scenarist_SCC V1.0`, then lines of `HH:MM:SS:FF<tab>` followed by CEA-608 byte pairs written
//! as four hex digits.
//!
//! The reader runs a caption decoder for data channel 1 (CC1): each byte pair takes one 29.97 fps frame from the
//! line's timecode (`;` before the frames = drop-frame labels, `:` = non-drop), control pairs sent twice count
//! once, pop-on text is built off screen and shown by End Of Caption (0x942f), Erase Displayed Memory (0x942c)
//! clears the screen, roll-up and paint-on text is written on screen. A cue is a stretch of time during which the
//! screen shows the same text. The screen is compared after erasures, End Of Caption and mode changes, and at the
//! end of each SCC line, so text typed character by character (roll-up, paint-on) makes one cue, timed from the
//! first change: its first character, or the carriage return that scrolled the rows up for it.

mod codes;

use crate::error::{ParseError, Problem};
use crate::model::{Document, Location, SubtitleFormat};
use crate::text;
use crate::time::{FrameRate, Time, Timecode};
use codes::{Code, Command};

const FORMAT: SubtitleFormat = SubtitleFormat::Scc;
const HEADER: &str = "Scenarist_SCC V1.0";
const ROWS: usize = 15;
const COLUMNS: usize = 32;

/// Whether `content` opens with the SCC header (after an optional BOM).
pub(crate) fn has_signature(content: &str) -> bool {
    content.strip_prefix('\u{feff}').unwrap_or(content).starts_with(HEADER)
}

/// Parses an SCC file.
pub fn parse(bytes: &[u8]) -> Result<Document, ParseError> {
    let content = text::decode(bytes, FORMAT)?;
    let mut lines = text::lines(&content).enumerate();
    match lines.next() {
        Some((_, first)) if first.trim_end() == HEADER => {}
        _ => return Err(ParseError::new(FORMAT, Location::Line(1), Problem::MissingHeader { expected: HEADER })),
    }
    let mut decoder = Decoder::default();
    let mut rate = None;
    for (i, line) in lines {
        let line_number = i + 1;
        let located = |problem| ParseError::new(FORMAT, Location::Line(line_number), problem);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (label, words) = line
            .split_once(['\t', ' '])
            .ok_or_else(|| located(Problem::MalformedSccLine { found: line.to_owned() }))?;
        let timecode: Timecode = label.parse().map_err(|err| located(Problem::Timecode(err)))?;
        let line_rate = if timecode.drop_frame { FrameRate::FPS_29_97_DF } else { FrameRate::FPS_29_97_NDF };
        rate.get_or_insert(line_rate);
        let first_frame = timecode.frame_index(line_rate).map_err(|err| located(Problem::Timecode(err)))?;
        decoder.start_line();
        for (offset, word) in words.split_whitespace().enumerate() {
            let pair = parse_word(word).ok_or_else(|| located(Problem::MalformedSccWord { found: word.to_owned() }))?;
            let frame = first_frame.saturating_add(offset as i64);
            let time = Time::from_frames(frame, FrameRate::FPS_29_97_NDF)
                .ok_or_else(|| located(Problem::TimeOutOfRange { found: label.to_owned() }))?;
            decoder.feed(pair, Moment { time, line: line_number });
        }
        decoder.end_line();
    }
    let mut doc = Document::new(FORMAT);
    doc.frame_rate = rate;
    for cue in decoder.finish() {
        doc.push_cue(cue.begin.time, cue.end, cue.lines, Location::Line(cue.begin.line));
    }
    Ok(doc)
}

/// Four hex digits; the parity bit of each byte is dropped.
fn parse_word(word: &str) -> Option<(u8, u8)> {
    if word.len() != 4 || !word.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let value = u16::from_str_radix(word, 16).ok()?;
    let [first, second] = value.to_be_bytes();
    Some((first & 0x7F, second & 0x7F))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Moment {
    time: Time,
    line: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    PopOn,
    RollUp(usize),
    PaintOn,
    Text,
}

/// A caption memory of 15 rows. A decoder overwrites column 32 with text that runs past it; here rows grow
/// instead, so that the text stays whole and QC reports the line as too long rather than silently garbled.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Memory {
    rows: [Vec<char>; ROWS],
}

impl Memory {
    fn clear(&mut self) {
        self.rows.iter_mut().for_each(Vec::clear);
    }

    fn set(&mut self, row: usize, column: usize, ch: char) {
        let Some(cells) = self.rows.get_mut(row) else { return };
        if cells.len() <= column {
            cells.resize(column + 1, '\0');
        }
        cells[column] = ch;
    }

    /// Non-empty rows, top to bottom, with positioning spaces removed.
    fn lines(&self) -> Vec<String> {
        self.rows
            .iter()
            .map(|row| {
                text::collapse_whitespace(&row.iter().map(|&c| if c == '\0' { ' ' } else { c }).collect::<String>())
            })
            .filter(|line| !line.is_empty())
            .collect()
    }
}

struct OpenCue {
    begin: Moment,
    lines: Vec<String>,
}

struct FinishedCue {
    begin: Moment,
    end: Option<Time>,
    lines: Vec<String>,
}

struct Decoder {
    mode: Mode,
    displayed: Memory,
    hidden: Memory,
    row: usize,
    column: usize,
    channel: u8,
    previous_control: Option<(u8, u8)>,
    changed_at: Option<Moment>,
    shown: Option<OpenCue>,
    cues: Vec<FinishedCue>,
}

impl Default for Decoder {
    fn default() -> Decoder {
        Decoder {
            mode: Mode::PopOn,
            displayed: Memory::default(),
            hidden: Memory::default(),
            row: ROWS - 1,
            column: 0,
            channel: 1,
            previous_control: None,
            changed_at: None,
            shown: None,
            cues: Vec::new(),
        }
    }
}

impl Decoder {
    fn start_line(&mut self) {
        self.previous_control = None;
    }

    fn end_line(&mut self) {
        self.commit();
    }

    fn finish(mut self) -> Vec<FinishedCue> {
        self.commit();
        if let Some(open) = self.shown.take() {
            self.cues.push(FinishedCue { begin: open.begin, end: None, lines: open.lines });
        }
        self.cues
    }

    fn feed(&mut self, (first, second): (u8, u8), at: Moment) {
        if Code::is_control(first) {
            // Control pairs are sent twice for robustness; the repeat is ignored once.
            if self.previous_control == Some((first, second)) {
                self.previous_control = None;
                return;
            }
            self.previous_control = Some((first, second));
        } else {
            self.previous_control = None;
        }
        match Code::classify(first, second) {
            Code::Nothing => {}
            Code::Text(a, b) => {
                if self.channel == 1 {
                    self.write(a, at);
                    if let Some(b) = b {
                        self.write(b, at);
                    }
                }
            }
            Code::Command { channel, command } => {
                self.channel = channel;
                if channel == 1 {
                    self.execute(command, at);
                }
            }
        }
    }

    fn target_is_displayed(&self) -> bool {
        matches!(self.mode, Mode::RollUp(_) | Mode::PaintOn)
    }

    fn memory(&mut self) -> &mut Memory {
        if self.target_is_displayed() { &mut self.displayed } else { &mut self.hidden }
    }

    fn touched_display(&mut self, at: Moment) {
        self.changed_at.get_or_insert(at);
    }

    fn write(&mut self, ch: char, at: Moment) {
        if self.mode == Mode::Text {
            return;
        }
        let (row, column) = (self.row, self.column);
        self.memory().set(row, column, ch);
        self.column = column.saturating_add(1);
        if self.target_is_displayed() {
            self.touched_display(at);
        }
    }

    fn execute(&mut self, command: Command, at: Moment) {
        match command {
            Command::Preamble { row, column } => {
                if let Mode::RollUp(depth) = self.mode
                    && row != self.row
                {
                    self.move_roll_up_window(row, depth, at);
                }
                self.row = row;
                self.column = column;
            }
            Command::MidRow => self.write(' ', at),
            Command::Special(ch) => self.write(ch, at),
            Command::Extended(ch) => {
                self.column = self.column.saturating_sub(1);
                self.write(ch, at);
            }
            Command::TabOffset(n) => self.column = (self.column + n).min(COLUMNS - 1).max(self.column),
            Command::Backspace => {
                self.column = self.column.saturating_sub(1);
                let (row, column) = (self.row, self.column);
                self.memory().set(row, column, '\0');
                if self.target_is_displayed() {
                    self.touched_display(at);
                }
            }
            Command::DeleteToEndOfRow => {
                let (row, column) = (self.row, self.column);
                if let Some(cells) = self.memory().rows.get_mut(row) {
                    cells.truncate(column);
                }
                if self.target_is_displayed() {
                    self.touched_display(at);
                }
            }
            Command::ResumeCaptionLoading => self.mode = Mode::PopOn,
            Command::ResumeDirectCaptioning => self.mode = Mode::PaintOn,
            Command::TextMode => self.mode = Mode::Text,
            Command::RollUp(depth) => {
                if !matches!(self.mode, Mode::RollUp(_)) {
                    self.displayed.clear();
                    self.hidden.clear();
                    self.touched_display(at);
                    self.row = ROWS - 1;
                }
                self.mode = Mode::RollUp(depth);
                self.column = 0;
            }
            Command::EraseDisplayedMemory => {
                self.displayed.clear();
                self.touched_display(at);
            }
            Command::EraseNonDisplayedMemory => self.hidden.clear(),
            Command::EndOfCaption => {
                std::mem::swap(&mut self.displayed, &mut self.hidden);
                self.touched_display(at);
                self.mode = Mode::PopOn;
            }
            Command::CarriageReturn => {
                if let Mode::RollUp(depth) = self.mode {
                    self.roll_up(depth);
                    self.touched_display(at);
                }
                self.column = 0;
            }
            Command::Ignored => {}
        }
        // Erasures, End Of Caption and mode changes are moments the screen is meant to be seen. A roll-up carriage
        // return is not: the rows scroll and the new row fills in the frames that follow, so comparing at the end of
        // the line makes the scroll and its new text one change, timed at the carriage return.
        let settles_screen = matches!(
            command,
            Command::EraseDisplayedMemory
                | Command::EndOfCaption
                | Command::ResumeCaptionLoading
                | Command::RollUp(_)
                | Command::ResumeDirectCaptioning
                | Command::TextMode
        );
        if settles_screen {
            self.commit();
        }
    }

    /// Scrolls the roll-up window (the `depth` rows ending at the cursor row) up by one row.
    fn roll_up(&mut self, depth: usize) {
        let base = self.row;
        let top = base.saturating_sub(depth.saturating_sub(1));
        for (row, cells) in self.displayed.rows.iter_mut().enumerate() {
            if row < top || row > base {
                cells.clear();
            }
        }
        for row in top..base {
            self.displayed.rows[row] = std::mem::take(&mut self.displayed.rows[row + 1]);
        }
        self.displayed.rows[base].clear();
    }

    /// Moves the roll-up window so that its base row becomes `new_base`.
    fn move_roll_up_window(&mut self, new_base: usize, depth: usize, at: Moment) {
        let mut old = std::mem::take(&mut self.displayed);
        for offset in 0..depth.min(ROWS) {
            if let (Some(from), Some(to)) = (self.row.checked_sub(offset), new_base.checked_sub(offset)) {
                self.displayed.rows[to] = std::mem::take(&mut old.rows[from]);
            }
        }
        self.touched_display(at);
    }

    /// Closes the shown cue and opens a new one if the screen changed since the last comparison.
    fn commit(&mut self) {
        let Some(at) = self.changed_at.take() else { return };
        let lines = self.displayed.lines();
        if self.shown.as_ref().is_some_and(|open| open.lines == lines) {
            return;
        }
        if let Some(open) = self.shown.take() {
            self.cues.push(FinishedCue { begin: open.begin, end: Some(at.time), lines: open.lines });
        }
        if !lines.is_empty() {
            self.shown = Some(OpenCue { begin: at, lines });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(label: &str) -> Time {
        let tc: Timecode = label.parse().unwrap();
        tc.to_time(FrameRate::FPS_29_97_NDF).unwrap()
    }

    fn texts(doc: &Document) -> Vec<Vec<String>> {
        doc.cues.iter().map(|c| c.lines.clone()).collect()
    }

    #[test]
    fn roll_up_builds_a_cue_per_new_row() {
        // RU2, CR, PAC row 15, "AB"; next line CR, "CD"; then EDM. Each new row is timed from its carriage return.
        let scc = "Scenarist_SCC V1.0\n\n00:00:01:00\t9425 9425 94ad 94ad 9470 9470 c1c2\n\n\
00:00:02:00\t94ad 94ad 9470 9470 43c4\n\n00:00:03:00\t942c 942c\n";
        let doc = parse(scc.as_bytes()).unwrap();
        assert_eq!(texts(&doc), [vec!["AB"], vec!["AB", "CD"]]);
        assert_eq!(doc.cues[0].begin, at("00:00:01:02"));
        assert_eq!(doc.cues[0].end, Some(at("00:00:02:00")));
        assert_eq!(doc.cues[1].begin, at("00:00:02:00"));
        assert_eq!(doc.cues[1].end, Some(at("00:00:03:00")));
        assert_eq!(doc.frame_rate, Some(FrameRate::FPS_29_97_NDF));
    }

    #[test]
    fn roll_up_window_keeps_its_depth() {
        // RU2: after a third row, the first scrolls out of the two-row window.
        let scc = "Scenarist_SCC V1.0\n\n00:00:01:00\t9425 9425 94ad 94ad c1c1\n\n00:00:02:00\t94ad 94ad c2c2\n\n\
00:00:03:00\t94ad 94ad 4343\n";
        let doc = parse(scc.as_bytes()).unwrap();
        assert_eq!(texts(&doc), [vec!["AA"], vec!["AA", "BB"], vec!["BB", "CC"]]);
        assert_eq!(doc.cues[2].end, None);
    }

    #[test]
    fn text_past_column_32_is_kept_for_qc() {
        let long = "c1".repeat(20);
        let scc = format!(
            "Scenarist_SCC V1.0\n\n00:00:01:00\t9420 9420 947a 947a {} 942f 942f\n",
            long.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
        );
        let doc = parse(scc.as_bytes()).unwrap();
        assert_eq!(texts(&doc), [vec!["A".repeat(20)]]);
    }

    #[test]
    fn paint_on_and_channel_two_and_extended_characters() {
        // RDC, PAC, "Ga" + extended ä replacing 'a'; a CC2 caption in between is ignored.
        let scc = "Scenarist_SCC V1.0\n\n00:00:10;00\t9429 9429 94d0 94d0 c761 1331 1331 1c20 1c20 d8d8 9429 9429 f4\n";
        let err = parse(scc.as_bytes()).unwrap_err();
        assert!(matches!(err.problem, Problem::MalformedSccWord { ref found } if found == "f4"), "{err}");
        let scc =
            "Scenarist_SCC V1.0\n\n00:00:10;00\t9429 9429 94d0 94d0 c761 1331 1331 1c20 1c20 d8d8 9429 9429 f480\n";
        let doc = parse(scc.as_bytes()).unwrap();
        // The second RDC is a control command, so the screen is compared there: "Gä" was up before "t" came.
        assert_eq!(texts(&doc), [vec!["Gä"], vec!["Gät"]]);
        assert_eq!(doc.frame_rate, Some(FrameRate::FPS_29_97_DF));
        let df = |label: &str| label.parse::<Timecode>().unwrap().to_time(FrameRate::FPS_29_97_DF).unwrap();
        assert_eq!(doc.cues[0].begin, df("00:00:10;04"));
        assert_eq!(doc.cues[0].end, Some(df("00:00:10;12")));
        assert_eq!(doc.cues[1].begin, df("00:00:10;12"));
        assert_eq!(doc.cues[1].end, None);
    }

    #[test]
    fn malformed_lines_are_located() {
        for (scc, line) in [
            ("Scenarist_SCC V1.0\n\n00:00:00:00\t94zz\n", 3),
            ("Scenarist_SCC V1.0\n\n00:00:00:30\t9420\n", 3),
            ("Scenarist_SCC V1.0\n\n00:01:00;00\t9420\n", 3),
            ("Scenarist_SCC V1.0\n\n\n0000:00:00\t9420\n", 4),
            ("Scenarist_SCC V1.0\n\n00:00:00:00\n", 3),
            ("Scenarist SCC\n", 1),
        ] {
            let err = parse(scc.as_bytes()).unwrap_err();
            assert_eq!(err.location, Location::Line(line), "{scc}: {err}");
        }
    }
}
