//! Creates `upload_policies`: one JSON policy per tenant that changed the defaults.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

use super::instant;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000003_create_upload_policies"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("upload_policies")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null().primary_key())
                    .col(ColumnDef::new("policy").json().not_null())
                    .col(ColumnDef::new("version").big_integer().not_null())
                    .col(ColumnDef::new("updated_by").string().not_null())
                    .col(instant("updated_at").not_null())
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("upload_policies").to_owned())
            .await
    }
}
