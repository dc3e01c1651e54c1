//! `materials`: one row per declared evidence file version.

use sea_orm::entity::prelude::*;

/// A row of `materials`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "materials")]
pub struct Model {
    /// Material id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Application the file supports.
    pub application_id: String,
    /// Indicator code.
    pub indicator: String,
    /// Department verifying the indicator, as declared.
    pub verifier_department: Option<String>,
    /// Sanitised file name.
    pub file_name: String,
    /// Declared, then detected, content type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: i64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// See [`super::status`].
    pub status: String,
    /// Why the confirmation was refused.
    pub rejection_reason: Option<String>,
    /// The version this one replaces.
    pub replaces_material_id: Option<String>,
    /// The version that replaced this one.
    pub replaced_by_material_id: Option<String>,
    /// Subject who declared it.
    pub uploaded_by: String,
    /// Role they declared it under.
    pub uploaded_by_role: String,
    /// Tenant of their account (the access log's actor tenant of the declaration and the
    /// confirmation, which this row records).
    pub uploaded_by_tenant: Option<String>,
    /// Street or department code of a scoped uploader role.
    pub uploaded_by_scope: Option<String>,
    /// S3 key.
    pub object_key: String,
    /// Declaration time.
    pub created_at: DateTimeUtc,
    /// When the presigned PUT expires.
    pub upload_expires_at: DateTimeUtc,
    /// Confirmation time.
    pub confirmed_at: Option<DateTimeUtc>,
    /// When the object was deleted (rejection, deletion, purge).
    pub removed_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
