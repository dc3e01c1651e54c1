//! Drives N virtual users against a base URL until a request or time bound, closed or open loop.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::ops::Mix;
use super::resident::{Resident, Season, Step};

/// Bounds and shape of one load run.
#[derive(Debug, Clone)]
pub struct Load {
    /// Virtual users.
    pub concurrency: usize,
    /// Request bound.
    pub requests: u64,
    /// Time bound.
    pub duration: Duration,
    /// Open-loop arrival rate per second; 0 = closed loop.
    pub rate: f64,
    /// Show a progress bar.
    pub progress: bool,
}

/// What one run measured.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Requests completed.
    pub requests: u64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Requests per second.
    pub throughput: f64,
    /// Latency percentiles in milliseconds.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
    /// Responses by class: ok, too_many_requests (429), client_error, server_error, transport.
    pub by_class: BTreeMap<String, u64>,
    /// Requests per operation.
    pub by_operation: BTreeMap<String, u64>,
    /// Answers that were not a success, by operation and status (e.g. `score_rank 404`).
    pub failures: BTreeMap<String, u64>,
}

impl Stats {
    /// Returns the count of a class.
    pub fn class(&self, name: &str) -> u64 {
        self.by_class.get(name).copied().unwrap_or(0)
    }
}

fn class_of(result: &Result<Step, reqwest::Error>) -> &'static str {
    match result.as_ref().map(|(_, status)| status) {
        Ok(s) if s.is_success() => "ok",
        Ok(s) if s.as_u16() == 429 => "too_many_requests",
        Ok(s) if s.is_client_error() => "client_error",
        Ok(s) if s.is_server_error() => "server_error",
        Ok(_) => "other",
        Err(_) => "transport",
    }
}

#[derive(Default)]
struct Worker {
    latencies_us: Vec<u64>,
    by_class: BTreeMap<&'static str, u64>,
    by_operation: BTreeMap<&'static str, u64>,
    failures: BTreeMap<String, u64>,
}

/// Runs `load` against `base` with `mix`, residents applying in `season`. `residents` gives the
/// virtual users their starting state (one each, in order); the others start as newcomers.
pub async fn run_load(
    base: &str,
    mix: &Mix,
    load: &Load,
    season: &Season,
    mut residents: Vec<Resident>,
) -> anyhow::Result<Stats> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(load.concurrency)
        .timeout(Duration::from_secs(10))
        .tcp_nodelay(true)
        .build()?;
    let issued = Arc::new(AtomicU64::new(0));
    let bar = if load.progress {
        indicatif::ProgressBar::new(load.requests)
    } else {
        indicatif::ProgressBar::hidden()
    };
    let started = Instant::now();
    let deadline = started + load.duration;
    let mut tasks = tokio::task::JoinSet::new();
    residents.reverse();
    for _ in 0..load.concurrency {
        let mut resident = residents.pop().unwrap_or_default();
        let season = season.clone();
        let client = client.clone();
        let base = base.to_owned();
        let mix = mix.clone();
        let issued = issued.clone();
        let bar = bar.clone();
        let (limit, rate) = (load.requests, load.rate);
        tasks.spawn(async move {
            let mut worker = Worker::default();
            loop {
                let n = issued.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                if rate > 0.0 {
                    let due = started + Duration::from_secs_f64(n as f64 / rate);
                    if due >= deadline {
                        break;
                    }
                    tokio::time::sleep_until(due.into()).await;
                }
                let op = mix.pick(n);
                let t0 = Instant::now();
                let result = op.send(&client, &base, n, &mut resident, &season).await;
                worker
                    .latencies_us
                    .push(u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX));
                *worker.by_class.entry(class_of(&result)).or_default() += 1;
                let counted = result.as_ref().map_or(op.name(), |(name, _)| *name);
                *worker.by_operation.entry(counted).or_default() += 1;
                let failure = match &result {
                    Ok((_, status)) if status.is_success() => None,
                    Ok((_, status)) => Some(status.as_u16().to_string()),
                    Err(e) => Some(
                        if e.is_timeout() {
                            "timeout"
                        } else {
                            "transport"
                        }
                        .to_owned(),
                    ),
                };
                if let Some(failure) = failure {
                    *worker
                        .failures
                        .entry(format!("{counted} {failure}"))
                        .or_default() += 1;
                }
                bar.inc(1);
            }
            worker
        });
    }
    let mut latencies = Vec::new();
    let mut stats = Stats::default();
    while let Some(worker) = tasks.join_next().await {
        let worker = worker?;
        latencies.extend(worker.latencies_us);
        for (class, n) in worker.by_class {
            *stats.by_class.entry(class.to_owned()).or_default() += n;
        }
        for (op, n) in worker.by_operation {
            *stats.by_operation.entry(op.to_owned()).or_default() += n;
        }
        for (failure, n) in worker.failures {
            *stats.failures.entry(failure).or_default() += n;
        }
    }
    bar.finish_and_clear();
    stats.seconds = started.elapsed().as_secs_f64();
    stats.requests = latencies.len() as u64;
    stats.throughput = stats.requests as f64 / stats.seconds.max(1e-9);
    latencies.sort_unstable();
    let pct = |p: f64| -> f64 {
        if latencies.is_empty() {
            return 0.0;
        }
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[i.min(latencies.len() - 1)] as f64 / 1000.0
    };
    stats.p50_ms = pct(0.50);
    stats.p95_ms = pct(0.95);
    stats.p99_ms = pct(0.99);
    stats.max_ms = pct(1.0);
    Ok(stats)
}

/// Starts a no-op HTTP handler on a free loopback port (the baseline).
pub async fn noop_server() -> anyhow::Result<std::net::SocketAddr> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let router = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    Ok(addr)
}
