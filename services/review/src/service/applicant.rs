//! The applicant's side: drafts, claims, submission, withdrawal, confirmation, and what they see.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::common::v1::ApplicationStatus as Status;
use jifen_proto::review::v1 as pb;
use jifen_proto::scoring::v1 as sc;
use prost::Message;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use serde_json::{Value, json};

use super::{
    Move, Review, apply_move, expect_version, guarded_move, is_family, is_unique_violation,
    move_application, new_id, next_token, page,
};
use crate::convert::{self, Actor, application_to_proto, claims_of, mask_id, mask_name, summary};
use crate::domain::audit::GENESIS_HASH;
use crate::domain::calendar::{self, in_range};
use crate::domain::claims::{self, Claim, ClaimState, FactsKind, parse_reference};
use crate::domain::scope::{self, may_act_as_owner};
use crate::domain::state_machine::{from_i32, label};
use crate::error::ReviewError;
use crate::events;
use crate::score_source::ScoreError;
use crate::store::entities::{application, cycle, idempotency, task};
use crate::store::repo;

fn tenant_prefix(tenant: &str) -> String {
    tenant.chars().take(2).collect::<String>().to_uppercase()
}

fn benefit_prefix(benefit: &str) -> String {
    benefit.chars().take(3).collect::<String>().to_uppercase()
}

/// Returns the application an idempotency key already produced, if any.
async fn keyed<C: sea_orm::ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    scope: &str,
    key: &str,
) -> Result<Option<String>, ReviewError> {
    if key.is_empty() {
        return Ok(None);
    }
    Ok(idempotency::Entity::find_by_id((
        caller.tenant.clone(),
        caller.subject.clone(),
        scope.to_owned(),
        key.to_owned(),
    ))
    .one(conn)
    .await?
    .map(|r| r.target_id))
}

/// Records an idempotency key in the caller's transaction.
pub(super) async fn remember_key<C: sea_orm::ConnectionTrait>(
    conn: &C,
    caller: &Caller,
    scope: &str,
    key: &str,
    target: &str,
) -> Result<(), ReviewError> {
    if key.is_empty() {
        return Ok(());
    }
    idempotency::ActiveModel {
        tenant: Set(caller.tenant.clone()),
        applicant_subject: Set(caller.subject.clone()),
        scope: Set(scope.to_owned()),
        key: Set(key.to_owned()),
        target_id: Set(target.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(conn)
    .await?;
    Ok(())
}

impl Review {
    /// Returns an application the caller may see (NotFound for another tenant's).
    pub(super) async fn visible_application(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<application::Model, ReviewError> {
        let app = repo::application(&self.db, &caller.tenant, id).await?;
        let has_task = match (&caller.department, caller.has(Role::DepartmentVerifier)) {
            (Some(dept), true) => task::Entity::find()
                .filter(task::Column::Tenant.eq(caller.tenant.clone()))
                .filter(task::Column::ApplicationId.eq(id))
                .filter(task::Column::Department.eq(dept.clone()))
                .one(&self.db)
                .await?
                .is_some(),
            _ => false,
        };
        scope::may_view(caller, &app.applicant_subject, &app.street_code, has_task)?;
        Ok(app)
    }

    /// Returns an application the caller owns.
    pub(super) async fn owned_application(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<application::Model, ReviewError> {
        caller
            .require(Role::Applicant)
            .map_err(|_| scope::Denied("只有申请人本人可以执行此操作"))?;
        let app = repo::application(&self.db, &caller.tenant, id).await?;
        if app.applicant_subject != caller.subject {
            // Someone else's application is not revealed.
            return Err(ReviewError::NotFound("申请"));
        }
        may_act_as_owner(caller, &app.applicant_subject)?;
        Ok(app)
    }

    /// CreateDraft.
    pub async fn create_draft(
        &self,
        caller: &Caller,
        req: pb::CreateDraftRequest,
        bearer: Option<&str>,
    ) -> Result<pb::Application, ReviewError> {
        caller
            .require(Role::Applicant)
            .map_err(|_| scope::Denied("只有申请人可以创建申请"))?;
        if let Some(id) = keyed(&self.db, caller, "draft", &req.idempotency_key).await? {
            return Ok(application_to_proto(
                &repo::application(&self.db, &caller.tenant, &id).await?,
                Utc::now(),
            ));
        }
        let c = repo::cycle(&self.db, &caller.tenant, &req.cycle_id).await?;
        if c.status == "draft" {
            return Err(ReviewError::NotFound("申请批次"));
        }
        let today = calendar::local_date(Utc::now());
        if c.status != "open" || !in_range(today, &c.application_start, &c.application_end) {
            return Err(ReviewError::WindowClosed("不在申请受理期内".into()));
        }
        if req.street_code.trim().is_empty() {
            return Err(ReviewError::invalid(
                "street_code",
                "请选择居住地所在街道（镇）",
            ));
        }
        let applicant = self.applicant_directory.masked_person(caller, bearer).await;
        let actor = Actor::new(caller, Role::Applicant);
        // The number is taken by one statement of its own, not inside the draft's transaction:
        // there the cycle row would stay locked until the commit, and a crowd opening drafts in
        // one cycle at season opening would queue on it, one transaction at a time. A draft that
        // then fails leaves a gap in the numbering, as a database sequence would.
        let seq = cycle::Entity::update_many()
            .col_expr(
                cycle::Column::NextNumber,
                Expr::col(cycle::Column::NextNumber).add(1),
            )
            .filter(cycle::Column::Id.eq(c.id.clone()))
            .filter(cycle::Column::Tenant.eq(c.tenant.clone()))
            .exec_with_returning(&self.db)
            .await?
            .first()
            .map(|cycle| cycle.next_number)
            .ok_or(ReviewError::NotFound("申请批次"))?;
        let txn = self.db.begin().await?;
        let now = Utc::now();
        let id = new_id();
        let am = application::ActiveModel {
            id: Set(id.clone()),
            tenant: Set(c.tenant.clone()),
            cycle_id: Set(c.id.clone()),
            benefit: Set(c.benefit.clone()),
            number: Set(format!(
                "{}-{}-{}-{seq:06}",
                tenant_prefix(&c.tenant),
                c.year,
                benefit_prefix(&c.benefit)
            )),
            applicant_subject: Set(caller.subject.clone()),
            street_code: Set(req.street_code.trim().to_owned()),
            status: Set(Status::Draft as i32),
            version: Set(1),
            active_key: Set(Some(format!("{}/{}", c.id, caller.subject))),
            claims: Set(json!([])),
            household: Set(json!({
                "child": null, "other_parent": null, "school_preferences": [],
                "applicant": applicant,
            })),
            claimed_score: Set(None),
            verified_score: Set(None),
            total: Set(None),
            gate_decisions: Set(json!([])),
            due_at: Set(None),
            reason: Set(String::new()),
            returned_fact_keys: Set(json!([])),
            outcome: Set(0),
            allocated_school: Set(String::new()),
            resubmitted: Set(false),
            created_at: Set(now),
            submitted_at: Set(None),
            updated_at: Set(now),
            confirmed_at: Set(None),
            audit_sequence: Set(0),
            audit_head: Set(GENESIS_HASH.to_owned()),
        };
        if let Err(err) = am.insert(&txn).await {
            let _ = txn.rollback().await;
            if is_unique_violation(&err) {
                if let Some(id) = keyed(&self.db, caller, "draft", &req.idempotency_key).await? {
                    return Ok(application_to_proto(
                        &repo::application(&self.db, &caller.tenant, &id).await?,
                        Utc::now(),
                    ));
                }
                let existing = application::Entity::find()
                    .filter(application::Column::Tenant.eq(caller.tenant.clone()))
                    .filter(
                        application::Column::ActiveKey.eq(format!("{}/{}", c.id, caller.subject)),
                    )
                    .one(&self.db)
                    .await?;
                return Err(ReviewError::AlreadyExists(format!(
                    "本批次已有进行中的申请（{}）",
                    existing.map(|e| e.id).unwrap_or_default()
                )));
            }
            return Err(err.into());
        }
        let app = repo::application(&txn, &c.tenant, &id).await?;
        super::audit(
            &txn,
            &app,
            &actor,
            "create",
            Status::Unspecified,
            Status::Draft,
            "",
            &json!({}),
            None,
        )
        .await?;
        remember_key(&txn, caller, "draft", &req.idempotency_key, &id).await?;
        txn.commit().await?;
        Ok(application_to_proto(&app, Utc::now()))
    }

    /// UpdateDraft.
    pub async fn update_draft(
        &self,
        caller: &Caller,
        req: pb::UpdateDraftRequest,
    ) -> Result<pb::Application, ReviewError> {
        let app = self.owned_application(caller, &req.application_id).await?;
        let status = from_i32(app.status);
        if !matches!(status, Status::Draft | Status::Returned) {
            return Err(ReviewError::Precondition(format!(
                "申请状态为「{}」，不能修改",
                label(status)
            )));
        }
        expect_version(app.version, req.expected_version)?;
        let mut household = app.household.clone();
        if let Some(child) = req.child {
            household["child"] = json!({
                "name_masked": mask_name(&child.name),
                "id_number_masked": mask_id(&child.id_number),
                "birth_date": child.birth_date,
                "grade": child.grade,
            });
        }
        if let Some(p) = req.other_parent {
            household["other_parent"] = json!({"name_masked": mask_name(&p.name), "id_number_masked": mask_id(&p.id_number)});
        }
        if req.set_school_preferences {
            household["school_preferences"] = json!(req.school_preferences);
        }
        let mut am = application::ActiveModel {
            household: Set(household),
            ..Default::default()
        };
        if !req.street_code.is_empty() {
            if status != Status::Draft {
                return Err(ReviewError::invalid("street_code", "提交后不能更改街道"));
            }
            am.street_code = Set(req.street_code);
        }
        repo::update_application(&self.db, &app.tenant, &app.id, req.expected_version, am).await?;
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }

    /// SaveClaims.
    pub async fn save_claims(
        &self,
        caller: &Caller,
        req: pb::SaveClaimsRequest,
    ) -> Result<pb::Application, ReviewError> {
        let app = self.owned_application(caller, &req.application_id).await?;
        let status = from_i32(app.status);
        if !matches!(status, Status::Draft | Status::Returned) {
            return Err(ReviewError::Precondition(format!(
                "申请状态为「{}」，不能修改申报事项",
                label(status)
            )));
        }
        expect_version(app.version, req.expected_version)?;
        let mut incoming = Vec::new();
        for c in req.claims {
            if c.fact_key.trim().is_empty() {
                return Err(ReviewError::invalid("claims.fact_key", "申报事项缺少指标"));
            }
            let value: Value = serde_json::from_str(&c.value_json).map_err(|_| {
                ReviewError::invalid(
                    "claims.value_json",
                    format!("{} 的申报值不是合法的 JSON", c.fact_key),
                )
            })?;
            incoming.push(Claim {
                indicator: if c.indicator.is_empty() {
                    c.fact_key.clone()
                } else {
                    c.indicator
                },
                fact_key: c.fact_key,
                person_index: c.person_index,
                value,
                material_ids: c.material_ids,
                state: ClaimState::Claimed,
                verified: None,
                department: String::new(),
                note: String::new(),
            });
        }
        let remove = req
            .remove
            .iter()
            .map(|r| {
                parse_reference(r).ok_or_else(|| {
                    ReviewError::invalid("remove", format!("{r} 格式应为 <序号>:<指标>"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let allowed = (status == Status::Returned).then(|| {
            convert::strings_of(&app.returned_fact_keys)
                .iter()
                .filter_map(|r| parse_reference(r))
                .collect::<Vec<_>>()
        });
        let mut current = claims_of(&app);
        claims::merge_claims(&mut current, incoming, &remove, allowed.as_deref()).map_err(|r| {
            ReviewError::invalid(
                "claims",
                format!("退回补正只能修改指定的事项，{r} 不在其中"),
            )
        })?;
        let am = application::ActiveModel {
            claims: Set(
                serde_json::to_value(&current).map_err(|e| ReviewError::Internal(e.to_string()))?
            ),
            ..Default::default()
        };
        repo::update_application(&self.db, &app.tenant, &app.id, req.expected_version, am).await?;
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }

    /// Submit: idempotent on the key; gates checked with scoring's Evaluate when it answers.
    pub async fn submit(
        &self,
        caller: &Caller,
        req: pb::SubmitRequest,
    ) -> Result<pb::SubmitResponse, ReviewError> {
        if req.idempotency_key.trim().is_empty() {
            return Err(ReviewError::invalid("idempotency_key", "缺少幂等键"));
        }
        caller
            .require(Role::Applicant)
            .map_err(|_| scope::Denied("只有申请人本人可以执行此操作"))?;
        // The key's application (a replay) or the one named, with its cycle: one read.
        let (app, c, replayed) = repo::keyed_application_with_cycle(
            &self.db,
            &caller.tenant,
            &caller.subject,
            "submit",
            &req.idempotency_key,
            &req.application_id,
        )
        .await?;
        if replayed {
            return Ok(replay_response(&app));
        }
        if app.applicant_subject != caller.subject {
            // Someone else's application is not revealed.
            return Err(ReviewError::NotFound("申请"));
        }
        may_act_as_owner(caller, &app.applicant_subject)?;
        let from = from_i32(app.status);
        let now = Utc::now();
        match from {
            Status::Draft => {
                let today = calendar::local_date(now);
                if c.status != "open" || !in_range(today, &c.application_start, &c.application_end)
                {
                    return Err(ReviewError::WindowClosed("不在申请受理期内".into()));
                }
            }
            Status::Returned if app.due_at.is_some_and(|d| d < now) => {
                return Err(ReviewError::WindowClosed("已超过补正期限".into()));
            }
            _ => {}
        }
        if app.version != req.expected_version {
            // A concurrent retry with the same key may have just moved it: answer as a replay.
            if let Some(resp) = self.replay_submit(caller, &req.idempotency_key).await? {
                return Ok(resp);
            }
            return Err(ReviewError::StaleVersion);
        }
        // Gates at submission (and again before ranking, by ranking).
        let facts = claims::facts_document(
            &claims_of(&app),
            FactsKind::Claimed,
            is_family(&app.benefit),
        );
        let eval = sc::EvaluateRequest {
            rule_set: Some(sc::evaluate_request::RuleSet::Ref(sc::RuleSetRef {
                rule_set_id: c.rule_set_id.clone(),
                version: u32::try_from(c.rule_set_version).unwrap_or(0),
            })),
            benefit: app.benefit.clone(),
            as_of_date: c.score_as_of.clone(),
            facts_json: facts.to_string(),
        };
        let claimed = match self.scores.evaluate(&app.tenant, eval).await {
            Ok(sheet) => Some(sheet),
            Err(ScoreError::Refused(msg)) => return Err(ReviewError::invalid("claims", msg)),
            Err(err) => {
                tracing::warn!(error = %err, application = %app.id, "gates not checked at submission: scoring did not answer");
                None
            }
        };
        let gates = claimed
            .as_ref()
            .map(|s| s.gates.clone())
            .unwrap_or_default();
        if let Some(failed) = gates
            .iter()
            .find(|g| g.outcome == sc::GateVerdict::Fail as i32)
        {
            return Err(ReviewError::GateFailed(failed.message.clone()));
        }
        let actor = Actor::new(caller, Role::Applicant);
        // Configuration reads (SLA policy, working calendar) need no transaction: the write below
        // is one guarded statement that succeeds only at the version read above.
        let due = self
            .sla_due(&self.db, &app.tenant, Status::Submitted)
            .await?;
        let changes = application::ActiveModel {
            submitted_at: Set(Some(now)),
            resubmitted: Set(from == Status::Returned),
            claimed_score: Set(claimed.as_ref().map(Message::encode_to_vec)),
            total: Set(claimed.as_ref().map(|s| s.total)),
            ..Default::default()
        };
        let mv = Move {
            app: &app,
            expected: req.expected_version,
            to: Status::Submitted,
            actor: &actor,
            action: if from == Status::Returned {
                "resubmit"
            } else {
                "submit"
            },
            reason: String::new(),
            details: json!({"idempotency_key": req.idempotency_key}),
            due_at: due,
            applicant_due_date: String::new(),
            changes,
        };
        // The key is written by the same statement (transaction) as the move, so a submission
        // and its key exist together or not at all.
        let key = repo::Row::idempotency_key(
            &caller.tenant,
            &caller.subject,
            "submit",
            &req.idempotency_key,
            &app.id,
        );
        let written = if self.db.get_database_backend() == DbBackend::Postgres {
            // One statement, shared with the submissions arriving meanwhile (group commit).
            match guarded_move(mv, Some(key)) {
                Ok(change) => self.group_commit.write(&self.db, change).await,
                Err(err) => Err(err),
            }
        } else {
            let txn = self.db.begin().await?;
            match move_application(&txn, mv, Some(key)).await {
                Ok(row) => txn.commit().await.map(|()| row).map_err(ReviewError::from),
                Err(err) => {
                    let _ = txn.rollback().await;
                    Err(err)
                }
            }
        };
        let row = match written {
            Ok(row) => row,
            Err(err) => {
                // A concurrent retry with the same key may have won: answer as a replay.
                if let Some(resp) = self.replay_submit(caller, &req.idempotency_key).await? {
                    return Ok(resp);
                }
                return Err(match err {
                    ReviewError::Db(e) if is_unique_violation(&e) => ReviewError::StaleVersion,
                    other => other,
                });
            }
        };
        self.committed();
        Ok(pb::SubmitResponse {
            application: Some(application_to_proto(&row, Utc::now())),
            gates,
            replayed: false,
        })
    }

    async fn replay_submit(
        &self,
        caller: &Caller,
        key: &str,
    ) -> Result<Option<pb::SubmitResponse>, ReviewError> {
        let Some(id) = keyed(&self.db, caller, "submit", key).await? else {
            return Ok(None);
        };
        let app = repo::application(&self.db, &caller.tenant, &id).await?;
        Ok(Some(replay_response(&app)))
    }

    /// Withdraw.
    pub async fn withdraw(
        &self,
        caller: &Caller,
        req: pb::WithdrawRequest,
    ) -> Result<pb::Application, ReviewError> {
        let app = self.owned_application(caller, &req.application_id).await?;
        expect_version(app.version, req.expected_version)?;
        let actor = Actor::new(caller, Role::Applicant);
        let txn = self.db.begin().await?;
        apply_move(
            &txn,
            Move {
                app: &app,
                expected: req.expected_version,
                to: Status::Withdrawn,
                actor: &actor,
                action: "withdraw",
                reason: req.reason_zh.clone(),
                details: json!({}),
                due_at: None,
                applicant_due_date: String::new(),
                changes: application::ActiveModel {
                    reason: Set(req.reason_zh),
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

    /// GetApplication.
    pub async fn get_application(
        &self,
        caller: &Caller,
        req: pb::GetApplicationRequest,
    ) -> Result<pb::Application, ReviewError> {
        let app = self
            .visible_application(caller, &req.application_id)
            .await?;
        Ok(application_to_proto(&app, Utc::now()))
    }

    /// ListMyApplications.
    pub async fn list_my_applications(
        &self,
        caller: &Caller,
        req: pb::ListMyApplicationsRequest,
    ) -> Result<pb::ListApplicationsResponse, ReviewError> {
        caller
            .require(Role::Applicant)
            .map_err(|_| scope::Denied("只有申请人可以查看本人申请"))?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows = application::Entity::find()
            .filter(application::Column::Tenant.eq(caller.tenant.clone()))
            .filter(application::Column::ApplicantSubject.eq(caller.subject.clone()))
            .order_by_desc(application::Column::CreatedAt)
            .order_by_asc(application::Column::Id)
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

    /// GetTimeline.
    pub async fn get_timeline(
        &self,
        caller: &Caller,
        req: pb::GetTimelineRequest,
    ) -> Result<pb::GetTimelineResponse, ReviewError> {
        let app = self
            .visible_application(caller, &req.application_id)
            .await?;
        let owner_view = caller.subject == app.applicant_subject && !scope::is_staff(caller);
        let rows = repo::audit_trail(&self.db, &app.tenant, &app.id).await?;
        let entries = rows
            .iter()
            .filter(|r| r.from_status != r.to_status)
            .map(|r| {
                let mut record = convert::audit_to_proto(r, owner_view);
                pb::TimelineEntry {
                    from_status: r.from_status,
                    to_status: r.to_status,
                    at: record.at.take(),
                    actor: record.actor.take(),
                    reason_zh: r.reason.clone(),
                    due_at: r.due_at.map(convert::ts),
                    summary_zh: format!(
                        "{}：{}",
                        action_label(&r.action),
                        label(from_i32(r.to_status))
                    ),
                }
            })
            .collect();
        let now = Utc::now();
        let open_tasks = task::Entity::find()
            .filter(task::Column::Tenant.eq(app.tenant.clone()))
            .filter(task::Column::ApplicationId.eq(app.id.clone()))
            .filter(task::Column::Status.eq("open"))
            .all(&self.db)
            .await?
            .iter()
            .map(|t| {
                let mut t = convert::task_to_proto(t, &app.number, now);
                if owner_view {
                    t.claimed_by = None;
                }
                t
            })
            .collect();
        Ok(pb::GetTimelineResponse {
            entries,
            open_tasks,
        })
    }

    /// ConfirmScore: inside the confirmation window, for the sheet the applicant saw.
    pub async fn confirm_score(
        &self,
        caller: &Caller,
        req: pb::ConfirmScoreRequest,
    ) -> Result<pb::Application, ReviewError> {
        let app = self.owned_application(caller, &req.application_id).await?;
        let c = repo::cycle(&self.db, &app.tenant, &app.cycle_id).await?;
        let now = Utc::now();
        if !in_range(
            calendar::local_date(now),
            &c.confirmation_start,
            &c.confirmation_end,
        ) {
            return Err(ReviewError::WindowClosed("不在积分确认期内".into()));
        }
        expect_version(app.version, req.expected_version)?;
        let sheet = app
            .verified_score
            .as_ref()
            .and_then(|b| sc::ScoreSheet::decode(b.as_slice()).ok())
            .ok_or_else(|| {
                ReviewError::Precondition(format!(
                    "申请状态为「{}」，暂无可确认的积分",
                    label(from_i32(app.status))
                ))
            })?;
        if !req.score_sheet_id.is_empty() && req.score_sheet_id != sheet.score_sheet_id {
            return Err(ReviewError::StaleVersion);
        }
        let actor = Actor::new(caller, Role::Applicant);
        let txn = self.db.begin().await?;
        let version = apply_move(
            &txn,
            Move {
                app: &app,
                expected: req.expected_version,
                to: Status::Confirmed,
                actor: &actor,
                action: "confirm",
                reason: String::new(),
                details: json!({"score_sheet_id": sheet.score_sheet_id, "total": sheet.total}),
                due_at: None,
                applicant_due_date: String::new(),
                changes: application::ActiveModel {
                    confirmed_at: Set(Some(now)),
                    ..Default::default()
                },
            },
        )
        .await?;
        let confirmed = common::ScoreConfirmed {
            application_id: app.id.clone(),
            application_number: app.number.clone(),
            cycle_id: app.cycle_id.clone(),
            benefit: app.benefit.clone(),
            applicant_subject: app.applicant_subject.clone(),
            applicant: crate::convert::applicant_of(&app),
            total: sheet.total,
            base: sheet.base,
            tie_keys: sheet.tie_keys.clone(),
            rule_set_id: sheet.rule_set_id.clone(),
            rule_set_version: sheet.rule_set_version,
            score_sheet_id: sheet.score_sheet_id.clone(),
            threshold_area: c.threshold_area.clone(),
            school_preferences: convert::strings_of(&app.household["school_preferences"]),
            street_code: app.street_code.clone(),
            confirmed_at: Some(convert::ts(now)),
            eligible: sheet.eligible,
        };
        events::enqueue(
            &txn,
            &app.tenant,
            &app.id,
            version,
            common::event::Payload::ScoreConfirmed(confirmed),
        )
        .await?;
        txn.commit().await?;
        self.committed();
        Ok(application_to_proto(
            &repo::application(&self.db, &app.tenant, &app.id).await?,
            Utc::now(),
        ))
    }
}

/// The answer to a submission replayed by its idempotency key: the application as it is now,
/// with the gates recorded when it was submitted.
fn replay_response(app: &application::Model) -> pb::SubmitResponse {
    let gates = app
        .claimed_score
        .as_ref()
        .and_then(|b| sc::ScoreSheet::decode(b.as_slice()).ok())
        .map(|s| s.gates)
        .unwrap_or_default();
    pb::SubmitResponse {
        application: Some(application_to_proto(app, Utc::now())),
        gates,
        replayed: true,
    }
}

/// Cancels the open verification tasks of an application leaving verification.
pub(super) async fn cancel_open_tasks<C: sea_orm::ConnectionTrait>(
    conn: &C,
    app: &application::Model,
) -> Result<(), ReviewError> {
    task::Entity::update_many()
        .col_expr(task::Column::Status, Expr::value("cancelled"))
        .col_expr(
            task::Column::Version,
            Expr::col(task::Column::Version).add(1),
        )
        .filter(task::Column::Tenant.eq(app.tenant.clone()))
        .filter(task::Column::ApplicationId.eq(app.id.clone()))
        .filter(task::Column::Status.eq("open"))
        .exec(conn)
        .await?;
    Ok(())
}

/// Returns the Chinese label of an audit action.
pub(super) fn action_label(action: &str) -> &str {
    match action {
        "create" => "创建申请",
        "submit" => "提交申请",
        "resubmit" => "补正后重新提交",
        "approve" => "审核通过",
        "return" => "退回补正",
        "reject" => "驳回",
        "withdraw" => "撤回",
        "verify" => "部门核查",
        "verification_complete" => "部门核查完成",
        "score" => "市级终审计分",
        "confirm" => "确认积分",
        "objection_filed" => "提出复核申请",
        "objection_upheld" => "复核申请成立",
        "objection_dismissed" => "复核申请不成立",
        "gate_decided" => "人工判定资格条件",
        "ranking_outcome" => "排名结果",
        other => other,
    }
}
