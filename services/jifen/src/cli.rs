//! The command line of `jifen`.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::target::{Target, Targets};

/// jifen (积分): the Suzhou floating-population points system.
///
/// One binary runs any set of components. `jifen run` starts everything in one process on the
/// embedded default (SQLite files, an embedded S3 endpoint and in-process caches under the data
/// dir); `jifen run --target scoring` runs one component as a Kubernetes pod would, configured for
/// PostgreSQL, Redis and external S3 by a config file or `JIFEN__SECTION__KEY` environment
/// variables (e.g. `JIFEN__DATABASE__URL=postgres://…`).
#[derive(Debug, Parser)]
#[command(name = "jifen", version, propagate_version = true)]
pub struct Cli {
    /// Folder for SQLite files, embedded S3 objects and other local state.
    #[arg(long, global = true, env = "JIFEN_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,

    /// TOML config file layered over the embedded defaults (env JIFEN__* overrides both).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run components: all of them in one process by default (the embedded default).
    Run(RunArgs),
    /// Apply database migrations of the chosen components, then exit (a Helm hook job).
    Migrate(MigrateArgs),
    /// Load the Suzhou tenants and default rule sets; running it again changes nothing.
    Seed,
    /// Simulate an application season against a running jifen (loopback only) and report.
    Loadgen(crate::loadgen::LoadgenArgs),
    /// Score a facts file with a tenant's published rules (the command-line twin of the public
    /// calculator). Works on a fresh data dir: the default rule sets are seeded on first run.
    Simulate(SimulateArgs),
}

/// `jifen simulate`.
#[derive(Debug, Args)]
pub struct SimulateArgs {
    /// Tenant code, e.g. `wuzhong`, `kunshan`, `changshu`.
    #[arg(long)]
    pub tenant: String,

    /// Benefit code: `school`, `settlement`, `medical`, `talent`.
    #[arg(long)]
    pub benefit: String,

    /// Date ages and durations are computed at (`YYYY-MM-DD`, the cycle's as-of date).
    #[arg(long, value_name = "DATE")]
    pub as_of: String,

    /// Facts JSON file (`-` reads standard input); a family is `{"parents": [facts, facts]}`.
    #[arg(long, value_name = "FILE")]
    pub facts: PathBuf,

    /// Another published rule set of the tenant to use instead of its default for the benefit,
    /// e.g. `SZ-CITY-SETTLEMENT-2023`.
    #[arg(long, value_name = "ID")]
    pub rule_set: Option<String>,

    /// Output: `json` (one line, the contract's object), `pretty` (indented JSON) or `text`
    /// (a readable Chinese table).
    #[arg(long, value_enum, default_value_t = SimulateFormat::Json)]
    pub format: SimulateFormat,
}

/// Output formats of `jifen simulate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SimulateFormat {
    /// The contract's JSON object on one line.
    Json,
    /// The same object, indented.
    Pretty,
    /// A readable Chinese table.
    Text,
}

/// `jifen run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Components to run: `all`, or a comma list of identity, scoring, materials, review,
    /// ranking, notices, gateway.
    #[arg(long, default_value = "all", value_parser = Targets::parse)]
    pub target: Targets,

    /// gRPC listen address (overrides server.grpc_addr).
    #[arg(long, value_name = "ADDR")]
    pub grpc_addr: Option<SocketAddr>,

    /// HTTP listen address for /healthz, /readyz, /metrics and the portal (overrides
    /// server.http_addr).
    #[arg(long, value_name = "ADDR")]
    pub http_addr: Option<SocketAddr>,

    /// Check flags and configuration, print the plan as one JSON object, and exit.
    #[arg(long)]
    pub dry_run: bool,
}

/// `jifen migrate`.
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// Components whose databases to migrate (`all` or a comma list).
    #[arg(long, default_value = "all", value_parser = Targets::parse)]
    pub target: Targets,

    /// Check flags and configuration, print the plan as one JSON object, and exit.
    #[arg(long)]
    pub dry_run: bool,
}

impl RunArgs {
    /// Returns the distinct targets in start order.
    pub fn targets(&self) -> &[Target] {
        &self.target.0
    }
}

impl MigrateArgs {
    /// Returns the distinct targets in start order.
    pub fn targets(&self) -> &[Target] {
        &self.target.0
    }
}
