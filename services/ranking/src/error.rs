//! The ranking error enum, mapped once to gRPC through [`jifen_kit::error::ServiceError`].
//! Public messages are Chinese; storage and Redis details only reach the logs.

use jifen_kit::error::{ErrorCode, ServiceError};

use crate::board::BoardError;
use crate::domain::RankingError as DomainError;

/// Everything the ranking service can refuse or fail with.
#[derive(Debug, thiserror::Error)]
pub enum RankingError {
    /// A request field is malformed; the message names it.
    #[error("{0}")]
    Invalid(String),
    /// Not there, or not visible to this caller (another tenant's object answers this too).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// No verified caller on an rpc that needs one.
    #[error("请先登录")]
    Unauthenticated,
    /// Outside the caller's role or scope.
    #[error("无权执行此操作")]
    PermissionDenied,
    /// Not allowed in the current state; the message says why.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The ranking domain refused its input.
    #[error("ranking: {0}")]
    Domain(#[from] DomainError),
    /// Storage failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// A live board failed in a way the database fallback could not cover.
    #[error("board: {0}")]
    Board(#[from] BoardError),
    /// A stored document did not decode.
    #[error("stored json: {0}")]
    Json(#[from] serde_json::Error),
}

impl ServiceError for RankingError {
    fn code(&self) -> ErrorCode {
        match self {
            RankingError::Invalid(_) => ErrorCode::InvalidArgument,
            RankingError::NotFound(_) => ErrorCode::NotFound,
            RankingError::Unauthenticated => ErrorCode::Unauthenticated,
            RankingError::PermissionDenied => ErrorCode::PermissionDenied,
            RankingError::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            RankingError::Domain(err) => match err {
                DomainError::MalformedRedisMember(_) | DomainError::Csv(_) => ErrorCode::Internal,
                DomainError::KeyWidth { .. }
                | DomainError::DuplicateApplicationId(_)
                | DomainError::DuplicateApplicationNumber(_) => ErrorCode::FailedPrecondition,
                _ => ErrorCode::InvalidArgument,
            },
            RankingError::Database(_) | RankingError::Board(_) | RankingError::Json(_) => {
                ErrorCode::Internal
            }
        }
    }

    fn public_message(&self) -> String {
        match self {
            RankingError::Domain(err) => match err {
                DomainError::InvalidTieBreakers(_) => "排序规则（tie_keys）无效".to_owned(),
                DomainError::TieValueCount { .. } | DomainError::KeyWidth { .. } => {
                    "同一周期的排序规则不一致，请核对评分规则版本".to_owned()
                }
                DomainError::DuplicateApplicationId(id) => format!("申请 {id} 重复"),
                DomainError::DuplicateApplicationNumber(n) => format!("申请编号 {n} 重复"),
                DomainError::DuplicateSchool(s) => format!("学位计划中学校 {s} 重复"),
                DomainError::InvalidBucketWidth(_) => {
                    "分组宽度（bucket_width）必须为正数".to_owned()
                }
                DomainError::TooManyBuckets { .. } => {
                    "分组过多，请加大分组宽度（bucket_width）".to_owned()
                }
                DomainError::MalformedRedisMember(_) | DomainError::Csv(_) => {
                    jifen_kit::error::INTERNAL_MESSAGE.to_owned()
                }
            },
            other => other.to_string(),
        }
    }
}

impl From<RankingError> for tonic::Status {
    fn from(err: RankingError) -> Self {
        jifen_kit::error::to_status(&err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_details_stay_in_the_logs() {
        let status = tonic::Status::from(RankingError::Board(BoardError::Redis(
            "connection refused 10.0.0.7".into(),
        )));
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("10.0.0.7"));
    }

    #[test]
    fn public_messages_are_chinese() {
        let status = tonic::Status::from(RankingError::NotFound("排名记录"));
        assert_eq!(status.code(), tonic::Code::NotFound);
        assert_eq!(status.message(), "排名记录不存在");
        let status = tonic::Status::from(RankingError::Domain(
            DomainError::DuplicateApplicationNumber("WZ-1".into()),
        ));
        assert_eq!(status.code(), tonic::Code::FailedPrecondition);
        assert_eq!(status.message(), "申请编号 WZ-1 重复");
    }
}
