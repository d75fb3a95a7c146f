//! The RDF side of the catalogue: crawled catalog pages (compact JSON-LD) are
//! turned into quads by a real JSON-LD processor (oxjsonld) with every context
//! loaded offline, and stored in an in-memory oxigraph store, one named graph
//! per participant. A recrawl replaces the graph in one transaction, so a
//! SPARQL reader sees either the old catalog or the new one.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use oxigraph::model::{GraphName, NamedNode, Quad};
use oxigraph::store::{StorageError, Store};
use passerelle_dsp::media_context::{MEDIA_CONTEXT, MEDIA_CONTEXT_PATH};
use passerelle_dsp::message::DSPACE_CONTEXT;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// IRI of the ODRL profile context the DSP context imports.
pub const DSP_ODRL_CONTEXT: &str = "https://w3id.org/dspace/2025/1/odrl-profile.jsonld";

/// Most JSON-LD problems reported per page, so that one bad catalog cannot fill the status.
const MAX_PROBLEMS: usize = 5;

/// A context document could not be read.
#[derive(Debug, thiserror::Error)]
#[error("JSON-LD context file {path} could not be read: {source}")]
pub struct ContextError {
    pub path: String,
    #[source]
    pub source: std::io::Error,
}

/// The JSON-LD contexts the catalogue resolves without the network.
///
/// Our media context is served by every Passerelle connector at
/// `<base>/context/media.jsonld` with identical content, so any URL with that
/// path resolves to the copy built into `passerelle-dsp`; remote catalogs are
/// never allowed to make the catalogue fetch arbitrary URLs.
#[derive(Debug, Clone, Default)]
pub struct Contexts {
    documents: Arc<HashMap<String, Vec<u8>>>,
}

impl Contexts {
    /// Only the media context; add the DSP ones with [`Contexts::with_dsp_contexts_from`].
    pub fn new() -> Self {
        Contexts::default()
    }

    /// Registers a context document under its URL.
    pub fn with_document(mut self, url: impl Into<String>, document: impl Into<Vec<u8>>) -> Self {
        Arc::make_mut(&mut self.documents).insert(url.into(), document.into());
        self
    }

    /// The media context and the DSP 2025-1 contexts built into this crate (copies in
    /// `catalog/contexts/`), so that a running catalogue never fetches a context.
    pub fn dsp_2025_1() -> Self {
        Contexts::new()
            .with_document(DSPACE_CONTEXT, include_str!("../contexts/dspace.jsonld"))
            .with_document(DSP_ODRL_CONTEXT, include_str!("../contexts/odrl.jsonld"))
    }

    /// Reads `dspace.jsonld` and `odrl.jsonld` from the DSP 2025-1 specification's `context` folder.
    pub fn with_dsp_contexts_from(self, context_dir: &Path) -> Result<Self, ContextError> {
        let read = |file: &str| {
            let path = context_dir.join(file);
            std::fs::read(&path).map_err(|source| ContextError { path: path.display().to_string(), source })
        };
        Ok(self
            .with_document(DSPACE_CONTEXT, read("dspace.jsonld")?)
            .with_document(DSP_ODRL_CONTEXT, read("odrl.jsonld")?))
    }

    fn load(&self, url: &str) -> Option<Vec<u8>> {
        if let Some(doc) = self.documents.get(url) {
            return Some(doc.clone());
        }
        url.ends_with(MEDIA_CONTEXT_PATH).then(|| MEDIA_CONTEXT.as_bytes().to_vec())
    }
}

/// Name of a participant's graph: its id when that is an IRI (a DID is), else a URN built from it.
pub fn participant_graph(participant_id: &str) -> NamedNode {
    NamedNode::new(participant_id).unwrap_or_else(|_| {
        NamedNode::new_unchecked(format!(
            "urn:passerelle:participant:{}",
            utf8_percent_encode(participant_id, NON_ALPHANUMERIC)
        ))
    })
}

/// The quads of one catalog page, placed in `graph`, and the JSON-LD problems met.
/// Relative ids resolve against `page_url`. A problem does not stop the page:
/// whatever converted is kept, and the problems go into the crawl status.
pub fn page_quads(contexts: &Contexts, page: &[u8], page_url: &str, graph: &NamedNode) -> (Vec<Quad>, Vec<String>) {
    let loader = contexts.clone();
    let mut parser = oxjsonld::JsonLdParser::new();
    if let Ok(with_base) = oxjsonld::JsonLdParser::new().with_base_iri(page_url) {
        parser = with_base;
    }
    let parser = parser.for_slice(page).with_load_document_callback(move |url, _| match loader.load(url) {
        Some(document) => Ok(oxjsonld::JsonLdRemoteDocument { document, document_url: url.to_string() }),
        None => Err(format!("no offline copy of the JSON-LD context {url}").into()),
    });
    let mut quads = Vec::new();
    let mut problems = Vec::new();
    let graph_name = GraphName::NamedNode(graph.clone());
    for item in parser {
        match item {
            Ok(q) => quads.push(Quad::new(q.subject, q.predicate, q.object, graph_name.clone())),
            Err(e) if problems.len() < MAX_PROBLEMS => problems.push(format!("{page_url}: JSON-LD: {e}")),
            Err(_) => {}
        }
    }
    (quads, problems)
}

/// Replaces the participant's graph with `quads`, atomically.
pub fn replace_graph(store: &Store, graph: &NamedNode, quads: &[Quad]) -> Result<(), StorageError> {
    let mut transaction = store.start_transaction()?;
    transaction.clear_graph(graph)?;
    transaction.remove_named_graph(graph)?;
    transaction.extend(quads);
    transaction.commit()
}

/// Removes the participant's graph.
pub fn drop_graph(store: &Store, graph: &NamedNode) -> Result<(), StorageError> {
    replace_graph(store, graph, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::NamedNodeRef;

    fn contexts() -> Contexts {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/dsp-2025-1/context");
        Contexts::new().with_dsp_contexts_from(&dir).unwrap()
    }

    #[test]
    fn a_page_becomes_quads_in_the_participant_graph_and_replacement_is_whole() {
        let page = br#"{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld", "http://p.example/context/media.jsonld"],
            "@id": "urn:cat:1", "@type": "Catalog", "participantId": "did:web:p.example",
            "dataset": [{"@id": "urn:ds:1", "@type": "Dataset", "title": "Le Passage", "language": ["fr"],
                "hasPolicy": [{"@id": "urn:offer:1", "@type": "Offer", "permission": [{"action": "use"}]}]}]}"#;
        let graph = participant_graph("did:web:p.example");
        assert_eq!(graph.as_str(), "did:web:p.example");
        let (quads, problems) = page_quads(&contexts(), page, "http://p.example/dsp/2025-1/catalog/request", &graph);
        assert!(problems.is_empty(), "{problems:?}");
        let title = NamedNodeRef::new("http://purl.org/dc/terms/title").unwrap();
        assert!(quads.iter().any(|q| q.predicate.as_ref() == title && q.object.to_string() == "\"Le Passage\""));
        assert!(quads.iter().all(|q| q.graph_name == GraphName::NamedNode(graph.clone())));

        let store = Store::new().unwrap();
        replace_graph(&store, &graph, &quads).unwrap();
        assert_eq!(store.len().unwrap(), quads.len());
        replace_graph(&store, &graph, &quads[..1]).unwrap();
        assert_eq!(store.len().unwrap(), 1);
        drop_graph(&store, &graph).unwrap();
        assert!(store.is_empty().unwrap());
    }

    #[test]
    fn built_in_contexts_are_the_specifications_and_expand_a_page() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/dsp-2025-1/context");
        let built_in = Contexts::dsp_2025_1();
        for (url, file) in [(DSPACE_CONTEXT, "dspace.jsonld"), (DSP_ODRL_CONTEXT, "odrl.jsonld")] {
            assert_eq!(
                built_in.load(url),
                Some(std::fs::read(dir.join(file)).unwrap()),
                "{file} differs from the spec"
            );
        }
        let page = br#"{"@context": ["https://w3id.org/dspace/2025/1/context.jsonld"], "@id": "urn:cat:1",
            "@type": "Catalog", "dataset": [{"@id": "urn:ds:1", "@type": "Dataset", "hasPolicy": []}]}"#;
        let (quads, problems) = page_quads(&built_in, page, "http://p/", &participant_graph("did:web:p.example"));
        assert!(problems.is_empty() && !quads.is_empty(), "{problems:?}");
    }

    #[test]
    fn unknown_contexts_are_reported_not_fetched() {
        let page = br#"{"@context": "https://evil.example/ctx.jsonld", "@id": "urn:x", "title": "t"}"#;
        let (_, problems) = page_quads(&contexts(), page, "http://p/", &participant_graph("not an iri"));
        assert!(problems.iter().any(|p| p.contains("no offline copy")), "{problems:?}");
        assert!(participant_graph("not an iri").as_str().starts_with("urn:passerelle:participant:not%20an%20iri"));
    }
}
