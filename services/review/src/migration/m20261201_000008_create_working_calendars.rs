//! Creates `working_calendars`: holidays and 调休 days per tenant and year.

use sea_orm_migration::prelude::*;

/// Creates `working_calendars`: holidays and 调休 days per tenant and year.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000008_create_working_calendars"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("working_calendars")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("year").integer().not_null())
                    .col(ColumnDef::new("holidays").json().not_null())
                    .col(ColumnDef::new("extra_working_days").json().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .primary_key(Index::create().col("tenant").col("year"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("working_calendars").to_owned())
            .await
    }
}
