//! The tonic service of scoring: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.scoring.v1.ScoringService` implementation.
#[derive(Debug, Clone)]
pub struct Scoring {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Scoring {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::scoring::v1::scoring_service_server::ScoringService for Scoring {}
