//! The audit store against a real SQLite file: tampering, concurrency, export and import.

mod concurrency;
mod export;
mod support;
mod tamper;
