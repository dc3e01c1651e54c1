//! sea-orm entities of the materials database. Every query a handler makes filters by tenant.

pub mod access_log;
pub mod application;
pub mod attachment;
pub mod material;
pub mod upload_policy;

/// Stored states of a material or attachment.
pub mod status {
    /// Declared; waiting for the PUT and the confirmation.
    pub const PENDING: &str = "pending";
    /// Checked and usable.
    pub const AVAILABLE: &str = "available";
    /// Superseded by a newer version.
    pub const REPLACED: &str = "replaced";
    /// Deleted by its owner.
    pub const DELETED: &str = "deleted";
    /// Removed by the retention purge.
    pub const PURGED: &str = "purged";
    /// Refused at confirmation.
    pub const REJECTED: &str = "rejected";
}
