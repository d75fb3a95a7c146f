//! Cost of each DCP verification step on the provider side.
//!
//! `cargo bench -p passerelle-identity --bench verify`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use passerelle_identity::clock::{Clock, ManualClock};
use passerelle_identity::dcp::IdTokenClaims;
use passerelle_identity::did::{CachingResolver, Did, DidDocument, DidResolver, InMemoryResolver, Relationship};
use passerelle_identity::jose::DecodedJws;
use passerelle_identity::keys::KeyPair;
use passerelle_identity::status::{
    InMemoryStatusListSource, StatusChecker, StatusList, StatusListEntry, StatusPurpose,
};
use passerelle_identity::vc::{Credential, CredentialVerifier, sign_presentation};
use serde_json::json;
use time::Duration;

struct Setup {
    clock: Arc<ManualClock>,
    resolver: Arc<InMemoryResolver>,
    holder: Did,
    holder_key: KeyPair,
    issuer: Did,
    issuer_key: KeyPair,
}

fn setup() -> Setup {
    let clock = Arc::new(ManualClock::at_unix(1_780_000_000));
    let resolver = Arc::new(InMemoryResolver::new());
    let holder = Did::parse("did:web:holder.example").unwrap();
    let issuer = Did::parse("did:web:authority.example").unwrap();
    let holder_key = KeyPair::generate_es256().unwrap();
    let issuer_key = KeyPair::generate_es256().unwrap();
    for (did, key) in [(&holder, &holder_key), (&issuer, &issuer_key)] {
        let mut doc = DidDocument::new(did);
        doc.add_key(&key.public_key(), &Relationship::ALL);
        resolver.publish(doc);
    }
    Setup { clock, resolver, holder, holder_key, issuer, issuer_key }
}

fn token_signature(c: &mut Criterion, s: &Setup) {
    let claims = IdTokenClaims::new(&s.holder, "did:web:verifier.example", s.clock.unix(), Duration::minutes(5));
    let token = claims.sign(&s.holder_key).unwrap();
    let key = s.holder_key.public_key();
    c.bench_function("token_signature_es256 (decode + verify)", |b| {
        b.iter(|| DecodedJws::decode(black_box(&token)).unwrap().verify(&key).unwrap())
    });
}

fn did_cache_hit(c: &mut Criterion, s: &Setup) {
    let cache = CachingResolver::new(s.resolver.clone(), s.clock.clone(), Duration::minutes(5));
    block_on(cache.resolve(&s.holder)).unwrap();
    c.bench_function("did_document_cache_hit", |b| b.iter(|| block_on(cache.resolve(black_box(&s.holder))).unwrap()));
}

fn presentation(c: &mut Criterion, s: &Setup) {
    let now = s.clock.now();
    let subject = json!({"id": s.holder.as_str(), "role": "lab"});
    let vcs: Vec<String> = (0..2)
        .map(|_| {
            Credential::new("MembershipCredential", &s.issuer, subject.clone(), now)
                .valid_until(now + Duration::days(1))
                .sign(&s.issuer_key)
                .unwrap()
        })
        .collect();
    let vp = sign_presentation(&s.holder_key, &s.holder, "did:web:verifier.example", &vcs, now, Duration::minutes(5))
        .unwrap();
    let verifier = CredentialVerifier::new(s.resolver.clone(), s.clock.clone(), Duration::seconds(30));
    c.bench_function("presentation_verify (vp + 2 vcs, ES256)", |b| {
        b.iter(|| {
            block_on(async {
                let p = verifier.verify_presentation(black_box(&vp), "did:web:verifier.example").await.unwrap();
                for vc in &p.credentials {
                    verifier.verify_credential(vc).await.unwrap();
                }
            })
        })
    });
}

fn status_lookup(c: &mut Criterion, s: &Setup) {
    let url = "https://authority.example/status/revocation";
    let now = s.clock.now();
    let mut list = StatusList::new(StatusPurpose::Revocation);
    list.set(4242, true).unwrap();
    let list_jwt = list.credential(&s.issuer, url, now, now + Duration::days(1)).sign(&s.issuer_key).unwrap();
    let source = Arc::new(InMemoryStatusListSource::new());
    source.publish(url, list_jwt);
    let verifier = CredentialVerifier::new(s.resolver.clone(), s.clock.clone(), Duration::seconds(30));
    let checker = StatusChecker::new(source, verifier, Duration::minutes(5));
    let mut credential = Credential::new("MembershipCredential", &s.issuer, json!({"id": s.holder.as_str()}), now);
    credential.credential_status =
        vec![StatusListEntry { purpose: StatusPurpose::Revocation, index: 17, list_url: url.into() }.to_json()];
    block_on(checker.check(&credential)).unwrap();
    c.bench_function("status_list_lookup (cached list)", |b| {
        b.iter(|| block_on(checker.check(black_box(&credential))).unwrap())
    });
    let encoded = list.encode();
    c.bench_function("status_list_decode (16 KiB, cache miss part)", |b| {
        b.iter(|| StatusList::decode(StatusPurpose::Revocation, black_box(&encoded)).unwrap())
    });
}

fn benches(c: &mut Criterion) {
    let s = setup();
    token_signature(c, &s);
    did_cache_hit(c, &s);
    presentation(c, &s);
    status_lookup(c, &s);
}

criterion_group!(verify, benches);
criterion_main!(verify);
