//! The W3C trace context crosses a gRPC hop: a call made inside a client span produces a server
//! span in the same trace, parented on the client's span.

use jifen_kit::auth::AuthLayer;
use jifen_kit::config::Config;
use jifen_kit::grpc_client::channel;
use jifen_kit::grpc_server::GrpcServer;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use tokio_util::sync::CancellationToken;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tracing::Instrument;
use tracing_subscriber::layer::SubscriberExt;

#[tokio::test]
async fn server_span_joins_the_callers_trace() {
    opentelemetry::global::set_text_map_propagator(TraceContextPropagator::new());
    let exporter = InMemorySpanExporter::default();
    let provider = jifen_kit::telemetry::provider_with(SimpleSpanProcessor::new(exporter.clone()));
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    // The current-thread test runtime keeps client and server on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = GrpcServer::new();
    let health = server.health();
    let shutdown = CancellationToken::new();
    let config = Config::defaults().server;
    let stop = shutdown.clone();
    let serving = tokio::spawn(async move {
        server
            .serve(listener, &config, AuthLayer::anonymous_only(), stop)
            .await
    });
    health.set_serving().await;

    let mut client = HealthClient::new(channel(&format!("http://{addr}")).expect("channel"));
    async {
        client
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await
            .expect("health answers");
    }
    .instrument(tracing::info_span!("client_call", otel.kind = "client"))
    .await;

    shutdown.cancel();
    let _ = serving.await;
    let _ = provider.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    let client_span = spans
        .iter()
        .find(|s| s.name == "client_call")
        .expect("client span exported");
    let server_span = spans
        .iter()
        .find(|s| s.name == "grpc")
        .expect("server span exported");
    assert_eq!(
        server_span.span_context.trace_id(),
        client_span.span_context.trace_id(),
        "server span is in the caller's trace"
    );
    assert_eq!(
        server_span.parent_span_id,
        client_span.span_context.span_id(),
        "server span is parented on the client span"
    );
}
