//! Admission control at season open: a global and a per-tenant cap on requests in flight and on
//! the request rate. Beyond them a caller gets 429 with `Retry-After` — API clients as
//! problem+json, browsers as a friendly waiting page that reloads itself — never a 5xx.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::problem::{Problem, RETRY_AFTER_SECS};

/// Admission limits: the `[gateway]` section of the configuration.
pub use jifen_kit::config::GatewayConfig as Limits;

/// A token bucket refilled continuously; `burst` = one second of rate.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64) -> Self {
        Self {
            rate,
            tokens: rate,
            last: Instant::now(),
        }
    }

    fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate.max(1.0));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct TenantGate {
    in_flight: Arc<Semaphore>,
    bucket: Mutex<Bucket>,
}

/// Shared admission state.
#[derive(Debug, Clone)]
pub struct Admission {
    limits: Limits,
    in_flight: Arc<Semaphore>,
    bucket: Arc<Mutex<Bucket>>,
    tenants: Arc<Mutex<HashMap<String, Arc<TenantGate>>>>,
}

/// Most distinct tenant keys tracked; beyond that unknown keys share one gate.
const MAX_TENANT_KEYS: usize = 256;

impl Admission {
    /// Returns admission state for `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(limits.max_in_flight)),
            bucket: Arc::new(Mutex::new(Bucket::new(limits.rate_per_sec))),
            tenants: Arc::new(Mutex::new(HashMap::new())),
            limits,
        }
    }

    fn tenant_gate(&self, tenant: &str) -> Arc<TenantGate> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        let key = if tenants.contains_key(tenant) || tenants.len() < MAX_TENANT_KEYS {
            tenant
        } else {
            "other"
        };
        tenants
            .entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(TenantGate {
                    in_flight: Arc::new(Semaphore::new(self.limits.tenant_max_in_flight)),
                    bucket: Mutex::new(Bucket::new(self.limits.tenant_rate_per_sec)),
                })
            })
            .clone()
    }

    /// Admits one request for `tenant`, or returns `None` when over a limit.
    pub fn admit(&self, tenant: &str) -> Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)> {
        let now = Instant::now();
        let gate = self.tenant_gate(tenant);
        let global = self.in_flight.clone().try_acquire_owned().ok()?;
        let local = gate.in_flight.clone().try_acquire_owned().ok()?;
        let global_ok = self
            .bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_take(now);
        if !global_ok {
            return None;
        }
        let tenant_ok = gate
            .bucket
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .try_take(now);
        tenant_ok.then_some((global, local))
    }
}

/// The tenant a request counts against: `x-jifen-tenant`, else `?tenant=`, else `public`.
fn tenant_of(req: &Request) -> String {
    let from_header = req
        .headers()
        .get(jifen_kit::auth::TENANT_HEADER)
        .and_then(|v| v.to_str().ok());
    let from_query = req
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("tenant=")));
    from_header
        .or(from_query)
        .filter(|t| !t.is_empty() && t.len() <= 32 && t.bytes().all(|b| b.is_ascii_lowercase()))
        .unwrap_or("public")
        .to_owned()
}

fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics") || path.starts_with("/assets/")
}

/// Middleware applying [`Admission`] to every request except health, metrics and static assets.
pub async fn admit(State(admission): State<Admission>, req: Request, next: Next) -> Response {
    if exempt(req.uri().path()) {
        return next.run(req).await;
    }
    let tenant = tenant_of(&req);
    match admission.admit(&tenant) {
        Some(_permits) => next.run(req).await,
        None => too_busy(&req),
    }
}

fn wants_html(req: &Request) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

const WAITING_PAGE: &str = include_str!("../assets/waiting.html");

fn too_busy(req: &Request) -> Response {
    if wants_html(req) {
        let mut response = (StatusCode::TOO_MANY_REQUESTS, Html(WAITING_PAGE)).into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        response
    } else {
        Problem::new(
            jifen_kit::ErrorCode::ResourceExhausted,
            "当前访问人数较多，系统正在排队，请稍后重试",
        )
        .into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_flight_cap_refuses_the_excess_and_frees_on_drop() {
        let admission = Admission::new(Limits {
            max_in_flight: 2,
            rate_per_sec: 1000.0,
            tenant_max_in_flight: 2,
            tenant_rate_per_sec: 1000.0,
            trust_forwarded_for: false,
        });
        let a = admission.admit("wuzhong").expect("first");
        let _b = admission.admit("wuzhong").expect("second");
        assert!(
            admission.admit("wuzhong").is_none(),
            "third is over the cap"
        );
        drop(a);
        assert!(admission.admit("wuzhong").is_some(), "a slot was freed");
    }

    #[test]
    fn one_tenant_cannot_starve_another() {
        let admission = Admission::new(Limits {
            max_in_flight: 100,
            rate_per_sec: 1000.0,
            tenant_max_in_flight: 1,
            tenant_rate_per_sec: 1000.0,
            trust_forwarded_for: false,
        });
        let _busy = admission.admit("wuzhong").expect("first");
        assert!(admission.admit("wuzhong").is_none());
        assert!(admission.admit("gusu").is_some());
    }

    #[test]
    fn rate_limit_refills_over_time() {
        let mut bucket = Bucket::new(2.0);
        let t0 = Instant::now();
        assert!(bucket.try_take(t0));
        assert!(bucket.try_take(t0));
        assert!(!bucket.try_take(t0));
        assert!(bucket.try_take(t0 + std::time::Duration::from_millis(600)));
    }
}
