//! Short-lived caches of the two database lookups every GetRank made: the caller's entry row
//! and the newest run's parameters of the cycle (the line). GetRank is what residents poll, and
//! without these caches each call cost two database round trips before the board was asked.
//!
//! Both are per process. This process drops an entry as soon as it applies a change to it (event
//! intake) and a cycle's line as soon as it starts a run there, so its own answers are never
//! stale; a lookup that raced with such a drop is not stored (see [`Hot::generation`]).
//!
//! How long a value is trusted depends on who else writes: with Redis boards (microservices
//! mode) other replicas change entries too, so a line expires after [`SHARED_TTL`], and so does
//! an entry unless Redis has reported no change to its tenant's boards since it was read (see
//! `LiveBoards::is_fresh`: every change GetRank shows of an entry also writes the boards), which
//! is fine for a provisional rank. With in-process boards (embedded mode) this process is the
//! only writer (its boards would not even see another process's events), so values live for
//! [`LOCAL_TTL`], a safety net only. The rank
//! itself comes from the board (Redis boards keep answers only until Redis reports a change to
//! the board, see `crate::board`).

use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a cached lookup is trusted when other processes write the boards too (Redis).
pub const SHARED_TTL: Duration = Duration::from_secs(2);

/// How long a cached lookup is trusted when this process is the only writer (in-process boards).
pub const LOCAL_TTL: Duration = Duration::from_secs(300);

/// Largest number of values one cache holds; past it, the cache starts over.
const CAPACITY: usize = 200_000;

/// Values of one tenant by key, with the instant each was stored.
type Inner<V> = HashMap<String, (Instant, V)>;

/// A two-level map (tenant → key → value) with expiry; looked up by `&str` without allocating.
#[derive(Debug)]
pub(crate) struct Hot<V> {
    map: RwLock<HashMap<String, Inner<V>>>,
    len: AtomicUsize,
    /// Bumped by every [`Hot::remove`].
    generation: AtomicU64,
    ttl: Duration,
}

impl<V: Clone> Hot<V> {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            map: RwLock::new(HashMap::new()),
            len: AtomicUsize::new(0),
            generation: AtomicU64::new(0),
            ttl,
        }
    }

    /// Returns the value of `(outer, inner)` if present and fresh.
    pub(crate) fn get(&self, outer: &str, inner: &str) -> Option<V> {
        self.get_aged(outer, inner).map(|(value, _)| value)
    }

    /// As [`Hot::get`], with how long ago the value was stored.
    pub(crate) fn get_aged(&self, outer: &str, inner: &str) -> Option<(V, Duration)> {
        let map = self.map.read().unwrap_or_else(|e| e.into_inner());
        let (at, value) = map.get(outer)?.get(inner)?;
        let age = at.elapsed();
        (age < self.ttl).then(|| (value.clone(), age))
    }

    /// Returns the current generation: read it before looking a value up in the database and
    /// hand it to [`Hot::put`], so a value read before a concurrent [`Hot::remove`] is not
    /// stored after it (it may be the old one).
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Stores the value of `(outer, inner)`, looked up since generation `seen` (see
    /// [`Hot::generation`]); nothing is stored when a removal happened since.
    pub(crate) fn put(&self, outer: &str, inner: &str, value: V, seen: u64) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::Acquire) != seen {
            return;
        }
        if self.len.load(Ordering::Relaxed) >= CAPACITY {
            map.clear();
            self.len.store(0, Ordering::Relaxed);
        }
        let slot = map
            .entry(outer.to_owned())
            .or_default()
            .insert(inner.to_owned(), (Instant::now(), value));
        if slot.is_none() {
            self.len.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Forgets `(outer, inner)`, and keeps lookups already under way from storing it.
    pub(crate) fn remove(&self, outer: &str, inner: &str) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        if let Some(m) = map.get_mut(outer)
            && m.remove(inner).is_some()
        {
            self.len.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_expire_and_can_be_dropped() {
        let hot = Hot::new(Duration::from_millis(30));
        hot.put("wuzhong", "a1", 7, hot.generation());
        assert_eq!(hot.get("wuzhong", "a1"), Some(7));
        assert_eq!(hot.get("gusu", "a1"), None);
        hot.remove("wuzhong", "a1");
        assert_eq!(hot.get("wuzhong", "a1"), None);
        hot.put("wuzhong", "a2", 8, hot.generation());
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(hot.get("wuzhong", "a2"), None);
    }

    #[test]
    fn a_lookup_that_raced_with_a_removal_is_not_stored() {
        let hot = Hot::new(Duration::from_secs(60));
        let seen = hot.generation();
        // The row changes (and is dropped) while the old one is being read.
        hot.remove("wuzhong", "a1");
        hot.put("wuzhong", "a1", 7, seen);
        assert_eq!(hot.get("wuzhong", "a1"), None);
        hot.put("wuzhong", "a1", 8, hot.generation());
        assert_eq!(hot.get("wuzhong", "a1"), Some(8));
    }
}
