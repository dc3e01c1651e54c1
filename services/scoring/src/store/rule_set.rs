//! Rule-set versions: one row per (tenant, rule-set id, version).

use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

/// `rule_sets` rows.
pub mod rule_set_row {
    use sea_orm::entity::prelude::*;

    /// One version of a rule set.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "rule_sets")]
    pub struct Model {
        /// `{tenant}/{rule_set_id}@{version}`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Owning tenant (`suzhou` for city templates).
        pub tenant: String,
        /// e.g. `SZ-CITY-SCHOOL-2023`.
        pub rule_set_id: String,
        /// 1, 2, …
        pub version: i32,
        /// `draft`, `validated`, `published`, `frozen`.
        pub status: String,
        /// Parent rule-set id; empty for a template.
        pub extends_id: String,
        /// Benefit codes, comma separated.
        pub benefits: String,
        /// Chinese title.
        pub title_zh: String,
        /// The document as stored (an overlay holds only its changes), JSON.
        pub document: String,
        /// `sha256:<hex>` of the canonical document.
        pub content_hash: String,
        /// Edit counter for optimistic concurrency.
        pub edit_version: i64,
        /// JSON array of cycle ids this version is frozen for.
        pub frozen_for_cycles: String,
        /// Creating subject.
        pub created_by: String,
        /// Created.
        pub created_at: DateTimeUtc,
        /// Last editing subject.
        pub updated_by: String,
        /// Last edit.
        pub updated_at: DateTimeUtc,
        /// Publishing subject.
        pub published_by: Option<String>,
        /// Published.
        pub published_at: Option<DateTimeUtc>,
        /// First frozen.
        pub frozen_at: Option<DateTimeUtc>,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use rule_set_row::Model as RuleSetRow;
use rule_set_row::{ActiveModel, Column, Entity};

const RELEASED: [&str; 2] = ["published", "frozen"];

/// Returns the primary key of a version.
pub fn row_key(tenant: &str, rule_set_id: &str, version: u32) -> String {
    format!("{tenant}/{rule_set_id}@{version}")
}

/// Returns one version owned by `tenant`.
pub async fn find<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    rule_set_id: &str,
    version: u32,
) -> Result<Option<RuleSetRow>, sea_orm::DbErr> {
    Entity::find_by_id(row_key(tenant, rule_set_id, version))
        .one(db)
        .await
}

/// Returns the newest version of `rule_set_id` owned by `tenant` (released ones only when
/// `released_only`).
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    rule_set_id: &str,
    released_only: bool,
) -> Result<Option<RuleSetRow>, sea_orm::DbErr> {
    let mut query = Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .filter(Column::RuleSetId.eq(rule_set_id));
    if released_only {
        query = query.filter(Column::Status.is_in(RELEASED));
    }
    query.order_by_desc(Column::Version).one(db).await
}

/// Returns the tenants that own some version of `rule_set_id` (ids are unique city-wide so an
/// overlay's `extends` is unambiguous).
pub async fn owners<C: ConnectionTrait>(
    db: &C,
    rule_set_id: &str,
) -> Result<Vec<String>, sea_orm::DbErr> {
    let rows = Entity::find()
        .filter(Column::RuleSetId.eq(rule_set_id))
        .all(db)
        .await?;
    let mut owners: Vec<String> = rows.into_iter().map(|r| r.tenant).collect();
    owners.dedup();
    Ok(owners)
}

/// Lists what `tenant` sees: its own versions, plus the released city templates when
/// `city_tenant` is given.
pub async fn list_visible<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    city_tenant: Option<&str>,
) -> Result<Vec<RuleSetRow>, sea_orm::DbErr> {
    let mut cond = Condition::any().add(Column::Tenant.eq(tenant));
    if let Some(city) = city_tenant {
        cond = cond.add(
            Condition::all()
                .add(Column::Tenant.eq(city))
                .add(Column::Status.is_in(RELEASED)),
        );
    }
    Entity::find()
        .filter(cond)
        .order_by_asc(Column::Tenant)
        .order_by_asc(Column::RuleSetId)
        .order_by_asc(Column::Version)
        .all(db)
        .await
}

/// Inserts a new version.
pub async fn insert<C: ConnectionTrait>(db: &C, row: RuleSetRow) -> Result<(), sea_orm::DbErr> {
    Entity::insert(row.into_active_model()).exec(db).await?;
    Ok(())
}

/// Writes every column of an existing version.
pub async fn save<C: ConnectionTrait>(db: &C, row: RuleSetRow) -> Result<(), sea_orm::DbErr> {
    // Every column is written: the row was read, changed and is saved whole.
    let active: ActiveModel = row.into_active_model().reset_all();
    active.update(db).await?;
    Ok(())
}

/// Deletes a version.
pub async fn delete<C: ConnectionTrait>(db: &C, key: &str) -> Result<(), sea_orm::DbErr> {
    Entity::delete_by_id(key.to_owned()).exec(db).await?;
    Ok(())
}
