//! Passerelle's JSON form: `{"works":[Work…],"versions":[Version…],"rights":[RightsWindow…]}`
//! in the serde forms of `passerelle-media`. Each entry is decoded on its own so a
//! bad entry is rejected (at its JSON pointer, `/works/3`) and the others kept.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use passerelle_media::{RightsWindow, Version, Work};

use crate::collect::Collector;
use crate::{Format, ImportBatch, ImportError};

#[derive(Deserialize)]
struct Document {
    #[serde(default)]
    works: Vec<Value>,
    #[serde(default)]
    versions: Vec<Value>,
    #[serde(default)]
    rights: Vec<Value>,
}

pub(crate) fn parse(file: &str, bytes: &[u8]) -> Result<ImportBatch, ImportError> {
    let doc: Document = serde_json::from_slice(crate::xml::strip_bom(bytes)).map_err(|e| ImportError::Json {
        file: file.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut out = Collector::new(file, Format::Json);
    for (i, value) in doc.works.into_iter().enumerate() {
        if let Some(work) = entry::<Work>(value, "works", i, &mut out) {
            if work.id.trim().is_empty() || work.title.trim().is_empty() {
                out.reject(format!("/works/{i}"), Some(&work.id), "a work needs a non-empty `id` and `title`");
                continue;
            }
            out.add_work(work);
        }
    }
    for (i, value) in doc.versions.into_iter().enumerate() {
        if let Some(version) = entry::<Version>(value, "versions", i, &mut out) {
            if version.id.trim().is_empty() || version.work_id.trim().is_empty() {
                out.reject(
                    format!("/versions/{i}"),
                    Some(&version.id),
                    "a version needs a non-empty `id` and `work_id`",
                );
                continue;
            }
            out.add_version(version);
        }
    }
    for (i, value) in doc.rights.into_iter().enumerate() {
        if let Some(window) = entry::<RightsWindow>(value, "rights", i, &mut out) {
            let location = format!("/rights/{i}");
            if window.id.trim().is_empty() || window.work_id.trim().is_empty() || window.territories.is_empty() {
                out.reject(location, Some(&window.id), "a window needs a non-empty `id`, `work_id` and `territories`");
                continue;
            }
            if let (Some(s), Some(e)) = (window.start, window.end)
                && e <= s
            {
                out.reject(location, Some(&window.id), "`end` is not after `start`");
                continue;
            }
            out.add_rights(window, &location);
        }
    }
    Ok(out.finish())
}

fn entry<T: DeserializeOwned>(value: Value, list: &str, i: usize, out: &mut Collector) -> Option<T> {
    out.records_seen += 1;
    let id = value.get("id").and_then(Value::as_str).map(str::to_string);
    match serde_json::from_value::<T>(value) {
        Ok(v) => Some(v),
        Err(e) => {
            out.reject(format!("/{list}/{i}"), id.as_deref(), format!("{e}"));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_entries_are_rejected_at_their_pointer() {
        let json = br#"{"works":[
            {"id":"w1","kind":"movie","title":"One","eidr":"10.5240/7EC7-228A-510A-053E-CBB8-J"},
            {"id":"w2","kind":"movie","title":"Two","eidr":"10.5240/7EC7-228A-510A-053E-CBB8-K"},
            {"id":"","kind":"movie","title":"Three"}],
          "rights":[{"id":"r1","work_id":"w1","license_type":"SVOD","territories":["FR"],"start":"2024-01-01T00:00:00Z"},
            {"id":"r2","work_id":"w1","license_type":"SVOD","territories":["FR"],"start":"2024-01-01T00:00:00Z","end":"2023-01-01T00:00:00Z"}]}"#;
        let b = parse("j.json", json).expect("parse");
        assert_eq!(b.records_seen, 5);
        assert_eq!(b.works.len(), 1);
        assert_eq!(b.rights.len(), 1);
        let locs: Vec<&str> = b.rejected.iter().map(|r| r.location.as_str()).collect();
        assert_eq!(locs, ["/works/1", "/works/2", "/rights/1"]);
        assert!(b.rejected[0].reason.contains("EIDR"), "{}", b.rejected[0].reason);
        assert_eq!(b.rejected[0].record.as_deref(), Some("w2"));
    }

    #[test]
    fn not_json_is_an_error() {
        assert!(matches!(parse("j.json", b"{\"works\": [}"), Err(ImportError::Json { .. })));
        assert!(matches!(parse("j.json", b"{\"works\": 3}"), Err(ImportError::Json { .. })));
    }
}
