//! Submissions into PostgreSQL through the real Submit rpc, against raw INSERTs of the same rows,
//! in one run.
//!
//! * `submission`: `ReviewService::submit` (what the gRPC handler runs) on drafts made beforehand
//!   (not timed): idempotency-key lookup, owner check, cycle window, gate evaluation with
//!   jifen-rules, SLA deadline, then the versioned row update with its hash-chained audit record,
//!   the outbox event and the idempotency key, atomically.
//! * `raw`: a plain autocommit INSERT of the same row (a copy of a submitted application, as the
//!   submission left it), with the same number of writers over the same connection pool.
//!
//! Needs PostgreSQL at `JIFEN_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! creates a fresh database. `JIFEN_BENCH_N` (default 4000) rows per phase;
//! `JIFEN_BENCH_WRITERS` (default 32) concurrent writers, for both phases alike, with a pool of
//! writers + 4 connections. `JIFEN_BENCH_LOG_STATEMENTS=1` sets `log_statement = 'all'` on the
//! bench database and marks the timed phases in the server log (`SELECT 'bench: ...'`), to count
//! the statements per operation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::review::v1 as pb;
use jifen_proto::review::v1::review_service_server::ReviewService as Svc;
use jifen_review::Review;
use jifen_review::score_source::RulesScoreSource;
use jifen_review::store::entities::application;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, Database, DatabaseConnection,
    EntityTrait, IntoActiveModel, QueryFilter, Statement,
};

/// Runs `op` `total` times over `writers` tasks; returns (acknowledged, seconds).
async fn run<F, Fut>(writers: usize, total: usize, op: F) -> (usize, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let (op, next) = (op.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut acked = 0;
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= total {
                    return acked;
                }
                match op(n).await {
                    Ok(()) => acked += 1,
                    Err(e) => eprintln!("write {n} failed: {e}"),
                }
            }
        }));
    }
    let mut acked = 0;
    for t in tasks {
        acked += t.await.unwrap();
    }
    (acked, started.elapsed().as_secs_f64())
}

fn rq<T>(c: &Caller, m: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(m);
    r.extensions_mut().insert(c.clone());
    r
}

fn caller(tenant: &str, subject: String, role: Role) -> Caller {
    Caller {
        tenant: tenant.to_owned(),
        subject,
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

async fn count(db: &DatabaseConnection, sql: String) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Opens a settlement cycle in `tenant` and makes `total` drafts with one claim each, through
/// the rpcs (not timed). Returns (application id, version) per draft.
async fn drafts(svc: &Review, tenant: &str, total: usize, writers: usize) -> Vec<(String, i64)> {
    let admin = caller(tenant, "admin".into(), Role::DistrictAdmin);
    let cycle = Svc::create_cycle(
        svc,
        rq(
            &admin,
            pb::CreateCycleRequest {
                target_tenant: String::new(),
                cycle: Some(pb::Cycle {
                    benefit: "settlement".into(),
                    year: 2024,
                    application_window: Some(common::DateRange {
                        start_date: "2000-01-01".into(),
                        end_date: "2099-12-31".into(),
                    }),
                    score_as_of_date: "2024-06-30".into(),
                    rule_set: Some(jifen_proto::scoring::v1::RuleSetRef {
                        rule_set_id: "SZ-CITY-SETTLEMENT-2021".into(),
                        version: 0,
                    }),
                    ..Default::default()
                }),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    Svc::open_cycle(
        svc,
        rq(
            &admin,
            pb::OpenCycleRequest {
                cycle_id: cycle.cycle_id.clone(),
                expected_version: cycle.version,
            },
        ),
    )
    .await
    .unwrap();
    let made = Arc::new(std::sync::Mutex::new(vec![None; total]));
    let (svc, made2, cycle_id, tenant) = (
        svc.clone(),
        made.clone(),
        cycle.cycle_id.clone(),
        tenant.to_owned(),
    );
    run(writers, total, move |n| {
        let (svc, made, cycle_id, tenant) =
            (svc.clone(), made2.clone(), cycle_id.clone(), tenant.clone());
        async move {
            let c = caller(&tenant, format!("a{n}"), Role::Applicant);
            let app = Svc::create_draft(
                &svc,
                rq(
                    &c,
                    pb::CreateDraftRequest {
                        cycle_id,
                        street_code: "s1".into(),
                        idempotency_key: String::new(),
                    },
                ),
            )
            .await
            .map_err(|e| e.to_string())?
            .into_inner();
            let app = Svc::save_claims(
                &svc,
                rq(
                    &c,
                    pb::SaveClaimsRequest {
                        application_id: app.application_id,
                        expected_version: app.version,
                        claims: vec![pb::Claim {
                            fact_key: "insurance_months".into(),
                            value_json: "88".into(),
                            ..Default::default()
                        }],
                        remove: vec![],
                    },
                ),
            )
            .await
            .map_err(|e| e.to_string())?
            .into_inner();
            made.lock().unwrap()[n] = Some((app.application_id, app.version));
            Ok(())
        }
    })
    .await;
    let made = made.lock().unwrap();
    made.iter()
        .map(|d| d.clone().expect("draft made"))
        .collect()
}

#[tokio::main]
async fn main() {
    let admin = std::env::var("JIFEN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let total = env_usize("JIFEN_BENCH_N", 4000);
    let writers = env_usize("JIFEN_BENCH_WRITERS", 32);
    let name = format!("jifen_bench_{}", std::process::id());
    let boot = Database::connect(admin.as_str())
        .await
        .expect("PostgreSQL answers");
    boot.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    // The bench database on the same server, with the same connection options (`?sslmode=`).
    let (server, options) = admin.split_once('?').unwrap_or((&admin, ""));
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    let url = if options.is_empty() {
        format!("{base}/{name}")
    } else {
        format!("{base}/{name}?{options}")
    };
    let log_statements = std::env::var("JIFEN_BENCH_LOG_STATEMENTS").is_ok_and(|v| v == "1");
    if log_statements {
        boot.execute_unprepared(&format!(
            "ALTER DATABASE \"{name}\" SET log_statement = 'all'"
        ))
        .await
        .expect("log statements");
    }
    let config = jifen_kit::config::DatabaseConfig {
        url,
        max_connections: writers as u32 + 4,
    };
    let db = jifen_kit::db::connect("review", &config, &std::env::temp_dir())
        .await
        .expect("connect");
    jifen_kit::db::migrate::<jifen_review::Migrator>("review", &db)
        .await
        .expect("migrate");
    let svc = Review::new(db.clone(), Arc::new(RulesScoreSource));
    let mark = |what: &'static str| {
        let db = db.clone();
        async move {
            if log_statements {
                let _ = db
                    .execute_unprepared(&format!("SELECT 'bench: {what}'"))
                    .await;
            }
        }
    };

    // Warm-up (pool, prepared statements, rule-set cache), then the timed drafts' setup.
    let tenant = "bench-sub";
    let warm = drafts(&svc, "bench-warm", 200, writers).await;
    let drafts = Arc::new(drafts(&svc, tenant, total, writers).await);
    let submit = |svc: Review, tenant: &'static str, list: Arc<Vec<(String, i64)>>| {
        move |n: usize| {
            let (svc, list) = (svc.clone(), list.clone());
            async move {
                let (id, version) = list[n].clone();
                let c = caller(tenant, format!("a{n}"), Role::Applicant);
                Svc::submit(
                    &svc,
                    rq(
                        &c,
                        pb::SubmitRequest {
                            application_id: id,
                            expected_version: version,
                            idempotency_key: format!("k{n}"),
                        },
                    ),
                )
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
            }
        }
    };
    let _ = run(
        writers,
        warm.len(),
        submit(svc.clone(), "bench-warm", Arc::new(warm)),
    )
    .await;

    eprintln!("submit: submission phase");
    mark("submission start").await;
    let (sub_acked, sub_secs) = run(writers, total, submit(svc.clone(), tenant, drafts)).await;
    mark("submission end").await;

    // The raw side inserts copies of a row exactly as a submission left it.
    let template = application::Entity::find()
        .filter(application::Column::Tenant.eq(tenant))
        .filter(application::Column::Status.eq(common::ApplicationStatus::Submitted as i32))
        .one(&db)
        .await
        .unwrap()
        .expect("a submitted application");
    eprintln!("submit: raw phase");
    mark("raw start").await;
    let (raw_acked, raw_secs) = run(writers, total, {
        let db = db.clone();
        move |n| {
            let (db, template) = (db.clone(), template.clone());
            async move {
                let id = uuid::Uuid::now_v7().to_string();
                let mut row = template.into_active_model().reset_all();
                row.tenant = Set("bench-raw".to_owned());
                row.number = Set(format!("BR-2024-SET-{n:06}"));
                row.active_key = Set(Some(format!("raw/{id}")));
                row.applicant_subject = Set(format!("r{n}"));
                row.id = Set(id);
                row.insert(&db).await.map(|_| ()).map_err(|e| e.to_string())
            }
        }
    })
    .await;
    mark("raw end").await;

    let submitted = common::ApplicationStatus::Submitted as i32;
    let sub_rows = count(
        &db,
        format!(
            "SELECT COUNT(*) FROM applications WHERE tenant = '{tenant}' AND status = {submitted}"
        ),
    )
    .await;
    let sub_events = count(
        &db,
        format!("SELECT COUNT(*) FROM outbox_events WHERE tenant = '{tenant}' AND topic = 'review.application_status_changed'"),
    )
    .await;
    let sub_audit = count(
        &db,
        format!(
            "SELECT COUNT(*) FROM audit_entries WHERE tenant = '{tenant}' AND action = 'submit'"
        ),
    )
    .await;
    let sub_keys = count(
        &db,
        format!(
            "SELECT COUNT(*) FROM idempotency_keys WHERE tenant = '{tenant}' AND scope = 'submit'"
        ),
    )
    .await;
    let raw_rows = count(
        &db,
        "SELECT COUNT(*) FROM applications WHERE tenant = 'bench-raw'".into(),
    )
    .await;
    let sub_rate = sub_acked as f64 / sub_secs;
    let raw_rate = raw_acked as f64 / raw_secs;
    println!(
        "writers {writers}, pool {} connections (both phases)",
        writers + 4
    );
    println!(
        "submission (Submit rpc: row + audit + outbox + key): {sub_acked} in {sub_secs:.2}s = {sub_rate:.0}/s; submitted in db {sub_rows}, audit {sub_audit}, outbox events {sub_events}, keys {sub_keys}"
    );
    println!(
        "raw INSERT of the same rows:                         {raw_acked} in {raw_secs:.2}s = {raw_rate:.0}/s; rows in db {raw_rows}"
    );
    let ratio = sub_rate / raw_rate;
    println!("ratio submission/raw: {ratio:.2}");
    let none_lost = [sub_rows, sub_audit, sub_events, sub_keys]
        .iter()
        .all(|c| *c as usize == sub_acked)
        && raw_rows as usize == raw_acked;
    println!("db count equals acknowledged: {none_lost}");
    let met = sub_rate >= 2000.0 && ratio >= 0.5 && none_lost;
    println!(
        "BENCH | durable submissions (Submit rpc on PostgreSQL), {writers} writers | {sub_rate:.0}/s, {} lost | raw INSERT {raw_rate:.0}/s | {ratio:.2} | >= 2000/s, >= 0.5, 0 lost | {}",
        if none_lost {
            0
        } else {
            sub_acked.abs_diff(sub_rows as usize)
        },
        if met { "yes" } else { "no" }
    );
    let _ = db.close().await;
    let _ = boot
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}
