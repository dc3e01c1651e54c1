//! The tonic service of materials: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.materials.v1.MaterialsService` implementation.
#[derive(Debug, Clone)]
pub struct Materials {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Materials {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::materials::v1::materials_service_server::MaterialsService for Materials {}
