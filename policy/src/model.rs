//! The ODRL 2.2 information model as Passerelle keeps it: a [`Policy`] (Set, Offer or Agreement) with
//! permissions, prohibitions and obligations; each [`Rule`] has an [`Action`], [`Constraint`]s and (for
//! permissions) duties. Every atomic constraint is compiled when it is built into a [`Check`] that evaluation reads
//! without parsing or allocating.
//!
//! Terms keep the spelling they were written with (`spatial`, `odrl:spatial` or the IRI) so that a policy received
//! from a peer is written back exactly as it came.

use serde_json::{Map, Value};

use crate::check::Check;
use crate::error::PolicyError;
use crate::term::{self, Ns};
use crate::vocab::action::Action;

/// Which kind of ODRL policy this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    Set,
    Offer,
    Agreement,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::Set => "Set",
            PolicyType::Offer => "Offer",
            PolicyType::Agreement => "Agreement",
        }
    }

    pub(crate) fn parse(written: &str) -> Option<PolicyType> {
        match term::split(written) {
            (Ns::Bare | Ns::Odrl, "Set") => Some(PolicyType::Set),
            (Ns::Bare | Ns::Odrl, "Offer") => Some(PolicyType::Offer),
            (Ns::Bare | Ns::Odrl, "Agreement") => Some(PolicyType::Agreement),
            _ => None,
        }
    }
}

/// An ODRL policy. Build one with [`Policy::from_json`] or the `Policy::new(..).with_*` builders.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) id: String,
    pub(crate) policy_type: PolicyType,
    pub(crate) profiles: Vec<String>,
    /// `profile` was written as an array (kept for exact round-trips; JSON-LD treats both forms alike).
    pub(crate) profile_is_list: bool,
    pub(crate) target: Option<String>,
    pub(crate) assigner: Option<String>,
    pub(crate) assignee: Option<String>,
    /// Agreement timestamp as written (validated as an xsd:dateTime).
    pub(crate) timestamp: Option<String>,
    /// `conflict` as written; only `prohibit` is accepted, which is also what applies when it is absent.
    pub(crate) conflict: Option<String>,
    pub(crate) permissions: Vec<Rule>,
    pub(crate) prohibitions: Vec<Rule>,
    pub(crate) obligations: Vec<Rule>,
    /// Members outside ODRL semantics (`@context`, descriptive `dct:` terms…), written back verbatim.
    pub(crate) extra: Map<String, Value>,
}

/// Which list a rule sits in; it decides how the rule is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RuleKind {
    Permission,
    Prohibition,
    /// A policy-level obligation or a duty of a permission.
    Duty,
}

impl RuleKind {
    pub fn member(self) -> &'static str {
        match self {
            RuleKind::Permission => "permission",
            RuleKind::Prohibition => "prohibition",
            RuleKind::Duty => "duty",
        }
    }
}

/// A permission, prohibition or duty.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub(crate) action: Option<Action>,
    pub(crate) action_written: String,
    pub(crate) constraints: Vec<Constraint>,
    pub(crate) duties: Vec<Rule>,
    pub(crate) id: Option<String>,
    pub(crate) type_written: Option<String>,
}

/// How constraints of a logical constraint combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LogicalOp {
    And,
    Or,
    /// Exactly one holds.
    Xone,
    /// All hold, checked in order. At a single instant this is `and`; the order is kept and evaluated in sequence.
    AndSequence,
}

impl LogicalOp {
    pub const ALL: [LogicalOp; 4] = [LogicalOp::And, LogicalOp::Or, LogicalOp::Xone, LogicalOp::AndSequence];

    pub fn as_str(self) -> &'static str {
        match self {
            LogicalOp::And => "and",
            LogicalOp::Or => "or",
            LogicalOp::Xone => "xone",
            LogicalOp::AndSequence => "andSequence",
        }
    }
}

/// An atomic or logical constraint.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    Atomic(AtomicConstraint),
    Logical(LogicalConstraint),
}

/// `and` / `or` / `xone` / `andSequence` over constraints.
#[derive(Debug, Clone, PartialEq)]
pub struct LogicalConstraint {
    pub(crate) op: LogicalOp,
    pub(crate) op_written: String,
    pub(crate) constraints: Vec<Constraint>,
}

/// `leftOperand operator rightOperand`, compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct AtomicConstraint {
    /// `None` for an operand outside ODRL and our profile (accepted only by [`Policy::from_peer_json`]).
    pub(crate) left: Option<LeftOperand>,
    pub(crate) left_written: String,
    /// `None` for an operator outside ODRL 2.2 (peer policies only).
    pub(crate) operator: Option<Operator>,
    pub(crate) operator_written: String,
    pub(crate) right: Value,
    pub(crate) check: Check,
}

/// The left operands Passerelle evaluates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeftOperand {
    /// Where: ISO 3166-1 alpha-2 territories and named groups.
    Spatial,
    /// When: an instant.
    DateTime,
    /// How long since first use (the caller measures it).
    ElapsedTime,
    /// How many times the action has been exercised, this request included.
    Count,
    /// Why: the purpose vocabulary with its `isA` hierarchy.
    Purpose,
    /// BCP 47 language (ranges: `es` covers `es-419`).
    Language,
    /// Who: the participant id of the party the request comes from.
    Recipient,
    /// An event the request happens in (identifier).
    Event,
    /// Profile: the Avails license type.
    Channel,
    /// Profile: the participant's role from its membership credential.
    Role,
}

impl LeftOperand {
    pub const ALL: [LeftOperand; 10] = [
        LeftOperand::Spatial,
        LeftOperand::DateTime,
        LeftOperand::ElapsedTime,
        LeftOperand::Count,
        LeftOperand::Purpose,
        LeftOperand::Language,
        LeftOperand::Recipient,
        LeftOperand::Event,
        LeftOperand::Channel,
        LeftOperand::Role,
    ];

    /// Local name (in ODRL or in our profile namespace).
    pub fn as_str(self) -> &'static str {
        match self {
            LeftOperand::Spatial => "spatial",
            LeftOperand::DateTime => "dateTime",
            LeftOperand::ElapsedTime => "elapsedTime",
            LeftOperand::Count => "count",
            LeftOperand::Purpose => "purpose",
            LeftOperand::Language => "language",
            LeftOperand::Recipient => "recipient",
            LeftOperand::Event => "event",
            LeftOperand::Channel => "channel",
            LeftOperand::Role => "role",
        }
    }

    /// True for operands defined by our profile rather than by ODRL.
    pub fn in_profile(self) -> bool {
        matches!(self, LeftOperand::Channel | LeftOperand::Role)
    }

    /// How generated policies write the operand: the compact ODRL term as DSP 2025-1 examples do, or the full
    /// profile IRI (the DSP context defines no prefix for our namespace, so only the IRI is unambiguous JSON-LD).
    pub fn canonical_spelling(self) -> String {
        if self.in_profile() { format!("{}{}", term::PROFILE_NS, self.as_str()) } else { self.as_str().to_string() }
    }

    /// Resolves a written left operand; `None` when it is not one we evaluate.
    pub fn parse(written: &str) -> Option<LeftOperand> {
        let (ns, name) = term::split(written.trim());
        let found = LeftOperand::ALL.iter().copied().find(|o| o.as_str() == name)?;
        match ns {
            Ns::Bare => Some(found),
            Ns::Odrl if !found.in_profile() => Some(found),
            // `language` is an ODRL operand; the profile namespace accepts it too, since our profile documents
            // BCP 47 range matching for it.
            Ns::Profile if found.in_profile() || found == LeftOperand::Language => Some(found),
            _ => None,
        }
    }
}

/// ODRL 2.2 operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operator {
    Eq,
    Neq,
    Gt,
    Gteq,
    Lt,
    Lteq,
    IsA,
    HasPart,
    IsPartOf,
    IsAllOf,
    IsAnyOf,
    IsNoneOf,
}

impl Operator {
    pub const ALL: [Operator; 12] = [
        Operator::Eq,
        Operator::Neq,
        Operator::Gt,
        Operator::Gteq,
        Operator::Lt,
        Operator::Lteq,
        Operator::IsA,
        Operator::HasPart,
        Operator::IsPartOf,
        Operator::IsAllOf,
        Operator::IsAnyOf,
        Operator::IsNoneOf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Eq => "eq",
            Operator::Neq => "neq",
            Operator::Gt => "gt",
            Operator::Gteq => "gteq",
            Operator::Lt => "lt",
            Operator::Lteq => "lteq",
            Operator::IsA => "isA",
            Operator::HasPart => "hasPart",
            Operator::IsPartOf => "isPartOf",
            Operator::IsAllOf => "isAllOf",
            Operator::IsAnyOf => "isAnyOf",
            Operator::IsNoneOf => "isNoneOf",
        }
    }

    pub fn parse(written: &str) -> Option<Operator> {
        match term::split(written.trim()) {
            (Ns::Bare | Ns::Odrl, name) => Operator::ALL.iter().copied().find(|o| o.as_str() == name),
            _ => None,
        }
    }

    /// Operators whose right operand is a list.
    pub fn takes_list(self) -> bool {
        matches!(self, Operator::IsAllOf | Operator::IsAnyOf | Operator::IsNoneOf)
    }
}

impl Policy {
    /// An empty policy of the given type; add rules with the `with_*` builders.
    pub fn new(policy_type: PolicyType, id: &str) -> Policy {
        Policy {
            id: id.to_string(),
            policy_type,
            profiles: Vec::new(),
            profile_is_list: false,
            target: None,
            assigner: None,
            assignee: None,
            timestamp: None,
            conflict: None,
            permissions: Vec::new(),
            prohibitions: Vec::new(),
            obligations: Vec::new(),
            extra: Map::new(),
        }
    }

    /// Parses and validates a policy written in DSP 2025-1 compact JSON-LD. Every operand, operator and right
    /// operand is checked now; anything Passerelle could not evaluate is an error naming the member.
    pub fn from_json(v: &Value) -> Result<Policy, PolicyError> {
        crate::parse::parse_policy(v, false)
    }

    /// Parses a policy written by another participant, which may use operands outside ODRL and our profile (the
    /// DSP 2025-1 examples use `partner`). Such constraints are kept verbatim so the policy can be shown, stored and
    /// echoed back exactly; they are never satisfied in a permission and never rule out a prohibition (fail
    /// closed), and [`Policy::foreign_terms`] lists them. Malformed values of operands we do know are still errors.
    pub fn from_peer_json(v: &Value) -> Result<Policy, PolicyError> {
        crate::parse::parse_policy(v, true)
    }

    /// DSP 2025-1 compact JSON-LD; `Policy::from_json(&p.to_json()) == Ok(p)`.
    pub fn to_json(&self) -> Value {
        crate::write::policy_to_json(self)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn policy_type(&self) -> PolicyType {
        self.policy_type
    }

    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    pub fn assigner(&self) -> Option<&str> {
        self.assigner.as_deref()
    }

    pub fn assignee(&self) -> Option<&str> {
        self.assignee.as_deref()
    }

    /// The Agreement timestamp as written.
    pub fn timestamp(&self) -> Option<&str> {
        self.timestamp.as_deref()
    }

    pub fn profiles(&self) -> &[String] {
        &self.profiles
    }

    pub fn permissions(&self) -> &[Rule] {
        &self.permissions
    }

    pub fn prohibitions(&self) -> &[Rule] {
        &self.prohibitions
    }

    /// Policy-level duties.
    pub fn obligations(&self) -> &[Rule] {
        &self.obligations
    }

    /// Operands, operators and actions in this policy that Passerelle does not understand (only a policy from
    /// [`Policy::from_peer_json`] can have any). Empty means every condition is evaluated for what it says.
    pub fn foreign_terms(&self) -> Vec<String> {
        let mut out = Vec::new();
        for rule in self.permissions.iter().chain(&self.prohibitions).chain(&self.obligations) {
            rule.collect_foreign(&mut out);
        }
        out.sort();
        out.dedup();
        out
    }

    pub fn with_id(mut self, id: &str) -> Self {
        self.id = id.to_string();
        self
    }

    pub fn with_target(mut self, target: &str) -> Self {
        self.target = Some(target.to_string());
        self
    }

    /// Drops the target: an Offer inside a dataset's `hasPolicy` must not carry one (DSP 2025-1 catalog schema).
    pub fn without_target(mut self) -> Self {
        self.target = None;
        self
    }

    pub fn with_assigner(mut self, assigner: &str) -> Self {
        self.assigner = Some(assigner.to_string());
        self
    }

    pub fn with_assignee(mut self, assignee: &str) -> Self {
        self.assignee = Some(assignee.to_string());
        self
    }

    /// Declares a profile (e.g. [`crate::PROFILE_IRI`]); duplicates are ignored.
    pub fn with_profile(mut self, profile: &str) -> Self {
        if !self.profiles.iter().any(|p| p == profile) {
            self.profiles.push(profile.to_string());
        }
        self
    }

    pub fn with_permission(mut self, rule: Rule) -> Self {
        self.permissions.push(rule);
        self
    }

    pub fn with_prohibition(mut self, rule: Rule) -> Self {
        self.prohibitions.push(rule);
        self
    }

    pub fn with_obligation(mut self, rule: Rule) -> Self {
        self.obligations.push(rule);
        self
    }

    /// The Agreement a provider issues for this offer: same rules, type Agreement, the parties and the time of
    /// agreement set (DSP 2025-1 requires target, assigner, assignee and timestamp on an Agreement).
    pub fn into_agreement(
        mut self,
        agreement_id: &str,
        assigner: &str,
        assignee: &str,
        at: time::OffsetDateTime,
    ) -> Result<Policy, PolicyError> {
        if self.target.is_none() {
            return Err(PolicyError::new(
                "target",
                crate::error::Problem::Missing { hint: "an Agreement must name its target dataset; use with_target" },
            ));
        }
        let stamp = at
            .to_offset(time::UtcOffset::UTC)
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(|e| PolicyError::new("timestamp", crate::error::Problem::Invalid { reason: e.to_string() }))?;
        self.policy_type = PolicyType::Agreement;
        self.id = agreement_id.to_string();
        self.assigner = Some(assigner.to_string());
        self.assignee = Some(assignee.to_string());
        self.timestamp = Some(stamp);
        Ok(self)
    }
}

impl Rule {
    /// A rule on `action` with no constraints.
    pub fn new(action: Action) -> Rule {
        Rule {
            action: Some(action),
            action_written: action.as_str().to_string(),
            constraints: Vec::new(),
            duties: Vec::new(),
            id: None,
            type_written: None,
        }
    }

    pub fn with_constraint(mut self, c: Constraint) -> Self {
        self.constraints.push(c);
        self
    }

    /// Adds a duty (meaningful on permissions: the permission holds only if the duty is fulfilled).
    pub fn with_duty(mut self, duty: Rule) -> Self {
        self.duties.push(duty);
        self
    }

    /// `None` when the action is outside ODRL (peer policies only).
    pub fn action(&self) -> Option<Action> {
        self.action
    }

    /// The action as written.
    pub fn action_written(&self) -> &str {
        &self.action_written
    }

    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }

    pub fn duties(&self) -> &[Rule] {
        &self.duties
    }

    fn collect_foreign(&self, out: &mut Vec<String>) {
        if self.action.is_none() {
            out.push(format!("action `{}`", self.action_written));
        }
        for c in &self.constraints {
            c.collect_foreign(out);
        }
        for d in &self.duties {
            d.collect_foreign(out);
        }
    }
}

impl Constraint {
    /// Builds and compiles an atomic constraint, with the same checks as parsing.
    pub fn atomic(left: LeftOperand, operator: Operator, right: Value) -> Result<Constraint, PolicyError> {
        let check = crate::check::compile(left, operator, &right, "")?;
        Ok(Constraint::Atomic(AtomicConstraint {
            left: Some(left),
            left_written: left.canonical_spelling(),
            operator: Some(operator),
            operator_written: operator.as_str().to_string(),
            right,
            check,
        }))
    }

    pub fn logical(op: LogicalOp, constraints: Vec<Constraint>) -> Constraint {
        Constraint::Logical(LogicalConstraint { op, op_written: op.as_str().to_string(), constraints })
    }

    pub fn and(constraints: Vec<Constraint>) -> Constraint {
        Constraint::logical(LogicalOp::And, constraints)
    }

    pub fn or(constraints: Vec<Constraint>) -> Constraint {
        Constraint::logical(LogicalOp::Or, constraints)
    }

    pub fn xone(constraints: Vec<Constraint>) -> Constraint {
        Constraint::logical(LogicalOp::Xone, constraints)
    }

    pub fn and_sequence(constraints: Vec<Constraint>) -> Constraint {
        Constraint::logical(LogicalOp::AndSequence, constraints)
    }

    fn collect_foreign(&self, out: &mut Vec<String>) {
        match self {
            Constraint::Atomic(a) => {
                if a.left.is_none() {
                    out.push(format!("leftOperand `{}`", a.left_written));
                }
                if a.operator.is_none() {
                    out.push(format!("operator `{}`", a.operator_written));
                }
            }
            Constraint::Logical(l) => l.constraints.iter().for_each(|c| c.collect_foreign(out)),
        }
    }

    /// Number of nodes (this one and all nested) — sizes the explanation arena.
    pub(crate) fn node_count(&self) -> usize {
        match self {
            Constraint::Atomic(_) => 1,
            Constraint::Logical(l) => 1 + l.constraints.iter().map(Constraint::node_count).sum::<usize>(),
        }
    }
}

impl LogicalConstraint {
    pub fn op(&self) -> LogicalOp {
        self.op
    }

    pub fn constraints(&self) -> &[Constraint] {
        &self.constraints
    }
}

impl AtomicConstraint {
    /// `None` for an operand Passerelle does not understand (peer policies only).
    pub fn left_operand(&self) -> Option<LeftOperand> {
        self.left
    }

    pub fn left_written(&self) -> &str {
        &self.left_written
    }

    pub fn operator(&self) -> Option<Operator> {
        self.operator
    }

    pub fn operator_written(&self) -> &str {
        &self.operator_written
    }

    /// The right operand exactly as written.
    pub fn right_operand(&self) -> &Value {
        &self.right
    }
}
