//! Errors of the rule engine: validation violations (with JSON paths) and refused facts.

use serde::Serialize;

/// One problem found in a rule-set document.
///
/// `path` is a JSON pointer into the document (e.g. `/indicators/3/formula/rate`), `code` is a
/// stable machine-readable word and `message_zh` is shown to administrators.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    /// JSON pointer of the offending value (`""` for the whole document).
    pub path: String,
    /// Stable machine code, e.g. `duplicate_indicator`.
    pub code: &'static str,
    /// Chinese message for administrators.
    pub message_zh: String,
}

impl Violation {
    /// Builds a violation.
    pub fn new(path: impl Into<String>, code: &'static str, message_zh: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            code,
            message_zh: message_zh.into(),
        }
    }
}

/// A refused facts document: names the key (e.g. `parents[1].insurance_months`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid fact `{key}`: {code}: {message_zh}")]
pub struct FactError {
    /// The offending key; family members are prefixed `parents[i].`.
    pub key: String,
    /// Stable machine code, e.g. `negative`, `unknown_key`, `bad_date`.
    pub code: &'static str,
    /// Chinese message naming the problem, e.g. "参保月数不能为负数".
    pub message_zh: String,
}

impl FactError {
    pub(crate) fn new(
        key: impl Into<String>,
        code: &'static str,
        message_zh: impl Into<String>,
    ) -> Self {
        Self {
            key: key.into(),
            code,
            message_zh: message_zh.into(),
        }
    }
}

/// Every error the rule engine returns.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    /// The rule-set document is malformed or inconsistent; all problems found are listed.
    #[error("invalid rule set: {} problem(s), first {}", .violations.len(), first_violation(.violations))]
    Invalid {
        /// All problems found, in document order.
        violations: Vec<Violation>,
    },
    /// The facts document was refused.
    #[error(transparent)]
    Fact(#[from] FactError),
    /// A rule set referenced by id (e.g. in `extends`) is not known.
    #[error("unknown rule set {id}: 未找到规则集 {id}")]
    UnknownRuleSet {
        /// The id that was looked up.
        id: String,
    },
}

impl RulesError {
    /// Returns the validation violations, or an empty slice for other errors.
    pub fn violations(&self) -> &[Violation] {
        match self {
            RulesError::Invalid { violations } => violations,
            _ => &[],
        }
    }

    pub(crate) fn invalid(violations: Vec<Violation>) -> Self {
        RulesError::Invalid { violations }
    }
}

fn first_violation(violations: &[Violation]) -> String {
    match violations.first() {
        Some(v) => format!("at {:?}: {}: {}", v.path, v.code, v.message_zh),
        None => "(none)".to_owned(),
    }
}
