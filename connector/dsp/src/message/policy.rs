//! The ODRL policies carried by negotiation messages: an offer with its target,
//! and an agreement.
//!
//! Their ODRL content stays a `serde_json::Value` (the policy crate reads and
//! evaluates it); this module only enforces what the DSP prose requires and
//! the schemas do not check: an offer and an agreement have an `@id`, an offer
//! sent in a message names its `target`, an agreement carries `timestamp`,
//! `assigner` and `assignee`, and no rule carries its own `target`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, PrimitiveDateTime};

/// Why a policy object is not the offer or agreement a message needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyShapeError {
    #[error("`{what}` must be a JSON object (an ODRL {kind}), found `{found}`")]
    NotAnObject { what: &'static str, kind: &'static str, found: String },
    #[error("`{what}` has no `@id`: give the {kind} its identifier, e.g. \"urn:uuid:…\"")]
    MissingId { what: &'static str, kind: &'static str },
    #[error("`{what}.@type` must be `{expected}`, found `{found}`")]
    WrongType { what: &'static str, expected: &'static str, found: String },
    #[error("`{what}` has no `{member}`: {hint}")]
    MissingMember { what: &'static str, member: &'static str, hint: &'static str },
    #[error(
        "`{what}.{rules}` has a rule with its own `target`: DSP forbids targets inside rules, keep only `{what}.target`"
    )]
    RuleWithTarget { what: &'static str, rules: &'static str },
    #[error("`{what}.timestamp` is `{found}`, not an XSD dateTime: use e.g. \"2025-03-01T12:00:00Z\"")]
    BadTimestamp { what: &'static str, found: String },
}

const OFFER: &str = "offer";
const AGREEMENT: &str = "agreement";

/// An ODRL Offer as sent in a ContractRequestMessage or ContractOfferMessage.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageOffer(Value);

impl MessageOffer {
    /// Checks `value` against the DSP rules for offers in messages.
    pub fn new(value: Value) -> Result<Self, PolicyShapeError> {
        let object = as_object(&value, OFFER, "Offer")?;
        required_id(object, OFFER, "Offer")?;
        optional_type(object, OFFER, "Offer")?;
        required_string(
            object,
            OFFER,
            "target",
            "an offer sent in a message must name the dataset it is about in `target`",
        )?;
        no_rule_targets(object, OFFER)?;
        Ok(MessageOffer(value))
    }

    /// The offer's `@id`.
    pub fn id(&self) -> &str {
        member_str(&self.0, "@id")
    }

    /// The dataset the offer is about.
    pub fn target(&self) -> &str {
        member_str(&self.0, "target")
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }

    pub fn into_value(self) -> Value {
        self.0
    }
}

/// An ODRL Agreement as sent in a ContractAgreementMessage.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement(Value);

impl Agreement {
    /// Checks `value` against the DSP rules for agreements.
    pub fn new(value: Value) -> Result<Self, PolicyShapeError> {
        let object = as_object(&value, AGREEMENT, "Agreement")?;
        required_id(object, AGREEMENT, "Agreement")?;
        optional_type(object, AGREEMENT, "Agreement")?;
        required_string(object, AGREEMENT, "target", "an agreement must name the dataset it is about")?;
        required_string(object, AGREEMENT, "assigner", "name the provider's participant id")?;
        required_string(object, AGREEMENT, "assignee", "name the consumer's participant id")?;
        let timestamp = required_string(
            object,
            AGREEMENT,
            "timestamp",
            "an agreement must say when it was made, as an XSD dateTime",
        )?;
        if !is_xsd_date_time(timestamp) {
            return Err(PolicyShapeError::BadTimestamp { what: AGREEMENT, found: timestamp.to_string() });
        }
        no_rule_targets(object, AGREEMENT)?;
        Ok(Agreement(value))
    }

    /// The agreement's `@id`.
    pub fn id(&self) -> &str {
        member_str(&self.0, "@id")
    }

    /// The dataset the agreement is about.
    pub fn target(&self) -> &str {
        member_str(&self.0, "target")
    }

    pub fn assigner(&self) -> &str {
        member_str(&self.0, "assigner")
    }

    pub fn assignee(&self) -> &str {
        member_str(&self.0, "assignee")
    }

    pub fn timestamp(&self) -> &str {
        member_str(&self.0, "timestamp")
    }

    pub fn as_value(&self) -> &Value {
        &self.0
    }

    pub fn into_value(self) -> Value {
        self.0
    }
}

/// True for an XSD `dateTime`: date, time, optional fraction, optional offset.
pub fn is_xsd_date_time(text: &str) -> bool {
    let local = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
    // RFC 3339 parsers also take a space or `t` between date and time; XSD wants `T`.
    if text.contains([' ', 't']) {
        return false;
    }
    OffsetDateTime::parse(text, &Rfc3339).is_ok() || PrimitiveDateTime::parse(text, local).is_ok()
}

// Only called on values the constructors checked, so the member is a string.
fn member_str<'a>(value: &'a Value, name: &str) -> &'a str {
    value.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn as_object<'a>(
    value: &'a Value,
    what: &'static str,
    kind: &'static str,
) -> Result<&'a Map<String, Value>, PolicyShapeError> {
    value.as_object().ok_or_else(|| PolicyShapeError::NotAnObject { what, kind, found: excerpt(value) })
}

fn required_id(object: &Map<String, Value>, what: &'static str, kind: &'static str) -> Result<(), PolicyShapeError> {
    match object.get("@id").and_then(Value::as_str) {
        Some(id) if !id.trim().is_empty() => Ok(()),
        _ => Err(PolicyShapeError::MissingId { what, kind }),
    }
}

/// `@type` may be left out (the message member implies it) but must not name another class.
fn optional_type(
    object: &Map<String, Value>,
    what: &'static str,
    expected: &'static str,
) -> Result<(), PolicyShapeError> {
    match object.get("@type") {
        None => Ok(()),
        Some(Value::String(t)) if t == expected => Ok(()),
        Some(other) => Err(PolicyShapeError::WrongType { what, expected, found: excerpt(other) }),
    }
}

fn required_string<'a>(
    object: &'a Map<String, Value>,
    what: &'static str,
    member: &'static str,
    hint: &'static str,
) -> Result<&'a str, PolicyShapeError> {
    match object.get(member).and_then(Value::as_str) {
        Some(text) if !text.trim().is_empty() => Ok(text),
        _ => Err(PolicyShapeError::MissingMember { what, member, hint }),
    }
}

fn no_rule_targets(object: &Map<String, Value>, what: &'static str) -> Result<(), PolicyShapeError> {
    for rules in ["permission", "prohibition", "obligation"] {
        let has_target = match object.get(rules) {
            Some(Value::Array(items)) => items.iter().any(|rule| rule.get("target").is_some()),
            Some(rule @ Value::Object(_)) => rule.get("target").is_some(),
            _ => false,
        };
        if has_target {
            return Err(PolicyShapeError::RuleWithTarget { what, rules });
        }
    }
    Ok(())
}

fn excerpt(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

macro_rules! value_newtype_serde {
    ($name:ident) => {
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(s)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $name::new(Value::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    };
}

value_newtype_serde!(MessageOffer);
value_newtype_serde!(Agreement);

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn offer() -> Value {
        json!({"@id": "urn:uuid:o1", "@type": "Offer", "target": "urn:d:1", "permission": [{"action": "use"}]})
    }

    fn agreement() -> Value {
        json!({"@id": "urn:uuid:a1", "@type": "Agreement", "target": "urn:d:1", "assigner": "did:web:p",
               "assignee": "did:web:c", "timestamp": "2025-03-01T12:00:00Z", "permission": [{"action": "use"}]})
    }

    fn without(mut value: Value, member: &str) -> Value {
        value.as_object_mut().unwrap().remove(member);
        value
    }

    #[test]
    fn a_complete_offer_is_kept_as_is() {
        let o = MessageOffer::new(offer()).unwrap();
        assert_eq!((o.id(), o.target()), ("urn:uuid:o1", "urn:d:1"));
        assert_eq!(o.as_value(), &offer());
        assert!(MessageOffer::new(without(offer(), "@type")).is_ok(), "@type may be implied");
    }

    #[test]
    fn offers_without_id_or_target_or_with_rule_targets_are_refused() {
        assert!(matches!(MessageOffer::new(without(offer(), "@id")), Err(PolicyShapeError::MissingId { .. })));
        let err = MessageOffer::new(without(offer(), "target")).unwrap_err();
        assert!(err.to_string().contains("`offer` has no `target`"), "{err}");
        let mut o = offer();
        o["permission"][0]["target"] = json!("urn:d:2");
        assert!(matches!(MessageOffer::new(o), Err(PolicyShapeError::RuleWithTarget { rules: "permission", .. })));
        let mut o = offer();
        o["@type"] = json!("Agreement");
        assert!(matches!(MessageOffer::new(o), Err(PolicyShapeError::WrongType { .. })));
        assert!(matches!(MessageOffer::new(json!("urn:uuid:o1")), Err(PolicyShapeError::NotAnObject { .. })));
        assert!(matches!(
            MessageOffer::new(json!({"@id": " ", "target": "t"})),
            Err(PolicyShapeError::MissingId { .. })
        ));
    }

    #[test]
    fn agreements_need_timestamp_parties_and_target() {
        let a = Agreement::new(agreement()).unwrap();
        assert_eq!(
            (a.id(), a.target(), a.assigner(), a.assignee()),
            ("urn:uuid:a1", "urn:d:1", "did:web:p", "did:web:c")
        );
        assert_eq!(a.timestamp(), "2025-03-01T12:00:00Z");
        for member in ["timestamp", "target", "assigner", "assignee"] {
            let err = Agreement::new(without(agreement(), member)).unwrap_err();
            assert!(err.to_string().contains(&format!("no `{member}`")), "{err}");
        }
        let mut a = agreement();
        a["timestamp"] = json!("yesterday");
        assert!(matches!(Agreement::new(a), Err(PolicyShapeError::BadTimestamp { .. })));
        let mut a = agreement();
        a["obligation"] = json!({"action": "delete", "target": "urn:d:9"});
        assert!(matches!(Agreement::new(a), Err(PolicyShapeError::RuleWithTarget { rules: "obligation", .. })));
    }

    #[test]
    fn xsd_date_times_with_and_without_offset() {
        for ok in
            ["2023-01-01T01:00:00Z", "2023-01-01T01:00:00.123+02:00", "2023-01-01T01:00:00", "2023-01-01T01:00:00.5"]
        {
            assert!(is_xsd_date_time(ok), "{ok}");
        }
        for bad in ["2023-01-01", "01:00:00", "2023-13-01T01:00:00Z", "2023-01-01 01:00:00Z", ""] {
            assert!(!is_xsd_date_time(bad), "{bad}");
        }
    }

    #[test]
    fn deserializing_applies_the_checks_and_serializing_gives_the_value_back() {
        let parsed: MessageOffer = serde_json::from_value(offer()).unwrap();
        assert_eq!(serde_json::to_value(&parsed).unwrap(), offer());
        let err = serde_json::from_value::<Agreement>(without(agreement(), "timestamp")).unwrap_err();
        assert!(err.to_string().contains("timestamp"), "{err}");
    }
}
