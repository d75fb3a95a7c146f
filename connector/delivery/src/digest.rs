//! Hash algorithms of the trade and a hasher that feeds one read of a file to all of them.
//!
//! Media files are large, so every file is read once, in large blocks, and each block goes to every requested
//! algorithm; the cost of a pass is then the slowest algorithm, not the sum of the reads.

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::path::Path;

use md5::Md5;
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};
use xxhash_rust::xxh3::Xxh3;
use xxhash_rust::xxh32::Xxh32;
use xxhash_rust::xxh64::Xxh64;

use crate::c4;

/// Read block size: large enough that per-call overhead vanishes next to hashing, small enough to stay in L2/L3.
pub const READ_BLOCK: usize = 1 << 20;

/// A digest algorithm, named as in ASC MHL and delivery manifests (lower case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    Sha256,
    Md5,
    Sha1,
    /// SHA-512 written as a C4 id.
    C4,
    Xxh32,
    Xxh64,
    /// XXH3, 64-bit.
    Xxh3,
    /// XXH3, 128-bit.
    Xxh128,
}

impl HashAlgorithm {
    pub const ALL: [HashAlgorithm; 8] = [
        HashAlgorithm::Sha256,
        HashAlgorithm::Md5,
        HashAlgorithm::Sha1,
        HashAlgorithm::C4,
        HashAlgorithm::Xxh32,
        HashAlgorithm::Xxh64,
        HashAlgorithm::Xxh3,
        HashAlgorithm::Xxh128,
    ];

    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Md5 => "md5",
            HashAlgorithm::Sha1 => "sha1",
            HashAlgorithm::C4 => "c4",
            HashAlgorithm::Xxh32 => "xxh32",
            HashAlgorithm::Xxh64 => "xxh64",
            HashAlgorithm::Xxh3 => "xxh3",
            HashAlgorithm::Xxh128 => "xxh128",
        }
    }

    pub fn from_name(name: &str) -> Option<HashAlgorithm> {
        HashAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Number of hex digits of a value; `None` for C4, which is base 58.
    pub fn hex_len(self) -> Option<usize> {
        match self {
            HashAlgorithm::Sha256 => Some(64),
            HashAlgorithm::Md5 | HashAlgorithm::Xxh128 => Some(32),
            HashAlgorithm::Sha1 => Some(40),
            HashAlgorithm::C4 => None,
            HashAlgorithm::Xxh32 => Some(8),
            HashAlgorithm::Xxh64 | HashAlgorithm::Xxh3 => Some(16),
        }
    }

    /// ASC MHL v2.0 has no SHA-256 element; every other algorithm here has one.
    pub fn in_mhl(self) -> bool {
        self != HashAlgorithm::Sha256
    }

    /// Checks the written form of a value of this algorithm.
    pub fn check_value(self, value: &str) -> Result<(), DigestValueError> {
        match self.hex_len() {
            Some(len) => {
                if value.len() != len {
                    return Err(DigestValueError::Length { algorithm: self, expected: len, actual: value.len() });
                }
                if let Some(c) = value.chars().find(|c| !c.is_ascii_hexdigit()) {
                    return Err(DigestValueError::NotHex { algorithm: self, character: c });
                }
                Ok(())
            }
            None => c4::decode(value).map(|_| ()).map_err(DigestValueError::C4),
        }
    }

    /// The digest bytes behind a written value (big-endian, as the canonical xxHash representation).
    pub fn value_bytes(self, value: &str) -> Result<Vec<u8>, DigestValueError> {
        self.check_value(value)?;
        match self {
            HashAlgorithm::C4 => c4::decode(value).map(|b| b.to_vec()).map_err(DigestValueError::C4),
            _ => hex::decode(value).map_err(|_| DigestValueError::NotHex { algorithm: self, character: '?' }),
        }
    }

    /// Hex digests compare without regard to case (tools differ); C4 digits are case-sensitive.
    pub fn same_value(self, a: &str, b: &str) -> bool {
        match self {
            HashAlgorithm::C4 => a == b,
            _ => a.eq_ignore_ascii_case(b),
        }
    }

    /// The value in the form this crate writes (lower-case hex, C4 unchanged).
    pub fn canonical_value(self, value: &str) -> String {
        match self {
            HashAlgorithm::C4 => value.to_owned(),
            _ => value.to_ascii_lowercase(),
        }
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a written digest cannot be a value of its algorithm.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestValueError {
    #[error("a {algorithm} value has {expected} hex digits, this one has {actual}")]
    Length { algorithm: HashAlgorithm, expected: usize, actual: usize },
    #[error("a {algorithm} value is hexadecimal, `{character}` is not a hex digit")]
    NotHex { algorithm: HashAlgorithm, character: char },
    #[error("not a C4 id: {0}")]
    C4(#[from] c4::C4Error),
}

/// Digests of one file, by algorithm; serialised as `{"sha256": "…", "md5": "…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Digests(BTreeMap<HashAlgorithm, String>);

impl Digests {
    pub fn new() -> Digests {
        Digests::default()
    }

    pub fn get(&self, algorithm: HashAlgorithm) -> Option<&str> {
        self.0.get(&algorithm).map(String::as_str)
    }

    pub fn insert(&mut self, algorithm: HashAlgorithm, value: impl Into<String>) {
        self.0.insert(algorithm, value.into());
    }

    pub fn iter(&self) -> impl Iterator<Item = (HashAlgorithm, &str)> {
        self.0.iter().map(|(a, v)| (*a, v.as_str()))
    }

    pub fn algorithms(&self) -> impl Iterator<Item = HashAlgorithm> + '_ {
        self.0.keys().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl FromIterator<(HashAlgorithm, String)> for Digests {
    fn from_iter<T: IntoIterator<Item = (HashAlgorithm, String)>>(iter: T) -> Self {
        Digests(iter.into_iter().collect())
    }
}

/// Feeds the same bytes to several algorithms at once.
#[derive(Clone, Default)]
pub struct MultiHasher {
    sha256: Option<Sha256>,
    md5: Option<Md5>,
    sha1: Option<Sha1>,
    sha512: Option<Sha512>,
    xxh32: Option<Xxh32>,
    xxh64: Option<Xxh64>,
    /// One XXH3 state yields both the 64- and the 128-bit digest.
    xxh3: Option<Xxh3>,
    want_xxh3_64: bool,
    want_xxh128: bool,
    bytes: u64,
}

impl MultiHasher {
    pub fn new(algorithms: impl IntoIterator<Item = HashAlgorithm>) -> MultiHasher {
        let mut h = MultiHasher::default();
        for algorithm in algorithms {
            match algorithm {
                HashAlgorithm::Sha256 => h.sha256 = Some(Sha256::new()),
                HashAlgorithm::Md5 => h.md5 = Some(Md5::new()),
                HashAlgorithm::Sha1 => h.sha1 = Some(Sha1::new()),
                HashAlgorithm::C4 => h.sha512 = Some(Sha512::new()),
                HashAlgorithm::Xxh32 => h.xxh32 = Some(Xxh32::new(0)),
                HashAlgorithm::Xxh64 => h.xxh64 = Some(Xxh64::new(0)),
                HashAlgorithm::Xxh3 => h.want_xxh3_64 = true,
                HashAlgorithm::Xxh128 => h.want_xxh128 = true,
            }
        }
        if h.want_xxh3_64 || h.want_xxh128 {
            h.xxh3 = Some(Xxh3::new());
        }
        h
    }

    pub fn update(&mut self, data: &[u8]) {
        self.bytes += data.len() as u64;
        if let Some(h) = &mut self.sha256 {
            h.update(data);
        }
        if let Some(h) = &mut self.md5 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha1 {
            h.update(data);
        }
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
        if let Some(h) = &mut self.xxh32 {
            h.update(data);
        }
        if let Some(h) = &mut self.xxh64 {
            h.update(data);
        }
        if let Some(h) = &mut self.xxh3 {
            h.update(data);
        }
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn finish(self) -> Digests {
        let mut out = Digests::new();
        if let Some(h) = self.sha256 {
            out.insert(HashAlgorithm::Sha256, hex::encode(h.finalize()));
        }
        if let Some(h) = self.md5 {
            out.insert(HashAlgorithm::Md5, hex::encode(h.finalize()));
        }
        if let Some(h) = self.sha1 {
            out.insert(HashAlgorithm::Sha1, hex::encode(h.finalize()));
        }
        if let Some(h) = self.sha512 {
            out.insert(HashAlgorithm::C4, c4::encode_sha512(&h.finalize().into()));
        }
        if let Some(h) = self.xxh32 {
            out.insert(HashAlgorithm::Xxh32, format!("{:08x}", h.digest()));
        }
        if let Some(h) = self.xxh64 {
            out.insert(HashAlgorithm::Xxh64, format!("{:016x}", h.digest()));
        }
        if let Some(h) = self.xxh3 {
            if self.want_xxh3_64 {
                out.insert(HashAlgorithm::Xxh3, format!("{:016x}", h.digest()));
            }
            if self.want_xxh128 {
                out.insert(HashAlgorithm::Xxh128, format!("{:032x}", h.digest128()));
            }
        }
        out
    }
}

/// Digests of a whole in-memory value (directory hashes are built from these).
pub fn hash_bytes(algorithms: impl IntoIterator<Item = HashAlgorithm>, data: &[u8]) -> Digests {
    let mut h = MultiHasher::new(algorithms);
    h.update(data);
    h.finish()
}

/// Streams `reader` once through every algorithm; returns the byte count and the digests.
pub fn hash_reader(
    reader: &mut impl Read,
    algorithms: impl IntoIterator<Item = HashAlgorithm>,
) -> io::Result<(u64, Digests)> {
    let mut hasher = MultiHasher::new(algorithms);
    let mut block = vec![0u8; READ_BLOCK];
    loop {
        match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => hasher.update(&block[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((hasher.bytes(), hasher.finish()))
}

/// Streams the file at `path` once through every algorithm.
pub fn hash_file(path: &Path, algorithms: impl IntoIterator<Item = HashAlgorithm>) -> io::Result<(u64, Digests)> {
    let mut file = std::fs::File::open(path)?;
    hash_reader(&mut file, algorithms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_for_abc() {
        let d = hash_bytes(HashAlgorithm::ALL, b"abc");
        assert_eq!(
            d.get(HashAlgorithm::Sha256),
            Some("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(d.get(HashAlgorithm::Md5), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(d.get(HashAlgorithm::Sha1), Some("a9993e364706816aba3e25717850c26c9cd0d89d"));
        assert_eq!(d.get(HashAlgorithm::Xxh32), Some("32d153ff"));
        assert_eq!(d.get(HashAlgorithm::Xxh64), Some("44bc2cf5ad770999"));
        assert_eq!(d.get(HashAlgorithm::Xxh3), Some("78af5f94892f3950"));
        assert_eq!(d.get(HashAlgorithm::Xxh128), Some("06b05ab6733a618578af5f94892f3950"));
        assert_eq!(d.get(HashAlgorithm::C4), Some(c4::c4_id(b"abc").as_str()));
        assert_eq!(d.len(), 8);
    }

    #[test]
    fn streaming_in_blocks_equals_one_shot() {
        let data: Vec<u8> = (0..(READ_BLOCK * 2 + 12345)).map(|i| (i * 7 % 251) as u8).collect();
        let one_shot = hash_bytes(HashAlgorithm::ALL, &data);
        let (size, streamed) = hash_reader(&mut &data[..], HashAlgorithm::ALL).unwrap();
        assert_eq!(size, data.len() as u64);
        assert_eq!(streamed, one_shot);
    }

    #[test]
    fn only_requested_algorithms_are_computed() {
        let d = hash_bytes([HashAlgorithm::Xxh128], b"abc");
        assert_eq!(d.algorithms().collect::<Vec<_>>(), vec![HashAlgorithm::Xxh128]);
    }

    #[test]
    fn value_checks_name_the_problem() {
        assert_eq!(
            HashAlgorithm::Sha256.check_value("abcd"),
            Err(DigestValueError::Length { algorithm: HashAlgorithm::Sha256, expected: 64, actual: 4 })
        );
        assert_eq!(
            HashAlgorithm::Xxh64.check_value("0ea03b369a463d9g"),
            Err(DigestValueError::NotHex { algorithm: HashAlgorithm::Xxh64, character: 'g' })
        );
        assert!(HashAlgorithm::Md5.check_value("900150983CD24FB0D6963F7D28E17F72").is_ok());
        assert!(HashAlgorithm::C4.check_value("c4short").is_err());
        assert!(HashAlgorithm::Md5.same_value("900150983CD24FB0D6963F7D28E17F72", "900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(HashAlgorithm::Xxh64.value_bytes("0ea03b369a463d9d").unwrap()[0], 0x0e);
    }

    #[test]
    fn names_round_trip() {
        for a in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_name(a.name()), Some(a));
            assert_eq!(serde_json::to_string(&a).unwrap(), format!("\"{}\"", a.name()));
        }
        assert_eq!(HashAlgorithm::from_name("crc32"), None);
    }
}
