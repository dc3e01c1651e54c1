//! The identity component of jifen: the tenants registry, real-name accounts, staff roles,
//! sessions and the signing keys every component verifies tokens against
//! (`jifen.identity.v1.IdentityService`).
//!
//! Decisions worth knowing:
//! - Applicant accounts are city-wide: their tokens carry tenant `suzhou` and may address any
//!   district in `x-jifen-tenant` (kit's auth layer allows it); staff act only in their tenant,
//!   city roles anywhere.
//! - A registration whose ID or mobile number is taken answers ALREADY_EXISTS with one message
//!   for both cases ("if you registered before, log in or reset at the window"), so the answer
//!   is the same whichever identifier clashed; Login answers one message for unknown account,
//!   wrong password and disabled account.
//! - ID and mobile numbers are stored AES-256-GCM encrypted (key id in the value), masked for
//!   display, and found through an HMAC blind index (`login_identifiers`).
//! - Registration is limited per client address (`x-forwarded-for` from the gateway; IPv6 per
//!   /64): `auth.registrations_per_address` valid attempts per `auth.registration_window_secs`
//!   (default 20 an hour), then RESOURCE_EXHAUSTED with `retry-after`, counted in
//!   Redis when configured (every pod shares it), else in this process, like login back-off.
//! - Tenants, threshold areas and 镇/街道 are rows (UpsertTenant / UpsertThresholdArea by the city
//!   admin, UpsertStreet by the tenant's admin). `jifen seed` loads tenants and areas, no
//!   streets: until a tenant has streets a street reviewer's `street_code` is any well-formed
//!   code, afterwards it must be one of the tenant's enabled streets.
//! - Department codes are the rule sets' `verifier_department` codes (`public_security`,
//!   `human_resources`, `education`, …) so a verifier's scope matches the indicators routed to
//!   them; a migration rewrote identity's first codes (`psb`, `hrss`, `edu`, …).
//! - Account writes are optimistic (version checked): a lost race answers ABORTED.
//! - Passwords are argon2id with `auth.password_*` cost (default 19 MiB, t=2, p=1: the OWASP
//!   minimum, ~25 ms per login on one core, so two cores sustain ~80 logins/s at the season peak
//!   while an offline guess costs the same 19 MiB of memory).

pub mod core;
pub mod domain;
pub mod error;
mod grpc;
pub mod login_limiter;
pub mod migration;
pub mod pii;
pub mod registry;
pub mod secrets;
pub mod signing;
pub mod staff;
pub mod store;

use std::path::Path;

pub use crate::core::{Core, one_time_password};
pub use error::IdentityError;
pub use grpc::Identity;
pub use migration::Migrator;

use jifen_kit::auth::CITY_TENANT;
use jifen_kit::auth::Role;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "identity";

/// Login name of the bootstrapped city admin.
pub const SEED_ADMIN_LOGIN: &str = "admin";

/// Builds the use-case core from a component context.
pub fn core(ctx: &jifen_kit::component::Context) -> Result<Core, IdentityError> {
    let secrets = secrets::Secrets::load(&ctx.config, &ctx.data_dir)?;
    let pii = pii::Pii::new(&secrets)?;
    let keys = signing::KeyRing::new(secrets)?;
    let auth = &ctx.config.auth;
    let limiter = login_limiter::LoginLimiter::new(
        login_limiter::Limits {
            free: u64::from(auth.login_free_attempts),
            max_backoff_secs: auth.login_max_backoff_secs,
            window_secs: auth.login_window_secs,
            registrations_per_address: auth.registrations_per_address,
            registration_window_secs: auth.registration_window_secs,
        },
        ctx.redis.clone(),
        &ctx.config.redis.key_prefix,
    );
    Ok(Core {
        db: ctx.db.clone(),
        pii,
        keys,
        limiter,
        config: ctx.config.clone(),
    })
}

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> Result<
    jifen_proto::identity::v1::identity_service_server::IdentityServiceServer<Identity>,
    IdentityError,
> {
    let limit = ctx.config.server.max_message_bytes;
    Ok(
        jifen_proto::identity::v1::identity_service_server::IdentityServiceServer::new(
            Identity::new(core(ctx)?),
        )
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit),
    )
}

/// What `jifen seed` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Tenant and threshold-area rows created or changed (0 = unchanged).
    pub tenants_changed: usize,
    /// Whether the city admin was created by this run.
    pub admin_created: bool,
    /// The generated admin password, to print once; `None` when it came from env/config or the
    /// admin already existed.
    pub admin_password: Option<String>,
}

impl SeedReport {
    /// Returns whether the run changed nothing.
    pub fn unchanged(&self) -> bool {
        self.tenants_changed == 0 && !self.admin_created
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.unchanged() {
            return f.write_str("identity: unchanged");
        }
        write!(f, "identity: {} tenant rows written", self.tenants_changed)?;
        if self.admin_created {
            write!(f, "; city admin `{SEED_ADMIN_LOGIN}` created")?;
            if let Some(pw) = &self.admin_password {
                write!(
                    f,
                    " with one-time password {pw} (shown once; change it at first login)"
                )?;
            }
        }
        Ok(())
    }
}

/// Seeds the tenants and threshold areas (upserted by code) and bootstraps the city admin
/// `admin` in `suzhou` if none exists. Idempotent: a second run reports unchanged. The admin
/// password comes from env `JIFEN_SEED_ADMIN_PASSWORD`, else `auth.seed_admin_password`, else it
/// is generated and returned once.
pub async fn seed(
    db: &sea_orm::DatabaseConnection,
    config: &jifen_kit::Config,
    data_dir: &Path,
) -> Result<SeedReport, IdentityError> {
    let tenants_changed = store::tenant::seed(db).await?;
    let secrets = secrets::Secrets::load(config, data_dir)?;
    let pii = pii::Pii::new(&secrets)?;
    let bidx = pii.blind_index("login", SEED_ADMIN_LOGIN);
    if store::account::find_by_identifier(db, &bidx)
        .await?
        .is_some()
    {
        return Ok(SeedReport {
            tenants_changed,
            admin_created: false,
            admin_password: None,
        });
    }
    let given = std::env::var("JIFEN_SEED_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .or_else(|| Some(config.auth.seed_admin_password.clone()).filter(|p| !p.is_empty()));
    let (password, generated) = match given {
        Some(pw) => {
            domain::password::check("JIFEN_SEED_ADMIN_PASSWORD", &pw, &[])?;
            (pw, false)
        }
        None => (one_time_password(), true),
    };
    let hash = {
        use argon2::password_hash::PasswordHasher as _;
        core::hasher(&config.auth)?
            .hash_password(password.as_bytes())
            .map_err(|e| IdentityError::Crypto(e.to_string()))?
            .to_string()
    };
    let name = "市积分办管理员";
    let row = store::account::Account {
        id: uuid::Uuid::now_v7().to_string(),
        kind: "staff".to_owned(),
        tenant: CITY_TENANT.to_owned(),
        login_name: Some(SEED_ADMIN_LOGIN.to_owned()),
        name_enc: pii.encrypt(name)?,
        name_masked: domain::masking::name(name),
        id_number_enc: None,
        id_number_masked: None,
        mobile_enc: None,
        mobile_masked: None,
        residence_permit_enc: None,
        residence_permit_masked: None,
        email: None,
        birth_date: None,
        password_hash: hash,
        must_change_password: generated,
        role: Role::CityAdmin.as_str().to_owned(),
        street_code: None,
        department_code: None,
        disabled: false,
        disabled_reason: None,
        created_by: Some("seed".to_owned()),
        created_at: chrono::Utc::now(),
        last_login_at: None,
        version: 1,
    };
    use sea_orm::TransactionTrait as _;
    let txn = db.begin().await?;
    store::account::insert(&txn, row, &[(bidx, "login")]).await?;
    txn.commit().await?;
    Ok(SeedReport {
        tenants_changed,
        admin_created: true,
        admin_password: generated.then_some(password),
    })
}
