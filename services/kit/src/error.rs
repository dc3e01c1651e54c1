//! One convention for errors on the wire: each component has its own `thiserror` enum and
//! implements [`ServiceError`] once; [`to_status`] and [`ErrorCode::http_status`] map it for gRPC
//! and HTTP. Internal details are logged, never sent.

use tonic::Status;

/// The small set of error classes callers can act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The input is malformed; the message names the field.
    InvalidArgument,
    /// Not there, or not visible to this caller (another tenant's object answers this too).
    NotFound,
    /// Would create a duplicate.
    AlreadyExists,
    /// Authenticated but not allowed.
    PermissionDenied,
    /// Not authenticated.
    Unauthenticated,
    /// Not allowed in the current state (e.g. an illegal transition).
    FailedPrecondition,
    /// Lost a race (optimistic concurrency); reload and retry.
    Aborted,
    /// Too many requests; retry later.
    ResourceExhausted,
    /// A dependency is down; retry later.
    Unavailable,
    /// A bug or an unexpected failure.
    Internal,
}

impl ErrorCode {
    /// Returns the gRPC code.
    pub fn grpc_code(self) -> tonic::Code {
        match self {
            ErrorCode::InvalidArgument => tonic::Code::InvalidArgument,
            ErrorCode::NotFound => tonic::Code::NotFound,
            ErrorCode::AlreadyExists => tonic::Code::AlreadyExists,
            ErrorCode::PermissionDenied => tonic::Code::PermissionDenied,
            ErrorCode::Unauthenticated => tonic::Code::Unauthenticated,
            ErrorCode::FailedPrecondition => tonic::Code::FailedPrecondition,
            ErrorCode::Aborted => tonic::Code::Aborted,
            ErrorCode::ResourceExhausted => tonic::Code::ResourceExhausted,
            ErrorCode::Unavailable => tonic::Code::Unavailable,
            ErrorCode::Internal => tonic::Code::Internal,
        }
    }

    /// Returns the HTTP status.
    pub fn http_status(self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            ErrorCode::InvalidArgument => S::BAD_REQUEST,
            ErrorCode::NotFound => S::NOT_FOUND,
            ErrorCode::AlreadyExists | ErrorCode::Aborted => S::CONFLICT,
            ErrorCode::PermissionDenied => S::FORBIDDEN,
            ErrorCode::Unauthenticated => S::UNAUTHORIZED,
            ErrorCode::FailedPrecondition => S::UNPROCESSABLE_ENTITY,
            ErrorCode::ResourceExhausted => S::TOO_MANY_REQUESTS,
            ErrorCode::Unavailable => S::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => S::INTERNAL_SERVER_ERROR,
        }
    }

    /// Returns the class of a gRPC code (for the gateway mapping statuses back).
    pub fn from_grpc(code: tonic::Code) -> Self {
        match code {
            tonic::Code::InvalidArgument | tonic::Code::OutOfRange => ErrorCode::InvalidArgument,
            tonic::Code::NotFound => ErrorCode::NotFound,
            tonic::Code::AlreadyExists => ErrorCode::AlreadyExists,
            tonic::Code::PermissionDenied => ErrorCode::PermissionDenied,
            tonic::Code::Unauthenticated => ErrorCode::Unauthenticated,
            tonic::Code::FailedPrecondition => ErrorCode::FailedPrecondition,
            tonic::Code::Aborted => ErrorCode::Aborted,
            tonic::Code::ResourceExhausted => ErrorCode::ResourceExhausted,
            tonic::Code::Unavailable | tonic::Code::DeadlineExceeded => ErrorCode::Unavailable,
            _ => ErrorCode::Internal,
        }
    }
}

/// The message a caller sees for an internal error.
pub const INTERNAL_MESSAGE: &str = "系统繁忙，请稍后重试";

/// Implemented once by every component's error enum.
pub trait ServiceError: std::error::Error {
    /// Returns the class of this error.
    fn code(&self) -> ErrorCode;

    /// Returns the message shown to people (Simplified Chinese). Defaults to the Display text.
    fn public_message(&self) -> String {
        self.to_string()
    }
}

/// Maps a component error to a gRPC status, logging internal ones and hiding their details.
pub fn to_status(err: &dyn ServiceError) -> Status {
    match err.code() {
        ErrorCode::Internal => {
            tracing::error!(error = %err, "internal error");
            Status::internal(INTERNAL_MESSAGE)
        }
        ErrorCode::ResourceExhausted => {
            let mut status = Status::resource_exhausted(err.public_message());
            status.metadata_mut().insert(
                "retry-after",
                tonic::metadata::MetadataValue::from_static("1"),
            );
            status
        }
        code => Status::new(code.grpc_code(), err.public_message()),
    }
}

/// Logs an unexpected failure and returns the fixed internal status.
pub fn internal(err: impl std::fmt::Display) -> Status {
    tracing::error!(error = %err, "internal error");
    Status::internal(INTERNAL_MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    enum Sample {
        #[error("数据库连接失败: password=secret")]
        Db,
        #[error("身份证号校验位错误")]
        BadId,
    }

    impl ServiceError for Sample {
        fn code(&self) -> ErrorCode {
            match self {
                Sample::Db => ErrorCode::Internal,
                Sample::BadId => ErrorCode::InvalidArgument,
            }
        }
    }

    #[test]
    fn internal_details_never_reach_the_caller() {
        let status = to_status(&Sample::Db);
        assert_eq!(status.code(), tonic::Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn public_errors_keep_their_message() {
        let status = to_status(&Sample::BadId);
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(status.message(), "身份证号校验位错误");
        assert_eq!(ErrorCode::InvalidArgument.http_status(), 400);
    }
}
