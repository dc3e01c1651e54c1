//! Creates `verification_tasks`: the per-department fan-out of district 复核.

use sea_orm_migration::prelude::*;

/// Creates `verification_tasks`: the per-department fan-out of district 复核.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000003_create_verification_tasks"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("verification_tasks")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("indicator").string().not_null())
                    .col(ColumnDef::new("fact_key").string().not_null())
                    .col(ColumnDef::new("person_index").integer().not_null())
                    .col(ColumnDef::new("department").string().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("claimed_value").text().not_null())
                    .col(ColumnDef::new("material_ids").json().not_null())
                    .col(ColumnDef::new("verified_value").text())
                    .col(ColumnDef::new("evidence_checked").boolean().not_null())
                    .col(ColumnDef::new("note").text().not_null())
                    .col(ColumnDef::new("claimed_by").json())
                    .col(ColumnDef::new("claimed_by_subject").string())
                    .col(ColumnDef::new("claimed_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("verified_by").json())
                    .col(ColumnDef::new("verified_at").timestamp_with_time_zone())
                    .col(
                        ColumnDef::new("due_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("reopened").boolean().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
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
                    .name("verification_tasks_queue")
                    .table("verification_tasks")
                    .if_not_exists()
                    .col("tenant")
                    .col("department")
                    .col("status")
                    .col("due_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("verification_tasks_application")
                    .table("verification_tasks")
                    .if_not_exists()
                    .col("tenant")
                    .col("application_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("verification_tasks").to_owned())
            .await
    }
}
