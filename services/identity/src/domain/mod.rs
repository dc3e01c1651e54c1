//! Pure rules of identity: no IO, the bulk of the unit tests.

pub mod field;
pub mod id_number;
pub mod login_limit;
pub mod masking;
pub mod password;
pub mod phone;
pub mod registry;
pub mod staff_scope;
pub mod tenants;
