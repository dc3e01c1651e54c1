//! Adds the uploader's tenant and scope to `materials`, so that a material row alone records its
//! declaration and confirmation: both writes become one statement each instead of a transaction
//! with an `access_log` row (see `crate::uploads`). ListAccessLog derives those two entries from
//! the row (`crate::downloads`).
//!
//! Rows declared before this step get the facts from their `upload_url_issued` log rows, and
//! their `upload_url_issued` and `confirmed` rows, now derived, are removed (same facts, same
//! times), so that no entry is listed twice.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

#[derive(Debug)]
pub(crate) struct Migration;

/// The added columns (SQLite alters one column per statement).
const COLUMNS: [&str; 2] = ["uploaded_by_tenant", "uploaded_by_scope"];

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000005_add_uploader_to_materials"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS {
            manager
                .alter_table(
                    Table::alter()
                        .table("materials")
                        .add_column(ColumnDef::new(column).string().null())
                        .to_owned(),
                )
                .await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE materials SET \
               uploaded_by_tenant = COALESCE((SELECT l.actor_tenant FROM access_log l \
                 WHERE l.material_id = materials.id AND l.action = 'upload_url_issued' \
                 ORDER BY l.id LIMIT 1), materials.tenant), \
               uploaded_by_scope = (SELECT l.actor_scope FROM access_log l \
                 WHERE l.material_id = materials.id AND l.action = 'upload_url_issued' \
                 ORDER BY l.id LIMIT 1)",
        )
        .await?;
        db.execute_unprepared(
            "DELETE FROM access_log WHERE action IN ('upload_url_issued', 'confirmed')",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in COLUMNS.into_iter().rev() {
            manager
                .alter_table(
                    Table::alter()
                        .table("materials")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
