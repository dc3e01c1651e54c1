//! The errors of review, mapped once to gRPC statuses with a Chinese message and an encoded
//! `ErrorDetail` (machine code) in the status details.

use jifen_kit::error::{ErrorCode, ServiceError};
use prost::Message;

use crate::domain::scope::Denied;
use crate::domain::state_machine::IllegalTransition;

/// Everything that can go wrong in review.
#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    /// A malformed request field.
    #[error("{message}")]
    InvalidArgument {
        /// The field.
        field: &'static str,
        /// Chinese message naming the field.
        message: String,
    },
    /// Not there, or another tenant's.
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Role or scope does not allow it.
    #[error("{0}")]
    Denied(#[from] Denied),
    /// The state machine refuses the move.
    #[error("{0}")]
    IllegalTransition(#[from] IllegalTransition),
    /// Someone else changed the object first.
    #[error("申请已被他人处理，请刷新")]
    StaleVersion,
    /// A date window is not open.
    #[error("{0}")]
    WindowClosed(String),
    /// Would create a second active object.
    #[error("{0}")]
    AlreadyExists(String),
    /// Claimed by a colleague.
    #[error("已被其他人认领")]
    AlreadyClaimed,
    /// A gate failed at submission.
    #[error("不符合申请条件：{0}")]
    GateFailed(String),
    /// Not allowed in the current state for another reason.
    #[error("{0}")]
    Precondition(String),
    /// Scoring did not answer.
    #[error("积分计算服务暂不可用，请稍后重试")]
    ScoringUnavailable(String),
    /// Database failure.
    #[error("database: {0}")]
    Db(#[from] sea_orm::DbErr),
    /// Anything else unexpected.
    #[error("internal: {0}")]
    Internal(String),
}

impl ReviewError {
    /// Returns an invalid-argument error naming `field`.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ReviewError::InvalidArgument {
            field,
            message: message.into(),
        }
    }

    /// Returns the stable machine code carried in `ErrorDetail.code`.
    pub fn detail_code(&self) -> &'static str {
        match self {
            ReviewError::InvalidArgument { .. } => "invalid_argument",
            ReviewError::NotFound(_) => "not_found",
            ReviewError::Denied(_) => "permission_denied",
            ReviewError::IllegalTransition(_) => "illegal_transition",
            ReviewError::StaleVersion => "stale_version",
            ReviewError::WindowClosed(_) => "window_closed",
            ReviewError::AlreadyExists(_) => "duplicate",
            ReviewError::AlreadyClaimed => "already_claimed",
            ReviewError::GateFailed(_) => "gate_failed",
            ReviewError::Precondition(_) => "failed_precondition",
            ReviewError::ScoringUnavailable(_) => "unavailable",
            ReviewError::Db(_) | ReviewError::Internal(_) => "internal",
        }
    }
}

impl ServiceError for ReviewError {
    fn code(&self) -> ErrorCode {
        match self {
            ReviewError::InvalidArgument { .. } => ErrorCode::InvalidArgument,
            ReviewError::NotFound(_) => ErrorCode::NotFound,
            ReviewError::Denied(_) => ErrorCode::PermissionDenied,
            ReviewError::IllegalTransition(_)
            | ReviewError::WindowClosed(_)
            | ReviewError::AlreadyClaimed
            | ReviewError::GateFailed(_)
            | ReviewError::Precondition(_) => ErrorCode::FailedPrecondition,
            ReviewError::StaleVersion => ErrorCode::Aborted,
            ReviewError::AlreadyExists(_) => ErrorCode::AlreadyExists,
            ReviewError::ScoringUnavailable(_) => ErrorCode::Unavailable,
            ReviewError::Db(_) | ReviewError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<ReviewError> for tonic::Status {
    fn from(err: ReviewError) -> Self {
        let status = jifen_kit::error::to_status(&err);
        if err.code() == ErrorCode::Internal {
            return status;
        }
        if let ReviewError::ScoringUnavailable(reason) = &err {
            tracing::warn!(%reason, "scoring unavailable");
        }
        let violations = match &err {
            ReviewError::InvalidArgument { field, message } => {
                vec![jifen_proto::common::v1::FieldViolation {
                    path: (*field).to_owned(),
                    code: "invalid".to_owned(),
                    message_zh: message.clone(),
                }]
            }
            _ => Vec::new(),
        };
        let detail = jifen_proto::common::v1::ErrorDetail {
            code: err.detail_code().to_owned(),
            message_zh: status.message().to_owned(),
            violations,
            retry_after_seconds: 0,
        };
        tonic::Status::with_details(
            status.code(),
            status.message(),
            detail.encode_to_vec().into(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jifen_proto::common::v1::ApplicationStatus as S;

    #[test]
    fn races_and_illegal_moves_map_to_their_codes() {
        let status: tonic::Status = ReviewError::StaleVersion.into();
        assert_eq!(status.code(), tonic::Code::Aborted);
        assert_eq!(status.message(), "申请已被他人处理，请刷新");
        let detail =
            jifen_proto::common::v1::ErrorDetail::decode(status.details()).expect("detail");
        assert_eq!(detail.code, "stale_version");
        let status: tonic::Status = ReviewError::from(IllegalTransition {
            from: S::Draft,
            to: S::Scored,
        })
        .into();
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert!(status.message().contains("草稿"));
    }

    #[test]
    fn internal_details_stay_inside() {
        let status: tonic::Status = ReviewError::Internal("password=x".into()).into();
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("password"));
    }
}
