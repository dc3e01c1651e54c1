//! Objections (复核申请), the audit trail, and events received from ranking.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::common::v1::ApplicationStatus as Status;
use jifen_proto::review::v1 as pb;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde_json::json;

use super::applicant::remember_key;
use super::staff::new_task;
use super::{Move, Review, apply_move, new_id, next_token, page};
use crate::convert::{self, Actor, claims_of, objection_to_proto};
use crate::domain::audit;
use crate::domain::calendar::{self, in_range};
use crate::domain::claims::{ClaimState, parse_reference};
use crate::domain::scope;
use crate::domain::state_machine::{self, from_i32, label};
use crate::error::ReviewError;
use crate::events;
use crate::store::entities::{application, objection};
use crate::store::repo;

impl Review {
    /// FileObjection: during the objection window (the publicity window when none is set).
    pub async fn file_objection(
        &self,
        caller: &Caller,
        req: pb::FileObjectionRequest,
    ) -> Result<pb::Objection, ReviewError> {
        let app = self.owned_application(caller, &req.application_id).await?;
        if !req.idempotency_key.is_empty() {
            let existing = crate::store::entities::idempotency::Entity::find_by_id((
                caller.tenant.clone(),
                caller.subject.clone(),
                "objection".to_owned(),
                req.idempotency_key.clone(),
            ))
            .one(&self.db)
            .await?;
            if let Some(k) = existing {
                let o = repo::objection(&self.db, &caller.tenant, &k.target_id).await?;
                return Ok(objection_to_proto(&o, &app.number, Utc::now()));
            }
        }
        let status = from_i32(app.status);
        if !matches!(
            status,
            Status::Scored | Status::Confirmed | Status::Ranked | Status::Publicised
        ) {
            return Err(ReviewError::Precondition(format!(
                "申请状态为「{}」，不能提出复核申请",
                label(status)
            )));
        }
        let c = repo::cycle(&self.db, &app.tenant, &app.cycle_id).await?;
        let (start, end) = if c.objection_start.is_empty() && c.objection_end.is_empty() {
            (&c.publicity_start, &c.publicity_end)
        } else {
            (&c.objection_start, &c.objection_end)
        };
        let now = Utc::now();
        if (start.is_empty() && end.is_empty()) || !in_range(calendar::local_date(now), start, end)
        {
            return Err(ReviewError::WindowClosed("不在公示异议期内".into()));
        }
        if req.text_zh.trim().is_empty() {
            return Err(ReviewError::invalid("text_zh", "请填写复核理由"));
        }
        let actor = Actor::new(caller, Role::Applicant);
        let txn = self.db.begin().await?;
        let (policy, _) = repo::sla(&txn, &app.tenant).await?;
        let due = self
            .due_in(&txn, &app.tenant, policy.objection_reply_days)
            .await?;
        let id = new_id();
        let model = objection::ActiveModel {
            id: Set(id.clone()),
            tenant: Set(app.tenant.clone()),
            application_id: Set(app.id.clone()),
            cycle_id: Set(app.cycle_id.clone()),
            applicant_subject: Set(app.applicant_subject.clone()),
            indicator: Set(req.indicator.clone()),
            text: Set(req.text_zh.clone()),
            material_ids: Set(json!(req.material_ids)),
            status: Set(pb::ObjectionStatus::Pending as i32),
            filed_at: Set(now),
            due_at: Set(due),
            reply: Set(String::new()),
            decided_by: Set(None),
            decided_at: Set(None),
            reopened_fact_keys: Set(json!([])),
            version: Set(1),
        }
        .insert(&txn)
        .await?;
        let locked = repo::lock_application(&txn, &app.tenant, &app.id).await?;
        super::audit(
            &txn,
            &locked,
            &actor,
            "objection_filed",
            status,
            status,
            &req.text_zh,
            &json!({"objection_id": id, "indicator": req.indicator}),
            Some(due),
        )
        .await?;
        remember_key(&txn, caller, "objection", &req.idempotency_key, &id).await?;
        txn.commit().await?;
        Ok(objection_to_proto(&model, &app.number, Utc::now()))
    }

    async fn visible_objection(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<(objection::Model, application::Model), ReviewError> {
        let o = repo::objection(&self.db, &caller.tenant, id).await?;
        let app = repo::application(&self.db, &caller.tenant, &o.application_id).await?;
        let owner = caller.has(Role::Applicant) && caller.subject == o.applicant_subject;
        let staff = scope::acting_role(
            caller,
            &[
                Role::DistrictReviewer,
                Role::CityReviewer,
                Role::DistrictAdmin,
                Role::CityAdmin,
            ],
        )
        .is_ok();
        if !owner && !staff {
            return Err(scope::Denied("无权查看该复核申请").into());
        }
        Ok((o, app))
    }

    /// GetObjection.
    pub async fn get_objection(
        &self,
        caller: &Caller,
        req: pb::GetObjectionRequest,
    ) -> Result<pb::Objection, ReviewError> {
        let (o, app) = self.visible_objection(caller, &req.objection_id).await?;
        Ok(objection_to_proto(&o, &app.number, Utc::now()))
    }

    /// ListObjections.
    pub async fn list_objections(
        &self,
        caller: &Caller,
        req: pb::ListObjectionsRequest,
    ) -> Result<pb::ListObjectionsResponse, ReviewError> {
        let staff = scope::acting_role(
            caller,
            &[
                Role::DistrictReviewer,
                Role::CityReviewer,
                Role::DistrictAdmin,
                Role::CityAdmin,
            ],
        )
        .is_ok();
        if !staff && !caller.has(Role::Applicant) {
            return Err(scope::Denied("无权查看复核申请").into());
        }
        let now = Utc::now();
        let mut q =
            objection::Entity::find().filter(objection::Column::Tenant.eq(caller.tenant.clone()));
        if !staff {
            q = q.filter(objection::Column::ApplicantSubject.eq(caller.subject.clone()));
        }
        if !req.application_id.is_empty() {
            q = q.filter(objection::Column::ApplicationId.eq(req.application_id.clone()));
        }
        if !req.cycle_id.is_empty() {
            q = q.filter(objection::Column::CycleId.eq(req.cycle_id.clone()));
        }
        if req.status != 0 {
            q = q.filter(objection::Column::Status.eq(req.status));
        }
        if req.overdue_only {
            q = q
                .filter(objection::Column::Status.eq(pb::ObjectionStatus::Pending as i32))
                .filter(objection::Column::DueAt.lt(now));
        }
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows = q
            .order_by_asc(objection::Column::DueAt)
            .order_by_asc(objection::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|o| o.application_id.clone()).collect();
        let apps = application::Entity::find()
            .filter(application::Column::Tenant.eq(caller.tenant.clone()))
            .filter(application::Column::Id.is_in(ids))
            .all(&self.db)
            .await?;
        let number = |id: &str| {
            apps.iter()
                .find(|a| a.id == id)
                .map(|a| a.number.clone())
                .unwrap_or_default()
        };
        Ok(pb::ListObjectionsResponse {
            next_page_token: next_token(offset, limit, rows.len()),
            objections: rows
                .iter()
                .map(|o| objection_to_proto(o, &number(&o.application_id), now))
                .collect(),
        })
    }

    /// DecideObjection: upheld re-opens verification of the named facts (or every fact of the
    /// objected indicator).
    pub async fn decide_objection(
        &self,
        caller: &Caller,
        req: pb::DecideObjectionRequest,
    ) -> Result<pb::Objection, ReviewError> {
        let role = scope::may_decide_objection(caller)?;
        let o = repo::objection(&self.db, &caller.tenant, &req.objection_id).await?;
        if o.status != pb::ObjectionStatus::Pending as i32 {
            return Err(ReviewError::Precondition("该复核申请已答复".into()));
        }
        if o.version != req.expected_version {
            return Err(ReviewError::StaleVersion);
        }
        if req.reply_zh.trim().is_empty() {
            return Err(ReviewError::invalid("reply_zh", "请填写答复意见"));
        }
        let app = repo::application(&self.db, &caller.tenant, &o.application_id).await?;
        let mut claims = claims_of(&app);
        let mut keys: Vec<(u32, String)> = Vec::new();
        for k in &req.reopen_fact_keys {
            keys.push(parse_reference(k).ok_or_else(|| {
                ReviewError::invalid("reopen_fact_keys", format!("{k} 格式应为 <序号>:<指标>"))
            })?);
        }
        if req.upheld && keys.is_empty() {
            keys = claims
                .iter()
                .filter(|c| c.indicator == o.indicator)
                .map(|c| (c.person_index, c.fact_key.clone()))
                .collect();
        }
        if req.upheld && keys.is_empty() {
            return Err(ReviewError::invalid(
                "reopen_fact_keys",
                "请指定需要重新核查的事项",
            ));
        }
        let actor = Actor::new(caller, role);
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let new_status = if req.upheld {
            pb::ObjectionStatus::Upheld
        } else {
            pb::ObjectionStatus::Dismissed
        };
        let refs: Vec<String> = keys.iter().map(|(p, k)| format!("{p}:{k}")).collect();
        let done = objection::Entity::update_many()
            .set(objection::ActiveModel {
                status: Set(new_status as i32),
                reply: Set(req.reply_zh.clone()),
                decided_by: Set(Some(actor.to_json())),
                decided_at: Set(Some(now)),
                reopened_fact_keys: Set(json!(if req.upheld { refs.clone() } else { vec![] })),
                version: Set(o.version + 1),
                ..Default::default()
            })
            .filter(objection::Column::Id.eq(o.id.clone()))
            .filter(objection::Column::Tenant.eq(o.tenant.clone()))
            .filter(objection::Column::Version.eq(o.version))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(ReviewError::StaleVersion);
        }
        let version = if req.upheld {
            let due = self
                .sla_due(&txn, &app.tenant, Status::DepartmentVerification)
                .await?;
            let mut tasks = Vec::new();
            for c in claims.iter_mut() {
                if keys
                    .iter()
                    .any(|(p, k)| *p == c.person_index && k == &c.fact_key)
                {
                    c.state = if c.department.is_empty() {
                        ClaimState::NotRequired
                    } else {
                        ClaimState::Reopened
                    };
                    if !c.department.is_empty() {
                        tasks.push(new_task(&app, c, due.unwrap_or(now), true, now));
                    }
                }
            }
            if tasks.is_empty() {
                return Err(ReviewError::invalid(
                    "reopen_fact_keys",
                    "所选事项无需部门核查",
                ));
            }
            let v = apply_move(
                &txn,
                Move {
                    app: &app,
                    expected: app.version,
                    to: Status::DepartmentVerification,
                    actor: &actor,
                    action: "objection_upheld",
                    reason: req.reply_zh.clone(),
                    details: json!({"objection_id": o.id, "reopened": refs}),
                    due_at: due,
                    applicant_due_date: String::new(),
                    changes: application::ActiveModel {
                        claims: Set(serde_json::to_value(&claims)
                            .map_err(|e| ReviewError::Internal(e.to_string()))?),
                        confirmed_at: Set(None),
                        ..Default::default()
                    },
                },
            )
            .await?;
            crate::store::entities::task::Entity::insert_many(tasks)
                .exec(&txn)
                .await?;
            v
        } else {
            let locked = repo::lock_application(&txn, &app.tenant, &app.id).await?;
            let status = from_i32(locked.status);
            super::audit(
                &txn,
                &locked,
                &actor,
                "objection_dismissed",
                status,
                status,
                &req.reply_zh,
                &json!({"objection_id": o.id}),
                locked.due_at,
            )
            .await?;
            locked.version
        };
        let decided = common::ObjectionDecided {
            objection_id: o.id.clone(),
            application_id: app.id.clone(),
            application_number: app.number.clone(),
            applicant_subject: app.applicant_subject.clone(),
            upheld: req.upheld,
            reply_zh: req.reply_zh.clone(),
        };
        events::enqueue(
            &txn,
            &app.tenant,
            &app.id,
            version,
            common::event::Payload::ObjectionDecided(decided),
        )
        .await?;
        txn.commit().await?;
        self.committed();
        let o = repo::objection(&self.db, &caller.tenant, &o.id).await?;
        Ok(objection_to_proto(&o, &app.number, Utc::now()))
    }

    /// GetAuditTrail: staff identities are hidden from the owner.
    pub async fn get_audit_trail(
        &self,
        caller: &Caller,
        req: pb::GetAuditTrailRequest,
    ) -> Result<pb::GetAuditTrailResponse, ReviewError> {
        let app = self
            .visible_application(caller, &req.application_id)
            .await?;
        let owner_view = caller.subject == app.applicant_subject && !scope::is_staff(caller);
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows = repo::audit_trail(&self.db, &app.tenant, &app.id).await?;
        let records: Vec<pb::AuditRecord> = rows
            .iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(0))
            .map(|r| convert::audit_to_proto(r, owner_view))
            .collect();
        Ok(pb::GetAuditTrailResponse {
            next_page_token: next_token(offset, limit, records.len()),
            records,
        })
    }

    /// VerifyAuditTrail.
    pub async fn verify_audit_trail(
        &self,
        caller: &Caller,
        req: pb::VerifyAuditTrailRequest,
    ) -> Result<pb::VerifyAuditTrailResponse, ReviewError> {
        scope::may_verify_audit(caller)?;
        let app = repo::application(&self.db, &caller.tenant, &req.application_id).await?;
        let rows = repo::audit_trail(&self.db, &app.tenant, &app.id).await?;
        let chain: Vec<_> = rows.iter().map(repo::chained).collect();
        let mut v = audit::verify(&chain);
        let stored_head = (app.audit_sequence, app.audit_head.as_str());
        let found = (
            i64::try_from(v.records_checked).unwrap_or(i64::MAX),
            v.head_hash.as_str(),
        );
        if v.first_bad_sequence.is_none() && stored_head != found {
            // The trail stops short of the head recorded on the application: its last
            // records were removed (or the head was tampered with).
            v.first_bad_sequence = Some(found.0.saturating_add(1));
        }
        if let Some(bad) = v.first_bad_sequence {
            tracing::error!(application = %app.id, sequence = bad, "audit chain broken");
        }
        Ok(pb::VerifyAuditTrailResponse {
            intact: v.first_bad_sequence.is_none(),
            records_checked: v.records_checked,
            first_bad_sequence: v
                .first_bad_sequence
                .map_or(0, |s| u64::try_from(s).unwrap_or(0)),
            head_hash: v.head_hash,
        })
    }

    /// DeliverEvent: ranking's outcomes move applications on; duplicates are ignored.
    pub async fn deliver_event(
        &self,
        caller: &Caller,
        req: pb::DeliverEventRequest,
    ) -> Result<pb::DeliverEventResponse, ReviewError> {
        scope::may_deliver_events(caller)?;
        let event = req
            .event
            .ok_or_else(|| ReviewError::invalid("event", "缺少事件"))?;
        let id = uuid::Uuid::parse_str(&event.event_id)
            .map_err(|_| ReviewError::invalid("event.event_id", "事件编号无效"))?;
        let txn = self.db.begin().await?;
        if !jifen_kit::outbox::receive_once(&txn, id).await? {
            txn.rollback().await?;
            return Ok(pb::DeliverEventResponse { duplicate: true });
        }
        if let Some(common::event::Payload::ApplicationOutcomeDecided(o)) = &event.payload {
            let app = repo::application(&txn, &event.tenant, &o.application_id).await;
            if let Ok(app) = app {
                let from = from_i32(app.status);
                let to = match (
                    o.is_final,
                    common::ListOutcome::try_from(o.outcome).unwrap_or_default(),
                ) {
                    (true, common::ListOutcome::Admitted) => Status::Admitted,
                    (true, _) => Status::NotAdmitted,
                    (false, _) if from == Status::Confirmed => Status::Ranked,
                    (false, _) => Status::Publicised,
                };
                if state_machine::check(from, to).is_ok() {
                    let actor = Actor::new(caller, Role::System);
                    apply_move(&txn, Move {
                        app: &app, expected: app.version, to, actor: &actor, action: "ranking_outcome",
                        reason: String::new(),
                        details: json!({"run_id": o.run_id, "list_id": o.list_id, "rank": o.rank, "outcome": o.outcome}),
                        due_at: None, applicant_due_date: String::new(),
                        changes: application::ActiveModel {
                            outcome: Set(o.outcome),
                            allocated_school: Set(o.allocated_school.clone()),
                            ..Default::default()
                        },
                    })
                    .await?;
                } else {
                    tracing::info!(application = %app.id, from = ?from, to = ?to, "ranking outcome ignored in this status");
                }
            }
        }
        txn.commit().await?;
        self.committed();
        Ok(pb::DeliverEventResponse { duplicate: false })
    }
}
