//! Migrations of the materials database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`).

use sea_orm_migration::prelude::*;

mod m20261201_000001_create_materials;
mod m20261201_000002_create_access_log;
mod m20261201_000003_create_upload_policies;
mod m20261201_000004_create_attachments;
mod m20261201_000005_add_uploader_to_materials;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261201_000001_create_materials::Migration),
            Box::new(m20261201_000002_create_access_log::Migration),
            Box::new(m20261201_000003_create_upload_policies::Migration),
            Box::new(m20261201_000004_create_attachments::Migration),
            Box::new(m20261201_000005_add_uploader_to_materials::Migration),
        ]
    }
}

/// Returns a `timestamp with time zone` column.
fn instant(name: &'static str) -> ColumnDef {
    ColumnDef::new(name).timestamp_with_time_zone().to_owned()
}
