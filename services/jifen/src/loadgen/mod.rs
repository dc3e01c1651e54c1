//! `jifen loadgen`: an application season against a running jifen, in a configurable mix and
//! arrival rate, bounded in requests and time, loopback only. Reports throughput, latency
//! percentiles, errors by class and 429s, as JSON and Markdown; `--baseline` also loads a no-op
//! HTTP handler through the same client in the same run, so the ratio means something on any
//! machine.

mod engine;
mod ops;
mod report;
mod resident;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub use engine::{Load, Stats, noop_server, run_load};
pub use ops::{Mix, Operation};
pub use report::Report;
pub use resident::{Resident, Season, Step, id_number, prepare_season};

/// `jifen loadgen`.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// Base URL of the jifen HTTP edge (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,

    /// Operation mix as `name=weight,…`. Public: page, tenants, rules, simulate. Residents (each
    /// virtual user is one): register, login, score_rank, submit, upload; a step whose
    /// precondition is missing (no account yet, no draft yet) performs it instead and is counted
    /// as `register` or `draft`. score_rank answers 404 until the application's score is
    /// confirmed (it is on no board before). Every resident registers from this machine's
    /// address: raise the target's `auth.registrations_per_address` for a registration wave
    /// (e.g. `JIFEN__AUTH__REGISTRATIONS_PER_ADDRESS=100000`), or the excess answers 429.
    #[arg(long, default_value = "simulate=6,rules=2,tenants=1,page=1")]
    pub mix: Mix,

    /// Concurrent virtual users.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Stop after this many requests.
    #[arg(long, default_value_t = 20_000)]
    pub requests: u64,

    /// Stop after this long (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub duration: Duration,

    /// Arrival rate in requests per second (open loop); 0 = as fast as the users go (closed loop).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,

    /// Also load a no-op HTTP handler in this process with the same client, and print the ratio.
    #[arg(long)]
    pub baseline: bool,

    /// Write the report as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write the report as Markdown here.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,

    /// District whose open settlement cycle residents apply in.
    #[arg(long, default_value = "wuzhong")]
    pub tenant: String,

    /// Staff login that opens a settlement cycle when the tenant has none (submit, upload,
    /// score_rank need one).
    #[arg(long, default_value = "admin")]
    pub admin_login: String,

    /// Its password (the one `jifen seed` printed or took from the environment).
    #[arg(long, env = "JIFEN_SEED_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,

    /// No progress bar (CI logs).
    #[arg(long)]
    pub quiet: bool,
}

/// Parses `500ms`, `30s`, `2m`.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let value = value.trim();
    let (number, unit) = value
        .find(|c: char| !c.is_ascii_digit())
        .map_or((value, "s"), |i| value.split_at(i));
    let n: u64 = number
        .parse()
        .map_err(|_| format!("invalid duration {value:?} (e.g. 500ms, 30s, 2m)"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n * 60)),
        _ => Err(format!("invalid duration {value:?} (e.g. 500ms, 30s, 2m)")),
    }
}

/// Refuses anything but a loopback `http://` target: load must never leave this machine.
pub fn loopback_target(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url:?}: only http:// loopback targets are allowed"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    let addr: SocketAddr = authority
        .parse()
        .or_else(|_| {
            authority
                .strip_prefix("localhost:")
                .and_then(|port| port.parse::<u16>().ok())
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
                .ok_or(())
        })
        .map_err(|()| format!("--url {url:?}: expected http://127.0.0.1:PORT"))?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "--url {url:?}: load is only sent to loopback addresses"
        ));
    }
    Ok(addr)
}

/// Runs `jifen loadgen` and prints the report.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    loopback_target(&args.url).map_err(anyhow::Error::msg)?;
    anyhow::ensure!(args.concurrency > 0, "--concurrency must be greater than 0");
    anyhow::ensure!(args.requests > 0, "--requests must be greater than 0");
    let load = Load {
        concurrency: args.concurrency,
        requests: args.requests,
        duration: args.duration,
        rate: args.rate,
        progress: !args.quiet,
    };
    let season = if args.mix.entries().iter().any(|(op, _)| op.needs_season()) {
        let admin = args
            .admin_password
            .as_deref()
            .map(|password| (args.admin_login.as_str(), password));
        let season =
            prepare_season(&reqwest::Client::new(), &args.url, &args.tenant, admin).await?;
        if season.cycle_id.is_none() {
            eprintln!(
                "loadgen: {} has no open settlement cycle and no --admin-password was given; \
                 submit, upload and score_rank will count as no_open_cycle",
                args.tenant
            );
        }
        season
    } else {
        Season {
            tenant: args.tenant.clone(),
            cycle_id: None,
            street: String::new(),
        }
    };
    let jifen = run_load(&args.url, &args.mix, &load, &season, Vec::new()).await?;
    let mut report = Report::new("jifen", &args, jifen);
    if args.baseline {
        let noop = noop_server().await?;
        let baseline_mix: Mix = "noop=1".parse().map_err(anyhow::Error::msg)?;
        let base = run_load(
            &format!("http://{noop}"),
            &baseline_mix,
            &load,
            &season,
            Vec::new(),
        )
        .await?;
        report.baseline = Some(base);
    }
    println!("{}", report.markdown());
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    if let Some(path) = &args.markdown {
        std::fs::write(path, report.markdown())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_accepted() {
        assert!(loopback_target("http://127.0.0.1:8080").is_ok());
        assert!(loopback_target("http://localhost:8080/x").is_ok());
        assert!(loopback_target("http://10.0.0.1:8080").is_err());
        assert!(loopback_target("https://127.0.0.1:8080").is_err());
        assert!(loopback_target("http://example.com:80").is_err());
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
    }
}
