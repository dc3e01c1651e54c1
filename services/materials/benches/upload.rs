//! Upload throughput: N files through the presigned path (CreateUpload → PUT → ConfirmUpload,
//! the service called in-process) against N PUTs straight to the same embedded S3 endpoint with
//! an equivalent presigned URL made by the bench itself (same signed type, length and checksum
//! headers), in the same run. Goal: the presigned path reaches ≥ 0.8 of the direct throughput.
//!
//! The two paths alternate in rounds of `FILES / ROUNDS` files each (the machine is shared and
//! its speed swings within seconds); the ratio is of the summed times, with the spread of the
//! per-round ratios beside it. It also prints the process's CPU time per file of each path: the
//! machine's two cores are the bottleneck, so CPU per file says where the time goes.
//!
//! `cargo bench -p jifen-materials --bench upload`. Knobs: `JIFEN_BENCH_FILES` (files per path,
//! default 800), `JIFEN_BENCH_ROUNDS` (default 16), `JIFEN_BENCH_BYTES` (default 1 MiB),
//! `JIFEN_BENCH_CONCURRENCY` (default 8), `JIFEN_BENCH_PG_URL` (PostgreSQL instead of the
//! embedded SQLite file).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_s3::presigning::PresigningConfig;
use base64::Engine as _;
use jifen_kit::auth::{Caller, Role};
use jifen_kit::blob::BlobStore;
use jifen_kit::config::Config;
use jifen_kit::embedded_s3::EmbeddedS3;
use jifen_materials::{Materials, Migrator};
use jifen_proto::materials::v1 as pb;
use jifen_proto::materials::v1::materials_service_server::MaterialsService;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

/// Time spent in each step of the presigned path, summed over files (microseconds).
static CREATE_US: AtomicU64 = AtomicU64::new(0);
static PUT_US: AtomicU64 = AtomicU64::new(0);
static CONFIRM_US: AtomicU64 = AtomicU64::new(0);

fn add(counter: &AtomicU64, since: Instant) {
    counter.fetch_add(
        u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX),
        Ordering::Relaxed,
    );
}

/// Returns the CPU time this process has used so far (user + system, from `/proc/self/stat`),
/// or zero where there is no such file. The machine is shared, so CPU per file is the steadier
/// figure: wall time also counts what other processes take.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum();
    // USER_HZ is 100 on Linux.
    Duration::from_millis(ticks * 10)
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn file(i: usize, round: &str, size: usize) -> Vec<u8> {
    let mut bytes = format!("%PDF-1.4\n% {round} file {i}\n").into_bytes();
    let mut x = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while bytes.len() < size {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    bytes.truncate(size);
    bytes
}

/// The tenant of this run: its own each time, so a PostgreSQL database kept from an earlier run
/// holds no duplicates of this run's files.
fn tenant() -> &'static str {
    static TENANT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TENANT.get_or_init(|| format!("bench-{}", uuid::Uuid::now_v7().simple()))
}

fn caller() -> Caller {
    Caller {
        tenant: tenant().to_owned(),
        subject: "bench-applicant".to_owned(),
        roles: vec![Role::Applicant],
        street: None,
        department: None,
        session: None,
        home_tenant: None,
    }
}

async fn put(http: &reqwest::Client, url: &str, headers: &[(String, String)], body: Vec<u8>) {
    let mut request = http.put(url).body(body);
    for (name, value) in headers {
        if !name.eq_ignore_ascii_case("content-length") {
            request = request.header(name, value);
        }
    }
    let answer = request.send().await.expect("put");
    assert!(answer.status().is_success(), "put: {}", answer.status());
}

async fn presigned_path(
    svc: &Materials,
    http: &reqwest::Client,
    i: usize,
    round: &str,
    body: Vec<u8>,
) {
    let who = caller();
    let mut request = tonic::Request::new(pb::CreateUploadRequest {
        application_id: format!("bench-{round}-{}", i / 40),
        indicator: "residence_years".to_owned(),
        file_name: format!("file-{i}.pdf"),
        content_type: "application/pdf".to_owned(),
        size_bytes: body.len() as u64,
        sha256: hex::encode(Sha256::digest(&body)),
        verifier_department: String::new(),
    });
    request.extensions_mut().insert(who.clone());
    let started = Instant::now();
    let created = svc
        .create_upload(request)
        .await
        .expect("create")
        .into_inner();
    add(&CREATE_US, started);
    let upload = created.upload.expect("upload");
    let headers: Vec<(String, String)> = upload.headers.into_iter().collect();
    let started = Instant::now();
    put(http, &upload.url, &headers, body).await;
    add(&PUT_US, started);
    let mut confirm = tonic::Request::new(pb::ConfirmUploadRequest {
        material_id: created.material.expect("material").material_id,
    });
    confirm.extensions_mut().insert(who);
    let started = Instant::now();
    svc.confirm_upload(confirm).await.expect("confirm");
    add(&CONFIRM_US, started);
}

async fn direct_path(
    blob: &BlobStore,
    http: &reqwest::Client,
    i: usize,
    round: &str,
    body: Vec<u8>,
) {
    let checksum =
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&body).as_slice());
    let presigned = blob
        .client
        .put_object()
        .bucket(&blob.bucket)
        .key(format!("tenants/{}/direct/{round}/{i}", tenant()))
        .content_type("application/pdf")
        .content_length(body.len() as i64)
        .checksum_sha256(checksum)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(600)).expect("ttl"))
        .await
        .expect("presign");
    let headers: Vec<(String, String)> = presigned
        .headers()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    put(http, presigned.uri(), &headers, body).await;
}

/// Runs `n` uploads `concurrency` at a time; returns the elapsed time.
async fn run<F, Fut>(n: usize, concurrency: usize, one: F) -> Duration
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let permit = gate.clone().acquire_owned().await.expect("gate");
        let job = one(i);
        tasks.push(tokio::spawn(async move {
            job.await;
            drop(permit);
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    started.elapsed()
}

#[tokio::main]
async fn main() {
    let files = env_or("JIFEN_BENCH_FILES", 800);
    let rounds = env_or("JIFEN_BENCH_ROUNDS", 16).max(1);
    let per_round = files.div_ceil(rounds).max(1);
    let size = env_or("JIFEN_BENCH_BYTES", 1024 * 1024);
    let concurrency = env_or("JIFEN_BENCH_CONCURRENCY", 8);

    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = Config::defaults();
    let s3 = EmbeddedS3::start(
        &dir.path().join("objects"),
        "127.0.0.1:0".parse().expect("addr"),
        &config.s3.bucket,
        &config.s3.access_key_id,
        &config.s3.secret_access_key,
    )
    .await
    .expect("embedded s3");
    let blob = BlobStore::new(&config.s3, &s3.endpoint());
    let backend = match std::env::var("JIFEN_BENCH_PG_URL") {
        Ok(url) if !url.is_empty() => {
            config.database.url = url;
            "postgresql"
        }
        _ => "sqlite",
    };
    config.database.max_connections = u32::try_from(concurrency * 2).unwrap_or(16);
    let db = jifen_kit::db::connect("materials", &config.database, dir.path())
        .await
        .expect("db");
    jifen_kit::db::migrate::<Migrator>("materials", &db)
        .await
        .expect("migrate");
    let svc = Materials::new(db, blob.clone());
    let http = reqwest::Client::new();

    let round = |name: String| {
        let svc = svc.clone();
        let blob = blob.clone();
        let http = http.clone();
        move |presigned: bool, count: usize| {
            let svc = svc.clone();
            let blob = blob.clone();
            let http = http.clone();
            async move {
                run(count, concurrency, move |i| {
                    let svc = svc.clone();
                    let blob = blob.clone();
                    let http = http.clone();
                    let body = file(i, &name, size);
                    let name = name.clone();
                    async move {
                        if presigned {
                            presigned_path(&svc, &http, i, &name, body).await;
                        } else {
                            direct_path(&blob, &http, i, &name, body).await;
                        }
                    }
                })
                .await
            }
        }
    };
    // Warm up both paths (connections, page cache, prepared statements).
    round("warm".to_owned())(false, 20.min(per_round)).await;
    round("warm".to_owned())(true, 20.min(per_round)).await;
    for counter in [&CREATE_US, &PUT_US, &CONFIRM_US] {
        counter.store(0, Ordering::Relaxed);
    }
    // Alternate the two paths in short slices and sum their times, so both see the same machine
    // conditions (on a shared machine the speed swings within seconds).
    let (mut direct, mut presigned) = (Duration::ZERO, Duration::ZERO);
    let (mut direct_cpu, mut presigned_cpu) = (Duration::ZERO, Duration::ZERO);
    let mut slice_ratios = Vec::with_capacity(rounds);
    for r in 1..=rounds {
        // Each round its own names: the same file twice in one application is a duplicate.
        let cpu = cpu_time();
        let d = round(format!("direct-{r}"))(false, per_round).await;
        let between = cpu_time();
        let p = round(format!("presigned-{r}"))(true, per_round).await;
        presigned_cpu += cpu_time().saturating_sub(between);
        direct_cpu += between.saturating_sub(cpu);
        direct += d;
        presigned += p;
        slice_ratios.push(d.as_secs_f64() / p.as_secs_f64());
    }
    slice_ratios.sort_by(f64::total_cmp);
    let n = per_round * rounds;

    let mb = (n * size) as f64 / (1024.0 * 1024.0);
    let direct_rate = n as f64 / direct.as_secs_f64();
    let presigned_rate = n as f64 / presigned.as_secs_f64();
    println!(
        "materials upload bench: {n} files × {} KiB, concurrency {concurrency}, {backend}, embedded s3",
        size / 1024
    );
    println!(
        "  direct PUT        {direct_rate:8.1} files/s {:8.1} MiB/s ({:.2} s)",
        mb / direct.as_secs_f64(),
        direct.as_secs_f64()
    );
    println!(
        "  presigned path    {presigned_rate:8.1} files/s {:8.1} MiB/s ({:.2} s)  create → PUT → confirm",
        mb / presigned.as_secs_f64(),
        presigned.as_secs_f64()
    );
    let cpu_per_file = |d: Duration| d.as_secs_f64() * 1000.0 / n as f64;
    println!(
        "  CPU per file (this process, bench client included): direct {:.2} ms, presigned {:.2} ms (ratio {:.2})",
        cpu_per_file(direct_cpu),
        cpu_per_file(presigned_cpu),
        direct_cpu.as_secs_f64() / presigned_cpu.as_secs_f64().max(f64::MIN_POSITIVE)
    );
    let per_file = |c: &AtomicU64| c.load(Ordering::Relaxed) as f64 / n as f64 / 1000.0;
    println!(
        "  presigned path per file: create {:.2} ms, PUT {:.2} ms, confirm {:.2} ms (wall, under concurrency)",
        per_file(&CREATE_US),
        per_file(&PUT_US),
        per_file(&CONFIRM_US)
    );
    let ratio = presigned_rate / direct_rate;
    println!(
        "  ratio presigned/direct = {ratio:.2} (goal ≥ 0.80: {}); per round of {per_round}: min {:.2}, median {:.2}, max {:.2}",
        if ratio >= 0.8 { "met" } else { "NOT met" },
        slice_ratios[0],
        slice_ratios[slice_ratios.len() / 2],
        slice_ratios[slice_ratios.len() - 1]
    );
    println!(
        "BENCH | presigned upload (declare, PUT, confirm), {n} × {} KiB, {concurrency} at a time, {backend} | {presigned_rate:.1} files/s | direct PUT to the same endpoint {direct_rate:.1} files/s | {ratio:.2} | >= 0.8 | {}",
        size / 1024,
        if ratio >= 0.8 { "yes" } else { "no" }
    );
}
