//! A small in-process token bucket per client address for the public simulator.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets keyed by client address.
#[derive(Debug)]
pub struct RateLimiter {
    capacity: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Buckets kept before idle ones are swept.
const MAX_BUCKETS: usize = 10_000;

impl RateLimiter {
    /// Returns a limiter allowing bursts of `capacity` calls, refilled at `per_second`.
    pub fn new(capacity: u32, per_second: f64) -> Self {
        Self {
            capacity: f64::from(capacity.max(1)),
            per_second: per_second.max(0.0),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `client` at `now`; returns false when the bucket is empty.
    pub fn try_acquire_at(&self, client: &str, now: Instant) -> bool {
        let mut buckets = match self.buckets.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if buckets.len() >= MAX_BUCKETS && !buckets.contains_key(client) {
            let (capacity, rate) = (self.capacity, self.per_second);
            buckets.retain(|_, (tokens, at)| {
                *tokens + now.duration_since(*at).as_secs_f64() * rate < capacity
            });
        }
        let (tokens, at) = buckets
            .entry(client.to_owned())
            .or_insert((self.capacity, now));
        let refilled = *tokens + now.duration_since(*at).as_secs_f64() * self.per_second;
        *tokens = refilled.min(self.capacity);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Takes one token for `client` now.
    pub fn try_acquire(&self, client: &str) -> bool {
        self.try_acquire_at(client, Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn bursts_then_refills_per_client() {
        let limiter = RateLimiter::new(3, 1.0);
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.try_acquire_at("a", t0)));
        assert!(!limiter.try_acquire_at("a", t0));
        assert!(limiter.try_acquire_at("b", t0), "other clients unaffected");
        assert!(limiter.try_acquire_at("a", t0 + Duration::from_millis(1100)));
        assert!(!limiter.try_acquire_at("a", t0 + Duration::from_millis(1200)));
    }
}
