//! Submission semantics on a real database (PostgreSQL at `JIFEN_TEST_PG_URL`, default
//! `postgres://postgres@127.0.0.1:5432/postgres`, and the embedded SQLite): a key retried
//! concurrently makes one submission, racing versions let exactly one win, and the audit chain
//! (with its head kept on the application row) stays intact and detects an edited record.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use jifen_kit::auth::{Caller, Role};
use jifen_kit::config::DatabaseConfig;
use jifen_proto::common::v1 as common;
use jifen_proto::review::v1 as pb;
use jifen_proto::review::v1::review_service_server::ReviewService as Svc;
use jifen_review::Review;
use jifen_review::score_source::RulesScoreSource;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tonic::{Code, Request};

fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{:x}{}{}",
        nanos % 0xffff_ffff,
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn rq<T>(caller: &Caller, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(caller.clone());
    req
}

#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Postgres,
    Sqlite,
}

struct World {
    svc: Review,
    db: DatabaseConnection,
    tenant: String,
    cycle_id: String,
}

impl World {
    async fn new(backend: Backend) -> Self {
        let schema = format!("review_submit_{}", unique());
        let (url, dir) = match backend {
            Backend::Postgres => (
                std::env::var("JIFEN_TEST_PG_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
                std::env::temp_dir(),
            ),
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(&schema);
                (String::new(), dir)
            }
        };
        let config = DatabaseConfig {
            url,
            max_connections: 16,
        };
        let db = jifen_kit::db::connect(&schema, &config, &dir)
            .await
            .expect("connect");
        jifen_kit::db::migrate::<jifen_review::Migrator>(&schema, &db)
            .await
            .expect("migrate");
        let svc = Review::new(db.clone(), Arc::new(RulesScoreSource));
        let mut w = World {
            svc,
            db,
            tenant: format!("t{}", unique()),
            cycle_id: String::new(),
        };
        w.cycle_id = w.open_cycle().await;
        w
    }

    fn who(&self, subject: &str, role: Role) -> Caller {
        Caller {
            tenant: self.tenant.clone(),
            subject: subject.to_owned(),
            roles: vec![role],
            street: (role == Role::StreetReviewer).then(|| "s1".to_owned()),
            department: None,
            session: None,
            home_tenant: Some(self.tenant.clone()),
        }
    }

    async fn open_cycle(&self) -> String {
        let admin = self.who("admin", Role::DistrictAdmin);
        let wide = || {
            Some(common::DateRange {
                start_date: "2000-01-01".into(),
                end_date: "2099-12-31".into(),
            })
        };
        let cycle = Svc::create_cycle(
            &self.svc,
            rq(
                &admin,
                pb::CreateCycleRequest {
                    target_tenant: String::new(),
                    cycle: Some(pb::Cycle {
                        benefit: "settlement".into(),
                        year: 2024,
                        application_window: wide(),
                        confirmation_window: wide(),
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
        .expect("create cycle")
        .into_inner();
        Svc::open_cycle(
            &self.svc,
            rq(
                &admin,
                pb::OpenCycleRequest {
                    cycle_id: cycle.cycle_id.clone(),
                    expected_version: cycle.version,
                },
            ),
        )
        .await
        .expect("open cycle");
        cycle.cycle_id
    }

    async fn draft(&self, applicant: &Caller) -> pb::Application {
        let app = Svc::create_draft(
            &self.svc,
            rq(
                applicant,
                pb::CreateDraftRequest {
                    cycle_id: self.cycle_id.clone(),
                    street_code: "s1".into(),
                    idempotency_key: unique(),
                },
            ),
        )
        .await
        .expect("draft")
        .into_inner();
        Svc::save_claims(
            &self.svc,
            rq(
                applicant,
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
        .expect("claims")
        .into_inner()
    }

    async fn submit(
        &self,
        applicant: &Caller,
        app: &pb::Application,
        key: &str,
    ) -> Result<pb::SubmitResponse, tonic::Status> {
        Svc::submit(
            &self.svc,
            rq(
                applicant,
                pb::SubmitRequest {
                    application_id: app.application_id.clone(),
                    expected_version: app.version,
                    idempotency_key: key.into(),
                },
            ),
        )
        .await
        .map(tonic::Response::into_inner)
    }

    async fn count(&self, table: &str, filter: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!(
                    "SELECT COUNT(*) FROM {table} WHERE tenant = '{}' {filter}",
                    self.tenant
                ),
            ))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<i64>(0).unwrap()
    }

    async fn verify(&self, id: &str) -> pb::VerifyAuditTrailResponse {
        Svc::verify_audit_trail(
            &self.svc,
            rq(
                &self.who("admin", Role::DistrictAdmin),
                pb::VerifyAuditTrailRequest {
                    application_id: id.to_owned(),
                },
            ),
        )
        .await
        .expect("verify")
        .into_inner()
    }

    /// The audit head stored on the application row: (sequence, hash).
    async fn stored_head(&self, id: &str) -> (i64, String) {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                format!("SELECT audit_sequence, audit_head FROM applications WHERE id = '{id}'"),
            ))
            .await
            .unwrap()
            .unwrap();
        (
            row.try_get_by_index::<i64>(0).unwrap(),
            row.try_get_by_index::<String>(1).unwrap(),
        )
    }
}

async fn one_key_retried_concurrently_makes_one_submission(backend: Backend) {
    let w = World::new(backend).await;
    let ann = w.who("ann", Role::Applicant);
    let app = w.draft(&ann).await;
    let tries = all((0..8)
        .map(|_| submit_owned(w.svc.clone(), ann.clone(), app.clone(), "same-key"))
        .collect())
    .await;
    let ok: Vec<_> = tries.into_iter().map(|r| r.expect("answered")).collect();
    assert_eq!(ok.iter().filter(|r| !r.replayed).count(), 1, "one real");
    for r in &ok {
        let a = r.application.as_ref().unwrap();
        assert_eq!(a.application_id, app.application_id);
        assert_eq!(a.status, common::ApplicationStatus::Submitted as i32);
    }
    assert!(w.submit(&ann, &app, "same-key").await.unwrap().replayed);
    assert_eq!(w.count("audit_entries", "AND action = 'submit'").await, 1);
    assert_eq!(
        w.count(
            "outbox_events",
            "AND topic = 'review.application_status_changed'"
        )
        .await,
        1
    );
    assert_eq!(w.count("idempotency_keys", "AND scope = 'submit'").await, 1);
    let v = w.verify(&app.application_id).await;
    assert!(v.intact);
    assert_eq!(v.records_checked, 2, "create + submit");
    assert_eq!(
        w.stored_head(&app.application_id).await,
        (2, v.head_hash.clone()),
        "the row's head is the chain's head"
    );
}

async fn racing_submits_exactly_one_wins(backend: Backend) {
    let w = World::new(backend).await;
    let bo = w.who("bo", Role::Applicant);
    let app = w.draft(&bo).await;
    let results = all(vec![
        submit_owned(w.svc.clone(), bo.clone(), app.clone(), "k1"),
        submit_owned(w.svc.clone(), bo.clone(), app.clone(), "k2"),
    ])
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "one wins");
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(loser.code(), Code::Aborted);
    assert_eq!(loser.message(), "申请已被他人处理，请刷新");
    assert_eq!(w.count("audit_entries", "AND action = 'submit'").await, 1);
    assert_eq!(w.count("idempotency_keys", "AND scope = 'submit'").await, 1);
    assert_eq!(
        w.count(
            "outbox_events",
            "AND topic = 'review.application_status_changed'"
        )
        .await,
        1
    );
    // The stale version is refused afterwards too, with nothing written.
    let stale = w.submit(&bo, &app, "k3").await.unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(w.count("idempotency_keys", "AND scope = 'submit'").await, 1);
}

async fn the_chain_holds_through_racing_reviewers_and_detects_an_edit(backend: Backend) {
    let w = World::new(backend).await;
    let cy = w.who("cy", Role::Applicant);
    let app = w.draft(&cy).await;
    let submitted = w.submit(&cy, &app, "k").await.unwrap().application.unwrap();
    let approve = |n: usize| {
        let mut who = w.who(&format!("street-{n}"), Role::StreetReviewer);
        who.street = Some("s1".into());
        let svc = w.svc.clone();
        let req = pb::ApproveApplicationRequest {
            application_id: app.application_id.clone(),
            expected_version: submitted.version,
            note_zh: String::new(),
        };
        async move { Svc::approve_application(&svc, rq(&who, req)).await }
    };
    // SQLite answers racing read-then-write transactions with "busy" (a known limit of the
    // embedded mode, unrelated to the chain): there the racers come one after the other.
    let results = if backend == Backend::Postgres {
        all((0..4).map(approve).collect()).await
    } else {
        let mut out = Vec::new();
        for n in 0..4 {
            out.push(approve(n).await);
        }
        out
    };
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "one wins");
    let losers: Vec<_> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        losers.iter().all(|e| e.code() == Code::Aborted),
        "{losers:?}"
    );
    let v = w.verify(&app.application_id).await;
    assert!(v.intact);
    assert_eq!(v.records_checked, 3, "create + submit + approve");
    assert_eq!(
        w.stored_head(&app.application_id).await,
        (3, v.head_hash.clone())
    );
    w.db.execute_raw(Statement::from_string(
        w.db.get_database_backend(),
        format!(
            "UPDATE audit_entries SET reason = '已改动' WHERE application_id = '{}' AND sequence = 2",
            app.application_id
        ),
    ))
    .await
    .unwrap();
    let broken = w.verify(&app.application_id).await;
    assert!(!broken.intact);
    assert_eq!(broken.first_bad_sequence, 2);
}

async fn a_removed_last_record_is_detected(backend: Backend) {
    let w = World::new(backend).await;
    let di = w.who("di", Role::Applicant);
    let app = w.draft(&di).await;
    w.submit(&di, &app, "k").await.unwrap();
    assert!(w.verify(&app.application_id).await.intact);
    w.db.execute_raw(Statement::from_string(
        w.db.get_database_backend(),
        format!(
            "DELETE FROM audit_entries WHERE application_id = '{}' AND sequence = 2",
            app.application_id
        ),
    ))
    .await
    .unwrap();
    let broken = w.verify(&app.application_id).await;
    assert!(!broken.intact, "the row's head names a record that is gone");
    assert_eq!(broken.first_bad_sequence, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_removed_last_record_is_detected() {
    a_removed_last_record_is_detected(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_removed_last_record_is_detected() {
    a_removed_last_record_is_detected(Backend::Sqlite).await;
}

/// Runs every future on its own task (truly in parallel) and returns their outputs in order.
async fn all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// Submit on an owned service (for spawned tasks).
async fn submit_owned(
    svc: Review,
    caller: Caller,
    app: pb::Application,
    key: &'static str,
) -> Result<pb::SubmitResponse, tonic::Status> {
    Svc::submit(
        &svc,
        rq(
            &caller,
            pb::SubmitRequest {
                application_id: app.application_id.clone(),
                expected_version: app.version,
                idempotency_key: key.into(),
            },
        ),
    )
    .await
    .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_one_key_retried_concurrently_makes_one_submission() {
    one_key_retried_concurrently_makes_one_submission(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_racing_submits_exactly_one_wins() {
    racing_submits_exactly_one_wins(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_the_chain_holds_through_racing_reviewers_and_detects_an_edit() {
    the_chain_holds_through_racing_reviewers_and_detects_an_edit(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_one_key_retried_concurrently_makes_one_submission() {
    one_key_retried_concurrently_makes_one_submission(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_racing_submits_exactly_one_wins() {
    racing_submits_exactly_one_wins(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_the_chain_holds_through_racing_reviewers_and_detects_an_edit() {
    the_chain_holds_through_racing_reviewers_and_detects_an_edit(Backend::Sqlite).await;
}

/// A crowd submitting at once (group commit on PostgreSQL): every distinct application is
/// submitted exactly once with its own audit record, event and key; of two submissions of one
/// application with different keys exactly one wins; a key retried gets the same application.
async fn a_crowd_submitting_at_once_is_written_whole(backend: Backend) {
    let w = World::new(backend).await;
    let mut people = Vec::new();
    for n in 0..24 {
        let who = w.who(&format!("crowd-{n}"), Role::Applicant);
        let app = w.draft(&who).await;
        people.push((who, app));
    }
    let keys: Vec<&'static str> = (0..24)
        .map(|n| &*Box::leak(format!("crowd-key-{n}").into_boxed_str()))
        .collect();
    let mut tries = Vec::new();
    for (n, (who, app)) in people.iter().enumerate() {
        tries.push(submit_owned(
            w.svc.clone(),
            who.clone(),
            app.clone(),
            keys[n],
        ));
        if n % 6 == 0 {
            // The same key retried, and a second device racing with another key.
            tries.push(submit_owned(
                w.svc.clone(),
                who.clone(),
                app.clone(),
                keys[n],
            ));
            tries.push(submit_owned(
                w.svc.clone(),
                who.clone(),
                app.clone(),
                "other-device",
            ));
        }
    }
    let results = all(tries).await;
    let mut winners = std::collections::HashMap::new();
    for r in &results {
        match r {
            Ok(resp) => {
                let a = resp.application.as_ref().unwrap();
                assert_eq!(a.status, common::ApplicationStatus::Submitted as i32);
                if !resp.replayed {
                    *winners.entry(a.application_id.clone()).or_insert(0) += 1;
                }
            }
            Err(status) => {
                assert_eq!(status.code(), Code::Aborted, "{status:?}");
                assert_eq!(status.message(), "申请已被他人处理，请刷新");
            }
        }
    }
    assert_eq!(winners.len(), 24, "every application submitted");
    assert!(winners.values().all(|n| *n == 1), "each exactly once");
    assert_eq!(w.count("audit_entries", "AND action = 'submit'").await, 24);
    assert_eq!(
        w.count(
            "outbox_events",
            "AND topic = 'review.application_status_changed'"
        )
        .await,
        24
    );
    assert_eq!(
        w.count("idempotency_keys", "AND scope = 'submit'").await,
        24
    );
    for (_, app) in &people {
        let v = w.verify(&app.application_id).await;
        assert!(v.intact);
        assert_eq!(v.records_checked, 2, "create + submit");
        assert_eq!(w.stored_head(&app.application_id).await.0, 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_a_crowd_submitting_at_once_is_written_whole() {
    a_crowd_submitting_at_once_is_written_whole(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_a_crowd_submitting_at_once_is_written_whole() {
    a_crowd_submitting_at_once_is_written_whole(Backend::Sqlite).await;
}

/// The statement group commit uses, on PostgreSQL: several guarded changes in one statement;
/// a change whose guard does not match writes nothing and the others are written; a unique
/// violation in one change writes nothing for any.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_one_statement_writes_many_guarded_changes() {
    use jifen_review::store::entities::application;
    use jifen_review::store::repo::{self, Guarded, Row};

    let w = World::new(Backend::Postgres).await;
    let mut apps = Vec::new();
    for n in 0..3 {
        apps.push(w.draft(&w.who(&format!("many-{n}"), Role::Applicant)).await);
    }
    let change = |app: &pb::Application, version: i64, key: &str| Guarded {
        tenant: w.tenant.clone(),
        id: app.application_id.clone(),
        sets: vec![
            (application::Column::Version, (version + 1).into()),
            (
                application::Column::SubmittedAt,
                Some(chrono::Utc::now()).into(),
            ),
            (
                application::Column::ClaimedScore,
                Some(vec![1u8, 2, 255]).into(),
            ),
            (application::Column::Total, Option::<i64>::None.into()),
        ],
        version: Some(version),
        audit_sequence: 1,
        rows: vec![Row::idempotency_key(
            &w.tenant,
            "many",
            "test",
            key,
            &app.application_id,
        )],
        drop_claims: true,
    };
    let (a, b, c) = (&apps[0], &apps[1], &apps[2]);
    let stale = change(b, b.version - 1, "kb");
    let written = repo::write_guarded_many(
        &w.db,
        &[
            &change(a, a.version, "ka"),
            &stale,
            &change(c, c.version, "kc"),
        ],
    )
    .await
    .unwrap();
    let mut ids: Vec<_> = written.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    let mut want = vec![a.application_id.clone(), c.application_id.clone()];
    want.sort();
    assert_eq!(ids, want, "the stale change is left out");
    assert!(written.iter().all(|m| m.version == a.version + 1));
    assert!(
        written
            .iter()
            .all(|m| m.claimed_score.as_deref() == Some(&[1u8, 2, 255][..]) && m.total.is_none()),
        "values arrive as written"
    );
    assert_eq!(w.count("idempotency_keys", "AND scope = 'test'").await, 2);

    // Two changes inserting the same key: the statement fails and writes neither.
    let (a2, c2) = (
        change(a, a.version + 1, "dup"),
        change(c, c.version + 1, "dup"),
    );
    assert!(repo::write_guarded_many(&w.db, &[&a2, &c2]).await.is_err());
    assert_eq!(w.count("idempotency_keys", "AND scope = 'test'").await, 2);
    assert_eq!(
        w.count(
            "applications",
            &format!(
                "AND version = {} AND id IN ('{}', '{}')",
                a.version + 1,
                a.application_id,
                c.application_id
            )
        )
        .await,
        2,
        "both rows as they were"
    );
}
