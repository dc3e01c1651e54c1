//! The review component of jifen: its gRPC service `jifen.review.v1.ReviewService` and its storage.

mod grpc;
pub mod migration;

pub use grpc::Review;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "review";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::review::v1::review_service_server::ReviewServiceServer<Review> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::review::v1::review_service_server::ReviewServiceServer::new(Review::new(
        ctx.db.clone(),
    ))
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
