//! Storage of review: sea-orm entities and tenant-scoped repository functions.

pub mod entities;
pub mod group_commit;
pub mod repo;
