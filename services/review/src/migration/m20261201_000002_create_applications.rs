//! Creates `applications`; one active application per applicant and cycle (`active_key` unique).

use sea_orm_migration::prelude::*;

/// Creates `applications`; one active application per applicant and cycle (`active_key` unique).
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000002_create_applications"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("applications")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("number").string().not_null())
                    .col(ColumnDef::new("applicant_subject").string().not_null())
                    .col(ColumnDef::new("street_code").string().not_null())
                    .col(ColumnDef::new("status").integer().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .col(ColumnDef::new("active_key").string())
                    .col(ColumnDef::new("claims").json().not_null())
                    .col(ColumnDef::new("household").json().not_null())
                    .col(ColumnDef::new("claimed_score").binary())
                    .col(ColumnDef::new("verified_score").binary())
                    .col(ColumnDef::new("total").big_integer())
                    .col(ColumnDef::new("gate_decisions").json().not_null())
                    .col(ColumnDef::new("due_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("reason").text().not_null())
                    .col(ColumnDef::new("returned_fact_keys").json().not_null())
                    .col(ColumnDef::new("outcome").integer().not_null())
                    .col(ColumnDef::new("allocated_school").string().not_null())
                    .col(ColumnDef::new("resubmitted").boolean().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("submitted_at").timestamp_with_time_zone())
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("confirmed_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applications_active")
                    .table("applications")
                    .if_not_exists()
                    .unique()
                    .col("tenant")
                    .col("active_key")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applications_queue")
                    .table("applications")
                    .if_not_exists()
                    .col("tenant")
                    .col("status")
                    .col("due_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applications_applicant")
                    .table("applications")
                    .if_not_exists()
                    .col("tenant")
                    .col("applicant_subject")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("applications_number")
                    .table("applications")
                    .if_not_exists()
                    .unique()
                    .col("tenant")
                    .col("number")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("applications").to_owned())
            .await
    }
}
