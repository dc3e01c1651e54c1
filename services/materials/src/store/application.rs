//! `applications`: what materials knows of an application (its applicant, its status from
//! review's `ApplicationStatusChanged` events).

use sea_orm::entity::prelude::*;

/// A row of `applications`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "applications")]
pub struct Model {
    /// Tenant.
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant: String,
    /// Application id (review's).
    #[sea_orm(primary_key, auto_increment = false)]
    pub application_id: String,
    /// The applicant's subject: from review's events, or the first applicant who uploaded.
    pub owner_subject: Option<String>,
    /// `jifen.common.v1.ApplicationStatus` value; 0 until an event arrives.
    pub status: i32,
    /// When it reached a final status.
    pub decided_at: Option<DateTimeUtc>,
    /// Last applied event's aggregate version (older events are ignored).
    pub aggregate_version: i64,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
