//! One trace spans the edge and two component hops: a city admin opens a cycle through the
//! gateway (HTTP), the gateway calls review (gRPC), review calls scoring to freeze the rule set
//! (gRPC). Spans are exported to an in-memory exporter and must share one trace id.

use jifen::target::ALL;
use jifen::testkit::TestJifen;
use jifen_kit::Config;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::{InMemorySpanExporter, SimpleSpanProcessor};
use serde_json::json;
use tracing_subscriber::layer::SubscriberExt;

const ADMIN_PASSWORD: &str = "Trace-admin-2026!x";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opening_a_cycle_is_one_trace_across_gateway_review_and_scoring() {
    opentelemetry::global::set_text_map_propagator(
        opentelemetry_sdk::propagation::TraceContextPropagator::new(),
    );
    let exporter = InMemorySpanExporter::default();
    let provider = jifen_kit::telemetry::provider_with(SimpleSpanProcessor::new(exporter.clone()));
    let subscriber = tracing_subscriber::registry()
        .with(tracing_subscriber::EnvFilter::new("info"))
        .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")));
    tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");

    let mut config = Config::defaults();
    config.server.grpc_addr = "127.0.0.1:0".to_owned();
    config.server.http_addr = "127.0.0.1:0".to_owned();
    config.auth.seed_admin_password = ADMIN_PASSWORD.to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    jifen::seed::seed(&config, dir.path()).await.expect("seed");
    let jifen = TestJifen::start_in(config, dir, &ALL).await;
    let base = jifen.http_url();
    let http = reqwest::Client::new();

    let login: serde_json::Value = http
        .post(format!("{base}/api/v1/session"))
        .header("x-token-response", "body")
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("login answers")
        .json()
        .await
        .expect("json");
    let token = login["tokens"]["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("access token in {login}"))
        .to_owned();
    let window = json!({"start_date": "2026-01-01", "end_date": "2026-12-31"});
    let created: serde_json::Value = http
        .post(format!("{base}/api/v1/cycles"))
        .bearer_auth(&token)
        .header("x-jifen-tenant", "wuzhong")
        .json(&json!({"target_tenant": "wuzhong", "cycle": {
            "benefit": "settlement", "year": 2026, "name_zh": "2026 年积分落户",
            "application_window": window, "confirmation_window": window,
            "publicity_window": window, "objection_window": window,
            "score_as_of_date": "2026-06-30",
            "rule_set": {"rule_set_id": "SZ-CITY-SETTLEMENT-2021", "version": 0},
            "pass_mark": 500}}))
        .send()
        .await
        .expect("create answers")
        .json()
        .await
        .expect("json");
    let cycle_id = created["cycle_id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let opened = http
        .post(format!("{base}/api/v1/cycles/{cycle_id}/open"))
        .bearer_auth(&token)
        .header("x-jifen-tenant", "wuzhong")
        .header(
            "traceparent",
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        )
        .json(&json!({"expected_version": created["version"]}))
        .send()
        .await
        .expect("open answers");
    assert_eq!(
        opened.status(),
        200,
        "{}",
        opened.text().await.unwrap_or_default()
    );

    let _ = provider.force_flush();
    let spans = exporter.get_finished_spans().expect("spans");
    let in_trace: Vec<_> = spans
        .iter()
        .filter(|s| s.span_context.trace_id().to_string() == "0af7651916cd43dd8448eb211c80319c")
        .collect();
    let has = |name: &str, attr: &str| {
        in_trace.iter().any(|s| {
            s.name == name
                && s.attributes
                    .iter()
                    .any(|kv| kv.value.as_str().contains(attr))
        })
    };
    assert!(
        has("http", "/api/v1/cycles/{cycle_id}/open"),
        "edge span in the trace"
    );
    assert!(
        has("grpc", "/jifen.review.v1.ReviewService/OpenCycle"),
        "review span in the trace"
    );
    assert!(
        has("grpc", "/jifen.scoring.v1.ScoringService/FreezeRuleSet"),
        "scoring span in the trace: {:#?}",
        in_trace.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
    jifen.stop().await;
}
