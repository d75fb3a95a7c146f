//! Lexical forms of time values in right operands: `xsd:dateTime` (and `xsd:date`) instants and `xsd:duration`
//! periods, parsed once at definition time.
//!
//! Accepted instants: `2026-01-01T00:00:00Z`, fractional seconds, numeric offsets, seconds omitted
//! (`2023-12-31T06:00Z`, as the DSP 2025-1 examples write them) and a bare date (`2026-01-01`, midnight UTC). An
//! instant without a time zone is refused: XSD leaves it to the reader's local time, which two connectors in
//! different countries would read differently.
//!
//! Accepted durations: weeks, days, hours, minutes, seconds (`P30D`, `PT48H`, `P1DT12H`, `PT0.5S`). Years and
//! months are refused because they have no fixed length; write days (`P365D`).

use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

fn digits(s: &str, n: usize) -> Option<(u32, &str)> {
    let head = s.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[n..]))
}

fn expect(s: &str, c: char) -> Option<&str> {
    s.strip_prefix(c)
}

/// Parses an instant; the error says what is wrong with it.
pub(crate) fn parse_datetime(input: &str) -> Result<OffsetDateTime, String> {
    let s = input.trim();
    let fail = |why: &str| format!("`{input}` is not an xsd:dateTime: {why} (e.g. `2026-01-01T00:00:00Z`)");
    let (year, rest) = digits(s, 4).ok_or_else(|| fail("expected a four-digit year"))?;
    let rest = expect(rest, '-').ok_or_else(|| fail("expected `-` after the year"))?;
    let (month, rest) = digits(rest, 2).ok_or_else(|| fail("expected a two-digit month"))?;
    let rest = expect(rest, '-').ok_or_else(|| fail("expected `-` after the month"))?;
    let (day, rest) = digits(rest, 2).ok_or_else(|| fail("expected a two-digit day"))?;
    let month =
        u8::try_from(month).ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(|| fail("month out of range"))?;
    let date = Date::from_calendar_date(year as i32, month, day as u8).map_err(|_| fail("no such day"))?;
    if rest.is_empty() {
        return Ok(date.midnight().assume_utc());
    }
    let rest = expect(rest, 'T').ok_or_else(|| fail("expected `T` between date and time"))?;
    let (hour, rest) = digits(rest, 2).ok_or_else(|| fail("expected a two-digit hour"))?;
    let rest = expect(rest, ':').ok_or_else(|| fail("expected `:` after the hour"))?;
    let (minute, mut rest) = digits(rest, 2).ok_or_else(|| fail("expected two-digit minutes"))?;
    let mut second = 0;
    let mut nanos = 0u32;
    if let Some(r) = rest.strip_prefix(':') {
        let (sec, r) = digits(r, 2).ok_or_else(|| fail("expected two-digit seconds"))?;
        second = sec;
        rest = r;
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            if end == 0 {
                return Err(fail("expected digits after the decimal point"));
            }
            let frac = &r[..end];
            // Nanosecond precision is all an instant carries; further digits are truncated.
            let padded: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
            nanos = padded.parse().map_err(|_| fail("bad fractional seconds"))?;
            rest = &r[end..];
        }
    }
    let time = Time::from_hms_nano(hour as u8, minute as u8, second as u8, nanos)
        .map_err(|_| fail("time of day out of range"))?;
    let offset = match rest {
        "Z" | "z" => UtcOffset::UTC,
        "" => return Err(fail("no time zone; add `Z` or an offset such as `+01:00`")),
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1i8,
                b'-' => -1i8,
                _ => return Err(fail("expected `Z` or an offset such as `+01:00` after the time")),
            };
            let (oh, r) = digits(&rest[1..], 2).ok_or_else(|| fail("bad offset hours"))?;
            let r = expect(r, ':').ok_or_else(|| fail("expected `:` in the offset"))?;
            let (om, r) = digits(r, 2).ok_or_else(|| fail("bad offset minutes"))?;
            if !r.is_empty() {
                return Err(fail("unexpected text after the offset"));
            }
            if oh > 14 || om > 59 {
                return Err(fail("offset out of range"));
            }
            UtcOffset::from_hms(sign * oh as i8, sign * om as i8, 0).map_err(|_| fail("offset out of range"))?
        }
    };
    Ok(PrimitiveDateTime::new(date, time).assume_offset(offset))
}

/// Parses a duration; the error says what is wrong with it.
pub(crate) fn parse_duration(input: &str) -> Result<Duration, String> {
    let s = input.trim();
    let fail = |why: &str| format!("`{input}` is not a usable xsd:duration: {why} (e.g. `P30D`, `PT48H`)");
    if s.starts_with('-') {
        return Err(fail("negative durations make no sense for elapsed time"));
    }
    let body = s.strip_prefix('P').ok_or_else(|| fail("must start with `P`"))?;
    if body.is_empty() {
        return Err(fail("no component after `P`"));
    }
    let mut total = Duration::ZERO;
    let mut in_time = false;
    let mut number = String::new();
    let mut seen_any = false;
    let mut seen_time_part = false;
    for c in body.chars() {
        match c {
            'T' if !in_time && number.is_empty() => in_time = true,
            '0'..='9' | '.' => number.push(c),
            unit => {
                if number.is_empty() {
                    return Err(fail(&format!("`{unit}` has no number before it")));
                }
                let is_fraction = number.contains('.');
                if is_fraction && !(in_time && unit == 'S') {
                    return Err(fail("only seconds may have a fraction"));
                }
                let value: f64 = number.parse().map_err(|_| fail(&format!("`{number}` is not a number")))?;
                let part = match (in_time, unit) {
                    (false, 'Y') | (false, 'M') => {
                        return Err(fail("years and months have no fixed length; write days, e.g. `P365D`"));
                    }
                    (false, 'W') => Duration::weeks(value as i64),
                    (false, 'D') => Duration::days(value as i64),
                    (true, 'H') => Duration::hours(value as i64),
                    (true, 'M') => Duration::minutes(value as i64),
                    (true, 'S') => Duration::seconds_f64(value),
                    _ => return Err(fail(&format!("unexpected designator `{unit}`"))),
                };
                total = total.checked_add(part).ok_or_else(|| fail("too large"))?;
                number.clear();
                seen_any = true;
                seen_time_part |= in_time;
            }
        }
    }
    if !number.is_empty() {
        return Err(fail("a number without a unit designator at the end"));
    }
    if !seen_any {
        return Err(fail("no component"));
    }
    if in_time && !seen_time_part {
        return Err(fail("`T` must be followed by hours, minutes or seconds"));
    }
    Ok(total)
}

/// Renders a duration the way people say it (`30 days`, `48 hours`, `1 day 12 hours`).
pub(crate) fn human_duration(d: Duration) -> String {
    let mut parts = Vec::new();
    let mut rest = d;
    let units: [(i64, &str); 4] = [(86_400, "day"), (3_600, "hour"), (60, "minute"), (1, "second")];
    for (secs, name) in units {
        let n = rest.whole_seconds() / secs;
        if n > 0 {
            parts.push(format!("{n} {name}{}", if n == 1 { "" } else { "s" }));
            rest -= Duration::seconds(n * secs);
        }
    }
    if parts.is_empty() { format!("{} seconds", d.as_seconds_f64()) } else { parts.join(" ") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn instants() {
        assert_eq!(parse_datetime("2026-01-01T00:00:00Z").unwrap(), datetime!(2026-01-01 0:00 UTC));
        assert_eq!(parse_datetime("2023-12-31T06:00Z").unwrap(), datetime!(2023-12-31 6:00 UTC));
        assert_eq!(parse_datetime("2026-06-01").unwrap(), datetime!(2026-06-01 0:00 UTC));
        assert_eq!(parse_datetime("2026-01-01T01:00:00+01:00").unwrap(), datetime!(2026-01-01 0:00 UTC));
        assert_eq!(parse_datetime("2026-01-01T00:00:00.25Z").unwrap(), datetime!(2026-01-01 0:00:00.25 UTC));
        assert_eq!(parse_datetime("2026-01-01T00:00:00-05:30").unwrap(), datetime!(2026-01-01 5:30 UTC));
    }

    #[test]
    fn bad_instants_say_why() {
        assert!(parse_datetime("2026-01-01T00:00:00").unwrap_err().contains("no time zone"));
        assert!(parse_datetime("2026-02-30").unwrap_err().contains("no such day"));
        assert!(parse_datetime("2026-13-01").unwrap_err().contains("month"));
        assert!(parse_datetime("26-01-01").unwrap_err().contains("year"));
        assert!(parse_datetime("2026-01-01T25:00Z").unwrap_err().contains("out of range"));
        assert!(parse_datetime("2026-01-01T00:00:00+15:00").unwrap_err().contains("offset"));
        assert!(parse_datetime("tomorrow").is_err());
        assert!(parse_datetime("").is_err());
        assert!(parse_datetime("2026-01-01T00:00:00.Z").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("P30D").unwrap(), Duration::days(30));
        assert_eq!(parse_duration("PT48H").unwrap(), Duration::hours(48));
        assert_eq!(parse_duration("P1DT12H").unwrap(), Duration::hours(36));
        assert_eq!(parse_duration("P2W").unwrap(), Duration::days(14));
        assert_eq!(parse_duration("PT1M30.5S").unwrap(), Duration::seconds_f64(90.5));
        assert_eq!(parse_duration("PT0S").unwrap(), Duration::ZERO);
    }

    #[test]
    fn bad_durations_say_why() {
        assert!(parse_duration("P1Y").unwrap_err().contains("no fixed length"));
        assert!(parse_duration("P2M").unwrap_err().contains("no fixed length"));
        assert!(parse_duration("-P1D").unwrap_err().contains("negative"));
        assert!(parse_duration("30D").unwrap_err().contains("`P`"));
        assert!(parse_duration("P").is_err());
        assert!(parse_duration("PT").is_err());
        assert!(parse_duration("P1.5D").unwrap_err().contains("fraction"));
        assert!(parse_duration("P1DT").unwrap_err().contains("`T` must be followed"));
        assert!(parse_duration("PT5").unwrap_err().contains("unit"));
        assert!(parse_duration("PTH").unwrap_err().contains("no number"));
        assert!(parse_duration("P1X").unwrap_err().contains("unexpected"));
    }

    #[test]
    fn human() {
        assert_eq!(human_duration(Duration::days(30)), "30 days");
        assert_eq!(human_duration(Duration::hours(36)), "1 day 12 hours");
        assert_eq!(human_duration(Duration::minutes(1)), "1 minute");
    }
}
