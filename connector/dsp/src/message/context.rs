//! The `@context` member of DSP messages.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// The DSP 2025-1 JSON-LD context every message must reference.
pub const DSPACE_CONTEXT: &str = "https://w3id.org/dspace/2025/1/context.jsonld";

/// A JSON-LD `@context`: an ordered list of context references (IRIs) or inline contexts.
///
/// The DSP schemas require an array of strings containing [`DSPACE_CONTEXT`];
/// on input a single string is accepted too (it is the same context in JSON-LD),
/// and whether the DSP context is present is checked by [`Context::includes_dsp`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context(Vec<Value>);

impl Context {
    /// `["https://w3id.org/dspace/2025/1/context.jsonld"]`.
    pub fn dsp() -> Self {
        Context(vec![Value::String(DSPACE_CONTEXT.to_string())])
    }

    /// The DSP context followed by further context IRIs (ours for media terms).
    pub fn dsp_with<I, S>(extra: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut entries = Self::dsp().0;
        entries.extend(extra.into_iter().map(|s| Value::String(s.into())));
        Context(entries)
    }

    pub fn entries(&self) -> &[Value] {
        &self.0
    }

    /// True when the DSP 2025-1 context is referenced, so the compact terms mean what DSP says.
    pub fn includes_dsp(&self) -> bool {
        self.0.iter().any(|e| e.as_str() == Some(DSPACE_CONTEXT))
    }
}

impl Serialize for Context {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Array(items) => {
                if let Some(bad) = items.iter().find(|i| !(i.is_string() || i.is_object())) {
                    return Err(serde::de::Error::custom(format!(
                        "`@context` entries must be context IRIs (strings) or objects, found `{bad}`"
                    )));
                }
                Ok(Context(items))
            }
            one @ (Value::String(_) | Value::Object(_)) => Ok(Context(vec![one])),
            other => Err(serde::de::Error::custom(format!(
                "`@context` must be an array of context IRIs such as [\"{DSPACE_CONTEXT}\"], found `{other}`"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_array_and_single_string() {
        let c: Context = serde_json::from_value(json!([DSPACE_CONTEXT, "https://x/ctx.jsonld"])).unwrap();
        assert!(c.includes_dsp());
        let c: Context = serde_json::from_value(json!(DSPACE_CONTEXT)).unwrap();
        assert!(c.includes_dsp());
        assert_eq!(serde_json::to_value(&c).unwrap(), json!([DSPACE_CONTEXT]));
    }

    #[test]
    fn refuses_numbers_and_reports_missing_dsp() {
        let err = serde_json::from_value::<Context>(json!(42)).unwrap_err().to_string();
        assert!(err.contains("must be an array"), "{err}");
        let err = serde_json::from_value::<Context>(json!(["a", 1])).unwrap_err().to_string();
        assert!(err.contains("entries must be"), "{err}");
        let c: Context = serde_json::from_value(json!(["https://www.w3.org/ns/odrl.jsonld"])).unwrap();
        assert!(!c.includes_dsp());
    }

    #[test]
    fn dsp_with_keeps_order() {
        let c = Context::dsp_with(["http://p/context/media.jsonld"]);
        assert_eq!(serde_json::to_value(&c).unwrap(), json!([DSPACE_CONTEXT, "http://p/context/media.jsonld"]));
    }
}
