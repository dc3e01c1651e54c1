//! Street and department scope of evidence reads, against the embedded S3 endpoint and SQLite:
//! a street reviewer gets URLs only for applications of their street, a department verifier
//! only for indicators review routed to their department, whatever the uploader declared. And
//! what the access log lists of those reads and of the uploads, rows declared before the
//! uploader's tenant was kept included. And who may declare files for an application.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};

use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::BlobStore;
use jifen_kit::config::Config;
use jifen_kit::embedded_s3::EmbeddedS3;
use jifen_materials::domain::access::{ApplicationScope, Verification};
use jifen_materials::scopes::{ScopeSource, StaticScopes};
use jifen_materials::store::{access_log, material};
use jifen_materials::{Materials, MaterialsError, Migrator};
use jifen_proto::materials::v1 as pb;
use jifen_proto::materials::v1::materials_service_server::MaterialsService;
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::EntityTrait;
use sea_orm_migration::MigratorTrait;
use sha2::{Digest, Sha256};
use tonic::{Code, Request};

struct Env {
    svc: Materials,
    db: sea_orm::DatabaseConnection,
    blob: BlobStore,
    scopes: StaticScopes,
    _s3: EmbeddedS3,
    _dir: tempfile::TempDir,
}

const TENANT: &str = "wuzhong";

async fn env_with(scopes: Option<Arc<dyn ScopeSource>>) -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = Config::defaults();
    let s3 = EmbeddedS3::start(
        &dir.path().join("objects"),
        "127.0.0.1:0".parse().expect("addr"),
        &config.s3.bucket,
        &config.s3.access_key_id,
        &config.s3.secret_access_key,
    )
    .await
    .expect("embedded s3");
    let blob = BlobStore::new(&config.s3, &s3.endpoint());
    let db = jifen_kit::db::connect("materials", &config.database, dir.path())
        .await
        .expect("db");
    jifen_kit::db::migrate::<Migrator>("materials", &db)
        .await
        .expect("migrate");
    let known = StaticScopes::new();
    let source = scopes.unwrap_or_else(|| Arc::new(known.clone()));
    let svc = Materials::new(db.clone(), blob.clone()).with_scopes(source);
    Env {
        svc,
        db,
        blob,
        scopes: known,
        _s3: s3,
        _dir: dir,
    }
}

fn person(subject: &str, role: Role) -> Caller {
    Caller {
        tenant: TENANT.to_owned(),
        subject: subject.to_owned(),
        roles: vec![role],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

fn street_reviewer(street: Option<&str>) -> Caller {
    Caller {
        street: street.map(str::to_owned),
        ..person(
            &format!("street-{}", street.unwrap_or("none")),
            Role::StreetReviewer,
        )
    }
}

fn verifier(department: &str) -> Caller {
    Caller {
        department: Some(department.to_owned()),
        ..person(&format!("verifier-{department}"), Role::DepartmentVerifier)
    }
}

fn req<T>(message: T, caller: &Caller) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(caller.clone());
    request
}

fn pdf(tag: &str) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', 1024));
    bytes
}

/// Declares (naming `declared_department` as verifier), PUTs and confirms a PDF.
async fn upload(env: &Env, application: &str, declared_department: &str) -> String {
    let id = declare_and_put(env, application, declared_department).await;
    confirm(&env.svc, &id).await.expect("confirm");
    id
}

/// Returns the declaration of `bytes` as `file_name` for `application`'s residence evidence.
fn declaration(
    application: &str,
    file_name: &str,
    bytes: &[u8],
    declared_department: &str,
) -> pb::CreateUploadRequest {
    pb::CreateUploadRequest {
        application_id: application.to_owned(),
        indicator: "residence_years".to_owned(),
        file_name: file_name.to_owned(),
        content_type: "application/pdf".to_owned(),
        size_bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        verifier_department: declared_department.to_owned(),
    }
}

/// Declares (naming `declared_department` as verifier) and PUTs a PDF; returns its id.
async fn declare_and_put(env: &Env, application: &str, declared_department: &str) -> String {
    let owner = person("applicant-1", Role::Applicant);
    let bytes = pdf(application);
    let created = env
        .svc
        .create_upload(req(
            declaration(application, "居住证.pdf", &bytes, declared_department),
            &owner,
        ))
        .await
        .expect("create")
        .into_inner();
    let upload = created.upload.expect("upload");
    let mut put = reqwest::Client::new().put(&upload.url).body(bytes);
    for (name, value) in &upload.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            put = put.header(name, value);
        }
    }
    assert!(put.send().await.expect("put").status().is_success());
    created.material.expect("material").material_id
}

/// Confirms upload `id` on `svc` as its applicant.
async fn confirm(svc: &Materials, id: &str) -> Result<pb::Material, tonic::Status> {
    let request = req(
        pb::ConfirmUploadRequest {
            material_id: id.to_owned(),
        },
        &person("applicant-1", Role::Applicant),
    );
    svc.confirm_upload(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn download(env: &Env, who: &Caller, material_id: &str) -> Result<String, tonic::Status> {
    env.svc
        .get_download_url(req(
            pb::GetDownloadUrlRequest {
                material_id: material_id.to_owned(),
                disposition: pb::Disposition::Inline as i32,
            },
            who,
        ))
        .await
        .map(|r| r.into_inner().download.expect("download").url)
}

fn refused(result: Result<String, tonic::Status>, who: &str) {
    match result {
        Ok(url) => panic!("{who} got a URL: {url}"),
        Err(status) => assert!(
            matches!(status.code(), Code::PermissionDenied | Code::NotFound),
            "{who}: {status:?}"
        ),
    }
}

fn scope(street: &str) -> ApplicationScope {
    ApplicationScope {
        street_code: street.to_owned(),
        verifications: vec![Verification {
            indicator: "residence_years".to_owned(),
            department: "gongan".to_owned(),
            material_ids: vec![],
        }],
    }
}

#[tokio::test]
async fn street_reviewers_and_verifiers_read_only_within_their_scope() {
    let env = env_with(None).await;
    env.scopes.set(TENANT, "app-s1", scope("wz.street.01"));
    // The uploader names the wrong department; review's routing decides.
    let material = upload(&env, "app-s1", "renshe").await;

    let url = download(&env, &street_reviewer(Some("wz.street.01")), &material)
        .await
        .expect("a reviewer of the application's street reads it");
    assert_eq!(reqwest::get(&url).await.expect("get").status(), 200);
    download(&env, &person("district", Role::DistrictReviewer), &material)
        .await
        .expect("district reviewer");
    download(&env, &verifier("gongan"), &material)
        .await
        .expect("the department review routed the indicator to");

    refused(
        download(&env, &street_reviewer(Some("wz.street.02")), &material).await,
        "a reviewer of another street",
    );
    refused(
        download(&env, &street_reviewer(None), &material).await,
        "a street reviewer without a street claim",
    );
    refused(
        download(&env, &verifier("renshe"), &material).await,
        "the department the uploader named",
    );
    for outsider in [street_reviewer(Some("wz.street.02")), verifier("renshe")] {
        let err = env
            .svc
            .get_material(req(
                pb::GetMaterialRequest {
                    material_id: material.clone(),
                },
                &outsider,
            ))
            .await
            .expect_err("no metadata either");
        assert_eq!(err.code(), Code::PermissionDenied);
        let err = env
            .svc
            .list_materials(req(
                pb::ListMaterialsRequest {
                    application_id: "app-s1".to_owned(),
                    ..Default::default()
                },
                &outsider,
            ))
            .await
            .expect_err("no listing");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let listed = env
        .svc
        .list_materials(req(
            pb::ListMaterialsRequest {
                application_id: "app-s1".to_owned(),
                ..Default::default()
            },
            &street_reviewer(Some("wz.street.01")),
        ))
        .await
        .expect("own street lists")
        .into_inner();
    assert_eq!(listed.materials.len(), 1);

    // The applicant moves to another street (a returned application): review's answer changes,
    // and so does who may read.
    env.scopes.set(TENANT, "app-s1", scope("wz.street.02"));
    refused(
        download(&env, &street_reviewer(Some("wz.street.01")), &material).await,
        "the old street",
    );
    download(&env, &street_reviewer(Some("wz.street.02")), &material)
        .await
        .expect("the new street");

    // Review does not know the application: street reviewers and verifiers get nothing.
    let unknown = upload(&env, "app-unknown", "gongan").await;
    refused(
        download(&env, &street_reviewer(Some("wz.street.01")), &unknown).await,
        "street reviewer, unknown application",
    );
    refused(
        download(&env, &verifier("gongan"), &unknown).await,
        "verifier, unknown application",
    );

    // Refusals are logged with the street they were asked under.
    let log = env
        .svc
        .list_access_log(req(
            pb::ListAccessLogRequest {
                material_id: material.clone(),
                ..Default::default()
            },
            &person("admin", Role::DistrictAdmin),
        ))
        .await
        .expect("log")
        .into_inner()
        .entries;
    assert!(log.iter().any(|e| {
        let actor = e.actor.as_ref().expect("actor");
        !e.granted
            && e.action == pb::AccessAction::DownloadUrlIssued as i32
            && actor.scope_code == "wz.street.02"
    }));
}

/// A scope source that cannot answer (review down).
#[derive(Debug)]
struct ReviewDown;

#[tonic::async_trait]
impl ScopeSource for ReviewDown {
    async fn scope(
        &self,
        _tenant: &str,
        _application_id: &str,
    ) -> Result<Option<ApplicationScope>, MaterialsError> {
        Err(MaterialsError::Unavailable(
            "review: connection refused".to_owned(),
        ))
    }
}

#[tokio::test]
async fn without_review_scoped_staff_get_no_url_and_others_are_unaffected() {
    let env = env_with(Some(Arc::new(ReviewDown))).await;
    let material = upload(&env, "app-d", "gongan").await;
    let err = download(&env, &street_reviewer(Some("wz.street.01")), &material)
        .await
        .expect_err("no answer, no URL");
    assert_eq!(err.code(), Code::Unavailable);
    assert!(!err.message().contains("connection refused"), "{err:?}");
    download(&env, &person("district", Role::DistrictReviewer), &material)
        .await
        .expect("district reviewers do not need review's answer");
    download(&env, &person("applicant-1", Role::Applicant), &material)
        .await
        .expect("the owner neither");
}

/// What both access-log tests list: a declaration, its confirmation, one download.
const DECLARED_CONFIRMED_DOWNLOADED: [pb::AccessAction; 3] = [
    pb::AccessAction::UploadUrlIssued,
    pb::AccessAction::Confirmed,
    pb::AccessAction::DownloadUrlIssued,
];

fn actions(entries: &[pb::AccessLogEntry]) -> Vec<pb::AccessAction> {
    entries.iter().map(pb::AccessLogEntry::action).collect()
}

/// The access log lists a material's declaration and confirmation (which its row records) with
/// the logged downloads, in time order, the same page by page as whole.
#[tokio::test]
async fn the_log_lists_declaration_confirmation_and_downloads_in_order() {
    let env = env_with(None).await;
    let id = upload(&env, "app-log", "").await;
    download(&env, &person("district-1", Role::DistrictReviewer), &id)
        .await
        .expect("download");
    let admin = person("admin-1", Role::DistrictAdmin);
    let page = |page_size: i32, page_token: String| {
        env.svc.list_access_log(req(
            pb::ListAccessLogRequest {
                application_id: "app-log".to_owned(),
                page_size,
                page_token,
                ..Default::default()
            },
            &admin,
        ))
    };
    let all = page(0, String::new())
        .await
        .expect("log")
        .into_inner()
        .entries;
    assert_eq!(actions(&all), DECLARED_CONFIRMED_DOWNLOADED);
    for entry in &all[..2] {
        let actor = entry.actor.as_ref().expect("actor");
        assert_eq!(
            (actor.subject.as_str(), actor.tenant.as_str(), actor.role),
            (
                "applicant-1",
                TENANT,
                jifen_proto::common::v1::Role::Applicant as i32
            )
        );
        assert!(entry.granted && entry.material_id == id);
    }
    let mut paged = Vec::new();
    let mut token = String::new();
    loop {
        let one = page(1, token).await.expect("page").into_inner();
        paged.extend(one.entries);
        if one.next_page_token.is_empty() {
            break;
        }
        token = one.next_page_token;
    }
    assert_eq!(paged, all);
}

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

/// Materials declared before their rows recorded the uploader's tenant and scope: after the
/// migration their log lists each entry once, with the uploader as it was logged.
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
    let entries = svc
        .list_access_log(req(
            pb::ListAccessLogRequest {
                application_id: "app-old".to_owned(),
                ..Default::default()
            },
            &person("admin-1", Role::DistrictAdmin),
        ))
        .await
        .expect("log")
        .into_inner()
        .entries;
    assert_eq!(actions(&entries), DECLARED_CONFIRMED_DOWNLOADED);
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

/// An application a street reviewer uploaded to first has no applicant yet: the first applicant
/// who declares a file for it claims it, and another applicant then finds no such application.
#[tokio::test]
async fn the_first_applicant_to_upload_claims_an_unowned_application() {
    let env = env_with(None).await;
    let declare = |who: Caller, tag: &str| {
        let request = req(
            declaration("app-claimed", &format!("{tag}.pdf"), &pdf(tag), ""),
            &who,
        );
        let svc = env.svc.clone();
        async move { svc.create_upload(request).await }
    };
    declare(street_reviewer(Some("s1")), "staff")
        .await
        .expect("a reviewer declares first");
    declare(person("applicant-1", Role::Applicant), "first")
        .await
        .expect("the first applicant claims it");
    declare(person("applicant-1", Role::Applicant), "again")
        .await
        .expect("and declares again");
    let err = declare(person("applicant-2", Role::Applicant), "second")
        .await
        .expect_err("another applicant");
    assert_eq!(err.code(), Code::NotFound);
    assert_eq!(err.message(), "申请不存在");
}

/// A confirmation reaching a replica that did not declare the upload reads the row; one reaching
/// the declaring replica (which remembers the row as pending) after the upload was confirmed
/// elsewhere, or deleted, answers from the row as it is now.
#[tokio::test]
async fn confirmations_answer_from_the_row_as_it_is_now() {
    let env = env_with(None).await;
    let other_replica = Materials::new(env.db.clone(), env.blob.clone());
    let owner = person("applicant-1", Role::Applicant);
    let available = pb::MaterialStatus::Available as i32;

    let id = declare_and_put(&env, "app-replicas", "").await;
    let there = confirm(&other_replica, &id).await.expect("another replica");
    assert_eq!(there.status, available);
    let here = confirm(&env.svc, &id).await.expect("the declaring replica");
    assert_eq!(here.status, available);
    assert_eq!(here.confirmed_at, there.confirmed_at, "confirmed once");

    let id = declare_and_put(&env, "app-deleted", "").await;
    env.svc
        .delete_material(req(
            pb::DeleteMaterialRequest {
                material_id: id.clone(),
            },
            &owner,
        ))
        .await
        .expect("delete");
    let err = confirm(&env.svc, &id).await.expect_err("deleted");
    assert_eq!(err.code(), Code::NotFound);
    let row = material::Entity::find_by_id(id)
        .one(&env.db)
        .await
        .expect("read")
        .expect("row");
    assert_eq!(row.status, "deleted", "the deletion stands");
}
