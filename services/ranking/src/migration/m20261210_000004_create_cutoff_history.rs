//! Creates `cutoff_history`: official cut-offs per tenant, benefit, year and scope.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000004_create_cutoff_history"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("cutoff_history")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("year").integer().not_null())
                    .col(ColumnDef::new("scope").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("list_id").string().not_null())
                    .col(ColumnDef::new("cutoff").big_integer().not_null())
                    .col(ColumnDef::new("seats").big_integer().not_null())
                    .col(ColumnDef::new("admitted").big_integer().not_null())
                    .col(ColumnDef::new("applicants").big_integer().not_null())
                    .col(
                        ColumnDef::new("published_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("cutoff_history_lookup")
                    .table("cutoff_history")
                    .if_not_exists()
                    .col("tenant")
                    .col("scope")
                    .col("year")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("cutoff_history").to_owned())
            .await
    }
}
