//! Evidence uploads: declare (CreateUpload / ReplaceMaterial), confirm, delete, read metadata.

use chrono::Utc;
use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::tenant_key;
use jifen_proto::common::v1::ApplicationStatus;
use jifen_proto::materials::v1 as pb;
use sea_orm::sea_query::{Alias, Condition, Expr, Func, OnConflict, Query};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, ExprTrait,
    FromQueryResult, IntoActiveModel, QueryFilter, QueryOrder, TransactionTrait,
};

use crate::convert::{self, action};
use crate::domain::declaration;
use crate::error::MaterialsError;
use crate::service::{
    LogEntry, Materials, Refusal, actor_scope, actor_tenant, by_key, uploader_role,
};
use crate::store::{application, material, status};

/// Indicator code of evidence attached to an objection (may be uploaded after submission).
pub const OBJECTION_INDICATOR: &str = "objection";

/// Returns whether materials of an application in `app_status` may change.
fn editable(app_status: i32, indicator: &str) -> bool {
    let s = ApplicationStatus::try_from(app_status).unwrap_or(ApplicationStatus::Unspecified);
    match s {
        ApplicationStatus::Unspecified | ApplicationStatus::Draft | ApplicationStatus::Returned => {
            true
        }
        ApplicationStatus::Withdrawn => false,
        _ => indicator == OBJECTION_INDICATOR,
    }
}

/// What a declaration checks of the application: whose it is and where it stands.
struct AppFacts {
    owner_subject: Option<String>,
    status: i32,
}

/// What a declaration checks of a pending or usable material of the same application.
struct Live {
    id: String,
    status: String,
    sha256: String,
    size_bytes: i64,
    upload_expires_at: chrono::DateTime<Utc>,
}

/// A row of the declaration's one query: the application, and one of its live materials or
/// none (a left join).
#[derive(Debug, FromQueryResult)]
struct AppAndLive {
    owner_subject: Option<String>,
    app_status: i32,
    id: Option<String>,
    status: Option<String>,
    sha256: Option<String>,
    size_bytes: Option<i64>,
    upload_expires_at: Option<chrono::DateTime<Utc>>,
}

/// The answer to a confirmation of a row that is no longer pending.
fn settled(m: &material::Model) -> Result<pb::Material, MaterialsError> {
    match m.status.as_str() {
        status::AVAILABLE | status::REPLACED => Ok(convert::material(m)),
        status::REJECTED => Err(MaterialsError::FailedPrecondition(format!(
            "该材料已被拒绝：{}",
            m.rejection_reason.clone().unwrap_or_default()
        ))),
        _ => Err(MaterialsError::NotFound("材料")),
    }
}

/// A new upload about to be declared.
struct NewUpload<'a> {
    application_id: String,
    indicator: String,
    verifier_department: Option<String>,
    file_name: &'a str,
    content_type: &'a str,
    size_bytes: u64,
    sha256: &'a str,
    replaces: Option<material::Model>,
}

impl Materials {
    /// CreateUpload.
    pub(crate) async fn create_upload(
        &self,
        caller: &Caller,
        req: pb::CreateUploadRequest,
    ) -> Result<pb::CreateUploadResponse, MaterialsError> {
        let department = req.verifier_department.trim();
        if department.len() > 64 {
            return Err(MaterialsError::invalid(
                "verifier_department",
                "too_long",
                "核查部门代码（verifier_department）过长",
            ));
        }
        self.declare(
            caller,
            NewUpload {
                application_id: declaration::application_id(&req.application_id)?,
                indicator: declaration::indicator(&req.indicator)?,
                verifier_department: (!department.is_empty()).then(|| department.to_owned()),
                file_name: &req.file_name,
                content_type: &req.content_type,
                size_bytes: req.size_bytes,
                sha256: &req.sha256,
                replaces: None,
            },
        )
        .await
    }

    /// ReplaceMaterial.
    pub(crate) async fn replace_material(
        &self,
        caller: &Caller,
        req: pb::ReplaceMaterialRequest,
    ) -> Result<pb::CreateUploadResponse, MaterialsError> {
        let old = self.material_in_tenant(caller, &req.material_id).await?;
        if old.status != status::AVAILABLE {
            return Err(MaterialsError::FailedPrecondition(
                "只能替换已确认可用的材料".to_owned(),
            ));
        }
        self.declare(
            caller,
            NewUpload {
                application_id: old.application_id.clone(),
                indicator: old.indicator.clone(),
                verifier_department: old.verifier_department.clone(),
                file_name: &req.file_name,
                content_type: &req.content_type,
                size_bytes: req.size_bytes,
                sha256: &req.sha256,
                replaces: Some(old),
            },
        )
        .await
    }

    async fn declare(
        &self,
        caller: &Caller,
        new: NewUpload<'_>,
    ) -> Result<pb::CreateUploadResponse, MaterialsError> {
        let role = uploader_role(caller).ok_or(MaterialsError::PermissionDenied)?;
        let tenant = caller.tenant.as_str();
        // Policy, application and its live materials in one round trip.
        let ((policy, _), (app, live)) = tokio::try_join!(
            self.upload_policy(tenant),
            self.application_and_live(tenant, &new.application_id)
        )?;
        let declared = declaration::declaration(
            new.file_name,
            new.content_type,
            new.size_bytes,
            new.sha256,
            &policy,
        )?;
        if let Some(app) = &app {
            if role == Role::Applicant
                && app
                    .owner_subject
                    .as_deref()
                    .is_some_and(|owner| owner != caller.subject)
            {
                return Err(MaterialsError::NotFound("申请"));
            }
            if !editable(app.status, &new.indicator) {
                return Err(MaterialsError::FailedPrecondition(
                    "申请已提交审核或已办结，当前不能修改材料".to_owned(),
                ));
            }
        }
        if let Some(old) = &new.replaces
            && role == Role::Applicant
            && old.uploaded_by != caller.subject
        {
            return Err(MaterialsError::PermissionDenied);
        }

        if let Some(dup) = live
            .iter()
            .find(|m| m.status == status::AVAILABLE && m.sha256 == declared.sha256)
        {
            let dup = self.material_in_tenant(caller, &dup.id).await?;
            return Ok(pb::CreateUploadResponse {
                material: Some(convert::material(&dup)),
                upload: None,
                duplicate_of: dup.id,
            });
        }
        let real_now = Utc::now();
        let counted: Vec<&Live> = live
            .iter()
            .filter(|m| m.status == status::AVAILABLE || m.upload_expires_at > real_now)
            .filter(|m| new.replaces.as_ref().is_none_or(|old| old.id != m.id))
            .collect();
        if counted.len() >= usize::try_from(policy.max_files_per_application).unwrap_or(usize::MAX)
        {
            return Err(MaterialsError::QuotaExceeded(format!(
                "每份申请最多上传{}个文件",
                policy.max_files_per_application
            )));
        }
        let used: u64 = counted
            .iter()
            .map(|m| u64::try_from(m.size_bytes).unwrap_or_default())
            .sum();
        if used.saturating_add(declared.size_bytes) > policy.max_application_bytes {
            return Err(MaterialsError::QuotaExceeded(format!(
                "超出每份申请的材料总量上限（{}），已用{}",
                declaration::human_bytes(policy.max_application_bytes),
                declaration::human_bytes(used)
            )));
        }

        let id = uuid::Uuid::now_v7().to_string();
        let key = tenant_key(tenant, &format!("applications/{}/{id}", new.application_id));
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
        let now = self.now();
        let row = material::Model {
            id: id.clone(),
            tenant: tenant.to_owned(),
            application_id: new.application_id.clone(),
            indicator: new.indicator.clone(),
            verifier_department: new.verifier_department.clone(),
            file_name: declared.file_name.clone(),
            content_type: declared.content_type.clone(),
            size_bytes: i64::try_from(declared.size_bytes).unwrap_or(i64::MAX),
            sha256: declared.sha256.clone(),
            status: status::PENDING.to_owned(),
            rejection_reason: None,
            replaces_material_id: new.replaces.as_ref().map(|m| m.id.clone()),
            replaced_by_material_id: None,
            uploaded_by: caller.subject.clone(),
            uploaded_by_role: role.as_str().to_owned(),
            uploaded_by_tenant: Some(actor_tenant(caller)),
            uploaded_by_scope: actor_scope(caller, role),
            object_key: key,
            created_at: now,
            upload_expires_at: real_now
                + chrono::Duration::seconds(i64::from(policy.upload_url_ttl_seconds)),
            confirmed_at: None,
            removed_at: None,
        };
        // The row records the declaration (who, when, as what: ListAccessLog derives its entry
        // from it), so a declaration is one statement; the first upload to an application also
        // writes the application, and a first applicant's upload claims it.
        let insert = material::Entity::insert(row.clone().into_active_model().reset_all());
        let claim = app
            .as_ref()
            .is_some_and(|a| a.owner_subject.is_none() && role == Role::Applicant);
        let _turn = self.write_turn().await;
        if app.is_some() && !claim {
            insert.exec_without_returning(&self.db).await?;
        } else {
            let txn = self.db.begin().await?;
            if claim {
                // Guarded: of two applicants racing to claim it, the second finds it taken.
                let claimed = application::Entity::update_many()
                    .col_expr(
                        application::Column::OwnerSubject,
                        Expr::value(Some(caller.subject.clone())),
                    )
                    .filter(application::Column::Tenant.eq(tenant))
                    .filter(application::Column::ApplicationId.eq(&new.application_id))
                    .filter(application::Column::OwnerSubject.is_null())
                    .exec(&txn)
                    .await?;
                if claimed.rows_affected == 0 {
                    return Err(MaterialsError::NotFound("申请"));
                }
            } else {
                // Concurrent first uploads to one application race here: the first row wins.
                application::Entity::insert(application::ActiveModel {
                    tenant: Set(tenant.to_owned()),
                    application_id: Set(new.application_id.clone()),
                    owner_subject: Set((role == Role::Applicant).then(|| caller.subject.clone())),
                    status: Set(ApplicationStatus::Unspecified as i32),
                    decided_at: Set(None),
                    aggregate_version: Set(0),
                    updated_at: Set(now),
                })
                .on_conflict(
                    OnConflict::columns([
                        application::Column::Tenant,
                        application::Column::ApplicationId,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .exec_without_returning(&txn)
                .await?;
            }
            insert.exec_without_returning(&txn).await?;
            txn.commit().await?;
        }
        self.declared.remember(&row);
        Ok(pb::CreateUploadResponse {
            material: Some(convert::material(&row)),
            upload: Some(upload),
            duplicate_of: String::new(),
        })
    }

    /// ConfirmUpload.
    pub(crate) async fn confirm_upload(
        &self,
        caller: &Caller,
        req: pb::ConfirmUploadRequest,
    ) -> Result<pb::Material, MaterialsError> {
        // The row as this process declared it (no read: see `declared`), or as stored; and the
        // tenant's policy. The row is in the caller's tenant or not found.
        let remembered = self.declared.take(&caller.tenant, &req.material_id);
        let (m, (policy, _)) = tokio::try_join!(
            async {
                match remembered {
                    Some(row) => Ok(row),
                    None => self.material_in_tenant(caller, &req.material_id).await,
                }
            },
            self.upload_policy(&caller.tenant)
        )?;
        if m.uploaded_by != caller.subject {
            return Err(MaterialsError::PermissionDenied);
        }
        if m.status != status::PENDING {
            return settled(&m);
        }
        let role = Role::parse(&m.uploaded_by_role).unwrap_or(Role::Applicant);
        let size = u64::try_from(m.size_bytes).unwrap_or_default();
        let verdict = self
            .inspect(&m.object_key, size, &m.content_type, &m.sha256, &policy)
            .await?;
        let refusal = match verdict {
            Ok(()) => match self
                .make_available(caller, &m, role, policy.max_application_bytes)
                .await?
            {
                Some(material) => return Ok(material),
                None => (
                    "application_quota_exceeded",
                    format!(
                        "超出每份申请的材料总量上限（{}）",
                        declaration::human_bytes(policy.max_application_bytes)
                    ),
                ),
            },
            Err(refusal) => refusal,
        };
        self.reject(caller, &m, role, refusal).await
    }

    /// Refuses a pending upload that failed inspection: removes the object (before the
    /// transaction: no write waits on the object store), marks the row rejected with the reason
    /// and logs it, guarded on the row still being pending.
    async fn reject(
        &self,
        caller: &Caller,
        m: &material::Model,
        role: Role,
        (code, message): Refusal,
    ) -> Result<pb::Material, MaterialsError> {
        self.objects.delete(&m.object_key).await?;
        let turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let rejected = material::Entity::update_many()
            .col_expr(
                material::Column::Status,
                Expr::value(status::REJECTED.to_owned()),
            )
            .col_expr(
                material::Column::RejectionReason,
                Expr::value(Some(message.clone())),
            )
            .col_expr(material::Column::RemovedAt, Expr::value(Some(self.now())))
            .filter(material::Column::Id.eq(&m.id))
            .filter(material::Column::Status.eq(status::PENDING))
            .exec(&txn)
            .await?;
        if rejected.rows_affected == 0 {
            drop(txn);
            drop(turn);
            return settled(&self.material_in_tenant(caller, &m.id).await?);
        }
        self.log(
            &txn,
            caller,
            LogEntry::on(m, action::REJECTED, role, format!("{code}: {message}")),
        )
        .await?;
        txn.commit().await?;
        Err(MaterialsError::Rejected { code, message })
    }

    /// Makes a pending material that passed inspection usable, if its application's usable
    /// files leave room for it (`max_application_bytes`, the one it replaces not counted). One
    /// statement, guarded on PENDING and on that room (of two racing confirmations only one
    /// changes the row; the row records the confirmation: ListAccessLog derives its entry); a
    /// new version of a replaced file also marks the old one replaced, in the same transaction.
    /// When the guard fails, the row is read to tell which part did: `None` when it is still
    /// pending (no room), else the answer from the row as it is now (another confirmation, a
    /// deletion or the purge came first).
    async fn make_available(
        &self,
        caller: &Caller,
        m: &material::Model,
        role: Role,
        max_application_bytes: u64,
    ) -> Result<Option<pb::Material>, MaterialsError> {
        let now = self.now();
        let siblings = Alias::new("siblings");
        let sibling = |c: material::Column| Expr::col((siblings.clone(), c));
        let outer = |c: material::Column| Expr::col((material::Entity, c));
        let mut used = Query::select();
        used.expr(Func::coalesce([
            Func::sum(sibling(material::Column::SizeBytes)).into(),
            Expr::value(0_i64),
        ]))
        .from_as(material::Entity, siblings.clone())
        .and_where(sibling(material::Column::Tenant).eq(outer(material::Column::Tenant)))
        .and_where(
            sibling(material::Column::ApplicationId).eq(outer(material::Column::ApplicationId)),
        )
        .and_where(sibling(material::Column::Status).eq(status::AVAILABLE))
        .and_where(sibling(material::Column::Id).ne(Func::coalesce([
            outer(material::Column::ReplacesMaterialId),
            Expr::value(""),
        ])));
        let room = Expr::expr(Expr::SubQuery(None, Box::new(used.into())))
            .add(outer(material::Column::SizeBytes))
            .lte(i64::try_from(max_application_bytes).unwrap_or(i64::MAX));
        let confirm = material::Entity::update_many()
            .col_expr(
                material::Column::Status,
                Expr::value(status::AVAILABLE.to_owned()),
            )
            .col_expr(material::Column::ConfirmedAt, Expr::value(Some(now)))
            .filter(material::Column::Id.eq(&m.id))
            .filter(material::Column::Status.eq(status::PENDING))
            .filter(room);
        let turn = self.write_turn().await;
        let done = match &m.replaces_material_id {
            None => confirm.exec(&self.db).await?.rows_affected == 1,
            Some(old_id) => {
                let txn = self.db.begin().await?;
                let done = confirm.exec(&txn).await?.rows_affected == 1;
                let old = if done {
                    by_key(
                        material::Entity::find_by_id(old_id.clone())
                            .filter(material::Column::Tenant.eq(&m.tenant))
                            .filter(material::Column::Status.eq(status::AVAILABLE)),
                        &txn,
                    )
                    .await?
                } else {
                    None
                };
                if let Some(old) = old {
                    let mut superseded: material::ActiveModel = old.into();
                    superseded.status = Set(status::REPLACED.to_owned());
                    superseded.replaced_by_material_id = Set(Some(m.id.clone()));
                    superseded.update(&txn).await?;
                    self.log(
                        &txn,
                        caller,
                        LogEntry {
                            material_id: old_id,
                            ..LogEntry::on(m, action::REPLACED, role, format!("由 {} 替换", m.id))
                        },
                    )
                    .await?;
                }
                txn.commit().await?;
                done
            }
        };
        drop(turn);
        if done {
            return Ok(Some(convert::material(&material::Model {
                status: status::AVAILABLE.to_owned(),
                confirmed_at: Some(now),
                ..m.clone()
            })));
        }
        let current = self.material_in_tenant(caller, &m.id).await?;
        if current.status == status::PENDING {
            return Ok(None);
        }
        settled(&current).map(Some)
    }

    /// Returns the application (`None` before its first upload) and its pending and usable
    /// materials, the columns a declaration checks, in one statement: the application left-joined
    /// with its live materials (every material's application has a row, written with its first
    /// upload). Only the columns checked are read: an application may hold fifty files.
    async fn application_and_live(
        &self,
        tenant: &str,
        application_id: &str,
    ) -> Result<(Option<AppFacts>, Vec<Live>), MaterialsError> {
        let app = |c: application::Column| Expr::col((application::Entity, c));
        let m = |c: material::Column| Expr::col((material::Entity, c));
        let mut query = Query::select();
        query
            .expr_as(app(application::Column::OwnerSubject), "owner_subject")
            .expr_as(app(application::Column::Status), "app_status")
            .expr_as(m(material::Column::Id), "id")
            .expr_as(m(material::Column::Status), "status")
            .expr_as(m(material::Column::Sha256), "sha256")
            .expr_as(m(material::Column::SizeBytes), "size_bytes")
            .expr_as(m(material::Column::UploadExpiresAt), "upload_expires_at")
            .from(application::Entity)
            .left_join(
                material::Entity,
                Condition::all()
                    .add(
                        m(material::Column::Tenant)
                            .equals((application::Entity, application::Column::Tenant)),
                    )
                    .add(
                        m(material::Column::ApplicationId)
                            .equals((application::Entity, application::Column::ApplicationId)),
                    )
                    .add(m(material::Column::Status).is_in([status::PENDING, status::AVAILABLE])),
            )
            .and_where(app(application::Column::Tenant).eq(tenant))
            .and_where(app(application::Column::ApplicationId).eq(application_id));
        let rows = self
            .db
            .query_all_raw(self.db.get_database_backend().build(&query))
            .await?;
        let mut facts = None;
        let mut live = Vec::with_capacity(rows.len());
        for row in rows {
            let row = AppAndLive::from_query_result(&row, "")?;
            facts = Some(AppFacts {
                owner_subject: row.owner_subject,
                status: row.app_status,
            });
            if let (Some(id), Some(status), Some(sha256), Some(size_bytes), Some(expires)) = (
                row.id,
                row.status,
                row.sha256,
                row.size_bytes,
                row.upload_expires_at,
            ) {
                live.push(Live {
                    id,
                    status,
                    sha256,
                    size_bytes,
                    upload_expires_at: expires,
                });
            }
        }
        Ok((facts, live))
    }

    /// DeleteMaterial.
    pub(crate) async fn delete_material(
        &self,
        caller: &Caller,
        req: pb::DeleteMaterialRequest,
    ) -> Result<(), MaterialsError> {
        let m = self.material_in_tenant(caller, &req.material_id).await?;
        if !caller.has(Role::Applicant) || m.uploaded_by != caller.subject {
            return Err(MaterialsError::PermissionDenied);
        }
        if !matches!(m.status.as_str(), status::PENDING | status::AVAILABLE) {
            return Err(MaterialsError::NotFound("材料"));
        }
        if let Some(app) = self
            .application(&self.db, &m.tenant, &m.application_id)
            .await?
            && !editable(app.status, &m.indicator)
        {
            return Err(MaterialsError::FailedPrecondition(
                "申请已提交审核或已办结，当前不能删除材料".to_owned(),
            ));
        }
        self.objects.delete(&m.object_key).await?;
        let _turn = self.write_turn().await;
        let txn = self.db.begin().await?;
        let mut update: material::ActiveModel = m.clone().into();
        update.status = Set(status::DELETED.to_owned());
        update.removed_at = Set(Some(self.now()));
        update.update(&txn).await?;
        self.log(
            &txn,
            caller,
            LogEntry::on(&m, action::DELETED, Role::Applicant, String::new()),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// GetMaterial.
    pub(crate) async fn get_material(
        &self,
        caller: &Caller,
        req: pb::GetMaterialRequest,
    ) -> Result<pb::Material, MaterialsError> {
        let m = self.material_in_tenant(caller, &req.material_id).await?;
        let app = self
            .application(&self.db, &m.tenant, &m.application_id)
            .await?;
        match self.grant(caller, &m, app.as_ref(), &mut None).await? {
            Some(_) => Ok(convert::material(&m)),
            None if caller.has(Role::Applicant) => Err(MaterialsError::NotFound("材料")),
            None => Err(MaterialsError::PermissionDenied),
        }
    }

    /// ListMaterials: the application's materials the caller may read.
    pub(crate) async fn list_materials(
        &self,
        caller: &Caller,
        req: pb::ListMaterialsRequest,
    ) -> Result<pb::ListMaterialsResponse, MaterialsError> {
        let application_id = declaration::application_id(&req.application_id)?;
        let tenant = caller.tenant.as_str();
        let app = self.application(&self.db, tenant, &application_id).await?;
        let mut query = material::Entity::find()
            .filter(material::Column::Tenant.eq(tenant))
            .filter(material::Column::ApplicationId.eq(&application_id));
        if !req.indicator.is_empty() {
            query = query.filter(material::Column::Indicator.eq(&req.indicator));
        }
        if !req.include_history {
            query =
                query.filter(material::Column::Status.is_in([status::PENDING, status::AVAILABLE]));
        }
        let all = query
            .order_by_asc(material::Column::CreatedAt)
            .order_by_asc(material::Column::Id)
            .all(&self.db)
            .await?;
        let mut scope = None;
        let mut readable: Vec<&material::Model> = Vec::with_capacity(all.len());
        for m in &all {
            if self
                .grant(caller, m, app.as_ref(), &mut scope)
                .await?
                .is_some()
            {
                readable.push(m);
            }
        }
        let staff_without_access =
            readable.is_empty() && !caller.has(Role::Applicant) && !all.is_empty();
        if staff_without_access {
            return Err(MaterialsError::PermissionDenied);
        }
        let application_bytes = readable
            .iter()
            .filter(|m| m.status == status::AVAILABLE)
            .map(|m| u64::try_from(m.size_bytes).unwrap_or_default())
            .sum();
        let (materials, next_page_token) = convert::page_of(
            readable.iter().map(|m| convert::material(m)),
            req.page_size,
            &req.page_token,
        );
        Ok(pb::ListMaterialsResponse {
            next_page_token,
            materials,
            application_bytes,
        })
    }

    /// Returns a material of the caller's tenant, or NotFound (another tenant's too).
    pub(crate) async fn material_in_tenant(
        &self,
        caller: &Caller,
        material_id: &str,
    ) -> Result<material::Model, MaterialsError> {
        by_key(
            material::Entity::find_by_id(material_id.to_owned())
                .filter(material::Column::Tenant.eq(&caller.tenant)),
            &self.db,
        )
        .await?
        .ok_or(MaterialsError::NotFound("材料"))
    }
}
