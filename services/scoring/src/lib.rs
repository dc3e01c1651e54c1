//! The scoring component of jifen: its gRPC service `jifen.scoring.v1.ScoringService` and its storage.

mod grpc;
pub mod migration;

pub use grpc::Scoring;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "scoring";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::scoring::v1::scoring_service_server::ScoringServiceServer<Scoring> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::scoring::v1::scoring_service_server::ScoringServiceServer::new(Scoring::new(
        ctx.db.clone(),
    ))
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
