//! Event intake, the resident's inbox and notification preferences.
//!
//! `DeliverEvent` records the event id with `receive_once` in the same transaction that writes
//! the inbox message and its channel deliveries, so a redelivered event changes nothing and a
//! crash half-way leaves nothing behind. When a template needs a variable the event left empty,
//! no message is sent: an in-app delivery row with status `held` records the error for operators
//! (ListDeliveries shows it as FAILED with the missing variables).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1::{self as common, event::Payload};
use jifen_proto::notices::v1::{self as pb, Channel};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use uuid::Uuid;

use crate::announcements::{NewAnnouncement, insert as insert_announcement};
use crate::convert::{channel_code, next_token, page, parse_id, ts, ts_opt};
use crate::domain::{mask, template as tpl};
use crate::error::NoticesError;
use crate::service::Notices;
use crate::store::{delivery, message, preference};
use crate::templates::Resolved;

/// What an event asks notices to do.
enum Plan {
    /// Send one templated message to one resident.
    Message {
        recipient: String,
        keys: Vec<String>,
        vars: BTreeMap<String, String>,
        application_id: String,
    },
    /// Publish a 公示 announcement.
    Announcement(Box<NewAnnouncement>),
    /// Nothing for notices (the id is still recorded).
    Nothing,
}

fn shanghai_midnight(date: &str) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(date.trim(), "%Y-%m-%d").ok()?;
    let offset = chrono::FixedOffset::east_opt(8 * 3600)?;
    offset
        .from_local_datetime(&date.and_hms_opt(0, 0, 0)?)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

fn plan(event: &common::Event, now: DateTime<Utc>) -> Result<Plan, NoticesError> {
    let var = |pairs: &[(&str, String)]| -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    Ok(match &event.payload {
        Some(Payload::ApplicationStatusChanged(p)) => Plan::Message {
            recipient: p.applicant_subject.clone(),
            keys: tpl::transition_keys(p.from_status, p.to_status),
            vars: var(&[
                ("application_number", p.application_number.clone()),
                ("application_id", p.application_id.clone()),
                (
                    "benefit",
                    if p.benefit_name_zh.is_empty() {
                        p.benefit.clone()
                    } else {
                        p.benefit_name_zh.clone()
                    },
                ),
                ("status", tpl::status_zh(p.to_status).to_owned()),
                ("from_status", tpl::status_zh(p.from_status).to_owned()),
                ("reason", p.reason_zh.clone()),
                ("deadline", p.applicant_due_date.clone()),
                ("cycle_id", p.cycle_id.clone()),
            ]),
            application_id: p.application_id.clone(),
        },
        Some(Payload::ScoreConfirmed(p)) => Plan::Message {
            recipient: p.applicant_subject.clone(),
            keys: vec![tpl::SCORE_CONFIRMED.to_owned()],
            vars: var(&[
                ("application_number", p.application_number.clone()),
                ("application_id", p.application_id.clone()),
                ("benefit", p.benefit.clone()),
                ("total", p.total.to_string()),
                ("cycle_id", p.cycle_id.clone()),
            ]),
            application_id: p.application_id.clone(),
        },
        Some(Payload::ObjectionDecided(p)) => Plan::Message {
            recipient: p.applicant_subject.clone(),
            keys: vec![tpl::OBJECTION_DECIDED.to_owned()],
            vars: var(&[
                ("application_number", p.application_number.clone()),
                ("application_id", p.application_id.clone()),
                (
                    "result",
                    if p.upheld {
                        "复核申请成立，相关指标将重新核查"
                    } else {
                        "复核申请不成立，维持原结果"
                    }
                    .to_owned(),
                ),
                ("reply", p.reply_zh.clone()),
            ]),
            application_id: p.application_id.clone(),
        },
        Some(Payload::NotificationRequested(p)) => Plan::Message {
            recipient: p.recipient_subject.clone(),
            keys: vec![p.template_key.trim().to_owned()],
            vars: p.variables.clone().into_iter().collect(),
            application_id: p.application_id.clone(),
        },
        Some(Payload::PublicityListPublished(p)) => {
            let period = p.publicity.clone().unwrap_or_default();
            let opens = shanghai_midnight(&period.start_date).unwrap_or(now);
            let closes = shanghai_midnight(&period.end_date).map(|d| d + Duration::days(1));
            let title = if p.title_zh.trim().is_empty() {
                "积分公示名单".to_owned()
            } else {
                p.title_zh.trim().to_owned()
            };
            let body = format!(
                "## {title}\n\n- 公示人数：{}\n- 分数线：{}\n- 公示期：{} 至 {}\n- 名单校验值：`{}`\n\n公示期内如有异议，请登录系统提出复核申请。",
                p.entry_count,
                p.cutoff,
                period.start_date,
                if period.end_date.is_empty() {
                    "另行通知"
                } else {
                    period.end_date.as_str()
                },
                p.content_hash
            );
            Plan::Announcement(Box::new(NewAnnouncement {
                tenant: event.tenant.clone(),
                city_wide: event.tenant == jifen_kit::auth::CITY_TENANT,
                category: "publicity",
                summary: format!("{title}，公示期 {} 起", period.start_date),
                title,
                body_markdown: body,
                related_cycle_id: p.cycle_id.clone(),
                related_list_id: p.list_id.clone(),
                window: Some((opens, closes.filter(|c| *c > opens))),
                actor: serde_json::json!({"subject": "system", "role": common::Role::System as i32, "tenant": event.tenant}),
            }))
        }
        Some(Payload::ApplicationOutcomeDecided(_)) | None => Plan::Nothing,
    })
}

/// A resident's channels, defaults when never set (in-app only).
fn prefs_or_default(row: Option<preference::Model>, subject: &str) -> preference::Model {
    row.unwrap_or_else(|| preference::Model {
        subject: subject.to_owned(),
        sms_enabled: false,
        email_enabled: false,
        email: String::new(),
        mobile: String::new(),
        version: 0,
        updated_at: DateTime::UNIX_EPOCH,
    })
}

fn held_error(key: &str, missing: &[String]) -> String {
    format!(
        "模板“{key}”缺少变量：{}，消息已暂缓发送，请补充事件数据或修改模板",
        missing.join("、")
    )
}

struct Rendered {
    channel: Channel,
    destination: String,
    outcome: Result<(String, String), String>,
}

impl Notices {
    /// Turns an outbox event into inbox messages, channel deliveries or a 公示 announcement,
    /// once per event id.
    pub(crate) async fn handle_deliver_event(
        &self,
        caller: &Caller,
        req: pb::DeliverEventRequest,
    ) -> Result<pb::DeliverEventResponse, NoticesError> {
        if !caller.has(Role::System) {
            return Err(NoticesError::PermissionDenied);
        }
        let event = req
            .event
            .ok_or_else(|| NoticesError::invalid("event", "required", "缺少事件（event）"))?;
        let event_id = parse_id("event.event_id", &event.event_id)?;
        let now = self.clock.now();
        let tenant = if event.tenant.trim().is_empty() {
            caller.tenant.clone()
        } else {
            event.tenant.trim().to_owned()
        };
        let plan = plan(&event, now)?;

        // Read templates and preferences before the transaction; writes happen inside it.
        let mut prepared: Option<(String, String, String, Vec<Rendered>)> = None;
        if let Plan::Message {
            recipient,
            keys,
            vars,
            application_id,
        } = &plan
        {
            if recipient.trim().is_empty() {
                return Err(NoticesError::invalid(
                    "event.recipient",
                    "required",
                    "事件缺少收件人账号",
                ));
            }
            if let Some(in_app) = self.resolve_template(&tenant, keys, Channel::InApp).await?
                && in_app.enabled
            {
                let prefs = prefs_or_default(
                    preference::Entity::find_by_id(recipient.clone())
                        .one(&self.db)
                        .await?,
                    recipient,
                );
                let mut rendered = vec![Rendered {
                    channel: Channel::InApp,
                    destination: String::new(),
                    outcome: in_app
                        .render(vars)
                        .map_err(|missing| held_error(&in_app.key, &missing)),
                }];
                for (channel, on, destination) in [
                    (Channel::Sms, prefs.sms_enabled, prefs.mobile.clone()),
                    (Channel::Email, prefs.email_enabled, prefs.email.clone()),
                ] {
                    if !on || destination.is_empty() {
                        continue;
                    }
                    let t: Option<Resolved> = self.resolve_template(&tenant, keys, channel).await?;
                    if let Some(t) = t.filter(|t| t.enabled) {
                        rendered.push(Rendered {
                            channel,
                            destination,
                            outcome: t.render(vars).map_err(|m| held_error(&t.key, &m)),
                        });
                    }
                }
                prepared = Some((
                    recipient.clone(),
                    in_app.key.clone(),
                    application_id.clone(),
                    rendered,
                ));
            }
        }

        let txn = self.db.begin().await?;
        if !jifen_kit::outbox::receive_once(&txn, event_id).await? {
            txn.commit().await?;
            return Ok(pb::DeliverEventResponse {
                duplicate: true,
                messages_created: 0,
            });
        }
        let mut created = 0;
        match plan {
            Plan::Message { .. } => {
                if let Some((recipient, key, application_id, rendered)) = prepared {
                    created = write_message(
                        &txn,
                        &tenant,
                        event_id,
                        &recipient,
                        &key,
                        &application_id,
                        rendered,
                        now,
                    )
                    .await?;
                }
            }
            Plan::Announcement(new) => {
                let mut new = *new;
                new.tenant = tenant.clone();
                insert_announcement(&txn, new, now).await?;
            }
            Plan::Nothing => {}
        }
        txn.commit().await?;
        self.wake.notify_one();
        Ok(pb::DeliverEventResponse {
            duplicate: false,
            messages_created: created,
        })
    }

    /// Lists the caller's own inbox, newest first.
    pub(crate) async fn handle_list_inbox(
        &self,
        caller: &Caller,
        req: pb::ListInboxRequest,
    ) -> Result<pb::ListInboxResponse, NoticesError> {
        let (size, offset) = page(req.page_size, &req.page_token)?;
        let mine = message::Entity::find()
            .filter(message::Column::RecipientSubject.eq(caller.subject.as_str()));
        let unread = mine
            .clone()
            .filter(message::Column::ReadAt.is_null())
            .count(&self.db)
            .await?;
        let listed = if req.unread_only {
            mine.filter(message::Column::ReadAt.is_null())
        } else {
            mine
        };
        let total = listed.clone().count(&self.db).await?;
        let rows = listed
            .order_by_desc(message::Column::CreatedAt)
            .order_by_desc(message::Column::Id)
            .offset(offset)
            .limit(size)
            .all(&self.db)
            .await?;
        Ok(pb::ListInboxResponse {
            next_page_token: next_token(offset, rows.len(), total),
            messages: rows
                .into_iter()
                .map(|m| pb::InboxMessage {
                    message_id: m.id.to_string(),
                    event_id: m.event_id.to_string(),
                    template_key: m.template_key,
                    title_zh: m.title,
                    body_zh: m.body,
                    application_id: m.application_id,
                    created_at: Some(ts(m.created_at)),
                    read_at: ts_opt(m.read_at),
                })
                .collect(),
            unread_count: unread,
        })
    }

    /// Marks the caller's messages read.
    pub(crate) async fn handle_mark_read(
        &self,
        caller: &Caller,
        req: pb::MarkReadRequest,
    ) -> Result<pb::MarkReadResponse, NoticesError> {
        let mut update = message::Entity::update_many()
            .col_expr(
                message::Column::ReadAt,
                sea_orm::sea_query::Expr::value(Some(self.clock.now())),
            )
            .filter(message::Column::RecipientSubject.eq(caller.subject.as_str()))
            .filter(message::Column::ReadAt.is_null());
        if !req.all {
            let ids = req
                .message_ids
                .iter()
                .map(|id| parse_id("message_ids", id))
                .collect::<Result<Vec<Uuid>, _>>()?;
            update = update.filter(message::Column::Id.is_in(ids));
        }
        update.exec(&self.db).await?;
        let unread = message::Entity::find()
            .filter(message::Column::RecipientSubject.eq(caller.subject.as_str()))
            .filter(message::Column::ReadAt.is_null())
            .count(&self.db)
            .await?;
        Ok(pb::MarkReadResponse {
            unread_count: unread,
        })
    }

    /// Returns the caller's preferences.
    pub(crate) async fn handle_get_preferences(
        &self,
        caller: &Caller,
    ) -> Result<pb::Preferences, NoticesError> {
        let row = preference::Entity::find_by_id(caller.subject.clone())
            .one(&self.db)
            .await?;
        Ok(prefs_pb(&prefs_or_default(row, &caller.subject)))
    }

    /// Replaces the caller's preferences.
    pub(crate) async fn handle_update_preferences(
        &self,
        caller: &Caller,
        req: pb::UpdatePreferencesRequest,
    ) -> Result<pb::Preferences, NoticesError> {
        let email = req.email.trim().to_owned();
        if !email.is_empty()
            && (email.len() > 254 || !email.contains('@') || email.contains(char::is_whitespace))
        {
            return Err(NoticesError::invalid(
                "email",
                "bad_format",
                "邮箱地址（email）格式不正确",
            ));
        }
        let mobile = req.mobile.trim().to_owned();
        if !mobile.is_empty()
            && (mobile.len() != 11
                || !mobile.starts_with('1')
                || !mobile.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(NoticesError::invalid(
                "mobile",
                "bad_format",
                "手机号（mobile）应为 11 位数字",
            ));
        }
        let current = preference::Entity::find_by_id(caller.subject.clone())
            .one(&self.db)
            .await?;
        if req.expected_version != 0
            && current.as_ref().map_or(0, |c| c.version) != req.expected_version
        {
            return Err(NoticesError::StaleVersion);
        }
        let mobile = if mobile.is_empty() {
            current
                .as_ref()
                .map(|c| c.mobile.clone())
                .unwrap_or_default()
        } else {
            mobile
        };
        if req.email_enabled && email.is_empty() {
            return Err(NoticesError::invalid(
                "email",
                "required",
                "开启邮件通知需填写邮箱地址（email）",
            ));
        }
        if req.sms_enabled && mobile.is_empty() {
            return Err(NoticesError::invalid(
                "mobile",
                "required",
                "开启短信通知需填写手机号（mobile）",
            ));
        }
        let now = self.clock.now();
        let saved = match current {
            Some(c) => {
                let version = c.version;
                let mut active: preference::ActiveModel = c.into();
                active.sms_enabled = Set(req.sms_enabled);
                active.email_enabled = Set(req.email_enabled);
                active.email = Set(email);
                active.mobile = Set(mobile);
                active.version = Set(version + 1);
                active.updated_at = Set(now);
                active.update(&self.db).await?
            }
            None => {
                preference::ActiveModel {
                    subject: Set(caller.subject.clone()),
                    sms_enabled: Set(req.sms_enabled),
                    email_enabled: Set(req.email_enabled),
                    email: Set(email),
                    mobile: Set(mobile),
                    version: Set(1),
                    updated_at: Set(now),
                }
                .insert(&self.db)
                .await?
            }
        };
        Ok(prefs_pb(&saved))
    }
}

fn prefs_pb(p: &preference::Model) -> pb::Preferences {
    pb::Preferences {
        sms_enabled: p.sms_enabled,
        email_enabled: p.email_enabled,
        email: p.email.clone(),
        mobile_masked: if p.mobile.is_empty() {
            String::new()
        } else {
            mask::mobile(&p.mobile)
        },
        version: p.version,
    }
}

#[allow(clippy::too_many_arguments)]
async fn write_message<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    event_id: Uuid,
    recipient: &str,
    key: &str,
    application_id: &str,
    rendered: Vec<Rendered>,
    now: DateTime<Utc>,
) -> Result<u32, NoticesError> {
    let delivery_row = |channel: Channel,
                        destination: String,
                        message_id: Option<Uuid>,
                        title: String,
                        body: String,
                        status: &str,
                        error: Option<String>| delivery::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant: Set(tenant.to_owned()),
        event_id: Set(event_id),
        message_id: Set(message_id),
        recipient_subject: Set(recipient.to_owned()),
        template_key: Set(key.to_owned()),
        channel: Set(channel_code(channel).to_owned()),
        destination: Set(destination),
        title: Set(title),
        body: Set(body),
        status: Set(status.to_owned()),
        attempts: Set(0),
        last_error: Set(error),
        next_attempt_at: Set(now),
        sent_at: Set(None),
        created_at: Set(now),
    };
    let mut rendered = rendered.into_iter();
    let Some(in_app) = rendered.next() else {
        return Ok(0);
    };
    let (title, body) = match in_app.outcome {
        Ok(done) => done,
        Err(error) => {
            tracing::warn!(%event_id, template = key, %error, "message held");
            delivery_row(
                Channel::InApp,
                String::new(),
                None,
                String::new(),
                String::new(),
                delivery::HELD,
                Some(error),
            )
            .insert(conn)
            .await?;
            return Ok(0);
        }
    };
    let message_id = Uuid::now_v7();
    message::ActiveModel {
        id: Set(message_id),
        tenant: Set(tenant.to_owned()),
        recipient_subject: Set(recipient.to_owned()),
        event_id: Set(event_id),
        template_key: Set(key.to_owned()),
        title: Set(title),
        body: Set(body),
        application_id: Set(application_id.to_owned()),
        created_at: Set(now),
        read_at: Set(None),
    }
    .insert(conn)
    .await?;
    for r in rendered {
        let row = match r.outcome {
            Ok((title, body)) => delivery_row(
                r.channel,
                r.destination,
                Some(message_id),
                title,
                body,
                delivery::PENDING,
                None,
            ),
            Err(error) => delivery_row(
                r.channel,
                r.destination,
                Some(message_id),
                String::new(),
                String::new(),
                delivery::HELD,
                Some(error),
            ),
        };
        row.insert(conn).await?;
    }
    Ok(1)
}
