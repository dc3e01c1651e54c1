//! Pure review logic: no IO, tested without a database.

pub mod audit;
pub mod calendar;
pub mod claims;
pub mod scope;
pub mod sla;
pub mod state_machine;
