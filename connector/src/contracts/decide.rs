//! The provider's decision on a contract request: the requested offer must narrow
//! the catalog offer with the same `@id` (on the same dataset), and the policy must
//! permit every requested action for this caller now. A refusal carries a reason the
//! consumer can read; an acceptance carries the agreement.

use passerelle_dsp::catalog::{DatasetEntry, SourceError};
use passerelle_dsp::message::policy::Agreement;
use passerelle_identity::dcp::VerifiedParticipant;
use passerelle_media::Territory;
use passerelle_policy::{Policy, RequestContext, Role as PolicyRole, evaluate, narrows};
use serde_json::Value;
use time::OffsetDateTime;

/// Termination code of a request the policy refuses.
pub const POLICY_REFUSED: &str = "POLICY_REFUSED";
/// Termination code of a request whose offer is not (or no longer) in our catalog.
pub const UNKNOWN_OFFER: &str = "UNKNOWN_OFFER";

/// Who is asking, as far as authentication established. What is `None` is unknown to the
/// policy: a constraint on it is not met, so an offer for "broadcasters in FR" needs DCP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requester {
    /// Verified participant id.
    pub participant_id: Option<String>,
    /// From the membership credential.
    pub role: Option<PolicyRole>,
    /// Country of registration, from the membership credential: where the requester operates.
    pub territory: Option<Territory>,
}

impl Requester {
    /// The requester as DCP verified it: id, role and country all come from credentials.
    pub fn verified(caller: &VerifiedParticipant) -> Requester {
        Requester {
            participant_id: Some(caller.did.to_string()),
            role: PolicyRole::parse(caller.role.as_str()),
            territory: Some(caller.country.clone()),
        }
    }
}

/// What the provider answers to a request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Agree(Agreement),
    Refuse { code: &'static str, reason: String },
}

fn refuse(code: &'static str, reason: impl Into<String>) -> Decision {
    Decision::Refuse { code, reason: reason.into() }
}

/// Decides on `requested` (the offer of a ContractRequestMessage) against our catalog.
/// `assignee_hint` names the consumer when authentication did not (the offer's `assignee`).
///
/// `dataset` finds a dataset of our catalog with its offers, by id (`StoreCatalog::dataset_on` inside a read of
/// the process host, or any `CatalogSource`).
pub async fn decide(
    dataset: impl AsyncFnOnce(&str) -> Result<Option<DatasetEntry>, SourceError>,
    provider_id: &str,
    requested: &Value,
    requester: &Requester,
    at: OffsetDateTime,
) -> Decision {
    // DSP lets a message's offer omit `@type`; ODRL needs one, and in a request it can only be an Offer.
    let mut requested = requested.clone();
    if let Some(object) = requested.as_object_mut() {
        object.entry("@type").or_insert_with(|| Value::String("Offer".into()));
    }
    let requested_policy = match Policy::from_peer_json(&requested) {
        Ok(p) => p,
        Err(e) => return refuse(POLICY_REFUSED, format!("the requested offer is not a usable ODRL policy: {e}")),
    };
    let Some(target) = requested_policy.target().map(str::to_string) else {
        return refuse(UNKNOWN_OFFER, "the requested offer names no `target` dataset");
    };
    let entry = match dataset(&target).await {
        Ok(Some(entry)) => entry,
        Ok(None) => return refuse(UNKNOWN_OFFER, format!("dataset `{target}` is not offered by this provider")),
        Err(e) => return refuse(UNKNOWN_OFFER, format!("the catalog cannot be read now ({e}); try again later")),
    };
    let offer_id = requested_policy.id().to_string();
    let Some(offered) = entry.offers.iter().find(|o| o.get("@id").and_then(Value::as_str) == Some(offer_id.as_str()))
    else {
        return refuse(
            UNKNOWN_OFFER,
            format!(
                "offer `{offer_id}` is not (or no longer) an offer of dataset `{target}`; request the catalog again"
            ),
        );
    };
    let offered = match Policy::from_json(offered) {
        Ok(p) => p.with_target(&target),
        Err(e) => return refuse(UNKNOWN_OFFER, format!("offer `{offer_id}` cannot be evaluated: {e}")),
    };
    decide_between(&requested_policy, &offered, provider_id, requester, at)
}

/// The pure part of [`decide`]: requested against offered, for `requester` at `at`.
pub fn decide_between(
    requested: &Policy,
    offered: &Policy,
    provider_id: &str,
    requester: &Requester,
    at: OffsetDateTime,
) -> Decision {
    if let Err(mismatch) = narrows(requested, offered) {
        return refuse(POLICY_REFUSED, format!("the requested offer asks for more than the offer grants: {mismatch}"));
    }
    let mut context = RequestContext::new(passerelle_policy::Action::Use, at);
    if let Some(id) = &requester.participant_id {
        context = context.with_participant(id, requester.role);
    } else {
        context.role = requester.role;
    }
    context.territory = requester.territory.clone();
    let mut actions: Vec<passerelle_policy::Action> =
        requested.permissions().iter().filter_map(|r| r.action()).collect();
    actions.dedup();
    if actions.is_empty() {
        return refuse(POLICY_REFUSED, "the requested offer grants no action: ask for at least one permission");
    }
    // Per-use constraints (count of orders, language) are checked on each exchange call, not here.
    let negotiable = crate::exchange::negotiation::negotiable(requested);
    for action in actions {
        context.action = action;
        let decision = evaluate(&negotiable, &context);
        if !decision.permitted {
            return refuse(POLICY_REFUSED, format!("the policy does not permit this request: {decision}"));
        }
    }
    let assignee = requester
        .participant_id
        .clone()
        .or_else(|| requested.assignee().map(str::to_string))
        .unwrap_or_else(|| "urn:passerelle:participant:unauthenticated".to_string());
    // Time-ordered like process ids (`new_pid`).
    let agreement_id = format!("urn:uuid:{}", uuid::Uuid::now_v7());
    let agreement = match requested.clone().into_agreement(&agreement_id, provider_id, &assignee, at) {
        Ok(p) => p,
        Err(e) => return refuse(POLICY_REFUSED, format!("no agreement can be made from the requested offer: {e}")),
    };
    let mut json = agreement.to_json();
    if let Some(object) = json.as_object_mut() {
        object.insert("@type".into(), Value::String("Agreement".into()));
    }
    match Agreement::new(json) {
        Ok(a) => Decision::Agree(a),
        Err(e) => refuse(POLICY_REFUSED, format!("no agreement can be made from the requested offer: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn at() -> OffsetDateTime {
        time::macros::datetime!(2026-03-01 12:00 UTC)
    }

    fn offer(constraint: Option<Value>) -> Policy {
        let mut permission = json!({"action": "use"});
        if let Some(c) = constraint {
            permission["constraint"] = json!([c]);
        }
        Policy::from_json(&json!({"@id": "urn:o:1", "@type": "Offer", "assigner": "did:web:p", "target": "work:a",
            "permission": [permission]}))
        .unwrap()
    }

    #[test]
    fn an_offer_asked_as_is_becomes_an_agreement_between_the_two_parties() {
        let requester = Requester { participant_id: Some("did:web:c".into()), ..Requester::default() };
        let Decision::Agree(agreement) = decide_between(&offer(None), &offer(None), "did:web:p", &requester, at())
        else {
            panic!("refused")
        };
        assert_eq!(
            (agreement.target(), agreement.assigner(), agreement.assignee()),
            ("work:a", "did:web:p", "did:web:c")
        );
        assert_eq!(agreement.timestamp(), "2026-03-01T12:00:00Z");
        assert_ne!(agreement.id(), "urn:o:1", "an agreement has its own id");
    }

    #[test]
    fn a_constraint_the_consumer_does_not_meet_is_refused_with_the_explanation() {
        let role = json!({"leftOperand": "https://w3id.org/passerelle/odrl/role", "operator": "eq", "rightOperand": "producer"});
        let requester = Requester {
            participant_id: Some("did:web:c".into()),
            role: Some(PolicyRole::Broadcaster),
            ..Requester::default()
        };
        let Decision::Refuse { code, reason } =
            decide_between(&offer(Some(role.clone())), &offer(Some(role)), "did:web:p", &requester, at())
        else {
            panic!("agreed")
        };
        assert_eq!(code, POLICY_REFUSED);
        assert!(reason.contains("does not permit"), "{reason}");
        assert!(reason.contains("role"), "the explanation names the constraint: {reason}");
    }

    #[test]
    fn a_request_for_more_than_the_offer_is_refused() {
        let date = json!({"leftOperand": "dateTime", "operator": "lteq", "rightOperand": "2030-01-01T00:00:00Z"});
        let Decision::Refuse { reason, .. } =
            decide_between(&offer(None), &offer(Some(date)), "did:web:p", &Requester::default(), at())
        else {
            panic!("agreed")
        };
        assert!(reason.contains("more than the offer grants"), "{reason}");
    }

    #[test]
    fn without_authentication_the_offer_assignee_names_the_consumer() {
        let requested = offer(None).with_assignee("did:web:claimed");
        let Decision::Agree(agreement) =
            decide_between(&requested, &offer(None), "did:web:p", &Requester::default(), at())
        else {
            panic!("refused")
        };
        assert_eq!(agreement.assignee(), "did:web:claimed");
    }

    fn verified(role: passerelle_identity::vc::membership::Role, country: &str) -> Requester {
        Requester::verified(&VerifiedParticipant {
            did: passerelle_identity::did::Did::parse("did:web:c.example").unwrap(),
            role,
            legal_name: "C SA".into(),
            country: Territory::parse(country).unwrap(),
            credential_types: Vec::new(),
        })
    }

    #[test]
    fn broadcasters_in_fr_only_is_decided_on_the_verified_role_and_country() {
        use passerelle_identity::vc::membership::Role;
        let role = json!({"leftOperand": format!("{}role", passerelle_policy::PROFILE_NS), "operator": "eq",
            "rightOperand": "broadcaster"});
        let spatial = json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"});
        let mut permission = json!({"action": "use", "constraint": [role, spatial]});
        let fr_broadcasters = Policy::from_json(&json!({"@id": "urn:o:1", "@type": "Offer", "assigner": "did:web:p",
            "target": "work:a", "permission": [permission.take()]}))
        .unwrap();
        let decide =
            |requester: &Requester| decide_between(&fr_broadcasters, &fr_broadcasters, "did:web:p", requester, at());

        let fr = verified(Role::Broadcaster, "FR");
        assert_eq!(fr.participant_id.as_deref(), Some("did:web:c.example"));
        let Decision::Agree(agreement) = decide(&fr) else { panic!("a French broadcaster is refused") };
        assert_eq!(agreement.assignee(), "did:web:c.example", "the agreement names the verified participant");

        for (requester, why) in [
            (verified(Role::Broadcaster, "DE"), "a German broadcaster"),
            (verified(Role::Lab, "FR"), "a French lab"),
            (Requester { participant_id: Some("did:web:c.example".into()), ..Requester::default() }, "an unknown role"),
        ] {
            let Decision::Refuse { code, reason } = decide(&requester) else { panic!("{why} was agreed") };
            assert_eq!(code, POLICY_REFUSED, "{why}");
            assert!(reason.contains("does not permit"), "{why}: {reason}");
        }
    }
}
