//! Proof of integrity for out-of-band deliveries (subtitle files, masters, QC reports).
//!
//! Heavy media never travels through the connector; what travels is a [`DeliveryManifest`]: every file with its
//! size, SHA-256 and the hashes the trade already uses (MD5, xxHash). This crate
//!
//! - builds a manifest from a folder, reading each file once through all requested hashers
//!   ([`manifest_for_dir`]);
//! - verifies a received folder or list of files against a manifest (or an MHL generation) and reports, per file,
//!   ok / missing / size mismatch / hash mismatch (which algorithm, expected and actual) / unexpected
//!   ([`verify_dir`], [`VerificationReport`]);
//! - reads and writes ASC MHL v2 generation and chain files, computes C4 ids and folder hashes, and converts
//!   between MHL and manifests ([`mhl`]).
//!
//! Everything is synchronous and does no networking; the order workflow decides when to call it (typically from
//! a blocking task).

mod build;
pub mod c4;
mod digest;
mod ignore;
mod manifest;
pub mod mhl;
mod path;
mod verify;
mod walk;

pub use build::{BuildError, ManifestOptions, manifest_for_dir};
pub use digest::{
    DigestValueError, Digests, HashAlgorithm, MultiHasher, READ_BLOCK, hash_bytes, hash_file, hash_reader,
};
pub use ignore::{DEFAULT_IGNORE, IgnorePatterns};
pub use manifest::{DeliveryManifest, FileRole, MANIFEST_ALGORITHMS, ManifestEntry, ManifestError, guess_mime_type};
pub use path::{PathError, RelativePath};
pub use verify::{
    DigestMismatch, ExpectedFile, FileOutcome, FileVerification, VerificationReport, VerificationSummary, VerifyError,
    VerifyOptions, verify_dir, verify_dir_against_manifest, verify_files,
};
pub use walk::WalkError;
