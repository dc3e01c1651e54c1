//! The identity error enum, mapped once to gRPC (with an encoded `ErrorDetail`).

use jifen_kit::error::{ErrorCode, ServiceError};
use prost::Message as _;

use crate::domain::field::FieldProblem;

/// Everything identity can refuse or fail with. Public messages are Chinese and never name
/// whether a person exists.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A request field is malformed; the message names the field.
    #[error("{}", .0.first().map(|p| p.message.as_str()).unwrap_or("请求内容有误"))]
    Invalid(Vec<FieldProblem>),
    /// Registration refused: the same message whether the ID or mobile number is taken.
    #[error(
        "无法使用该身份证号或手机号注册。如果您已注册过，请直接登录；忘记密码请到街道窗口办理重置"
    )]
    RegistrationRefused,
    /// Wrong login or password, unknown account or disabled account: one message for all.
    #[error("账号或密码错误")]
    LoginFailed,
    /// Too many failed logins.
    #[error("登录失败次数过多，请 {retry_after_secs} 秒后再试")]
    RateLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// Too many registrations from one client address.
    #[error("该网络注册次数过多，请 {} 分钟后再试；如需帮助请到街道窗口办理", .retry_after_secs.div_ceil(60))]
    RegisterLimited {
        /// Seconds until a retry may succeed.
        retry_after_secs: u64,
    },
    /// The record changed since the caller read it (optimistic concurrency).
    #[error("{0}已被他人修改，请刷新后重试")]
    Conflict(&'static str),
    /// The session or refresh token is not (or no longer) valid.
    #[error("登录已失效，请重新登录")]
    SessionInvalid,
    /// The current password given to ChangePassword is wrong.
    #[error("当前密码（current_password）不正确")]
    WrongCurrentPassword,
    /// Not there, or not visible to this caller.
    #[error("{0}不存在")]
    NotFound(&'static str),
    /// Outside the caller's role or scope.
    #[error("无权执行此操作")]
    PermissionDenied,
    /// Signing keys come from configuration and cannot be rotated by an rpc.
    #[error("签名密钥由配置管理，请通过配置轮换（auth.signing_keys）")]
    KeysFromConfig,
    /// Storage failed.
    #[error("database: {0}")]
    Database(#[from] sea_orm::DbErr),
    /// Redis failed.
    #[error("redis: {0}")]
    Redis(String),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(String),
    /// Secrets or settings are unusable.
    #[error("config: {0}")]
    Config(String),
}

impl IdentityError {
    /// Returns an Invalid error about one field.
    pub fn field(problem: FieldProblem) -> Self {
        Self::Invalid(vec![problem])
    }

    /// Returns the gRPC status: the public message, `retry-after` on rate limits, and an encoded
    /// `jifen.common.v1.ErrorDetail`.
    pub fn to_status(&self) -> tonic::Status {
        use jifen_proto::common::v1::{ErrorDetail, FieldViolation};
        let code = self.code();
        if code == ErrorCode::Internal {
            return jifen_kit::error::to_status(self);
        }
        let (detail_code, retry) = match self {
            Self::Invalid(_) => ("invalid_argument", 0),
            Self::RegistrationRefused => ("duplicate", 0),
            Self::LoginFailed | Self::SessionInvalid => ("unauthenticated", 0),
            Self::RateLimited { retry_after_secs } | Self::RegisterLimited { retry_after_secs } => {
                ("rate_limited", *retry_after_secs)
            }
            Self::Conflict(_) => ("conflict", 0),
            Self::NotFound(_) => ("not_found", 0),
            Self::PermissionDenied => ("permission_denied", 0),
            Self::WrongCurrentPassword => ("invalid_argument", 0),
            _ => ("failed_precondition", 0),
        };
        let violations = match self {
            Self::Invalid(problems) => problems
                .iter()
                .map(|p| FieldViolation {
                    path: p.field.to_owned(),
                    code: p.code.to_owned(),
                    message_zh: p.message.clone(),
                })
                .collect(),
            _ => Vec::new(),
        };
        let detail = ErrorDetail {
            code: detail_code.to_owned(),
            message_zh: self.public_message(),
            violations,
            retry_after_seconds: u32::try_from(retry).unwrap_or(u32::MAX),
        };
        let mut status = tonic::Status::with_details(
            code.grpc_code(),
            self.public_message(),
            detail.encode_to_vec().into(),
        );
        if retry > 0
            && let Ok(value) = retry.to_string().parse()
        {
            status.metadata_mut().insert("retry-after", value);
        }
        status
    }
}

impl ServiceError for IdentityError {
    fn code(&self) -> ErrorCode {
        match self {
            Self::Invalid(_) | Self::WrongCurrentPassword => ErrorCode::InvalidArgument,
            Self::RegistrationRefused => ErrorCode::AlreadyExists,
            Self::LoginFailed | Self::SessionInvalid => ErrorCode::Unauthenticated,
            Self::RateLimited { .. } | Self::RegisterLimited { .. } => ErrorCode::ResourceExhausted,
            Self::Conflict(_) => ErrorCode::Aborted,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::PermissionDenied => ErrorCode::PermissionDenied,
            Self::KeysFromConfig => ErrorCode::FailedPrecondition,
            Self::Database(_) | Self::Redis(_) | Self::Crypto(_) | Self::Config(_) => {
                ErrorCode::Internal
            }
        }
    }
}

impl From<FieldProblem> for IdentityError {
    fn from(problem: FieldProblem) -> Self {
        Self::field(problem)
    }
}

impl From<redis::RedisError> for IdentityError {
    fn from(err: redis::RedisError) -> Self {
        Self::Redis(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limits_carry_retry_after_and_internal_errors_hide_details() {
        let status = IdentityError::RateLimited {
            retry_after_secs: 8,
        }
        .to_status();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert_eq!(
            status
                .metadata()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("8")
        );
        let status = IdentityError::RegisterLimited {
            retry_after_secs: 3599,
        }
        .to_status();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("60 分钟"), "{}", status.message());
        assert_eq!(
            status
                .metadata()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("3599")
        );
        let status = IdentityError::Crypto("key abc".into()).to_status();
        assert!(!status.message().contains("abc"));
    }
}
