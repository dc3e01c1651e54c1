//! The benefits each tenant offers (data) and the rule set that scores each.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// `tenant_benefits` rows.
pub mod benefit_row {
    use sea_orm::entity::prelude::*;

    /// One benefit a tenant offers.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenant_benefits")]
    pub struct Model {
        /// `{tenant}/{code}`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        /// Tenant.
        pub tenant: String,
        /// Benefit code, e.g. `school`.
        pub code: String,
        /// e.g. `积分入学`.
        pub name_zh: String,
        /// `seats`, `threshold`, `quota`.
        pub decision_mode: String,
        /// Family facts.
        pub family_based: bool,
        /// Description.
        pub description_zh: String,
        /// The rule-set id scoring it (latest released version counts).
        pub rule_set_id: String,
        /// Last change.
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use benefit_row::Model as BenefitRow;
use benefit_row::{Column, Entity};

/// Returns the primary key of a tenant's benefit.
pub fn row_key(tenant: &str, code: &str) -> String {
    format!("{tenant}/{code}")
}

/// Returns one benefit of `tenant`.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    code: &str,
) -> Result<Option<BenefitRow>, sea_orm::DbErr> {
    Entity::find_by_id(row_key(tenant, code)).one(db).await
}

/// Lists the benefits of `tenant`.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<Vec<BenefitRow>, sea_orm::DbErr> {
    Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .order_by_asc(Column::Code)
        .all(db)
        .await
}

/// Returns whether the tenant has any benefit (i.e. is known to scoring).
pub async fn tenant_known<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
) -> Result<bool, sea_orm::DbErr> {
    Ok(Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .one(db)
        .await?
        .is_some())
}

/// Inserts or replaces a benefit.
pub async fn upsert<C: ConnectionTrait>(db: &C, row: BenefitRow) -> Result<(), sea_orm::DbErr> {
    let existing = Entity::find_by_id(row.id.clone()).one(db).await?;
    let active = sea_orm::IntoActiveModel::into_active_model(row);
    if existing.is_some() {
        Entity::update(active.reset_all()).exec(db).await?;
    } else {
        Entity::insert(active).exec(db).await?;
    }
    Ok(())
}
