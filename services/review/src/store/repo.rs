//! Tenant-scoped queries. Every function takes the tenant of the verified caller and filters by it.

use chrono::{DateTime, Datelike, Utc};
use jifen_kit::outbox;
use sea_orm::sea_query::{
    Alias, Asterisk, CommonTableExpression, DynIden, Expr, ExprTrait, Func, InsertStatement,
    IntoIden, Query, UpdateStatement, WithClause,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QueryOrder, QueryTrait, Value,
};

use super::entities::{
    application, audit, calendar, cycle, idempotency, objection, queue_claim, sla_policy, task,
};
use crate::domain::audit::{AuditEntry, ChainedEntry, chain};
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

/// What Submit needs before it writes, read in ONE query: the application an idempotency key of
/// `applicant_subject` (scope `scope`) already produced, else application `id`; the cycle it
/// belongs to; and whether the key was found (a replay).
pub async fn keyed_application_with_cycle<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    applicant_subject: &str,
    scope: &str,
    key: &str,
    id: &str,
) -> Result<(application::Model, cycle::Model, bool), ReviewError> {
    use application::Entity as A;
    use cycle::Entity as Cy;
    let keyed = Query::select()
        .column(idempotency::Column::TargetId)
        .from(idempotency::Entity)
        .and_where(idempotency::Column::Tenant.eq(tenant))
        .and_where(idempotency::Column::ApplicantSubject.eq(applicant_subject))
        .and_where(idempotency::Column::Scope.eq(scope))
        .and_where(idempotency::Column::Key.eq(key))
        .to_owned();
    let mut select = Query::select();
    select.column((A, Asterisk));
    for col in cycle::Column::iter() {
        select.expr_as(
            Expr::col((Cy, col)),
            Alias::new(format!("{CYCLE_PREFIX}{}", col.as_str())),
        );
    }
    select
        .expr_as(Expr::exists(keyed.clone()), Alias::new("replayed"))
        .from(A)
        // Joined and filtered by primary keys only (ids are unique across tenants), so the
        // planner cannot prefer a tenant-prefixed index and scan the tenant's rows; the tenant
        // is checked on the row read.
        .inner_join(
            Cy,
            Expr::col((Cy, cycle::Column::Id)).equals((A, application::Column::CycleId)),
        )
        .and_where(
            Expr::col((A, application::Column::Id))
                .eq(Func::coalesce([keyed.into(), Expr::val(id)])),
        );
    let row = conn
        .query_one(&select)
        .await?
        .ok_or(ReviewError::NotFound("申请"))?;
    let app = application::Model::from_query_result(&row, "")?;
    if app.tenant != tenant {
        return Err(ReviewError::NotFound("申请"));
    }
    let cycle = cycle::Model::from_query_result(&row, CYCLE_PREFIX)?;
    if cycle.tenant != tenant {
        return Err(ReviewError::NotFound("申请批次"));
    }
    let replayed = row.try_get::<bool>("", "replayed")?;
    Ok((app, cycle, replayed))
}

/// Column prefix of the cycle in [`keyed_application_with_cycle`].
const CYCLE_PREFIX: &str = "cycle_";

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

/// A row written beside a guarded application update (see [`write_guarded`]): its table and
/// its (column, value) pairs.
#[derive(Debug, Clone)]
pub struct Row {
    table: DynIden,
    values: Vec<(DynIden, Value)>,
}

impl Row {
    /// The audit record `chained` (due date `due_at`).
    pub fn audit(chained: &ChainedEntry, due_at: Option<DateTime<Utc>>) -> Self {
        use audit::Column as A;
        let e = &chained.entry;
        Self {
            table: audit::Entity.into_iden(),
            values: vec![
                (
                    A::ApplicationId.into_iden(),
                    e.application_id.clone().into(),
                ),
                (A::Sequence.into_iden(), e.sequence.into()),
                (A::Tenant.into_iden(), e.tenant.clone().into()),
                (A::ActorSubject.into_iden(), e.actor_subject.clone().into()),
                (A::ActorRole.into_iden(), e.actor_role.clone().into()),
                (A::ActorTenant.into_iden(), e.actor_tenant.clone().into()),
                (A::ActorScope.into_iden(), e.actor_scope.clone().into()),
                (A::Action.into_iden(), e.action.clone().into()),
                (A::FromStatus.into_iden(), e.from_status.into()),
                (A::ToStatus.into_iden(), e.to_status.into()),
                (A::Reason.into_iden(), e.reason.clone().into()),
                (A::Details.into_iden(), e.details.clone().into()),
                (A::At.into_iden(), e.at.into()),
                (A::DueAt.into_iden(), due_at.into()),
                (A::PrevHash.into_iden(), chained.prev_hash.clone().into()),
                (A::Hash.into_iden(), chained.hash.clone().into()),
            ],
        }
    }

    /// The outbox row of `event` (what `jifen_kit::outbox::enqueue` writes).
    pub fn outbox(event: &outbox::Event) -> Self {
        use outbox::outbox_event::Column as O;
        Self {
            table: outbox::outbox_event::Entity.into_iden(),
            values: vec![
                (O::Id.into_iden(), event.id.into()),
                (O::Topic.into_iden(), event.topic.clone().into()),
                (O::Tenant.into_iden(), event.tenant.clone().into()),
                (O::Payload.into_iden(), event.payload.clone().into()),
                (O::OccurredAt.into_iden(), event.occurred_at.into()),
                (O::Attempts.into_iden(), 0i32.into()),
                (O::NextAttemptAt.into_iden(), event.occurred_at.into()),
                (
                    O::DeliveredAt.into_iden(),
                    Option::<DateTime<Utc>>::None.into(),
                ),
                (O::LastError.into_iden(), Option::<String>::None.into()),
            ],
        }
    }

    /// An idempotency key of `applicant_subject` in `tenant`, naming `target`.
    pub fn idempotency_key(
        tenant: &str,
        applicant_subject: &str,
        scope: &str,
        key: &str,
        target: &str,
    ) -> Self {
        use idempotency::Column as K;
        Self {
            table: idempotency::Entity.into_iden(),
            values: vec![
                (K::Tenant.into_iden(), tenant.to_owned().into()),
                (
                    K::ApplicantSubject.into_iden(),
                    applicant_subject.to_owned().into(),
                ),
                (K::Scope.into_iden(), scope.to_owned().into()),
                (K::Key.into_iden(), key.to_owned().into()),
                (K::TargetId.into_iden(), target.to_owned().into()),
                (K::CreatedAt.into_iden(), Utc::now().into()),
            ],
        }
    }

    /// `INSERT INTO <table> (<columns>) SELECT <values> [FROM <gate>]`: with a gate, the row is
    /// written only if the gate (a CTE) has a row.
    fn insert(&self, gate: Option<&str>) -> Result<InsertStatement, ReviewError> {
        let mut select = Query::select();
        for (_, value) in &self.values {
            select.expr(Expr::val(value.clone()));
        }
        if let Some(gate) = gate {
            select.from(Alias::new(gate));
        }
        let mut insert = Query::insert();
        insert
            .into_table(self.table.clone())
            .columns(self.values.iter().map(|(c, _)| c.clone()))
            .select_from(select)
            .map_err(|e| ReviewError::Internal(e.to_string()))?;
        Ok(insert)
    }
}

/// Name of the CTE holding the updated application row in [`write_guarded`].
const MOVED: &str = "moved";

/// Runs `update` (an update of exactly one application row of `tenant`, filtered so that it
/// matches only if nobody changed the row since it was read: version and/or audit head) and,
/// only when it matched, inserts `rows` and (with `drop_claims`) deletes the application's queue
/// claims. Returns the row as written, or StaleVersion when the update matched nothing.
///
/// On PostgreSQL this is ONE statement (data-modifying CTEs gated on the updated row), so it is
/// atomic on its own and costs one round trip; elsewhere the statements run one by one and the
/// caller's transaction makes them atomic.
pub async fn write_guarded<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    id: &str,
    update: UpdateStatement,
    rows: &[Row],
    drop_claims: bool,
) -> Result<application::Model, ReviewError> {
    let claims = |gated: bool| {
        let mut delete = Query::delete();
        delete
            .from_table(queue_claim::Entity)
            .and_where(queue_claim::Column::Tenant.eq(tenant));
        if gated {
            delete.and_where(
                Expr::col(queue_claim::Column::ApplicationId).in_subquery(
                    Query::select()
                        .column(application::Column::Id)
                        .from(Alias::new(MOVED))
                        .to_owned(),
                ),
            );
        } else {
            delete.and_where(queue_claim::Column::ApplicationId.eq(id));
        }
        delete
    };
    if conn.get_database_backend() == DbBackend::Postgres {
        let mut update = update;
        update.returning_all();
        let mut with = WithClause::new();
        with.cte(
            CommonTableExpression::new()
                .query(update)
                .table_name(Alias::new(MOVED))
                .to_owned(),
        );
        for (i, row) in rows.iter().enumerate() {
            with.cte(
                CommonTableExpression::new()
                    .query(row.insert(Some(MOVED))?)
                    .table_name(Alias::new(format!("w{i}")))
                    .to_owned(),
            );
        }
        if drop_claims {
            with.cte(
                CommonTableExpression::new()
                    .query(claims(true))
                    .table_name(Alias::new("dropped_claims"))
                    .to_owned(),
            );
        }
        let select = Query::select()
            .column(Asterisk)
            .from(Alias::new(MOVED))
            .to_owned();
        let row = conn.query_one(&with.query(select)).await?;
        return match row {
            Some(row) => Ok(application::Model::from_query_result(&row, "")?),
            None => Err(ReviewError::StaleVersion),
        };
    }
    if conn.execute(&update).await?.rows_affected() != 1 {
        return Err(ReviewError::StaleVersion);
    }
    for row in rows {
        conn.execute(&row.insert(None)?).await?;
    }
    if drop_claims {
        conn.execute(&claims(false)).await?;
    }
    application(conn, tenant, id).await
}

/// Appends an audit record after `app`'s last one (the head stored on `app`) and moves the head,
/// without reading the trail. The caller holds the application row in this transaction (a
/// versioned update or [`lock_application`]), so `app`'s head is current; the head update is
/// also guarded by the old sequence and the primary key (application, sequence) is the last
/// wall. Returns the row with its new head.
pub async fn append_audit<C: ConnectionTrait>(
    conn: &C,
    app: &application::Model,
    mut entry: AuditEntry,
    due_at: Option<DateTime<Utc>>,
) -> Result<application::Model, ReviewError> {
    entry.sequence = app.audit_sequence + 1;
    let chained = chain(entry, &app.audit_head);
    let update = application::Entity::update_many()
        .col_expr(
            application::Column::AuditSequence,
            Expr::value(chained.entry.sequence),
        )
        .col_expr(
            application::Column::AuditHead,
            Expr::value(chained.hash.clone()),
        )
        .filter(application::Column::Id.eq(app.id.clone()))
        .filter(application::Column::Tenant.eq(app.tenant.clone()))
        .filter(application::Column::AuditSequence.eq(app.audit_sequence))
        .into_query();
    write_guarded(
        conn,
        &app.tenant,
        &app.id,
        update,
        &[Row::audit(&chained, due_at)],
        false,
    )
    .await
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
    Ok(policy_of(row))
}

/// The policy of a stored row (defaults when none is stored) and its version (0 = default).
fn policy_of(row: Option<sla_policy::Model>) -> (SlaPolicy, i64) {
    let days = |v: i32| u32::try_from(v).unwrap_or(1);
    match row {
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
    }
}

/// Column prefixes of [`sla_and_calendar`].
const SLA_PREFIX: &str = "sla_";
const CALENDAR_PREFIX: &str = "cal_";

/// Returns the tenant's SLA policy and its working calendar covering `from`'s year and the next
/// (what [`sla`] and [`working_calendar`] return), read in ONE query: a one-row anchor, left
/// joined with the tenant's policy row and with the calendar rows of the tenant and the city for
/// both years.
pub async fn sla_and_calendar<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    from: DateTime<Utc>,
) -> Result<(SlaPolicy, WorkingCalendar), ReviewError> {
    use calendar::Entity as Cal;
    use sla_policy::Entity as Sla;
    let city = jifen_kit::auth::CITY_TENANT;
    let year = crate::domain::calendar::local_date(from).year();
    let anchor = Alias::new("anchor");
    let mut select = Query::select();
    for col in sla_policy::Column::iter() {
        select.expr_as(
            Expr::col((Sla, col)),
            Alias::new(format!("{SLA_PREFIX}{}", col.as_str())),
        );
    }
    for col in calendar::Column::iter() {
        select.expr_as(
            Expr::col((Cal, col)),
            Alias::new(format!("{CALENDAR_PREFIX}{}", col.as_str())),
        );
    }
    select
        .from_subquery(
            Query::select()
                .expr_as(Expr::val(1), Alias::new("one"))
                .to_owned(),
            anchor,
        )
        .left_join(Sla, Expr::col((Sla, sla_policy::Column::Tenant)).eq(tenant))
        .left_join(
            Cal,
            Expr::col((Cal, calendar::Column::Tenant))
                .is_in([tenant, city])
                .and(Expr::col((Cal, calendar::Column::Year)).is_in([year, year + 1])),
        );
    let rows = conn.query_all(&select).await?;
    let mut policy = None;
    let mut calendars = Vec::new();
    for row in &rows {
        if policy.is_none()
            && row
                .try_get::<Option<String>>(SLA_PREFIX, sla_policy::Column::Tenant.as_str())?
                .is_some()
        {
            policy = Some(sla_policy::Model::from_query_result(row, SLA_PREFIX)?);
        }
        if row
            .try_get::<Option<String>>(CALENDAR_PREFIX, calendar::Column::Tenant.as_str())?
            .is_some()
        {
            calendars.push(calendar::Model::from_query_result(row, CALENDAR_PREFIX)?);
        }
    }
    Ok((
        policy_of(policy).0,
        merged_calendar(&calendars, tenant, year),
    ))
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

/// Returns the working calendar of `tenant` covering `from`'s year and the next (each year the
/// tenant's own calendar, else the city's), read in one query.
pub async fn working_calendar<C: ConnectionTrait>(
    conn: &C,
    tenant: &str,
    from: DateTime<Utc>,
) -> Result<WorkingCalendar, ReviewError> {
    let city = jifen_kit::auth::CITY_TENANT;
    let year = crate::domain::calendar::local_date(from).year();
    let rows = calendar::Entity::find()
        .filter(calendar::Column::Tenant.is_in([tenant, city]))
        .filter(calendar::Column::Year.is_in([year, year + 1]))
        .all(conn)
        .await?;
    Ok(merged_calendar(&rows, tenant, year))
}

/// Merges `year` and the next out of `rows`: each year the tenant's own calendar, else the
/// city's.
fn merged_calendar(rows: &[calendar::Model], tenant: &str, year: i32) -> WorkingCalendar {
    let city = jifen_kit::auth::CITY_TENANT;
    let mut merged = WorkingCalendar::default();
    for y in [year, year + 1] {
        let of_year = |t: &str| rows.iter().find(|r| r.year == y && r.tenant == t);
        if let Some(row) = of_year(tenant).or_else(|| of_year(city)) {
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
    merged
}
