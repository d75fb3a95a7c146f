//! Plain-English rendering of policies and decisions, for the console and the CLI.

use std::fmt::{self, Write as _};

use serde_json::Value;
use time::OffsetDateTime;

use crate::evaluate::{Actual, Decision, Outcome, Subject, Truth};
use crate::lexical;
use crate::model::{
    AtomicConstraint, Constraint, LeftOperand, LogicalOp, Operator, Policy, PolicyType, Rule, RuleKind,
};
use crate::vocab::Purpose;
use crate::vocab::territory::{Area, GROUPS, resolve_area};

/// Describes a policy in plain English: who offers what to whom, what is permitted under which conditions, what
/// is prohibited, and which duties apply.
pub fn describe(policy: &Policy) -> String {
    let mut out = String::new();
    let kind = match policy.policy_type {
        PolicyType::Set => "Policy",
        PolicyType::Offer => "Offer",
        PolicyType::Agreement => "Agreement",
    };
    let _ = write!(out, "{kind} {}", policy.id);
    if let Some(t) = &policy.target {
        let _ = write!(out, " on {t}");
    }
    if let Some(a) = &policy.assigner {
        let _ = write!(out, ", from {a}");
    }
    if let Some(a) = &policy.assignee {
        let _ = write!(out, " to {a}");
    }
    if let Some(ts) = &policy.timestamp {
        let _ = write!(out, ", agreed {}", render_instant_text(ts));
    }
    out.push_str(".\n");
    if !policy.permissions.is_empty() {
        out.push_str("Permitted:\n");
        for (i, r) in policy.permissions.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, rule_sentence(r, RuleKind::Permission));
            for d in &r.duties {
                let _ = writeln!(out, "     duty: {}", rule_sentence(d, RuleKind::Duty));
            }
        }
    }
    if !policy.prohibitions.is_empty() {
        out.push_str("Prohibited:\n");
        for (i, r) in policy.prohibitions.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, rule_sentence(r, RuleKind::Prohibition));
        }
    }
    if !policy.obligations.is_empty() {
        out.push_str("Obligations:\n");
        for (i, r) in policy.obligations.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", i + 1, rule_sentence(r, RuleKind::Duty));
        }
    }
    out.push_str("Anything not permitted above is denied; prohibitions take precedence over permissions.\n");
    let foreign = policy.foreign_terms();
    if !foreign.is_empty() {
        let _ = writeln!(
            out,
            "Warning: this policy uses terms Passerelle does not understand ({}); conditions using them are treated as \
             unmet.",
            foreign.join(", ")
        );
    }
    out
}

fn rule_sentence(r: &Rule, kind: RuleKind) -> String {
    let action = match r.action {
        Some(a) => a.as_str().to_string(),
        None => format!("`{}` (an action Passerelle does not understand)", r.action_written),
    };
    let head = match kind {
        RuleKind::Permission => format!("may {action}"),
        RuleKind::Prohibition => format!("may not {action}"),
        RuleKind::Duty => format!("must {action}"),
    };
    if r.constraints.is_empty() {
        return match kind {
            RuleKind::Permission => format!("{head}, without conditions"),
            RuleKind::Prohibition => format!("{head}, ever"),
            RuleKind::Duty => head,
        };
    }
    let link = if kind == RuleKind::Permission { "provided that" } else { "when" };
    let conds: Vec<String> = r.constraints.iter().map(constraint_phrase).collect();
    format!("{head}, {link} {}", conds.join("; and "))
}

/// One constraint as a phrase (`the territory is in EU`).
pub(crate) fn constraint_phrase(c: &Constraint) -> String {
    match c {
        Constraint::Atomic(a) => atomic_phrase(a),
        Constraint::Logical(l) => {
            let inner: Vec<String> = l.constraints.iter().map(constraint_phrase).collect();
            let lead = match l.op {
                LogicalOp::And => "all of",
                LogicalOp::Or => "at least one of",
                LogicalOp::Xone => "exactly one of",
                LogicalOp::AndSequence => "all of, in this order",
            };
            format!("{lead} ({})", inner.join(" | "))
        }
    }
}

fn right_texts(v: &Value) -> Vec<String> {
    fn one(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Object(m) => m.get("@value").or_else(|| m.get("@id")).map(one).unwrap_or_else(|| v.to_string()),
            other => other.to_string(),
        }
    }
    match v {
        Value::Array(items) => items.iter().map(one).collect(),
        other => vec![one(other)],
    }
}

fn list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn area_text(written: &str) -> String {
    match resolve_area(written) {
        Some(Area::Group(g)) => format!("{} ({})", g.name, g.label),
        Some(Area::Territory(t)) => t.to_string(),
        None => written.to_string(),
    }
}

pub(crate) fn render_instant(at: OffsetDateTime) -> String {
    let utc = at.to_offset(time::UtcOffset::UTC);
    let date = format!("{} {} {}", utc.day(), utc.month(), utc.year());
    if utc.hour() == 0 && utc.minute() == 0 && utc.second() == 0 && utc.nanosecond() == 0 {
        format!("{date} 00:00 UTC")
    } else {
        format!("{date} {:02}:{:02} UTC", utc.hour(), utc.minute())
    }
}

fn render_instant_text(written: &str) -> String {
    lexical::parse_datetime(written).map(render_instant).unwrap_or_else(|_| written.to_string())
}

fn atomic_phrase(a: &AtomicConstraint) -> String {
    let values = right_texts(&a.right);
    let (Some(left), Some(op)) = (a.left, a.operator) else {
        return format!(
            "`{} {} {}` (a condition Passerelle does not understand; treated as unmet)",
            a.left_written,
            a.operator_written,
            list(&values)
        );
    };
    let first = values.first().cloned().unwrap_or_default();
    let neg = matches!(op, Operator::Neq | Operator::IsNoneOf);
    match left {
        LeftOperand::Spatial => {
            let areas: Vec<String> = values.iter().map(|v| area_text(v)).collect();
            match op {
                Operator::IsAllOf => format!("the territory is in every one of {}", areas.join(", ")),
                Operator::HasPart => format!("the territory is {}", list(&areas)),
                _ if neg => format!("the territory is not in {}", list(&areas)),
                _ => format!("the territory is in {}", list(&areas)),
            }
        }
        LeftOperand::DateTime => {
            let t = render_instant_text(&first);
            match op {
                Operator::Eq => format!("the time is exactly {t}"),
                Operator::Neq => format!("the time is not {t}"),
                Operator::Lt => format!("the time is before {t}"),
                Operator::Lteq => format!("the time is no later than {t}"),
                Operator::Gt => format!("the time is after {t}"),
                _ => format!("the time is {t} or later"),
            }
        }
        LeftOperand::ElapsedTime => {
            let d = lexical::parse_duration(&first).map(lexical::human_duration).unwrap_or(first);
            match op {
                Operator::Eq => format!("exactly {d} have elapsed since first use"),
                Operator::Neq => format!("the time elapsed since first use is not {d}"),
                Operator::Lt => format!("less than {d} have elapsed since first use"),
                Operator::Lteq => format!("at most {d} have elapsed since first use"),
                Operator::Gt => format!("more than {d} have elapsed since first use"),
                _ => format!("at least {d} have elapsed since first use"),
            }
        }
        LeftOperand::Count => match op {
            Operator::Eq => format!("this is use number {first}"),
            Operator::Neq => format!("this is not use number {first}"),
            Operator::Lt => format!("fewer than {first} uses in total"),
            Operator::Lteq => format!("at most {first} uses in total"),
            Operator::Gt => format!("more than {first} uses have been made, this one included"),
            _ => format!("at least {first} uses have been made, this one included"),
        },
        LeftOperand::Purpose => {
            let with_narrower = |w: &String| match Purpose::parse(w) {
                Some(p) => {
                    let narrower: Vec<&str> =
                        Purpose::members(p.narrower_or_self() & !p.bit()).iter().map(|n| n.as_str()).collect();
                    if narrower.is_empty() { p.as_str().to_string() } else { format!("{p} ({})", narrower.join(", ")) }
                }
                None => w.clone(),
            };
            let items: Vec<String> = values.iter().map(with_narrower).collect();
            match op {
                Operator::Eq => format!("the purpose is exactly {first}"),
                Operator::Neq => format!("the purpose is anything but exactly {first}"),
                Operator::HasPart => format!("the purpose is {first} or broader"),
                Operator::IsAllOf => format!("the purpose falls under every one of {}", items.join(", ")),
                _ if neg => format!("the purpose falls under none of {}", list(&items)),
                _ => format!("the purpose falls under {}", list(&items)),
            }
        }
        LeftOperand::Language => match op {
            Operator::HasPart => format!("the language is {first} or a broader tag"),
            Operator::IsAllOf => format!("the language matches every one of {} (any variant)", values.join(", ")),
            _ if neg => format!("the language is not {} (in any variant)", list(&values)),
            _ => format!("the language is {} (any variant)", list(&values)),
        },
        LeftOperand::Channel => {
            if neg {
                format!("the licence type is not {}", list(&values))
            } else {
                format!("the licence type is {}", list(&values))
            }
        }
        LeftOperand::Role => {
            if neg {
                format!("the requester's role is not {}", list(&values))
            } else {
                format!("the requester's role is {}", list(&values))
            }
        }
        LeftOperand::Recipient => {
            if neg {
                format!("the requester is not {}", list(&values))
            } else {
                format!("the requester is {}", list(&values))
            }
        }
        LeftOperand::Event => {
            if neg {
                format!("the event is not {}", list(&values))
            } else {
                format!("the event is {}", list(&values))
            }
        }
    }
}

fn actual_text(a: &Actual<'_>) -> String {
    match a {
        Actual::Missing => "not given in the request".into(),
        Actual::Combined => "see its members".into(),
        Actual::NotUnderstood => "not understood".into(),
        Actual::Territory(t) => t.to_string(),
        Actual::Instant(t) => render_instant(*t),
        Actual::Elapsed(d) => lexical::human_duration(*d),
        Actual::Count(n) => format!("this would be use number {n}"),
        Actual::Purpose(p) => p.to_string(),
        Actual::Channel(c) => c.to_string(),
        Actual::Role(r) => r.to_string(),
        Actual::Language(l) => l.to_string(),
        Actual::Participant(p) => (*p).to_string(),
        Actual::Event(e) => (*e).to_string(),
    }
}

fn truth_text(t: Truth) -> &'static str {
    match t {
        Truth::Holds => "holds",
        Truth::Fails => "FAILS",
        Truth::Unknown => "UNKNOWN",
    }
}

pub(crate) fn write_decision(f: &mut fmt::Formatter<'_>, d: &Decision<'_>) -> fmt::Result {
    match d.outcome {
        Outcome::Permitted { permission } => writeln!(f, "PERMITTED by permission[{permission}]")?,
        Outcome::Prohibited { prohibition } => writeln!(f, "DENIED: prohibition[{prohibition}] applies")?,
        Outcome::NoPermissionForAction => writeln!(f, "DENIED: no permission covers the requested action")?,
        Outcome::NoPermissionHolds => writeln!(f, "DENIED: no permission has all its conditions met")?,
    }
    for node in d.explanation.nodes() {
        let indent = "  ".repeat(node.depth + 1);
        match node.subject {
            Subject::Rule { kind, index, of_permission, rule, action_covers } => {
                let name = match (kind, of_permission) {
                    (RuleKind::Duty, Some(p)) => format!("permission[{p}].duty[{index}]"),
                    (RuleKind::Duty, None) => format!("obligation[{index}]"),
                    _ => format!("{}[{index}]", kind.member()),
                };
                if action_covers {
                    writeln!(f, "{indent}{name} ({}): {}", rule.action_written, truth_text(node.truth))?;
                } else {
                    writeln!(f, "{indent}{name} ({}): does not cover the requested action", rule.action_written)?;
                }
            }
            Subject::Constraint { index, constraint, actual } => match constraint {
                Constraint::Atomic(a) => writeln!(
                    f,
                    "{indent}[{index}] {} — request: {} → {}",
                    atomic_phrase(a),
                    actual_text(&actual),
                    truth_text(node.truth)
                )?,
                Constraint::Logical(l) => {
                    writeln!(f, "{indent}[{index}] {} → {}", l.op.as_str(), truth_text(node.truth))?
                }
            },
        }
    }
    for o in &d.obligations {
        writeln!(f, "  obligation: {}", rule_sentence(o.duty, RuleKind::Duty))?;
    }
    Ok(())
}

/// The named groups, for help texts.
pub fn territory_groups() -> Vec<(&'static str, &'static str)> {
    GROUPS.iter().map(|g| (g.name, g.label)).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn describes_an_offer_in_english() {
        let p = Policy::from_json(&json!({
            "@id": "urn:offer:1", "@type": "Offer", "target": "urn:dataset:work-1", "assigner": "did:web:dist.example",
            "permission": [{
                "action": "use",
                "constraint": [
                    {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["EU", "CH"]},
                    {"leftOperand": "spatial", "operator": "isNoneOf", "rightOperand": ["DE"]},
                    {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-01-01T00:00:00Z"},
                    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00Z"},
                    {"leftOperand": "passerelle:channel", "operator": "eq", "rightOperand": "SVOD"},
                    {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]},
                    {"leftOperand": "count", "operator": "lteq", "rightOperand": 10},
                    {"or": [
                        {"leftOperand": "purpose", "operator": "isA", "rightOperand": "vod"},
                        {"leftOperand": "passerelle:role", "operator": "eq", "rightOperand": "broadcaster"}
                    ]}
                ],
                "duty": [{"action": "attribute"}]
            }],
            "prohibition": [{"action": "use", "constraint": [{"leftOperand": "purpose", "operator": "isA", "rightOperand": "ai-training"}]}],
            "obligation": [{"action": "delete", "constraint": [{"leftOperand": "elapsedTime", "operator": "gt", "rightOperand": "P30D"}]}]
        }))
        .unwrap();
        let text = describe(&p);
        let expected = "Offer urn:offer:1 on urn:dataset:work-1, from did:web:dist.example.
Permitted:
  1. may use, provided that the territory is in EU (the European Union (27 member states)) or CH; and the territory \
is not in DE; and the time is 1 January 2026 00:00 UTC or later; and the time is before 1 January 2027 00:00 UTC; and \
the licence type is SVOD; and the language is es or fr (any variant); and at most 10 uses in total; and at least one \
of (the purpose falls under vod (svod, avod, tvod, est, fvod, catch-up) | the requester's role is broadcaster)
     duty: must attribute
Prohibited:
  1. may not use, when the purpose falls under ai-training
Obligations:
  1. must delete, when more than 30 days have elapsed since first use
Anything not permitted above is denied; prohibitions take precedence over permissions.
";
        assert_eq!(text, expected);
    }

    #[test]
    fn warns_about_foreign_terms_and_renders_every_operator() {
        let p = Policy::from_peer_json(&json!({"@id": "urn:a", "@type": "Agreement", "target": "urn:d",
            "assigner": "did:web:p", "assignee": "did:web:c", "timestamp": "2023-01-01T01:00:00Z",
            "permission": [{"action": "use", "constraint": [{"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}]}]}))
        .unwrap();
        let text = describe(&p);
        assert!(
            text.starts_with("Agreement urn:a on urn:d, from did:web:p to did:web:c, agreed 1 January 2023 01:00 UTC.")
        );
        assert!(text.contains("`partner eq gold` (a condition Passerelle does not understand; treated as unmet)"));
        assert!(
            text.contains("Warning: this policy uses terms Passerelle does not understand (leftOperand `partner`)")
        );
        let ops = [
            ("spatial", "hasPart", json!("FR"), "the territory is FR"),
            ("spatial", "isAllOf", json!(["EEA", "Nordics"]), "the territory is in every one of EEA"),
            ("dateTime", "eq", json!("2026-01-01"), "the time is exactly 1 January 2026 00:00 UTC"),
            ("dateTime", "lteq", json!("2026-01-01T10:30:00Z"), "no later than 1 January 2026 10:30 UTC"),
            ("elapsedTime", "lteq", json!("PT48H"), "at most 2 days have elapsed since first use"),
            ("count", "eq", json!(2), "this is use number 2"),
            ("purpose", "hasPart", json!("svod"), "the purpose is svod or broader"),
            (
                "purpose",
                "isNoneOf",
                json!(["archive", "promotion"]),
                "the purpose falls under none of archive or promotion",
            ),
            ("language", "neq", json!("en"), "the language is not en (in any variant)"),
            ("language", "hasPart", json!("pt-BR"), "the language is pt-BR or a broader tag"),
            ("channel", "isNoneOf", json!(["EST"]), "the licence type is not EST"),
            ("role", "neq", json!("lab"), "the requester's role is not lab"),
            ("recipient", "eq", json!("did:web:x"), "the requester is did:web:x"),
            ("event", "neq", json!("urn:e"), "the event is not urn:e"),
        ];
        for (left, op, right, phrase) in ops {
            let p = Policy::from_json(&json!({"@id": "urn:s", "@type": "Set", "permission": [{"action": "use",
                "constraint": [{"leftOperand": left, "operator": op, "rightOperand": right}]}]}))
            .unwrap();
            let text = describe(&p);
            assert!(text.contains(phrase), "{left} {op}: {text}");
        }
    }
}
