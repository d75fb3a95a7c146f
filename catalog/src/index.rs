//! The in-memory search index: one [`Shard`] per participant, built alongside
//! the participant's RDF graph and swapped whole when it is recrawled, so a
//! search never sees half a catalog. Words map to sorted posting lists in a
//! `BTreeMap`, which makes prefix matching a range scan.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use passerelle_dsp::catalog::DatasetKind;
use passerelle_policy::Purpose;
use passerelle_policy::vocab::territory::Area;
use serde::Serialize;
use time::OffsetDateTime;

use crate::record::{DatasetRecord, OfferFacets, kind_name, purpose_allowed};
use crate::registry::Participant;

/// The indexed datasets of one participant.
#[derive(Debug, Default)]
pub struct Shard {
    records: Vec<DatasetRecord>,
    title_postings: BTreeMap<String, Vec<u32>>,
    other_postings: BTreeMap<String, Vec<u32>>,
}

impl Shard {
    pub fn new(records: Vec<DatasetRecord>) -> Shard {
        let mut title_postings: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        let mut other_postings: BTreeMap<String, Vec<u32>> = BTreeMap::new();
        for (doc, record) in records.iter().enumerate() {
            let doc = doc as u32;
            for (words, postings) in
                [(&record.title_words, &mut title_postings), (&record.other_words, &mut other_postings)]
            {
                for word in words {
                    let list = postings.entry(word.clone()).or_default();
                    // Documents are visited in order, so a list stays sorted and deduplicated this way.
                    if list.last() != Some(&doc) {
                        list.push(doc);
                    }
                }
            }
        }
        Shard { records, title_postings, other_postings }
    }

    pub fn records(&self) -> &[DatasetRecord] {
        &self.records
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Documents holding a word starting with `prefix`, as a bitmap.
    fn prefix_bitmap(postings: &BTreeMap<String, Vec<u32>>, prefix: &str, len: usize) -> Vec<u64> {
        let mut bits = vec![0u64; len.div_ceil(64)];
        for (_, docs) in postings.range(prefix.to_string()..).take_while(|(w, _)| w.starts_with(prefix)) {
            for &d in docs {
                bits[d as usize / 64] |= 1 << (d % 64);
            }
        }
        bits
    }
}

/// A shard as a search sees it: with its participant and freshness.
#[derive(Debug, Clone)]
pub struct ShardView {
    pub participant: Participant,
    pub shard: Arc<Shard>,
    pub stale: bool,
    pub last_success: Option<OffsetDateTime>,
}

/// A validated search request.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Folded words; each must prefix a word of the title or of the description/keywords.
    pub words: Vec<String>,
    pub provider: Option<String>,
    pub role: Option<String>,
    pub work_type: Option<String>,
    pub eidr: Option<String>,
    pub isan: Option<String>,
    /// Lower-case BCP 47 tag: matches itself and every longer tag under it (`es` → `es-419`).
    pub language: Option<String>,
    pub territory: Option<Area>,
    pub license_type: Option<String>,
    pub purpose: Option<Purpose>,
    pub kind: Option<DatasetKind>,
    pub offset: usize,
    pub limit: usize,
}

/// One dataset found, with what a consumer needs to negotiate it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The provider's participant id.
    pub provider: String,
    /// The provider's DSP address: where to send the contract request.
    #[serde(rename = "providerAddress")]
    pub provider_address: String,
    pub role: String,
    #[serde(rename = "datasetId")]
    pub dataset_id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
    #[serde(rename = "workType", skip_serializing_if = "Option::is_none")]
    pub work_type: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub eidr: Vec<String>,
    /// Ids of the offers that satisfy the offer-level filters (territory, license type, purpose).
    #[serde(rename = "offerIds")]
    pub offer_ids: Vec<String>,
    /// True when the provider could not be crawled last time: this entry is its last good state.
    pub stale: bool,
    #[serde(rename = "lastCrawled", with = "time::serde::rfc3339::option", skip_serializing_if = "Option::is_none")]
    pub last_crawled: Option<OffsetDateTime>,
    pub score: u32,
}

/// A page of results, with counts over all matches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub offset: usize,
    pub limit: usize,
    pub hits: Vec<SearchHit>,
    pub facets: FacetCounts,
}

/// How many matches fall under each value of the main facets.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FacetCounts {
    pub provider: BTreeMap<String, usize>,
    pub kind: BTreeMap<String, usize>,
    #[serde(rename = "workType")]
    pub work_type: BTreeMap<String, usize>,
    #[serde(rename = "licenseType")]
    pub license_type: BTreeMap<String, usize>,
}

struct Match<'a> {
    view: &'a ShardView,
    record: &'a DatasetRecord,
    score: u32,
    offers: Vec<&'a OfferFacets>,
}

/// Runs `filter` over every shard.
pub fn search(views: &[ShardView], filter: &Filter) -> SearchResults {
    let mut matches: Vec<Match<'_>> = Vec::new();
    for view in views {
        if filter.provider.as_deref().is_some_and(|p| p != view.participant.id)
            || filter.role.as_deref().is_some_and(|r| !r.eq_ignore_ascii_case(&view.participant.role))
        {
            continue;
        }
        collect(view, filter, &mut matches);
    }

    let facets = facet_counts(&matches);

    let total = matches.len();
    let order = |a: &Match<'_>, b: &Match<'_>| {
        b.score
            .cmp(&a.score)
            .then_with(|| a.record.sort_key.cmp(&b.record.sort_key))
            .then_with(|| a.view.participant.id.cmp(&b.view.participant.id))
            .then_with(|| a.record.dataset_id.cmp(&b.record.dataset_id))
    };
    let end = filter.offset.saturating_add(filter.limit).min(total);
    // Only the requested page needs a full sort: select it first (linear), then sort it.
    if end > 0 && end < total {
        matches.select_nth_unstable_by(end - 1, order);
        matches.truncate(end);
    }
    matches.sort_unstable_by(order);
    let hits = matches.into_iter().skip(filter.offset).map(hit).collect();
    SearchResults { total, offset: filter.offset, limit: filter.limit, hits, facets }
}

/// Counts per facet value, keyed by borrowed strings while counting: a search matching tens of
/// thousands of datasets must not allocate per match.
fn facet_counts(matches: &[Match<'_>]) -> FacetCounts {
    let mut provider: HashMap<&str, usize> = HashMap::new();
    let mut kind: HashMap<&'static str, usize> = HashMap::new();
    let mut work_type: HashMap<&str, usize> = HashMap::new();
    let mut license_type: HashMap<&str, usize> = HashMap::new();
    let mut licenses: Vec<&str> = Vec::new();
    for m in matches {
        *provider.entry(m.view.participant.id.as_str()).or_default() += 1;
        if let Some(k) = m.record.kind {
            *kind.entry(kind_name(k)).or_default() += 1;
        }
        if let Some(wt) = &m.record.work_type {
            *work_type.entry(wt.as_str()).or_default() += 1;
        }
        licenses.clear();
        licenses.extend(m.offers.iter().flat_map(|o| o.license_types.iter().flatten()).map(String::as_str));
        licenses.sort_unstable();
        licenses.dedup();
        for l in &licenses {
            *license_type.entry(l).or_default() += 1;
        }
    }
    let owned = |counts: HashMap<&str, usize>| counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    FacetCounts {
        provider: owned(provider),
        kind: owned(kind),
        work_type: owned(work_type),
        license_type: owned(license_type),
    }
}

fn collect<'a>(view: &'a ShardView, filter: &Filter, out: &mut Vec<Match<'a>>) {
    let shard = &*view.shard;
    let n = shard.len();
    // Per query word: which documents have it in the title, and which elsewhere.
    let word_bits: Vec<(Vec<u64>, Vec<u64>)> = filter
        .words
        .iter()
        .map(|w| (Shard::prefix_bitmap(&shard.title_postings, w, n), Shard::prefix_bitmap(&shard.other_postings, w, n)))
        .collect();
    let candidates: Box<dyn Iterator<Item = usize>> = if word_bits.is_empty() {
        Box::new(0..n)
    } else {
        let mut all = vec![u64::MAX; n.div_ceil(64)];
        for (title, other) in &word_bits {
            for (i, word) in all.iter_mut().enumerate() {
                *word &= title[i] | other[i];
            }
        }
        Box::new(all.into_iter().enumerate().flat_map(|(i, mut bits)| {
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(i * 64 + b)
            })
        }))
    };
    for doc in candidates {
        let record = &shard.records[doc];
        if !dataset_matches(record, filter) {
            continue;
        }
        let offers: Vec<&OfferFacets> = record.offers.iter().filter(|o| offer_matches(o, filter)).collect();
        if offers.is_empty() {
            continue;
        }
        let bit = |bits: &Vec<u64>| bits[doc / 64] & (1 << (doc % 64)) != 0;
        let score = word_bits.iter().map(|(title, _)| if bit(title) { 2 } else { 1 }).sum();
        out.push(Match { view, record, score, offers });
    }
}

fn dataset_matches(r: &DatasetRecord, f: &Filter) -> bool {
    f.kind.is_none_or(|k| r.kind == Some(k))
        && f.work_type.as_deref().is_none_or(|w| r.work_type.as_deref().is_some_and(|rw| rw.eq_ignore_ascii_case(w)))
        && f.eidr.as_deref().is_none_or(|e| r.eidrs.iter().any(|x| x == e))
        && f.isan.as_deref().is_none_or(|i| r.isans.iter().any(|x| x == i))
        && f.language.as_deref().is_none_or(|wanted| {
            r.languages
                .iter()
                .any(|l| l.strip_prefix(wanted).is_some_and(|rest| rest.is_empty() || rest.starts_with('-')))
        })
}

fn offer_matches(o: &OfferFacets, f: &Filter) -> bool {
    f.territory.as_ref().is_none_or(|area| !o.territories.intersection(&area.members()).is_empty())
        && f.license_type.as_deref().is_none_or(|wanted| {
            o.license_types.as_ref().is_none_or(|allowed| allowed.iter().any(|l| l.eq_ignore_ascii_case(wanted)))
        })
        && f.purpose.is_none_or(|p| purpose_allowed(o.purposes, p))
}

fn hit(m: Match<'_>) -> SearchHit {
    SearchHit {
        provider: m.view.participant.id.clone(),
        provider_address: m.view.participant.protocol_address.clone(),
        role: m.view.participant.role.clone(),
        dataset_id: m.record.dataset_id.clone(),
        title: m.record.title.clone(),
        description: m.record.description.clone(),
        kind: m.record.kind.map(kind_name),
        work_type: m.record.work_type.clone(),
        eidr: m.record.eidrs.clone(),
        offer_ids: m.offers.iter().map(|o| o.id.clone()).collect(),
        stale: m.view.stale,
        last_crawled: m.view.last_success,
        score: m.score,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Participant;
    use crate::text::words;
    use passerelle_policy::TerritorySet;
    use passerelle_policy::vocab::territory::resolve_area;

    fn record(id: &str, title: &str, description: &str, languages: &[&str], territories: &str) -> DatasetRecord {
        let mut set = TerritorySet::EMPTY;
        for code in territories.split_whitespace() {
            set = set.union(&resolve_area(code).unwrap().members());
        }
        DatasetRecord {
            dataset_id: id.into(),
            title: title.into(),
            description: Some(description.into()),
            kind: Some(DatasetKind::Work),
            work_type: Some("Movie".into()),
            eidrs: vec![],
            isans: vec![],
            languages: languages.iter().map(|l| l.to_string()).collect(),
            offers: vec![OfferFacets {
                id: format!("{id}:offer"),
                territories: set,
                license_types: Some(vec!["SVOD".into()]),
                purposes: None,
            }],
            title_words: words(title),
            other_words: words(description),
            sort_key: words(title).join(" "),
        }
    }

    fn views() -> Vec<ShardView> {
        let shard = Shard::new(vec![
            record("a", "Le Passage", "A ferry in a storm", &["fr", "es-419"], "FR BE"),
            record("b", "Storm Front", "Weather drama", &["en"], "US"),
            record("c", "Passengers", "Space storm", &["es"], "DE"),
        ]);
        vec![ShardView {
            participant: Participant::active("did:web:d", "http://d/dsp/2025-1", "distributor"),
            shard: Arc::new(shard),
            stale: false,
            last_success: None,
        }]
    }

    fn ids(results: &SearchResults) -> Vec<&str> {
        results.hits.iter().map(|h| h.dataset_id.as_str()).collect()
    }

    #[test]
    fn words_match_by_prefix_and_title_matches_rank_first() {
        let v = views();
        let f = |q: &str| Filter { words: words(q), limit: 10, ..Filter::default() };
        assert_eq!(ids(&search(&v, &f("pass"))), ["a", "c"]);
        assert_eq!(ids(&search(&v, &f("storm"))), ["b", "a", "c"], "title match first, then by title");
        assert_eq!(ids(&search(&v, &f("pass storm"))), ["a", "c"]);
        assert!(search(&v, &f("nothing")).hits.is_empty());
    }

    #[test]
    fn facets_language_prefix_territory_group_and_paging() {
        let v = views();
        let lang = Filter { language: Some("es".into()), limit: 10, ..Filter::default() };
        assert_eq!(ids(&search(&v, &lang)), ["a", "c"], "es covers es-419");
        let not_prefix = Filter { language: Some("e".into()), limit: 10, ..Filter::default() };
        assert!(search(&v, &not_prefix).hits.is_empty(), "a tag prefix stops at a subtag boundary");
        let eu = Filter { territory: resolve_area("EU"), limit: 10, ..Filter::default() };
        let r = search(&v, &eu);
        assert_eq!(ids(&r), ["a", "c"]);
        assert_eq!(r.hits[0].offer_ids, ["a:offer"]);
        assert_eq!(r.facets.provider["did:web:d"], 2);
        let paged = Filter { offset: 1, limit: 1, ..Filter::default() };
        let r = search(&v, &paged);
        assert_eq!((r.total, ids(&r)), (3, vec!["c"]));
        let other_role = Filter { role: Some("lab".into()), limit: 10, ..Filter::default() };
        assert_eq!(search(&v, &other_role).total, 0);
        let tvod = Filter { license_type: Some("tvod".into()), limit: 10, ..Filter::default() };
        assert_eq!(search(&v, &tvod).total, 0);
    }
}
