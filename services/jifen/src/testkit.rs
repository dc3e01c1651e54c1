//! Starts jifen for tests: any set of components on `127.0.0.1:0`, against the embedded default
//! (SQLite in a temp dir) or real PostgreSQL (a fresh database per test process) and Redis (a
//! fresh key prefix per start), with the embedded S3 endpoint, and hands out connected channels.
//!
//! PostgreSQL and Redis are found through `JIFEN_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`) and `JIFEN_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`); `scripts/test.sh` makes sure both answer.

use std::time::Duration;

use jifen_kit::Config;
use jifen_kit::grpc_client::{PeerChannel, channel};
use sea_orm::{ConnectionTrait, Database};
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::target::Target;

/// Where a test jifen keeps its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite files and in-process caches in a temp dir (the embedded default).
    Embedded,
    /// Real PostgreSQL and Redis.
    Real,
}

/// A jifen started for a test; stopped when dropped.
#[derive(Debug)]
pub struct TestJifen {
    app: Option<App>,
    /// Its configuration (addresses filled in).
    pub config: Config,
    /// The temp data dir.
    pub data_dir: tempfile::TempDir,
}

static PG_DATABASE: OnceCell<String> = OnceCell::const_new();

/// Returns the URL of this test process's own fresh PostgreSQL database, creating it once.
pub async fn postgres_url() -> String {
    PG_DATABASE
        .get_or_init(|| async {
            let admin = std::env::var("JIFEN_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!("jifen_t_{}", uuid_simple());
            #[allow(clippy::expect_used)]
            let db = Database::connect(admin.as_str())
                .await
                .expect("test PostgreSQL answers (JIFEN_TEST_PG_URL)");
            #[allow(clippy::expect_used)]
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = db.close().await;
            match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => format!("{admin}/{name}"),
            }
        })
        .await
        .clone()
}

/// Returns the test Redis URL.
pub fn redis_url() -> String {
    std::env::var("JIFEN_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

fn uuid_simple() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}

impl TestJifen {
    /// Starts `targets` on free loopback ports.
    pub async fn start(targets: &[Target], backend: Backend) -> Self {
        let mut config = Config::defaults();
        config.server.grpc_addr = "127.0.0.1:0".to_owned();
        config.server.http_addr = "127.0.0.1:0".to_owned();
        if backend == Backend::Real {
            config.database.url = postgres_url().await;
            config.database.max_connections = 5;
            config.redis.url = redis_url();
            config.redis.key_prefix = format!("test:{}:", uuid_simple());
        }
        Self::start_with(config, targets).await
    }

    /// Starts `targets` with an explicit configuration.
    pub async fn start_with(config: Config, targets: &[Target]) -> Self {
        #[allow(clippy::expect_used)]
        let data_dir = tempfile::tempdir().expect("temp data dir");
        Self::start_in(config, data_dir, targets).await
    }

    /// Starts `targets` with an explicit configuration in a prepared data dir (e.g. seeded).
    pub async fn start_in(
        mut config: Config,
        data_dir: tempfile::TempDir,
        targets: &[Target],
    ) -> Self {
        #[allow(clippy::expect_used)]
        let app = App::start(
            config.clone(),
            data_dir.path().to_owned(),
            targets,
            CancellationToken::new(),
        )
        .await
        .expect("test jifen starts");
        config.server.grpc_addr = app.grpc_addr.to_string();
        config.server.http_addr = app.http_addr.to_string();
        Self {
            app: Some(app),
            config,
            data_dir,
        }
    }

    /// Returns the running app.
    #[allow(clippy::expect_used)]
    pub fn app(&self) -> &App {
        self.app.as_ref().expect("running")
    }

    /// Returns a channel to this process's gRPC port.
    #[allow(clippy::expect_used)]
    pub fn channel(&self) -> PeerChannel {
        channel(&format!("http://{}", self.app().grpc_addr)).expect("loopback channel")
    }

    /// Returns the base URL of the HTTP port.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.app().http_addr)
    }

    /// Stops the process and waits for it to drain.
    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop();
            let _ = app.wait(Duration::from_secs(5)).await;
        }
    }
}

impl Drop for TestJifen {
    fn drop(&mut self) {
        if let Some(app) = &self.app {
            app.stop();
        }
    }
}
