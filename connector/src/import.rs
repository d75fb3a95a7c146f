//! Import glue: a MAM export file → `passerelle_mam::parse` → one store transaction.
//!
//! Good records of a file are upserted together (one transaction per file), bad
//! ones are reported and skipped, and a file that cannot be read or recognised at
//! all changes nothing. Every file's report is also logged in the store's import
//! runs. Exit codes of `passerelle import` follow from [`ImportReport::exit_code`].

use std::path::Path;
use std::time::Instant;

use passerelle_mam::Rejection;
use serde::Serialize;
use time::OffsetDateTime;

use crate::store::{BatchCounts, Counts, Store, StoreError};

/// Every file imported, nothing rejected.
pub const EXIT_OK: i32 = 0;
/// A fatal error (configuration, database): the import stopped.
pub const EXIT_FATAL: i32 = 1;
/// The import ran to the end but some records (or whole files) were rejected.
pub const EXIT_REJECTED: i32 = 2;

/// How one file went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Every record stored.
    Imported,
    /// The good records stored, some rejected.
    Partial,
    /// Nothing stored: the file could not be read or recognised.
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Imported => "imported",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
        }
    }
}

/// The report of one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file as named by the caller.
    pub file: String,
    /// Detected format (`mec-xml`, `avails-xlsx`…), when recognised.
    pub format: Option<String>,
    pub outcome: Outcome,
    pub records_seen: usize,
    pub works: Counts,
    pub versions: Counts,
    pub rights: Counts,
    pub rejected: Vec<Rejection>,
    /// Why the whole file failed.
    pub error: Option<String>,
    /// Id of the run in the store's import log.
    pub import_run: Option<i64>,
    pub duration_ms: u64,
}

impl FileReport {
    /// Human summary: one line of counts, then one line per rejection.
    pub fn summary(&self) -> String {
        let mut out = match (&self.format, &self.error) {
            (_, Some(error)) => format!("{}: FAILED, nothing imported: {error}", self.file),
            (format, None) => {
                let c = |n: &Counts| format!("{} new, {} updated, {} unchanged", n.inserted, n.updated, n.unchanged);
                format!(
                    "{} ({}): {} record(s) seen; works {}; versions {}; rights windows {}; {} rejected",
                    self.file,
                    format.as_deref().unwrap_or("unknown format"),
                    self.records_seen,
                    c(&self.works),
                    c(&self.versions),
                    c(&self.rights),
                    self.rejected.len()
                )
            }
        };
        for r in &self.rejected {
            out.push_str(&format!("\n  rejected: {}, {}", r.file, r.location));
            if let Some(record) = &r.record {
                out.push_str(&format!(" [{record}]"));
            }
            out.push_str(&format!(": {}", r.reason));
        }
        out
    }
}

/// The report of a whole `passerelle import` run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
}

impl ImportReport {
    /// [`EXIT_OK`] when every file was imported whole, else [`EXIT_REJECTED`].
    pub fn exit_code(&self) -> i32 {
        if self.files.iter().all(|f| f.outcome == Outcome::Imported) { EXIT_OK } else { EXIT_REJECTED }
    }

    /// Totals over all files.
    pub fn totals(&self) -> BatchCounts {
        let mut t = BatchCounts::default();
        for f in &self.files {
            for (sum, part) in [(&mut t.works, &f.works), (&mut t.versions, &f.versions), (&mut t.rights, &f.rights)] {
                sum.inserted += part.inserted;
                sum.updated += part.updated;
                sum.unchanged += part.unchanged;
            }
        }
        t
    }

    /// The closing line of the human output.
    pub fn summary(&self) -> String {
        let t = self.totals();
        let rejected: usize = self.files.iter().map(|f| f.rejected.len()).sum();
        let failed = self.files.iter().filter(|f| f.outcome == Outcome::Failed).count();
        format!(
            "{} file(s): {} work(s), {} version(s), {} rights window(s) stored ({} new); {} record(s) rejected; {} file(s) failed",
            self.files.len(),
            t.works.total(),
            t.versions.total(),
            t.rights.total(),
            t.works.inserted + t.versions.inserted + t.rights.inserted,
            rejected,
            failed
        )
    }
}

/// Imports one file. Only a store failure is an `Err`; an unreadable or unknown
/// file is a [`Outcome::Failed`] report and the next file can go on.
pub async fn import_file(store: &Store, path: &Path) -> Result<FileReport, StoreError> {
    let started_at = OffsetDateTime::now_utc();
    let clock = Instant::now();
    let name = path.display().to_string();
    let mut report = FileReport {
        file: name.clone(),
        format: None,
        outcome: Outcome::Failed,
        records_seen: 0,
        works: Counts::default(),
        versions: Counts::default(),
        rights: Counts::default(),
        rejected: Vec::new(),
        error: None,
        import_run: None,
        duration_ms: 0,
    };

    let parsed = match tokio::fs::read(path).await {
        Err(e) => Err(format!("cannot read the file: {e}")),
        Ok(bytes) => {
            let file_name = name.clone();
            // Parsing is CPU work: keep it off the async workers.
            match tokio::task::spawn_blocking(move || passerelle_mam::parse(&file_name, &bytes)).await {
                Ok(result) => result.map_err(|e| e.to_string()),
                Err(join) => Err(format!("the importer stopped unexpectedly: {join}")),
            }
        }
    };

    match parsed {
        Err(error) => report.error = Some(error),
        Ok(batch) => {
            let counts = store.import_batch(&batch.works, &batch.versions, &batch.rights).await?;
            report.format = Some(batch.format.as_str().to_string());
            report.records_seen = batch.records_seen;
            report.works = counts.works;
            report.versions = counts.versions;
            report.rights = counts.rights;
            report.outcome = if batch.rejected.is_empty() { Outcome::Imported } else { Outcome::Partial };
            report.rejected = batch.rejected;
        }
    }
    report.duration_ms = clock.elapsed().as_millis().min(u64::MAX as u128) as u64;

    let json = serde_json::to_value(&report)
        .map_err(|e| StoreError::Database { context: "logging an import run", reason: e.to_string() })?;
    let id = store
        .record_import_run(
            &report.file,
            report.format.as_deref(),
            report.outcome.as_str(),
            started_at,
            OffsetDateTime::now_utc(),
            &json,
        )
        .await?;
    report.import_run = Some(id);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/samples/mddf")
    }

    #[tokio::test]
    async fn a_sample_imports_and_reimports_without_duplicates() {
        let store = Store::open_in_memory().await.unwrap();
        let file = samples().join("movielabs-mddf_MEC_movie_Counselor.xml");
        let first = import_file(&store, &file).await.unwrap();
        assert_eq!(first.outcome, Outcome::Imported, "{}", first.summary());
        assert!(first.works.inserted >= 1);
        let second = import_file(&store, &file).await.unwrap();
        assert_eq!(second.works.inserted, 0);
        assert_eq!(second.works.unchanged, first.works.inserted);
        assert_eq!(store.count_works().await.unwrap() as usize, first.works.inserted);
        let runs = store.list_import_runs(None, 10).await.unwrap();
        assert_eq!(runs.items.len(), 2);
    }

    /// `PASSERELLE_TEST_FEED_WORKS=100000 cargo test --release -p passerelle-connector a_generated -- --nocapture`
    /// prints the time of a full-size import.
    #[tokio::test]
    async fn a_generated_catalogue_imports_in_one_pass() {
        let n: usize = std::env::var("PASSERELLE_TEST_FEED_WORKS").ok().and_then(|v| v.parse().ok()).unwrap_or(5_000);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_file(&dir.path().join("data/passerelle.db")).await.unwrap();
        let feed = dir.path().join("feed.xml");
        std::fs::write(&feed, passerelle_mam::testdata::generate_mec_feed(n)).unwrap();
        let started = Instant::now();
        let report = import_file(&store, &feed).await.unwrap();
        eprintln!("imported {n} works in {:?}", started.elapsed());
        assert_eq!(report.outcome, Outcome::Imported, "{}", report.summary());
        assert_eq!(report.works.inserted, n);
        assert_eq!(store.count_works().await.unwrap() as usize, n);
        let again = import_file(&store, &feed).await.unwrap();
        assert_eq!(again.works.unchanged, n);
    }

    #[tokio::test]
    async fn rejected_records_are_reported_and_good_ones_kept() {
        let store = Store::open_in_memory().await.unwrap();
        let file = samples().join("movielabs-mddf_Avails_Movies_v1.9.xlsx");
        let report = import_file(&store, &file).await.unwrap();
        assert_eq!(report.outcome, Outcome::Partial, "{}", report.summary());
        assert!(!report.rejected.is_empty());
        assert!(report.summary().contains("rejected: "));
        let all = ImportReport { files: vec![report] };
        assert_eq!(all.exit_code(), EXIT_REJECTED);
    }

    #[tokio::test]
    async fn a_bad_file_changes_nothing() {
        let store = Store::open_in_memory().await.unwrap();
        let good = import_file(&store, &samples().join("movielabs-mddf_MEC_movie_Counselor.xml")).await.unwrap();
        let before = store.list_works(&Default::default(), None, 100).await.unwrap().items;

        let dir = tempfile::tempdir().unwrap();
        let garbage = dir.path().join("garbage.bin");
        std::fs::write(&garbage, [0u8, 159, 146, 150, 1, 2, 3]).unwrap();
        let bad = import_file(&store, &garbage).await.unwrap();
        assert_eq!(bad.outcome, Outcome::Failed);
        let truncated = dir.path().join("truncated.xml");
        let sample = std::fs::read(samples().join("movielabs-mddf_MEC_movie_Counselor.xml")).unwrap();
        std::fs::write(&truncated, &sample[..sample.len() / 3]).unwrap();
        let cut = import_file(&store, &truncated).await.unwrap();
        assert_ne!(cut.outcome, Outcome::Imported, "{}", cut.summary());
        assert!(bad.error.is_some() && bad.summary().contains("FAILED"));
        let missing = import_file(&store, &dir.path().join("missing.xml")).await.unwrap();
        assert_eq!(missing.outcome, Outcome::Failed);

        assert_eq!(store.list_works(&Default::default(), None, 100).await.unwrap().items, before);
        let all = ImportReport { files: vec![good.clone()] };
        assert_eq!(all.exit_code(), EXIT_OK);
        let all = ImportReport { files: vec![good, bad] };
        assert_eq!(all.exit_code(), EXIT_REJECTED);
    }
}
