//! Security headers on every response, and CSRF protection for cookie-authenticated writes: the
//! double-submit pattern (a `jifen_csrf` cookie the page's script echoes in `X-CSRF-Token`).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::problem::Problem;

/// Cookie carrying the access token for the browser.
pub const SESSION_COOKIE: &str = "jifen_session";
/// Cookie carrying the refresh token (sent only to the session endpoint).
pub const REFRESH_COOKIE: &str = "jifen_refresh";
/// Cookie carrying the CSRF token (readable by the page's script).
pub const CSRF_COOKIE: &str = "jifen_csrf";
/// Header the page echoes the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// No inline scripts or styles, nothing from other origins.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
frame-ancestors 'none'";

/// Returns the value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Middleware: refuses cookie-authenticated writes without a matching CSRF token, adds security
/// headers, and hands out a CSRF cookie to browsers that have none.
pub async fn protect(req: Request, next: Next) -> Response {
    let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let has_bearer = req.headers().contains_key(header::AUTHORIZATION);
    let has_session = cookie(req.headers(), SESSION_COOKIE).is_some();
    if unsafe_method && has_session && !has_bearer {
        let expected = cookie(req.headers(), CSRF_COOKIE);
        let given = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
        let ok = matches!((expected, given), (Some(e), Some(g)) if !e.is_empty() && e == g);
        if !ok {
            let mut problem = Problem::new(
                jifen_kit::ErrorCode::PermissionDenied,
                "请求缺少安全校验令牌，请刷新页面后重试",
            );
            problem.code = "csrf";
            return with_headers(problem.into_response());
        }
    }
    // Browsers get the double-submit cookie; API clients with a bearer token never use it.
    let needs_csrf_cookie = !has_bearer && cookie(req.headers(), CSRF_COOKIE).is_none();
    let mut response = with_headers(next.run(req).await);
    if needs_csrf_cookie
        && let Ok(value) = HeaderValue::from_str(&format!(
            "{CSRF_COOKIE}={}; Path=/; Secure; SameSite=Strict",
            random_token()
        ))
    {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

fn with_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static("max-age=31536000"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cookies_among_many() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; jifen_csrf=abc; jifen_session=tok"),
        );
        assert_eq!(cookie(&headers, CSRF_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("tok"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
