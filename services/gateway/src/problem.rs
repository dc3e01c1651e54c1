//! Errors as `application/problem+json`: a Chinese `detail` for people and a stable `code` for
//! programs. gRPC statuses from the components map here once.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_kit::ErrorCode;
use serde::Serialize;

/// Seconds a client is asked to wait when the edge or a component is saturated.
pub const RETRY_AFTER_SECS: u64 = 2;

/// One API error.
#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    /// HTTP status.
    #[serde(serialize_with = "status_code")]
    pub status: StatusCode,
    /// Stable machine-readable code, e.g. `invalid_argument`.
    pub code: &'static str,
    /// Short Chinese title of the class.
    pub title: &'static str,
    /// Chinese message for people, naming the problem.
    pub detail: String,
}

fn status_code<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    /// Returns a problem of `class` with `detail`.
    pub fn new(class: ErrorCode, detail: impl Into<String>) -> Self {
        let (code, title) = describe(class);
        let mut detail = detail.into();
        if detail.is_empty() {
            detail = title.to_owned();
        }
        // Saturation is never a server error at the edge: callers are told to come back.
        let status = match class {
            ErrorCode::Unavailable => StatusCode::TOO_MANY_REQUESTS,
            other => other.http_status(),
        };
        Self {
            status,
            code,
            title,
            detail,
        }
    }

    /// Returns a 400 naming the bad field.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidArgument, detail)
    }
}

fn describe(class: ErrorCode) -> (&'static str, &'static str) {
    match class {
        ErrorCode::InvalidArgument => ("invalid_argument", "请求内容有误"),
        ErrorCode::NotFound => ("not_found", "未找到相关内容"),
        ErrorCode::AlreadyExists => ("already_exists", "内容已存在"),
        ErrorCode::PermissionDenied => ("permission_denied", "无权执行此操作"),
        ErrorCode::Unauthenticated => ("unauthenticated", "请先登录"),
        ErrorCode::FailedPrecondition => ("failed_precondition", "当前状态下不能执行此操作"),
        ErrorCode::Aborted => ("conflict", "内容已被他人修改，请刷新后重试"),
        ErrorCode::ResourceExhausted => ("too_many_requests", "访问人数较多，请稍后重试"),
        ErrorCode::Unavailable => ("unavailable", "服务繁忙，请稍后重试"),
        ErrorCode::Internal => ("internal", jifen_kit::error::INTERNAL_MESSAGE),
    }
}

impl From<tonic::Status> for Problem {
    fn from(status: tonic::Status) -> Self {
        let class = ErrorCode::from_grpc(status.code());
        let detail = match class {
            // Component messages for these are already public and Chinese; others get the
            // class title so nothing internal leaks.
            ErrorCode::Internal | ErrorCode::Unavailable => String::new(),
            // A message without Chinese is not for residents: show the class title instead.
            _ if !has_chinese(status.message()) => String::new(),
            _ => status.message().to_owned(),
        };
        if class == ErrorCode::Internal {
            tracing::error!(code = ?status.code(), message = %status.message(), "component error");
        }
        Problem::new(class, detail)
    }
}

/// Returns whether `text` holds CJK characters (a message meant for people).
pub fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json; charset=utf-8"),
        );
        if status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_messages_pass_but_internals_do_not() {
        let p = Problem::from(tonic::Status::invalid_argument("身份证号校验位错误"));
        assert_eq!(p.status, StatusCode::BAD_REQUEST);
        assert_eq!(p.detail, "身份证号校验位错误");
        let p = Problem::from(tonic::Status::internal("connection refused: password=x"));
        assert_eq!(p.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!p.detail.contains("password"));
    }

    #[test]
    fn unavailable_backends_become_429_not_5xx() {
        let p = Problem::from(tonic::Status::unavailable("tcp connect error"));
        assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
        let response = p.into_response();
        assert!(response.headers().contains_key(header::RETRY_AFTER));
    }
}
