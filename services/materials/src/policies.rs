//! Get/UpdateUploadPolicy.

use jifen_kit::auth::{Caller, Role};
use jifen_proto::materials::v1 as pb;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, TransactionTrait};

use crate::domain::policy::Policy;
use crate::error::MaterialsError;
use crate::service::Materials;
use crate::store::upload_policy;

fn to_proto(policy: &Policy, version: i64) -> pb::UploadPolicy {
    pb::UploadPolicy {
        allowed_content_types: policy.allowed_content_types.clone(),
        max_file_bytes: policy.max_file_bytes,
        max_application_bytes: policy.max_application_bytes,
        max_files_per_application: policy.max_files_per_application,
        upload_url_ttl_seconds: policy.upload_url_ttl_seconds,
        download_url_ttl_seconds: policy.download_url_ttl_seconds,
        retention_days_after_objection_window: policy.retention_days_after_objection_window,
        orphan_after_hours: policy.orphan_after_hours,
        version,
        objection_window_days: policy.objection_window_days,
    }
}

/// Returns the policy a proto message asks for; zero fields keep the default.
fn from_proto(p: pb::UploadPolicy) -> Policy {
    let d = Policy::default();
    let or = |v: u32, default: u32| if v == 0 { default } else { v };
    Policy {
        allowed_content_types: if p.allowed_content_types.is_empty() {
            d.allowed_content_types
        } else {
            p.allowed_content_types
        },
        max_file_bytes: if p.max_file_bytes == 0 {
            d.max_file_bytes
        } else {
            p.max_file_bytes
        },
        max_application_bytes: if p.max_application_bytes == 0 {
            d.max_application_bytes
        } else {
            p.max_application_bytes
        },
        max_files_per_application: or(p.max_files_per_application, d.max_files_per_application),
        upload_url_ttl_seconds: or(p.upload_url_ttl_seconds, d.upload_url_ttl_seconds),
        download_url_ttl_seconds: or(p.download_url_ttl_seconds, d.download_url_ttl_seconds),
        // Zero is meaningful for both retention periods (purge right after the window).
        objection_window_days: p.objection_window_days,
        retention_days_after_objection_window: p.retention_days_after_objection_window,
        orphan_after_hours: or(p.orphan_after_hours, d.orphan_after_hours),
    }
}

/// Returns the tenant a city-level call addresses.
fn addressed<'a>(caller: &'a Caller, target_tenant: &'a str) -> Result<&'a str, MaterialsError> {
    if target_tenant.is_empty() || target_tenant == caller.tenant {
        Ok(&caller.tenant)
    } else if caller.has(Role::CityAdmin) || caller.has(Role::System) {
        Ok(target_tenant)
    } else {
        Err(MaterialsError::PermissionDenied)
    }
}

impl Materials {
    /// GetUploadPolicy.
    pub(crate) async fn get_upload_policy(
        &self,
        caller: &Caller,
        req: pb::GetUploadPolicyRequest,
    ) -> Result<pb::UploadPolicy, MaterialsError> {
        let tenant = addressed(caller, &req.target_tenant)?;
        let (policy, version) = self.policy(tenant).await?;
        Ok(to_proto(&policy, version))
    }

    /// UpdateUploadPolicy.
    pub(crate) async fn update_upload_policy(
        &self,
        caller: &Caller,
        req: pb::UpdateUploadPolicyRequest,
    ) -> Result<pb::UploadPolicy, MaterialsError> {
        if !(caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin)) {
            return Err(MaterialsError::PermissionDenied);
        }
        let tenant = addressed(caller, &req.target_tenant)?.to_owned();
        let policy = from_proto(req.policy.ok_or_else(|| {
            MaterialsError::invalid("policy", "required", "请提供上传策略（policy）")
        })?)
        .validated()?;
        let json = serde_json::to_value(&policy).map_err(MaterialsError::storage)?;
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let current = upload_policy::Entity::find_by_id(tenant.clone())
            .one(&txn)
            .await?;
        let version = current.as_ref().map_or(0, |r| r.version);
        if version != req.expected_version {
            return Err(MaterialsError::StaleVersion);
        }
        let row = upload_policy::ActiveModel {
            tenant: Set(tenant.clone()),
            policy: Set(json),
            version: Set(version + 1),
            updated_by: Set(caller.subject.clone()),
            updated_at: Set(self.now()),
        };
        if current.is_some() {
            row.update(&txn).await?;
        } else {
            row.insert(&txn).await?;
        }
        txn.commit().await?;
        self.remember_policy(&tenant, &policy, version + 1);
        Ok(to_proto(&policy, version + 1))
    }
}
