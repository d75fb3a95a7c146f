//! Offer definitions: "offer this policy on every work that matches this selector".
//!
//! A definition is what an operator writes once (through the management API); the
//! catalog turns it into one ODRL offer per matching work dataset, and into a
//! collection dataset of its own ("all works with an FR FreeTV window").
//! Matching is pure and runs on a work with its rights windows.

use passerelle_media::{LanguageTag, RightsWindow, Territory, Work, WorkKind};
use serde::{Deserialize, Serialize};

/// Which works an offer definition covers. Every non-empty criterion must hold
/// (AND); inside one list any value may match (OR). An empty selector covers every work.
///
/// The window criteria (`license_types`, `territories`) must hold for the *same*
/// rights window: "FR" and "FreeTV" means one window granting FreeTV in France.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selector {
    /// Exactly these works (by work id).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub work_ids: Vec<String>,
    /// Works of these kinds (`movie`, `episode`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kinds: Vec<WorkKind>,
    /// Works with one of these genres (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub genres: Vec<String>,
    /// Works whose original language falls under one of these BCP 47 ranges (`es` covers `es-419`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub original_languages: Vec<LanguageTag>,
    /// Works with a rights window of one of these Avails license types (case-insensitive: `FreeTV`, `SVOD`…).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub license_types: Vec<String>,
    /// Works with a rights window covering one of these territories (and not excluding it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub territories: Vec<Territory>,
}

impl Selector {
    /// True when `work` (with its rights windows) is covered.
    pub fn matches(&self, work: &Work, rights: &[RightsWindow]) -> bool {
        if !self.work_ids.is_empty() && !self.work_ids.contains(&work.id) {
            return false;
        }
        if !self.kinds.is_empty() && !self.kinds.contains(&work.kind) {
            return false;
        }
        if !self.genres.is_empty()
            && !work.genres.iter().any(|g| self.genres.iter().any(|want| want.eq_ignore_ascii_case(g)))
        {
            return false;
        }
        if !self.original_languages.is_empty() {
            let Some(lang) = &work.original_language else { return false };
            if !self.original_languages.iter().any(|range| lang.matches_range(range)) {
                return false;
            }
        }
        if self.license_types.is_empty() && self.territories.is_empty() {
            return true;
        }
        rights.iter().filter(|w| w.work_id == work.id).any(|w| self.window_matches(w))
    }

    fn window_matches(&self, window: &RightsWindow) -> bool {
        let license_ok = self.license_types.is_empty()
            || self.license_types.iter().any(|t| t.eq_ignore_ascii_case(&window.license_type));
        let territory_ok = self.territories.is_empty()
            || self
                .territories
                .iter()
                .any(|t| window.territories.contains(t) && !window.excluded_territories.contains(t));
        license_ok && territory_ok
    }

    /// One line for humans ("movie works with a FreeTV window in FR").
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.work_ids.is_empty() {
            parts.push(format!("works {}", self.work_ids.join(", ")));
        }
        if !self.kinds.is_empty() {
            parts.push(format!("kind {}", self.kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ")));
        }
        if !self.genres.is_empty() {
            parts.push(format!("genre {}", self.genres.join(" or ")));
        }
        if !self.original_languages.is_empty() {
            let langs: Vec<&str> = self.original_languages.iter().map(|l| l.as_str()).collect();
            parts.push(format!("original language {}", langs.join(" or ")));
        }
        if !self.license_types.is_empty() || !self.territories.is_empty() {
            let mut w = String::from("a rights window");
            if !self.license_types.is_empty() {
                w.push_str(&format!(" of type {}", self.license_types.join(" or ")));
            }
            if !self.territories.is_empty() {
                let ts: Vec<&str> = self.territories.iter().map(|t| t.as_str()).collect();
                w.push_str(&format!(" in {}", ts.join(" or ")));
            }
            parts.push(w);
        }
        if parts.is_empty() { "all works".to_string() } else { format!("works with {}", parts.join(", ")) }
    }
}

/// An offer definition as stored: a selector plus the id of the policy to offer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OfferDefinition {
    /// Stable id chosen by the operator (letters, digits, `-`, `_`, `.`).
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub selector: Selector,
    /// Id of a stored ODRL policy (the template of every offer made from this definition).
    pub policy_id: String,
}

/// Why an offer definition or policy id is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a valid id: {reason}")]
pub struct IdRuleError {
    pub value: String,
    pub reason: &'static str,
}

/// Ids the operator chooses for definitions: short, URL-safe, unambiguous.
pub fn check_definition_id(id: &str) -> Result<(), IdRuleError> {
    let err = |reason| Err(IdRuleError { value: id.to_string(), reason });
    if id.is_empty() || id.len() > 128 {
        return err("use 1 to 128 characters");
    }
    if !id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return err("use only letters, digits, `-`, `_` and `.`");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(id: &str) -> Work {
        serde_json::from_value(serde_json::json!({
            "id": id, "kind": "movie", "title": "Le Conseiller", "genres": ["Drama"], "original_language": "es-419"
        }))
        .unwrap()
    }

    fn window(work_id: &str, license: &str, territories: &[&str], excluded: &[&str]) -> RightsWindow {
        serde_json::from_value(serde_json::json!({
            "id": format!("{work_id}#{license}"), "work_id": work_id, "license_type": license,
            "territories": territories, "excluded_territories": excluded
        }))
        .unwrap()
    }

    fn selector(v: serde_json::Value) -> Selector {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn empty_selector_covers_every_work() {
        assert!(Selector::default().matches(&work("w1"), &[]));
        assert_eq!(Selector::default().describe(), "all works");
    }

    #[test]
    fn work_criteria() {
        let w = work("w1");
        assert!(selector(serde_json::json!({"kinds": ["movie", "episode"]})).matches(&w, &[]));
        assert!(!selector(serde_json::json!({"kinds": ["series"]})).matches(&w, &[]));
        assert!(selector(serde_json::json!({"genres": ["drama"]})).matches(&w, &[]));
        assert!(!selector(serde_json::json!({"genres": ["comedy"]})).matches(&w, &[]));
        assert!(selector(serde_json::json!({"original_languages": ["es"]})).matches(&w, &[]));
        assert!(!selector(serde_json::json!({"original_languages": ["en"]})).matches(&w, &[]));
        assert!(selector(serde_json::json!({"work_ids": ["w0", "w1"]})).matches(&w, &[]));
        assert!(!selector(serde_json::json!({"work_ids": ["w0"]})).matches(&w, &[]));
    }

    #[test]
    fn window_criteria_must_hold_for_the_same_window() {
        let w = work("w1");
        let fr_free = selector(serde_json::json!({"license_types": ["freetv"], "territories": ["FR"]}));
        assert!(fr_free.matches(&w, &[window("w1", "FreeTV", &["FR", "BE"], &[])]));
        assert!(!fr_free.matches(&w, &[window("w1", "FreeTV", &["DE"], &[]), window("w1", "SVOD", &["FR"], &[])]));
        assert!(!fr_free.matches(&w, &[window("w1", "FreeTV", &["FR"], &["FR"])]));
        assert!(!fr_free.matches(&w, &[window("w2", "FreeTV", &["FR"], &[])]), "another work's window");
        assert!(!fr_free.matches(&w, &[]));
        assert_eq!(fr_free.describe(), "works with a rights window of type freetv in FR");
    }

    #[test]
    fn selectors_refuse_unknown_fields_and_bad_codes() {
        assert!(serde_json::from_value::<Selector>(serde_json::json!({"territory": ["FR"]})).is_err());
        assert!(serde_json::from_value::<Selector>(serde_json::json!({"territories": ["XX"]})).is_err());
        assert!(serde_json::from_value::<Selector>(serde_json::json!({"kinds": ["film-noir"]})).is_err());
    }

    #[test]
    fn definition_ids() {
        assert!(check_definition_id("fr-freetv_2026.v1").is_ok());
        assert!(check_definition_id("").is_err());
        assert!(check_definition_id("a b").is_err());
        assert!(check_definition_id("a/b").is_err());
        assert!(check_definition_id(&"x".repeat(129)).is_err());
    }
}
