//! The materials service state and the helpers its rpcs share: policy lookup, application
//! lookup, the access log, and the inspection of an uploaded object.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::BlobStore;
use jifen_kit::expiring::Expiring;
use sea_orm::{
    ActiveValue::Set, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, Select,
};
use tokio::sync::{Mutex, MutexGuard};

use crate::clock::{Clock, SystemClock};
use crate::declared::Declared;
use crate::domain::access::{self, Grant};
use crate::domain::content_type;
use crate::domain::policy::Policy;
use crate::error::MaterialsError;
use crate::objects::Objects;
use crate::scopes::{NoScopes, ScopeSource};
use crate::store::{access_log, application, material, upload_policy};

/// The `jifen.materials.v1.MaterialsService` implementation.
#[derive(Debug, Clone)]
pub struct Materials {
    pub(crate) db: DatabaseConnection,
    pub(crate) objects: Objects,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) scopes: Arc<dyn ScopeSource>,
    /// Whose turn it is to write, on SQLite (see [`Materials::write_turn`]).
    writes: Arc<Mutex<()>>,
    /// Tenants' upload policies with their versions, as this process last read or wrote them
    /// (one entry per tenant, a district, so the map stays small).
    policies: Arc<Expiring<String, (Policy, i64)>>,
    /// Uploads this process declared, for their confirmations.
    pub(crate) declared: Arc<Declared>,
}

/// How long an upload policy read from the database serves uploads before it is read again.
/// Another replica's change reaches this one within that time; this process's own changes at
/// once (see [`Materials::remember_policy`]).
const POLICY_TTL: Duration = Duration::from_secs(5);

/// One access-log record about to be written.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry<'a> {
    pub(crate) tenant: &'a str,
    pub(crate) material_id: &'a str,
    pub(crate) application_id: &'a str,
    pub(crate) action: &'static str,
    pub(crate) role: Role,
    pub(crate) granted: bool,
    pub(crate) detail: String,
}

impl<'a> LogEntry<'a> {
    /// Returns a granted `action` on material `m`, by someone acting as `role`.
    pub(crate) fn on(
        m: &'a material::Model,
        action: &'static str,
        role: Role,
        detail: String,
    ) -> Self {
        Self {
            tenant: &m.tenant,
            material_id: &m.id,
            application_id: &m.application_id,
            action,
            role,
            granted: true,
            detail,
        }
    }
}

/// Why an uploaded object failed inspection: machine code and message for a person.
pub(crate) type Refusal = (&'static str, String);

impl Materials {
    /// Returns the service over the component's database and object store, on the system clock.
    pub fn new(db: DatabaseConnection, blob: BlobStore) -> Self {
        Self::with_clock(db, blob, Arc::new(SystemClock))
    }

    /// Returns the service with an explicit clock (tests move time by hand). It knows no
    /// application scopes until [`Materials::with_scopes`] names a source, so street reviewers
    /// and department verifiers read nothing.
    pub fn with_clock(db: DatabaseConnection, blob: BlobStore, clock: Arc<dyn Clock>) -> Self {
        Self {
            db,
            objects: Objects::new(blob),
            clock,
            scopes: Arc::new(NoScopes),
            writes: Arc::new(Mutex::new(())),
            policies: Arc::new(Expiring::new(POLICY_TTL)),
            declared: Arc::new(Declared::default()),
        }
    }

    /// Returns the service asking `scopes` for applications' streets and verifying departments.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Arc<dyn ScopeSource>) -> Self {
        self.scopes = scopes;
        self
    }

    /// Returns the service treating the store as one that may keep bytes it should have refused
    /// for their checksum, without asking it (no probe, see [`Objects::refuses_bad_checksums`]):
    /// every confirmation reads the checksum the store kept, or hashes the object. Tests use it
    /// to run that path against the embedded store; no configuration selects it.
    ///
    /// [`Objects::refuses_bad_checksums`]: crate::objects::Objects::refuses_bad_checksums
    #[must_use]
    pub fn checking_checksums_itself(mut self) -> Self {
        self.objects = self.objects.checking_checksums_itself();
        self
    }

    /// Waits for this service's turn to write when the database is SQLite, which admits one
    /// writer at a time: concurrent write transactions would otherwise retry inside SQLite's
    /// busy handler, sleeping 1–100 ms between attempts, instead of queueing here. Take it
    /// before `begin()` and keep it until the transaction ends. PostgreSQL needs no turn.
    pub(crate) async fn write_turn(&self) -> Option<MutexGuard<'_, ()>> {
        match self.db.get_database_backend() {
            DbBackend::Sqlite => Some(self.writes.lock().await),
            _ => None,
        }
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Returns the tenant's policy and its version for an upload: the one this process read at
    /// most [`POLICY_TTL`] ago, or else a fresh read. Spares the uploads' hot path a query.
    pub(crate) async fn upload_policy(
        &self,
        tenant: &str,
    ) -> Result<(Policy, i64), MaterialsError> {
        let generation = match self.policies.get(&tenant.to_owned()) {
            Ok(kept) => return Ok(kept),
            Err(generation) => generation,
        };
        let read = self.policy(tenant).await?;
        self.policies
            .put(generation, tenant.to_owned(), read.clone());
        Ok(read)
    }

    /// Makes the uploads of this process follow `policy` at once (it was just written).
    pub(crate) fn remember_policy(&self, tenant: &str, policy: &Policy, version: i64) {
        self.policies
            .set(tenant.to_owned(), (policy.clone(), version));
    }

    /// Returns the tenant's policy and its version (the defaults are version 0), read now.
    pub(crate) async fn policy(&self, tenant: &str) -> Result<(Policy, i64), MaterialsError> {
        let Some(row) = by_key(
            upload_policy::Entity::find_by_id(tenant.to_owned()),
            &self.db,
        )
        .await?
        else {
            return Ok((Policy::default(), 0));
        };
        let policy = serde_json::from_value(row.policy).unwrap_or_else(|err| {
            tracing::warn!(tenant, error = %err, "unreadable upload policy, using defaults");
            Policy::default()
        });
        Ok((policy, row.version))
    }

    /// Returns what materials knows of an application.
    pub(crate) async fn application<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        application_id: &str,
    ) -> Result<Option<application::Model>, MaterialsError> {
        Ok(by_key(
            application::Entity::find_by_id((tenant.to_owned(), application_id.to_owned())),
            conn,
        )
        .await?)
    }

    /// Returns why `caller` may read `m`, asking review for the application's scope only when
    /// the caller could read as nothing but a street reviewer or department verifier. `scope`
    /// caches that answer across the materials of one application.
    pub(crate) async fn grant(
        &self,
        caller: &Caller,
        m: &material::Model,
        app: Option<&application::Model>,
        scope: &mut Option<Option<access::ApplicationScope>>,
    ) -> Result<Option<Grant>, MaterialsError> {
        let facts = facts(m, app);
        if !access::needs_scope(caller, &facts) {
            return Ok(access::may_read(caller, &facts, None));
        }
        if scope.is_none() {
            *scope = Some(self.scopes.scope(&m.tenant, &m.application_id).await?);
        }
        Ok(access::may_read(
            caller,
            &facts,
            scope.as_ref().and_then(Option::as_ref),
        ))
    }

    /// Appends to the access log.
    pub(crate) async fn log<C: ConnectionTrait>(
        &self,
        conn: &C,
        caller: &Caller,
        entry: LogEntry<'_>,
    ) -> Result<(), MaterialsError> {
        let row = access_log::ActiveModel {
            id: Set(uuid::Uuid::now_v7().to_string()),
            tenant: Set(entry.tenant.to_owned()),
            material_id: Set(entry.material_id.to_owned()),
            application_id: Set(entry.application_id.to_owned()),
            action: Set(entry.action.to_owned()),
            actor_subject: Set(caller.subject.clone()),
            actor_role: Set(entry.role.as_str().to_owned()),
            actor_tenant: Set(actor_tenant(caller)),
            actor_scope: Set(actor_scope(caller, entry.role)),
            granted: Set(entry.granted),
            detail: Set(entry.detail),
            at: Set(self.now()),
        };
        access_log::Entity::insert(row)
            .exec_without_returning(conn)
            .await?;
        Ok(())
    }

    /// Checks an uploaded object against what was declared: it exists, has the declared size,
    /// starts with the magic bytes of an allowed type equal to the declared one, and has the
    /// declared SHA-256. Returns `Ok(Err(refusal))` when the object fails a check.
    ///
    /// One ranged read of the first bytes tells the size and the type. The presigned PUT signs
    /// `x-amz-checksum-sha256` and `If-None-Match: *`, so a store that refuses mismatched bytes
    /// and keeps nothing of them ([`Objects::refuses_bad_checksums`]) holds the declared bytes if
    /// it holds any. With another store the checksum it kept is read beside the first bytes (one
    /// round trip), or, when it kept none, the object is read and hashed here.
    ///
    /// [`Objects::refuses_bad_checksums`]: crate::objects::Objects::refuses_bad_checksums
    pub(crate) async fn inspect(
        &self,
        key: &str,
        declared_size: u64,
        declared_type: &str,
        declared_sha256: &str,
        policy: &Policy,
    ) -> Result<Result<(), Refusal>, MaterialsError> {
        let store_checked = self.objects.refuses_bad_checksums().await;
        let (prefix, stored_sha256) = tokio::join!(
            self.objects.read_prefix(key, content_type::SNIFF_BYTES),
            async {
                if store_checked {
                    Ok(None)
                } else {
                    self.objects.stored_sha256(key).await
                }
            }
        );
        let Some(prefix) = prefix? else {
            return Ok(Err((
                "missing_object",
                "未找到已上传的文件（上传未完成或被拒绝），请重新上传".to_owned(),
            )));
        };
        if prefix.size != declared_size {
            return Ok(Err((
                "size_mismatch",
                format!(
                    "文件大小与声明不一致（声明{declared_size}字节，实际{}字节），请重新上传",
                    prefix.size
                ),
            )));
        }
        let allowed = content_type::labels(&policy.allowed_content_types);
        match content_type::detect(&prefix.bytes) {
            Some(detected) if policy.allowed_content_types.iter().any(|t| t == detected) => {
                if detected != declared_type {
                    return Ok(Err((
                        "type_not_allowed",
                        format!(
                            "文件内容是{}格式，与声明的{}格式不符",
                            content_type::label(detected),
                            content_type::label(declared_type)
                        ),
                    )));
                }
            }
            _ => {
                return Ok(Err((
                    "type_not_allowed",
                    format!("文件内容不是{allowed}格式"),
                )));
            }
        }
        let matches = match (store_checked, stored_sha256?) {
            (true, _) => true,
            (false, Some(stored)) => stored == crate::objects::sha256_base64(declared_sha256)?,
            (false, None) => {
                tracing::debug!(key, "store keeps no checksum: hashing the object");
                self.objects.sha256_hex(key).await? == declared_sha256
            }
        };
        if !matches {
            return Ok(Err((
                "checksum_mismatch",
                "文件校验值（SHA-256）与声明不一致，文件可能已损坏，请重新上传".to_owned(),
            )));
        }
        Ok(Ok(()))
    }
}

/// Returns the row a lookup by primary key finds. `Select::one` would add `LIMIT ?` with the 1 as
/// a bound parameter, and SQLite re-prepares a statement whose LIMIT is a bound parameter on every
/// run (its planner looks at the bound value); a key lookup needs no LIMIT. The profile of the
/// upload path showed those re-prepares at ~12% of the SQLite worker threads' CPU.
pub(crate) async fn by_key<E: EntityTrait, C: ConnectionTrait>(
    lookup: Select<E>,
    conn: &C,
) -> Result<Option<E::Model>, sea_orm::DbErr> {
    Ok(lookup.all(conn).await?.into_iter().next())
}

/// Returns what the access rule needs to know about a material.
pub(crate) fn facts<'a>(
    m: &'a material::Model,
    app: Option<&'a application::Model>,
) -> access::MaterialFacts<'a> {
    access::MaterialFacts {
        tenant: &m.tenant,
        material_id: &m.id,
        indicator: &m.indicator,
        uploaded_by: &m.uploaded_by,
        application_owner: app.and_then(|a| a.owner_subject.as_deref()),
    }
}

/// Returns the tenant of the caller's account, as the access log names it.
pub(crate) fn actor_tenant(caller: &Caller) -> String {
    caller
        .home_tenant
        .clone()
        .unwrap_or_else(|| caller.tenant.clone())
}

/// Returns the street or department code the caller acts for under a scoped `role`.
pub(crate) fn actor_scope(caller: &Caller, role: Role) -> Option<String> {
    match role {
        Role::StreetReviewer => caller.street.clone(),
        Role::DepartmentVerifier => caller.department.clone(),
        _ => None,
    }
}

/// Returns the role a caller acts under for an upload: applicant first, then a reviewer role.
pub(crate) fn uploader_role(caller: &Caller) -> Option<Role> {
    [
        Role::Applicant,
        Role::StreetReviewer,
        Role::DistrictReviewer,
    ]
    .into_iter()
    .find(|r| caller.has(*r))
}
