//! The retention purge: RunPurge and the periodic task.

use std::collections::HashMap;
use std::time::Duration;

use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1::ApplicationStatus;
use jifen_proto::materials::v1 as pb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};
use tokio_util::sync::CancellationToken;

use crate::convert::action;
use crate::domain::policy::Policy;
use crate::domain::retention::{self, ApplicationOutcome, PurgeReason, StoredState};
use crate::error::MaterialsError;
use crate::service::{LogEntry, Materials};
use crate::store::{application, attachment, material, status};

/// Most material ids a purge answer lists.
const MAX_LISTED: usize = 1000;

fn outcome(app: Option<&application::Model>) -> ApplicationOutcome {
    let Some(app) = app else {
        return ApplicationOutcome::Open;
    };
    match ApplicationStatus::try_from(app.status) {
        Ok(ApplicationStatus::Rejected | ApplicationStatus::Withdrawn) => app
            .decided_at
            .map_or(ApplicationOutcome::Open, ApplicationOutcome::Refused),
        Ok(ApplicationStatus::Admitted | ApplicationStatus::NotAdmitted) => {
            ApplicationOutcome::Final
        }
        _ => ApplicationOutcome::Open,
    }
}

fn stored_state(stored: &str) -> StoredState {
    match stored {
        status::PENDING => StoredState::Pending,
        status::AVAILABLE => StoredState::Available,
        status::REPLACED => StoredState::Replaced,
        _ => StoredState::Gone,
    }
}

/// The caller the periodic purge acts as in the access log.
fn system_caller() -> Caller {
    Caller {
        tenant: String::new(),
        subject: "system:materials-purge".to_owned(),
        roles: vec![Role::System],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

impl Materials {
    /// RunPurge: district_admin (own tenant), city_admin or ROLE_SYSTEM (every tenant with
    /// `all_tenants`).
    pub(crate) async fn run_purge(
        &self,
        caller: &Caller,
        req: pb::RunPurgeRequest,
    ) -> Result<pb::RunPurgeResponse, MaterialsError> {
        let city = caller.has(Role::CityAdmin) || caller.has(Role::System);
        if !city && !caller.has(Role::DistrictAdmin) {
            return Err(MaterialsError::PermissionDenied);
        }
        let tenant = if req.all_tenants && city {
            None
        } else {
            Some(caller.tenant.as_str())
        };
        self.purge(caller, tenant, req.dry_run).await
    }

    /// Purges what the retention rules say is due at the clock's now, in one tenant or all.
    pub async fn purge(
        &self,
        caller: &Caller,
        tenant: Option<&str>,
        dry_run: bool,
    ) -> Result<pb::RunPurgeResponse, MaterialsError> {
        let now = self.now();
        let mut query = material::Entity::find().filter(material::Column::Status.is_in([
            status::PENDING,
            status::AVAILABLE,
            status::REPLACED,
        ]));
        if let Some(t) = tenant {
            query = query.filter(material::Column::Tenant.eq(t));
        }
        let candidates = query.all(&self.db).await?;
        let mut policies: HashMap<String, Policy> = HashMap::new();
        let mut apps: HashMap<(String, String), Option<application::Model>> = HashMap::new();
        let mut answer = pb::RunPurgeResponse::default();
        for m in candidates {
            if !policies.contains_key(&m.tenant) {
                let (p, _) = self.policy(&m.tenant).await?;
                policies.insert(m.tenant.clone(), p);
            }
            let app_key = (m.tenant.clone(), m.application_id.clone());
            if !apps.contains_key(&app_key) {
                let app = self
                    .application(&self.db, &m.tenant, &m.application_id)
                    .await?;
                apps.insert(app_key.clone(), app);
            }
            let (Some(policy), Some(app)) = (policies.get(&m.tenant), apps.get(&app_key)) else {
                continue;
            };
            let Some(reason) = retention::purge_reason(
                stored_state(&m.status),
                m.created_at,
                outcome(app.as_ref()),
                policy,
                now,
            ) else {
                continue;
            };
            match reason {
                PurgeReason::Decided => answer.purged_decided += 1,
                PurgeReason::Replaced => answer.purged_replaced += 1,
                PurgeReason::Orphan => answer.purged_orphans += 1,
            }
            if m.status != status::PENDING {
                answer.bytes_freed += u64::try_from(m.size_bytes).unwrap_or_default();
            }
            if answer.material_ids.len() < MAX_LISTED {
                answer.material_ids.push(m.id.clone());
            }
            if dry_run {
                continue;
            }
            self.objects.delete(&m.object_key).await?;
            let mut update: material::ActiveModel = m.clone().into();
            update.status = Set(status::PURGED.to_owned());
            update.removed_at = Set(Some(now));
            update.update(&self.db).await?;
            self.log(
                &self.db,
                caller,
                LogEntry::on(
                    &m,
                    action::PURGED,
                    Role::System,
                    format!("{reason:?}").to_lowercase(),
                ),
            )
            .await?;
        }
        answer.purged_orphans += self.purge_orphan_attachments(tenant, dry_run, now).await?;
        Ok(answer)
    }

    async fn purge_orphan_attachments(
        &self,
        tenant: Option<&str>,
        dry_run: bool,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, MaterialsError> {
        let mut query =
            attachment::Entity::find().filter(attachment::Column::Status.eq(status::PENDING));
        if let Some(t) = tenant {
            query = query.filter(attachment::Column::Tenant.eq(t));
        }
        let mut purged = 0;
        for a in query.all(&self.db).await? {
            let (policy, _) = self.policy(&a.tenant).await?;
            let due = a.created_at + chrono::Duration::hours(i64::from(policy.orphan_after_hours));
            if now < due {
                continue;
            }
            purged += 1;
            if dry_run {
                continue;
            }
            self.objects.delete(&a.object_key).await?;
            let mut update: attachment::ActiveModel = a.into();
            update.status = Set(status::PURGED.to_owned());
            update.update(&self.db).await?;
        }
        Ok(purged)
    }

    /// Runs the purge over every tenant every `every` until `shutdown` (the scheduled job of a
    /// process hosting materials; a Kubernetes CronJob calling RunPurge is the alternative).
    pub fn spawn_periodic_purge(
        &self,
        every: Duration,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let service = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    _ = ticks.tick() => {}
                }
                match service.purge(&system_caller(), None, false).await {
                    Ok(done) => tracing::info!(
                        decided = done.purged_decided,
                        replaced = done.purged_replaced,
                        orphans = done.purged_orphans,
                        bytes = done.bytes_freed,
                        "materials purge finished"
                    ),
                    Err(err) => tracing::warn!(error = %err, "materials purge failed"),
                }
            }
        })
    }
}
