//! The materials component of jifen: its gRPC service `jifen.materials.v1.MaterialsService` and its storage.

mod grpc;
pub mod migration;

pub use grpc::Materials;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "materials";

/// Returns the gRPC service of this component, ready to be hosted.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::materials::v1::materials_service_server::MaterialsServiceServer<Materials> {
    let limit = ctx.config.server.max_message_bytes;
    jifen_proto::materials::v1::materials_service_server::MaterialsServiceServer::new(
        Materials::new(ctx.db.clone()),
    )
    .max_decoding_message_size(limit)
    .max_encoding_message_size(limit)
}
