//! Rewrites staff department scopes from identity's first codes (`psb`, `hrss`, `edu`, …) to the
//! codes rule sets name as `verifier_department` (`public_security`, `human_resources`,
//! `education`, …), so department verifiers receive the tasks of their indicators.

#![allow(elided_lifetimes_in_paths)]

use sea_orm_migration::prelude::*;

use crate::domain::staff_scope::LEGACY_DEPARTMENTS;

#[derive(Debug)]
pub(crate) struct Migration;

impl MigrationName for Migration {
    fn name(&self) -> &str {
        "m20261202_000002_rename_department_codes"
    }
}

async fn rewrite(manager: &SchemaManager<'_>, forward: bool) -> Result<(), DbErr> {
    for (old, new) in LEGACY_DEPARTMENTS {
        let (from, to) = if forward { (old, new) } else { (new, old) };
        manager
            .exec_stmt(
                Query::update()
                    .table("accounts")
                    .value("department_code", to)
                    .and_where(Expr::col("department_code").eq(from))
                    .to_owned(),
            )
            .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rewrite(manager, false).await
    }
}
