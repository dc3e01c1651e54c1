//! Review on real PostgreSQL: applications through every level, return and resubmission,
//! rejection, an objection that changes a verified value and the score, racing reviewers,
//! idempotent submission, outbox delivery after a crash, a tampered audit row, and refusals of
//! other tenants, other roles and other streets on every rpc.
//!
//! Identity tokens are not needed: the service is driven directly with a [`Caller`] in the
//! request extensions (what the auth layer puts there), and scores come from `jifen-rules`
//! through `RulesScoreSource` instead of a scoring process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jifen::testkit::postgres_url;
use jifen_kit::auth::{Caller, Role};
use jifen_kit::config::DatabaseConfig;
use jifen_kit::outbox::Dispatcher;
use jifen_proto::common::v1::ApplicationStatus as S;
use jifen_proto::common::v1::DateRange;
use jifen_proto::review::v1 as pb;
use jifen_proto::review::v1::review_service_server::ReviewService as Svc;
use jifen_proto::scoring::v1::RuleSetRef;
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
        "{:x}{}",
        nanos % 0xffff_ffff,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

async fn database(schema: &str) -> DatabaseConnection {
    let config = DatabaseConfig {
        url: postgres_url().await,
        max_connections: 16,
    };
    let dir = std::env::temp_dir();
    let db = jifen_kit::db::connect(schema, &config, &dir)
        .await
        .expect("connect");
    jifen_kit::db::migrate::<jifen_review::Migrator>(schema, &db)
        .await
        .expect("migrate");
    db
}

fn rq<T>(caller: &Caller, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(caller.clone());
    req
}

/// One test's tenant, its open settlement cycle and its people.
struct World {
    svc: Review,
    db: DatabaseConnection,
    tenant: String,
    cycle_id: String,
}

impl World {
    async fn new() -> Self {
        Self::in_schema("review").await
    }

    async fn in_schema(schema: &str) -> Self {
        let db = database(schema).await;
        let svc = Review::new(db.clone(), Arc::new(RulesScoreSource));
        let tenant = format!("wz{}", unique());
        let mut w = World {
            svc,
            db,
            tenant,
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

    fn applicant(&self, subject: &str) -> Caller {
        self.who(subject, Role::Applicant)
    }
    fn street(&self) -> Caller {
        self.who("street-1", Role::StreetReviewer)
    }
    fn district(&self) -> Caller {
        self.who("district-1", Role::DistrictReviewer)
    }
    fn city(&self) -> Caller {
        let mut c = self.who("city-1", Role::CityReviewer);
        c.home_tenant = Some("suzhou".into());
        c
    }
    fn admin(&self) -> Caller {
        self.who("admin-1", Role::DistrictAdmin)
    }
    fn verifier(&self, department: &str) -> Caller {
        let mut c = self.who(&format!("v-{department}"), Role::DepartmentVerifier);
        c.department = Some(department.to_owned());
        c
    }

    async fn open_cycle(&self) -> String {
        let wide = || {
            Some(DateRange {
                start_date: "2000-01-01".into(),
                end_date: "2099-12-31".into(),
            })
        };
        let cycle = Svc::create_cycle(
            &self.svc,
            rq(
                &self.admin(),
                pb::CreateCycleRequest {
                    target_tenant: String::new(),
                    cycle: Some(pb::Cycle {
                        benefit: "settlement".into(),
                        year: 2024,
                        name_zh: "2024 年积分落户".into(),
                        application_window: wide(),
                        confirmation_window: wide(),
                        publicity_window: wide(),
                        score_as_of_date: "2024-06-30".into(),
                        rule_set: Some(RuleSetRef {
                            rule_set_id: "SZ-CITY-SETTLEMENT-2021".into(),
                            version: 0,
                        }),
                        pass_mark: 500,
                        ..Default::default()
                    }),
                },
            ),
        )
        .await
        .expect("create cycle")
        .into_inner();
        assert_eq!(cycle.status, pb::CycleStatus::Draft as i32);
        let opened = Svc::open_cycle(
            &self.svc,
            rq(
                &self.admin(),
                pb::OpenCycleRequest {
                    cycle_id: cycle.cycle_id.clone(),
                    expected_version: cycle.version,
                },
            ),
        )
        .await
        .expect("open cycle")
        .into_inner();
        assert_eq!(opened.status, pb::CycleStatus::Open as i32);
        assert_eq!(opened.rule_set.as_ref().map(|r| r.version), Some(1));
        cycle.cycle_id
    }

    /// Opens a draft with worked example A's facts (790 under SZ-CITY-SETTLEMENT-2021).
    async fn draft(&self, applicant: &Caller, street: &str) -> pb::Application {
        let app = Svc::create_draft(
            &self.svc,
            rq(
                applicant,
                pb::CreateDraftRequest {
                    cycle_id: self.cycle_id.clone(),
                    street_code: street.into(),
                    idempotency_key: unique(),
                },
            ),
        )
        .await
        .expect("draft")
        .into_inner();
        let claim = |key: &str, value: &str| pb::Claim {
            fact_key: key.into(),
            value_json: value.into(),
            material_ids: vec![format!("m-{key}")],
            ..Default::default()
        };
        Svc::save_claims(
            &self.svc,
            rq(
                applicant,
                pb::SaveClaimsRequest {
                    application_id: app.application_id.clone(),
                    expected_version: app.version,
                    claims: vec![
                        claim("education", "\"bachelor\""),
                        claim("professional_title", "\"intermediate\""),
                        claim("insurance_months", "88"),
                        claim("housing_fund_years", "5"),
                        claim("property_area_m2", "92"),
                        claim("residence_years", "5"),
                    ],
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
        .map(|r| r.into_inner())
    }

    async fn get(&self, id: &str) -> pb::Application {
        Svc::get_application(
            &self.svc,
            rq(
                &self.district(),
                pb::GetApplicationRequest {
                    application_id: id.into(),
                },
            ),
        )
        .await
        .expect("get")
        .into_inner()
    }

    async fn approve(&self, who: &Caller, id: &str) -> Result<pb::Application, tonic::Status> {
        let version = self.get(id).await.version;
        Svc::approve_application(
            &self.svc,
            rq(
                who,
                pb::ApproveApplicationRequest {
                    application_id: id.into(),
                    expected_version: version,
                    note_zh: "通过".into(),
                },
            ),
        )
        .await
        .map(|r| r.into_inner())
    }

    /// Completes every open task of `id`, department by department, with the claimed value
    /// unless `overrides` names another.
    async fn verify_all(&self, id: &str, overrides: &HashMap<&str, &str>) {
        for department in [
            "education",
            "human_resources",
            "housing_fund",
            "real_estate",
            "public_security",
        ] {
            let verifier = self.verifier(department);
            let tasks = Svc::list_verification_tasks(
                &self.svc,
                rq(
                    &verifier,
                    pb::ListVerificationTasksRequest {
                        application_id: id.into(),
                        ..Default::default()
                    },
                ),
            )
            .await
            .expect("tasks")
            .into_inner()
            .tasks;
            for t in tasks {
                assert_eq!(
                    t.department_code, department,
                    "a verifier sees only their department"
                );
                let value = overrides
                    .get(t.fact_key.as_str())
                    .map_or(t.claimed_value_json.clone(), |v| (*v).to_owned());
                Svc::complete_verification(
                    &self.svc,
                    rq(
                        &verifier,
                        pb::CompleteVerificationRequest {
                            task_id: t.task_id.clone(),
                            expected_version: t.version,
                            verified_value_json: value,
                            evidence_checked: true,
                            note_zh: "核查无误".into(),
                        },
                    ),
                )
                .await
                .expect("complete");
            }
        }
    }

    /// Walks a new application of `applicant` to CONFIRMED; returns it.
    async fn confirmed(&self, applicant: &Caller) -> pb::Application {
        let app = self.draft(applicant, "s1").await;
        self.submit(applicant, &app, &unique())
            .await
            .expect("submit");
        self.approve(&self.street(), &app.application_id)
            .await
            .expect("street");
        self.approve(&self.district(), &app.application_id)
            .await
            .expect("district");
        self.verify_all(&app.application_id, &HashMap::new()).await;
        let scored = self
            .approve(&self.city(), &app.application_id)
            .await
            .expect("city");
        self.confirm(applicant, &scored).await
    }

    async fn confirm(&self, applicant: &Caller, scored: &pb::Application) -> pb::Application {
        Svc::confirm_score(
            &self.svc,
            rq(
                applicant,
                pb::ConfirmScoreRequest {
                    application_id: scored.application_id.clone(),
                    expected_version: scored.version,
                    score_sheet_id: scored
                        .verified_score
                        .as_ref()
                        .unwrap()
                        .score_sheet_id
                        .clone(),
                },
            ),
        )
        .await
        .expect("confirm")
        .into_inner()
    }

    async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(
                self.db.get_database_backend(),
                sql.to_owned(),
            ))
            .await
            .expect("query")
            .expect("row");
        row.try_get_by_index::<i64>(0).expect("count")
    }
}

fn status(app: &pb::Application) -> S {
    S::try_from(app.status).unwrap()
}

#[tokio::test]
async fn one_application_walks_every_level_to_confirmed() {
    let w = World::new().await;
    let alice = w.applicant("alice");
    let app = w.draft(&alice, "s1").await;
    assert_eq!(status(&app), S::Draft);
    let submitted = w
        .submit(&alice, &app, "k-1")
        .await
        .expect("submit")
        .application
        .unwrap();
    assert_eq!(status(&submitted), S::Submitted);
    assert!(submitted.due_at.is_some(), "street SLA deadline set");
    assert_eq!(submitted.claimed_score.as_ref().map(|s| s.total), Some(790));

    let queue = Svc::list_queue(&w.svc, rq(&w.street(), pb::ListQueueRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        queue
            .items
            .iter()
            .any(|i| i.application.as_ref().unwrap().application_id == app.application_id)
    );
    let claimed = Svc::claim_application(
        &w.svc,
        rq(
            &w.street(),
            pb::ClaimApplicationRequest {
                application_id: app.application_id.clone(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(claimed.claimed_by.unwrap().subject, "street-1");
    let other_street_colleague = {
        let mut c = w.street();
        c.subject = "street-2".into();
        c
    };
    let taken = Svc::claim_application(
        &w.svc,
        rq(
            &other_street_colleague,
            pb::ClaimApplicationRequest {
                application_id: app.application_id.clone(),
            },
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(taken.code(), Code::FailedPrecondition);

    assert_eq!(
        status(&w.approve(&w.street(), &app.application_id).await.unwrap()),
        S::DistrictReview
    );
    let fanned = w.approve(&w.district(), &app.application_id).await.unwrap();
    assert_eq!(status(&fanned), S::DepartmentVerification);
    let tasks = Svc::list_verification_tasks(
        &w.svc,
        rq(
            &w.admin(),
            pb::ListVerificationTasksRequest {
                application_id: app.application_id.clone(),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(
        tasks.total_count, 6,
        "one task per claimed indicator and department"
    );
    w.verify_all(&app.application_id, &HashMap::new()).await;
    assert_eq!(status(&w.get(&app.application_id).await), S::CityReview);

    let scored = w.approve(&w.city(), &app.application_id).await.unwrap();
    assert_eq!(status(&scored), S::Scored);
    let sheet = scored.verified_score.clone().unwrap();
    assert_eq!(sheet.total, 790, "worked example A from verified facts");
    assert_eq!(sheet.rule_set_id, "SZ-CITY-SETTLEMENT-2021");
    let confirmed = w.confirm(&alice, &scored).await;
    assert_eq!(status(&confirmed), S::Confirmed);
    assert!(
        confirmed
            .claims
            .iter()
            .all(|c| c.verification_status == pb::VerificationStatus::Verified as i32)
    );

    let timeline = Svc::get_timeline(
        &w.svc,
        rq(
            &alice,
            pb::GetTimelineRequest {
                application_id: app.application_id.clone(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    let path: Vec<i32> = timeline.entries.iter().map(|e| e.to_status).collect();
    assert_eq!(
        path,
        [
            S::Draft,
            S::Submitted,
            S::DistrictReview,
            S::DepartmentVerification,
            S::CityReview,
            S::Scored,
            S::Confirmed
        ]
        .map(|s| s as i32)
    );
    let staff_entries = timeline
        .entries
        .iter()
        .map(|e| e.actor.as_ref().unwrap())
        .filter(|a| a.role != jifen_proto::common::v1::Role::Applicant as i32);
    assert!(staff_entries.clone().count() >= 4);
    assert!(
        staff_entries.into_iter().all(|a| a.subject.is_empty()),
        "staff names hidden from the applicant"
    );
    let verified = Svc::verify_audit_trail(
        &w.svc,
        rq(
            &w.admin(),
            pb::VerifyAuditTrailRequest {
                application_id: app.application_id.clone(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(verified.intact);
    assert!(
        verified.records_checked >= 13,
        "{}",
        verified.records_checked
    );
    let events = w
        .count(&format!("SELECT COUNT(*) FROM review.outbox_events WHERE tenant = '{}' AND topic = 'review.score_confirmed'", w.tenant))
        .await;
    assert_eq!(events, 1);
}

#[tokio::test]
async fn a_returned_application_is_corrected_and_resubmitted() {
    let w = World::new().await;
    let bob = w.applicant("bob");
    let app = w.draft(&bob, "s1").await;
    let submitted = w
        .submit(&bob, &app, "k-1")
        .await
        .unwrap()
        .application
        .unwrap();
    let returned = Svc::return_application(
        &w.svc,
        rq(
            &w.street(),
            pb::ReturnApplicationRequest {
                application_id: app.application_id.clone(),
                expected_version: submitted.version,
                reason_zh: "社保证明不清晰".into(),
                fact_keys: vec!["0:insurance_months".into()],
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(status(&returned), S::Returned);
    assert!(returned.due_at.is_some(), "resubmission deadline");
    // Only the named fact may change.
    let refused = Svc::save_claims(
        &w.svc,
        rq(
            &bob,
            pb::SaveClaimsRequest {
                application_id: app.application_id.clone(),
                expected_version: returned.version,
                claims: vec![pb::Claim {
                    fact_key: "education".into(),
                    value_json: "\"master\"".into(),
                    ..Default::default()
                }],
                remove: vec![],
            },
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let corrected = Svc::save_claims(
        &w.svc,
        rq(
            &bob,
            pb::SaveClaimsRequest {
                application_id: app.application_id.clone(),
                expected_version: returned.version,
                claims: vec![pb::Claim {
                    fact_key: "insurance_months".into(),
                    value_json: "90".into(),
                    ..Default::default()
                }],
                remove: vec![],
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    let resubmitted = w
        .submit(&bob, &corrected, "k-2")
        .await
        .unwrap()
        .application
        .unwrap();
    assert_eq!(status(&resubmitted), S::Submitted);
    let queue = Svc::list_queue(&w.svc, rq(&w.street(), pb::ListQueueRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let item = queue
        .items
        .iter()
        .find(|i| i.application.as_ref().unwrap().application_id == app.application_id)
        .unwrap();
    assert!(item.resubmitted);
    assert_eq!(
        status(&w.approve(&w.street(), &app.application_id).await.unwrap()),
        S::DistrictReview
    );
}

#[tokio::test]
async fn a_rejected_application_is_final_and_frees_the_slot() {
    let w = World::new().await;
    let carol = w.applicant("carol");
    let app = w.draft(&carol, "s1").await;
    // A second active application in the same cycle is refused.
    let dup = Svc::create_draft(
        &w.svc,
        rq(
            &carol,
            pb::CreateDraftRequest {
                cycle_id: w.cycle_id.clone(),
                street_code: "s1".into(),
                idempotency_key: unique(),
            },
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(dup.code(), Code::AlreadyExists);
    w.submit(&carol, &app, "k-1").await.unwrap();
    w.approve(&w.street(), &app.application_id).await.unwrap();
    let current = w.get(&app.application_id).await;
    let rejected = Svc::reject_application(
        &w.svc,
        rq(
            &w.district(),
            pb::RejectApplicationRequest {
                application_id: app.application_id.clone(),
                expected_version: current.version,
                reason_code: "false_materials".into(),
                reason_zh: "材料不实".into(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(status(&rejected), S::Rejected);
    assert_eq!(rejected.reason_zh, "材料不实");
    let again = w
        .approve(&w.district(), &app.application_id)
        .await
        .unwrap_err();
    assert_eq!(again.code(), Code::FailedPrecondition);
    let withdraw = Svc::withdraw(
        &w.svc,
        rq(
            &carol,
            pb::WithdrawRequest {
                application_id: app.application_id.clone(),
                expected_version: rejected.version,
                reason_zh: String::new(),
            },
        ),
    )
    .await
    .unwrap_err();
    assert_eq!(withdraw.code(), Code::FailedPrecondition);
    assert!(
        withdraw.message().contains("已驳回"),
        "{}",
        withdraw.message()
    );
    // The slot is free again.
    w.draft(&carol, "s1").await;
}

#[tokio::test]
async fn an_upheld_objection_changes_the_verified_value_and_the_score() {
    let w = World::new().await;
    let dave = w.applicant("dave");
    let confirmed = w.confirmed(&dave).await;
    let before = confirmed.verified_score.as_ref().unwrap().total;
    let objection = Svc::file_objection(
        &w.svc,
        rq(
            &dave,
            pb::FileObjectionRequest {
                application_id: confirmed.application_id.clone(),
                indicator: "insurance_months".into(),
                text_zh: "社保月数少算了".into(),
                material_ids: vec!["m-extra".into()],
                idempotency_key: "obj-1".into(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(objection.due_at.is_some());
    let decided = Svc::decide_objection(
        &w.svc,
        rq(
            &w.district(),
            pb::DecideObjectionRequest {
                objection_id: objection.objection_id.clone(),
                expected_version: objection.version,
                upheld: true,
                reply_zh: "重新核查社保月数".into(),
                reopen_fact_keys: vec![],
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(decided.status, pb::ObjectionStatus::Upheld as i32);
    assert_eq!(decided.reopened_fact_keys, ["0:insurance_months"]);
    let reopened = w.get(&confirmed.application_id).await;
    assert_eq!(status(&reopened), S::DepartmentVerification);
    w.verify_all(
        &confirmed.application_id,
        &HashMap::from([("insurance_months", "100")]),
    )
    .await;
    let rescored = w
        .approve(&w.city(), &confirmed.application_id)
        .await
        .unwrap();
    let after = rescored.verified_score.as_ref().unwrap().total;
    assert!(after > before, "{before} -> {after}");
    let claim = rescored
        .claims
        .iter()
        .find(|c| c.fact_key == "insurance_months")
        .unwrap();
    assert_eq!(
        (
            claim.value_json.as_str(),
            claim.verified_value_json.as_str()
        ),
        ("88", "100")
    );
    assert_eq!(status(&w.confirm(&dave, &rescored).await), S::Confirmed);
}

#[tokio::test]
async fn two_reviewers_racing_exactly_one_wins() {
    let w = World::new().await;
    let erin = w.applicant("erin");
    let app = w.draft(&erin, "s1").await;
    let submitted = w
        .submit(&erin, &app, "k")
        .await
        .unwrap()
        .application
        .unwrap();
    let mut second = w.street();
    second.subject = "street-2".into();
    let call = |who: Caller| {
        let svc = w.svc.clone();
        let id = app.application_id.clone();
        async move {
            Svc::approve_application(
                &svc,
                rq(
                    &who,
                    pb::ApproveApplicationRequest {
                        application_id: id,
                        expected_version: submitted.version,
                        note_zh: String::new(),
                    },
                ),
            )
            .await
        }
    };
    let (a, b) = tokio::join!(call(w.street()), call(second));
    let results = [a, b];
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "exactly one approval wins"
    );
    let loser = results.into_iter().find_map(Result::err).unwrap();
    assert_eq!(loser.code(), Code::Aborted);
    assert_eq!(loser.message(), "申请已被他人处理，请刷新");
    assert_eq!(status(&w.get(&app.application_id).await), S::DistrictReview);
}

#[tokio::test]
async fn the_same_submit_twice_makes_one_submission() {
    let w = World::new().await;
    let fay = w.applicant("fay");
    let app = w.draft(&fay, "s1").await;
    let (a, b) = tokio::join!(
        w.submit(&fay, &app, "same-key"),
        w.submit(&fay, &app, "same-key")
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        a.application.as_ref().unwrap().application_id,
        b.application.as_ref().unwrap().application_id
    );
    assert_eq!([a.replayed, b.replayed].iter().filter(|r| **r).count(), 1);
    let c = w.submit(&fay, &app, "same-key").await.unwrap();
    assert!(c.replayed);
    let apps = w.count(&format!("SELECT COUNT(*) FROM review.applications WHERE tenant = '{}' AND applicant_subject = 'fay'", w.tenant)).await;
    assert_eq!(apps, 1);
    let submits = w
        .count(&format!(
            "SELECT COUNT(*) FROM review.audit_entries WHERE tenant = '{}' AND action = 'submit'",
            w.tenant
        ))
        .await;
    assert_eq!(submits, 1);
}

#[tokio::test]
async fn events_committed_before_a_crash_are_delivered_once_after_restart() {
    let schema = format!("review_crash_{}", unique());
    let w = World::in_schema(&schema).await;
    let gus = w.applicant("gus");
    w.confirmed(&gus).await;
    let expected: Vec<String> = {
        let rows =
            w.db.query_all_raw(Statement::from_string(
                w.db.get_database_backend(),
                "SELECT id::text FROM outbox_events".to_owned(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| r.try_get_by_index::<String>(0).unwrap())
            .collect()
    };
    assert!(
        expected.len() >= 7,
        "status changes and the confirmed score were written"
    );

    // The process "died" after commit: nothing was sent. A fresh dispatcher after restart
    // delivers to a receiver that loses the first ack of every event (so each is sent twice)
    // and dedupes on the event id.
    let applied: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let attempts: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let receiver = |event: jifen_kit::outbox::Event| {
        let applied = applied.clone();
        let attempts = attempts.clone();
        async move {
            let envelope = jifen_review::events::decode(&event)?;
            assert_eq!(envelope.event_id, event.id.to_string());
            let first = {
                let mut a = attempts.lock().unwrap();
                let n = a.entry(envelope.event_id.clone()).or_default();
                *n += 1;
                *n == 1
            };
            {
                let mut seen = applied.lock().unwrap();
                seen.entry(envelope.event_id.clone()).or_insert(1);
            }
            if first {
                Err("ack lost".to_owned())
            } else {
                Ok(())
            }
        }
    };
    let dispatcher = Dispatcher::new("review", w.db.clone());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        dispatcher.deliver_batch(&receiver).await.unwrap();
        if dispatcher.backlog().await.unwrap() == 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "outbox drained in time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let applied = applied.lock().unwrap();
    for id in &expected {
        assert_eq!(applied.get(id), Some(&1), "event {id} applied exactly once");
    }
    assert!(
        attempts.lock().unwrap().values().all(|n| *n == 2),
        "every event was redelivered after the lost ack"
    );
}

#[tokio::test]
async fn an_edited_audit_row_is_detected() {
    let w = World::new().await;
    let hal = w.applicant("hal");
    let app = w.draft(&hal, "s1").await;
    w.submit(&hal, &app, "k").await.unwrap();
    w.approve(&w.street(), &app.application_id).await.unwrap();
    let check = || async {
        Svc::verify_audit_trail(
            &w.svc,
            rq(
                &w.admin(),
                pb::VerifyAuditTrailRequest {
                    application_id: app.application_id.clone(),
                },
            ),
        )
        .await
        .unwrap()
        .into_inner()
    };
    assert!(check().await.intact);
    w.db.execute_raw(Statement::from_string(
        w.db.get_database_backend(),
        format!("UPDATE review.audit_entries SET reason = '已改动' WHERE application_id = '{}' AND sequence = 2", app.application_id),
    ))
    .await
    .unwrap();
    let broken = check().await;
    assert!(!broken.intact);
    assert_eq!(broken.first_bad_sequence, 2);
}

#[tokio::test]
async fn a_street_reviewer_sees_only_their_street() {
    let w = World::new().await;
    let (ian, jo) = (w.applicant("ian"), w.applicant("jo"));
    let mine = w.draft(&ian, "s1").await;
    let theirs = w.draft(&jo, "s2").await;
    w.submit(&ian, &mine, "k").await.unwrap();
    w.submit(&jo, &theirs, "k").await.unwrap();
    let queue = Svc::list_queue(
        &w.svc,
        rq(
            &w.street(),
            pb::ListQueueRequest {
                street_code: "s2".into(),
                ..Default::default()
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    let ids: Vec<_> = queue
        .items
        .iter()
        .map(|i| i.application.as_ref().unwrap().application_id.clone())
        .collect();
    assert_eq!(
        ids,
        std::slice::from_ref(&mine.application_id),
        "the street filter cannot widen a street reviewer's queue"
    );
    let district = Svc::list_queue(
        &w.svc,
        rq(
            &w.district(),
            pb::ListQueueRequest {
                level: pb::ReviewLevel::Street as i32,
                ..Default::default()
            },
        ),
    )
    .await;
    assert_eq!(district.unwrap_err().code(), Code::PermissionDenied);
    let get = Svc::get_application(
        &w.svc,
        rq(
            &w.street(),
            pb::GetApplicationRequest {
                application_id: theirs.application_id.clone(),
            },
        ),
    )
    .await;
    assert_eq!(get.unwrap_err().code(), Code::PermissionDenied);
    let approve = w.approve(&w.street(), &theirs.application_id).await;
    assert_eq!(approve.unwrap_err().code(), Code::PermissionDenied);
}

/// Asserts a call is refused with PERMISSION_DENIED or NOT_FOUND.
macro_rules! refused {
    ($label:expr, $call:expr) => {{
        match $call.await {
            Ok(_) => panic!("{} was allowed", $label),
            Err(status) => assert!(
                matches!(status.code(), Code::PermissionDenied | Code::NotFound),
                "{}: {:?} {}",
                $label,
                status.code(),
                status.message()
            ),
        }
    }};
}

#[tokio::test]
async fn other_tenants_and_other_roles_are_refused_on_every_rpc() {
    let w = World::new().await;
    let owner = w.applicant("kim");
    // One application in publicity with an open objection, one in verification with a task.
    let done = w.confirmed(&owner).await;
    let objection = Svc::file_objection(
        &w.svc,
        rq(
            &owner,
            pb::FileObjectionRequest {
                application_id: done.application_id.clone(),
                indicator: "education".into(),
                text_zh: "学历".into(),
                material_ids: vec![],
                idempotency_key: String::new(),
            },
        ),
    )
    .await
    .unwrap()
    .into_inner();
    let lee = w.applicant("lee");
    let open = w.draft(&lee, "s1").await;
    w.submit(&lee, &open, "k").await.unwrap();
    w.approve(&w.street(), &open.application_id).await.unwrap();
    w.approve(&w.district(), &open.application_id)
        .await
        .unwrap();
    let task = Svc::list_verification_tasks(
        &w.svc,
        rq(
            &w.verifier("human_resources"),
            pb::ListVerificationTasksRequest::default(),
        ),
    )
    .await
    .unwrap()
    .into_inner()
    .tasks
    .into_iter()
    .find(|t| t.application_id == open.application_id)
    .unwrap();
    let app_id = open.application_id.clone();
    let cycle_id = w.cycle_id.clone();

    // Same roles, another tenant: every object is NOT_FOUND (or the call PERMISSION_DENIED).
    let mut elsewhere = World {
        svc: w.svc.clone(),
        db: w.db.clone(),
        tenant: format!("gs{}", unique()),
        cycle_id: String::new(),
    };
    elsewhere.cycle_id = cycle_id.clone();
    let o = &elsewhere;
    refused!(
        "CreateCycle target",
        Svc::create_cycle(
            &o.svc,
            rq(
                &o.admin(),
                pb::CreateCycleRequest {
                    target_tenant: w.tenant.clone(),
                    cycle: Some(pb::Cycle {
                        benefit: "school".into(),
                        year: 2024,
                        ..Default::default()
                    })
                }
            )
        )
    );
    refused!(
        "UpdateCycle",
        Svc::update_cycle(
            &o.svc,
            rq(
                &o.admin(),
                pb::UpdateCycleRequest {
                    cycle: Some(pb::Cycle {
                        cycle_id: cycle_id.clone(),
                        ..Default::default()
                    }),
                    expected_version: 2
                }
            )
        )
    );
    refused!(
        "GetCycle",
        Svc::get_cycle(
            &o.svc,
            rq(
                &o.admin(),
                pb::GetCycleRequest {
                    cycle_id: cycle_id.clone()
                }
            )
        )
    );
    refused!(
        "OpenCycle",
        Svc::open_cycle(
            &o.svc,
            rq(
                &o.admin(),
                pb::OpenCycleRequest {
                    cycle_id: cycle_id.clone(),
                    expected_version: 2
                }
            )
        )
    );
    refused!(
        "CloseCycle",
        Svc::close_cycle(
            &o.svc,
            rq(
                &o.admin(),
                pb::CloseCycleRequest {
                    cycle_id: cycle_id.clone(),
                    expected_version: 2,
                    archive: false
                }
            )
        )
    );
    refused!(
        "GetSlaPolicy target",
        Svc::get_sla_policy(
            &o.svc,
            rq(
                &o.admin(),
                pb::GetSlaPolicyRequest {
                    target_tenant: w.tenant.clone()
                }
            )
        )
    );
    refused!(
        "UpdateSlaPolicy target",
        Svc::update_sla_policy(
            &o.svc,
            rq(
                &o.admin(),
                pb::UpdateSlaPolicyRequest {
                    target_tenant: w.tenant.clone(),
                    policy: Some(pb::SlaPolicy {
                        street_review_days: 1,
                        district_review_days: 1,
                        department_verification_days: 1,
                        city_review_days: 1,
                        resubmission_days: 1,
                        objection_reply_days: 1,
                        version: 0
                    }),
                    expected_version: 0
                }
            )
        )
    );
    refused!(
        "CreateDraft",
        Svc::create_draft(
            &o.svc,
            rq(
                &o.applicant("x"),
                pb::CreateDraftRequest {
                    cycle_id: cycle_id.clone(),
                    street_code: "s1".into(),
                    idempotency_key: String::new()
                }
            )
        )
    );
    refused!(
        "UpdateDraft",
        Svc::update_draft(
            &o.svc,
            rq(
                &o.applicant("lee"),
                pb::UpdateDraftRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "SaveClaims",
        Svc::save_claims(
            &o.svc,
            rq(
                &o.applicant("lee"),
                pb::SaveClaimsRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "Submit",
        Svc::submit(
            &o.svc,
            rq(
                &o.applicant("lee"),
                pb::SubmitRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    idempotency_key: "z".into()
                }
            )
        )
    );
    refused!(
        "Withdraw",
        Svc::withdraw(
            &o.svc,
            rq(
                &o.applicant("lee"),
                pb::WithdrawRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    reason_zh: String::new()
                }
            )
        )
    );
    refused!(
        "GetApplication",
        Svc::get_application(
            &o.svc,
            rq(
                &o.district(),
                pb::GetApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "GetTimeline",
        Svc::get_timeline(
            &o.svc,
            rq(
                &o.district(),
                pb::GetTimelineRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ConfirmScore",
        Svc::confirm_score(
            &o.svc,
            rq(
                &o.applicant("kim"),
                pb::ConfirmScoreRequest {
                    application_id: done.application_id.clone(),
                    expected_version: 1,
                    score_sheet_id: String::new()
                }
            )
        )
    );
    refused!(
        "FileObjection",
        Svc::file_objection(
            &o.svc,
            rq(
                &o.applicant("kim"),
                pb::FileObjectionRequest {
                    application_id: done.application_id.clone(),
                    text_zh: "x".into(),
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "ClaimApplication",
        Svc::claim_application(
            &o.svc,
            rq(
                &o.district(),
                pb::ClaimApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ReleaseApplication",
        Svc::release_application(
            &o.svc,
            rq(
                &o.district(),
                pb::ReleaseApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ApproveApplication",
        Svc::approve_application(
            &o.svc,
            rq(
                &o.district(),
                pb::ApproveApplicationRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    note_zh: String::new()
                }
            )
        )
    );
    refused!(
        "ReturnApplication",
        Svc::return_application(
            &o.svc,
            rq(
                &o.district(),
                pb::ReturnApplicationRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    reason_zh: "x".into(),
                    fact_keys: vec![]
                }
            )
        )
    );
    refused!(
        "RejectApplication",
        Svc::reject_application(
            &o.svc,
            rq(
                &o.district(),
                pb::RejectApplicationRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    reason_code: "x".into(),
                    reason_zh: "x".into()
                }
            )
        )
    );
    refused!(
        "DecideGate",
        Svc::decide_gate(
            &o.svc,
            rq(
                &o.district(),
                pb::DecideGateRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    gate_code: "g".into(),
                    outcome: 1,
                    reason_zh: String::new()
                }
            )
        )
    );
    refused!(
        "GetVerificationTask",
        Svc::get_verification_task(
            &o.svc,
            rq(
                &o.verifier("human_resources"),
                pb::GetVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "ClaimVerificationTask",
        Svc::claim_verification_task(
            &o.svc,
            rq(
                &o.verifier("human_resources"),
                pb::ClaimVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "ReleaseVerificationTask",
        Svc::release_verification_task(
            &o.svc,
            rq(
                &o.verifier("human_resources"),
                pb::ReleaseVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "CompleteVerification",
        Svc::complete_verification(
            &o.svc,
            rq(
                &o.verifier("human_resources"),
                pb::CompleteVerificationRequest {
                    task_id: task.task_id.clone(),
                    expected_version: task.version,
                    verified_value_json: "1".into(),
                    evidence_checked: true,
                    note_zh: String::new()
                }
            )
        )
    );
    refused!(
        "GetObjection",
        Svc::get_objection(
            &o.svc,
            rq(
                &o.district(),
                pb::GetObjectionRequest {
                    objection_id: objection.objection_id.clone()
                }
            )
        )
    );
    refused!(
        "DecideObjection",
        Svc::decide_objection(
            &o.svc,
            rq(
                &o.district(),
                pb::DecideObjectionRequest {
                    objection_id: objection.objection_id.clone(),
                    expected_version: 1,
                    upheld: false,
                    reply_zh: "x".into(),
                    reopen_fact_keys: vec![]
                }
            )
        )
    );
    refused!(
        "GetAuditTrail",
        Svc::get_audit_trail(
            &o.svc,
            rq(
                &o.district(),
                pb::GetAuditTrailRequest {
                    application_id: app_id.clone(),
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "VerifyAuditTrail",
        Svc::verify_audit_trail(
            &o.svc,
            rq(
                &o.admin(),
                pb::VerifyAuditTrailRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    // Lists of another tenant simply do not contain our objects.
    let cycles = Svc::list_cycles(&o.svc, rq(&o.admin(), pb::ListCyclesRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert!(cycles.cycles.is_empty());
    let mine = Svc::list_my_applications(
        &o.svc,
        rq(
            &o.applicant("lee"),
            pb::ListMyApplicationsRequest::default(),
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(mine.applications.is_empty());
    let queue = Svc::list_queue(&o.svc, rq(&o.district(), pb::ListQueueRequest::default()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(queue.total_count, 0);
    let search = Svc::list_applications(
        &o.svc,
        rq(&o.district(), pb::ListApplicationsRequest::default()),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(search.applications.is_empty());
    let tasks = Svc::list_verification_tasks(
        &o.svc,
        rq(
            &o.verifier("human_resources"),
            pb::ListVerificationTasksRequest::default(),
        ),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(tasks.total_count, 0);
    let objections = Svc::list_objections(
        &o.svc,
        rq(&o.district(), pb::ListObjectionsRequest::default()),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(objections.objections.is_empty());
    let calendar = Svc::get_working_calendar(
        &o.svc,
        rq(&o.admin(), pb::GetWorkingCalendarRequest { year: 2024 }),
    )
    .await
    .unwrap()
    .into_inner();
    assert_eq!(calendar.version, 0);

    // Our tenant, the wrong role (or the wrong owner, street or department).
    let street = w.street();
    let applicant = w.applicant("kim");
    let stranger = w.applicant("stranger");
    let hr = w.verifier("human_resources");
    let edu = w.verifier("education");
    refused!(
        "CreateCycle by applicant",
        Svc::create_cycle(
            &w.svc,
            rq(
                &applicant,
                pb::CreateCycleRequest {
                    target_tenant: String::new(),
                    cycle: Some(pb::Cycle {
                        benefit: "school".into(),
                        year: 2024,
                        ..Default::default()
                    })
                }
            )
        )
    );
    refused!(
        "UpdateCycle by reviewer",
        Svc::update_cycle(
            &w.svc,
            rq(
                &w.district(),
                pb::UpdateCycleRequest {
                    cycle: Some(pb::Cycle {
                        cycle_id: cycle_id.clone(),
                        ..Default::default()
                    }),
                    expected_version: 2
                }
            )
        )
    );
    refused!(
        "OpenCycle by street",
        Svc::open_cycle(
            &w.svc,
            rq(
                &street,
                pb::OpenCycleRequest {
                    cycle_id: cycle_id.clone(),
                    expected_version: 2
                }
            )
        )
    );
    refused!(
        "CloseCycle by city reviewer",
        Svc::close_cycle(
            &w.svc,
            rq(
                &w.city(),
                pb::CloseCycleRequest {
                    cycle_id: cycle_id.clone(),
                    expected_version: 2,
                    archive: false
                }
            )
        )
    );
    refused!(
        "GetSlaPolicy by applicant",
        Svc::get_sla_policy(&w.svc, rq(&applicant, pb::GetSlaPolicyRequest::default()))
    );
    refused!(
        "UpdateSlaPolicy by reviewer",
        Svc::update_sla_policy(
            &w.svc,
            rq(&w.district(), pb::UpdateSlaPolicyRequest::default())
        )
    );
    refused!(
        "GetWorkingCalendar by applicant",
        Svc::get_working_calendar(
            &w.svc,
            rq(&applicant, pb::GetWorkingCalendarRequest { year: 2024 })
        )
    );
    refused!(
        "UpdateWorkingCalendar by reviewer",
        Svc::update_working_calendar(
            &w.svc,
            rq(&w.district(), pb::UpdateWorkingCalendarRequest::default())
        )
    );
    refused!(
        "CreateDraft by reviewer",
        Svc::create_draft(
            &w.svc,
            rq(
                &street,
                pb::CreateDraftRequest {
                    cycle_id: cycle_id.clone(),
                    street_code: "s1".into(),
                    idempotency_key: String::new()
                }
            )
        )
    );
    refused!(
        "UpdateDraft by stranger",
        Svc::update_draft(
            &w.svc,
            rq(
                &stranger,
                pb::UpdateDraftRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "SaveClaims by reviewer",
        Svc::save_claims(
            &w.svc,
            rq(
                &street,
                pb::SaveClaimsRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "Submit by stranger",
        Svc::submit(
            &w.svc,
            rq(
                &stranger,
                pb::SubmitRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    idempotency_key: "q".into()
                }
            )
        )
    );
    refused!(
        "Withdraw by reviewer",
        Svc::withdraw(
            &w.svc,
            rq(
                &w.district(),
                pb::WithdrawRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    reason_zh: String::new()
                }
            )
        )
    );
    refused!(
        "GetApplication by stranger",
        Svc::get_application(
            &w.svc,
            rq(
                &stranger,
                pb::GetApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "GetApplication by other department",
        Svc::get_application(
            &w.svc,
            rq(
                &w.verifier("court"),
                pb::GetApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ListMyApplications by reviewer",
        Svc::list_my_applications(
            &w.svc,
            rq(&street, pb::ListMyApplicationsRequest::default())
        )
    );
    refused!(
        "GetTimeline by stranger",
        Svc::get_timeline(
            &w.svc,
            rq(
                &stranger,
                pb::GetTimelineRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ConfirmScore by stranger",
        Svc::confirm_score(
            &w.svc,
            rq(
                &stranger,
                pb::ConfirmScoreRequest {
                    application_id: done.application_id.clone(),
                    expected_version: 1,
                    score_sheet_id: String::new()
                }
            )
        )
    );
    refused!(
        "FileObjection by reviewer",
        Svc::file_objection(
            &w.svc,
            rq(
                &w.district(),
                pb::FileObjectionRequest {
                    application_id: done.application_id.clone(),
                    text_zh: "x".into(),
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "ListQueue by applicant",
        Svc::list_queue(&w.svc, rq(&applicant, pb::ListQueueRequest::default()))
    );
    refused!(
        "ListQueue city by street",
        Svc::list_queue(
            &w.svc,
            rq(
                &street,
                pb::ListQueueRequest {
                    level: pb::ReviewLevel::City as i32,
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "ListApplications by street",
        Svc::list_applications(&w.svc, rq(&street, pb::ListApplicationsRequest::default()))
    );
    refused!(
        "ClaimApplication by applicant",
        Svc::claim_application(
            &w.svc,
            rq(
                &applicant,
                pb::ClaimApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ReleaseApplication by applicant",
        Svc::release_application(
            &w.svc,
            rq(
                &applicant,
                pb::ReleaseApplicationRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "ApproveApplication by applicant",
        Svc::approve_application(
            &w.svc,
            rq(
                &applicant,
                pb::ApproveApplicationRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    note_zh: String::new()
                }
            )
        )
    );
    refused!(
        "ReturnApplication by applicant",
        Svc::return_application(
            &w.svc,
            rq(
                &applicant,
                pb::ReturnApplicationRequest {
                    application_id: done.application_id.clone(),
                    expected_version: 1,
                    reason_zh: "x".into(),
                    fact_keys: vec![]
                }
            )
        )
    );
    refused!(
        "RejectApplication by city at verification",
        Svc::reject_application(
            &w.svc,
            rq(
                &w.city(),
                pb::RejectApplicationRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    reason_code: "x".into(),
                    reason_zh: "x".into()
                }
            )
        )
    );
    refused!(
        "DecideGate by street",
        Svc::decide_gate(
            &w.svc,
            rq(
                &street,
                pb::DecideGateRequest {
                    application_id: app_id.clone(),
                    expected_version: 1,
                    gate_code: "g".into(),
                    outcome: 1,
                    reason_zh: String::new()
                }
            )
        )
    );
    refused!(
        "ListVerificationTasks by reviewer",
        Svc::list_verification_tasks(
            &w.svc,
            rq(&w.district(), pb::ListVerificationTasksRequest::default())
        )
    );
    refused!(
        "ListVerificationTasks other department",
        Svc::list_verification_tasks(
            &w.svc,
            rq(
                &edu,
                pb::ListVerificationTasksRequest {
                    department_code: "human_resources".into(),
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "GetVerificationTask other department",
        Svc::get_verification_task(
            &w.svc,
            rq(
                &edu,
                pb::GetVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "ClaimVerificationTask other department",
        Svc::claim_verification_task(
            &w.svc,
            rq(
                &edu,
                pb::ClaimVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "ReleaseVerificationTask other department",
        Svc::release_verification_task(
            &w.svc,
            rq(
                &edu,
                pb::ReleaseVerificationTaskRequest {
                    task_id: task.task_id.clone()
                }
            )
        )
    );
    refused!(
        "CompleteVerification other department",
        Svc::complete_verification(
            &w.svc,
            rq(
                &edu,
                pb::CompleteVerificationRequest {
                    task_id: task.task_id.clone(),
                    expected_version: task.version,
                    verified_value_json: "1".into(),
                    evidence_checked: true,
                    note_zh: String::new()
                }
            )
        )
    );
    refused!(
        "GetObjection by street",
        Svc::get_objection(
            &w.svc,
            rq(
                &street,
                pb::GetObjectionRequest {
                    objection_id: objection.objection_id.clone()
                }
            )
        )
    );
    refused!(
        "ListObjections by street",
        Svc::list_objections(&w.svc, rq(&street, pb::ListObjectionsRequest::default()))
    );
    refused!(
        "DecideObjection by applicant",
        Svc::decide_objection(
            &w.svc,
            rq(
                &applicant,
                pb::DecideObjectionRequest {
                    objection_id: objection.objection_id.clone(),
                    expected_version: 1,
                    upheld: false,
                    reply_zh: "x".into(),
                    reopen_fact_keys: vec![]
                }
            )
        )
    );
    refused!(
        "GetAuditTrail by stranger",
        Svc::get_audit_trail(
            &w.svc,
            rq(
                &stranger,
                pb::GetAuditTrailRequest {
                    application_id: app_id.clone(),
                    ..Default::default()
                }
            )
        )
    );
    refused!(
        "VerifyAuditTrail by street",
        Svc::verify_audit_trail(
            &w.svc,
            rq(
                &street,
                pb::VerifyAuditTrailRequest {
                    application_id: app_id.clone()
                }
            )
        )
    );
    refused!(
        "DeliverEvent by admin",
        Svc::deliver_event(&w.svc, rq(&w.admin(), pb::DeliverEventRequest::default()))
    );
    let no_caller = Svc::get_cycle(
        &w.svc,
        Request::new(pb::GetCycleRequest {
            cycle_id: cycle_id.clone(),
        }),
    )
    .await
    .unwrap_err();
    assert_eq!(no_caller.code(), Code::Unauthenticated);
    // The HR verifier still completes its own task, and the owner still sees their objection.
    Svc::get_verification_task(
        &w.svc,
        rq(
            &hr,
            pb::GetVerificationTaskRequest {
                task_id: task.task_id.clone(),
            },
        ),
    )
    .await
    .unwrap();
    Svc::get_objection(
        &w.svc,
        rq(
            &applicant,
            pb::GetObjectionRequest {
                objection_id: objection.objection_id.clone(),
            },
        ),
    )
    .await
    .unwrap();
    // Applicants do not see draft cycles; the public list hides them too.
    let public = Svc::list_public_cycles(
        &w.svc,
        Request::new(pb::ListPublicCyclesRequest {
            tenant: w.tenant.clone(),
            ..Default::default()
        }),
    )
    .await
    .unwrap()
    .into_inner();
    assert!(
        public
            .cycles
            .iter()
            .all(|c| c.status != pb::CycleStatus::Draft as i32)
    );
}
