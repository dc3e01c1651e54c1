//! Channels to other components, with the trace context injected into every call.

use std::time::Duration;

use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

use crate::config::Config;

/// Interceptor that propagates the W3C trace context of the current span.
#[derive(Debug, Clone, Copy, Default)]
pub struct Propagate;

impl tonic::service::Interceptor for Propagate {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        crate::trace_context::inject_current(req.metadata_mut());
        Ok(req)
    }
}

/// A channel to a component with trace propagation; wrap it in a generated client.
pub type PeerChannel = InterceptedService<Channel, Propagate>;

/// An address that is not a usable gRPC endpoint.
#[derive(Debug, thiserror::Error)]
#[error("invalid peer address {url:?}: {reason}")]
pub struct PeerError {
    url: String,
    reason: String,
}

/// Returns a lazily connecting channel to `url` (connects on first use, reconnects on failure).
pub fn channel(url: &str) -> Result<PeerChannel, PeerError> {
    let endpoint = Endpoint::from_shared(url.to_owned()).map_err(|err| PeerError {
        url: url.to_owned(),
        reason: err.to_string(),
    })?;
    let channel = endpoint
        .connect_timeout(Duration::from_secs(3))
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .connect_lazy();
    Ok(InterceptedService::new(channel, Propagate))
}

/// Returns the URL of `component`: the configured peer, or this process's own gRPC address.
pub fn peer_url(config: &Config, component: &str, local_grpc: std::net::SocketAddr) -> String {
    match config.peers.get(component) {
        Some(url) => url.to_owned(),
        None => format!("http://{local_grpc}"),
    }
}
