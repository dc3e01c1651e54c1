//! Creates `board_entries`: one row per confirmed application (tenant-scoped), the source of the live boards and of official run snapshots.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000001_create_board_entries"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("board_entries")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("application_number").string().not_null())
                    .col(ColumnDef::new("applicant_subject").string().not_null())
                    .col(ColumnDef::new("total").big_integer().not_null())
                    .col(ColumnDef::new("tie_spec").json().not_null())
                    .col(ColumnDef::new("tie_values").json().not_null())
                    .col(ColumnDef::new("masked_name").string().not_null())
                    .col(ColumnDef::new("masked_id_number").string().not_null())
                    .col(ColumnDef::new("gates_ok").boolean().not_null())
                    .col(ColumnDef::new("school_preferences").json().not_null())
                    .col(ColumnDef::new("service_area").string())
                    .col(ColumnDef::new("threshold_area").string())
                    .col(ColumnDef::new("district").string().not_null())
                    .col(
                        ColumnDef::new("confirmed_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("aggregate_version").big_integer().not_null())
                    .col(ColumnDef::new("removed").boolean().not_null())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(Index::create().col("tenant").col("application_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("board_entries_cycle")
                    .table("board_entries")
                    .if_not_exists()
                    .col("tenant")
                    .col("cycle_id")
                    .col("removed")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("board_entries").to_owned())
            .await
    }
}
