//! The gRPC server every process runs: the components it hosts, plus health (NOT_SERVING until
//! the caller says warm-up is done, and again on shutdown) and reflection limited to the hosted
//! services, with timeouts, connection ageing, tracing and authentication layers.

use std::convert::Infallible;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::server::NamedService;
use tonic::service::RoutesBuilder;
use tonic::transport::server::TcpIncoming;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::auth::AuthLayer;
use crate::config::ServerConfig;
use crate::trace_context::TraceContextLayer;

/// Name of the standard health service.
pub const HEALTH_SERVICE: &str = "grpc.health.v1.Health";

/// Collects the component services one process serves.
pub struct GrpcServer {
    routes: RoutesBuilder,
    descriptor_sets: Vec<&'static [u8]>,
    services: Vec<&'static str>,
    health: HealthReporter,
}

impl std::fmt::Debug for GrpcServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GrpcServer")
            .field("services", &self.services)
            .finish()
    }
}

impl Default for GrpcServer {
    fn default() -> Self {
        Self::new()
    }
}

impl GrpcServer {
    /// Returns a server hosting only health (and reflection once served).
    pub fn new() -> Self {
        let (health, health_service) = tonic_health::server::health_reporter();
        let mut routes = RoutesBuilder::default();
        routes.add_service(health_service);
        Self {
            routes,
            descriptor_sets: vec![tonic_health::pb::FILE_DESCRIPTOR_SET],
            services: Vec::new(),
            health,
        }
    }

    /// Hosts `service` under its full gRPC name.
    pub fn add_service<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services.push(S::NAME);
        self.routes.add_service(service);
        self
    }

    /// Registers an encoded `FileDescriptorSet` for reflection (e.g. `jifen_proto::FILE_DESCRIPTOR_SET`).
    pub fn add_descriptor_set(&mut self, encoded: &'static [u8]) -> &mut Self {
        self.descriptor_sets.push(encoded);
        self
    }

    /// Returns the full names of the hosted component services.
    pub fn service_names(&self) -> &[&'static str] {
        &self.services
    }

    /// Returns a handle to flip health statuses.
    pub fn health(&self) -> Health {
        Health {
            reporter: self.health.clone(),
            services: self.services.clone(),
        }
    }

    /// Serves on `listener` until `shutdown` is cancelled, then drains in-flight calls.
    ///
    /// Call [`Health::set_not_serving`] before and [`Health::set_serving`] once warm-up is done;
    /// on shutdown every service reports NOT_SERVING again while in-flight calls drain.
    pub async fn serve(
        self,
        listener: TcpListener,
        config: &ServerConfig,
        auth: AuthLayer,
        shutdown: CancellationToken,
    ) -> Result<(), tonic::transport::Error> {
        let health = self.health();
        let mut reflection_v1 =
            tonic_reflection::server::Builder::configure().with_service_name(HEALTH_SERVICE);
        let mut reflection_v1alpha =
            tonic_reflection::server::Builder::configure().with_service_name(HEALTH_SERVICE);
        for set in &self.descriptor_sets {
            reflection_v1 = reflection_v1.register_encoded_file_descriptor_set(set);
            reflection_v1alpha = reflection_v1alpha.register_encoded_file_descriptor_set(set);
        }
        for name in &self.services {
            reflection_v1 = reflection_v1.with_service_name(*name);
            reflection_v1alpha = reflection_v1alpha.with_service_name(*name);
        }
        let mut routes = self.routes;
        // The descriptor sets are compiled in; failing to load them is a build bug caught by tests.
        if let Ok(service) = reflection_v1.build_v1() {
            routes.add_service(service);
        }
        if let Ok(service) = reflection_v1alpha.build_v1alpha() {
            routes.add_service(service);
        }

        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let drain = shutdown.clone();
        let signal = async move {
            drain.cancelled().await;
            health.set(ServingStatus::NotServing).await;
        };
        tonic::transport::Server::builder()
            .timeout(Duration::from_millis(config.request_timeout_ms))
            .max_connection_age(Duration::from_secs(config.max_connection_age_secs))
            .max_connection_age_grace(Duration::from_secs(config.shutdown_grace_secs))
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .layer(TraceContextLayer)
            .layer(auth)
            .layer(crate::metrics::GrpcMetricsLayer)
            .add_routes(routes.routes())
            .serve_with_incoming_shutdown(incoming, signal)
            .await
    }
}

/// Flips the health status of the services one process hosts.
#[derive(Clone)]
pub struct Health {
    reporter: HealthReporter,
    services: Vec<&'static str>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("services", &self.services)
            .finish()
    }
}

impl Health {
    /// Reports every hosted service and the server as SERVING.
    pub async fn set_serving(&self) {
        self.set(ServingStatus::Serving).await;
    }

    /// Reports every hosted service and the server as NOT_SERVING.
    pub async fn set_not_serving(&self) {
        self.set(ServingStatus::NotServing).await;
    }

    async fn set(&self, status: ServingStatus) {
        self.reporter.set_service_status("", status).await;
        for name in &self.services {
            self.reporter.set_service_status(*name, status).await;
        }
    }
}
