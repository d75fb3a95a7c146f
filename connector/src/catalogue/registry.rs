//! The participant registry of the catalogue: the hosted authority's member records.
//!
//! A member is crawled while its membership is neither revoked, suspended nor expired.
//! Its DSP address is the `CatalogService` endpoint of its DID document (resolved through
//! a caching resolver); when resolution fails, the last address found is kept, so that a
//! member whose web server hiccups keeps its entries (marked stale by the crawler) instead
//! of leaving the catalogue.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use passerelle_catalog::{Participant, ParticipantStatus, Registry, RegistryError};
use passerelle_identity::authority::{Authority, MemberRecord};
use passerelle_identity::clock::Clock;
use passerelle_identity::did::{Did, DidDocument, DidResolver};

/// DID document service type announcing a connector's DSP catalog.
pub const CATALOG_SERVICE: &str = "CatalogService";

/// The registry the crawler reads: the authority's members, the catalogue itself excluded.
pub struct AuthorityRegistry {
    authority: Arc<Authority>,
    /// The catalogue's own DID: it holds a membership to authenticate, but has no catalog to crawl.
    own: String,
    resolver: Arc<dyn DidResolver>,
    clock: Arc<dyn Clock>,
    /// Last DSP address found per DID.
    addresses: Mutex<HashMap<String, String>>,
}

impl AuthorityRegistry {
    pub fn new(
        authority: Arc<Authority>,
        own: &Did,
        resolver: Arc<dyn DidResolver>,
        clock: Arc<dyn Clock>,
    ) -> AuthorityRegistry {
        AuthorityRegistry { authority, own: own.to_string(), resolver, clock, addresses: Mutex::new(HashMap::new()) }
    }

    async fn address_of(&self, did: &str) -> String {
        let resolved = match Did::parse(did) {
            Ok(parsed) => match self.resolver.resolve(&parsed).await {
                Ok(document) => {
                    dsp_address(&document).ok_or_else(|| format!("its DID document announces no {CATALOG_SERVICE}"))
                }
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let mut known = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        match resolved {
            Ok(address) => {
                known.insert(did.to_string(), address.clone());
                address
            }
            Err(reason) => {
                let kept = known.get(did).cloned();
                tracing::warn!(member = did, %reason, kept = ?kept, "member's DSP address could not be resolved");
                // An empty address makes the crawl fail as `bad-address`, keeping earlier entries stale.
                kept.unwrap_or_default()
            }
        }
    }
}

impl Registry for AuthorityRegistry {
    async fn participants(&self) -> Result<Vec<Participant>, RegistryError> {
        let members = self.authority.members().await;
        let now = self.clock.now().unix_timestamp();
        let mut participants = Vec::new();
        for (record, status) in standing(&members, &self.own, now) {
            // Only active members are crawled; the others just need to be known as not active.
            let protocol_address =
                if status == ParticipantStatus::Active { self.address_of(&record.did).await } else { String::new() };
            participants.push(Participant { id: record.did, protocol_address, role: record.role.to_string(), status });
        }
        Ok(participants)
    }
}

/// Each member DID once, with where it stands at `now` (unix seconds): its live membership
/// when it has one, else its latest. The catalogue's own DID is left out.
pub fn standing(members: &[MemberRecord], own: &str, now: i64) -> Vec<(MemberRecord, ParticipantStatus)> {
    let status_of = |m: &MemberRecord| {
        if m.revoked {
            ParticipantStatus::Revoked
        } else if m.suspended {
            ParticipantStatus::Suspended
        } else if m.valid_until <= now {
            ParticipantStatus::Expired
        } else {
            ParticipantStatus::Active
        }
    };
    let mut best: BTreeMap<&str, (&MemberRecord, ParticipantStatus)> = BTreeMap::new();
    for member in members.iter().filter(|m| m.did != own) {
        let status = status_of(member);
        let better = match best.get(member.did.as_str()) {
            None => true,
            Some((held, held_status)) => {
                let rank = |s: ParticipantStatus| s == ParticipantStatus::Active;
                (rank(status), member.issued_at) > (rank(*held_status), held.issued_at)
            }
        };
        if better {
            best.insert(member.did.as_str(), (member, status));
        }
    }
    best.into_values().map(|(m, s)| (m.clone(), s)).collect()
}

/// The DSP address (`…/dsp/2025-1`) from the `CatalogService` endpoint (`…/dsp/2025-1/catalog`).
pub fn dsp_address(document: &DidDocument) -> Option<String> {
    let endpoint = document.service_endpoint(CATALOG_SERVICE)?.trim_end_matches('/');
    let address = endpoint.strip_suffix("/catalog").unwrap_or(endpoint);
    (!address.is_empty()).then(|| address.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_identity::did::Service;
    use passerelle_identity::vc::membership::Role;

    fn record(id: &str, did: &str, issued_at: i64) -> MemberRecord {
        MemberRecord {
            credential_id: id.into(),
            did: did.into(),
            role: Role::Distributor,
            legal_name: "D SA".into(),
            country: "FR".into(),
            status_index: 0,
            issued_at,
            valid_until: 1_000,
            revoked: false,
            suspended: false,
        }
    }

    #[test]
    fn each_member_appears_once_with_its_live_membership_and_the_catalogue_is_left_out() {
        let mut revoked = record("1", "did:web:a", 10);
        revoked.revoked = true;
        let renewed = record("2", "did:web:a", 20);
        let mut suspended = record("3", "did:web:b", 10);
        suspended.suspended = true;
        let expired = record("4", "did:web:c", 10);
        let own = record("5", "did:web:catalogue", 10);
        let mut later_revoked = record("6", "did:web:d", 30);
        later_revoked.revoked = true;
        let members = [revoked, renewed, suspended, expired, own, later_revoked, record("7", "did:web:d", 5)];

        let all = standing(&members, "did:web:catalogue", 500);
        let summary: Vec<(&str, &str, ParticipantStatus)> =
            all.iter().map(|(m, s)| (m.did.as_str(), m.credential_id.as_str(), *s)).collect();
        assert_eq!(
            summary,
            [
                ("did:web:a", "2", ParticipantStatus::Active),
                ("did:web:b", "3", ParticipantStatus::Suspended),
                ("did:web:c", "4", ParticipantStatus::Active),
                ("did:web:d", "7", ParticipantStatus::Active),
            ]
        );
        let later = standing(&members, "did:web:catalogue", 1_000);
        assert!(later.iter().filter(|(m, _)| m.did != "did:web:b").all(|(_, s)| *s != ParticipantStatus::Active));
        assert_eq!(later.iter().find(|(m, _)| m.did == "did:web:c").map(|(_, s)| *s), Some(ParticipantStatus::Expired));
    }

    #[test]
    fn the_dsp_address_is_the_catalog_service_without_its_last_segment() {
        let did = Did::parse("did:web:127.0.0.1%3A9000").unwrap();
        let mut document = DidDocument::new(&did);
        assert_eq!(dsp_address(&document), None);
        document.add_service(Service::credential_service(&did, "http://127.0.0.1:9000/dcp"));
        document.add_service(Service::dsp_catalog(&did, "http://127.0.0.1:9000/dsp/2025-1/catalog"));
        assert_eq!(dsp_address(&document).as_deref(), Some("http://127.0.0.1:9000/dsp/2025-1"));
    }
}
