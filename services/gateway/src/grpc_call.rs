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

/// Middleware recording the client address for rate limits downstream: the connection's peer,
/// or with `trust_forwarded_for` the last `X-Forwarded-For` hop (what the ingress appended).
pub async fn record_client_addr(
    axum::extract::State(trust_forwarded_for): axum::extract::State<bool>,
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let forwarded = trust_forwarded_for
        .then(|| last_forwarded_hop(req.headers()))
        .flatten();
    let peer = forwarded.or_else(|| {
        req.extensions()
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|info| info.0.ip().to_string())
    });
    req.headers_mut().remove(CLIENT_ADDR_HEADER);
    if let Some(value) = peer.and_then(|p| axum::http::HeaderValue::from_str(&p).ok()) {
        req.headers_mut().insert(CLIENT_ADDR_HEADER, value);
    }
    next.run(req).await
}

/// The last address of `X-Forwarded-For` (the hop the trusted proxy added), if it parses.
fn last_forwarded_hop(headers: &HeaderMap) -> Option<String> {
    let all = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    let last = all.rsplit(',').next()?.trim();
    last.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_forwarded_hop_is_the_one_the_proxy_added() {
        let mut h = HeaderMap::new();
        h.append(
            "x-forwarded-for",
            "1.2.3.4, 10.0.0.9".parse().expect("header"),
        );
        h.append("x-forwarded-for", "203.0.113.7".parse().expect("header"));
        assert_eq!(last_forwarded_hop(&h).as_deref(), Some("203.0.113.7"));
        let mut spoofed = HeaderMap::new();
        spoofed.insert("x-forwarded-for", "not-an-address".parse().expect("header"));
        assert_eq!(last_forwarded_hop(&spoofed), None);
        assert_eq!(last_forwarded_hop(&HeaderMap::new()), None);
    }
}
