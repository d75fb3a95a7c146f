//! The read-only SPARQL 1.1 query service over the catalogue's RDF store:
//! results as SPARQL JSON or CSV (graphs as N-Triples), updates refused, and
//! every query bounded in time — it runs on a blocking thread with an oxigraph
//! cancellation token that is fired when the deadline passes.

use std::time::Duration;

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryEvaluationError, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;

/// How solutions and booleans are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultsFormat {
    /// `application/sparql-results+json` (the default).
    Json,
    /// `text/csv`.
    Csv,
}

impl ResultsFormat {
    /// Chooses from an `Accept` header: CSV when it asks for `text/csv` before any JSON type.
    pub fn from_accept(accept: Option<&str>) -> ResultsFormat {
        let Some(accept) = accept else { return ResultsFormat::Json };
        for range in accept.split(',') {
            let media = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
            match media.as_str() {
                "text/csv" => return ResultsFormat::Csv,
                "application/sparql-results+json" | "application/json" => return ResultsFormat::Json,
                _ => {}
            }
        }
        ResultsFormat::Json
    }
}

/// A serialized answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SparqlAnswer {
    pub content_type: &'static str,
    pub body: Vec<u8>,
}

/// Why a query got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SparqlError {
    #[error("no `query` parameter: send the SPARQL query as `query=` (GET or form POST) or as an application/sparql-query body")]
    MissingQuery,
    #[error("this endpoint is read-only: SPARQL updates are refused")]
    Update,
    #[error("the query is not valid SPARQL 1.1: {0}")]
    Syntax(String),
    #[error("the query ran longer than {0:?} and was stopped: narrow it (LIMIT, more specific patterns)")]
    Timeout(Duration),
    #[error("the query failed: {0}")]
    Evaluation(String),
}

/// Runs `query` against `store` within `limit`.
pub async fn run_query(
    store: Store,
    query: String,
    format: ResultsFormat,
    limit: Duration,
) -> Result<SparqlAnswer, SparqlError> {
    let token = CancellationToken::new();
    let prepared = match SparqlEvaluator::new().with_cancellation_token(token.clone()).parse_query(&query) {
        Ok(prepared) => prepared,
        Err(error) => {
            return Err(if SparqlEvaluator::new().parse_update(&query).is_ok() {
                SparqlError::Update
            } else {
                SparqlError::Syntax(error.to_string())
            });
        }
    };
    let task = tokio::task::spawn_blocking(move || {
        let results = prepared.on_store(&store).execute().map_err(|e| evaluation(e, limit))?;
        serialize(results, format, limit)
    });
    match tokio::time::timeout(limit, task).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(join)) => Err(SparqlError::Evaluation(format!("the query thread stopped: {join}"))),
        Err(_) => {
            // The blocking thread notices the token at its next step and frees its resources.
            token.cancel();
            Err(SparqlError::Timeout(limit))
        }
    }
}

fn evaluation(error: QueryEvaluationError, limit: Duration) -> SparqlError {
    match error {
        QueryEvaluationError::Cancelled => SparqlError::Timeout(limit),
        other => SparqlError::Evaluation(other.to_string()),
    }
}

fn serialize(results: QueryResults<'_>, format: ResultsFormat, limit: Duration) -> Result<SparqlAnswer, SparqlError> {
    let io = |e: std::io::Error| SparqlError::Evaluation(format!("results could not be written: {e}"));
    let (results_format, content_type) = match format {
        ResultsFormat::Json => (QueryResultsFormat::Json, "application/sparql-results+json"),
        ResultsFormat::Csv => (QueryResultsFormat::Csv, "text/csv; charset=utf-8"),
    };
    let serializer = QueryResultsSerializer::from_format(results_format);
    let body = match results {
        QueryResults::Boolean(value) => serializer.serialize_boolean_to_writer(Vec::new(), value).map_err(io)?,
        QueryResults::Solutions(solutions) => {
            let mut writer =
                serializer.serialize_solutions_to_writer(Vec::new(), solutions.variables().to_vec()).map_err(io)?;
            for solution in solutions {
                writer.serialize(&solution.map_err(|e| evaluation(e, limit))?).map_err(io)?;
            }
            writer.finish().map_err(io)?
        }
        QueryResults::Graph(triples) => {
            let mut writer = RdfSerializer::from_format(RdfFormat::NTriples).for_writer(Vec::new());
            for triple in triples {
                writer.serialize_triple(&triple.map_err(|e| evaluation(e, limit))?).map_err(io)?;
            }
            let body = writer.finish().map_err(io)?;
            return Ok(SparqlAnswer { content_type: "application/n-triples", body });
        }
    };
    Ok(SparqlAnswer { content_type, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxigraph::model::{GraphName, Literal, NamedNode, Quad};

    fn store(n: usize) -> Store {
        let store = Store::new().unwrap();
        let p = NamedNode::new("http://purl.org/dc/terms/title").unwrap();
        for i in 0..n {
            let s = NamedNode::new(format!("urn:ds:{i}")).unwrap();
            store.insert(&Quad::new(s, p.clone(), Literal::from(format!("t{i}")), GraphName::DefaultGraph)).unwrap();
        }
        store
    }

    #[tokio::test]
    async fn counts_in_json_and_csv() {
        let q = "SELECT (COUNT(*) AS ?n) WHERE { ?s <http://purl.org/dc/terms/title> ?t }".to_string();
        let json = run_query(store(3), q.clone(), ResultsFormat::Json, Duration::from_secs(5)).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(v["results"]["bindings"][0]["n"]["value"], "3");
        let csv = run_query(store(3), q, ResultsFormat::Csv, Duration::from_secs(5)).await.unwrap();
        assert_eq!(String::from_utf8(csv.body).unwrap().replace('\r', ""), "n\n3\n");
        let ask = run_query(store(1), "ASK { ?s ?p ?o }".into(), ResultsFormat::Json, Duration::from_secs(5));
        assert_eq!(ask.await.unwrap().body, br#"{"head":{},"boolean":true}"#);
    }

    #[tokio::test]
    async fn updates_and_nonsense_are_refused_and_long_queries_stopped() {
        let update = run_query(store(1), "DELETE WHERE { ?s ?p ?o }".into(), ResultsFormat::Json, Duration::from_secs(5));
        assert!(matches!(update.await, Err(SparqlError::Update)));
        let bad = run_query(store(1), "SELEC nothing".into(), ResultsFormat::Json, Duration::from_secs(5));
        assert!(matches!(bad.await, Err(SparqlError::Syntax(_))));
        let huge = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }";
        let started = std::time::Instant::now();
        let slow = run_query(store(200), huge.into(), ResultsFormat::Json, Duration::from_millis(300)).await;
        assert!(matches!(slow, Err(SparqlError::Timeout(_))), "{slow:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(ResultsFormat::from_accept(Some("text/csv;q=0.9, */*")), ResultsFormat::Csv);
        assert_eq!(ResultsFormat::from_accept(Some("application/sparql-results+json,text/csv")), ResultsFormat::Json);
    }
}
