//! How a vocabulary term may be written: compact (`spatial`), prefixed (`odrl:spatial`, `passerelle:channel`) or
//! as a full IRI. Only the ODRL namespace and our profile namespace are known; any other prefix or IRI names a
//! term we do not understand.

/// The ODRL 2.2 vocabulary namespace.
pub const ODRL_NS: &str = "http://www.w3.org/ns/odrl/2/";
/// Namespace of the Passerelle media profile terms (`channel`, `role`, and vocabulary values).
pub const PROFILE_NS: &str = "https://w3id.org/passerelle/odrl/";
/// Prefix accepted for profile terms (`passerelle:channel`).
pub const PROFILE_PREFIX: &str = "passerelle";
/// The IRI a policy puts in `profile` to say it uses the Passerelle media profile.
pub const PROFILE_IRI: &str = "https://w3id.org/passerelle/odrl/profile";

/// Which namespace a written term claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ns {
    /// No prefix: resolved against ODRL first, then the profile (their term sets do not overlap).
    Bare,
    Odrl,
    Profile,
    /// Some other IRI or prefix.
    Foreign,
}

/// Splits a written term into its namespace and local name.
pub(crate) fn split(term: &str) -> (Ns, &str) {
    if let Some(rest) = term.strip_prefix(ODRL_NS) {
        return (Ns::Odrl, rest);
    }
    if let Some(rest) = term.strip_prefix("odrl:") {
        return (Ns::Odrl, rest);
    }
    if let Some(rest) = term.strip_prefix(PROFILE_NS) {
        return (Ns::Profile, rest);
    }
    if let Some(rest) = term.strip_prefix(PROFILE_PREFIX).and_then(|r| r.strip_prefix(':')) {
        return (Ns::Profile, rest);
    }
    if term.contains(':') { (Ns::Foreign, term) } else { (Ns::Bare, term) }
}

/// The last segment of an IRI or blank-node id (`http://example.org/EU` → `EU`, `_:EU` → `EU`); the whole string
/// when it has no separator. Used for vocabulary values written as IRIs: only the last segment is interpreted.
pub(crate) fn last_segment(value: &str) -> &str {
    match value.rfind(['/', '#', ':']) {
        Some(i) => &value[i + 1..],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_every_spelling() {
        assert_eq!(split("spatial"), (Ns::Bare, "spatial"));
        assert_eq!(split("odrl:spatial"), (Ns::Odrl, "spatial"));
        assert_eq!(split("http://www.w3.org/ns/odrl/2/spatial"), (Ns::Odrl, "spatial"));
        assert_eq!(split("passerelle:channel"), (Ns::Profile, "channel"));
        assert_eq!(split("https://w3id.org/passerelle/odrl/channel"), (Ns::Profile, "channel"));
        assert_eq!(split("ex:partner").0, Ns::Foreign);
        assert_eq!(split("https://example.org/partner").0, Ns::Foreign);
    }

    #[test]
    fn last_segment_of_iris_and_blank_nodes() {
        assert_eq!(last_segment("http://example.org/EU"), "EU");
        assert_eq!(last_segment("_:EU"), "EU");
        assert_eq!(last_segment("https://example.org/t#FR"), "FR");
        assert_eq!(last_segment("DACH"), "DACH");
        assert_eq!(last_segment("http://example.org/"), "");
    }
}
