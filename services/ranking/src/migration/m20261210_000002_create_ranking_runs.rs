//! Creates `ranking_runs`: official runs with parameters, snapshot, hashes and results.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000002_create_ranking_runs"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("ranking_runs")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("idempotency_key").string())
                    .col(ColumnDef::new("params").json().not_null())
                    .col(ColumnDef::new("inputs").json().not_null())
                    .col(ColumnDef::new("inputs_hash").string().not_null())
                    .col(ColumnDef::new("results_hash").string().not_null())
                    .col(ColumnDef::new("result").json().not_null())
                    .col(ColumnDef::new("cutoff").big_integer())
                    .col(ColumnDef::new("entry_count").big_integer().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("created_by").json().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("finished_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("publicity_list_id").string())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ranking_runs_cycle")
                    .table("ranking_runs")
                    .if_not_exists()
                    .col("tenant")
                    .col("cycle_id")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ranking_runs_idempotency")
                    .table("ranking_runs")
                    .if_not_exists()
                    .col("tenant")
                    .col("idempotency_key")
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("ranking_runs").to_owned())
            .await
    }
}
