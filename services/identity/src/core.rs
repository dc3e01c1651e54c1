//! The identity use cases: registration, login, sessions, staff. IO at the edges, rules from
//! [`crate::domain`]; the gRPC layer only maps types.

use std::sync::Arc;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use jifen_kit::auth::{CITY_TENANT, Caller, Role};
use jifen_kit::jwks::AccessClaims;
use sea_orm::{DatabaseConnection, TransactionTrait};
use sha2::{Digest, Sha256};

use crate::domain::field::{FieldProblem, text};
use crate::domain::id_number::IdNumber;
use crate::domain::{masking, password, phone, staff_scope};
use crate::error::IdentityError;
use crate::login_limiter::LoginLimiter;
use crate::pii::Pii;
use crate::signing::KeyRing;
use crate::store::{account, session, tenant};

/// What registration takes.
#[derive(Debug, Clone, Default)]
pub struct Registration {
    /// Real name.
    pub name: String,
    /// ID number.
    pub id_number: String,
    /// Mobile number.
    pub mobile: String,
    /// Password.
    pub password: String,
    /// Optional 居住证号.
    pub residence_permit: String,
    /// Optional email.
    pub email: String,
}

/// A staff account to create.
#[derive(Debug, Clone, Default)]
pub struct NewStaff {
    /// Tenant addressed (empty = the caller's).
    pub target_tenant: String,
    /// Login name.
    pub login_name: String,
    /// Real name.
    pub name: String,
    /// Optional mobile.
    pub mobile: String,
    /// Role.
    pub role: Option<Role>,
    /// Street scope.
    pub street: String,
    /// Department scope.
    pub department: String,
}

/// A change of an applicant's own contact data; empty fields are unchanged.
#[derive(Debug, Clone, Default)]
pub struct ProfileChange {
    /// New mobile number.
    pub mobile: String,
    /// New email.
    pub email: String,
    /// New 居住证号.
    pub residence_permit: String,
}

/// An issued token pair.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// Access JWT.
    pub access: String,
    /// When it expires.
    pub access_expires_at: DateTime<Utc>,
    /// Refresh token (opaque).
    pub refresh: String,
    /// When it expires.
    pub refresh_expires_at: DateTime<Utc>,
}

/// The identity use cases over its storage and keys.
#[derive(Clone)]
pub struct Core {
    /// Database.
    pub db: DatabaseConnection,
    /// Personal data cipher.
    pub pii: Pii,
    /// Signing keys.
    pub keys: KeyRing,
    /// Login limiter.
    pub limiter: LoginLimiter,
    /// Settings.
    pub config: Arc<jifen_kit::Config>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core").finish_non_exhaustive()
    }
}

fn collect(results: Vec<Result<(), FieldProblem>>) -> Result<(), IdentityError> {
    let problems: Vec<FieldProblem> = results.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(IdentityError::Invalid(problems))
    }
}

fn check_residence_permit(value: &str) -> Result<(), FieldProblem> {
    text(
        "residence_permit_number",
        "居住证号（residence_permit_number）",
        value,
        false,
        32,
    )
}

fn mobile_taken() -> IdentityError {
    IdentityError::field(FieldProblem::new(
        "mobile",
        "duplicate",
        "该手机号（mobile）已绑定其他账号，请换一个号码；如是您本人的号码，请到街道窗口办理",
    ))
}

fn check_email(value: &str) -> Result<(), FieldProblem> {
    text("email", "邮箱（email）", value, false, 254)?;
    let value = value.trim();
    let ok = value.is_empty()
        || value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.contains('@')
        });
    if ok {
        Ok(())
    } else {
        Err(FieldProblem::new(
            "email",
            "bad_format",
            "邮箱（email）格式不正确",
        ))
    }
}

/// Maps a lost optimistic-concurrency race on `what` to [`IdentityError::Conflict`].
pub(crate) fn conflict(what: &'static str) -> impl Fn(sea_orm::DbErr) -> IdentityError {
    move |err| match err {
        sea_orm::DbErr::RecordNotUpdated => IdentityError::Conflict(what),
        other => IdentityError::Database(other),
    }
}

fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Returns the argon2id hasher for the configured cost.
pub fn hasher(config: &jifen_kit::config::AuthConfig) -> Result<Argon2<'static>, IdentityError> {
    let params = Params::new(
        config.password_memory_kib,
        config.password_iterations,
        config.password_parallelism,
        None,
    )
    .map_err(|e| IdentityError::Config(format!("argon2: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

impl Core {
    /// Hashes a password off the async threads.
    pub async fn hash_password(&self, password: &str) -> Result<String, IdentityError> {
        let argon = hasher(&self.config.auth)?;
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| IdentityError::Crypto(e.to_string()))
        })
        .await
        .map_err(|e| IdentityError::Crypto(e.to_string()))?
    }

    async fn verify_password(&self, password: &str, hash: &str) -> Result<bool, IdentityError> {
        let argon = hasher(&self.config.auth)?;
        let (password, hash) = (password.to_owned(), hash.to_owned());
        tokio::task::spawn_blocking(move || {
            argon
                .verify_password(password.as_bytes(), hash.as_str())
                .is_ok()
        })
        .await
        .map_err(|e| IdentityError::Crypto(e.to_string()))
    }

    /// Registers an applicant and logs them in. `client` is the caller's address: valid
    /// registrations are limited per address before anything is looked up or written.
    pub async fn register(
        &self,
        reg: Registration,
        client: &str,
    ) -> Result<(account::Account, Tokens), IdentityError> {
        // Dates are in the Asia/Shanghai calendar (UTC+8, no daylight saving).
        let today = (Utc::now() + Duration::hours(8)).date_naive();
        let id = IdNumber::parse(&reg.id_number, today);
        let mobile = phone::parse_mobile("mobile", &reg.mobile);
        let personal: Vec<&str> = [id.as_ref().map(|i| i.expose()).ok(), mobile.as_deref().ok()]
            .into_iter()
            .flatten()
            .collect();
        collect(vec![
            text("name", "姓名（name）", &reg.name, true, 50),
            id.as_ref().map(|_| ()).map_err(Clone::clone),
            mobile.as_ref().map(|_| ()).map_err(Clone::clone),
            password::check("password", &reg.password, &personal),
            check_residence_permit(&reg.residence_permit),
            check_email(&reg.email),
        ])?;
        let (id, mobile) = (id?, mobile?);
        self.limiter.registration(client).await?;
        let name = reg.name.trim().to_owned();
        let id_bidx = self.pii.blind_index("id", id.expose());
        let mobile_bidx = self.pii.blind_index("mobile", &mobile);
        if account::any_identifier_taken(&self.db, &[id_bidx.clone(), mobile_bidx.clone()]).await? {
            return Err(IdentityError::RegistrationRefused);
        }
        let hash = self.hash_password(&reg.password).await?;
        let permit = reg.residence_permit.trim();
        let row = account::Account {
            id: uuid::Uuid::now_v7().to_string(),
            kind: "applicant".to_owned(),
            tenant: CITY_TENANT.to_owned(),
            login_name: None,
            name_enc: self.pii.encrypt(&name)?,
            name_masked: masking::name(&name),
            id_number_enc: Some(self.pii.encrypt(id.expose())?),
            id_number_masked: Some(masking::id_number(id.expose())),
            mobile_enc: Some(self.pii.encrypt(&mobile)?),
            mobile_masked: Some(masking::mobile(&mobile)),
            residence_permit_enc: if permit.is_empty() {
                None
            } else {
                Some(self.pii.encrypt(permit)?)
            },
            residence_permit_masked: (!permit.is_empty()).then(|| masking::document(permit)),
            email: (!reg.email.is_empty()).then(|| reg.email.trim().to_owned()),
            birth_date: Some(id.birth_date().to_string()),
            password_hash: hash,
            must_change_password: false,
            role: Role::Applicant.as_str().to_owned(),
            street_code: None,
            department_code: None,
            disabled: false,
            disabled_reason: None,
            created_by: None,
            created_at: Utc::now(),
            last_login_at: Some(Utc::now()),
            version: 1,
        };
        let txn = self.db.begin().await?;
        let inserted = account::insert(
            &txn,
            row.clone(),
            &[(id_bidx, "id"), (mobile_bidx, "mobile")],
        )
        .await;
        if inserted.is_err() {
            // A concurrent registration took the same identifier: the same refusal as above.
            let _ = txn.rollback().await;
            return Err(IdentityError::RegistrationRefused);
        }
        txn.commit().await?;
        let tokens = self.start_session(&row).await?;
        Ok((row, tokens))
    }

    /// Returns the blind index a login string is looked up by.
    fn login_bidx(&self, login: &str) -> String {
        let login = login.trim();
        if phone::looks_like_mobile(login) {
            self.pii.blind_index("mobile", login)
        } else if login.len() == 18 {
            self.pii.blind_index("id", &login.to_ascii_uppercase())
        } else {
            self.pii.blind_index("login", &login.to_lowercase())
        }
    }

    /// Logs in with an ID number, mobile or staff login name.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client: &str,
    ) -> Result<(account::Account, Tokens), IdentityError> {
        if login.trim().is_empty() || login.len() > 64 {
            return Err(IdentityError::field(FieldProblem::new(
                "login",
                "required",
                "请填写身份证号、手机号或登录名（login），最多 64 位",
            )));
        }
        if password.is_empty() || password.chars().count() > password::MAX_CHARS {
            return Err(IdentityError::LoginFailed);
        }
        let bidx = self.login_bidx(login);
        let keys = [
            format!("acct:{bidx}"),
            format!("addr:{}", sha256_hex(client)),
        ];
        self.limiter.check(&keys).await?;
        let found = account::find_by_identifier(&self.db, &bidx).await?;
        let ok = match &found {
            Some(acct) => {
                self.verify_password(password, &acct.password_hash).await? && !acct.disabled
            }
            None => {
                // Spend the same time as a real check so timing does not reveal the account.
                let _ = self.hash_password(password).await;
                false
            }
        };
        let Some(mut acct) = found.filter(|_| ok) else {
            self.limiter.fail(&keys).await?;
            return Err(IdentityError::LoginFailed);
        };
        self.limiter.reset(&keys[0]).await?;
        let now = Utc::now();
        account::touch_login(&self.db, &acct.id, now).await?;
        acct.last_login_at = Some(now);
        let tokens = self.start_session(&acct).await?;
        Ok((acct, tokens))
    }

    async fn start_session(&self, acct: &account::Account) -> Result<Tokens, IdentityError> {
        let family = uuid::Uuid::now_v7().to_string();
        self.issue(acct, &family).await
    }

    async fn issue(&self, acct: &account::Account, family: &str) -> Result<Tokens, IdentityError> {
        let now = Utc::now();
        let access_expires_at = now + Duration::seconds(self.config.auth.access_ttl_secs as i64);
        let refresh_expires_at = now + Duration::days(self.config.auth.refresh_ttl_days as i64);
        let claims = AccessClaims {
            sub: acct.id.clone(),
            tenant: acct.tenant.clone(),
            roles: vec![acct.role.clone()],
            street: acct.street_code.clone(),
            department: acct.department_code.clone(),
            sid: family.to_owned(),
            iat: now.timestamp(),
            exp: access_expires_at.timestamp(),
        };
        let access = self.keys.sign(&claims)?;
        let refresh = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
        session::insert(
            &self.db,
            family,
            &acct.id,
            &sha256_hex(&refresh),
            refresh_expires_at,
        )
        .await?;
        Ok(Tokens {
            access,
            access_expires_at,
            refresh,
            refresh_expires_at,
        })
    }

    /// Exchanges a refresh token; a spent token revokes its family.
    pub async fn refresh(&self, refresh: &str) -> Result<Tokens, IdentityError> {
        let Some(row) = session::find_by_hash(&self.db, &sha256_hex(refresh.trim())).await? else {
            return Err(IdentityError::SessionInvalid);
        };
        if row.revoked_at.is_some() || row.expires_at <= Utc::now() {
            return Err(IdentityError::SessionInvalid);
        }
        if !session::spend(&self.db, &row.id).await? {
            tracing::warn!(family = %row.family_id, "refresh token reused: session family revoked");
            session::revoke_family(&self.db, &row.family_id).await?;
            return Err(IdentityError::SessionInvalid);
        }
        let acct = account::find_own(&self.db, &row.account_id)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(IdentityError::SessionInvalid)?;
        self.issue(&acct, &row.family_id).await
    }

    /// Checks that the caller's session is still live and returns their account.
    pub async fn me(&self, caller: &Caller) -> Result<account::Account, IdentityError> {
        let family = caller
            .session
            .as_deref()
            .ok_or(IdentityError::SessionInvalid)?;
        if !session::family_is_live(&self.db, family).await? {
            return Err(IdentityError::SessionInvalid);
        }
        account::find_own(&self.db, &caller.subject)
            .await?
            .filter(|a| !a.disabled)
            .ok_or(IdentityError::SessionInvalid)
    }

    /// Updates the caller's own contact data (applicants only); empty fields are unchanged. A new
    /// mobile is checked like at registration, must not belong to another account, and replaces
    /// the old one as a login identifier.
    pub async fn update_my_profile(
        &self,
        caller: &Caller,
        change: ProfileChange,
    ) -> Result<account::Account, IdentityError> {
        let mut acct = self.me(caller).await?;
        if acct.kind != "applicant" || !caller.has(Role::Applicant) {
            return Err(IdentityError::PermissionDenied);
        }
        let mobile = if change.mobile.trim().is_empty() {
            Ok(String::new())
        } else {
            phone::parse_mobile("mobile", &change.mobile)
        };
        collect(vec![
            mobile.as_ref().map(|_| ()).map_err(Clone::clone),
            check_email(&change.email),
            check_residence_permit(&change.residence_permit),
        ])?;
        let mobile = mobile?;
        let mut new_mobile_bidx = None;
        if !mobile.is_empty() {
            let bidx = self.pii.blind_index("mobile", &mobile);
            match account::find_by_identifier(&self.db, &bidx).await? {
                Some(owner) if owner.id == acct.id => {}
                Some(_) => return Err(mobile_taken()),
                None => new_mobile_bidx = Some(bidx),
            }
            acct.mobile_enc = Some(self.pii.encrypt(&mobile)?);
            acct.mobile_masked = Some(masking::mobile(&mobile));
        }
        let email = change.email.trim();
        if !email.is_empty() {
            acct.email = Some(email.to_owned());
        }
        let permit = change.residence_permit.trim();
        if !permit.is_empty() {
            acct.residence_permit_enc = Some(self.pii.encrypt(permit)?);
            acct.residence_permit_masked = Some(masking::document(permit));
        }
        let txn = self.db.begin().await?;
        if let Some(bidx) = &new_mobile_bidx
            && account::replace_identifier(&txn, &acct.id, "mobile", bidx)
                .await
                .is_err()
        {
            // Taken concurrently by another registration or profile change.
            let _ = txn.rollback().await;
            return Err(mobile_taken());
        }
        let acct = match account::update(&txn, acct).await {
            Ok(acct) => acct,
            Err(err) => {
                let _ = txn.rollback().await;
                return Err(conflict("账号")(err));
            }
        };
        txn.commit().await?;
        Ok(acct)
    }

    /// Revokes the caller's session, a named one of theirs, or all of them.
    pub async fn logout(
        &self,
        caller: &Caller,
        refresh: &str,
        all: bool,
    ) -> Result<(), IdentityError> {
        let acct = self.me(caller).await?;
        if all {
            session::revoke_account(&self.db, &acct.id, None).await?;
            return Ok(());
        }
        let mut family = caller.session.clone().unwrap_or_default();
        if !refresh.is_empty()
            && let Some(row) = session::find_by_hash(&self.db, &sha256_hex(refresh.trim())).await?
            && row.account_id == acct.id
        {
            family = row.family_id;
        }
        session::revoke_family(&self.db, &family).await?;
        Ok(())
    }

    /// Changes the caller's password and revokes their other sessions.
    pub async fn change_password(
        &self,
        caller: &Caller,
        current: &str,
        new: &str,
    ) -> Result<(), IdentityError> {
        let mut acct = self.me(caller).await?;
        if current.is_empty() || !self.verify_password(current, &acct.password_hash).await? {
            return Err(IdentityError::WrongCurrentPassword);
        }
        let mut personal = Vec::new();
        for enc in [&acct.id_number_enc, &acct.mobile_enc]
            .into_iter()
            .flatten()
        {
            personal.push(self.pii.decrypt(enc)?);
        }
        let refs: Vec<&str> = personal.iter().map(String::as_str).collect();
        password::check("new_password", new, &refs)?;
        if new == current {
            return Err(IdentityError::field(FieldProblem::new(
                "new_password",
                "unchanged",
                "新密码（new_password）不能与当前密码相同",
            )));
        }
        acct.password_hash = self.hash_password(new).await?;
        acct.must_change_password = false;
        account::update(&self.db, acct.clone())
            .await
            .map_err(conflict("账号"))?;
        session::revoke_account(&self.db, &acct.id, caller.session.as_deref()).await?;
        Ok(())
    }

    /// Returns the tenant an admin call addresses, refusing unknown tenants and other tenants
    /// for anyone but a city admin.
    pub async fn addressed_tenant(
        &self,
        caller: &Caller,
        target: &str,
    ) -> Result<String, IdentityError> {
        caller
            .require_any(&[Role::DistrictAdmin, Role::CityAdmin])
            .map_err(|_| IdentityError::PermissionDenied)?;
        let tenant = if target.is_empty() {
            caller.tenant.clone()
        } else {
            target.to_owned()
        };
        if tenant::get(&self.db, &tenant).await?.is_none() {
            return Err(IdentityError::field(FieldProblem::new(
                "target_tenant",
                "unknown_value",
                format!(
                    "所属地区（target_tenant）“{}”不存在",
                    tenant.chars().take(32).collect::<String>()
                ),
            )));
        }
        let home = caller.home_tenant.as_deref().unwrap_or(&caller.tenant);
        if tenant != home && !caller.has(Role::CityAdmin) {
            return Err(IdentityError::PermissionDenied);
        }
        Ok(tenant)
    }

    /// Creates a staff account; returns it with its one-time password.
    pub async fn create_staff(
        &self,
        caller: &Caller,
        new: NewStaff,
    ) -> Result<(account::Account, String), IdentityError> {
        let tenant = self.addressed_tenant(caller, &new.target_tenant).await?;
        let login = new.login_name.trim().to_lowercase();
        let login_ok = (3..=64).contains(&login.len())
            && login
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
            && !phone::looks_like_mobile(&login)
            && login.len() != 18;
        let mobile = if new.mobile.is_empty() {
            Ok(String::new())
        } else {
            phone::parse_mobile("mobile", &new.mobile)
        };
        collect(vec![
            if login_ok {
                Ok(())
            } else {
                Err(FieldProblem::new(
                    "login_name",
                    "bad_format",
                    "登录名（login_name）应为 3–64 位字母、数字或 . - _，且不能是手机号或身份证号",
                ))
            },
            text("name", "姓名（name）", &new.name, true, 50),
            mobile.as_ref().map(|_| ()).map_err(Clone::clone),
            new.role
                .map(|_| ())
                .ok_or_else(|| FieldProblem::new("role", "required", "请选择角色（role）")),
        ])?;
        let role = new.role.ok_or(IdentityError::PermissionDenied)?;
        let home = caller.home_tenant.as_deref().unwrap_or(&caller.tenant);
        match staff_scope::check_grant(
            &caller.roles,
            home,
            &tenant,
            role,
            &new.street,
            &new.department,
        ) {
            Ok(()) => {}
            Err(staff_scope::ScopeRefusal::NotAllowed) => {
                return Err(IdentityError::PermissionDenied);
            }
            Err(staff_scope::ScopeRefusal::Invalid(p)) => return Err(p.into()),
        }
        if role == Role::StreetReviewer {
            self.check_street_scope(&tenant, &new.street).await?;
        }
        let bidx = self.pii.blind_index("login", &login);
        if account::any_identifier_taken(&self.db, std::slice::from_ref(&bidx)).await? {
            return Err(IdentityError::field(FieldProblem::new(
                "login_name",
                "duplicate",
                "登录名（login_name）已被使用",
            )));
        }
        let otp = one_time_password();
        let name = new.name.trim().to_owned();
        let mobile = mobile?;
        let row = account::Account {
            id: uuid::Uuid::now_v7().to_string(),
            kind: "staff".to_owned(),
            tenant,
            login_name: Some(login),
            name_enc: self.pii.encrypt(&name)?,
            name_masked: masking::name(&name),
            id_number_enc: None,
            id_number_masked: None,
            mobile_enc: if mobile.is_empty() {
                None
            } else {
                Some(self.pii.encrypt(&mobile)?)
            },
            mobile_masked: (!mobile.is_empty()).then(|| masking::mobile(&mobile)),
            residence_permit_enc: None,
            residence_permit_masked: None,
            email: None,
            birth_date: None,
            password_hash: self.hash_password(&otp).await?,
            must_change_password: true,
            role: role.as_str().to_owned(),
            street_code: (role == Role::StreetReviewer).then(|| new.street.clone()),
            department_code: (role == Role::DepartmentVerifier).then(|| new.department.clone()),
            disabled: false,
            disabled_reason: None,
            created_by: Some(caller.subject.clone()),
            created_at: Utc::now(),
            last_login_at: None,
            version: 1,
        };
        let txn = self.db.begin().await?;
        if account::insert(&txn, row.clone(), &[(bidx, "login")])
            .await
            .is_err()
        {
            let _ = txn.rollback().await;
            return Err(IdentityError::field(FieldProblem::new(
                "login_name",
                "duplicate",
                "登录名（login_name）已被使用",
            )));
        }
        txn.commit().await?;
        Ok((row, otp))
    }

    /// Returns a staff account the caller may manage; others answer NotFound.
    pub async fn managed_staff(
        &self,
        caller: &Caller,
        subject: &str,
    ) -> Result<account::Account, IdentityError> {
        caller
            .require_any(&[Role::DistrictAdmin, Role::CityAdmin])
            .map_err(|_| IdentityError::PermissionDenied)?;
        let staff = account::find_staff(&self.db, &caller.tenant, subject)
            .await?
            .ok_or(IdentityError::NotFound("工作人员账号"))?;
        let home = caller.home_tenant.as_deref().unwrap_or(&caller.tenant);
        let role = Role::parse(&staff.role).ok_or(IdentityError::NotFound("工作人员账号"))?;
        if !staff_scope::may_manage(&caller.roles, home, &staff.tenant, role) {
            return Err(IdentityError::PermissionDenied);
        }
        Ok(staff)
    }

    /// Disables or re-enables a staff account; disabling revokes its sessions.
    pub async fn set_staff_disabled(
        &self,
        caller: &Caller,
        subject: &str,
        disabled: bool,
        reason: &str,
    ) -> Result<account::Account, IdentityError> {
        text("reason", "停用原因（reason）", reason, false, 200)?;
        let mut staff = self.managed_staff(caller, subject).await?;
        if staff.id == caller.subject {
            return Err(IdentityError::PermissionDenied);
        }
        staff.disabled = disabled;
        staff.disabled_reason = (disabled && !reason.is_empty()).then(|| reason.to_owned());
        let staff = account::update(&self.db, staff)
            .await
            .map_err(conflict("工作人员账号"))?;
        if disabled {
            session::revoke_account(&self.db, &staff.id, None).await?;
        }
        Ok(staff)
    }

    /// Lists staff of the addressed tenant matching `filter`.
    pub async fn list_staff(
        &self,
        caller: &Caller,
        target: &str,
        filter: &account::StaffFilter,
    ) -> Result<Vec<account::Account>, IdentityError> {
        let tenant = self.addressed_tenant(caller, target).await?;
        Ok(account::list_staff(&self.db, &tenant, filter).await?)
    }
}

/// Returns a random one-time password that passes the password rules.
pub fn one_time_password() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789";
    let bytes: [u8; 14] = rand::random();
    let body: String = bytes
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{body}-7")
}
