//! Adds the audit-chain head to `applications` (`audit_sequence`, `audit_head`), so an append
//! needs no read of the trail, and fills it from the trail already stored.

use sea_orm_migration::prelude::*;

use crate::domain::audit::GENESIS_HASH;

/// Adds the audit-chain head to `applications` and fills it from `audit_entries`.
#[derive(Debug)]
pub(super) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261201_000010_add_application_audit_head"
    }
}

#[async_trait::async_trait]
#[allow(elided_lifetimes_in_paths)]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new("audit_sequence")
                .big_integer()
                .not_null()
                .default(0)
                .to_owned(),
            ColumnDef::new("audit_head")
                .string()
                .not_null()
                .default(GENESIS_HASH)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("applications")
                        .add_column_if_not_exists(column)
                        .to_owned(),
                )
                .await?;
        }
        // The head of every existing trail: its highest sequence and that record's hash
        // (correlated subqueries, valid on PostgreSQL and SQLite alike).
        manager
            .get_connection()
            .execute_unprepared(
                "UPDATE applications SET \
                 audit_sequence = (SELECT e.sequence FROM audit_entries e \
                   WHERE e.application_id = applications.id \
                   ORDER BY e.sequence DESC LIMIT 1), \
                 audit_head = (SELECT e.hash FROM audit_entries e \
                   WHERE e.application_id = applications.id \
                   ORDER BY e.sequence DESC LIMIT 1) \
                 WHERE EXISTS (SELECT 1 FROM audit_entries e \
                   WHERE e.application_id = applications.id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["audit_sequence", "audit_head"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("applications")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}
