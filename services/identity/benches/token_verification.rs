//! Token verification throughput: what every component pays per authenticated request, on one
//! thread. Measured side by side in one run:
//!
//! - `raw_ed25519_*`: the signature check alone over pre-split, pre-decoded bytes (the floor of
//!   any EdDSA verifier), with the public key parsed per call (what jsonwebtoken does) and parsed
//!   once (`ParsedPublicKey`);
//! - `lean_jwt_verify`: a whole verification (split, base64, header alg/kid, signature, claims
//!   JSON once, expiry) written without jsonwebtoken, as a kit `JwksVerifier` could do it;
//! - `jsonwebtoken_decode`: `jsonwebtoken::decode` alone;
//! - `kit_verify_uncached` / `kit_verify_cache_hit`: kit's `JwksVerifier::verify_cached`, the
//!   path components run, without and with its verified-token cache.
//!
//! Then the argon2id cost identity hashes passwords with (`auth.password_*`, default 19 MiB,
//! t=2, p=1), timed for one hash, with why those parameters were chosen. A summary table at the
//! end gives verifications per second and the ratio to the raw signature check of the same run.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use argon2::password_hash::PasswordHasher as _;
use aws_lc_rs::signature::{ED25519, ParsedPublicKey, VerificationAlgorithm as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jifen_identity::secrets::Secrets;
use jifen_identity::signing::KeyRing;
use jifen_kit::jwks::{AccessClaims, JwksVerifier};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

/// A verifier without jsonwebtoken: keys parsed once, the header read with borrowed strings, the
/// signature decoded onto the stack, the claims parsed once.
struct Lean {
    keys: HashMap<String, ParsedPublicKey>,
    leeway: i64,
}

#[derive(serde::Deserialize)]
struct LeanHeader<'a> {
    alg: &'a str,
    kid: &'a str,
}

impl Lean {
    fn verify(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let (message, sig_b64) = token.rsplit_once('.')?;
        let (header_b64, payload_b64) = message.split_once('.')?;
        let mut header = [0u8; 256];
        let n = URL_SAFE_NO_PAD.decode_slice(header_b64, &mut header).ok()?;
        let header: LeanHeader<'_> = serde_json::from_slice(&header[..n]).ok()?;
        if header.alg != "EdDSA" {
            return None;
        }
        let key = self.keys.get(header.kid)?;
        let mut sig = [0u8; 64];
        if URL_SAFE_NO_PAD.decode_slice(sig_b64, &mut sig).ok()? != 64 {
            return None;
        }
        key.verify_sig(message.as_bytes(), &sig).ok()?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
        let claims: AccessClaims = serde_json::from_slice(&payload).ok()?;
        (claims.exp + self.leeway > now).then_some(claims)
    }
}

struct Fixture {
    token: String,
    message: Vec<u8>,
    signature: Vec<u8>,
    public_key: Vec<u8>,
    parsed: ParsedPublicKey,
    lean: Lean,
    jwt_key: DecodingKey,
    validation: Validation,
    cold: JwksVerifier,
    hot: JwksVerifier,
}

#[allow(clippy::expect_used)]
fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let secrets = Secrets::load(&jifen_kit::Config::defaults(), dir.path()).expect("secrets");
    let ring = KeyRing::new(secrets).expect("ring");
    let now = chrono::Utc::now().timestamp();
    let token = ring
        .sign(&AccessClaims {
            sub: "0190c3a2-7d2e-7b1a-9c3e-2f1d4b5a6c7d".into(),
            tenant: "wuzhong".into(),
            roles: vec!["street_reviewer".into()],
            street: Some("changqiao".into()),
            department: None,
            sid: "0190c3a2-7d2e-7b1a-9c3e-000000000001".into(),
            iat: now,
            exp: now + 3600,
        })
        .expect("sign");
    let keys = ring.public_jwks(now);
    let (message, sig_b64) = token.rsplit_once('.').expect("jwt");
    let public_key = URL_SAFE_NO_PAD.decode(&keys[0].x).expect("x");
    let parsed = ParsedPublicKey::new(&ED25519, &public_key).expect("key");
    let lean = Lean {
        keys: keys
            .iter()
            .map(|k| {
                let raw = URL_SAFE_NO_PAD.decode(&k.x).expect("x");
                (
                    k.kid.clone(),
                    ParsedPublicKey::new(&ED25519, raw).expect("key"),
                )
            })
            .collect(),
        leeway: 30,
    };
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.leeway = 30;
    validation.set_required_spec_claims(&["exp", "sub"]);
    Fixture {
        message: message.as_bytes().to_vec(),
        signature: URL_SAFE_NO_PAD.decode(sig_b64).expect("signature"),
        public_key,
        parsed,
        lean,
        jwt_key: DecodingKey::from_ed_components(&keys[0].x).expect("key"),
        validation,
        cold: JwksVerifier::with_keys(&keys)
            .expect("verifier")
            .without_token_cache(),
        hot: JwksVerifier::with_keys(&keys).expect("verifier"),
        token,
    }
}

type Case<'a> = (&'static str, Box<dyn Fn() -> bool + 'a>);

fn cases(f: &Fixture) -> Vec<Case<'_>> {
    let now = chrono::Utc::now().timestamp();
    vec![
        (
            "raw_ed25519_key_parsed_per_call",
            Box::new(move || {
                ED25519
                    .verify_sig(&f.public_key, &f.message, &f.signature)
                    .is_ok()
            }),
        ),
        (
            "raw_ed25519_key_parsed_once",
            Box::new(move || f.parsed.verify_sig(&f.message, &f.signature).is_ok()),
        ),
        (
            "lean_jwt_verify",
            Box::new(move || f.lean.verify(&f.token, now).is_some()),
        ),
        (
            "jsonwebtoken_decode",
            Box::new(move || {
                jsonwebtoken::decode::<AccessClaims>(&f.token, &f.jwt_key, &f.validation).is_ok()
            }),
        ),
        (
            "kit_verify_uncached",
            Box::new(move || matches!(f.cold.verify_cached(&f.token), Ok(Some(_)))),
        ),
        (
            "kit_verify_cache_hit",
            Box::new(move || matches!(f.hot.verify_cached(&f.token), Ok(Some(_)))),
        ),
    ]
}

/// Operations per second of `op` on this thread: the best of three half-second runs.
fn rate(op: &dyn Fn() -> bool) -> f64 {
    let mut best: f64 = 0.0;
    for _ in 0..3 {
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_millis(500) {
            for _ in 0..64 {
                black_box(op());
            }
            n += 64;
        }
        best = best.max(n as f64 / start.elapsed().as_secs_f64());
    }
    best
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let cases = cases(&f);
    for (name, op) in &cases {
        assert!(op(), "{name} must accept the valid token");
    }
    let mut group = c.benchmark_group("token_verification");
    group.throughput(Throughput::Elements(1));
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
    for (name, op) in &cases {
        group.bench_function(*name, |b| b.iter(|| black_box(op())));
    }
    group.finish();

    // Password hashing at the production default.
    let auth = jifen_kit::Config::defaults().auth;
    let argon = jifen_identity::core::hasher(&auth).expect("argon2 params");
    let mut group = c.benchmark_group("password_hash");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("argon2id_default_cost", |b| {
        b.iter(|| {
            argon
                .hash_password(black_box(b"Jifen#2025go"))
                .map(|h| h.to_string())
                .expect("hash")
        })
    });
    group.finish();

    // One table from this run, ratios against the raw signature check.
    println!();
    println!("== token verification, one thread, same run (verifications/s) ==");
    let rates: Vec<(&str, f64)> = cases
        .iter()
        .map(|(n, op)| (*n, rate(op.as_ref())))
        .collect();
    let baseline = rates[0].1;
    for (name, r) in &rates {
        println!(
            "{name:<34} {r:>12.0}/s  {:>8.2} µs  x{:.2} of raw_ed25519_key_parsed_per_call",
            1e6 / r,
            r / baseline
        );
    }
    let goal = 50_000.0;
    for (name, r) in &rates {
        println!(
            "goal 50k/s per core: {name:<34} {}",
            if *r >= goal { "met" } else { "MISSED" }
        );
    }
    let of = |wanted: &str| {
        rates
            .iter()
            .find(|(name, _)| *name == wanted)
            .map_or(0.0, |(_, r)| *r)
    };
    let (hit, cold) = (of("kit_verify_cache_hit"), of("kit_verify_uncached"));
    println!(
        "BENCH | token verification per core, kit as every component runs it (verified-token cache hit; first sight {cold:.0}/s) | {hit:.0}/s | raw Ed25519 {baseline:.0}/s | {:.1} | >= 50k/s | {}",
        hit / baseline,
        if hit >= goal { "yes" } else { "no" }
    );
    let start = Instant::now();
    let runs = 5;
    for _ in 0..runs {
        black_box(
            argon
                .hash_password(b"Jifen#2025go")
                .map(|h| h.to_string())
                .ok(),
        );
    }
    let per_hash = start.elapsed() / runs;
    println!();
    println!(
        "== argon2id: m={} KiB, t={}, p={} → {:.1} ms per hash on this core ({:.0} hashes/s) ==",
        auth.password_memory_kib,
        auth.password_iterations,
        auth.password_parallelism,
        per_hash.as_secs_f64() * 1e3,
        1.0 / per_hash.as_secs_f64()
    );
    println!(
        "why: OWASP's minimum argon2id setting (19 MiB, t=2, p=1). Memory is what makes an offline \
         guess expensive on GPUs, so it is spent first; t=2 doubles the work without more memory; \
         p=1 because a login runs on one blocking thread and two cores must serve the season \
         peak (~{:.0} logins/s over both cores at this cost) while verify-only traffic never pays \
         it. Raising m to 46 MiB (t=1) is the OWASP alternative at about the same time; operators \
         change auth.password_memory_kib/iterations and old hashes keep verifying (the PHC string \
         carries its parameters).",
        2.0 / per_hash.as_secs_f64()
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
