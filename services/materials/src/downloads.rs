//! Evidence downloads (presigned GET, every attempt logged) and the access log.

use jifen_kit::auth::{Caller, Role};
use jifen_proto::materials::v1 as pb;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::convert::{self, action};
use crate::domain::access;
use crate::error::MaterialsError;
use crate::objects::content_disposition;
use crate::service::{LogEntry, Materials};
use crate::store::{access_log, material, status};

impl Materials {
    /// GetDownloadUrl.
    pub(crate) async fn get_download_url(
        &self,
        caller: &Caller,
        req: pb::GetDownloadUrlRequest,
    ) -> Result<pb::GetDownloadUrlResponse, MaterialsError> {
        let m = self.material_in_tenant(caller, &req.material_id).await?;
        let app = self
            .application(&self.db, &m.tenant, &m.application_id)
            .await?;
        let grant = self.grant(caller, &m, app.as_ref(), &mut None).await?;
        let readable = matches!(m.status.as_str(), status::AVAILABLE | status::REPLACED);
        self.log(
            &self.db,
            caller,
            LogEntry {
                granted: grant.is_some() && readable,
                ..LogEntry::on(
                    &m,
                    action::DOWNLOAD_URL_ISSUED,
                    grant.map_or_else(|| access::logged_role(caller), access::Grant::role),
                    match (grant, readable) {
                        (None, _) => "无权查看".to_owned(),
                        (Some(_), false) => format!("材料状态为{}", m.status),
                        _ => String::new(),
                    },
                )
            },
        )
        .await?;
        if grant.is_none() {
            // An applicant who is not the owner learns nothing about the material.
            return Err(if caller.has(Role::Applicant) && caller.roles.len() == 1 {
                MaterialsError::NotFound("材料")
            } else {
                MaterialsError::PermissionDenied
            });
        }
        if !readable {
            return Err(MaterialsError::FailedPrecondition(
                "材料尚未确认或已被删除，不能下载".to_owned(),
            ));
        }
        let (policy, _) = self.policy(&m.tenant).await?;
        let attachment = req.disposition == pb::Disposition::Attachment as i32;
        let download = self
            .objects
            .presign_get(
                &m.object_key,
                &m.content_type,
                content_disposition(attachment, &m.file_name),
                policy.download_url_ttl_seconds,
            )
            .await?;
        Ok(pb::GetDownloadUrlResponse {
            download: Some(download),
        })
    }

    /// ListAccessLog: admins of the tenant see everything; the owner sees roles, not subjects.
    pub(crate) async fn list_access_log(
        &self,
        caller: &Caller,
        req: pb::ListAccessLogRequest,
    ) -> Result<pb::ListAccessLogResponse, MaterialsError> {
        let tenant = caller.tenant.as_str();
        let application_id = if !req.material_id.is_empty() {
            self.material_in_tenant(caller, &req.material_id)
                .await?
                .application_id
        } else if !req.application_id.is_empty() {
            req.application_id.clone()
        } else {
            return Err(MaterialsError::invalid(
                "application_id",
                "required",
                "请指定申请编号（application_id）或材料编号（material_id）",
            ));
        };
        let admin = caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin);
        let owner = !admin
            && caller.has(Role::Applicant)
            && self
                .application(&self.db, tenant, &application_id)
                .await?
                .and_then(|a| a.owner_subject)
                .is_some_and(|s| s == caller.subject);
        if !admin && !owner {
            return Err(if caller.has(Role::Applicant) {
                MaterialsError::NotFound("申请")
            } else {
                MaterialsError::PermissionDenied
            });
        }
        let mut logged = access_log::Entity::find()
            .filter(access_log::Column::Tenant.eq(tenant))
            .filter(access_log::Column::ApplicationId.eq(&application_id));
        let mut declared = material::Entity::find()
            .filter(material::Column::Tenant.eq(tenant))
            .filter(material::Column::ApplicationId.eq(&application_id));
        if !req.material_id.is_empty() {
            logged = logged.filter(access_log::Column::MaterialId.eq(&req.material_id));
            declared = declared.filter(material::Column::Id.eq(&req.material_id));
        }
        let (logged, declared) = tokio::try_join!(logged.all(&self.db), declared.all(&self.db))?;
        // One application's log: merged and paged here (an application has tens of files).
        let mut rows: Vec<access_log::Model> = declared
            .iter()
            .flat_map(recorded_entries)
            .chain(logged)
            .collect();
        rows.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        let (entries, next_page_token) = convert::page_of(
            rows.iter()
                .map(|e| convert::access_entry(e, owner && e.actor_subject != caller.subject)),
            req.page_size,
            &req.page_token,
        );
        Ok(pb::ListAccessLogResponse {
            next_page_token,
            entries,
        })
    }
}

/// Returns the access-log entries a material row records itself: its declaration (the upload URL
/// issued) and, once made usable, its confirmation. Rows declared before their uploader's tenant
/// was kept record nothing (see `m20261201_000005_add_uploader_to_materials`).
fn recorded_entries(m: &material::Model) -> Vec<access_log::Model> {
    let Some(actor_tenant) = &m.uploaded_by_tenant else {
        return Vec::new();
    };
    let entry = |id: String, action: &str, at| access_log::Model {
        id,
        tenant: m.tenant.clone(),
        material_id: m.id.clone(),
        application_id: m.application_id.clone(),
        action: action.to_owned(),
        actor_subject: m.uploaded_by.clone(),
        actor_role: m.uploaded_by_role.clone(),
        actor_tenant: actor_tenant.clone(),
        actor_scope: m.uploaded_by_scope.clone(),
        granted: true,
        detail: String::new(),
        at,
    };
    let mut entries = vec![entry(m.id.clone(), action::UPLOAD_URL_ISSUED, m.created_at)];
    if let Some(at) = m.confirmed_at {
        entries.push(entry(format!("{}.confirmed", m.id), action::CONFIRMED, at));
    }
    entries
}
