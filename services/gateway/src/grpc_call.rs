//! Calls from the edge into the components: the caller's token (bearer header or session cookie)
//! and tenant travel as gRPC metadata, with the trace context.

use axum::http::{HeaderMap, header};
use tonic::metadata::MetadataValue;

use crate::security::{SESSION_COOKIE, cookie};

/// Returns the access token of a request: `Authorization: Bearer …` or the session cookie.
pub fn access_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned)
        .or_else(|| cookie(headers, SESSION_COOKIE).map(str::to_owned))
        .filter(|t| !t.is_empty())
}

/// Wraps `message` in a gRPC request carrying the caller's token, tenant and client address.
pub fn request<T>(headers: &HeaderMap, message: T) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    let metadata = req.metadata_mut();
    if let Some(token) = access_token(headers)
        && let Ok(value) = MetadataValue::try_from(format!("Bearer {token}"))
    {
        metadata.insert("authorization", value);
    }
    if let Some(tenant) = headers
        .get(jifen_kit::auth::TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| MetadataValue::try_from(v).ok())
    {
        metadata.insert(jifen_kit::auth::TENANT_HEADER, tenant);
    }
    if let Some(client) = headers
        .get(CLIENT_ADDR_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| MetadataValue::try_from(v).ok())
    {
        metadata.insert("x-forwarded-for", client);
    }
    req
}

/// Header the edge sets to the peer address it saw (overwriting anything a client sent).
pub const CLIENT_ADDR_HEADER: &str = "x-jifen-client-addr";

/// Middleware recording the connection's peer address for rate limits downstream.
pub async fn record_client_addr(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let peer = req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    req.headers_mut().remove(CLIENT_ADDR_HEADER);
    if let Some(value) = peer.and_then(|p| axum::http::HeaderValue::from_str(&p).ok()) {
        req.headers_mut().insert(CLIENT_ADDR_HEADER, value);
    }
    next.run(req).await
}
