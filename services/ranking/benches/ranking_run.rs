//! Ranks 1,000,000 synthetic applicants with the full `SZ-CITY-SCHOOL-2023` tie-breaks (key
//! encoding + sort + tie runs) and, in the same run, `sort_unstable`s the same bare `u128` keys.
//! Goal: full ≤ 2× bare.
//!
//! Run: `cargo bench -p jifen-ranking --bench ranking_run -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use jifen_ranking::domain::rank_key::tie_value_from_date;
use jifen_ranking::domain::{PackedKeys, RankEntry, RankSpec, rank_order};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const APPLICANTS: usize = 1_000_000;

struct Applicant {
    number: String,
    total: i64,
    ties: [i64; 4],
}

impl RankEntry for Applicant {
    fn total(&self) -> i64 {
        self.total
    }
    fn tie_values(&self) -> &[i64] {
        &self.ties
    }
    fn application_number(&self) -> &str {
        &self.number
    }
}

fn synthetic(n: usize) -> Vec<Applicant> {
    let mut rng = StdRng::seed_from_u64(2023);
    let first_day = NaiveDate::from_ymd_opt(2011, 4, 1).map_or(0, tie_value_from_date);
    let opened = 1_677_600_000_000_000i64; // 2023-03-01, in microseconds
    (0..n)
        .map(|i| {
            let base: i64 = rng.random_range(300..700);
            Applicant {
                number: format!("SZ2023-{:07}", (i * 7_919) % n),
                // Narrow ranges on purpose: many ties on total, base and the other parent.
                total: base + rng.random_range(0..400),
                ties: [
                    base,
                    rng.random_range(0..700),
                    first_day + rng.random_range(0..4_400),
                    // Submission times at one-second resolution over the 92-day window.
                    opened + rng.random_range(0..7_948_800i64) * 1_000_000,
                ],
            }
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ranking_run(c: &mut Criterion) {
    let spec = RankSpec::suzhou_school();
    let applicants = synthetic(APPLICANTS);
    let bare = PackedKeys::build(&spec, &applicants)
        .map(|p| p.keys().to_vec())
        .unwrap_or_default();

    // A direct side-by-side measurement, printed once, independent of criterion's statistics.
    let (mut full_times, mut bare_times) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        let start = Instant::now();
        black_box(rank_order(&spec, &applicants).map(|o| o.len()).unwrap_or(0));
        full_times.push(start.elapsed());
        let mut keys = bare.clone();
        let start = Instant::now();
        keys.sort_unstable();
        bare_times.push(start.elapsed());
        black_box(&keys);
    }
    let (full, bare_t) = (median(full_times), median(bare_times));
    println!(
        "ranking 1,000,000 applicants: full tie-breaks {:.1} ms, bare u128 sort_unstable {:.1} ms, ratio {:.2}x (goal <= 2x)",
        full.as_secs_f64() * 1e3,
        bare_t.as_secs_f64() * 1e3,
        full.as_secs_f64() / bare_t.as_secs_f64()
    );
    let ratio = full.as_secs_f64() / bare_t.as_secs_f64();
    println!(
        "BENCH | ranking run, 1,000,000 applicants, full tie-breaks | {:.1} ms | {:.1} ms bare sort_unstable | {ratio:.2}x | <= 2x | {}",
        full.as_secs_f64() * 1e3,
        bare_t.as_secs_f64() * 1e3,
        if ratio <= 2.0 { "yes" } else { "no" }
    );

    let mut group = c.benchmark_group("ranking_1m");
    group.sample_size(10);
    group.bench_function("full_tie_breaks", |b| {
        b.iter(|| black_box(rank_order(&spec, &applicants).map(|o| o.len()).unwrap_or(0)))
    });
    group.bench_function("bare_u128_sort_unstable", |b| {
        b.iter_batched(
            || bare.clone(),
            |mut keys| {
                keys.sort_unstable();
                keys
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, ranking_run);
criterion_main!(benches);
