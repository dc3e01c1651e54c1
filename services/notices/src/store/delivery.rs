//! `deliveries`: one row per (event, resident, channel) to send outside the inbox, plus a `held`
//! in-app row when a template could not be rendered.

use sea_orm::entity::prelude::*;

/// Waiting for its next attempt.
pub const PENDING: &str = "pending";
/// Sent.
pub const SENT: &str = "sent";
/// Given up after the maximum attempts.
pub const FAILED: &str = "failed";
/// Not rendered: the template needs a variable the event lacks (in-app rows only).
pub const HELD: &str = "held";

/// A row of `deliveries`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "deliveries")]
pub struct Model {
    /// Delivery id (also the idempotency key given to gateways).
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Tenant of the event.
    pub tenant: String,
    /// The event.
    pub event_id: Uuid,
    /// The inbox message it copies (none when held).
    pub message_id: Option<Uuid>,
    /// The resident.
    pub recipient_subject: String,
    /// Template key used.
    pub template_key: String,
    /// `in_app`, `sms` or `email`.
    pub channel: String,
    /// Mobile number or email address.
    pub destination: String,
    /// Rendered title.
    pub title: String,
    /// Rendered body.
    pub body: String,
    /// `pending`, `sent`, `failed` or `held`.
    pub status: String,
    /// Attempts made.
    pub attempts: i32,
    /// Last error, for operators.
    pub last_error: Option<String>,
    /// Not before this time (also the claim lease of a worker).
    pub next_attempt_at: DateTimeUtc,
    /// When it was sent.
    pub sent_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
