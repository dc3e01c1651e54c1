//! What an operator relies on: Prometheus metrics per rpc, tenant and status on every process,
//! and log lines that carry the trace id and the tenant.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use jifen::target::Target;
use jifen::testkit::{Backend, TestJifen};
use jifen_proto::scoring::v1::SimulateRequest;
use jifen_proto::scoring::v1::scoring_service_client::ScoringServiceClient;

/// Log lines written by the JSON formatter, shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn captured_logs() -> Captured {
    static LOGS: OnceLock<Captured> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let logs = Captured::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(
                "info,jifen::access=debug",
            ))
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_writer(move || writer.clone()),
            );
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        opentelemetry::global::set_text_map_propagator(
            opentelemetry_sdk::propagation::TraceContextPropagator::new(),
        );
        logs
    })
    .clone()
}

fn b_facts() -> String {
    serde_json::json!({"parents": [
        {"birth_date": "1985-03-01", "education": "bachelor", "skill_level": "L4",
         "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4},
        {"birth_date": "1989-05-01", "education": "junior_college", "skill_level": "L3",
         "insurance_months": 50, "residence_years": 6}
    ]})
    .to_string()
}

#[tokio::test]
async fn metrics_count_rpcs_by_name_tenant_and_status_and_logs_carry_trace_and_tenant() {
    let logs = captured_logs();
    let jifen = TestJifen::start(&[Target::Identity, Target::Scoring], Backend::Embedded).await;
    jifen::seed::seed(&jifen.config, jifen.data_dir.path())
        .await
        .expect("seed");
    let mut scoring = ScoringServiceClient::new(jifen.channel());
    let mut ok = tonic::Request::new(SimulateRequest {
        tenant: "wuzhong".into(),
        benefit: "school".into(),
        as_of_date: "2023-06-30".into(),
        facts_json: b_facts(),
        rule_set: None,
    });
    ok.metadata_mut().insert(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            .parse()
            .expect("ascii"),
    );
    ok.metadata_mut()
        .insert("x-jifen-tenant", "wuzhong".parse().expect("ascii"));
    let sheet = scoring.simulate(ok).await.expect("simulate").into_inner();
    assert_eq!(sheet.score_sheet.expect("sheet").total, 684);
    let bad = scoring
        .simulate(SimulateRequest {
            tenant: "wuzhong".into(),
            benefit: "school".into(),
            as_of_date: "2023-06-30".into(),
            facts_json: r#"{"insurance_months": -1}"#.into(),
            rule_set: None,
        })
        .await
        .expect_err("bad facts refused");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let metrics = reqwest::get(format!("{}/metrics", jifen.http_url()))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("body");
    let line = |code: &str| {
        metrics.lines().any(|l| {
            l.starts_with("jifen_grpc_server_requests_total{")
                && l.contains("rpc=\"/jifen.scoring.v1.ScoringService/Simulate\"")
                && l.contains(&format!("code=\"{code}\""))
        })
    };
    assert!(line("0"), "successful Simulate counted:\n{metrics}");
    assert!(
        line("3"),
        "refused Simulate counted as INVALID_ARGUMENT (3):\n{metrics}"
    );
    assert!(metrics.contains("jifen_grpc_server_request_duration_seconds_bucket"));

    let text = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8");
    let access = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| {
            v["span"]["rpc"] == "/jifen.scoring.v1.ScoringService/Simulate"
                && v["span"]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        })
        .unwrap_or_else(|| panic!("an access log line with the caller's trace id:\n{text}"));
    assert_eq!(access["span"]["tenant"], "wuzhong");
    jifen.stop().await;
}
