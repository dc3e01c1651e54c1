//! Creates `sla_policies`: working days per step, per tenant.

use sea_orm_migration::prelude::*;

/// Creates `sla_policies`: working days per step, per tenant.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000007_create_sla_policies"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sla_policies")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null().primary_key())
                    .col(ColumnDef::new("street_review_days").integer().not_null())
                    .col(ColumnDef::new("district_review_days").integer().not_null())
                    .col(
                        ColumnDef::new("department_verification_days")
                            .integer()
                            .not_null(),
                    )
                    .col(ColumnDef::new("city_review_days").integer().not_null())
                    .col(ColumnDef::new("resubmission_days").integer().not_null())
                    .col(ColumnDef::new("objection_reply_days").integer().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sla_policies").to_owned())
            .await
    }
}
