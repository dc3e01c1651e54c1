//! Migrations of the review database, one file per step (`mYYYYMMDD_HHMMSS_<verb>_<noun>.rs`);
//! the kit's outbox migration comes first.

use sea_orm_migration::prelude::*;

mod m20261201_000001_create_review_cycles;
mod m20261201_000002_create_applications;
mod m20261201_000003_create_verification_tasks;
mod m20261201_000004_create_queue_claims;
mod m20261201_000005_create_objections;
mod m20261201_000006_create_audit_entries;
mod m20261201_000007_create_sla_policies;
mod m20261201_000008_create_working_calendars;
mod m20261201_000009_create_idempotency_keys;
mod m20261201_000010_add_application_audit_head;

/// Every migration of this component, in order.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(jifen_kit::outbox::migration::Migration),
            Box::new(m20261201_000001_create_review_cycles::Migration),
            Box::new(m20261201_000002_create_applications::Migration),
            Box::new(m20261201_000003_create_verification_tasks::Migration),
            Box::new(m20261201_000004_create_queue_claims::Migration),
            Box::new(m20261201_000005_create_objections::Migration),
            Box::new(m20261201_000006_create_audit_entries::Migration),
            Box::new(m20261201_000007_create_sla_policies::Migration),
            Box::new(m20261201_000008_create_working_calendars::Migration),
            Box::new(m20261201_000009_create_idempotency_keys::Migration),
            Box::new(m20261201_000010_add_application_audit_head::Migration),
        ]
    }
}
