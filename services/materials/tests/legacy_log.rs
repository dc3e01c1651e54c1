//! Materials declared before their rows recorded the uploader's tenant and scope: after the
//! migration their log lists each entry once, with the uploader as it was logged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{Duration, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::BlobStore;
use jifen_kit::config::Config;
use jifen_materials::store::{access_log, material};
use jifen_materials::{Materials, Migrator};
use jifen_proto::materials::v1 as pb;
use jifen_proto::materials::v1::materials_service_server::MaterialsService;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::EntityTrait;
use sea_orm_migration::MigratorTrait;

fn log_row(
    id: &str,
    action: &str,
    subject: &str,
    role: &str,
    tenant: &str,
    scope: Option<&str>,
) -> access_log::ActiveModel {
    access_log::ActiveModel {
        id: Set(id.to_owned()),
        tenant: Set("wuzhong".to_owned()),
        material_id: Set("m-old".to_owned()),
        application_id: Set("app-old".to_owned()),
        action: Set(action.to_owned()),
        actor_subject: Set(subject.to_owned()),
        actor_role: Set(role.to_owned()),
        actor_tenant: Set(tenant.to_owned()),
        actor_scope: Set(scope.map(str::to_owned)),
        granted: Set(true),
        detail: Set(String::new()),
        at: Set(Utc::now()),
    }
}

#[tokio::test]
async fn rows_declared_before_the_migration_are_listed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::defaults();
    let db = jifen_kit::db::connect("materials", &config.database, dir.path())
        .await
        .expect("db");
    // Every step before the one that adds the uploader's tenant and scope.
    let before = Migrator::migrations().len() - 1;
    Migrator::up(&db, Some(u32::try_from(before).expect("steps")))
        .await
        .expect("earlier migrations");
    let declared = Utc::now() - Duration::minutes(5);
    material::Entity::insert(material::ActiveModel {
        id: Set("m-old".to_owned()),
        tenant: Set("wuzhong".to_owned()),
        application_id: Set("app-old".to_owned()),
        indicator: Set("residence_years".to_owned()),
        verifier_department: Set(None),
        file_name: Set("居住证.pdf".to_owned()),
        content_type: Set("application/pdf".to_owned()),
        size_bytes: Set(1024),
        sha256: Set("ab".repeat(32)),
        status: Set("available".to_owned()),
        rejection_reason: Set(None),
        replaces_material_id: Set(None),
        replaced_by_material_id: Set(None),
        uploaded_by: Set("street-1".to_owned()),
        uploaded_by_role: Set("street_reviewer".to_owned()),
        uploaded_by_tenant: NotSet,
        uploaded_by_scope: NotSet,
        object_key: Set("tenants/wuzhong/applications/app-old/m-old".to_owned()),
        created_at: Set(declared),
        upload_expires_at: Set(declared + Duration::minutes(10)),
        confirmed_at: Set(Some(declared + Duration::minutes(1))),
        removed_at: Set(None),
    })
    .exec_without_returning(&db)
    .await
    .expect("old material");
    let uploader = ("street-1", "street_reviewer", "suzhou", Some("S01"));
    access_log::Entity::insert_many([
        log_row(
            "0001",
            "upload_url_issued",
            uploader.0,
            uploader.1,
            uploader.2,
            uploader.3,
        ),
        log_row(
            "0002",
            "confirmed",
            uploader.0,
            uploader.1,
            uploader.2,
            uploader.3,
        ),
        log_row(
            "0003",
            "download_url_issued",
            "district-1",
            "district_reviewer",
            "wuzhong",
            None,
        ),
    ])
    .exec_without_returning(&db)
    .await
    .expect("old log");

    Migrator::up(&db, None).await.expect("the migration");

    let svc = Materials::new(db, BlobStore::new(&config.s3, "http://127.0.0.1:9"));
    let mut request = tonic::Request::new(pb::ListAccessLogRequest {
        application_id: "app-old".to_owned(),
        ..Default::default()
    });
    request.extensions_mut().insert(Caller {
        tenant: "wuzhong".to_owned(),
        subject: "admin-1".to_owned(),
        roles: vec![Role::DistrictAdmin],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    });
    let entries = svc
        .list_access_log(request)
        .await
        .expect("log")
        .into_inner()
        .entries;
    let actions: Vec<i32> = entries.iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            pb::AccessAction::UploadUrlIssued as i32,
            pb::AccessAction::Confirmed as i32,
            pb::AccessAction::DownloadUrlIssued as i32,
        ]
    );
    for entry in &entries[..2] {
        let actor = entry.actor.as_ref().expect("actor");
        assert_eq!(
            (
                actor.subject.as_str(),
                actor.tenant.as_str(),
                actor.scope_code.as_str()
            ),
            ("street-1", "suzhou", "S01")
        );
    }
}
