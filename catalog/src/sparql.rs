//! The read-only SPARQL 1.1 query service over the catalogue's RDF store:
//! results as SPARQL JSON or CSV (graphs as N-Triples), updates refused, and
//! every query bounded in time ([`QueryRunner`]).

use std::sync::Arc;
use std::time::Duration;

use oxigraph::io::{RdfFormat, RdfSerializer};
use oxigraph::sparql::results::{QueryResultsFormat, QueryResultsSerializer};
use oxigraph::sparql::{CancellationToken, QueryEvaluationError, QueryResults, SparqlEvaluator};
use oxigraph::store::Store;
use tokio::sync::{Semaphore, oneshot};

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
    #[error(
        "no `query` parameter: send the SPARQL query as `query=` (GET or form POST) or as an application/sparql-query body"
    )]
    MissingQuery,
    #[error("this endpoint is read-only: SPARQL updates are refused")]
    Update,
    #[error("the query is not valid SPARQL 1.1: {0}")]
    Syntax(String),
    #[error("the query ran longer than {0:?} and was stopped: narrow it (LIMIT, more specific patterns)")]
    Timeout(Duration),
    #[error("too many queries are running: retry later")]
    Busy,
    #[error("the query failed: {0}")]
    Evaluation(String),
}

/// Runs queries with a time limit and a bound on how many may run at once.
///
/// oxigraph checks the cancellation token only when it reads the store, so a
/// join evaluated in memory (a cross product, say) may keep its thread busy
/// after the deadline even though the caller already got its timeout answer.
/// Queries therefore run on their own threads, never on the async runtime's
/// blocking pool (whose shutdown would wait for them), and each holds a permit
/// until its thread really ends: when every permit is held by such runaway
/// queries, new queries are refused as busy instead of piling up.
#[derive(Debug, Clone)]
pub struct QueryRunner {
    permits: Arc<Semaphore>,
    limit: Duration,
}

impl QueryRunner {
    /// At most `concurrent` queries at a time (at least one), each stopped after `limit`.
    pub fn new(concurrent: usize, limit: Duration) -> Self {
        QueryRunner { permits: Arc::new(Semaphore::new(concurrent.max(1))), limit }
    }

    /// Runs `query` against `store` within the time limit.
    pub async fn run(&self, store: Store, query: String, format: ResultsFormat) -> Result<SparqlAnswer, SparqlError> {
        let limit = self.limit;
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
        let permit = self.permits.clone().try_acquire_owned().map_err(|_| SparqlError::Busy)?;
        let (done, answer) = oneshot::channel();
        std::thread::Builder::new()
            .name("sparql-query".into())
            .spawn(move || {
                let result = prepared
                    .on_store(&store)
                    .execute()
                    .map_err(|e| evaluation(e, limit))
                    .and_then(|results| serialize(results, format, limit));
                // Released before answering: a caller that queries again on its answer must find the slot free.
                drop(permit);
                // The caller may have given up already (timeout): nobody to tell then.
                let _ = done.send(result);
            })
            .map_err(|e| SparqlError::Evaluation(format!("no thread for the query: {e}")))?;
        match tokio::time::timeout(limit, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(SparqlError::Evaluation("the query thread stopped without an answer".into())),
            Err(_) => {
                token.cancel();
                Err(SparqlError::Timeout(limit))
            }
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

    fn runner() -> QueryRunner {
        QueryRunner::new(2, Duration::from_secs(5))
    }

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
        let json = runner().run(store(3), q.clone(), ResultsFormat::Json).await.unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        assert_eq!(v["results"]["bindings"][0]["n"]["value"], "3");
        let csv = runner().run(store(3), q, ResultsFormat::Csv).await.unwrap();
        assert_eq!(String::from_utf8(csv.body).unwrap().replace('\r', ""), "n\n3\n");
        let ask = runner().run(store(1), "ASK { ?s ?p ?o }".into(), ResultsFormat::Json).await;
        assert_eq!(ask.unwrap().body, br#"{"head":{},"boolean":true}"#);
    }

    #[tokio::test]
    async fn a_one_slot_runner_answers_queries_one_after_the_other() {
        let single = QueryRunner::new(1, Duration::from_secs(10));
        let store = store(500);
        for _ in 0..50 {
            let q = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }".to_string();
            let answer = single.run(store.clone(), q, ResultsFormat::Csv).await;
            assert!(answer.is_ok(), "the previous query's slot was still held: {answer:?}");
        }
    }

    #[tokio::test]
    async fn updates_and_nonsense_are_refused_and_long_queries_stopped() {
        let update = runner().run(store(1), "DELETE WHERE { ?s ?p ?o }".into(), ResultsFormat::Json).await;
        assert!(matches!(update, Err(SparqlError::Update)));
        let bad = runner().run(store(1), "SELEC nothing".into(), ResultsFormat::Json).await;
        assert!(matches!(bad, Err(SparqlError::Syntax(_))));
        let huge = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o }";
        let started = std::time::Instant::now();
        let single = QueryRunner::new(1, Duration::from_millis(300));
        let slow = single.run(store(200), huge.into(), ResultsFormat::Json).await;
        assert!(matches!(slow, Err(SparqlError::Timeout(_))), "{slow:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        // The runaway join still holds the only permit: the next query is refused, not queued.
        let next = single.run(store(1), "ASK { ?s ?p ?o }".into(), ResultsFormat::Json).await;
        assert!(matches!(next, Err(SparqlError::Busy)), "{next:?}");
        assert_eq!(ResultsFormat::from_accept(Some("text/csv;q=0.9, */*")), ResultsFormat::Csv);
        assert_eq!(ResultsFormat::from_accept(Some("application/sparql-results+json,text/csv")), ResultsFormat::Json);
    }
}
