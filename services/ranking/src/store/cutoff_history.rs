//! `cutoff_history`: the official cut-off of every scope of every published list, per tenant,
//! benefit and year.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
};

/// `cutoff_history` rows.
pub mod row {
    use sea_orm::entity::prelude::*;

    /// One official cut-off.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "cutoff_history")]
    pub struct Model {
        /// Row id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Tenant.
        pub tenant: String,
        /// Benefit code.
        pub benefit: String,
        /// Year (Asia/Shanghai) of publication.
        pub year: i32,
        /// Board scope (`tenant`, `school:<code>` …).
        pub scope: String,
        /// Cycle id.
        pub cycle_id: String,
        /// The publicity list that published it.
        pub list_id: String,
        /// Lowest admitted total (or the pass mark).
        pub cutoff: i64,
        /// Seats offered (0 for pass marks).
        pub seats: i64,
        /// Admitted applications.
        pub admitted: i64,
        /// Applications ranked in the scope.
        pub applicants: i64,
        /// When the list was published.
        pub published_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use row::Model as CutoffRow;
use row::{Column, Entity};

/// Records one cut-off.
pub async fn insert<C: ConnectionTrait>(db: &C, cutoff: CutoffRow) -> Result<(), DbErr> {
    let active: row::ActiveModel = cutoff.into();
    active.insert(db).await?;
    Ok(())
}

/// Returns a tenant's cut-offs of one scope, oldest first; `benefit` empty = any, years 0 =
/// unbounded.
pub async fn history<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    benefit: &str,
    scope: &str,
    from_year: i32,
    to_year: i32,
) -> Result<Vec<CutoffRow>, DbErr> {
    let mut query = Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::Scope.eq(scope));
    if !benefit.is_empty() {
        query = query.filter(Column::Benefit.eq(benefit));
    }
    if from_year != 0 {
        query = query.filter(Column::Year.gte(from_year));
    }
    if to_year != 0 {
        query = query.filter(Column::Year.lte(to_year));
    }
    query
        .order_by_asc(Column::Year)
        .order_by_asc(Column::PublishedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await
}
