//! Avails rights windows as ODRL offers, and back to a rights summary for display.
//!
//! A window becomes one permission to `use` the target with these constraints:
//! territories → `spatial eq/isAnyOf`, excluded territories → `spatial isNoneOf` (alone, when no territory is
//! listed: the world minus the exclusions), start → `dateTime gteq` (inclusive), end → `dateTime lt` (exclusive,
//! as [`RightsWindow::is_open_at`]), license type → profile `channel eq`, languages → `language isAnyOf`, holdback
//! languages → `language isNoneOf`. The window's format profile (SD/HD/UHD) is a property of the delivered asset,
//! described in the dataset, not a usage condition, so it is not part of the offer.

use std::fmt;

use passerelle_media::{LanguageTag, RightsWindow};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::check::{Check, Interval, LangMode};
use crate::describe::{constraint_phrase, render_instant};
use crate::error::{PolicyError, Problem};
use crate::model::{Constraint, LeftOperand, Operator, Policy, PolicyType, Rule};
use crate::term::PROFILE_IRI;
use crate::vocab::action::Action;
use crate::vocab::territory::{TerritorySet, render_set};
use crate::vocab::{Channel, Purpose};

fn instant(path: &str, at: OffsetDateTime) -> Result<Value, PolicyError> {
    at.to_offset(time::UtcOffset::UTC)
        .format(&Rfc3339)
        .map(Value::String)
        .map_err(|e| PolicyError::new(path, Problem::Invalid { reason: format!("cannot write the instant: {e}") }))
}

fn codes<T: ToString>(items: &[T]) -> Value {
    Value::Array(items.iter().map(|t| Value::String(t.to_string())).collect())
}

/// The ODRL offer that expresses `window` for the dataset `target`, offered by `assigner` (its participant id).
/// Errors name the window field that cannot be expressed (`window.license_type`, …).
pub fn offer_for_window(
    window: &RightsWindow,
    offer_id: &str,
    target: &str,
    assigner: &str,
) -> Result<Policy, PolicyError> {
    let mut rule = Rule::new(Action::Use);
    match (window.territories.as_slice(), window.excluded_territories.is_empty()) {
        ([], true) => {
            return Err(PolicyError::new(
                "window.territories",
                Problem::Empty { what: "a rights window's territory list (with no exclusions either)" },
            ));
        }
        ([], false) => {}
        ([one], _) => {
            rule = rule.with_constraint(Constraint::atomic(LeftOperand::Spatial, Operator::Eq, json!(one.as_str()))?)
        }
        (many, _) => {
            rule = rule.with_constraint(Constraint::atomic(LeftOperand::Spatial, Operator::IsAnyOf, codes(many))?)
        }
    }
    if !window.excluded_territories.is_empty() {
        rule = rule.with_constraint(Constraint::atomic(
            LeftOperand::Spatial,
            Operator::IsNoneOf,
            codes(&window.excluded_territories),
        )?);
    }
    if let (Some(s), Some(e)) = (window.start, window.end)
        && e <= s
    {
        return Err(PolicyError::new(
            "window.end",
            Problem::Invalid { reason: "the window ends before (or when) it starts".into() },
        ));
    }
    if let Some(start) = window.start {
        rule = rule.with_constraint(Constraint::atomic(
            LeftOperand::DateTime,
            Operator::Gteq,
            instant("window.start", start)?,
        )?);
    }
    if let Some(end) = window.end {
        rule =
            rule.with_constraint(Constraint::atomic(LeftOperand::DateTime, Operator::Lt, instant("window.end", end)?)?);
    }
    let channel = Channel::parse(&window.license_type).ok_or_else(|| {
        PolicyError::new(
            "window.license_type",
            Problem::BadRightOperand {
                reason: format!(
                    "`{}` is not an Avails license type (known: {})",
                    window.license_type,
                    Channel::known()
                ),
            },
        )
    })?;
    rule = rule.with_constraint(Constraint::atomic(LeftOperand::Channel, Operator::Eq, json!(channel.as_str()))?);
    if !window.languages.is_empty() {
        rule = rule.with_constraint(Constraint::atomic(
            LeftOperand::Language,
            Operator::IsAnyOf,
            codes(&window.languages),
        )?);
    }
    if !window.holdback_languages.is_empty() {
        rule = rule.with_constraint(Constraint::atomic(
            LeftOperand::Language,
            Operator::IsNoneOf,
            codes(&window.holdback_languages),
        )?);
    }
    Ok(Policy::new(PolicyType::Offer, offer_id)
        .with_profile(PROFILE_IRI)
        .with_target(target)
        .with_assigner(assigner)
        .with_permission(rule))
}

/// What a policy's first permission grants, in rights-window terms, for display.
#[derive(Debug, Clone, PartialEq)]
pub struct RightsSummary {
    /// The action of the permission summarised.
    pub action: String,
    /// Territories allowed after exclusions; `None` when unrestricted.
    pub territories: Option<TerritorySet>,
    /// Inclusive start.
    pub start: Option<OffsetDateTime>,
    /// Exclusive end.
    pub end: Option<OffsetDateTime>,
    /// License types allowed; empty when unrestricted.
    pub channels: Vec<Channel>,
    /// Purposes allowed; empty when unrestricted.
    pub purposes: Vec<Purpose>,
    pub languages: Vec<LanguageTag>,
    pub holdback_languages: Vec<LanguageTag>,
    /// Every other condition of the permission, in plain English, so nothing is hidden.
    pub other_conditions: Vec<String>,
    /// How many further permissions and prohibitions the policy has beyond the one summarised.
    pub other_rules: usize,
}

/// Summarises the first permission of `policy` as a rights window (the reverse of [`offer_for_window`]); `None`
/// when the policy has no permission.
pub fn summarize(policy: &Policy) -> Option<RightsSummary> {
    let rule = policy.permissions.first()?;
    let mut s = RightsSummary {
        action: rule.action_written.clone(),
        territories: None,
        start: None,
        end: None,
        channels: Vec::new(),
        purposes: Vec::new(),
        languages: Vec::new(),
        holdback_languages: Vec::new(),
        other_conditions: Vec::new(),
        other_rules: policy.permissions.len() - 1 + policy.prohibitions.len(),
    };
    for c in &rule.constraints {
        let Constraint::Atomic(a) = c else {
            s.other_conditions.push(constraint_phrase(c));
            continue;
        };
        match &a.check {
            Check::Territory(set) => {
                s.territories = Some(s.territories.map_or(*set, |t| t.intersection(set)));
            }
            Check::Instant(Interval::Range { lo, hi }) if lo.is_none() != hi.is_none() => {
                let to_time = |nanos: i128| OffsetDateTime::from_unix_timestamp_nanos(nanos).ok();
                if let Some((v, inclusive)) = lo {
                    let start = to_time(if *inclusive { *v } else { v + 1 });
                    s.start = match (s.start, start) {
                        (Some(a), Some(b)) => Some(a.max(b)),
                        (a, b) => a.or(b),
                    };
                }
                if let Some((v, inclusive)) = hi {
                    let end = to_time(if *inclusive { v + 1 } else { *v });
                    s.end = match (s.end, end) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
            }
            Check::Channel(mask) => {
                let allowed = Channel::members(*mask);
                s.channels = if s.channels.is_empty() {
                    allowed
                } else {
                    s.channels.into_iter().filter(|c| allowed.contains(c)).collect()
                };
            }
            Check::Purpose(mask) => {
                let allowed = Purpose::members(*mask);
                s.purposes = if s.purposes.is_empty() {
                    allowed
                } else {
                    s.purposes.into_iter().filter(|p| allowed.contains(p)).collect()
                };
            }
            Check::Language { ranges, mode: LangMode::AnyWithin } if s.languages.is_empty() => {
                s.languages = ranges.clone();
            }
            Check::Language { ranges, mode: LangMode::NoneWithin } => {
                s.holdback_languages.extend(ranges.iter().cloned());
            }
            _ => s.other_conditions.push(constraint_phrase(c)),
        }
    }
    Some(s)
}

impl fmt::Display for RightsSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in {}", self.action, self.territories.as_ref().map_or("any territory".into(), render_set))?;
        match (self.start, self.end) {
            (None, None) => write!(f, ", at any time")?,
            (Some(s), None) => write!(f, ", from {}", render_instant(s))?,
            (None, Some(e)) => write!(f, ", until (before) {}", render_instant(e))?,
            (Some(s), Some(e)) => write!(f, ", from {} until (before) {}", render_instant(s), render_instant(e))?,
        }
        if !self.channels.is_empty() {
            let names: Vec<&str> = self.channels.iter().map(|c| c.as_str()).collect();
            write!(f, ", as {}", names.join("/"))?;
        }
        if !self.purposes.is_empty() {
            let names: Vec<&str> = self.purposes.iter().map(|p| p.as_str()).collect();
            write!(f, ", for {}", names.join("/"))?;
        }
        if !self.languages.is_empty() {
            let names: Vec<&str> = self.languages.iter().map(|l| l.as_str()).collect();
            write!(f, ", in {}", names.join(", "))?;
        }
        if !self.holdback_languages.is_empty() {
            let names: Vec<&str> = self.holdback_languages.iter().map(|l| l.as_str()).collect();
            write!(f, ", holdback {}", names.join(", "))?;
        }
        for c in &self.other_conditions {
            write!(f, ", provided that {c}")?;
        }
        if self.other_rules > 0 {
            write!(f, " (+{} more rule(s))", self.other_rules)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use passerelle_media::Territory;
    use time::macros::datetime;

    use super::*;
    use crate::evaluate::{RequestContext, evaluate};

    fn window() -> RightsWindow {
        let t = |c: &str| Territory::parse(c).unwrap();
        let l = |c: &str| LanguageTag::parse(c).unwrap();
        RightsWindow {
            id: "ALID-1:T1".into(),
            work_id: "md:cid:org:example:work-1".into(),
            licensor: Some("Example Films".into()),
            license_type: "SVOD".into(),
            territories: vec![t("FR"), t("BE"), t("CH")],
            excluded_territories: vec![t("BE")],
            start: Some(datetime!(2026-01-01 0:00 UTC)),
            end: Some(datetime!(2027-01-01 0:00 UTC)),
            languages: vec![l("fr"), l("de")],
            holdback_languages: vec![l("fr-CA")],
            format_profile: Some("HD".into()),
        }
    }

    fn offer() -> Policy {
        offer_for_window(&window(), "urn:offer:w1", "urn:dataset:work-1", "did:web:distributor.example").unwrap()
    }

    #[test]
    fn window_becomes_an_odrl_offer() {
        let p = offer();
        let v = p.to_json();
        assert_eq!(v["@type"], "Offer");
        assert_eq!(v["target"], "urn:dataset:work-1");
        assert_eq!(v["assigner"], "did:web:distributor.example");
        assert_eq!(v["profile"], PROFILE_IRI);
        let constraints = v["permission"][0]["constraint"].as_array().unwrap();
        let ops: Vec<(&str, &str)> =
            constraints.iter().map(|c| (c["leftOperand"].as_str().unwrap(), c["operator"].as_str().unwrap())).collect();
        assert_eq!(
            ops,
            vec![
                ("spatial", "isAnyOf"),
                ("spatial", "isNoneOf"),
                ("dateTime", "gteq"),
                ("dateTime", "lt"),
                ("https://w3id.org/passerelle/odrl/channel", "eq"),
                ("language", "isAnyOf"),
                ("language", "isNoneOf"),
            ]
        );
        assert_eq!(constraints[2]["rightOperand"], "2026-01-01T00:00:00Z");
        assert_eq!(Policy::from_json(&v).unwrap(), p, "the generated JSON parses back to the same policy");
    }

    #[test]
    fn the_offer_means_what_the_window_means() {
        let p = offer();
        let t = |c: &str| Territory::parse(c).unwrap();
        let l = |c: &str| LanguageTag::parse(c).unwrap();
        let base = |at| {
            RequestContext::new(Action::Play, at)
                .with_territory(t("FR"))
                .with_channel(Channel::Svod)
                .with_language(l("fr-FR"))
        };
        for at in [
            datetime!(2025-12-31 23:59:59 UTC),
            datetime!(2026-01-01 0:00 UTC),
            datetime!(2026-12-31 23:59 UTC),
            datetime!(2027-01-01 0:00 UTC),
        ] {
            let ctx = base(at);
            assert_eq!(evaluate(&p, &ctx).permitted, window().is_open_at(at), "{at}");
        }
        let inside = datetime!(2026-06-01 0:00 UTC);
        let cases = [
            (base(inside).with_territory(t("BE")), false),
            (base(inside).with_territory(t("CH")), true),
            (base(inside).with_territory(t("DE")), false),
            (base(inside).with_channel(Channel::Avod), false),
            (base(inside).with_language(l("fr-CA")), false),
            (base(inside).with_language(l("de-CH")), true),
            (base(inside).with_language(l("it")), false),
        ];
        for (ctx, expected) in cases {
            assert_eq!(evaluate(&p, &ctx).permitted, expected, "{ctx:?}");
        }
    }

    #[test]
    fn open_windows_and_exclusion_only() {
        let mut w = window();
        w.start = None;
        w.end = None;
        w.territories.clear();
        w.excluded_territories = vec![Territory::parse("US").unwrap()];
        w.languages.clear();
        w.holdback_languages.clear();
        let p = offer_for_window(&w, "urn:o", "urn:d", "did:web:x").unwrap();
        let s = summarize(&p).unwrap();
        assert_eq!(s.territories.unwrap().len(), 249);
        assert_eq!((s.start, s.end), (None, None));
        assert_eq!(s.to_string(), "use in WORLD except US, at any time, as SVOD");
    }

    #[test]
    fn windows_that_cannot_be_expressed() {
        let mut w = window();
        w.license_type = "Hotel".into();
        let e = offer_for_window(&w, "urn:o", "urn:d", "did:web:x").unwrap_err();
        assert_eq!(e.path, "window.license_type");
        assert!(e.to_string().contains("`Hotel` is not an Avails license type"));
        let mut w = window();
        w.territories.clear();
        w.excluded_territories.clear();
        assert_eq!(offer_for_window(&w, "urn:o", "urn:d", "did:web:x").unwrap_err().path, "window.territories");
        let mut w = window();
        w.end = w.start;
        assert_eq!(offer_for_window(&w, "urn:o", "urn:d", "did:web:x").unwrap_err().path, "window.end");
    }

    #[test]
    fn summary_reverses_the_window() {
        let s = summarize(&offer()).unwrap();
        let expected: Vec<&str> = vec!["CH", "FR"];
        let got: Vec<String> = s.territories.unwrap().territories().iter().map(|t| t.to_string()).collect();
        assert_eq!(got, expected);
        assert_eq!(s.start, window().start);
        assert_eq!(s.end, window().end);
        assert_eq!(s.channels, vec![Channel::Svod]);
        assert_eq!(s.languages, window().languages);
        assert_eq!(s.holdback_languages, window().holdback_languages);
        assert!(s.other_conditions.is_empty());
        assert_eq!(
            s.to_string(),
            "use in CH, FR, from 1 January 2026 00:00 UTC until (before) 1 January 2027 00:00 UTC, as SVOD, in fr, de, \
             holdback fr-CA"
        );
    }

    #[test]
    fn summary_lists_what_it_does_not_map() {
        let p = Policy::from_json(&serde_json::json!({"@id": "urn:o", "@type": "Offer",
            "permission": [{"action": "use", "constraint": [
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 3},
                {"leftOperand": "purpose", "operator": "isA", "rightOperand": "vod"}
            ]}, {"action": "play"}]}))
        .unwrap();
        let s = summarize(&p).unwrap();
        assert_eq!(s.other_conditions, vec!["at most 3 uses in total".to_string()]);
        assert_eq!(s.purposes.len(), 7);
        assert_eq!(s.other_rules, 1);
        assert!(s.territories.is_none());
        let none =
            Policy::from_json(&serde_json::json!({"@id": "urn:o", "@type": "Set", "prohibition": [{"action": "use"}]}));
        assert!(summarize(&none.unwrap()).is_none());
    }
}
