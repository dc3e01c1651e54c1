//! Identity on real PostgreSQL and Redis: registration, login, tokens every component accepts,
//! refresh rotation and reuse detection, logout, lockout, tenant and role scopes, encrypted
//! personal data, and refused input.

use jifen::target::Target;
use jifen::testkit::{TestJifen, postgres_url, redis_url};
use jifen_kit::Config;
use jifen_proto::common::v1::Role;
use jifen_proto::identity::v1 as pb;
use jifen_proto::identity::v1::identity_service_client::IdentityServiceClient;
use sea_orm::{ConnectionTrait, Database, Statement};
use tonic::Code;
use tonic::metadata::MetadataValue;

const SEED_PASSWORD: &str = "Seed-admin-2025!";

type Client = IdentityServiceClient<jifen_kit::grpc_client::PeerChannel>;

fn unique() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
}

/// A valid ID number with a random sequence (region 320505, born 1990).
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
    format!("139{:08}", unique() % 100_000_000)
}

async fn start() -> TestJifen {
    let mut config = Config::defaults();
    config.server.grpc_addr = "127.0.0.1:0".to_owned();
    config.server.http_addr = "127.0.0.1:0".to_owned();
    config.database.url = postgres_url().await;
    config.database.max_connections = 5;
    config.redis.url = redis_url();
    config.redis.key_prefix = format!("test:{}:", unique());
    // Cheap hashing keeps debug-build tests fast; production uses the 19 MiB default.
    config.auth.password_memory_kib = 64;
    config.auth.password_iterations = 1;
    config.auth.login_free_attempts = 3;
    config.auth.seed_admin_password = SEED_PASSWORD.to_owned();
    // Identity and scoring only: other components would run elsewhere and share this secret.
    config.auth.service_secret = "identity-tests-service-secret-0123456789".to_owned();
    let jifen = TestJifen::start_with(config, &[Target::Identity, Target::Scoring]).await;
    let db = jifen_kit::db::connect("identity", &jifen.config.database, jifen.data_dir.path())
        .await
        .expect("identity db");
    // Tests of this process share one database: a concurrent seed may win the race once.
    if jifen_identity::seed(&db, &jifen.config, jifen.data_dir.path())
        .await
        .is_err()
    {
        jifen_identity::seed(&db, &jifen.config, jifen.data_dir.path())
            .await
            .expect("seed");
    }
    let again = jifen_identity::seed(&db, &jifen.config, jifen.data_dir.path())
        .await
        .expect("seed twice");
    assert!(again.unchanged(), "{again}");
    jifen
}

fn client(jifen: &TestJifen) -> Client {
    IdentityServiceClient::new(jifen.channel())
}

fn with_token<T>(msg: T, token: &str, tenant: Option<&str>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse().expect("header");
    req.metadata_mut().insert("authorization", bearer);
    if let Some(tenant) = tenant {
        req.metadata_mut()
            .insert("x-jifen-tenant", tenant.parse().expect("tenant"));
    }
    req
}

fn from_address<T>(msg: T, address: &str) -> tonic::Request<T> {
    let mut req = tonic::Request::new(msg);
    req.metadata_mut()
        .insert("x-forwarded-for", address.parse().expect("address"));
    req
}

fn registration(id: &str, mobile: &str) -> pb::RegisterRequest {
    pb::RegisterRequest {
        name: "张小三".to_owned(),
        id_number: id.to_owned(),
        mobile: mobile.to_owned(),
        password: "Jifen#2025go".to_owned(),
        residence_permit_number: "JZ32050012345678".to_owned(),
        email: String::new(),
    }
}

async fn login(
    c: &mut Client,
    login: &str,
    password: &str,
) -> Result<pb::LoginResponse, tonic::Status> {
    c.login(from_address(
        pb::LoginRequest {
            login: login.to_owned(),
            password: password.to_owned(),
        },
        &format!(
            "10.{}.{}.{}",
            unique() % 250,
            unique() % 250,
            unique() % 250
        ),
    ))
    .await
    .map(|r| r.into_inner())
}

async fn admin_token(c: &mut Client) -> String {
    login(c, "admin", SEED_PASSWORD)
        .await
        .expect("seeded admin logs in")
        .tokens
        .expect("tokens")
        .access_token
}

#[tokio::test]
async fn register_login_call_refresh_reuse_and_logout() {
    let jifen = start().await;
    let mut c = client(&jifen);
    let (id, phone) = (id_number(), mobile());
    let registered = c
        .register(registration(&id, &phone))
        .await
        .expect("register")
        .into_inner();
    let account = registered.account.expect("account");
    let person = account.person.expect("person");
    assert_eq!(
        person.id_number_masked,
        format!("{}**********{}", &id[..4], &id[14..])
    );
    assert_eq!(
        person.mobile_masked,
        format!("{}****{}", &phone[..3], &phone[7..])
    );
    assert_eq!(account.tenant, "suzhou");
    assert_eq!(account.birth_date[..4].to_owned(), "1990");

    // Login by ID number and by mobile.
    let by_id = login(&mut c, &id, "Jifen#2025go")
        .await
        .expect("login by id");
    login(&mut c, &phone, "Jifen#2025go")
        .await
        .expect("login by mobile");
    let tokens = by_id.tokens.expect("tokens");

    // Identity's own authenticated rpc.
    let me = c
        .get_me(with_token(pb::GetMeRequest {}, &tokens.access_token, None))
        .await
        .expect("get me")
        .into_inner();
    assert_eq!(me.name, "张小三");

    // Another component's auth layer accepts the token and hands the caller to the handler,
    // which then judges the role (an applicant may not edit benefits); a tampered token never
    // reaches the handler.
    let mut scoring = jifen_proto::scoring::v1::scoring_service_client::ScoringServiceClient::new(
        jifen.channel(),
    );
    let err = scoring
        .upsert_benefit(with_token(
            jifen_proto::scoring::v1::UpsertBenefitRequest::default(),
            &tokens.access_token,
            Some("wuzhong"),
        ))
        .await
        .expect_err("applicants do not edit benefits");
    assert!(
        matches!(
            err.code(),
            Code::PermissionDenied | Code::Unimplemented | Code::InvalidArgument
        ),
        "{err:?}"
    );
    // Flip one character in the middle of the signature.
    let mut tampered: Vec<char> = tokens.access_token.chars().collect();
    let at = tampered.len() - 10;
    tampered[at] = if tampered[at] == 'A' { 'B' } else { 'A' };
    let tampered: String = tampered.into_iter().collect();
    let err = scoring
        .upsert_benefit(with_token(
            jifen_proto::scoring::v1::UpsertBenefitRequest::default(),
            &tampered,
            Some("wuzhong"),
        ))
        .await
        .expect_err("tampered");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Refresh rotates; reusing the spent token revokes the whole family.
    let fresh = c
        .refresh(pb::RefreshRequest {
            refresh_token: tokens.refresh_token.clone(),
        })
        .await
        .expect("refresh")
        .into_inner();
    assert_ne!(fresh.refresh_token, tokens.refresh_token);
    let err = c
        .refresh(pb::RefreshRequest {
            refresh_token: tokens.refresh_token.clone(),
        })
        .await
        .expect_err("reuse refused");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = c
        .refresh(pb::RefreshRequest {
            refresh_token: fresh.refresh_token.clone(),
        })
        .await
        .expect_err("family revoked");
    assert_eq!(err.code(), Code::Unauthenticated);
    let err = c
        .get_me(with_token(pb::GetMeRequest {}, &fresh.access_token, None))
        .await
        .expect_err("session revoked");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Logout ends a fresh session.
    let session = login(&mut c, &phone, "Jifen#2025go")
        .await
        .expect("login")
        .tokens
        .expect("tokens");
    c.logout(with_token(
        pb::LogoutRequest::default(),
        &session.access_token,
        None,
    ))
    .await
    .expect("logout");
    let err = c
        .refresh(pb::RefreshRequest {
            refresh_token: session.refresh_token,
        })
        .await
        .expect_err("logged out");
    assert_eq!(err.code(), Code::Unauthenticated);

    // Password change: old password no longer works.
    let session = login(&mut c, &phone, "Jifen#2025go")
        .await
        .expect("login")
        .tokens
        .expect("tokens");
    c.change_password(with_token(
        pb::ChangePasswordRequest {
            current_password: "Jifen#2025go".to_owned(),
            new_password: "Another#2026pw".to_owned(),
        },
        &session.access_token,
        None,
    ))
    .await
    .expect("change password");
    assert_eq!(
        login(&mut c, &phone, "Jifen#2025go")
            .await
            .expect_err("old")
            .code(),
        Code::Unauthenticated
    );
    login(&mut c, &phone, "Another#2026pw")
        .await
        .expect("new password");

    // A second registration with the same ID, or the same mobile, gets one identical message.
    let dup_id = c
        .register(registration(&id, &mobile()))
        .await
        .expect_err("duplicate id");
    let dup_mobile = c
        .register(registration(&id_number(), &phone))
        .await
        .expect_err("duplicate mobile");
    assert_eq!(dup_id.code(), Code::AlreadyExists);
    assert_eq!(dup_id.message(), dup_mobile.message());

    // The JWKS lists the signing key.
    let jwks = c
        .get_jwks(pb::GetJwksRequest {})
        .await
        .expect("jwks")
        .into_inner();
    assert!(!jwks.keys.is_empty());
    assert!(jwks.jwks_json.contains("Ed25519"));
    jifen.stop().await;
}

#[tokio::test]
async fn lockout_backs_off_with_one_generic_message() {
    let jifen = start().await;
    let mut c = client(&jifen);
    let (id, phone) = (id_number(), mobile());
    c.register(registration(&id, &phone))
        .await
        .expect("register");

    // Wrong password and unknown account read the same.
    let wrong = login(&mut c, &phone, "Wrong#pass1")
        .await
        .expect_err("wrong");
    let unknown = login(&mut c, &mobile(), "Wrong#pass1")
        .await
        .expect_err("unknown");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(wrong.message(), unknown.message());

    // After the free attempts (3) the account backs off, even for the right password.
    for _ in 0..2 {
        login(&mut c, &phone, "Wrong#pass1")
            .await
            .expect_err("wrong");
    }
    let err = login(&mut c, &phone, "Jifen#2025go")
        .await
        .expect_err("locked");
    assert_eq!(err.code(), Code::ResourceExhausted, "{err:?}");
    let first_wait: u64 = err
        .metadata()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("retry-after");
    assert_eq!(first_wait, 1);

    // Wait out the back-off (a deadline, not a fixed sleep), fail again: the wait doubles.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match login(&mut c, &phone, "Wrong#pass1").await {
            Err(e) if e.code() == Code::ResourceExhausted => {
                assert!(std::time::Instant::now() < deadline, "back-off never ended");
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => {
                assert_eq!(e.code(), Code::Unauthenticated);
                break;
            }
            Ok(_) => panic!("wrong password accepted"),
        }
    }
    let err = login(&mut c, &phone, "Jifen#2025go")
        .await
        .expect_err("locked again");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.metadata()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );

    // One client address trying many accounts is limited too (4 × 3 free attempts).
    let mut limited = false;
    for _ in 0..14 {
        let err = c
            .login(from_address(
                pb::LoginRequest {
                    login: mobile(),
                    password: "Wrong#pass1".to_owned(),
                },
                "203.0.113.7",
            ))
            .await
            .expect_err("unknown");
        if err.code() == Code::ResourceExhausted {
            limited = true;
            break;
        }
    }
    assert!(limited, "address never limited");
    jifen.stop().await;
}

#[tokio::test]
async fn staff_act_only_in_their_tenant_and_scope() {
    let jifen = start().await;
    let mut c = client(&jifen);
    let admin = admin_token(&mut c).await;
    let n = unique() % 1_000_000;

    // City admin creates a district admin in wuzhong.
    let created = c
        .create_staff(with_token(
            pb::CreateStaffRequest {
                target_tenant: "wuzhong".to_owned(),
                login_name: format!("wz.admin.{n}"),
                name: "李四".to_owned(),
                role: Role::DistrictAdmin as i32,
                ..Default::default()
            },
            &admin,
            None,
        ))
        .await
        .expect("create district admin")
        .into_inner();
    let wz_login = login(&mut c, &format!("wz.admin.{n}"), &created.one_time_password)
        .await
        .expect("district admin logs in");
    assert!(wz_login.must_change_password);
    let wz = wz_login.tokens.expect("tokens").access_token;

    // A gusu reviewer made by the city admin.
    let gusu_staff = c
        .create_staff(with_token(
            pb::CreateStaffRequest {
                target_tenant: "gusu".to_owned(),
                login_name: format!("gs.rev.{n}"),
                name: "王五".to_owned(),
                role: Role::DistrictReviewer as i32,
                ..Default::default()
            },
            &admin,
            None,
        ))
        .await
        .expect("create gusu reviewer")
        .into_inner()
        .staff
        .expect("staff");

    // The wuzhong admin creates a street reviewer at home...
    let street = c
        .create_staff(with_token(
            pb::CreateStaffRequest {
                login_name: format!("wz.street.{n}"),
                name: "赵六".to_owned(),
                role: Role::StreetReviewer as i32,
                street_code: "changqiao".to_owned(),
                ..Default::default()
            },
            &wz,
            Some("wuzhong"),
        ))
        .await
        .expect("street reviewer")
        .into_inner();
    assert_eq!(street.staff.expect("staff").tenant, "wuzhong");

    // ...but not in gusu, neither by metadata nor by target_tenant, and sees no gusu data.
    let err = c
        .list_staff(with_token(
            pb::ListStaffRequest::default(),
            &wz,
            Some("gusu"),
        ))
        .await
        .expect_err("other tenant");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .list_staff(with_token(
            pb::ListStaffRequest {
                target_tenant: "gusu".to_owned(),
                ..Default::default()
            },
            &wz,
            None,
        ))
        .await
        .expect_err("other tenant by field");
    assert_eq!(err.code(), Code::PermissionDenied);
    let err = c
        .get_staff(with_token(
            pb::GetStaffRequest {
                subject: gusu_staff.subject.clone(),
            },
            &wz,
            None,
        ))
        .await
        .expect_err("gusu staff invisible");
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .disable_staff(with_token(
            pb::DisableStaffRequest {
                subject: gusu_staff.subject.clone(),
                reason: String::new(),
            },
            &wz,
            None,
        ))
        .await
        .expect_err("cannot disable gusu staff");
    assert_eq!(err.code(), Code::NotFound);

    // A role outside its scope: a district admin never grants city roles or admins.
    for role in [Role::CityAdmin, Role::DistrictAdmin] {
        let err = c
            .create_staff(with_token(
                pb::CreateStaffRequest {
                    login_name: format!("wz.x{}.{n}", role as i32),
                    name: "钱七".to_owned(),
                    role: role as i32,
                    ..Default::default()
                },
                &wz,
                None,
            ))
            .await
            .expect_err("not allowed");
        assert!(
            matches!(err.code(), Code::PermissionDenied | Code::InvalidArgument),
            "{err:?}"
        );
    }
    // A street reviewer cannot manage staff at all.
    let sr = login(&mut c, &format!("wz.street.{n}"), &street.one_time_password)
        .await
        .expect("street login")
        .tokens
        .expect("tokens")
        .access_token;
    let err = c
        .list_staff(with_token(pb::ListStaffRequest::default(), &sr, None))
        .await
        .expect_err("reviewer is no admin");
    assert_eq!(err.code(), Code::PermissionDenied);

    // The city admin disables the gusu reviewer: their login then fails generically.
    let disabled = c
        .disable_staff(with_token(
            pb::DisableStaffRequest {
                subject: gusu_staff.subject.clone(),
                reason: "调岗".to_owned(),
            },
            &admin,
            Some("gusu"),
        ))
        .await
        .expect("disable")
        .into_inner();
    assert!(disabled.disabled);

    // Unknown tenant is refused naming the field.
    let err = c
        .create_staff(with_token(
            pb::CreateStaffRequest {
                target_tenant: "nowhere".to_owned(),
                login_name: format!("nw.{n}"),
                name: "孙八".to_owned(),
                role: Role::DistrictReviewer as i32,
                ..Default::default()
            },
            &admin,
            None,
        ))
        .await
        .expect_err("unknown tenant");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(err.message().contains("target_tenant"), "{}", err.message());

    // The tenants registry lists the eleven tenants with threshold areas.
    let tenants = c
        .list_tenants(pb::ListTenantsRequest::default())
        .await
        .expect("tenants")
        .into_inner()
        .tenants;
    assert_eq!(tenants.len(), 11);
    let areas = c
        .list_threshold_areas(pb::ListThresholdAreasRequest {})
        .await
        .expect("areas")
        .into_inner()
        .areas;
    assert_eq!(areas.len(), 3);
    jifen.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_in_chinese_naming_the_field_and_writes_nothing() {
    let jifen = start().await;
    let mut c = client(&jifen);
    let good_id = id_number();
    let mut wrong_checksum = good_id.clone();
    let last = wrong_checksum.pop().expect("char");
    wrong_checksum.push(if last == '1' { '2' } else { '1' });
    let future_first = "32050520990101001";
    let future = format!(
        "{future_first}{}",
        jifen_identity::domain::id_number::check_char(future_first)
    );
    let phone = mobile();
    let cases: Vec<(pb::RegisterRequest, &str)> = vec![
        (registration(&wrong_checksum, &phone), "身份证号"),
        (registration(&good_id[..17], &phone), "身份证号"),
        (registration("32050519900101abcd", &phone), "身份证号"),
        (registration(&future, &phone), "身份证号"),
        (registration(&good_id, &phone[..10]), "手机号"),
        (
            pb::RegisterRequest {
                password: String::new(),
                ..registration(&good_id, &phone)
            },
            "密码",
        ),
        (
            pb::RegisterRequest {
                name: "名".repeat(51),
                ..registration(&good_id, &phone)
            },
            "姓名",
        ),
        (
            pb::RegisterRequest {
                residence_permit_number: "9".repeat(40),
                ..registration(&good_id, &phone)
            },
            "居住证号",
        ),
    ];
    for (req, field) in cases {
        let err = c.register(req).await.expect_err(field);
        assert_eq!(err.code(), Code::InvalidArgument, "{field}: {err:?}");
        assert!(err.message().contains(field), "{field}: {}", err.message());
    }
    // Nothing was written: the good ID and phone can still register.
    c.register(registration(&good_id, &phone))
        .await
        .expect("nothing was written by the refusals");
    jifen.stop().await;
}

#[tokio::test]
async fn a_dump_of_the_identity_tables_holds_no_plaintext_id_or_mobile() {
    let jifen = start().await;
    let mut c = client(&jifen);
    let (id, phone) = (id_number(), mobile());
    c.register(registration(&id, &phone))
        .await
        .expect("register");
    login(&mut c, &id, "Jifen#2025go").await.expect("login");

    let db = Database::connect(postgres_url().await.as_str())
        .await
        .expect("db");
    let tables = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'identity'"
                .to_owned(),
        ))
        .await
        .expect("tables");
    let mut dump = String::new();
    for row in tables {
        let table: String = row.try_get("", "table_name").expect("name");
        let rows = db
            .query_all_raw(Statement::from_string(
                db.get_database_backend(),
                format!("SELECT t::text AS line FROM identity.\"{table}\" t"),
            ))
            .await
            .expect("dump");
        for row in rows {
            let line: String = row.try_get("", "line").expect("line");
            dump.push_str(&line);
            dump.push('\n');
        }
    }
    assert!(dump.contains("**********"), "dump covers the accounts");
    assert!(!dump.contains(&id), "plaintext ID number in the dump");
    assert!(
        !dump.contains(&id[6..14]),
        "plaintext birth date digits in the dump"
    );
    assert!(
        !dump.contains(&phone),
        "plaintext mobile number in the dump"
    );
    jifen.stop().await;
}
