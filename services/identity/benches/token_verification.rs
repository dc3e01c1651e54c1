//! Token verification throughput: what every component pays per authenticated request. Measures
//! the full EdDSA check (signature, header, claims) and the verified-token cache hit, on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jifen_identity::secrets::Secrets;
use jifen_identity::signing::KeyRing;
use jifen_kit::jwks::{AccessClaims, JwksVerifier};

fn bench(c: &mut Criterion) {
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
    let cold = JwksVerifier::with_keys(&keys)
        .expect("verifier")
        .without_token_cache();
    let hot = JwksVerifier::with_keys(&keys).expect("verifier");

    let mut group = c.benchmark_group("token_verification");
    group.throughput(Throughput::Elements(1));
    group.bench_function("eddsa_signature_check", |b| {
        b.iter(|| {
            cold.verify_cached(&token)
                .expect("valid")
                .expect("known kid")
        })
    });
    group.bench_function("verified_token_cache_hit", |b| {
        b.iter(|| {
            hot.verify_cached(&token)
                .expect("valid")
                .expect("known kid")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
