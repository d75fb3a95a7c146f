//! Why a policy was refused at definition time.
//!
//! Every error carries the JSON path of the offending member (`permission[0].constraint[1].rightOperand`) so that
//! whoever wrote the policy can find and fix it without reading our code.

/// A policy document that cannot be accepted, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {problem}")]
pub struct PolicyError {
    /// JSON path of the bad member, e.g. `permission[0].constraint[1].rightOperand` (`$` is the policy itself).
    pub path: String,
    pub problem: Problem,
}

impl PolicyError {
    pub(crate) fn new(path: &str, problem: Problem) -> Self {
        let path = if path.is_empty() { "$".to_string() } else { path.to_string() };
        PolicyError { path, problem }
    }

    pub(crate) fn bad_right(path: &str, reason: impl Into<String>) -> Self {
        PolicyError::new(path, Problem::BadRightOperand { reason: reason.into() })
    }
}

/// What is wrong with the member named by [`PolicyError::path`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("required member is missing ({hint})")]
    Missing { hint: &'static str },
    #[error("expected {expected}, found {found}")]
    WrongType { expected: &'static str, found: String },
    #[error("`{value}` is not a policy type: expected `Offer`, `Agreement` or `Set`")]
    UnknownPolicyType { value: String },
    #[error(
        "unknown left operand `{value}`: Passerelle understands spatial, dateTime, elapsedTime, count, purpose, \
         language, recipient, event (ODRL) and channel, role (profile {profile}); a condition it cannot evaluate is \
         refused rather than ignored"
    )]
    UnknownLeftOperand { value: String, profile: &'static str },
    #[error(
        "unknown operator `{value}`: expected one of eq, neq, gt, gteq, lt, lteq, isA, hasPart, isPartOf, isAllOf, \
         isAnyOf, isNoneOf"
    )]
    UnknownOperator { value: String },
    #[error("operator `{operator}` does not apply to `{operand}` (allowed: {allowed})")]
    OperatorNotApplicable { operator: &'static str, operand: &'static str, allowed: String },
    #[error("{reason}")]
    BadRightOperand { reason: String },
    #[error("unknown action `{value}`: expected an ODRL 2.2 action such as use, play, display, distribute, reproduce")]
    UnknownAction { value: String },
    #[error("unsupported member `{member}`: {why}")]
    Unsupported { member: String, why: String },
    #[error("a logical constraint needs exactly one of `and`, `or`, `xone`, `andSequence`; found {found}")]
    LogicalShape { found: String },
    #[error("{what} must not be empty")]
    Empty { what: &'static str },
    #[error("a policy needs at least one permission or prohibition")]
    NoRules,
    #[error("{reason}")]
    Invalid { reason: String },
}

/// Short name of a JSON value's kind, for "expected X, found Y" messages.
pub(crate) fn kind_of(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "null".into(),
        serde_json::Value::Bool(b) => format!("boolean {b}"),
        serde_json::Value::Number(n) => format!("number {n}"),
        serde_json::Value::String(s) => format!("string \"{s}\""),
        serde_json::Value::Array(_) => "an array".into(),
        serde_json::Value::Object(_) => "an object".into(),
    }
}

/// `parent.member` / `member` when `parent` is the root.
pub(crate) fn join(parent: &str, member: &str) -> String {
    if parent.is_empty() { member.to_string() } else { format!("{parent}.{member}") }
}

pub(crate) fn index(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}
