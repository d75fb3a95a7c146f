//! The catalog the TCK expects: the datasets of `sample.tck.properties` (CAT0101,
//! CAT0102 and the provider negotiation datasets ACN0101…), each with one offer
//! `CD123:<dataset>:456`. CAT0103 is deliberately absent (CAT:01-03 asks for it and
//! expects a CatalogError).

use passerelle_dsp::catalog::{CatalogPage, CatalogSource, DatasetEntry, DatasetKind, SourceError};
use serde_json::{Value, json};

use super::script;

/// Datasets only the catalog scenarios use.
const CATALOG_DATASETS: &[&str] = &["CAT0101", "CAT0102"];

/// The offer id the TCK's properties give for `dataset`.
pub fn offer_id(dataset: &str) -> String {
    format!("CD123:{dataset}:456")
}

/// The one offer of a seeded dataset: use, without constraints, as the TCK writes them.
pub fn offer(dataset: &str, assigner: &str) -> Value {
    json!({"@id": offer_id(dataset), "@type": "Offer", "assigner": assigner, "permission": [{"action": "use"}]})
}

/// The seeded datasets, in a fixed order so that pages are stable.
#[derive(Debug, Clone)]
pub struct SeededCatalog {
    entries: std::sync::Arc<Vec<DatasetEntry>>,
}

impl SeededCatalog {
    pub fn new(participant_id: &str) -> SeededCatalog {
        let entries = CATALOG_DATASETS
            .iter()
            .copied()
            .chain(script::provider_datasets())
            .map(|id| DatasetEntry {
                id: id.to_string(),
                kind: DatasetKind::Service,
                title: format!("TCK dataset {id}"),
                description: Some("Seeded for the official DSP TCK (tck.enabled = true)".into()),
                work: None,
                versions: Vec::new(),
                rights: Vec::new(),
                keywords: vec!["tck".into()],
                languages: Vec::new(),
                offers: vec![offer(id, participant_id)],
                modified: None,
                service_terms: None,
            })
            .collect();
        SeededCatalog { entries: std::sync::Arc::new(entries) }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.entries.iter().any(|e| e.id == id)
    }
}

impl CatalogSource for SeededCatalog {
    async fn page(&self, cursor: Option<String>, limit: usize) -> Result<CatalogPage, SourceError> {
        let start = match cursor {
            None => 0,
            Some(c) => c.parse::<usize>().map_err(|_| SourceError::InvalidCursor(c))?,
        };
        let end = start.saturating_add(limit.max(1)).min(self.entries.len());
        let entries = self.entries.get(start..end).map(<[DatasetEntry]>::to_vec).unwrap_or_default();
        let next_cursor = (end < self.entries.len()).then(|| end.to_string());
        Ok(CatalogPage { entries, next_cursor })
    }

    async fn dataset(&self, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        Ok(self.entries.iter().find(|e| e.id == id).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_catalog_holds_the_seeded_datasets_but_not_cat0103() {
        let catalog = SeededCatalog::new("did:web:cut");
        assert!(catalog.contains("CAT0101") && catalog.contains("ACN0304"));
        assert!(catalog.dataset("CAT0103").await.unwrap().is_none());
        let entry = catalog.dataset("ACN0102").await.unwrap().unwrap();
        assert_eq!(entry.offers[0]["@id"], "CD123:ACN0102:456");
        let first = catalog.page(None, 10).await.unwrap();
        assert_eq!(first.entries.len(), 10);
        let rest = catalog.page(first.next_cursor, 100).await.unwrap();
        assert_eq!(rest.entries.len(), 7);
        assert!(rest.next_cursor.is_none());
        assert!(matches!(catalog.page(Some("x".into()), 1).await, Err(SourceError::InvalidCursor(_))));
    }
}
