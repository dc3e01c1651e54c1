//! Tenant-scoped queries. Every function takes the tenant of the verified caller and filters by it.

use chrono::{DateTime, Datelike, Utc};
use jifen_kit::outbox;
use sea_orm::sea_query::{
    Alias, Asterisk, DynIden, Expr, ExprTrait, Func, InsertStatement, IntoIden, Query,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, FromQueryResult, IdenStatic, Iterable,
    QueryFilter, QueryOrder, Statement, Value,
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

    /// `INSERT INTO <table> (<columns>) VALUES (<values>)`.
    fn insert(&self) -> Result<InsertStatement, ReviewError> {
        let mut insert = Query::insert();
        insert
            .into_table(self.table.clone())
            .columns(self.values.iter().map(|(c, _)| c.clone()))
            .values(self.values.iter().map(|(_, v)| Expr::val(v.clone())))
            .map_err(|e| ReviewError::Internal(e.to_string()))?;
        Ok(insert)
    }
}

/// One guarded change of an application, as [`write_guarded`] writes it: `sets` written to the
/// application row of `tenant` only if nobody changed it since it was read (its audit sequence
/// is still `audit_sequence` and, when given, its version still `version`) and, only when it
/// matched, `rows` inserted and (with `drop_claims`) the application's queue claims deleted.
#[derive(Debug)]
pub struct Guarded {
    pub tenant: String,
    pub id: String,
    pub sets: Vec<(application::Column, Value)>,
    pub version: Option<i64>,
    pub audit_sequence: i64,
    pub rows: Vec<Row>,
    pub drop_claims: bool,
}

impl Guarded {
    /// What a statement for this change looks like: changes of one shape share a statement.
    pub fn shape(&self) -> Vec<String> {
        let mut shape: Vec<String> = self
            .sets
            .iter()
            .map(|(c, _)| c.as_str().to_owned())
            .collect();
        shape.push(format!("version:{}", self.version.is_some()));
        for row in &self.rows {
            shape.push(row.table.to_string());
            shape.extend(row.values.iter().map(|(c, _)| c.to_string()));
        }
        shape.push(format!("claims:{}", self.drop_claims));
        shape
    }
}

/// Writes `change`. Returns the row as written, or StaleVersion when the guard did not match.
///
/// On PostgreSQL this is ONE statement (see [`write_guarded_many`]), so it is atomic on its own
/// and costs one round trip; elsewhere the statements run one by one and the caller's
/// transaction makes them atomic.
pub async fn write_guarded<C: ConnectionTrait>(
    conn: &C,
    change: &Guarded,
) -> Result<application::Model, ReviewError> {
    if conn.get_database_backend() == DbBackend::Postgres {
        return write_guarded_many(conn, &[change])
            .await?
            .pop()
            .ok_or(ReviewError::StaleVersion);
    }
    let mut update = application::Entity::update_many()
        .filter(application::Column::Id.eq(&change.id))
        .filter(application::Column::Tenant.eq(&change.tenant))
        .filter(application::Column::AuditSequence.eq(change.audit_sequence));
    if let Some(version) = change.version {
        update = update.filter(application::Column::Version.eq(version));
    }
    for (column, value) in &change.sets {
        update = update.col_expr(*column, Expr::val(value.clone()));
    }
    if update.exec(conn).await?.rows_affected != 1 {
        return Err(ReviewError::StaleVersion);
    }
    for row in &change.rows {
        conn.execute(&row.insert()?).await?;
    }
    if change.drop_claims {
        let mut delete = Query::delete();
        delete
            .from_table(queue_claim::Entity)
            .and_where(queue_claim::Column::Tenant.eq(&change.tenant))
            .and_where(queue_claim::Column::ApplicationId.eq(&change.id));
        conn.execute(&delete).await?;
    }
    application(conn, &change.tenant, &change.id).await
}

/// PostgreSQL only: writes `changes` (distinct applications, one [`Guarded::shape`]) in ONE
/// statement, hence one round trip and one commit for all of them. The values travel as JSON
/// arrays of records (`jsonb_to_recordset`), so the statement's text depends on the shape only,
/// never on how many changes there are: it is prepared once per connection. The update is a CTE
/// `moved` returning the rows that matched their guard; each row is inserted only if its
/// application is in `moved`, and so are the claims deleted. Returns the moved rows: a change
/// whose guard did not match writes nothing and is missing; an error (a unique violation)
/// writes nothing for any of them.
pub async fn write_guarded_many<C: ConnectionTrait>(
    conn: &C,
    changes: &[&Guarded],
) -> Result<Vec<application::Model>, ReviewError> {
    let Some(first) = changes.first() else {
        return Ok(Vec::new());
    };
    let shape = first.shape();
    if changes.iter().skip(1).any(|c| c.shape() != shape) {
        return Err(ReviewError::Internal(
            "guarded changes of different shapes in one statement".into(),
        ));
    }
    let mut values = Vec::new();
    // The application rows: their key and guard, then the columns written.
    let mut guards = vec![
        ("_id".to_owned(), "text"),
        ("_tenant".to_owned(), "text"),
        ("_sequence".to_owned(), "bigint"),
        ("_version".to_owned(), "bigint"),
    ];
    for (column, value) in &first.sets {
        guards.push((column.as_str().to_owned(), sql_type(value)?));
    }
    let records = changes
        .iter()
        .map(|c| {
            record(
                [
                    ("_id", c.id.clone().into()),
                    ("_tenant", c.tenant.clone().into()),
                    ("_sequence", c.audit_sequence.into()),
                    ("_version", c.version.into()),
                ],
                c.sets
                    .iter()
                    .map(|(column, v)| (column.as_str().to_owned(), v)),
            )
        })
        .collect::<Result<Vec<_>, ReviewError>>()?;
    values.push(Value::from(serde_json::Value::Array(records)));
    let set_list = first
        .sets
        .iter()
        .map(|(c, _)| format!("\"{0}\" = v.\"{0}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let version_guard = if first.version.is_some() {
        " AND a.version = v._version"
    } else {
        ""
    };
    let mut sql = format!(
        "WITH v AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS v({})), \
         moved AS (UPDATE applications AS a SET {set_list} FROM v \
         WHERE a.id = v._id AND a.tenant = v._tenant AND a.audit_sequence = v._sequence{version_guard} \
         RETURNING a.*)",
        record_type(&guards)
    );
    // The rows beside each update, position by position (one shape: the same tables).
    for (i, row) in first.rows.iter().enumerate() {
        let mut columns = vec![("_gate".to_owned(), "text")];
        for (column, value) in &row.values {
            columns.push((column.to_string(), sql_type(value)?));
        }
        let records = changes
            .iter()
            .map(|c| {
                record(
                    [("_gate", c.id.clone().into())],
                    c.rows[i]
                        .values
                        .iter()
                        .map(|(column, v)| (column.to_string(), v)),
                )
            })
            .collect::<Result<Vec<_>, ReviewError>>()?;
        values.push(Value::from(serde_json::Value::Array(records)));
        let names = row
            .values
            .iter()
            .map(|(c, _)| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ");
        sql.push_str(&format!(
            ", w{i} AS (INSERT INTO \"{table}\" ({names}) SELECT {names} \
             FROM jsonb_to_recordset(${n}::jsonb) AS r({types}) \
             WHERE r._gate IN (SELECT id FROM moved))",
            table = row.table,
            n = values.len(),
            types = record_type(&columns)
        ));
    }
    if first.drop_claims {
        sql.push_str(
            ", dropped AS (DELETE FROM queue_claims AS q USING moved AS m \
             WHERE q.tenant = m.tenant AND q.application_id = m.id)",
        );
    }
    sql.push_str(" SELECT * FROM moved");
    conn.query_all_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?
    .iter()
    .map(|row| application::Model::from_query_result(row, "").map_err(ReviewError::from))
    .collect()
}

/// One record of a `jsonb_to_recordset`: the `fixed` fields, then the `columns`' values.
fn record<'a, const N: usize>(
    fixed: [(&str, serde_json::Value); N],
    columns: impl Iterator<Item = (String, &'a Value)>,
) -> Result<serde_json::Value, ReviewError> {
    let mut record: serde_json::Map<String, serde_json::Value> = fixed
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
    for (column, value) in columns {
        record.insert(column, json_of(value)?);
    }
    Ok(serde_json::Value::Object(record))
}

/// `"name" type, ...`: the record type of a `jsonb_to_recordset`.
fn record_type(columns: &[(String, &str)]) -> String {
    columns
        .iter()
        .map(|(name, ty)| format!("\"{name}\" {ty}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The PostgreSQL type of a column holding `value` (the kinds guarded writes carry).
fn sql_type(value: &Value) -> Result<&'static str, ReviewError> {
    Ok(match value {
        Value::Bool(_) => "boolean",
        Value::Int(_) => "integer",
        Value::BigInt(_) => "bigint",
        Value::Double(_) => "double precision",
        Value::String(_) => "text",
        Value::Bytes(_) => "bytea",
        Value::Json(_) => "jsonb",
        Value::ChronoDateTimeUtc(_) => "timestamptz",
        Value::Uuid(_) => "uuid",
        other => {
            return Err(ReviewError::Internal(format!(
                "guarded write: unsupported value {other:?}"
            )));
        }
    })
}

/// `value` as it travels in a `jsonb_to_recordset` record (read back by the column's type).
fn json_of(value: &Value) -> Result<serde_json::Value, ReviewError> {
    use serde_json::Value as J;
    Ok(match value {
        Value::Bool(v) => v.map_or(J::Null, J::from),
        Value::Int(v) => v.map_or(J::Null, J::from),
        Value::BigInt(v) => v.map_or(J::Null, J::from),
        Value::Double(v) => v.map_or(J::Null, J::from),
        Value::String(v) => v.clone().map_or(J::Null, J::from),
        Value::Bytes(v) => v
            .as_ref()
            .map_or(J::Null, |b| J::from(format!("\\x{}", hex::encode(b)))),
        Value::Json(v) => v.as_deref().cloned().unwrap_or(J::Null),
        Value::ChronoDateTimeUtc(v) => v.map_or(J::Null, |t| {
            J::from(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        }),
        Value::Uuid(v) => v.map_or(J::Null, |u| J::from(u.to_string())),
        other => {
            return Err(ReviewError::Internal(format!(
                "guarded write: unsupported value {other:?}"
            )));
        }
    })
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
    write_guarded(
        conn,
        &Guarded {
            tenant: app.tenant.clone(),
            id: app.id.clone(),
            sets: vec![
                (
                    application::Column::AuditSequence,
                    chained.entry.sequence.into(),
                ),
                (application::Column::AuditHead, chained.hash.clone().into()),
            ],
            version: None,
            audit_sequence: app.audit_sequence,
            rows: vec![Row::audit(&chained, due_at)],
            drop_claims: false,
        },
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
