//! A short-lived in-process cache of the hottest GET answers, for the crowd at season open: the
//! public rule tables, tenants, cut-offs and lists (the same for everyone), and each resident's
//! own score and rank (keyed by their access token, so an entry is only ever served to the
//! request that carries the token it was fetched with; the component checked that token on the
//! miss). Entries live a few seconds, so an administrator's change shows within one TTL; only
//! successful answers are kept. Each gateway replica has its own cache.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// How a route's answers may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The answer is the same for every caller (a public rpc).
    Public(Duration),
    /// The answer belongs to the caller: keyed by their access token; never cached without one.
    PerCaller(Duration),
}

impl Policy {
    fn ttl(self) -> Duration {
        match self {
            Policy::Public(ttl) | Policy::PerCaller(ttl) => ttl,
        }
    }

    fn cache_control(self) -> HeaderValue {
        let (scope, ttl) = match self {
            Policy::Public(ttl) => ("public", ttl),
            Policy::PerCaller(ttl) => ("private", ttl),
        };
        HeaderValue::from_str(&format!("{scope}, max-age={}", ttl.as_secs()))
            .unwrap_or(HeaderValue::from_static("no-store"))
    }
}

/// The cache policy of a GET route, by its path pattern; `None` = never cached.
pub fn policy(path: &str) -> Option<Policy> {
    let secs = Duration::from_secs;
    Some(match path {
        "/api/v1/applications/{application_id}/rank" => Policy::PerCaller(secs(5)),
        "/api/v1/rules" | "/api/v1/cutoff-history" | "/api/v1/publicity-lists/{list_id}" => {
            Policy::Public(secs(30))
        }
        "/api/v1/tenants" | "/api/v1/benefits" | "/api/v1/threshold-areas" => {
            Policy::Public(secs(60))
        }
        "/api/v1/public-cycles" | "/api/v1/publicity-lists" | "/api/v1/distribution" => {
            Policy::Public(secs(10))
        }
        _ => return None,
    })
}

const SHARDS: usize = 16;

struct Entry {
    expires: Instant,
    body: Bytes,
}

/// The response cache (sharded so 256 connections do not queue on one lock).
pub struct ResponseCache {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    per_shard: usize,
    hasher: RandomState,
}

impl std::fmt::Debug for ResponseCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseCache")
            .field("capacity", &(self.per_shard * SHARDS))
            .finish_non_exhaustive()
    }
}

impl Default for ResponseCache {
    fn default() -> Self {
        Self::new(100_000)
    }
}

impl ResponseCache {
    /// A cache holding at most about `capacity` answers.
    pub fn new(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            hasher: RandomState::new(),
        }
    }

    /// The key of a request under `policy`, or `None` when it must not be cached.
    pub fn key(policy: Policy, headers: &HeaderMap, uri: &Uri) -> Option<String> {
        let target = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        let tenant = headers
            .get(jifen_kit::auth::TENANT_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        match policy {
            Policy::Public(_) => Some(format!("{tenant}\n{target}")),
            Policy::PerCaller(_) => crate::grpc_call::access_token(headers)
                .map(|token| format!("{tenant}\n{target}\n{token}")),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Entry>> {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[index]
    }

    /// The fresh answer stored under `key`.
    pub fn get(&self, key: &str) -> Option<Bytes> {
        let shard = self.shard(key).lock().ok()?;
        shard
            .get(key)
            .filter(|e| e.expires > Instant::now())
            .map(|e| e.body.clone())
    }

    /// Stores `body` under `key` for `ttl`. A full shard first drops its expired entries, then,
    /// if still full, everything (a burst of misses costs one refill, never unbounded memory).
    pub fn put(&self, key: String, body: Bytes, ttl: Duration) {
        let Ok(mut shard) = self.shard(&key).lock() else {
            return;
        };
        let now = Instant::now();
        if shard.len() >= self.per_shard {
            shard.retain(|_, e| e.expires > now);
            if shard.len() >= self.per_shard {
                shard.clear();
            }
        }
        shard.insert(
            key,
            Entry {
                expires: now + ttl,
                body,
            },
        );
    }
}

/// A JSON answer with the policy's `Cache-Control`.
pub fn json_response(policy: Policy, body: Bytes) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, policy.cache_control()),
        ],
        body,
    )
        .into_response()
}

/// Answers from the cache when it can; otherwise runs `fetch`, keeps a successful answer and
/// returns it.
pub async fn cached<F, E>(
    cache: &ResponseCache,
    policy: Policy,
    headers: &HeaderMap,
    uri: &Uri,
    fetch: F,
) -> Result<Response, E>
where
    F: Future<Output = Result<serde_json::Value, E>>,
{
    let key = ResponseCache::key(policy, headers, uri);
    if let Some(body) = key.as_deref().and_then(|k| cache.get(k)) {
        return Ok(json_response(policy, body));
    }
    let value = fetch.await?;
    let body = Bytes::from(serde_json::to_vec(&value).unwrap_or_default());
    if let Some(key) = key {
        cache.put(key, body.clone(), policy.ttl());
    }
    Ok(json_response(policy, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(token: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(t) = token {
            h.insert(
                header::AUTHORIZATION,
                HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
            );
        }
        h
    }

    #[test]
    fn per_caller_answers_are_keyed_by_token_and_never_cached_anonymously() {
        let policy = Policy::PerCaller(Duration::from_secs(5));
        let uri: Uri = "/api/v1/applications/a1/rank".parse().expect("uri");
        let a = ResponseCache::key(policy, &headers(Some("tok-a")), &uri);
        let b = ResponseCache::key(policy, &headers(Some("tok-b")), &uri);
        assert!(a.is_some() && b.is_some());
        assert_ne!(a, b);
        assert_eq!(ResponseCache::key(policy, &headers(None), &uri), None);
        let cache = ResponseCache::new(64);
        cache.put(
            a.clone().expect("key"),
            Bytes::from_static(b"{}"),
            policy.ttl(),
        );
        assert!(cache.get(&a.expect("key")).is_some());
        assert!(
            cache.get(&b.expect("key")).is_none(),
            "another token misses"
        );
    }

    #[test]
    fn public_answers_vary_by_query_and_expire() {
        let policy = Policy::Public(Duration::from_millis(30));
        let one: Uri = "/api/v1/rules?tenant=gusu&benefit=school"
            .parse()
            .expect("uri");
        let two: Uri = "/api/v1/rules?tenant=sip&benefit=school"
            .parse()
            .expect("uri");
        let k1 = ResponseCache::key(policy, &headers(Some("x")), &one).expect("key");
        let k2 = ResponseCache::key(policy, &headers(None), &two).expect("key");
        assert_ne!(k1, k2);
        assert_eq!(
            Some(k1.clone()),
            ResponseCache::key(policy, &headers(None), &one),
            "public answers do not depend on the caller"
        );
        let cache = ResponseCache::new(64);
        cache.put(k1.clone(), Bytes::from_static(b"[1]"), policy.ttl());
        assert_eq!(cache.get(&k1).as_deref(), Some(&b"[1]"[..]));
        std::thread::sleep(Duration::from_millis(40));
        assert!(cache.get(&k1).is_none(), "expired");
    }

    #[test]
    fn a_full_cache_stays_bounded() {
        let cache = ResponseCache::new(SHARDS * 2);
        for i in 0..1000 {
            cache.put(format!("k{i}"), Bytes::new(), Duration::from_secs(60));
        }
        let held: usize = cache
            .shards
            .iter()
            .map(|s| s.lock().expect("lock").len())
            .sum();
        assert!(held <= SHARDS * 2, "held {held}");
    }

    #[test]
    fn routes_that_depend_on_the_caller_or_change_often_are_not_cached() {
        for path in [
            "/api/v1/applications/{application_id}",
            "/api/v1/queue",
            "/api/v1/notices",
            "/api/v1/me",
        ] {
            assert_eq!(policy(path), None, "{path}");
        }
    }
}
