//! The connector's transport identity: the certificate its protocol listener serves
//! (`[tls] cert_file`, `key_file`) and whom it trusts when it calls out (the system
//! store plus `[tls] extra_ca_file`, for a data space with a private CA).
//!
//! One crypto provider for the whole workspace: ring (reqwest is built without one).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::config::{ServerCertificate, TlsSettings};

/// A client that opens a connection and never finishes the handshake loses it after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Handshaken connections waiting for the HTTP server to pick them up.
const ACCEPT_QUEUE: usize = 128;

/// Why HTTPS cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {} ({key}): {source}; fix the path in [tls] or create the file", path.display())]
    Read { key: &'static str, path: PathBuf, source: io::Error },
    #[error("{} ({key}) holds no usable PEM {what}: {reason}", path.display())]
    Pem { key: &'static str, path: PathBuf, what: &'static str, reason: String },
    #[error(
        "the certificate chain in {} and the key in {} cannot serve HTTPS: {reason}; check that the key belongs to the \
         first certificate",
        cert_file.display(),
        key_file.display()
    )]
    Unusable { cert_file: PathBuf, key_file: PathBuf, reason: String },
    #[error("cannot build the outgoing HTTPS client: {0}")]
    Client(String),
}

fn ring() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn read(path: &Path, key: &'static str) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read { key, path: path.into(), source })
}

/// Every `CERTIFICATE` block of a PEM file; at least one.
fn certificates(path: &Path, key: &'static str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(path, key)?;
    let bad = |reason: String| TlsError::Pem { key, path: path.into(), what: "certificate", reason };
    let certs = CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>().map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no `-----BEGIN CERTIFICATE-----` block".into()));
    }
    Ok(certs)
}

/// The rustls configuration of the protocol listener: HTTP/2 and HTTP/1.1 over TLS 1.2/1.3.
pub fn server_config(files: &ServerCertificate) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let chain = certificates(&files.cert_file, "tls.cert_file")?;
    let key_pem = read(&files.key_file, "tls.key_file")?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::Pem {
        key: "tls.key_file",
        path: files.key_file.clone(),
        what: "private key (PKCS#8, PKCS#1 or SEC1)",
        reason: e.to_string(),
    })?;
    let unusable = |reason: String| TlsError::Unusable {
        cert_file: files.cert_file.clone(),
        key_file: files.key_file.clone(),
        reason,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(ring())
        .with_safe_default_protocol_versions()
        .map_err(|e| unusable(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| unusable(e.to_string()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The certificates of `[tls] extra_ca_file`, in the form reqwest takes.
fn extra_roots(settings: &TlsSettings) -> Result<Vec<reqwest::Certificate>, TlsError> {
    let Some(path) = &settings.extra_ca_file else {
        return Ok(Vec::new());
    };
    certificates(path, "tls.extra_ca_file")?
        .iter()
        .map(|der| {
            reqwest::Certificate::from_der(der).map_err(|e| TlsError::Pem {
                key: "tls.extra_ca_file",
                path: path.clone(),
                what: "CA certificate",
                reason: e.to_string(),
            })
        })
        .collect()
}

/// An HTTP client for calls to other participants: the system's trust roots plus
/// `[tls] extra_ca_file`.
pub fn http_client(settings: &TlsSettings, timeout: Duration) -> Result<reqwest::Client, TlsError> {
    // reqwest is built without a crypto provider; a second install is a harmless no-op.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .tls_certs_merge(extra_roots(settings)?)
        .build()
        .map_err(|e| TlsError::Client(e.to_string()))
}

/// An `axum::serve` listener that speaks TLS. Handshakes run in their own tasks, so a
/// client that stalls mid-handshake never holds up the next connection.
pub struct TlsListener<L: Listener> {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<L::Io>, SocketAddr)>,
    acceptor: JoinHandle<()>,
}

impl<L: Listener<Addr = SocketAddr>> TlsListener<L> {
    /// Starts accepting on `tcp`; must be called inside the runtime.
    pub fn new(tcp: L, config: Arc<rustls::ServerConfig>) -> io::Result<TlsListener<L>> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(ACCEPT_QUEUE);
        let acceptor = tokio::spawn(accept_loop(tcp, TlsAcceptor::from(config), tx));
        Ok(TlsListener { local_addr, ready, acceptor })
    }
}

async fn accept_loop<L: Listener<Addr = SocketAddr>>(
    mut tcp: L,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<L::Io>, SocketAddr)>,
) {
    loop {
        // axum's TCP accept already logs and backs off on errors such as EMFILE.
        let (stream, peer) = Listener::accept(&mut tcp).await;
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer)).await;
                }
                // Plain HTTP on the TLS port, scanners, expired trust: the peer's problem, not ours.
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}

impl<L: Listener> Drop for TlsListener<L> {
    fn drop(&mut self) {
        // Stops accepting (and closes the socket) once the server lets go of the listener.
        self.acceptor.abort();
    }
}

impl<L: Listener<Addr = SocketAddr>> Listener for TlsListener<L> {
    type Io = TlsStream<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept loop never ends on its own; if it was aborted, no connection will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pki {
        dir: tempfile::TempDir,
    }

    impl Pki {
        fn new() -> Pki {
            Pki { dir: tempfile::tempdir().unwrap() }
        }

        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    // A self-signed P-256 certificate for localhost and its key, made once with `openssl req -x509 -newkey ec
    // -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=localhost -days 36500`, and an unrelated P-256 key.
    const CERT: &str = include_str!("testdata/localhost-cert.pem");
    const KEY: &str = include_str!("testdata/localhost-key.pem");
    const OTHER_KEY: &str = include_str!("testdata/other-key.pem");

    #[test]
    fn a_matching_pair_makes_an_h2_and_http1_server() {
        let pki = Pki::new();
        let files = ServerCertificate { cert_file: pki.write("c.pem", CERT), key_file: pki.write("k.pem", KEY) };
        let config = server_config(&files).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"h2".to_vec(), b"http/1.1".to_vec()]);
    }

    #[test]
    fn bad_files_name_the_key_to_fix() {
        let pki = Pki::new();
        let cert = pki.write("c.pem", CERT);
        let key = pki.write("k.pem", KEY);
        let missing = ServerCertificate { cert_file: pki.dir.path().join("none.pem"), key_file: key.clone() };
        let e = server_config(&missing).unwrap_err();
        assert!(matches!(e, TlsError::Read { key: "tls.cert_file", .. }), "{e}");

        let swapped = ServerCertificate { cert_file: key.clone(), key_file: cert.clone() };
        let e = server_config(&swapped).unwrap_err();
        assert!(matches!(e, TlsError::Pem { key: "tls.cert_file", .. }), "{e}");
        assert!(e.to_string().contains("BEGIN CERTIFICATE"), "{e}");

        let no_key = ServerCertificate { cert_file: cert.clone(), key_file: cert.clone() };
        assert!(matches!(server_config(&no_key), Err(TlsError::Pem { key: "tls.key_file", .. })));

        let wrong = ServerCertificate { cert_file: cert, key_file: pki.write("o.pem", OTHER_KEY) };
        let e = server_config(&wrong).unwrap_err();
        assert!(matches!(e, TlsError::Unusable { .. }), "{e}");
    }

    #[test]
    fn the_extra_ca_is_read_and_checked() {
        let pki = Pki::new();
        let none = TlsSettings::default();
        assert!(extra_roots(&none).unwrap().is_empty());
        let with_ca = TlsSettings { server: None, extra_ca_file: Some(pki.write("ca.pem", CERT)) };
        assert_eq!(extra_roots(&with_ca).unwrap().len(), 1);
        http_client(&with_ca, Duration::from_secs(1)).unwrap();
        let garbage = TlsSettings { server: None, extra_ca_file: Some(pki.write("bad.pem", "not a certificate")) };
        let e = http_client(&garbage, Duration::from_secs(1)).unwrap_err();
        assert!(matches!(e, TlsError::Pem { key: "tls.extra_ca_file", .. }), "{e}");
    }
}
