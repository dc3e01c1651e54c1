//! Pure rules of materials: file names, content types, upload policy, who may read, what the
//! purge removes. No IO here.

pub mod access;
pub mod content_type;
pub mod declaration;
pub mod policy;
pub mod retention;
