//! Ranking: live provisional rank, reproducible official ranking runs, seat and pass-mark
//! decisions, and masked publicity lists.
//!
//! [`domain`] holds the pure logic: exact rank keys (no floating point), the in-process
//! provisional board, the deterministic ranking run with seat allocation, histograms and
//! publicity lists. It does no IO and is not async, so the gRPC service, the storage layer and
//! the Redis board are thin edges around it.

pub mod domain;

mod grpc;
pub mod migration;

pub use grpc::Ranking;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "ranking";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::ranking::v1::ranking_service_server::RankingServiceServer<Ranking> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::ranking::v1::ranking_service_server::RankingServiceServer::new(Ranking::new(
        ctx.db.clone(),
    ))
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
