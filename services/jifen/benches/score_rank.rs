//! The resident's score+rank query through the HTTP edge at season open, against a no-op axum
//! handler loaded by the same client in the same run (issue: gateway ≥ 0.5 of the no-op with
//! p99 ≤ 25 ms at 256 connections).
//!
//! Setup, all through the real paths: the monolith starts on loopback (embedded default);
//! residents register through the gateway (real EdDSA tokens); their confirmed scores reach
//! ranking as `review.score_confirmed` events over gRPC with a service token, beside a crowd of
//! other confirmed applications on the same board. Then every virtual user asks
//! `GET /api/v1/applications/{id}/rank` with their bearer token: the first ask per resident goes
//! to ranking, the next ones within five seconds come from the edge's per-token cache.
//!
//! `cargo bench -p jifen --bench score_rank` (`-- --quick` for a shorter run). Prints one
//! `BENCH |` line for `scripts/bench.sh`.

use std::time::Duration;

use jifen::loadgen::{Load, Mix, Resident, Season, noop_server, run_load};
use jifen::target::ALL;
use jifen::testkit::TestJifen;
use jifen_kit::Config;
use jifen_kit::service_token::ServiceTokens;
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1::DeliverEventRequest;
use jifen_proto::ranking::v1::ranking_service_client::RankingServiceClient;
use serde_json::{Value, json};

/// The allocator the `jifen` binary runs with (the server under test lives in this process).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TENANT: &str = "wuzhong";
const CYCLE: &str = "bench-season";
const SECRET: &str = "score-rank-bench-service-secret";
const RESIDENTS: usize = 64;
const CROWD: usize = 20_000;
const CONNECTIONS: usize = 256;

fn confirmed(application_id: &str, subject: &str, n: usize) -> common::Event {
    use common::SortDirection::{Ascending, Descending};
    let total = 300 + (n * 7919 % 700) as i64;
    let base = total * 3 / 4;
    common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: "review.score_confirmed".to_owned(),
        tenant: TENANT.to_owned(),
        aggregate_id: application_id.to_owned(),
        aggregate_version: 1,
        payload: Some(common::event::Payload::ScoreConfirmed(
            common::ScoreConfirmed {
                application_id: application_id.to_owned(),
                application_number: format!("WZ-2026-SET-{n:06}"),
                cycle_id: CYCLE.to_owned(),
                benefit: "settlement".to_owned(),
                applicant_subject: subject.to_owned(),
                total,
                base,
                tie_keys: vec![
                    common::TieKey {
                        code: "base".to_owned(),
                        value: base,
                        direction: Descending as i32,
                        present: true,
                    },
                    common::TieKey {
                        code: "residence_registered_on".to_owned(),
                        value: 738_000 + (n % 3000) as i64,
                        direction: Ascending as i32,
                        present: true,
                    },
                ],
                eligible: true,
                ..Default::default()
            },
        )),
        ..Default::default()
    }
}

#[allow(clippy::expect_used, clippy::print_stdout)]
fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let seconds = if quick { 5 } else { 15 };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let mut config = Config::defaults();
        config.server.grpc_addr = "127.0.0.1:0".to_owned();
        config.server.http_addr = "127.0.0.1:0".to_owned();
        config.auth.service_secret = SECRET.to_owned();
        // Admission limits well above what two cores can serve: this measures the query path.
        config.gateway.max_in_flight = 100_000;
        config.gateway.rate_per_sec = 1e9;
        config.gateway.tenant_max_in_flight = 100_000;
        config.gateway.tenant_rate_per_sec = 1e9;
        // Registration is only the setup here: a cheap password hash keeps it short.
        config.auth.password_memory_kib = 1024;
        config.auth.password_iterations = 1;
        // Every resident registers from this one loopback address.
        config.auth.registrations_per_address = 1_000_000;
        let jifen = TestJifen::start_with(config, &ALL).await;
        let base = jifen.http_url();
        let http = reqwest::Client::new();

        eprintln!("score_rank: registering {RESIDENTS} residents through the gateway");
        let mut residents = Vec::new();
        for n in 0..RESIDENTS {
            let answer: Value = http
                .post(format!("{base}/api/v1/accounts"))
                .header("x-token-response", "body")
                .json(&json!({
                    "name": "排名测",
                    "id_number": jifen::loadgen::id_number(n as u64),
                    "mobile": format!("137{:08}", n),
                    "password": format!("Bench#{n}rank"),
                }))
                .send()
                .await
                .expect("register")
                .json()
                .await
                .expect("register answer");
            let token = answer["tokens"]["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("registration refused: {answer}"))
                .to_owned();
            let subject = answer["account"]["subject"]
                .as_str()
                .expect("subject")
                .to_owned();
            residents.push((token, subject, uuid::Uuid::now_v7().to_string()));
        }

        eprintln!("score_rank: confirming {} scores on one board", RESIDENTS + CROWD);
        let tokens = ServiceTokens::new("review", SECRET.as_bytes());
        let mut ranking = RankingServiceClient::new(jifen.channel());
        for (n, (_, subject, application)) in residents.iter().enumerate() {
            ranking
                .deliver_event(tokens.request(
                    DeliverEventRequest {
                        event: Some(confirmed(application, subject, n)),
                    },
                    TENANT,
                ))
                .await
                .expect("deliver resident score");
        }
        for n in RESIDENTS..RESIDENTS + CROWD {
            let application = uuid::Uuid::now_v7().to_string();
            ranking
                .deliver_event(tokens.request(
                    DeliverEventRequest {
                        event: Some(confirmed(&application, &format!("crowd-{n}"), n)),
                    },
                    TENANT,
                ))
                .await
                .expect("deliver crowd score");
        }
        // Every resident's rank must answer before timing anything.
        for (token, _, application) in &residents {
            let status = http
                .get(format!("{base}/api/v1/applications/{application}/rank"))
                .bearer_auth(token)
                .header("x-jifen-tenant", TENANT)
                .send()
                .await
                .expect("rank")
                .status();
            assert!(status.is_success(), "rank answered {status}");
        }

        let load = Load {
            concurrency: CONNECTIONS,
            requests: u64::MAX,
            duration: Duration::from_secs(seconds),
            rate: 0.0,
            progress: false,
        };
        let season = Season {
            tenant: TENANT.to_owned(),
            cycle_id: Some(CYCLE.to_owned()),
            street: String::new(),
        };
        let users = || {
            (0..CONNECTIONS)
                .map(|i| {
                    let (token, _, application) = &residents[i % RESIDENTS];
                    Resident::existing(token.clone(), application.clone())
                })
                .collect::<Vec<_>>()
        };
        let mix: Mix = "score_rank=1".parse().expect("mix");
        let noop_mix: Mix = "noop=1".parse().expect("mix");
        let noop = format!("http://{}", noop_server().await.expect("no-op server"));
        // Alternate short rounds so both sides see the same machine conditions.
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        for round in 1..=2 {
            eprintln!("score_rank: round {round}: score+rank load");
            ours.push(
                run_load(&base, &mix, &load, &season, users())
                    .await
                    .expect("score_rank load"),
            );
            eprintln!("score_rank: round {round}: no-op load");
            theirs.push(
                run_load(&noop, &noop_mix, &load, &season, Vec::new())
                    .await
                    .expect("no-op load"),
            );
        }
        let best = |runs: &[jifen::loadgen::Stats]| {
            runs.iter()
                .max_by(|a, b| a.throughput.total_cmp(&b.throughput))
                .cloned()
                .expect("a run")
        };
        let (j, b) = (best(&ours), best(&theirs));
        let not_ok = j.requests - j.class("ok");
        let ratio = j.throughput / b.throughput.max(1e-9);
        let met = ratio >= 0.5 && j.p99_ms <= 25.0 && not_ok == 0;
        for (name, s) in [("score+rank", &j), ("no-op", &b)] {
            eprintln!(
                "score_rank: {name}: {} requests, {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, classes {:?}",
                s.requests, s.throughput, s.p50_ms, s.p99_ms, s.by_class
            );
        }
        println!(
            "BENCH | gateway score+rank query (cached per token), {CONNECTIONS} conns, board of {} | {:.0} req/s, p99 {:.1} ms, {not_ok} not ok | {:.0} req/s no-op axum, p99 {:.1} ms | {ratio:.2} | >= 0.5, p99 <= 25 ms | {}",
            RESIDENTS + CROWD,
            j.throughput,
            j.p99_ms,
            b.throughput,
            b.p99_ms,
            if met { "yes" } else { "no" }
        );
        jifen.stop().await;
    });
}
