//! Announcements: drafts, publish windows, the public list, search, the Atom feed, and the
//! management rpcs of district and city admins.

use chrono::{DateTime, Utc};
use jifen_kit::auth::{CITY_TENANT, Caller};
use jifen_proto::notices::v1 as pb;
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use uuid::Uuid;

use crate::convert::{actor_json, actor_pb, from_ts, next_token, page, parse_id, ts, ts_opt};
use crate::domain::{category, feed, markdown};
use crate::error::NoticesError;
use crate::service::{Notices, announcement_owner, managed_tenant, public_tenant};
use crate::store::announcement::{self, Column, Entity};

const DRAFT: &str = "draft";
const PUBLISHED: &str = "published";
const WITHDRAWN: &str = "withdrawn";
const MAX_ATTACHMENTS: usize = 20;
const FEED_ENTRIES: u64 = 50;

/// An attachment as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAttachment {
    attachment_id: String,
    file_name: String,
    #[serde(default)]
    content_type: String,
    #[serde(default)]
    size_bytes: u64,
    #[serde(default)]
    sha256: String,
}

/// The editable fields of an announcement, checked.
struct Draft {
    category: &'static str,
    title: String,
    summary: String,
    body_markdown: String,
    body_html: String,
    attachments: serde_json::Value,
}

fn check_draft(
    raw_category: i32,
    title: &str,
    summary: &str,
    body: &str,
    ids: &[String],
    attachments: &[pb::AnnouncementAttachment],
) -> Result<Draft, NoticesError> {
    let category = category::code_of(raw_category)?;
    let title = title.trim();
    if title.is_empty() {
        return Err(NoticesError::invalid(
            "title_zh",
            "required",
            "公告标题（title_zh）不能为空",
        ));
    }
    if title.chars().count() > 200 {
        return Err(NoticesError::invalid(
            "title_zh",
            "too_long",
            "公告标题（title_zh）最多 200 字",
        ));
    }
    if summary.chars().count() > 500 {
        return Err(NoticesError::invalid(
            "summary_zh",
            "too_long",
            "公告摘要（summary_zh）最多 500 字",
        ));
    }
    let body_html = markdown::render(body)?;
    let mut stored: Vec<StoredAttachment> = attachments
        .iter()
        .map(|a| StoredAttachment {
            attachment_id: a.attachment_id.trim().to_owned(),
            file_name: a.file_name.trim().to_owned(),
            content_type: a.content_type.clone(),
            size_bytes: a.size_bytes,
            sha256: a.sha256.clone(),
        })
        .collect();
    for id in ids {
        if !stored.iter().any(|a| a.attachment_id == id.trim()) {
            stored.push(StoredAttachment {
                attachment_id: id.trim().to_owned(),
                file_name: String::new(),
                content_type: String::new(),
                size_bytes: 0,
                sha256: String::new(),
            });
        }
    }
    if stored.len() > MAX_ATTACHMENTS {
        return Err(NoticesError::invalid(
            "attachments",
            "too_long",
            format!("附件最多 {MAX_ATTACHMENTS} 个"),
        ));
    }
    for (i, a) in stored.iter().enumerate() {
        if a.attachment_id.is_empty() || a.attachment_id.len() > 100 {
            return Err(NoticesError::invalid(
                &format!("attachments[{i}].attachment_id"),
                "required",
                format!("第 {} 个附件的编号（attachment_id）无效", i + 1),
            ));
        }
        if a.file_name.chars().count() > 255 {
            return Err(NoticesError::invalid(
                &format!("attachments[{i}].file_name"),
                "too_long",
                format!("第 {} 个附件的文件名（file_name）过长", i + 1),
            ));
        }
    }
    let summary = if summary.trim().is_empty() {
        markdown::summary(body, 120)
    } else {
        summary.trim().to_owned()
    };
    Ok(Draft {
        category,
        title: title.to_owned(),
        summary,
        body_markdown: body.to_owned(),
        body_html,
        attachments: serde_json::to_value(stored)
            .map_err(|e| NoticesError::Internal(e.to_string()))?,
    })
}

/// Returns the status of `row` at `now`.
pub(crate) fn status_at(row: &announcement::Model, now: DateTime<Utc>) -> pb::AnnouncementStatus {
    match row.state.as_str() {
        DRAFT => pb::AnnouncementStatus::Draft,
        PUBLISHED => match (row.opens_at, row.closes_at) {
            (Some(opens), _) if now < opens => pb::AnnouncementStatus::Scheduled,
            (_, Some(closes)) if closes <= now => pb::AnnouncementStatus::Unpublished,
            _ => pb::AnnouncementStatus::Published,
        },
        _ => pb::AnnouncementStatus::Unpublished,
    }
}

fn visible(now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::State.eq(PUBLISHED))
        .add(Column::OpensAt.lte(now))
        .add(
            Condition::any()
                .add(Column::ClosesAt.is_null())
                .add(Column::ClosesAt.gt(now)),
        )
}

fn search(query: &str) -> Condition {
    let mut all = Condition::all();
    for word in query.split_whitespace().take(8) {
        all = all.add(
            Condition::any()
                .add(Column::Title.contains(word))
                .add(Column::BodyMarkdown.contains(word)),
        );
    }
    all
}

/// What a reader may see of an announcement.
#[derive(Clone, Copy, PartialEq, Eq)]
enum View {
    /// A list row: no body.
    List,
    /// The public page: HTML body, no Markdown source.
    Public,
    /// Management: everything.
    Managed,
}

fn to_pb(row: &announcement::Model, now: DateTime<Utc>, view: View) -> pb::Announcement {
    let attachments: Vec<StoredAttachment> =
        serde_json::from_value(row.attachments.clone()).unwrap_or_default();
    pb::Announcement {
        announcement_id: row.id.to_string(),
        tenant: row.tenant.clone(),
        city_wide: row.city_wide,
        category: category::to_pb(&row.category) as i32,
        title_zh: row.title.clone(),
        summary_zh: row.summary.clone(),
        body_markdown: if view == View::Managed {
            row.body_markdown.clone()
        } else {
            String::new()
        },
        body_html: if view == View::List {
            String::new()
        } else {
            row.body_html.clone()
        },
        attachments: attachments
            .into_iter()
            .map(|a| pb::AnnouncementAttachment {
                attachment_id: a.attachment_id,
                file_name: a.file_name,
                content_type: a.content_type,
                size_bytes: a.size_bytes,
                sha256: a.sha256,
            })
            .collect(),
        status: status_at(row, now) as i32,
        publish_window: row
            .opens_at
            .map(|opens| jifen_proto::common::v1::TimeWindow {
                opens_at: Some(ts(opens)),
                closes_at: ts_opt(row.closes_at),
            }),
        pinned: row.pinned,
        related_cycle_id: row.related_cycle_id.clone(),
        related_list_id: row.related_list_id.clone(),
        published_at: ts_opt(row.published_at),
        updated_at: Some(ts(row.updated_at)),
        updated_by: actor_pb(&row.updated_by),
        version: row.version,
    }
}

/// A new announcement row, as a draft, owned by `tenant`.
pub(crate) struct NewAnnouncement {
    pub(crate) tenant: String,
    pub(crate) city_wide: bool,
    pub(crate) category: &'static str,
    pub(crate) title: String,
    pub(crate) summary: String,
    pub(crate) body_markdown: String,
    pub(crate) related_cycle_id: String,
    pub(crate) related_list_id: String,
    pub(crate) window: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    pub(crate) actor: serde_json::Value,
}

/// Inserts `new` (published inside its window when it has one) in the caller's transaction.
pub(crate) async fn insert<C: ConnectionTrait>(
    conn: &C,
    new: NewAnnouncement,
    now: DateTime<Utc>,
) -> Result<announcement::Model, NoticesError> {
    let body_html = markdown::render(&new.body_markdown)?;
    let (state, opens, closes) = match new.window {
        Some((opens, closes)) => (PUBLISHED, Some(opens), closes),
        None => (DRAFT, None, None),
    };
    let row = announcement::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant: Set(new.tenant),
        city_wide: Set(new.city_wide),
        category: Set(new.category.to_owned()),
        title: Set(new.title),
        summary: Set(new.summary),
        body_markdown: Set(new.body_markdown),
        body_html: Set(body_html),
        attachments: Set(serde_json::json!([])),
        pinned: Set(false),
        related_cycle_id: Set(new.related_cycle_id),
        related_list_id: Set(new.related_list_id),
        state: Set(state.to_owned()),
        opens_at: Set(opens),
        closes_at: Set(closes),
        published_at: Set(opens),
        created_at: Set(now),
        updated_at: Set(now),
        updated_by: Set(new.actor),
        version: Set(1),
    };
    Ok(row.insert(conn).await?)
}

impl Notices {
    async fn managed_row(
        &self,
        caller: &Caller,
        id: &str,
    ) -> Result<announcement::Model, NoticesError> {
        let tenant = managed_tenant(caller)?;
        let id = parse_id("announcement_id", id)?;
        Entity::find_by_id(id)
            .filter(Column::Tenant.eq(tenant))
            .one(&self.db)
            .await?
            .ok_or(NoticesError::NotFound("公告"))
    }

    async fn save(
        &self,
        row: announcement::Model,
        expected_version: i64,
        change: impl FnOnce(&mut announcement::ActiveModel),
        caller: &Caller,
    ) -> Result<pb::Announcement, NoticesError> {
        if expected_version != 0 && expected_version != row.version {
            return Err(NoticesError::StaleVersion);
        }
        let now = self.clock.now();
        let mut active: announcement::ActiveModel = row.clone().into();
        change(&mut active);
        active.updated_at = Set(now);
        active.updated_by = Set(actor_json(caller));
        active.version = Set(row.version + 1);
        // Optimistic concurrency: the update only applies to the version we read.
        let updated = Entity::update_many()
            .set(active)
            .filter(Column::Id.eq(row.id))
            .filter(Column::Version.eq(row.version))
            .exec(&self.db)
            .await?;
        if updated.rows_affected != 1 {
            return Err(NoticesError::StaleVersion);
        }
        let row = Entity::find_by_id(row.id)
            .one(&self.db)
            .await?
            .ok_or(NoticesError::NotFound("公告"))?;
        Ok(to_pb(&row, now, View::Managed))
    }

    /// Creates a draft announcement.
    pub(crate) async fn handle_create_announcement(
        &self,
        caller: &Caller,
        req: pb::CreateAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let (tenant, city_wide) = announcement_owner(caller, req.city_wide)?;
        let draft = check_draft(
            req.category,
            &req.title_zh,
            &req.summary_zh,
            &req.body_markdown,
            &req.attachment_ids,
            &req.attachments,
        )?;
        let now = self.clock.now();
        let row = announcement::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant: Set(tenant),
            city_wide: Set(city_wide),
            category: Set(draft.category.to_owned()),
            title: Set(draft.title),
            summary: Set(draft.summary),
            body_markdown: Set(draft.body_markdown),
            body_html: Set(draft.body_html),
            attachments: Set(draft.attachments),
            pinned: Set(req.pinned),
            related_cycle_id: Set(req.related_cycle_id),
            related_list_id: Set(req.related_list_id),
            state: Set(DRAFT.to_owned()),
            opens_at: Set(None),
            closes_at: Set(None),
            published_at: Set(None),
            created_at: Set(now),
            updated_at: Set(now),
            updated_by: Set(actor_json(caller)),
            version: Set(1),
        }
        .insert(&self.db)
        .await?;
        Ok(to_pb(&row, now, View::Managed))
    }

    /// Replaces the editable fields of an announcement.
    pub(crate) async fn handle_update_announcement(
        &self,
        caller: &Caller,
        req: pb::UpdateAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let row = self.managed_row(caller, &req.announcement_id).await?;
        let draft = check_draft(
            req.category,
            &req.title_zh,
            &req.summary_zh,
            &req.body_markdown,
            &req.attachment_ids,
            &req.attachments,
        )?;
        self.save(
            row,
            req.expected_version,
            |a| {
                a.category = Set(draft.category.to_owned());
                a.title = Set(draft.title);
                a.summary = Set(draft.summary);
                a.body_markdown = Set(draft.body_markdown);
                a.body_html = Set(draft.body_html);
                a.attachments = Set(draft.attachments);
                a.pinned = Set(req.pinned);
            },
            caller,
        )
        .await
    }

    /// Publishes an announcement inside a window.
    pub(crate) async fn handle_publish_announcement(
        &self,
        caller: &Caller,
        req: pb::PublishAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let row = self.managed_row(caller, &req.announcement_id).await?;
        let now = self.clock.now();
        let window = req.window.unwrap_or_default();
        let opens = match &window.opens_at {
            Some(at) => from_ts("window.opens_at", at)?,
            None => now,
        };
        let closes = match &window.closes_at {
            Some(at) => Some(from_ts("window.closes_at", at)?),
            None => None,
        };
        if let Some(closes) = closes
            && closes <= opens
        {
            return Err(NoticesError::invalid(
                "window.closes_at",
                "out_of_range",
                "撤下时间（closes_at）必须晚于发布时间（opens_at）",
            ));
        }
        let first = row.published_at.unwrap_or(opens);
        self.save(
            row,
            req.expected_version,
            |a| {
                a.state = Set(PUBLISHED.to_owned());
                a.opens_at = Set(Some(opens));
                a.closes_at = Set(closes);
                a.published_at = Set(Some(first));
            },
            caller,
        )
        .await
    }

    /// Takes an announcement down now.
    pub(crate) async fn handle_unpublish_announcement(
        &self,
        caller: &Caller,
        req: pb::UnpublishAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let row = self.managed_row(caller, &req.announcement_id).await?;
        if row.state != PUBLISHED {
            return Err(NoticesError::FailedPrecondition(
                "公告尚未发布，无需撤下".to_owned(),
            ));
        }
        self.save(
            row,
            req.expected_version,
            |a| a.state = Set(WITHDRAWN.to_owned()),
            caller,
        )
        .await
    }

    /// Deletes a never-published draft.
    pub(crate) async fn handle_delete_announcement(
        &self,
        caller: &Caller,
        req: pb::DeleteAnnouncementRequest,
    ) -> Result<(), NoticesError> {
        let row = self.managed_row(caller, &req.announcement_id).await?;
        if row.published_at.is_some() || row.state != DRAFT {
            return Err(NoticesError::FailedPrecondition(
                "已发布过的公告不能删除，请改为撤下".to_owned(),
            ));
        }
        if req.expected_version != 0 && req.expected_version != row.version {
            return Err(NoticesError::StaleVersion);
        }
        Entity::delete_many()
            .filter(Column::Id.eq(row.id))
            .filter(Column::Version.eq(row.version))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Returns any announcement of the caller's tenant.
    pub(crate) async fn handle_get_managed_announcement(
        &self,
        caller: &Caller,
        req: pb::GetManagedAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let row = self.managed_row(caller, &req.announcement_id).await?;
        Ok(to_pb(&row, self.clock.now(), View::Managed))
    }

    /// Lists every announcement of the caller's tenant.
    pub(crate) async fn handle_list_managed_announcements(
        &self,
        caller: &Caller,
        req: pb::ListManagedAnnouncementsRequest,
    ) -> Result<pb::ListAnnouncementsResponse, NoticesError> {
        let tenant = managed_tenant(caller)?;
        let now = self.clock.now();
        let mut filter = Condition::all()
            .add(Column::Tenant.eq(tenant))
            .add(search(&req.query));
        if let Some(code) = category::filter_of(req.category)? {
            filter = filter.add(Column::Category.eq(code));
        }
        let status = pb::AnnouncementStatus::try_from(req.status).map_err(|_| {
            NoticesError::invalid("status", "unknown_value", "公告状态（status）取值不存在")
        })?;
        filter = match status {
            pb::AnnouncementStatus::Unspecified => filter,
            pb::AnnouncementStatus::Draft => filter.add(Column::State.eq(DRAFT)),
            pb::AnnouncementStatus::Scheduled => filter
                .add(Column::State.eq(PUBLISHED))
                .add(Column::OpensAt.gt(now)),
            pb::AnnouncementStatus::Published => filter.add(visible(now)),
            pb::AnnouncementStatus::Unpublished => filter.add(
                Condition::any().add(Column::State.eq(WITHDRAWN)).add(
                    Condition::all()
                        .add(Column::State.eq(PUBLISHED))
                        .add(Column::ClosesAt.lte(now)),
                ),
            ),
        };
        self.list(filter, &req.page_token, req.page_size, now, View::Managed)
            .await
    }

    async fn list(
        &self,
        filter: Condition,
        page_token: &str,
        page_size: i32,
        now: DateTime<Utc>,
        view: View,
    ) -> Result<pb::ListAnnouncementsResponse, NoticesError> {
        let (size, offset) = page(page_size, page_token)?;
        let query = Entity::find().filter(filter);
        let total = query.clone().count(&self.db).await?;
        let rows = query
            .order_by_desc(Column::Pinned)
            .order_by_desc(Column::OpensAt)
            .order_by_desc(Column::UpdatedAt)
            .order_by_desc(Column::Id)
            .offset(offset)
            .limit(size)
            .all(&self.db)
            .await?;
        let row_view = if view == View::Managed {
            View::Managed
        } else {
            View::List
        };
        Ok(pb::ListAnnouncementsResponse {
            next_page_token: next_token(offset, rows.len(), total),
            announcements: rows.iter().map(|r| to_pb(r, now, row_view)).collect(),
            total_count: total,
        })
    }

    /// Lists the announcements visible now for a tenant (public).
    pub(crate) async fn handle_list_announcements(
        &self,
        req: pb::ListAnnouncementsRequest,
    ) -> Result<pb::ListAnnouncementsResponse, NoticesError> {
        let tenant = public_tenant(&req.tenant)?;
        let now = self.clock.now();
        let mut owners = Condition::any().add(Column::Tenant.eq(tenant));
        if req.include_city_wide {
            owners = owners.add(Column::Tenant.eq(CITY_TENANT));
        }
        let mut filter = Condition::all()
            .add(owners)
            .add(visible(now))
            .add(search(&req.query));
        if let Some(code) = category::filter_of(req.category)? {
            filter = filter.add(Column::Category.eq(code));
        }
        self.list(filter, &req.page_token, req.page_size, now, View::List)
            .await
    }

    /// Returns one visible announcement (public); city-wide ones are visible from every tenant.
    pub(crate) async fn handle_get_announcement(
        &self,
        req: pb::GetAnnouncementRequest,
    ) -> Result<pb::Announcement, NoticesError> {
        let tenant = public_tenant(&req.tenant)?;
        let id = parse_id("announcement_id", &req.announcement_id)
            .map_err(|_| NoticesError::NotFound("公告"))?;
        let now = self.clock.now();
        let row = Entity::find_by_id(id)
            .filter(
                Condition::any()
                    .add(Column::Tenant.eq(tenant))
                    .add(Column::Tenant.eq(CITY_TENANT)),
            )
            .filter(visible(now))
            .one(&self.db)
            .await?
            .ok_or(NoticesError::NotFound("公告"))?;
        Ok(to_pb(&row, now, View::Public))
    }

    /// Returns the Atom feed of a tenant's visible announcements (city-wide ones included).
    pub(crate) async fn handle_get_feed(
        &self,
        req: pb::GetFeedRequest,
    ) -> Result<pb::GetFeedResponse, NoticesError> {
        let tenant = public_tenant(&req.tenant)?;
        let now = self.clock.now();
        let mut filter = Condition::all().add(visible(now)).add(
            Condition::any()
                .add(Column::Tenant.eq(tenant))
                .add(Column::Tenant.eq(CITY_TENANT)),
        );
        if let Some(code) = category::filter_of(req.category)? {
            filter = filter.add(Column::Category.eq(code));
        }
        let rows = Entity::find()
            .filter(filter)
            .order_by_desc(Column::OpensAt)
            .order_by_desc(Column::Id)
            .limit(FEED_ENTRIES)
            .all(&self.db)
            .await?;
        let entries: Vec<feed::Entry> = rows
            .iter()
            .map(|r| feed::Entry {
                id: r.id.to_string(),
                title: r.title.clone(),
                summary: r.summary.clone(),
                html: r.body_html.clone(),
                category: category::name_zh(&r.category).to_owned(),
                published: r.opens_at.unwrap_or(r.updated_at),
                updated: r.updated_at,
            })
            .collect();
        let updated = entries
            .iter()
            .map(|e| e.updated.max(e.published))
            .max()
            .unwrap_or(DateTime::UNIX_EPOCH);
        let base = if req.base_url.trim().is_empty() {
            "/"
        } else {
            req.base_url.trim()
        };
        let xml = feed::render(tenant, base, updated, &entries);
        let etag = format!(
            "\"{}\"",
            &hex::encode(sha2::Sha256::digest(xml.as_bytes()))[..32]
        );
        Ok(pb::GetFeedResponse {
            atom_xml: xml,
            etag,
            updated_at: Some(ts(updated)),
        })
    }
}
