//! Format detection from content.
//!
//! MAM exports arrive with meaningless names (`export_0412.xml`, `avails (3).xlsx`),
//! so the decision is taken on what the bytes are: XML root element and namespace,
//! the zip signature of an xlsx workbook, the top-level keys of a JSON object, the
//! header of a CSV file. The file name only tips the balance for text that might be
//! CSV, so that a CSV with a misspelt header gets a "missing column" answer rather
//! than "unknown format".

use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use crate::xml::{root_of, strip_bom};
use crate::{Format, ImportError};

/// Detects the format of a file from its content; `file_name` is only a hint.
pub fn detect(file_name: &str, bytes: &[u8]) -> Result<Format, ImportError> {
    let unknown = |detail: String| ImportError::UnknownFormat { file: file_name.to_string(), detail };
    let body = strip_bom(bytes);
    let start = body.iter().position(|b| !b.is_ascii_whitespace());
    let Some(start) = start else {
        return Err(ImportError::Empty { file: file_name.to_string() });
    };
    let body = &body[start..];

    if body.starts_with(b"PK\x03\x04") {
        // Local file headers carry the entry names, so even a cut archive shows its `xl/` parts.
        let named_xlsx = file_name.to_ascii_lowercase().ends_with(".xlsx");
        return if contains(bytes, b"xl/") || named_xlsx {
            Ok(Format::AvailsXlsx)
        } else {
            Err(unknown("a zip archive that is not an xlsx workbook (no xl/ parts)".into()))
        };
    }
    if body.starts_with(b"\xD0\xCF\x11\xE0") {
        return Err(unknown("a legacy .xls workbook; save it as .xlsx (Excel 2007+) and import again".into()));
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(ImportError::Encoding { file: file_name.to_string(), detail: "UTF-16 text".into() });
    }
    match body[0] {
        b'<' => detect_xml(file_name, body),
        b'{' | b'[' => detect_json(file_name, body),
        _ => detect_csv(file_name, body),
    }
}

fn detect_xml(file_name: &str, body: &[u8]) -> Result<Format, ImportError> {
    let Some((root, ns)) = root_of(body) else {
        return Err(ImportError::MalformedXml {
            file: file_name.to_string(),
            line: 1,
            message: "no readable root element".into(),
        });
    };
    let ns_lower = ns.to_ascii_lowercase();
    let format = match root.as_str() {
        "CoreMetadata" | "BasicMetadata" | "Basic" | "CoreMetadataSet" => Some(Format::MecXml),
        "AvailList" | "Avail" => Some(Format::AvailsXml),
        "MediaManifest" => Some(Format::ManifestXml),
        "ebuCoreMain" => Some(Format::EbuCoreXml),
        "AssetAvailability" => Some(Format::AodAvailabilityXml),
        _ if ns_lower.contains("/mdmec/") => Some(Format::MecXml),
        _ if ns_lower.contains("/avails/") => Some(Format::AvailsXml),
        _ => None,
    };
    format.ok_or_else(|| {
        let what = if ns_lower.contains("/delivery/") {
            format!(
                "MovieLabs Asset Order & Delivery `{root}` documents are not imported (only AssetAvailability is)"
            )
        } else if ns.is_empty() {
            format!("XML root element `{root}` is not one of MEC, Avails, Media Manifest, EBUCore, AOD AssetAvailability")
        } else {
            format!(
                "XML root element `{root}` in namespace `{ns}` is not one of MEC, Avails, Media Manifest, EBUCore, AOD AssetAvailability"
            )
        };
        ImportError::UnknownFormat { file: file_name.to_string(), detail: what }
    })
}

fn detect_json(file_name: &str, body: &[u8]) -> Result<Format, ImportError> {
    if body[0] == b'[' {
        return Err(ImportError::UnknownFormat {
            file: file_name.to_string(),
            detail: "a JSON array; the JSON form is an object `{\"works\":[…],\"versions\":[…],\"rights\":[…]}`".into(),
        });
    }
    let keys: BTreeMap<String, IgnoredAny> = serde_json::from_slice(body).map_err(|e| ImportError::Json {
        file: file_name.to_string(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if keys.contains_key("aod") {
        return Ok(Format::AodVocabulary);
    }
    if ["works", "versions", "rights"].iter().any(|k| keys.contains_key(*k)) {
        return Ok(Format::Json);
    }
    Err(ImportError::UnknownFormat {
        file: file_name.to_string(),
        detail: format!(
            "JSON object with keys {} — expected `works`, `versions`, `rights` (Passerelle JSON form) or `aod` (AOD vocabulary)",
            keys.keys().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        ),
    })
}

fn detect_csv(file_name: &str, body: &[u8]) -> Result<Format, ImportError> {
    let first_line = body.split(|&b| b == b'\n').next().unwrap_or_default();
    let header = String::from_utf8_lossy(first_line).to_ascii_lowercase();
    let names: Vec<&str> = header.split([',', ';', '\t']).map(|c| c.trim().trim_matches('"').trim()).collect();
    let looks_like_ours = names.contains(&"work_id") && names.contains(&"title");
    let named_csv = file_name.to_ascii_lowercase().ends_with(".csv");
    let is_text = std::str::from_utf8(body).is_ok();
    if looks_like_ours || (named_csv && is_text) {
        return Ok(Format::Csv);
    }
    let detail = if is_text {
        "text that is neither XML, JSON nor a CSV file with a `work_id,title,…` header (see CSV.md)".to_string()
    } else {
        "binary content that is not an xlsx workbook".to_string()
    };
    Err(ImportError::UnknownFormat { file: file_name.to_string(), detail })
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_roots_by_name_and_namespace() {
        let cases: [(&str, Format); 7] = [
            ("<mdmec:CoreMetadata xmlns:mdmec=\"http://www.movielabs.com/schema/mdmec/v2.7\"/>", Format::MecXml),
            ("<x:Catalogue xmlns:x=\"http://www.movielabs.com/schema/mdmec/v2.9\"/>", Format::MecXml),
            ("<AvailList/>", Format::AvailsXml),
            ("<a:Whatever xmlns:a=\"http://www.movielabs.com/schema/avails/v2.5/avails\"/>", Format::AvailsXml),
            ("<manifest:MediaManifest xmlns:manifest=\"urn:m\"/>", Format::ManifestXml),
            ("<ebucore:ebuCoreMain xmlns:ebucore=\"urn:ebu:metadata-schema:ebucore\"/>", Format::EbuCoreXml),
            ("<delivery:AssetAvailability xmlns:delivery=\"urn:d\"/>", Format::AodAvailabilityXml),
        ];
        for (xml, want) in cases {
            assert_eq!(detect("x.bin", xml.as_bytes()), Ok(want), "{xml}");
        }
    }

    #[test]
    fn unknown_xml_names_the_root() {
        let err = detect("a.xml", b"<rss version=\"2.0\"/>").unwrap_err();
        assert!(err.to_string().contains("`rss`"), "{err}");
        let err =
            detect("a.xml", b"<d:AssetOrder xmlns:d=\"http://www.movielabs.com/schema/md/delivery/v1.2/delivery\"/>")
                .unwrap_err();
        assert!(err.to_string().contains("AssetOrder"), "{err}");
    }

    #[test]
    fn json_by_keys() {
        assert_eq!(detect("a", br#"{"works":[]}"#), Ok(Format::Json));
        assert_eq!(detect("a", br#" {"rights":[], "x": 1}"#), Ok(Format::Json));
        assert_eq!(detect("a", br#"{"aod":{"ProgressCodes":["Ready"]}}"#), Ok(Format::AodVocabulary));
        assert!(matches!(detect("a", br#"{"foo":1}"#), Err(ImportError::UnknownFormat { .. })));
        assert!(matches!(detect("a", br#"{"works":"#), Err(ImportError::Json { .. })));
        assert!(matches!(detect("a", b"[1,2]"), Err(ImportError::UnknownFormat { .. })));
    }

    #[test]
    fn csv_by_header_or_name() {
        assert_eq!(detect("export", b"work_id,title,kind\nw1,T,movie\n"), Ok(Format::Csv));
        assert_eq!(detect("export", b"\xEF\xBB\xBF\"work_id\";\"title\"\n"), Ok(Format::Csv));
        assert_eq!(detect("list.CSV", b"id,name\n"), Ok(Format::Csv));
        assert!(matches!(detect("list.txt", b"id,name\n"), Err(ImportError::UnknownFormat { .. })));
    }

    #[test]
    fn empty_binary_and_zip() {
        assert_eq!(detect("e.xml", b"  \n\t"), Err(ImportError::Empty { file: "e.xml".into() }));
        assert_eq!(detect("e.xml", b""), Err(ImportError::Empty { file: "e.xml".into() }));
        assert!(matches!(detect("g", &[0u8, 159, 146, 150, 7]), Err(ImportError::UnknownFormat { .. })));
        assert!(matches!(detect("z.zip", b"PK\x03\x04rest-of-zip"), Err(ImportError::UnknownFormat { .. })));
        assert_eq!(detect("z", b"PK\x03\x04....xl/workbook.xml...."), Ok(Format::AvailsXlsx));
        assert_eq!(detect("cut.xlsx", b"PK\x03\x04...."), Ok(Format::AvailsXlsx));
        assert!(matches!(detect("u16.xml", b"\xFF\xFE<\x00"), Err(ImportError::Encoding { .. })));
    }
}
