//! `jifen loadgen`: an application season against a running jifen, in a configurable mix and
//! arrival rate, bounded in requests and time, loopback only. Reports throughput, latency
//! percentiles, errors by class and 429s, as JSON and Markdown; `--baseline` also loads a no-op
//! HTTP handler through the same client in the same run, so the ratio means something on any
//! machine.

mod engine;
mod ops;
mod report;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

pub use engine::{Load, Stats, noop_server, run_load};
pub use ops::{Mix, Operation};
pub use report::Report;

/// `jifen loadgen`.
#[derive(Debug, Clone, Args)]
pub struct LoadgenArgs {
    /// Base URL of the jifen HTTP edge (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,

    /// Operation mix as `name=weight,…`. Operations: page, tenants, rules, simulate, register,
    /// login, score_rank, submit, upload (those the running jifen does not offer yet are counted
    /// as errors of class `unsupported`).
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
    let jifen = run_load(&args.url, &args.mix, &load).await?;
    let mut report = Report::new("jifen", &args, jifen);
    if args.baseline {
        let noop = noop_server().await?;
        let baseline_mix: Mix = "noop=1".parse().map_err(anyhow::Error::msg)?;
        let base = run_load(&format!("http://{noop}"), &baseline_mix, &load).await?;
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
