//! Checking an order call against the service agreement it is made under (count of orders, languages, window,
//! role), by the policy evaluator: this module builds the request, `passerelle-policy` decides and explains.

use passerelle_media::IdError;
use passerelle_policy::{Action, Outcome, Policy, Purpose, RequestContext, Role, evaluate};
use time::OffsetDateTime;

use crate::order::Order;

/// Where the order stands in the agreement's count of orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderCount {
    /// A new order, with this many orders already placed under the agreement: it would be order `placed + 1`.
    New { placed: u64 },
    /// A later call on an order already placed as the agreement's `ordinal`-th (1-based). Its count was granted
    /// when it was placed; checking it again with its own number keeps the window and the language checked on
    /// every call without the order counting twice.
    Placed { ordinal: u64 },
}

impl OrderCount {
    /// Uses before this one, as the evaluator counts them.
    fn uses_so_far(self) -> u64 {
        match self {
            OrderCount::New { placed } => placed,
            OrderCount::Placed { ordinal } => ordinal.saturating_sub(1),
        }
    }
}

/// Who calls, when, and where the order stands in the count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreementCall<'a> {
    /// The caller's participant id (DID), as its verified token says.
    pub caller: &'a str,
    /// Its role, from its membership credential.
    pub role: Option<Role>,
    pub count: OrderCount,
    pub at: OffsetDateTime,
    /// The action the agreement's permission must cover; a service offer grants `use`.
    pub action: Action,
}

impl<'a> AgreementCall<'a> {
    pub fn new(caller: &'a str, role: Option<Role>, count: OrderCount, at: OffsetDateTime) -> Self {
        AgreementCall { caller, role, count, at, action: Action::Use }
    }
}

/// The agreement permits the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permitted {
    /// The evaluator's account: which permission granted it, and any duties that come with it.
    pub explanation: String,
}

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    /// The policy denies it; `explanation` is the evaluator's, naming the rule and each constraint with the value
    /// it saw (e.g. "this would be use number 11").
    #[error("the agreement does not permit this order:\n{explanation}")]
    Refused { outcome: Outcome, explanation: String },
    /// The order's language is not a language tag, so it cannot be checked (validate the order first).
    #[error("targetLanguage: {0}")]
    Language(IdError),
}

/// Checks `order` against `agreement` for `call`: the order's target language, the count it reaches, the time of
/// the call, the caller and its role, for the purpose `subtitling`.
pub fn check_agreement(
    agreement: &Policy,
    order: &Order,
    call: &AgreementCall<'_>,
) -> Result<Permitted, AgreementError> {
    let language = order.language().map_err(AgreementError::Language)?;
    let ctx = RequestContext::new(call.action, call.at)
        .with_participant(call.caller, call.role)
        .with_language(language)
        .with_purpose(Purpose::Subtitling)
        .with_uses_so_far(call.count.uses_so_far());
    let decision = evaluate(agreement, &ctx);
    let explanation = decision.to_string();
    if decision.permitted {
        Ok(Permitted { explanation })
    } else {
        Err(AgreementError::Refused { outcome: decision.outcome, explanation })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::order::tests::order;

    const DISTRIBUTOR: &str = "did:web:distributor.example";

    /// A lab's subtitling service agreement: ten orders, Spanish or French subtitles, during 2026, distributors
    /// only.
    fn agreement() -> Policy {
        Policy::from_json(&json!({
            "@id": "urn:uuid:agreement-lab-1",
            "@type": "Agreement",
            "assigner": "did:web:lab.example",
            "assignee": DISTRIBUTOR,
            "target": "urn:dataset:subtitling-service",
            "timestamp": "2026-01-10T09:00:00Z",
            "permission": [{
                "action": "use",
                "constraint": [
                    {"leftOperand": "count", "operator": "lteq", "rightOperand": 10},
                    {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["es", "fr"]},
                    {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-01-01T00:00:00Z"},
                    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00Z"},
                    {"leftOperand": "purpose", "operator": "isA", "rightOperand": "localization"},
                    {"leftOperand": "https://w3id.org/passerelle/odrl/role", "operator": "eq", "rightOperand": "distributor"}
                ]
            }]
        }))
        .unwrap()
    }

    fn call(count: OrderCount, at: OffsetDateTime) -> AgreementCall<'static> {
        AgreementCall::new(DISTRIBUTOR, Some(Role::Distributor), count, at)
    }

    const JUNE: OffsetDateTime = datetime!(2026-06-15 12:00 UTC);

    fn refused(order: &Order, c: &AgreementCall<'_>) -> String {
        match check_agreement(&agreement(), order, c) {
            Err(AgreementError::Refused { explanation, .. }) => explanation,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn within_the_agreement_is_permitted() {
        let ok = check_agreement(&agreement(), &order(), &call(OrderCount::New { placed: 9 }, JUNE)).unwrap();
        assert!(ok.explanation.starts_with("PERMITTED"), "{}", ok.explanation);
        // es-419 is within `es`.
        assert_eq!(order().target_language, "es-419");
    }

    #[test]
    fn beyond_the_count_is_refused_with_the_policy_explanation() {
        let text = refused(&order(), &call(OrderCount::New { placed: 10 }, JUNE));
        assert!(
            text.contains("DENIED") && text.contains("this would be use number 11") && text.contains("FAILS"),
            "{text}"
        );
        // The tenth order, called on again later, is still within its count.
        assert!(check_agreement(&agreement(), &order(), &call(OrderCount::Placed { ordinal: 10 }, JUNE)).is_ok());
    }

    #[test]
    fn a_language_outside_the_agreement_is_refused() {
        let mut o = order();
        o.target_language = "de".into();
        let text = refused(&o, &call(OrderCount::New { placed: 0 }, JUNE));
        assert!(text.contains("request: de → FAILS"), "{text}");
        let mut o = order();
        o.target_language = "fr-CA".into();
        assert!(check_agreement(&agreement(), &o, &call(OrderCount::New { placed: 0 }, JUNE)).is_ok());
    }

    #[test]
    fn outside_the_window_is_refused() {
        let text = refused(&order(), &call(OrderCount::New { placed: 0 }, datetime!(2027-01-01 00:00 UTC)));
        assert!(text.contains("before 1 January 2027 00:00 UTC — request: 1 January 2027 00:00 UTC → FAILS"), "{text}");
        let before = call(OrderCount::Placed { ordinal: 1 }, datetime!(2025-12-31 23:59 UTC));
        assert!(matches!(check_agreement(&agreement(), &order(), &before), Err(AgreementError::Refused { .. })));
    }

    #[test]
    fn the_wrong_role_or_an_unreadable_language_is_refused() {
        let lab = AgreementCall::new("did:web:other-lab.example", Some(Role::Lab), OrderCount::New { placed: 0 }, JUNE);
        let text = refused(&order(), &lab);
        assert!(text.contains("role") && text.contains("lab"), "{text}");
        let mut o = order();
        o.target_language = "not a tag!".into();
        let err = check_agreement(&agreement(), &o, &call(OrderCount::New { placed: 0 }, JUNE)).unwrap_err();
        assert!(matches!(err, AgreementError::Language(_)));
    }
}
