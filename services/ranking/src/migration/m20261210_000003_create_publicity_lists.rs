//! Creates `publicity_lists`: immutable snapshots of published lists with their CSV and content hash.

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261210_000003_create_publicity_lists"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("publicity_lists")
                    .if_not_exists()
                    .col(ColumnDef::new("id").string().not_null().primary_key())
                    .col(ColumnDef::new("tenant").string().not_null())
                    .col(ColumnDef::new("run_id").string().not_null())
                    .col(ColumnDef::new("cycle_id").string().not_null())
                    .col(ColumnDef::new("benefit").string().not_null())
                    .col(ColumnDef::new("year").integer().not_null())
                    .col(ColumnDef::new("title_zh").string().not_null())
                    .col(ColumnDef::new("rows").json().not_null())
                    .col(ColumnDef::new("content_hash").string().not_null())
                    .col(ColumnDef::new("csv").text().not_null())
                    .col(ColumnDef::new("publicity_start").string().not_null())
                    .col(ColumnDef::new("publicity_end").string().not_null())
                    .col(ColumnDef::new("cutoffs").json().not_null())
                    .col(ColumnDef::new("entry_count").big_integer().not_null())
                    .col(
                        ColumnDef::new("published_at")
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new("published_by").json().not_null())
                    .col(ColumnDef::new("supersedes").string())
                    .col(ColumnDef::new("superseded_by").string())
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("publicity_lists_tenant")
                    .table("publicity_lists")
                    .if_not_exists()
                    .col("tenant")
                    .col("published_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("publicity_lists").to_owned())
            .await
    }
}
