//! 镇/街道 of a tenant: the scopes street reviewers hold. Always read and written by tenant.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// `streets` rows.
pub mod street_row {
    use sea_orm::entity::prelude::*;

    /// A 镇/街道 of one tenant.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "streets")]
    pub struct Model {
        /// Owning tenant.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tenant: String,
        /// Code, unique within the tenant (the staff scope `street_code`).
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        /// Display name.
        pub name_zh: String,
        /// Listed and usable for new scopes.
        pub enabled: bool,
        /// Created.
        pub created_at: DateTimeUtc,
        /// Last change.
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub use street_row::Model as Street;
use street_row::{Column, Entity};

/// Lists the streets of `tenant` by code.
pub async fn list<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    include_disabled: bool,
) -> Result<Vec<Street>, sea_orm::DbErr> {
    let mut query = Entity::find().filter(Column::Tenant.eq(tenant));
    if !include_disabled {
        query = query.filter(Column::Enabled.eq(true));
    }
    query.order_by_asc(Column::Code).all(db).await
}

/// Returns one street of `tenant`.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    code: &str,
) -> Result<Option<Street>, sea_orm::DbErr> {
    Entity::find_by_id((tenant.to_owned(), code.to_owned()))
        .one(db)
        .await
}

/// Returns whether `tenant` has any street rows (enabled or not).
pub async fn any<C: ConnectionTrait>(db: &C, tenant: &str) -> Result<bool, sea_orm::DbErr> {
    Ok(Entity::find()
        .filter(Column::Tenant.eq(tenant))
        .one(db)
        .await?
        .is_some())
}

/// Creates or updates a street of `tenant` by code and returns it.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    tenant: &str,
    code: &str,
    name_zh: &str,
    enabled: bool,
) -> Result<Street, sea_orm::DbErr> {
    let now = Utc::now();
    Entity::insert(street_row::ActiveModel {
        tenant: Set(tenant.to_owned()),
        code: Set(code.to_owned()),
        name_zh: Set(name_zh.to_owned()),
        enabled: Set(enabled),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .on_conflict(
        OnConflict::columns([Column::Tenant, Column::Code])
            .update_columns([Column::NameZh, Column::Enabled, Column::UpdatedAt])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    get(db, tenant, code)
        .await?
        .ok_or(sea_orm::DbErr::RecordNotFound(format!(
            "street {tenant}/{code}"
        )))
}
