//! Materials against real PostgreSQL and the embedded S3 endpoint (which checks signatures): the
//! service is driven directly with a verified caller in the request extensions, and the bytes go
//! through the presigned URLs exactly as a browser sends them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::BlobStore;
use jifen_kit::config::Config;
use jifen_kit::embedded_s3::EmbeddedS3;
use jifen_materials::domain::access::{ApplicationScope, Verification};
use jifen_materials::scopes::StaticScopes;
use jifen_materials::{Clock, ManualClock, Materials, Migrator};
use jifen_proto::common::v1 as common;
use jifen_proto::materials::v1 as pb;
use jifen_proto::materials::v1::materials_service_server::MaterialsService;
use sha2::{Digest, Sha256};
use tonic::{Code, Request};

struct Env {
    svc: Materials,
    blob: BlobStore,
    clock: ManualClock,
    /// What review would answer about applications (street, verifying departments).
    scopes: StaticScopes,
    tenant: String,
    _s3: EmbeddedS3,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
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
    config.database.url = jifen::testkit::postgres_url().await;
    config.database.max_connections = 5;
    let db = jifen_kit::db::connect("materials", &config.database, dir.path())
        .await
        .expect("db");
    jifen_kit::db::migrate::<Migrator>("materials", &db)
        .await
        .expect("migrate");
    let clock = ManualClock::new(Utc::now());
    let scopes = StaticScopes::new();
    let svc = Materials::with_clock(db, blob.clone(), Arc::new(clock.clone()))
        .with_scopes(Arc::new(scopes.clone()));
    Env {
        svc,
        blob,
        clock,
        scopes,
        tenant: format!("t{}", uuid::Uuid::new_v4().simple()),
        _s3: s3,
        _dir: dir,
    }
}

fn person(tenant: &str, subject: &str, role: Role) -> Caller {
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

fn verifier(tenant: &str, department: &str) -> Caller {
    Caller {
        department: Some(department.to_owned()),
        ..person(
            tenant,
            &format!("verifier-{department}"),
            Role::DepartmentVerifier,
        )
    }
}

fn street_reviewer(tenant: &str, street: &str) -> Caller {
    Caller {
        street: Some(street.to_owned()),
        ..person(tenant, &format!("reviewer-{street}"), Role::StreetReviewer)
    }
}

fn req<T>(message: T, caller: &Caller) -> Request<T> {
    let mut request = Request::new(message);
    request.extensions_mut().insert(caller.clone());
    request
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn pdf(tag: &str) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\n".to_vec();
    bytes.extend_from_slice(tag.as_bytes());
    bytes.extend(std::iter::repeat_n(b' ', 2048));
    bytes.extend_from_slice(b"\n%%EOF\n");
    bytes
}

fn png() -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    bytes.extend(std::iter::repeat_n(0u8, 64));
    bytes
}

fn declare(
    application: &str,
    name: &str,
    content_type: &str,
    bytes: &[u8],
) -> pb::CreateUploadRequest {
    pb::CreateUploadRequest {
        application_id: application.to_owned(),
        indicator: "residence_years".to_owned(),
        file_name: name.to_owned(),
        content_type: content_type.to_owned(),
        size_bytes: bytes.len() as u64,
        sha256: sha256(bytes),
        verifier_department: "gongan".to_owned(),
    }
}

/// PUTs `body` to a presigned upload exactly as a browser would (the declared headers; the
/// length comes from the body).
async fn put(upload: &pb::PresignedRequest, body: Vec<u8>) -> reqwest::Response {
    assert_eq!(upload.method, "PUT");
    let mut request = reqwest::Client::new().put(&upload.url).body(body);
    for (name, value) in &upload.headers {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value);
        }
    }
    request.send().await.expect("put")
}

/// Declares, PUTs and confirms a file; returns the confirmed material.
async fn upload(
    env: &Env,
    who: &Caller,
    application: &str,
    name: &str,
    bytes: &[u8],
) -> pb::Material {
    let created = env
        .svc
        .create_upload(req(
            declare(application, name, "application/pdf", bytes),
            who,
        ))
        .await
        .expect("create upload")
        .into_inner();
    let upload = created.upload.expect("presigned put");
    let answer = put(&upload, bytes.to_vec()).await;
    assert!(answer.status().is_success(), "{}", answer.status());
    let material_id = created.material.expect("material").material_id;
    env.svc
        .confirm_upload(req(pb::ConfirmUploadRequest { material_id }, who))
        .await
        .expect("confirm")
        .into_inner()
}

async fn object_exists(env: &Env, key: &str) -> bool {
    env.blob
        .client
        .head_object()
        .bucket(&env.blob.bucket)
        .key(key)
        .send()
        .await
        .is_ok()
}

async fn keys_under(env: &Env, prefix: &str) -> Vec<String> {
    let listed = env
        .blob
        .client
        .list_objects_v2()
        .bucket(&env.blob.bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("list");
    listed
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

fn key(env: &Env, application: &str, material_id: &str) -> String {
    format!(
        "tenants/{}/applications/{application}/{material_id}",
        env.tenant
    )
}

async fn download_url(env: &Env, who: &Caller, material_id: &str) -> Result<String, tonic::Status> {
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

#[tokio::test]
async fn upload_confirm_and_reviewer_download() {
    let env = env().await;
    let t = env.tenant.clone();
    // Review's view of app-1: street of residence, residence_years verified by gongan.
    env.scopes.set(
        &t,
        "app-1",
        ApplicationScope {
            street_code: "s01".to_owned(),
            verifications: vec![Verification {
                indicator: "residence_years".to_owned(),
                department: "gongan".to_owned(),
                material_ids: vec![],
            }],
        },
    );
    let owner = person(&t, "applicant-1", Role::Applicant);
    let bytes = pdf("户口簿");
    let material = upload(&env, &owner, "app-1", "户口簿.pdf", &bytes).await;
    assert_eq!(material.status, pb::MaterialStatus::Available as i32);
    assert_eq!(material.content_type, "application/pdf");
    assert!(object_exists(&env, &key(&env, "app-1", &material.material_id)).await);

    for reader in [
        person(&t, "reviewer-d", Role::DistrictReviewer),
        street_reviewer(&t, "s01"),
        verifier(&t, "gongan"),
        owner.clone(),
    ] {
        let url = download_url(&env, &reader, &material.material_id)
            .await
            .unwrap_or_else(|e| panic!("{:?} may read: {e}", reader.roles));
        let got = reqwest::get(&url).await.expect("get");
        assert_eq!(got.status(), 200);
        assert_eq!(
            got.headers()["content-type"].to_str().expect("type"),
            "application/pdf"
        );
        assert_eq!(got.bytes().await.expect("body").as_ref(), bytes.as_slice());
    }

    // Not readers: a street reviewer of another street, another applicant, a verifier of
    // another department, an admin.
    let other_street = download_url(&env, &street_reviewer(&t, "s02"), &material.material_id)
        .await
        .expect_err("another street");
    assert!(
        matches!(other_street.code(), Code::PermissionDenied | Code::NotFound),
        "{other_street:?}"
    );
    let stranger = download_url(
        &env,
        &person(&t, "applicant-2", Role::Applicant),
        &material.material_id,
    )
    .await
    .expect_err("another applicant");
    assert_eq!(stranger.code(), Code::NotFound);
    let other_department = download_url(&env, &verifier(&t, "renshe"), &material.material_id)
        .await
        .expect_err("other department");
    assert_eq!(other_department.code(), Code::PermissionDenied);
    let admin = person(&t, "admin", Role::DistrictAdmin);
    assert_eq!(
        download_url(&env, &admin, &material.material_id)
            .await
            .expect_err("admin is no reader")
            .code(),
        Code::PermissionDenied
    );

    // The same file again in the same application is reported as a duplicate, with no URL.
    let dup = env
        .svc
        .create_upload(req(
            declare("app-1", "副本.pdf", "application/pdf", &bytes),
            &owner,
        ))
        .await
        .expect("duplicate answer")
        .into_inner();
    assert_eq!(dup.duplicate_of, material.material_id);
    assert!(dup.upload.is_none());

    // Every access is logged, refused ones included; admins read the log, the owner sees roles.
    let log = env
        .svc
        .list_access_log(req(
            pb::ListAccessLogRequest {
                material_id: material.material_id.clone(),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("access log")
        .into_inner()
        .entries;
    let downloads: Vec<_> = log
        .iter()
        .filter(|e| e.action == pb::AccessAction::DownloadUrlIssued as i32)
        .collect();
    assert_eq!(downloads.iter().filter(|e| e.granted).count(), 4);
    assert_eq!(downloads.iter().filter(|e| !e.granted).count(), 4);
    assert!(downloads.iter().any(|e| {
        let actor = e.actor.as_ref().expect("actor");
        actor.subject == "verifier-renshe"
            && actor.role == common::Role::DepartmentVerifier as i32
            && actor.scope_code == "renshe"
            && !e.granted
    }));
    assert!(
        log.iter()
            .any(|e| e.action == pb::AccessAction::Confirmed as i32)
    );
    let seen_by_owner = env
        .svc
        .list_access_log(req(
            pb::ListAccessLogRequest {
                application_id: "app-1".to_owned(),
                ..Default::default()
            },
            &owner,
        ))
        .await
        .expect("owner's log")
        .into_inner()
        .entries;
    assert!(seen_by_owner.iter().all(|e| {
        let actor = e.actor.as_ref().expect("actor");
        actor.subject.is_empty() || actor.subject == owner.subject
    }));
    assert_eq!(
        env.svc
            .list_access_log(req(
                pb::ListAccessLogRequest {
                    application_id: "app-1".to_owned(),
                    ..Default::default()
                },
                &person(&t, "reviewer-d", Role::DistrictReviewer),
            ))
            .await
            .expect_err("reviewers do not read the log")
            .code(),
        Code::PermissionDenied
    );
}

#[tokio::test]
async fn presigned_put_is_bound_to_type_and_length() {
    let env = env().await;
    let owner = person(&env.tenant, "applicant-1", Role::Applicant);
    let bytes = pdf("bound");
    let created = env
        .svc
        .create_upload(req(
            declare("app-b", "a.pdf", "application/pdf", &bytes),
            &owner,
        ))
        .await
        .expect("create")
        .into_inner();
    let mut upload = created.upload.expect("upload");
    let names: Vec<String> = upload
        .headers
        .keys()
        .map(|k| k.to_ascii_lowercase())
        .collect();
    assert!(names.contains(&"content-type".to_owned()), "{names:?}");
    assert!(
        names.contains(&"x-amz-checksum-sha256".to_owned()),
        "{names:?}"
    );
    assert!(
        upload.url.contains("content-length"),
        "length is signed: {}",
        upload.url
    );

    let longer = [bytes.clone(), b"extra".to_vec()].concat();
    assert_eq!(put(&upload, longer).await.status(), 403, "another length");
    let declared_type = upload
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(k, _)| k.clone())
        .expect("type header");
    upload.headers.insert(declared_type, "text/html".to_owned());
    assert_eq!(put(&upload, bytes).await.status(), 403, "another type");
}

#[tokio::test]
async fn expired_and_tampered_urls_are_refused() {
    let env = env().await;
    let t = env.tenant.clone();
    let owner = person(&t, "applicant-1", Role::Applicant);
    let material = upload(&env, &owner, "app-2", "证明.pdf", &pdf("ttl")).await;
    let reviewer = person(&t, "reviewer", Role::DistrictReviewer);

    let url = download_url(&env, &reviewer, &material.material_id)
        .await
        .expect("url");
    let tampered = [
        url.replace(&material.material_id, &format!("{}x", material.material_id)),
        url.replace("X-Amz-Expires=300", "X-Amz-Expires=3000"),
        {
            let at = url.find("X-Amz-Signature=").expect("signature") + "X-Amz-Signature=".len();
            let mut bytes = url.clone().into_bytes();
            bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
            String::from_utf8(bytes).expect("utf8")
        },
    ];
    for bad in tampered {
        assert_ne!(bad, url);
        assert_eq!(
            reqwest::get(&bad).await.expect("get").status(),
            403,
            "{bad}"
        );
    }
    assert_eq!(reqwest::get(&url).await.expect("get").status(), 200);

    // A 1-second URL stops working once its lifetime is over.
    let admin = person(&t, "admin", Role::DistrictAdmin);
    env.svc
        .update_upload_policy(req(
            pb::UpdateUploadPolicyRequest {
                policy: Some(pb::UploadPolicy {
                    download_url_ttl_seconds: 1,
                    ..Default::default()
                }),
                expected_version: 0,
                ..Default::default()
            },
            &admin,
        ))
        .await
        .expect("policy");
    let short = download_url(&env, &reviewer, &material.material_id)
        .await
        .expect("url");
    assert!(short.contains("X-Amz-Expires=1"), "{short}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let answer = reqwest::get(&short).await.expect("get");
        if answer.status() == 403 {
            break answer.text().await.expect("body");
        }
        assert_eq!(answer.status(), 200);
        assert!(Instant::now() < deadline, "URL still valid after 10 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(body.contains("expired"), "{body}");
}

#[tokio::test]
async fn exe_renamed_pdf_is_refused_and_removed() {
    let env = env().await;
    let owner = person(&env.tenant, "applicant-1", Role::Applicant);
    let mut exe = b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0\xb8\0\0\0\0\0\0\0@\0".to_vec();
    exe.extend(std::iter::repeat_n(0u8, 512));
    let created = env
        .svc
        .create_upload(req(
            declare("app-3", "setup.pdf", "application/pdf", &exe),
            &owner,
        ))
        .await
        .expect("declaring is fine: the name and type look right")
        .into_inner();
    let id = created.material.expect("material").material_id;
    assert!(
        put(&created.upload.expect("upload"), exe)
            .await
            .status()
            .is_success()
    );
    assert!(object_exists(&env, &key(&env, "app-3", &id)).await);

    let refused = env
        .svc
        .confirm_upload(req(
            pb::ConfirmUploadRequest {
                material_id: id.clone(),
            },
            &owner,
        ))
        .await
        .expect_err("exe refused");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(refused.message(), "文件内容不是PDF/JPEG/PNG格式");
    assert!(
        !object_exists(&env, &key(&env, "app-3", &id)).await,
        "object removed"
    );
    let stored = env
        .svc
        .get_material(req(
            pb::GetMaterialRequest {
                material_id: id.clone(),
            },
            &owner,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(stored.status, pb::MaterialStatus::Rejected as i32);
    assert_eq!(stored.rejection_reason, "文件内容不是PDF/JPEG/PNG格式");
    let reviewer = person(&env.tenant, "reviewer", Role::DistrictReviewer);
    assert_eq!(
        download_url(&env, &reviewer, &id)
            .await
            .expect_err("not downloadable")
            .code(),
        Code::FailedPrecondition
    );

    // A real PNG declared as PDF is refused too, naming both types.
    let image = png();
    let created = env
        .svc
        .create_upload(req(
            declare("app-3", "scan.pdf", "application/pdf", &image),
            &owner,
        ))
        .await
        .expect("create")
        .into_inner();
    let id = created.material.expect("material").material_id;
    put(&created.upload.expect("upload"), image).await;
    let refused = env
        .svc
        .confirm_upload(req(pb::ConfirmUploadRequest { material_id: id }, &owner))
        .await
        .expect_err("type mismatch");
    assert_eq!(refused.message(), "文件内容是PNG格式，与声明的PDF格式不符");
}

#[tokio::test]
async fn bad_declarations_and_bad_uploads_get_clear_errors_and_leave_nothing() {
    let env = env().await;
    let t = env.tenant.clone();
    let owner = person(&t, "applicant-1", Role::Applicant);
    let bytes = pdf("x");
    let cases: [(pb::CreateUploadRequest, &str); 6] = [
        (
            pb::CreateUploadRequest {
                size_bytes: 0,
                sha256: sha256(b""),
                ..declare("app-4", "empty.pdf", "application/pdf", &bytes)
            },
            "文件为空（0字节），请选择有内容的文件",
        ),
        (
            pb::CreateUploadRequest {
                size_bytes: 10 * 1024 * 1024 + 1,
                ..declare("app-4", "big.pdf", "application/pdf", &bytes)
            },
            "文件过大：单个文件不能超过10 MB",
        ),
        (
            declare("app-4", "../../etc/passwd.pdf", "application/pdf", &bytes),
            "文件名（file_name）不能包含路径（/、\\ 或 ..）",
        ),
        (
            declare("app-4", "a\u{7}\r\n.pdf", "application/pdf", &bytes),
            "文件名（file_name）不能包含控制字符",
        ),
        (
            declare("app-4", "setup.exe", "application/x-msdownload", &bytes),
            "只能上传PDF/JPEG/PNG格式的文件",
        ),
        (
            pb::CreateUploadRequest {
                sha256: "not-a-digest".to_owned(),
                ..declare("app-4", "a.pdf", "application/pdf", &bytes)
            },
            "文件校验值（sha256）应为64位十六进制字符",
        ),
    ];
    for (declaration, message) in cases {
        let err = env
            .svc
            .create_upload(req(declaration, &owner))
            .await
            .expect_err(message);
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), message);
    }

    // Checksum mismatch through the presigned URL: the store refuses the bytes (the checksum is
    // a signed header), and confirmation says the upload did not arrive.
    let created = env
        .svc
        .create_upload(req(
            declare("app-4", "a.pdf", "application/pdf", &bytes),
            &owner,
        ))
        .await
        .expect("create")
        .into_inner();
    let id = created.material.expect("material").material_id;
    let mut other = bytes.clone();
    let last = other.len() - 2;
    other[last] = b'X';
    let answer = put(&created.upload.expect("upload"), other.clone()).await;
    assert_eq!(answer.status(), 400, "the store checks the signed checksum");
    let err = env
        .svc
        .confirm_upload(req(pb::ConfirmUploadRequest { material_id: id }, &owner))
        .await
        .expect_err("nothing usable arrived");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        err.message(),
        "未找到已上传的文件（上传未完成或被拒绝），请重新上传"
    );

    // A store that is not relied on to check checksums (the object written around the URL):
    // confirmation reads the checksum the store kept, or hashes the object, and a size mismatch
    // is caught before that.
    let checking = env.svc.clone().checking_checksums_itself();
    let size_message = format!(
        "文件大小与声明不一致（声明{}字节，实际{}字节），请重新上传",
        bytes.len(),
        bytes.len() + 1
    );
    for (body, message) in [
        (
            other,
            "文件校验值（SHA-256）与声明不一致，文件可能已损坏，请重新上传",
        ),
        (pdf("xy"), size_message.as_str()),
    ] {
        let created = env
            .svc
            .create_upload(req(
                declare("app-4", "a.pdf", "application/pdf", &bytes),
                &owner,
            ))
            .await
            .expect("create")
            .into_inner();
        let id = created.material.expect("material").material_id;
        env.blob
            .client
            .put_object()
            .bucket(&env.blob.bucket)
            .key(key(&env, "app-4", &id))
            .body(body.into())
            .send()
            .await
            .expect("direct put");
        let err = checking
            .confirm_upload(req(pb::ConfirmUploadRequest { material_id: id }, &owner))
            .await
            .expect_err(message);
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(err.message(), message);
    }

    // Nothing usable, nothing stored.
    let listed = env
        .svc
        .list_materials(req(
            pb::ListMaterialsRequest {
                application_id: "app-4".to_owned(),
                include_history: true,
                ..Default::default()
            },
            &owner,
        ))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.materials.len(), 3, "three rejected confirmations");
    assert!(
        listed
            .materials
            .iter()
            .all(|m| m.status == pb::MaterialStatus::Rejected as i32)
    );
    assert_eq!(listed.application_bytes, 0);
    assert!(keys_under(&env, &format!("tenants/{t}/")).await.is_empty());
}

#[tokio::test]
async fn tenant_b_staff_cannot_obtain_tenant_a_urls() {
    let env = env().await;
    let tenant_a = env.tenant.clone();
    let tenant_b = format!("{tenant_a}b");
    let owner = person(&tenant_a, "applicant-1", Role::Applicant);
    let material = upload(&env, &owner, "app-5", "a.pdf", &pdf("a")).await;

    for outsider in [
        person(&tenant_b, "reviewer-b", Role::DistrictReviewer),
        person(&tenant_b, "street-b", Role::StreetReviewer),
        verifier(&tenant_b, "gongan"),
        person(&tenant_b, "admin-b", Role::DistrictAdmin),
        // City staff addressing tenant B in x-jifen-tenant act in B.
        person(&tenant_b, "city", Role::CityReviewer),
        // The owner addressing another district sees nothing there either.
        person(&tenant_b, "applicant-1", Role::Applicant),
    ] {
        let err = download_url(&env, &outsider, &material.material_id)
            .await
            .expect_err("other tenant");
        assert_eq!(err.code(), Code::NotFound, "{:?}", outsider.roles);
        let err = env
            .svc
            .get_material(req(
                pb::GetMaterialRequest {
                    material_id: material.material_id.clone(),
                },
                &outsider,
            ))
            .await
            .expect_err("other tenant");
        assert_eq!(err.code(), Code::NotFound);
    }
    let listed = env
        .svc
        .list_materials(req(
            pb::ListMaterialsRequest {
                application_id: "app-5".to_owned(),
                ..Default::default()
            },
            &person(&tenant_b, "reviewer-b", Role::DistrictReviewer),
        ))
        .await
        .expect("empty in tenant b")
        .into_inner();
    assert!(listed.materials.is_empty());
    // City staff addressing tenant A may read it.
    assert!(
        download_url(
            &env,
            &person(&tenant_a, "city", Role::CityReviewer),
            &material.material_id
        )
        .await
        .is_ok()
    );
}

fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: 0,
    }
}

async fn decide(
    env: &Env,
    application: &str,
    to: common::ApplicationStatus,
    at: DateTime<Utc>,
    version: i64,
) -> bool {
    let system = person(&env.tenant, "system", Role::System);
    let event = common::Event {
        event_id: uuid::Uuid::now_v7().to_string(),
        topic: "review.application_status_changed".to_owned(),
        tenant: env.tenant.clone(),
        occurred_at: Some(ts(at)),
        aggregate_id: application.to_owned(),
        aggregate_version: version,
        traceparent: String::new(),
        payload: Some(common::event::Payload::ApplicationStatusChanged(
            common::ApplicationStatusChanged {
                application_id: application.to_owned(),
                applicant_subject: "applicant-1".to_owned(),
                to_status: to as i32,
                ..Default::default()
            },
        )),
    };
    let first = env
        .svc
        .deliver_event(req(
            pb::DeliverEventRequest {
                event: Some(event.clone()),
            },
            &system,
        ))
        .await
        .expect("deliver")
        .into_inner();
    let again = env
        .svc
        .deliver_event(req(pb::DeliverEventRequest { event: Some(event) }, &system))
        .await
        .expect("redeliver")
        .into_inner();
    assert!(again.duplicate, "redelivery is recognised");
    first.duplicate
}

#[tokio::test]
async fn purge_removes_exactly_what_it_should() {
    use common::ApplicationStatus as S;
    let env = env().await;
    let t = env.tenant.clone();
    let t0 = env.clock.now();
    let owner = person(&t, "applicant-1", Role::Applicant);
    let admin = person(&t, "admin", Role::DistrictAdmin);
    env.svc
        .update_upload_policy(req(
            pb::UploadPolicy {
                objection_window_days: 15,
                retention_days_after_objection_window: 30,
                orphan_after_hours: 24,
                ..Default::default()
            }
            .into_update(),
            &admin,
        ))
        .await
        .expect("policy");

    let rejected = upload(&env, &owner, "app-rejected", "r.pdf", &pdf("r")).await;
    let withdrawn = upload(&env, &owner, "app-withdrawn", "w.pdf", &pdf("w")).await;
    let open = upload(&env, &owner, "app-open", "o.pdf", &pdf("o")).await;
    let late = upload(&env, &owner, "app-late", "l.pdf", &pdf("l")).await;
    let old = upload(&env, &owner, "app-admitted", "v1.pdf", &pdf("v1")).await;
    // Replace v1 with v2: v1 is kept (REPLACED) until the application is decided.
    let v2 = pdf("v2");
    let replacing = env
        .svc
        .replace_material(req(
            pb::ReplaceMaterialRequest {
                material_id: old.material_id.clone(),
                file_name: "v2.pdf".to_owned(),
                content_type: "application/pdf".to_owned(),
                size_bytes: v2.len() as u64,
                sha256: sha256(&v2),
            },
            &owner,
        ))
        .await
        .expect("replace")
        .into_inner();
    put(&replacing.upload.expect("upload"), v2).await;
    let new = env
        .svc
        .confirm_upload(req(
            pb::ConfirmUploadRequest {
                material_id: replacing.material.expect("m").material_id,
            },
            &owner,
        ))
        .await
        .expect("confirm v2")
        .into_inner();
    assert_eq!(new.replaces_material_id, old.material_id);
    let old_now = env
        .svc
        .get_material(req(
            pb::GetMaterialRequest {
                material_id: old.material_id.clone(),
            },
            &owner,
        ))
        .await
        .expect("old")
        .into_inner();
    assert_eq!(old_now.status, pb::MaterialStatus::Replaced as i32);
    assert!(
        download_url(
            &env,
            &person(&t, "rev", Role::DistrictReviewer),
            &old.material_id
        )
        .await
        .is_ok()
    );
    // An upload declared and never sent.
    let orphan = env
        .svc
        .create_upload(req(
            declare("app-open", "never.pdf", "application/pdf", &pdf("n")),
            &owner,
        ))
        .await
        .expect("declare")
        .into_inner()
        .material
        .expect("m");

    assert!(!decide(&env, "app-rejected", S::Rejected, t0, 5).await);
    decide(&env, "app-withdrawn", S::Withdrawn, t0, 5).await;
    decide(&env, "app-admitted", S::Admitted, t0, 9).await;
    decide(&env, "app-open", S::DistrictReview, t0, 3).await;
    decide(
        &env,
        "app-late",
        S::Rejected,
        t0 + chrono::Duration::days(20),
        7,
    )
    .await;
    // An older event arriving late changes nothing.
    decide(&env, "app-rejected", S::Submitted, t0, 2).await;

    let purge = |dry_run| {
        let svc = env.svc.clone();
        let admin = admin.clone();
        async move {
            let mut done = svc
                .run_purge(req(
                    pb::RunPurgeRequest {
                        dry_run,
                        all_tenants: false,
                    },
                    &admin,
                ))
                .await
                .expect("purge")
                .into_inner();
            done.material_ids.sort();
            done
        }
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };

    // Right away: only the replaced version of the decided application.
    let done = purge(false).await;
    assert_eq!(done.material_ids, vec![old.material_id.clone()]);
    assert_eq!(done.purged_replaced, 1);

    // After 25 hours: the orphan.
    env.clock.advance(chrono::Duration::hours(25));
    let done = purge(false).await;
    assert_eq!(done.material_ids, vec![orphan.material_id.clone()]);
    assert_eq!(done.purged_orphans, 1);

    // Day 44: objection window (15) + retention (30) not over yet.
    env.clock.set(t0 + chrono::Duration::days(44));
    assert!(purge(false).await.material_ids.is_empty());

    // Day 45: the rejected and withdrawn applications' files go; a dry run first changes nothing.
    env.clock.set(t0 + chrono::Duration::days(45));
    let due = sorted(vec![
        rejected.material_id.clone(),
        withdrawn.material_id.clone(),
    ]);
    let dry = purge(true).await;
    assert_eq!(dry.material_ids, due);
    assert!(object_exists(&env, &key(&env, "app-rejected", &rejected.material_id)).await);
    let done = purge(false).await;
    assert_eq!(done.material_ids, due);
    assert_eq!(done.purged_decided, 2);
    assert!(done.bytes_freed > 0);

    // What stays: the open application's file, the admitted application's current version, and
    // the application rejected later (due on day 65).
    for (application, m) in [
        ("app-open", &open),
        ("app-admitted", &new),
        ("app-late", &late),
    ] {
        assert!(
            object_exists(&env, &key(&env, application, &m.material_id)).await,
            "{application}"
        );
    }
    for (application, m) in [
        ("app-rejected", &rejected),
        ("app-withdrawn", &withdrawn),
        ("app-admitted", &old),
    ] {
        assert!(
            !object_exists(&env, &key(&env, application, &m.material_id)).await,
            "{application}"
        );
    }
    env.clock.set(t0 + chrono::Duration::days(65));
    assert_eq!(
        purge(false).await.material_ids,
        vec![late.material_id.clone()]
    );
}

trait IntoUpdate {
    fn into_update(self) -> pb::UpdateUploadPolicyRequest;
}

impl IntoUpdate for pb::UploadPolicy {
    fn into_update(self) -> pb::UpdateUploadPolicyRequest {
        pb::UpdateUploadPolicyRequest {
            target_tenant: String::new(),
            policy: Some(self),
            expected_version: 0,
        }
    }
}

#[tokio::test]
async fn upload_policy_is_per_tenant_and_versioned() {
    let env = env().await;
    let t = env.tenant.clone();
    let admin = person(&t, "admin", Role::DistrictAdmin);
    let owner = person(&t, "applicant-1", Role::Applicant);
    let updated = env
        .svc
        .update_upload_policy(req(
            pb::UploadPolicy {
                allowed_content_types: vec!["application/pdf".to_owned()],
                max_file_bytes: 4096,
                max_application_bytes: 8192,
                ..Default::default()
            }
            .into_update(),
            &admin,
        ))
        .await
        .expect("update")
        .into_inner();
    assert_eq!(updated.version, 1);
    let stale = env
        .svc
        .update_upload_policy(req(pb::UploadPolicy::default().into_update(), &admin))
        .await
        .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert_eq!(
        env.svc
            .update_upload_policy(req(pb::UploadPolicy::default().into_update(), &owner))
            .await
            .expect_err("applicant")
            .code(),
        Code::PermissionDenied
    );
    let image = png();
    let err = env
        .svc
        .create_upload(req(declare("app-6", "a.png", "image/png", &image), &owner))
        .await
        .expect_err("png not allowed here");
    assert_eq!(err.message(), "只能上传PDF格式的文件");
    // Per-application total: two 2.1 KB files fit in 8 KB, a third and fourth do not.
    for tag in ["1", "2", "3"] {
        upload(&env, &owner, "app-6", "a.pdf", &pdf(tag)).await;
    }
    let err = env
        .svc
        .create_upload(req(
            declare("app-6", "d.pdf", "application/pdf", &pdf("4")),
            &owner,
        ))
        .await
        .expect_err("over the total");
    assert!(
        err.message().starts_with("超出每份申请的材料总量上限"),
        "{}",
        err.message()
    );
    // Another tenant keeps the defaults.
    let other = env
        .svc
        .get_upload_policy(req(
            pb::GetUploadPolicyRequest::default(),
            &person(&format!("{t}x"), "someone", Role::Applicant),
        ))
        .await
        .expect("defaults")
        .into_inner();
    assert_eq!(other.allowed_content_types.len(), 3);
    assert_eq!(other.version, 0);
}

#[tokio::test]
async fn public_attachments_need_no_login() {
    let env = env().await;
    let t = env.tenant.clone();
    let admin = person(&t, "admin", Role::DistrictAdmin);
    let bytes = pdf("notice");
    let created = env
        .svc
        .create_attachment_upload(req(
            pb::CreateAttachmentUploadRequest {
                file_name: "2025年积分入学实施细则.pdf".to_owned(),
                content_type: "application/pdf".to_owned(),
                size_bytes: bytes.len() as u64,
                sha256: sha256(&bytes),
            },
            &admin,
        ))
        .await
        .expect("create")
        .into_inner();
    let id = created.material.expect("m").material_id;
    assert!(
        put(&created.upload.expect("upload"), bytes.clone())
            .await
            .status()
            .is_success()
    );
    assert!(object_exists(&env, &format!("tenants/{t}/attachments/{id}")).await);
    let attachment = env
        .svc
        .confirm_attachment_upload(req(
            pb::ConfirmAttachmentUploadRequest {
                attachment_id: id.clone(),
            },
            &admin,
        ))
        .await
        .expect("confirm")
        .into_inner();
    assert_eq!(attachment.status, pb::MaterialStatus::Available as i32);

    // No caller at all.
    let public = |tenant: String, attachment_id: String| {
        let svc = env.svc.clone();
        async move {
            svc.get_public_attachment_url(Request::new(pb::GetPublicAttachmentUrlRequest {
                tenant,
                attachment_id,
            }))
            .await
        }
    };
    let url = public(t.clone(), id.clone())
        .await
        .expect("public url")
        .into_inner()
        .download
        .expect("d")
        .url;
    let got = reqwest::get(&url).await.expect("get");
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().await.expect("body").as_ref(), bytes.as_slice());
    assert_eq!(
        public(format!("{t}x"), id.clone())
            .await
            .expect_err("other tenant")
            .code(),
        Code::NotFound
    );
    assert_eq!(
        env.svc
            .create_attachment_upload(req(
                pb::CreateAttachmentUploadRequest::default(),
                &person(&t, "a", Role::Applicant)
            ))
            .await
            .expect_err("applicants do not publish")
            .code(),
        Code::PermissionDenied
    );
    env.svc
        .delete_attachment(req(
            pb::DeleteAttachmentRequest {
                attachment_id: id.clone(),
            },
            &admin,
        ))
        .await
        .expect("delete");
    assert_eq!(
        public(t.clone(), id.clone())
            .await
            .expect_err("deleted")
            .code(),
        Code::NotFound
    );
    assert!(!object_exists(&env, &format!("tenants/{t}/attachments/{id}")).await);
}

/// ConfirmUpload checks the application's total again: it leaves out the file being replaced,
/// and follows a policy this process has just lowered (the uploads' cached policy included).
#[tokio::test]
async fn confirm_checks_the_application_total_without_the_replaced_file() {
    let env = env().await;
    let t = env.tenant.clone();
    let admin = person(&t, "admin", Role::DistrictAdmin);
    let owner = person(&t, "applicant-1", Role::Applicant);
    let set_total = |max_application_bytes: u64, expected_version: i64| {
        let svc = env.svc.clone();
        let admin = admin.clone();
        async move {
            svc.update_upload_policy(req(
                pb::UpdateUploadPolicyRequest {
                    target_tenant: String::new(),
                    policy: Some(pb::UploadPolicy {
                        max_file_bytes: max_application_bytes.min(3000),
                        max_application_bytes,
                        ..Default::default()
                    }),
                    expected_version,
                },
                &admin,
            ))
            .await
            .expect("policy")
        }
    };
    // Room for one 2.1 KB file and a half: replacing it fits only if the old one is left out.
    set_total(3200, 0).await;
    let v1 = upload(&env, &owner, "app-total", "v1.pdf", &pdf("v1")).await;
    let v2 = pdf("v2");
    let replacing = env
        .svc
        .replace_material(req(
            pb::ReplaceMaterialRequest {
                material_id: v1.material_id.clone(),
                file_name: "v2.pdf".to_owned(),
                content_type: "application/pdf".to_owned(),
                size_bytes: v2.len() as u64,
                sha256: sha256(&v2),
            },
            &owner,
        ))
        .await
        .expect("replace")
        .into_inner();
    put(&replacing.upload.expect("upload"), v2).await;
    let confirmed = env
        .svc
        .confirm_upload(req(
            pb::ConfirmUploadRequest {
                material_id: replacing.material.expect("m").material_id,
            },
            &owner,
        ))
        .await
        .expect("the replaced file does not count")
        .into_inner();
    assert_eq!(confirmed.replaces_material_id, v1.material_id);

    // Declared under the old limit, confirmed after the limit fell below the total.
    let other = pdf("other");
    let created = env
        .svc
        .create_upload(req(
            declare("app-total-2", "o.pdf", "application/pdf", &other),
            &owner,
        ))
        .await
        .expect("declare")
        .into_inner();
    let material_id = created.material.expect("m").material_id;
    let key = key(&env, "app-total-2", &material_id);
    put(&created.upload.expect("upload"), other).await;
    set_total(1024, 1).await;
    let err = env
        .svc
        .confirm_upload(req(pb::ConfirmUploadRequest { material_id }, &owner))
        .await
        .expect_err("over the lowered total");
    assert!(
        err.message().starts_with("超出每份申请的材料总量上限"),
        "{}",
        err.message()
    );
    assert!(
        !object_exists(&env, &key).await,
        "the refused object is removed"
    );
}
