//! `ranking_runs`: official runs with their parameters, snapshot, hashes and results.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect,
};

/// `ranking_runs` rows.
pub mod row {
    use sea_orm::entity::prelude::*;

    /// One official ranking run.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "ranking_runs")]
    pub struct Model {
        /// Run id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Tenant.
        pub tenant: String,
        /// Cycle id.
        pub cycle_id: String,
        /// Benefit code of the snapshot.
        pub benefit: String,
        /// Caller's idempotency key, unique per tenant when set.
        pub idempotency_key: Option<String>,
        /// The parameters as requested (`crate::runs::StoredParams`).
        pub params: Json,
        /// The snapshot (`[RunApplication]`), so the run can be re-checked.
        pub inputs: Json,
        /// SHA-256 hex of the canonical inputs.
        pub inputs_hash: String,
        /// SHA-256 hex of the canonical results.
        pub results_hash: String,
        /// The result (`RunResult`: rows, cut-off, schools).
        pub result: Json,
        /// Lowest admitted total.
        pub cutoff: Option<i64>,
        /// Applications in the snapshot.
        pub entry_count: i64,
        /// `completed` or `published`.
        pub status: String,
        /// Who started it (`AuditActor` as JSON).
        pub created_by: Json,
        /// When.
        pub created_at: DateTimeUtc,
        /// When the result was stored.
        pub finished_at: DateTimeUtc,
        /// The list published from it.
        pub publicity_list_id: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use row::Model as RankingRunRow;
use row::{Column, Entity};

/// Stores a new run.
pub async fn insert<C: ConnectionTrait>(db: &C, run: RankingRunRow) -> Result<(), DbErr> {
    let active: row::ActiveModel = run.into();
    active.insert(db).await?;
    Ok(())
}

/// Returns a run of a tenant.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<RankingRunRow>, DbErr> {
    Entity::find_by_id(id.to_owned())
        .filter(Column::Tenant.eq(tenant))
        .one(db)
        .await
}

/// Returns the run started with an idempotency key.
pub async fn find_by_key<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    key: &str,
) -> Result<Option<RankingRunRow>, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::IdempotencyKey.eq(key))
        .one(db)
        .await
}

/// Returns a page of a cycle's runs, newest first, and whether more follow.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
    offset: u64,
    limit: u64,
) -> Result<(Vec<RankingRunRow>, bool), DbErr> {
    let mut query = Entity::find().filter(Column::Tenant.eq(tenant));
    if !cycle_id.is_empty() {
        query = query.filter(Column::CycleId.eq(cycle_id));
    }
    let mut rows = query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}

/// Returns the newest run of a cycle (its parameters give the provisional seats).
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
) -> Result<Option<RankingRunRow>, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .one(db)
        .await
}

/// Returns only the parameters (the `params` column) of the newest run of a tenant's cycle:
/// what live queries need to draw their line, without loading the run's snapshot and results.
pub async fn latest_params<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
) -> Result<Option<serde_json::Value>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Params)
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .into_tuple()
        .one(db)
        .await
}

/// Marks a completed run as published; returns false when it was published already.
pub async fn mark_published<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
    list_id: &str,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::Status, "published".into())
        .col_expr(Column::PublicityListId, list_id.into())
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::Id.eq(id))
        .filter(Column::Status.eq("completed"))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Returns how many runs a tenant has (tests and metrics).
pub async fn count<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<u64, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .count(db)
        .await
}
