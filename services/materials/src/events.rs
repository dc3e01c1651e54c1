//! DeliverEvent: review's `ApplicationStatusChanged` tells materials an application's applicant
//! and status, which start the retention clocks of rejected and withdrawn applications.

use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1::{ApplicationStatus, ApplicationStatusChanged, event::Payload};
use jifen_proto::materials::v1 as pb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, TransactionTrait};

use crate::convert;
use crate::error::MaterialsError;
use crate::service::Materials;
use crate::store::application;

/// Returns whether a status is final (the application is decided).
pub(crate) fn is_final(status: i32) -> bool {
    matches!(
        ApplicationStatus::try_from(status),
        Ok(ApplicationStatus::Admitted
            | ApplicationStatus::NotAdmitted
            | ApplicationStatus::Rejected
            | ApplicationStatus::Withdrawn)
    )
}

impl Materials {
    /// DeliverEvent (ROLE_SYSTEM only).
    pub(crate) async fn deliver_event(
        &self,
        caller: &Caller,
        req: pb::DeliverEventRequest,
    ) -> Result<pb::DeliverEventResponse, MaterialsError> {
        if !caller.has(Role::System) {
            return Err(MaterialsError::PermissionDenied);
        }
        let event = req
            .event
            .ok_or_else(|| MaterialsError::invalid("event", "required", "缺少事件（event）"))?;
        let id = uuid::Uuid::parse_str(&event.event_id).map_err(|_| {
            MaterialsError::invalid(
                "event.event_id",
                "bad_format",
                "事件编号（event_id）格式不正确",
            )
        })?;
        let tenant = if event.tenant.is_empty() {
            caller.tenant.clone()
        } else {
            event.tenant.clone()
        };
        let occurred_at = event
            .occurred_at
            .as_ref()
            .and_then(convert::instant)
            .unwrap_or_else(|| self.now());
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        if !jifen_kit::outbox::receive_once(&txn, id).await? {
            txn.commit().await?;
            return Ok(pb::DeliverEventResponse { duplicate: true });
        }
        if let Some(Payload::ApplicationStatusChanged(change)) = event.payload {
            self.apply_status_change(&txn, &tenant, &change, event.aggregate_version, occurred_at)
                .await?;
        } else {
            tracing::debug!(topic = %event.topic, "event ignored by materials");
        }
        txn.commit().await?;
        Ok(pb::DeliverEventResponse { duplicate: false })
    }

    async fn apply_status_change(
        &self,
        txn: &sea_orm::DatabaseTransaction,
        tenant: &str,
        change: &ApplicationStatusChanged,
        version: i64,
        occurred_at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), MaterialsError> {
        let decided_at = is_final(change.to_status).then_some(occurred_at);
        let owner =
            (!change.applicant_subject.is_empty()).then(|| change.applicant_subject.clone());
        match self
            .application(txn, tenant, &change.application_id)
            .await?
        {
            Some(row) if row.aggregate_version >= version && row.aggregate_version > 0 => {
                tracing::debug!(application = %change.application_id, "stale status event ignored");
            }
            Some(row) => {
                let mut update: application::ActiveModel = row.clone().into();
                update.status = Set(change.to_status);
                update.decided_at = Set(decided_at);
                update.aggregate_version = Set(version);
                update.updated_at = Set(self.now());
                if owner.is_some() {
                    update.owner_subject = Set(owner);
                }
                update.update(txn).await?;
            }
            None => {
                application::ActiveModel {
                    tenant: Set(tenant.to_owned()),
                    application_id: Set(change.application_id.clone()),
                    owner_subject: Set(owner),
                    status: Set(change.to_status),
                    decided_at: Set(decided_at),
                    aggregate_version: Set(version),
                    updated_at: Set(self.now()),
                }
                .insert(txn)
                .await?;
            }
        }
        Ok(())
    }
}
