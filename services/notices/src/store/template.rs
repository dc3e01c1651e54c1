//! `notice_templates`: one row per (tenant, key, channel).

use sea_orm::entity::prelude::*;

/// A row of `notice_templates`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_templates")]
pub struct Model {
    /// Row id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant (the city tenant holds the city defaults).
    pub tenant: String,
    /// Template key.
    pub key: String,
    /// `in_app`, `sms` or `email`.
    pub channel: String,
    /// Title.
    pub title: String,
    /// Body with `{{variable}}` placeholders.
    pub body: String,
    /// Declared variables (JSON array of strings).
    pub variables: Json,
    /// Disabled templates send nothing.
    pub enabled: bool,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Who changed it last.
    pub updated_by: Json,
    /// Optimistic concurrency version.
    pub version: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
