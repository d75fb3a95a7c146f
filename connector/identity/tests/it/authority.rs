//! The data-space authority: onboarding checks, membership issuance, revocation and
//! suspension as status list bit flips, persistence, HTTP routes.

use std::sync::Arc;

use futures::future::BoxFuture;
use passerelle_identity::authority::{
    Authority, AuthorityConfig, AuthorityError, AuthorityState, AuthorityStore, InMemoryAuthorityStore,
    OnboardingError, OnboardingRequest,
};
use passerelle_identity::clock::ManualClock;
use passerelle_identity::dcp::Identity;
use passerelle_identity::did::{Did, InMemoryResolver};
use passerelle_identity::jose::DecodedJws;
use passerelle_identity::keys::KeyPair;
use passerelle_identity::status::{StatusList, StatusPurpose};
use passerelle_identity::trust::TrustList;
use passerelle_identity::vc::membership::{Membership, Role};
use passerelle_identity::vc::{Credential, PresentationError, sign_presentation};
use serde_json::Value;
use time::Duration;

use crate::support::{NOW, Transport, World, fr, legal_person, onboarding_presentation};

fn request(presentation: String) -> OnboardingRequest {
    OnboardingRequest { presentation, role: Role::Lab }
}

/// A presentation of the holder to the authority with the given credentials.
fn present(world: &World, credentials: &[String]) -> String {
    let h = &world.holder;
    sign_presentation(
        h.key(),
        h.did(),
        world.authority_id.did().as_str(),
        credentials,
        world.now(),
        Duration::minutes(5),
    )
    .unwrap()
}

#[tokio::test]
async fn onboarding_refuses_what_does_not_hold() {
    let world = World::new(Transport::Memory).await;
    let now = world.now();
    let person = legal_person(world.holder.did());
    let lp = person.credential(now).sign(world.holder.key()).unwrap();
    let rn = person.registration_number.credential(world.notary.did(), now).sign(world.notary.key()).unwrap();
    let authority = &world.authority;

    // Registration number vouched for by the holder itself: not trusted.
    let self_rn = person.registration_number.credential(world.holder.did(), now).sign(world.holder.key()).unwrap();
    let err = authority.onboard(&request(present(&world, &[lp.clone(), self_rn]))).await.unwrap_err();
    assert!(matches!(err, OnboardingError::UntrustedIssuer { .. }), "{err}");
    assert_eq!(err.status().as_u16(), 403);

    // A LegalPerson written by someone else about the holder: only self-issued ones are believed.
    let foreign_lp = Credential { issuer: world.notary.did().to_string(), ..person.credential(now) }
        .sign(world.notary.key())
        .unwrap();
    let err = authority.onboard(&request(present(&world, &[foreign_lp, rn.clone()]))).await.unwrap_err();
    assert!(matches!(err, OnboardingError::UntrustedIssuer { .. }), "{err}");

    // The notary attests another number than the LegalPerson states.
    let mut other = person.registration_number.clone();
    other.value = "FR99999999999".into();
    let other_rn = other.credential(world.notary.did(), now).sign(world.notary.key()).unwrap();
    let err = authority.onboard(&request(present(&world, &[lp.clone(), other_rn]))).await.unwrap_err();
    assert_eq!(err, OnboardingError::RegistrationMismatch);

    // Missing registration number.
    let err = authority.onboard(&request(present(&world, std::slice::from_ref(&lp)))).await.unwrap_err();
    assert_eq!(err, OnboardingError::Missing("gx:RegistrationNumber"));
    assert_eq!(err.status().as_u16(), 400);

    // A credential about another participant in the holder's presentation.
    let theirs = legal_person(world.verifier_id.did()).credential(now).sign(world.verifier_id.key()).unwrap();
    let err = authority.onboard(&request(present(&world, &[theirs, rn.clone()]))).await.unwrap_err();
    assert!(matches!(err, OnboardingError::HolderMismatch { .. }), "{err}");

    // A presentation addressed to someone else.
    let h = &world.holder;
    let elsewhere = sign_presentation(
        h.key(),
        h.did(),
        "did:web:other.example",
        &[lp.clone(), rn.clone()],
        now,
        Duration::minutes(5),
    )
    .unwrap();
    let err = authority.onboard(&request(elsewhere)).await.unwrap_err();
    assert!(matches!(err, OnboardingError::Presentation(PresentationError::WrongAudience { .. })), "{err}");

    // Everything right, but the holder is already a member.
    let err = authority.onboard(&request(present(&world, &[lp.clone(), rn.clone()]))).await.unwrap_err();
    assert!(matches!(err, OnboardingError::AlreadyMember { .. }), "{err}");
    assert_eq!(err.status().as_u16(), 409);

    // Once revoked, the participant may onboard again and gets a new credential.
    authority.revoke(&world.membership_id).await.unwrap();
    let again = authority.onboard(&request(present(&world, &[lp, rn]))).await.unwrap();
    assert_ne!(again.credential_id, world.membership_id);
    assert_eq!(again.member.role, Role::Lab);
    assert_eq!(again.member.legal_name, "Films du Marais SAS");
    assert_eq!(again.member.country, "FR");
}

async fn bit(authority: &Authority, purpose: StatusPurpose, index: usize) -> bool {
    let jwt = authority.status_list_credential(purpose).await.unwrap();
    let credential: Credential =
        serde_json::from_value(Value::Object(DecodedJws::decode(&jwt).unwrap().payload)).unwrap();
    StatusList::from_credential(&credential, purpose).unwrap().get(index).unwrap()
}

#[tokio::test]
async fn revocation_and_suspension_flip_the_published_bits() {
    let world = World::new(Transport::Memory).await;
    let a = &world.authority;
    let index = a.members().await[0].status_index;
    let membership: Credential =
        serde_json::from_value(Value::Object(DecodedJws::decode(&world.membership_jwt).unwrap().payload)).unwrap();
    assert_eq!(membership.credential_status.len(), 2);
    assert_eq!(membership.credential_status[0]["statusListIndex"], index.to_string());
    assert_eq!(membership.credential_status[0]["statusListCredential"], a.status_list_url(StatusPurpose::Revocation));

    let before = a.status_list_credential(StatusPurpose::Suspension).await.unwrap();
    assert!(!bit(a, StatusPurpose::Suspension, index).await);
    a.suspend(&world.membership_id).await.unwrap();
    assert!(bit(a, StatusPurpose::Suspension, index).await);
    assert_ne!(a.status_list_credential(StatusPurpose::Suspension).await.unwrap(), before);
    a.reinstate(&world.membership_id).await.unwrap();
    assert!(!bit(a, StatusPurpose::Suspension, index).await);

    assert!(!bit(a, StatusPurpose::Revocation, index).await);
    a.revoke(&world.membership_id).await.unwrap();
    assert!(bit(a, StatusPurpose::Revocation, index).await);
    assert_eq!(a.reinstate(&world.membership_id).await, Err(AuthorityError::Revoked(world.membership_id.clone())));
    assert_eq!(a.revoke("urn:uuid:nope").await, Err(AuthorityError::UnknownMember("urn:uuid:nope".into())));
}

#[tokio::test]
async fn a_reinstated_participant_is_accepted_again() {
    let world = World::new(Transport::Memory).await;
    world.change_membership("suspend").await;
    assert_eq!(world.call(Some(&world.valid_header())).await.unwrap_err().1, "credential_suspended");
    world.change_membership("reinstate").await;
    // The verifier's cached list is stale until its TTL (5 min) expires.
    world.clock.advance(Duration::minutes(6));
    assert!(world.call(Some(&world.valid_header())).await.is_ok());
}

struct FailingStore;

impl AuthorityStore for FailingStore {
    fn save<'a>(&'a self, _: &'a AuthorityState) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Err("disk full".to_string()) })
    }
}

fn standalone(store: Arc<dyn AuthorityStore>, state: AuthorityState) -> Authority {
    let identity = Identity::new(Did::parse("did:web:authority.example").unwrap(), KeyPair::generate_es256().unwrap());
    let resolver = Arc::new(InMemoryResolver::new());
    resolver.publish(identity.did_document(None));
    let config = AuthorityConfig::new(identity, "https://authority.example/registry", TrustList::new());
    Authority::new(config, resolver, Arc::new(ManualClock::at_unix(NOW)), state, store).unwrap()
}

fn member(name: &str) -> Membership {
    Membership {
        member: Did::parse(&format!("did:web:{name}.example")).unwrap(),
        role: Role::Broadcaster,
        legal_name: name.into(),
        country: fr(),
    }
}

#[tokio::test]
async fn state_is_saved_before_it_takes_effect_and_reloads() {
    let store = Arc::new(InMemoryAuthorityStore::new());
    let authority = standalone(store.clone(), AuthorityState::default());
    let revoked = authority.issue(&member("tv")).await.unwrap();
    let active = authority.issue(&member("radio")).await.unwrap();
    assert_ne!(revoked.member.status_index, active.member.status_index);
    authority.revoke(&revoked.credential_id).await.unwrap();
    let saved = store.last().unwrap();
    assert_eq!(saved, authority.state().await);
    assert!(saved.members[&revoked.credential_id].revoked);

    // A restarted authority derives the same lists from the saved state.
    let json = serde_json::to_string(&saved).unwrap();
    let restarted = standalone(Arc::new(InMemoryAuthorityStore::new()), serde_json::from_str(&json).unwrap());
    assert!(bit(&restarted, StatusPurpose::Revocation, revoked.member.status_index).await);
    assert!(!bit(&restarted, StatusPurpose::Revocation, active.member.status_index).await);

    // A failed save changes nothing: no new member, no bit flipped.
    let failing = standalone(Arc::new(FailingStore), saved.clone());
    let err = failing.issue(&member("lab")).await.unwrap_err();
    assert!(matches!(err, OnboardingError::Authority(AuthorityError::Store(_))), "{err}");
    assert_eq!(failing.suspend(&active.credential_id).await, Err(AuthorityError::Store("disk full".into())));
    assert_eq!(failing.state().await, saved);
    assert!(!bit(&failing, StatusPurpose::Suspension, active.member.status_index).await);
}

#[tokio::test]
async fn http_routes_answer_with_statuses() {
    let world = World::new(Transport::Http).await;
    let (client, admin) = world.http().unwrap();
    let status = |r: reqwest::Response| r.status().as_u16();

    let list = client.get(format!("{}/status/revocation", world.registry)).send().await.unwrap();
    assert_eq!(list.headers()["content-type"], "application/vc+jwt");
    let before = list.text().await.unwrap();
    assert_eq!(status(client.get(format!("{}/status/nope", world.registry)).send().await.unwrap()), 404);
    let bad = client.post(format!("{}/onboarding", world.registry)).body("{}").send().await.unwrap();
    assert_eq!(status(bad), 400);
    let again = OnboardingRequest {
        presentation: onboarding_presentation(
            &world.holder,
            &world.notary,
            world.authority_id.did(),
            &legal_person(world.holder.did()),
            world.now(),
        ),
        role: Role::Distributor,
    };
    let dup = client.post(format!("{}/onboarding", world.registry)).json(&again).send().await.unwrap();
    assert_eq!(status(dup), 409);

    assert_eq!(status(client.post(format!("{admin}/members/urn:uuid:nope/revoke")).send().await.unwrap()), 404);
    let url = format!("{admin}/members/{}/explode", world.membership_id);
    assert_eq!(status(client.post(url).send().await.unwrap()), 404);
    let members: Value = client.get(format!("{admin}/members")).send().await.unwrap().json().await.unwrap();
    assert_eq!(members[0]["did"], world.holder.did().as_str());

    world.change_membership("revoke").await;
    let after = client.get(format!("{}/status/revocation", world.registry)).send().await.unwrap().text().await.unwrap();
    assert_ne!(after, before, "the published list changes with a revocation");
    let url = format!("{admin}/members/{}/reinstate", world.membership_id);
    assert_eq!(status(client.post(url).send().await.unwrap()), 409);
}
