//! `inbox_messages`: a resident's in-app messages, one per (event, resident).

use sea_orm::entity::prelude::*;

/// A row of `inbox_messages`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "inbox_messages")]
pub struct Model {
    /// Message id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant of the event.
    pub tenant: String,
    /// The resident's account id.
    pub recipient_subject: String,
    /// The event that produced it.
    pub event_id: Uuid,
    /// Template key used.
    pub template_key: String,
    /// Rendered title.
    pub title: String,
    /// Rendered body.
    pub body: String,
    /// Related application, or empty.
    pub application_id: String,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// When the resident read it.
    pub read_at: Option<DateTimeUtc>,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
