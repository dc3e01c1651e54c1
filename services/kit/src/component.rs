//! What a component gets when the process starts it.

use std::path::PathBuf;
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;

use crate::blob::BlobStore;
use crate::config::Config;
use crate::grpc_client::{PeerChannel, PeerError, channel};

/// Everything a component needs from its process.
#[derive(Debug, Clone)]
pub struct Context {
    /// The merged configuration.
    pub config: Arc<Config>,
    /// The data dir (SQLite files, embedded S3 objects).
    pub data_dir: PathBuf,
    /// This component's database, migrated.
    pub db: DatabaseConnection,
    /// Redis, when configured; otherwise components use in-process structures.
    pub redis: Option<redis::aio::ConnectionManager>,
    /// Object storage.
    pub blob: BlobStore,
    /// Where the other components are.
    pub peers: Peers,
    /// Cancelled when the process shuts down.
    pub shutdown: CancellationToken,
    /// Tokens this component presents when it calls another component.
    pub service_tokens: Arc<crate::service_token::ServiceTokens>,
}

/// The gRPC URLs of every component, as this process sees them.
#[derive(Debug, Clone)]
pub struct Peers {
    urls: Arc<Vec<(&'static str, String)>>,
}

/// Component names, in start order.
pub const COMPONENTS: [&str; 7] = [
    "identity",
    "scoring",
    "materials",
    "review",
    "ranking",
    "notices",
    "gateway",
];

impl Peers {
    /// Resolves every component's URL from `config`, defaulting to `local` (this process).
    pub fn new(config: &Config, local: std::net::SocketAddr) -> Self {
        let urls = COMPONENTS
            .iter()
            .map(|c| (*c, crate::grpc_client::peer_url(config, c, local)))
            .collect();
        Self {
            urls: Arc::new(urls),
        }
    }

    /// Returns the URL of `component`.
    pub fn url(&self, component: &str) -> Option<&str> {
        self.urls
            .iter()
            .find(|(name, _)| *name == component)
            .map(|(_, url)| url.as_str())
    }

    /// Returns a lazily connecting channel to `component`.
    pub fn channel(&self, component: &str) -> Result<PeerChannel, PeerError> {
        let url = self.url(component).unwrap_or("http://127.0.0.1:50051");
        channel(url)
    }
}
