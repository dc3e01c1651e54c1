//! `publicity_lists`: immutable snapshots of published lists. Nothing here updates a list's
//! content; a correction is a new list, and only the `superseded_by` link of the old one is set.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// `publicity_lists` rows.
pub mod row {
    use sea_orm::entity::prelude::*;

    /// One published list.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "publicity_lists")]
    pub struct Model {
        /// List id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Publishing tenant.
        pub tenant: String,
        /// The run it was published from.
        pub run_id: String,
        /// Cycle id.
        pub cycle_id: String,
        /// Benefit code.
        pub benefit: String,
        /// Year of publication (Asia/Shanghai).
        pub year: i32,
        /// Title.
        pub title_zh: String,
        /// Masked rows in published order (`[PublicityRow]`).
        pub rows: Json,
        /// SHA-256 hex of `csv`.
        pub content_hash: String,
        /// The CSV export, byte for byte what the hash covers.
        pub csv: String,
        /// Publicity window start (`YYYY-MM-DD`).
        pub publicity_start: String,
        /// Publicity window end (`YYYY-MM-DD`).
        pub publicity_end: String,
        /// Official cut-offs (`[StoredCutoff]`).
        pub cutoffs: Json,
        /// Rows on the list.
        pub entry_count: i64,
        /// When published.
        pub published_at: DateTimeUtc,
        /// Who published it (`AuditActor` as JSON).
        pub published_by: Json,
        /// The list this one corrects.
        pub supersedes: Option<String>,
        /// The list correcting this one.
        pub superseded_by: Option<String>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use row::Model as PublicityListRow;
use row::{Column, Entity};

/// Stores a new list.
pub async fn insert<C: ConnectionTrait>(db: &C, list: PublicityListRow) -> Result<(), DbErr> {
    let active: row::ActiveModel = list.into();
    active.insert(db).await?;
    Ok(())
}

/// Returns a list of a tenant.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
) -> Result<Option<PublicityListRow>, DbErr> {
    Entity::find_by_id(id.to_owned())
        .filter(Column::Tenant.eq(tenant))
        .one(db)
        .await
}

/// Links an old list to the list correcting it; returns false when it was corrected already.
pub async fn mark_superseded<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    id: &str,
    by: &str,
) -> Result<bool, DbErr> {
    let result = Entity::update_many()
        .col_expr(Column::SupersededBy, by.into())
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::Id.eq(id))
        .filter(Column::SupersededBy.is_null())
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// Filters of [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Benefit code; empty = any.
    pub benefit: String,
    /// Year; 0 = any.
    pub year: i32,
    /// Cycle; empty = any.
    pub cycle_id: String,
}

/// Returns a page of a tenant's lists, newest first, and whether more follow.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    filter: &ListFilter,
    offset: u64,
    limit: u64,
) -> Result<(Vec<PublicityListRow>, bool), DbErr> {
    let mut query = Entity::find().filter(Column::Tenant.eq(tenant));
    if !filter.benefit.is_empty() {
        query = query.filter(Column::Benefit.eq(filter.benefit.as_str()));
    }
    if filter.year != 0 {
        query = query.filter(Column::Year.eq(filter.year));
    }
    if !filter.cycle_id.is_empty() {
        query = query.filter(Column::CycleId.eq(filter.cycle_id.as_str()));
    }
    let mut rows = query
        .order_by_desc(Column::PublishedAt)
        .order_by_desc(Column::Id)
        .offset(offset)
        .limit(limit + 1)
        .all(db)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, more))
}
