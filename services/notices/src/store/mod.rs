//! sea-orm entities of the notices tables. Queries that own a tenant always filter by it.

pub mod announcement;
pub mod delivery;
pub mod message;
pub mod preference;
pub mod template;
