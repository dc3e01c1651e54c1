//! The review component of jifen: annual cycles, applications and their three-level review with
//! department verification, objections, SLA deadlines in working days, the hash-chained audit
//! trail, and the outbox events other components hear.
//!
//! * [`domain`]: the pure rules (state machine, calendar, SLA, audit chain, scopes, claims).
//! * [`store`] + [`migration`]: sea-orm entities, tenant-scoped queries, one migration per table.
//! * [`Review`]: the workflow behind every rpc; `grpc.rs` is the thin tonic edge.
//! * [`score_source`]: scoring over gRPC in production, `jifen-rules` locally in tests.
//! * [`events`]: outbox events and their delivery to notices and ranking.

// Tests may unwrap; the workspace lint targets library code.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod applicant_directory;
mod convert;
pub mod domain;
pub mod error;
pub mod events;
mod grpc;
pub mod migration;
pub mod score_source;
mod service;
pub mod store;

use std::sync::Arc;

use jifen_kit::component::Context;
use jifen_kit::outbox::Dispatcher;
use jifen_proto::review::v1::review_service_server::ReviewServiceServer;

pub use error::ReviewError;
pub use migration::Migrator;
pub use service::{Review, benefit_name, is_family};

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "review";

/// Returns the outbox dispatcher of this component over `ctx`'s database.
pub fn dispatcher(ctx: &Context) -> Dispatcher {
    Dispatcher::new(NAME, ctx.db.clone())
}

/// Starts the outbox dispatcher that delivers review's events to notices and ranking over
/// `DeliverEvent`, until `ctx.shutdown`. Undelivered events (including those a crashed process
/// committed) are sent after restart; a receiver answering UNIMPLEMENTED is retried with
/// back-off, never dropped. [`service`] calls it; call it yourself only when hosting [`Review`]
/// without [`service`].
pub fn start_background(ctx: &Context, dispatcher: Dispatcher) {
    let peers = ctx.peers.clone();
    let tokens = ctx.service_tokens.clone();
    let shutdown = ctx.shutdown.clone();
    tokio::spawn(dispatcher.run(
        move |event| events::deliver(peers.clone(), tokens.clone(), event),
        shutdown,
    ));
}

/// Returns the gRPC service of this component, ready to be hosted, and starts its outbox
/// dispatcher (see [`start_background`]).
pub fn service(ctx: &Context) -> ReviewServiceServer<Review> {
    let limit = ctx.config.server.max_message_bytes;
    let dispatcher = dispatcher(ctx);
    start_background(ctx, dispatcher.clone());
    let scores = Arc::new(score_source::GrpcScoreSource::new(
        ctx.peers.clone(),
        ctx.service_tokens.clone(),
    ));
    let review = Review::new(ctx.db.clone(), scores)
        .with_dispatcher(dispatcher)
        .with_applicant_directory(applicant_directory::ApplicantDirectory::new(
            ctx.peers.clone(),
        ));
    ReviewServiceServer::new(review)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}
