//! The review workflow: what each rpc does, over plain requests and a verified [`Caller`].
//! `grpc.rs` only unwraps requests and maps errors; the rules live in `domain/`.

mod applicant;
mod cycles;
mod objections;
mod staff;
mod verification;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike, Utc};
use jifen_kit::auth::Caller;
use jifen_kit::expiring::Expiring;
use jifen_kit::outbox::Dispatcher;
use jifen_proto::common::v1 as common;
use jifen_proto::common::v1::ApplicationStatus as Status;
use sea_orm::{
    ActiveModelTrait, ActiveValue, ActiveValue::Set, ConnectionTrait, DatabaseConnection, Iterable,
};
use serde_json::Value;

use crate::applicant_directory::ApplicantDirectory;
use crate::convert::Actor;
use crate::domain::audit::{AuditEntry, chain, truncate_micros};
use crate::domain::calendar::WorkingCalendar;
use crate::domain::sla::SlaPolicy;
use crate::domain::state_machine::{self, from_i32};
use crate::error::ReviewError;
use crate::events;
use crate::score_source::ScoreSource;
use crate::store::entities::application;
use crate::store::group_commit::GroupCommit;
use crate::store::repo;

/// How long a tenant's SLA policy and calendar serve deadlines before they are read again (another
/// replica's change shows within it).
const CONFIG_TTL: Duration = Duration::from_secs(10);

/// Default and maximum page sizes of list rpcs.
const PAGE_DEFAULT: u64 = 50;
const PAGE_MAX: u64 = 500;

/// The review component's logic over its database and a score source.
#[derive(Clone)]
pub struct Review {
    pub(crate) db: DatabaseConnection,
    pub(crate) scores: Arc<dyn ScoreSource>,
    pub(crate) dispatcher: Option<Dispatcher>,
    pub(crate) applicant_directory: ApplicantDirectory,
    /// Submissions' writes on PostgreSQL, batched (see [`GroupCommit`]).
    pub(crate) group_commit: GroupCommit,
    /// SLA policies and working calendars by tenant and year, read once per [`CONFIG_TTL`]:
    /// every status change computes a deadline from them. This process's own changes clear it.
    pub(crate) config: Arc<Expiring<(String, i32), (SlaPolicy, WorkingCalendar)>>,
}

impl std::fmt::Debug for Review {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Review")
            .field("scores", &self.scores)
            .finish()
    }
}

impl Review {
    /// Returns the service over `db`, scoring with `scores`.
    pub fn new(db: DatabaseConnection, scores: Arc<dyn ScoreSource>) -> Self {
        Self {
            db,
            scores,
            dispatcher: None,
            applicant_directory: ApplicantDirectory::default(),
            group_commit: GroupCommit::default(),
            config: Arc::new(Expiring::new(CONFIG_TTL)),
        }
    }

    /// Names applicants (masked) from identity when they open a draft.
    pub fn with_applicant_directory(mut self, directory: ApplicantDirectory) -> Self {
        self.applicant_directory = directory;
        self
    }

    /// Wakes `dispatcher` after every commit that wrote events.
    pub fn with_dispatcher(mut self, dispatcher: Dispatcher) -> Self {
        self.dispatcher = Some(dispatcher);
        self
    }

    /// Returns the database (tests and benches).
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    fn committed(&self) {
        if let Some(d) = &self.dispatcher {
            d.notify();
        }
    }

    /// Returns the deadline `days` working days from now in `tenant`'s calendar.
    async fn due_in<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        days: u32,
    ) -> Result<DateTime<Utc>, ReviewError> {
        let now = Utc::now();
        let cal = repo::working_calendar(conn, tenant, now).await?;
        Ok(cal.due_at(now, days))
    }

    /// Returns the SLA deadline of entering `status` in `tenant`, if one applies (policy and
    /// calendar read together).
    async fn sla_due<C: ConnectionTrait>(
        &self,
        conn: &C,
        tenant: &str,
        status: Status,
    ) -> Result<Option<DateTime<Utc>>, ReviewError> {
        let now = Utc::now();
        let year = crate::domain::calendar::local_date(now).year();
        let key = (tenant.to_owned(), year);
        let (policy, cal) = match self.config.get(&key) {
            Ok(cached) => cached,
            Err(generation) => {
                let read = repo::sla_and_calendar(conn, tenant, now).await?;
                self.config.put(generation, key, read.clone());
                read
            }
        };
        Ok(policy.days_for(status).map(|days| cal.due_at(now, days)))
    }
}

/// A status change of one application, applied by [`apply_move`].
pub(crate) struct Move<'a> {
    pub(crate) app: &'a application::Model,
    pub(crate) expected: i64,
    pub(crate) to: Status,
    pub(crate) actor: &'a Actor,
    pub(crate) action: &'static str,
    pub(crate) reason: String,
    pub(crate) details: Value,
    pub(crate) due_at: Option<DateTime<Utc>>,
    pub(crate) applicant_due_date: String,
    pub(crate) changes: application::ActiveModel,
}

/// Checks the transition table, writes the row (only at `expected` version), appends the audit
/// record, drops any queue claim and enqueues `review.application_status_changed`, all in `conn`
/// (the caller's transaction). Returns the new version.
pub(crate) async fn apply_move<C: ConnectionTrait>(
    conn: &C,
    mv: Move<'_>,
) -> Result<i64, ReviewError> {
    Ok(move_application(conn, mv, None).await?.version)
}

/// [`apply_move`], also writing `extra` (an idempotency key) when the move happens, and
/// returning the row as written. On PostgreSQL it is one statement (see
/// [`repo::write_guarded`]): the versioned update carries the new audit head, and the audit
/// record, the outbox event and `extra` are inserted only if that update matched.
pub(crate) async fn move_application<C: ConnectionTrait>(
    conn: &C,
    mv: Move<'_>,
    extra: Option<repo::Row>,
) -> Result<application::Model, ReviewError> {
    repo::write_guarded(conn, &guarded_move(mv, extra)?).await
}

/// The guarded change [`move_application`] writes: the transition checked, the versioned update
/// with the new audit head, the audit record, the outbox event and `extra`.
pub(crate) fn guarded_move(
    mv: Move<'_>,
    extra: Option<repo::Row>,
) -> Result<repo::Guarded, ReviewError> {
    let app = mv.app;
    let from = from_i32(app.status);
    state_machine::check(from, mv.to)?;
    let version = mv.expected + 1;
    let chained = chain(
        audit_entry(
            app,
            mv.actor,
            mv.action,
            from,
            mv.to,
            &mv.reason,
            &mv.details,
        ),
        &app.audit_head,
    );
    let mut changes = mv.changes;
    changes.status = Set(mv.to as i32);
    changes.due_at = Set(mv.due_at);
    if !state_machine::is_active(mv.to) {
        changes.active_key = Set(None);
    }
    changes.version = Set(version);
    changes.updated_at = Set(Utc::now());
    changes.audit_sequence = Set(chained.entry.sequence);
    changes.audit_head = Set(chained.hash.clone());
    let sets = application::Column::iter()
        .filter_map(|column| match changes.get(column) {
            ActiveValue::Set(value) => Some((column, value)),
            _ => None,
        })
        .collect();
    let payload = common::ApplicationStatusChanged {
        application_id: app.id.clone(),
        application_number: app.number.clone(),
        cycle_id: app.cycle_id.clone(),
        benefit: app.benefit.clone(),
        applicant_subject: app.applicant_subject.clone(),
        from_status: from as i32,
        to_status: mv.to as i32,
        reason_zh: mv.reason.clone(),
        actor: Some(mv.actor.to_proto()),
        applicant_due_date: mv.applicant_due_date.clone(),
        benefit_name_zh: benefit_name(&app.benefit).to_owned(),
    };
    let event = events::outbox_event(
        &app.tenant,
        &app.id,
        version,
        common::event::Payload::ApplicationStatusChanged(payload),
    );
    let mut rows = vec![
        repo::Row::audit(&chained, mv.due_at),
        repo::Row::outbox(&event),
    ];
    rows.extend(extra);
    Ok(repo::Guarded {
        tenant: app.tenant.clone(),
        id: app.id.clone(),
        sets,
        version: Some(mv.expected),
        audit_sequence: app.audit_sequence,
        rows,
        drop_claims: true,
    })
}

/// Returns the audit record (sequence filled in on append) of `actor` doing `action` on `app`.
fn audit_entry(
    app: &application::Model,
    actor: &Actor,
    action: &str,
    from: Status,
    to: Status,
    reason: &str,
    details: &Value,
) -> AuditEntry {
    AuditEntry {
        sequence: app.audit_sequence + 1,
        tenant: app.tenant.clone(),
        application_id: app.id.clone(),
        actor_subject: actor.subject.clone(),
        actor_role: actor.role.as_str().to_owned(),
        actor_tenant: actor.tenant.clone(),
        actor_scope: actor.scope.clone(),
        action: action.to_owned(),
        from_status: from as i32,
        to_status: to as i32,
        reason: reason.to_owned(),
        details: details.to_string(),
        at: truncate_micros(Utc::now()),
    }
}

/// Appends one audit record for `app` (whose row the caller holds in this transaction); returns
/// the row with its new audit head.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn audit<C: ConnectionTrait>(
    conn: &C,
    app: &application::Model,
    actor: &Actor,
    action: &str,
    from: Status,
    to: Status,
    reason: &str,
    details: &Value,
    due_at: Option<DateTime<Utc>>,
) -> Result<application::Model, ReviewError> {
    let entry = audit_entry(app, actor, action, from, to, reason, details);
    repo::append_audit(conn, app, entry, due_at).await
}

/// Returns the Chinese name of a benefit code.
pub fn benefit_name(code: &str) -> &str {
    match code {
        "school" => "积分入学",
        "settlement" => "积分落户",
        "medical" => "积分入医",
        "talent" => "积分入苏",
        other => other,
    }
}

/// Returns whether a benefit's facts are a family (`{"parents": [...]}`).
pub fn is_family(benefit: &str) -> bool {
    matches!(benefit, "school" | "medical")
}

/// Returns (offset, limit) from a page token and size.
fn page(size: i32, token: &str) -> Result<(u64, u64), ReviewError> {
    let offset = if token.is_empty() {
        0
    } else {
        token
            .parse::<u64>()
            .map_err(|_| ReviewError::invalid("page_token", "分页标记无效"))?
    };
    let limit = match u64::try_from(size).unwrap_or(0) {
        0 => PAGE_DEFAULT,
        n => n.min(PAGE_MAX),
    };
    Ok((offset, limit))
}

/// Returns the next page token after a page of `got` rows.
fn next_token(offset: u64, limit: u64, got: usize) -> String {
    if (got as u64) < limit {
        String::new()
    } else {
        (offset + limit).to_string()
    }
}

/// Refuses a stale `expected_version` before any work is done.
fn expect_version(current: i64, expected: i64) -> Result<(), ReviewError> {
    if current == expected {
        Ok(())
    } else {
        Err(ReviewError::StaleVersion)
    }
}

/// Returns the caller's tenant, or `target` for a city admin naming another.
fn target_tenant(caller: &Caller, target: &str) -> String {
    if target.is_empty() {
        caller.tenant.clone()
    } else {
        target.to_owned()
    }
}

/// Returns a fresh id.
fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Returns whether a database error is a unique-key violation.
fn is_unique_violation(err: &sea_orm::DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}
