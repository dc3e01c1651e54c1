//! Prometheus metrics: request count and latency per rpc, tenant and status for gRPC (a tower
//! layer) and HTTP (the same for routes), served at `/metrics` on every process.

use std::pin::Pin;
use std::sync::LazyLock;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body, Frame};
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use tower::{Layer, Service};

use crate::auth::Caller;

/// The process-wide registry.
pub static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::new);

const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

fn register<T: prometheus::core::Collector + Clone + 'static>(metric: T) -> T {
    // Registration only fails for duplicate names, which these statics rule out.
    let _ = REGISTRY.register(Box::new(metric.clone()));
    metric
}

#[allow(clippy::expect_used)]
static GRPC_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("jifen_grpc_server_requests_total", "gRPC requests handled"),
            &["rpc", "tenant", "code"],
        )
        .expect("valid metric"),
    )
});

#[allow(clippy::expect_used)]
static GRPC_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register(
        HistogramVec::new(
            HistogramOpts::new(
                "jifen_grpc_server_request_duration_seconds",
                "gRPC request latency",
            )
            .buckets(BUCKETS.to_vec()),
            &["rpc", "tenant", "code"],
        )
        .expect("valid metric"),
    )
});

#[allow(clippy::expect_used)]
static GRPC_IN_FLIGHT: LazyLock<IntGauge> = LazyLock::new(|| {
    register(
        IntGauge::new(
            "jifen_grpc_server_in_flight_requests",
            "gRPC requests being handled",
        )
        .expect("valid metric"),
    )
});

#[allow(clippy::expect_used)]
static HTTP_REQUESTS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register(
        IntCounterVec::new(
            Opts::new("jifen_http_requests_total", "HTTP requests handled"),
            &["route", "status"],
        )
        .expect("valid metric"),
    )
});

#[allow(clippy::expect_used)]
static HTTP_DURATION: LazyLock<HistogramVec> = LazyLock::new(|| {
    register(
        HistogramVec::new(
            HistogramOpts::new(
                "jifen_http_request_duration_seconds",
                "HTTP request latency",
            )
            .buckets(BUCKETS.to_vec()),
            &["route", "status"],
        )
        .expect("valid metric"),
    )
});

/// Events waiting in each component's outbox.
#[allow(clippy::expect_used)]
pub static OUTBOX_PENDING: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register(
        IntGaugeVec::new(
            Opts::new(
                "jifen_outbox_pending_events",
                "outbox events not yet delivered",
            ),
            &["component"],
        )
        .expect("valid metric"),
    )
});

/// Returns every metric in the Prometheus text format.
pub fn render() -> String {
    // Touch the statics so they appear (at zero) before the first request.
    LazyLock::force(&GRPC_REQUESTS);
    LazyLock::force(&GRPC_DURATION);
    LazyLock::force(&GRPC_IN_FLIGHT);
    LazyLock::force(&HTTP_REQUESTS);
    LazyLock::force(&HTTP_DURATION);
    LazyLock::force(&OUTBOX_PENDING);
    let mut out = Vec::new();
    let _ = TextEncoder::new().encode(&REGISTRY.gather(), &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// Records one HTTP request (called by the HTTP middleware with the matched route).
pub fn observe_http(route: &str, status: u16, started: Instant) {
    let status = status.to_string();
    HTTP_REQUESTS.with_label_values(&[route, &status]).inc();
    HTTP_DURATION
        .with_label_values(&[route, &status])
        .observe(started.elapsed().as_secs_f64());
}

/// Tower layer recording gRPC request metrics. Place it inside the auth layer so the tenant
/// label comes from the verified caller (`-` for anonymous calls), never from raw input.
#[derive(Debug, Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

/// The service produced by [`GrpcMetricsLayer`].
#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B> Service<http::Request<B>> for GrpcMetrics<S>
where
    S: Service<http::Request<B>, Response = http::Response<tonic::body::Body>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let rpc = req.uri().path().to_owned();
        let tenant = req
            .extensions()
            .get::<Caller>()
            .map_or_else(|| "-".to_owned(), |c| c.tenant.clone());
        let started = Instant::now();
        GRPC_IN_FLIGHT.inc();
        let future = self.inner.call(req);
        Box::pin(async move {
            let response = future.await;
            let response = match response {
                Ok(response) => response,
                Err(err) => {
                    GRPC_IN_FLIGHT.dec();
                    return Err(err);
                }
            };
            // Trailers-only responses (most errors) carry grpc-status in the headers.
            let code = response
                .headers()
                .get("grpc-status")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut record = Record {
                rpc,
                tenant,
                started,
                done: false,
            };
            // A trailers-only response has no body worth polling: record it now.
            if let Some(code) = &code {
                record.finish(code);
            }
            Ok(response.map(|body| {
                tonic::body::Body::new(MetricsBody {
                    inner: body,
                    record,
                    code,
                })
            }))
        })
    }
}

struct Record {
    rpc: String,
    tenant: String,
    started: Instant,
    done: bool,
}

impl Record {
    fn finish(&mut self, code: &str) {
        if self.done {
            return;
        }
        self.done = true;
        GRPC_IN_FLIGHT.dec();
        let labels = [self.rpc.as_str(), self.tenant.as_str(), code];
        GRPC_REQUESTS.with_label_values(&labels).inc();
        GRPC_DURATION
            .with_label_values(&labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        // A body dropped before its trailers: the client went away.
        self.finish("cancelled");
    }
}

pin_project_lite::pin_project! {
    /// Response body that records the request when its trailers (with grpc-status) pass.
    pub struct MetricsBody<B> {
        #[pin]
        inner: B,
        record: Record,
        code: Option<String>,
    }
}

impl<B: Body> Body for MetricsBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("0");
                    this.record.finish(code);
                }
            }
            Poll::Ready(None) => {
                let code = this.code.as_deref().unwrap_or("0");
                this.record.finish(code);
            }
            Poll::Ready(Some(Err(_))) => this.record.finish("transport_error"),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_lists_the_documented_metrics() {
        observe_http("/healthz", 200, Instant::now());
        OUTBOX_PENDING.with_label_values(&["test"]).set(0);
        let text = render();
        for name in [
            "jifen_http_requests_total",
            "jifen_grpc_server_in_flight_requests",
            "jifen_outbox_pending_events",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }
}
