//! ODRL 2.2 actions (core and common vocabulary) and their `includedIn` hierarchy: a permission to `use` covers a
//! request to `play`; a prohibition to `distribute` does not forbid `play`.

use std::fmt;

use crate::term::{self, Ns};

macro_rules! actions {
    ($($variant:ident = $text:literal in $parent:ident),+ $(,)?) => {
        /// An ODRL 2.2 action.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Action {
            Use,
            Transfer,
            $($variant),+
        }

        impl Action {
            pub const ALL: &'static [Action] = &[Action::Use, Action::Transfer, $(Action::$variant),+];

            /// The ODRL local name (`use`, `textToSpeech`).
            pub fn as_str(self) -> &'static str {
                match self {
                    Action::Use => "use",
                    Action::Transfer => "transfer",
                    $(Action::$variant => $text),+
                }
            }

            /// The action this one is directly `includedIn` (`None` for the two top actions).
            pub fn included_in(self) -> Option<Action> {
                match self {
                    Action::Use | Action::Transfer => None,
                    $(Action::$variant => Some(Action::$parent)),+
                }
            }
        }
    };
}

actions! {
    AcceptTracking = "acceptTracking" in Use,
    Aggregate = "aggregate" in Use,
    Annotate = "annotate" in Use,
    Anonymize = "anonymize" in Use,
    Archive = "archive" in Use,
    Attribute = "attribute" in Use,
    Compensate = "compensate" in Use,
    ConcurrentUse = "concurrentUse" in Use,
    Delete = "delete" in Use,
    Derive = "derive" in Use,
    Digitize = "digitize" in Use,
    Display = "display" in Use,
    Distribute = "distribute" in Use,
    EnsureExclusivity = "ensureExclusivity" in Use,
    Execute = "execute" in Use,
    Extract = "extract" in Reproduce,
    Give = "give" in Transfer,
    GrantUse = "grantUse" in Use,
    Include = "include" in Use,
    Index = "index" in Use,
    Inform = "inform" in Use,
    Install = "install" in Use,
    Modify = "modify" in Use,
    Move = "move" in Use,
    NextPolicy = "nextPolicy" in Use,
    ObtainConsent = "obtainConsent" in Use,
    Play = "play" in Use,
    Present = "present" in Use,
    Print = "print" in Use,
    Read = "read" in Use,
    Reproduce = "reproduce" in Use,
    ReviewPolicy = "reviewPolicy" in Use,
    Sell = "sell" in Transfer,
    Stream = "stream" in Use,
    Synchronize = "synchronize" in Use,
    TextToSpeech = "textToSpeech" in Read,
    Transform = "transform" in Use,
    Translate = "translate" in Use,
    Uninstall = "uninstall" in Use,
    Watermark = "watermark" in Use,
}

impl Action {
    /// Parses `use`, `odrl:use` or `http://www.w3.org/ns/odrl/2/use` (ODRL terms are case-sensitive).
    pub fn parse(written: &str) -> Option<Action> {
        match term::split(written.trim()) {
            (Ns::Bare | Ns::Odrl, name) => Action::ALL.iter().copied().find(|a| a.as_str() == name),
            _ => None,
        }
    }

    /// True when a rule on `self` governs a request to do `requested` (equal, or `requested` is included in it).
    pub fn covers(self, requested: Action) -> bool {
        let mut cur = Some(requested);
        while let Some(a) = cur {
            if a == self {
                return true;
            }
            cur = a.included_in();
        }
        false
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchy() {
        assert!(Action::Use.covers(Action::Play));
        assert!(Action::Use.covers(Action::TextToSpeech));
        assert!(Action::Read.covers(Action::TextToSpeech));
        assert!(Action::Transfer.covers(Action::Sell));
        assert!(!Action::Use.covers(Action::Sell));
        assert!(!Action::Play.covers(Action::Use));
        assert!(!Action::Distribute.covers(Action::Play));
        assert!(Action::Play.covers(Action::Play));
    }

    #[test]
    fn parses_all_spellings() {
        assert_eq!(Action::parse("use"), Some(Action::Use));
        assert_eq!(Action::parse("odrl:play"), Some(Action::Play));
        assert_eq!(Action::parse("http://www.w3.org/ns/odrl/2/textToSpeech"), Some(Action::TextToSpeech));
        assert_eq!(Action::parse("Use"), None);
        assert_eq!(Action::parse("ex:use"), None);
        assert_eq!(Action::parse("passerelle:use"), None);
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
        }
    }
}
