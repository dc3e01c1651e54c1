//! Storage of review: sea-orm entities and tenant-scoped repository functions.

pub mod entities;
pub mod repo;
