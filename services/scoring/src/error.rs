//! The errors of scoring, mapped once to gRPC through [`jifen_kit::ServiceError`].

use jifen_kit::error::{ErrorCode, ServiceError};
use jifen_rules::{FactError, RulesError, Violation};

/// Every error scoring returns. Display texts are what people see (Chinese), except
/// [`ScoringError::Storage`], whose detail only reaches the logs.
#[derive(Debug, thiserror::Error)]
pub enum ScoringError {
    /// A request field is malformed; names the field.
    #[error("{field}: {message}")]
    InvalidArgument {
        /// The field, e.g. `as-of` or `facts`.
        field: &'static str,
        /// Chinese message.
        message: String,
    },
    /// A facts document was refused; names the key.
    #[error("facts: {}: {}", .0.key, .0.message_zh)]
    Fact(FactError),
    /// A rule-set document is invalid; every problem is listed.
    #[error("规则集校验未通过：{}", summary(.0))]
    InvalidRuleSet(Vec<Violation>),
    /// An invalid rule set cannot be published.
    #[error("规则集校验未通过，不能发布：{}", summary(.0))]
    NotPublishable(Vec<Violation>),
    /// The tenant code is not one of the city's tenants.
    #[error("tenant: 未知的地区代码“{0}”")]
    UnknownTenant(String),
    /// The tenant offers no such benefit.
    #[error("benefit: 该地区没有积分用途“{0}”")]
    UnknownBenefit(String),
    /// Not there, or not visible to this caller.
    #[error("{0}不存在")]
    NotFound(String),
    /// Would create a duplicate.
    #[error("{0}")]
    AlreadyExists(String),
    /// Not allowed in the rule set's current state (published, frozen, …).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Somebody else changed the draft since it was read.
    #[error("规则集已被他人修改，请刷新后重试")]
    Stale,
    /// The caller lacks the role or tenant.
    #[error("{0}")]
    PermissionDenied(&'static str),
    /// No verified caller.
    #[error("请先登录")]
    Unauthenticated,
    /// The public simulator was called too often from one address.
    #[error("试算过于频繁，请稍后再试")]
    RateLimited,
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] sea_orm::DbErr),
}

fn summary(violations: &[Violation]) -> String {
    let shown: Vec<String> = violations
        .iter()
        .take(3)
        .map(|v| {
            format!(
                "{} {}",
                if v.path.is_empty() { "/" } else { &v.path },
                v.message_zh
            )
        })
        .collect();
    let more = violations.len().saturating_sub(3);
    if more > 0 {
        format!("{}；另有 {more} 处问题", shown.join("；"))
    } else {
        shown.join("；")
    }
}

impl From<RulesError> for ScoringError {
    fn from(err: RulesError) -> Self {
        match err {
            RulesError::Invalid { violations } => ScoringError::InvalidRuleSet(violations),
            RulesError::Fact(fact) => ScoringError::Fact(fact),
            RulesError::UnknownRuleSet { id } => {
                ScoringError::InvalidRuleSet(vec![Violation::new(
                    "/extends",
                    "unknown_rule_set",
                    format!("未找到已发布的上级规则集“{id}”"),
                )])
            }
        }
    }
}

impl From<FactError> for ScoringError {
    fn from(err: FactError) -> Self {
        ScoringError::Fact(err)
    }
}

impl ServiceError for ScoringError {
    fn code(&self) -> ErrorCode {
        match self {
            ScoringError::InvalidArgument { .. }
            | ScoringError::Fact(_)
            | ScoringError::InvalidRuleSet(_)
            | ScoringError::UnknownTenant(_)
            | ScoringError::UnknownBenefit(_) => ErrorCode::InvalidArgument,
            ScoringError::NotFound(_) => ErrorCode::NotFound,
            ScoringError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            ScoringError::FailedPrecondition(_) | ScoringError::NotPublishable(_) => {
                ErrorCode::FailedPrecondition
            }
            ScoringError::Stale => ErrorCode::Aborted,
            ScoringError::PermissionDenied(_) => ErrorCode::PermissionDenied,
            ScoringError::Unauthenticated => ErrorCode::Unauthenticated,
            ScoringError::RateLimited => ErrorCode::ResourceExhausted,
            ScoringError::Storage(_) => ErrorCode::Internal,
        }
    }
}

impl ScoringError {
    /// Returns an invalid-argument error naming `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ScoringError::InvalidArgument {
            field,
            message: message.into(),
        }
    }

    /// Returns the violations of an invalid rule set (empty otherwise).
    pub fn violations(&self) -> &[Violation] {
        match self {
            ScoringError::InvalidRuleSet(v) | ScoringError::NotPublishable(v) => v,
            _ => &[],
        }
    }
}

impl From<ScoringError> for tonic::Status {
    fn from(err: ScoringError) -> Self {
        jifen_kit::error::to_status(&err)
    }
}
