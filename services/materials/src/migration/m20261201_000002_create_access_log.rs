//! Creates `access_log`: every URL issued or refused, confirmation, replacement, deletion and
//! purge of a material, append-only.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

use super::instant;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000002_create_access_log"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("access_log")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("material_id").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("action").string().not_null())
                    .col(ColumnDef::new("actor_subject").string().not_null())
                    .col(ColumnDef::new("actor_role").string().not_null())
                    .col(ColumnDef::new("actor_tenant").string().not_null())
                    .col(ColumnDef::new("actor_scope").string())
                    .col(ColumnDef::new("granted").boolean().not_null())
                    .col(ColumnDef::new("detail").string().not_null())
                    .col(instant("at").not_null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("access_log_application")
                    .table("access_log")
                    .if_not_exists()
                    .col("tenant")
                    .col("application_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("access_log_material")
                    .table("access_log")
                    .if_not_exists()
                    .col("tenant")
                    .col("material_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("access_log").to_owned())
            .await
    }
}
