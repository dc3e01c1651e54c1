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
pub mod cache;
pub mod charts;
pub mod dynamic_call;
pub mod grpc_call;
pub mod problem;
pub mod rest;
pub mod security;
pub mod session;
pub mod uploads;

pub use admission::Limits;

/// Component name, as used by `--target`.
pub const NAME: &str = "gateway";

/// gRPC clients of the components and the HTTP client for the object store, cheap to clone
/// (every request clones them: shared, not copied).
#[derive(Debug, Clone)]
pub struct Clients {
    channels: std::sync::Arc<[(&'static str, PeerChannel)]>,
    /// Object-store endpoint presigned URLs point at (uploads are relayed only there).
    s3_endpoint: std::sync::Arc<str>,
    http: reqwest::Client,
    /// Short-lived answers of the hottest GET routes (see [`cache`]).
    pub cache: std::sync::Arc<cache::ResponseCache>,
}

impl Clients {
    /// Connects (lazily) to the components `peers` names.
    pub fn new(
        peers: &Peers,
        s3_endpoint: &str,
    ) -> Result<Self, jifen_kit::grpc_client::PeerError> {
        let mut channels = Vec::new();
        for component in [
            "identity",
            "scoring",
            "materials",
            "review",
            "ranking",
            "notices",
        ] {
            channels.push((component, peers.channel(component)?));
        }
        Ok(Self {
            channels: channels.into(),
            s3_endpoint: s3_endpoint.into(),
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap_or_default(),
            cache: std::sync::Arc::default(),
        })
    }

    /// Returns the channel to `component`.
    pub fn channel(&self, component: &str) -> Result<PeerChannel, problem::Problem> {
        self.channels
            .iter()
            .find(|(name, _)| *name == component)
            .map(|(_, c)| c.clone())
            .ok_or_else(|| problem::Problem::from(tonic::Status::internal("unknown component")))
    }

    fn typed(&self, component: &str) -> PeerChannel {
        match self.channel(component) {
            Ok(c) => c,
            Err(_) => self.channels[0].1.clone(),
        }
    }

    /// Returns an identity client.
    pub fn identity(&self) -> IdentityServiceClient<PeerChannel> {
        IdentityServiceClient::new(self.typed("identity"))
    }

    /// Returns a scoring client.
    pub fn scoring(&self) -> ScoringServiceClient<PeerChannel> {
        ScoringServiceClient::new(self.typed("scoring"))
    }
}

/// How the edge reaches what is not a gRPC component.
#[derive(Debug, Clone, Default)]
pub struct Edge {
    /// The object-store endpoint materials presigns URLs for (the embedded one or S3).
    pub s3_endpoint: String,
}

/// Pages of the portal: path and embedded file.
pub const PAGES: &[(&str, &str)] = &[
    ("/", "index.html"),
    ("/simulate", "simulate.html"),
    ("/rules", "rules.html"),
    ("/faq", "faq.html"),
    ("/register", "register.html"),
    ("/login", "login.html"),
    ("/me", "me.html"),
    ("/apply", "apply.html"),
    ("/application", "application.html"),
    ("/review", "review.html"),
    ("/case", "case.html"),
    ("/verify", "verify.html"),
    ("/admin", "admin.html"),
    ("/city", "city.html"),
    ("/publicity", "publicity.html"),
    ("/charts", "charts.html"),
    ("/downloads", "downloads.html"),
    ("/notices", "notices.html"),
];

/// Returns the gateway's routes, relaying uploads to `edge.s3_endpoint`.
pub fn router_with(
    peers: &Peers,
    limits: Limits,
    edge: Edge,
) -> Result<Router, jifen_kit::grpc_client::PeerError> {
    let trust_forwarded_for = limits.trust_forwarded_for;
    let clients = Clients::new(peers, &edge.s3_endpoint)?;
    let api = Router::new()
        .route("/.well-known/jwks.json", get(api::jwks))
        .route("/api/v1/tenants", get(api::tenants))
        .route("/api/v1/simulate", post(api::simulate))
        .route("/api/v1/rules", get(api::rules))
        .route("/api/v1/accounts", post(session::register))
        .route(
            "/api/v1/session",
            post(session::login).delete(session::logout),
        )
        .route("/api/v1/session/refresh", post(session::refresh))
        .route(
            "/api/v1/applications/{application_id}/materials",
            post(uploads::create_upload),
        )
        .route(
            "/api/v1/uploads",
            axum::routing::put(uploads::relay_upload).layer(axum::extract::DefaultBodyLimit::max(
                uploads::MAX_UPLOAD_BYTES,
            )),
        )
        .route(
            "/api/v1/materials/{material_id}/content",
            get(uploads::download),
        )
        .route("/charts/cutoff-history.svg", get(charts::cutoff_history))
        .route("/charts/distribution.svg", get(charts::distribution));
    let api = rest::routes(api).with_state(clients);
    let admission = admission::Admission::new(limits);
    let mut pages = Router::new();
    for (path, file) in PAGES {
        pages = pages.route(path, get(move || page(file)));
    }
    Ok(pages
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
        .layer(axum::middleware::from_fn_with_state(
            trust_forwarded_for,
            grpc_call::record_client_addr,
        )))
}

/// `(name, content type, body)` of an embedded asset.
macro_rules! html {
    ($file:literal) => {
        (
            $file,
            "text/html; charset=utf-8",
            include_str!(concat!("../assets/", $file)),
        )
    };
}

/// Static files, embedded in the binary so no CDN or file system is needed.
const ASSETS: &[(&str, &str, &str)] = &[
    html!("index.html"),
    html!("simulate.html"),
    html!("rules.html"),
    html!("faq.html"),
    html!("register.html"),
    html!("login.html"),
    html!("me.html"),
    html!("apply.html"),
    html!("application.html"),
    html!("review.html"),
    html!("case.html"),
    html!("verify.html"),
    html!("admin.html"),
    html!("city.html"),
    html!("publicity.html"),
    html!("charts.html"),
    html!("downloads.html"),
    html!("notices.html"),
    html!("waiting.html"),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/app.js"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/portal.js"),
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
        let served = api::all_paths();
        for path in &served {
            assert!(paths.contains_key(*path), "{path} is not documented");
        }
        for path in paths.keys() {
            assert!(
                served.contains(&path.as_str()),
                "{path} is documented but not served"
            );
        }
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
