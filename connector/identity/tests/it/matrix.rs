//! The rejection matrix: every way a DSP caller can fail DCP verification, each refused
//! with its own error, and a valid participant accepted — in memory and over HTTP.

use passerelle_identity::dcp::IdTokenClaims;
use passerelle_identity::keys::KeyPair;
use passerelle_identity::vc::membership::{Membership, Role};
use time::Duration;

use crate::support::{NOW, Outcome, Participant, Transport, World, fr};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    Valid,
    NoHeader,
    NoBearerPrefix,
    BadSignature,
    WrongKey,
    UnknownKey,
    Expired,
    IatInFuture,
    NbfInFuture,
    WrongAudience,
    IssNotSub,
    SubNotDidDocument,
    ReplayedJti,
    UntrustedIssuer,
    Revoked,
    Suspended,
    ExpiredCredential,
    HolderNotSubject,
    MissingCredential,
}

impl Case {
    /// The expected (status, code); `None` for acceptance.
    fn expected(self) -> Option<(u16, &'static str)> {
        Some(match self {
            Case::Valid => return None,
            Case::NoHeader => (401, "missing_authorization"),
            Case::NoBearerPrefix => (401, "not_bearer"),
            Case::BadSignature => (401, "token_bad_signature"),
            Case::WrongKey => (401, "token_key_not_authorized"),
            Case::UnknownKey => (401, "token_unknown_key"),
            Case::Expired => (401, "token_expired"),
            Case::IatInFuture => (401, "token_issued_in_future"),
            Case::NbfInFuture => (401, "token_not_yet_valid"),
            Case::WrongAudience => (401, "token_wrong_audience"),
            Case::IssNotSub => (401, "token_iss_not_sub"),
            Case::SubNotDidDocument => (401, "token_sub_not_did_document"),
            Case::ReplayedJti => (401, "token_replayed"),
            Case::UntrustedIssuer => (403, "untrusted_issuer"),
            Case::Revoked => (403, "credential_revoked"),
            Case::Suspended => (403, "credential_suspended"),
            Case::ExpiredCredential => (403, "credential_expired"),
            Case::HolderNotSubject => (403, "holder_mismatch"),
            Case::MissingCredential => (403, "missing_credential"),
        })
    }
}

/// Prepares the world for `case` and returns the `Authorization` header to send.
async fn arrange(world: &World, case: Case) -> Option<String> {
    match case {
        Case::Valid | Case::ReplayedJti => Some(world.valid_header()),
        Case::NoHeader => None,
        Case::NoBearerPrefix => Some(world.valid_header().trim_start_matches("Bearer ").to_string()),
        Case::BadSignature => {
            // Signed correctly, then the claims are altered (a longer lifetime) under the old signature.
            let token = world.claims().sign(world.holder.key()).unwrap();
            let parts: Vec<&str> = token.split('.').collect();
            let mut claims = world.claims();
            claims.exp += 3600;
            let forged = claims.sign(world.holder.key()).unwrap();
            let forged_payload = forged.split('.').nth(1).unwrap();
            Some(format!("Bearer {}.{}.{}", parts[0], forged_payload, parts[2]))
        }
        Case::WrongKey => {
            // A real key of the holder, but published for assertionMethod only.
            let kid = world.holder.did().key_url(world.holder_assertion_key.key_id());
            Some(format!("Bearer {}", world.claims().sign_with_kid(&world.holder_assertion_key, &kid).unwrap()))
        }
        Case::UnknownKey => {
            let stranger = KeyPair::generate_es256().unwrap();
            Some(format!("Bearer {}", world.claims().sign(&stranger).unwrap()))
        }
        Case::Expired => {
            let mut claims = world.claims();
            claims.iat = NOW - 600;
            claims.exp = NOW - 120;
            Some(world.header(&claims))
        }
        Case::IatInFuture => {
            let mut claims = world.claims();
            claims.iat = NOW + 300;
            claims.exp = NOW + 600;
            Some(world.header(&claims))
        }
        Case::NbfInFuture => {
            let mut claims = world.claims();
            claims.nbf = Some(NOW + 300);
            Some(world.header(&claims))
        }
        Case::WrongAudience => {
            let mut claims = world.claims();
            claims.aud = vec!["did:web:someone-else.example".into()];
            Some(world.header(&claims))
        }
        Case::IssNotSub => {
            let mut claims = world.claims();
            claims.iss = world.notary.did().to_string();
            Some(world.header(&claims))
        }
        Case::SubNotDidDocument => {
            let mismatch = world.mismatch_did.as_str();
            let mut claims = world.claims();
            claims.iss = mismatch.into();
            claims.sub = mismatch.into();
            let kid = format!("{mismatch}#{}", world.holder.key().key_id());
            Some(format!("Bearer {}", claims.sign_with_kid(world.holder.key(), &kid).unwrap()))
        }
        Case::UntrustedIssuer => {
            // A membership credential, correctly signed, by an issuer not trusted for memberships.
            let m = membership(world.holder.did().clone());
            let now = world.now();
            let jwt = m.credential(world.notary.did(), now, now + Duration::days(30)).sign(world.notary.key()).unwrap();
            world.replace_membership(&jwt);
            Some(world.valid_header())
        }
        Case::Revoked => {
            world.change_membership("revoke").await;
            Some(world.valid_header())
        }
        Case::Suspended => {
            world.change_membership("suspend").await;
            Some(world.valid_header())
        }
        Case::ExpiredCredential => {
            let m = membership(world.holder.did().clone());
            let now = world.now();
            let c = m.credential(world.authority_id.did(), now - Duration::days(400), now - Duration::days(1));
            world.replace_membership(&c.sign(world.authority_id.key()).unwrap());
            Some(world.valid_header())
        }
        Case::HolderNotSubject => {
            // The authority's membership of another participant, presented by the holder.
            let m = membership(world.verifier_id.did().clone());
            let now = world.now();
            let c = m.credential(world.authority_id.did(), now, now + Duration::days(30));
            world.replace_membership(&c.sign(world.authority_id.key()).unwrap());
            Some(world.valid_header())
        }
        Case::MissingCredential => {
            assert_eq!(world.holder_store.remove_type("MembershipCredential"), 1);
            Some(world.valid_header())
        }
    }
}

fn membership(member: passerelle_identity::did::Did) -> Membership {
    Membership { member, role: Role::Distributor, legal_name: "Films du Marais SAS".into(), country: fr() }
}

/// Runs one case in a fresh world and checks the outcome.
async fn check(transport: Transport, case: Case) {
    let world = World::new(transport).await;
    let header = arrange(&world, case).await;
    let mut outcome: Outcome = world.call(header.as_deref()).await;
    if case == Case::ReplayedJti {
        assert!(outcome.is_ok(), "{transport:?}: the first use of the token must pass: {outcome:?}");
        outcome = world.call(header.as_deref()).await;
    }
    match case.expected() {
        None => assert_eq!(
            outcome,
            Ok(Participant {
                did: world.holder.did().to_string(),
                role: "distributor".into(),
                legal_name: "Films du Marais SAS".into(),
                country: "FR".into(),
            }),
            "{transport:?} {case:?}"
        ),
        Some((status, code)) => {
            assert_eq!(outcome, Err((status, code.to_string())), "{transport:?} {case:?}")
        }
    }
}

/// One test per case and transport: `in_memory::<case>` and `over_http::<case>`.
macro_rules! matrix {
    ($($name:ident => $case:expr),* $(,)?) => {
        mod in_memory {
            use super::*;
            $( #[tokio::test] async fn $name() { check(Transport::Memory, $case).await } )*
        }
        mod over_http {
            use super::*;
            $( #[tokio::test] async fn $name() { check(Transport::Http, $case).await } )*
        }
    };
}

matrix! {
    valid_participant_is_accepted => Case::Valid,
    no_header => Case::NoHeader,
    no_bearer_prefix => Case::NoBearerPrefix,
    bad_signature => Case::BadSignature,
    wrong_key_not_capability_invocation => Case::WrongKey,
    unknown_key => Case::UnknownKey,
    expired_token => Case::Expired,
    iat_in_the_future => Case::IatInFuture,
    nbf_in_the_future => Case::NbfInFuture,
    wrong_audience => Case::WrongAudience,
    iss_differs_from_sub => Case::IssNotSub,
    sub_differs_from_did_document => Case::SubNotDidDocument,
    replayed_jti => Case::ReplayedJti,
    untrusted_issuer => Case::UntrustedIssuer,
    revoked_credential => Case::Revoked,
    suspended_credential => Case::Suspended,
    expired_credential => Case::ExpiredCredential,
    holder_is_not_the_credential_subject => Case::HolderNotSubject,
    missing_credential => Case::MissingCredential,
}

/// Claims built from scratch (not from the world helper) still verify: the helper does
/// not hide a requirement.
#[tokio::test]
async fn hand_built_claims_verify() {
    let world = World::new(Transport::Memory).await;
    let claims = IdTokenClaims {
        iss: world.holder.did().to_string(),
        sub: world.holder.did().to_string(),
        aud: vec![world.verifier_id.did().to_string()],
        jti: "a-unique-id".into(),
        iat: NOW,
        exp: NOW + 60,
        nbf: Some(NOW - 1),
        token: Some(world.access_token()),
    };
    let outcome = world.call(Some(&world.header(&claims))).await;
    assert!(outcome.is_ok(), "{outcome:?}");
}
