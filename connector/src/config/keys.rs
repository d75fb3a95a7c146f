//! The table of every configuration key: its section, type, default and meaning.
//!
//! One table drives validation of the file (unknown keys are refused), the
//! environment overrides (`PASSERELLE_<SECTION>_<KEY>`) and the documentation
//! printed by `passerelle run --help`, so the three can never drift apart.

/// The TOML type a key expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Text,
    Integer,
    Boolean,
}

impl KeyKind {
    pub fn describe(self) -> &'static str {
        match self {
            KeyKind::Text => "a string",
            KeyKind::Integer => "an integer",
            KeyKind::Boolean => "a boolean (true or false)",
        }
    }
}

/// One configuration key.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub section: &'static str,
    pub key: &'static str,
    pub kind: KeyKind,
    /// Default as shown to the user; `None` when the key is required or has no default.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl KeySpec {
    /// `section.key`, the name used in every error message.
    pub fn dotted(&self) -> String {
        format!("{}.{}", self.section, self.key)
    }

    /// The environment variable that overrides this key.
    pub fn env_var(&self) -> String {
        format!("{}{}_{}", super::ENV_PREFIX, self.section.to_ascii_uppercase(), self.key.to_ascii_uppercase())
    }
}

const fn key(
    section: &'static str,
    key: &'static str,
    kind: KeyKind,
    default: Option<&'static str>,
    doc: &'static str,
) -> KeySpec {
    KeySpec { section, key, kind, default, doc }
}

/// Every key the connector understands, in documentation order.
pub const KEYS: &[KeySpec] = &[
    key("participant", "name", KeyKind::Text, None, "Display name of the company running this connector (required)."),
    key(
        "participant",
        "role",
        KeyKind::Text,
        None,
        "Role in the data space: distributor, lab, broadcaster or producer (required).",
    ),
    key(
        "participant",
        "public_url",
        KeyKind::Text,
        None,
        "Base URL under which other participants reach the protocol listener, e.g. https://connector.example.com (required).",
    ),
    key(
        "participant",
        "id",
        KeyKind::Text,
        Some("the public_url"),
        "Participant id announced in catalogs and offers (becomes a did:web with the identity work).",
    ),
    key(
        "protocol",
        "bind",
        KeyKind::Text,
        Some("0.0.0.0:<port of public_url, or 8181>"),
        "Socket address of the public protocol listener (Dataspace Protocol routes). Port 0 picks a free port.",
    ),
    key(
        "management",
        "bind",
        KeyKind::Text,
        Some("127.0.0.1:8182"),
        "Socket address of the management listener (/api/v1, /health). Must be loopback unless allow_remote = true.",
    ),
    key(
        "management",
        "allow_remote",
        KeyKind::Boolean,
        Some("false"),
        "Allow a non-loopback management bind address (put TLS and a firewall in front of it).",
    ),
    key(
        "management",
        "api_key_file",
        KeyKind::Text,
        Some("secrets/management-api-key"),
        "File holding the management API key (mode 0600). Used when management.api_key is not set.",
    ),
    key(
        "management",
        "api_key",
        KeyKind::Text,
        None,
        "The management API key itself; meant for the environment (PASSERELLE_MANAGEMENT_API_KEY), wins over api_key_file.",
    ),
    key(
        "store",
        "path",
        KeyKind::Text,
        Some("data/passerelle.db"),
        "SQLite database file (created if missing). Ignored when store.url is set.",
    ),
    key("store", "url", KeyKind::Text, None, "Database URL: sqlite://<file> or sqlite::memory:. Wins over store.path."),
    key(
        "keys",
        "signing_key_file",
        KeyKind::Text,
        Some("secrets/signing-key.jwk"),
        "ES256 private signing key as a JWK (mode 0600), written by `passerelle init`.",
    ),
    key(
        "keys",
        "signing_key",
        KeyKind::Text,
        None,
        "The private signing key itself (JWK JSON); meant for the environment (PASSERELLE_KEYS_SIGNING_KEY), wins over signing_key_file.",
    ),
    key(
        "tls",
        "cert_file",
        KeyKind::Text,
        None,
        "PEM certificate chain (server certificate first) of the protocol listener. With key_file set, the listener serves HTTPS only; without, plain HTTP (and a warning at start-up).",
    ),
    key(
        "tls",
        "key_file",
        KeyKind::Text,
        None,
        "PEM private key (PKCS#8, PKCS#1 or SEC1; mode 0600) of tls.cert_file.",
    ),
    key(
        "tls",
        "extra_ca_file",
        KeyKind::Text,
        None,
        "PEM certificates of a private data-space CA, trusted for outgoing HTTPS in addition to the system store.",
    ),
    key(
        "identity",
        "dir",
        KeyKind::Text,
        Some("identity"),
        "Folder of the published key set (keys.json) and the credentials this participant holds (credentials/*.jwt).",
    ),
    key(
        "identity",
        "allow_http_did_web",
        KeyKind::Boolean,
        Some("false"),
        "Fetch did:web documents, status lists and credential services over plain HTTP. Local tests only: proves nothing on a network.",
    ),
    key(
        "dcp",
        "enabled",
        KeyKind::Boolean,
        Some("true"),
        "Require a DCP 1.0 self-issued ID token on every protocol call (catalog, negotiations, transfers, callbacks).",
    ),
    key(
        "dcp",
        "status_list_ttl",
        KeyKind::Integer,
        Some("300"),
        "Seconds a fetched status list is trusted: a revoked participant is refused at the latest this long after revocation.",
    ),
    key(
        "dcp",
        "did_cache_ttl",
        KeyKind::Integer,
        Some("300"),
        "Seconds a resolved DID document is cached (an unknown key id always triggers a fresh resolution).",
    ),
    key(
        "trust",
        "membership",
        KeyKind::Text,
        None,
        "DIDs (comma-separated) of the data-space authorities whose membership credentials are believed.",
    ),
    key(
        "tck",
        "enabled",
        KeyKind::Boolean,
        Some("false"),
        "Run as the connector under test of the official DSP TCK: seeded datasets and agreements, scripted answers, /tck trigger routes. Tests only, never in production.",
    ),
    key(
        "tck",
        "authorization",
        KeyKind::Text,
        Some("static"),
        "In TCK mode, how callers authenticate: `static` (the official TCK's one header value, tck.static_authorization) or `dcp` (the DCP verifier in front of the TCK routes, DCP tokens on the scripted messages; needs dcp.enabled).",
    ),
    key(
        "tck",
        "static_authorization",
        KeyKind::Text,
        None,
        "In TCK mode, the exact Authorization header the TCK sends (dataspacetck.dsp.connector.http.headers.authorization), accepted instead of DCP; unset accepts any caller.",
    ),
    key(
        "tck",
        "step_delay_ms",
        KeyKind::Integer,
        Some("500"),
        "In TCK mode, milliseconds between two scripted messages of one process (the TCK's mocks pause between steps too).",
    ),
    key(
        "catalog",
        "page_size",
        KeyKind::Integer,
        Some("50"),
        "Datasets per DSP catalog page when the request names no limit (1 to 1000; a request may ask for up to 1000).",
    ),
    key(
        "catalogue",
        "url",
        KeyKind::Text,
        None,
        "Public URL of the data space's federated catalogue (`passerelle catalog run`). When set, the connector notifies it after an import or an offer change (best effort), and `passerelle search` and GET /api/v1/catalogue/search query it.",
    ),
    key(
        "webhooks",
        "url",
        KeyKind::Text,
        None,
        "Where to POST events for your own MAM or production tool (negotiation.finalized, transfer.started, feed.change…), signed with HMAC-SHA256 (X-Passerelle-Signature) and delivered in order with retries. Unset: no webhooks.",
    ),
    key(
        "webhooks",
        "secret_file",
        KeyKind::Text,
        None,
        "File holding the shared HMAC secret of the webhooks (at least 16 characters, mode 0600); required with webhooks.url.",
    ),
    key(
        "webhooks",
        "events",
        KeyKind::Text,
        None,
        "Events to send, separated by spaces or commas (default: all): negotiation.finalized negotiation.terminated transfer.started transfer.completed transfer.terminated feed.change order.received order.delivery_received order.accepted order.event.",
    ),
    key(
        "exchange",
        "outbox_roots",
        KeyKind::Text,
        None,
        "Folders a lab may deliver subtitle orders from, separated by spaces or commas, relative to this file's folder (default: deliveries-out). A delivery folder must lie inside one of them.",
    ),
    key(
        "exchange",
        "max_delivery_bytes",
        KeyKind::Integer,
        Some("10737418240"),
        "Largest total size a lab's delivery may announce (bytes, default 10 GiB): a larger one is refused before any file is fetched.",
    ),
    key(
        "log",
        "filter",
        KeyKind::Text,
        Some("info"),
        "Log filter in tracing-subscriber EnvFilter syntax, e.g. `info,passerelle_connector=debug` (RUST_LOG, when set, wins).",
    ),
    key("log", "format", KeyKind::Text, Some("text"), "Log line format on stderr: text or json."),
];

/// Looks a key up by section and name.
pub fn find(section: &str, key: &str) -> Option<&'static KeySpec> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// The sections, in documentation order, without duplicates.
pub fn sections() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for k in KEYS {
        if !out.contains(&k.section) {
            out.push(k.section);
        }
    }
    out
}

/// Human documentation of every key and its environment variable (for `--help`).
pub fn reference() -> String {
    let mut out = String::from("Configuration keys (file section.key / environment variable, default):\n");
    for k in KEYS {
        let default = k.default.map(|d| format!(" [default: {d}]")).unwrap_or_default();
        out.push_str(&format!("  {:<28} {}{}\n      {}\n", k.dotted(), k.env_var(), default, k.doc));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_unique_and_documented() {
        for (i, a) in KEYS.iter().enumerate() {
            assert!(!a.doc.is_empty(), "{} has no documentation", a.dotted());
            for b in &KEYS[i + 1..] {
                assert!(a.dotted() != b.dotted(), "{} is declared twice", a.dotted());
                assert!(a.env_var() != b.env_var(), "{} and {} share an env var", a.dotted(), b.dotted());
            }
        }
    }

    #[test]
    fn env_var_names_follow_the_section_key_rule() {
        let k = find("management", "api_key").map(|k| k.env_var());
        assert_eq!(k.as_deref(), Some("PASSERELLE_MANAGEMENT_API_KEY"));
        let k = find("protocol", "bind").map(|k| k.env_var());
        assert_eq!(k.as_deref(), Some("PASSERELLE_PROTOCOL_BIND"));
    }

    #[test]
    fn reference_mentions_every_key_and_variable() {
        let text = reference();
        for k in KEYS {
            assert!(text.contains(&k.dotted()) && text.contains(&k.env_var()), "{} missing", k.dotted());
        }
    }
}
