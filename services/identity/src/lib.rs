//! The identity component of jifen: its gRPC service `jifen.identity.v1.IdentityService` and its storage.

mod grpc;
pub mod migration;

pub use grpc::Identity;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "identity";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::identity::v1::identity_service_server::IdentityServiceServer<Identity> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::identity::v1::identity_service_server::IdentityServiceServer::new(Identity::new(
        ctx.db.clone(),
    ))
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
