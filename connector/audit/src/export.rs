//! Export files and their verification away from the connector.
//!
//! An export is two files: the entries as JSON Lines (one [`Entry`] object per line,
//! in sequence order) and the checkpoints, one compact JWS per line. Both are read
//! line by line with a length cap, so a hostile or huge file is neither loaded whole
//! nor able to exhaust memory with one endless line.

use std::io::{BufRead, Read, Write};

use crate::checkpoint::{KeyResolver, SignedCheckpoint, VerifiedCheckpoints};
use crate::entry::Entry;
use crate::error::{StoreError, VerifyError};
use crate::verify::{Break, ChainVerifier, Summary};

/// Longest accepted entry line (an agreement with its whole policy stays far below).
pub const MAX_ENTRY_LINE: usize = 16 * 1024 * 1024;
/// Longest accepted checkpoint line.
pub const MAX_CHECKPOINT_LINE: usize = passerelle_identity::jose::MAX_TOKEN_LEN;

/// Verifies an export with only the exporter's public keys: every checkpoint signature,
/// then the whole chain against those checkpoints.
pub fn verify_export(
    entries: impl BufRead,
    checkpoints: impl BufRead,
    keys: &impl KeyResolver,
) -> Result<Summary, VerifyError> {
    let signed = read_checkpoints(checkpoints)?;
    let verified = VerifiedCheckpoints::verify(&signed, keys)?;
    let mut verifier = ChainVerifier::new(&verified);
    let mut lines = EntryLines::new(entries);
    while let Some(entry) = lines.next_entry()? {
        verifier.push(&entry)?;
    }
    Ok(verifier.finish()?)
}

/// Reads a checkpoints file (blank lines are skipped).
pub fn read_checkpoints(mut reader: impl BufRead) -> Result<Vec<SignedCheckpoint>, VerifyError> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    let mut line_no = 0usize;
    while read_bounded_line(&mut reader, &mut buf, MAX_CHECKPOINT_LINE, "checkpoints file", &mut line_no)? {
        let text = std::str::from_utf8(&buf).map_err(|_| Break::Unreadable {
            location: format!("checkpoints line {line_no}"),
            reason: "not UTF-8".into(),
        })?;
        if text.trim().is_empty() {
            continue;
        }
        let signed = SignedCheckpoint::from_jws(text).map_err(|reason| Break::BadCheckpoint { seq: None, reason })?;
        out.push(signed);
    }
    Ok(out)
}

/// Entries of a JSON Lines file, one at a time.
pub struct EntryLines<R> {
    reader: R,
    buf: Vec<u8>,
    line_no: usize,
}

impl<R: BufRead> EntryLines<R> {
    pub fn new(reader: R) -> EntryLines<R> {
        EntryLines { reader, buf: Vec::new(), line_no: 0 }
    }

    /// The next entry, `None` at the end; a line that is not an entry is a [`Break::Unreadable`].
    pub fn next_entry(&mut self) -> Result<Option<Entry>, VerifyError> {
        loop {
            if !read_bounded_line(&mut self.reader, &mut self.buf, MAX_ENTRY_LINE, "entries file", &mut self.line_no)? {
                return Ok(None);
            }
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            return serde_json::from_slice(&self.buf).map(Some).map_err(|e| {
                VerifyError::Broken(Break::Unreadable {
                    location: format!("entries line {}", self.line_no),
                    reason: e.to_string(),
                })
            });
        }
    }
}

/// Reads one line without its end-of-line into `buf`; `false` at the end of input.
fn read_bounded_line(
    reader: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
    what: &'static str,
    line_no: &mut usize,
) -> Result<bool, VerifyError> {
    buf.clear();
    let read = reader
        .by_ref()
        .take(max as u64 + 1)
        .read_until(b'\n', buf)
        .map_err(|source| VerifyError::Read { what, source })?;
    if read == 0 {
        return Ok(false);
    }
    *line_no += 1;
    if buf.last() == Some(&b'\n') {
        buf.pop();
        if buf.last() == Some(&b'\r') {
            buf.pop();
        }
    } else if buf.len() > max {
        return Err(Break::Unreadable {
            location: format!("{what} line {line_no}"),
            reason: format!("longer than {max} bytes"),
        }
        .into());
    }
    Ok(true)
}

/// Writes one entry as a JSON line.
pub fn write_entry_line(out: &mut impl Write, entry: &Entry) -> Result<(), StoreError> {
    let write = |source| StoreError::Write { what: "entries export", source };
    serde_json::to_writer(&mut *out, entry).map_err(|e| write(e.into()))?;
    out.write_all(b"\n").map_err(write)
}

/// Writes one checkpoint JWS as a line.
pub fn write_checkpoint_line(out: &mut impl Write, checkpoint: &SignedCheckpoint) -> Result<(), StoreError> {
    let write = |source| StoreError::Write { what: "checkpoints export", source };
    out.write_all(checkpoint.jws().as_bytes()).map_err(write)?;
    out.write_all(b"\n").map_err(write)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointSigner;
    use crate::entry::{EntryDraft, EntryKind, Timestamp, next_entry};
    use serde_json::json;

    fn chain(n: u64) -> Vec<Entry> {
        let mut out: Vec<Entry> = Vec::new();
        for i in 1..=n {
            let draft = EntryDraft {
                at: Timestamp::parse("2026-03-01T10:00:00Z").unwrap(),
                kind: EntryKind::EXCHANGE_EVENT,
                subject: "order-1".into(),
                actor: "did:web:lab.example".into(),
                payload: json!({"step": i}),
            };
            out.push(next_entry(out.last(), draft));
        }
        out
    }

    fn files(entries: &[Entry], signer: &CheckpointSigner, at: &[usize]) -> (Vec<u8>, Vec<u8>) {
        let (mut e, mut c) = (Vec::new(), Vec::new());
        for entry in entries {
            write_entry_line(&mut e, entry).unwrap();
        }
        for i in at {
            let signed = signer.sign(entries[*i].head(), Timestamp::now()).unwrap();
            write_checkpoint_line(&mut c, &signed).unwrap();
        }
        (e, c)
    }

    fn signer() -> CheckpointSigner {
        CheckpointSigner::new(passerelle_identity::keys::KeyPair::generate_ed25519().unwrap(), "did:web:x#k")
    }

    #[test]
    fn an_export_verifies_with_the_public_keys_only() {
        let signer = signer();
        let (e, c) = files(&chain(10), &signer, &[4, 9]);
        let summary = verify_export(&e[..], &c[..], &signer.key_set()).unwrap();
        assert_eq!((summary.entries, summary.checkpoints, summary.unsealed), (10, 2, 0));
        let err = verify_export(&e[..], &c[..], &crate::KeySet::default()).unwrap_err();
        assert!(matches!(err.as_break(), Some(Break::BadCheckpoint { seq: Some(5), .. })), "{err}");
    }

    #[test]
    fn swapped_or_garbled_lines_are_named() {
        let signer = signer();
        let (e, c) = files(&chain(6), &signer, &[5]);
        let text = String::from_utf8(e).unwrap();
        let mut lines: Vec<&str> = text.lines().collect();
        lines.swap(2, 3);
        let swapped = lines.join("\n");
        let err = verify_export(swapped.as_bytes(), &c[..], &signer.key_set()).unwrap_err();
        assert_eq!(err.as_break(), Some(&Break::Missing { expected: 3, found: 4 }));
        lines.swap(2, 3);
        lines[4] = "{not json";
        let garbled = lines.join("\r\n");
        let err = verify_export(garbled.as_bytes(), &c[..], &signer.key_set()).unwrap_err();
        assert!(
            matches!(err.as_break(), Some(Break::Unreadable { location, .. }) if location == "entries line 5"),
            "{err}"
        );
        let cut = lines[..4].join("\n");
        let err = verify_export(cut.as_bytes(), &c[..], &signer.key_set()).unwrap_err();
        assert_eq!(err.as_break(), Some(&Break::Truncated { last_seq: 4, checkpoint_seq: 6 }));
    }

    #[test]
    fn endless_lines_are_refused_without_loading_them() {
        let mut reader = std::io::repeat(b'x').take(MAX_CHECKPOINT_LINE as u64 * 4);
        let mut buffered = std::io::BufReader::new(&mut reader);
        let err = read_checkpoints(&mut buffered).unwrap_err();
        assert!(matches!(err.as_break(), Some(Break::Unreadable { .. })), "{err}");
    }
}
