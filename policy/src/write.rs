//! Writing a policy back as DSP 2025-1 compact JSON-LD. Terms are written with the spelling they were read with,
//! right operands verbatim, so a policy read from a peer comes back out byte-for-byte equivalent.

use serde_json::{Map, Value};

use crate::model::{Constraint, Policy, Rule};

pub(crate) fn policy_to_json(p: &Policy) -> Value {
    let mut out = Map::new();
    // `@context` first when present: it reads naturally and JSON-LD processors do not care about order.
    if let Some(ctx) = p.extra.get("@context") {
        out.insert("@context".into(), ctx.clone());
    }
    out.insert("@id".into(), Value::String(p.id.clone()));
    out.insert("@type".into(), Value::String(p.policy_type.as_str().into()));
    if !p.profiles.is_empty() {
        let value = if p.profile_is_list || p.profiles.len() > 1 {
            Value::Array(p.profiles.iter().cloned().map(Value::String).collect())
        } else {
            Value::String(p.profiles[0].clone())
        };
        out.insert("profile".into(), value);
    }
    let refs =
        [("target", &p.target), ("assigner", &p.assigner), ("assignee", &p.assignee), ("timestamp", &p.timestamp)];
    for (key, value) in refs {
        if let Some(v) = value {
            out.insert(key.into(), Value::String(v.clone()));
        }
    }
    if let Some(c) = &p.conflict {
        out.insert("conflict".into(), Value::String(c.clone()));
    }
    for (key, rules) in
        [("permission", &p.permissions), ("prohibition", &p.prohibitions), ("obligation", &p.obligations)]
    {
        if !rules.is_empty() {
            out.insert(key.into(), Value::Array(rules.iter().map(rule_to_json).collect()));
        }
    }
    for (k, v) in &p.extra {
        if k != "@context" {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

fn rule_to_json(r: &Rule) -> Value {
    let mut out = Map::new();
    if let Some(id) = &r.id {
        out.insert("@id".into(), Value::String(id.clone()));
    }
    if let Some(t) = &r.type_written {
        out.insert("@type".into(), Value::String(t.clone()));
    }
    out.insert("action".into(), Value::String(r.action_written.clone()));
    if !r.constraints.is_empty() {
        out.insert("constraint".into(), Value::Array(r.constraints.iter().map(constraint_to_json).collect()));
    }
    if !r.duties.is_empty() {
        out.insert("duty".into(), Value::Array(r.duties.iter().map(rule_to_json).collect()));
    }
    Value::Object(out)
}

pub(crate) fn constraint_to_json(c: &Constraint) -> Value {
    let mut out = Map::new();
    match c {
        Constraint::Atomic(a) => {
            out.insert("leftOperand".into(), Value::String(a.left_written.clone()));
            out.insert("operator".into(), Value::String(a.operator_written.clone()));
            out.insert("rightOperand".into(), a.right.clone());
        }
        Constraint::Logical(l) => {
            out.insert(l.op_written.clone(), Value::Array(l.constraints.iter().map(constraint_to_json).collect()));
        }
    }
    Value::Object(out)
}
