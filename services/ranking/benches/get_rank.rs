//! The live rank rpc under load, against a no-op rpc on the same server, in one run.
//!
//! One tonic server on loopback hosts, exactly as `jifen` does (kit's `GrpcServer`: trace
//! context, auth and metrics layers), the real `RankingService` and the standard health service.
//! A settlement cycle of `JIFEN_BENCH_ENTRIES` (default 100,000) confirmed applications of one
//! district is seeded into the ranking database (SQLite in a temp dir, the embedded default) and
//! the boards are warmed up. Then the same `JIFEN_BENCH_CLIENTS` (default 32) concurrent clients,
//! each on its own HTTP/2 connection, drive for `JIFEN_BENCH_SECS` (default 5) seconds per phase:
//!
//! * baseline: `grpc.health.v1.Health/Check` (no-op: a map lookup; exempt from the auth check);
//! * jifen: `GetRank` as residents: each call carries the resident's own EdDSA access token
//!   (signed by identity's key ring, verified by the same JWKS verifier every component installs)
//!   and `x-jifen-tenant`, and asks for the resident's own application. `JIFEN_BENCH_RESIDENTS`
//!   (default 2,000) residents take turns, so tokens and entries are hot but not one.
//!
//! Phases alternate (baseline, jifen, baseline, jifen) and the counts are summed, to even out
//! the noise of a shared machine. The in-process board (embedded default) is always measured;
//! the Redis board too when Redis answers at `JIFEN_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`), on a fresh server with its own baseline. Goal: GetRank ≥ 0.6 of
//! the no-op throughput.
//!
//! Run: `cargo bench -p jifen-ranking --bench get_rank`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::Utc;
use jifen_kit::auth::{AuthLayer, TENANT_HEADER};
use jifen_kit::grpc_server::GrpcServer;
use jifen_kit::jwks::{AccessClaims, JwksVerifier, PublicJwk};
use jifen_kit::service_token::{ComponentVerifier, ServiceTokens};
use jifen_proto::ranking::v1 as pb;
use jifen_proto::ranking::v1::ranking_service_client::RankingServiceClient;
use jifen_proto::ranking::v1::ranking_service_server::RankingServiceServer;
use jifen_ranking::Ranking;
use jifen_ranking::board::{InProcessBoards, RankBoards, RedisBoards};
use jifen_ranking::domain::{Direction, RankSpec, TieBreaker};
use jifen_ranking::store::board_entry::{BoardEntryRow, row};
use sea_orm::{DatabaseConnection, EntityTrait, IntoActiveModel, TransactionTrait};
use tokio_util::sync::CancellationToken;
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const TENANT: &str = "wuzhong";
const CYCLE: &str = "bench-2024-settlement";
const AREA: &str = "市区";

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn subject(i: usize) -> String {
    format!("0190c3a2-7d2e-7b1a-9c3e-{i:012}")
}

fn application_id(i: usize) -> String {
    format!("0190c3a2-aaaa-7b1a-9c3e-{i:012}")
}

/// Seeds `n` confirmed settlement applications (totals with many ties).
async fn seed(db: &DatabaseConnection, n: usize) {
    let spec = RankSpec::new(vec![
        TieBreaker::new("base", Direction::Desc),
        TieBreaker::new("residence_registered_on", Direction::Asc),
    ])
    .expect("spec");
    let tie_spec = serde_json::to_value(&spec).expect("spec json");
    let now = Utc::now();
    let txn = db.begin().await.expect("begin");
    let mut batch = Vec::with_capacity(1_000);
    for i in 0..n {
        // A cheap deterministic spread: totals 300..=899, bases 200..=599.
        let mix = (i as u64).wrapping_mul(2_654_435_761) % 1_000_003;
        let total = 300 + (mix % 600) as i64;
        let base = 200 + (mix / 600 % 400) as i64;
        let row = BoardEntryRow {
            tenant: TENANT.to_owned(),
            application_id: application_id(i),
            cycle_id: CYCLE.to_owned(),
            benefit: "settlement".to_owned(),
            application_number: format!("WZ-2024-SET-{i:07}"),
            applicant_subject: subject(i),
            total,
            tie_spec: tie_spec.clone(),
            tie_values: serde_json::json!([base, 18_000 + (mix % 3_000) as i64]),
            masked_name: "张*丰".to_owned(),
            masked_id_number: "3205**********1234".to_owned(),
            gates_ok: true,
            school_preferences: serde_json::json!([]),
            service_area: Some("changqiao".to_owned()),
            threshold_area: Some(AREA.to_owned()),
            district: TENANT.to_owned(),
            confirmed_at: now,
            aggregate_version: 5,
            removed: false,
            updated_at: now,
        };
        batch.push(row.into_active_model());
        if batch.len() == 1_000 || i + 1 == n {
            row::Entity::insert_many(std::mem::take(&mut batch))
                .exec(&txn)
                .await
                .expect("insert");
        }
    }
    txn.commit().await.expect("commit");
}

struct Auth {
    layer: AuthLayer,
    /// `Bearer <token>` per resident.
    bearers: Vec<MetadataValue<tonic::metadata::Ascii>>,
}

/// Signs one access token per resident exactly as identity does (EdDSA, `kid` header, its
/// claims) and returns the auth layer every component installs: service tokens plus the JWKS
/// verifier over the published key.
fn auth(residents: usize) -> Auth {
    use aws_lc_rs::signature::KeyPair as _;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).expect("key");
    let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("key");
    let jwk = PublicJwk {
        kid: "bench-k1".to_owned(),
        x: URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    };
    let signing = jsonwebtoken::EncodingKey::from_ed_der(pkcs8.as_ref());
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
    header.kid = Some(jwk.kid.clone());
    let now = Utc::now().timestamp();
    let bearers = (0..residents)
        .map(|i| {
            let claims = AccessClaims {
                sub: subject(i),
                // Applicants' accounts are city-wide; they address a district by header.
                tenant: "suzhou".into(),
                roles: vec!["applicant".into()],
                street: None,
                department: None,
                sid: format!("0190c3a2-5e55-7b1a-9c3e-{i:012}"),
                iat: now,
                exp: now + 3_600,
            };
            let token = jsonwebtoken::encode(&header, &claims, &signing).expect("sign");
            format!("Bearer {token}").parse().expect("header")
        })
        .collect();
    let users = JwksVerifier::with_keys(&[jwk]).expect("verifier");
    let service = Arc::new(ServiceTokens::new(
        "ranking",
        b"bench-secret-bench-secret-bench-secret",
    ));
    Auth {
        layer: AuthLayer::new(Arc::new(ComponentVerifier::new(service, users))),
        bearers,
    }
}

/// Serves `ranking` and health on a fresh loopback port; returns its address.
async fn serve(
    ranking: Ranking,
    auth: AuthLayer,
    shutdown: CancellationToken,
) -> std::net::SocketAddr {
    let config = jifen_kit::Config::defaults().server;
    let mut server = GrpcServer::new();
    server.add_service(
        RankingServiceServer::new(ranking)
            .max_decoding_message_size(config.max_message_bytes)
            .max_encoding_message_size(config.max_message_bytes),
    );
    server.health().set_serving().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        server
            .serve(listener, &config, auth, shutdown)
            .await
            .expect("serve");
    });
    addr
}

#[derive(Clone, Copy)]
enum Call {
    Noop,
    GetRank,
}

/// Drives `call` from `clients` connections for `secs`; returns (ok, failed) calls.
async fn drive(
    channels: &[Channel],
    bearers: &Arc<Vec<MetadataValue<tonic::metadata::Ascii>>>,
    call: Call,
    secs: f64,
) -> (u64, u64) {
    let ok = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let tenant: MetadataValue<tonic::metadata::Ascii> = TENANT.parse().expect("tenant");
    let clients = channels.len();
    let mut tasks = Vec::new();
    for (c, channel) in channels.iter().enumerate() {
        let (ok, failed, stop) = (ok.clone(), failed.clone(), stop.clone());
        let (bearers, tenant, channel) = (bearers.clone(), tenant.clone(), channel.clone());
        tasks.push(tokio::spawn(async move {
            let mut health = HealthClient::new(channel.clone());
            let mut ranking = RankingServiceClient::new(channel);
            let mut k = 0usize;
            let mut first_error = true;
            while !stop.load(Ordering::Relaxed) {
                let i = (c + k * clients) % bearers.len();
                k += 1;
                let result = match call {
                    Call::Noop => {
                        let mut req = tonic::Request::new(HealthCheckRequest {
                            service: String::new(),
                        });
                        req.metadata_mut()
                            .insert("authorization", bearers[i].clone());
                        req.metadata_mut().insert(TENANT_HEADER, tenant.clone());
                        health.check(req).await.map(|_| ())
                    }
                    Call::GetRank => {
                        let mut req = tonic::Request::new(pb::GetRankRequest {
                            application_id: application_id(i),
                            scope: None,
                        });
                        req.metadata_mut()
                            .insert("authorization", bearers[i].clone());
                        req.metadata_mut().insert(TENANT_HEADER, tenant.clone());
                        ranking.get_rank(req).await.map(|r| {
                            let r = r.into_inner();
                            assert!(!r.degraded && !r.positions.is_empty(), "live answer");
                        })
                    }
                };
                match result {
                    Ok(()) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(status) => {
                        if first_error {
                            eprintln!("call failed: {status}");
                            first_error = false;
                        }
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("client");
    }
    (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed))
}

/// Measures the no-op and GetRank on one server; returns (GetRank req/s, no-op req/s).
async fn measure(
    label: &str,
    ranking: Ranking,
    auth: &Auth,
    clients: usize,
    secs: f64,
) -> (f64, f64) {
    let shutdown = CancellationToken::new();
    let addr = serve(ranking, auth.layer.clone(), shutdown.clone()).await;
    let mut channels = Vec::with_capacity(clients);
    for _ in 0..clients {
        channels.push(
            Endpoint::from_shared(format!("http://{addr}"))
                .expect("endpoint")
                .tcp_nodelay(true)
                .connect()
                .await
                .expect("connect"),
        );
    }
    let bearers = Arc::new(auth.bearers.clone());
    // Warm up both paths (token cache, hot entries, connections).
    drive(&channels, &bearers, Call::Noop, 1.0).await;
    drive(&channels, &bearers, Call::GetRank, 2.0).await;
    let (mut noop, mut rank, mut noop_secs, mut rank_secs) = (0, 0, 0.0, 0.0);
    for _ in 0..2 {
        let started = Instant::now();
        let (ok, failed) = drive(&channels, &bearers, Call::Noop, secs).await;
        noop_secs += started.elapsed().as_secs_f64();
        assert_eq!(failed, 0, "no-op calls failed");
        noop += ok;
        let started = Instant::now();
        let (ok, failed) = drive(&channels, &bearers, Call::GetRank, secs).await;
        rank_secs += started.elapsed().as_secs_f64();
        assert_eq!(failed, 0, "GetRank calls failed");
        rank += ok;
    }
    shutdown.cancel();
    let (rank_rps, noop_rps) = (rank as f64 / rank_secs, noop as f64 / noop_secs);
    println!(
        "{label}: GetRank {rank_rps:.0} req/s ({rank} calls), no-op {noop_rps:.0} req/s ({noop} calls), ratio {:.2}",
        rank_rps / noop_rps
    );
    (rank_rps, noop_rps)
}

fn bench_line(what: &str, rank_rps: f64, noop_rps: f64) {
    let ratio = rank_rps / noop_rps;
    println!(
        "BENCH | {what} | {rank_rps:.0} req/s | {noop_rps:.0} req/s no-op health Check | {ratio:.2} | >= 0.6 | {}",
        if ratio >= 0.6 { "yes" } else { "no" }
    );
}

#[tokio::main]
async fn main() {
    let entries = env("JIFEN_BENCH_ENTRIES", 100_000);
    let clients = env("JIFEN_BENCH_CLIENTS", 32);
    let residents = env("JIFEN_BENCH_RESIDENTS", 2_000).clamp(1, entries);
    let secs = env("JIFEN_BENCH_SECS", 5) as f64;
    let dir = tempfile::tempdir().expect("tempdir");
    let config = jifen_kit::config::DatabaseConfig {
        url: String::new(),
        max_connections: 8,
    };
    let db = jifen_kit::db::connect("ranking", &config, dir.path())
        .await
        .expect("database");
    jifen_kit::db::migrate::<jifen_ranking::Migrator>("ranking", &db)
        .await
        .expect("migrate");
    let started = Instant::now();
    seed(&db, entries).await;
    eprintln!(
        "seeded {entries} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let auth = auth(residents);

    // Embedded default: the in-process board.
    let ranking = Ranking::with_boards(db.clone(), Arc::new(InProcessBoards::new()));
    let started = Instant::now();
    let warmed = ranking.warm_up().await.expect("warm up");
    eprintln!(
        "in-process boards: {} boards, {} entries in {:.1} s",
        warmed.boards,
        warmed.entries,
        started.elapsed().as_secs_f64()
    );
    let (rank, noop) = measure("in-process board", ranking, &auth, clients, secs).await;
    bench_line(
        &format!(
            "live rank GetRank (in-process board, {entries} entries, {clients} clients, resident tokens)"
        ),
        rank,
        noop,
    );

    // Microservices mode: Redis sorted sets, when Redis answers.
    let url = std::env::var("JIFEN_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    match jifen_kit::cache::connect(&url).await {
        Ok(conn) => {
            let prefix = format!("jifen-bench-{}:", std::process::id());
            let boards = Arc::new(RedisBoards::new(conn, &url, &prefix));
            let ranking = Ranking::with_boards(db.clone(), boards.clone());
            let started = Instant::now();
            let warmed = ranking.warm_up().await.expect("warm up");
            eprintln!(
                "redis boards: {} boards, {} entries in {:.1} s",
                warmed.boards,
                warmed.entries,
                started.elapsed().as_secs_f64()
            );
            let (rank, noop) = measure("redis board", ranking, &auth, clients, secs).await;
            let (memory, redis) = boards.answers_from_memory_and_redis();
            println!(
                "redis board: {memory} board answers from this process's memory, {redis} from Redis ({:.1} % from memory)",
                100.0 * memory as f64 / (memory + redis).max(1) as f64
            );
            bench_line(
                &format!(
                    "live rank GetRank (Redis board, {entries} entries, {clients} clients, resident tokens)"
                ),
                rank,
                noop,
            );
            let _ = boards.drop_tenant(TENANT).await;
            let _ = boards.drop_area(AREA).await;
        }
        Err(err) => eprintln!("redis board skipped: {err}"),
    }
}
