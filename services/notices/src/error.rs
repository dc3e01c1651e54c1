//! The notices error enum, mapped once to gRPC (with an encoded `ErrorDetail`).

use jifen_kit::error::{ErrorCode, ServiceError};
use prost::Message as _;

/// Everything notices can refuse or fail with. Public messages are Chinese, lowercase-free by
/// nature, and never carry internal details.
#[derive(Debug, thiserror::Error)]
pub enum NoticesError {
    /// A request field is malformed; `field` names it, the message says why.
    #[error("{message}")]
    Invalid {
        /// Request field (or template variable path).
        field: String,
        /// Stable machine code (`required`, `too_long`, `unknown_value` …).
        code: &'static str,
        /// The problem, Chinese, naming the field.
        message: String,
    },
    /// The template uses variables its event does not provide (or that were not declared).
    #[error("模板使用了不可用的变量：{}", .0.join("、"))]
    UnknownVariables(Vec<String>),
    /// Not there, or not visible to this caller (another tenant's object answers this too).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Outside the caller's role or tenant.
    #[error("无权执行此操作")]
    PermissionDenied,
    /// Not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// Someone else changed the object first.
    #[error("数据已被他人修改，请刷新后重试")]
    StaleVersion,
    /// Storage failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Anything else unexpected.
    #[error("internal: {0}")]
    Internal(String),
}

impl NoticesError {
    /// Returns an Invalid error about `field`.
    pub fn invalid(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.to_owned(),
            code,
            message: message.into(),
        }
    }

    /// Returns the gRPC status: the public message and an encoded `jifen.common.v1.ErrorDetail`.
    pub fn to_status(&self) -> tonic::Status {
        use jifen_proto::common::v1::{ErrorDetail, FieldViolation};
        let code = self.code();
        if code == ErrorCode::Internal {
            return jifen_kit::error::to_status(self);
        }
        let message = self.public_message();
        let (detail_code, violations) = match self {
            Self::Invalid {
                field,
                code,
                message,
            } => (
                "invalid_argument",
                vec![FieldViolation {
                    path: field.clone(),
                    code: (*code).to_owned(),
                    message_zh: message.clone(),
                }],
            ),
            Self::UnknownVariables(names) => (
                "invalid_argument",
                names
                    .iter()
                    .map(|name| FieldViolation {
                        path: format!("template.variables.{name}"),
                        code: "unknown_key".to_owned(),
                        message_zh: format!("变量 {name} 不可用"),
                    })
                    .collect(),
            ),
            Self::NotFound(_) => ("not_found", vec![]),
            Self::PermissionDenied => ("permission_denied", vec![]),
            Self::FailedPrecondition(_) => ("failed_precondition", vec![]),
            Self::StaleVersion => ("stale_version", vec![]),
            Self::Database(_) | Self::Internal(_) => ("internal", vec![]),
        };
        let detail = ErrorDetail {
            code: detail_code.to_owned(),
            message_zh: message.clone(),
            violations,
            retry_after_seconds: 0,
        };
        tonic::Status::with_details(code.grpc_code(), message, detail.encode_to_vec().into())
    }
}

impl ServiceError for NoticesError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid { .. } | Self::UnknownVariables(_) => ErrorCode::InvalidArgument,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::PermissionDenied => ErrorCode::PermissionDenied,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::StaleVersion => ErrorCode::Aborted,
            Self::Database(_) | Self::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<NoticesError> for tonic::Status {
    fn from(err: NoticesError) -> Self {
        err.to_status()
    }
}
