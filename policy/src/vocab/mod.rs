//! The closed vocabularies of the media profile: purposes (with their `isA` hierarchy), Avails license types
//! (channels), participant roles, ODRL actions, and territories with their named groups.
//!
//! Values are parsed case-insensitively; an IRI or blank-node id is read by its last segment
//! (`https://w3id.org/passerelle/odrl/purpose/svod` → `svod`). Each vocabulary has at most 32 members so a set of
//! them is one `u32`, which keeps evaluation and offer matching to bit operations.

pub mod action;
pub mod territory;

use std::fmt;

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal $(: $parent:ident)?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            /// Every member, in declaration order (the bit order of masks).
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The canonical spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }

            /// Parses a member case-insensitively; IRIs are read by their last segment.
            pub fn parse(written: &str) -> Option<$name> {
                let word = crate::term::last_segment(written.trim());
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(word))
            }

            /// The broader member this one `isA`, if any.
            pub fn parent(self) -> Option<$name> {
                #[allow(unreachable_patterns)]
                match self {
                    $($($name::$variant => Some($name::$parent),)?)+
                    _ => None,
                }
            }

            /// Bit of this member in a mask.
            #[inline]
            pub fn bit(self) -> u32 {
                1u32 << (self as u32)
            }

            /// This member and everything that `isA` it.
            pub fn narrower_or_self(self) -> u32 {
                $name::ALL.iter().filter(|v| v.is_a(self)).fold(0, |m, v| m | v.bit())
            }

            /// This member and everything it `isA`.
            pub fn broader_or_self(self) -> u32 {
                let mut mask = self.bit();
                let mut cur = self.parent();
                while let Some(p) = cur {
                    mask |= p.bit();
                    cur = p.parent();
                }
                mask
            }

            /// True when `self` equals `other` or is (transitively) narrower than it.
            pub fn is_a(self, other: $name) -> bool {
                self.broader_or_self() & other.bit() != 0
            }

            /// All members as a mask.
            pub fn universe() -> u32 {
                $name::ALL.iter().fold(0, |m, v| m | v.bit())
            }

            /// Members of a mask, in declaration order.
            pub fn members(mask: u32) -> Vec<$name> {
                $name::ALL.iter().copied().filter(|v| mask & v.bit() != 0).collect()
            }

            /// The list of accepted spellings, for error messages.
            pub fn known() -> String {
                $name::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                $name::parse(s).ok_or_else(|| format!("`{s}` is not a {} (known: {})", $what, $name::known()))
            }
        }
    };
}

vocabulary! {
    /// Why the data or the work is used (`purpose`). Narrower purposes `isA` broader ones: an offer for `vod`
    /// covers a request for `svod`.
    Purpose, "purpose" {
        Linear = "linear",
        Broadcast = "broadcast": Linear,
        /// Free ad-supported streaming television channels.
        Fast = "fast": Linear,
        Vod = "vod",
        Svod = "svod": Vod,
        Avod = "avod": Vod,
        Tvod = "tvod": Vod,
        Est = "est": Vod,
        Fvod = "fvod": Vod,
        CatchUp = "catch-up": Vod,
        Theatrical = "theatrical",
        Localization = "localization",
        Subtitling = "subtitling": Localization,
        Dubbing = "dubbing": Localization,
        Archive = "archive",
        Promotion = "promotion",
        Screening = "screening",
        /// Text and data mining (EU DSM directive, art. 3–4).
        TextAndDataMining = "text-and-data-mining",
        AiTraining = "ai-training": TextAndDataMining,
    }
}

vocabulary! {
    /// The Avails license type a use falls under (`channel`). Flat: the Avails vocabulary has no hierarchy.
    Channel, "license type (Avails LicenseType)" {
        Est = "EST",
        /// Premium EST.
        Pest = "PEST",
        /// Pre-order EST.
        Poest = "POEST",
        /// Transactional VOD (Avails calls rental `VOD`).
        Vod = "VOD",
        Tvod = "TVOD",
        /// Premium VOD.
        Pvod = "PVOD",
        /// Download to rent.
        Dtr = "DTR",
        Svod = "SVOD",
        Avod = "AVOD",
        Fvod = "FVOD",
        FreeTv = "FreeTV",
        PayTv = "PayTV",
        BasicTv = "BasicTV",
    }
}

vocabulary! {
    /// A participant's role in the data space, as its membership credential states it (`role`).
    Role, "participant role" {
        Distributor = "distributor",
        Lab = "lab",
        Broadcaster = "broadcaster",
        Producer = "producer",
        /// The data-space operator (catalogue and registry).
        Operator = "operator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purpose_hierarchy() {
        assert!(Purpose::Svod.is_a(Purpose::Vod));
        assert!(Purpose::Broadcast.is_a(Purpose::Linear));
        assert!(Purpose::AiTraining.is_a(Purpose::TextAndDataMining));
        assert!(Purpose::Vod.is_a(Purpose::Vod));
        assert!(!Purpose::Vod.is_a(Purpose::Svod));
        assert!(!Purpose::Broadcast.is_a(Purpose::Vod));
        let vod = Purpose::Vod.narrower_or_self();
        assert_eq!(Purpose::members(vod).len(), 7);
        assert_eq!(
            Purpose::members(Purpose::Subtitling.broader_or_self()),
            vec![Purpose::Localization, Purpose::Subtitling]
        );
        assert!(Purpose::ALL.len() <= 32 && Channel::ALL.len() <= 32 && Role::ALL.len() <= 32);
    }

    #[test]
    fn parses_case_insensitively_and_by_iri_segment() {
        assert_eq!(Purpose::parse("SVOD"), Some(Purpose::Svod));
        assert_eq!(Purpose::parse("https://w3id.org/passerelle/odrl/purpose/ai-training"), Some(Purpose::AiTraining));
        assert_eq!(Channel::parse("svod"), Some(Channel::Svod));
        assert_eq!(Channel::parse("freetv"), Some(Channel::FreeTv));
        assert_eq!(Role::parse("passerelle:lab"), Some(Role::Lab));
        assert_eq!(Purpose::parse("gaming"), None);
        assert_eq!(Channel::parse(""), None);
        assert!("bogus".parse::<Role>().unwrap_err().contains("distributor"));
    }
}
