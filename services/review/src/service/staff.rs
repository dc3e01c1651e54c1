//! Reviewers: queues, claims, approve / return / reject at each level, manual gate decisions.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1::ApplicationStatus as Status;
use jifen_proto::review::v1 as pb;
use jifen_proto::scoring::v1 as sc;
use prost::Message;
use sea_orm::sea_query::Query;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, TransactionTrait,
};
use serde_json::json;

use super::applicant::cancel_open_tasks;
use super::{
    Move, Review, apply_move, expect_version, is_family, is_unique_violation, new_id, next_token,
    page,
};
use crate::convert::{self, Actor, application_to_proto, claims_of, summary};
use crate::domain::claims::{self, ClaimState, FactsKind, parse_reference};
use crate::domain::scope::{self, Level};
use crate::domain::state_machine::{from_i32, label};
use crate::error::ReviewError;
use crate::score_source::ScoreError;
use crate::store::entities::{application, queue_claim, task};
use crate::store::repo;

/// The reviewer roles of the three levels.
const REVIEWERS: [Role; 3] = [
    Role::StreetReviewer,
    Role::DistrictReviewer,
    Role::CityReviewer,
];

/// Reviewers and the admins who may release their claims.
const STAFF_OF_QUEUES: [Role; 5] = [
    Role::StreetReviewer,
    Role::DistrictReviewer,
    Role::CityReviewer,
    Role::DistrictAdmin,
    Role::CityAdmin,
];

fn level_from_proto(level: i32) -> Option<Level> {
    match pb::ReviewLevel::try_from(level).unwrap_or_default() {
        pb::ReviewLevel::Street => Some(Level::Street),
        pb::ReviewLevel::District => Some(Level::District),
        pb::ReviewLevel::City => Some(Level::City),
        pb::ReviewLevel::Unspecified => None,
    }
}

fn level_to_proto(level: Level) -> pb::ReviewLevel {
    match level {
        Level::Street => pb::ReviewLevel::Street,
        Level::District => pb::ReviewLevel::District,
        Level::City => pb::ReviewLevel::City,
    }
}

fn claims_subquery(tenant: &str, subject: Option<&str>) -> sea_orm::sea_query::SelectStatement {
    let mut q = Query::select();
    q.column(queue_claim::Column::ApplicationId)
        .from(queue_claim::Entity)
        .and_where(queue_claim::Column::Tenant.eq(tenant));
    if let Some(s) = subject {
        q.and_where(queue_claim::Column::Subject.eq(s));
    }
    q.to_owned()
}

fn sort(q: Select<application::Entity>, sort: i32) -> Select<application::Entity> {
    match pb::QueueSort::try_from(sort).unwrap_or_default() {
        pb::QueueSort::SubmittedAsc => q.order_by_asc(application::Column::SubmittedAt),
        pb::QueueSort::UpdatedDesc => q.order_by_desc(application::Column::UpdatedAt),
        _ => q.order_by_asc(application::Column::DueAt),
    }
    .order_by_asc(application::Column::Id)
}

impl Review {
    /// ListQueue.
    pub async fn list_queue(
        &self,
        caller: &Caller,
        req: pb::ListQueueRequest,
    ) -> Result<pb::ListQueueResponse, ReviewError> {
        let level = level_from_proto(req.level)
            .or_else(|| scope::own_level(caller))
            .ok_or(scope::Denied("请指定审核环节"))?;
        let only_street = scope::may_list_queue(caller, level)?;
        let now = Utc::now();
        let mut q = application::Entity::find()
            .filter(application::Column::Tenant.eq(caller.tenant.clone()))
            .filter(application::Column::Status.eq(level.status() as i32));
        if let Some(street) = &only_street {
            q = q.filter(application::Column::StreetCode.eq(street.clone()));
        } else if !req.street_code.is_empty() {
            q = q.filter(application::Column::StreetCode.eq(req.street_code.clone()));
        }
        if !req.cycle_id.is_empty() {
            q = q.filter(application::Column::CycleId.eq(req.cycle_id.clone()));
        }
        if !req.benefit.is_empty() {
            q = q.filter(application::Column::Benefit.eq(req.benefit.clone()));
        }
        if !req.query.is_empty() {
            q = q.filter(application::Column::Number.starts_with(req.query.clone()));
        }
        if req.claimed_by_me {
            q = q.filter(
                application::Column::Id
                    .in_subquery(claims_subquery(&caller.tenant, Some(&caller.subject))),
            );
        }
        if req.unclaimed_only {
            q = q.filter(
                application::Column::Id.not_in_subquery(claims_subquery(&caller.tenant, None)),
            );
        }
        let total_count = q.clone().count(&self.db).await?;
        let overdue_count = q
            .clone()
            .filter(application::Column::DueAt.lt(now))
            .count(&self.db)
            .await?;
        if req.overdue_only {
            q = q.filter(application::Column::DueAt.lt(now));
        }
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows = sort(q, req.sort)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let claims = queue_claim::Entity::find()
            .filter(queue_claim::Column::Tenant.eq(caller.tenant.clone()))
            .filter(queue_claim::Column::ApplicationId.is_in(ids))
            .all(&self.db)
            .await?;
        let items = rows
            .iter()
            .map(|m| {
                let claim = claims.iter().find(|c| c.application_id == m.id);
                queue_item(m, level, claim, now)
            })
            .collect();
        Ok(pb::ListQueueResponse {
            next_page_token: next_token(offset, limit, rows.len()),
            items,
            total_count,
            overdue_count,
        })
    }

    /// ListApplications.
    pub async fn list_applications(
        &self,
        caller: &Caller,
        req: pb::ListApplicationsRequest,
    ) -> Result<pb::ListApplicationsResponse, ReviewError> {
        scope::may_search(caller)?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let mut q = application::Entity::find()
            .filter(application::Column::Tenant.eq(caller.tenant.clone()));
        if !req.cycle_id.is_empty() {
            q = q.filter(application::Column::CycleId.eq(req.cycle_id.clone()));
        }
        if !req.benefit.is_empty() {
            q = q.filter(application::Column::Benefit.eq(req.benefit.clone()));
        }
        if req.status != 0 {
            q = q.filter(application::Column::Status.eq(req.status));
        }
        if !req.street_code.is_empty() {
            q = q.filter(application::Column::StreetCode.eq(req.street_code.clone()));
        }
        if !req.query.is_empty() {
            q = q.filter(application::Column::Number.starts_with(req.query.clone()));
        }
        let rows = q
            .order_by_asc(application::Column::Number)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let now = Utc::now();
        Ok(pb::ListApplicationsResponse {
            next_page_token: next_token(offset, limit, rows.len()),
            applications: rows.iter().map(|m| summary(m, now)).collect(),
        })
    }

    /// ClaimApplication.
    pub async fn claim_application(
        &self,
        caller: &Caller,
        req: pb::ClaimApplicationRequest,
    ) -> Result<pb::QueueItem, ReviewError> {
        scope::acting_role(caller, &REVIEWERS)?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        let level = Level::of_status(from_i32(app.status))
            .ok_or_else(|| ReviewError::Precondition("该申请不在审核队列中".into()))?;
        let role = scope::may_review(caller, level, &app.street_code)?;
        let actor = Actor::new(caller, role);
        let inserted = queue_claim::ActiveModel {
            application_id: Set(app.id.clone()),
            tenant: Set(app.tenant.clone()),
            level: Set(level_to_proto(level) as i32),
            subject: Set(caller.subject.clone()),
            actor: Set(actor.to_json()),
            claimed_at: Set(Utc::now()),
        }
        .insert(&self.db)
        .await;
        if let Err(err) = inserted
            && !is_unique_violation(&err)
        {
            return Err(err.into());
        }
        let claim = queue_claim::Entity::find_by_id(app.id.clone())
            .filter(queue_claim::Column::Tenant.eq(app.tenant.clone()))
            .one(&self.db)
            .await?;
        match &claim {
            Some(c) if c.subject != caller.subject => Err(ReviewError::AlreadyClaimed),
            _ => Ok(queue_item(&app, level, claim.as_ref(), Utc::now())),
        }
    }

    /// ReleaseApplication.
    pub async fn release_application(
        &self,
        caller: &Caller,
        req: pb::ReleaseApplicationRequest,
    ) -> Result<pb::QueueItem, ReviewError> {
        scope::acting_role(caller, &STAFF_OF_QUEUES)?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        let level = Level::of_status(from_i32(app.status))
            .ok_or_else(|| ReviewError::Precondition("该申请不在审核队列中".into()))?;
        let admin = caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin);
        if !admin {
            scope::may_review(caller, level, &app.street_code)?;
        }
        let mut del = queue_claim::Entity::delete_many()
            .filter(queue_claim::Column::Tenant.eq(app.tenant.clone()))
            .filter(queue_claim::Column::ApplicationId.eq(app.id.clone()));
        if !admin {
            del = del.filter(queue_claim::Column::Subject.eq(caller.subject.clone()));
        }
        let done = del.exec(&self.db).await?;
        if done.rows_affected == 0 {
            return Err(ReviewError::Precondition("您没有认领该申请".into()));
        }
        Ok(queue_item(&app, level, None, Utc::now()))
    }

    /// ApproveApplication: street → district; district → department verification (fan-out);
    /// city → scored (verified score sheet from scoring; UNAVAILABLE changes nothing).
    pub async fn approve_application(
        &self,
        caller: &Caller,
        req: pb::ApproveApplicationRequest,
    ) -> Result<pb::Application, ReviewError> {
        scope::acting_role(caller, &REVIEWERS)?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        expect_version(app.version, req.expected_version)?;
        let from = from_i32(app.status);
        let level = Level::of_status(from).ok_or_else(|| {
            ReviewError::Precondition(format!("申请状态为「{}」，当前无需审核", label(from)))
        })?;
        let role = scope::may_review(caller, level, &app.street_code)?;
        let actor = Actor::new(caller, role);
        match level {
            Level::Street => {
                let txn = self.db.begin().await?;
                let due = self
                    .sla_due(&txn, &app.tenant, Status::DistrictReview)
                    .await?;
                apply_move(
                    &txn,
                    Move {
                        app: &app,
                        expected: req.expected_version,
                        to: Status::DistrictReview,
                        actor: &actor,
                        action: "approve",
                        reason: req.note_zh.clone(),
                        details: json!({"level": "street"}),
                        due_at: due,
                        applicant_due_date: String::new(),
                        changes: Default::default(),
                    },
                )
                .await?;
                txn.commit().await?;
            }
            Level::District => {
                self.fan_out(&app, &actor, req.expected_version, &req.note_zh)
                    .await?
            }
            Level::City => {
                self.city_approve(&app, &actor, req.expected_version, &req.note_zh)
                    .await?
            }
        }
        self.committed();
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }

    /// District approval: one task per claim whose fact a department verifies.
    async fn fan_out(
        &self,
        app: &application::Model,
        actor: &Actor,
        expected: i64,
        note: &str,
    ) -> Result<(), ReviewError> {
        let c = repo::cycle(&self.db, &app.tenant, &app.cycle_id).await?;
        let rs = sc::RuleSetRef {
            rule_set_id: c.rule_set_id.clone(),
            version: u32::try_from(c.rule_set_version).unwrap_or(0),
        };
        let routes = match self.scores.routes(&app.tenant, &rs, &app.benefit).await {
            Ok(r) => r,
            Err(ScoreError::Refused(m)) => return Err(ReviewError::Precondition(m)),
            Err(e) => return Err(ReviewError::ScoringUnavailable(e.to_string())),
        };
        let mut claims = claims_of(app);
        let txn = self.db.begin().await?;
        let due = self
            .sla_due(&txn, &app.tenant, Status::DepartmentVerification)
            .await?;
        let now = Utc::now();
        let mut tasks = Vec::new();
        for claim in &mut claims {
            match routes.iter().find(|r| r.fact_key == claim.fact_key) {
                Some(route) if !route.department.is_empty() => {
                    claim.state = ClaimState::Pending;
                    claim.department = route.department.clone();
                    claim.indicator = route.indicator.clone();
                    claim.verified = None;
                    tasks.push(new_task(app, claim, due.unwrap_or(now), false, now));
                }
                _ => claim.state = ClaimState::NotRequired,
            }
        }
        let changes = application::ActiveModel {
            claims: Set(
                serde_json::to_value(&claims).map_err(|e| ReviewError::Internal(e.to_string()))?
            ),
            ..Default::default()
        };
        let version = apply_move(
            &txn,
            Move {
                app,
                expected,
                to: Status::DepartmentVerification,
                actor,
                action: "approve",
                reason: note.to_owned(),
                details: json!({"level": "district", "tasks": tasks.len()}),
                due_at: due,
                applicant_due_date: String::new(),
                changes,
            },
        )
        .await?;
        if tasks.is_empty() {
            // Nothing to verify: straight on to the city.
            let moved = repo::application(&txn, &app.tenant, &app.id).await?;
            let due = self.sla_due(&txn, &app.tenant, Status::CityReview).await?;
            apply_move(
                &txn,
                Move {
                    app: &moved,
                    expected: version,
                    to: Status::CityReview,
                    actor,
                    action: "verification_complete",
                    reason: String::new(),
                    details: json!({}),
                    due_at: due,
                    applicant_due_date: String::new(),
                    changes: Default::default(),
                },
            )
            .await?;
        } else {
            task::Entity::insert_many(tasks).exec(&txn).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// City approval: the verified score sheet, computed by scoring before anything changes.
    async fn city_approve(
        &self,
        app: &application::Model,
        actor: &Actor,
        expected: i64,
        note: &str,
    ) -> Result<(), ReviewError> {
        let c = repo::cycle(&self.db, &app.tenant, &app.cycle_id).await?;
        let facts = claims::facts_document(
            &claims_of(app),
            FactsKind::Verified,
            is_family(&app.benefit),
        );
        let request = sc::ScoreApplicationRequest {
            application_id: app.id.clone(),
            cycle_id: app.cycle_id.clone(),
            kind: sc::ScoreSheetKind::Verified as i32,
            rule_set: Some(sc::RuleSetRef {
                rule_set_id: c.rule_set_id.clone(),
                version: u32::try_from(c.rule_set_version).unwrap_or(0),
            }),
            benefit: app.benefit.clone(),
            as_of_date: c.score_as_of.clone(),
            facts_json: facts.to_string(),
        };
        let sheet = match self.scores.score_application(&app.tenant, request).await {
            Ok(s) => s,
            Err(ScoreError::Refused(m)) => return Err(ReviewError::Precondition(m)),
            Err(e) => return Err(ReviewError::ScoringUnavailable(e.to_string())),
        };
        let txn = self.db.begin().await?;
        let due = (!c.confirmation_end.is_empty())
            .then(|| crate::domain::calendar::parse_date(&c.confirmation_end))
            .flatten()
            .map(crate::domain::calendar::end_of_day);
        apply_move(&txn, Move {
            app, expected, to: Status::Scored, actor, action: "score", reason: note.to_owned(),
            details: json!({"score_sheet_id": sheet.score_sheet_id, "total": sheet.total, "rule_set": sheet.rule_set_id, "rule_set_version": sheet.rule_set_version}),
            due_at: due, applicant_due_date: c.confirmation_end.clone(),
            changes: application::ActiveModel {
                verified_score: Set(Some(sheet.encode_to_vec())),
                total: Set(Some(sheet.total)),
                ..Default::default()
            },
        })
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// ReturnApplication (street or district level).
    pub async fn return_application(
        &self,
        caller: &Caller,
        req: pb::ReturnApplicationRequest,
    ) -> Result<pb::Application, ReviewError> {
        scope::acting_role(caller, &[Role::StreetReviewer, Role::DistrictReviewer])?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        let from = from_i32(app.status);
        let level = match Level::of_status(from) {
            Some(l @ (Level::Street | Level::District)) => l,
            _ => {
                return Err(crate::domain::state_machine::IllegalTransition {
                    from,
                    to: Status::Returned,
                }
                .into());
            }
        };
        let role = scope::may_review(caller, level, &app.street_code)?;
        if req.reason_zh.trim().is_empty() {
            return Err(ReviewError::invalid("reason_zh", "请填写退回原因"));
        }
        for key in &req.fact_keys {
            if parse_reference(key).is_none() {
                return Err(ReviewError::invalid(
                    "fact_keys",
                    format!("{key} 格式应为 <序号>:<指标>"),
                ));
            }
        }
        expect_version(app.version, req.expected_version)?;
        let actor = Actor::new(caller, role);
        let txn = self.db.begin().await?;
        let due = self.sla_due(&txn, &app.tenant, Status::Returned).await?;
        let due_date = due
            .map(|d| {
                crate::domain::calendar::local_date(d - chrono::Duration::seconds(1)).to_string()
            })
            .unwrap_or_default();
        apply_move(
            &txn,
            Move {
                app: &app,
                expected: req.expected_version,
                to: Status::Returned,
                actor: &actor,
                action: "return",
                reason: req.reason_zh.clone(),
                details: json!({"fact_keys": req.fact_keys}),
                due_at: due,
                applicant_due_date: due_date,
                changes: application::ActiveModel {
                    reason: Set(req.reason_zh.clone()),
                    returned_fact_keys: Set(json!(req.fact_keys)),
                    ..Default::default()
                },
            },
        )
        .await?;
        txn.commit().await?;
        self.committed();
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }

    /// RejectApplication (final, with a reason).
    pub async fn reject_application(
        &self,
        caller: &Caller,
        req: pb::RejectApplicationRequest,
    ) -> Result<pb::Application, ReviewError> {
        scope::acting_role(caller, &REVIEWERS)?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        let from = from_i32(app.status);
        let level = match from {
            Status::DepartmentVerification => Level::District,
            other => {
                Level::of_status(other).ok_or(crate::domain::state_machine::IllegalTransition {
                    from,
                    to: Status::Rejected,
                })?
            }
        };
        let role = scope::may_review(caller, level, &app.street_code)?;
        if req.reason_zh.trim().is_empty() {
            return Err(ReviewError::invalid("reason_zh", "请填写驳回原因"));
        }
        expect_version(app.version, req.expected_version)?;
        let actor = Actor::new(caller, role);
        let txn = self.db.begin().await?;
        apply_move(
            &txn,
            Move {
                app: &app,
                expected: req.expected_version,
                to: Status::Rejected,
                actor: &actor,
                action: "reject",
                reason: req.reason_zh.clone(),
                details: json!({"reason_code": req.reason_code}),
                due_at: None,
                applicant_due_date: String::new(),
                changes: application::ActiveModel {
                    reason: Set(req.reason_zh.clone()),
                    ..Default::default()
                },
            },
        )
        .await?;
        cancel_open_tasks(&txn, &app).await?;
        txn.commit().await?;
        self.committed();
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }

    /// DecideGate.
    pub async fn decide_gate(
        &self,
        caller: &Caller,
        req: pb::DecideGateRequest,
    ) -> Result<pb::Application, ReviewError> {
        let role = scope::acting_role(caller, &[Role::DistrictReviewer, Role::CityReviewer])?;
        let outcome = sc::GateVerdict::try_from(req.outcome).unwrap_or_default();
        if !matches!(outcome, sc::GateVerdict::Pass | sc::GateVerdict::Fail) {
            return Err(ReviewError::invalid("outcome", "只能判定为通过或不通过"));
        }
        if req.gate_code.trim().is_empty() {
            return Err(ReviewError::invalid("gate_code", "请指定资格条件"));
        }
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        expect_version(app.version, req.expected_version)?;
        let status = from_i32(app.status);
        if crate::domain::state_machine::is_final(status) || status == Status::Draft {
            return Err(ReviewError::Precondition(format!(
                "申请状态为「{}」，不能判定资格条件",
                label(status)
            )));
        }
        let actor = Actor::new(caller, role);
        let mut decisions = app.gate_decisions.as_array().cloned().unwrap_or_default();
        decisions.retain(|d| d["gate_code"] != json!(req.gate_code));
        decisions.push(json!({
            "gate_code": req.gate_code, "outcome": req.outcome, "reason_zh": req.reason_zh,
            "actor": actor.to_json(), "at": Utc::now().to_rfc3339(),
        }));
        let txn = self.db.begin().await?;
        repo::update_application(
            &txn,
            &app.tenant,
            &app.id,
            req.expected_version,
            application::ActiveModel {
                gate_decisions: Set(json!(decisions)),
                ..Default::default()
            },
        )
        .await?;
        super::audit(
            &txn,
            &app,
            &actor,
            "gate_decided",
            status,
            status,
            &req.reason_zh,
            &json!({"gate_code": req.gate_code, "outcome": outcome.as_str_name()}),
            app.due_at,
        )
        .await?;
        txn.commit().await?;
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }
}

/// Returns a new open task for `claim`.
pub(super) fn new_task(
    app: &application::Model,
    claim: &claims::Claim,
    due: chrono::DateTime<Utc>,
    reopened: bool,
    now: chrono::DateTime<Utc>,
) -> task::ActiveModel {
    task::ActiveModel {
        id: Set(new_id()),
        tenant: Set(app.tenant.clone()),
        application_id: Set(app.id.clone()),
        cycle_id: Set(app.cycle_id.clone()),
        indicator: Set(claim.indicator.clone()),
        fact_key: Set(claim.fact_key.clone()),
        person_index: Set(i32::try_from(claim.person_index).unwrap_or(0)),
        department: Set(claim.department.clone()),
        status: Set("open".to_owned()),
        claimed_value: Set(claim.value.to_string()),
        material_ids: Set(json!(claim.material_ids)),
        verified_value: Set(None),
        evidence_checked: Set(false),
        note: Set(String::new()),
        claimed_by: Set(None),
        claimed_by_subject: Set(None),
        claimed_at: Set(None),
        verified_by: Set(None),
        verified_at: Set(None),
        due_at: Set(due),
        reopened: Set(reopened),
        version: Set(1),
        created_at: Set(now),
    }
}

fn queue_item(
    m: &application::Model,
    level: Level,
    claim: Option<&queue_claim::Model>,
    now: chrono::DateTime<Utc>,
) -> pb::QueueItem {
    let s = summary(m, now);
    pb::QueueItem {
        due_at: s.due_at,
        overdue: s.overdue,
        application: Some(s),
        level: level_to_proto(level) as i32,
        claimed_by: claim.map(|c| convert::actor_from_json(&c.actor)),
        claimed_at: claim.map(|c| convert::ts(c.claimed_at)),
        resubmitted: m.resubmitted,
    }
}
