//! `announcements`: one row per announcement; `state` is draft, published or withdrawn, and
//! visibility is computed from the state and the publish window at read time.

use sea_orm::entity::prelude::*;

/// A row of `announcements`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "announcements")]
pub struct Model {
    /// Announcement id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Owning tenant (the city tenant for city-wide ones).
    pub tenant: String,
    /// City-wide.
    pub city_wide: bool,
    /// Category code (`policy`, `schedule`, `publicity`, `result`, `download`).
    pub category: String,
    /// Title.
    pub title: String,
    /// Plain-text summary.
    pub summary: String,
    /// Markdown source.
    pub body_markdown: String,
    /// Sanitised HTML.
    pub body_html: String,
    /// Attachments as JSON (`[{attachment_id, file_name, content_type, size_bytes, sha256}]`).
    pub attachments: Json,
    /// Pinned to the top.
    pub pinned: bool,
    /// Related cycle id.
    pub related_cycle_id: String,
    /// Related publicity list id.
    pub related_list_id: String,
    /// `draft`, `published` or `withdrawn`.
    pub state: String,
    /// Start of the publish window.
    pub opens_at: Option<DateTimeUtc>,
    /// End of the publish window (exclusive).
    pub closes_at: Option<DateTimeUtc>,
    /// When it was first published.
    pub published_at: Option<DateTimeUtc>,
    /// Creation time.
    pub created_at: DateTimeUtc,
    /// Last change.
    pub updated_at: DateTimeUtc,
    /// Who changed it last (`AuditActor` as JSON).
    pub updated_by: Json,
    /// Optimistic concurrency version.
    pub version: i64,
}

/// No relations.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
