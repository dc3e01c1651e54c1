//! The notices component of jifen: its gRPC service `jifen.notices.v1.NoticesService` and its storage.

mod grpc;
pub mod migration;

pub use grpc::Notices;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "notices";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::notices::v1::notices_service_server::NoticesServiceServer<Notices> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::notices::v1::notices_service_server::NoticesServiceServer::new(Notices::new(
        ctx.db.clone(),
    ))
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
