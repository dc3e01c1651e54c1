//! Evidence downloads (presigned GET, every attempt logged) and the access log.

use jifen_kit::auth::{Caller, Role};
use jifen_proto::materials::v1 as pb;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use crate::convert::{self, action};
use crate::domain::access;
use crate::error::MaterialsError;
use crate::objects::content_disposition;
use crate::service::{LogEntry, Materials};
use crate::store::{access_log, status};

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
                tenant: &m.tenant,
                material_id: &m.id,
                application_id: &m.application_id,
                action: action::DOWNLOAD_URL_ISSUED,
                role: grant.map_or_else(|| access::logged_role(caller), access::Grant::role),
                granted: grant.is_some() && readable,
                detail: match (grant, readable) {
                    (None, _) => "无权查看".to_owned(),
                    (Some(_), false) => format!("材料状态为{}", m.status),
                    _ => String::new(),
                },
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
        let mut query = access_log::Entity::find()
            .filter(access_log::Column::Tenant.eq(tenant))
            .filter(access_log::Column::ApplicationId.eq(&application_id));
        if !req.material_id.is_empty() {
            query = query.filter(access_log::Column::MaterialId.eq(&req.material_id));
        }
        let (offset, limit) = convert::page(req.page_size, &req.page_token);
        let rows = query
            .order_by_asc(access_log::Column::Id)
            .offset(offset)
            .limit(limit)
            .all(&self.db)
            .await?;
        Ok(pb::ListAccessLogResponse {
            next_page_token: convert::next_token(offset, limit, rows.len()),
            entries: rows
                .iter()
                .map(|e| convert::access_entry(e, owner && e.actor_subject != caller.subject))
                .collect(),
        })
    }
}
