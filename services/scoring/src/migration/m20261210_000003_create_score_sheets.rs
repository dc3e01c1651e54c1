//! Creates `score_sheets`: stored explained scores with the rule-set version and facts hash.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000003_create_score_sheets"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("score_sheets")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("kind").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("rule_set_id").string().not_null())
                    .col(ColumnDef::new("rule_set_version").integer().not_null())
                    .col(ColumnDef::new("rule_set_hash").string().not_null())
                    .col(ColumnDef::new("as_of_date").string().not_null())
                    .col(ColumnDef::new("facts_hash").string().not_null())
                    .col(ColumnDef::new("facts").text().not_null())
                    .col(ColumnDef::new("sheet").text().not_null())
                    .col(ColumnDef::new("total").big_integer().not_null())
                    .col(ColumnDef::new("eligible").boolean().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("score_sheets_idempotency")
                    .table("score_sheets")
                    .col("tenant")
                    .col("application_id")
                    .col("kind")
                    .col("facts_hash")
                    .col("rule_set_id")
                    .col("rule_set_version")
                    .unique()
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("score_sheets_tenant_cycle")
                    .table("score_sheets")
                    .col("tenant")
                    .col("cycle_id")
                    .col("kind")
                    .if_not_exists()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("score_sheets").to_owned())
            .await
    }
}
