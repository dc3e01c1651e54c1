//! The registry, staff-management and profile rpcs of identity on real PostgreSQL: tenants and
//! threshold areas (city admin), 镇/街道 (district admin or city admin), UpdateStaff,
//! ResetStaffPassword, UpdateMyProfile, and the registration limit per client address. Each test
//! makes its own tenant; callers come from real tokens verified against the published keys.

use std::sync::Arc;

use jifen_identity::core::Core;
use jifen_identity::login_limiter::{Limits, LoginLimiter};
use jifen_identity::pii::Pii;
use jifen_identity::secrets::Secrets;
use jifen_identity::signing::KeyRing;
use jifen_identity::{Identity, Migrator};
use jifen_kit::auth::Caller;
use jifen_kit::jwks::JwksVerifier;
use jifen_proto::common::v1::Role;
use jifen_proto::identity::v1 as pb;
use jifen_proto::identity::v1::identity_service_server::IdentityService;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use sea_orm_migration::MigratorTrait;
use tonic::{Code, Request};

static DATABASE: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();

fn unique() -> u64 {
    let id = uuid::Uuid::now_v7();
    let (_, low) = id.as_u64_pair();
    low ^ u64::from(std::process::id()).rotate_left(40)
}

/// Creates one PostgreSQL database for this test binary, migrated and seeded.
async fn database_url() -> String {
    DATABASE
        .get_or_init(|| async {
            let admin = std::env::var("JIFEN_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
            let name = format!("jifen_idt_{:x}", unique());
            let db = Database::connect(admin.as_str())
                .await
                .expect("test PostgreSQL answers (JIFEN_TEST_PG_URL)");
            db.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
                .await
                .expect("create test database");
            let _ = db.close().await;
            let url = match admin.rsplit_once('/') {
                Some((base, _)) => format!("{base}/{name}"),
                None => format!("{admin}/{name}"),
            };
            let dir = tempfile::tempdir().expect("tempdir");
            let db = connect(&url, dir.path()).await;
            Migrator::up(&db, None).await.expect("migrate");
            jifen_identity::store::tenant::seed(&db)
                .await
                .expect("seed");
            let _ = db.close().await;
            url
        })
        .await
        .clone()
}

async fn connect(url: &str, dir: &std::path::Path) -> DatabaseConnection {
    let mut config = jifen_kit::Config::defaults();
    config.database.url = url.to_owned();
    config.database.max_connections = 4;
    jifen_kit::db::connect("identity", &config.database, dir)
        .await
        .expect("identity db")
}

struct Env {
    svc: Identity,
    core: Core,
    verifier: JwksVerifier,
    /// A fresh district of this test.
    tenant: String,
    city_admin: Caller,
    _dir: tempfile::TempDir,
}

async fn env_with(registrations_per_address: u64) -> Env {
    let url = database_url().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = connect(&url, dir.path()).await;
    let mut config = jifen_kit::Config::defaults();
    config.database.url = url;
    // Cheap hashing keeps debug-build tests fast; production uses the 19 MiB default.
    config.auth.password_memory_kib = 64;
    config.auth.password_iterations = 1;
    let secrets = Secrets::load(&config, dir.path()).expect("secrets");
    let pii = Pii::new(&secrets).expect("pii");
    let keys = KeyRing::new(secrets).expect("keys");
    let verifier = JwksVerifier::with_keys(&keys.public_jwks(chrono::Utc::now().timestamp()))
        .expect("verifier")
        .without_token_cache();
    let limiter = LoginLimiter::new(
        Limits {
            free: 5,
            max_backoff_secs: 60,
            window_secs: 60,
            registrations_per_address,
            registration_window_secs: 3600,
        },
        None,
        "",
    );
    let core = Core {
        db,
        pii,
        keys,
        limiter,
        config: Arc::new(config),
    };
    let city_admin = Caller {
        tenant: "suzhou".to_owned(),
        subject: format!("city-admin-{}", unique()),
        roles: vec![jifen_kit::auth::Role::CityAdmin],
        street: None,
        department: None,
        session: None,
        home_tenant: Some("suzhou".to_owned()),
    };
    let tenant = format!("t{:x}", unique() % 0xffff_ffff_ffff);
    let env = Env {
        svc: Identity::new(core.clone()),
        core,
        verifier,
        tenant: tenant.clone(),
        city_admin,
        _dir: dir,
    };
    env.svc
        .upsert_tenant(req(
            pb::UpsertTenantRequest {
                tenant: Some(district(&tenant, "测试区")),
            },
            Some(&env.city_admin),
        ))
        .await
        .expect("city admin creates the test district");
    env
}

async fn env() -> Env {
    env_with(100).await
}

fn district(code: &str, name: &str) -> pb::Tenant {
    pb::Tenant {
        code: code.to_owned(),
        name_zh: name.to_owned(),
        kind: pb::TenantKind::District as i32,
        parent_code: String::new(),
        threshold_area: "urban".to_owned(),
        enabled: true,
        sort_order: 50,
        updated_at: None,
    }
}

fn req<T>(msg: T, caller: Option<&Caller>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(c) = caller {
        r.extensions_mut().insert(c.clone());
    }
    r
}

fn from_address<T>(msg: T, address: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("x-forwarded-for", address.parse().expect("address"));
    r
}

impl Env {
    /// The caller a token makes, as the auth layer builds it (optionally addressing a tenant).
    fn caller(&self, token: &str, addressed: Option<&str>) -> Caller {
        let mut c = self
            .verifier
            .verify_cached(token)
            .expect("valid token")
            .expect("known key");
        c.home_tenant = Some(c.tenant.clone());
        if let Some(t) = addressed {
            c.tenant = t.to_owned();
        }
        c
    }

    async fn create_staff(
        &self,
        by: &Caller,
        tenant: &str,
        role: Role,
        street: &str,
        department: &str,
    ) -> Result<pb::CreateStaffResponse, tonic::Status> {
        let login = format!("s{:x}", unique());
        self.svc
            .create_staff(req(
                pb::CreateStaffRequest {
                    target_tenant: tenant.to_owned(),
                    login_name: login,
                    name: "李小四".to_owned(),
                    mobile: String::new(),
                    role: role as i32,
                    street_code: street.to_owned(),
                    department_code: department.to_owned(),
                },
                Some(by),
            ))
            .await
            .map(|r| r.into_inner())
    }

    async fn login(&self, login: &str, password: &str) -> Result<pb::LoginResponse, tonic::Status> {
        self.svc
            .login(from_address(
                pb::LoginRequest {
                    login: login.to_owned(),
                    password: password.to_owned(),
                },
                &format!("10.9.{}.{}", unique() % 250, unique() % 250),
            ))
            .await
            .map(|r| r.into_inner())
    }

    /// Creates a staff member and logs them in; returns (staff, caller, refresh token).
    async fn staff(
        &self,
        tenant: &str,
        role: Role,
        street: &str,
        department: &str,
    ) -> (pb::Staff, Caller, String) {
        let created = self
            .create_staff(&self.city_admin, tenant, role, street, department)
            .await
            .expect("create staff");
        let staff = created.staff.expect("staff");
        let tokens = self
            .login(&staff.login_name, &created.one_time_password)
            .await
            .expect("staff logs in")
            .tokens
            .expect("tokens");
        let caller = self.caller(&tokens.access_token, None);
        (staff, caller, tokens.refresh_token)
    }

    async fn register(
        &self,
        id: &str,
        mobile: &str,
        address: &str,
    ) -> Result<pb::RegisterResponse, tonic::Status> {
        self.svc
            .register(from_address(
                pb::RegisterRequest {
                    name: "张小三".to_owned(),
                    id_number: id.to_owned(),
                    mobile: mobile.to_owned(),
                    password: "Jifen#2025go".to_owned(),
                    residence_permit_number: String::new(),
                    email: String::new(),
                },
                address,
            ))
            .await
            .map(|r| r.into_inner())
    }
}

fn id_number() -> String {
    let n = unique();
    let first = format!(
        "3205051990{:02}{:02}{:03}",
        n % 12 + 1,
        (n / 12) % 28 + 1,
        (n / 400) % 1000
    );
    format!(
        "{first}{}",
        jifen_identity::domain::id_number::check_char(&first)
    )
}

fn mobile() -> String {
    format!("137{:08}", unique() % 100_000_000)
}

fn address() -> String {
    format!(
        "10.{}.{}.{}",
        unique() % 250,
        (unique() >> 8) % 250,
        (unique() >> 16) % 250
    )
}

fn assert_field(err: &tonic::Status, field: &str) {
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    assert!(err.message().contains(field), "{field}: {}", err.message());
}

#[tokio::test]
async fn tenants_and_threshold_areas_are_data_the_city_admin_writes() {
    let e = env().await;
    let svc = &e.svc;
    // The new district is listed publicly and can be read.
    let listed = svc
        .list_tenants(req(pb::ListTenantsRequest::default(), None))
        .await
        .expect("list")
        .into_inner()
        .tenants;
    assert!(listed.iter().any(|t| t.code == e.tenant));
    let got = svc
        .get_tenant(req(
            pb::GetTenantRequest {
                tenant: e.tenant.clone(),
            },
            None,
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.name_zh, "测试区");
    assert_eq!(got.parent_code, "suzhou");

    // Anyone but the city admin is refused, and nothing is written.
    let (_, district_admin, _) = e.staff(&e.tenant, Role::DistrictAdmin, "", "").await;
    let (_, reviewer, _) = e.staff(&e.tenant, Role::DistrictReviewer, "", "").await;
    for c in [&district_admin, &reviewer] {
        let err = svc
            .upsert_tenant(req(
                pb::UpsertTenantRequest {
                    tenant: Some(district(&e.tenant, "改名区")),
                },
                Some(c),
            ))
            .await
            .expect_err("not the city admin");
        assert_eq!(err.code(), Code::PermissionDenied);
    }
    let err = svc
        .upsert_tenant(req(
            pb::UpsertTenantRequest {
                tenant: Some(district(&e.tenant, "改名区")),
            },
            None,
        ))
        .await
        .expect_err("anonymous");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Bad input names the field in Chinese and writes nothing.
    let bad_code = format!("{}-X", e.tenant);
    let cases = [
        (
            pb::Tenant {
                code: bad_code.clone(),
                ..district(&e.tenant, "新区")
            },
            "tenant.code",
        ),
        (district(&e.tenant, ""), "tenant.name_zh"),
        (
            pb::Tenant {
                threshold_area: "mars".to_owned(),
                ..district(&e.tenant, "新区")
            },
            "tenant.threshold_area",
        ),
        (
            pb::Tenant {
                kind: pb::TenantKind::City as i32,
                ..district(&e.tenant, "新区")
            },
            "tenant.kind",
        ),
        (
            pb::Tenant {
                enabled: false,
                ..district("suzhou", "苏州市（市积分办）")
            },
            "tenant.kind",
        ),
    ];
    for (tenant, field) in cases {
        let err = svc
            .upsert_tenant(req(
                pb::UpsertTenantRequest {
                    tenant: Some(tenant),
                },
                Some(&e.city_admin),
            ))
            .await
            .expect_err(field);
        assert_field(&err, field);
    }
    let err = svc
        .upsert_tenant(req(
            pb::UpsertTenantRequest { tenant: None },
            Some(&e.city_admin),
        ))
        .await
        .expect_err("missing");
    assert_field(&err, "tenant");
    let unchanged = svc
        .get_tenant(req(
            pb::GetTenantRequest {
                tenant: e.tenant.clone(),
            },
            None,
        ))
        .await
        .expect("still there")
        .into_inner();
    assert_eq!(unchanged.name_zh, "测试区");
    let err = svc
        .get_tenant(req(pb::GetTenantRequest { tenant: bad_code }, None))
        .await
        .expect_err("bad code never written");
    assert_eq!(err.code(), Code::NotFound);

    // A new threshold area takes the district; dropping a member is refused.
    let area = format!("a{:x}", unique() % 0xffff_ffff);
    let written = svc
        .upsert_threshold_area(req(
            pb::UpsertThresholdAreaRequest {
                area: Some(pb::ThresholdArea {
                    code: area.clone(),
                    name_zh: "测试门槛区".to_owned(),
                    tenant_codes: vec![e.tenant.clone()],
                }),
            },
            Some(&e.city_admin),
        ))
        .await
        .expect("area")
        .into_inner();
    assert_eq!(written.tenant_codes, vec![e.tenant.clone()]);
    let areas = svc
        .list_threshold_areas(req(pb::ListThresholdAreasRequest {}, None))
        .await
        .expect("areas")
        .into_inner()
        .areas;
    let urban = areas.iter().find(|a| a.code == "urban").expect("urban");
    assert!(!urban.tenant_codes.contains(&e.tenant));
    assert!(urban.tenant_codes.contains(&"gusu".to_owned()));
    let other = e_second_tenant(&e).await;
    for (members, field) in [
        (vec![other.clone()], "area.tenant_codes"),
        (vec!["suzhou".to_owned()], "area.tenant_codes"),
        (vec!["nowhere".to_owned()], "area.tenant_codes"),
    ] {
        let err = svc
            .upsert_threshold_area(req(
                pb::UpsertThresholdAreaRequest {
                    area: Some(pb::ThresholdArea {
                        code: area.clone(),
                        name_zh: "测试门槛区".to_owned(),
                        tenant_codes: members,
                    }),
                },
                Some(&e.city_admin),
            ))
            .await
            .expect_err(field);
        assert_field(&err, field);
    }
    let err = svc
        .upsert_threshold_area(req(
            pb::UpsertThresholdAreaRequest {
                area: Some(pb::ThresholdArea {
                    code: area.clone(),
                    name_zh: "改名".to_owned(),
                    tenant_codes: vec![],
                }),
            },
            Some(&district_admin),
        ))
        .await
        .expect_err("district admin");
    assert_eq!(err.code(), Code::PermissionDenied);
    // The other tenant was not moved by the refused call.
    let t = svc
        .get_tenant(req(pb::GetTenantRequest { tenant: other }, None))
        .await
        .expect("other")
        .into_inner();
    assert_eq!(t.threshold_area, "urban");

    // Disabling hides the tenant from the public, not from the city admin.
    svc.upsert_tenant(req(
        pb::UpsertTenantRequest {
            tenant: Some(pb::Tenant {
                enabled: false,
                threshold_area: area.clone(),
                ..district(&e.tenant, "测试区")
            }),
        },
        Some(&e.city_admin),
    ))
    .await
    .expect("disable");
    let err = svc
        .get_tenant(req(
            pb::GetTenantRequest {
                tenant: e.tenant.clone(),
            },
            None,
        ))
        .await
        .expect_err("disabled");
    assert_eq!(err.code(), Code::NotFound);
    let all = svc
        .list_tenants(req(
            pb::ListTenantsRequest {
                include_disabled: true,
                ..Default::default()
            },
            Some(&e.city_admin),
        ))
        .await
        .expect("list")
        .into_inner()
        .tenants;
    assert!(all.iter().any(|t| t.code == e.tenant && !t.enabled));
}

/// Creates a second fresh district (in `urban`) and returns its code.
async fn e_second_tenant(e: &Env) -> String {
    let code = format!("u{:x}", unique() % 0xffff_ffff_ffff);
    e.svc
        .upsert_tenant(req(
            pb::UpsertTenantRequest {
                tenant: Some(district(&code, "第二测试区")),
            },
            Some(&e.city_admin),
        ))
        .await
        .expect("second tenant");
    code
}

#[tokio::test]
async fn streets_scope_street_reviewers_once_a_tenant_has_them() {
    let e = env().await;
    let svc = &e.svc;
    let (_, admin, _) = e.staff(&e.tenant, Role::DistrictAdmin, "", "").await;
    let list = |include_disabled: bool, c: Option<Caller>| {
        let tenant = e.tenant.clone();
        async move {
            svc.list_streets(req(
                pb::ListStreetsRequest {
                    tenant,
                    include_disabled,
                },
                c.as_ref(),
            ))
            .await
            .map(|r| r.into_inner().streets)
        }
    };
    assert!(list(false, None).await.expect("public").is_empty());
    // Without streets any well-formed code is taken (what the seed leaves: no streets).
    e.create_staff(&admin, "", Role::StreetReviewer, "anywhere", "")
        .await
        .expect("no streets yet");

    let street = |code: &str, name: &str, enabled: bool| pb::Street {
        code: code.to_owned(),
        name_zh: name.to_owned(),
        enabled,
    };
    let upsert = |target: &str, s: Option<pb::Street>, c: &Caller| {
        svc.upsert_street(req(
            pb::UpsertStreetRequest {
                target_tenant: target.to_owned(),
                street: s,
            },
            Some(c),
        ))
    };
    let written = upsert("", Some(street("changqiao", "长桥街道", true)), &admin)
        .await
        .expect("district admin adds a street")
        .into_inner();
    assert_eq!(written.name_zh, "长桥街道");
    upsert(
        &e.tenant,
        Some(street("guoxiang", "郭巷街道", true)),
        &e.city_admin,
    )
    .await
    .expect("city admin adds one with target_tenant");
    upsert("", Some(street("old", "旧街道", false)), &admin)
        .await
        .expect("a disabled street");

    // Bad input names the field; nothing written.
    for (s, field) in [
        (Some(street("长桥", "长桥街道", true)), "street.code"),
        (Some(street("xinjie", "", true)), "street.name_zh"),
        (None, "street"),
    ] {
        let err = upsert("", s, &admin).await.expect_err(field);
        assert_field(&err, field);
    }
    let err = upsert("suzhou", Some(street("x1", "某街道", true)), &e.city_admin)
        .await
        .expect_err("the city has no streets");
    assert_field(&err, "target_tenant");

    // Another tenant, or a reviewer, is refused.
    let err = upsert("wuzhong", Some(street("x2", "某街道", true)), &admin)
        .await
        .expect_err("other tenant");
    assert_eq!(err.code(), Code::PermissionDenied);
    let (_, reviewer, _) = e.staff(&e.tenant, Role::DistrictReviewer, "", "").await;
    let err = upsert("", Some(street("x3", "某街道", true)), &reviewer)
        .await
        .expect_err("reviewer");
    assert_eq!(err.code(), Code::PermissionDenied);

    // The public sees enabled streets; the tenant's admin may ask for disabled ones too.
    let public: Vec<String> = list(true, None)
        .await
        .expect("public")
        .into_iter()
        .map(|s| s.code)
        .collect();
    assert_eq!(public, vec!["changqiao", "guoxiang"]);
    assert_eq!(
        list(true, Some(admin.clone())).await.expect("admin").len(),
        3
    );
    let err = svc
        .list_streets(req(
            pb::ListStreetsRequest {
                tenant: "nowhere".to_owned(),
                include_disabled: false,
            },
            None,
        ))
        .await
        .expect_err("unknown tenant");
    assert_eq!(err.code(), Code::NotFound);

    // Now street reviewers need one of the tenant's enabled streets.
    for code in ["anywhere", "old"] {
        let err = e
            .create_staff(&admin, "", Role::StreetReviewer, code, "")
            .await
            .expect_err(code);
        assert_field(&err, "street_code");
        assert!(err.message().contains("长桥街道"), "{}", err.message());
    }
    let made = e
        .create_staff(&admin, "", Role::StreetReviewer, "guoxiang", "")
        .await
        .expect("known street");
    assert_eq!(
        made.staff.expect("staff").role.expect("role").street_code,
        "guoxiang"
    );
    // ListStaff filters by scope, role and login name.
    let by_street = svc
        .list_staff(req(
            pb::ListStaffRequest {
                street_code: "guoxiang".to_owned(),
                ..Default::default()
            },
            Some(&admin),
        ))
        .await
        .expect("list")
        .into_inner()
        .staff;
    assert_eq!(by_street.len(), 1);
    let reviewers = svc
        .list_staff(req(
            pb::ListStaffRequest {
                role: Role::StreetReviewer as i32,
                ..Default::default()
            },
            Some(&admin),
        ))
        .await
        .expect("list")
        .into_inner()
        .staff;
    assert_eq!(reviewers.len(), 2, "anywhere and guoxiang");
    let login = by_street[0].login_name.clone();
    let by_name = svc
        .list_staff(req(
            pb::ListStaffRequest {
                query: login[1..].to_uppercase(),
                ..Default::default()
            },
            Some(&admin),
        ))
        .await
        .expect("list")
        .into_inner()
        .staff;
    assert_eq!(by_name.len(), 1);
    assert_eq!(by_name[0].login_name, login);
}

#[tokio::test]
async fn update_staff_changes_name_and_scope_within_the_admins_reach() {
    let e = env().await;
    let svc = &e.svc;
    let (_, admin, _) = e.staff(&e.tenant, Role::DistrictAdmin, "", "").await;
    let (reviewer, _, refresh) = e.staff(&e.tenant, Role::StreetReviewer, "s01", "").await;
    let update = |msg: pb::UpdateStaffRequest, c: &Caller| svc.update_staff(req(msg, Some(c)));

    // Name and mobile: masked in the answer; the version moves on.
    let changed = update(
        pb::UpdateStaffRequest {
            subject: reviewer.subject.clone(),
            expected_version: reviewer.version,
            name: "王大锤".to_owned(),
            mobile: "13912345678".to_owned(),
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect("rename")
    .into_inner();
    let person = changed.person.clone().expect("person");
    assert_eq!(person.name_masked, "王*锤");
    assert_eq!(person.mobile_masked, "139****5678");
    assert_eq!(changed.version, reviewer.version + 1);
    // A stale version loses.
    let err = update(
        pb::UpdateStaffRequest {
            subject: reviewer.subject.clone(),
            expected_version: reviewer.version,
            name: "赵六".to_owned(),
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect_err("stale");
    assert_eq!(err.code(), Code::Aborted);

    // Bad input names the field and writes nothing.
    for (msg, field) in [
        (
            pb::UpdateStaffRequest {
                role: Role::DepartmentVerifier as i32,
                department_code: "edu".to_owned(),
                ..Default::default()
            },
            "department_code",
        ),
        (
            pb::UpdateStaffRequest {
                mobile: "1391234".to_owned(),
                ..Default::default()
            },
            "手机号",
        ),
        (
            pb::UpdateStaffRequest {
                name: "名".repeat(51),
                ..Default::default()
            },
            "姓名",
        ),
        (
            pb::UpdateStaffRequest {
                role: 99,
                ..Default::default()
            },
            "role",
        ),
    ] {
        let err = update(
            pb::UpdateStaffRequest {
                subject: reviewer.subject.clone(),
                ..msg
            },
            &admin,
        )
        .await
        .expect_err(field);
        assert_field(&err, field);
    }
    let err = update(
        pb::UpdateStaffRequest {
            subject: reviewer.subject.clone(),
            role: Role::DistrictAdmin as i32,
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect_err("district admin cannot make admins");
    assert_eq!(err.code(), Code::PermissionDenied);
    let same = svc
        .get_staff(req(
            pb::GetStaffRequest {
                subject: reviewer.subject.clone(),
            },
            Some(&admin),
        ))
        .await
        .expect("get")
        .into_inner();
    assert_eq!(same.version, changed.version, "refusals wrote nothing");

    // A new scope: department verifier of education; the old sessions end.
    let moved = update(
        pb::UpdateStaffRequest {
            subject: reviewer.subject.clone(),
            role: Role::DepartmentVerifier as i32,
            department_code: "education".to_owned(),
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect("new scope")
    .into_inner();
    let grant = moved.role.expect("grant");
    assert_eq!(grant.role, Role::DepartmentVerifier as i32);
    assert_eq!(grant.department_code, "education");
    assert_eq!(grant.street_code, "");
    let err = svc
        .refresh(req(
            pb::RefreshRequest {
                refresh_token: refresh,
            },
            None,
        ))
        .await
        .expect_err("sessions revoked on a scope change");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Another tenant's staff are not found; a reviewer manages nobody.
    let (outsider, outsider_caller, _) = e.staff("wuzhong", Role::DistrictReviewer, "", "").await;
    let err = update(
        pb::UpdateStaffRequest {
            subject: outsider.subject.clone(),
            name: "改名".to_owned(),
            ..Default::default()
        },
        &admin,
    )
    .await
    .expect_err("cross tenant");
    assert_eq!(err.code(), Code::NotFound);
    let err = update(
        pb::UpdateStaffRequest {
            subject: reviewer.subject.clone(),
            name: "改名".to_owned(),
            ..Default::default()
        },
        &outsider_caller,
    )
    .await
    .expect_err("wrong role");
    assert_eq!(err.code(), Code::PermissionDenied);
    // The city admin reaches wuzhong by addressing it.
    let mut city = e.city_admin.clone();
    city.tenant = "wuzhong".to_owned();
    update(
        pb::UpdateStaffRequest {
            subject: outsider.subject.clone(),
            name: "孙八".to_owned(),
            ..Default::default()
        },
        &city,
    )
    .await
    .expect("city admin anywhere");
}

#[tokio::test]
async fn reset_staff_password_issues_a_one_time_password_and_ends_sessions() {
    let e = env().await;
    let svc = &e.svc;
    let (_, admin, _) = e.staff(&e.tenant, Role::DistrictAdmin, "", "").await;
    let created = e
        .create_staff(&admin, "", Role::DistrictReviewer, "", "")
        .await
        .expect("reviewer");
    let reviewer = created.staff.expect("staff");
    let first = e
        .login(&reviewer.login_name, &created.one_time_password)
        .await
        .expect("login");
    let reviewer_caller = e.caller(&first.tokens.as_ref().expect("tokens").access_token, None);

    let reset = |subject: &str, c: &Caller| {
        svc.reset_staff_password(req(
            pb::ResetStaffPasswordRequest {
                subject: subject.to_owned(),
            },
            Some(c),
        ))
    };
    let otp = reset(&reviewer.subject, &admin)
        .await
        .expect("reset")
        .into_inner()
        .one_time_password;
    assert_ne!(otp, created.one_time_password);
    let err = e
        .login(&reviewer.login_name, &created.one_time_password)
        .await
        .expect_err("old password");
    assert_eq!(err.code(), Code::Unauthenticated);
    let again = e
        .login(&reviewer.login_name, &otp)
        .await
        .expect("one-time password");
    assert!(again.must_change_password);
    let err = svc
        .refresh(req(
            pb::RefreshRequest {
                refresh_token: first.tokens.expect("tokens").refresh_token,
            },
            None,
        ))
        .await
        .expect_err("old session revoked");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Refusals: another tenant's staff, a non-admin, oneself, an unknown subject.
    let (outsider, _, _) = e.staff("gusu", Role::DistrictReviewer, "", "").await;
    assert_eq!(
        reset(&outsider.subject, &admin)
            .await
            .expect_err("x")
            .code(),
        Code::NotFound
    );
    assert_eq!(
        reset(&reviewer.subject, &reviewer_caller)
            .await
            .expect_err("reviewer")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        reset(&admin.subject, &admin)
            .await
            .expect_err("self")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        reset("no-such-subject", &admin)
            .await
            .expect_err("unknown")
            .code(),
        Code::NotFound
    );
    // The one-time password still works: the refusals changed nothing.
    e.login(&reviewer.login_name, &otp)
        .await
        .expect("still the one-time password");
}

#[tokio::test]
async fn residents_update_their_own_contact_data_encrypted_and_masked() {
    let e = env().await;
    let svc = &e.svc;
    let (id_a, mobile_a) = (id_number(), mobile());
    let (id_b, mobile_b) = (id_number(), mobile());
    let a = e.register(&id_a, &mobile_a, &address()).await.expect("a");
    e.register(&id_b, &mobile_b, &address()).await.expect("b");
    let a_caller = e.caller(&a.tokens.expect("tokens").access_token, None);
    let subject = a.account.expect("account").subject;
    let update =
        |msg: pb::UpdateMyProfileRequest, c: &Caller| svc.update_my_profile(req(msg, Some(c)));

    let new_mobile = mobile();
    let acct = update(
        pb::UpdateMyProfileRequest {
            mobile: new_mobile.clone(),
            email: "zhang@example.cn".to_owned(),
            residence_permit_number: "JZ3205001234".to_owned(),
        },
        &a_caller,
    )
    .await
    .expect("update")
    .into_inner();
    let person = acct.person.expect("person");
    assert_eq!(
        person.mobile_masked,
        format!("{}****{}", &new_mobile[..3], &new_mobile[7..])
    );
    assert_eq!(acct.residence_permit_masked, "********1234");
    assert_eq!(acct.email, "zhang@example.cn");
    // The new mobile logs in; the old one no longer does.
    e.login(&new_mobile, "Jifen#2025go")
        .await
        .expect("new mobile");
    assert_eq!(
        e.login(&mobile_a, "Jifen#2025go")
            .await
            .expect_err("old mobile")
            .code(),
        Code::Unauthenticated
    );
    // Stored encrypted: no plaintext in the row.
    let row = e
        .core
        .db
        .query_one_raw(Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT t::text AS line FROM accounts t WHERE id = $1",
            [subject.clone().into()],
        ))
        .await
        .expect("query")
        .expect("row");
    let line: String = row.try_get("", "line").expect("line");
    assert!(
        !line.contains(&new_mobile) && !line.contains("JZ3205001234"),
        "{line}"
    );

    // Someone else's mobile, and bad input, are refused naming the field; nothing written.
    for (msg, field) in [
        (
            pb::UpdateMyProfileRequest {
                mobile: mobile_b.clone(),
                ..Default::default()
            },
            "mobile",
        ),
        (
            pb::UpdateMyProfileRequest {
                mobile: "2381234567".to_owned(),
                ..Default::default()
            },
            "手机号",
        ),
        (
            pb::UpdateMyProfileRequest {
                email: "not-an-email".to_owned(),
                ..Default::default()
            },
            "邮箱",
        ),
        (
            pb::UpdateMyProfileRequest {
                residence_permit_number: "9".repeat(40),
                ..Default::default()
            },
            "居住证号",
        ),
    ] {
        let err = update(msg, &a_caller).await.expect_err(field);
        assert_field(&err, field);
    }
    let me = svc
        .get_me(req(pb::GetMeRequest {}, Some(&a_caller)))
        .await
        .expect("me")
        .into_inner();
    assert_eq!(me.email, "zhang@example.cn");
    assert_eq!(me.residence_permit_masked, "********1234");
    e.login(&mobile_b, "Jifen#2025go")
        .await
        .expect("b keeps their mobile");

    // Staff have no resident profile; anonymous callers are unauthenticated.
    let (_, staff, _) = e.staff(&e.tenant, Role::DistrictReviewer, "", "").await;
    assert_eq!(
        update(
            pb::UpdateMyProfileRequest {
                email: "x@example.cn".to_owned(),
                ..Default::default()
            },
            &staff
        )
        .await
        .expect_err("staff")
        .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        svc.update_my_profile(req(pb::UpdateMyProfileRequest::default(), None))
            .await
            .expect_err("anonymous")
            .code(),
        Code::Unauthenticated
    );
}

#[tokio::test]
async fn registration_is_limited_per_client_address() {
    let e = env_with(3).await;
    let bot = address();
    // Refused input does not count.
    for _ in 0..5 {
        let err = e
            .register(&id_number()[..17], &mobile(), &bot)
            .await
            .expect_err("bad id");
        assert_eq!(err.code(), Code::InvalidArgument);
    }
    for _ in 0..3 {
        e.register(&id_number(), &mobile(), &bot)
            .await
            .expect("under the limit");
    }
    let (id, phone) = (id_number(), mobile());
    let err = e.register(&id, &phone, &bot).await.expect_err("limited");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(err.message().contains("注册次数过多"), "{}", err.message());
    let retry: u64 = err
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert!((3500..=3600).contains(&retry), "{retry}");
    // Nothing was written for the refused one: from another address it registers.
    e.register(&id, &phone, &address())
        .await
        .expect("another address");
}

#[tokio::test]
async fn legacy_department_codes_are_rewritten_by_the_migration() {
    // A SQLite database of its own: migrate to before the rename, store an old code, finish.
    let dir = tempfile::tempdir().expect("tempdir");
    let db = connect("", dir.path()).await;
    let before_rename = Migrator::migrations().len() as u32 - 1;
    Migrator::up(&db, Some(before_rename))
        .await
        .expect("migrate");
    db.execute_unprepared(
        "INSERT INTO accounts (id, kind, tenant, name_enc, name_masked, password_hash, \
         must_change_password, role, department_code, disabled, created_at, version) VALUES \
         ('v1', 'staff', 'gusu', 'x', '张*', 'x', false, 'department_verifier', 'edu', false, \
         '2026-01-01T00:00:00Z', 1), \
         ('v2', 'staff', 'gusu', 'x', '张*', 'x', false, 'department_verifier', 'psb', false, \
         '2026-01-01T00:00:00Z', 1)",
    )
    .await
    .expect("old rows");
    Migrator::up(&db, None).await.expect("rename");
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT department_code FROM accounts ORDER BY id",
        ))
        .await
        .expect("rows");
    let codes: Vec<String> = rows
        .iter()
        .map(|r| r.try_get("", "department_code").expect("code"))
        .collect();
    assert_eq!(codes, vec!["education", "public_security"]);
    // And ListDepartments offers the rule sets' codes.
    let e = env().await;
    let departments = e
        .svc
        .list_departments(req(pb::ListDepartmentsRequest {}, None))
        .await
        .expect("departments")
        .into_inner()
        .departments;
    assert!(
        departments
            .iter()
            .any(|d| d.code == "public_security" && d.name_zh == "公安")
    );
    assert!(!departments.iter().any(|d| d.code == "psb"));
}
