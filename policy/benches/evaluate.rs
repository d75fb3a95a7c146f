//! Evaluations per second of a realistic rights policy: a territory group with an exclusion, a window, a license
//! type and a language range (5 constraints), plus a prohibition on AI training.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use passerelle_media::{LanguageTag, Territory};
use passerelle_policy::{Action, Channel, Policy, Purpose, RequestContext, Role, evaluate};
use serde_json::json;
use time::macros::datetime;

fn rights_policy() -> Policy {
    let v = json!({
        "@id": "urn:offer:bench",
        "@type": "Offer",
        "target": "urn:dataset:work-1",
        "permission": [{
            "action": "use",
            "constraint": [
                {"leftOperand": "spatial", "operator": "isAnyOf", "rightOperand": ["EU", "CH"]},
                {"leftOperand": "spatial", "operator": "isNoneOf", "rightOperand": ["DE"]},
                {"leftOperand": "dateTime", "operator": "gteq", "rightOperand": "2026-01-01T00:00:00Z"},
                {"leftOperand": "dateTime", "operator": "lt", "rightOperand": "2027-01-01T00:00:00Z"},
                {"leftOperand": "https://w3id.org/passerelle/odrl/channel", "operator": "isAnyOf", "rightOperand": ["SVOD", "AVOD"]},
                {"leftOperand": "language", "operator": "isAnyOf", "rightOperand": ["fr", "es"]}
            ]
        }],
        "prohibition": [{
            "action": "use",
            "constraint": [{"leftOperand": "purpose", "operator": "isA", "rightOperand": "ai-training"}]
        }]
    });
    match Policy::from_json(&v) {
        Ok(p) => p,
        Err(e) => panic!("benchmark policy must parse: {e}"),
    }
}

fn bench(c: &mut Criterion) {
    let policy = rights_policy();
    let parse = |t: &str| Territory::parse(t).unwrap_or_else(|e| panic!("{e}"));
    let ctx = RequestContext::new(Action::Play, datetime!(2026-06-15 20:00 UTC))
        .with_participant("did:web:broadcaster.example", Some(Role::Broadcaster))
        .with_territory(parse("FR"))
        .with_channel(Channel::Svod)
        .with_purpose(Purpose::Svod)
        .with_language(LanguageTag::parse("es-419").unwrap_or_else(|e| panic!("{e}")));
    let denied = ctx.clone().with_territory(parse("DE"));
    assert!(evaluate(&policy, &ctx).permitted);
    assert!(!evaluate(&policy, &denied).permitted);

    let mut group = c.benchmark_group("evaluate");
    group.throughput(Throughput::Elements(1));
    group
        .bench_function("rights_policy_permit", |b| b.iter(|| evaluate(black_box(&policy), black_box(&ctx)).permitted));
    group.bench_function("rights_policy_deny", |b| {
        b.iter(|| evaluate(black_box(&policy), black_box(&denied)).permitted)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
