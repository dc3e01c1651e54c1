//! Creates `materials` (one row per declared file version) and `applications` (what materials
//! knows of each application: its applicant and, from review's events, its status).

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

use super::instant;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000001_create_materials"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("materials")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("indicator").string().not_null())
                    .col(ColumnDef::new("verifier_department").string())
                    .col(ColumnDef::new("file_name").string().not_null())
                    .col(ColumnDef::new("content_type").string().not_null())
                    .col(ColumnDef::new("size_bytes").big_integer().not_null())
                    .col(ColumnDef::new("sha256").string().not_null())
                    .col(ColumnDef::new("status").string().not_null())
                    .col(ColumnDef::new("rejection_reason").string())
                    .col(ColumnDef::new("replaces_material_id").string())
                    .col(ColumnDef::new("replaced_by_material_id").string())
                    .col(ColumnDef::new("uploaded_by").string().not_null())
                    .col(ColumnDef::new("uploaded_by_role").string().not_null())
                    .col(ColumnDef::new("object_key").string().not_null())
                    .col(instant("created_at").not_null())
                    .col(instant("upload_expires_at").not_null())
                    .col(instant("confirmed_at"))
                    .col(instant("removed_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("materials_application")
                    .table("materials")
                    .if_not_exists()
                    .col("tenant")
                    .col("application_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("materials_status")
                    .table("materials")
                    .if_not_exists()
                    .col("status")
                    .col("created_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("applications")
                    .if_not_exists()
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("application_id").string().not_null())
                    .col(ColumnDef::new("owner_subject").string())
                    .col(ColumnDef::new("status").integer().not_null())
                    .col(instant("decided_at"))
                    .col(ColumnDef::new("aggregate_version").big_integer().not_null())
                    .col(instant("updated_at").not_null())
                    .primary_key(Index::create().col("tenant").col("application_id"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("applications").to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table("materials").to_owned())
            .await
    }
}
