//! The services a lab offers: "subtitling into these languages, these kinds, these formats, in this time, at this
//! price", each published as a `ServiceDataset` (`service:<id>`) under a stored ODRL policy.
//!
//! The policy says who may order and how much (role, count of orders, window, languages); the terms here say what
//! may be ordered. Both are machine-readable in the catalog, so a distributor's connector (or the federated
//! catalogue's search: `kind=service&language=es`) finds a lab that can do the job before negotiating. An order
//! placed under a service agreement is checked against the service's terms as they are when the order arrives
//! ([`ServiceDefinition::admits`]), then against the agreement's policy.
//!
//! Pure: validation and the checks are tested without a store; storage is `crate::store`, routes `crate::api`.

use passerelle_dsp::message::media::{PriceTerms, ServiceTerms};
use passerelle_exchange::{DeliveryFormat, Order, OrderKind};
use passerelle_media::LanguageTag;
use serde::{Deserialize, Serialize};

/// What an operator writes to offer a service (management API, snake_case like offer definitions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Letters, digits, `-`, `_`, `.`; the dataset is `service:<id>`.
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// BCP 47 tags of the languages the lab subtitles into; a tag covers its subtags (`es` covers `es-419`).
    #[schema(value_type = Vec<String>, example = json!(["es", "fr"]))]
    pub languages: Vec<LanguageTag>,
    /// `subtitles`, `sdh`, `forced-narrative`.
    #[schema(value_type = Vec<String>, example = json!(["subtitles", "sdh"]))]
    pub kinds: Vec<OrderKind>,
    /// `srt`, `webvtt`, `ttml-imsc1.1`, `ebu-stl`, `scc`.
    #[schema(value_type = Vec<String>, example = json!(["srt", "ttml-imsc1.1"]))]
    pub formats: Vec<DeliveryFormat>,
    /// Standard turnaround in calendar days.
    pub turnaround_days: u32,
    /// Rush turnaround in calendar days, when offered (shorter than the standard one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rush_turnaround_days: Option<u32>,
    pub price: Price,
    /// The stored policy (`/api/v1/policies`) the service is offered under.
    pub policy_id: String,
}

/// Price terms: per programme minute, in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// ISO 4217 code, upper case (`EUR`).
    pub currency: String,
    /// Decimal text with at most 4 decimals (`4.50`): money is never a float.
    pub per_minute: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_charge: Option<String>,
    /// Percent added to the price for rush turnaround.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rush_surcharge_percent: Option<u32>,
}

/// One problem with a definition, at its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermProblem {
    pub field: String,
    pub message: String,
}

/// Why an order falls outside a service's terms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutsideTerms {
    /// The order's field (`targetLanguage`, `kind`, `format`).
    pub field: &'static str,
    pub message: String,
}

fn is_decimal(text: &str) -> bool {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    !whole.is_empty()
        && whole.len() <= 12
        && whole.bytes().all(|b| b.is_ascii_digit())
        && (!text.contains('.') || (1..=4).contains(&fraction.len()))
        && fraction.bytes().all(|b| b.is_ascii_digit())
}

fn word<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

impl ServiceDefinition {
    /// Every problem at once (an operator fixes the whole definition in one go); empty when valid.
    pub fn problems(&self) -> Vec<TermProblem> {
        let mut out = Vec::new();
        let mut problem = |field: &str, message: String| out.push(TermProblem { field: field.into(), message });
        if let Err(e) = crate::offers::check_definition_id(&self.id) {
            problem("id", e.to_string());
        }
        if self.title.trim().is_empty() {
            problem("title", "title must not be empty: it is the service dataset's title in the catalog".into());
        }
        if self.languages.is_empty() {
            problem("languages", "name at least one language the lab subtitles into".into());
        }
        for (i, lang) in self.languages.iter().enumerate() {
            if self.languages[..i].contains(lang) {
                problem("languages", format!("`{}` is listed twice", lang.as_str()));
            }
        }
        if self.kinds.is_empty() {
            problem("kinds", "name at least one kind: subtitles, sdh or forced-narrative".into());
        }
        if self.formats.is_empty() {
            problem("formats", "name at least one format: srt, webvtt, ttml-imsc1.1, ebu-stl or scc".into());
        }
        if self.turnaround_days == 0 || self.turnaround_days > 365 {
            problem("turnaround_days", "give the standard turnaround in days, from 1 to 365".into());
        }
        if let Some(rush) = self.rush_turnaround_days
            && (rush == 0 || rush >= self.turnaround_days)
        {
            problem(
                "rush_turnaround_days",
                format!("a rush turnaround must be from 1 day to less than the standard {} days", self.turnaround_days),
            );
        }
        let price = &self.price;
        if price.currency.len() != 3 || !price.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            problem("price.currency", format!("`{}` is not an ISO 4217 code such as EUR or USD", price.currency));
        }
        if !is_decimal(&price.per_minute) {
            problem("price.per_minute", format!("`{}` is not a decimal amount such as 4.50", price.per_minute));
        }
        if let Some(minimum) = &price.minimum_charge
            && !is_decimal(minimum)
        {
            problem("price.minimum_charge", format!("`{minimum}` is not a decimal amount such as 150.00"));
        }
        if price.rush_surcharge_percent.is_some() && self.rush_turnaround_days.is_none() {
            problem("price.rush_surcharge_percent", "a rush surcharge needs a rush_turnaround_days".into());
        }
        if self.policy_id.trim().is_empty() {
            problem("policy_id", "name the stored policy the service is offered under".into());
        }
        out
    }

    /// The terms as the catalog publishes them (our media context's words).
    pub fn terms(&self) -> ServiceTerms {
        ServiceTerms {
            node_type: "SubtitlingService".into(),
            target_language: self.languages.iter().map(|l| l.as_str().to_string()).collect(),
            subtitle_kind: self.kinds.iter().map(word).collect(),
            delivery_format: self.formats.iter().map(word).collect(),
            turnaround: format!("P{}D", self.turnaround_days),
            rush_turnaround: self.rush_turnaround_days.map(|d| format!("P{d}D")),
            price: PriceTerms {
                node_type: "UnitPriceSpecification".into(),
                currency: self.price.currency.clone(),
                per_minute: self.price.per_minute.clone(),
                minimum_charge: self.price.minimum_charge.clone(),
                rush_surcharge_percent: self.price.rush_surcharge_percent,
            },
        }
    }

    /// The catalog's one-line summary ("Subtitling into es, fr: subtitles, sdh; srt; 10 days").
    pub fn summary(&self) -> String {
        let languages: Vec<&str> = self.languages.iter().map(LanguageTag::as_str).collect();
        let kinds: Vec<String> = self.kinds.iter().map(word).collect();
        let formats: Vec<String> = self.formats.iter().map(word).collect();
        format!(
            "Subtitling into {}: {}; {}; {} days, {} {} per minute.",
            languages.join(", "),
            kinds.join(", "),
            formats.join(", "),
            self.turnaround_days,
            self.price.per_minute,
            self.price.currency
        )
    }

    /// Whether the service produces what `order` asks for: its language (by prefix: `es` covers `es-419`), kind
    /// and format.
    pub fn admits(&self, order: &Order) -> Result<(), OutsideTerms> {
        let language = LanguageTag::parse(&order.target_language)
            .map_err(|e| OutsideTerms { field: "targetLanguage", message: format!("targetLanguage: {e}") })?;
        if !self.languages.iter().any(|offered| language.matches_range(offered)) {
            let offered: Vec<&str> = self.languages.iter().map(LanguageTag::as_str).collect();
            return Err(OutsideTerms {
                field: "targetLanguage",
                message: format!(
                    "service `{}` subtitles into {}, not `{}`",
                    self.id,
                    offered.join(", "),
                    language.as_str()
                ),
            });
        }
        if !self.kinds.contains(&order.kind) {
            let offered: Vec<String> = self.kinds.iter().map(word).collect();
            return Err(OutsideTerms {
                field: "kind",
                message: format!("service `{}` produces {}, not `{}`", self.id, offered.join(", "), word(&order.kind)),
            });
        }
        if !self.formats.contains(&order.format) {
            let offered: Vec<String> = self.formats.iter().map(word).collect();
            return Err(OutsideTerms {
                field: "format",
                message: format!(
                    "service `{}` delivers {}, not `{}`",
                    self.id,
                    offered.join(", "),
                    word(&order.format)
                ),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn definition() -> Value {
        json!({"id": "subtitling", "title": "Subtitling", "languages": ["es", "fr"], "kinds": ["subtitles", "sdh"],
            "formats": ["srt", "ttml-imsc1.1"], "turnaround_days": 10, "rush_turnaround_days": 3,
            "price": {"currency": "EUR", "per_minute": "4.50", "minimum_charge": "150", "rush_surcharge_percent": 50},
            "policy_id": "urn:lab:subtitling"})
    }

    fn service(value: Value) -> ServiceDefinition {
        serde_json::from_value(value).unwrap()
    }

    fn order(language: &str, kind: &str, format: &str) -> Order {
        Order::from_json(
            json!({"id": "PO-1", "work": {"id": "w"}, "version": {"eidr": "10.5240/2156-FA16-777A-20BF-AF2B-C"},
                "targetLanguage": language, "kind": kind, "format": format, "frameRate": 25,
                "startTimecode": "10:00:00:00", "dueDate": "2099-01-01T00:00:00Z",
                "styleProfile": {"maxCharsPerLine": 42, "maxLines": 2,
                    "readingSpeed": {"maxCharsPerSecond": 17, "counting": "no-spaces"},
                    "minEventDurationMs": 833, "maxEventDurationMs": 7000, "minGapFrames": 2}})
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn a_valid_definition_has_no_problem_and_publishes_its_terms() {
        let s = service(definition());
        assert_eq!(s.problems(), vec![]);
        let terms = serde_json::to_value(s.terms()).unwrap();
        assert_eq!(terms["targetLanguage"], json!(["es", "fr"]));
        assert_eq!(terms["subtitleKind"], json!(["subtitles", "sdh"]));
        assert_eq!(terms["deliveryFormat"], json!(["srt", "ttml-imsc1.1"]));
        assert_eq!((terms["turnaround"].as_str(), terms["rushTurnaround"].as_str()), (Some("P10D"), Some("P3D")));
        assert_eq!(terms["priceSpecification"]["pricePerMinute"], "4.50");
        assert_eq!(
            s.summary(),
            "Subtitling into es, fr: subtitles, sdh; srt, ttml-imsc1.1; 10 days, 4.50 EUR per minute."
        );
    }

    #[test]
    fn every_problem_is_reported_at_its_field() {
        let mut bad = definition();
        bad["id"] = json!("sub titling");
        bad["title"] = json!(" ");
        bad["languages"] = json!(["es", "es"]);
        bad["kinds"] = json!([]);
        bad["formats"] = json!([]);
        bad["turnaround_days"] = json!(0);
        bad["rush_turnaround_days"] = json!(0);
        bad["price"] = json!({"currency": "eur", "per_minute": "4,50", "minimum_charge": "1.23456",
            "rush_surcharge_percent": 10});
        bad["policy_id"] = json!("");
        let fields: Vec<String> = service(bad).problems().into_iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            [
                "id",
                "title",
                "languages",
                "kinds",
                "formats",
                "turnaround_days",
                "rush_turnaround_days",
                "price.currency",
                "price.per_minute",
                "price.minimum_charge",
                "policy_id"
            ]
        );
        let mut no_rush = definition();
        no_rush.as_object_mut().unwrap().remove("rush_turnaround_days");
        let problems = service(no_rush).problems();
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].field, "price.rush_surcharge_percent");
        let mut slower_rush = definition();
        slower_rush["rush_turnaround_days"] = json!(10);
        assert_eq!(service(slower_rush).problems()[0].field, "rush_turnaround_days");
    }

    #[test]
    fn closed_vocabularies_and_unknown_members_are_refused_when_read() {
        for (field, value) in [
            ("kinds", json!(["dubbing"])),
            ("formats", json!(["docx"])),
            ("languages", json!(["not a tag"])),
            ("turnaround", json!(10)),
        ] {
            let mut bad = definition();
            bad[field] = value;
            assert!(serde_json::from_value::<ServiceDefinition>(bad).is_err(), "{field} accepted");
        }
    }

    #[test]
    fn orders_are_admitted_only_for_what_the_service_produces() {
        let s = service(definition());
        assert_eq!(s.admits(&order("es-419", "sdh", "srt")), Ok(()), "es covers es-419");
        assert_eq!(s.admits(&order("fr", "subtitles", "ttml-imsc1.1")), Ok(()));
        let refused = s.admits(&order("de", "subtitles", "srt")).unwrap_err();
        assert_eq!(refused.field, "targetLanguage");
        assert_eq!(refused.message, "service `subtitling` subtitles into es, fr, not `de`");
        let refused = s.admits(&order("es", "forced-narrative", "srt")).unwrap_err();
        assert_eq!(
            (refused.field, refused.message.as_str()),
            ("kind", "service `subtitling` produces subtitles, sdh, not `forced-narrative`")
        );
        let refused = s.admits(&order("es", "subtitles", "scc")).unwrap_err();
        assert_eq!(
            (refused.field, refused.message.as_str()),
            ("format", "service `subtitling` delivers srt, ttml-imsc1.1, not `scc`")
        );
    }
}
