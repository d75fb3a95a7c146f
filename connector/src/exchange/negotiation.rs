//! What a contract request for a service (a lab's subtitling offer) is decided on, and what an order call is
//! checked against.
//!
//! A service offer limits each *use* made under the agreement: how many orders (`count`), into which languages
//! (`language`). A contract request is no use yet — it carries no order, no language, and nothing has been used —
//! so those constraints are unknown at negotiation and, the evaluator failing closed, would refuse every such
//! offer. They are checked where their values exist: on every order call (`check_agreement` in
//! [`super::protocol`]). The provider therefore decides a request on the policy without its per-use constraints;
//! the agreement keeps them all. Conversely, who the consumer is (`role`, from its membership credential) is decided
//! at negotiation on what DCP verified; an order call carries only the transfer's token, so it is checked against
//! the agreement without those constraints ([`callable`]).

use passerelle_policy::{LeftOperand, Policy};
use serde_json::Value;

/// Left operands whose value only an exchange call carries.
fn per_use(constraint: &Value) -> bool {
    operand_of(constraint).is_some_and(|op| matches!(op, LeftOperand::Count | LeftOperand::Language))
}

/// Left operands about who the consumer is (its role, from its verified membership credential): decided when the
/// agreement is made, on the credentials DCP verified then. An order call authenticates with the transfer's token
/// and carries no credential, so it cannot decide them again.
fn identity(constraint: &Value) -> bool {
    operand_of(constraint).is_some_and(|op| matches!(op, LeftOperand::Role))
}

fn operand_of(constraint: &Value) -> Option<LeftOperand> {
    constraint.get("leftOperand").and_then(Value::as_str).and_then(LeftOperand::parse)
}

/// `policy` without the per-use constraints of its permissions (top-level atomic ones: a per-use constraint
/// inside a logical one stays, and keeps failing closed). Prohibitions and duties are kept whole.
pub fn negotiable(policy: &Policy) -> Policy {
    without_constraints(policy, per_use)
}

/// The agreement as an order call is checked against: without the identity constraints its negotiation decided
/// (same rule: top-level atomic constraints of permissions only). Without DCP at negotiation those failed closed,
/// so no agreement exists to call under.
pub fn callable(policy: &Policy) -> Policy {
    without_constraints(policy, identity)
}

fn without_constraints(policy: &Policy, drop: fn(&Value) -> bool) -> Policy {
    let mut json = policy.to_json();
    let mut changed = false;
    if let Some(rules) = json.get_mut("permission").and_then(Value::as_array_mut) {
        for rule in rules {
            let Some(constraints) = rule.get_mut("constraint").and_then(Value::as_array_mut) else { continue };
            let before = constraints.len();
            constraints.retain(|c| !drop(c));
            changed |= constraints.len() != before;
        }
    }
    if !changed {
        return policy.clone();
    }
    // Removing constraints from a policy that read back keeps it readable; should it not, the full policy is
    // decided on (closed).
    Policy::from_json(&json).or_else(|_| Policy::from_peer_json(&json)).unwrap_or_else(|_| policy.clone())
}

#[cfg(test)]
mod tests {
    use passerelle_policy::{Action, RequestContext, evaluate};
    use serde_json::json;

    use super::*;

    fn service_offer() -> Policy {
        Policy::from_json(&json!({
            "@id": "urn:lab:subtitling", "@type": "Offer", "target": "urn:lab:service",
            "permission": [{"action": "use", "constraint": [
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 2},
                {"leftOperand": "odrl:language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]},
                {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2099-01-01T00:00:00Z"}
            ]}]
        }))
        .unwrap()
    }

    #[test]
    fn per_use_constraints_wait_for_the_calls_that_carry_them() {
        let now = time::macros::datetime!(2026-06-01 12:00 UTC);
        let ctx = RequestContext::new(Action::Use, now);
        assert!(!evaluate(&service_offer(), &ctx).permitted, "unknown count and language fail closed");
        let negotiable = negotiable(&service_offer());
        assert!(evaluate(&negotiable, &ctx).permitted);
        assert_eq!(negotiable.permissions()[0].constraints().len(), 1, "the window is still decided at negotiation");
        let late = RequestContext::new(Action::Use, time::macros::datetime!(2099-06-01 12:00 UTC));
        assert!(!evaluate(&negotiable, &late).permitted);
    }

    #[test]
    fn role_is_decided_at_negotiation_and_not_again_on_each_order() {
        let offer = Policy::from_json(&json!({
            "@id": "urn:lab:subtitling", "@type": "Offer", "target": "urn:lab:service",
            "permission": [{"action": "use", "constraint": [
                {"leftOperand": "role", "operator": "isAnyOf", "rightOperand": ["distributor", "producer"]},
                {"leftOperand": "count", "operator": "lteq", "rightOperand": 2}
            ]}]
        }))
        .unwrap();
        let callable = callable(&offer).to_json();
        let left: Vec<&str> = callable["permission"][0]["constraint"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["leftOperand"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(left, ["count"], "the count stays for the calls");
        let negotiable = negotiable(&offer);
        assert_eq!(negotiable.permissions()[0].constraints().len(), 1, "the role stays for the negotiation");
        let now = time::macros::datetime!(2026-06-01 12:00 UTC);
        assert!(!evaluate(&negotiable, &RequestContext::new(Action::Use, now)).permitted, "no role: closed");
    }

    #[test]
    fn a_policy_without_per_use_constraints_is_decided_as_is() {
        let open =
            Policy::from_json(&json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]})).unwrap();
        assert_eq!(negotiable(&open), open);
    }
}
