//! Scoring end to end on real PostgreSQL: the contract's worked examples through the public
//! Simulate rpc over gRPC, the rule-set lifecycle (an invalid rule set cannot be published, a
//! frozen one cannot be edited, another district's drafts are invisible), stored score sheets,
//! what-if, the simulator's rate limit and an idempotent seed.
//!
//! Identity cannot mint tokens yet, so authorised rpcs are called on the service directly with
//! a verified `Caller` in the request extensions, exactly where kit's AuthLayer puts it.

use jifen::target::Target;
use jifen::testkit::{Backend, TestJifen};
use jifen_kit::auth::{Caller, Role};
use jifen_proto::scoring::v1 as pb;
use jifen_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use jifen_proto::scoring::v1::scoring_service_server::ScoringService;
use jifen_scoring::Scoring;
use serde_json::json;
use tonic::{Code, Request};

/// Serialises starts: kit's `CREATE SCHEMA IF NOT EXISTS` races when several tests of this
/// process open the same schema of one PostgreSQL database at once.
static START: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn start_jifen() -> (TestJifen, sea_orm::DatabaseConnection) {
    let _guard = START.lock().await;
    let jifen = TestJifen::start(&[Target::Scoring], Backend::Real).await;
    let db = jifen_kit::db::connect("scoring", &jifen.config.database, jifen.data_dir.path())
        .await
        .expect("scoring database");
    (jifen, db)
}

async fn start() -> (TestJifen, Scoring) {
    let (jifen, db) = start_jifen().await;
    jifen_scoring::seed(&db).await.expect("seed");
    (jifen, Scoring::new(db))
}

fn caller(tenant: &str, role: Role) -> Caller {
    Caller {
        tenant: tenant.to_owned(),
        subject: format!("{tenant}-{role}"),
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

fn as_caller<T>(who: &Caller, msg: T) -> Request<T> {
    let mut req = Request::new(msg);
    req.extensions_mut().insert(who.clone());
    req
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}-{nanos:x}")
}

fn example_b_facts() -> serde_json::Value {
    json!({"parents": [
        {"birth_date": "1985-01-15", "education": "bachelor", "skill_level": "L4",
         "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4},
        {"birth_date": "1989-03-01", "education": "junior_college", "skill_level": "L3",
         "insurance_months": 50, "residence_years": 6}
    ]})
}

fn simulate_req(
    tenant: &str,
    benefit: &str,
    as_of: &str,
    facts: &serde_json::Value,
) -> pb::SimulateRequest {
    pb::SimulateRequest {
        tenant: tenant.to_owned(),
        benefit: benefit.to_owned(),
        as_of_date: as_of.to_owned(),
        facts_json: facts.to_string(),
        rule_set: None,
    }
}

fn line<'a>(sheet: &'a pb::ScoreSheet, code: &str) -> &'a pb::ScoreLine {
    sheet
        .lines
        .iter()
        .find(|l| l.indicator == code && l.counted)
        .unwrap_or_else(|| panic!("line {code}"))
}

#[tokio::test]
async fn worked_examples_hold_through_the_public_simulator() {
    let (jifen, _) = start().await;
    let mut client = ScoringServiceClient::new(jifen.channel());

    // A: 2021 settlement table, 790.
    let a = json!({"education": "bachelor", "professional_title": "intermediate",
        "insurance_months": 88, "housing_fund_years": 5, "property_area_m2": 92,
        "residence_years": 5});
    let sheet = client
        .simulate(simulate_req("gusu", "settlement", "2022-06-30", &a))
        .await
        .expect("example A")
        .into_inner()
        .score_sheet
        .expect("sheet");
    assert_eq!(sheet.total, 790);
    assert_eq!(sheet.rule_set_id, "SZ-CITY-SETTLEMENT-2021");
    assert_eq!(
        line(&sheet, "insurance_months").explanation,
        "参保 88 个月 × 5 分 = 440 分"
    );

    // B: 2023 school table, family 684 (base 540), tie reference 522.
    let response = client
        .simulate(simulate_req(
            "wuzhong",
            "school",
            "2023-06-30",
            &example_b_facts(),
        ))
        .await
        .expect("example B")
        .into_inner();
    let sheet = response.score_sheet.expect("sheet");
    assert_eq!((sheet.total, sheet.base), (684, 540));
    let family = sheet.family.clone().expect("family");
    assert_eq!((family.counted_parent, family.tie_reference), (0, 522));
    assert_eq!(
        line(&sheet, "insurance_months").explanation,
        "参保 72 个月 × 5 分 = 360 分"
    );
    assert!(sheet.eligible);
    assert!(sheet.facts_hash.starts_with("sha256:"));
    assert!(!response.checklist.is_empty(), "materials checklist");

    // C: 2023 settlement table (not the default, chosen by id), 860, manual review gate.
    let c = json!({"insurance_months": 100, "residence_years": 9, "birth_date": "1978-01-01",
        "education": "master", "invention_patents": 1, "utility_model_patents": 1,
        "dishonest_debtor_records": 1, "sentence_months": 2,
        "residence_permit_valid": true, "insurance_active": true});
    let mut req = simulate_req("gusu", "settlement", "2023-06-30", &c);
    req.rule_set = Some(pb::RuleSetRef {
        rule_set_id: "SZ-CITY-SETTLEMENT-2023".to_owned(),
        version: 0,
    });
    let sheet = client
        .simulate(req)
        .await
        .expect("example C")
        .into_inner()
        .score_sheet
        .expect("sheet");
    assert_eq!((sheet.total, sheet.deduction), (860, -150));
    let gate = sheet
        .gates
        .iter()
        .find(|g| g.code == "no_serious_crime")
        .expect("gate");
    assert_eq!(gate.outcome(), pb::GateVerdict::ManualReview);
    assert!(!sheet.eligible);

    // Bad facts are refused naming the key; unknown tenant / benefit are refused too.
    let bad = json!({"insurance_months": -3});
    let err = client
        .simulate(simulate_req("gusu", "settlement", "2023-06-30", &bad))
        .await
        .expect_err("negative months");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("insurance_months"),
        "{}",
        err.message()
    );
    for (tenant, benefit) in [("nowhere", "school"), ("gusu", "housing")] {
        let err = client
            .simulate(simulate_req(tenant, benefit, "2023-06-30", &a))
            .await
            .expect_err("unknown");
        assert_eq!(err.code(), Code::InvalidArgument, "{}", err.message());
    }
    let err = client
        .simulate(simulate_req("gusu", "school", "2023-02-30", &a))
        .await
        .expect_err("bad date");
    assert!(err.message().contains("2023-02-30"), "{}", err.message());

    // Public policy pages and the editor schema need no token either.
    let public = client
        .get_public_rule_set(pb::GetPublicRuleSetRequest {
            tenant: "changshu".to_owned(),
            benefit: "school".to_owned(),
            as_of_date: String::new(),
        })
        .await
        .expect("public rule set")
        .into_inner();
    assert_eq!(public.chain.len(), 2, "city template + changshu overlay");
    assert!(public.indicators.iter().any(|i| i.origin == "added"));
    let schema = client
        .get_rule_set_schema(pb::GetRuleSetSchemaRequest {})
        .await
        .expect("schema")
        .into_inner();
    assert!(schema.schema_json.contains("indicators"));
    jifen.stop().await;
}

fn overlay(id: &str, rate: i64, replace_code: &str) -> String {
    json!({
        "id": id, "version": 1, "name_zh": "测试叠加规则", "extends": "SZ-CITY-SCHOOL-2023",
        "benefits": ["school"],
        "replace": [{"code": replace_code, "name_zh": "参保", "category": "base",
            "fact": "insurance_months", "verifier_department": "human_resources",
            "formula": {"kind": "per_unit", "rate": rate, "unit_zh": "个月"}}]
    })
    .to_string()
}

#[tokio::test]
async fn lifecycle_refuses_invalid_publish_and_frozen_edits() {
    let (jifen, scoring) = start().await;
    let admin = caller("wuzhong", Role::DistrictAdmin);
    let id = unique("T-WZ");

    // A draft whose overlay replaces an indicator the template lacks.
    let draft = scoring
        .create_draft(as_caller(
            &admin,
            pb::CreateDraftRequest {
                rule_set_id: id.clone(),
                document_json: overlay(&id, 6, "no_such_indicator"),
                copy_from_version: 0,
            },
        ))
        .await
        .expect("create draft")
        .into_inner();
    assert_eq!(
        (draft.version, draft.status()),
        (1, pb::RuleSetStatus::Draft)
    );
    let stored = pb::RuleSetRef {
        rule_set_id: id.clone(),
        version: 1,
    };
    let checked = scoring
        .validate_rule_set(as_caller(
            &admin,
            pb::ValidateRuleSetRequest {
                target: Some(pb::validate_rule_set_request::Target::Stored(
                    stored.clone(),
                )),
            },
        ))
        .await
        .expect("validate")
        .into_inner();
    assert!(!checked.valid);
    let v = &checked.violations[0];
    assert_eq!(
        (v.path.as_str(), v.code.as_str()),
        ("/replace/0/code", "unknown_indicator")
    );
    assert!(
        v.message_zh.contains("no_such_indicator"),
        "{}",
        v.message_zh
    );
    let err = scoring
        .publish_rule_set(as_caller(
            &admin,
            pb::PublishRuleSetRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: 0,
            },
        ))
        .await
        .expect_err("invalid cannot be published");
    assert_eq!(err.code(), Code::FailedPrecondition, "{}", err.message());

    // A malformed document is refused with its path.
    let err = scoring
        .update_draft(as_caller(
            &admin,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: 0,
                document_json: overlay(&id, 6, "x").replace("\"rate\":6", "\"rate\":\"six\""),
            },
        ))
        .await
        .expect_err("malformed");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("/replace/0/formula"),
        "{}",
        err.message()
    );

    // Fixed, validated, published.
    let fixed = scoring
        .update_draft(as_caller(
            &admin,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: draft.edit_version,
                document_json: overlay(&id, 6, "insurance_months"),
            },
        ))
        .await
        .expect("update")
        .into_inner();
    let stale = scoring
        .update_draft(as_caller(
            &admin,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: draft.edit_version,
                document_json: overlay(&id, 7, "insurance_months"),
            },
        ))
        .await
        .expect_err("stale edit");
    assert_eq!(stale.code(), Code::Aborted);
    let checked = scoring
        .validate_rule_set(as_caller(
            &admin,
            pb::ValidateRuleSetRequest {
                target: Some(pb::validate_rule_set_request::Target::Stored(
                    stored.clone(),
                )),
            },
        ))
        .await
        .expect("validate")
        .into_inner();
    assert!(checked.valid, "{:?}", checked.violations);
    assert_eq!(
        checked.rule_set.expect("row").status(),
        pb::RuleSetStatus::Validated
    );
    let published = scoring
        .publish_rule_set(as_caller(
            &admin,
            pb::PublishRuleSetRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: fixed.edit_version,
            },
        ))
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(published.status(), pb::RuleSetStatus::Published);
    let err = scoring
        .update_draft(as_caller(
            &admin,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: 0,
                document_json: overlay(&id, 9, "insurance_months"),
            },
        ))
        .await
        .expect_err("published is immutable");
    assert_eq!(err.code(), Code::FailedPrecondition);

    // Evaluate with it: 72 months × 6.
    let sheet = scoring
        .evaluate(as_caller(
            &caller("wuzhong", Role::DistrictReviewer),
            pb::EvaluateRequest {
                rule_set: Some(pb::evaluate_request::RuleSet::Ref(stored.clone())),
                benefit: "school".to_owned(),
                as_of_date: "2023-06-30".to_owned(),
                facts_json: example_b_facts().to_string(),
            },
        ))
        .await
        .expect("evaluate")
        .into_inner();
    assert_eq!(sheet.total, 684 + 72);
    assert_eq!(
        line(&sheet, "insurance_months").explanation,
        "参保 72 个月 × 6 分 = 432 分"
    );

    // What-if: the draft against the published template over supplied facts.
    let report = scoring
        .what_if(as_caller(
            &admin,
            pb::WhatIfRequest {
                candidate: Some(stored.clone()),
                baseline: Some(pb::RuleSetRef {
                    rule_set_id: "SZ-CITY-SCHOOL-2023".to_owned(),
                    version: 0,
                }),
                seats: 1,
                benefit: "school".to_owned(),
                as_of_date: "2023-06-30".to_owned(),
                applications: vec![
                    pb::WhatIfApplication {
                        application_id: "a1".to_owned(),
                        facts_json: example_b_facts().to_string(),
                    },
                    pb::WhatIfApplication {
                        application_id: "a2".to_owned(),
                        facts_json: json!({"insurance_months": 130}).to_string(),
                    },
                    pb::WhatIfApplication {
                        application_id: "bad".to_owned(),
                        facts_json: json!({"insurance_months": -1}).to_string(),
                    },
                ],
                ..Default::default()
            },
        ))
        .await
        .expect("what-if")
        .into_inner();
    assert_eq!(report.applications, 2);
    assert_eq!(report.failures.len(), 1);
    assert!(report.failures[0].path.contains("insurance_months"));
    assert_eq!(report.largest_movers[0].application_id, "a2");
    assert_eq!(report.largest_movers[0].delta, 130);
    assert_eq!(
        (report.crossed_up, report.crossed_down),
        (1, 1),
        "a2 overtakes a1 for the seat"
    );

    // Frozen for a cycle (review, as the system): idempotent, and cannot be edited.
    let system = caller("wuzhong", Role::System);
    for _ in 0..2 {
        let frozen = scoring
            .freeze_rule_set(as_caller(
                &system,
                pb::FreezeRuleSetRequest {
                    rule_set_id: id.clone(),
                    version: 1,
                    cycle_id: "2023-school".to_owned(),
                },
            ))
            .await
            .expect("freeze")
            .into_inner();
        assert_eq!(frozen.status(), pb::RuleSetStatus::Frozen);
        assert_eq!(frozen.frozen_for_cycles, ["2023-school"]);
    }
    let err = scoring
        .update_draft(as_caller(
            &admin,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: 0,
                document_json: overlay(&id, 9, "insurance_months"),
            },
        ))
        .await
        .expect_err("frozen cannot be edited");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(err.message().contains("冻结"), "{}", err.message());
    let err = scoring
        .delete_draft(as_caller(
            &admin,
            pb::DeleteDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
            },
        ))
        .await
        .expect_err("frozen cannot be deleted");
    assert_eq!(err.code(), Code::FailedPrecondition);

    // The next version starts as a draft copied from the published one.
    let next = scoring
        .create_draft(as_caller(
            &admin,
            pb::CreateDraftRequest {
                rule_set_id: id.clone(),
                document_json: String::new(),
                copy_from_version: 0,
            },
        ))
        .await
        .expect("next version")
        .into_inner();
    assert_eq!((next.version, next.status()), (2, pb::RuleSetStatus::Draft));

    // Every change recorded with who.
    let changes = scoring
        .list_rule_set_changes(as_caller(
            &admin,
            pb::ListRuleSetChangesRequest {
                rule_set_id: id.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("changes")
        .into_inner()
        .changes;
    let actions: Vec<&str> = changes.iter().map(|c| c.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "created",
            "updated",
            "validated",
            "published",
            "frozen",
            "created"
        ]
    );
    assert_eq!(
        changes[0].actor.as_ref().expect("actor").subject,
        admin.subject
    );
    assert_eq!(changes[4].cycle_id, "2023-school");
    jifen.stop().await;
}

#[tokio::test]
async fn a_district_admin_cannot_read_or_change_another_districts_drafts() {
    let (jifen, scoring) = start().await;
    let gusu = caller("gusu", Role::DistrictAdmin);
    let wuzhong = caller("wuzhong", Role::DistrictAdmin);
    let id = unique("T-GS");
    scoring
        .create_draft(as_caller(
            &gusu,
            pb::CreateDraftRequest {
                rule_set_id: id.clone(),
                document_json: overlay(&id, 6, "insurance_months"),
                copy_from_version: 0,
            },
        ))
        .await
        .expect("gusu draft");

    let err = scoring
        .get_rule_set(as_caller(
            &wuzhong,
            pb::GetRuleSetRequest {
                rule_set_id: id.clone(),
                version: 1,
            },
        ))
        .await
        .expect_err("read");
    assert_eq!(err.code(), Code::NotFound);
    let err = scoring
        .update_draft(as_caller(
            &wuzhong,
            pb::UpdateDraftRequest {
                rule_set_id: id.clone(),
                version: 1,
                expected_version: 0,
                document_json: overlay(&id, 60, "insurance_months"),
            },
        ))
        .await
        .expect_err("change");
    assert_eq!(err.code(), Code::NotFound);
    for result in [
        scoring
            .delete_draft(as_caller(
                &wuzhong,
                pb::DeleteDraftRequest {
                    rule_set_id: id.clone(),
                    version: 1,
                },
            ))
            .await
            .map(|_| ()),
        scoring
            .publish_rule_set(as_caller(
                &wuzhong,
                pb::PublishRuleSetRequest {
                    rule_set_id: id.clone(),
                    version: 1,
                    expected_version: 0,
                },
            ))
            .await
            .map(|_| ()),
        scoring
            .list_rule_set_changes(as_caller(
                &wuzhong,
                pb::ListRuleSetChangesRequest {
                    rule_set_id: id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .map(|_| ()),
    ] {
        assert_eq!(
            result.expect_err("another district's draft").code(),
            Code::NotFound
        );
    }
    let listed = scoring
        .list_rule_sets(as_caller(
            &wuzhong,
            pb::ListRuleSetsRequest {
                include_templates: true,
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner()
        .rule_sets;
    assert!(listed.iter().all(|r| r.rule_set_id != id));
    assert!(
        listed
            .iter()
            .any(|r| r.rule_set_id == "SZ-CITY-SCHOOL-2023"),
        "city templates visible"
    );
    // Still intact for its owner; a district admin cannot touch the city templates.
    let own = scoring
        .get_rule_set(as_caller(
            &gusu,
            pb::GetRuleSetRequest {
                rule_set_id: id.clone(),
                version: 0,
            },
        ))
        .await
        .expect("owner reads")
        .into_inner();
    assert!(own.document_json.contains("\"rate\": 6"));
    let err = scoring
        .create_draft(as_caller(
            &caller("suzhou", Role::DistrictAdmin),
            pb::CreateDraftRequest {
                rule_set_id: unique("SZ-T"),
                document_json: String::new(),
                copy_from_version: 0,
            },
        ))
        .await
        .expect_err("city template needs city_admin");
    assert_eq!(err.code(), Code::PermissionDenied);
    let effective = scoring
        .get_effective_rule_set(as_caller(
            &wuzhong,
            pb::GetEffectiveRuleSetRequest {
                rule_set_id: "SZ-CITY-SCHOOL-2023".to_owned(),
                version: 0,
            },
        ))
        .await
        .expect("template effective")
        .into_inner();
    assert!(effective.effective_hash.starts_with("sha256:"));
    jifen.stop().await;
}

#[tokio::test]
async fn score_sheets_are_stored_idempotently_per_tenant() {
    let (jifen, scoring) = start().await;
    let system = caller("wuzhong", Role::System);
    let app = unique("app");
    let req = || pb::ScoreApplicationRequest {
        application_id: app.clone(),
        cycle_id: "2023-school".to_owned(),
        kind: pb::ScoreSheetKind::Verified as i32,
        rule_set: Some(pb::RuleSetRef {
            rule_set_id: "SZ-CITY-SCHOOL-2023".to_owned(),
            version: 1,
        }),
        benefit: "school".to_owned(),
        as_of_date: "2023-06-30".to_owned(),
        facts_json: example_b_facts().to_string(),
    };
    let first = scoring
        .score_application(as_caller(&system, req()))
        .await
        .expect("score")
        .into_inner();
    let again = scoring
        .score_application(as_caller(&system, req()))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(first.score_sheet_id, again.score_sheet_id);
    assert_eq!((first.total, first.rule_set_version), (684, 1));
    assert!(first.facts_hash.starts_with("sha256:"));
    let reviewer = caller("wuzhong", Role::DistrictReviewer);
    let got = scoring
        .get_score_sheet(as_caller(
            &reviewer,
            pb::GetScoreSheetRequest {
                score_sheet_id: first.score_sheet_id.clone(),
            },
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.lines, first.lines);
    let listed = scoring
        .list_score_sheets(as_caller(
            &reviewer,
            pb::ListScoreSheetsRequest {
                application_id: app.clone(),
                ..Default::default()
            },
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.score_sheets.len(), 1);
    let err = scoring
        .get_score_sheet(as_caller(
            &caller("gusu", Role::DistrictReviewer),
            pb::GetScoreSheetRequest {
                score_sheet_id: first.score_sheet_id,
            },
        ))
        .await
        .expect_err("other tenant");
    assert_eq!(err.code(), Code::NotFound);
    let err = scoring
        .score_application(as_caller(&caller("wuzhong", Role::DistrictAdmin), req()))
        .await
        .expect_err("only the system stores sheets");
    assert_eq!(err.code(), Code::PermissionDenied);
    jifen.stop().await;
}

#[tokio::test]
async fn the_public_simulator_is_rate_limited_and_seed_is_idempotent() {
    let (jifen, db) = start_jifen().await;
    jifen_scoring::seed(&db).await.expect("first seed");
    let again = jifen_scoring::seed(&db).await.expect("second seed");
    assert!(again.unchanged(), "{again}");
    assert_eq!((again.rule_sets_present, again.benefits_present), (7, 44));
    assert!(again.to_string().contains("unchanged"), "{again}");

    let scoring = Scoring::with_simulate_limit(db, 2, 0.0);
    let req = || {
        Request::new(simulate_req(
            "gusu",
            "school",
            "2023-06-30",
            &example_b_facts(),
        ))
    };
    scoring.simulate(req()).await.expect("first");
    scoring.simulate(req()).await.expect("second");
    let err = scoring.simulate(req()).await.expect_err("third is refused");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("频繁"), "{}", err.message());
    jifen.stop().await;
}
