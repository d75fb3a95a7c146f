//! Field conversions shared by the importers: identifier spellings of the trade,
//! dates, durations, numbers.

use passerelle_media::{Eidr, IdError, Isan};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses an EIDR in any spelling seen in MDDF files: the DOI form, `urn:eidr:10.5240:…`
/// (URN form), the bare 20-digit suffix, and the EIDR-X form whose `:suffix` names a
/// part of the work (the suffix is dropped: the EIDR itself is the part before it).
pub(crate) fn parse_eidr(raw: &str) -> Result<Eidr, IdError> {
    let trimmed = raw.trim();
    let mut body = trimmed.to_string();
    for urn in ["urn:eidr:10.5240:", "URN:EIDR:10.5240:"] {
        if let Some(rest) = trimmed.strip_prefix(urn) {
            body = format!("{}{rest}", Eidr::PREFIX);
        }
    }
    let lower = body.to_ascii_lowercase();
    let prefix_at = lower.find("10.5240/");
    let candidate = match prefix_at {
        Some(at) => body[at..].to_string(),
        None if looks_like_eidr_suffix(&body) => format!("{}{body}", Eidr::PREFIX),
        None => body.clone(),
    };
    // An EIDR-X value carries `:component` after the check character.
    let candidate = match candidate.find(':') {
        Some(colon) => candidate[..colon].to_string(),
        None => candidate,
    };
    Eidr::parse(&candidate).map_err(|e| match e {
        IdError::Eidr { reason, .. } => IdError::Eidr { value: raw.trim().to_string(), reason },
        other => other,
    })
}

fn looks_like_eidr_suffix(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 6 && parts[..5].iter().all(|p| p.len() == 4) && parts[5].len() == 1
}

/// True when an AltIdentifier namespace names an EIDR (`EIDR`, `EIDR-S`, `EIDR-X`, `EIDR-URN`, `eidr-s`…).
pub(crate) fn is_eidr_namespace(ns: &str) -> bool {
    let ns = ns.trim().to_ascii_uppercase();
    ns == "EIDR" || ns.starts_with("EIDR-") || ns == "DOI"
}

/// True when an AltIdentifier namespace names an ISAN.
pub(crate) fn is_isan_namespace(ns: &str) -> bool {
    let ns = ns.trim().to_ascii_uppercase();
    ns == "ISAN" || ns.starts_with("ISAN-") || ns == "V-ISAN"
}

pub(crate) fn parse_isan(raw: &str) -> Result<Isan, IdError> {
    Isan::parse(raw.trim())
}

/// The EIDR embedded in a MovieLabs id such as `md:cid:eidr-s:AD07-310C-C59D-6785-C63A-G`
/// or `md:alid:eidr-x:…:trailer.1`, if the id uses an EIDR scheme.
pub(crate) fn eidr_in_mddf_id(id: &str) -> Option<Result<Eidr, IdError>> {
    let lower = id.to_ascii_lowercase();
    let at = ["eidr-s:", "eidr-x:", "eidr:"].iter().find_map(|scheme| lower.find(scheme).map(|i| i + scheme.len()))?;
    let rest = &id[at..];
    let value = rest.split(':').next().unwrap_or(rest);
    Some(parse_eidr(value))
}

/// Parses an ISO 8601 duration (`PT117M00.0S`, `PT01H37M49S`, `P1DT2H`), a clock
/// value (`01:57:00`, `01:57:00.000`, or `HH:MM:SS:FF` timecode, frames dropped) or
/// plain seconds, to whole seconds (rounded).
pub(crate) fn parse_duration_secs(raw: &str) -> Option<u32> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if let Some(rest) = s.strip_prefix('P').or_else(|| s.strip_prefix('p')) {
        return iso_duration(rest);
    }
    if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if !(2..=4).contains(&parts.len()) {
            return None;
        }
        let nums: Option<Vec<f64>> = parts.iter().take(3).map(|p| p.trim().parse::<f64>().ok()).collect();
        let nums = nums?;
        let secs = match nums.as_slice() {
            [h, m, s] => h * 3600.0 + m * 60.0 + s,
            [m, s] => m * 60.0 + s,
            _ => return None,
        };
        return seconds(secs);
    }
    s.parse::<f64>().ok().and_then(seconds)
}

fn iso_duration(rest: &str) -> Option<u32> {
    let mut total = 0.0;
    let mut in_time = false;
    let mut number = String::new();
    let mut any = false;
    for ch in rest.chars() {
        match ch.to_ascii_uppercase() {
            'T' if number.is_empty() => in_time = true,
            c if c.is_ascii_digit() || c == '.' || c == ',' => number.push(if c == ',' { '.' } else { c }),
            unit => {
                let n: f64 = number.parse().ok()?;
                number.clear();
                let factor = match (unit, in_time) {
                    ('Y', false) => 365.0 * 86400.0,
                    ('M', false) => 30.0 * 86400.0,
                    ('W', false) => 7.0 * 86400.0,
                    ('D', false) => 86400.0,
                    ('H', true) => 3600.0,
                    ('M', true) => 60.0,
                    ('S', true) => 1.0,
                    _ => return None,
                };
                total += n * factor;
                any = true;
            }
        }
    }
    if !number.is_empty() || !any {
        return None;
    }
    seconds(total)
}

fn seconds(value: f64) -> Option<u32> {
    (value.is_finite() && value >= 0.0 && value < f64::from(u32::MAX)).then(|| value.round() as u32)
}

/// A date or date-time as found in MDDF, CSV and JSON: RFC 3339, `YYYY-MM-DDTHH:MM:SS[.f]`
/// without offset (taken as UTC: Avails leaves the zone to the agreement), or a date
/// `YYYY-MM-DD`. `date_only` tells the caller a bare date was given.
pub(crate) struct ParsedDate {
    pub at: OffsetDateTime,
    pub date_only: bool,
}

pub(crate) fn parse_date_time(raw: &str) -> Option<ParsedDate> {
    let s = raw.trim();
    if let Ok(at) = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339) {
        return Some(ParsedDate { at, date_only: false });
    }
    let (date_part, time_part) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let date = parse_date(date_part)?;
    let Some(time_part) = time_part else {
        return Some(ParsedDate { at: date.midnight().assume_utc(), date_only: true });
    };
    let (clock, offset) = split_offset(time_part)?;
    let time = parse_clock(clock)?;
    Some(ParsedDate { at: PrimitiveDateTime::new(date, time).assume_offset(offset), date_only: false })
}

/// Window end as a half-open bound: a bare date means "through that day", so the
/// bound is the next midnight; a date-time is taken as given.
pub(crate) fn end_bound(parsed: ParsedDate) -> OffsetDateTime {
    if parsed.date_only { parsed.at.saturating_add(Duration::days(1)) } else { parsed.at }
}

fn parse_date(s: &str) -> Option<Date> {
    let mut it = s.split('-');
    let year: i32 = it.next()?.trim().parse().ok()?;
    let month: u8 = it.next()?.trim().parse().ok()?;
    let day: u8 = it.next()?.trim().parse().ok()?;
    if it.next().is_some() || !(1000..=9999).contains(&year) {
        return None;
    }
    Date::from_calendar_date(year, Month::try_from(month).ok()?, day).ok()
}

fn split_offset(s: &str) -> Option<(&str, UtcOffset)> {
    if let Some(clock) = s.strip_suffix(['Z', 'z']) {
        return Some((clock, UtcOffset::UTC));
    }
    if let Some(i) = s.rfind(['+', '-']) {
        let (clock, off) = s.split_at(i);
        let sign: i8 = if off.starts_with('-') { -1 } else { 1 };
        let mut hm = off[1..].split(':');
        let h: i8 = hm.next()?.parse().ok()?;
        let m: i8 = hm.next().unwrap_or("0").parse().ok()?;
        return Some((clock, UtcOffset::from_hms(sign * h, sign * m, 0).ok()?));
    }
    Some((s, UtcOffset::UTC))
}

fn parse_clock(s: &str) -> Option<Time> {
    let mut it = s.split(':');
    let h: u8 = it.next()?.trim().parse().ok()?;
    let m: u8 = it.next().unwrap_or("0").trim().parse().ok()?;
    let sec_part = it.next().unwrap_or("0").trim();
    if it.next().is_some() {
        return None;
    }
    let (whole, frac) = sec_part.split_once('.').unwrap_or((sec_part, ""));
    let sec: u8 = whole.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(9).collect();
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        format!("{digits:0<9}").parse().ok()?
    };
    Time::from_hms_nano(h, m, sec, nanos).ok()
}

/// An Excel serial date (days since 1899-12-30, fraction = time of day) as UTC.
pub(crate) fn excel_serial(serial: f64) -> Option<ParsedDate> {
    if !serial.is_finite() || !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let epoch = Date::from_calendar_date(1899, Month::December, 30).ok()?.midnight().assume_utc();
    let millis = (serial * 86_400_000.0).round() as i64;
    let at = epoch.checked_add(Duration::milliseconds(millis))?;
    Some(ParsedDate { at, date_only: serial.fract() == 0.0 })
}

/// A year from `2013`, `2013-10-25` or an Excel-stored number.
pub(crate) fn parse_year(raw: &str) -> Option<i32> {
    let s = raw.trim();
    let head = s.get(..4)?;
    let year: i32 = head.parse().ok()?;
    let rest_ok = s.len() == 4 || s[4..].starts_with('-') || s[4..].starts_with(".0");
    ((1850..=2200).contains(&year) && rest_ok).then_some(year)
}

/// Splits a list cell (`FR|BE|CH`, also accepting `,` and `;`) into trimmed non-empty items.
pub(crate) fn split_list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(['|', ',', ';']).map(str::trim).filter(|s| !s.is_empty())
}

/// The conventional ContentID of an ALID (`md:alid:X` ↔ `md:cid:X`), used to find the
/// work an availability or avail speaks about when no ContentID is given.
pub(crate) fn content_id_for_alid(alid: &str) -> String {
    let trimmed = alid.trim();
    match trimmed.get(..7) {
        Some(head) if head.eq_ignore_ascii_case("md:alid") => format!("md:cid{}", &trimmed[7..]),
        _ => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eidr_spellings() {
        let want = "10.5240/AD07-310C-C59D-6785-C63A-G";
        for raw in [
            want,
            "urn:eidr:10.5240:AD07-310C-C59D-6785-C63A-G",
            "AD07-310C-C59D-6785-C63A-G",
            "10.5240/ad07-310c-c59d-6785-c63a-g",
            "10.5240/AD07-310C-C59D-6785-C63A-G:trailer.1",
            "https://doi.org/10.5240/AD07-310C-C59D-6785-C63A-G",
        ] {
            assert_eq!(parse_eidr(raw).map(|e| e.to_string()), Ok(want.to_string()), "{raw}");
        }
        let err = parse_eidr("10.5240/1489-49A2-3956-4B2D-BEFK-6").unwrap_err();
        assert!(err.to_string().contains("10.5240/1489-49A2-3956-4B2D-BEFK-6"), "{err}");
        assert!(parse_eidr("urn:eidr:10.5240:7EC7-228A-510A-053E-CBB8-K").is_err());
    }

    #[test]
    fn eidr_inside_movielabs_ids() {
        let e = eidr_in_mddf_id("md:cid:eidr-s:AD07-310C-C59D-6785-C63A-G").expect("scheme").expect("valid");
        assert_eq!(e.as_str(), "10.5240/AD07-310C-C59D-6785-C63A-G");
        let e = eidr_in_mddf_id("md:cid:eidr-x:AD07-310C-C59D-6785-C63A-G:trailer.1").expect("scheme").expect("valid");
        assert_eq!(e.as_str(), "10.5240/AD07-310C-C59D-6785-C63A-G");
        assert!(eidr_in_mddf_id("md:cid:org:TEST:TEST").is_none());
        assert!(eidr_in_mddf_id("md:cid:eidr-s:1489-49A2-3956-4B2D-ZZ45-6").expect("scheme").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("PT117M00.0S"), Some(7020));
        assert_eq!(parse_duration_secs("PT01H37M49S"), Some(5869));
        assert_eq!(parse_duration_secs("PT1H57M0.000S"), Some(7020));
        assert_eq!(parse_duration_secs("P1DT1S"), Some(86401));
        assert_eq!(parse_duration_secs("01:57:00"), Some(7020));
        assert_eq!(parse_duration_secs("01:57:00:12"), Some(7020));
        assert_eq!(parse_duration_secs("5400"), Some(5400));
        assert_eq!(parse_duration_secs("PT"), None);
        assert_eq!(parse_duration_secs("PTXS"), None);
        assert_eq!(parse_duration_secs("-5"), None);
        assert_eq!(parse_duration_secs("soon"), None);
    }

    #[test]
    fn dates() {
        let d = parse_date_time("2017-05-05T00:00:00").expect("dt");
        assert_eq!(d.at.to_string(), "2017-05-05 0:00:00.0 +00:00:00");
        assert!(!d.date_only);
        let d = parse_date_time("2013-10-25").expect("date");
        assert!(d.date_only);
        assert_eq!(end_bound(d).date().to_string(), "2013-10-26");
        let d = parse_date_time("2017-12-11T23:59:59+02:00").expect("offset");
        assert_eq!(d.at.offset().whole_hours(), 2);
        assert!(parse_date_time("2013-02-30").is_none());
        assert!(parse_date_time("Open").is_none());
        assert!(parse_date_time("2013-10-25T25:00:00").is_none());
    }

    #[test]
    fn excel_serial_dates() {
        let d = excel_serial(41439.0).expect("serial");
        assert_eq!(d.at.date().to_string(), "2013-06-14");
        assert!(d.date_only);
        assert!(excel_serial(f64::NAN).is_none());
        assert!(excel_serial(-3.0).is_none());
    }

    #[test]
    fn years_lists_alids() {
        assert_eq!(parse_year("2013"), Some(2013));
        assert_eq!(parse_year("2013-10-25"), Some(2013));
        assert_eq!(parse_year("13"), None);
        assert_eq!(parse_year("20135"), None);
        assert_eq!(split_list(" FR | BE,CH;").collect::<Vec<_>>(), ["FR", "BE", "CH"]);
        assert_eq!(content_id_for_alid("md:alid:eidr-s:X"), "md:cid:eidr-s:X");
        assert_eq!(content_id_for_alid("030434"), "030434");
    }
}
