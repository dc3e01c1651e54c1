//! Abuse counters: failed logins per account and per client address, and registrations per
//! client address: in Redis when configured (shared by
//! every identity pod), else in this process. The back-off rule itself is
//! [`crate::domain::login_limit`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jifen_kit::auth::CITY_TENANT;
use sha2::Digest as _;

use crate::domain::login_limit::backoff_secs;
use crate::error::IdentityError;

/// Limits of the limiter.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures before back-off starts.
    pub free: u64,
    /// Longest back-off in seconds.
    pub max_backoff_secs: u64,
    /// Failures are forgotten this long after the last one.
    pub window_secs: u64,
    /// Registrations one client address may make per registration window.
    pub registrations_per_address: u64,
    /// The registration window in seconds.
    pub registration_window_secs: u64,
}

#[derive(Debug, Default)]
struct Local {
    failures: u64,
    last: Option<Instant>,
    locked_until: Option<Instant>,
}

/// Counts failed logins (keys starting `addr:` get four times the free attempts); keys are opaque (blind indexes or addresses), never personal data.
#[derive(Clone)]
pub struct LoginLimiter {
    limits: Limits,
    redis: Option<(redis::aio::ConnectionManager, String)>,
    local: Arc<Mutex<HashMap<String, Local>>>,
    windows: Arc<Mutex<HashMap<String, (u64, Instant)>>>,
}

/// Entries the in-process window counter holds before it drops expired ones.
const LOCAL_WINDOW_PRUNE_AT: usize = 100_000;

impl std::fmt::Debug for LoginLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginLimiter")
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

impl LoginLimiter {
    /// Returns a limiter in Redis (`Some`) or in this process.
    pub fn new(limits: Limits, redis: Option<redis::aio::ConnectionManager>, prefix: &str) -> Self {
        Self {
            limits,
            redis: redis.map(|r| (r, prefix.to_owned())),
            local: Arc::new(Mutex::new(HashMap::new())),
            windows: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn key(prefix: &str, key: &str, what: &str) -> String {
        jifen_kit::cache::tenant_key(prefix, CITY_TENANT, &format!("login:{what}:{key}"))
    }

    /// Refuses with RateLimited while any of `keys` is backing off.
    pub async fn check(&self, keys: &[String]) -> Result<(), IdentityError> {
        let mut wait = 0;
        if let Some((redis, prefix)) = &self.redis {
            let mut conn = redis.clone();
            for key in keys {
                let ttl: i64 = redis::cmd("PTTL")
                    .arg(Self::key(prefix, key, "lock"))
                    .query_async(&mut conn)
                    .await?;
                if ttl > 0 {
                    wait = wait.max((ttl as u64).div_ceil(1000));
                }
            }
        } else if let Ok(local) = self.local.lock() {
            let now = Instant::now();
            for key in keys {
                if let Some(until) = local.get(key).and_then(|e| e.locked_until)
                    && until > now
                {
                    wait = wait.max((until - now).as_millis().div_ceil(1000) as u64);
                }
            }
        }
        if wait > 0 {
            return Err(IdentityError::RateLimited {
                retry_after_secs: wait,
            });
        }
        Ok(())
    }

    /// Records a failure for every key; returns the longest back-off it started.
    pub async fn fail(&self, keys: &[String]) -> Result<u64, IdentityError> {
        let Limits {
            free,
            max_backoff_secs,
            window_secs,
            ..
        } = self.limits;
        let mut longest = 0;
        for key in keys {
            // One address serves many people (a family, an office NAT): it gets four times the
            // free attempts of one account.
            let free = if key.starts_with("addr:") {
                free * 4
            } else {
                free
            };
            let failures = if let Some((redis, prefix)) = &self.redis {
                let mut conn = redis.clone();
                let count_key = Self::key(prefix, key, "fails");
                let (count,): (u64,) = redis::pipe()
                    .atomic()
                    .incr(&count_key, 1)
                    .expire(&count_key, window_secs as i64)
                    .ignore()
                    .query_async(&mut conn)
                    .await?;
                let backoff = backoff_secs(count, free, max_backoff_secs);
                if backoff > 0 {
                    let _: () = redis::cmd("SET")
                        .arg(Self::key(prefix, key, "lock"))
                        .arg(1)
                        .arg("PX")
                        .arg(backoff * 1000)
                        .query_async(&mut conn)
                        .await?;
                }
                count
            } else {
                let now = Instant::now();
                let Ok(mut local) = self.local.lock() else {
                    continue;
                };
                let entry = local.entry(key.clone()).or_default();
                if entry
                    .last
                    .is_some_and(|t| now - t > Duration::from_secs(window_secs))
                {
                    entry.failures = 0;
                }
                entry.failures += 1;
                entry.last = Some(now);
                let backoff = backoff_secs(entry.failures, free, max_backoff_secs);
                if backoff > 0 {
                    entry.locked_until = Some(now + Duration::from_secs(backoff));
                }
                entry.failures
            };
            longest = longest.max(backoff_secs(failures, free, max_backoff_secs));
        }
        Ok(longest)
    }

    /// Counts one event of `key` in a fixed window of `window_secs` from its first event;
    /// returns the seconds until the window ends when this event is over `max` (it still counts,
    /// so hammering does not shorten the wait).
    pub async fn take(
        &self,
        key: &str,
        max: u64,
        window_secs: u64,
    ) -> Result<Option<u64>, IdentityError> {
        let (count, remaining_ms) = if let Some((redis, prefix)) = &self.redis {
            let mut conn = redis.clone();
            let count_key =
                jifen_kit::cache::tenant_key(prefix, CITY_TENANT, &format!("window:{key}"));
            let (count, ttl): (u64, i64) = redis::pipe()
                .atomic()
                .cmd("SET")
                .arg(&count_key)
                .arg(0)
                .arg("EX")
                .arg(window_secs)
                .arg("NX")
                .ignore()
                .incr(&count_key, 1)
                .cmd("PTTL")
                .arg(&count_key)
                .query_async(&mut conn)
                .await?;
            (count, u64::try_from(ttl).unwrap_or(window_secs * 1000))
        } else {
            let now = Instant::now();
            let window = Duration::from_secs(window_secs);
            let Ok(mut windows) = self.windows.lock() else {
                return Ok(None);
            };
            if windows.len() >= LOCAL_WINDOW_PRUNE_AT {
                windows.retain(|_, (_, start)| now.duration_since(*start) < window);
            }
            let entry = windows.entry(key.to_owned()).or_insert((0, now));
            if now.duration_since(entry.1) >= window {
                *entry = (0, now);
            }
            entry.0 += 1;
            let left = window.saturating_sub(now.duration_since(entry.1));
            (entry.0, left.as_millis() as u64)
        };
        Ok((count > max).then(|| remaining_ms.div_ceil(1000).max(1)))
    }

    /// Counts a registration from client `address` (its limit bucket, see
    /// [`crate::domain::login_limit::address_bucket`]); refuses with RegisterLimited past the
    /// limit.
    pub async fn registration(&self, address: &str) -> Result<(), IdentityError> {
        let bucket = crate::domain::login_limit::address_bucket(address);
        let key = format!(
            "register:{}",
            hex::encode(sha2::Sha256::digest(bucket.as_bytes()))
        );
        match self
            .take(
                &key,
                self.limits.registrations_per_address,
                self.limits.registration_window_secs,
            )
            .await?
        {
            Some(retry_after_secs) => Err(IdentityError::RegisterLimited { retry_after_secs }),
            None => Ok(()),
        }
    }

    /// Forgets the failures of `key` (after a successful login of that account).
    pub async fn reset(&self, key: &str) -> Result<(), IdentityError> {
        if let Some((redis, prefix)) = &self.redis {
            let mut conn = redis.clone();
            let _: () = redis::cmd("DEL")
                .arg(Self::key(prefix, key, "fails"))
                .arg(Self::key(prefix, key, "lock"))
                .query_async(&mut conn)
                .await?;
        } else if let Ok(mut local) = self.local.lock() {
            local.remove(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            free: 2,
            max_backoff_secs: 60,
            window_secs: 60,
            registrations_per_address: 2,
            registration_window_secs: 600,
        }
    }

    #[tokio::test]
    async fn registrations_are_limited_per_address_bucket() {
        let limiter = LoginLimiter::new(limits(), None, "");
        limiter.registration("2408:8207::1").await.expect("first");
        limiter.registration("2408:8207::2").await.expect("second");
        let err = limiter
            .registration("2408:8207::3")
            .await
            .expect_err("same /64");
        assert!(
            matches!(err, IdentityError::RegisterLimited { retry_after_secs } if retry_after_secs > 590),
            "{err:?}"
        );
        limiter
            .registration("10.0.0.1")
            .await
            .expect("other address");
    }

    #[tokio::test]
    async fn in_process_window_refuses_past_the_maximum_with_the_time_left() {
        let limiter = LoginLimiter::new(limits(), None, "");
        for _ in 0..3 {
            assert_eq!(limiter.take("reg:a", 3, 600).await.expect("take"), None);
        }
        let wait = limiter.take("reg:a", 3, 600).await.expect("take");
        assert!(
            matches!(wait, Some(s) if (599..=600).contains(&s)),
            "{wait:?}"
        );
        // Another address has its own window.
        assert_eq!(limiter.take("reg:b", 3, 600).await.expect("take"), None);
    }

    #[tokio::test]
    async fn redis_window_refuses_past_the_maximum_with_the_time_left() {
        let url = std::env::var("JIFEN_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let client = redis::Client::open(url).expect("redis url");
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .expect("test Redis answers (JIFEN_TEST_REDIS_URL)");
        let prefix = format!("test:{}:", uuid::Uuid::now_v7());
        let limiter = LoginLimiter::new(limits(), Some(conn), &prefix);
        for _ in 0..2 {
            assert_eq!(limiter.take("reg:a", 2, 120).await.expect("take"), None);
        }
        let wait = limiter.take("reg:a", 2, 120).await.expect("take");
        assert!(
            matches!(wait, Some(s) if (119..=120).contains(&s)),
            "{wait:?}"
        );
        assert_eq!(limiter.take("reg:b", 2, 120).await.expect("take"), None);
    }

    #[tokio::test]
    async fn in_process_limiter_backs_off_after_free_attempts() {
        let limiter = LoginLimiter::new(limits(), None, "");
        let keys = vec!["acct:x".to_owned()];
        assert_eq!(limiter.fail(&keys).await.expect("fail"), 0);
        limiter.check(&keys).await.expect("still free");
        assert_eq!(limiter.fail(&keys).await.expect("fail"), 1);
        let err = limiter.check(&keys).await.expect_err("backing off");
        assert!(matches!(
            err,
            IdentityError::RateLimited {
                retry_after_secs: 1
            }
        ));
        limiter.reset("acct:x").await.expect("reset");
        limiter.check(&keys).await.expect("reset clears");
    }
}
