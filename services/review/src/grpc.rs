//! The tonic service of review: thin, maps types and errors. Rpcs not implemented yet answer
//! UNIMPLEMENTED through the generated default stubs.

use sea_orm::DatabaseConnection;

/// The `jifen.review.v1.ReviewService` implementation.
#[derive(Debug, Clone)]
pub struct Review {
    #[allow(dead_code)]
    db: DatabaseConnection,
}

impl Review {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self { db }
    }
}

#[tonic::async_trait]
impl jifen_proto::review::v1::review_service_server::ReviewService for Review {}
