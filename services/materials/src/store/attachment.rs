//! `attachments`: public files of notices.

use sea_orm::entity::prelude::*;

/// A row of `attachments`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "attachments")]
pub struct Model {
    /// Attachment id (UUID v7).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Owning tenant (the city tenant for city-wide notices).
    pub tenant: String,
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
    /// S3 key.
    pub object_key: String,
    /// Subject who declared it.
    pub uploaded_by: String,
    /// Role they declared it under.
    pub uploaded_by_role: String,
    /// Declaration time.
    pub created_at: DateTimeUtc,
    /// Confirmation time.
    pub confirmed_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
