//! What the search index keeps of a crawled dataset: its words and the facet
//! values of the dataset and of each of its offers, read from the DSP Dataset
//! (our media terms) and its ODRL offers (through `passerelle_policy`).
//!
//! Offer-level facets (territory, license type, purpose) come from each
//! offer's first permission; an offer that does not constrain one of them
//! falls back to the dataset's rights windows, else it is unrestricted. This is
//! how a search for "EU" finds the offer that can actually be negotiated there.

use passerelle_dsp::catalog::DatasetKind;
use passerelle_dsp::message::catalog::Dataset;
use passerelle_policy::vocab::territory::resolve_area;
use passerelle_policy::{Policy, Purpose, TerritorySet, summarize};
use serde_json::Value;

use crate::text::words;

/// Facets of one offer.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferFacets {
    pub id: String,
    /// Territories where the offer can be used (the whole world when unrestricted).
    pub territories: TerritorySet,
    /// Avails license types allowed; `None` = any.
    pub license_types: Option<Vec<String>>,
    /// Purposes allowed (mask of [`Purpose`] bits); `None` = any.
    pub purposes: Option<u32>,
}

/// One dataset as indexed.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    pub dataset_id: String,
    pub title: String,
    pub description: Option<String>,
    pub kind: Option<DatasetKind>,
    /// MDDF WorkType (`Movie`, `Episode`…).
    pub work_type: Option<String>,
    /// EIDR ids of the work and its versions, normalised by [`normalize_eidr`].
    pub eidrs: Vec<String>,
    /// ISANs of the work and its versions, normalised by [`normalize_isan`].
    pub isans: Vec<String>,
    /// BCP 47 tags in lower case: dataset, original, audio and subtitle languages.
    pub languages: Vec<String>,
    pub offers: Vec<OfferFacets>,
    /// Words of the title (the work's localized titles included).
    pub title_words: Vec<String>,
    /// Words of the description, keywords and identifiers.
    pub other_words: Vec<String>,
    /// Title folded for sorting.
    pub sort_key: String,
}

/// Reads a dataset kind as written in a catalog (`WorkDataset`, an IRI ending in it) or in a query (`work`).
pub fn parse_kind(written: &str) -> Option<DatasetKind> {
    let word = written.rsplit([':', '/', '#']).next().unwrap_or(written).trim().to_ascii_lowercase();
    match word.strip_suffix("dataset").unwrap_or(&word) {
        "work" => Some(DatasetKind::Work),
        "collection" => Some(DatasetKind::Collection),
        "service" => Some(DatasetKind::Service),
        _ => None,
    }
}

/// The word a kind is shown with in search results and facets.
pub fn kind_name(kind: DatasetKind) -> &'static str {
    match kind {
        DatasetKind::Work => "work",
        DatasetKind::Collection => "collection",
        DatasetKind::Service => "service",
    }
}

/// `10.5240/XXXX-…` in upper case, whether written as a DOI, `doi:` or `https://doi.org/` IRI.
pub fn normalize_eidr(written: &str) -> String {
    let t = written.trim();
    let t = t.strip_prefix("https://doi.org/").or_else(|| t.strip_prefix("http://doi.org/")).unwrap_or(t);
    let t = t.strip_prefix("doi:").unwrap_or(t);
    t.to_ascii_uppercase()
}

/// An ISAN without its `ISAN` prefix, spaces and hyphens, in upper case.
pub fn normalize_isan(written: &str) -> String {
    let t = written.trim();
    let t = t.strip_prefix("ISAN").or_else(|| t.strip_prefix("isan")).unwrap_or(t);
    t.chars().filter(|c| !matches!(c, '-' | ' ')).collect::<String>().to_ascii_uppercase()
}

impl DatasetRecord {
    pub fn from_dataset(dataset: &Dataset) -> DatasetRecord {
        let media = &dataset.media;
        let title = media
            .title
            .clone()
            .or_else(|| media.work.as_ref().map(|w| w.title.clone()))
            .unwrap_or_else(|| dataset.id.clone());

        let mut title_text = title.clone();
        let mut other_text = media.description.clone().unwrap_or_default();
        for k in &media.keyword {
            other_text.push(' ');
            other_text.push_str(k);
        }
        let mut eidrs = Vec::new();
        let mut isans = Vec::new();
        let mut languages: Vec<String> = media.language.iter().map(|l| l.to_ascii_lowercase()).collect();
        let mut work_type = None;
        if let Some(work) = &media.work {
            work_type = Some(work.work_type.clone());
            title_text.push(' ');
            title_text.push_str(&work.title);
            for t in work.localized_title.values() {
                title_text.push(' ');
                title_text.push_str(t);
            }
            eidrs.extend(work.eidr.iter().chain(work.id.iter()).map(|e| normalize_eidr(e)));
            isans.extend(work.isan.iter().map(|i| normalize_isan(i)));
            languages.extend(work.original_language.iter().map(|l| l.to_ascii_lowercase()));
        }
        for version in &media.version {
            eidrs.extend(version.eidr.iter().chain(version.id.iter()).map(|e| normalize_eidr(e)));
            isans.extend(version.isan.iter().map(|i| normalize_isan(i)));
            languages.extend(version.audio_language.iter().map(|l| l.to_ascii_lowercase()));
            languages.extend(version.subtitle.iter().map(|s| s.language.to_ascii_lowercase()));
        }
        for list in [&mut eidrs, &mut isans, &mut languages] {
            list.sort();
            list.dedup();
        }
        // Only real EIDR ids: a version `@id` might be another IRI.
        eidrs.retain(|e| e.starts_with("10.5240/"));

        let window_territories = windows_territories(dataset);
        let window_licenses: Vec<String> = media.rights_window.iter().map(|w| w.license_type.clone()).collect();
        let offers = dataset
            .has_policy
            .iter()
            .filter_map(|offer| offer_facets(offer, window_territories, &window_licenses))
            .collect();

        let title_words = words(&title_text);
        let sort_key = words(&title).join(" ");
        DatasetRecord {
            dataset_id: dataset.id.clone(),
            title,
            description: media.description.clone(),
            kind: media.dataset_kind.as_deref().and_then(parse_kind),
            work_type,
            eidrs,
            isans,
            languages,
            offers,
            title_words,
            other_words: words(&other_text),
            sort_key,
        }
    }
}

/// Territories of the dataset's rights windows after exclusions; `None` when it has no window.
fn windows_territories(dataset: &Dataset) -> Option<TerritorySet> {
    let windows = &dataset.media.rights_window;
    if windows.is_empty() {
        return None;
    }
    let areas = |codes: &[String]| {
        codes.iter().filter_map(|c| resolve_area(c)).fold(TerritorySet::EMPTY, |set, area| set.union(&area.members()))
    };
    Some(windows.iter().fold(TerritorySet::EMPTY, |all, w| {
        let included = if w.territory.is_empty() { TerritorySet::world() } else { areas(&w.territory) };
        all.union(&included.difference(&areas(&w.excluded_territory)))
    }))
}

fn offer_facets(offer: &Value, windows: Option<TerritorySet>, window_licenses: &[String]) -> Option<OfferFacets> {
    let id = offer.get("@id")?.as_str()?.to_string();
    // Another connector's offer may use terms we do not know: it is still listed, with the dataset's facets.
    let summary = Policy::from_peer_json(offer).ok().as_ref().and_then(summarize);
    let fallback_licenses = (!window_licenses.is_empty()).then(|| window_licenses.to_vec());
    let Some(summary) = summary else {
        return Some(OfferFacets {
            id,
            territories: windows.unwrap_or_else(TerritorySet::world),
            license_types: fallback_licenses,
            purposes: None,
        });
    };
    let license_types = if summary.channels.is_empty() {
        fallback_licenses
    } else {
        Some(summary.channels.iter().map(|c| c.as_str().to_string()).collect())
    };
    let purposes = (!summary.purposes.is_empty()).then(|| summary.purposes.iter().fold(0, |m, p| m | p.bit()));
    Some(OfferFacets {
        id,
        territories: summary.territories.or(windows).unwrap_or_else(TerritorySet::world),
        license_types,
        purposes,
    })
}

/// True when an offer allowing `allowed` (a mask, `None` = any) may be used for `wanted`.
pub fn purpose_allowed(allowed: Option<u32>, wanted: Purpose) -> bool {
    allowed.is_none_or(|mask| mask & wanted.broader_or_self() != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dataset(value: Value) -> Dataset {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn reads_identifiers_languages_and_offer_facets() {
        let d = dataset(json!({
            "@id": "urn:ds:1", "@type": "Dataset", "title": "Le Passage", "datasetKind": "WorkDataset",
            "description": "A ferry, a storm", "keyword": ["Drama"], "language": ["fr"],
            "work": {"@id": "https://doi.org/10.5240/7EC7-228A-510A-053E-CBB8-J", "@type": "TVEpisode",
                     "workType": "Episode", "title": "Le Passage", "localizedTitle": {"de": "Die Passage"},
                     "isan": "0000-0000-D07A-0090-Q", "originalLanguage": "fr"},
            "version": [{"versionKind": "edit", "audioLanguage": ["de"],
                         "subtitle": [{"@type": "Subtitling", "language": "es-419", "subtitleKind": "subtitles"}]}],
            "rightsWindow": [{"@type": "RightsWindow", "licenseType": "SVOD", "territory": ["EU"],
                              "excludedTerritory": ["FR"]}],
            "hasPolicy": [
                {"@id": "urn:offer:a", "@type": "Offer", "permission": [{"action": "use", "constraint": [
                    {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["DE", "AT"]},
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": "vod"}]}]},
                {"@id": "urn:offer:b", "@type": "Offer", "permission": [{"action": "use"}]}
            ],
            "distribution": []
        }));
        let r = DatasetRecord::from_dataset(&d);
        assert_eq!(r.kind, Some(DatasetKind::Work));
        assert_eq!(r.work_type.as_deref(), Some("Episode"));
        assert_eq!(r.eidrs, ["10.5240/7EC7-228A-510A-053E-CBB8-J"]);
        assert_eq!(r.isans, ["00000000D07A0090Q"]);
        assert_eq!(r.languages, ["de", "es-419", "fr"]);
        assert!(r.title_words.contains(&"die".to_string()));
        assert!(r.other_words.contains(&"ferry".to_string()) && r.other_words.contains(&"drama".to_string()));

        let a = &r.offers[0];
        let t = |c: &str| passerelle_media::Territory::parse(c).unwrap();
        assert!(a.territories.contains(&t("DE")) && !a.territories.contains(&t("IT")));
        assert!(purpose_allowed(a.purposes, Purpose::Svod), "vod covers svod");
        assert!(!purpose_allowed(a.purposes, Purpose::Theatrical));
        assert_eq!(a.license_types.as_deref(), Some(&["SVOD".to_string()][..]), "from the rights window");
        // No spatial constraint: the rights windows say where (EU except FR).
        let b = &r.offers[1];
        assert!(b.territories.contains(&t("IT")) && !b.territories.contains(&t("FR")));
        assert!(purpose_allowed(b.purposes, Purpose::Theatrical));
    }

    #[test]
    fn identifiers_are_normalised_and_kinds_read_in_any_spelling() {
        assert_eq!(normalize_eidr("doi:10.5240/abcd"), "10.5240/ABCD");
        assert_eq!(normalize_isan("ISAN 0000-0000-d07a-0090-Q"), "00000000D07A0090Q");
        assert_eq!(parse_kind("urn:passerelle:media:ServiceDataset"), Some(DatasetKind::Service));
        assert_eq!(parse_kind("collection"), Some(DatasetKind::Collection));
        assert_eq!(parse_kind("film"), None);
    }
}
