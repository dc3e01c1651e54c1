//! Creates `tenants` and `threshold_areas`.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_create_tenants"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("threshold_areas")
                    .if_not_exists()
                    .col(ColumnDef::new("code").string().not_null().primary_key())
                    .col(ColumnDef::new("name_zh").string().not_null())
                    .col(ColumnDef::new("sort_order").integer().not_null().default(0))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("tenants")
                    .if_not_exists()
                    .col(ColumnDef::new("code").string().not_null().primary_key())
                    .col(ColumnDef::new("name_zh").string().not_null())
                    .col(ColumnDef::new("kind").string().not_null())
                    .col(ColumnDef::new("parent_code").string().not_null())
                    .col(ColumnDef::new("threshold_area").string().not_null())
                    .col(ColumnDef::new("enabled").boolean().not_null().default(true))
                    .col(ColumnDef::new("sort_order").integer().not_null().default(0))
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("tenants").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("threshold_areas").to_owned())
            .await
    }
}
