//! Migrations of the notices database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`).

use sea_orm_migration::prelude::*;

mod m20261215_000001_create_notices;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261215_000001_create_notices::Migration),
        ]
    }
}
