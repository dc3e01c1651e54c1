//! The gateway: jifen's HTTP edge. It serves the JSON API and the zh-CN portal, and calls the
//! components over gRPC like any other client.

use axum::Router;
use axum::response::Html;
use axum::routing::get;

/// Component name, as used by `--target`.
pub const NAME: &str = "gateway";

/// Returns the gateway's routes.
pub fn router(_ctx: &jifen_kit::component::Peers) -> Router {
    Router::new().route("/", get(home))
}

async fn home() -> Html<&'static str> {
    Html(include_str!("../assets/index.html"))
}
