//! TTML time expressions (`00:00:01.5`, `00:00:01:12.1`, `1.5s`, `90f`, `10000000t`…) and the `ttp:` parameters
//! that give frames, sub-frames and ticks their length.

use crate::time::{FrameRate, Time, Timecode};

/// A non-negative exact fraction, kept in i128 so that decimal fractions and 1001-based rates multiply exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Ratio {
    num: i128,
    den: i128,
}

impl Ratio {
    pub(crate) const fn new(num: i128, den: i128) -> Ratio {
        Ratio { num, den }
    }

    fn checked_mul(self, other: Ratio) -> Option<Ratio> {
        Ratio::reduced(self.num.checked_mul(other.num)?, self.den.checked_mul(other.den)?)
    }

    fn checked_add(self, other: Ratio) -> Option<Ratio> {
        let num = self.num.checked_mul(other.den)?.checked_add(other.num.checked_mul(self.den)?)?;
        Ratio::reduced(num, self.den.checked_mul(other.den)?)
    }

    fn checked_div(self, other: Ratio) -> Option<Ratio> {
        if other.num == 0 {
            return None;
        }
        self.checked_mul(Ratio { num: other.den, den: other.num })
    }

    fn reduced(num: i128, den: i128) -> Option<Ratio> {
        if den == 0 {
            return None;
        }
        let g = gcd(num.unsigned_abs(), den.unsigned_abs()).max(1);
        let g = i128::try_from(g).ok()?;
        Some(Ratio { num: num / g, den: den / g })
    }

    fn to_time(self) -> Option<Time> {
        Time::from_ratio(self.num, self.den)
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Parses `123` or `123.456` exactly. Digits past the 18th decimal are dropped (they are below an attosecond).
fn decimal(text: &str) -> Option<Ratio> {
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (text, ""),
    };
    let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) || (text.contains('.') && frac.is_empty()) {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() > 20 {
        return None;
    }
    let frac = &frac[..frac.len().min(18)];
    let scale = 10_i128.pow(frac.len() as u32);
    let int_value: i128 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_value: i128 = if frac.is_empty() { 0 } else { frac.parse().ok()? };
    Ratio::reduced(int_value.checked_mul(scale)?.checked_add(frac_value)?, scale)
}

/// The timing parameters declared on `<tt>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimingParameters {
    /// `ttp:frameRate` (TTML default 30).
    pub frame_rate: u32,
    /// Whether `ttp:frameRate` was written.
    pub frame_rate_declared: bool,
    /// `ttp:frameRateMultiplier` numerator and denominator.
    pub multiplier: (u32, u32),
    /// `ttp:subFrameRate`.
    pub sub_frame_rate: u32,
    /// `ttp:tickRate`, if written.
    pub tick_rate: Option<u32>,
    /// `ttp:timeBase="smpte"` with `ttp:dropMode="dropNTSC"`: clock times with frames are drop-frame labels.
    pub drop_ntsc: bool,
}

impl Default for TimingParameters {
    fn default() -> TimingParameters {
        TimingParameters {
            frame_rate: 30,
            frame_rate_declared: false,
            multiplier: (1, 1),
            sub_frame_rate: 1,
            tick_rate: None,
            drop_ntsc: false,
        }
    }
}

impl TimingParameters {
    /// Frames per second after the multiplier.
    fn effective_frame_rate(&self) -> Ratio {
        Ratio::new(i128::from(self.frame_rate) * i128::from(self.multiplier.0), i128::from(self.multiplier.1))
    }

    /// Ticks per second: as declared, else sub-frames when a frame rate is declared, else 1 (TTML defaults).
    fn tick_rate(&self) -> Ratio {
        match (self.tick_rate, self.frame_rate_declared) {
            (Some(rate), _) => Ratio::new(i128::from(rate), 1),
            (None, true) => {
                let eff = self.effective_frame_rate();
                Ratio::new(eff.num * i128::from(self.sub_frame_rate), eff.den)
            }
            (None, false) => Ratio::new(1, 1),
        }
    }

    /// The document's frame rate, when it declares one.
    pub(crate) fn declared_frame_rate(&self) -> Option<FrameRate> {
        if !self.frame_rate_declared {
            return None;
        }
        let num = self.frame_rate.checked_mul(self.multiplier.0)?;
        FrameRate::new(num, self.multiplier.1, self.drop_ntsc)
            .or_else(|_| FrameRate::new(num, self.multiplier.1, false))
            .ok()
    }

    /// Evaluates a time expression to an offset from its time base.
    pub(crate) fn evaluate(&self, expression: &str) -> Option<Time> {
        let expression = expression.trim();
        if expression.contains(':') { self.clock_time(expression) } else { self.offset_time(expression) }
    }

    fn offset_time(&self, expression: &str) -> Option<Time> {
        let split = expression.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        let (count, metric) = expression.split_at(split);
        let count = decimal(count)?;
        let seconds_per_unit = match metric {
            "h" => Ratio::new(3600, 1),
            "m" => Ratio::new(60, 1),
            "s" => Ratio::new(1, 1),
            "ms" => Ratio::new(1, 1000),
            "f" => Ratio::new(1, 1).checked_div(self.effective_frame_rate())?,
            "t" => Ratio::new(1, 1).checked_div(self.tick_rate())?,
            _ => return None,
        };
        count.checked_mul(seconds_per_unit)?.to_time()
    }

    fn clock_time(&self, expression: &str) -> Option<Time> {
        let parts: Vec<&str> = expression.split(':').collect();
        let two_digits = |t: &str| t.len() == 2 && t.bytes().all(|b| b.is_ascii_digit());
        let (hours, minutes) = match parts.as_slice() {
            [h, m, ..] if h.len() >= 2 && h.len() <= 9 && h.bytes().all(|b| b.is_ascii_digit()) && two_digits(m) => {
                (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?)
            }
            _ => return None,
        };
        if minutes >= 60 {
            return None;
        }
        let whole = Ratio::new(i128::from(hours) * 3600 + i128::from(minutes) * 60, 1);
        match parts.as_slice() {
            [_, _, seconds] => {
                let secs = decimal(seconds)?;
                if seconds.split('.').next().is_none_or(|int| int.len() != 2) || secs.num >= 60 * secs.den {
                    return None;
                }
                whole.checked_add(secs)?.to_time()
            }
            [_, _, seconds, frames] => {
                if !two_digits(seconds) {
                    return None;
                }
                let secs: u32 = seconds.parse().ok()?;
                let (frame_text, sub_text) = match frames.split_once('.') {
                    Some((f, s)) => (f, Some(s)),
                    None => (*frames, None),
                };
                if frame_text.len() < 2 || !frame_text.bytes().all(|b| b.is_ascii_digit()) || secs >= 60 {
                    return None;
                }
                let frame: u32 = frame_text.parse().ok()?;
                if frame >= self.frame_rate {
                    return None;
                }
                let sub_frames = match sub_text {
                    Some(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => {
                        let sub: u32 = t.parse().ok()?;
                        if sub >= self.sub_frame_rate {
                            return None;
                        }
                        Ratio::new(i128::from(sub), i128::from(self.sub_frame_rate))
                    }
                    Some(_) => return None,
                    None => Ratio::new(0, 1),
                };
                let rate = self.effective_frame_rate();
                if self.drop_ntsc {
                    let label = Timecode { hours, minutes, seconds: secs, frames: frame, drop_frame: true };
                    let index = label.frame_index(FrameRate::FPS_29_97_DF).ok()?;
                    let frames = Ratio::new(i128::from(index), 1).checked_add(sub_frames)?;
                    return frames.checked_div(rate)?.to_time();
                }
                let in_second = Ratio::new(i128::from(frame), 1).checked_add(sub_frames)?.checked_div(rate)?;
                whole.checked_add(Ratio::new(i128::from(secs), 1))?.checked_add(in_second)?.to_time()
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(params: &TimingParameters, expression: &str) -> Option<Time> {
        params.evaluate(expression)
    }

    fn secs(num: i128, den: i128) -> Option<Time> {
        Time::from_ratio(num, den)
    }

    #[test]
    fn clock_and_offset_times_with_defaults() {
        let p = TimingParameters::default();
        assert_eq!(at(&p, "00:00:01.5"), secs(3, 2));
        assert_eq!(at(&p, "01:02:03"), secs(3723, 1));
        assert_eq!(at(&p, "100:00:00.000"), secs(360_000, 1));
        assert_eq!(at(&p, "00:00:01:15"), secs(3, 2));
        assert_eq!(at(&p, "1.5s"), secs(3, 2));
        assert_eq!(at(&p, "2m"), secs(120, 1));
        assert_eq!(at(&p, "1h"), secs(3600, 1));
        assert_eq!(at(&p, "250ms"), secs(1, 4));
        assert_eq!(at(&p, "45f"), secs(3, 2));
        assert_eq!(at(&p, "3t"), secs(3, 1));
        assert_eq!(at(&p, " 0.0000000001s "), secs(0, 1));
    }

    #[test]
    fn frames_follow_rate_multiplier_and_sub_frames() {
        let p = TimingParameters {
            frame_rate: 30,
            frame_rate_declared: true,
            multiplier: (1000, 1001),
            sub_frame_rate: 2,
            ..TimingParameters::default()
        };
        assert_eq!(at(&p, "00:00:00:01"), secs(1001, 30000));
        assert_eq!(at(&p, "00:00:00:01.1"), secs(3 * 1001, 2 * 30000));
        assert_eq!(at(&p, "30f"), secs(1001, 1000));
        // Without ttp:tickRate, ticks are sub-frames when a frame rate is declared.
        assert_eq!(at(&p, "2t"), secs(1001, 30000));
        assert_eq!(p.declared_frame_rate(), Some(FrameRate::FPS_29_97_NDF));
        let ticks = TimingParameters { tick_rate: Some(10_000_000), ..p };
        assert_eq!(at(&ticks, "10010000t"), secs(1001, 1000));
    }

    #[test]
    fn drop_ntsc_reads_drop_frame_labels() {
        let p = TimingParameters {
            frame_rate: 30,
            frame_rate_declared: true,
            multiplier: (1000, 1001),
            drop_ntsc: true,
            ..TimingParameters::default()
        };
        assert_eq!(at(&p, "00:01:00:02"), secs(1800 * 1001, 30000));
        assert_eq!(at(&p, "00:01:00:00"), None);
        assert_eq!(p.declared_frame_rate(), Some(FrameRate::FPS_29_97_DF));
    }

    #[test]
    fn malformed_expressions_are_refused() {
        let p = TimingParameters::default();
        for bad in [
            "",
            "s",
            "1",
            "1.s",
            ".5s",
            "1x",
            "-1s",
            "0:00:01",
            "00:0:01",
            "00:60:00",
            "00:00:60",
            "00:00:1.5",
            "00:00:01:30",
            "00:00:01:5",
            "00:00:01:05.1",
            "00:00:01:05.",
            "1:2:3:4:5",
            "99999999999999999999999h",
        ] {
            assert_eq!(at(&p, bad), None, "{bad:?}");
        }
    }
}
