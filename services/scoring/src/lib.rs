//! The scoring component of jifen: per-tenant rule sets as versioned data (draft → validated →
//! published → frozen), explained score sheets, the public simulator and what-if, served as
//! `jifen.scoring.v1.ScoringService`. The rule engine itself is `jifen-rules`; this crate adds
//! storage, access rules and the wire.

// Tests may unwrap; the workspace lint targets library code.
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod convert;
pub mod domain;
mod error;
mod evaluation;
mod grpc;
mod lifecycle;
pub mod migration;
mod rule_book;
mod seed;
pub mod store;

pub use error::ScoringError;
pub use grpc::Scoring;
pub use migration::Migrator;
pub use rule_book::RuleBook;
pub use seed::{SeedReport, seed};

use sea_orm::DatabaseConnection;

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

/// Scores `facts_json` with the rule set `tenant` publishes for `benefit` at `as_of`
/// (`YYYY-MM-DD`) and returns exactly the simulator object of `contract.md`. Seeds the
/// defaults first when the database has none. `rule_set` picks another released rule set by id
/// (e.g. `SZ-CITY-SETTLEMENT-2023`). Shared by `jifen simulate`; the rpc uses the same path.
pub async fn simulate_local(
    db: &DatabaseConnection,
    tenant: &str,
    benefit: &str,
    as_of: &str,
    facts_json: &str,
    rule_set: Option<&str>,
) -> Result<serde_json::Value, ScoringError> {
    if as_of.trim().is_empty() {
        return Err(ScoringError::invalid(
            "as-of",
            "请指定计分日期（YYYY-MM-DD）",
        ));
    }
    rule_book::parse_date("as-of", as_of)?;
    if !store::benefit::tenant_known(db, jifen_kit::auth::CITY_TENANT).await? {
        seed(db).await?;
    }
    let book = RuleBook::new(db.clone());
    let sim = evaluation::simulate(
        &book,
        tenant,
        benefit,
        as_of,
        facts_json,
        rule_set.map(|id| (id, 0)),
    )
    .await?;
    Ok(jifen_rules::simulate_json(tenant, &sim.sheet))
}
