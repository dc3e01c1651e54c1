//! Department verification: each department sees and completes only its own tasks; the last
//! completed task moves the application on to the city's 终审.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1::ApplicationStatus as Status;
use jifen_proto::review::v1 as pb;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait,
};
use serde_json::{Value, json};

use super::{Move, Review, apply_move, next_token, page};
use crate::convert::{Actor, claims_of, task_to_proto};
use crate::domain::claims::ClaimState;
use crate::domain::scope;
use crate::domain::state_machine::from_i32;
use crate::error::ReviewError;
use crate::store::entities::{application, task};
use crate::store::repo;

impl Review {
    async fn number_of(&self, tenant: &str, application_id: &str) -> Result<String, ReviewError> {
        Ok(repo::application(&self.db, tenant, application_id)
            .await?
            .number)
    }

    /// ListVerificationTasks.
    pub async fn list_verification_tasks(
        &self,
        caller: &Caller,
        req: pb::ListVerificationTasksRequest,
    ) -> Result<pb::ListVerificationTasksResponse, ReviewError> {
        let department = scope::task_department(caller, &req.department_code)?;
        let now = Utc::now();
        let status = match pb::TaskStatus::try_from(req.status).unwrap_or_default() {
            pb::TaskStatus::Done => "done",
            pb::TaskStatus::Cancelled => "cancelled",
            _ => "open",
        };
        let mut q = task::Entity::find()
            .filter(task::Column::Tenant.eq(caller.tenant.clone()))
            .filter(task::Column::Status.eq(status));
        if let Some(d) = department {
            q = q.filter(task::Column::Department.eq(d));
        }
        if !req.cycle_id.is_empty() {
            q = q.filter(task::Column::CycleId.eq(req.cycle_id.clone()));
        }
        if !req.application_id.is_empty() {
            q = q.filter(task::Column::ApplicationId.eq(req.application_id.clone()));
        }
        if req.claimed_by_me {
            q = q.filter(task::Column::ClaimedBySubject.eq(caller.subject.clone()));
        }
        if req.unclaimed_only {
            q = q.filter(task::Column::ClaimedBySubject.is_null());
        }
        let total_count = q.clone().count(&self.db).await?;
        let overdue_count = q
            .clone()
            .filter(task::Column::DueAt.lt(now))
            .count(&self.db)
            .await?;
        if req.overdue_only {
            q = q.filter(task::Column::DueAt.lt(now));
        }
        q = match pb::QueueSort::try_from(req.sort).unwrap_or_default() {
            pb::QueueSort::SubmittedAsc => q.order_by_asc(task::Column::CreatedAt),
            pb::QueueSort::UpdatedDesc => q.order_by_desc(task::Column::Version),
            _ => q.order_by_asc(task::Column::DueAt),
        };
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let rows = q
            .order_by_asc(task::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        let ids: Vec<String> = rows.iter().map(|t| t.application_id.clone()).collect();
        let numbers = application::Entity::find()
            .filter(application::Column::Tenant.eq(caller.tenant.clone()))
            .filter(application::Column::Id.is_in(ids))
            .all(&self.db)
            .await?;
        let number = |id: &str| {
            numbers
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.number.clone())
                .unwrap_or_default()
        };
        Ok(pb::ListVerificationTasksResponse {
            next_page_token: next_token(offset, limit, rows.len()),
            tasks: rows
                .iter()
                .map(|t| task_to_proto(t, &number(&t.application_id), now))
                .collect(),
            total_count,
            overdue_count,
        })
    }

    /// GetVerificationTask.
    pub async fn get_verification_task(
        &self,
        caller: &Caller,
        req: pb::GetVerificationTaskRequest,
    ) -> Result<pb::VerificationTask, ReviewError> {
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        scope::may_verify(caller, &t.department, true)?;
        Ok(task_to_proto(
            &t,
            &self.number_of(&t.tenant, &t.application_id).await?,
            Utc::now(),
        ))
    }

    /// ClaimVerificationTask.
    pub async fn claim_verification_task(
        &self,
        caller: &Caller,
        req: pb::ClaimVerificationTaskRequest,
    ) -> Result<pb::VerificationTask, ReviewError> {
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        let role = scope::may_verify(caller, &t.department, false)?;
        if t.status != "open" {
            return Err(ReviewError::Precondition("该核查任务已结束".into()));
        }
        match &t.claimed_by_subject {
            Some(s) if s == &caller.subject => {}
            Some(_) => return Err(ReviewError::AlreadyClaimed),
            None => {
                let done = task::Entity::update_many()
                    .set(task::ActiveModel {
                        claimed_by: Set(Some(Actor::new(caller, role).to_json())),
                        claimed_by_subject: Set(Some(caller.subject.clone())),
                        claimed_at: Set(Some(Utc::now())),
                        version: Set(t.version + 1),
                        ..Default::default()
                    })
                    .filter(task::Column::Id.eq(t.id.clone()))
                    .filter(task::Column::Tenant.eq(t.tenant.clone()))
                    .filter(task::Column::Version.eq(t.version))
                    .filter(task::Column::ClaimedBySubject.is_null())
                    .exec(&self.db)
                    .await?;
                if done.rows_affected != 1 {
                    return Err(ReviewError::AlreadyClaimed);
                }
            }
        }
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        Ok(task_to_proto(
            &t,
            &self.number_of(&t.tenant, &t.application_id).await?,
            Utc::now(),
        ))
    }

    /// ReleaseVerificationTask.
    pub async fn release_verification_task(
        &self,
        caller: &Caller,
        req: pb::ReleaseVerificationTaskRequest,
    ) -> Result<pb::VerificationTask, ReviewError> {
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        let admin = caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin);
        if !admin {
            scope::may_verify(caller, &t.department, false)?;
            if t.claimed_by_subject.as_deref() != Some(caller.subject.as_str()) {
                return Err(ReviewError::Precondition("您没有认领该核查任务".into()));
            }
        }
        task::Entity::update_many()
            .set(task::ActiveModel {
                claimed_by: Set(None),
                claimed_by_subject: Set(None),
                claimed_at: Set(None),
                version: Set(t.version + 1),
                ..Default::default()
            })
            .filter(task::Column::Id.eq(t.id.clone()))
            .filter(task::Column::Tenant.eq(t.tenant.clone()))
            .filter(task::Column::Version.eq(t.version))
            .exec(&self.db)
            .await?;
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        Ok(task_to_proto(
            &t,
            &self.number_of(&t.tenant, &t.application_id).await?,
            Utc::now(),
        ))
    }

    /// CompleteVerification.
    pub async fn complete_verification(
        &self,
        caller: &Caller,
        req: pb::CompleteVerificationRequest,
    ) -> Result<pb::VerificationTask, ReviewError> {
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        let role = scope::may_verify(caller, &t.department, false)?;
        if t.status != "open" {
            return Err(ReviewError::Precondition("该核查任务已结束".into()));
        }
        if t.version != req.expected_version {
            return Err(ReviewError::StaleVersion);
        }
        if let Some(other) = &t.claimed_by_subject
            && other != &caller.subject
        {
            return Err(ReviewError::AlreadyClaimed);
        }
        let verified: Value = serde_json::from_str(&req.verified_value_json)
            .map_err(|_| ReviewError::invalid("verified_value_json", "核查值不是合法的 JSON"))?;
        let claimed: Value = serde_json::from_str(&t.claimed_value).unwrap_or(Value::Null);
        if !same_kind(&claimed, &verified) {
            return Err(ReviewError::invalid(
                "verified_value_json",
                format!("{} 的核查值类型应与申报值一致", t.fact_key),
            ));
        }
        let actor = Actor::new(caller, role);
        let now = Utc::now();
        let txn = self.db.begin().await?;
        let done = task::Entity::update_many()
            .set(task::ActiveModel {
                status: Set("done".to_owned()),
                verified_value: Set(Some(verified.to_string())),
                evidence_checked: Set(req.evidence_checked),
                note: Set(req.note_zh.clone()),
                verified_by: Set(Some(actor.to_json())),
                verified_at: Set(Some(now)),
                version: Set(t.version + 1),
                ..Default::default()
            })
            .filter(task::Column::Id.eq(t.id.clone()))
            .filter(task::Column::Tenant.eq(t.tenant.clone()))
            .filter(task::Column::Version.eq(req.expected_version))
            .filter(task::Column::Status.eq("open"))
            .exec(&txn)
            .await?;
        if done.rows_affected != 1 {
            return Err(ReviewError::StaleVersion);
        }
        // Holding the application row serialises parallel verifiers of one application.
        let app = repo::lock_application(&txn, &t.tenant, &t.application_id).await?;
        let status = from_i32(app.status);
        if status != Status::DepartmentVerification {
            return Err(ReviewError::Precondition("申请已不在部门核查环节".into()));
        }
        let mut claims = claims_of(&app);
        let person = u32::try_from(t.person_index).unwrap_or(0);
        for c in claims
            .iter_mut()
            .filter(|c| c.fact_key == t.fact_key && c.person_index == person)
        {
            c.state = ClaimState::Verified;
            c.verified = Some(verified.clone());
            c.note = req.note_zh.clone();
        }
        repo::update_application(
            &txn,
            &app.tenant,
            &app.id,
            app.version,
            application::ActiveModel {
                claims: Set(serde_json::to_value(&claims)
                    .map_err(|e| ReviewError::Internal(e.to_string()))?),
                ..Default::default()
            },
        )
        .await?;
        let app = repo::application(&txn, &t.tenant, &t.application_id).await?;
        // The row with its new audit head, for the move below.
        let app = super::audit(&txn, &app, &actor, "verify", status, status, &req.note_zh,
            &json!({"task_id": t.id, "fact_key": t.fact_key, "person_index": t.person_index, "claimed": claimed, "verified": verified, "evidence_checked": req.evidence_checked}),
            app.due_at).await?;
        let open = task::Entity::find()
            .filter(task::Column::Tenant.eq(t.tenant.clone()))
            .filter(task::Column::ApplicationId.eq(t.application_id.clone()))
            .filter(task::Column::Status.eq("open"))
            .count(&txn)
            .await?;
        if open == 0 {
            let due = self.sla_due(&txn, &app.tenant, Status::CityReview).await?;
            apply_move(
                &txn,
                Move {
                    app: &app,
                    expected: app.version,
                    to: Status::CityReview,
                    actor: &actor,
                    action: "verification_complete",
                    reason: String::new(),
                    details: json!({}),
                    due_at: due,
                    applicant_due_date: String::new(),
                    changes: Default::default(),
                },
            )
            .await?;
        }
        txn.commit().await?;
        self.committed();
        let t = repo::task(&self.db, &caller.tenant, &req.task_id).await?;
        Ok(task_to_proto(&t, &app.number, Utc::now()))
    }
}

/// Returns whether a verified value has the claimed value's JSON type (numbers with numbers …).
fn same_kind(claimed: &Value, verified: &Value) -> bool {
    matches!(
        (claimed, verified),
        (Value::Number(_), Value::Number(_))
            | (Value::String(_), Value::String(_))
            | (Value::Bool(_), Value::Bool(_))
            | (Value::Null, _)
    )
}
