//! Creates `rule_set_changes`, the append-only log of who did what to which rule-set version.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000002_create_rule_set_changes"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("rule_set_changes")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("rule_set_id").string().not_null())
                    .col(ColumnDef::new("version").integer().not_null())
                    .col(ColumnDef::new("action").string().not_null())
                    .col(ColumnDef::new("actor_subject").string().not_null())
                    .col(ColumnDef::new("actor_tenant").string().not_null())
                    .col(ColumnDef::new("at").timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new("content_hash").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rule_set_changes_tenant_id")
                    .table("rule_set_changes")
                    .col("tenant")
                    .col("rule_set_id")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rule_set_changes").to_owned())
            .await
    }
}
