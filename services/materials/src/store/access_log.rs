//! `access_log`: append-only record of who touched which material. A material's declaration and
//! confirmation are recorded by its own row instead (`materials.uploaded_by*`, `created_at`,
//! `confirmed_at`); ListAccessLog lists them with these rows.

use sea_orm::entity::prelude::*;

/// A row of `access_log`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "access_log")]
pub struct Model {
    /// Entry id (UUID v7, so ids sort by time).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Tenant of the material.
    pub tenant: String,
    /// Material.
    pub material_id: String,
    /// Its application.
    pub application_id: String,
    /// `AccessAction` name, e.g. `download_url_issued`.
    pub action: String,
    /// Acting subject.
    pub actor_subject: String,
    /// Role acted under.
    pub actor_role: String,
    /// Tenant of the acting account.
    pub actor_tenant: String,
    /// Street or department code of a scoped role.
    pub actor_scope: Option<String>,
    /// False when refused.
    pub granted: bool,
    /// Free text, e.g. a rejection reason.
    pub detail: String,
    /// When.
    pub at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
