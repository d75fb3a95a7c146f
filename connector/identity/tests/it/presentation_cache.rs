//! The verifier reuses a caller's verified presentation while the caller presents the same
//! access token, and only within the bounds the cache promises.

use passerelle_identity::dcp::IdTokenClaims;
use time::Duration;

use crate::support::{NOW, Transport, World};

/// A fresh ID token (own `jti`) of the holder for the verifier, carrying `access`.
fn header(world: &World, access: &str, at: i64) -> String {
    let claims = IdTokenClaims::new(world.holder.did(), world.verifier_id.did().as_str(), at, Duration::minutes(2))
        .with_access_token(access.to_string());
    world.header(&claims)
}

#[tokio::test]
async fn the_same_access_token_is_not_queried_again_but_a_new_one_is() {
    let world = World::new(Transport::Memory).await;
    let access = world.access_token();
    assert!(world.call(Some(&header(&world, &access, NOW))).await.is_ok());

    // The holder no longer presents a membership: only a new query would notice.
    assert_eq!(world.holder_store.remove_type("MembershipCredential"), 1);
    let again = world.call(Some(&header(&world, &access, NOW))).await;
    assert!(again.is_ok(), "same caller, same access token: the verified presentation is reused: {again:?}");

    let fresh = world.access_token();
    assert_ne!(fresh, access);
    let refused = world.call(Some(&header(&world, &fresh, NOW))).await;
    assert_eq!(refused.unwrap_err().1, "missing_credential", "a new access token means a new query");
}

#[tokio::test]
async fn the_id_token_is_still_checked_on_every_request() {
    let world = World::new(Transport::Memory).await;
    let access = world.access_token();
    let first = header(&world, &access, NOW);
    assert!(world.call(Some(&first)).await.is_ok());
    assert_eq!(world.call(Some(&first)).await.unwrap_err().1, "token_replayed", "a replayed ID token is refused");

    let mut claims = IdTokenClaims::new(world.holder.did(), "did:web:someone-else.example", NOW, Duration::minutes(2))
        .with_access_token(access.clone());
    claims.jti = "another".into();
    let refused = world.call(Some(&world.header(&claims))).await.unwrap_err();
    assert_eq!(refused.0, 401, "wrong audience, even with a cached access token: {refused:?}");
}

#[tokio::test]
async fn a_revocation_is_seen_once_the_status_list_ttl_has_passed() {
    let world = World::new(Transport::Memory).await;
    // A long-lived access token: the status list read at NOW (trusted 5 min by default) is then
    // the bound, the same as for a verifier without the cache.
    let access = world
        .holder
        .access_token(world.verifier_id.did(), &world.scopes(), world.now(), Duration::minutes(30))
        .unwrap();
    assert!(world.call(Some(&header(&world, &access, NOW))).await.is_ok());
    world.change_membership("revoke").await;

    world.clock.advance(Duration::minutes(4));
    let cached = world.call(Some(&header(&world, &access, NOW + 240))).await;
    assert!(cached.is_ok(), "within the status-list TTL the cached presentation stands: {cached:?}");

    world.clock.advance(Duration::minutes(1));
    let refused = world.call(Some(&header(&world, &access, NOW + 300))).await.unwrap_err();
    assert_eq!(refused.1, "credential_revoked", "past the bound the presentation is queried and checked again");
    let refused = world.call(Some(&header(&world, &world.access_token(), NOW + 300))).await.unwrap_err();
    assert_eq!(refused.1, "credential_revoked");
}
