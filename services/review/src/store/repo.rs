//! Tenant-scoped queries. Every function takes the tenant of the verified caller and filters by it.

use chrono::{DateTime, Datelike, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use super::entities::{application, audit, calendar, cycle, objection, sla_policy, task};
use crate::domain::audit::{AuditEntry, ChainedEntry, GENESIS_HASH, chain};
use crate::domain::calendar::{WorkingCalendar, parse_date};
use crate::domain::sla::SlaPolicy;
use crate::error::ReviewError;

/// Returns the application `id` of `tenant`, or NotFound.
pub async fn application<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<application::Model, ReviewError> {
    application::Entity::find_by_id(id.to_owned())
        .filter(application::Column::Tenant.eq(tenant))
        .one(conn)
        .await?
        .ok_or(ReviewError::NotFound("申请"))
}

/// Returns the cycle `id` of `tenant`, or NotFound.
pub async fn cycle<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<cycle::Model, ReviewError> {
    cycle::Entity::find_by_id(id.to_owned())
        .filter(cycle::Column::Tenant.eq(tenant))
        .one(conn)
        .await?
        .ok_or(ReviewError::NotFound("申请批次"))
}

/// Returns the task `id` of `tenant`, or NotFound.
pub async fn task<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<task::Model, ReviewError> {
    task::Entity::find_by_id(id.to_owned())
        .filter(task::Column::Tenant.eq(tenant))
        .one(conn)
        .await?
        .ok_or(ReviewError::NotFound("核查任务"))
}

/// Returns the objection `id` of `tenant`, or NotFound.
pub async fn objection<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<objection::Model, ReviewError> {
    objection::Entity::find_by_id(id.to_owned())
        .filter(objection::Column::Tenant.eq(tenant))
        .one(conn)
        .await?
        .ok_or(ReviewError::NotFound("复核申请"))
}

/// Writes `changes` to application `id` only if its version is still `expected`, bumping the
/// version. Returns the new version, or StaleVersion when someone else got there first.
pub async fn update_application<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
    expected: i64,
    mut changes: application::ActiveModel,
) -> Result<i64, ReviewError> {
    changes.version = sea_orm::ActiveValue::Set(expected + 1);
    changes.updated_at = sea_orm::ActiveValue::Set(Utc::now());
    let result = application::Entity::update_many()
        .set(changes)
        .filter(application::Column::Id.eq(id))
        .filter(application::Column::Tenant.eq(tenant))
        .filter(application::Column::Version.eq(expected))
        .exec(conn)
        .await?;
    if result.rows_affected == 1 {
        Ok(expected + 1)
    } else {
        Err(ReviewError::StaleVersion)
    }
}

/// Bumps the version of application `id` whatever it is (serialising writers on the row) and
/// returns the row as it now is.
pub async fn lock_application<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
) -> Result<application::Model, ReviewError> {
    application::Entity::update_many()
        .col_expr(
            application::Column::Version,
            Expr::col(application::Column::Version).add(1),
        )
        .col_expr(application::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(application::Column::Id.eq(id))
        .filter(application::Column::Tenant.eq(tenant))
        .exec(conn)
        .await?;
    application(conn, tenant, id).await
}

/// Appends an audit record after the application's last one. The caller holds the application
/// row (a versioned update or [`lock_application`] in the same transaction), so appends of one
/// application never interleave; the primary key (application, sequence) is the second wall.
pub async fn append_audit<C: ConnectionTrait>(
    conn: &C,
    mut entry: AuditEntry,
    due_at: Option<DateTime<Utc>>,
) -> Result<ChainedEntry, ReviewError> {
    let last = audit::Entity::find()
        .filter(audit::Column::ApplicationId.eq(entry.application_id.clone()))
        .filter(audit::Column::Tenant.eq(entry.tenant.clone()))
        .order_by_desc(audit::Column::Sequence)
        .one(conn)
        .await?;
    let (sequence, prev) = match &last {
        Some(row) => (row.sequence + 1, row.hash.clone()),
        None => (1, GENESIS_HASH.to_owned()),
    };
    entry.sequence = sequence;
    let chained = chain(entry, &prev);
    let e = &chained.entry;
    audit::ActiveModel {
        application_id: sea_orm::ActiveValue::Set(e.application_id.clone()),
        sequence: sea_orm::ActiveValue::Set(e.sequence),
        tenant: sea_orm::ActiveValue::Set(e.tenant.clone()),
        actor_subject: sea_orm::ActiveValue::Set(e.actor_subject.clone()),
        actor_role: sea_orm::ActiveValue::Set(e.actor_role.clone()),
        actor_tenant: sea_orm::ActiveValue::Set(e.actor_tenant.clone()),
        actor_scope: sea_orm::ActiveValue::Set(e.actor_scope.clone()),
        action: sea_orm::ActiveValue::Set(e.action.clone()),
        from_status: sea_orm::ActiveValue::Set(e.from_status),
        to_status: sea_orm::ActiveValue::Set(e.to_status),
        reason: sea_orm::ActiveValue::Set(e.reason.clone()),
        details: sea_orm::ActiveValue::Set(e.details.clone()),
        at: sea_orm::ActiveValue::Set(e.at),
        due_at: sea_orm::ActiveValue::Set(due_at),
        prev_hash: sea_orm::ActiveValue::Set(chained.prev_hash.clone()),
        hash: sea_orm::ActiveValue::Set(chained.hash.clone()),
    }
    .insert(conn)
    .await?;
    Ok(chained)
}

/// Returns the audit rows of an application in sequence order.
pub async fn audit_trail<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    application_id: &str,
) -> Result<Vec<audit::Model>, ReviewError> {
    Ok(audit::Entity::find()
        .filter(audit::Column::Tenant.eq(tenant))
        .filter(audit::Column::ApplicationId.eq(application_id))
        .order_by_asc(audit::Column::Sequence)
        .all(conn)
        .await?)
}

/// Returns the hashed form of a stored audit row.
pub fn chained(m: &audit::Model) -> ChainedEntry {
    ChainedEntry {
        entry: AuditEntry {
            sequence: m.sequence,
            tenant: m.tenant.clone(),
            application_id: m.application_id.clone(),
            actor_subject: m.actor_subject.clone(),
            actor_role: m.actor_role.clone(),
            actor_tenant: m.actor_tenant.clone(),
            actor_scope: m.actor_scope.clone(),
            action: m.action.clone(),
            from_status: m.from_status,
            to_status: m.to_status,
            reason: m.reason.clone(),
            details: m.details.clone(),
            at: m.at,
        },
        prev_hash: m.prev_hash.clone(),
        hash: m.hash.clone(),
    }
}

/// Returns the tenant's SLA policy (defaults when none is stored) and its version (0 = default).
pub async fn sla<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
) -> Result<(SlaPolicy, i64), ReviewError> {
    let row = sla_policy::Entity::find_by_id(tenant.to_owned())
        .one(conn)
        .await?;
    let days = |v: i32| u32::try_from(v).unwrap_or(1);
    Ok(match row {
        Some(r) => (
            SlaPolicy {
                street_review_days: days(r.street_review_days),
                district_review_days: days(r.district_review_days),
                department_verification_days: days(r.department_verification_days),
                city_review_days: days(r.city_review_days),
                resubmission_days: days(r.resubmission_days),
                objection_reply_days: days(r.objection_reply_days),
            },
            r.version,
        ),
        None => (SlaPolicy::default(), 0),
    })
}

/// Returns the stored calendar row of `tenant` for `year`, falling back to the city default;
/// the flag says whether it was inherited.
pub async fn calendar_row<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    year: i32,
) -> Result<(Option<calendar::Model>, bool), ReviewError> {
    let own = calendar::Entity::find_by_id((tenant.to_owned(), year))
        .one(conn)
        .await?;
    if own.is_some() {
        return Ok((own, false));
    }
    let city = calendar::Entity::find_by_id((jifen_kit::auth::CITY_TENANT.to_owned(), year))
        .one(conn)
        .await?;
    Ok((city, tenant != jifen_kit::auth::CITY_TENANT))
}

/// Returns the working calendar of `tenant` covering `from`'s year and the next.
pub async fn working_calendar<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    from: DateTime<Utc>,
) -> Result<WorkingCalendar, ReviewError> {
    let year = crate::domain::calendar::local_date(from).year();
    let mut merged = WorkingCalendar::default();
    for y in [year, year + 1] {
        if let (Some(row), _) = calendar_row(conn, tenant, y).await? {
            let dates = |v: &serde_json::Value| {
                crate::convert::strings_of(v)
                    .iter()
                    .filter_map(|s| parse_date(s))
                    .collect::<Vec<_>>()
            };
            merged.merge(WorkingCalendar::new(
                dates(&row.holidays),
                dates(&row.extra_working_days),
            ));
        }
    }
    Ok(merged)
}
