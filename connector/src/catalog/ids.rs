//! Dataset and offer ids: stable, URL-safe, reversible.
//!
//! Scheme (documented for peers and operators):
//! - work dataset: `work:<escaped work id>` (e.g. `work:md:cid:org:acme:1234`)
//! - collection dataset: `collection:<offer definition id>`
//! - service dataset: `service:<service id>` (a lab's subtitling service, `crate::services`)
//! - offer of a service: `urn:passerelle:service-offer:<service id>`
//! - offer from a definition: `urn:passerelle:offer:<definition id>:<dataset id>`
//! - offer from a rights window: `urn:passerelle:window:<escaped window id>`
//!
//! Escaping keeps `A-Z a-z 0-9 - . _ :` and writes every other byte as `~XX`
//! (upper-case hex; `~` itself becomes `~7E`). The result uses only characters
//! allowed unencoded in a URL path segment and in a query value, so a dataset id can
//! be put in `GET /dsp/2025-1/catalog/datasets/{id}` as is; and the escaping is a
//! bijection, so the id leads straight back to the work without a lookup table.
//! The same id always names the same work, across restarts and re-imports.

const WORK_PREFIX: &str = "work:";
const COLLECTION_PREFIX: &str = "collection:";
const SERVICE_PREFIX: &str = "service:";
const SERVICE_OFFER_PREFIX: &str = "urn:passerelle:service-offer:";
const DEFINITION_OFFER_PREFIX: &str = "urn:passerelle:offer:";
const WINDOW_OFFER_PREFIX: &str = "urn:passerelle:window:";

/// What a dataset id points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetRef {
    Work(String),
    Collection(String),
    Service(String),
}

fn keep(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':')
}

/// Escapes an id from the source into URL-safe characters.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw.as_bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("~{b:02X}"));
        }
    }
    out
}

/// Reverses [`escape`]; `None` for text that [`escape`] cannot have produced.
pub fn unescape(escaped: &str) -> Option<String> {
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'~' => {
                let hex = escaped.get(i + 1..i + 3)?;
                if !hex.bytes().all(|c| c.is_ascii_digit() || (b'A'..=b'F').contains(&c)) {
                    return None;
                }
                let b = u8::from_str_radix(hex, 16).ok()?;
                if keep(b) {
                    return None; // never escaped by `escape`: a second spelling of the same id
                }
                out.push(b);
                i += 3;
            }
            b if keep(b) => {
                out.push(b);
                i += 1;
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// The dataset id of a work.
pub fn work_dataset_id(work_id: &str) -> String {
    format!("{WORK_PREFIX}{}", escape(work_id))
}

/// The dataset id of an offer definition's collection.
pub fn collection_dataset_id(definition_id: &str) -> String {
    format!("{COLLECTION_PREFIX}{}", escape(definition_id))
}

/// Reads a dataset id back; `None` when it is not one of ours.
pub fn parse_dataset_id(id: &str) -> Option<DatasetRef> {
    if let Some(rest) = id.strip_prefix(WORK_PREFIX) {
        return unescape(rest).filter(|s| !s.is_empty()).map(DatasetRef::Work);
    }
    if let Some(rest) = id.strip_prefix(COLLECTION_PREFIX) {
        return unescape(rest).filter(|s| !s.is_empty()).map(DatasetRef::Collection);
    }
    if let Some(rest) = id.strip_prefix(SERVICE_PREFIX) {
        return unescape(rest).filter(|s| !s.is_empty()).map(DatasetRef::Service);
    }
    None
}

/// The dataset id of a service.
pub fn service_dataset_id(service_id: &str) -> String {
    format!("{SERVICE_PREFIX}{}", escape(service_id))
}

/// The offer of a service (one per service: its policy).
pub fn service_offer_id(service_id: &str) -> String {
    format!("{SERVICE_OFFER_PREFIX}{}", escape(service_id))
}

/// The offer made by definition `definition_id` on dataset `dataset_id` (unique per pair).
pub fn definition_offer_id(definition_id: &str, dataset_id: &str) -> String {
    format!("{DEFINITION_OFFER_PREFIX}{}:{dataset_id}", escape(definition_id))
}

/// The offer expressing one rights window.
pub fn window_offer_id(window_id: &str) -> String {
    format!("{WINDOW_OFFER_PREFIX}{}", escape(window_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_is_reversible_and_url_safe() {
        for raw in ["md:cid:org:acme:1234", "10.5240/AD07-310C-C59D-6785-C63A-G", "a b~c/é?#%&=+", "x"] {
            let e = escape(raw);
            assert!(e.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:~".contains(&b)), "{e}");
            assert_eq!(unescape(&e).as_deref(), Some(raw));
        }
        assert_eq!(escape("10.5240/AD07"), "10.5240~2FAD07");
    }

    #[test]
    fn only_one_spelling_per_id() {
        assert_eq!(unescape("a~41"), None, "`A` is never escaped");
        assert_eq!(unescape("a~2f"), None, "lower-case hex is never produced");
        assert_eq!(unescape("a~2"), None);
        assert_eq!(unescape("a/b"), None);
        assert_eq!(unescape("~FF"), None, "not UTF-8");
    }

    #[test]
    fn dataset_ids_round_trip() {
        let id = work_dataset_id("10.5240/AD07-310C-C59D-6785-C63A-G");
        assert_eq!(id, "work:10.5240~2FAD07-310C-C59D-6785-C63A-G");
        assert_eq!(parse_dataset_id(&id), Some(DatasetRef::Work("10.5240/AD07-310C-C59D-6785-C63A-G".into())));
        assert_eq!(
            parse_dataset_id(&collection_dataset_id("fr-freetv")),
            Some(DatasetRef::Collection("fr-freetv".into()))
        );
        assert_eq!(parse_dataset_id(&service_dataset_id("subtitling")), Some(DatasetRef::Service("subtitling".into())));
        assert_eq!(service_dataset_id("subtitling"), "service:subtitling");
        assert_eq!(parse_dataset_id("work:"), None);
        assert_eq!(parse_dataset_id("service:"), None);
        assert_eq!(parse_dataset_id("film:1"), None);
        assert_ne!(definition_offer_id("d", "work:a"), definition_offer_id("d", "work:b"));
        assert_ne!(definition_offer_id("d", "work:a"), definition_offer_id("e", "work:a"));
    }
}
