//! `[tls]`: the certificate the protocol listener serves and the private CA trusted
//! for outgoing calls. The files are only located here; `crate::identity::tls` reads them
//! when the connector starts, so a bad PEM is reported before any socket is bound.

use std::path::PathBuf;

use super::{ConfigError, Settings};

/// The protocol listener's certificate chain and private key (PEM files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerCertificate {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

/// `[tls]`, validated; every path absolute.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsSettings {
    /// `None`: the protocol listener speaks plain HTTP (a proxy must terminate TLS).
    pub server: Option<ServerCertificate>,
    /// Certificates trusted for outgoing HTTPS on top of the system store.
    pub extra_ca_file: Option<PathBuf>,
}

impl Settings {
    pub(super) fn tls_settings(
        &self,
        public_url: &url::Url,
        warnings: &mut Vec<String>,
    ) -> Result<TlsSettings, ConfigError> {
        let file = |key: &'static str| {
            self.text("tls", key).and_then(|(v, origin)| {
                let v = v.trim().to_string();
                (!v.is_empty()).then(|| (self.path(&v), origin))
            })
        };
        let server = match (file("cert_file"), file("key_file")) {
            (Some((cert_file, _)), Some((key_file, _))) => Some(ServerCertificate { cert_file, key_file }),
            (None, None) => None,
            (Some((_, origin)), None) => {
                return Err(Self::invalid(
                    "tls",
                    "cert_file",
                    &origin,
                    "is set but tls.key_file is not; give both (certificate chain and its private key) or neither",
                ));
            }
            (None, Some((_, origin))) => {
                return Err(Self::invalid(
                    "tls",
                    "key_file",
                    &origin,
                    "is set but tls.cert_file is not; give both (certificate chain and its private key) or neither",
                ));
            }
        };
        // The opposite case (https public_url, no certificate) is normal behind a TLS proxy;
        // the server logs it at start-up rather than warning on every command.
        if server.is_some() && public_url.scheme() == "http" {
            warnings.push(format!(
                "the protocol listener serves HTTPS but participant.public_url is {public_url}: peers will call it \
                 over plain HTTP and fail; write https:// in public_url"
            ));
        }
        Ok(TlsSettings { server, extra_ca_file: file("extra_ca_file").map(|(path, _)| path) })
    }
}
