//! Streaming JSON bodies: a catalog page is serialized dataset by dataset as the
//! body is polled, so a response never needs more memory than its page.
//!
//! Datasets are coalesced into chunks of about [`CHUNK_TARGET`] bytes: one
//! chunk per dataset means one small TCP write each, which with Nagle's
//! algorithm and delayed ACKs costs tens of milliseconds per page.

use axum::body::Body;
use bytes::Bytes;
use futures::stream;

use crate::message::catalog::{Catalog, Dataset};

/// Size a streamed chunk grows to before it is handed to the connection.
pub const CHUNK_TARGET: usize = 16 * 1024;

/// Serializes `head` (a catalog with no datasets) followed by `datasets` as one
/// JSON object, producing the bytes of each dataset only when the body is polled.
///
/// `head` serializes its members in declaration order and `dataset` is the
/// last, so the streamed document has the same member order as serializing the
/// whole [`Catalog`] at once.
pub fn catalog_stream(head: Catalog, datasets: Vec<Dataset>) -> Result<Body, serde_json::Error> {
    let mut head = head;
    head.dataset.clear();
    let mut opening = serde_json::to_vec(&head)?;
    // `head` always has `@id` and `@type`, so its serialization is `{…}` with at
    // least one member: replacing the closing brace continues the object.
    opening.pop();
    if datasets.is_empty() {
        opening.push(b'}');
        return Ok(Body::from(opening));
    }
    opening.extend_from_slice(br#","dataset":["#);
    let count = datasets.len();
    let items = datasets.into_iter().enumerate().map(move |(i, dataset)| {
        let mut chunk = serde_json::to_vec(&dataset).map_err(std::io::Error::other)?;
        chunk.push(if i + 1 == count { b']' } else { b',' });
        Ok::<Bytes, std::io::Error>(Bytes::from(chunk))
    });
    let pieces =
        std::iter::once(Ok(Bytes::from(opening))).chain(items).chain(std::iter::once(Ok(Bytes::from_static(b"}"))));
    Ok(Body::from_stream(stream::iter(Coalesce { pieces })))
}

/// Joins consecutive pieces until a chunk reaches [`CHUNK_TARGET`] bytes; lazy,
/// so at most one chunk (plus one dataset) is in memory at a time.
struct Coalesce<I> {
    pieces: I,
}

impl<I: Iterator<Item = Result<Bytes, std::io::Error>>> Iterator for Coalesce<I> {
    type Item = Result<Bytes, std::io::Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut chunk = Vec::new();
        for piece in self.pieces.by_ref() {
            match piece {
                Ok(bytes) => chunk.extend_from_slice(&bytes),
                Err(e) => return Some(Err(e)),
            }
            if chunk.len() >= CHUNK_TARGET {
                break;
            }
        }
        (!chunk.is_empty()).then(|| Ok(Bytes::from(chunk)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ProviderInfo;
    use crate::message::catalog::{AccessService, DatasetType, Distribution, DistributionType};
    use crate::render::Renderer;
    use futures::StreamExt;

    fn dataset(n: usize) -> Dataset {
        Dataset {
            context: None,
            id: format!("urn:d:{n}"),
            message_type: DatasetType,
            media: Default::default(),
            has_policy: vec![
                serde_json::json!({"@id": format!("urn:o:{n}"), "@type": "Offer", "permission": [{"action": "use"}]}),
            ],
            distribution: vec![Distribution {
                message_type: DistributionType,
                format: "HttpData-PULL".into(),
                access_service: AccessService::Reference("urn:s".into()),
                has_policy: vec![],
            }],
        }
    }

    fn head() -> Catalog {
        Renderer::new(ProviderInfo {
            participant_id: "did:web:p".into(),
            protocol_base_url: "http://127.0.0.1:1".into(),
            catalog_id: "urn:c".into(),
        })
        .catalog_head()
    }

    async fn collect(body: Body) -> Vec<Bytes> {
        let mut stream = body.into_data_stream();
        let mut chunks = Vec::new();
        while let Some(chunk) = stream.next().await {
            chunks.push(chunk.unwrap());
        }
        chunks
    }

    #[tokio::test]
    async fn streamed_bytes_equal_the_whole_catalog_serialized_at_once() {
        for n in [0, 1, 3] {
            let datasets: Vec<Dataset> = (0..n).map(dataset).collect();
            let mut whole = head();
            whole.dataset = datasets.clone();
            let chunks = collect(catalog_stream(head(), datasets).unwrap()).await;
            assert_eq!(chunks.concat(), serde_json::to_vec(&whole).unwrap(), "{n} datasets");
            assert_eq!(chunks.len(), 1, "{n} small datasets fit in one chunk");
        }
    }

    #[tokio::test]
    async fn a_large_page_goes_out_in_bounded_chunks_of_whole_datasets() {
        let datasets: Vec<Dataset> = (0..400).map(dataset).collect();
        let one = serde_json::to_vec(&datasets[0]).unwrap().len();
        let mut whole = head();
        whole.dataset = datasets.clone();
        let chunks = collect(catalog_stream(head(), datasets).unwrap()).await;
        assert_eq!(chunks.concat(), serde_json::to_vec(&whole).unwrap());
        assert!(chunks.len() > 1, "400 datasets ({one} bytes each) need more than one chunk");
        for chunk in &chunks {
            assert!(chunk.len() < CHUNK_TARGET + one + 64, "chunk of {} bytes exceeds the target", chunk.len());
        }
    }
}
