//! Browser sessions over the identity component: register, log in, rotate, log out. The access
//! token travels in the HttpOnly `jifen_session` cookie (Path=/, SameSite=Lax), the refresh token
//! in `jifen_refresh` (Path=/api/v1/session, SameSite=Strict), both Secure. API clients that send
//! `X-Token-Response: body` get the tokens in the JSON body instead and use `Authorization:
//! Bearer`; no cookies are set for them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jifen_proto::identity::v1 as identity;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Clients;
use crate::grpc_call::request;
use crate::problem::Problem;
use crate::security::{CSRF_COOKIE, CSRF_HEADER, REFRESH_COOKIE, SESSION_COOKIE, cookie};

/// Header an API client sets to receive tokens in the body: `X-Token-Response: body`.
pub const TOKEN_RESPONSE_HEADER: &str = "x-token-response";

/// Path the refresh cookie is limited to.
const REFRESH_PATH: &str = "/api/v1/session";

fn wants_body_tokens(headers: &HeaderMap) -> bool {
    headers
        .get(TOKEN_RESPONSE_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("body"))
}

fn seconds_until(at: Option<&prost_types::Timestamp>, fallback: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    at.map_or(fallback, |t| (t.seconds - now).max(1))
}

fn set_cookie(response: &mut Response, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Answers `body` and, for browsers, sets the session cookies from `tokens`.
fn with_tokens(
    headers: &HeaderMap,
    status: StatusCode,
    mut body: Value,
    tokens: Option<&identity::TokenPair>,
) -> Response {
    let as_body = wants_body_tokens(headers);
    if as_body && let Some(t) = tokens {
        body["tokens"] = json!({
            "access_token": t.access_token,
            "refresh_token": t.refresh_token,
            "token_type": if t.token_type.is_empty() { "Bearer" } else { t.token_type.as_str() },
            "expires_in": seconds_until(t.access_expires_at.as_ref(), 900),
            "refresh_expires_in": seconds_until(t.refresh_expires_at.as_ref(), 86_400),
        });
    }
    let mut response = (status, Json(body)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if !as_body && let Some(t) = tokens {
        set_cookie(
            &mut response,
            format!(
                "{SESSION_COOKIE}={}; Path=/; Max-Age={}; HttpOnly; Secure; SameSite=Lax",
                t.access_token,
                seconds_until(t.access_expires_at.as_ref(), 900)
            ),
        );
        set_cookie(
            &mut response,
            format!(
                "{REFRESH_COOKIE}={}; Path={REFRESH_PATH}; Max-Age={}; HttpOnly; Secure; SameSite=Strict",
                t.refresh_token,
                seconds_until(t.refresh_expires_at.as_ref(), 86_400)
            ),
        );
    }
    response
}

fn clear_cookies(response: &mut Response) {
    set_cookie(
        response,
        format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Lax"),
    );
    set_cookie(
        response,
        format!(
            "{REFRESH_COOKIE}=; Path={REFRESH_PATH}; Max-Age=0; HttpOnly; Secure; SameSite=Strict"
        ),
    );
}

fn account_json(account: Option<&identity::Account>) -> Value {
    let Some(a) = account else {
        return Value::Null;
    };
    let roles: Vec<Value> = a
        .roles
        .iter()
        .map(|g| {
            json!({
                "role": jifen_proto::common::v1::Role::try_from(g.role)
                    .map(|r| r.as_str_name().trim_start_matches("ROLE_").to_lowercase())
                    .unwrap_or_default(),
                "tenant": g.tenant,
                "street_code": g.street_code,
                "department_code": g.department_code,
            })
        })
        .collect();
    json!({
        "subject": a.subject,
        "kind": if a.kind == identity::AccountKind::Staff as i32 { "staff" } else { "applicant" },
        "tenant": a.tenant,
        "name": a.name,
        "name_masked": a.person.as_ref().map(|p| p.name_masked.clone()).unwrap_or_default(),
        "roles": roles,
    })
}

fn parse<T: serde::de::DeserializeOwned>(
    body: Result<Json<T>, axum::extract::rejection::JsonRejection>,
) -> Result<T, Problem> {
    body.map(|Json(b)| b).map_err(|e| {
        Problem::invalid(match e {
            axum::extract::rejection::JsonRejection::MissingJsonContentType(_) => {
                "请以 JSON 格式提交（Content-Type: application/json）".to_owned()
            }
            _ => "请求内容不完整或格式不正确，请检查必填项".to_owned(),
        })
    })
}

/// Body of `POST /api/v1/accounts`.
#[derive(Debug, Deserialize)]
pub struct RegisterBody {
    name: String,
    id_number: String,
    mobile: String,
    password: String,
    #[serde(default)]
    residence_permit_number: String,
    #[serde(default)]
    email: String,
}

/// `POST /api/v1/accounts`: real-name registration; the new account is logged in.
pub async fn register(
    State(clients): State<Clients>,
    headers: HeaderMap,
    body: Result<Json<RegisterBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let body = parse(body)?;
    for (value, label) in [
        (&body.name, "姓名"),
        (&body.id_number, "身份证号"),
        (&body.mobile, "手机号码"),
        (&body.password, "密码"),
    ] {
        if value.trim().is_empty() {
            return Err(Problem::invalid(format!("请填写{label}")));
        }
    }
    let answer = clients
        .identity()
        .register(request(
            &headers,
            identity::RegisterRequest {
                name: body.name.trim().to_owned(),
                id_number: body.id_number.trim().to_uppercase(),
                mobile: body.mobile.trim().to_owned(),
                password: body.password,
                residence_permit_number: body.residence_permit_number,
                email: body.email,
            },
        ))
        .await?
        .into_inner();
    Ok(with_tokens(
        &headers,
        StatusCode::CREATED,
        json!({ "account": account_json(answer.account.as_ref()) }),
        answer.tokens.as_ref(),
    ))
}

/// Body of `POST /api/v1/session`.
#[derive(Debug, Deserialize)]
pub struct LoginBody {
    login: String,
    password: String,
}

/// `POST /api/v1/session`: log in with ID number, mobile or staff login name.
pub async fn login(
    State(clients): State<Clients>,
    headers: HeaderMap,
    body: Result<Json<LoginBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, Problem> {
    let body = parse(body)?;
    if body.login.trim().is_empty() || body.password.is_empty() {
        return Err(Problem::invalid("请填写账号和密码"));
    }
    let answer = clients
        .identity()
        .login(request(
            &headers,
            identity::LoginRequest {
                login: body.login.trim().to_owned(),
                password: body.password,
            },
        ))
        .await?
        .into_inner();
    Ok(with_tokens(
        &headers,
        StatusCode::OK,
        json!({
            "account": account_json(answer.account.as_ref()),
            "must_change_password": answer.must_change_password,
        }),
        answer.tokens.as_ref(),
    ))
}

/// Body of refresh and logout for API clients (browsers use the cookie).
#[derive(Debug, Default, Deserialize)]
pub struct RefreshBody {
    #[serde(default)]
    refresh_token: String,
}

/// Returns the refresh token of the request; a cookie-borne one needs the CSRF header.
fn refresh_token(headers: &HeaderMap, body: &[u8]) -> Result<(String, bool), Problem> {
    if !body.iter().all(u8::is_ascii_whitespace)
        && let Ok(parsed) = serde_json::from_slice::<RefreshBody>(body)
        && !parsed.refresh_token.is_empty()
    {
        return Ok((parsed.refresh_token, false));
    }
    let Some(token) = cookie(headers, REFRESH_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(Problem::new(
            jifen_kit::ErrorCode::Unauthenticated,
            "登录已过期，请重新登录",
        ));
    };
    let expected = cookie(headers, CSRF_COOKIE);
    let given = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    if !matches!((expected, given), (Some(e), Some(g)) if !e.is_empty() && e == g) {
        let mut problem = Problem::new(
            jifen_kit::ErrorCode::PermissionDenied,
            "请求缺少安全校验令牌，请刷新页面后重试",
        );
        problem.code = "csrf";
        return Err(problem);
    }
    Ok((token.to_owned(), true))
}

/// `POST /api/v1/session/refresh`: rotates the refresh token (reuse of an old one ends the
/// whole session family, as identity decides).
pub async fn refresh(
    State(clients): State<Clients>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Result<Response, Problem> {
    let (token, from_cookie) = refresh_token(&headers, &body)?;
    let answer = clients
        .identity()
        .refresh(request(
            &headers,
            identity::RefreshRequest {
                refresh_token: token,
            },
        ))
        .await;
    match answer {
        Ok(pair) => Ok(with_tokens(
            &headers,
            StatusCode::OK,
            json!({ "refreshed": true }),
            Some(pair.get_ref()),
        )),
        Err(status) => {
            let mut response = Problem::from(status).into_response();
            if from_cookie {
                clear_cookies(&mut response);
            }
            Ok(response)
        }
    }
}

/// `DELETE /api/v1/session`: logs out (revokes the refresh token) and clears the cookies.
pub async fn logout(
    State(clients): State<Clients>,
    headers: HeaderMap,
    body: bytes::Bytes,
) -> Response {
    if let Ok((token, _)) = refresh_token(&headers, &body) {
        // Logging out succeeds for the browser even if the token was already gone.
        let _ = clients
            .identity()
            .logout(request(
                &headers,
                identity::LogoutRequest {
                    refresh_token: token,
                    all_sessions: false,
                },
            ))
            .await;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_cookies(&mut response);
    response
}
