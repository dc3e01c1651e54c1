//! The tonic service of ranking: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.ranking.v1.RankingService` implementation.
#[derive(Debug, Clone)]
pub struct Ranking {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Ranking {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::ranking::v1::ranking_service_server::RankingService for Ranking {}
