//! `passerelle identity show` and `rotate-key` with the real binaries: the DID document
//! lists old and new keys, and a request signed with the new key is accepted.

use passerelle_identity::jose::DecodedJws;
use serde_json::Value;

use crate::dcp::{AuthorityProcess, Participant, catalog_request};
use crate::support::passerelle;

async fn did_document(participant: &crate::support::Running) -> Value {
    participant
        .http
        .get(format!("{}/.well-known/did.json", participant.protocol))
        .send()
        .await
        .expect("did document")
        .json()
        .await
        .expect("json")
}

fn kids(document: &Value) -> Vec<String> {
    document["verificationMethod"]
        .as_array()
        .expect("verification methods")
        .iter()
        .map(|m| m["publicKeyJwk"]["kid"].as_str().expect("kid").to_string())
        .collect()
}

#[tokio::test]
async fn show_rotate_and_retire_keys() {
    let authority = AuthorityProcess::start().await;
    let provider = Participant::init("Films du Marais", "distributor", &authority, &[]).await;
    let member = Participant::init("Canal Est", "broadcaster", &authority, &[]).await;
    let provider_run = provider.run().await;
    let member_run = member.run().await;
    let out = member.onboard(&authority).await;
    assert_eq!(out.code(), Some(0), "onboard: {}", out.stderr);

    // `identity show`: DID, key with kid and algorithm, credentials with type, issuer and expiry.
    let config = member.config();
    let shown = passerelle(&["identity", "show", "--config", &config], &[]).await;
    assert_eq!(shown.code(), Some(0), "{}", shown.stderr);
    let key_file: Value = serde_json::from_str(
        &std::fs::read_to_string(member.dir.path().join("secrets/signing-key.jwk")).expect("key file"),
    )
    .expect("jwk");
    let old_kid = key_file["kid"].as_str().expect("kid").to_string();
    let private = key_file["d"].as_str().expect("private part");
    assert!(shown.stdout.contains(&format!("DID: {}", member.did)), "{}", shown.stdout);
    assert!(shown.stdout.contains(&format!("* ES256 {old_kid}")), "{}", shown.stdout);
    assert!(shown.stdout.contains("MembershipCredential issued by did:web:127.0.0.1"), "{}", shown.stdout);
    assert!(shown.stdout.contains("gx:LegalPerson issued by"), "{}", shown.stdout);
    assert!(!shown.stdout.contains(private) && !shown.stderr.contains(private), "a private key was printed");
    let json = passerelle(&["identity", "show", "--config", &config, "--json"], &[]).await;
    let report: Value = serde_json::from_str(&json.stdout).expect("identity show --json");
    assert_eq!(report["signing_kid"], old_kid.as_str());
    let membership = report["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .find(|c| c["types"][0] == "MembershipCredential")
        .expect("membership listed");
    assert_eq!(membership["issuer"], authority.did.as_str());
    assert!(membership["valid_until"].is_string());

    // Rotate while stopped, restart: both keys are published, the new one signs.
    member_run.stop().await;
    let rotated = passerelle(&["identity", "rotate-key", "--config", &config], &[]).await;
    assert_eq!(rotated.code(), Some(0), "{}", rotated.stderr);
    assert!(rotated.stdout.contains(&format!("previous key {old_kid} stays published")), "{}", rotated.stdout);
    let member_run = member.run().await;
    let listed = kids(&did_document(&member_run).await);
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert_eq!(listed[0], old_kid);
    let new_kid = listed[1].clone();
    let token = member.token_for(&provider.did);
    let jws = DecodedJws::decode(token.strip_prefix("Bearer ").expect("bearer")).expect("a JWS");
    assert_eq!(jws.kid, Some(format!("{}#{new_kid}", member.did)), "the token is signed with the new key");
    let (status, body) = catalog_request(&provider_run, Some(&token)).await;
    assert_eq!(status, 200, "a request signed with the new key is accepted: {body:#}");

    // The signing key cannot be retired; the old one can, and the credentials still verify.
    let refused =
        passerelle(&["identity", "rotate-key", "--config", &config, &format!("--retire={new_kid}")], &[]).await;
    assert_eq!(refused.code(), Some(1), "{}", refused.stderr);
    assert!(refused.stderr.contains("is the signing key"), "{}", refused.stderr);
    member_run.stop().await;
    let retired = passerelle(&["identity", "rotate-key", "--config", &config, "--retire", &old_kid], &[]).await;
    assert_eq!(retired.code(), Some(0), "{}", retired.stderr);
    let member_run = member.run().await;
    assert_eq!(kids(&did_document(&member_run).await), [new_kid]);
    let (status, body) = catalog_request(&provider_run, Some(&member.token_for(&provider.did))).await;
    assert_eq!(status, 200, "self-issued credentials were re-signed with the new key: {body:#}");

    drop(member_run);
    assert!(provider_run.stop().await.success());
}
