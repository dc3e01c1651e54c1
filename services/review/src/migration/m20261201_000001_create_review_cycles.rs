//! Creates `review_cycles`: cycles per tenant, benefit and year.

use sea_orm_migration::prelude::*;

/// Creates `review_cycles`: cycles per tenant, benefit and year.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_create_review_cycles"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("review_cycles")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("year").integer().not_null())
                    .col(ColumnDef::new("name_zh").string().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("application_start").string().not_null())
                    .col(ColumnDef::new("application_end").string().not_null())
                    .col(ColumnDef::new("confirmation_start").string().not_null())
                    .col(ColumnDef::new("confirmation_end").string().not_null())
                    .col(ColumnDef::new("publicity_start").string().not_null())
                    .col(ColumnDef::new("publicity_end").string().not_null())
                    .col(ColumnDef::new("objection_start").string().not_null())
                    .col(ColumnDef::new("objection_end").string().not_null())
                    .col(ColumnDef::new("score_as_of").string().not_null())
                    .col(ColumnDef::new("rule_set_id").string().not_null())
                    .col(ColumnDef::new("rule_set_version").integer().not_null())
                    .col(ColumnDef::new("rule_set_frozen").boolean().not_null())
                    .col(ColumnDef::new("seat_plan").binary().not_null())
                    .col(ColumnDef::new("pass_mark").big_integer().not_null())
                    .col(ColumnDef::new("threshold_area").string().not_null())
                    .col(ColumnDef::new("auto_confirm").boolean().not_null())
                    .col(ColumnDef::new("next_number").big_integer().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("updated_by").json().not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("review_cycles_tenant")
                    .table("review_cycles")
                    .if_not_exists()
                    .col("tenant")
                    .col("benefit")
                    .col("year")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("review_cycles").to_owned())
            .await
    }
}
