//! Migrations of the scoring database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`).

use sea_orm_migration::prelude::*;

mod m20261210_000001_create_rule_sets;
mod m20261210_000002_create_rule_set_changes;
mod m20261210_000003_create_score_sheets;
mod m20261210_000004_create_tenant_benefits;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261210_000001_create_rule_sets::Migration),
            Box::new(m20261210_000002_create_rule_set_changes::Migration),
            Box::new(m20261210_000003_create_score_sheets::Migration),
            Box::new(m20261210_000004_create_tenant_benefits::Migration),
        ]
    }
}
