//! Creates `attachments`: public files of notices (download centre), per tenant.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

use super::instant;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000004_create_attachments"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("attachments")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("file_name").string().not_null())
                    .col(ColumnDef::new("content_type").string().not_null())
                    .col(ColumnDef::new("size_bytes").big_integer().not_null())
                    .col(ColumnDef::new("sha256").string().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("object_key").string().not_null())
                    .col(ColumnDef::new("uploaded_by").string().not_null())
                    .col(ColumnDef::new("uploaded_by_role").string().not_null())
                    .col(instant("created_at").not_null())
                    .col(instant("confirmed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("attachments_tenant")
                    .table("attachments")
                    .if_not_exists()
                    .col("tenant")
                    .col("status")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("attachments").to_owned())
            .await
    }
}
