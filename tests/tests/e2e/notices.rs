//! Notices on real PostgreSQL: publish windows, tenant isolation, sanitised bodies, refused
//! input that writes nothing, idempotent event intake, templates, and channel deliveries that
//! survive a failing sender and arrive exactly once.
//!
//! The service is driven directly (no tokens needed): each request carries a `Caller` in its
//! extensions, a `ManualClock` moves time, and a test `Sender` fails its first K sends. Each test
//! gets its own PostgreSQL schema so delivery workers of parallel tests never share rows.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use jifen::testkit::postgres_url;
use jifen_kit::auth::{Caller, Role};
use jifen_notices::{Clock, ManualClock, Notices, Outgoing, SendError, Sender, Senders};
use jifen_proto::common::v1 as common;
use jifen_proto::notices::v1 as pb;
use jifen_proto::notices::v1::notices_service_server::NoticesService;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use tonic::{Code, Request};

fn unique() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

/// A sender that fails its first `fail_first` sends, then records every message it accepts.
#[derive(Debug, Default)]
struct FlakySender {
    fail_first: AtomicUsize,
    attempts: AtomicUsize,
    sent: Mutex<Vec<Outgoing>>,
}

impl FlakySender {
    fn failing(k: usize) -> Arc<Self> {
        Arc::new(Self {
            fail_first: AtomicUsize::new(k),
            ..Self::default()
        })
    }

    fn sent(&self) -> Vec<Outgoing> {
        self.sent.lock().expect("lock").clone()
    }
}

#[tonic::async_trait]
impl Sender for FlakySender {
    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        self.attempts.fetch_add(1, Ordering::SeqCst);
        let left = self.fail_first.load(Ordering::SeqCst);
        if left > 0 {
            self.fail_first.store(left - 1, Ordering::SeqCst);
            return Err(SendError("gateway down".to_owned()));
        }
        self.sent.lock().expect("lock").push(message.clone());
        Ok(())
    }
}

struct Harness {
    notices: Notices,
    clock: ManualClock,
    db: DatabaseConnection,
    sms: Arc<FlakySender>,
    email: Arc<FlakySender>,
    /// A tenant of this test (district).
    tenant: String,
}

async fn harness(failing_sends: usize) -> Harness {
    let mut config = jifen_kit::Config::defaults().database;
    config.url = postgres_url().await;
    config.max_connections = 4;
    let schema = format!("notices_{}", unique());
    let dir = std::env::temp_dir();
    let db = jifen_kit::db::connect(&schema, &config, &dir)
        .await
        .expect("connect");
    jifen_kit::db::migrate::<jifen_notices::Migrator>(&schema, &db)
        .await
        .expect("migrate");
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2025, 4, 1, 1, 0, 0).unwrap());
    let sms = FlakySender::failing(failing_sends);
    let email = FlakySender::failing(failing_sends);
    let notices = Notices::with_clock(
        db.clone(),
        Arc::new(clock.clone()),
        Senders {
            sms: sms.clone(),
            email: email.clone(),
        },
    );
    Harness {
        notices,
        clock,
        db,
        sms,
        email,
        tenant: format!("t{}", &unique()[20..]),
    }
}

fn caller(tenant: &str, subject: &str, role: Role) -> Caller {
    Caller {
        tenant: tenant.to_owned(),
        subject: subject.to_owned(),
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

fn req<T>(message: T, who: &Caller) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(who.clone());
    request
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

async fn count(db: &DatabaseConnection, table: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT COUNT(*) AS n FROM {table}"),
        ))
        .await
        .expect("count")
        .expect("row");
    row.try_get::<i64>("", "n").expect("n")
}

fn draft(title: &str, body: &str) -> pb::CreateAnnouncementRequest {
    pb::CreateAnnouncementRequest {
        category: pb::AnnouncementCategory::Policy as i32,
        title_zh: title.to_owned(),
        body_markdown: body.to_owned(),
        ..Default::default()
    }
}

async fn public_get(
    h: &Harness,
    tenant: &str,
    id: &str,
) -> Result<pb::Announcement, tonic::Status> {
    h.notices
        .get_announcement(Request::new(pb::GetAnnouncementRequest {
            tenant: tenant.to_owned(),
            announcement_id: id.to_owned(),
        }))
        .await
        .map(tonic::Response::into_inner)
}

async fn public_list(h: &Harness, tenant: &str, query: &str) -> pb::ListAnnouncementsResponse {
    h.notices
        .list_announcements(Request::new(pb::ListAnnouncementsRequest {
            tenant: tenant.to_owned(),
            include_city_wide: true,
            query: query.to_owned(),
            ..Default::default()
        }))
        .await
        .expect("list")
        .into_inner()
}

#[tokio::test]
async fn a_scheduled_notice_is_visible_only_inside_its_window() {
    let h = harness(0).await;
    let admin = caller(&h.tenant, "admin-1", Role::DistrictAdmin);
    let created = h
        .notices
        .create_announcement(req(
            draft(
                "2025年积分入学工作安排",
                "报名时间为 **4 月 10 日** 至 4 月 20 日。",
            ),
            &admin,
        ))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.status, pb::AnnouncementStatus::Draft as i32);
    assert_eq!(
        public_get(&h, &h.tenant, &created.announcement_id)
            .await
            .expect_err("draft")
            .code(),
        Code::NotFound
    );

    let opens = h.clock.now() + Duration::days(1);
    let closes = opens + Duration::days(7);
    let published = h
        .notices
        .publish_announcement(req(
            pb::PublishAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
                expected_version: created.version,
                window: Some(common::TimeWindow {
                    opens_at: Some(ts(opens)),
                    closes_at: Some(ts(closes)),
                }),
            },
            &admin,
        ))
        .await
        .expect("publish")
        .into_inner();
    assert_eq!(published.status, pb::AnnouncementStatus::Scheduled as i32);
    assert_eq!(
        public_get(&h, &h.tenant, &created.announcement_id)
            .await
            .expect_err("not yet")
            .code(),
        Code::NotFound
    );
    assert_eq!(public_list(&h, &h.tenant, "").await.total_count, 0);

    h.clock.set(opens);
    let seen = public_get(&h, &h.tenant, &created.announcement_id)
        .await
        .expect("visible at the opening instant");
    assert!(
        seen.body_html.contains("<strong>4 月 10 日</strong>"),
        "{}",
        seen.body_html
    );
    assert!(
        seen.body_markdown.is_empty(),
        "the public never sees the source"
    );
    let listed = public_list(&h, &h.tenant, "积分入学 报名").await;
    assert_eq!(listed.total_count, 1);
    assert!(
        listed.announcements[0].body_html.is_empty(),
        "lists carry summaries only"
    );
    assert_eq!(public_list(&h, &h.tenant, "落户").await.total_count, 0);
    let feed = h
        .notices
        .get_feed(Request::new(pb::GetFeedRequest {
            tenant: h.tenant.clone(),
            base_url: "https://jifen.example".to_owned(),
            ..Default::default()
        }))
        .await
        .expect("feed")
        .into_inner();
    assert!(
        feed.atom_xml
            .contains("<title>2025年积分入学工作安排</title>"),
        "{}",
        feed.atom_xml
    );
    assert!(
        feed.atom_xml.contains("&lt;strong&gt;"),
        "html is escaped in the feed"
    );

    h.clock.set(closes);
    assert_eq!(
        public_get(&h, &h.tenant, &created.announcement_id)
            .await
            .expect_err("closed")
            .code(),
        Code::NotFound
    );
    let managed = h
        .notices
        .get_managed_announcement(req(
            pb::GetManagedAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
            },
            &admin,
        ))
        .await
        .expect("managed")
        .into_inner();
    assert_eq!(managed.status, pb::AnnouncementStatus::Unpublished as i32);
}

#[tokio::test]
async fn a_tenants_draft_is_invisible_to_another_tenant() {
    let h = harness(0).await;
    let other = format!("{}b", h.tenant);
    let admin_a = caller(&h.tenant, "admin-a", Role::DistrictAdmin);
    let admin_b = caller(&other, "admin-b", Role::DistrictAdmin);
    let created = h
        .notices
        .create_announcement(req(draft("内部草稿", "尚未定稿"), &admin_a))
        .await
        .expect("create")
        .into_inner();
    let err = h
        .notices
        .get_managed_announcement(req(
            pb::GetManagedAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
            },
            &admin_b,
        ))
        .await
        .expect_err("other tenant");
    assert_eq!(err.code(), Code::NotFound);
    let err = h
        .notices
        .publish_announcement(req(
            pb::PublishAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
                ..Default::default()
            },
            &admin_b,
        ))
        .await
        .expect_err("other tenant cannot publish it");
    assert_eq!(err.code(), Code::NotFound);
    let listed = h
        .notices
        .list_managed_announcements(req(
            pb::ListManagedAnnouncementsRequest::default(),
            &admin_b,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.total_count, 0);
    assert_eq!(
        public_get(&h, &other, &created.announcement_id)
            .await
            .expect_err("public")
            .code(),
        Code::NotFound
    );
    // A district admin cannot write city-wide; an applicant cannot manage at all.
    let mut city = draft("全市通知", "正文");
    city.city_wide = true;
    assert_eq!(
        h.notices
            .create_announcement(req(city, &admin_a))
            .await
            .expect_err("district admin")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        h.notices
            .create_announcement(req(
                draft("x", "y"),
                &caller(&h.tenant, "r1", Role::Applicant)
            ))
            .await
            .expect_err("applicant")
            .code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn a_city_wide_notice_shows_in_every_district() {
    let h = harness(0).await;
    let city_admin = caller("suzhou", "city-1", Role::CityAdmin);
    let mut body = draft(&format!("全市政策 {}", h.tenant), "全市统一口径");
    body.city_wide = true;
    let created = h
        .notices
        .create_announcement(req(body, &city_admin))
        .await
        .expect("create")
        .into_inner();
    assert!(created.city_wide);
    assert_eq!(created.tenant, "suzhou");
    h.notices
        .publish_announcement(req(
            pb::PublishAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
                ..Default::default()
            },
            &city_admin,
        ))
        .await
        .expect("publish now");
    public_get(&h, &h.tenant, &created.announcement_id)
        .await
        .expect("visible from a district");
    assert_eq!(public_list(&h, &h.tenant, &h.tenant).await.total_count, 1);
}

#[tokio::test]
async fn a_body_with_script_is_sanitised() {
    let h = harness(0).await;
    let admin = caller(&h.tenant, "admin-1", Role::DistrictAdmin);
    let created = h
        .notices
        .create_announcement(req(
            draft(
                "材料清单",
                "请下载附件。<script>alert('x')</script>\n\n<a href=\"javascript:alert(1)\" onclick=\"steal()\">链接</a>\n\n<img src=\"a.png\" onerror=\"alert(2)\">",
            ),
            &admin,
        ))
        .await
        .expect("create")
        .into_inner();
    let html = created.body_html;
    for bad in ["<script", "alert('x')", "javascript:", "onclick", "onerror"] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    assert!(html.contains("请下载附件"), "{html}");
}

#[tokio::test]
async fn bad_input_gets_a_clear_chinese_error_and_writes_nothing() {
    let h = harness(0).await;
    let admin = caller(&h.tenant, "admin-1", Role::DistrictAdmin);
    let before = count(&h.db, "announcements").await;

    let mut unknown = draft("标题", "正文");
    unknown.category = 42;
    let err = h
        .notices
        .create_announcement(req(unknown, &admin))
        .await
        .expect_err("unknown category");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("42") && err.message().contains("栏目"),
        "{}",
        err.message()
    );

    let err = h
        .notices
        .create_announcement(req(draft("标题", &"长".repeat(30_000)), &admin))
        .await
        .expect_err("oversize");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("过长"), "{}", err.message());
    assert_eq!(count(&h.db, "announcements").await, before);

    let created = h
        .notices
        .create_announcement(req(draft("标题", "正文"), &admin))
        .await
        .expect("create")
        .into_inner();
    let now = h.clock.now();
    let err = h
        .notices
        .publish_announcement(req(
            pb::PublishAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
                expected_version: created.version,
                window: Some(common::TimeWindow {
                    opens_at: Some(ts(now + Duration::days(2))),
                    closes_at: Some(ts(now + Duration::days(1))),
                }),
            },
            &admin,
        ))
        .await
        .expect_err("end before start");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("必须晚于"), "{}", err.message());
    let still = h
        .notices
        .get_managed_announcement(req(
            pb::GetManagedAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
            },
            &admin,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(still.status, pb::AnnouncementStatus::Draft as i32);
    assert_eq!(still.version, created.version);

    let templates_before = count(&h.db, "notice_templates").await;
    let err = h
        .notices
        .upsert_template(req(
            pb::UpsertTemplateRequest {
                template: Some(pb::Template {
                    key: "*->returned".to_owned(),
                    channel: pb::Channel::InApp as i32,
                    title_zh: "退回".to_owned(),
                    body_zh: "{{name}}，请于 {{deadline}} 前补正".to_owned(),
                    enabled: true,
                    ..Default::default()
                }),
                expected_version: 0,
            },
            &admin,
        ))
        .await
        .expect_err("name is not provided by status events");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(
        err.message().contains("name") && err.message().contains("变量"),
        "{}",
        err.message()
    );
    assert!(!err.message().contains("deadline"), "{}", err.message());
    assert_eq!(count(&h.db, "notice_templates").await, templates_before);
    let err = h
        .notices
        .preview_template(req(
            pb::PreviewTemplateRequest {
                template: Some(pb::Template {
                    key: "*->scored".to_owned(),
                    title_zh: "确认".to_owned(),
                    body_zh: "截止 {{deadline}}，排名 {{rank}}".to_owned(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect_err("rank is not provided");
    assert!(err.message().contains("rank"), "{}", err.message());
}

fn status_event(
    tenant: &str,
    subject: &str,
    from: common::ApplicationStatus,
    to: common::ApplicationStatus,
    due: &str,
) -> pb::DeliverEventRequest {
    pb::DeliverEventRequest {
        event: Some(common::Event {
            event_id: uuid::Uuid::now_v7().to_string(),
            topic: "review.application_status_changed".to_owned(),
            tenant: tenant.to_owned(),
            aggregate_id: "app-1".to_owned(),
            aggregate_version: 2,
            payload: Some(common::event::Payload::ApplicationStatusChanged(
                common::ApplicationStatusChanged {
                    application_id: "app-1".to_owned(),
                    application_number: "WZ-2025-SCH-000123".to_owned(),
                    applicant_subject: subject.to_owned(),
                    from_status: from as i32,
                    to_status: to as i32,
                    reason_zh: "居住证明不清晰".to_owned(),
                    applicant_due_date: due.to_owned(),
                    benefit_name_zh: "积分入学".to_owned(),
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
    }
}

async fn inbox(h: &Harness, subject: &str) -> pb::ListInboxResponse {
    h.notices
        .list_inbox(req(
            pb::ListInboxRequest::default(),
            &caller("suzhou", subject, Role::Applicant),
        ))
        .await
        .expect("inbox")
        .into_inner()
}

#[tokio::test]
async fn a_duplicated_event_yields_one_message_and_defaults_render() {
    let h = harness(0).await;
    let system = caller(&h.tenant, "review", Role::System);
    let subject = format!("resident-{}", unique());
    let event = status_event(
        &h.tenant,
        &subject,
        common::ApplicationStatus::Submitted,
        common::ApplicationStatus::Returned,
        "2025-04-20",
    );
    let first = h
        .notices
        .deliver_event(req(event.clone(), &system))
        .await
        .expect("deliver")
        .into_inner();
    assert!(!first.duplicate);
    assert_eq!(first.messages_created, 1);
    for _ in 0..2 {
        let again = h
            .notices
            .deliver_event(req(event.clone(), &system))
            .await
            .expect("redeliver")
            .into_inner();
        assert!(again.duplicate);
        assert_eq!(again.messages_created, 0);
    }
    let listed = inbox(&h, &subject).await;
    assert_eq!(listed.messages.len(), 1);
    assert_eq!(listed.unread_count, 1);
    let message = &listed.messages[0];
    assert_eq!(
        message.body_zh,
        "您的积分入学申请（编号 WZ-2025-SCH-000123）已退回，原因：居住证明不清晰。请于 2025-04-20 前补正后重新提交。"
    );
    // Only ROLE_SYSTEM delivers events.
    assert_eq!(
        h.notices
            .deliver_event(req(event, &caller(&h.tenant, &subject, Role::Applicant)))
            .await
            .expect_err("applicant")
            .code(),
        Code::PermissionDenied
    );
    let read = h
        .notices
        .mark_read(req(
            pb::MarkReadRequest {
                all: true,
                ..Default::default()
            },
            &caller("suzhou", &subject, Role::Applicant),
        ))
        .await
        .expect("read")
        .into_inner();
    assert_eq!(read.unread_count, 0);
}

#[tokio::test]
async fn tenant_templates_render_variables_and_a_missing_one_holds_the_message() {
    let h = harness(0).await;
    let admin = caller(&h.tenant, "admin-1", Role::DistrictAdmin);
    let system = caller(&h.tenant, "review", Role::System);
    let template = h
        .notices
        .upsert_template(req(
            pb::UpsertTemplateRequest {
                template: Some(pb::Template {
                    key: "submitted->returned".to_owned(),
                    channel: pb::Channel::InApp as i32,
                    title_zh: "{{benefit}}补正通知".to_owned(),
                    body_zh:
                        "申请 {{application_number}} 状态：{{status}}，请于 {{deadline}} 前补正。"
                            .to_owned(),
                    enabled: true,
                    ..Default::default()
                }),
                expected_version: 0,
            },
            &admin,
        ))
        .await
        .expect("upsert")
        .into_inner();
    assert_eq!(
        template.variables,
        ["benefit", "application_number", "status", "deadline"]
    );
    let preview = h
        .notices
        .preview_template(req(
            pb::PreviewTemplateRequest {
                key: "submitted->returned".to_owned(),
                channel: pb::Channel::InApp as i32,
                variables: HashMap::from([("deadline".to_owned(), "2025-05-01".to_owned())]),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("preview")
        .into_inner();
    assert!(preview.body.contains("2025-05-01"), "{}", preview.body);
    assert!(
        preview
            .missing_variables
            .contains(&"application_number".to_owned())
    );

    let subject = format!("resident-{}", unique());
    h.notices
        .deliver_event(req(
            status_event(
                &h.tenant,
                &subject,
                common::ApplicationStatus::Submitted,
                common::ApplicationStatus::Returned,
                "2025-05-01",
            ),
            &system,
        ))
        .await
        .expect("deliver");
    let listed = inbox(&h, &subject).await;
    assert_eq!(listed.messages[0].title_zh, "积分入学补正通知");
    assert_eq!(
        listed.messages[0].body_zh,
        "申请 WZ-2025-SCH-000123 状态：退回补正，请于 2025-05-01 前补正。"
    );

    // The same transition without a deadline: held, never half-rendered.
    let held = h
        .notices
        .deliver_event(req(
            status_event(
                &h.tenant,
                &subject,
                common::ApplicationStatus::Submitted,
                common::ApplicationStatus::Returned,
                "",
            ),
            &system,
        ))
        .await
        .expect("deliver")
        .into_inner();
    assert_eq!(held.messages_created, 0);
    assert_eq!(inbox(&h, &subject).await.messages.len(), 1);
    let deliveries = h
        .notices
        .list_deliveries(req(
            pb::ListDeliveriesRequest {
                status: pb::DeliveryStatus::Failed as i32,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("deliveries")
        .into_inner();
    assert_eq!(deliveries.deliveries.len(), 1);
    assert!(
        deliveries.deliveries[0]
            .last_error
            .contains("缺少变量：deadline"),
        "{}",
        deliveries.deliveries[0].last_error
    );
}

#[tokio::test]
async fn a_sender_down_for_a_while_delays_but_delivers_everything_exactly_once() {
    let h = harness(5).await;
    let system = caller(&h.tenant, "review", Role::System);
    let subject = format!("resident-{}", unique());
    let resident = caller("suzhou", &subject, Role::Applicant);
    h.notices
        .update_preferences(req(
            pb::UpdatePreferencesRequest {
                sms_enabled: true,
                email_enabled: true,
                email: "resident@example.cn".to_owned(),
                mobile: "13812345678".to_owned(),
                expected_version: 0,
            },
            &resident,
        ))
        .await
        .expect("preferences");

    use common::ApplicationStatus as S;
    let transitions = [
        (S::Draft, S::Submitted, ""),
        (S::Submitted, S::DistrictReview, ""),
        (S::CityReview, S::Scored, "2025-06-01"),
        (S::Ranked, S::Publicised, ""),
        (S::Publicised, S::Admitted, ""),
    ];
    let mut events = Vec::new();
    for (from, to, due) in transitions {
        let event = status_event(&h.tenant, &subject, from, to, due);
        events.push(event.clone());
        h.notices
            .deliver_event(req(event, &system))
            .await
            .expect("deliver");
    }
    // At-least-once upstream: everything arrives twice.
    for event in &events {
        h.notices
            .deliver_event(req(event.clone(), &system))
            .await
            .expect("redeliver");
    }

    let worker = h.notices.worker();
    let deadline = h.clock.now() + Duration::hours(6);
    loop {
        worker.run_once().await.expect("worker pass");
        let pending = h
            .notices
            .list_deliveries(req(
                pb::ListDeliveriesRequest {
                    status: pb::DeliveryStatus::Pending as i32,
                    ..Default::default()
                },
                &caller(&h.tenant, "admin", Role::DistrictAdmin),
            ))
            .await
            .expect("deliveries")
            .into_inner();
        if pending.deliveries.is_empty() {
            break;
        }
        assert!(h.clock.now() < deadline, "still pending: {pending:?}");
        h.clock.advance(Duration::seconds(30));
    }
    // Passes after everything was sent change nothing.
    h.clock.advance(Duration::hours(2));
    let idle = worker.run_once().await.expect("idle pass");
    assert_eq!(idle.sent, 0);

    assert_eq!(
        inbox(&h, &subject).await.messages.len(),
        5,
        "one inbox message per event"
    );
    let sms = h.sms.sent();
    let email = h.email.sent();
    assert_eq!(sms.len(), 5, "one SMS per event");
    assert_eq!(email.len(), 5, "one email per event");
    assert!(
        h.sms.attempts.load(Ordering::SeqCst) > 5,
        "the failures were retried"
    );
    let mut ids: Vec<_> = sms.iter().chain(&email).map(|m| m.delivery_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 10, "no delivery sent twice");
    assert!(sms.iter().all(|m| m.destination == "13812345678"));
    assert!(
        sms.iter().any(|m| m.body.contains("2025-06-01")),
        "variables render on SMS too"
    );

    let sent = h
        .notices
        .list_deliveries(req(
            pb::ListDeliveriesRequest {
                status: pb::DeliveryStatus::Sent as i32,
                channel: pb::Channel::Sms as i32,
                ..Default::default()
            },
            &caller(&h.tenant, "admin", Role::DistrictAdmin),
        ))
        .await
        .expect("deliveries")
        .into_inner();
    assert_eq!(sent.deliveries.len(), 5);
    assert!(
        sent.deliveries
            .iter()
            .all(|d| d.destination_masked == "138****5678")
    );
    assert!(sent.deliveries.iter().any(|d| d.attempts > 1));
}

#[tokio::test]
async fn sms_beyond_the_hourly_limit_waits_instead_of_being_dropped() {
    let h = harness(0).await;
    let notices = h
        .notices
        .clone()
        .with_policy(jifen_notices::DeliveryPolicy {
            sms_per_hour: 2,
            ..Default::default()
        });
    let system = caller(&h.tenant, "review", Role::System);
    let subject = format!("resident-{}", unique());
    notices
        .update_preferences(req(
            pb::UpdatePreferencesRequest {
                sms_enabled: true,
                mobile: "13900001111".to_owned(),
                ..Default::default()
            },
            &caller("suzhou", &subject, Role::Applicant),
        ))
        .await
        .expect("preferences");
    use common::ApplicationStatus as S;
    for to in [S::Submitted, S::DistrictReview, S::Publicised] {
        notices
            .deliver_event(req(
                status_event(&h.tenant, &subject, S::Draft, to, ""),
                &system,
            ))
            .await
            .expect("deliver");
    }
    let worker = notices.worker();
    let first = worker.run_once().await.expect("pass");
    assert_eq!((first.sent, first.rate_limited), (2, 1));
    h.clock.advance(Duration::minutes(30));
    assert_eq!(worker.run_once().await.expect("pass").sent, 0);
    h.clock.advance(Duration::minutes(31));
    assert_eq!(worker.run_once().await.expect("pass").sent, 1);
    assert_eq!(h.sms.sent().len(), 3);
}

#[tokio::test]
async fn a_publicity_list_publishes_a_publicity_announcement() {
    let h = harness(0).await;
    let system = caller(&h.tenant, "ranking", Role::System);
    let event = pb::DeliverEventRequest {
        event: Some(common::Event {
            event_id: uuid::Uuid::now_v7().to_string(),
            topic: "ranking.publicity_list_published".to_owned(),
            tenant: h.tenant.clone(),
            payload: Some(common::event::Payload::PublicityListPublished(
                common::PublicityListPublished {
                    list_id: "list-1".to_owned(),
                    title_zh: "2025年积分入学公示名单".to_owned(),
                    content_hash: "sha256:abc".to_owned(),
                    entry_count: 120,
                    publicity: Some(common::DateRange {
                        start_date: "2025-04-01".to_owned(),
                        end_date: "2025-04-07".to_owned(),
                    }),
                    cutoff: 95,
                    ..Default::default()
                },
            )),
            ..Default::default()
        }),
    };
    h.notices
        .deliver_event(req(event.clone(), &system))
        .await
        .expect("deliver");
    h.notices
        .deliver_event(req(event, &system))
        .await
        .expect("again");
    let listed = public_list(&h, &h.tenant, "公示名单").await;
    assert_eq!(
        listed.total_count, 1,
        "published once, visible during publicity"
    );
    assert_eq!(
        listed.announcements[0].category,
        pb::AnnouncementCategory::Publicity as i32
    );
    // 2025-04-08 00:00 in Shanghai closes it.
    h.clock
        .set(Utc.with_ymd_and_hms(2025, 4, 7, 16, 0, 0).unwrap());
    assert_eq!(public_list(&h, &h.tenant, "公示名单").await.total_count, 0);
}
