//! Offer/agreement matching: does a consumer's requested policy equal or narrow the provider's offer?
//!
//! "Narrows" means: whatever the request permits, the offer permits too, and the request keeps every prohibition
//! and duty of the offer. The check is sound — when it says yes, no request context is permitted by the requested
//! policy and denied by the offer (a property test holds it to that) — but not complete: it may refuse exotic
//! rewrites (e.g. an `xone` restated differently) that are in fact narrower. It works on the compiled constraints:
//!
//! - every requested permission must be covered by an offered permission whose action covers it, whose every
//!   constraint is implied by the requested constraints, and whose duties the request keeps;
//! - every offered prohibition must be matched by a requested prohibition that covers at least as much;
//! - every policy-level obligation of the offer must be in the request.
//!
//! A constraint set implies a constraint when, per operand, the set of values it allows is contained in the set the
//! constraint allows (territory bitsets, vocabulary masks, integer intervals, language ranges), through `and`
//! (all), `or` (any) and case splits on disjunctions. An operand the request does not constrain implies nothing,
//! which also keeps "unknown" (the value missing from a request) sound.

use crate::check::{Check, LangMode, lang_within};
use crate::describe::constraint_phrase;
use crate::model::{AtomicConstraint, Constraint, LogicalOp, Policy, Rule};
use crate::vocab::territory::TerritorySet;

/// Why a requested policy does not narrow an offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("the request is about `{requested}` but the offer is about `{offered}`")]
    Target { requested: String, offered: String },
    #[error("the request names assigner `{requested}` but the offer comes from `{offered}`")]
    Assigner { requested: String, offered: String },
    #[error("requested permission[{index}] ({action}) asks for more than the offer gives: {why}")]
    PermissionNotCovered { index: usize, action: String, why: String },
    #[error("offered prohibition[{index}] ({action}) is missing from the request or weakened")]
    ProhibitionDropped { index: usize, action: String },
    #[error("offered obligation[{index}] ({action}) is missing from the request")]
    ObligationDropped { index: usize, action: String },
}

/// Checks that `requested` equals or narrows `offered`.
pub fn narrows(requested: &Policy, offered: &Policy) -> Result<(), Mismatch> {
    match (&requested.target, &offered.target) {
        (Some(r), Some(o)) if r != o => {
            return Err(Mismatch::Target { requested: r.clone(), offered: o.clone() });
        }
        (None, Some(o)) => return Err(Mismatch::Target { requested: "(no target)".into(), offered: o.clone() }),
        _ => {}
    }
    if let (Some(r), Some(o)) = (&requested.assigner, &offered.assigner)
        && r != o
    {
        return Err(Mismatch::Assigner { requested: r.clone(), offered: o.clone() });
    }
    for (i, pr) in requested.permissions.iter().enumerate() {
        let mut why = None;
        let covered = offered.permissions.iter().enumerate().any(|(k, po)| match permission_covers(po, pr) {
            Ok(()) => true,
            Err(reason) => {
                if why.is_none() && reason.relevant {
                    why = Some(format!("offered permission[{k}] {}", reason.text));
                }
                false
            }
        });
        if !covered {
            return Err(Mismatch::PermissionNotCovered {
                index: i,
                action: pr.action_written.clone(),
                why: why.unwrap_or_else(|| format!("no offered permission covers `{}`", pr.action_written)),
            });
        }
    }
    for (j, po) in offered.prohibitions.iter().enumerate() {
        if !requested.prohibitions.iter().any(|pr| prohibition_covers(pr, po)) {
            return Err(Mismatch::ProhibitionDropped { index: j, action: po.action_written.clone() });
        }
    }
    for (k, o) in offered.obligations.iter().enumerate() {
        if !requested.obligations.iter().any(|r| same_rule(r, o)) {
            return Err(Mismatch::ObligationDropped { index: k, action: o.action_written.clone() });
        }
    }
    Ok(())
}

struct Reason {
    /// False when the offered permission is about another action (not worth reporting if another one is).
    relevant: bool,
    text: String,
}

fn permission_covers(po: &Rule, pr: &Rule) -> Result<(), Reason> {
    let (Some(ao), Some(ar)) = (po.action, pr.action) else {
        return Err(Reason { relevant: false, text: "has an action Passerelle does not understand".into() });
    };
    if !ao.covers(ar) {
        return Err(Reason { relevant: false, text: format!("is about `{ao}`, which does not cover `{ar}`") });
    }
    let requested: Vec<&Constraint> = pr.constraints.iter().collect();
    for c in &po.constraints {
        let mut budget = BUDGET;
        if !implies(&requested, c, &mut budget) {
            return Err(Reason {
                relevant: true,
                text: format!("requires that {}, which the request does not guarantee", constraint_phrase(c)),
            });
        }
    }
    for d in &po.duties {
        if !pr.duties.iter().any(|x| same_rule(x, d)) {
            return Err(Reason {
                relevant: true,
                text: format!("has duty `{}`, missing from the request", d.action_written),
            });
        }
    }
    Ok(())
}

/// `pr` forbids at least what `po` forbids.
fn prohibition_covers(pr: &Rule, po: &Rule) -> bool {
    let action_ok = match (pr.action, po.action) {
        // A prohibition on an action we do not understand is evaluated as covering every action.
        (None, _) => true,
        (Some(r), Some(o)) => r.covers(o),
        (Some(_), None) => false,
    };
    if !action_ok {
        return false;
    }
    let offered: Vec<&Constraint> = po.constraints.iter().collect();
    pr.constraints.iter().all(|c| {
        let mut budget = BUDGET;
        implies(&offered, c, &mut budget)
    })
}

fn same_rule(a: &Rule, b: &Rule) -> bool {
    let action_eq = match (a.action, b.action) {
        (Some(x), Some(y)) => x == y,
        (None, None) => a.action_written == b.action_written,
        _ => false,
    };
    action_eq
        && a.constraints.len() == b.constraints.len()
        && a.constraints.iter().zip(&b.constraints).all(|(x, y)| equivalent(x, y))
        && a.duties.len() == b.duties.len()
        && a.duties.iter().zip(&b.duties).all(|(x, y)| same_rule(x, y))
}

/// Same meaning: equal compiled checks on the same operand (so `EU` and `http://example.org/EU` agree), or for
/// constraints we do not understand, the same text.
fn equivalent(a: &Constraint, b: &Constraint) -> bool {
    match (a, b) {
        (Constraint::Atomic(x), Constraint::Atomic(y)) => {
            if x.left.is_none() || y.left.is_none() || x.check == Check::Foreign {
                x.left_written == y.left_written && x.operator_written == y.operator_written && x.right == y.right
            } else {
                x.left == y.left && x.check == y.check
            }
        }
        (Constraint::Logical(x), Constraint::Logical(y)) => {
            x.op == y.op
                && x.constraints.len() == y.constraints.len()
                && x.constraints.iter().zip(&y.constraints).all(|(p, q)| equivalent(p, q))
        }
        _ => false,
    }
}

/// Bounds the case splits on disjunctions so a hostile policy cannot make matching exponential; running out
/// answers "not shown to narrow", which is the safe answer.
const BUDGET: usize = 10_000;

fn flatten<'a>(set: &[&'a Constraint], out: &mut Vec<&'a Constraint>) {
    for c in set {
        match c {
            Constraint::Logical(l) if matches!(l.op, LogicalOp::And | LogicalOp::AndSequence) => {
                let inner: Vec<&Constraint> = l.constraints.iter().collect();
                flatten(&inner, out);
            }
            other => out.push(other),
        }
    }
}

/// Does the conjunction `set` imply `c`?
fn implies(set: &[&Constraint], c: &Constraint, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let mut flat = Vec::with_capacity(set.len());
    flatten(set, &mut flat);
    if flat.iter().any(|x| equivalent(x, c)) {
        return true;
    }
    let direct = match c {
        Constraint::Atomic(a) => atomic_implied(&flat, a),
        Constraint::Logical(l) => match l.op {
            LogicalOp::And | LogicalOp::AndSequence => l.constraints.iter().all(|x| implies(&flat, x, budget)),
            LogicalOp::Or => l.constraints.iter().any(|x| implies(&flat, x, budget)),
            // Only an equivalent xone (checked above) is accepted.
            LogicalOp::Xone => false,
        },
    };
    if direct {
        return true;
    }
    // Case split: (R ∧ (y1 ∨ … ∨ yn)) ⇒ c when every R ∧ yi ⇒ c. `xone` implies `or`, so it splits the same way.
    if let Some(pos) =
        flat.iter().position(|x| matches!(x, Constraint::Logical(l) if matches!(l.op, LogicalOp::Or | LogicalOp::Xone)))
    {
        let Constraint::Logical(split) = flat[pos] else { return false };
        let rest: Vec<&Constraint> = flat.iter().enumerate().filter(|(i, _)| *i != pos).map(|(_, x)| *x).collect();
        return split.constraints.iter().all(|y| {
            let mut branch = rest.clone();
            branch.push(y);
            implies(&branch, c, budget)
        });
    }
    false
}

/// The values an atomic constraint allows, in a form where intersection and containment are computable.
#[derive(Debug, Clone)]
enum Allowed {
    Territories(TerritorySet),
    Mask(u32),
    /// Disjoint closed integer intervals, sorted.
    Integers(Vec<(i128, i128)>),
    Languages(LangSet),
    Strings {
        values: Vec<String>,
        negate: bool,
    },
}

#[derive(Debug, Clone)]
enum LangSet {
    /// Every tag within at least one range.
    Within(Vec<String>),
    /// Every tag within none of the ranges.
    NotWithin(Vec<String>),
    /// Exactly these tags.
    Exact(Vec<String>),
}

fn integer_set(iv: &crate::check::Interval) -> Vec<(i128, i128)> {
    use crate::check::Interval;
    match *iv {
        Interval::Except(v) => vec![(i128::MIN, v.saturating_sub(1)), (v.saturating_add(1), i128::MAX)],
        Interval::Range { lo, hi } => {
            let lo = match lo {
                None => i128::MIN,
                Some((v, true)) => v,
                Some((v, false)) => v.saturating_add(1),
            };
            let hi = match hi {
                None => i128::MAX,
                Some((v, true)) => v,
                Some((v, false)) => v.saturating_sub(1),
            };
            if lo <= hi { vec![(lo, hi)] } else { Vec::new() }
        }
    }
}

fn allowed(a: &AtomicConstraint) -> Option<Allowed> {
    Some(match &a.check {
        Check::Territory(s) => Allowed::Territories(*s),
        Check::Purpose(m) | Check::Channel(m) | Check::Role(m) => Allowed::Mask(*m),
        Check::Instant(iv) | Check::Elapsed(iv) | Check::Count(iv) => Allowed::Integers(integer_set(iv)),
        Check::Language { ranges, mode } => {
            let tags: Vec<String> = ranges.iter().map(|r| r.as_str().to_string()).collect();
            Allowed::Languages(match mode {
                LangMode::AnyWithin => LangSet::Within(tags),
                LangMode::NoneWithin => LangSet::NotWithin(tags),
                LangMode::AllWithin => {
                    // The intersection of subtrees is the most specific range when they form a chain, else empty.
                    let deepest = tags.iter().max_by_key(|t| t.len()).cloned().unwrap_or_default();
                    if tags.iter().all(|t| lang_within(&deepest, t)) {
                        LangSet::Within(vec![deepest])
                    } else {
                        LangSet::Exact(Vec::new())
                    }
                }
                LangMode::Contains => {
                    // Request tags that have the operand within them: its prefixes at subtag boundaries.
                    let operand = tags.first().cloned().unwrap_or_default();
                    let mut prefixes: Vec<String> =
                        operand.match_indices('-').map(|(i, _)| operand[..i].to_string()).collect();
                    prefixes.push(operand);
                    LangSet::Exact(prefixes)
                }
            })
        }
        Check::Recipient { values, negate } | Check::Event { values, negate } => {
            Allowed::Strings { values: values.clone(), negate: *negate }
        }
        Check::Foreign => return None,
    })
}

fn intersect_integers(a: &[(i128, i128)], b: &[(i128, i128)]) -> Vec<(i128, i128)> {
    let mut out = Vec::new();
    for &(al, ah) in a {
        for &(bl, bh) in b {
            let (l, h) = (al.max(bl), ah.min(bh));
            if l <= h {
                out.push((l, h));
            }
        }
    }
    out.sort();
    out
}

fn lang_overlaps(a: &str, b: &str) -> bool {
    lang_within(a, b) || lang_within(b, a)
}

/// Intersection of two allowed-sets on the same operand. For languages the result may be larger than the true
/// intersection (holes are dropped), which keeps the containment test that follows sound.
fn intersect(a: Allowed, b: &Allowed) -> Allowed {
    match (a, b) {
        (Allowed::Territories(x), Allowed::Territories(y)) => Allowed::Territories(x.intersection(y)),
        (Allowed::Mask(x), Allowed::Mask(y)) => Allowed::Mask(x & y),
        (Allowed::Integers(x), Allowed::Integers(y)) => Allowed::Integers(intersect_integers(&x, y)),
        (Allowed::Strings { values: x, negate: nx }, Allowed::Strings { values: y, negate: ny }) => match (nx, ny) {
            (false, false) => {
                Allowed::Strings { values: x.into_iter().filter(|v| y.contains(v)).collect(), negate: false }
            }
            (false, true) => {
                Allowed::Strings { values: x.into_iter().filter(|v| !y.contains(v)).collect(), negate: false }
            }
            (true, false) => {
                Allowed::Strings { values: y.iter().filter(|v| !x.contains(v)).cloned().collect(), negate: false }
            }
            (true, true) => {
                let mut all = x;
                all.extend(y.iter().cloned());
                all.sort();
                all.dedup();
                Allowed::Strings { values: all, negate: true }
            }
        },
        (Allowed::Languages(x), Allowed::Languages(y)) => Allowed::Languages(intersect_langs(x, y)),
        // Different operands never meet here; keep the first (an over-approximation, so still sound).
        (x, _) => x,
    }
}

fn intersect_langs(a: LangSet, b: &LangSet) -> LangSet {
    use LangSet::*;
    match (a, b) {
        (Exact(x), other) => Exact(x.into_iter().filter(|t| lang_member(t, other)).collect()),
        (other, Exact(y)) => Exact(y.iter().filter(|t| lang_member(t, &other)).cloned().collect()),
        (Within(x), Within(y)) => {
            let mut out = Vec::new();
            for p in &x {
                for q in y {
                    if lang_within(p, q) {
                        out.push(p.clone());
                    } else if lang_within(q, p) {
                        out.push(q.clone());
                    }
                }
            }
            Within(out)
        }
        (Within(x), NotWithin(y)) => Within(x.into_iter().filter(|p| !y.iter().any(|q| lang_within(p, q))).collect()),
        (NotWithin(x), Within(y)) => {
            Within(y.iter().filter(|p| !x.iter().any(|q| lang_within(p, q))).cloned().collect())
        }
        (NotWithin(x), NotWithin(y)) => {
            let mut all = x;
            all.extend(y.iter().cloned());
            NotWithin(all)
        }
    }
}

fn lang_member(tag: &str, set: &LangSet) -> bool {
    match set {
        LangSet::Within(r) => r.iter().any(|x| lang_within(tag, x)),
        LangSet::NotWithin(r) => !r.iter().any(|x| lang_within(tag, x)),
        LangSet::Exact(e) => e.iter().any(|x| x.eq_ignore_ascii_case(tag)),
    }
}

fn lang_subset(a: &LangSet, b: &LangSet) -> bool {
    use LangSet::*;
    match (a, b) {
        (Exact(x), other) => x.iter().all(|t| lang_member(t, other)),
        (Within(x), _) if x.is_empty() => true,
        (Within(x), Within(y)) => x.iter().all(|p| y.iter().any(|q| lang_within(p, q))),
        (Within(x), NotWithin(y)) => x.iter().all(|p| !y.iter().any(|q| lang_overlaps(p, q))),
        (NotWithin(x), NotWithin(y)) => y.iter().all(|q| x.iter().any(|p| lang_within(q, p))),
        (Within(_), Exact(_)) | (NotWithin(_), Within(_)) | (NotWithin(_), Exact(_)) => false,
    }
}

fn subset(a: &Allowed, b: &Allowed) -> bool {
    match (a, b) {
        (Allowed::Territories(x), Allowed::Territories(y)) => x.is_subset(y),
        (Allowed::Mask(x), Allowed::Mask(y)) => x & !y == 0,
        (Allowed::Integers(x), Allowed::Integers(y)) => {
            x.iter().all(|&(l, h)| y.iter().any(|&(yl, yh)| yl <= l && h <= yh))
        }
        (Allowed::Strings { values: x, negate: nx }, Allowed::Strings { values: y, negate: ny }) => match (nx, ny) {
            (false, false) => x.iter().all(|v| y.contains(v)),
            (false, true) => x.iter().all(|v| !y.contains(v)),
            (true, false) => false,
            (true, true) => y.iter().all(|v| x.contains(v)),
        },
        (Allowed::Languages(x), Allowed::Languages(y)) => lang_subset(x, y),
        _ => false,
    }
}

fn atomic_implied(set: &[&Constraint], c: &AtomicConstraint) -> bool {
    let Some(left) = c.left else { return false };
    let Some(target) = allowed(c) else { return false };
    let mut acc: Option<Allowed> = None;
    for x in set {
        if let Constraint::Atomic(a) = x
            && a.left == Some(left)
            && let Some(al) = allowed(a)
        {
            acc = Some(match acc {
                None => al,
                Some(prev) => intersect(prev, &al),
            });
        }
    }
    // An operand the request leaves open implies nothing about it.
    acc.is_some_and(|a| subset(&a, &target))
}

#[cfg(test)]
mod tests;
