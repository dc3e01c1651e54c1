//! Migrations of the ranking database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`).
//! The kit's outbox (and inbox) comes first: event intake deduplicates through it.

use sea_orm_migration::prelude::*;

#[allow(elided_lifetimes_in_paths)]
mod m20261210_000001_create_board_entries;
#[allow(elided_lifetimes_in_paths)]
mod m20261210_000002_create_ranking_runs;
#[allow(elided_lifetimes_in_paths)]
mod m20261210_000003_create_publicity_lists;
#[allow(elided_lifetimes_in_paths)]
mod m20261210_000004_create_cutoff_history;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261210_000001_create_board_entries::Migration),
            Box::new(m20261210_000002_create_ranking_runs::Migration),
            Box::new(m20261210_000003_create_publicity_lists::Migration),
            Box::new(m20261210_000004_create_cutoff_history::Migration),
        ]
    }
}
