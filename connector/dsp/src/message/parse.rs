//! Reading an incoming DSP message body, with errors that tell the sender what to fix.
//!
//! The checks run from the outside in (JSON at all, an object, `@context`,
//! `@type`, then the members) so the first reason reported is the most useful one.
//! Members this crate does not know are ignored, as JSON-LD consumers must.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Context, DSPACE_CONTEXT, DspMessage};

/// Why a request body is not the expected DSP message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    #[error("the request body is empty: send a `{expected}` JSON object")]
    Empty { expected: &'static str },
    #[error("the request body is not JSON ({detail}): send a `{expected}` JSON object")]
    NotJson { expected: &'static str, detail: String },
    #[error("the request body is JSON but not an object: send a `{expected}` JSON object")]
    NotObject { expected: &'static str },
    #[error("`@context` is missing: add \"@context\": [\"{DSPACE_CONTEXT}\"]")]
    MissingContext,
    #[error("`@context` is not usable: {0}")]
    BadContext(String),
    #[error("`@context` does not include the DSP 2025-1 context: add \"{DSPACE_CONTEXT}\" to it")]
    ContextWithoutDsp,
    #[error("`@type` is missing: this endpoint expects \"@type\": \"{expected}\"")]
    MissingType { expected: &'static str },
    #[error("`@type` is `{found}` but this endpoint expects `{expected}` (compact form, as in the DSP context)")]
    WrongType { expected: &'static str, found: String },
    #[error("`{expected}` has an invalid member: {detail}")]
    InvalidMember { expected: &'static str, detail: String },
}

/// Parses `body` as the message `T`, checking `@context` and `@type` first.
pub fn parse_message<T: DspMessage + DeserializeOwned>(body: &[u8]) -> Result<T, MessageError> {
    let expected = T::TYPE;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(MessageError::Empty { expected });
    }
    let value: Value =
        serde_json::from_slice(body).map_err(|e| MessageError::NotJson { expected, detail: e.to_string() })?;
    let object = value.as_object().ok_or(MessageError::NotObject { expected })?;
    let context = object.get("@context").ok_or(MessageError::MissingContext)?;
    let context: Context =
        serde_json::from_value(context.clone()).map_err(|e| MessageError::BadContext(e.to_string()))?;
    if !context.includes_dsp() {
        return Err(MessageError::ContextWithoutDsp);
    }
    match object.get("@type") {
        None => return Err(MessageError::MissingType { expected }),
        Some(Value::String(found)) if found == expected => {}
        Some(Value::String(found)) => return Err(MessageError::WrongType { expected, found: found.clone() }),
        Some(other) => return Err(MessageError::WrongType { expected, found: other.to_string() }),
    }
    let message: T =
        serde_json::from_value(value).map_err(|e| MessageError::InvalidMember { expected, detail: e.to_string() })?;
    message.check().map_err(|detail| MessageError::InvalidMember { expected, detail })?;
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::catalog::{CatalogRequestMessage, DatasetRequestMessage};

    fn parse(body: &str) -> Result<CatalogRequestMessage, MessageError> {
        parse_message::<CatalogRequestMessage>(body.as_bytes())
    }

    #[test]
    fn reads_the_official_shape_and_ignores_unknown_members() {
        let m = parse(&format!(
            r#"{{"@context":["{DSPACE_CONTEXT}"],"@type":"CatalogRequestMessage","filter":[],"x-extra":{{"a":1}}}}"#
        ))
        .unwrap();
        assert!(m.filter.is_empty());
        assert!(m.context.includes_dsp());
    }

    #[test]
    fn each_defect_gets_its_own_reason() {
        assert!(matches!(parse("  "), Err(MessageError::Empty { .. })));
        assert!(matches!(parse("{nope"), Err(MessageError::NotJson { .. })));
        assert!(matches!(parse("[1]"), Err(MessageError::NotObject { .. })));
        assert_eq!(parse(r#"{"@type":"CatalogRequestMessage"}"#), Err(MessageError::MissingContext));
        assert!(matches!(parse(r#"{"@context":7,"@type":"CatalogRequestMessage"}"#), Err(MessageError::BadContext(_))));
        assert_eq!(
            parse(r#"{"@context":["https://example.org/other.jsonld"],"@type":"CatalogRequestMessage"}"#),
            Err(MessageError::ContextWithoutDsp)
        );
        let ctx = format!(r#""@context":["{DSPACE_CONTEXT}"]"#);
        assert!(matches!(parse(&format!("{{{ctx}}}")), Err(MessageError::MissingType { .. })));
        assert_eq!(
            parse(&format!(r#"{{{ctx},"@type":"DatasetRequestMessage"}}"#)),
            Err(MessageError::WrongType { expected: "CatalogRequestMessage", found: "DatasetRequestMessage".into() })
        );
        assert!(matches!(parse(&format!(r#"{{{ctx},"@type":["x"]}}"#)), Err(MessageError::WrongType { .. })));
        let err = parse(&format!(r#"{{{ctx},"@type":"CatalogRequestMessage","filter":"all"}}"#)).unwrap_err();
        assert!(matches!(err, MessageError::InvalidMember { .. }));
        assert!(err.to_string().contains("invalid type"), "{err}");
    }

    #[test]
    fn required_members_are_reported() {
        let body = format!(r#"{{"@context":["{DSPACE_CONTEXT}"],"@type":"DatasetRequestMessage"}}"#);
        let err = parse_message::<DatasetRequestMessage>(body.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("missing field `dataset`"), "{err}");
    }
}
