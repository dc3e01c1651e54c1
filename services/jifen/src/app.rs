//! Assembles one jifen process from its targets: listeners, storage, the components and the
//! HTTP edge. `jifen run`, the end-to-end tests and the test kit all start processes this way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use jifen_kit::Config;
use jifen_kit::auth::AuthLayer;
use jifen_kit::blob::BlobStore;
use jifen_kit::component::{Context, Peers};
use jifen_kit::embedded_s3::EmbeddedS3;
use jifen_kit::grpc_server::GrpcServer;
use jifen_kit::jwks::JwksVerifier;
use jifen_kit::service_token::{ComponentVerifier, ServiceTokens};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::target::Target;

/// HTTP paths every process serves besides the portal.
pub const HTTP_PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// A process that could not start; the message is one line naming the problem.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data dir cannot be created or written.
    #[error("data dir {path} is not usable: {reason}")]
    DataDir {
        /// The folder.
        path: String,
        /// Why.
        reason: String,
    },
    /// A listener could not bind.
    #[error("cannot listen on {addr} ({what}): {reason}")]
    Bind {
        /// gRPC or HTTP.
        what: &'static str,
        /// Address.
        addr: SocketAddr,
        /// Why.
        reason: String,
    },
    /// Storage or another dependency failed.
    #[error("{0}")]
    Dependency(String),
}

/// What a process would run (printed by `--dry-run`).
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// `run` or `migrate`.
    pub command: &'static str,
    /// Target names.
    pub targets: Vec<&'static str>,
    /// gRPC listen address.
    pub grpc_addr: SocketAddr,
    /// HTTP listen address.
    pub http_addr: SocketAddr,
    /// gRPC services answering health checks (`""` is the whole server).
    pub grpc_services: Vec<&'static str>,
    /// HTTP paths served.
    pub http_paths: Vec<&'static str>,
    /// `sqlite` (data dir) or `postgres`.
    pub database: &'static str,
    /// `embedded` or `external`.
    pub object_store: &'static str,
    /// `in-process` or `redis`.
    pub cache: &'static str,
}

impl Plan {
    /// Describes what `targets` would run with `config`.
    pub fn new(
        command: &'static str,
        config: &Config,
        targets: &[Target],
    ) -> Result<Self, StartError> {
        let addr = |r: Result<SocketAddr, jifen_kit::config::ConfigError>| {
            r.map_err(|e| StartError::Dependency(e.to_string()))
        };
        let mut grpc_services = vec!["", jifen_kit::grpc_server::HEALTH_SERVICE];
        grpc_services.extend(targets.iter().filter_map(|t| t.grpc_service()));
        let mut http_paths = HTTP_PATHS.to_vec();
        if targets.contains(&Target::Gateway) {
            http_paths.push("/");
        }
        Ok(Self {
            command,
            targets: targets.iter().map(|t| t.name()).collect(),
            grpc_addr: addr(config.grpc_addr())?,
            http_addr: addr(config.http_addr())?,
            grpc_services,
            http_paths,
            database: if config.database.url.is_empty() {
                "sqlite"
            } else {
                "postgres"
            },
            object_store: if config.s3.endpoint.is_empty() {
                "embedded"
            } else {
                "external"
            },
            cache: if config.redis.url.is_empty() {
                "in-process"
            } else {
                "redis"
            },
        })
    }
}

/// A running process.
#[derive(Debug)]
pub struct App {
    /// Bound gRPC address.
    pub grpc_addr: SocketAddr,
    /// Bound HTTP address.
    pub http_addr: SocketAddr,
    /// S3 endpoint in use.
    pub s3_endpoint: String,
    /// Names of the hosted gRPC services.
    pub grpc_services: Vec<&'static str>,
    shutdown: CancellationToken,
    tasks: JoinSet<Result<(), String>>,
    _embedded_s3: Option<EmbeddedS3>,
}

/// Checks that `dir` exists (creating it) and is writable.
pub fn check_data_dir(dir: &Path) -> Result<(), StartError> {
    let fail = |reason: String| StartError::DataDir {
        path: dir.display().to_string(),
        reason,
    };
    std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(|e| fail(e.to_string()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

async fn bind(what: &'static str, addr: SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(addr).await.map_err(|e| StartError::Bind {
        what,
        addr,
        reason: e.to_string(),
    })
}

fn dependency(err: impl std::fmt::Display) -> StartError {
    StartError::Dependency(err.to_string())
}

/// Returns the secret signing service tokens: the configured one, or a random per-process one.
///
/// A random secret is right when this process runs every component (nobody else verifies its
/// tokens). A process running only some components with a random secret still serves users and
/// public calls, but its calls to and from other processes are refused: it says so in the log.
pub fn service_secret(config: &Config, targets: &[Target]) -> Vec<u8> {
    if !config.auth.service_secret.is_empty() {
        return config.auth.service_secret.as_bytes().to_vec();
    }
    if !crate::target::ALL.iter().all(|t| targets.contains(t)) {
        tracing::warn!(
            "auth.service_secret is not set: calls between this process and other jifen \
             processes will be refused (set JIFEN__AUTH__SERVICE_SECRET, the same in every pod)"
        );
    }
    use rand::RngCore;
    let mut secret = vec![0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// Opens and migrates the database of `target`.
pub async fn open_database(
    target: Target,
    config: &Config,
    data_dir: &Path,
) -> Result<sea_orm::DatabaseConnection, StartError> {
    use jifen_kit::db::{connect, migrate};
    let name = target.name();
    let db = connect(name, &config.database, data_dir)
        .await
        .map_err(dependency)?;
    let migrated = match target {
        Target::Identity => migrate::<jifen_identity::Migrator>(name, &db).await,
        Target::Scoring => migrate::<jifen_scoring::Migrator>(name, &db).await,
        Target::Materials => migrate::<jifen_materials::Migrator>(name, &db).await,
        Target::Review => migrate::<jifen_review::Migrator>(name, &db).await,
        Target::Ranking => migrate::<jifen_ranking::Migrator>(name, &db).await,
        Target::Notices => migrate::<jifen_notices::Migrator>(name, &db).await,
        Target::Gateway => Ok(()),
    };
    migrated.map_err(dependency)?;
    Ok(db)
}

impl App {
    /// Starts `targets` and returns once every listener is bound and every service is SERVING.
    pub async fn start(
        config: Config,
        data_dir: PathBuf,
        targets: &[Target],
        shutdown: CancellationToken,
    ) -> Result<Self, StartError> {
        check_data_dir(&data_dir)?;
        let config = Arc::new(config);
        let grpc_listener = bind("grpc", config.grpc_addr().map_err(dependency)?).await?;
        let http_listener = bind("http", config.http_addr().map_err(dependency)?).await?;
        let grpc_addr = grpc_listener.local_addr().map_err(dependency)?;
        let http_addr = http_listener.local_addr().map_err(dependency)?;

        let (embedded_s3, s3_endpoint) = if config.s3.endpoint.is_empty() {
            let s3 = EmbeddedS3::start(
                &data_dir.join("objects"),
                config.s3.embedded_addr.parse().map_err(dependency)?,
                &config.s3.bucket,
                &config.s3.access_key_id,
                &config.s3.secret_access_key,
            )
            .await
            .map_err(dependency)?;
            let endpoint = s3.endpoint();
            (Some(s3), endpoint)
        } else {
            (None, config.s3.endpoint.clone())
        };
        let blob = BlobStore::new(&config.s3, &s3_endpoint);
        let redis = if config.redis.url.is_empty() {
            None
        } else {
            Some(
                jifen_kit::cache::connect(&config.redis.url)
                    .await
                    .map_err(dependency)?,
            )
        };
        let peers = Peers::new(&config, grpc_addr);
        let service_tokens = Arc::new(ServiceTokens::new(
            "jifen",
            &service_secret(&config, targets),
        ));

        let mut server = GrpcServer::new();
        server.add_descriptor_set(jifen_proto::FILE_DESCRIPTOR_SET);
        for &target in targets {
            if target.grpc_service().is_none() {
                continue;
            }
            let db = open_database(target, &config, &data_dir).await?;
            let ctx = Context {
                config: config.clone(),
                data_dir: data_dir.clone(),
                db,
                redis: redis.clone(),
                blob: blob.clone(),
                peers: peers.clone(),
                shutdown: shutdown.clone(),
                service_tokens: Arc::new(service_tokens.for_component(target.name())),
            };
            match target {
                Target::Identity => {
                    server.add_service(jifen_identity::service(&ctx).map_err(dependency)?)
                }
                Target::Scoring => server.add_service(jifen_scoring::service(&ctx)),
                Target::Materials => server.add_service(jifen_materials::service(&ctx)),
                Target::Review => server.add_service(jifen_review::service(&ctx)),
                Target::Notices => server.add_service(jifen_notices::service(&ctx)),
                Target::Ranking => server.add_service(jifen_ranking::service(&ctx)),
                Target::Gateway => &mut server,
            };
        }
        let grpc_services = server.service_names().to_vec();
        let health = server.health();
        health.set_not_serving().await;

        let ready = Arc::new(AtomicBool::new(false));
        let mut http = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz).with_state(ready.clone()));
        if targets.contains(&Target::Gateway) {
            let limits = config.gateway.clone();
            let edge = jifen_gateway::Edge {
                s3_endpoint: s3_endpoint.clone(),
            };
            let gateway = jifen_gateway::router_with(&peers, limits, edge).map_err(dependency)?;
            http = http.merge(gateway);
        }
        let http = http
            .route("/metrics", get(|| async { jifen_kit::metrics::render() }))
            .layer(axum::middleware::from_fn(record_http));

        // Every component verifies user tokens against identity's JWKS (fetched through the
        // peers) and service tokens by the shared secret.
        let auth = AuthLayer::new(Arc::new(ComponentVerifier::new(
            service_tokens.clone(),
            JwksVerifier::new(peers.clone()),
        )));
        let mut tasks = JoinSet::new();
        let server_config = config.server.clone();
        let grpc_shutdown = shutdown.clone();
        tasks.spawn(async move {
            server
                .serve(grpc_listener, &server_config, auth, grpc_shutdown)
                .await
                .map_err(|e| format!("grpc server: {e}"))
        });
        let http_shutdown = shutdown.clone();
        tasks.spawn(async move {
            let service = http.into_make_service_with_connect_info::<SocketAddr>();
            axum::serve(http_listener, service)
                .with_graceful_shutdown(async move { http_shutdown.cancelled().await })
                .await
                .map_err(|e| format!("http server: {e}"))
        });

        health.set_serving().await;
        ready.store(true, Ordering::Release);
        Ok(Self {
            grpc_addr,
            http_addr,
            s3_endpoint,
            grpc_services,
            shutdown,
            tasks,
            _embedded_s3: embedded_s3,
        })
    }

    /// Asks the process to stop.
    pub fn stop(&self) {
        self.shutdown.cancel();
    }

    /// Waits until the servers have stopped (after [`App::stop`] or a signal), draining in-flight
    /// calls for at most `grace`.
    pub async fn wait(mut self, grace: Duration) -> Result<(), String> {
        self.shutdown.cancelled().await;
        let drained = tokio::time::timeout(grace, async {
            let mut result = Ok(());
            while let Some(joined) = self.tasks.join_next().await {
                match joined {
                    Ok(Ok(())) => {}
                    Ok(Err(err)) => result = Err(err),
                    Err(err) => result = Err(err.to_string()),
                }
            }
            result
        })
        .await;
        match drained {
            Ok(result) => result,
            Err(_) => {
                self.tasks.abort_all();
                Err("shutdown grace period elapsed; in-flight requests were cut".to_owned())
            }
        }
    }
}

async fn record_http(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str())
        .to_owned();
    let tenant = req
        .headers()
        .get(jifen_kit::auth::TENANT_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let span = tracing::info_span!(
        "http",
        method = %req.method(),
        route = %route,
        tenant = %tenant,
        trace_id = tracing::field::Empty,
        otel.kind = "server",
    );
    jifen_kit::trace_context::join_trace(&span, jifen_kit::trace_context::extract(req.headers()));
    let started = std::time::Instant::now();
    let response = tracing::Instrument::instrument(next.run(req), span).await;
    jifen_kit::metrics::observe_http(&route, response.status().as_u16(), started);
    response
}

async fn readyz(axum::extract::State(ready): axum::extract::State<Arc<AtomicBool>>) -> StatusCode {
    if ready.load(Ordering::Acquire) {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}
