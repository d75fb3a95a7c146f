//! Helpers for this crate's unit tests.

use std::path::PathBuf;

use serde_json::Value;

use crate::media_context::MEDIA_CONTEXT;
use crate::message::DSPACE_CONTEXT;

/// `shared/spec/dsp-2025-1`, found beside the repository root.
pub fn spec_dir() -> PathBuf {
    match crate::schema::dsp_spec_dir() {
        Ok(dir) => dir,
        Err(e) => panic!("{e}"),
    }
}

/// Prefix given to terms no context defines, so that they show up instead of being dropped.
pub const UNMAPPED: &str = "urn:unmapped:";

/// Converts a JSON-LD document to RDF with a real JSON-LD 1.1 processor, the DSP
/// and media contexts loaded offline. Returns `(predicate, object)` pairs.
///
/// A final `{"@vocab": UNMAPPED}` context is appended: JSON-LD silently drops
/// members whose names no context defines, so without it a typo in a term would
/// go unnoticed; with it such a member becomes a predicate under [`UNMAPPED`].
pub fn to_rdf(doc: &Value, media_context_url: &str) -> Result<Vec<(String, String)>, String> {
    let mut doc = doc.clone();
    let object = doc.as_object_mut().ok_or("not an object")?;
    let mut context = object.get("@context").and_then(Value::as_array).cloned().ok_or("no @context array")?;
    context.push(serde_json::json!({ "@vocab": UNMAPPED }));
    object.insert("@context".into(), Value::Array(context));
    let bytes = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;

    let spec = spec_dir().join("context");
    let dsp = std::fs::read(spec.join("dspace.jsonld")).map_err(|e| e.to_string())?;
    let odrl = std::fs::read(spec.join("odrl.jsonld")).map_err(|e| e.to_string())?;
    let media_url = media_context_url.to_string();
    let parser = oxjsonld::JsonLdParser::new().for_slice(&bytes).with_load_document_callback(move |url, _| {
        let document = if url == DSPACE_CONTEXT {
            dsp.clone()
        } else if url == "https://w3id.org/dspace/2025/1/odrl-profile.jsonld" {
            odrl.clone()
        } else if url == media_url {
            MEDIA_CONTEXT.as_bytes().to_vec()
        } else {
            return Err(format!("no offline copy of {url}").into());
        };
        Ok(oxjsonld::JsonLdRemoteDocument { document, document_url: url.to_string() })
    });
    let mut triples = Vec::new();
    for quad in parser {
        let quad = quad.map_err(|e| e.to_string())?;
        triples.push((quad.predicate.as_str().to_string(), quad.object.to_string()));
    }
    Ok(triples)
}
