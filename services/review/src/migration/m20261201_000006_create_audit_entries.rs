//! Creates `audit_entries`: the hash-chained trail, one sequence per application.

use sea_orm_migration::prelude::*;

/// Creates `audit_entries`: the hash-chained trail, one sequence per application.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000006_create_audit_entries"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("audit_entries")
                    .if_not_exists()
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("sequence").big_integer().not_null())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("actor_subject").string().not_null())
                    .col(ColumnDef::new("actor_role").string().not_null())
                    .col(ColumnDef::new("actor_tenant").string().not_null())
                    .col(ColumnDef::new("actor_scope").string().not_null())
                    .col(ColumnDef::new("action").string().not_null())
                    .col(ColumnDef::new("from_status").integer().not_null())
                    .col(ColumnDef::new("to_status").integer().not_null())
                    .col(ColumnDef::new("reason").text().not_null())
                    .col(ColumnDef::new("details").text().not_null())
                    .col(ColumnDef::new("at").timestamp_with_time_zone().not_null())
                    .col(ColumnDef::new("due_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("prev_hash").string().not_null())
                    .col(ColumnDef::new("hash").string().not_null())
                    .primary_key(Index::create().col("application_id").col("sequence"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("audit_entries").to_owned())
            .await
    }
}
