//! The catalogue's own credentials, presented when connectors verify its crawler (DCP):
//! a membership the hosted authority issues to the catalogue itself, and a self-issued
//! LegalPerson. Connectors trust the authority for memberships, so the crawler is a data
//! -space member like any other, with the role of `catalogue.role`.
//!
//! The membership is kept in `credentials/membership.jwt` and reused while its record is
//! live; a lost, revoked or nearly expired one is replaced at start.

use std::path::{Path, PathBuf};

use passerelle_identity::authority::{Authority, MemberRecord};
use passerelle_identity::dcp::{Identity, InMemoryCredentialStore, StoredCredential};
use passerelle_identity::vc::membership::{Membership, Role};
use time::OffsetDateTime;

use super::CatalogueServiceError;
use crate::identity::SelfDescription;

/// File of the catalogue's membership credential, in its credentials folder.
pub const MEMBERSHIP_FILE: &str = "membership.jwt";

/// A membership this close to its end is renewed at start.
const RENEW_BEFORE: time::Duration = time::Duration::days(7);

/// What the credential service of the catalogue holds.
pub async fn own_credentials(
    authority: &Authority,
    identity: &Identity,
    role: Role,
    description: &SelfDescription,
    credentials_dir: &Path,
) -> Result<InMemoryCredentialStore, CatalogueServiceError> {
    let now = OffsetDateTime::now_utc();
    let membership = membership(authority, identity, role, description, credentials_dir, now).await?;
    let [legal_person, _, _] = description
        .credentials(identity.did(), identity.key(), now)
        .map_err(|e| CatalogueServiceError::Credentials(e.to_string()))?;
    let store = InMemoryCredentialStore::new();
    for jwt in [&membership, &legal_person] {
        store.add(jwt).map_err(CatalogueServiceError::Credentials)?;
    }
    Ok(store)
}

/// Whether the membership `held` (its credential id) can still be presented at `now`.
pub fn still_live(held: Option<&str>, members: &[MemberRecord], now: OffsetDateTime) -> bool {
    let Some(id) = held else { return false };
    members.iter().any(|m| {
        m.credential_id == id && !m.revoked && !m.suspended && m.valid_until > (now + RENEW_BEFORE).unix_timestamp()
    })
}

async fn membership(
    authority: &Authority,
    identity: &Identity,
    role: Role,
    description: &SelfDescription,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<String, CatalogueServiceError> {
    let file = dir.join(MEMBERSHIP_FILE);
    let held = read_held(&file)?;
    let members = authority.members().await;
    if let Some((jwt, id)) = &held
        && still_live(id.as_deref(), &members, now)
    {
        return Ok(jwt.clone());
    }
    // The authority refuses a second live membership for one DID: end the one whose credential was lost.
    let own = identity.did().as_str();
    for stale in members.iter().filter(|m| m.did == own && !m.revoked) {
        authority.revoke(&stale.credential_id).await.map_err(|e| CatalogueServiceError::Credentials(e.to_string()))?;
    }
    let membership = Membership {
        member: identity.did().clone(),
        role,
        legal_name: description.legal_name.clone(),
        country: description.country.clone(),
    };
    let issued = authority.issue(&membership).await.map_err(|e| CatalogueServiceError::Credentials(e.to_string()))?;
    std::fs::create_dir_all(dir).map_err(|source| CatalogueServiceError::Io { path: dir.to_path_buf(), source })?;
    crate::identity::keyset::write_atomically(&file, issued.credential.as_bytes())
        .map_err(|e| CatalogueServiceError::Credentials(e.to_string()))?;
    tracing::info!(credential = %issued.credential_id, %role, "catalogue membership issued to itself");
    Ok(issued.credential)
}

/// The held membership and its credential id; an unreadable file counts as none.
fn read_held(file: &PathBuf) -> Result<Option<(String, Option<String>)>, CatalogueServiceError> {
    match std::fs::read_to_string(file) {
        Ok(text) => {
            let jwt = text.trim().to_string();
            match StoredCredential::from_jwt(&jwt) {
                Ok(stored) => Ok(Some((jwt, stored.id))),
                Err(reason) => {
                    tracing::warn!(file = %file.display(), %reason, "held membership unreadable; a new one is issued");
                    Ok(None)
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(CatalogueServiceError::Io { path: file.clone(), source }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, valid_until: i64) -> MemberRecord {
        MemberRecord {
            credential_id: id.into(),
            did: "did:web:catalogue.example".into(),
            role: Role::Broadcaster,
            legal_name: "Media Space".into(),
            country: "FR".into(),
            status_index: 1,
            issued_at: 0,
            valid_until,
            revoked: false,
            suspended: false,
        }
    }

    #[test]
    fn a_held_membership_is_reused_only_while_its_record_is_live() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let year = now.unix_timestamp() + 365 * 86_400;
        let members = vec![record("urn:a", year), record("urn:b", now.unix_timestamp() + 3_600)];
        assert!(still_live(Some("urn:a"), &members, now));
        assert!(!still_live(Some("urn:b"), &members, now), "ends within a week: renewed");
        assert!(!still_live(Some("urn:c"), &members, now), "unknown to the authority");
        assert!(!still_live(None, &members, now));
        let mut revoked = members.clone();
        revoked[0].revoked = true;
        assert!(!still_live(Some("urn:a"), &revoked, now));
    }
}
