//! Creates `rule_sets`: one row per (tenant, rule-set id, version); city templates belong to
//! the tenant `suzhou`.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_create_rule_sets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rule_sets")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("rule_set_id").string().not_null())
                    .col(ColumnDef::new("version").integer().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("extends_id").string().not_null())
                    .col(ColumnDef::new("benefits").string().not_null())
                    .col(ColumnDef::new("title_zh").string().not_null())
                    .col(ColumnDef::new("document").text().not_null())
                    .col(ColumnDef::new("content_hash").string().not_null())
                    .col(ColumnDef::new("edit_version").big_integer().not_null())
                    .col(ColumnDef::new("frozen_for_cycles").text().not_null())
                    .col(ColumnDef::new("created_by").string().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("updated_by").string().not_null())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("published_by").string())
                    .col(ColumnDef::new("published_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("frozen_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rule_sets_tenant_id_version")
                    .table("rule_sets")
                    .col("tenant")
                    .col("rule_set_id")
                    .col("version")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rule_sets").to_owned())
            .await
    }
}
