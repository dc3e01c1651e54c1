//! The tonic service of identity: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.identity.v1.IdentityService` implementation.
#[derive(Debug, Clone)]
pub struct Identity {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Identity {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::identity::v1::identity_service_server::IdentityService for Identity {}
