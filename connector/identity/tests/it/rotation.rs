//! Key rotation: several keys in one DID document, `kid` selects the key, a removed
//! key invalidates what it signed (once verifiers see the new document).

use std::sync::{Arc, RwLock};

use passerelle_identity::clock::{Clock, ManualClock};
use passerelle_identity::dcp::{IdTokenClaims, InMemoryJtiStore, TokenError, TokenVerifier};
use passerelle_identity::did::{
    CachingResolver, Did, DidDocument, DidResolver, InMemoryResolver, KeyLookupError, KeyResolutionError, Relationship,
    WebResolver, default_http_client, document_router,
};
use passerelle_identity::keys::KeyPair;
use passerelle_identity::vc::{Credential, CredentialError, CredentialVerifier};
use serde_json::json;
use time::Duration;

use crate::support::NOW;

struct Rotation {
    did: Did,
    audience: Did,
    k1: KeyPair,
    k2: KeyPair,
    document: DidDocument,
    clock: Arc<ManualClock>,
}

fn rotation(did: &str) -> Rotation {
    let did = Did::parse(did).unwrap();
    let k1 = KeyPair::generate_es256().unwrap();
    // Same algorithm for both, so that only the kid tells them apart.
    let k2 = KeyPair::generate_es256().unwrap();
    let mut document = DidDocument::new(&did);
    document.add_key(&k1.public_key(), &Relationship::ALL);
    document.add_key(&k2.public_key(), &Relationship::ALL);
    Rotation {
        did,
        audience: Did::parse("did:web:verifier.example").unwrap(),
        k1,
        k2,
        document,
        clock: Arc::new(ManualClock::at_unix(NOW)),
    }
}

impl Rotation {
    fn token(&self, key: &KeyPair, kid_of: &KeyPair) -> String {
        let claims = IdTokenClaims::new(&self.did, self.audience.as_str(), self.clock.unix(), Duration::minutes(5));
        claims.sign_with_kid(key, &self.did.key_url(kid_of.key_id())).unwrap()
    }

    fn verifier(&self, resolver: Arc<dyn DidResolver>) -> TokenVerifier {
        TokenVerifier::new(&self.audience, resolver, Arc::new(InMemoryJtiStore::new()), self.clock.clone())
    }
}

#[tokio::test]
async fn kid_selects_among_several_keys_and_removed_keys_fail() {
    let r = rotation("did:web:rotating.example");
    let directory = Arc::new(InMemoryResolver::new());
    directory.publish(r.document.clone());
    let cache = Arc::new(CachingResolver::new(directory.clone(), r.clock.clone(), Duration::minutes(5)));
    let verifier = r.verifier(cache.clone());

    // Both keys verify, each under its own kid.
    assert!(verifier.verify(&r.token(&r.k1, &r.k1)).await.is_ok());
    assert!(verifier.verify(&r.token(&r.k2, &r.k2)).await.is_ok());
    // The kid decides which key checks the signature: k2's signature under k1's kid fails.
    let err = verifier.verify(&r.token(&r.k2, &r.k1)).await.unwrap_err();
    assert!(matches!(err, TokenError::BadSignature { .. }), "{err}");
    let err = verifier.verify(&r.token(&r.k1, &r.k2)).await.unwrap_err();
    assert!(matches!(err, TokenError::BadSignature { .. }), "{err}");

    // k1 is withdrawn. Verifiers holding the cached document accept it until the TTL ...
    let mut rotated = r.document.clone();
    assert!(rotated.remove_key(r.k1.key_id()));
    directory.publish(rotated.clone());
    assert!(verifier.verify(&r.token(&r.k1, &r.k1)).await.is_ok(), "cached document still lists k1");
    // ... after which every k1 signature fails, while k2 keeps working.
    r.clock.advance(Duration::minutes(5));
    let err = verifier.verify(&r.token(&r.k1, &r.k1)).await.unwrap_err();
    assert!(matches!(err, TokenError::UnknownKey(KeyLookupError::UnknownKey { .. })), "{err}");
    assert!(verifier.verify(&r.token(&r.k2, &r.k2)).await.is_ok());

    // A key added after caching is found at once: an unknown kid triggers a fresh resolution.
    let k3 = KeyPair::generate_es256().unwrap();
    rotated.add_key(&k3.public_key(), &[Relationship::CapabilityInvocation]);
    directory.publish(rotated);
    assert!(verifier.verify(&r.token(&k3, &k3)).await.is_ok());
}

#[tokio::test]
async fn credentials_signed_by_a_removed_key_stop_verifying() {
    let r = rotation("did:web:issuer.example");
    let directory = Arc::new(InMemoryResolver::new());
    directory.publish(r.document.clone());
    let verifier = CredentialVerifier::new(directory.clone(), r.clock.clone(), Duration::seconds(30));
    let now = r.clock.now();
    let subject = json!({"id": "did:web:member.example"});
    let by_k1 = Credential::new("MembershipCredential", &r.did, subject.clone(), now).sign(&r.k1).unwrap();
    let by_k2 = Credential::new("MembershipCredential", &r.did, subject, now).sign(&r.k2).unwrap();
    assert!(verifier.verify_credential(&by_k1).await.is_ok());
    assert!(verifier.verify_credential(&by_k2).await.is_ok());

    let mut rotated = r.document.clone();
    rotated.remove_key(r.k1.key_id());
    directory.publish(rotated);
    let err = verifier.verify_credential(&by_k1).await.unwrap_err();
    assert!(
        matches!(err, CredentialError::Key(KeyResolutionError::Lookup(KeyLookupError::UnknownKey { .. }))),
        "{err}"
    );
    assert!(verifier.verify_credential(&by_k2).await.is_ok());
}

/// The same over HTTP: the served document changes, a fresh verifier resolves it.
#[tokio::test]
async fn rotation_is_visible_through_the_served_did_document() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let did = Did::from_base_url(&base).unwrap();
    let r = rotation(did.as_str());
    let shared = Arc::new(RwLock::new(r.document.clone()));
    let app = document_router(&r.did, shared.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let client = default_http_client(std::time::Duration::from_secs(10)).unwrap();
    let web: Arc<dyn DidResolver> = Arc::new(WebResolver::new(client.clone()).allow_http(true));
    assert!(r.verifier(web.clone()).verify(&r.token(&r.k1, &r.k1)).await.is_ok());

    shared.write().unwrap().remove_key(r.k1.key_id());
    let err = r.verifier(web.clone()).verify(&r.token(&r.k1, &r.k1)).await.unwrap_err();
    assert_eq!(err.code(), "token_unknown_key", "{err}");
    assert!(r.verifier(web).verify(&r.token(&r.k2, &r.k2)).await.is_ok());

    // Without allow_http the same DID is fetched over https, which nothing serves here.
    let https_only: Arc<dyn DidResolver> = Arc::new(WebResolver::new(client));
    let err = r.verifier(https_only).verify(&r.token(&r.k2, &r.k2)).await.unwrap_err();
    assert_eq!(err.code(), "did_unresolvable", "{err}");
}
