//! Keeps the catalogue in step with the authority it hosts: a member revoked or suspended
//! through the management routes leaves the catalogue before the answer is sent; a member
//! reinstated or newly onboarded is crawled in the background.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use passerelle_catalog::CatalogueError;
use passerelle_identity::authority::{MemberRecord, Onboarded};

use super::ServiceCatalogue;

/// Largest authority answer read back (a member record or a membership credential).
const MAX_ANSWER: usize = 256 * 1024;

/// What a successful authority call means for the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    /// Revoked or suspended: its entries go now.
    Left,
    /// Reinstated or onboarded: crawl it.
    Joined,
}

/// The change a request path stands for, if any (`/members/{id}/{action}`, `/onboarding`).
pub fn change_of(method: &Method, path: &str) -> Option<MemberChange> {
    if method != Method::POST {
        return None;
    }
    if path == "/onboarding" {
        return Some(MemberChange::Joined);
    }
    let rest = path.strip_prefix("/members/")?;
    let (_, action) = rest.rsplit_once('/')?;
    match action {
        "revoke" | "suspend" => Some(MemberChange::Left),
        "reinstate" => Some(MemberChange::Joined),
        _ => None,
    }
}

/// Axum middleware (`from_fn_with_state(catalogue, follow_members)`) around the authority routes.
pub async fn follow_members(State(catalogue): State<ServiceCatalogue>, request: Request, next: Next) -> Response {
    let Some(change) = change_of(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let response = next.run(request).await;
    if !response.status().is_success() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let bytes = match to_bytes(body, MAX_ANSWER).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "the authority's answer could not be read back");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let did = serde_json::from_slice::<MemberRecord>(&bytes)
        .map(|m| m.did)
        .or_else(|_| serde_json::from_slice::<Onboarded>(&bytes).map(|o| o.member.did));
    match did {
        Ok(did) => match change {
            MemberChange::Left => forget(&catalogue, &did).await,
            MemberChange::Joined => {
                let catalogue = catalogue.clone();
                tokio::spawn(async move { crawl(&catalogue, &did).await });
            }
        },
        Err(error) => tracing::error!(%error, "the authority's answer names no member; the catalogue is not updated"),
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn forget(catalogue: &ServiceCatalogue, did: &str) {
    match catalogue.notify(did).await {
        Err(CatalogueError::NotActive { .. }) => tracing::info!(member = did, "member's offers left the catalogue"),
        Ok(_) => tracing::warn!(member = did, "member is still active after the change; it was recrawled"),
        Err(error) => tracing::error!(member = did, %error, "member's offers could not be removed now"),
    }
}

async fn crawl(catalogue: &ServiceCatalogue, did: &str) {
    match catalogue.notify(did).await {
        Ok(status) => tracing::info!(member = did, datasets = status.datasets, "member crawled"),
        Err(error) => tracing::warn!(member = did, %error, "member could not be crawled yet"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_changes_are_recognised_from_the_route() {
        assert_eq!(change_of(&Method::POST, "/members/urn:uuid:1/revoke"), Some(MemberChange::Left));
        assert_eq!(change_of(&Method::POST, "/members/urn:uuid:1/suspend"), Some(MemberChange::Left));
        assert_eq!(change_of(&Method::POST, "/members/urn:uuid:1/reinstate"), Some(MemberChange::Joined));
        assert_eq!(change_of(&Method::POST, "/onboarding"), Some(MemberChange::Joined));
        assert_eq!(change_of(&Method::GET, "/members"), None);
        assert_eq!(change_of(&Method::POST, "/members/urn:uuid:1/promote"), None);
        assert_eq!(change_of(&Method::GET, "/members/urn:uuid:1/revoke"), None);
    }
}
