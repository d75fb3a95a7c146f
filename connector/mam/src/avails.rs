//! What Avails XML and the Avails spreadsheet share: turning one transaction
//! (window) into a [`RightsWindow`] with the same checks and the same stable id.

use passerelle_media::{LanguageTag, RightsWindow, Territory};

use crate::collect::{Collector, push_unique};
use crate::fields::{end_bound, parse_date_time};

/// A raw value and where it was read (for rejections).
pub(crate) struct Located<'a> {
    pub value: &'a str,
    pub location: String,
}

/// One transaction as read from the source, before validation.
pub(crate) struct WindowDraft<'a> {
    /// Stable id chosen by the caller, or `None` to derive the natural key.
    pub id: Option<String>,
    pub alid: String,
    pub work_id: String,
    pub licensor: Option<String>,
    pub license_type: Option<Located<'a>>,
    pub territories: Vec<Located<'a>>,
    pub excluded: Vec<Located<'a>>,
    pub start: Option<Located<'a>>,
    pub end: Option<Located<'a>>,
    pub languages: Vec<Located<'a>>,
    pub holdback_languages: Vec<Located<'a>>,
    pub format_profile: Option<String>,
    /// Where the transaction as a whole is.
    pub location: String,
}

/// Validates a draft; `None` when the window is rejected (reported in `out`).
pub(crate) fn build_window(draft: WindowDraft<'_>, out: &mut Collector) -> Option<RightsWindow> {
    let record = draft.id.clone().unwrap_or_else(|| draft.alid.clone());
    let Some(license) = draft.license_type.as_ref().map(|l| normalise_license_type(l.value)) else {
        out.reject(
            &draft.location,
            Some(&record),
            "LicenseType is missing: a window needs its license type (EST, VOD, SVOD…)",
        );
        return None;
    };
    if draft.territories.is_empty() {
        out.reject(&draft.location, Some(&record), "Territory is missing: a window needs at least one territory");
        return None;
    }
    let mut territories = Vec::new();
    for t in &draft.territories {
        match Territory::parse(t.value) {
            Ok(code) => push_unique(&mut territories, code),
            Err(e) => {
                // Dropping the territory would silently shrink the window; keeping the rest would
                // misstate it. The whole window goes back to the sender.
                out.reject(&t.location, Some(&record), format!("{e}; window rejected"));
                return None;
            }
        }
    }
    let mut excluded = Vec::new();
    for t in &draft.excluded {
        match Territory::parse(t.value) {
            Ok(code) => push_unique(&mut excluded, code),
            Err(e) => {
                out.reject(&t.location, Some(&record), format!("{e} (excluded territory); window rejected"));
                return None;
            }
        }
    }
    let start = match &draft.start {
        None => None,
        Some(s) => match bound(s.value) {
            Bound::At(parsed) => Some(parsed.at),
            Bound::Condition => None,
            Bound::Invalid => {
                out.reject(
                    &s.location,
                    Some(&record),
                    format!("Start `{}` is not a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss); window rejected", s.value),
                );
                return None;
            }
        },
    };
    let end = match &draft.end {
        None => None,
        Some(e) => match bound(e.value) {
            Bound::At(parsed) => Some(end_bound(parsed)),
            // `Open`, `ESTStart`…: the end is not a date we can enforce; the window stays open-ended.
            Bound::Condition => None,
            Bound::Invalid => {
                out.reject(
                    &e.location,
                    Some(&record),
                    format!(
                        "End `{}` is neither a date (YYYY-MM-DD or YYYY-MM-DDThh:mm:ss) nor a condition such as `Open`; window rejected",
                        e.value
                    ),
                );
                return None;
            }
        },
    };
    if let (Some(s), Some(e)) = (start, end)
        && e <= s
    {
        out.reject(
            &draft.location,
            Some(&record),
            format!("the window ends ({e}) before it starts ({s}); window rejected"),
        );
        return None;
    }
    let languages = languages_of(&draft.languages, &record, "allowed", out);
    let holdback_languages = languages_of(&draft.holdback_languages, &record, "holdback", out);
    let id = draft.id.unwrap_or_else(|| {
        let territories: Vec<&str> = territories.iter().map(Territory::as_str).collect();
        format!(
            "{}#{}-{}-{}-{}",
            draft.alid,
            license,
            territories.join("+"),
            draft.format_profile.as_deref().unwrap_or(""),
            draft.start.as_ref().map_or("", |s| s.value.trim())
        )
    });
    Some(RightsWindow {
        id,
        work_id: draft.work_id,
        licensor: draft.licensor,
        license_type: license,
        territories,
        excluded_territories: excluded,
        start,
        end,
        languages,
        holdback_languages,
        format_profile: draft.format_profile,
    })
}

fn languages_of(list: &[Located<'_>], record: &str, what: &str, out: &mut Collector) -> Vec<LanguageTag> {
    let mut tags = Vec::new();
    for l in list {
        match LanguageTag::parse(l.value) {
            Ok(tag) => push_unique(&mut tags, tag),
            Err(e) => out.reject(&l.location, Some(record), format!("{e}; {what} language dropped, window kept")),
        }
    }
    tags
}

enum Bound {
    At(crate::fields::ParsedDate),
    Condition,
    Invalid,
}

fn bound(raw: &str) -> Bound {
    let value = raw.trim();
    if let Some(parsed) = parse_date_time(value) {
        return Bound::At(parsed);
    }
    if !value.is_empty() && value.chars().all(|c| c.is_ascii_alphabetic()) {
        return Bound::Condition;
    }
    Bound::Invalid
}

/// Avails license types as the trade spells them, case-normalised.
pub(crate) fn normalise_license_type(raw: &str) -> String {
    let t = raw.trim();
    const KNOWN: [&str; 12] =
        ["EST", "VOD", "SVOD", "AVOD", "TVOD", "FVOD", "POEST", "PayTV", "FreeTV", "DTD", "NVOD", "Theatrical"];
    KNOWN.iter().find(|k| k.eq_ignore_ascii_case(t)).map_or_else(|| t.to_string(), |k| (*k).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Format;

    fn located(value: &str) -> Located<'_> {
        Located { value, location: format!("at {value}") }
    }

    fn draft<'a>(territory: &'a str, start: &'a str, end: &'a str) -> WindowDraft<'a> {
        WindowDraft {
            id: None,
            alid: "alid1".into(),
            work_id: "w1".into(),
            licensor: None,
            license_type: Some(located("svod")),
            territories: vec![located(territory)],
            excluded: vec![],
            start: Some(located(start)),
            end: Some(located(end)),
            languages: vec![located("fr"), located("??")],
            holdback_languages: vec![],
            format_profile: Some("HD".into()),
            location: "tx".into(),
        }
    }

    #[test]
    fn natural_key_dates_and_language_drop() {
        let mut out = Collector::new("f", Format::AvailsXml);
        let w = build_window(draft("fr", "2020-01-01", "2020-12-31"), &mut out).expect("window");
        assert_eq!(w.id, "alid1#SVOD-FR-HD-2020-01-01");
        assert_eq!(w.license_type, "SVOD");
        assert_eq!(w.end.map(|e| e.date().to_string()).as_deref(), Some("2021-01-01"));
        assert_eq!(w.languages.len(), 1);
        let batch = out.finish();
        assert_eq!(batch.rejected.len(), 1);
        assert_eq!(batch.rejected[0].location, "at ??");
    }

    #[test]
    fn bad_territory_dates_and_order_reject_the_window() {
        for (t, s, e) in [
            ("XX", "2020-01-01", "Open"),
            ("FR", "2020-13-01", "Open"),
            ("FR", "2020-01-01", "31/12/2020"),
            ("FR", "2021-01-01", "2020-01-01"),
        ] {
            let mut out = Collector::new("f", Format::AvailsXml);
            assert!(build_window(draft(t, s, e), &mut out).is_none(), "{t} {s} {e}");
            assert_eq!(out.finish().rejected.len(), 1);
        }
        let mut out = Collector::new("f", Format::AvailsXml);
        let w = build_window(draft("FR", "2020-01-01", "ESTStart"), &mut out).expect("condition end");
        assert!(w.end.is_none());
    }
}
