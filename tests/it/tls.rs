//! HTTPS on the protocol listener: a connector serving a certificate from a test CA,
//! clients that trust that CA (and clients that do not).

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::Value;

use crate::support::{DEADLINE, Folder, Running, passerelle, sample};

/// A private data-space CA and a server certificate it signed for 127.0.0.1 and localhost.
struct TestPki {
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().expect("CA key")).expect("CA certificate")
}

fn pki() -> TestPki {
    let ca = ca("Test Media Space CA");
    let key = KeyPair::generate().expect("server key");
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).expect("server params");
    params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
    let cert = params.signed_by(&key, &ca).expect("server certificate");
    TestPki { ca_pem: ca.pem(), server_cert_pem: cert.pem(), server_key_pem: key.serialize_pem() }
}

/// An HTTPS client trusting only `ca_pem`.
fn client_trusting(ca_pem: &str) -> reqwest::Client {
    crate::support::client(); // installs the ring provider
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA certificate PEM");
    reqwest::Client::builder().timeout(DEADLINE).tls_certs_only([ca]).build().expect("https client")
}

/// `passerelle init` with an https public URL, then `[tls]` pointing at the test certificate.
async fn https_folder(pki: &TestPki) -> Folder {
    https_participant(pki, 8181, &[], true).await
}

/// A participant at `https://127.0.0.1:<port>` serving the test certificate; `trust_ca`
/// adds the test CA as `tls.extra_ca_file` for its outgoing calls.
async fn https_participant(pki: &TestPki, port: u16, init: &[&str], trust_ca: bool) -> Folder {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().to_str().expect("utf-8 temp path").to_string();
    let url = format!("https://127.0.0.1:{port}");
    let args = ["init", "--dir", &path, "--name", "Acme Films", "--role", "distributor", "--public-url", &url];
    let out = passerelle(&[&args[..], init].concat(), &[]).await;
    assert_eq!(out.code(), Some(0), "init failed: {}", out.stderr);
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).expect("write PEM");
    write("secrets/tls-cert.pem", &pki.server_cert_pem);
    write("secrets/tls-key.pem", &pki.server_key_pem);
    write("data-space-ca.pem", &pki.ca_pem);
    let extra_ca = if trust_ca { "extra_ca_file = \"data-space-ca.pem\"\n" } else { "" };
    append(
        &dir.path().join("passerelle.toml"),
        &format!("\n[tls]\ncert_file = \"secrets/tls-cert.pem\"\nkey_file = \"secrets/tls-key.pem\"\n{extra_ca}"),
    );
    Folder { dir }
}

fn append(file: &Path, text: &str) {
    let mut content = std::fs::read_to_string(file).expect("config");
    content.push_str(text);
    std::fs::write(file, content).expect("config written");
}

fn catalog_request() -> Value {
    serde_json::json!({
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage"
    })
}

#[tokio::test]
async fn the_protocol_listener_serves_https_only_to_clients_trusting_its_ca() {
    let pki = pki();
    let folder = https_folder(&pki).await;
    let imported = folder.import(&[sample("movielabs-mddf_MEC_movie_Counselor.xml")], false).await;
    assert_eq!(imported.code(), Some(0), "import failed: {}", imported.stderr);
    let running =
        Running::start_with_env(&folder.config(), folder.api_key(), &[("PASSERELLE_DCP_ENABLED", "false")]).await;
    let https = running.protocol.clone();
    assert!(https.starts_with("https://127.0.0.1:"), "announced {https}");

    let trusting = client_trusting(&pki.ca_pem);
    let response = trusting
        .post(format!("{https}/dsp/2025-1/catalog/request"))
        .json(&catalog_request())
        .send()
        .await
        .expect("catalog over https");
    assert_eq!(response.status().as_u16(), 200);
    let catalog: Value = response.json().await.expect("catalog JSON");
    if let Err(errors) = passerelle_dsp::schema::validate(passerelle_dsp::schema::MessageKind::Catalog, &catalog) {
        panic!("catalog is not schema-valid: {errors:#?}");
    }
    assert!(catalog["dataset"].as_array().is_some_and(|d| !d.is_empty()), "{catalog:#}");

    // The did:web document, what peers resolve over https.
    let did: Value = trusting
        .get(format!("{https}/.well-known/did.json"))
        .send()
        .await
        .expect("DID document over https")
        .json()
        .await
        .expect("DID document JSON");
    assert_eq!(did["id"], "did:web:127.0.0.1%3A8181");

    // Plain HTTP on the TLS port gets no answer.
    let plain = https.replacen("https://", "http://", 1);
    let answer = running.http.post(format!("{plain}/dsp/2025-1/catalog/request")).json(&catalog_request()).send().await;
    assert!(answer.is_err(), "plain HTTP on the TLS port answered {:?}", answer.map(|r| r.status()));

    // A client that trusts another CA refuses the certificate.
    let stranger = client_trusting(&ca("Another CA").pem());
    let refused = stranger.get(format!("{https}/.well-known/dspace-version")).send().await;
    let error = refused.expect_err("a certificate from an unknown CA must be refused");
    assert!(format!("{error:?}").to_lowercase().contains("certificate"), "{error:?}");

    // The management listener is unchanged: loopback plain HTTP.
    let health = running.http.get(format!("{}/health", running.management)).send().await.expect("health");
    assert_eq!(health.status().as_u16(), 200);
    assert!(running.stop().await.success());
}

#[tokio::test]
async fn a_key_that_is_not_pem_stops_the_start_naming_the_key() {
    let pki = pki();
    let folder = https_folder(&pki).await;
    std::fs::write(folder.dir.path().join("secrets/tls-key.pem"), "not a key").expect("overwrite key");
    let config = folder.config();
    let out = passerelle(
        &["run", "--config", &config],
        &[("PASSERELLE_PROTOCOL_BIND", "127.0.0.1:0"), ("PASSERELLE_MANAGEMENT_BIND", "127.0.0.1:0")],
    )
    .await;
    assert_eq!(out.code(), Some(1), "stdout: {}\nstderr: {}", out.stdout, out.stderr);
    assert!(out.stderr.contains("tls.key_file"), "{}", out.stderr);
    assert!(!out.stdout.contains("listening"), "{}", out.stdout);
}

/// DCP over https: the provider resolves the caller's did:web and queries its credential
/// service over https, trusting the data space's CA through `tls.extra_ca_file`.
#[tokio::test]
async fn dcp_resolves_did_web_over_https_with_the_data_space_ca() {
    use passerelle_connector::identity::token::DcpTokenSource;
    use passerelle_identity::dcp::Identity;
    use passerelle_identity::did::Did;

    let pki = pki();
    let identity = ["--registration-number", "vatID:FR40303265045", "--country", "FR"];
    let (provider_port, blind_port, caller_port) =
        (crate::dcp::free_port(), crate::dcp::free_port(), crate::dcp::free_port());
    let provider = https_participant(&pki, provider_port, &identity, true).await;
    // The same provider without the data-space CA: it cannot reach anyone's did:web.
    let blind = https_participant(&pki, blind_port, &identity, false).await;
    let caller = https_participant(&pki, caller_port, &identity, true).await;
    for folder in [&provider, &blind] {
        append(&folder.dir.path().join("passerelle.toml"), "\n[trust]\nmembership = \"did:web:authority.invalid\"\n");
    }
    let start = |folder: &Folder, port: u16| {
        let (config, key) = (folder.config(), folder.api_key());
        async move {
            let bind = format!("127.0.0.1:{port}");
            Running::start_with_env(&config, key, &[("PASSERELLE_PROTOCOL_BIND", &bind)]).await
        }
    };
    let (provider_run, blind_run, caller_run) =
        (start(&provider, provider_port).await, start(&blind, blind_port).await, start(&caller, caller_port).await);

    let caller_did = Did::parse(&format!("did:web:127.0.0.1%3A{caller_port}")).expect("caller DID");
    let key = passerelle_identity::keys::KeyPair::from_jwk_file(&caller.dir.path().join("secrets/signing-key.jwk"))
        .expect("caller key");
    let tokens = DcpTokenSource::new(Identity::new(caller_did, key));
    let http = client_trusting(&pki.ca_pem);
    let ask = |running: &Running, port: u16| {
        let audience = Did::parse(&format!("did:web:127.0.0.1%3A{port}")).expect("audience");
        let token = tokens.authorization_for(&audience).expect("token");
        http.post(format!("{}/dsp/2025-1/catalog/request", running.protocol))
            .header("Authorization", token)
            .json(&catalog_request())
            .send()
    };

    // The token and the caller's LegalPerson verified over https; only the membership is missing.
    let response = ask(&provider_run, provider_port).await.expect("catalog request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("CatalogError");
    assert_eq!((status, body["code"].as_str()), (403, Some("MISSING_CREDENTIAL")), "{body:#}");

    // Without the CA the caller's did:web cannot be resolved at all.
    let response = ask(&blind_run, blind_port).await.expect("catalog request");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("CatalogError");
    assert_eq!((status, body["code"].as_str()), (401, Some("DID_UNRESOLVABLE")), "{body:#}");

    for running in [provider_run, blind_run, caller_run] {
        assert!(running.stop().await.success());
    }
}
