//! `upload_policies`: a tenant's policy, when it differs from the defaults.

use sea_orm::entity::prelude::*;

/// A row of `upload_policies`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "upload_policies")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    /// [`crate::domain::policy::Policy`] as JSON.
    pub policy: Json,
    /// Optimistic-concurrency version (the defaults are version 0).
    pub version: i64,
    /// Who changed it last.
    pub updated_by: String,
    /// When.
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
