//! The embedded default: notices on SQLite with the file sender, end to end in one process.

use std::sync::Arc;

use jifen_kit::auth::{Caller, Role};
use jifen_notices::{ManualClock, Notices, Senders};
use jifen_proto::common::v1 as common;
use jifen_proto::notices::v1 as pb;
use jifen_proto::notices::v1::notices_service_server::NoticesService;
use tonic::Request;

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

#[tokio::test]
async fn sqlite_and_the_file_sender_work_end_to_end() {
    let dir = std::env::temp_dir().join(format!("jifen-notices-{}", uuid::Uuid::now_v7()));
    let config = jifen_kit::Config::defaults().database;
    let db = jifen_kit::db::connect("notices", &config, &dir)
        .await
        .expect("sqlite");
    jifen_kit::db::migrate::<jifen_notices::Migrator>("notices", &db)
        .await
        .expect("migrate");
    let clock = ManualClock::new(chrono::Utc::now());
    let notices = Notices::with_clock(
        db,
        Arc::new(clock.clone()),
        Senders::files(dir.join("notices")),
    );
    let admin = caller("wuzhong", "admin", Role::DistrictAdmin);
    let created = notices
        .create_announcement(req(
            pb::CreateAnnouncementRequest {
                category: pb::AnnouncementCategory::Download as i32,
                title_zh: "申报表下载".to_owned(),
                body_markdown: "见附件".to_owned(),
                attachments: vec![pb::AnnouncementAttachment {
                    attachment_id: "att-1".to_owned(),
                    file_name: "申报表.pdf".to_owned(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("create")
        .into_inner();
    notices
        .publish_announcement(req(
            pb::PublishAnnouncementRequest {
                announcement_id: created.announcement_id.clone(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("publish");
    let listed = notices
        .list_announcements(Request::new(pb::ListAnnouncementsRequest {
            tenant: "wuzhong".to_owned(),
            query: "申报表".to_owned(),
            ..Default::default()
        }))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.total_count, 1);
    assert_eq!(
        listed.announcements[0].attachments[0].file_name,
        "申报表.pdf"
    );

    let resident = caller("suzhou", "r1", Role::Applicant);
    notices
        .update_preferences(req(
            pb::UpdatePreferencesRequest {
                sms_enabled: true,
                mobile: "13812345678".to_owned(),
                ..Default::default()
            },
            &resident,
        ))
        .await
        .expect("prefs");
    let event = common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        tenant: "wuzhong".to_owned(),
        payload: Some(common::event::Payload::NotificationRequested(
            common::NotificationRequested {
                recipient_subject: "r1".to_owned(),
                template_key: "*->publicised".to_owned(),
                variables: [
                    ("benefit".to_owned(), "积分入学".to_owned()),
                    ("application_number".to_owned(), "A-1".to_owned()),
                ]
                .into(),
                application_id: String::new(),
            },
        )),
        ..Default::default()
    };
    let system = caller("wuzhong", "review", Role::System);
    let delivered = notices
        .deliver_event(req(pb::DeliverEventRequest { event: Some(event) }, &system))
        .await
        .expect("deliver")
        .into_inner();
    assert_eq!(delivered.messages_created, 1);
    clock.advance(chrono::Duration::seconds(1));
    assert_eq!(notices.worker().run_once().await.expect("pass").sent, 1);
    let lines = std::fs::read_to_string(dir.join("notices/sms.jsonl")).expect("sms file");
    assert_eq!(lines.lines().count(), 1);
    assert!(
        lines.contains("A-1") && lines.contains("13812345678"),
        "{lines}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
