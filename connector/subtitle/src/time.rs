//! Exact media time, frame rates and SMPTE timecodes.
//!
//! Subtitle QC counts frames, so time must be exact at 23.976, 24, 25, 29.97, 30, 50, 59.94 and 60 fps as well as
//! for millisecond-based formats. [`Time`] therefore counts units of 1/90 000 000 s: that unit divides the frame
//! duration of every broadcast rate (including the 1001-based ones), the millisecond, the 100 ns tick most IMSC files
//! use and the 90 kHz MPEG clock. Values that fall between units (exotic TTML tick rates) are rounded to the nearest
//! unit, i.e. to within 11 ns.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An instant or a length on the media timeline, exact to 1/90 000 000 s.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Time(i64);

impl Time {
    /// Number of units in one second.
    pub const UNITS_PER_SECOND: i64 = 90_000_000;
    /// The start of the timeline.
    pub const ZERO: Time = Time(0);

    /// A time from raw units (1/90 000 000 s).
    pub const fn from_units(units: i64) -> Time {
        Time(units)
    }

    /// The raw unit count (1/90 000 000 s).
    pub const fn units(self) -> i64 {
        self.0
    }

    /// A time from whole milliseconds; `None` when it does not fit the timeline.
    pub fn from_millis(millis: i64) -> Option<Time> {
        millis.checked_mul(Self::UNITS_PER_SECOND / 1000).map(Time)
    }

    /// A time of `num / den` seconds, rounded to the nearest unit; `None` on overflow or a zero denominator.
    pub fn from_ratio(num: i128, den: i128) -> Option<Time> {
        if den == 0 {
            return None;
        }
        let scaled = num.checked_mul(i128::from(Self::UNITS_PER_SECOND))?;
        let units = div_round(scaled, den);
        i64::try_from(units).ok().map(Time)
    }

    /// The start of frame `frame` (counted from zero) at `rate`.
    pub fn from_frames(frame: i64, rate: FrameRate) -> Option<Time> {
        let num = i128::from(frame).checked_mul(i128::from(rate.den))?;
        Time::from_ratio(num, i128::from(rate.num))
    }

    /// `self + other`, `None` on overflow.
    pub fn checked_add(self, other: Time) -> Option<Time> {
        self.0.checked_add(other.0).map(Time)
    }

    /// `self - other`, `None` on overflow.
    pub fn checked_sub(self, other: Time) -> Option<Time> {
        self.0.checked_sub(other.0).map(Time)
    }

    /// Seconds as a float, for display and reports only (never for rule decisions).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / Self::UNITS_PER_SECOND as f64
    }

    /// Index of the frame boundary nearest to this time at `rate`.
    pub fn nearest_frame(self, rate: FrameRate) -> i64 {
        let scaled = i128::from(self.0) * i128::from(rate.num);
        let per = i128::from(rate.den) * i128::from(Self::UNITS_PER_SECOND);
        clamp_i64(div_round(scaled, per))
    }

    /// Position of this time in frames at `rate`, as a float (for reports).
    pub fn frames_f64(self, rate: FrameRate) -> f64 {
        self.as_secs_f64() * f64::from(rate.num) / f64::from(rate.den)
    }
}

impl fmt::Display for Time {
    /// `HH:MM:SS.mmm`, rounded to the millisecond; for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = div_round(i128::from(self.0), i128::from(Self::UNITS_PER_SECOND / 1000));
        let sign = if millis < 0 { "-" } else { "" };
        let millis = millis.unsigned_abs();
        let (h, rem) = (millis / 3_600_000, millis % 3_600_000);
        let (m, rem) = (rem / 60_000, rem % 60_000);
        let (s, ms) = (rem / 1000, rem % 1000);
        write!(f, "{sign}{h:02}:{m:02}:{s:02}.{ms:03}")
    }
}

/// Integer division rounding half away from zero.
pub(crate) fn div_round(num: i128, den: i128) -> i128 {
    let (q, r) = (num / den, num % den);
    if r.unsigned_abs() * 2 >= den.unsigned_abs() { if (num < 0) == (den < 0) { q + 1 } else { q - 1 } } else { q }
}

fn clamp_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// A frame rate as an exact fraction, with the timecode counting mode used to label its frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameRate {
    num: u32,
    den: u32,
    drop_frame: bool,
}

/// Why a frame rate was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameRateError {
    /// Zero numerator or denominator.
    #[error("frame rate {num}/{den} is not a positive fraction")]
    NotPositive {
        /// Numerator given.
        num: u32,
        /// Denominator given.
        den: u32,
    },
    /// Drop-frame requested for a rate that has no drop-frame timecode.
    #[error("drop-frame timecode exists only for 29.97 (30000/1001) and 59.94 (60000/1001) fps, not {num}/{den}")]
    NoDropFrame {
        /// Numerator given.
        num: u32,
        /// Denominator given.
        den: u32,
    },
    /// Text that names no frame rate.
    #[error("{found:?} is not a frame rate; write e.g. \"25\", \"23.976\", \"29.97DF\" or \"30000/1001\"")]
    Unrecognised {
        /// The text given.
        found: String,
    },
}

impl FrameRate {
    /// 24000/1001 fps.
    pub const FPS_23_976: FrameRate = FrameRate { num: 24000, den: 1001, drop_frame: false };
    /// 24 fps.
    pub const FPS_24: FrameRate = FrameRate { num: 24, den: 1, drop_frame: false };
    /// 25 fps.
    pub const FPS_25: FrameRate = FrameRate { num: 25, den: 1, drop_frame: false };
    /// 30000/1001 fps, non-drop-frame timecode.
    pub const FPS_29_97_NDF: FrameRate = FrameRate { num: 30000, den: 1001, drop_frame: false };
    /// 30000/1001 fps, drop-frame timecode.
    pub const FPS_29_97_DF: FrameRate = FrameRate { num: 30000, den: 1001, drop_frame: true };
    /// 30 fps.
    pub const FPS_30: FrameRate = FrameRate { num: 30, den: 1, drop_frame: false };
    /// 50 fps.
    pub const FPS_50: FrameRate = FrameRate { num: 50, den: 1, drop_frame: false };
    /// 60000/1001 fps, non-drop-frame timecode.
    pub const FPS_59_94_NDF: FrameRate = FrameRate { num: 60000, den: 1001, drop_frame: false };
    /// 60000/1001 fps, drop-frame timecode.
    pub const FPS_59_94_DF: FrameRate = FrameRate { num: 60000, den: 1001, drop_frame: true };
    /// 60 fps.
    pub const FPS_60: FrameRate = FrameRate { num: 60, den: 1, drop_frame: false };

    /// `num / den` frames per second; the fraction is reduced.
    pub fn new(num: u32, den: u32, drop_frame: bool) -> Result<FrameRate, FrameRateError> {
        if num == 0 || den == 0 {
            return Err(FrameRateError::NotPositive { num, den });
        }
        let g = gcd(num, den);
        let (n, d) = (num / g, den / g);
        if drop_frame && !((n == 30000 || n == 60000) && d == 1001) {
            return Err(FrameRateError::NoDropFrame { num, den });
        }
        Ok(FrameRate { num: n, den: d, drop_frame })
    }

    /// Numerator of the reduced fraction.
    pub const fn numerator(self) -> u32 {
        self.num
    }

    /// Denominator of the reduced fraction.
    pub const fn denominator(self) -> u32 {
        self.den
    }

    /// Whether timecodes at this rate are labelled drop-frame.
    pub const fn is_drop_frame(self) -> bool {
        self.drop_frame
    }

    /// Same rate, other counting mode. Returns `None` when drop-frame does not exist at this rate.
    pub fn with_drop_frame(self, drop_frame: bool) -> Option<FrameRate> {
        FrameRate::new(self.num, self.den, drop_frame).ok()
    }

    /// Whether two rates run at the same speed, whatever their timecode counting mode.
    pub fn same_speed(self, other: FrameRate) -> bool {
        self.num == other.num && self.den == other.den
    }

    /// Frames per timecode second: 24 for 23.976, 30 for 29.97, 60 for 59.94.
    pub fn timecode_base(self) -> u32 {
        self.num.div_ceil(self.den)
    }

    /// Frame labels skipped at each minute that is not a multiple of ten (0 for non-drop-frame).
    fn dropped_per_minute(self) -> u32 {
        if self.drop_frame { self.timecode_base() / 15 } else { 0 }
    }

    /// Frames per second as a float, for reports.
    pub fn fps_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

impl fmt::Display for FrameRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let df = if self.drop_frame { "DF" } else { "" };
        match (self.num, self.den) {
            (24000, 1001) => write!(f, "23.976{df}"),
            (30000, 1001) => write!(f, "29.97{df}"),
            (60000, 1001) => write!(f, "59.94{df}"),
            (n, 1) => write!(f, "{n}{df}"),
            (n, d) => write!(f, "{n}/{d}{df}"),
        }
    }
}

impl FromStr for FrameRate {
    type Err = FrameRateError;

    fn from_str(s: &str) -> Result<FrameRate, FrameRateError> {
        let unrecognised = || FrameRateError::Unrecognised { found: s.to_owned() };
        let trimmed = s.trim();
        let upper = trimmed.to_ascii_uppercase();
        let (body, drop_frame) = if let Some(body) = upper.strip_suffix("NDF") {
            (body.trim_end(), false)
        } else if let Some(body) = upper.strip_suffix("DF") {
            (body.trim_end(), true)
        } else {
            (upper.as_str(), false)
        };
        let (num, den) = match body {
            "23.976" | "23.98" => (24000, 1001),
            "29.97" => (30000, 1001),
            "59.94" => (60000, 1001),
            _ => match body.split_once('/') {
                Some((n, d)) => {
                    (n.trim().parse().map_err(|_| unrecognised())?, d.trim().parse().map_err(|_| unrecognised())?)
                }
                None => (body.parse().map_err(|_| unrecognised())?, 1),
            },
        };
        FrameRate::new(num, den, drop_frame)
    }
}

impl Serialize for FrameRate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FrameRate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<FrameRate, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An SMPTE timecode label `HH:MM:SS:FF` (`HH:MM:SS;FF` when drop-frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Timecode {
    /// Hours (may exceed 23 on long timelines).
    pub hours: u32,
    /// Minutes, 0–59.
    pub minutes: u32,
    /// Seconds, 0–59.
    pub seconds: u32,
    /// Frames within the second.
    pub frames: u32,
    /// Whether the label uses drop-frame counting.
    pub drop_frame: bool,
}

/// Why a timecode label was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimecodeError {
    /// Not of the form `HH:MM:SS:FF`.
    #[error("{found:?} is not a timecode; expected HH:MM:SS:FF (or HH:MM:SS;FF for drop-frame)")]
    Syntax {
        /// The text given.
        found: String,
    },
    /// Minutes or seconds of 60 or more.
    #[error("timecode {timecode} has minutes or seconds of 60 or more")]
    FieldRange {
        /// The label.
        timecode: Timecode,
    },
    /// Frame number not below the timecode base.
    #[error("timecode {timecode} has frame {frames}, but frames at {rate} fps run from 0 to {max}")]
    FrameRange {
        /// The label.
        timecode: Timecode,
        /// The frame field.
        frames: u32,
        /// The rate it was read at.
        rate: FrameRate,
        /// Highest valid frame field.
        max: u32,
    },
    /// A label drop-frame counting skips.
    #[error(
        "timecode {timecode} does not exist in drop-frame counting (frames 0 and 1 are skipped at minutes not divisible by 10)"
    )]
    DroppedLabel {
        /// The label.
        timecode: Timecode,
    },
    /// A label too far from zero to count its frames.
    #[error("timecode {timecode} is too large")]
    TooLarge {
        /// The label.
        timecode: Timecode,
    },
    /// Drop-frame label at a rate without drop-frame counting.
    #[error("timecode {timecode} is drop-frame, which does not exist at {rate} fps")]
    NoDropFrame {
        /// The label.
        timecode: Timecode,
        /// The rate it was read at.
        rate: FrameRate,
    },
}

impl Timecode {
    /// The label of frame `frame` (counted from zero) at `rate`; negative frames are labelled from zero.
    pub fn from_frame(frame: i64, rate: FrameRate) -> Timecode {
        let base = i64::from(rate.timecode_base());
        let drop = i64::from(rate.dropped_per_minute());
        let mut n = frame.max(0);
        if drop > 0 {
            let per_ten_minutes = 600 * base - 9 * drop;
            let per_minute = 60 * base - drop;
            let (tens, rem) = (n / per_ten_minutes, n % per_ten_minutes);
            let skipped =
                if rem < drop { 9 * drop * tens } else { 9 * drop * tens + drop * ((rem - drop) / per_minute) };
            n = n.saturating_add(skipped);
        }
        let frames = n % base;
        let total_seconds = n / base;
        Timecode {
            hours: u32::try_from(total_seconds / 3600).unwrap_or(u32::MAX),
            minutes: ((total_seconds / 60) % 60) as u32,
            seconds: (total_seconds % 60) as u32,
            frames: frames as u32,
            drop_frame: rate.drop_frame,
        }
    }

    /// The label of the frame nearest to `time` at `rate`.
    pub fn from_time(time: Time, rate: FrameRate) -> Timecode {
        Timecode::from_frame(time.nearest_frame(rate), rate)
    }

    /// The frame this label names at `rate`, checking that the label exists there. The label's own drop-frame
    /// flag decides the counting, so a `;` label read at 29.97 counts drop-frame even if `rate` is non-drop.
    pub fn frame_index(self, rate: FrameRate) -> Result<i64, TimecodeError> {
        if self.minutes >= 60 || self.seconds >= 60 {
            return Err(TimecodeError::FieldRange { timecode: self });
        }
        let rate = rate.with_drop_frame(self.drop_frame).ok_or(TimecodeError::NoDropFrame { timecode: self, rate })?;
        let base = rate.timecode_base();
        if self.frames >= base {
            return Err(TimecodeError::FrameRange { timecode: self, frames: self.frames, rate, max: base - 1 });
        }
        let drop = rate.dropped_per_minute();
        if drop > 0 && self.seconds == 0 && self.frames < drop && !self.minutes.is_multiple_of(10) {
            return Err(TimecodeError::DroppedLabel { timecode: self });
        }
        let total_minutes = i128::from(self.hours) * 60 + i128::from(self.minutes);
        let nominal = (total_minutes * 60 + i128::from(self.seconds)) * i128::from(base) + i128::from(self.frames);
        let frame = nominal - i128::from(drop) * (total_minutes - total_minutes / 10);
        i64::try_from(frame).map_err(|_| TimecodeError::TooLarge { timecode: self })
    }

    /// The instant this label names at `rate`.
    pub fn to_time(self, rate: FrameRate) -> Result<Time, TimecodeError> {
        let frame = self.frame_index(rate)?;
        let rate = rate.with_drop_frame(false).unwrap_or(rate);
        Time::from_frames(frame, rate).ok_or(TimecodeError::TooLarge { timecode: self })
    }
}

impl fmt::Display for Timecode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.drop_frame { ';' } else { ':' };
        write!(f, "{:02}:{:02}:{:02}{sep}{:02}", self.hours, self.minutes, self.seconds, self.frames)
    }
}

impl FromStr for Timecode {
    type Err = TimecodeError;

    /// Accepts `HH:MM:SS:FF`; `;`, `.` or `,` before the frames means drop-frame (the SCC convention).
    fn from_str(s: &str) -> Result<Timecode, TimecodeError> {
        let syntax = || TimecodeError::Syntax { found: s.to_owned() };
        let bytes = s.as_bytes();
        if bytes.len() < 11 || !s.is_ascii() {
            return Err(syntax());
        }
        let (head, tail) = s.split_at(s.len() - 3);
        let drop_frame = match tail.as_bytes()[0] {
            b':' => false,
            b';' | b'.' | b',' => true,
            _ => return Err(syntax()),
        };
        let mut parts = head.split(':');
        let (Some(h), Some(m), Some(sec), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(syntax());
        };
        let field = |text: &str, width: Option<usize>| -> Result<u32, TimecodeError> {
            let ok =
                !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && width.is_none_or(|w| text.len() == w);
            if !ok {
                return Err(syntax());
            }
            text.parse().map_err(|_| syntax())
        };
        let timecode = Timecode {
            hours: field(h, None)?,
            minutes: field(m, Some(2))?,
            seconds: field(sec, Some(2))?,
            frames: field(&tail[1..], Some(2))?,
            drop_frame,
        };
        if h.len() < 2 {
            return Err(syntax());
        }
        if timecode.minutes >= 60 || timecode.seconds >= 60 {
            return Err(TimecodeError::FieldRange { timecode });
        }
        Ok(timecode)
    }
}

impl Serialize for Timecode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timecode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Timecode, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tc(s: &str) -> Timecode {
        s.parse().unwrap()
    }

    #[test]
    fn frame_durations_are_exact_at_broadcast_rates() {
        for rate in [
            FrameRate::FPS_23_976,
            FrameRate::FPS_24,
            FrameRate::FPS_25,
            FrameRate::FPS_29_97_NDF,
            FrameRate::FPS_30,
            FrameRate::FPS_50,
            FrameRate::FPS_59_94_NDF,
            FrameRate::FPS_60,
        ] {
            let units = i128::from(Time::UNITS_PER_SECOND) * i128::from(rate.den);
            assert_eq!(units % i128::from(rate.num), 0, "{rate}");
            let one_hour_of_frames = i64::from(rate.num) * 3600 / i64::from(rate.den);
            let t = Time::from_frames(one_hour_of_frames, rate).unwrap();
            assert_eq!(t.nearest_frame(rate), one_hour_of_frames);
        }
    }

    #[test]
    fn drop_frame_labels_round_trip() {
        let rate = FrameRate::FPS_29_97_DF;
        assert_eq!(tc("00:01:00;02").frame_index(rate), Ok(1800));
        assert_eq!(Timecode::from_frame(1799, rate).to_string(), "00:00:59;29");
        assert_eq!(Timecode::from_frame(1800, rate).to_string(), "00:01:00;02");
        assert_eq!(Timecode::from_frame(17982, rate).to_string(), "00:10:00;00");
        for frame in [0, 1, 1799, 1800, 17981, 17982, 107_892, 1_000_000] {
            let label = Timecode::from_frame(frame, rate);
            assert_eq!(label.frame_index(rate), Ok(frame), "{label}");
        }
        // One hour of 29.97 DF timecode is 3600 s of real time to within 3.6 ms.
        let hour = tc("01:00:00;00").to_time(rate).unwrap();
        assert_eq!(tc("01:00:00;00").frame_index(rate), Ok(107_892));
        assert!((hour.as_secs_f64() - 3599.9964).abs() < 1e-9);
        let rate = FrameRate::FPS_59_94_DF;
        assert_eq!(Timecode::from_frame(3599, rate).to_string(), "00:00:59;59");
        assert_eq!(Timecode::from_frame(3600, rate).to_string(), "00:01:00;04");
        assert_eq!(tc("00:01:00;04").frame_index(rate), Ok(3600));
    }

    #[test]
    fn dropped_and_out_of_range_labels_are_refused() {
        let rate = FrameRate::FPS_29_97_DF;
        assert!(matches!(tc("00:01:00;01").frame_index(rate), Err(TimecodeError::DroppedLabel { .. })));
        assert!(tc("00:10:00;00").frame_index(rate).is_ok());
        assert!(matches!(tc("00:00:00:25").frame_index(FrameRate::FPS_25), Err(TimecodeError::FrameRange { .. })));
        assert!(matches!(tc("00:00:00;05").frame_index(FrameRate::FPS_25), Err(TimecodeError::NoDropFrame { .. })));
        assert!(matches!("00:61:00:00".parse::<Timecode>(), Err(TimecodeError::FieldRange { .. })));
        for bad in ["", "1:00:00:00", "00:00:00", "00:00:00:0a", "00-00-00-00", "00:00:00:000", "é0:00:00:00"] {
            assert!(bad.parse::<Timecode>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ndf_at_29_97_runs_slower_than_the_label() {
        let t = tc("01:00:00:00").to_time(FrameRate::FPS_29_97_NDF).unwrap();
        assert_eq!(t, Time::from_ratio(108_000 * 1001, 30000).unwrap());
        assert_eq!(Timecode::from_time(t, FrameRate::FPS_29_97_NDF).to_string(), "01:00:00:00");
    }

    #[test]
    fn frame_rates_parse_and_print() {
        for (text, rate) in [
            ("23.976", FrameRate::FPS_23_976),
            ("24", FrameRate::FPS_24),
            ("25", FrameRate::FPS_25),
            ("29.97", FrameRate::FPS_29_97_NDF),
            ("29.97DF", FrameRate::FPS_29_97_DF),
            ("30", FrameRate::FPS_30),
            ("50", FrameRate::FPS_50),
            ("59.94", FrameRate::FPS_59_94_NDF),
            ("59.94DF", FrameRate::FPS_59_94_DF),
            ("60", FrameRate::FPS_60),
        ] {
            assert_eq!(text.parse::<FrameRate>(), Ok(rate));
            assert_eq!(rate.to_string(), text);
        }
        assert_eq!("60000/2002 df".parse::<FrameRate>(), Ok(FrameRate::FPS_29_97_DF));
        assert_eq!("30000/1001 NDF".parse::<FrameRate>(), Ok(FrameRate::FPS_29_97_NDF));
        assert!(matches!("25DF".parse::<FrameRate>(), Err(FrameRateError::NoDropFrame { .. })));
        assert!(matches!("0".parse::<FrameRate>(), Err(FrameRateError::NotPositive { .. })));
        assert!(matches!("fast".parse::<FrameRate>(), Err(FrameRateError::Unrecognised { .. })));
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!(div_round(5, 2), 3);
        assert_eq!(div_round(-5, 2), -3);
        assert_eq!(div_round(4, 3), 1);
        assert_eq!(Time::from_ratio(1, 3).unwrap().units(), 30_000_000);
        assert_eq!(Time::from_ratio(1, 0), None);
        assert_eq!(Time::from_millis(1500).unwrap().to_string(), "00:00:01.500");
    }
}
