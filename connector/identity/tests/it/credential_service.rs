//! The holder's credential service: what it gives, to whom, and what it refuses.

use passerelle_identity::dcp::{CredentialServiceError, PresentationQueryMessage, Scope, TokenError};
use passerelle_identity::jose::DecodedJws;
use passerelle_identity::keys::KeyPair;
use passerelle_identity::vc::{CredentialVerifier, types};
use serde_json::json;
use time::Duration;

use crate::support::{Transport, World};

impl World {
    /// The verifier's ID token towards the holder, carrying `access`.
    fn query_header(&self, access: Option<String>) -> String {
        let token =
            self.verifier_id.id_token(self.holder.did().as_str(), access, self.now(), Duration::minutes(2)).unwrap();
        format!("Bearer {token}")
    }
}

#[tokio::test]
async fn answers_with_only_the_requested_credentials() {
    let world = World::new(Transport::Memory).await;
    let query = PresentationQueryMessage::for_scopes(&[Scope::credential_type(types::LEGAL_PERSON)]);
    let header = world.query_header(Some(world.access_token()));
    let response = world.holder_service.query(Some(&header), &query).await.unwrap();
    let vp = response.presentation[0].as_str().unwrap();
    let decoded = DecodedJws::decode(vp).unwrap();
    assert_eq!(decoded.typ.as_deref(), Some("vp+jwt"));
    assert_eq!(decoded.payload["aud"], world.verifier_id.did().as_str());
    let credentials = decoded.payload["verifiableCredential"].as_array().unwrap();
    assert_eq!(credentials.len(), 1);
    assert_eq!(credentials[0]["id"], format!("data:application/vc+jwt,{}", world.legal_person_jwt));
}

#[tokio::test]
async fn presentations_verify_and_carry_the_membership() {
    let world = World::new(Transport::Memory).await;
    let query = PresentationQueryMessage::for_scopes(&world.scopes());
    let header = world.query_header(Some(world.access_token()));
    let response = world.holder_service.query(Some(&header), &query).await.unwrap();
    // The presentation is checked against the holder's published document.
    let resolver = passerelle_identity::did::InMemoryResolver::new();
    resolver.publish(world.holder.did_document(None));
    let checker = CredentialVerifier::new(std::sync::Arc::new(resolver), world.clock.clone(), Duration::seconds(30));
    let vp = checker
        .verify_presentation(response.presentation[0].as_str().unwrap(), world.verifier_id.did().as_str())
        .await
        .unwrap();
    assert_eq!(&vp.holder, world.holder.did());
    assert!(vp.credentials.contains(&world.membership_jwt));
    assert_eq!(vp.credentials.len(), 2);
}

#[tokio::test]
async fn refusals_are_typed() {
    let world = World::new(Transport::Memory).await;
    let service = &world.holder_service;
    let query = PresentationQueryMessage::for_scopes(&world.scopes());

    // No header, or a token without our access token.
    assert!(matches!(service.query(None, &query).await, Err(CredentialServiceError::Auth(_))));
    let err = service.query(Some(&world.query_header(None)), &query).await.unwrap_err();
    assert_eq!(err, CredentialServiceError::MissingAccessToken);
    assert_eq!(err.status().as_u16(), 401);

    // An access token granted to someone else, or forged by someone else.
    let stranger = passerelle_identity::did::Did::parse("did:web:stranger.example").unwrap();
    let theirs = world.holder.access_token(&stranger, &world.scopes(), world.now(), Duration::minutes(5)).unwrap();
    let err = service.query(Some(&world.query_header(Some(theirs))), &query).await.unwrap_err();
    assert!(matches!(err, CredentialServiceError::AccessToken(ref why) if why.contains("granted to")), "{err}");
    let forger =
        passerelle_identity::dcp::Identity::new(world.holder.did().clone(), KeyPair::generate_es256().unwrap());
    let forged =
        forger.access_token(world.verifier_id.did(), &world.scopes(), world.now(), Duration::minutes(5)).unwrap();
    let err = service.query(Some(&world.query_header(Some(forged))), &query).await.unwrap_err();
    assert!(matches!(err, CredentialServiceError::AccessToken(_)), "{err}");

    // A scope the access token does not grant.
    let more = PresentationQueryMessage::for_scopes(&[Scope::credential_type(types::REGISTRATION_NUMBER)]);
    let err = service.query(Some(&world.query_header(Some(world.access_token()))), &more).await.unwrap_err();
    assert!(matches!(err, CredentialServiceError::ScopeNotGranted(_)), "{err}");
    assert_eq!(err.status().as_u16(), 403);

    // Presentation definitions are not implemented (501), and malformed queries are 400.
    let mut definition = query.clone();
    definition.scope = None;
    definition.presentation_definition = Some(json!({"id": "x", "input_descriptors": []}));
    let err = service.query(Some(&world.query_header(Some(world.access_token()))), &definition).await.unwrap_err();
    assert_eq!(err, CredentialServiceError::PresentationDefinitionUnsupported);
    assert_eq!(err.status().as_u16(), 501);
    let mut bad = query.clone();
    bad.scope = Some(vec!["openid".into()]);
    let err = service.query(Some(&world.query_header(Some(world.access_token()))), &bad).await.unwrap_err();
    assert!(matches!(err, CredentialServiceError::BadQuery(_)), "{err}");

    // The verifier's own token is checked like any DCP token: a replay is refused.
    let header = world.query_header(Some(world.access_token()));
    service.query(Some(&header), &query).await.unwrap();
    let err = service.query(Some(&header), &query).await.unwrap_err();
    assert!(matches!(err, CredentialServiceError::Token(TokenError::Replayed { .. })), "{err}");
}

#[tokio::test]
async fn http_route_maps_errors_to_statuses() {
    let world = World::new(Transport::Http).await;
    let client = passerelle_identity::did::default_http_client(std::time::Duration::from_secs(10)).unwrap();
    let doc = world.holder.did().document_url(true);
    let endpoint = doc.replace("/.well-known/did.json", "/dcp/presentations/query");
    let query = PresentationQueryMessage::for_scopes(&world.scopes());
    let status = |r: reqwest::Response| r.status().as_u16();
    assert_eq!(status(client.post(&endpoint).json(&query).send().await.unwrap()), 401);
    let header = world.query_header(Some(world.access_token()));
    let r = client.post(&endpoint).header("Authorization", &header).body("{not json").send().await.unwrap();
    assert_eq!(status(r), 400);
    let r = client.post(&endpoint).header("Authorization", &header).json(&query).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["type"], "PresentationResponseMessage");
}
