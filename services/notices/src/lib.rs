//! The notices component of jifen: announcements (city-wide and per tenant, drafts, publish
//! windows, sanitised Markdown, attachments, search, Atom feeds), the residents' inbox, templated
//! SMS and email through pluggable senders, and the delivery worker that retries them.
//!
//! [`service`] returns the gRPC service and starts the delivery worker on the process's runtime
//! (stopped by `Context::shutdown`); nothing else needs to be called. Tests build a [`Notices`]
//! with [`Notices::with_clock`] and drive [`Notices::worker`] by hand.

mod announcements;
pub mod clock;
mod convert;
pub mod delivery;
pub mod domain;
pub mod error;
mod grpc;
mod inbox;
pub mod migration;
mod service;
pub mod store;
mod templates;

pub use clock::{Clock, ManualClock, SystemClock};
pub use delivery::{
    DeliveryPolicy, DeliveryWorker, FileSender, HttpSmsSender, Outgoing, SendError, Sender,
    Senders, WorkReport,
};
pub use error::NoticesError;
pub use migration::Migrator;
pub use service::Notices;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "notices";

/// Returns the gRPC service of this component, ready to be hosted, and starts its background
/// delivery worker (see [`start_background`]).
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::notices::v1::notices_service_server::NoticesServiceServer<Notices> {
    let limit = ctx.config.server.max_message_bytes;
    let notices = Notices::new(ctx.db.clone(), Senders::from_env(&ctx.data_dir));
    start_background(ctx, &notices);
    jifen_proto::notices::v1::notices_service_server::NoticesServiceServer::new(notices)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}

/// Spawns the delivery worker of `notices` on the current tokio runtime until
/// `ctx.shutdown`. Called by [`service`]; several workers (pods) may run at once safely. Outside
/// a runtime it logs and does nothing.
pub fn start_background(ctx: &jifen_kit::component::Context, notices: &Notices) {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) => {
            handle.spawn(notices.worker().run(ctx.shutdown.clone()));
        }
        Err(_) => tracing::warn!("no tokio runtime: the notices delivery worker is not running"),
    }
}
