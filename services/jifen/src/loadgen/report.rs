//! The load report: JSON for machines, Markdown for the README and issue notes.

use serde::Serialize;

use super::LoadgenArgs;
use super::engine::Stats;

/// One loadgen run, with its optional same-run baseline.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// What was loaded.
    pub target: String,
    /// The mix as given.
    pub mix: String,
    /// Virtual users.
    pub concurrency: usize,
    /// When (UTC).
    pub date: String,
    /// Logical CPUs of this machine.
    pub cpus: usize,
    /// The measurement.
    pub result: Stats,
    /// The no-op baseline measured in the same run, if asked for.
    pub baseline: Option<Stats>,
}

impl Report {
    /// Returns a report of `result` for `args`.
    pub fn new(target: &str, args: &LoadgenArgs, result: Stats) -> Self {
        let mix = args
            .mix
            .entries()
            .iter()
            .map(|(op, w)| format!("{}={w}", op.name()))
            .collect::<Vec<_>>()
            .join(",");
        Self {
            target: target.to_owned(),
            mix,
            concurrency: args.concurrency,
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            result,
            baseline: None,
        }
    }

    /// Renders the report as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "loadgen {} · mix {} · {} users · {} · {} CPUs\n\n",
            self.target, self.mix, self.concurrency, self.date, self.cpus
        );
        out.push_str("| run | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | ok | 429 | 4xx | 5xx | transport |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        let mut row = |name: &str, s: &Stats| {
            out.push_str(&format!(
                "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {} | {} |\n",
                s.requests,
                s.throughput,
                s.p50_ms,
                s.p95_ms,
                s.p99_ms,
                s.max_ms,
                s.class("ok"),
                s.class("too_many_requests"),
                s.class("client_error"),
                s.class("server_error"),
                s.class("transport"),
            ));
        };
        row(&self.target, &self.result);
        let steps = |m: &std::collections::BTreeMap<String, u64>| {
            m.iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut notes = format!("\nsteps: {}\n", steps(&self.result.by_operation));
        if !self.result.failures.is_empty() {
            notes.push_str(&format!(
                "not successful (operation status): {}\n",
                steps(&self.result.failures)
            ));
        }
        if let Some(base) = &self.baseline {
            row("no-op axum (baseline)", base);
            out.push_str(&format!(
                "\nratio {} / no-op: {:.2}\n",
                self.target,
                self.result.throughput / base.throughput.max(1e-9)
            ));
        }
        out.push_str(&notes);
        out
    }
}
