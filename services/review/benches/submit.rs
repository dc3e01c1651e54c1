//! Submissions into PostgreSQL, against raw INSERTs of the same rows, in one run.
//!
//! * `submission`: what a submission writes, in one transaction: the application row, its first
//!   audit record (hash-chained after reading the previous one) and the outbox event.
//! * `raw`: a plain autocommit INSERT of the same application row.
//! * `rpc` (for information): the whole Submit rpc on existing drafts: reads, gate evaluation with
//!   jifen-rules, SLA deadline, versioned update, audit, outbox, idempotency key.
//!
//! Needs PostgreSQL at `JIFEN_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
//! creates a fresh database. `JIFEN_BENCH_N` (default 4000) rows per phase, 32 concurrent writers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::review::v1 as pb;
use jifen_proto::review::v1::review_service_server::ReviewService as Svc;
use jifen_review::domain::audit::AuditEntry;
use jifen_review::score_source::RulesScoreSource;
use jifen_review::store::entities::application;
use jifen_review::{Review, events};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Database, DatabaseConnection, Statement,
    TransactionTrait,
};
use serde_json::json;

const WRITERS: usize = 32;

fn row(id: &str, tenant: &str, n: usize) -> application::ActiveModel {
    let now = Utc::now();
    application::ActiveModel {
        id: Set(id.to_owned()),
        tenant: Set(tenant.to_owned()),
        cycle_id: Set("bench-cycle".to_owned()),
        benefit: Set("settlement".to_owned()),
        number: Set(format!("BE-2024-SET-{id}")),
        applicant_subject: Set(format!("applicant-{n}")),
        street_code: Set("s1".to_owned()),
        status: Set(common::ApplicationStatus::Submitted as i32),
        version: Set(2),
        active_key: Set(Some(format!("bench-cycle/{id}"))),
        claims: Set(
            json!([{"fact_key": "insurance_months", "person_index": 0, "indicator": "insurance_months", "value": 88, "material_ids": ["m1"], "state": "claimed", "verified": null, "department": "", "note": ""}]),
        ),
        household: Set(json!({"child": null, "other_parent": null, "school_preferences": []})),
        claimed_score: Set(None),
        verified_score: Set(None),
        total: Set(Some(790)),
        gate_decisions: Set(json!([])),
        due_at: Set(Some(now)),
        reason: Set(String::new()),
        returned_fact_keys: Set(json!([])),
        outcome: Set(0),
        allocated_school: Set(String::new()),
        resubmitted: Set(false),
        created_at: Set(now),
        submitted_at: Set(Some(now)),
        updated_at: Set(now),
        confirmed_at: Set(None),
    }
}

async fn submission(db: &DatabaseConnection, tenant: &str, n: usize) -> Result<(), String> {
    let id = uuid::Uuid::now_v7().to_string();
    let txn = db.begin().await.map_err(|e| e.to_string())?;
    row(&id, tenant, n)
        .insert(&txn)
        .await
        .map_err(|e| e.to_string())?;
    let entry = AuditEntry {
        sequence: 0,
        tenant: tenant.to_owned(),
        application_id: id.clone(),
        actor_subject: format!("applicant-{n}"),
        actor_role: "applicant".to_owned(),
        actor_tenant: tenant.to_owned(),
        actor_scope: String::new(),
        action: "submit".to_owned(),
        from_status: common::ApplicationStatus::Draft as i32,
        to_status: common::ApplicationStatus::Submitted as i32,
        reason: String::new(),
        details: "{}".to_owned(),
        at: jifen_review::domain::audit::truncate_micros(Utc::now()),
    };
    jifen_review::store::repo::append_audit(&txn, entry, None)
        .await
        .map_err(|e| e.to_string())?;
    let payload = common::ApplicationStatusChanged {
        application_id: id.clone(),
        from_status: common::ApplicationStatus::Draft as i32,
        to_status: common::ApplicationStatus::Submitted as i32,
        ..Default::default()
    };
    events::enqueue(
        &txn,
        tenant,
        &id,
        2,
        common::event::Payload::ApplicationStatusChanged(payload),
    )
    .await
    .map_err(|e| e.to_string())?;
    txn.commit().await.map_err(|e| e.to_string())
}

async fn raw(db: &DatabaseConnection, tenant: &str, n: usize) -> Result<(), String> {
    let id = uuid::Uuid::now_v7().to_string();
    row(&id, tenant, n)
        .insert(db)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Runs `op` `total` times over WRITERS tasks; returns (acknowledged, seconds).
async fn run<F, Fut>(total: usize, op: F) -> (usize, f64)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..WRITERS {
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

async fn count(db: &DatabaseConnection, sql: String) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

#[tokio::main]
async fn main() {
    let admin = std::env::var("JIFEN_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let total: usize = std::env::var("JIFEN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4000);
    let name = format!("jifen_bench_{}", std::process::id());
    let boot = Database::connect(admin.as_str())
        .await
        .expect("PostgreSQL answers");
    boot.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create database");
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => format!("{admin}/{name}"),
    };
    let config = jifen_kit::config::DatabaseConfig {
        url,
        max_connections: WRITERS as u32 + 4,
    };
    let db = jifen_kit::db::connect("review", &config, &std::env::temp_dir())
        .await
        .expect("connect");
    jifen_kit::db::migrate::<jifen_review::Migrator>("review", &db)
        .await
        .expect("migrate");

    // Warm the pool.
    let _ = run(200, {
        let db = db.clone();
        move |n| {
            let db = db.clone();
            async move { raw(&db, "warm", n).await }
        }
    })
    .await;

    let (sub_acked, sub_secs) = run(total, {
        let db = db.clone();
        move |n| {
            let db = db.clone();
            async move { submission(&db, "bench-sub", n).await }
        }
    })
    .await;
    let (raw_acked, raw_secs) = run(total, {
        let db = db.clone();
        move |n| {
            let db = db.clone();
            async move { raw(&db, "bench-raw", n).await }
        }
    })
    .await;

    let sub_rows = count(
        &db,
        "SELECT COUNT(*) FROM applications WHERE tenant = 'bench-sub'".into(),
    )
    .await;
    let sub_events = count(
        &db,
        "SELECT COUNT(*) FROM outbox_events WHERE tenant = 'bench-sub'".into(),
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
        "submission (row + audit + outbox, one txn): {sub_acked} in {sub_secs:.2}s = {sub_rate:.0}/s; rows in db {sub_rows}, outbox events {sub_events}"
    );
    println!(
        "raw INSERT of the same rows:                {raw_acked} in {raw_secs:.2}s = {raw_rate:.0}/s; rows in db {raw_rows}"
    );
    println!("ratio submission/raw: {:.2}", sub_rate / raw_rate);
    println!(
        "db count equals acknowledged: {}",
        sub_rows as usize == sub_acked
            && sub_events as usize == sub_acked
            && raw_rows as usize == raw_acked
    );

    // The whole Submit rpc, on drafts made beforehand (not timed).
    let svc = Review::new(db.clone(), Arc::new(RulesScoreSource));
    let tenant = "bench-rpc".to_owned();
    let caller = |subject: String, role: Role| Caller {
        tenant: tenant.clone(),
        subject,
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    };
    let wide = Some(common::DateRange {
        start_date: "2000-01-01".into(),
        end_date: "2099-12-31".into(),
    });
    let admin_c = caller("admin".into(), Role::DistrictAdmin);
    let cycle = Svc::create_cycle(
        &svc,
        rq(
            &admin_c,
            pb::CreateCycleRequest {
                target_tenant: String::new(),
                cycle: Some(pb::Cycle {
                    benefit: "settlement".into(),
                    year: 2024,
                    application_window: wide,
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
        &svc,
        rq(
            &admin_c,
            pb::OpenCycleRequest {
                cycle_id: cycle.cycle_id.clone(),
                expected_version: cycle.version,
            },
        ),
    )
    .await
    .unwrap();
    let rpc_total = total / 2;
    let drafts = Arc::new(std::sync::Mutex::new(vec![None; rpc_total]));
    {
        let (svc, drafts, cycle_id, tenant) = (
            svc.clone(),
            drafts.clone(),
            cycle.cycle_id.clone(),
            tenant.clone(),
        );
        run(rpc_total, move |n| {
            let (svc, drafts, cycle_id, tenant) = (
                svc.clone(),
                drafts.clone(),
                cycle_id.clone(),
                tenant.clone(),
            );
            async move {
                let c = Caller {
                    tenant,
                    subject: format!("a{n}"),
                    roles: vec![Role::Applicant],
                    street: None,
                    department: None,
                    session: None,
                    home_tenant: None,
                };
                let mut r = tonic::Request::new(pb::CreateDraftRequest {
                    cycle_id,
                    street_code: "s1".into(),
                    idempotency_key: String::new(),
                });
                r.extensions_mut().insert(c.clone());
                let app = Svc::create_draft(&svc, r)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                let mut r = tonic::Request::new(pb::SaveClaimsRequest {
                    application_id: app.application_id,
                    expected_version: app.version,
                    claims: vec![pb::Claim {
                        fact_key: "insurance_months".into(),
                        value_json: "88".into(),
                        ..Default::default()
                    }],
                    remove: vec![],
                });
                r.extensions_mut().insert(c);
                let app = Svc::save_claims(&svc, r)
                    .await
                    .map_err(|e| e.to_string())?
                    .into_inner();
                drafts.lock().unwrap()[n] = Some((app.application_id, app.version));
                Ok(())
            }
        })
        .await;
    }
    let (rpc_acked, rpc_secs) = {
        let (svc, drafts, tenant) = (svc.clone(), drafts.clone(), tenant.clone());
        run(rpc_total, move |n| {
            let (svc, drafts, tenant) = (svc.clone(), drafts.clone(), tenant.clone());
            async move {
                let (id, version) = drafts.lock().unwrap()[n].clone().ok_or("no draft")?;
                let c = Caller {
                    tenant,
                    subject: format!("a{n}"),
                    roles: vec![Role::Applicant],
                    street: None,
                    department: None,
                    session: None,
                    home_tenant: None,
                };
                let mut r = tonic::Request::new(pb::SubmitRequest {
                    application_id: id,
                    expected_version: version,
                    idempotency_key: format!("k{n}"),
                });
                r.extensions_mut().insert(c);
                Svc::submit(&svc, r)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        })
        .await
    };
    let rpc_rows = count(
        &db,
        format!(
            "SELECT COUNT(*) FROM applications WHERE tenant = 'bench-rpc' AND status = {}",
            common::ApplicationStatus::Submitted as i32
        ),
    )
    .await;
    println!(
        "whole Submit rpc (reads, gates, audit, outbox, key):  {rpc_acked} in {rpc_secs:.2}s = {:.0}/s; submitted in db {rpc_rows}",
        rpc_acked as f64 / rpc_secs
    );
    let _ = db.close().await;
    let _ = boot
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await;
}
