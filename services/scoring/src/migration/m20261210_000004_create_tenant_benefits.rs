//! Creates `tenant_benefits`: the benefits each tenant offers (data, not code) and which rule
//! set scores them.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000004_create_tenant_benefits"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tenant_benefits")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("code").string().not_null())
                    .col(ColumnDef::new("name_zh").string().not_null())
                    .col(ColumnDef::new("decision_mode").string().not_null())
                    .col(ColumnDef::new("family_based").boolean().not_null())
                    .col(ColumnDef::new("description_zh").text().not_null())
                    .col(ColumnDef::new("rule_set_id").string().not_null())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("tenant_benefits_tenant_code")
                    .table("tenant_benefits")
                    .col("tenant")
                    .col("code")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("tenant_benefits").to_owned())
            .await
    }
}
