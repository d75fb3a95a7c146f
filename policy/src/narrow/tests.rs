//! Offer matching: equal and narrower requests pass, wider ones are refused with the reason.

use serde_json::{Value, json};

use super::*;

fn p(v: Value) -> Policy {
    Policy::from_json(&v).unwrap_or_else(|e| panic!("{e}"))
}

fn offer(constraints: Value) -> Policy {
    p(json!({"@id": "urn:o", "@type": "Offer", "target": "urn:d", "assigner": "did:web:p",
        "permission": [{"action": "use", "constraint": constraints}]}))
}

fn c(left: &str, op: &str, right: Value) -> Value {
    json!({"leftOperand": left, "operator": op, "rightOperand": right})
}

fn window() -> Value {
    json!([
        c("spatial", "isAnyOf", json!(["EU"])),
        c("spatial", "isNoneOf", json!(["DE"])),
        c("dateTime", "gteq", json!("2026-01-01T00:00:00Z")),
        c("dateTime", "lt", json!("2027-01-01T00:00:00Z")),
        c("language", "isAnyOf", json!(["es", "fr"])),
        c("purpose", "isA", json!("vod"))
    ])
}

fn with(mut base: Value, i: usize, replacement: Value) -> Value {
    base[i] = replacement;
    base
}

#[test]
fn identical_request_narrows() {
    assert_eq!(narrows(&offer(window()), &offer(window())), Ok(()));
}

#[test]
fn narrower_values_pass() {
    let o = offer(window());
    for (i, narrower) in [
        (0, c("spatial", "isAnyOf", json!(["FR", "BE"]))),
        (0, c("spatial", "eq", json!("http://example.org/Benelux"))),
        (2, c("dateTime", "gteq", json!("2026-03-01T00:00:00Z"))),
        (3, c("dateTime", "lteq", json!("2026-06-30T00:00:00Z"))),
        (4, c("language", "eq", json!("es-419"))),
        (5, c("purpose", "eq", json!("svod"))),
        (5, c("purpose", "isAnyOf", json!(["svod", "avod"]))),
    ] {
        let r = offer(with(window(), i, narrower.clone()));
        assert_eq!(narrows(&r, &o), Ok(()), "{narrower}");
    }
    let mut more = window();
    more.as_array_mut().unwrap().push(c("channel", "eq", json!("SVOD")));
    assert_eq!(narrows(&offer(more), &o), Ok(()), "an extra constraint narrows");
}

#[test]
fn wider_values_fail_with_a_reason() {
    let o = offer(window());
    for (i, wider) in [
        (0, c("spatial", "isAnyOf", json!(["FR", "CH"]))),
        (2, c("dateTime", "gteq", json!("2025-12-31T23:59:59Z"))),
        (3, c("dateTime", "lteq", json!("2027-01-01T00:00:00Z"))),
        (4, c("language", "isAnyOf", json!(["es", "en"]))),
        (5, c("purpose", "isA", json!("linear"))),
    ] {
        let r = offer(with(window(), i, wider.clone()));
        let m = narrows(&r, &o).unwrap_err();
        assert!(matches!(m, Mismatch::PermissionNotCovered { index: 0, .. }), "{wider}: {m}");
    }
    let mut fewer = window();
    fewer.as_array_mut().unwrap().remove(1);
    let m = narrows(&offer(fewer), &o).unwrap_err();
    assert_eq!(
        m.to_string(),
        "requested permission[0] (use) asks for more than the offer gives: offered permission[0] requires that the \
         territory is not in DE, which the request does not guarantee"
    );
}

#[test]
fn the_exclusion_can_be_folded_into_the_list() {
    let eu_minus_de: Vec<String> = crate::vocab::territory::GROUPS[1]
        .members
        .territories()
        .iter()
        .filter(|t| t.as_str() != "DE")
        .map(|t| t.to_string())
        .collect();
    let o = offer(json!([c("spatial", "isAnyOf", json!(["EU"])), c("spatial", "isNoneOf", json!(["DE"]))]));
    let r = offer(json!([c("spatial", "isAnyOf", json!(eu_minus_de))]));
    assert_eq!(narrows(&r, &o), Ok(()));
}

#[test]
fn disjunctions_on_either_side() {
    let o = offer(json!([{"or": [c("spatial", "eq", json!("FR")), c("spatial", "eq", json!("BE"))]}]));
    assert_eq!(narrows(&offer(json!([c("spatial", "eq", json!("FR"))])), &o), Ok(()));
    assert!(narrows(&offer(json!([c("spatial", "eq", json!("NL"))])), &o).is_err());
    let list = offer(json!([c("spatial", "isAnyOf", json!(["FR", "BE", "NL"]))]));
    let either = offer(json!([{"or": [c("spatial", "eq", json!("FR")), c("spatial", "eq", json!("BE"))]}]));
    assert_eq!(narrows(&either, &list), Ok(()), "case split on the requested or");
    let too_wide = offer(json!([{"xone": [c("spatial", "eq", json!("FR")), c("spatial", "eq", json!("US"))]}]));
    assert!(narrows(&too_wide, &list).is_err());
    assert_eq!(narrows(&too_wide, &too_wide), Ok(()), "an identical xone matches");
    let and = offer(json!([{"and": [c("spatial", "eq", json!("FR")), c("language", "eq", json!("fr"))]}]));
    let o2 = offer(json!([c("language", "isAnyOf", json!(["fr", "de"])), c("spatial", "eq", json!("EU"))]));
    assert_eq!(narrows(&and, &o2), Ok(()), "a nested and is flattened");
}

#[test]
fn an_unconstrained_operand_implies_nothing() {
    // `count gteq 1` allows every count a request can reach, but a request without a count constraint is still
    // not narrower: when the count is unknown the offer does not grant.
    let o = offer(json!([c("count", "gteq", json!(1))]));
    assert!(narrows(&offer(json!([c("spatial", "eq", json!("FR"))])), &o).is_err());
    assert_eq!(
        narrows(&offer(json!([c("count", "lteq", json!(3))])), &offer(json!([c("count", "lteq", json!(5))]))),
        Ok(())
    );
    assert!(
        narrows(&offer(json!([c("count", "neq", json!(3))])), &offer(json!([c("count", "lteq", json!(5))]))).is_err()
    );
}

#[test]
fn strings_and_masks() {
    let o = offer(json!([c("recipient", "isAnyOf", json!(["did:web:a", "did:web:b"]))]));
    assert_eq!(narrows(&offer(json!([c("recipient", "eq", json!("did:web:a"))])), &o), Ok(()));
    assert!(narrows(&offer(json!([c("recipient", "neq", json!("did:web:c"))])), &o).is_err());
    let not_c = offer(json!([c("recipient", "neq", json!("did:web:c"))]));
    assert_eq!(narrows(&offer(json!([c("recipient", "isNoneOf", json!(["did:web:c", "did:web:d"]))])), &not_c), Ok(()));
    let roles = offer(json!([c("role", "isAnyOf", json!(["lab", "broadcaster"]))]));
    assert_eq!(narrows(&offer(json!([c("role", "eq", json!("lab"))])), &roles), Ok(()));
    assert!(narrows(&offer(json!([c("role", "neq", json!("producer"))])), &roles).is_err());
    let langs = offer(json!([c("language", "isNoneOf", json!(["en"]))]));
    assert_eq!(narrows(&offer(json!([c("language", "isNoneOf", json!(["en", "de"]))])), &langs), Ok(()));
    assert_eq!(narrows(&offer(json!([c("language", "eq", json!("fr"))])), &langs), Ok(()));
    assert!(narrows(&offer(json!([c("language", "isNoneOf", json!(["en-GB"]))])), &langs).is_err());
    assert!(narrows(&offer(json!([c("language", "eq", json!("en-GB"))])), &langs).is_err());
}

#[test]
fn parties_and_target() {
    let o = offer(window());
    let other_target = p(
        json!({"@id": "urn:o", "@type": "Offer", "target": "urn:other", "permission": [{"action": "use", "constraint": window()}]}),
    );
    assert!(matches!(narrows(&other_target, &o), Err(Mismatch::Target { .. })));
    let no_target = o.clone().without_target();
    assert!(matches!(narrows(&no_target, &o), Err(Mismatch::Target { .. })));
    assert_eq!(narrows(&o, &no_target), Ok(()), "a catalogue offer has no target; the request supplies it");
    let other_assigner = o.clone().with_assigner("did:web:someone-else");
    assert!(matches!(narrows(&other_assigner, &o), Err(Mismatch::Assigner { .. })));
}

#[test]
fn actions() {
    let o = p(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "play"}]}));
    let r = p(json!({"@id": "urn:o", "@type": "Offer", "permission": [{"action": "use"}]}));
    let m = narrows(&r, &o).unwrap_err();
    assert!(m.to_string().contains("no offered permission covers `use`"), "{m}");
    assert_eq!(narrows(&o, &r), Ok(()), "play is narrower than use");
}

#[test]
fn prohibitions_and_duties_must_be_kept() {
    let o = p(json!({"@id": "urn:o", "@type": "Offer",
        "permission": [{"action": "use", "duty": [{"action": "attribute"}]}],
        "prohibition": [{"action": "distribute", "constraint": [c("spatial", "eq", json!("US"))]}],
        "obligation": [{"action": "inform"}]}));
    assert_eq!(narrows(&o, &o), Ok(()));
    let mut v = o.to_json();
    v.as_object_mut().unwrap().remove("prohibition");
    assert!(matches!(narrows(&p(v), &o), Err(Mismatch::ProhibitionDropped { index: 0, .. })));
    let mut v = o.to_json();
    v["prohibition"][0]["constraint"][0]["rightOperand"] = json!("CA");
    assert!(matches!(narrows(&p(v), &o), Err(Mismatch::ProhibitionDropped { .. })), "a prohibition moved elsewhere");
    let mut v = o.to_json();
    v["prohibition"][0] = json!({"action": "use"});
    assert_eq!(narrows(&p(v), &o), Ok(()), "a broader prohibition is narrower for the consumer");
    let mut v = o.to_json();
    v["prohibition"][0]["constraint"][0] = c("spatial", "isAnyOf", json!(["US", "CA"]));
    assert_eq!(narrows(&p(v), &o), Ok(()));
    let mut v = o.to_json();
    v["permission"][0].as_object_mut().unwrap().remove("duty");
    let m = narrows(&p(v), &o).unwrap_err();
    assert!(m.to_string().contains("has duty `attribute`, missing from the request"), "{m}");
    let mut v = o.to_json();
    v.as_object_mut().unwrap().remove("obligation");
    assert!(matches!(narrows(&p(v), &o), Err(Mismatch::ObligationDropped { index: 0, .. })));
}

#[test]
fn hostile_disjunctions_stay_bounded() {
    let ors: Vec<Value> =
        (0..12).map(|i| json!({"or": [c("count", "eq", json!(i)), c("count", "eq", json!(i + 100))]})).collect();
    let r = offer(json!(ors));
    let o = offer(json!([c("spatial", "eq", json!("FR"))]));
    assert!(narrows(&r, &o).is_err(), "gives up safely instead of exploring 2^12 branches forever");
}
