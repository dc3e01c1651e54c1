//! The tonic service of notices: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.notices.v1.NoticesService` implementation.
#[derive(Debug, Clone)]
pub struct Notices {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Notices {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::notices::v1::notices_service_server::NoticesService for Notices {}
