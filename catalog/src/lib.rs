//! The federated catalogue and participant registry (the data-space operator's side).
//!
//! Not built yet: this crate is reserved so that the workspace has its final shape.
//! It will crawl every registered participant's DSP catalog into an embedded RDF
//! store (oxigraph), answer search and SPARQL, and host the data-space authority.
