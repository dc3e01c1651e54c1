//! Public attachments of notices: uploaded by admins, downloaded by anyone without a token.

use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::tenant_key;
use jifen_proto::materials::v1 as pb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ColumnTrait, EntityTrait, QueryFilter};

use crate::convert;
use crate::domain::declaration;
use crate::error::MaterialsError;
use crate::objects::content_disposition;
use crate::service::Materials;
use crate::store::{attachment, status};

fn require_admin(caller: &Caller) -> Result<Role, MaterialsError> {
    [Role::DistrictAdmin, Role::CityAdmin]
        .into_iter()
        .find(|r| caller.has(*r))
        .ok_or(MaterialsError::PermissionDenied)
}

impl Materials {
    async fn attachment_in_tenant(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<attachment::Model, MaterialsError> {
        attachment::Entity::find_by_id(id.to_owned())
            .filter(attachment::Column::Tenant.eq(tenant))
            .one(&self.db)
            .await?
            .ok_or(MaterialsError::NotFound("附件"))
    }

    /// CreateAttachmentUpload.
    pub(crate) async fn create_attachment_upload(
        &self,
        caller: &Caller,
        req: pb::CreateAttachmentUploadRequest,
    ) -> Result<pb::CreateUploadResponse, MaterialsError> {
        let role = require_admin(caller)?;
        let (policy, _) = self.policy(&caller.tenant).await?;
        let declared = declaration::declaration(
            &req.file_name,
            &req.content_type,
            req.size_bytes,
            &req.sha256,
            &policy,
        )?;
        let id = uuid::Uuid::now_v7().to_string();
        let key = tenant_key(&caller.tenant, &format!("attachments/{id}"));
        let upload = self
            .objects
            .presign_put(
                &key,
                &declared.content_type,
                declared.size_bytes,
                &declared.sha256,
                policy.upload_url_ttl_seconds,
            )
            .await?;
        let row = attachment::ActiveModel {
            id: Set(id),
            tenant: Set(caller.tenant.clone()),
            file_name: Set(declared.file_name),
            content_type: Set(declared.content_type),
            size_bytes: Set(i64::try_from(declared.size_bytes).unwrap_or(i64::MAX)),
            sha256: Set(declared.sha256),
            status: Set(status::PENDING.to_owned()),
            object_key: Set(key),
            uploaded_by: Set(caller.subject.clone()),
            uploaded_by_role: Set(role.as_str().to_owned()),
            created_at: Set(self.now()),
            confirmed_at: Set(None),
        }
        .insert(&self.db)
        .await?;
        Ok(pb::CreateUploadResponse {
            material: Some(convert::attachment_as_material(&row)),
            upload: Some(upload),
            duplicate_of: String::new(),
        })
    }

    /// ConfirmAttachmentUpload.
    pub(crate) async fn confirm_attachment_upload(
        &self,
        caller: &Caller,
        req: pb::ConfirmAttachmentUploadRequest,
    ) -> Result<pb::Attachment, MaterialsError> {
        require_admin(caller)?;
        let a = self
            .attachment_in_tenant(&caller.tenant, &req.attachment_id)
            .await?;
        if a.uploaded_by != caller.subject {
            return Err(MaterialsError::PermissionDenied);
        }
        match a.status.as_str() {
            status::AVAILABLE => return Ok(convert::attachment(&a)),
            status::PENDING => {}
            _ => return Err(MaterialsError::NotFound("附件")),
        }
        let (policy, _) = self.policy(&a.tenant).await?;
        let size = u64::try_from(a.size_bytes).unwrap_or_default();
        let verdict = self
            .inspect(&a.object_key, size, &a.content_type, &a.sha256, &policy)
            .await?;
        let mut update: attachment::ActiveModel = a.clone().into();
        match verdict {
            Ok(()) => {
                update.status = Set(status::AVAILABLE.to_owned());
                update.confirmed_at = Set(Some(self.now()));
                Ok(convert::attachment(&update.update(&self.db).await?))
            }
            Err((code, message)) => {
                self.objects.delete(&a.object_key).await?;
                update.status = Set(status::REJECTED.to_owned());
                update.update(&self.db).await?;
                Err(MaterialsError::Rejected { code, message })
            }
        }
    }

    /// GetPublicAttachmentUrl (no token needed).
    pub(crate) async fn get_public_attachment_url(
        &self,
        req: pb::GetPublicAttachmentUrlRequest,
    ) -> Result<pb::GetDownloadUrlResponse, MaterialsError> {
        let a = self
            .attachment_in_tenant(&req.tenant, &req.attachment_id)
            .await?;
        if a.status != status::AVAILABLE {
            return Err(MaterialsError::NotFound("附件"));
        }
        let (policy, _) = self.policy(&a.tenant).await?;
        let download = self
            .objects
            .presign_get(
                &a.object_key,
                &a.content_type,
                content_disposition(false, &a.file_name),
                policy.download_url_ttl_seconds,
            )
            .await?;
        Ok(pb::GetDownloadUrlResponse {
            download: Some(download),
        })
    }

    /// DeleteAttachment.
    pub(crate) async fn delete_attachment(
        &self,
        caller: &Caller,
        req: pb::DeleteAttachmentRequest,
    ) -> Result<(), MaterialsError> {
        require_admin(caller)?;
        let a = self
            .attachment_in_tenant(&caller.tenant, &req.attachment_id)
            .await?;
        if matches!(a.status.as_str(), status::DELETED | status::PURGED) {
            return Ok(());
        }
        self.objects.delete(&a.object_key).await?;
        let mut update: attachment::ActiveModel = a.into();
        update.status = Set(status::DELETED.to_owned());
        update.update(&self.db).await?;
        Ok(())
    }
}
