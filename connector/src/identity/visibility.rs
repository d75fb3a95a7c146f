//! Each participant sees only the offers its identity can satisfy.
//!
//! An offer's constraints that depend on who asks — `role`, `recipient`, and `spatial`,
//! read here as the caller's country of registration — are decided from the verified
//! caller, and dates from the clock (an expired offer is hidden); the rest (channels,
//! purposes, languages, counts) is left open, because it depends on the use the caller
//! will later request. An offer stays visible when one of
//! its permissions has no constraint that identity alone makes fail. A dataset whose
//! offers are all hidden disappears from the catalog (and its dataset URL answers 404).
//! Without DCP there is no verified caller and every offer is shown.

use passerelle_dsp::catalog::{CatalogPage, CatalogSource, DatasetEntry, SourceError};
use passerelle_identity::dcp::VerifiedParticipant;
use passerelle_policy::{Action, Policy, RequestContext, RuleKind, Subject, Truth, evaluate};
use time::OffsetDateTime;

use super::guard::current_caller;

/// Wraps a catalog source with per-caller offer filtering.
#[derive(Debug, Clone)]
pub struct VisibleCatalog<S> {
    inner: S,
}

impl<S> VisibleCatalog<S> {
    pub fn new(inner: S) -> VisibleCatalog<S> {
        VisibleCatalog { inner }
    }
}

/// The policy context that identity alone provides.
pub fn identity_context(caller: &VerifiedParticipant, at: OffsetDateTime) -> RequestContext {
    let role = passerelle_policy::Role::parse(caller.role.as_str());
    RequestContext::new(Action::Use, at)
        .with_participant(caller.did.as_str(), role)
        .with_territory(caller.country.clone())
}

/// Whether `offer` can be granted to `caller` as far as its identity decides: some
/// permission has no constraint that fails for the caller's role, id and country.
pub fn offer_visible(offer: &serde_json::Value, caller: &VerifiedParticipant, at: OffsetDateTime) -> bool {
    // Our own offers passed definition-time validation; anything unreadable is hidden (fail closed).
    let Ok(policy) = Policy::from_peer_json(offer) else {
        return false;
    };
    policy.permissions().iter().enumerate().any(|(wanted, rule)| {
        let Some(action) = rule.action() else {
            return false;
        };
        // Evaluated for the permission's own action, so that its constraints are looked at.
        let mut context = identity_context(caller, at);
        context.action = action;
        let decision = evaluate(&policy, &context);
        let explanation = &decision.explanation;
        explanation
            .roots()
            .find(|(_, node)| {
                matches!(node.subject, Subject::Rule { kind: RuleKind::Permission, index, .. } if index == wanted)
            })
            .is_some_and(|(at, _)| explanation.children(at).all(|(_, constraint)| constraint.truth != Truth::Fails))
    })
}

/// `entry` as `caller` may see it: its offers filtered; `None` when none is left.
pub fn visible_entry(
    mut entry: DatasetEntry,
    caller: &VerifiedParticipant,
    at: OffsetDateTime,
) -> Option<DatasetEntry> {
    entry.offers.retain(|offer| offer_visible(offer, caller, at));
    (!entry.offers.is_empty()).then_some(entry)
}

impl<S: CatalogSource> CatalogSource for VisibleCatalog<S> {
    async fn page(&self, cursor: Option<String>, limit: usize) -> Result<CatalogPage, SourceError> {
        let page = self.inner.page(cursor, limit).await?;
        let Some(caller) = current_caller() else {
            return Ok(page);
        };
        let now = OffsetDateTime::now_utc();
        // The page keeps its cursor: a page may come back shorter, never skip datasets.
        let entries = page.entries.into_iter().filter_map(|e| visible_entry(e, &caller, now)).collect();
        Ok(CatalogPage { entries, next_cursor: page.next_cursor })
    }

    async fn dataset(&self, id: &str) -> Result<Option<DatasetEntry>, SourceError> {
        let entry = self.inner.dataset(id).await?;
        match current_caller() {
            Some(caller) => Ok(entry.and_then(|e| visible_entry(e, &caller, OffsetDateTime::now_utc()))),
            None => Ok(entry),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use passerelle_identity::did::Did;
    use passerelle_identity::vc::membership::Role;
    use passerelle_media::Territory;
    use serde_json::json;

    fn caller(role: Role, country: &str) -> VerifiedParticipant {
        VerifiedParticipant {
            did: Did::parse("did:web:caller.example").unwrap(),
            role,
            legal_name: "Caller SA".into(),
            country: Territory::parse(country).unwrap(),
            credential_types: Vec::new(),
        }
    }

    fn offer(constraints: serde_json::Value) -> serde_json::Value {
        json!({"@id": "urn:offer:1", "@type": "Offer", "permission": [{"action": "use", "constraint": constraints}]})
    }

    fn role_is(roles: &[&str]) -> serde_json::Value {
        json!({"leftOperand": format!("{}role", passerelle_policy::PROFILE_NS), "operator": "isAnyOf", "rightOperand": roles})
    }

    #[test]
    fn role_constraints_hide_offers_from_other_roles() {
        let now = OffsetDateTime::now_utc();
        let broadcasters = offer(json!([role_is(&["broadcaster"])]));
        assert!(offer_visible(&broadcasters, &caller(Role::Broadcaster, "FR"), now));
        assert!(!offer_visible(&broadcasters, &caller(Role::Lab, "FR"), now));
    }

    #[test]
    fn territory_is_the_country_of_registration_and_other_terms_stay_open() {
        let now = OffsetDateTime::now_utc();
        let fr_broadcasters = offer(json!([
            role_is(&["broadcaster"]),
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
            {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2000-01-01T00:00:00Z"}
        ]));
        // An end date in the past can never be met: the clock decides it.
        assert!(!offer_visible(&fr_broadcasters, &caller(Role::Broadcaster, "FR"), now));
        let open = offer(json!([
            role_is(&["broadcaster"]),
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
            {"leftOperand": "purpose", "operator": "eq", "rightOperand": "broadcast"}
        ]));
        assert!(offer_visible(&open, &caller(Role::Broadcaster, "FR"), now), "purpose is unknown, not failing");
        assert!(!offer_visible(&open, &caller(Role::Broadcaster, "DE"), now));
        assert!(!offer_visible(&json!({"not": "a policy"}), &caller(Role::Broadcaster, "FR"), now));
    }

    #[test]
    fn a_dataset_keeps_the_offers_its_caller_may_see() {
        let now = OffsetDateTime::now_utc();
        let entry = DatasetEntry {
            id: "work:1".into(),
            kind: passerelle_dsp::catalog::DatasetKind::Work,
            title: "T".into(),
            description: None,
            work: None,
            versions: Vec::new(),
            rights: Vec::new(),
            keywords: Vec::new(),
            languages: Vec::new(),
            offers: vec![offer(json!([role_is(&["broadcaster"])])), offer(json!([role_is(&["lab", "broadcaster"])]))],
            modified: None,
            service_terms: None,
        };
        assert_eq!(visible_entry(entry.clone(), &caller(Role::Broadcaster, "FR"), now).unwrap().offers.len(), 2);
        assert_eq!(visible_entry(entry.clone(), &caller(Role::Lab, "FR"), now).unwrap().offers.len(), 1);
        assert!(visible_entry(entry, &caller(Role::Distributor, "FR"), now).is_none());
    }
}
