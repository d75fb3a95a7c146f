//! Deciding whether a request is permitted under a policy, and explaining why.
//!
//! Semantics:
//! - A rule governs a request when its action covers the requested one (`use` covers `play`).
//! - Constraints are three-valued: *holds*, *fails*, or *unknown* — the request does not carry the value (no
//!   territory given) or the condition is one we do not understand (peer policies). Logical constraints combine
//!   them with Kleene logic.
//! - A permission grants only when every constraint *holds*; a prohibition forbids unless some constraint *fails*.
//!   Unknown therefore never grants and never lifts a prohibition (fail closed).
//! - Prohibitions override permissions (ODRL conflict strategy `prohibit`).
//! - When permitted, the duties of the granting permission (the first one that holds) and the policy-level
//!   obligations whose constraints do not fail are returned as obligations the caller must fulfil. Policy-level
//!   obligations are returned on a denial too: they bind whether or not this request goes ahead.
//!
//! The explanation is a tree in one pre-sized arena, so an evaluation makes one allocation (two when there are
//! obligations) and no string work.

use std::fmt;

use passerelle_media::{LanguageTag, Territory};
use time::{Duration, OffsetDateTime};

use crate::check::{Check, LangMode, lang_within};
use crate::model::{Constraint, LeftOperand, LogicalOp, Policy, Rule, RuleKind};
use crate::vocab::action::Action;
use crate::vocab::{Channel, Purpose, Role};

/// What is being asked: who, what, when, where, how, why. Fields left `None` make constraints on them *unknown*.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestContext {
    /// The requesting participant's id (DID), from its verified credentials.
    pub participant_id: Option<String>,
    /// Its role, from its membership credential.
    pub role: Option<Role>,
    pub action: Action,
    pub at: OffsetDateTime,
    pub territory: Option<Territory>,
    /// The Avails license type the use falls under.
    pub channel: Option<Channel>,
    pub language: Option<LanguageTag>,
    pub purpose: Option<Purpose>,
    /// How many times the action was exercised under this policy before this request; `count` constraints are
    /// checked against `uses_so_far + 1`, the count this request would reach.
    pub uses_so_far: Option<u64>,
    /// Time elapsed since the first use (or whatever start the caller's agreement defines).
    pub elapsed: Option<Duration>,
    /// The event the request belongs to, if any.
    pub event: Option<String>,
}

impl RequestContext {
    /// A request to do `action` at `at`, with nothing else known yet.
    pub fn new(action: Action, at: OffsetDateTime) -> Self {
        RequestContext {
            participant_id: None,
            role: None,
            action,
            at,
            territory: None,
            channel: None,
            language: None,
            purpose: None,
            uses_so_far: None,
            elapsed: None,
            event: None,
        }
    }

    pub fn with_participant(mut self, id: &str, role: Option<Role>) -> Self {
        self.participant_id = Some(id.to_string());
        self.role = role;
        self
    }

    pub fn with_territory(mut self, t: Territory) -> Self {
        self.territory = Some(t);
        self
    }

    pub fn with_channel(mut self, c: Channel) -> Self {
        self.channel = Some(c);
        self
    }

    pub fn with_language(mut self, l: LanguageTag) -> Self {
        self.language = Some(l);
        self
    }

    pub fn with_purpose(mut self, p: Purpose) -> Self {
        self.purpose = Some(p);
        self
    }

    pub fn with_uses_so_far(mut self, n: u64) -> Self {
        self.uses_so_far = Some(n);
        self
    }

    pub fn with_elapsed(mut self, d: Duration) -> Self {
        self.elapsed = Some(d);
        self
    }

    pub fn with_event(mut self, e: &str) -> Self {
        self.event = Some(e.to_string());
        self
    }
}

/// Three-valued truth of a constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    Holds,
    Fails,
    /// The request lacks the value, or the condition is not understood.
    Unknown,
}

impl Truth {
    fn from_bool(b: bool) -> Truth {
        if b { Truth::Holds } else { Truth::Fails }
    }
}

/// The value of the request a constraint was compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Actual<'a> {
    /// The request does not carry this value.
    Missing,
    /// A logical constraint: its members carry the values.
    Combined,
    /// The constraint is not understood, so no value applies.
    NotUnderstood,
    Territory(&'a Territory),
    Instant(OffsetDateTime),
    Elapsed(Duration),
    /// The count this request would reach (`uses_so_far + 1`).
    Count(u64),
    Purpose(Purpose),
    Channel(Channel),
    Role(Role),
    Language(&'a LanguageTag),
    Participant(&'a str),
    Event(&'a str),
}

/// What a node of the explanation is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    /// A rule, with its position in its list, and whether its action covers the request. `of_permission` is set
    /// for a duty of a permission (`permission[p].duty[index]`) and `None` for top-level rules.
    Rule { kind: RuleKind, index: usize, of_permission: Option<usize>, rule: &'a Rule, action_covers: bool },
    /// A constraint, with its position in its parent's list and the value it was compared with.
    Constraint { index: usize, constraint: &'a Constraint, actual: Actual<'a> },
}

/// One node of the explanation tree.
#[derive(Debug, Clone, Copy)]
pub struct Node<'a> {
    pub subject: Subject<'a>,
    /// For a constraint, its truth; for a rule, the conjunction of its constraints (`Fails` when its action does
    /// not cover the request).
    pub truth: Truth,
    /// Depth in the tree (rules are 0).
    pub depth: usize,
    /// Index one past this node's subtree in the arena.
    end: usize,
}

/// The explanation tree: every rule considered, every constraint with the value it saw and its truth.
#[derive(Debug, Clone)]
pub struct Explanation<'a> {
    nodes: Vec<Node<'a>>,
}

impl<'a> Explanation<'a> {
    /// All nodes in depth-first order.
    pub fn nodes(&self) -> &[Node<'a>] {
        &self.nodes
    }

    /// Top-level nodes (the rules).
    pub fn roots(&self) -> Children<'_, 'a> {
        Children { nodes: &self.nodes, next: 0, end: self.nodes.len() }
    }

    /// Direct children of the node at `i`.
    pub fn children(&self, i: usize) -> Children<'_, 'a> {
        let end = self.nodes.get(i).map_or(i, |n| n.end);
        Children { nodes: &self.nodes, next: i + 1, end }
    }
}

/// Iterator over sibling nodes, yielding `(arena index, node)`.
pub struct Children<'e, 'a> {
    nodes: &'e [Node<'a>],
    next: usize,
    end: usize,
}

impl<'e, 'a> Iterator for Children<'e, 'a> {
    type Item = (usize, &'e Node<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let i = self.next;
        let node = self.nodes.get(i)?;
        self.next = node.end;
        Some((i, node))
    }
}

/// Why the decision came out as it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `permission[index]` holds and no prohibition applies.
    Permitted { permission: usize },
    /// `prohibition[index]` applies (prohibitions override permissions).
    Prohibited { prohibition: usize },
    /// No permission covers the requested action.
    NoPermissionForAction,
    /// Permissions cover the action but none has all its constraints holding.
    NoPermissionHolds,
}

/// Where a duty the caller must fulfil comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutySource {
    /// `permission[permission].duty[duty]`.
    Permission { permission: usize, duty: usize },
    /// Policy-level `obligation[index]`.
    Policy { index: usize },
}

/// A duty the caller must fulfil.
#[derive(Debug, Clone, Copy)]
pub struct Obligation<'a> {
    pub source: DutySource,
    pub duty: &'a Rule,
}

/// The answer to "may this request go ahead?".
#[derive(Debug, Clone)]
pub struct Decision<'a> {
    pub permitted: bool,
    pub outcome: Outcome,
    pub explanation: Explanation<'a>,
    pub obligations: Vec<Obligation<'a>>,
}

/// Evaluates `policy` for `ctx`. The decision borrows both (its explanation points into the policy and at the
/// request's values); render it with `Display` or read `outcome`/`obligations` to keep what you need.
pub fn evaluate<'a>(policy: &'a Policy, ctx: &'a RequestContext) -> Decision<'a> {
    let capacity = policy
        .permissions
        .iter()
        .chain(&policy.prohibitions)
        .chain(&policy.obligations)
        .map(|r| 1 + r.constraints.iter().map(Constraint::node_count).sum::<usize>() + r.duties.len())
        .sum();
    let mut ev = Evaluator { ctx, now: ctx.at.unix_timestamp_nanos(), nodes: Vec::with_capacity(capacity) };

    let mut prohibited = None;
    for (i, rule) in policy.prohibitions.iter().enumerate() {
        // Foreign actions may be anything, so a prohibition on one is taken to cover the request (fail closed).
        let covers = rule.action.is_none_or(|a| a.covers(ctx.action));
        let truth = ev.rule(RuleKind::Prohibition, i, None, rule, covers);
        if covers && truth != Truth::Fails && prohibited.is_none() {
            prohibited = Some(i);
        }
    }
    let mut granted = None;
    let mut any_covers = false;
    for (i, rule) in policy.permissions.iter().enumerate() {
        let covers = rule.action.is_some_and(|a| a.covers(ctx.action));
        any_covers |= covers;
        let truth = ev.rule(RuleKind::Permission, i, None, rule, covers);
        if covers && truth == Truth::Holds && granted.is_none() {
            granted = Some(i);
        }
    }
    let mut obligations = Vec::new();
    let outcome = match (prohibited, granted) {
        (Some(p), _) => Outcome::Prohibited { prohibition: p },
        (None, Some(g)) => {
            for (d, duty) in policy.permissions[g].duties.iter().enumerate() {
                let truth = ev.rule(RuleKind::Duty, d, Some(g), duty, true);
                if truth != Truth::Fails {
                    obligations.push(Obligation { source: DutySource::Permission { permission: g, duty: d }, duty });
                }
            }
            Outcome::Permitted { permission: g }
        }
        (None, None) if any_covers => Outcome::NoPermissionHolds,
        (None, None) => Outcome::NoPermissionForAction,
    };
    for (i, duty) in policy.obligations.iter().enumerate() {
        let truth = ev.rule(RuleKind::Duty, i, None, duty, true);
        if truth != Truth::Fails {
            obligations.push(Obligation { source: DutySource::Policy { index: i }, duty });
        }
    }
    Decision {
        permitted: matches!(outcome, Outcome::Permitted { .. }),
        outcome,
        explanation: Explanation { nodes: ev.nodes },
        obligations,
    }
}

struct Evaluator<'a> {
    ctx: &'a RequestContext,
    now: i128,
    nodes: Vec<Node<'a>>,
}

impl<'a> Evaluator<'a> {
    /// Records a rule and its constraints; returns the conjunction of its constraints.
    fn rule(
        &mut self,
        kind: RuleKind,
        index: usize,
        of_permission: Option<usize>,
        rule: &'a Rule,
        action_covers: bool,
    ) -> Truth {
        let at = self.nodes.len();
        self.nodes.push(Node {
            subject: Subject::Rule { kind, index, of_permission, rule, action_covers },
            truth: Truth::Holds,
            depth: 0,
            end: at + 1,
        });
        // A rule whose action does not cover the request is not evaluated further and counts as failing.
        let mut truth = if action_covers { Truth::Holds } else { Truth::Fails };
        if action_covers {
            for (i, c) in rule.constraints.iter().enumerate() {
                truth = and(truth, self.constraint(i, c, 1));
            }
        }
        let end = self.nodes.len();
        if let Some(n) = self.nodes.get_mut(at) {
            n.truth = truth;
            n.end = end;
        }
        truth
    }

    fn constraint(&mut self, index: usize, c: &'a Constraint, depth: usize) -> Truth {
        let at = self.nodes.len();
        match c {
            Constraint::Atomic(a) => {
                let (truth, actual) = match a.left {
                    Some(left) => self.atomic(left, &a.check),
                    None => (Truth::Unknown, Actual::NotUnderstood),
                };
                self.nodes.push(Node {
                    subject: Subject::Constraint { index, constraint: c, actual },
                    truth,
                    depth,
                    end: at + 1,
                });
                truth
            }
            Constraint::Logical(l) => {
                self.nodes.push(Node {
                    subject: Subject::Constraint { index, constraint: c, actual: Actual::Combined },
                    truth: Truth::Unknown,
                    depth,
                    end: at + 1,
                });
                // Every member is evaluated (no short-circuit) so the explanation shows all of them.
                let mut holds = 0usize;
                let mut fails = 0usize;
                let mut unknown = 0usize;
                for (i, member) in l.constraints.iter().enumerate() {
                    match self.constraint(i, member, depth + 1) {
                        Truth::Holds => holds += 1,
                        Truth::Fails => fails += 1,
                        Truth::Unknown => unknown += 1,
                    }
                }
                let truth = match l.op {
                    LogicalOp::And | LogicalOp::AndSequence => {
                        if fails > 0 {
                            Truth::Fails
                        } else if unknown > 0 {
                            Truth::Unknown
                        } else {
                            Truth::Holds
                        }
                    }
                    LogicalOp::Or => {
                        if holds > 0 {
                            Truth::Holds
                        } else if unknown > 0 {
                            Truth::Unknown
                        } else {
                            Truth::Fails
                        }
                    }
                    LogicalOp::Xone => {
                        if holds > 1 {
                            Truth::Fails
                        } else if unknown > 0 {
                            Truth::Unknown
                        } else {
                            Truth::from_bool(holds == 1)
                        }
                    }
                };
                let end = self.nodes.len();
                if let Some(n) = self.nodes.get_mut(at) {
                    n.truth = truth;
                    n.end = end;
                }
                truth
            }
        }
    }

    #[inline]
    fn atomic(&self, left: LeftOperand, check: &Check) -> (Truth, Actual<'a>) {
        let ctx = self.ctx;
        match (check, left) {
            (Check::Territory(set), _) => match &ctx.territory {
                Some(t) => (Truth::from_bool(set.contains(t)), Actual::Territory(t)),
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Purpose(mask), _) => match ctx.purpose {
                Some(p) => (Truth::from_bool(mask & p.bit() != 0), Actual::Purpose(p)),
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Channel(mask), _) => match ctx.channel {
                Some(c) => (Truth::from_bool(mask & c.bit() != 0), Actual::Channel(c)),
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Role(mask), _) => match ctx.role {
                Some(r) => (Truth::from_bool(mask & r.bit() != 0), Actual::Role(r)),
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Instant(iv), _) => (Truth::from_bool(iv.contains(self.now)), Actual::Instant(ctx.at)),
            (Check::Elapsed(iv), _) => match ctx.elapsed {
                Some(d) => (Truth::from_bool(iv.contains(d.whole_nanoseconds())), Actual::Elapsed(d)),
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Count(iv), _) => match ctx.uses_so_far {
                Some(n) => {
                    let reached = n.saturating_add(1);
                    (Truth::from_bool(iv.contains(reached as i128)), Actual::Count(reached))
                }
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Language { ranges, mode }, _) => match &ctx.language {
                Some(tag) => {
                    let t = tag.as_str();
                    let holds = match mode {
                        LangMode::AnyWithin => ranges.iter().any(|r| lang_within(t, r.as_str())),
                        LangMode::NoneWithin => !ranges.iter().any(|r| lang_within(t, r.as_str())),
                        LangMode::AllWithin => ranges.iter().all(|r| lang_within(t, r.as_str())),
                        LangMode::Contains => ranges.iter().all(|r| lang_within(r.as_str(), t)),
                    };
                    (Truth::from_bool(holds), Actual::Language(tag))
                }
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Recipient { values, negate }, _) => match &ctx.participant_id {
                Some(id) => {
                    let found = values.binary_search_by(|v| v.as_str().cmp(id.as_str())).is_ok();
                    (Truth::from_bool(found != *negate), Actual::Participant(id))
                }
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Event { values, negate }, _) => match &ctx.event {
                Some(e) => {
                    let found = values.binary_search_by(|v| v.as_str().cmp(e.as_str())).is_ok();
                    (Truth::from_bool(found != *negate), Actual::Event(e))
                }
                None => (Truth::Unknown, Actual::Missing),
            },
            (Check::Foreign, _) => (Truth::Unknown, Actual::NotUnderstood),
        }
    }
}

fn and(a: Truth, b: Truth) -> Truth {
    match (a, b) {
        (Truth::Fails, _) | (_, Truth::Fails) => Truth::Fails,
        (Truth::Unknown, _) | (_, Truth::Unknown) => Truth::Unknown,
        _ => Truth::Holds,
    }
}

impl fmt::Display for Decision<'_> {
    /// An indented, plain-English account of the decision, e.g. for a 403 body or the console.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::describe::write_decision(f, self)
    }
}

#[cfg(test)]
mod tests;
