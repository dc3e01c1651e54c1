//! The materials error enum, mapped once to gRPC (with an encoded `ErrorDetail`).

use jifen_kit::error::{ErrorCode, ServiceError};
use prost::Message as _;

/// Everything materials can refuse or fail with. Public messages are Chinese and name the problem.
#[derive(Debug, thiserror::Error)]
pub enum MaterialsError {
    /// A request field is malformed; the message names the field.
    #[error("{message}")]
    Invalid {
        /// Request field, e.g. `file_name`.
        field: &'static str,
        /// Stable machine code, e.g. `too_long`.
        code: &'static str,
        /// The problem for a person.
        message: String,
    },
    /// The uploaded object failed a check at confirmation; it was deleted.
    #[error("{message}")]
    Rejected {
        /// `type_not_allowed`, `checksum_mismatch`, `size_mismatch`, `missing_object`,
        /// `application_quota_exceeded`.
        code: &'static str,
        /// The problem for a person.
        message: String,
    },
    /// A limit of the tenant's upload policy would be exceeded.
    #[error("{0}")]
    QuotaExceeded(String),
    /// Not there, or not visible to this caller (another tenant's object answers this too).
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Outside the caller's role or scope.
    #[error("无权执行此操作")]
    PermissionDenied,
    /// Not allowed in the current state.
    #[error("{0}")]
    FailedPrecondition(String),
    /// The object was changed by someone else since it was read.
    #[error("数据已被他人修改，请刷新后重试")]
    StaleVersion,
    /// Storage failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Object storage failed.
    #[error("object storage: {0}")]
    Storage(String),
    /// A component materials depends on (review, for access scopes) did not answer.
    #[error("审核服务暂时不可用，请稍后重试")]
    Unavailable(String),
}

impl MaterialsError {
    /// Returns an Invalid error about `field`.
    pub fn invalid(field: &'static str, code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            code,
            message: message.into(),
        }
    }

    /// Returns a storage error from any displayable S3 failure.
    pub fn storage(err: impl std::fmt::Display) -> Self {
        Self::Storage(err.to_string())
    }

    /// Returns the stable machine code carried in `ErrorDetail.code`.
    pub fn detail_code(&self) -> &'static str {
        match self {
            Self::Invalid { .. } => "invalid_argument",
            Self::Rejected { code, .. } => code,
            Self::QuotaExceeded(_) => "quota_exceeded",
            Self::NotFound(_) => "not_found",
            Self::PermissionDenied => "permission_denied",
            Self::FailedPrecondition(_) => "failed_precondition",
            Self::StaleVersion => "stale_version",
            Self::Unavailable(_) => "unavailable",
            Self::Database(_) | Self::Storage(_) => "internal",
        }
    }

    /// Returns the gRPC status: the public message and an encoded `jifen.common.v1.ErrorDetail`.
    pub fn to_status(&self) -> tonic::Status {
        use jifen_proto::common::v1::{ErrorDetail, FieldViolation};
        let code = self.code();
        if code == ErrorCode::Internal {
            return jifen_kit::error::to_status(self);
        }
        let violations = match self {
            Self::Invalid {
                field,
                code,
                message,
            } => vec![FieldViolation {
                path: (*field).to_owned(),
                code: (*code).to_owned(),
                message_zh: message.clone(),
            }],
            _ => Vec::new(),
        };
        let detail = ErrorDetail {
            code: self.detail_code().to_owned(),
            message_zh: self.public_message(),
            violations,
            retry_after_seconds: 0,
        };
        tonic::Status::with_details(
            code.grpc_code(),
            self.public_message(),
            detail.encode_to_vec().into(),
        )
    }
}

impl ServiceError for MaterialsError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid { .. } | Self::Rejected { .. } | Self::QuotaExceeded(_) => {
                ErrorCode::InvalidArgument
            }
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::PermissionDenied => ErrorCode::PermissionDenied,
            Self::FailedPrecondition(_) => ErrorCode::FailedPrecondition,
            Self::StaleVersion => ErrorCode::Aborted,
            Self::Unavailable(_) => ErrorCode::Unavailable,
            Self::Database(_) | Self::Storage(_) => ErrorCode::Internal,
        }
    }
}

impl From<MaterialsError> for tonic::Status {
    fn from(err: MaterialsError) -> Self {
        err.to_status()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejections_name_the_problem_and_internal_errors_hide_details() {
        let status = MaterialsError::Rejected {
            code: "type_not_allowed",
            message: "文件内容不是PDF/JPEG/PNG格式".to_owned(),
        }
        .to_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), "文件内容不是PDF/JPEG/PNG格式");
        let detail =
            jifen_proto::common::v1::ErrorDetail::decode(status.details()).expect("detail");
        assert_eq!(detail.code, "type_not_allowed");

        let status = MaterialsError::Storage("secret-bucket-name".to_owned()).to_status();
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
    }
}
