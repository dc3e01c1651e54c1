//! The gateway: jifen's HTTP edge. It serves the zh-CN portal and the JSON API, and calls the
//! components over gRPC like any other client. Admission control, security headers and CSRF
//! checks wrap every route.

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jifen_kit::component::Peers;
use jifen_kit::grpc_client::PeerChannel;
use jifen_proto::identity::v1::identity_service_client::IdentityServiceClient;
use jifen_proto::scoring::v1::scoring_service_client::ScoringServiceClient;

pub mod admission;
pub mod api;
pub mod grpc_call;
pub mod problem;
pub mod security;

pub use admission::Limits;

/// Component name, as used by `--target`.
pub const NAME: &str = "gateway";

/// gRPC clients of the components, cheap to clone.
#[derive(Debug, Clone)]
pub struct Clients {
    identity: PeerChannel,
    scoring: PeerChannel,
}

impl Clients {
    /// Connects (lazily) to the components `peers` names.
    pub fn new(peers: &Peers) -> Result<Self, jifen_kit::grpc_client::PeerError> {
        Ok(Self {
            identity: peers.channel("identity")?,
            scoring: peers.channel("scoring")?,
        })
    }

    /// Returns an identity client.
    pub fn identity(&self) -> IdentityServiceClient<PeerChannel> {
        IdentityServiceClient::new(self.identity.clone())
    }

    /// Returns a scoring client.
    pub fn scoring(&self) -> ScoringServiceClient<PeerChannel> {
        ScoringServiceClient::new(self.scoring.clone())
    }
}

/// Returns the gateway's routes with admission control and security applied.
pub fn router(peers: &Peers, limits: Limits) -> Result<Router, jifen_kit::grpc_client::PeerError> {
    let clients = Clients::new(peers)?;
    let api = Router::new()
        .route("/api/v1/tenants", get(api::tenants))
        .route("/api/v1/simulate", post(api::simulate))
        .route("/api/v1/rules", get(api::rules))
        .with_state(clients);
    let admission = admission::Admission::new(limits);
    Ok(Router::new()
        .route("/", get(|| page("index.html")))
        .route("/simulate", get(|| page("simulate.html")))
        .route("/rules", get(|| page("rules.html")))
        .route("/faq", get(|| page("faq.html")))
        .route("/api/openapi.json", get(|| page("openapi.json")))
        .route(
            "/assets/{file}",
            get(|axum::extract::Path(file): axum::extract::Path<String>| asset_owned(file)),
        )
        .merge(api)
        .fallback(|| async {
            problem::Problem::new(jifen_kit::ErrorCode::NotFound, "页面不存在")
        })
        .layer(axum::middleware::from_fn(security::protect))
        .layer(axum::middleware::from_fn_with_state(
            admission,
            admission::admit,
        ))
        .layer(axum::middleware::from_fn(grpc_call::record_client_addr)))
}

/// Static files, embedded in the binary so no CDN or file system is needed.
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "simulate.html",
        "text/html; charset=utf-8",
        include_str!("../assets/simulate.html"),
    ),
    (
        "rules.html",
        "text/html; charset=utf-8",
        include_str!("../assets/rules.html"),
    ),
    (
        "faq.html",
        "text/html; charset=utf-8",
        include_str!("../assets/faq.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../assets/style.css"),
    ),
    (
        "openapi.json",
        "application/json",
        include_str!("../assets/openapi.json"),
    ),
];

fn asset(name: &str) -> Response {
    match ASSETS.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => {
            let mut response = (*body).into_response();
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            response.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            );
            response
        }
        None => (StatusCode::NOT_FOUND, "未找到").into_response(),
    }
}

async fn asset_owned(name: String) -> Response {
    if name.ends_with(".html") {
        return (StatusCode::NOT_FOUND, "未找到").into_response();
    }
    asset(&name)
}

async fn page(name: &'static str) -> Response {
    asset(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openapi_documents_every_api_path() {
        let doc: serde_json::Value =
            serde_json::from_str(include_str!("../assets/openapi.json")).expect("valid JSON");
        let paths = doc["paths"].as_object().expect("paths");
        for path in api::PATHS {
            assert!(paths.contains_key(*path), "{path} is not documented");
        }
        assert_eq!(
            paths.len(),
            api::PATHS.len(),
            "documented paths that do not exist"
        );
    }

    #[test]
    fn pages_have_no_inline_scripts() {
        for (name, _, body) in ASSETS.iter().filter(|(n, _, _)| n.ends_with(".html")) {
            assert!(!body.contains("<script>"), "{name} has an inline script");
            assert!(!body.contains(" style=\""), "{name} has an inline style");
            assert!(
                !body.contains("http://") && !body.contains("https://"),
                "{name} loads from elsewhere"
            );
        }
    }
}
