//! Creates `idempotency_keys`: client keys unique per (tenant, applicant, scope, key).

use sea_orm_migration::prelude::*;

/// Creates `idempotency_keys`: client keys unique per (tenant, applicant, scope, key).
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000009_create_idempotency_keys"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("applicant_subject").string().not_null())
                    .col(ColumnDef::new("scope").string().not_null())
                    .col(ColumnDef::new("key").string().not_null())
                    .col(ColumnDef::new("target_id").string().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .primary_key(
                        Index::create()
                            .col("tenant")
                            .col("applicant_subject")
                            .col("scope")
                            .col("key"),
                    )
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("idempotency_keys").to_owned())
            .await
    }
}
