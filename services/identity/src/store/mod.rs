//! sea-orm entities and repositories of identity. Staff queries always filter by tenant;
//! applicant accounts are city-wide and are reached only by their own subject or a blind index.

pub mod account;
pub mod session;
pub mod street;
pub mod tenant;
