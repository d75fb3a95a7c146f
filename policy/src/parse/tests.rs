//! Definition-time validation: what is accepted, what is refused, and that errors name the member.

use serde_json::{Value, json};

use crate::error::Problem;
use crate::model::{LeftOperand, Policy, PolicyType};

fn offer_with(constraint: Value) -> Value {
    json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use", "constraint": [constraint]}]})
}

fn err(v: Value) -> crate::PolicyError {
    match Policy::from_json(&v) {
        Ok(p) => panic!("expected an error, parsed {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn operand_spellings() {
    for left in ["spatial", "odrl:spatial", "http://www.w3.org/ns/odrl/2/spatial"] {
        let p = Policy::from_json(&offer_with(json!({"leftOperand": left, "operator": "eq", "rightOperand": "FR"})))
            .unwrap_or_else(|e| panic!("{left}: {e}"));
        let crate::Constraint::Atomic(a) = &p.permissions()[0].constraints()[0] else { panic!() };
        assert_eq!(a.left_operand(), Some(LeftOperand::Spatial));
        assert_eq!(a.left_written(), left, "spelling kept");
        assert_eq!(p.to_json(), offer_with(json!({"leftOperand": left, "operator": "eq", "rightOperand": "FR"})));
    }
    for left in ["channel", "passerelle:channel", "https://w3id.org/passerelle/odrl/channel"] {
        assert!(
            Policy::from_json(&offer_with(json!({"leftOperand": left, "operator": "eq", "rightOperand": "SVOD"})))
                .is_ok()
        );
    }
    let e = err(offer_with(json!({"leftOperand": "odrl:channel", "operator": "eq", "rightOperand": "SVOD"})));
    assert_eq!(e.path, "permission[0].constraint[0].leftOperand");
    let ok = offer_with(
        json!({"leftOperand": {"@id": "odrl:spatial"}, "operator": {"@id": "odrl:eq"}, "rightOperand": "FR"}),
    );
    assert!(Policy::from_json(&ok).is_ok(), "node-reference form of terms");
}

#[test]
fn unknown_operand_and_operator_are_refused_with_the_path() {
    let e = err(offer_with(json!({"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"})));
    assert_eq!(e.path, "permission[0].constraint[0].leftOperand");
    assert!(matches!(e.problem, Problem::UnknownLeftOperand { .. }));
    assert!(e.to_string().contains("unknown left operand `partner`"), "{e}");
    let e = err(offer_with(json!({"leftOperand": "spatial", "operator": "term-lteq", "rightOperand": "FR"})));
    assert_eq!(e.path, "permission[0].constraint[0].operator");
    assert!(matches!(e.problem, Problem::UnknownOperator { .. }));
    let e = err(offer_with(json!({"leftOperand": "deliveryChannel", "operator": "eq", "rightOperand": "x"})));
    assert!(e.to_string().contains("refused rather than ignored"));
}

#[test]
fn malformed_right_operands_name_the_member() {
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": [
        {"action": "use"},
        {"action": "use", "constraint": [
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "XX"}
        ]}
    ]}));
    assert_eq!(e.path, "permission[1].constraint[1].rightOperand");
    assert_eq!(
        e.to_string(),
        "permission[1].constraint[1].rightOperand: `XX` is not an ISO 3166-1 territory or a known group (WORLD, EU, \
         EEA, DACH, Benelux, Nordics, Scandinavia, Baltics, ANZ, UK); an IRI is read by its last segment"
    );
    let e =
        err(offer_with(json!({"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2026-01-01T00:00:00"})));
    assert!(e.to_string().contains("no time zone"), "{e}");
    let e = err(offer_with(json!({"or": [{"leftOperand": "purpose", "operator": "isA", "rightOperand": "gaming"}]})));
    assert_eq!(e.path, "permission[0].constraint[0].or[0].rightOperand");
    let e = err(offer_with(json!({"leftOperand": "elapsedTime", "operator": "lt", "rightOperand": "P1Y"})));
    assert!(e.to_string().contains("no fixed length"));
}

#[test]
fn structure_errors() {
    let e = err(json!({"@type": "Offer", "permission": [{"action": "use"}]}));
    assert_eq!(e.path, "@id");
    let e = err(json!({"@id": "urn:o", "permission": [{"action": "use"}]}));
    assert_eq!(e.path, "@type");
    let e = err(json!({"@id": "urn:o", "@type": "Contract", "permission": [{"action": "use"}]}));
    assert!(matches!(e.problem, Problem::UnknownPolicyType { .. }));
    let e = err(json!({"@id": "urn:o", "@type": "Offer"}));
    assert_eq!(e.path, "$");
    assert_eq!(e.problem, Problem::NoRules);
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": []}));
    assert_eq!(e.path, "permission");
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": {"action": "use"}}));
    assert!(matches!(e.problem, Problem::WrongType { expected: "an array", .. }));
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"constraint": []}]}));
    assert_eq!(e.path, "permission[0].action");
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "fly"}]}));
    assert!(matches!(e.problem, Problem::UnknownAction { .. }));
    let e = err(json!(["not", "an", "object"]));
    assert_eq!(e.path, "$");
    let e = err(offer_with(json!({"leftOperand": "spatial", "rightOperand": "FR"})));
    assert_eq!(e.path, "permission[0].constraint[0].operator");
    let e = err(offer_with(json!({"and": [], "or": []})));
    assert!(matches!(e.problem, Problem::LogicalShape { .. }));
    let e = err(offer_with(json!({"and": []})));
    assert_eq!(e.path, "permission[0].constraint[0].and");
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use", "@type": "Prohibition"}]}));
    assert_eq!(e.path, "permission[0].@type");
}

#[test]
fn unsupported_odrl_members_are_refused() {
    let base = |k: &str, v: Value| {
        let mut p = json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]});
        p[k] = v;
        p
    };
    for (k, v) in
        [("inheritFrom", json!("urn:x")), ("odrl:remedy", json!([])), ("uid", json!("urn:o")), ("action", json!("use"))]
    {
        let e = err(base(k, v));
        assert!(matches!(e.problem, Problem::Unsupported { .. }), "{k}: {e}");
        assert_eq!(e.path, k);
    }
    let e = err(base("conflict", json!("perm")));
    assert!(e.to_string().contains("prohibit"));
    assert!(Policy::from_json(&base("conflict", json!("prohibit"))).is_ok());
    let e = err(
        json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": {"rdf:value": {"@id": "odrl:print"}, "refinement": []}}]}),
    );
    assert_eq!(e.path, "permission[0].action");
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use", "target": "urn:x"}]}));
    assert_eq!(e.path, "permission[0].target");
    let e = err(json!({"@id": "urn:o", "@type": "Offer", "prohibition": [{"action": "use", "duty": []}]}));
    assert_eq!(e.path, "prohibition[0].duty");
    let e = err(offer_with(json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR", "unit": "x"})));
    assert_eq!(e.path, "permission[0].constraint[0].unit");
    let e = err(offer_with(json!({"leftOperand": "spatial", "operator": "eq", "rightOperandReference": "urn:x"})));
    assert!(matches!(e.problem, Problem::Unsupported { .. }));
}

#[test]
fn agreements_need_parties_and_timestamp() {
    let full = json!({"@id": "urn:a", "@type": "Agreement", "target": "urn:d", "assigner": "did:web:p",
        "assignee": "did:web:c", "timestamp": "2026-01-01T00:00:00Z", "permission": [{"action": "use"}]});
    let p = Policy::from_json(&full).unwrap();
    assert_eq!(p.policy_type(), PolicyType::Agreement);
    assert_eq!((p.target(), p.assigner(), p.assignee()), (Some("urn:d"), Some("did:web:p"), Some("did:web:c")));
    for missing in ["target", "assigner", "assignee", "timestamp"] {
        let mut v = full.clone();
        v.as_object_mut().unwrap().remove(missing);
        assert_eq!(err(v).path, missing);
    }
    let mut v = full.clone();
    v["timestamp"] = json!("yesterday");
    assert_eq!(err(v).path, "timestamp");
    let mut v = full;
    v["target"] = json!({"@id": "urn:d"});
    assert_eq!(Policy::from_json(&v).unwrap().target(), Some("urn:d"));
}

#[test]
fn extra_members_are_kept_verbatim() {
    let v = json!({"@context": "https://w3id.org/dspace/2025/1/context.jsonld", "@id": "urn:o", "@type": "Offer",
        "dct:title": "Feature films, FR", "permission": [{"action": "use"}]});
    let p = Policy::from_json(&v).unwrap();
    assert_eq!(p.to_json(), v);
}

#[test]
fn round_trip_is_exact_for_every_shape() {
    let v = json!({
        "@id": "urn:o", "@type": "odrl:Offer", "profile": ["https://w3id.org/passerelle/odrl/profile"],
        "target": "urn:d", "assigner": "did:web:p", "conflict": "prohibit",
        "permission": [{
            "@type": "Permission",
            "action": "odrl:play",
            "constraint": [
                {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["EU", {"@id": "_:CH"}]},
                {"xone": [
                    {"leftOperand": "dateTime", "operator": "lt", "rightOperand": {"@value": "2027-01-01", "@type": "xsd:date"}},
                    {"leftOperand": "count", "operator": "lteq", "rightOperand": 3}
                ]}
            ],
            "duty": [{"action": "attribute"}]
        }],
        "prohibition": [{"action": "use", "constraint": [{"andSequence": [
            {"leftOperand": "passerelle:role", "operator": "eq", "rightOperand": "lab"},
            {"leftOperand": "purpose", "operator": "isA", "rightOperand": "ai-training"}
        ]}]}],
        "obligation": [{"action": "inform"}]
    });
    let p = Policy::from_json(&v).unwrap();
    let mut expected = v.clone();
    expected["@type"] = json!("Offer");
    assert_eq!(p.to_json(), expected);
    assert_eq!(Policy::from_json(&p.to_json()).unwrap(), p);
}

#[test]
fn peer_mode_keeps_what_it_cannot_evaluate() {
    let v = offer_with(json!({"leftOperand": "partner", "operator": "term-lteq", "rightOperand": "gold"}));
    let p = Policy::from_peer_json(&v).unwrap();
    assert_eq!(p.to_json(), v);
    assert_eq!(p.foreign_terms(), vec!["leftOperand `partner`".to_string(), "operator `term-lteq`".to_string()]);
    let v = json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "ex:resell"}]});
    assert_eq!(Policy::from_peer_json(&v).unwrap().foreign_terms(), vec!["action `ex:resell`".to_string()]);
    // Known operands are still validated.
    let e =
        Policy::from_peer_json(&offer_with(json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "XX"})))
            .unwrap_err();
    assert_eq!(e.path, "permission[0].constraint[0].rightOperand");
    assert!(
        Policy::from_json(&offer_with(json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"})))
            .unwrap()
            .foreign_terms()
            .is_empty()
    );
}
