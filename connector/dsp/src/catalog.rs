//! What the connector hands to the DSP catalog: one [`DatasetEntry`] per dataset
//! (a work, a collection, a service), served page by page by a [`CatalogSource`].
//!
//! The DSP layer never looks into the store: it asks the source for a page or a
//! dataset and renders what it gets. Cursors are opaque to this crate; the
//! source chooses them (typically the last dataset id of the page, for keyset
//! pagination).

use std::future::Future;

use passerelle_media::{LanguageTag, RightsWindow, Version, Work};

use crate::message::media::ServiceTerms;
use serde_json::Value;
use time::OffsetDateTime;

/// What a dataset is about, in the trade's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DatasetKind {
    /// "Versions and rights of work X".
    Work,
    /// A set of works chosen by a rule ("all works licensed for FR free-to-air").
    Collection,
    /// A service offered under contract ("subtitling: languages, formats, turnaround").
    Service,
}

impl DatasetKind {
    /// The word used for this kind in the rendered dataset (a term of our media context).
    pub fn as_str(self) -> &'static str {
        match self {
            DatasetKind::Work => "WorkDataset",
            DatasetKind::Collection => "CollectionDataset",
            DatasetKind::Service => "ServiceDataset",
        }
    }
}

/// One `dcat:Dataset` as the connector knows it, before rendering.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetEntry {
    /// Dataset `@id`: an opaque string chosen by the connector. It appears as is in
    /// the catalog and, percent-encoded, in `GET /dsp/2025-1/catalog/datasets/{id}`.
    pub id: String,
    pub kind: DatasetKind,
    pub title: String,
    pub description: Option<String>,
    /// The work the dataset is about (for [`DatasetKind::Work`]).
    pub work: Option<Work>,
    pub versions: Vec<Version>,
    pub rights: Vec<RightsWindow>,
    pub keywords: Vec<String>,
    pub languages: Vec<LanguageTag>,
    /// ODRL Offers in DSP compact form, each with `@id` and `"@type": "Offer"`; no
    /// `target` (inside a dataset's `hasPolicy` the dataset is the target).
    pub offers: Vec<Value>,
    pub modified: Option<OffsetDateTime>,
    /// What a [`DatasetKind::Service`] offers (target languages, kinds, formats, turnaround, price).
    pub service_terms: Option<ServiceTerms>,
}

/// One page of the catalogue, in the source's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogPage {
    pub entries: Vec<DatasetEntry>,
    /// Cursor of the page after this one; `None` on the last page.
    pub next_cursor: Option<String>,
}

/// Why the source could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The cursor was not issued by this source (or no longer makes sense).
    #[error("unknown or expired catalog cursor `{0}`: restart from the first page")]
    InvalidCursor(String),
    /// The source is temporarily unable to answer (store busy, connection lost).
    #[error("catalog temporarily unavailable: {0}")]
    Unavailable(String),
    /// Anything else; the text is logged, never shown to the requester in detail.
    #[error("internal catalog error: {0}")]
    Internal(String),
}

/// Where the catalog's datasets come from (the connector's store, or test data).
pub trait CatalogSource: Clone + Send + Sync + 'static {
    /// Up to `limit` entries after `cursor` (`None` = the first page).
    fn page(
        &self,
        cursor: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<CatalogPage, SourceError>> + Send;

    /// The entry with this dataset id, if any.
    fn dataset(&self, id: &str) -> impl Future<Output = Result<Option<DatasetEntry>, SourceError>> + Send;
}

/// Who is answering: identifies the provider in every catalog it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderInfo {
    /// The provider's participant id (its DID once identities are in place).
    pub participant_id: String,
    /// Public base URL of the protocol listener, without trailing slash, e.g. `http://127.0.0.1:8181`.
    pub protocol_base_url: String,
    /// `@id` of the root catalog.
    pub catalog_id: String,
}
