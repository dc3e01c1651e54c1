//! Creates `queue_claims`: who took an application at its current level.

use sea_orm_migration::prelude::*;

/// Creates `queue_claims`: who took an application at its current level.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_create_queue_claims"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("queue_claims")
                    .if_not_exists()
                    .col(
                        ColumnDef::new("application_id")
                            .string()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("level").integer().not_null())
                    .col(ColumnDef::new("subject").string().not_null())
                    .col(ColumnDef::new("actor").json().not_null())
                    .col(
                        ColumnDef::new("claimed_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("queue_claims").to_owned())
            .await
    }
}
