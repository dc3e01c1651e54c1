//! `board_entries`: one row per confirmed application, the source the live boards are rebuilt
//! from and the snapshot official runs read. A withdrawn or rejected application keeps its row
//! with `removed = true` (and its aggregate version, so a late, older event cannot bring it back).

use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
};

/// `board_entries` rows.
pub mod row {
    use sea_orm::entity::prelude::*;

    /// One application on the boards of its cycle.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "board_entries")]
    pub struct Model {
        /// Tenant (the applying district).
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant: String,
        /// Application id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub application_id: String,
        /// Cycle id.
        pub cycle_id: String,
        /// Benefit code (`school`, `settlement` …).
        pub benefit: String,
        /// Public application number, the final tie key.
        pub application_number: String,
        /// The applicant's account id (who may see this rank).
        pub applicant_subject: String,
        /// Confirmed total.
        pub total: i64,
        /// The rule set's tie-breakers (`[{key, direction}]`), part of the board's order.
        pub tie_spec: Json,
        /// One integer per tie-breaker (missing values already set to the worst value).
        pub tie_values: Json,
        /// Masked name.
        pub masked_name: String,
        /// Masked ID number.
        pub masked_id_number: String,
        /// Whether every gate passed at confirmation (re-checked by official runs).
        pub gates_ok: bool,
        /// School codes in order of preference (`[String]`).
        pub school_preferences: Json,
        /// Service area (镇/街道 code) of the residence.
        pub service_area: Option<String>,
        /// Threshold area (settlement).
        pub threshold_area: Option<String>,
        /// District (tenant code) of the residence.
        pub district: String,
        /// When the score was confirmed.
        pub confirmed_at: DateTimeUtc,
        /// Version of the application aggregate last applied.
        pub aggregate_version: i64,
        /// Withdrawn, rejected or re-opened: not on any board.
        pub removed: bool,
        /// Last change.
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use row::Model as BoardEntryRow;
use row::{Column, Entity};

/// Returns the row of one application of a tenant (removed or not).
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    application_id: &str,
) -> Result<Option<BoardEntryRow>, DbErr> {
    Entity::find_by_id((tenant.to_owned(), application_id.to_owned()))
        .one(db)
        .await
}

/// Inserts or replaces the row of an application.
pub async fn save<C: ConnectionTrait>(db: &C, entry: BoardEntryRow) -> Result<(), DbErr> {
    let active: row::ActiveModel = entry.into();
    Entity::insert(active)
        .on_conflict(
            OnConflict::columns([Column::Tenant, Column::ApplicationId])
                .update_columns([
                    Column::CycleId,
                    Column::Benefit,
                    Column::ApplicationNumber,
                    Column::ApplicantSubject,
                    Column::Total,
                    Column::TieSpec,
                    Column::TieValues,
                    Column::MaskedName,
                    Column::MaskedIdNumber,
                    Column::GatesOk,
                    Column::SchoolPreferences,
                    Column::ServiceArea,
                    Column::ThresholdArea,
                    Column::District,
                    Column::ConfirmedAt,
                    Column::AggregateVersion,
                    Column::Removed,
                    Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Returns the live (not removed) entries of a tenant's cycle, by application id.
pub async fn live_in_cycle<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
) -> Result<Vec<BoardEntryRow>, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .filter(Column::Removed.eq(false))
        .order_by_asc(Column::ApplicationId)
        .all(db)
        .await
}

/// Returns one live entry of a tenant's cycle other than `application_id`, if any (to check
/// that a cycle ranks by one rule set).
pub async fn any_other_live<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
    application_id: &str,
) -> Result<Option<BoardEntryRow>, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .filter(Column::Removed.eq(false))
        .filter(Column::ApplicationId.ne(application_id))
        .limit(1)
        .one(db)
        .await
}

/// Returns every `(tenant, cycle)` with live entries (the start-up rebuild).
pub async fn live_cycles<C: ConnectionTrait>(db: &C) -> Result<Vec<(String, String)>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::Tenant)
        .column(Column::CycleId)
        .filter(Column::Removed.eq(false))
        .distinct()
        .into_tuple()
        .all(db)
        .await
}

/// Returns the cycles of a tenant with live entries.
pub async fn live_cycles_of<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<Vec<String>, DbErr> {
    Entity::find()
        .select_only()
        .column(Column::CycleId)
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::Removed.eq(false))
        .distinct()
        .into_tuple()
        .all(db)
        .await
}

/// Returns the live entries of every tenant naming threshold area `area`, by tenant and
/// application id (the threshold-area boards; callers keep one period).
pub async fn live_in_area<C: ConnectionTrait>(
    db: &C,
    area: &str,
) -> Result<Vec<BoardEntryRow>, DbErr> {
    Entity::find()
        .filter(Column::ThresholdArea.eq(area))
        .filter(Column::Removed.eq(false))
        .order_by_asc(Column::Tenant)
        .order_by_asc(Column::ApplicationId)
        .all(db)
        .await
}

/// Returns every threshold area named by a live entry (the start-up rebuild).
pub async fn live_areas<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let areas: Vec<Option<String>> = Entity::find()
        .select_only()
        .column(Column::ThresholdArea)
        .filter(Column::Removed.eq(false))
        .filter(Column::ThresholdArea.is_not_null())
        .distinct()
        .into_tuple()
        .all(db)
        .await?;
    Ok(areas
        .into_iter()
        .flatten()
        .filter(|a| !a.is_empty())
        .collect())
}

/// Returns the most recently confirmed live entry of a tenant's cycle that names threshold area
/// `area` (to find the cycle's period on the area board).
pub async fn latest_in_cycle_area<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
    area: &str,
) -> Result<Option<BoardEntryRow>, DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .filter(Column::ThresholdArea.eq(area))
        .filter(Column::Removed.eq(false))
        .order_by_desc(Column::ConfirmedAt)
        .limit(1)
        .one(db)
        .await
}
