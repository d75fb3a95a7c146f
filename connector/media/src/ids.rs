//! Identifiers of the trade: EIDR DOIs, ISANs, BCP 47 language tags, ISO 3166-1 territories.
//!
//! Each is a newtype whose only constructor validates, so a value of the type is
//! always well-formed; the error says what is wrong and how to fix it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("`{value}` is not an EIDR: {reason}")]
    Eidr { value: String, reason: String },
    #[error("`{value}` is not an ISAN: {reason}")]
    Isan { value: String, reason: String },
    #[error("`{value}` is not a BCP 47 language tag: {reason}")]
    Language { value: String, reason: String },
    #[error("`{value}` is not an ISO 3166-1 alpha-2 territory code: {reason}")]
    Territory { value: String, reason: String },
}

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// ISO 7064 MOD 37,36 (hybrid system) check character over `digits`
/// (characters of `0-9A-Z`; callers pass upper-case hex).
pub fn mod37_36_check(digits: &str) -> Option<char> {
    let mut p: u32 = 36;
    for c in digits.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c.to_ascii_uppercase())? as u32;
        let mut s = (p + v) % 36;
        if s == 0 {
            s = 36;
        }
        p = (s * 2) % 37;
    }
    Some(ALPHABET[((37 - p) % 36) as usize] as char)
}

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// An EIDR content identifier: `10.5240/XXXX-XXXX-XXXX-XXXX-XXXX-C`.
///
/// Stored in canonical form (upper case, with the `10.5240/` prefix). The
/// `doi:` / `urn:eidr:` / resolver-URL forms are accepted on input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Eidr(String);

impl Eidr {
    pub const PREFIX: &'static str = "10.5240/";

    pub fn parse(input: &str) -> Result<Self, IdError> {
        let err = |reason: &str| IdError::Eidr { value: input.to_string(), reason: reason.to_string() };
        let trimmed = input.trim();
        let body = trimmed
            .strip_prefix("https://doi.org/")
            .or_else(|| trimmed.strip_prefix("http://doi.org/"))
            .or_else(|| trimmed.strip_prefix("doi:"))
            .or_else(|| trimmed.strip_prefix("urn:eidr:"))
            .unwrap_or(trimmed);
        let suffix =
            body.strip_prefix(Self::PREFIX).ok_or_else(|| err("must start with the EIDR DOI prefix `10.5240/`"))?;
        let parts: Vec<&str> = suffix.split('-').collect();
        if parts.len() != 6 || parts[..5].iter().any(|p| p.len() != 4) || parts[5].len() != 1 {
            return Err(err(
                "expected five groups of four hex digits and a check character, e.g. `10.5240/7EC7-228A-510A-053E-CBB8-J`",
            ));
        }
        let hex: String = parts[..5].concat().to_ascii_uppercase();
        if !is_hex(&hex) {
            return Err(err("the 20 digits before the check character must be hexadecimal (0-9, A-F)"));
        }
        let given = parts[5].to_ascii_uppercase().chars().next().unwrap_or('?');
        let expected = mod37_36_check(&hex).ok_or_else(|| err("invalid character"))?;
        if given != expected {
            return Err(err(&format!("check character is `{given}` but ISO 7064 MOD 37,36 gives `{expected}`")));
        }
        let groups: Vec<&str> = (0..5).map(|i| &hex[i * 4..i * 4 + 4]).collect();
        Ok(Eidr(format!("{}{}-{}", Self::PREFIX, groups.join("-"), expected)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An ISAN: 12 hex digits of root, 4 of episode, check 1, 8 of version, check 2.
///
/// Canonical form `RRRR-RRRR-RRRR-EEEE-C-VVVV-VVVV-D`. The short form (root +
/// episode + check 1, i.e. a work without a version part) is accepted too and
/// kept short: it identifies the work, not a version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Isan(String);

impl Isan {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let err = |reason: &str| IdError::Isan { value: input.to_string(), reason: reason.to_string() };
        let trimmed = input.trim();
        let body = trimmed
            .strip_prefix("ISAN ")
            .or_else(|| trimmed.strip_prefix("isan:"))
            .or_else(|| trimmed.strip_prefix("urn:isan:"))
            .unwrap_or(trimmed);
        let parts: Vec<String> = body.split('-').map(|p| p.to_ascii_uppercase()).collect();
        let shape_ok = |n: usize| {
            parts.len() == n
                && parts[..4].iter().all(|p| p.len() == 4)
                && parts[4].len() == 1
                && (n == 5 || (parts[5].len() == 4 && parts[6].len() == 4 && parts[7].len() == 1))
        };
        if !(shape_ok(8) || shape_ok(5)) {
            return Err(err(
                "expected `RRRR-RRRR-RRRR-EEEE-C` or `RRRR-RRRR-RRRR-EEEE-C-VVVV-VVVV-D` (hex groups, check characters)",
            ));
        }
        let root_episode = parts[..4].concat();
        if !is_hex(&root_episode) {
            return Err(err("root and episode must be hexadecimal (0-9, A-F)"));
        }
        let c1 = mod37_36_check(&root_episode).ok_or_else(|| err("invalid character"))?;
        if parts[4] != c1.to_string() {
            return Err(err(&format!(
                "first check character is `{}` but ISO 7064 MOD 37,36 over root and episode gives `{c1}`",
                parts[4]
            )));
        }
        if parts.len() == 5 {
            return Ok(Isan(parts.join("-")));
        }
        let version = parts[5..7].concat();
        if !is_hex(&version) {
            return Err(err("version must be hexadecimal (0-9, A-F)"));
        }
        let c2 = mod37_36_check(&format!("{root_episode}{version}")).ok_or_else(|| err("invalid character"))?;
        if parts[7] != c2.to_string() {
            return Err(err(&format!(
                "second check character is `{}` but ISO 7064 MOD 37,36 over all 24 digits gives `{c2}`",
                parts[7]
            )));
        }
        Ok(Isan(parts.join("-")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this ISAN carries a version part (identifies a version, not only the work).
    pub fn has_version(&self) -> bool {
        self.0.len() > 21
    }
}

/// A well-formed BCP 47 language tag, kept in its canonical case (`es-419`, `fr-CA`, `zh-Hant-TW`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let trimmed = input.trim();
        let tag = oxilangtag::LanguageTag::parse_and_normalize(trimmed)
            .map_err(|e| IdError::Language { value: input.to_string(), reason: e.to_string() })?;
        Ok(LanguageTag(tag.into_inner()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// BCP 47 prefix matching (RFC 4647 basic filtering): `es` matches `es-419` and `es`, not `est`.
    pub fn matches_range(&self, range: &LanguageTag) -> bool {
        let tag = self.0.to_ascii_lowercase();
        let range = range.0.to_ascii_lowercase();
        tag == range || (tag.starts_with(&range) && tag.as_bytes().get(range.len()) == Some(&b'-'))
    }
}

/// An ISO 3166-1 alpha-2 territory code (upper case). `XK` (Kosovo, user-assigned but
/// used by every Avails feed) is accepted; groups such as `EU` belong to the policy layer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Territory(String);

impl Territory {
    pub fn parse(input: &str) -> Result<Self, IdError> {
        let code = input.trim().to_ascii_uppercase();
        let err = |reason: &str| IdError::Territory { value: input.to_string(), reason: reason.to_string() };
        if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(err("expected two letters, e.g. `FR`, `US`"));
        }
        if code != "XK" && isocountry::CountryCode::for_alpha2(&code).is_err() {
            return Err(err("not an assigned ISO 3166-1 alpha-2 code"));
        }
        Ok(Territory(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_id {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                <$t>::parse(s)
            }
        }
        impl AsRef<str> for $t {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                <$t>::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}
string_id!(Eidr);
string_id!(Isan);
string_id!(LanguageTag);
string_id!(Territory);
