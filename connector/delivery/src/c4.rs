//! C4 ids (SMPTE ST 2114): the SHA-512 of the content written as a 512-bit number in base 58, padded to a
//! fixed width and prefixed with `c4`. ASC MHL uses them for files and to chain generation files.

use sha2::{Digest, Sha512};

/// Base-58 digits in value order; `0`, `O`, `I`, `l` are left out so ids survive being read aloud or retyped.
const ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
/// `c4` + 88 digits: 58^88 is the first power of 58 above 2^512, so every SHA-512 fits.
pub const C4_ID_LEN: usize = 90;
const DIGITS: usize = C4_ID_LEN - 2;

/// Why a string is not a C4 id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum C4Error {
    #[error("a C4 id is {C4_ID_LEN} characters long, this one has {0}")]
    Length(usize),
    #[error("a C4 id starts with `c4`")]
    Prefix,
    #[error("`{0}` is not a base-58 digit of a C4 id")]
    Digit(char),
    #[error("the C4 id is larger than any SHA-512 digest")]
    Overflow,
}

/// The C4 id of `data`.
pub fn c4_id(data: &[u8]) -> String {
    encode_sha512(&Sha512::digest(data).into())
}

/// Writes a SHA-512 digest as a C4 id.
pub fn encode_sha512(digest: &[u8; 64]) -> String {
    // Long division of the big-endian number by 58, collecting remainders as digits (least significant first).
    let mut number = *digest;
    let mut digits = [ALPHABET[0]; DIGITS];
    for slot in digits.iter_mut().rev() {
        let mut remainder: u32 = 0;
        for byte in number.iter_mut() {
            let acc = (remainder << 8) | u32::from(*byte);
            *byte = (acc / 58) as u8;
            remainder = acc % 58;
        }
        *slot = ALPHABET[remainder as usize];
    }
    let mut id = String::with_capacity(C4_ID_LEN);
    id.push_str("c4");
    id.extend(digits.iter().map(|&d| char::from(d)));
    id
}

/// Recovers the SHA-512 digest of a C4 id; directory hashes are computed over these bytes.
pub fn decode(id: &str) -> Result<[u8; 64], C4Error> {
    let len = id.chars().count();
    if len != C4_ID_LEN {
        return Err(C4Error::Length(len));
    }
    let digits = id.strip_prefix("c4").ok_or(C4Error::Prefix)?;
    let mut number = [0u8; 64];
    for c in digits.chars() {
        let value =
            u8::try_from(c).ok().and_then(|b| ALPHABET.iter().position(|&a| a == b)).ok_or(C4Error::Digit(c))? as u32;
        // number = number * 58 + value, least significant byte last.
        let mut carry = value;
        for byte in number.iter_mut().rev() {
            let acc = u32::from(*byte) * 58 + carry;
            *byte = (acc & 0xff) as u8;
            carry = acc >> 8;
        }
        if carry != 0 {
            return Err(C4Error::Overflow);
        }
    }
    Ok(number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_matches_the_published_id() {
        // The C4 id of zero bytes as listed by the C4 project.
        assert_eq!(
            c4_id(b""),
            "c459dsjfscH38cYeXXYogktxf4Cd9ibshE3BHUo6a58hBXmRQdZrAkZzsWcbWtDg5oQstpDuni4Hirj75GEmTc1sFT"
        );
    }

    #[test]
    fn encode_decode_round_trip() {
        for data in [&b""[..], b"a", b"foo", &[0u8; 1000]] {
            let digest: [u8; 64] = Sha512::digest(data).into();
            let id = encode_sha512(&digest);
            assert_eq!(id.len(), C4_ID_LEN);
            assert_eq!(decode(&id).unwrap(), digest);
        }
        // Small numbers are padded with the zero digit `1`.
        let mut one = [0u8; 64];
        one[63] = 1;
        let id = encode_sha512(&one);
        assert_eq!(&id[..2], "c4");
        assert!(id[2..C4_ID_LEN - 1].bytes().all(|b| b == b'1'));
        assert!(id.ends_with('2'));
        assert_eq!(decode(&id).unwrap(), one);
        assert_eq!(encode_sha512(&[0xff; 64]).len(), C4_ID_LEN);
    }

    #[test]
    fn decode_refuses_malformed_ids() {
        assert_eq!(decode("c4abc"), Err(C4Error::Length(5)));
        let good = c4_id(b"x");
        assert_eq!(decode(&good.replacen("c4", "c5", 1)), Err(C4Error::Prefix));
        assert_eq!(decode(&format!("c4{}0", &good[2..89])), Err(C4Error::Digit('0')));
        assert_eq!(decode(&format!("c4{}", "z".repeat(88))), Err(C4Error::Overflow));
        assert!(decode(&format!("c4{}é", &good[2..89])).is_err());
    }
}
