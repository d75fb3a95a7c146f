//! Our JSON-LD context for media terms (`context/media.jsonld`).
//!
//! It maps the members of [`crate::message::media`] onto DCT/DCAT, schema.org,
//! EBUCore and MovieLabs MDDF IRIs so that a catalogue can read a dataset as RDF.
//!
//! Where it lives — a decision: datasets reference it as
//! `<protocol_base_url>/context/media.jsonld`, served by every connector from
//! the copy embedded in this crate, rather than under a stable IRI of ours.
//! A stable IRI would need a host we control and keep alive (w3id.org or a
//! domain); without one, JSON-LD processors could not dereference it and every
//! consumer would need a pre-loaded copy. The provider-served URL always
//! resolves for whoever can read the catalog. Because the document is the same
//! in every connector and its terms expand to absolute vocabulary IRIs, the RDF
//! a catalogue derives is identical whichever provider's copy it loaded;
//! consumers may cache it by content. Should a stable IRI become available, only
//! [`media_context_url`] changes.
//!
//! The context is `@protected`, and none of its terms is one the DSP context or
//! its ODRL profile defines, so it never conflicts with them (a protected term
//! redefined by a type-scoped DSP context would be a JSON-LD error). DCT, DCAT
//! and XSD IRIs are written out in full so that the document also works alone.

/// The context document, as served.
pub const MEDIA_CONTEXT: &str = include_str!("../context/media.jsonld");

/// Path under the protocol base URL where [`MEDIA_CONTEXT`] is served.
pub const MEDIA_CONTEXT_PATH: &str = "/context/media.jsonld";

/// The IRI datasets use to reference the media context.
pub fn media_context_url(protocol_base_url: &str) -> String {
    format!("{}{MEDIA_CONTEXT_PATH}", protocol_base_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn context_is_json_ld_1_1_and_protected() {
        let doc: Value = serde_json::from_str(MEDIA_CONTEXT).unwrap();
        let ctx = doc["@context"].as_object().unwrap();
        assert_eq!(ctx["@version"], 1.1);
        assert_eq!(ctx["@protected"], true);
    }

    #[test]
    fn no_term_collides_with_the_dsp_or_odrl_contexts() {
        let ours: Value = serde_json::from_str(MEDIA_CONTEXT).unwrap();
        let spec = crate::test_support::spec_dir().join("context");
        let mut theirs = std::collections::BTreeSet::new();
        for file in ["dspace.jsonld", "odrl.jsonld"] {
            let text = std::fs::read_to_string(spec.join(file)).unwrap();
            let doc: Value = serde_json::from_str(&text).unwrap();
            collect_terms(&doc["@context"], &mut theirs);
        }
        let clashes: Vec<&String> = ours["@context"]
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.starts_with('@') && theirs.contains(*k))
            .collect();
        assert!(clashes.is_empty(), "terms also defined by DSP/ODRL: {clashes:?}");
    }

    fn collect_terms(ctx: &Value, into: &mut std::collections::BTreeSet<String>) {
        if let Some(map) = ctx.as_object() {
            for (term, def) in map {
                into.insert(term.clone());
                if let Some(scoped) = def.get("@context") {
                    collect_terms(scoped, into);
                }
            }
        }
    }

    #[test]
    fn url_is_under_the_protocol_base() {
        assert_eq!(media_context_url("http://127.0.0.1:8181/"), "http://127.0.0.1:8181/context/media.jsonld");
    }
}
