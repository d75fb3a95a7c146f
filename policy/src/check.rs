//! Compiling an atomic constraint (`leftOperand operator rightOperand`) into a [`Check`]: the right operand is
//! validated and resolved once — territory groups to bitsets, purposes to masks over the `isA` hierarchy, instants
//! and durations to integers — so that evaluation is a comparison.
//!
//! Operator meaning per operand (documented in the crate root too):
//! - `spatial`: `eq`/`isA`/`isPartOf` one area, `isAnyOf` a list (union), `isAllOf` (intersection), `neq`/`isNoneOf`
//!   (exclusion), `hasPart` one territory.
//! - `purpose`: `eq`/`neq` exact; `isA`/`isPartOf`/`isAnyOf`/`isNoneOf`/`isAllOf` through the hierarchy (a narrower
//!   purpose counts as its broader one); `hasPart` the actual purpose is broader than or equal to the operand.
//! - `language`: right operands are BCP 47 ranges (RFC 4647 basic filtering): `eq es` holds for `es-419`.
//! - `channel`, `role`, `recipient`, `event`: `eq`, `neq`, `isAnyOf`, `isNoneOf`.
//! - `dateTime`, `elapsedTime`, `count`: `eq`, `neq`, `lt`, `lteq`, `gt`, `gteq`.

use passerelle_media::LanguageTag;
use serde_json::Value;

use crate::error::{PolicyError, Problem, join};
use crate::lexical;
use crate::model::{LeftOperand, Operator};
use crate::vocab::territory::{TerritorySet, resolve_area};
use crate::vocab::{Channel, Purpose, Role};

/// A compiled atomic constraint.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Check {
    /// Holds when the request territory is in the set (exclusions are already complemented against WORLD).
    Territory(TerritorySet),
    /// Holds when the request purpose's bit is in the mask.
    Purpose(u32),
    Channel(u32),
    Role(u32),
    /// Over Unix time in nanoseconds.
    Instant(Interval),
    /// Over nanoseconds elapsed.
    Elapsed(Interval),
    /// Over the count of executions including the requested one.
    Count(Interval),
    Language {
        ranges: Vec<LanguageTag>,
        mode: LangMode,
    },
    Recipient {
        values: Vec<String>,
        negate: bool,
    },
    Event {
        values: Vec<String>,
        negate: bool,
    },
    /// An operand or operator we do not understand (peer policies): never known to hold or not.
    Foreign,
}

/// A set over an ordered domain: one range, or everything but one point (`neq`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interval {
    /// Bounds with inclusiveness; `None` is unbounded.
    Range {
        lo: Option<(i128, bool)>,
        hi: Option<(i128, bool)>,
    },
    Except(i128),
}

impl Interval {
    fn from_operator(op: Operator, v: i128) -> Interval {
        match op {
            Operator::Eq => Interval::Range { lo: Some((v, true)), hi: Some((v, true)) },
            Operator::Neq => Interval::Except(v),
            Operator::Gt => Interval::Range { lo: Some((v, false)), hi: None },
            Operator::Gteq => Interval::Range { lo: Some((v, true)), hi: None },
            Operator::Lt => Interval::Range { lo: None, hi: Some((v, false)) },
            _ => Interval::Range { lo: None, hi: Some((v, true)) },
        }
    }

    #[inline]
    pub(crate) fn contains(&self, x: i128) -> bool {
        match *self {
            Interval::Except(v) => x != v,
            Interval::Range { lo, hi } => {
                let above = match lo {
                    None => true,
                    Some((v, true)) => x >= v,
                    Some((v, false)) => x > v,
                };
                let below = match hi {
                    None => true,
                    Some((v, true)) => x <= v,
                    Some((v, false)) => x < v,
                };
                above && below
            }
        }
    }
}

/// How a request language is compared with the ranges of a `language` constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LangMode {
    /// Within at least one range (`eq`, `isA`, `isPartOf`, `isAnyOf`).
    AnyWithin,
    /// Within none of the ranges (`neq`, `isNoneOf`).
    NoneWithin,
    /// Within every range (`isAllOf`).
    AllWithin,
    /// The single operand is within the request language (`hasPart`: the request is broader).
    Contains,
}

/// BCP 47 basic filtering without allocation: `es-419` is within `es`; `est` is not.
#[inline]
pub(crate) fn lang_within(tag: &str, range: &str) -> bool {
    let (t, r) = (tag.as_bytes(), range.as_bytes());
    t.len() >= r.len() && t[..r.len()].eq_ignore_ascii_case(r) && (t.len() == r.len() || t[r.len()] == b'-')
}

/// The operators that make sense for an operand.
pub(crate) fn allowed_operators(left: LeftOperand) -> &'static [Operator] {
    use Operator::*;
    match left {
        LeftOperand::Spatial | LeftOperand::Purpose | LeftOperand::Language => {
            &[Eq, Neq, IsA, IsPartOf, HasPart, IsAnyOf, IsNoneOf, IsAllOf]
        }
        LeftOperand::DateTime | LeftOperand::ElapsedTime | LeftOperand::Count => &[Eq, Neq, Gt, Gteq, Lt, Lteq],
        LeftOperand::Channel | LeftOperand::Role | LeftOperand::Recipient | LeftOperand::Event => {
            &[Eq, Neq, IsAnyOf, IsNoneOf]
        }
    }
}

/// One value of a right operand with its declared datatype, if any.
struct Scalar<'a> {
    value: &'a Value,
    datatype: Option<&'a str>,
    /// JSON path of this value, for errors.
    path: String,
}

impl Scalar<'_> {
    fn text(&self) -> Option<&str> {
        self.value.as_str()
    }
}

fn scalar<'a>(v: &'a Value, path: &str) -> Result<Scalar<'a>, PolicyError> {
    match v {
        Value::String(_) | Value::Number(_) => Ok(Scalar { value: v, datatype: None, path: path.to_string() }),
        Value::Object(m) => {
            if let Some(id) = m.get("@id") {
                if m.len() != 1 || !id.is_string() {
                    return Err(PolicyError::bad_right(
                        path,
                        "an `{\"@id\": …}` right operand must hold only a string @id",
                    ));
                }
                return Ok(Scalar { value: id, datatype: None, path: path.to_string() });
            }
            let value = m.get("@value").ok_or_else(|| {
                PolicyError::bad_right(path, "an object right operand needs `@value` (with optional `@type`) or `@id`")
            })?;
            if let Some(k) = m.keys().find(|k| !matches!(k.as_str(), "@value" | "@type" | "@language")) {
                return Err(PolicyError::bad_right(path, format!("unexpected member `{k}` in a value object")));
            }
            let datatype = match m.get("@type") {
                None => None,
                Some(Value::String(t)) => Some(t.as_str()),
                Some(other) => {
                    return Err(PolicyError::bad_right(
                        path,
                        format!("`@type` must be a datatype IRI string, found {}", crate::error::kind_of(other)),
                    ));
                }
            };
            if !(value.is_string() || value.is_number()) {
                return Err(PolicyError::bad_right(path, "`@value` must be a string or a number"));
            }
            Ok(Scalar { value, datatype, path: path.to_string() })
        }
        other => Err(PolicyError::new(
            path,
            Problem::WrongType {
                expected: "a string, a number or a value object",
                found: crate::error::kind_of(other),
            },
        )),
    }
}

/// The values of a right operand: one scalar, or an array of them (JSON-LD treats both the same).
fn scalars<'a>(right: &'a Value, path: &str) -> Result<Vec<Scalar<'a>>, PolicyError> {
    match right {
        Value::Array(items) => {
            items.iter().enumerate().map(|(i, v)| scalar(v, &crate::error::index(path, i))).collect()
        }
        v => Ok(vec![scalar(v, path)?]),
    }
}

const XSD: &str = "http://www.w3.org/2001/XMLSchema#";

fn xsd_local(datatype: &str) -> Option<&str> {
    datatype.strip_prefix("xsd:").or_else(|| datatype.strip_prefix(XSD))
}

fn check_datatype(left: LeftOperand, s: &Scalar<'_>, path: &str) -> Result<(), PolicyError> {
    let Some(dt) = s.datatype else { return Ok(()) };
    let allowed: &[&str] = match left {
        LeftOperand::DateTime => &["dateTime", "dateTimeStamp", "date"],
        LeftOperand::ElapsedTime => &["duration", "dayTimeDuration"],
        LeftOperand::Count => {
            &["integer", "nonNegativeInteger", "positiveInteger", "int", "long", "unsignedInt", "unsignedLong"]
        }
        LeftOperand::Language => &["language", "string", "token"],
        _ => &["string", "anyURI", "token"],
    };
    match xsd_local(dt) {
        Some(local) if allowed.contains(&local) => Ok(()),
        _ => Err(PolicyError::bad_right(
            path,
            format!(
                "datatype `{dt}` does not fit `{}` (use one of {})",
                left.as_str(),
                allowed.iter().map(|a| format!("xsd:{a}")).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// Validates and resolves `left operator right`. `path` names the constraint; errors point at its `operator` or
/// `rightOperand` member.
pub(crate) fn compile(left: LeftOperand, op: Operator, right: &Value, path: &str) -> Result<Check, PolicyError> {
    let op_path = join(path, "operator");
    let rpath = join(path, "rightOperand");
    let allowed = allowed_operators(left);
    if !allowed.contains(&op) {
        return Err(PolicyError::new(
            &op_path,
            Problem::OperatorNotApplicable {
                operator: op.as_str(),
                operand: left.as_str(),
                allowed: allowed.iter().map(|o| o.as_str()).collect::<Vec<_>>().join(", "),
            },
        ));
    }
    let values = scalars(right, &rpath)?;
    if values.is_empty() {
        return Err(PolicyError::new(&rpath, Problem::Empty { what: "the right operand list" }));
    }
    if !op.takes_list() && values.len() != 1 {
        return Err(PolicyError::bad_right(
            &rpath,
            format!(
                "`{}` compares with one value but {} were given; for a list use isAnyOf, isAllOf or isNoneOf",
                op.as_str(),
                values.len()
            ),
        ));
    }
    for s in &values {
        check_datatype(left, s, &s.path)?;
    }
    let text = |s: &Scalar<'_>| -> Result<String, PolicyError> {
        match s.text() {
            Some(t) if !t.trim().is_empty() => Ok(t.to_string()),
            Some(_) => Err(PolicyError::bad_right(&s.path, "empty string")),
            None => Err(PolicyError::new(
                &s.path,
                Problem::WrongType { expected: "a string", found: crate::error::kind_of(s.value) },
            )),
        }
    };
    Ok(match left {
        LeftOperand::Spatial => {
            let mut sets = Vec::with_capacity(values.len());
            for s in &values {
                let t = text(s)?;
                let area = resolve_area(&t).ok_or_else(|| {
                    PolicyError::bad_right(
                        &s.path,
                        format!(
                            "`{t}` is not an ISO 3166-1 territory or a known group ({}); an IRI is read by its last \
                             segment",
                            crate::vocab::territory::GROUPS.iter().map(|g| g.name).collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?;
                sets.push(area.members());
            }
            let union = sets.iter().fold(TerritorySet::EMPTY, |acc, s| acc.union(s));
            let set = match op {
                Operator::Neq | Operator::IsNoneOf => union.complement(),
                Operator::IsAllOf => sets.iter().fold(TerritorySet::world(), |acc, s| acc.intersection(s)),
                Operator::HasPart => {
                    if union.len() != 1 {
                        return Err(PolicyError::bad_right(
                            &rpath,
                            "`hasPart` compares with the single territory of a request, so it needs one territory; \
                             for a group use isPartOf or isAnyOf",
                        ));
                    }
                    union
                }
                _ => union,
            };
            Check::Territory(set)
        }
        LeftOperand::Purpose => {
            let mut purposes = Vec::with_capacity(values.len());
            for s in &values {
                let t = text(s)?;
                purposes.push(Purpose::parse(&t).ok_or_else(|| {
                    PolicyError::bad_right(&s.path, format!("`{t}` is not a purpose (known: {})", Purpose::known()))
                })?);
            }
            let narrower = purposes.iter().fold(0, |m, p| m | p.narrower_or_self());
            Check::Purpose(match op {
                Operator::Eq => purposes[0].bit(),
                Operator::Neq => Purpose::universe() & !purposes[0].bit(),
                Operator::HasPart => purposes[0].broader_or_self(),
                Operator::IsNoneOf => Purpose::universe() & !narrower,
                Operator::IsAllOf => purposes.iter().fold(Purpose::universe(), |m, p| m & p.narrower_or_self()),
                _ => narrower,
            })
        }
        LeftOperand::Channel => {
            let mut mask = 0;
            for s in &values {
                let t = text(s)?;
                let c = Channel::parse(&t).ok_or_else(|| {
                    PolicyError::bad_right(
                        &s.path,
                        format!("`{t}` is not an Avails license type (known: {})", Channel::known()),
                    )
                })?;
                mask |= c.bit();
            }
            Check::Channel(if matches!(op, Operator::Neq | Operator::IsNoneOf) {
                Channel::universe() & !mask
            } else {
                mask
            })
        }
        LeftOperand::Role => {
            let mut mask = 0;
            for s in &values {
                let t = text(s)?;
                let r = Role::parse(&t).ok_or_else(|| {
                    PolicyError::bad_right(
                        &rpath,
                        format!("`{t}` is not a participant role (known: {})", Role::known()),
                    )
                })?;
                mask |= r.bit();
            }
            Check::Role(if matches!(op, Operator::Neq | Operator::IsNoneOf) { Role::universe() & !mask } else { mask })
        }
        LeftOperand::DateTime => {
            let t = text(&values[0])?;
            let at = lexical::parse_datetime(&t).map_err(|e| PolicyError::bad_right(&values[0].path, e))?;
            Check::Instant(Interval::from_operator(op, at.unix_timestamp_nanos()))
        }
        LeftOperand::ElapsedTime => {
            let t = text(&values[0])?;
            let d = lexical::parse_duration(&t).map_err(|e| PolicyError::bad_right(&values[0].path, e))?;
            Check::Elapsed(Interval::from_operator(op, d.whole_nanoseconds()))
        }
        LeftOperand::Count => {
            let s = &values[0];
            let n = match s.value {
                Value::Number(n) => n.as_u64(),
                Value::String(t) if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) => t.parse::<u64>().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                PolicyError::bad_right(
                    &s.path,
                    format!("count needs a non-negative whole number, found {}", crate::error::kind_of(s.value)),
                )
            })?;
            Check::Count(Interval::from_operator(op, n as i128))
        }
        LeftOperand::Language => {
            let mut ranges = Vec::with_capacity(values.len());
            for s in &values {
                let t = text(s)?;
                ranges.push(LanguageTag::parse(&t).map_err(|e| PolicyError::bad_right(&s.path, e.to_string()))?);
            }
            let mode = match op {
                Operator::Neq | Operator::IsNoneOf => LangMode::NoneWithin,
                Operator::IsAllOf => LangMode::AllWithin,
                Operator::HasPart => LangMode::Contains,
                _ => LangMode::AnyWithin,
            };
            Check::Language { ranges, mode }
        }
        LeftOperand::Recipient | LeftOperand::Event => {
            let mut items = Vec::with_capacity(values.len());
            for s in &values {
                let t = text(s)?;
                if t.chars().any(char::is_whitespace) {
                    return Err(PolicyError::bad_right(
                        &s.path,
                        format!("`{t}` contains whitespace; {} values are identifiers", left.as_str()),
                    ));
                }
                items.push(t);
            }
            items.sort();
            items.dedup();
            let negate = matches!(op, Operator::Neq | Operator::IsNoneOf);
            if left == LeftOperand::Recipient {
                Check::Recipient { values: items, negate }
            } else {
                Check::Event { values: items, negate }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(left: LeftOperand, op: Operator, right: Value) -> Result<Check, PolicyError> {
        compile(left, op, &right, "permission[0].constraint[1]")
    }

    #[test]
    fn language_ranges_match_like_the_media_crate() {
        assert!(lang_within("es-419", "es"));
        assert!(lang_within("es", "es"));
        assert!(lang_within("ES-419", "es"));
        assert!(!lang_within("est", "es"));
        assert!(!lang_within("es", "es-419"));
        for (tag, range) in [("es-419", "es"), ("est", "es"), ("zh-Hant-TW", "zh-Hant"), ("fr", "fr-CA")] {
            let (t, r) = (LanguageTag::parse(tag).unwrap(), LanguageTag::parse(range).unwrap());
            assert_eq!(lang_within(t.as_str(), r.as_str()), t.matches_range(&r), "{tag} / {range}");
        }
    }

    #[test]
    fn errors_name_the_member() {
        let e = c(LeftOperand::Spatial, Operator::Eq, json!("XX")).unwrap_err();
        assert_eq!(e.path, "permission[0].constraint[1].rightOperand");
        assert!(e.to_string().contains("`XX` is not an ISO 3166-1 territory or a known group (WORLD, EU, EEA"), "{e}");
        let e = c(LeftOperand::Spatial, Operator::Gt, json!("FR")).unwrap_err();
        assert_eq!(e.path, "permission[0].constraint[1].operator");
        assert!(e.to_string().contains("`gt` does not apply to `spatial`"));
        let e = c(LeftOperand::Spatial, Operator::Eq, json!(["FR", "DE"])).unwrap_err();
        assert!(e.to_string().contains("use isAnyOf"));
        let e = c(LeftOperand::Spatial, Operator::IsAnyOf, json!([])).unwrap_err();
        assert!(e.to_string().contains("must not be empty"));
        let e = c(LeftOperand::Spatial, Operator::IsAnyOf, json!(["FR", 3])).unwrap_err();
        assert_eq!(e.path, "permission[0].constraint[1].rightOperand[1]");
    }

    #[test]
    fn right_operand_shapes() {
        assert!(
            c(LeftOperand::DateTime, Operator::Lt, json!({"@value": "2026-01-01T00:00:00Z", "@type": "xsd:dateTime"}))
                .is_ok()
        );
        let e =
            c(LeftOperand::DateTime, Operator::Lt, json!({"@value": "2026-01-01T00:00:00Z", "@type": "xsd:integer"}))
                .unwrap_err();
        assert!(e.to_string().contains("does not fit `dateTime`"));
        assert!(c(LeftOperand::Spatial, Operator::Eq, json!({"@id": "http://example.org/EU"})).is_ok());
        assert!(c(LeftOperand::Spatial, Operator::Eq, json!({"@id": "x", "y": 1})).is_err());
        assert!(c(LeftOperand::Count, Operator::Lteq, json!(5)).is_ok());
        assert!(c(LeftOperand::Count, Operator::Lteq, json!("5")).is_ok());
        assert!(c(LeftOperand::Count, Operator::Lteq, json!(-1)).unwrap_err().to_string().contains("non-negative"));
        assert!(c(LeftOperand::Count, Operator::Lteq, json!(1.5)).is_err());
        assert!(c(LeftOperand::Recipient, Operator::Eq, json!("did:web:a b")).is_err());
        assert!(c(LeftOperand::Channel, Operator::Eq, json!("SVDO")).unwrap_err().to_string().contains("SVOD"));
        assert!(c(LeftOperand::Language, Operator::Eq, json!("not a tag!")).is_err());
        assert!(c(LeftOperand::Spatial, Operator::HasPart, json!("EU")).is_err());
        assert!(c(LeftOperand::Spatial, Operator::HasPart, json!("FR")).is_ok());
        assert!(c(LeftOperand::Spatial, Operator::Eq, json!(true)).is_err());
        assert!(c(LeftOperand::Spatial, Operator::Eq, json!("")).is_err());
    }

    #[test]
    fn intervals() {
        let lt = Interval::from_operator(Operator::Lt, 10);
        assert!(lt.contains(9) && !lt.contains(10));
        let lteq = Interval::from_operator(Operator::Lteq, 10);
        assert!(lteq.contains(10) && !lteq.contains(11));
        let gt = Interval::from_operator(Operator::Gt, 10);
        assert!(gt.contains(11) && !gt.contains(10));
        let gteq = Interval::from_operator(Operator::Gteq, 10);
        assert!(gteq.contains(10) && !gteq.contains(9));
        let eq = Interval::from_operator(Operator::Eq, 10);
        assert!(eq.contains(10) && !eq.contains(9) && !eq.contains(11));
        let neq = Interval::from_operator(Operator::Neq, 10);
        assert!(!neq.contains(10) && neq.contains(9));
    }
}
