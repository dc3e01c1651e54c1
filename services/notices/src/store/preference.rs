//! `notice_preferences`: a resident's channels (resident accounts are city-wide, so no tenant).

use sea_orm::entity::prelude::*;

/// A row of `notice_preferences`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "notice_preferences")]
pub struct Model {
    /// The resident's account id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub subject: String,
    /// SMS on.
    pub sms_enabled: bool,
    /// Email on.
    pub email_enabled: bool,
    /// Email address.
    pub email: String,
    /// Mobile number for SMS.
    pub mobile: String,
    /// Optimistic concurrency version.
    pub version: i64,
    /// Last change.
    pub updated_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
