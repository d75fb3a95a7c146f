//! Serving a DID document over HTTP (`/.well-known/did.json` or `/<path>/did.json`).

use std::sync::{Arc, RwLock};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Did, DidDocument};

/// A DID document that can change while served (key rotation).
pub type SharedDidDocument = Arc<RwLock<DidDocument>>;

/// `GET <did.document_path()>` answering the current document as `application/did+json`.
pub fn document_router(did: &Did, document: SharedDidDocument) -> axum::Router {
    axum::Router::new().route(&did.document_path(), get(serve)).with_state(document)
}

async fn serve(State(document): State<SharedDidDocument>) -> Response {
    let body = {
        let document = document.read().unwrap_or_else(|e| e.into_inner());
        serde_json::to_string(&*document)
    };
    match body {
        Ok(json) => ([(header::CONTENT_TYPE, "application/did+json")], json).into_response(),
        Err(e) => (axum::http::StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
