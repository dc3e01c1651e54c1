//! Creates `objections` (复核申请).

use sea_orm_migration::prelude::*;

/// Creates `objections` (复核申请).
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_create_objections"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("objections")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("applicant_subject").string().not_null())
                    .col(ColumnDef::new("indicator").string().not_null())
                    .col(ColumnDef::new("text").text().not_null())
                    .col(ColumnDef::new("material_ids").json().not_null())
                    .col(ColumnDef::new("status").integer().not_null())
                    .col(
                        ColumnDef::new("filed_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("due_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("reply").text().not_null())
                    .col(ColumnDef::new("decided_by").json())
                    .col(ColumnDef::new("decided_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("reopened_fact_keys").json().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("objections_tenant")
                    .table("objections")
                    .if_not_exists()
                    .col("tenant")
                    .col("status")
                    .col("due_at")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("objections").to_owned())
            .await
    }
}
