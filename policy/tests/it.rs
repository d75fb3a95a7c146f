//! Integration tests: the DSP 2025-1 example policies, and properties over generated policies and requests
//! (parse∘write is the identity, narrowing never widens what is permitted, nothing panics on arbitrary input).

use std::path::{Path, PathBuf};

use passerelle_media::{LanguageTag, Territory};
use passerelle_policy::{
    Action, Channel, Outcome, Policy, Purpose, RequestContext, Role, Truth, evaluate, narrows, offer_for_window,
};
use proptest::prelude::*;
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------------------------
// The DSP 2025-1 examples
// ---------------------------------------------------------------------------------------------------------------

/// `shared/spec/dsp-2025-1`, found by walking up from the crate to the folder that holds `shared` next to the repo.
fn spec_dir() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .map(|a| a.join("shared/spec/dsp-2025-1"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no shared/spec/dsp-2025-1 above {}", start.display()))
}

/// Every ODRL policy in the examples: `hasPolicy` items anywhere in catalog examples, `offer`/`agreement` in
/// negotiation examples; with the file and JSON pointer they came from.
fn example_policies() -> Vec<(String, Value)> {
    fn walk(v: &Value, pointer: String, file: &str, keys: &[&str], out: &mut Vec<(String, Value)>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = format!("{pointer}/{k}");
                    if keys.contains(&k.as_str()) {
                        match child {
                            Value::Array(items) => {
                                for (i, item) in items.iter().enumerate() {
                                    out.push((format!("{file}#{p}/{i}"), item.clone()));
                                }
                            }
                            other => out.push((format!("{file}#{p}"), other.clone())),
                        }
                    } else {
                        walk(child, p, file, keys, out);
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, format!("{pointer}/{i}"), file, keys, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (area, keys) in [("catalog", &["hasPolicy"][..]), ("negotiation", &["offer", "agreement"][..])] {
        let dir = spec_dir().join(area).join("example");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            let name = format!("{area}/{}", f.file_name().map(|n| n.to_string_lossy()).unwrap_or_default());
            walk(&v, String::new(), &name, keys, &mut out);
        }
    }
    out
}

#[test]
fn every_example_policy_parses_and_round_trips() {
    let policies = example_policies();
    // catalog.json, dataset.json, and the offer/agreement of six negotiation messages.
    assert_eq!(policies.len(), 8, "{:?}", policies.iter().map(|(o, _)| o).collect::<Vec<_>>());
    let mut strict = 0;
    for (origin, v) in &policies {
        let peer = Policy::from_peer_json(v).unwrap_or_else(|e| panic!("{origin}: {e}"));
        assert_eq!(&peer.to_json(), v, "{origin}: written back exactly");
        match Policy::from_json(v) {
            Ok(p) => {
                strict += 1;
                assert_eq!(&p.to_json(), v, "{origin}");
                assert_eq!(Policy::from_json(&p.to_json()).as_ref(), Ok(&p), "{origin}");
                assert!(p.foreign_terms().is_empty());
            }
            Err(e) => {
                // Only the agreement that uses the placeholder operands `partner`/`constraint1` is refused in strict
                // mode, and the error says exactly where.
                assert!(origin.contains("contract-agreement-message-full.json"), "{origin}: {e}");
                assert_eq!(e.path, "permission[1].constraint[0].and[0].leftOperand");
                assert!(e.to_string().contains("unknown left operand `partner`"), "{e}");
                assert_eq!(
                    peer.foreign_terms(),
                    vec!["leftOperand `constraint1`", "leftOperand `constraint2`", "leftOperand `partner`"]
                );
            }
        }
    }
    assert_eq!(strict, policies.len() - 1);
}

#[test]
fn example_policies_mean_what_they_say() {
    let find = |suffix: &str| {
        example_policies()
            .into_iter()
            .find(|(o, _)| o.contains(suffix))
            .map(|(_, v)| Policy::from_json(&v).unwrap_or_else(|e| panic!("{suffix}: {e}")))
            .unwrap_or_else(|| panic!("no example {suffix}"))
    };
    let in_eu = |p: &Policy, code: &str| {
        let ctx = RequestContext::new(Action::Use, datetime!(2026-01-01 0:00 UTC))
            .with_territory(Territory::parse(code).unwrap());
        evaluate(p, &ctx).permitted
    };
    for name in ["catalog/catalog.json", "catalog/dataset.json"] {
        let p = find(name);
        assert!(in_eu(&p, "FR") && !in_eu(&p, "US"), "{name}: `EU` by its IRI or blank node id");
    }
    let until = find("contract-agreement-message.json");
    let at = |t: OffsetDateTime| evaluate(&until, &RequestContext::new(Action::Use, t)).permitted;
    assert!(at(datetime!(2023-12-31 6:00 UTC)));
    assert!(!at(datetime!(2023-12-31 6:00:01 UTC)));
    let any = find("contract-request-message_initial.json");
    assert!(evaluate(&any, &RequestContext::new(Action::Play, datetime!(2030-01-01 0:00 UTC))).permitted);
    // The consumer's request narrows the provider's offer of the same negotiation.
    let offered = find("contract-offer-message.json");
    let requested = find("contract-request-message.json");
    assert_eq!(narrows(&requested, &offered), Ok(()));
    let initial = find("contract-request-message_initial.json");
    assert!(narrows(&initial, &offered).is_err(), "dropping the date limit widens the offer");
}

#[test]
fn invalid_example_variants_name_the_field() {
    let (_, mut v) = example_policies().into_iter().find(|(o, _)| o.contains("catalog/catalog.json")).unwrap();
    v["permission"][0]["constraint"][0]["rightOperand"] = json!("http://example.org/Atlantis");
    let e = Policy::from_json(&v).unwrap_err();
    assert_eq!(e.path, "permission[0].constraint[0].rightOperand");
    assert!(e.to_string().contains("`http://example.org/Atlantis` is not an ISO 3166-1 territory"), "{e}");
    v["permission"][0]["constraint"][0]["operator"] = json!("gt");
    assert_eq!(Policy::from_json(&v).unwrap_err().path, "permission[0].constraint[0].operator");
}

#[test]
fn generated_offers_follow_the_dsp_shape() {
    let w = passerelle_media::RightsWindow {
        id: "w".into(),
        work_id: "work".into(),
        licensor: None,
        license_type: "EST".into(),
        territories: vec![Territory::parse("FR").unwrap()],
        excluded_territories: vec![],
        start: Some(datetime!(2026-01-01 0:00 UTC)),
        end: None,
        languages: vec![],
        holdback_languages: vec![],
        format_profile: None,
    };
    let offer = offer_for_window(&w, "urn:offer:1", "urn:dataset:1", "did:web:p").unwrap();
    let catalog_form = offer.clone().without_target().to_json();
    // The members a DSP 2025-1 catalog Offer carries (contract-schema.json `Offer`: no target, @id, @type, rules).
    let keys: Vec<&str> = catalog_form.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    assert_eq!(keys, vec!["@id", "@type", "profile", "assigner", "permission"]);
    let agreement = offer.into_agreement("urn:agreement:1", "did:web:p", "did:web:c", datetime!(2026-02-01 10:00 UTC));
    let a = agreement.unwrap().to_json();
    assert_eq!(a["@type"], "Agreement");
    assert_eq!(a["timestamp"], "2026-02-01T10:00:00Z");
    assert_eq!(Policy::from_json(&a).unwrap().to_json(), a);
}

// ---------------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------------

const AREAS: &[&str] = &["FR", "DE", "BE", "CH", "US", "NO", "GB", "EU", "EEA", "DACH", "Benelux", "Nordics", "WORLD"];
const CODES: &[&str] = &["FR", "DE", "BE", "CH", "US", "NO", "GB", "IT", "NL", "SE", "XK"];
const INSTANTS: &[&str] = &["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z", "2026-06-15T12:00Z", "2027-01-01"];
const DURATIONS: &[&str] = &["PT12H", "P1D", "P30D"];
const PURPOSES: &[&str] = &["vod", "svod", "avod", "linear", "broadcast", "subtitling", "ai-training", "archive"];
const RANGES: &[&str] = &["es", "es-419", "fr", "fr-CA", "en", "zh", "zh-Hant"];
const TAGS: &[&str] = &["es", "es-419", "es-ES", "fr", "fr-CA", "en-GB", "zh-Hant-TW", "zh-Hans", "de"];
const CHANNELS: &[&str] = &["SVOD", "AVOD", "EST", "FreeTV"];
const ROLES: &[&str] = &["lab", "broadcaster", "distributor"];
const IDS: &[&str] = &["did:web:a.example", "did:web:b.example", "did:web:c.example"];
const EVENTS: &[&str] = &["urn:event:a", "urn:event:b"];

const ORDERED: &[&str] = &["eq", "neq", "gt", "gteq", "lt", "lteq"];
const SETS: &[&str] = &["eq", "neq", "isA", "isPartOf", "isAnyOf", "isNoneOf", "isAllOf", "hasPart"];
const FLAT: &[&str] = &["eq", "neq", "isAnyOf", "isNoneOf"];

fn pick(pool: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    prop::sample::select(pool)
}

/// A right operand for `op`: a list for set operators, one value otherwise.
fn right(
    op: &'static str,
    pool: &'static [&'static str],
    single_pool: &'static [&'static str],
) -> BoxedStrategy<Value> {
    if matches!(op, "isAnyOf" | "isNoneOf" | "isAllOf") {
        prop::sample::subsequence(pool, 1..=3.min(pool.len())).prop_map(|v| json!(v)).boxed()
    } else {
        pick(single_pool).prop_map(|s| json!(s)).boxed()
    }
}

/// Number of operand families `family` knows.
const FAMILIES: usize = 10;

/// Valid atomic constraints on one operand (by family index), with every operator and spelling that applies.
fn family(k: usize) -> BoxedStrategy<Value> {
    let spelled = |compact: &'static str, variants: &'static [&'static str]| {
        prop::sample::select(variants).prop_map(move |v| if v.is_empty() { compact.to_string() } else { v.to_string() })
    };
    let c = |l: String, o: &str, r: Value| json!({"leftOperand": l, "operator": o, "rightOperand": r});
    match k {
        0 => (spelled("spatial", &["", "odrl:spatial", "http://www.w3.org/ns/odrl/2/spatial"]), pick(SETS))
            .prop_flat_map(move |(l, op)| {
                right(op, AREAS, if op == "hasPart" { CODES } else { AREAS }).prop_map(move |r| c(l.clone(), op, r))
            })
            .boxed(),
        1 => (pick(ORDERED), pick(INSTANTS)).prop_map(move |(op, r)| c("dateTime".into(), op, json!(r))).boxed(),
        2 => (pick(ORDERED), pick(DURATIONS)).prop_map(move |(op, r)| c("elapsedTime".into(), op, json!(r))).boxed(),
        3 => (pick(ORDERED), 0u64..7).prop_map(move |(op, n)| c("count".into(), op, json!(n))).boxed(),
        4 => pick(SETS)
            .prop_flat_map(move |op| right(op, PURPOSES, PURPOSES).prop_map(move |r| c("purpose".into(), op, r)))
            .boxed(),
        5 => pick(SETS)
            .prop_flat_map(move |op| right(op, RANGES, RANGES).prop_map(move |r| c("language".into(), op, r)))
            .boxed(),
        6 => (spelled("channel", &["", "passerelle:channel", "https://w3id.org/passerelle/odrl/channel"]), pick(FLAT))
            .prop_flat_map(move |(l, op)| right(op, CHANNELS, CHANNELS).prop_map(move |r| c(l.clone(), op, r)))
            .boxed(),
        7 => pick(FLAT)
            .prop_flat_map(move |op| right(op, ROLES, ROLES).prop_map(move |r| c("role".into(), op, r)))
            .boxed(),
        8 => pick(FLAT)
            .prop_flat_map(move |op| right(op, IDS, IDS).prop_map(move |r| c("recipient".into(), op, r)))
            .boxed(),
        _ => pick(FLAT)
            .prop_flat_map(move |op| right(op, EVENTS, EVENTS).prop_map(move |r| c("event".into(), op, r)))
            .boxed(),
    }
}

fn atomic() -> BoxedStrategy<Value> {
    (0..FAMILIES).prop_flat_map(family).boxed()
}

fn constraint() -> BoxedStrategy<Value> {
    atomic()
        .prop_recursive(2, 12, 3, |inner| {
            (pick(&["and", "or", "xone", "andSequence"]), prop::collection::vec(inner, 1..=3))
                .prop_map(|(op, members)| json!({ op: members }))
        })
        .boxed()
}

fn rule(action: &'static [&'static str], max_constraints: usize) -> impl Strategy<Value = Value> {
    (pick(action), prop::collection::vec(constraint(), 0..=max_constraints))
        .prop_map(|(a, cs)| if cs.is_empty() { json!({"action": a}) } else { json!({"action": a, "constraint": cs}) })
}

const PERMITTED_ACTIONS: &[&str] = &["use", "play", "odrl:distribute"];
const PROHIBITED_ACTIONS: &[&str] = &["use", "distribute", "odrl:play"];

fn policy_json() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(rule(PERMITTED_ACTIONS, 4), 1..=2),
        prop::collection::vec(rule(PROHIBITED_ACTIONS, 2), 0..=1),
        prop::option::of(pick(&["attribute", "inform"])),
    )
        .prop_map(|(permissions, prohibitions, duty)| {
            let mut v = json!({"@id": "urn:offer", "@type": "Offer", "target": "urn:dataset", "assigner": "did:web:p",
                "permission": permissions});
            if !prohibitions.is_empty() {
                v["prohibition"] = json!(prohibitions);
            }
            if let Some(d) = duty {
                v["permission"][0]["duty"] = json!([{"action": d}]);
            }
            v
        })
}

fn context() -> impl Strategy<Value = RequestContext> {
    let instants = [
        datetime!(2024-06-01 0:00 UTC),
        datetime!(2025-01-01 0:00 UTC),
        datetime!(2026-01-01 0:00 UTC),
        datetime!(2026-06-15 12:00 UTC),
        datetime!(2026-09-01 0:00 UTC),
        datetime!(2027-01-01 0:00 UTC),
        datetime!(2028-01-01 0:00 UTC),
    ];
    let elapsed = [Duration::ZERO, Duration::hours(12), Duration::days(1), Duration::days(30), Duration::days(31)];
    (
        (
            prop::sample::select(&[Action::Use, Action::Play, Action::Distribute, Action::Sell][..]),
            prop::sample::select(instants.to_vec()),
        ),
        (
            prop::option::of(pick(CODES)),
            prop::option::of(pick(TAGS)),
            prop::option::of(prop::sample::select(Purpose::ALL)),
        ),
        (prop::option::of(prop::sample::select(Channel::ALL)), prop::option::of(prop::sample::select(Role::ALL))),
        (
            prop::option::of(pick(IDS)),
            prop::option::of(0u64..8),
            prop::option::of(prop::sample::select(elapsed.to_vec())),
        ),
        prop::option::of(pick(EVENTS)),
    )
        .prop_map(|((action, at), (territory, language, purpose), (channel, role), (id, uses, elapsed), event)| {
            RequestContext {
                participant_id: id.map(str::to_string),
                role,
                action,
                at,
                territory: territory.map(|t| Territory::parse(t).unwrap()),
                channel,
                language: language.map(|l| LanguageTag::parse(l).unwrap()),
                purpose,
                uses_so_far: uses,
                elapsed,
                event: event.map(str::to_string),
            }
        })
}

/// Arbitrary JSON biased towards policy-shaped members.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(
        &[
            "@id",
            "@type",
            "permission",
            "prohibition",
            "obligation",
            "action",
            "constraint",
            "leftOperand",
            "operator",
            "rightOperand",
            "and",
            "or",
            "xone",
            "duty",
            "target",
            "timestamp",
            "x",
        ][..],
    );
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        prop::sample::select(
            &[
                "Offer",
                "Agreement",
                "use",
                "spatial",
                "eq",
                "isAnyOf",
                "EU",
                "FR",
                "2026-01-01T00:00:00Z",
                "P1D",
                "",
                "💥"
            ][..]
        )
        .prop_map(|s| json!(s)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((keys.clone(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
        ]
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Properties
// ---------------------------------------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    /// parse∘write is the identity on policies, and write∘parse on well-formed compact JSON.
    #[test]
    fn parse_then_write_is_identity(v in policy_json()) {
        let p = Policy::from_json(&v).map_err(|e| TestCaseError::fail(format!("{e}\n{v:#}")))?;
        prop_assert_eq!(&p.to_json(), &v);
        prop_assert_eq!(Policy::from_json(&p.to_json()), Ok(p));
    }

    /// Bad input never panics; what parses round-trips.
    #[test]
    fn arbitrary_json_never_panics(v in arbitrary_json()) {
        for p in [Policy::from_json(&v), Policy::from_peer_json(&v)].into_iter().flatten() {
            prop_assert_eq!(Policy::from_peer_json(&p.to_json()), Ok(p.clone()));
            let _ = passerelle_policy::describe(&p);
        }
        let mut wrapped = json!({"@id": "urn:x", "@type": "Offer", "permission": [{"action": "use", "constraint": [v.clone()]}]});
        let _ = Policy::from_json(&wrapped);
        wrapped["permission"][0]["constraint"][0] = json!({"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": v});
        let _ = Policy::from_json(&wrapped);
    }

    /// The decision agrees with its outcome and explanation, for any policy and request.
    #[test]
    fn evaluation_is_consistent(v in policy_json(), ctx in context()) {
        let p = Policy::from_json(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let d = evaluate(&p, &ctx);
        prop_assert_eq!(d.permitted, matches!(d.outcome, Outcome::Permitted { .. }));
        let roots = d.explanation.roots().count();
        prop_assert!(roots >= p.permissions().len() + p.prohibitions().len());
        if let Outcome::Permitted { permission } = d.outcome {
            let node = d.explanation.roots().find(|(_, n)| matches!(n.subject,
                passerelle_policy::Subject::Rule { kind: passerelle_policy::RuleKind::Permission, index, .. } if index == permission));
            prop_assert_eq!(node.map(|(_, n)| n.truth), Some(Truth::Holds));
        }
        prop_assert!(!d.to_string().is_empty());
    }

    /// Narrowing never widens: when `narrows` accepts a request, every context it permits, the offer permits.
    #[test]
    fn narrowing_never_widens(offered in policy_json(), other in policy_json(), extra in constraint(),
                              prohibition in rule(PROHIBITED_ACTIONS, 1), choice in 0usize..5,
                              contexts in prop::collection::vec(context(), 48)) {
        let offer = Policy::from_json(&offered).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut req = offered.clone();
        match choice {
            // Add a constraint to the first permission.
            0 => {
                let list = req["permission"][0]["constraint"].as_array().cloned().unwrap_or_default();
                let mut list = list;
                list.push(extra);
                req["permission"][0]["constraint"] = json!(list);
            }
            // Add a prohibition.
            1 => {
                let mut list = req["prohibition"].as_array().cloned().unwrap_or_default();
                list.push(prohibition);
                req["prohibition"] = json!(list);
            }
            // Keep only the first permission.
            2 => {
                let first = req["permission"][0].clone();
                req["permission"] = json!([first]);
            }
            // Wrap a permission's constraints into an `and` with an extra one.
            3 => {
                let list = req["permission"][0]["constraint"].as_array().cloned().unwrap_or_default();
                let members: Vec<Value> = std::iter::once(extra).chain(list).collect();
                req["permission"][0]["constraint"] = json!([{ "and": members }]);
            }
            // An unrelated policy: only soundness is checked.
            _ => req = other,
        }
        let requested = Policy::from_json(&req).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let verdict = narrows(&requested, &offer);
        if choice < 4 {
            prop_assert_eq!(&verdict, &Ok(()), "a narrowing edit must be recognised:\nrequested {:#}\noffered {:#}", req, offered);
        }
        if verdict.is_ok() {
            for ctx in &contexts {
                if evaluate(&requested, ctx).permitted {
                    prop_assert!(evaluate(&offer, ctx).permitted,
                        "requested permits but the offer denies {:?}\nrequested {:#}\noffered {:#}", ctx, req, offered);
                }
            }
        }
    }

    /// Narrowing judged constraint by constraint on the same operand — the place where a wrong containment test
    /// would let a wider request through: whatever `narrows` accepts must not permit more than the offer.
    #[test]
    fn narrowing_is_sound_per_operand(
        (offered_c, requested_c, other_c) in (0..FAMILIES).prop_flat_map(|k| (family(k), family(k), family(k))),
        shape in 0usize..4,
        contexts in prop::collection::vec(context(), 64),
    ) {
        let (offered_cs, requested_cs) = match shape {
            0 => (json!([offered_c]), json!([requested_c])),
            1 => (json!([offered_c, other_c]), json!([requested_c, other_c])),
            2 => (json!([{"or": [offered_c, other_c]}]), json!([requested_c])),
            _ => (json!([offered_c]), json!([{"or": [requested_c, other_c]}])),
        };
        let wrap = |cs: Value| json!({"@id": "urn:o", "@type": "Offer", "target": "urn:d",
            "permission": [{"action": "use", "constraint": cs}]});
        let offer = Policy::from_json(&wrap(offered_cs.clone())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let requested = Policy::from_json(&wrap(requested_cs.clone())).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if narrows(&requested, &offer).is_ok() {
            for ctx in &contexts {
                if evaluate(&requested, ctx).permitted {
                    prop_assert!(evaluate(&offer, ctx).permitted,
                        "accepted {} as narrowing {} but it permits {:?}", requested_cs, offered_cs, ctx);
                }
            }
        }
        // Reflexivity: a constraint set always narrows itself.
        prop_assert_eq!(narrows(&offer, &offer), Ok(()));
    }

    /// Our allocation-free range matching agrees with the media crate's RFC 4647 matching.
    #[test]
    fn language_matching_agrees_with_media(tag in pick(TAGS), range in pick(RANGES)) {
        let p = Policy::from_json(&json!({"@id": "urn:x", "@type": "Set", "permission": [{"action": "use",
            "constraint": [{"leftOperand": "language", "operator": "eq", "rightOperand": range}]}]})).unwrap();
        let (t, r) = (LanguageTag::parse(tag).unwrap(), LanguageTag::parse(range).unwrap());
        let ctx = RequestContext::new(Action::Use, datetime!(2026-01-01 0:00 UTC)).with_language(t.clone());
        prop_assert_eq!(evaluate(&p, &ctx).permitted, t.matches_range(&r));
    }
}
