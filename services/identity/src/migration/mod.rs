//! Migrations of the identity database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`).

use sea_orm_migration::prelude::*;

mod m20261201_000001_create_tenants;
mod m20261201_000002_create_accounts;
mod m20261201_000003_create_sessions;
mod m20261202_000001_create_streets;
mod m20261202_000002_rename_department_codes;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261201_000001_create_tenants::Migration),
            Box::new(m20261201_000002_create_accounts::Migration),
            Box::new(m20261201_000003_create_sessions::Migration),
            Box::new(m20261202_000001_create_streets::Migration),
            Box::new(m20261202_000002_rename_department_codes::Migration),
        ]
    }
}
