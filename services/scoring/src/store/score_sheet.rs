//! Stored score sheets: the explained score, the rule-set version and the facts hash.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};

/// `score_sheets` rows.
pub mod score_sheet_row {
    use sea_orm::entity::prelude::*;

    /// One stored score sheet.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "score_sheets")]
    pub struct Model {
        /// Sheet id (UUIDv7).
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Tenant.
        pub tenant: String,
        /// Application.
        pub application_id: String,
        /// Cycle.
        pub cycle_id: String,
        /// `claimed` or `verified`.
        pub kind: String,
        /// Benefit.
        pub benefit: String,
        /// Rule-set id.
        pub rule_set_id: String,
        /// Rule-set version.
        pub rule_set_version: i32,
        /// Hash of the effective (materialised) rule set.
        pub rule_set_hash: String,
        /// `YYYY-MM-DD`.
        pub as_of_date: String,
        /// `sha256:<hex>` of the canonical facts.
        pub facts_hash: String,
        /// Facts JSON.
        pub facts: String,
        /// The explained sheet, JSON.
        pub sheet: String,
        /// Total, for listing and what-if.
        pub total: i64,
        /// Eligible.
        pub eligible: bool,
        /// Stored.
        pub created_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use score_sheet_row::Model as ScoreSheetRow;
use score_sheet_row::{Column, Entity};

/// Returns the stored sheet with the same idempotency key, if any.
pub async fn find_same<C: ConnectionTrait>(
    db: &C,
    row: &ScoreSheetRow,
) -> Result<Option<ScoreSheetRow>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(&row.tenant))
        .filter(Column::ApplicationId.eq(&row.application_id))
        .filter(Column::Kind.eq(&row.kind))
        .filter(Column::FactsHash.eq(&row.facts_hash))
        .filter(Column::RuleSetId.eq(&row.rule_set_id))
        .filter(Column::RuleSetVersion.eq(row.rule_set_version))
        .one(db)
        .await
}

/// Inserts a sheet.
pub async fn insert<C: ConnectionTrait>(db: &C, row: ScoreSheetRow) -> Result<(), sea_orm::DbErr> {
    Entity::insert(sea_orm::IntoActiveModel::into_active_model(row))
        .exec(db)
        .await?;
    Ok(())
}

/// Returns a sheet of `tenant`.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<ScoreSheetRow>, sea_orm::DbErr> {
    Entity::find_by_id(id.to_owned())
        .filter(Column::Tenant.eq(tenant))
        .one(db)
        .await
}

/// Lists an application's sheets of `tenant`, newest first (`kind` empty = all).
pub async fn list_for_application<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    application_id: &str,
    kind: Option<&str>,
) -> Result<Vec<ScoreSheetRow>, sea_orm::DbErr> {
    let mut query = Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::ApplicationId.eq(application_id));
    if let Some(kind) = kind {
        query = query.filter(Column::Kind.eq(kind));
    }
    query
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}

/// Lists a cycle's sheets of one kind, newest first.
pub async fn list_for_cycle<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    cycle_id: &str,
    kind: &str,
) -> Result<Vec<ScoreSheetRow>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::CycleId.eq(cycle_id))
        .filter(Column::Kind.eq(kind))
        .order_by_desc(Column::CreatedAt)
        .order_by_desc(Column::Id)
        .all(db)
        .await
}
