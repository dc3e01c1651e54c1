//! Ranking: live provisional rank, reproducible official ranking runs, seat and pass-mark
//! decisions, and masked publicity lists.
//!
//! * [`domain`]: the pure logic (exact rank keys, the in-process board, the deterministic run
//!   with seat allocation, histograms, publicity lists). No IO, not async.
//! * [`board`]: the live boards behind one trait, in Redis sorted sets or in process.
//! * [`live`]: board writes, queries with a database fallback, rebuilds.
//! * [`store`] and [`migration`]: the tables (entries, runs, publicity lists, cut-off history).
//! * [`intake`], [`queries`], [`runs`], [`lists`]: the handlers; [`access`] the role checks;
//!   `grpc` the thin tonic edge.
//!
//! # Start-up
//!
//! [`service`] spawns [`warm_up`] in the background: every board that is not ready is rebuilt
//! from the database. Until then queries answer from the database (`degraded = true`), so the
//! process can report SERVING at once.

pub mod access;
pub mod board;
pub mod domain;
pub mod entry;
pub mod error;
pub mod hot;
pub mod intake;
pub mod lists;
pub mod live;
pub mod queries;
pub mod runs;
pub mod state;
pub mod store;

mod delivery;
mod grpc;
pub mod migration;

pub use error::RankingError;
pub use grpc::Ranking;
pub use migration::Migrator;

/// Component name, as used by `--target`, the database schema and metrics.
pub const NAME: &str = "ranking";

/// Returns the ranking service of a process context (Redis boards when Redis is configured,
/// in-process boards otherwise).
pub fn ranking(ctx: &jifen_kit::component::Context) -> Ranking {
    Ranking::new(ctx.db.clone(), ctx.redis.clone(), &ctx.config.redis)
}

/// Rebuilds every board that is not ready from the database, then returns. [`service`] already
/// runs it in the background; call it directly only with a [`Ranking`] you host yourself.
pub async fn warm_up(ranking: &Ranking) -> Result<live::Rebuilt, RankingError> {
    ranking.warm_up().await
}

/// Returns the gRPC service of this component, ready to be hosted, and starts its warm-up
/// (board rebuild) in the background; the warm-up stops with the process.
pub fn service(
    ctx: &jifen_kit::component::Context,
) -> jifen_proto::ranking::v1::ranking_service_server::RankingServiceServer<Ranking> {
    let limit = ctx.config.server.max_message_bytes;
    let ranking = ranking(ctx);
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        let warming = ranking.clone();
        let shutdown = ctx.shutdown.clone();
        runtime.spawn(async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                result = warming.warm_up() => match result {
                    Ok(done) => tracing::info!(boards = done.boards, entries = done.entries, "ranking boards warmed up"),
                    Err(err) => tracing::warn!(error = %err, "ranking warm-up failed; queries answer from the database"),
                },
            }
        });
    }
    // Publicity and outcome events reach notices from the outbox, at least once.
    let dispatcher = jifen_kit::outbox::Dispatcher::new(NAME, ctx.db.clone());
    let (peers, tokens) = (ctx.peers.clone(), ctx.service_tokens.clone());
    tokio::spawn(dispatcher.run(
        move |event| delivery::deliver(peers.clone(), tokens.clone(), event),
        ctx.shutdown.clone(),
    ));
    jifen_proto::ranking::v1::ranking_service_server::RankingServiceServer::new(ranking)
        .max_decoding_message_size(limit)
        .max_encoding_message_size(limit)
}
