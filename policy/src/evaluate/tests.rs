//! Evaluation per operand and operator, with the boundaries that matter in rights deals.

use passerelle_media::{LanguageTag, Territory};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::*;
use crate::model::Policy;

const CHANNEL: &str = "https://w3id.org/passerelle/odrl/channel";
const ROLE: &str = "passerelle:role";

fn policy(v: Value) -> Policy {
    Policy::from_json(&v).unwrap_or_else(|e| panic!("test policy must parse: {e}"))
}

/// An offer with one `use` permission constrained by `constraints`.
fn permit_when(constraints: Value) -> Policy {
    policy(json!({"@id": "urn:p", "@type": "Offer", "permission": [{"action": "use", "constraint": constraints}]}))
}

fn one(left: &str, op: &str, right: Value) -> Policy {
    permit_when(json!([{"leftOperand": left, "operator": op, "rightOperand": right}]))
}

fn now() -> OffsetDateTime {
    datetime!(2026-06-15 12:00 UTC)
}

fn ctx() -> RequestContext {
    RequestContext::new(Action::Use, now())
}

fn t(code: &str) -> Territory {
    Territory::parse(code).unwrap()
}

fn l(tag: &str) -> LanguageTag {
    LanguageTag::parse(tag).unwrap()
}

fn permits(p: &Policy, c: &RequestContext) -> bool {
    evaluate(p, c).permitted
}

fn in_territory(p: &Policy, code: &str) -> bool {
    permits(p, &ctx().with_territory(t(code)))
}

#[test]
fn spatial_eq_territory_and_group() {
    let fr = one("spatial", "eq", json!("FR"));
    assert!(in_territory(&fr, "FR"));
    assert!(!in_territory(&fr, "BE"));
    let eu = one("spatial", "eq", json!("EU"));
    assert!(in_territory(&eu, "FR") && in_territory(&eu, "GR"));
    assert!(!in_territory(&eu, "CH") && !in_territory(&eu, "GB"));
}

#[test]
fn spatial_missing_territory_is_unknown_and_denied() {
    let fr = one("spatial", "eq", json!("FR"));
    let c_d = ctx();
    let d = evaluate(&fr, &c_d);
    assert!(!d.permitted);
    assert_eq!(d.outcome, Outcome::NoPermissionHolds);
    let node = &d.explanation.nodes()[1];
    assert_eq!(node.truth, Truth::Unknown);
    assert!(matches!(node.subject, Subject::Constraint { actual: Actual::Missing, .. }));
}

#[test]
fn spatial_group_with_exclusion() {
    let p = permit_when(json!([
        {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["EU", "CH"]},
        {"leftOperand": "spatial", "operator": "isNoneOf", "rightOperand": ["DE"]}
    ]));
    assert!(in_territory(&p, "FR"));
    assert!(in_territory(&p, "CH"));
    assert!(!in_territory(&p, "DE"), "excluded territory");
    assert!(!in_territory(&p, "US"));
}

#[test]
fn spatial_other_operators() {
    assert!(!in_territory(&one("spatial", "neq", json!("FR")), "FR"));
    assert!(in_territory(&one("spatial", "neq", json!("FR")), "BE"));
    assert!(!in_territory(&one("spatial", "neq", json!("EU")), "BE"));
    let nordic_eea = one("spatial", "isAllOf", json!(["EEA", "Nordics"]));
    assert!(in_territory(&nordic_eea, "NO") && in_territory(&nordic_eea, "DK"));
    assert!(!in_territory(&nordic_eea, "FR"));
    assert!(in_territory(&one("spatial", "isPartOf", json!("Benelux")), "LU"));
    assert!(!in_territory(&one("spatial", "isPartOf", json!("Benelux")), "FR"));
    assert!(in_territory(&one("spatial", "isA", json!("DACH")), "CH"));
    assert!(in_territory(&one("spatial", "hasPart", json!("FR")), "FR"));
    assert!(!in_territory(&one("spatial", "hasPart", json!("FR")), "BE"));
    let world = one("spatial", "eq", json!("WORLD"));
    assert!(in_territory(&world, "XK") && in_territory(&world, "US"));
    let none_of = one("spatial", "isNoneOf", json!(["US", "CA"]));
    assert!(in_territory(&none_of, "FR") && !in_territory(&none_of, "CA"));
}

#[test]
fn spatial_iri_right_operand_reads_last_segment() {
    let p = one("spatial", "eq", json!("http://example.org/EU"));
    assert!(in_territory(&p, "IT") && !in_territory(&p, "NO"));
    let p = one("spatial", "eq", json!("_:EU"));
    assert!(in_territory(&p, "IT"));
}

fn at(p: &Policy, when: OffsetDateTime) -> bool {
    permits(p, &RequestContext::new(Action::Use, when))
}

#[test]
fn date_time_window_boundaries() {
    let p = permit_when(json!([
        {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-01-01T00:00:00Z"},
        {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00Z"}
    ]));
    let one_ns = Duration::nanoseconds(1);
    assert!(at(&p, datetime!(2026-01-01 0:00 UTC)), "start is inclusive");
    assert!(!at(&p, datetime!(2026-01-01 0:00 UTC) - one_ns));
    assert!(at(&p, datetime!(2027-01-01 0:00 UTC) - one_ns));
    assert!(!at(&p, datetime!(2027-01-01 0:00 UTC)), "end is exclusive");
    // Offsets are compared as instants.
    assert!(!at(&p, datetime!(2026-01-01 0:30 +01:00)));
}

#[test]
fn date_time_open_ends_and_other_operators() {
    let until = one("dateTime", "lteq", json!("2023-12-31T06:00Z"));
    assert!(at(&until, datetime!(1990-01-01 0:00 UTC)));
    assert!(at(&until, datetime!(2023-12-31 6:00 UTC)), "lteq includes the instant");
    assert!(!at(&until, datetime!(2023-12-31 6:00:01 UTC)));
    let from = one("dateTime", "gt", json!("2026-01-01"));
    assert!(!at(&from, datetime!(2026-01-01 0:00 UTC)));
    assert!(at(&from, datetime!(2100-01-01 0:00 UTC)));
    let exactly = one("dateTime", "eq", json!("2026-06-15T12:00:00Z"));
    assert!(at(&exactly, now()) && !at(&exactly, now() + Duration::SECOND));
    let not = one("dateTime", "neq", json!("2026-06-15T12:00:00Z"));
    assert!(!at(&not, now()) && at(&not, now() + Duration::SECOND));
}

#[test]
fn elapsed_time() {
    let p = one("elapsedTime", "lteq", json!("P30D"));
    assert!(permits(&p, &ctx().with_elapsed(Duration::days(30))));
    assert!(!permits(&p, &ctx().with_elapsed(Duration::days(30) + Duration::SECOND)));
    assert!(!permits(&p, &ctx()), "unknown elapsed time never grants");
    let p = one("elapsedTime", "gt", json!("PT48H"));
    assert!(!permits(&p, &ctx().with_elapsed(Duration::hours(48))));
    assert!(permits(&p, &ctx().with_elapsed(Duration::hours(49))));
}

#[test]
fn count_is_checked_against_the_use_this_request_would_make() {
    let at_most_5 = one("count", "lteq", json!(5));
    assert!(permits(&at_most_5, &ctx().with_uses_so_far(0)));
    assert!(permits(&at_most_5, &ctx().with_uses_so_far(4)), "the 5th use is allowed");
    assert!(!permits(&at_most_5, &ctx().with_uses_so_far(5)), "the 6th is not");
    assert!(!permits(&at_most_5, &ctx()));
    let fewer_than_3 = one("count", "lt", json!("3"));
    assert!(permits(&fewer_than_3, &ctx().with_uses_so_far(1)));
    assert!(!permits(&fewer_than_3, &ctx().with_uses_so_far(2)));
    let first_only = one("count", "eq", json!(1));
    assert!(permits(&first_only, &ctx().with_uses_so_far(0)));
    assert!(!permits(&first_only, &ctx().with_uses_so_far(1)));
    let from_third = one("count", "gteq", json!(3));
    assert!(!permits(&from_third, &ctx().with_uses_so_far(1)));
    assert!(permits(&from_third, &ctx().with_uses_so_far(2)));
    let not_second = one("count", "neq", json!(2));
    assert!(!permits(&not_second, &ctx().with_uses_so_far(1)));
    assert!(permits(&not_second, &ctx().with_uses_so_far(u64::MAX)), "no overflow at the top");
    let gt = one("count", "gt", json!(0));
    assert!(permits(&gt, &ctx().with_uses_so_far(0)));
}

fn for_purpose(p: &Policy, purpose: Purpose) -> bool {
    permits(p, &ctx().with_purpose(purpose))
}

#[test]
fn purpose_hierarchy_operators() {
    let vod = one("purpose", "isA", json!("vod"));
    assert!(for_purpose(&vod, Purpose::Svod) && for_purpose(&vod, Purpose::Vod));
    assert!(!for_purpose(&vod, Purpose::Broadcast));
    let exactly_vod = one("purpose", "eq", json!("vod"));
    assert!(for_purpose(&exactly_vod, Purpose::Vod) && !for_purpose(&exactly_vod, Purpose::Svod));
    let not_vod = one("purpose", "neq", json!("vod"));
    assert!(!for_purpose(&not_vod, Purpose::Vod) && for_purpose(&not_vod, Purpose::Svod));
    let linear = one("purpose", "isPartOf", json!("linear"));
    assert!(for_purpose(&linear, Purpose::Broadcast) && !for_purpose(&linear, Purpose::Svod));
    let no_tdm = one("purpose", "isNoneOf", json!(["text-and-data-mining"]));
    assert!(!for_purpose(&no_tdm, Purpose::AiTraining), "a narrower purpose is excluded with its parent");
    assert!(for_purpose(&no_tdm, Purpose::Subtitling));
    let any = one("purpose", "isAnyOf", json!(["broadcast", "localization"]));
    assert!(for_purpose(&any, Purpose::Subtitling) && for_purpose(&any, Purpose::Broadcast));
    assert!(!for_purpose(&any, Purpose::Archive));
    let all = one("purpose", "isAllOf", json!(["vod", "svod"]));
    assert!(for_purpose(&all, Purpose::Svod) && !for_purpose(&all, Purpose::Avod));
    let has_part = one("purpose", "hasPart", json!("svod"));
    assert!(for_purpose(&has_part, Purpose::Vod) && for_purpose(&has_part, Purpose::Svod));
    assert!(!for_purpose(&has_part, Purpose::Avod));
}

fn in_language(p: &Policy, tag: &str) -> bool {
    permits(p, &ctx().with_language(l(tag)))
}

#[test]
fn language_prefix_matching() {
    let es = one("language", "eq", json!("es"));
    assert!(in_language(&es, "es") && in_language(&es, "es-419") && in_language(&es, "es-ES"));
    assert!(!in_language(&es, "est"), "a prefix must end at a subtag boundary");
    assert!(!in_language(&es, "fr"));
    let es_419 = one("language", "eq", json!("es-419"));
    assert!(!in_language(&es_419, "es"), "a range does not cover the broader tag");
    let not_en = one("language", "isNoneOf", json!(["en"]));
    assert!(!in_language(&not_en, "en-GB") && in_language(&not_en, "fr"));
    let neq = one("language", "neq", json!("fr"));
    assert!(!in_language(&neq, "fr-CA") && in_language(&neq, "de"));
    let any = one("language", "isAnyOf", json!(["fr", "de"]));
    assert!(in_language(&any, "de-AT") && !in_language(&any, "it"));
    let all = one("language", "isAllOf", json!(["zh", "zh-Hant"]));
    assert!(in_language(&all, "zh-Hant-TW") && !in_language(&all, "zh-Hans"));
    let has_part = one("language", "hasPart", json!("zh-Hant-TW"));
    assert!(in_language(&has_part, "zh") && in_language(&has_part, "zh-Hant"));
    assert!(!in_language(&has_part, "zh-Hans"));
    let is_a = one("passerelle:language", "isA", json!("pt"));
    assert!(in_language(&is_a, "pt-BR"));
}

#[test]
fn channel_operators() {
    let svod = one(CHANNEL, "eq", json!("SVOD"));
    assert!(permits(&svod, &ctx().with_channel(Channel::Svod)));
    assert!(!permits(&svod, &ctx().with_channel(Channel::Avod)));
    assert!(!permits(&svod, &ctx()));
    let any = one("channel", "isAnyOf", json!(["SVOD", "avod"]));
    assert!(permits(&any, &ctx().with_channel(Channel::Avod)));
    assert!(!permits(&any, &ctx().with_channel(Channel::Est)));
    let neq = one("channel", "neq", json!("EST"));
    assert!(!permits(&neq, &ctx().with_channel(Channel::Est)) && permits(&neq, &ctx().with_channel(Channel::FreeTv)));
    let none = one("channel", "isNoneOf", json!(["FreeTV", "PayTV"]));
    assert!(!permits(&none, &ctx().with_channel(Channel::PayTv)) && permits(&none, &ctx().with_channel(Channel::Svod)));
}

#[test]
fn role_and_recipient() {
    let as_role = |r: Role| ctx().with_participant("did:web:x.example", Some(r));
    let lab = one(ROLE, "eq", json!("lab"));
    assert!(permits(&lab, &as_role(Role::Lab)) && !permits(&lab, &as_role(Role::Broadcaster)));
    let any = one(ROLE, "isAnyOf", json!(["broadcaster", "distributor"]));
    assert!(permits(&any, &as_role(Role::Distributor)) && !permits(&any, &as_role(Role::Lab)));
    let not = one(ROLE, "neq", json!("producer"));
    assert!(!permits(&not, &as_role(Role::Producer)) && permits(&not, &as_role(Role::Lab)));
    let none = one(ROLE, "isNoneOf", json!(["operator"]));
    assert!(!permits(&none, &as_role(Role::Operator)));
    assert!(!permits(&lab, &ctx()), "no credentials, no role");

    let who = |id: &str| ctx().with_participant(id, None);
    let only = one("recipient", "eq", json!("did:web:lab.example"));
    assert!(permits(&only, &who("did:web:lab.example")) && !permits(&only, &who("did:web:other.example")));
    let list = one("recipient", "isAnyOf", json!(["did:web:b.example", "did:web:a.example"]));
    assert!(permits(&list, &who("did:web:a.example")) && !permits(&list, &who("did:web:c.example")));
    let banned = one("recipient", "isNoneOf", json!(["did:web:bad.example"]));
    assert!(!permits(&banned, &who("did:web:bad.example")) && permits(&banned, &who("did:web:ok.example")));
    let neq = one("recipient", "neq", json!("did:web:bad.example"));
    assert!(!permits(&neq, &who("did:web:bad.example")));
}

#[test]
fn event() {
    let p = one("event", "eq", json!("urn:event:cannes-2026"));
    assert!(permits(&p, &ctx().with_event("urn:event:cannes-2026")));
    assert!(!permits(&p, &ctx().with_event("urn:event:berlinale-2026")));
    assert!(!permits(&p, &ctx()));
    let not = one("event", "isNoneOf", json!(["urn:event:a", "urn:event:b"]));
    assert!(!permits(&not, &ctx().with_event("urn:event:b")) && permits(&not, &ctx().with_event("urn:event:c")));
    let any = one("event", "isAnyOf", json!(["urn:event:a"]));
    assert!(permits(&any, &ctx().with_event("urn:event:a")));
    let neq = one("event", "neq", json!("urn:event:a"));
    assert!(!permits(&neq, &ctx().with_event("urn:event:a")));
}

#[test]
fn logical_constraints() {
    let fr = json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"});
    let eu = json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"});
    let be = json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "BE"});
    let or = permit_when(json!([{"or": [fr, be]}]));
    assert!(in_territory(&or, "FR") && in_territory(&or, "BE") && !in_territory(&or, "NL"));
    let xone = permit_when(json!([{"xone": [fr, eu]}]));
    assert!(!in_territory(&xone, "FR"), "both hold: xone fails");
    assert!(in_territory(&xone, "BE"));
    assert!(!in_territory(&xone, "US"));
    let and = permit_when(json!([{"and": [eu, {"leftOperand": "spatial", "operator": "neq", "rightOperand": "FR"}]}]));
    assert!(in_territory(&and, "BE") && !in_territory(&and, "FR"));
    let seq = permit_when(json!([{"andSequence": [eu, be]}]));
    assert!(in_territory(&seq, "BE") && !in_territory(&seq, "FR"));
    let nested = permit_when(
        json!([{"or": [{"and": [eu, {"leftOperand": "language", "operator": "eq", "rightOperand": "fr"}]}, be]}]),
    );
    assert!(permits(&nested, &ctx().with_territory(t("FR")).with_language(l("fr-BE"))));
    assert!(!permits(&nested, &ctx().with_territory(t("FR")).with_language(l("de"))));
    assert!(in_territory(&nested, "BE"), "the or holds through its second branch despite the unknown language");
}

#[test]
fn kleene_logic_with_unknowns() {
    let fr = json!({"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"});
    let fr_lang = json!({"leftOperand": "language", "operator": "eq", "rightOperand": "fr"});
    let or = permit_when(json!([{"or": [fr, fr_lang]}]));
    let c_d = ctx().with_territory(t("DE"));
    let d = evaluate(&or, &c_d);
    assert!(!d.permitted);
    assert_eq!(d.explanation.nodes()[1].truth, Truth::Unknown, "fails ∨ unknown = unknown");
    let xone = permit_when(json!([{"xone": [fr, fr_lang]}]));
    assert_eq!(evaluate(&xone, &ctx().with_territory(t("FR"))).explanation.nodes()[1].truth, Truth::Unknown);
}

#[test]
fn prohibitions_override_permissions() {
    let p = policy(json!({
        "@id": "urn:p", "@type": "Set",
        "permission": [{"action": "use"}],
        "prohibition": [{"action": "distribute", "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "DE"}]}]
    }));
    let distribute = |code: &str| RequestContext::new(Action::Distribute, now()).with_territory(t(code));
    let c_d = distribute("DE");
    let d = evaluate(&p, &c_d);
    assert!(!d.permitted);
    assert_eq!(d.outcome, Outcome::Prohibited { prohibition: 0 });
    assert!(evaluate(&p, &distribute("FR")).permitted);
    let play_de = RequestContext::new(Action::Play, now()).with_territory(t("DE"));
    assert!(evaluate(&p, &play_de).permitted, "prohibiting distribute does not prohibit play");
    let unknown_where = RequestContext::new(Action::Distribute, now());
    assert!(!evaluate(&p, &unknown_where).permitted, "a prohibition applies unless its condition is known to fail");
}

#[test]
fn actions_follow_included_in() {
    let play_only = policy(json!({"@id": "urn:p", "@type": "Set", "permission": [{"action": "odrl:play"}]}));
    assert!(evaluate(&play_only, &RequestContext::new(Action::Play, now())).permitted);
    let c_d = ctx();
    let d = evaluate(&play_only, &c_d);
    assert_eq!(d.outcome, Outcome::NoPermissionForAction, "play does not cover use");
    let use_all = policy(json!({"@id": "urn:p", "@type": "Set", "permission": [{"action": "use"}]}));
    assert!(evaluate(&use_all, &RequestContext::new(Action::Stream, now())).permitted);
    assert!(!evaluate(&use_all, &RequestContext::new(Action::Sell, now())).permitted, "sell is under transfer");
}

#[test]
fn duties_become_obligations() {
    let p = policy(json!({
        "@id": "urn:p", "@type": "Agreement", "target": "urn:d", "assigner": "did:web:a", "assignee": "did:web:b",
        "timestamp": "2026-01-01T00:00:00Z",
        "permission": [
            {"action": "use", "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "US"}]},
            {"action": "use", "duty": [{"action": "attribute"}, {"action": "inform", "constraint": [
                {"leftOperand": "spatial", "operator": "eq", "rightOperand": "CA"}]}]}
        ],
        "obligation": [
            {"action": "delete", "constraint": [{"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2027-01-01T00:00:00Z"}]},
            {"action": "compensate"}
        ]
    }));
    let c_d = ctx().with_territory(t("FR"));
    let d = evaluate(&p, &c_d);
    assert_eq!(d.outcome, Outcome::Permitted { permission: 1 });
    let sources: Vec<DutySource> = d.obligations.iter().map(|o| o.source).collect();
    assert_eq!(sources, vec![DutySource::Permission { permission: 1, duty: 0 }, DutySource::Policy { index: 1 }]);
    assert_eq!(d.obligations[0].duty.action(), Some(Action::Attribute));
    // After the window end the delete obligation binds too, even though nothing else changed.
    let later = RequestContext::new(Action::Use, datetime!(2027-02-01 0:00 UTC)).with_territory(t("FR"));
    let d = evaluate(&p, &later);
    assert!(d.obligations.iter().any(|o| o.source == DutySource::Policy { index: 0 }));
    // Denied: policy-level obligations still bind, permission duties do not.
    let c_denied = RequestContext::new(Action::Sell, now());
    let denied = evaluate(&p, &c_denied);
    assert!(!denied.permitted);
    assert_eq!(denied.obligations.len(), 1);
}

#[test]
fn explanation_names_rule_constraint_and_value() {
    let p = permit_when(json!([
        {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["EU"]},
        {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00Z"}
    ]));
    let c = ctx().with_territory(t("US"));
    let d = evaluate(&p, &c);
    assert!(!d.permitted);
    let roots: Vec<usize> = d.explanation.roots().map(|(i, _)| i).collect();
    assert_eq!(roots, vec![0]);
    let children: Vec<(usize, Truth)> = d.explanation.children(0).map(|(i, n)| (i, n.truth)).collect();
    assert_eq!(children, vec![(1, Truth::Fails), (2, Truth::Holds)]);
    match d.explanation.nodes()[1].subject {
        Subject::Constraint { index: 0, actual: Actual::Territory(found), .. } => assert_eq!(found.as_str(), "US"),
        other => panic!("unexpected node {other:?}"),
    }
    let text = d.to_string();
    assert!(text.starts_with("DENIED: no permission has all its conditions met"), "{text}");
    assert!(text.contains("permission[0] (use): FAILS"), "{text}");
    assert!(
        text.contains("the territory is in EU (the European Union (27 member states)) — request: US → FAILS"),
        "{text}"
    );
    assert!(text.contains("request: 15 June 2026 12:00 UTC → holds"), "{text}");
}

#[test]
fn explanation_tree_nests_logical_constraints() {
    let p = permit_when(json!([{"or": [
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
        {"and": [
            {"leftOperand": "spatial", "operator": "eq", "rightOperand": "BE"},
            {"leftOperand": "language", "operator": "eq", "rightOperand": "nl"}
        ]}
    ]}]));
    let c_d = ctx().with_territory(t("BE")).with_language(l("nl-BE"));
    let d = evaluate(&p, &c_d);
    assert!(d.permitted);
    let depths: Vec<usize> = d.explanation.nodes().iter().map(|n| n.depth).collect();
    assert_eq!(depths, vec![0, 1, 2, 2, 3, 3]);
    let or_children: Vec<usize> = d.explanation.children(1).map(|(i, _)| i).collect();
    assert_eq!(or_children, vec![2, 3]);
    let and_children: Vec<Truth> = d.explanation.children(3).map(|(_, n)| n.truth).collect();
    assert_eq!(and_children, vec![Truth::Holds, Truth::Holds]);
    assert!(d.explanation.children(99).next().is_none());
}

#[test]
fn peer_conditions_fail_closed() {
    let v = json!({"@id": "urn:p", "@type": "Offer",
        "permission": [{"action": "use", "constraint": [{"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}]}],
        "prohibition": [{"action": "use", "constraint": [{"leftOperand": "ex:tier", "operator": "eq", "rightOperand": "x"}]}]});
    let p = Policy::from_peer_json(&v).unwrap();
    let c_d = ctx();
    let d = evaluate(&p, &c_d);
    assert!(!d.permitted);
    assert_eq!(d.outcome, Outcome::Prohibited { prohibition: 0 }, "an unreadable prohibition condition applies");
    let permit_only = Policy::from_peer_json(&json!({"@id": "urn:p", "@type": "Offer",
        "permission": [{"action": "use", "constraint": [{"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}]}]}))
    .unwrap();
    let c_d = ctx();
    let d = evaluate(&permit_only, &c_d);
    assert!(!d.permitted);
    assert!(matches!(d.explanation.nodes()[1].subject, Subject::Constraint { actual: Actual::NotUnderstood, .. }));
    let foreign_action = Policy::from_peer_json(&json!({"@id": "urn:p", "@type": "Offer",
        "permission": [{"action": "use"}], "prohibition": [{"action": "ex:resell"}]}))
    .unwrap();
    assert!(!evaluate(&foreign_action, &ctx()).permitted, "a prohibition on an unknown action covers every action");
}

#[test]
fn one_allocation_sized_arena() {
    let p = permit_when(json!([
        {"leftOperand": "spatial", "operator": "eq", "rightOperand": "FR"},
        {"or": [{"leftOperand": "language", "operator": "eq", "rightOperand": "fr"},
                {"leftOperand": "language", "operator": "eq", "rightOperand": "de"}]}
    ]));
    let c_d = ctx().with_territory(t("FR"));
    let d = evaluate(&p, &c_d);
    assert_eq!(d.explanation.nodes.len(), 5);
    assert!(d.explanation.nodes.capacity() >= 5);
}
