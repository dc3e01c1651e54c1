//! Tenants and threshold areas.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::domain::tenants::{TENANTS, THRESHOLD_AREAS};

/// `tenants` rows.
pub mod tenant_row {
    use sea_orm::entity::prelude::*;

    /// A tenant.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "tenants")]
    pub struct Model {
        /// Stable code.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        /// Display name.
        pub name_zh: String,
        /// `city`, `district`, `county_city`.
        pub kind: String,
        /// Parent tenant; empty for the city.
        pub parent_code: String,
        /// Threshold area code; empty for the city.
        pub threshold_area: String,
        /// Listed and usable.
        pub enabled: bool,
        /// Display order.
        pub sort_order: i32,
        /// Last change.
        pub updated_at: DateTimeUtc,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// `threshold_areas` rows.
pub mod area_row {
    use sea_orm::entity::prelude::*;

    /// A threshold area.
    #[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
    #[sea_orm(table_name = "threshold_areas")]
    pub struct Model {
        /// Code.
        #[sea_orm(primary_key, auto_increment = false)]
        pub code: String,
        /// Display name.
        pub name_zh: String,
        /// Display order.
        pub sort_order: i32,
    }

    /// No relations.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Returns every tenant in display order.
pub async fn list<C: ConnectionTrait>(db: &C) -> Result<Vec<tenant_row::Model>, sea_orm::DbErr> {
    tenant_row::Entity::find()
        .order_by_asc(tenant_row::Column::SortOrder)
        .all(db)
        .await
}

/// Returns one tenant.
pub async fn get<C: ConnectionTrait>(
    db: &C,
    code: &str,
) -> Result<Option<tenant_row::Model>, sea_orm::DbErr> {
    tenant_row::Entity::find_by_id(code.to_owned())
        .one(db)
        .await
}

/// Returns every threshold area in display order.
pub async fn areas<C: ConnectionTrait>(db: &C) -> Result<Vec<area_row::Model>, sea_orm::DbErr> {
    area_row::Entity::find()
        .order_by_asc(area_row::Column::SortOrder)
        .all(db)
        .await
}

/// Creates or updates one tenant by code (every column as given) and returns it.
pub async fn upsert<C: ConnectionTrait>(
    db: &C,
    row: tenant_row::Model,
) -> Result<tenant_row::Model, sea_orm::DbErr> {
    let code = row.code.clone();
    tenant_row::Entity::insert(tenant_row::ActiveModel {
        code: Set(row.code),
        name_zh: Set(row.name_zh),
        kind: Set(row.kind),
        parent_code: Set(row.parent_code),
        threshold_area: Set(row.threshold_area),
        enabled: Set(row.enabled),
        sort_order: Set(row.sort_order),
        updated_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(tenant_row::Column::Code)
            .update_columns([
                tenant_row::Column::NameZh,
                tenant_row::Column::Kind,
                tenant_row::Column::ParentCode,
                tenant_row::Column::ThresholdArea,
                tenant_row::Column::Enabled,
                tenant_row::Column::SortOrder,
                tenant_row::Column::UpdatedAt,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    get(db, &code)
        .await?
        .ok_or(sea_orm::DbErr::RecordNotFound(format!("tenant {code}")))
}

/// Creates or updates a threshold area (a new one goes last in display order) and moves
/// `members` into it (call inside a transaction).
pub async fn upsert_area<C: ConnectionTrait>(
    db: &C,
    code: &str,
    name_zh: &str,
    members: &[String],
) -> Result<(), sea_orm::DbErr> {
    let existing = area_row::Entity::find_by_id(code.to_owned())
        .one(db)
        .await?;
    let sort_order = match existing {
        Some(a) => a.sort_order,
        None => areas(db)
            .await?
            .iter()
            .map(|a| a.sort_order + 1)
            .max()
            .unwrap_or(0),
    };
    area_row::Entity::insert(area_row::ActiveModel {
        code: Set(code.to_owned()),
        name_zh: Set(name_zh.to_owned()),
        sort_order: Set(sort_order),
    })
    .on_conflict(
        OnConflict::column(area_row::Column::Code)
            .update_columns([area_row::Column::NameZh])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    if !members.is_empty() {
        tenant_row::Entity::update_many()
            .col_expr(tenant_row::Column::ThresholdArea, code.into())
            .col_expr(tenant_row::Column::UpdatedAt, Utc::now().into())
            .filter(tenant_row::Column::Code.is_in(members.iter().cloned()))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Upserts the seeded tenants and areas by code; returns how many rows were new or changed.
pub async fn seed<C: ConnectionTrait>(db: &C) -> Result<usize, sea_orm::DbErr> {
    let mut changed = 0;
    for (i, (code, name)) in THRESHOLD_AREAS.iter().enumerate() {
        let existing = area_row::Entity::find_by_id((*code).to_owned())
            .one(db)
            .await?;
        let row = area_row::Model {
            code: (*code).to_owned(),
            name_zh: (*name).to_owned(),
            sort_order: i as i32,
        };
        if existing.as_ref() != Some(&row) {
            changed += 1;
            area_row::Entity::insert(area_row::ActiveModel {
                code: Set(row.code),
                name_zh: Set(row.name_zh),
                sort_order: Set(row.sort_order),
            })
            .on_conflict(
                OnConflict::column(area_row::Column::Code)
                    .update_columns([area_row::Column::NameZh, area_row::Column::SortOrder])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await?;
        }
    }
    for (i, seed) in TENANTS.iter().enumerate() {
        let existing = tenant_row::Entity::find_by_id(seed.code.to_owned())
            .one(db)
            .await?;
        let parent = if seed.kind == "city" {
            ""
        } else {
            jifen_kit::auth::CITY_TENANT
        };
        let same = existing.as_ref().is_some_and(|e| {
            e.name_zh == seed.name_zh
                && e.kind == seed.kind
                && e.parent_code == parent
                && e.threshold_area == seed.threshold_area
                && e.sort_order == i as i32
        });
        if same {
            continue;
        }
        changed += 1;
        tenant_row::Entity::insert(tenant_row::ActiveModel {
            code: Set(seed.code.to_owned()),
            name_zh: Set(seed.name_zh.to_owned()),
            kind: Set(seed.kind.to_owned()),
            parent_code: Set(parent.to_owned()),
            threshold_area: Set(seed.threshold_area.to_owned()),
            enabled: Set(true),
            sort_order: Set(i as i32),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::column(tenant_row::Column::Code)
                .update_columns([
                    tenant_row::Column::NameZh,
                    tenant_row::Column::Kind,
                    tenant_row::Column::ParentCode,
                    tenant_row::Column::ThresholdArea,
                    tenant_row::Column::SortOrder,
                    tenant_row::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    }
    Ok(changed)
}
