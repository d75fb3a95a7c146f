//! The in-memory search index: one [`Shard`] per participant, built alongside
//! the participant's RDF graph and swapped whole when it is recrawled, so a
//! search never sees half a catalog. A shard is immutable once built.
//!
//! Layout of a shard (documents are numbered 0..n in crawl order, their offers
//! 0..m in document order):
//!
//! - words: a `BTreeMap` from each folded word to its sorted posting list
//!   (`Vec<u32>` of documents), one map for titles and one for the rest, so a
//!   prefix is a range scan whose lists are OR-ed into a bitset;
//! - facets: for each value of a document facet (kind, work type, language) and
//!   of an offer facet (distinct territory set, license type, purpose mask), the
//!   set of documents (resp. offers) holding it, stored as a sorted `Vec<u32>`
//!   or as a bitset of one bit per document (offer), whichever is smaller (so a facet
//!   never costs more than 4 bytes per posting, and a frequent value is a plain
//!   bitset); EIDRs and ISANs, unique per work, as a sorted `(hash, document)`
//!   array checked against the record;
//! - ranking: the documents sorted once by (sort key, dataset id), and each
//!   document's place in that order.
//!
//! A search evaluates a filter per shard as bitset algebra: AND across
//! parameters, OR over the facet values one parameter accepts (`es` → `es` and
//! `es-419`, `EU` → every territory set meeting the EU, purpose `svod` → every
//! purpose mask allowing it, license type `svod` → `SVOD`, `svod` and the offers
//! allowing any license type). Offer-level filters are evaluated over offers,
//! because one offer must satisfy all of them together, then projected to their
//! documents (the identity, at no cost, when every document has exactly one
//! offer). Facet counts are popcounts
//! of (result ∧ value postings); only the requested page is selected, per shard
//! by (score, rank) on integers, then merged across shards with the full order,
//! and only its hits are built.

use std::borrow::Borrow;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::ops::{Bound, Range};
use std::sync::Arc;

use passerelle_dsp::catalog::DatasetKind;
use passerelle_policy::vocab::territory::Area;
use passerelle_policy::{Purpose, TerritorySet};
use serde::Serialize;
use time::OffsetDateTime;

use crate::record::{DatasetRecord, kind_name, purpose_allowed};
use crate::registry::Participant;

/// Words of a bitset over `len` items.
fn words_for(len: usize) -> usize {
    len.div_ceil(64)
}

#[inline]
fn test(bits: &[u64], i: usize) -> bool {
    (bits[i >> 6] >> (i & 63)) & 1 != 0
}

#[inline]
fn set(bits: &mut [u64], i: usize) {
    bits[i >> 6] |= 1 << (i & 63);
}

fn count(bits: &[u64]) -> usize {
    bits.iter().map(|w| w.count_ones() as usize).sum()
}

fn and_assign(bits: &mut [u64], other: &[u64]) {
    for (b, o) in bits.iter_mut().zip(other) {
        *b &= o;
    }
}

/// The first `len` bits set.
fn full(len: usize) -> Vec<u64> {
    let mut bits = vec![u64::MAX; words_for(len)];
    if !len.is_multiple_of(64) {
        bits[len / 64] = (1 << (len % 64)) - 1;
    }
    bits
}

/// The positions of the set bits, in increasing order.
fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(i, &word)| {
        let mut word = word;
        std::iter::from_fn(move || {
            if word == 0 {
                return None;
            }
            let b = word.trailing_zeros() as usize;
            word &= word - 1;
            Some(i * 64 + b)
        })
    })
}

/// A set of documents (or offers) of one shard: a sorted list or a bitset, whichever is smaller.
#[derive(Debug, Clone, PartialEq)]
enum Postings {
    Sparse(Box<[u32]>),
    Dense(Box<[u64]>),
}

impl Postings {
    /// From sorted, deduplicated ids below `universe`.
    fn new(ids: Vec<u32>, universe: usize) -> Postings {
        let words = words_for(universe);
        // 4 bytes per id against 8 bytes per 64 ids.
        if ids.len() >= 2 * words && words > 0 {
            let mut bits = vec![0u64; words];
            for &i in &ids {
                set(&mut bits, i as usize);
            }
            Postings::Dense(bits.into_boxed_slice())
        } else {
            Postings::Sparse(ids.into_boxed_slice())
        }
    }

    fn or_into(&self, bits: &mut [u64]) {
        match self {
            Postings::Dense(d) => {
                for (b, w) in bits.iter_mut().zip(d.iter()) {
                    *b |= w;
                }
            }
            Postings::Sparse(s) => {
                for &i in s.iter() {
                    set(bits, i as usize);
                }
            }
        }
    }

    /// How many of these are also in `bits`.
    fn and_count(&self, bits: &[u64]) -> usize {
        match self {
            Postings::Dense(d) => d.iter().zip(bits).map(|(a, b)| (a & b).count_ones() as usize).sum(),
            Postings::Sparse(s) => s.iter().filter(|&&i| test(bits, i as usize)).count(),
        }
    }

    fn for_each(&self, mut f: impl FnMut(usize)) {
        match self {
            Postings::Dense(d) => ones(d).for_each(f),
            Postings::Sparse(s) => s.iter().for_each(|&i| f(i as usize)),
        }
    }
}

/// The values of one facet in a shard, each with the documents (or offers) holding it.
#[derive(Debug, Clone)]
struct Facet<K> {
    values: Vec<(K, Postings)>,
}

impl<K> Facet<K> {
    /// The union of the postings of every value `accept` takes (OR within one parameter).
    fn union_where(&self, words: usize, mut accept: impl FnMut(&K) -> bool) -> Vec<u64> {
        let mut bits = vec![0u64; words];
        for (key, postings) in &self.values {
            if accept(key) {
                postings.or_into(&mut bits);
            }
        }
        bits
    }
}

struct FacetBuilder<K> {
    slots: HashMap<K, usize>,
    lists: Vec<(K, Vec<u32>)>,
}

impl<K: Hash + Eq + Clone> FacetBuilder<K> {
    fn new() -> Self {
        FacetBuilder { slots: HashMap::new(), lists: Vec::new() }
    }

    /// Records that `id` holds `key`; ids must come in increasing order.
    fn add<Q>(&mut self, key: &Q, id: u32)
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        let slot = match self.slots.get(key) {
            Some(&slot) => slot,
            None => {
                self.lists.push((key.to_owned(), Vec::new()));
                self.slots.insert(key.to_owned(), self.lists.len() - 1);
                self.lists.len() - 1
            }
        };
        let list = &mut self.lists[slot].1;
        if list.last() != Some(&id) {
            list.push(id);
        }
    }

    fn build(self, universe: usize) -> Facet<K> {
        Facet { values: self.lists.into_iter().map(|(k, ids)| (k, Postings::new(ids, universe))).collect() }
    }
}

fn id_hash(id: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    id.hash(&mut h);
    h.finish()
}

/// The columns of a shard (see the module documentation).
#[derive(Debug, Clone)]
struct Columns {
    kinds: Facet<&'static str>,
    work_types: Facet<String>,
    languages: Facet<String>,
    /// `(hash of the id, document)`, sorted.
    eidrs: Box<[(u64, u32)]>,
    isans: Box<[(u64, u32)]>,
    /// Documents with at least one offer.
    with_offers: Box<[u64]>,
    /// Number of offers.
    offers: usize,
    /// True when document `d` has exactly one offer, numbered `d`: offer and document sets coincide.
    one_offer_each: bool,
    /// Offers of document `d`: `offer_start[d]..offer_start[d + 1]` (empty when `one_offer_each`).
    offer_start: Box<[u32]>,
    /// Document of each offer (empty when `one_offer_each`).
    offer_doc: Box<[u32]>,
    /// Offers by distinct territory set.
    territories: Facet<TerritorySet>,
    /// Offers listing each license type, as written.
    license_types: Facet<String>,
    /// Offers that allow any license type.
    any_license: Postings,
    /// Offers by purpose mask (`None` = any).
    purposes: Facet<Option<u32>>,
    /// Documents in ranking order (sort key, then dataset id).
    by_rank: Box<[u32]>,
    /// Place of each document in `by_rank`.
    rank: Box<[u32]>,
}

impl Columns {
    fn new(records: &[DatasetRecord]) -> Columns {
        let n = records.len();
        let mut kinds = FacetBuilder::<&'static str>::new();
        let mut work_types = FacetBuilder::<String>::new();
        let mut languages = FacetBuilder::<String>::new();
        let mut eidrs = Vec::new();
        let mut isans = Vec::new();
        let mut with_offers = vec![0u64; words_for(n)];
        let mut offer_start = Vec::with_capacity(n + 1);
        let mut offer_doc = Vec::with_capacity(n);
        let mut territories = FacetBuilder::<TerritorySet>::new();
        let mut license_types = FacetBuilder::<String>::new();
        let mut any_license = Vec::new();
        let mut purposes = FacetBuilder::<Option<u32>>::new();
        for (d, record) in records.iter().enumerate() {
            let doc = d as u32;
            if let Some(kind) = record.kind {
                kinds.add(&kind_name(kind), doc);
            }
            if let Some(work_type) = &record.work_type {
                work_types.add(work_type.as_str(), doc);
            }
            for language in &record.languages {
                languages.add(language.as_str(), doc);
            }
            eidrs.extend(record.eidrs.iter().map(|e| (id_hash(e), doc)));
            isans.extend(record.isans.iter().map(|i| (id_hash(i), doc)));
            offer_start.push(offer_doc.len() as u32);
            if !record.offers.is_empty() {
                set(&mut with_offers, d);
            }
            for offer in &record.offers {
                let id = offer_doc.len() as u32;
                offer_doc.push(doc);
                territories.add(&offer.territories, id);
                match &offer.license_types {
                    None => any_license.push(id),
                    Some(list) => list.iter().for_each(|l| license_types.add(l.as_str(), id)),
                }
                purposes.add(&offer.purposes, id);
            }
        }
        offer_start.push(offer_doc.len() as u32);
        let offers = offer_doc.len();
        let one_offer_each = offers == n && records.iter().all(|r| r.offers.len() == 1);
        if one_offer_each {
            offer_start = Vec::new();
            offer_doc = Vec::new();
        }
        for ids in [&mut eidrs, &mut isans] {
            ids.sort_unstable();
            ids.dedup();
        }
        let mut by_rank: Vec<u32> = (0..n as u32).collect();
        by_rank.sort_unstable_by(|&a, &b| {
            let (a, b) = (&records[a as usize], &records[b as usize]);
            a.sort_key.cmp(&b.sort_key).then_with(|| a.dataset_id.cmp(&b.dataset_id))
        });
        let mut rank = vec![0u32; n];
        for (r, &d) in by_rank.iter().enumerate() {
            rank[d as usize] = r as u32;
        }
        Columns {
            kinds: kinds.build(n),
            work_types: work_types.build(n),
            languages: languages.build(n),
            eidrs: eidrs.into_boxed_slice(),
            isans: isans.into_boxed_slice(),
            with_offers: with_offers.into_boxed_slice(),
            offers,
            one_offer_each,
            offer_start: offer_start.into_boxed_slice(),
            offer_doc: offer_doc.into_boxed_slice(),
            territories: territories.build(offers),
            license_types: license_types.build(offers),
            any_license: Postings::new(any_license, offers),
            purposes: purposes.build(offers),
            by_rank: by_rank.into_boxed_slice(),
            rank: rank.into_boxed_slice(),
        }
    }

    fn offers_of(&self, doc: usize) -> Range<usize> {
        if self.one_offer_each {
            doc..doc + 1
        } else {
            self.offer_start[doc] as usize..self.offer_start[doc + 1] as usize
        }
    }

    fn doc_of(&self, offer: usize) -> usize {
        if self.one_offer_each { offer } else { self.offer_doc[offer] as usize }
    }
}

/// The indexed datasets of one participant.
#[derive(Debug, Clone)]
pub struct Shard {
    records: Vec<DatasetRecord>,
    title_postings: BTreeMap<String, Vec<u32>>,
    other_postings: BTreeMap<String, Vec<u32>>,
    columns: Columns,
}

impl Default for Shard {
    fn default() -> Shard {
        Shard::new(Vec::new())
    }
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
                    let list = match postings.get_mut(word.as_str()) {
                        Some(list) => list,
                        None => postings.entry(word.clone()).or_default(),
                    };
                    // Documents are visited in order, so a list stays sorted and deduplicated this way.
                    if list.last() != Some(&doc) {
                        list.push(doc);
                    }
                }
            }
        }
        let columns = Columns::new(&records);
        Shard { records, title_postings, other_postings, columns }
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

    /// Approximate heap bytes of the facet columns and ranking (not the records or the word maps),
    /// for capacity planning.
    pub fn columns_heap_bytes(&self) -> usize {
        fn postings(p: &Postings) -> usize {
            match p {
                Postings::Sparse(s) => s.len() * 4,
                Postings::Dense(d) => d.len() * 8,
            }
        }
        fn facet<K>(f: &Facet<K>, key: impl Fn(&K) -> usize) -> usize {
            f.values.iter().map(|(k, p)| key(k) + postings(p) + std::mem::size_of::<(K, Postings)>()).sum()
        }
        let c = &self.columns;
        facet(&c.kinds, |_| 0)
            + facet(&c.work_types, String::capacity)
            + facet(&c.languages, String::capacity)
            + facet(&c.territories, |_| 0)
            + facet(&c.license_types, String::capacity)
            + facet(&c.purposes, |_| 0)
            + postings(&c.any_license)
            + (c.eidrs.len() + c.isans.len()) * 16
            + c.with_offers.len() * 8
            + (c.offer_start.len() + c.offer_doc.len() + c.by_rank.len() + c.rank.len()) * 4
    }

    /// ORs into `bits` the documents holding a word starting with `prefix`.
    fn prefix_into(postings: &BTreeMap<String, Vec<u32>>, prefix: &str, bits: &mut [u64]) {
        for (_, docs) in postings
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(w, _)| w.starts_with(prefix))
        {
            for &d in docs {
                set(bits, d as usize);
            }
        }
    }

    /// Documents holding one of the ids `wanted` in `field`, from the hashed id column.
    fn id_bits(&self, index: &[(u64, u32)], wanted: &str, field: fn(&DatasetRecord) -> &[String]) -> Vec<u64> {
        let mut bits = vec![0u64; words_for(self.len())];
        let h = id_hash(wanted);
        let start = index.partition_point(|&(x, _)| x < h);
        for &(_, doc) in index[start..].iter().take_while(|&&(x, _)| x == h) {
            if field(&self.records[doc as usize]).iter().any(|id| id == wanted) {
                set(&mut bits, doc as usize);
            }
        }
        bits
    }

    /// Evaluates `filter` (all but provider and role) over this shard.
    fn find(&self, filter: &Filter) -> Found {
        let c = &self.columns;
        let words = words_for(self.len());
        let mut docs = c.with_offers.to_vec();
        let mut title = Vec::with_capacity(filter.words.len());
        for word in &filter.words {
            let mut in_title = vec![0u64; words];
            Shard::prefix_into(&self.title_postings, word, &mut in_title);
            let mut anywhere = in_title.clone();
            Shard::prefix_into(&self.other_postings, word, &mut anywhere);
            and_assign(&mut docs, &anywhere);
            title.push(in_title);
        }
        if let Some(kind) = filter.kind {
            let name = kind_name(kind);
            and_assign(&mut docs, &c.kinds.union_where(words, |k| *k == name));
        }
        if let Some(wanted) = filter.work_type.as_deref() {
            and_assign(&mut docs, &c.work_types.union_where(words, |w| w.eq_ignore_ascii_case(wanted)));
        }
        if let Some(wanted) = filter.language.as_deref() {
            and_assign(&mut docs, &c.languages.union_where(words, |l| language_matches(l, wanted)));
        }
        if let Some(eidr) = filter.eidr.as_deref() {
            and_assign(&mut docs, &self.id_bits(&c.eidrs, eidr, |r| &r.eidrs));
        }
        if let Some(isan) = filter.isan.as_deref() {
            and_assign(&mut docs, &self.id_bits(&c.isans, isan, |r| &r.isans));
        }
        let offers = if filter.territory.is_some() || filter.license_type.is_some() || filter.purpose.is_some() {
            // One offer must satisfy every offer-level parameter: evaluate them over offers.
            let offer_words = words_for(c.offers);
            let mut offers = full(c.offers);
            if let Some(area) = &filter.territory {
                let area = area.members();
                and_assign(&mut offers, &c.territories.union_where(offer_words, |t| !t.intersection(&area).is_empty()));
            }
            if let Some(wanted) = filter.license_type.as_deref() {
                let mut allowed = c.license_types.union_where(offer_words, |l| l.eq_ignore_ascii_case(wanted));
                c.any_license.or_into(&mut allowed);
                and_assign(&mut offers, &allowed);
            }
            if let Some(purpose) = filter.purpose {
                and_assign(&mut offers, &c.purposes.union_where(offer_words, |mask| purpose_allowed(*mask, purpose)));
            }
            if c.one_offer_each {
                and_assign(&mut docs, &offers);
            } else {
                let mut with_match = vec![0u64; words];
                for offer in ones(&offers) {
                    set(&mut with_match, c.doc_of(offer));
                }
                and_assign(&mut docs, &with_match);
            }
            Some(offers)
        } else {
            None
        };
        let total = count(&docs);
        Found { docs, offers, title, total }
    }

    /// The first `k` matches of this shard in search order (score descending, then rank), with their scores.
    fn top(&self, found: &Found, k: usize) -> Vec<(u32, u32)> {
        let k = k.min(found.total);
        if k == 0 {
            return Vec::new();
        }
        let c = &self.columns;
        let n_words = found.title.len() as u64;
        if n_words == 0 && found.total.saturating_mul(16) >= self.len() {
            // Every score is 0 and matches are frequent: walk the ranking until the page is full.
            let mut out = Vec::with_capacity(k);
            for &doc in c.by_rank.iter() {
                if test(&found.docs, doc as usize) {
                    out.push((0, doc));
                    if out.len() == k {
                        break;
                    }
                }
            }
            return out;
        }
        // Key: (2 × words − score, rank), so that the smallest keys come first.
        let mut keys: Vec<u64> = ones(&found.docs)
            .map(|doc| {
                let in_title = found.title.iter().filter(|t| test(t, doc)).count() as u64;
                ((n_words - in_title) << 32) | u64::from(c.rank[doc])
            })
            .collect();
        if keys.len() > k {
            keys.select_nth_unstable(k - 1);
            keys.truncate(k);
        }
        keys.sort_unstable();
        keys.into_iter()
            .map(|key| ((2 * n_words - (key >> 32)) as u32, c.by_rank[(key & u64::from(u32::MAX)) as usize]))
            .collect()
    }

    /// Adds this shard's matches to the facet counts.
    fn count_facets<'a>(&'a self, found: &Found, counts: &mut BorrowedCounts<'a>) {
        let c = &self.columns;
        for (name, postings) in &c.kinds.values {
            let n = postings.and_count(&found.docs);
            if n > 0 {
                *counts.kind.entry(*name).or_default() += n;
            }
        }
        for (work_type, postings) in &c.work_types.values {
            let n = postings.and_count(&found.docs);
            if n > 0 {
                *counts.work_type.entry(work_type.as_str()).or_default() += n;
            }
        }
        // A match counts under each license type of its matching offers, once.
        let mut scratch = Vec::new();
        for (license, postings) in &c.license_types.values {
            let n = if c.one_offer_each {
                // Matches are documents whose only offer matched: the offer sets are the document sets.
                postings.and_count(&found.docs)
            } else {
                scratch.clear();
                scratch.resize(found.docs.len(), 0u64);
                postings.for_each(|offer| {
                    let doc = c.doc_of(offer);
                    if test(&found.docs, doc) && found.offers.as_ref().is_none_or(|o| test(o, offer)) {
                        set(&mut scratch, doc);
                    }
                });
                count(&scratch)
            };
            if n > 0 {
                *counts.license_type.entry(license.as_str()).or_default() += n;
            }
        }
    }
}

fn language_matches(tag: &str, wanted: &str) -> bool {
    tag.strip_prefix(wanted).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// What a filter selects in one shard.
struct Found {
    /// Matching documents.
    docs: Vec<u64>,
    /// Offers satisfying the offer-level parameters; `None` when there are none (every offer).
    offers: Option<Vec<u64>>,
    /// Per query word, the documents with a word of the title starting with it.
    title: Vec<Vec<u64>>,
    /// Number of matching documents.
    total: usize,
}

#[derive(Default)]
struct BorrowedCounts<'a> {
    kind: HashMap<&'a str, usize>,
    work_type: HashMap<&'a str, usize>,
    license_type: HashMap<&'a str, usize>,
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

/// Runs `filter` over every shard.
pub fn search(views: &[ShardView], filter: &Filter) -> SearchResults {
    let end = filter.offset.saturating_add(filter.limit);
    let mut total = 0;
    let mut counts = BorrowedCounts::default();
    let mut providers: BTreeMap<String, usize> = BTreeMap::new();
    // Per shard: what it matched, and its first `end` matches as (view, score, document).
    let mut found: Vec<(usize, Found)> = Vec::new();
    let mut candidates: Vec<(usize, u32, u32)> = Vec::new();
    for (v, view) in views.iter().enumerate() {
        if filter.provider.as_deref().is_some_and(|p| p != view.participant.id)
            || filter.role.as_deref().is_some_and(|r| !r.eq_ignore_ascii_case(&view.participant.role))
        {
            continue;
        }
        let shard = &*view.shard;
        let f = shard.find(filter);
        if f.total == 0 {
            continue;
        }
        total += f.total;
        *providers.entry(view.participant.id.clone()).or_default() += f.total;
        shard.count_facets(&f, &mut counts);
        candidates.extend(shard.top(&f, end).into_iter().map(|(score, doc)| (v, score, doc)));
        found.push((v, f));
    }

    // The page: the shards' heads merged in the full order.
    let record = |&(v, _, doc): &(usize, u32, u32)| &views[v].shard.records[doc as usize];
    candidates.sort_unstable_by(|a, b| {
        let (ra, rb) = (record(a), record(b));
        b.1.cmp(&a.1)
            .then_with(|| ra.sort_key.cmp(&rb.sort_key))
            .then_with(|| views[a.0].participant.id.cmp(&views[b.0].participant.id))
            .then_with(|| ra.dataset_id.cmp(&rb.dataset_id))
    });
    candidates.truncate(end);
    let hits = candidates
        .iter()
        .skip(filter.offset)
        .map(|&(v, score, doc)| {
            let offers = found.iter().find(|(fv, _)| *fv == v).and_then(|(_, f)| f.offers.as_deref());
            hit(&views[v], doc as usize, score, offers)
        })
        .collect();

    let owned = |counts: HashMap<&str, usize>| counts.into_iter().map(|(k, n)| (k.to_string(), n)).collect();
    let facets = FacetCounts {
        provider: providers,
        kind: owned(counts.kind),
        work_type: owned(counts.work_type),
        license_type: owned(counts.license_type),
    };
    SearchResults { total, offset: filter.offset, limit: filter.limit, hits, facets }
}

/// A hit for document `doc` of `view`, listing its offers in `offers` (`None` = all of them).
fn hit(view: &ShardView, doc: usize, score: u32, offers: Option<&[u64]>) -> SearchHit {
    let shard = &*view.shard;
    let record = &shard.records[doc];
    let offer_ids = shard
        .columns
        .offers_of(doc)
        .zip(&record.offers)
        .filter(|(id, _)| offers.is_none_or(|bits| test(bits, *id)))
        .map(|(_, offer)| offer.id.clone())
        .collect();
    SearchHit {
        provider: view.participant.id.clone(),
        provider_address: view.participant.protocol_address.clone(),
        role: view.participant.role.clone(),
        dataset_id: record.dataset_id.clone(),
        title: record.title.clone(),
        description: record.description.clone(),
        kind: record.kind.map(kind_name),
        work_type: record.work_type.clone(),
        eidr: record.eidrs.clone(),
        offer_ids,
        stale: view.stale,
        last_crawled: view.last_success,
        score,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::OfferFacets;
    use crate::registry::Participant;
    use crate::text::words;
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

    /// The search as specified, record by record with a full sort: the oracle for the index.
    fn reference_search(views: &[ShardView], filter: &Filter) -> SearchResults {
        let prefixes = |words: &[String], w: &str| words.iter().any(|x| x.starts_with(w));
        let offer_matches = |o: &OfferFacets| {
            filter.territory.as_ref().is_none_or(|area| !o.territories.intersection(&area.members()).is_empty())
                && filter.license_type.as_deref().is_none_or(|wanted| {
                    o.license_types
                        .as_ref()
                        .is_none_or(|allowed| allowed.iter().any(|l| l.eq_ignore_ascii_case(wanted)))
                })
                && filter.purpose.is_none_or(|p| purpose_allowed(o.purposes, p))
        };
        let mut matches = Vec::new();
        for view in views {
            if filter.provider.as_deref().is_some_and(|p| p != view.participant.id)
                || filter.role.as_deref().is_some_and(|r| !r.eq_ignore_ascii_case(&view.participant.role))
            {
                continue;
            }
            for r in view.shard.records() {
                let f = filter;
                let words_ok = f.words.iter().all(|w| prefixes(&r.title_words, w) || prefixes(&r.other_words, w));
                let dataset_ok = f.kind.is_none_or(|k| r.kind == Some(k))
                    && f.work_type
                        .as_deref()
                        .is_none_or(|w| r.work_type.as_deref().is_some_and(|rw| rw.eq_ignore_ascii_case(w)))
                    && f.eidr.as_deref().is_none_or(|e| r.eidrs.iter().any(|x| x == e))
                    && f.isan.as_deref().is_none_or(|i| r.isans.iter().any(|x| x == i))
                    && f.language.as_deref().is_none_or(|wanted| {
                        r.languages.iter().any(|l| {
                            l.strip_prefix(wanted).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
                        })
                    });
                if !words_ok || !dataset_ok {
                    continue;
                }
                let offers: Vec<&OfferFacets> = r.offers.iter().filter(|o| offer_matches(o)).collect();
                if offers.is_empty() {
                    continue;
                }
                let score: u32 = f.words.iter().map(|w| if prefixes(&r.title_words, w) { 2 } else { 1 }).sum();
                matches.push((view, r, score, offers));
            }
        }
        let mut facets = FacetCounts::default();
        for (view, r, _, offers) in &matches {
            *facets.provider.entry(view.participant.id.clone()).or_default() += 1;
            if let Some(k) = r.kind {
                *facets.kind.entry(kind_name(k).to_string()).or_default() += 1;
            }
            if let Some(wt) = &r.work_type {
                *facets.work_type.entry(wt.clone()).or_default() += 1;
            }
            let mut licenses: Vec<&String> = offers.iter().flat_map(|o| o.license_types.iter().flatten()).collect();
            licenses.sort();
            licenses.dedup();
            for l in licenses {
                *facets.license_type.entry(l.clone()).or_default() += 1;
            }
        }
        matches.sort_by(|a, b| {
            b.2.cmp(&a.2)
                .then_with(|| a.1.sort_key.cmp(&b.1.sort_key))
                .then_with(|| a.0.participant.id.cmp(&b.0.participant.id))
                .then_with(|| a.1.dataset_id.cmp(&b.1.dataset_id))
        });
        let total = matches.len();
        let hits = matches
            .into_iter()
            .skip(filter.offset)
            .take(filter.limit)
            .map(|(view, r, score, offers)| SearchHit {
                provider: view.participant.id.clone(),
                provider_address: view.participant.protocol_address.clone(),
                role: view.participant.role.clone(),
                dataset_id: r.dataset_id.clone(),
                title: r.title.clone(),
                description: r.description.clone(),
                kind: r.kind.map(kind_name),
                work_type: r.work_type.clone(),
                eidr: r.eidrs.clone(),
                offer_ids: offers.iter().map(|o| o.id.clone()).collect(),
                stale: view.stale,
                last_crawled: view.last_success,
                score,
            })
            .collect();
        SearchResults { total, offset: filter.offset, limit: filter.limit, hits, facets }
    }

    /// xorshift: reproducible random catalogs without another dependency.
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 >> 11) as usize % n
        }
        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    const TITLE_WORDS: &[&str] =
        &["river", "rivers", "riviera", "passage", "pass", "storm", "été", "Ete", "gold", "golden", "e", "42"];
    const LANGS: &[&str] = &["fr", "es", "es-419", "en", "en-gb", "e", "pt-br", "pt"];
    const CODES: &[&str] = &["FR", "BE", "DE", "AT", "CH", "NO", "SE", "US", "JP", "EU", "Nordics", "WORLD"];
    const LICENSES: &[&str] = &["SVOD", "svod", "EST", "TVOD", "FreeTV"];
    const WORK_TYPES: &[&str] = &["Movie", "movie", "Episode", "Series"];
    const IDS: &[&str] = &["10.5240/AAAA", "10.5240/BBBB", "10.5240/CCCC"];

    fn random_record(rng: &mut Rng, id: usize, one_offer: bool) -> DatasetRecord {
        let title: Vec<&str> = (0..1 + rng.below(3)).map(|_| rng.pick(TITLE_WORDS)).collect();
        let title = title.join(" ");
        let description: Vec<&str> = (0..rng.below(3)).map(|_| rng.pick(TITLE_WORDS)).collect();
        let description = description.join(" ");
        let offer_count = if one_offer { 1 } else { rng.below(4) };
        let offers = (0..offer_count)
            .map(|o| {
                let mut territories = TerritorySet::EMPTY;
                for _ in 0..rng.below(3) {
                    territories = territories.union(&resolve_area(rng.pick(CODES)).unwrap().members());
                }
                OfferFacets {
                    id: format!("offer:{id}:{o}"),
                    territories,
                    license_types: rng
                        .chance(70)
                        .then(|| (0..rng.below(3)).map(|_| rng.pick(LICENSES).to_string()).collect()),
                    purposes: rng.chance(50).then(|| rng.below(1 << Purpose::ALL.len().min(20)) as u32),
                }
            })
            .collect();
        let mut languages: Vec<String> = (0..rng.below(3)).map(|_| rng.pick(LANGS).to_string()).collect();
        languages.sort();
        languages.dedup();
        DatasetRecord {
            dataset_id: format!("urn:ds:{id}"),
            title: title.clone(),
            description: Some(description.clone()),
            kind: [None, Some(DatasetKind::Work), Some(DatasetKind::Collection), Some(DatasetKind::Service)]
                [rng.below(4)],
            work_type: rng.chance(80).then(|| rng.pick(WORK_TYPES).to_string()),
            eidrs: if rng.chance(30) { vec![rng.pick(IDS).to_string()] } else { vec![] },
            isans: if rng.chance(20) { vec![rng.pick(IDS).to_string()] } else { vec![] },
            languages,
            offers,
            title_words: words(&title),
            other_words: words(&description),
            sort_key: words(&title).join(" "),
        }
    }

    fn random_views(rng: &mut Rng) -> Vec<ShardView> {
        (0..1 + rng.below(4))
            .map(|p| {
                // Sizes around and above 64 exercise partial bitset words, sparse and dense postings.
                let n = [0, 1, 5, 63, 64, 65, 130, 400][rng.below(8)];
                let one_offer = rng.chance(50);
                let records = (0..n).map(|i| random_record(rng, i, one_offer)).collect();
                ShardView {
                    participant: Participant::active(
                        format!("did:web:p{p}"),
                        format!("http://p{p}/dsp"),
                        ["distributor", "lab"][rng.below(2)],
                    ),
                    shard: Arc::new(Shard::new(records)),
                    stale: rng.chance(20),
                    last_success: None,
                }
            })
            .collect()
    }

    fn random_filter(rng: &mut Rng) -> Filter {
        let query: Vec<&str> =
            (0..rng.below(3)).map(|_| rng.pick(&["r", "riv", "pass", "e", "ete", "gold", "storm", "4", "x"])).collect();
        Filter {
            words: words(&query.join(" ")),
            provider: rng.chance(10).then(|| format!("did:web:p{}", rng.below(3))),
            role: rng.chance(10).then(|| rng.pick(&["LAB", "distributor"]).to_string()),
            work_type: rng.chance(25).then(|| rng.pick(&["movie", "EPISODE", "Series", "short"]).to_string()),
            eidr: rng.chance(10).then(|| rng.pick(IDS).to_string()),
            isan: rng.chance(10).then(|| rng.pick(IDS).to_string()),
            language: rng.chance(30).then(|| rng.pick(&["es", "en", "e", "pt", "pt-br", "es-419", "de"]).to_string()),
            territory: rng.chance(30).then(|| resolve_area(rng.pick(&["FR", "EU", "DACH", "US", "JP", "KR"])).unwrap()),
            license_type: rng.chance(30).then(|| rng.pick(&["svod", "EST", "tvod", "AVOD"]).to_string()),
            purpose: rng.chance(30).then(|| Purpose::ALL[rng.below(Purpose::ALL.len())]),
            kind: rng
                .chance(25)
                .then(|| [DatasetKind::Work, DatasetKind::Collection, DatasetKind::Service][rng.below(3)]),
            offset: [0, 0, 1, 3, 50, 500][rng.below(6)],
            limit: [1, 2, 10, 20, 200][rng.below(5)],
        }
    }

    #[test]
    fn index_agrees_with_the_record_by_record_search_on_random_catalogs() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut nonempty = 0;
        for round in 0..150 {
            let views = random_views(&mut rng);
            for _ in 0..20 {
                let filter = random_filter(&mut rng);
                let expected = reference_search(&views, &filter);
                let actual = search(&views, &filter);
                assert_eq!(actual, expected, "round {round}, filter {filter:?}");
                nonempty += usize::from(!expected.hits.is_empty());
            }
        }
        assert!(nonempty > 500, "the random filters must find something often ({nonempty})");
    }

    #[test]
    fn postings_are_a_list_or_a_bitset_and_answer_the_same() {
        for (ids, universe) in [(vec![1u32, 5, 64, 199], 200usize), ((0..200).step_by(3).collect(), 200), (vec![], 0)] {
            let postings = Postings::new(ids.clone(), universe);
            let dense = ids.len() >= 2 * words_for(universe) && universe > 0;
            assert_eq!(matches!(postings, Postings::Dense(_)), dense, "{ids:?}");
            let mut bits = vec![0u64; words_for(universe)];
            postings.or_into(&mut bits);
            assert_eq!(ones(&bits).map(|i| i as u32).collect::<Vec<_>>(), ids);
            let mut seen = Vec::new();
            postings.for_each(|i| seen.push(i as u32));
            assert_eq!(seen, ids);
            let evens: Vec<u64> = vec![0x5555_5555_5555_5555; words_for(universe)];
            assert_eq!(postings.and_count(&evens), ids.iter().filter(|i| *i % 2 == 0).count());
        }
        assert_eq!(count(&full(130)), 130);
        assert_eq!(full(128).len(), 2);
        assert!(full(0).is_empty());
    }

    #[test]
    fn facet_parameters_intersect_and_values_of_one_parameter_unite() {
        let mut a = record("a", "Alpha", "", &["es"], "FR");
        a.work_type = Some("Episode".into());
        let mut b = record("b", "Beta", "", &["es-419"], "DE");
        b.work_type = Some("episode".into());
        let mut c = record("c", "Gamma", "", &["es"], "US");
        c.kind = Some(DatasetKind::Service);
        c.work_type = Some("Episode".into());
        let d = record("d", "Delta", "", &["en"], "FR");
        let shard = Shard::new(vec![a, b, c, d]);
        let ids_of = |f: Filter| -> Vec<usize> { ones(&shard.find(&f).docs).collect() };
        // OR within a parameter: both spellings of the work type, and a language with its subtags.
        assert_eq!(ids_of(Filter { work_type: Some("EPISODE".into()), ..Filter::default() }), [0, 1, 2]);
        assert_eq!(ids_of(Filter { language: Some("es".into()), ..Filter::default() }), [0, 1, 2]);
        // AND across parameters.
        let f = Filter { work_type: Some("episode".into()), kind: Some(DatasetKind::Work), ..Filter::default() };
        assert_eq!(ids_of(f), [0, 1]);
        let f = Filter { language: Some("es".into()), territory: resolve_area("EU"), ..Filter::default() };
        assert_eq!(ids_of(f), [0, 1]);
        let f = Filter { language: Some("es".into()), territory: resolve_area("FR"), ..Filter::default() };
        assert_eq!(ids_of(f), [0]);
    }

    #[test]
    fn a_prefix_unites_the_postings_of_every_word_it_starts() {
        let shard = Shard::new(vec![
            record("a", "River", "", &[], "FR"),
            record("b", "Riviera", "", &[], "FR"),
            record("c", "Rover", "rivulet", &[], "FR"),
            record("d", "Arrival", "", &[], "FR"),
        ]);
        let mut title = vec![0u64; 1];
        Shard::prefix_into(&shard.title_postings, "riv", &mut title);
        assert_eq!(ones(&title).collect::<Vec<_>>(), [0, 1]);
        let found = shard.find(&Filter { words: words("riv"), ..Filter::default() });
        assert_eq!(ones(&found.docs).collect::<Vec<_>>(), [0, 1, 2], "the description counts too");
        assert_eq!(shard.top(&found, 10), [(2, 0), (2, 1), (1, 2)], "title matches score 2");
    }

    #[test]
    fn one_offer_must_satisfy_every_offer_parameter() {
        let mut r = record("a", "Alpha", "", &[], "FR");
        r.offers = vec![
            OfferFacets {
                id: "fr-svod".into(),
                territories: resolve_area("FR").unwrap().members(),
                license_types: Some(vec!["SVOD".into()]),
                purposes: None,
            },
            OfferFacets {
                id: "us-est".into(),
                territories: resolve_area("US").unwrap().members(),
                license_types: Some(vec!["EST".into()]),
                purposes: None,
            },
        ];
        let v = vec![ShardView {
            participant: Participant::active("did:web:d", "http://d/dsp/2025-1", "distributor"),
            shard: Arc::new(Shard::new(vec![r])),
            stale: false,
            last_success: None,
        }];
        let f = |t: &str, l: &str| Filter {
            territory: resolve_area(t),
            license_type: Some(l.into()),
            limit: 10,
            ..Filter::default()
        };
        assert_eq!(search(&v, &f("FR", "EST")).total, 0, "FR is one offer, EST another");
        let r = search(&v, &f("US", "est"));
        assert_eq!(r.hits[0].offer_ids, ["us-est"]);
        assert_eq!(r.facets.license_type, BTreeMap::from([("EST".to_string(), 1)]), "only the matching offer counts");
        let all = search(&v, &Filter { limit: 10, ..Filter::default() });
        assert_eq!(all.hits[0].offer_ids, ["fr-svod", "us-est"]);
        assert_eq!(all.facets.license_type.len(), 2);
    }

    #[test]
    fn the_page_selected_per_shard_is_the_head_of_the_full_sort() {
        let mut rng = Rng(7);
        for _ in 0..40 {
            let n = 1 + rng.below(300);
            let records = (0..n).map(|i| random_record(&mut rng, i, true)).collect();
            let shard = Shard::new(records);
            let filter = Filter { words: words(rng.pick(&["", "r", "e pass", "riv gold"])), ..Filter::default() };
            let found = shard.find(&filter);
            let all = shard.top(&found, usize::MAX);
            assert_eq!(all.len(), found.total);
            let mut sorted = all.clone();
            sorted.sort_by(|a, b| {
                let (ra, rb) = (&shard.records[a.1 as usize], &shard.records[b.1 as usize]);
                b.0.cmp(&a.0)
                    .then_with(|| ra.sort_key.cmp(&rb.sort_key))
                    .then_with(|| ra.dataset_id.cmp(&rb.dataset_id))
            });
            assert_eq!(all, sorted);
            for k in [0, 1, 7, n / 2, n + 3] {
                assert_eq!(shard.top(&found, k), all[..k.min(found.total)]);
            }
        }
    }
}
