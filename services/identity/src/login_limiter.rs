//! Failed-login counters per account and per client address: in Redis when configured (shared by
//! every identity pod), else in this process. The back-off rule itself is
//! [`crate::domain::login_limit`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jifen_kit::auth::CITY_TENANT;

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
}

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

    #[tokio::test]
    async fn in_process_limiter_backs_off_after_free_attempts() {
        let limiter = LoginLimiter::new(
            Limits {
                free: 2,
                max_backoff_secs: 60,
                window_secs: 60,
            },
            None,
            "",
        );
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
