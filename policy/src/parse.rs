//! Reading a policy from DSP 2025-1 compact JSON-LD, validating everything at definition time.
//!
//! Members are matched by their compact name, their `odrl:` prefixed form or their full ODRL IRI. Members outside
//! ODRL (e.g. `@context`, `dct:title`) are kept verbatim; ODRL members we do not implement (`inheritFrom`,
//! `refinement`, `remedy`…) are errors, because ignoring them would change what the policy means.

use serde_json::{Map, Value};

use crate::check::{Check, compile};
use crate::error::{PolicyError, Problem, index, join, kind_of};
use crate::model::{
    AtomicConstraint, Constraint, LeftOperand, LogicalConstraint, LogicalOp, Operator, Policy, PolicyType, Rule,
    RuleKind,
};
use crate::term::{self, Ns};
use crate::vocab::action::Action;

/// ODRL 2.2 properties that change a policy's meaning but that Passerelle does not implement.
const UNSUPPORTED_ODRL: &[(&str, &str)] = &[
    ("uid", "DSP 2025-1 names a policy with `@id`"),
    ("inheritFrom", "policy inheritance is not supported; write the inherited rules into the policy"),
    ("inheritAllowed", "policy inheritance is not supported"),
    ("refinement", "refinements are not supported; express the condition as a constraint of the rule"),
    ("remedy", "remedies are not supported"),
    ("consequence", "consequences of unfulfilled duties are not supported"),
    ("failure", "failure rules are not supported"),
    ("relation", "rule relations are not supported"),
    ("function", "party functions other than assigner/assignee are not supported"),
    ("rightOperandReference", "right operand references are not supported; give the value in `rightOperand`"),
    ("dataType", "give the datatype on the right operand: `{\"@value\": …, \"@type\": \"xsd:…\"}`"),
    ("unit", "units are not supported"),
    ("status", "constraint status is not supported"),
    ("action", "a policy-level action is not supported; put the action on each rule"),
    ("constraint", "a policy-level constraint is not supported; put constraints on rules"),
    ("duty", "at policy level duties are written as `obligation`"),
    ("hasPolicy", "nested policies are not supported"),
];

/// How a member name is recognised: `name`, `odrl:name` or the ODRL IRI.
fn odrl_name(key: &str) -> Option<&str> {
    match term::split(key) {
        (Ns::Bare | Ns::Odrl, name) => Some(name),
        _ => None,
    }
}

fn is_odrl_member(key: &str) -> bool {
    matches!(term::split(key).0, Ns::Odrl)
}

struct Parser {
    peer: bool,
}

pub(crate) fn parse_policy(v: &Value, peer: bool) -> Result<Policy, PolicyError> {
    Parser { peer }.policy(v)
}

fn as_object<'a>(v: &'a Value, path: &str, what: &'static str) -> Result<&'a Map<String, Value>, PolicyError> {
    v.as_object().ok_or_else(|| PolicyError::new(path, Problem::WrongType { expected: what, found: kind_of(v) }))
}

fn as_string(v: &Value, path: &str) -> Result<String, PolicyError> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Ok(s.clone()),
        Value::String(_) => Err(PolicyError::new(path, Problem::Empty { what: "this string" })),
        other => Err(PolicyError::new(path, Problem::WrongType { expected: "a string", found: kind_of(other) })),
    }
}

/// A node reference: an IRI string or `{"@id": "…"}` (other members would be lost, so they are refused).
fn as_reference(v: &Value, path: &str) -> Result<String, PolicyError> {
    match v {
        Value::Object(m) => match (m.get("@id"), m.len()) {
            (Some(id), 1) => as_string(id, &join(path, "@id")),
            (Some(id), 2) if m.contains_key("@type") => as_string(id, &join(path, "@id")),
            _ => Err(PolicyError::new(
                path,
                Problem::WrongType { expected: "an IRI string or {\"@id\": IRI}", found: "an object".into() },
            )),
        },
        other => as_string(other, path),
    }
}

fn as_array<'a>(v: &'a Value, path: &str) -> Result<&'a Vec<Value>, PolicyError> {
    v.as_array().ok_or_else(|| PolicyError::new(path, Problem::WrongType { expected: "an array", found: kind_of(v) }))
}

impl Parser {
    fn policy(&self, v: &Value) -> Result<Policy, PolicyError> {
        let obj = as_object(v, "", "a policy object")?;
        let type_value = obj
            .get("@type")
            .ok_or_else(|| PolicyError::new("@type", Problem::Missing { hint: "`Offer`, `Agreement` or `Set`" }))?;
        let type_text = as_string(type_value, "@type")?;
        let policy_type = PolicyType::parse(&type_text)
            .ok_or_else(|| PolicyError::new("@type", Problem::UnknownPolicyType { value: type_text.clone() }))?;
        let id = as_string(
            obj.get("@id")
                .ok_or_else(|| PolicyError::new("@id", Problem::Missing { hint: "the policy identifier" }))?,
            "@id",
        )?;
        let mut policy = Policy::new(policy_type, &id);
        for (key, value) in obj {
            match key.as_str() {
                "@type" | "@id" => {}
                "timestamp" => {
                    let t = as_string(value, "timestamp")?;
                    crate::lexical::parse_datetime(&t).map_err(|e| PolicyError::bad_right("timestamp", e))?;
                    policy.timestamp = Some(t);
                }
                _ => match odrl_name(key) {
                    Some("profile") => match value {
                        Value::Array(items) => {
                            policy.profile_is_list = true;
                            for (i, p) in items.iter().enumerate() {
                                policy.profiles.push(as_reference(p, &index(key, i))?);
                            }
                        }
                        other => policy.profiles.push(as_reference(other, key)?),
                    },
                    Some("target") => policy.target = Some(as_reference(value, key)?),
                    Some("assigner") => policy.assigner = Some(as_reference(value, key)?),
                    Some("assignee") => policy.assignee = Some(as_reference(value, key)?),
                    Some("conflict") => {
                        let c = as_reference(value, key)?;
                        match term::split(&c) {
                            (Ns::Bare | Ns::Odrl, "prohibit") => policy.conflict = Some(c),
                            _ => {
                                return Err(PolicyError::new(
                                    key,
                                    Problem::Unsupported {
                                        member: format!("conflict = {c}"),
                                        why: "Passerelle resolves conflicts with `prohibit` (prohibitions override \
                                              permissions); `perm` and `invalid` are not supported"
                                            .into(),
                                    },
                                ));
                            }
                        }
                    }
                    Some("permission") => {
                        policy.permissions = self.rules(value, key, RuleKind::Permission)?;
                    }
                    Some("prohibition") => {
                        policy.prohibitions = self.rules(value, key, RuleKind::Prohibition)?;
                    }
                    Some("obligation") => policy.obligations = self.rules(value, key, RuleKind::Duty)?,
                    Some(name) if is_odrl_member(key) || UNSUPPORTED_ODRL.iter().any(|(n, _)| *n == name) => {
                        let why = UNSUPPORTED_ODRL
                            .iter()
                            .find(|(n, _)| *n == name)
                            .map(|(_, w)| (*w).to_string())
                            .unwrap_or_else(|| "this ODRL member is not part of what Passerelle evaluates".into());
                        return Err(PolicyError::new(key, Problem::Unsupported { member: key.clone(), why }));
                    }
                    _ => {
                        policy.extra.insert(key.clone(), value.clone());
                    }
                },
            }
        }
        if policy.permissions.is_empty() && policy.prohibitions.is_empty() {
            return Err(PolicyError::new("", Problem::NoRules));
        }
        if policy_type == PolicyType::Agreement {
            let required = [
                ("target", policy.target.is_none(), "the dataset the agreement is about"),
                ("assigner", policy.assigner.is_none(), "the provider's participant id"),
                ("assignee", policy.assignee.is_none(), "the consumer's participant id"),
                ("timestamp", policy.timestamp.is_none(), "when the agreement was made (DSP 2025-1 requires it)"),
            ];
            if let Some((name, _, hint)) = required.iter().find(|(_, missing, _)| *missing) {
                return Err(PolicyError::new(name, Problem::Missing { hint }));
            }
        }
        Ok(policy)
    }

    fn rules(&self, v: &Value, path: &str, kind: RuleKind) -> Result<Vec<Rule>, PolicyError> {
        let items = as_array(v, path)?;
        if items.is_empty() {
            return Err(PolicyError::new(
                path,
                Problem::Empty { what: "a rule list (the DSP schema requires at least one item; omit the member)" },
            ));
        }
        items.iter().enumerate().map(|(i, r)| self.rule(r, &index(path, i), kind)).collect()
    }

    fn rule(&self, v: &Value, path: &str, kind: RuleKind) -> Result<Rule, PolicyError> {
        let obj = as_object(v, path, "a rule object")?;
        let action_value = obj
            .get("action")
            .or_else(|| obj.iter().find(|(k, _)| odrl_name(k) == Some("action")).map(|(_, v)| v))
            .ok_or_else(|| {
                PolicyError::new(&join(path, "action"), Problem::Missing { hint: "what the rule is about, e.g. `use`" })
            })?;
        let apath = join(path, "action");
        let action_written = match action_value {
            Value::Object(m) if m.contains_key("refinement") || m.contains_key("rdf:value") => {
                return Err(PolicyError::new(
                    &apath,
                    Problem::Unsupported {
                        member: "refinement".into(),
                        why: "action refinements are not supported; express the condition as a constraint of the rule"
                            .into(),
                    },
                ));
            }
            other => as_reference(other, &apath)?,
        };
        let action = Action::parse(&action_written);
        if action.is_none() && !self.peer {
            return Err(PolicyError::new(&apath, Problem::UnknownAction { value: action_written }));
        }
        let mut rule =
            Rule { action, action_written, constraints: Vec::new(), duties: Vec::new(), id: None, type_written: None };
        for (key, value) in obj {
            let member = join(path, key);
            match key.as_str() {
                "@id" => rule.id = Some(as_string(value, &member)?),
                "@type" => {
                    let t = as_string(value, &member)?;
                    let expected = match kind {
                        RuleKind::Permission => "Permission",
                        RuleKind::Prohibition => "Prohibition",
                        RuleKind::Duty => "Duty",
                    };
                    if odrl_name(&t) != Some(expected) {
                        return Err(PolicyError::new(
                            &member,
                            Problem::Invalid {
                                reason: format!("`{t}` in a {} list; expected `{expected}`", kind.member()),
                            },
                        ));
                    }
                    rule.type_written = Some(t);
                }
                _ => match odrl_name(key) {
                    Some("action") => {}
                    Some("constraint") => rule.constraints = self.constraints(value, &member)?,
                    Some("duty") if kind == RuleKind::Permission => {
                        rule.duties = self.rules(value, &member, RuleKind::Duty)?;
                    }
                    Some(name @ ("target" | "assigner" | "assignee")) => {
                        return Err(PolicyError::new(
                            &member,
                            Problem::Unsupported {
                                member: name.into(),
                                why: "rule-level parties and assets are not supported; set them on the policy".into(),
                            },
                        ));
                    }
                    _ => {
                        let allowed = if kind == RuleKind::Permission {
                            "action, constraint, duty"
                        } else {
                            "action, constraint"
                        };
                        let why = UNSUPPORTED_ODRL
                            .iter()
                            .find(|(n, _)| Some(*n) == odrl_name(key))
                            .map(|(_, w)| (*w).to_string())
                            .unwrap_or_else(|| format!("a {} may only hold {allowed}, @id, @type", kind.member()));
                        return Err(PolicyError::new(&member, Problem::Unsupported { member: key.clone(), why }));
                    }
                },
            }
        }
        Ok(rule)
    }

    fn constraints(&self, v: &Value, path: &str) -> Result<Vec<Constraint>, PolicyError> {
        let items = as_array(v, path)?;
        items.iter().enumerate().map(|(i, c)| self.constraint(c, &index(path, i))).collect()
    }

    fn constraint(&self, v: &Value, path: &str) -> Result<Constraint, PolicyError> {
        let obj = as_object(v, path, "a constraint object")?;
        let logical: Vec<(&String, LogicalOp)> = obj
            .keys()
            .filter_map(|k| {
                let name = odrl_name(k)?;
                LogicalOp::ALL.iter().find(|op| op.as_str() == name).map(|op| (k, *op))
            })
            .collect();
        if !logical.is_empty() {
            return self.logical(obj, path, &logical);
        }
        let mut left = None;
        let mut operator = None;
        let mut right = None;
        for (key, value) in obj {
            let member = join(path, key);
            match (key.as_str(), odrl_name(key)) {
                ("@id", _) => {
                    return Err(PolicyError::new(
                        &member,
                        Problem::Unsupported {
                            member: "@id".into(),
                            why: "constraint identifiers are not kept; constraints are identified by position".into(),
                        },
                    ));
                }
                ("@type", _) => {
                    let t = as_string(value, &member)?;
                    if odrl_name(&t) != Some("Constraint") {
                        return Err(PolicyError::new(
                            &member,
                            Problem::Invalid { reason: format!("`{t}`: an atomic constraint has @type `Constraint`") },
                        ));
                    }
                }
                (_, Some("leftOperand")) => left = Some((key, as_reference(value, &member)?)),
                (_, Some("operator")) => operator = Some((key, as_reference(value, &member)?)),
                (_, Some("rightOperand")) => right = Some(value),
                _ => {
                    let why = UNSUPPORTED_ODRL
                        .iter()
                        .find(|(n, _)| Some(*n) == odrl_name(key))
                        .map(|(_, w)| (*w).to_string())
                        .unwrap_or_else(|| "a constraint holds leftOperand, operator and rightOperand".into());
                    return Err(PolicyError::new(&member, Problem::Unsupported { member: key.clone(), why }));
                }
            }
        }
        let (_, left_written) = left.ok_or_else(|| {
            PolicyError::new(&join(path, "leftOperand"), Problem::Missing { hint: "e.g. `spatial`, `dateTime`" })
        })?;
        let (_, operator_written) = operator.ok_or_else(|| {
            PolicyError::new(&join(path, "operator"), Problem::Missing { hint: "e.g. `eq`, `isAnyOf`" })
        })?;
        let right = right.ok_or_else(|| {
            PolicyError::new(&join(path, "rightOperand"), Problem::Missing { hint: "the value compared with" })
        })?;
        let left_operand = LeftOperand::parse(&left_written);
        let op = Operator::parse(&operator_written);
        let check = match (left_operand, op) {
            (Some(l), Some(o)) => compile(l, o, right, path)?,
            (None, _) if !self.peer => {
                return Err(PolicyError::new(
                    &join(path, "leftOperand"),
                    Problem::UnknownLeftOperand { value: left_written, profile: term::PROFILE_NS },
                ));
            }
            (_, None) if !self.peer => {
                return Err(PolicyError::new(
                    &join(path, "operator"),
                    Problem::UnknownOperator { value: operator_written },
                ));
            }
            // Peer policy: a condition we cannot read is kept and fails closed.
            _ => Check::Foreign,
        };
        Ok(Constraint::Atomic(AtomicConstraint {
            left: left_operand,
            left_written,
            operator: op,
            operator_written,
            right: right.clone(),
            check,
        }))
    }

    fn logical(
        &self,
        obj: &Map<String, Value>,
        path: &str,
        found: &[(&String, LogicalOp)],
    ) -> Result<Constraint, PolicyError> {
        if found.len() != 1 {
            let names: Vec<&str> = found.iter().map(|(k, _)| k.as_str()).collect();
            return Err(PolicyError::new(path, Problem::LogicalShape { found: names.join(", ") }));
        }
        let (key, op) = found[0];
        for (k, value) in obj {
            if k == key {
                continue;
            }
            match k.as_str() {
                "@type" => {
                    let t = as_string(value, &join(path, k))?;
                    if odrl_name(&t) != Some("LogicalConstraint") && odrl_name(&t) != Some("Constraint") {
                        return Err(PolicyError::new(
                            &join(path, k),
                            Problem::Invalid {
                                reason: format!("`{t}`: a logical constraint has @type `LogicalConstraint`"),
                            },
                        ));
                    }
                }
                _ => {
                    return Err(PolicyError::new(
                        &join(path, k),
                        Problem::Unsupported {
                            member: k.clone(),
                            why: format!("a logical constraint holds only `{key}` and its constraint list"),
                        },
                    ));
                }
            }
        }
        let member = join(path, key);
        let items = as_array(&obj[key.as_str()], &member)?;
        if items.is_empty() {
            return Err(PolicyError::new(&member, Problem::Empty { what: "a logical constraint's list" }));
        }
        let constraints =
            items.iter().enumerate().map(|(i, c)| self.constraint(c, &index(&member, i))).collect::<Result<_, _>>()?;
        Ok(Constraint::Logical(LogicalConstraint { op, op_written: key.clone(), constraints }))
    }
}

#[cfg(test)]
mod tests;
