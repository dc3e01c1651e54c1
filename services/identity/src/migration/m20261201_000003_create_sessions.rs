//! Creates `sessions`: one row per refresh token (stored as its SHA-256), grouped in families.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000003_create_sessions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("family_id").string().not_null())
                    .col(ColumnDef::new("account_id").string().not_null())
                    .col(
                        ColumnDef::new("refresh_hash")
                            .string()
                            .not_null()
                            .unique_key(),
                    )
                    .col(
                        ColumnDef::new("created_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new("expires_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("rotated_at").timestamp_with_time_zone())
                    .col(ColumnDef::new("revoked_at").timestamp_with_time_zone())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_family")
                    .table("sessions")
                    .if_not_exists()
                    .col("family_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("sessions_account")
                    .table("sessions")
                    .if_not_exists()
                    .col("account_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("sessions").to_owned())
            .await
    }
}
