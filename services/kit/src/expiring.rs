//! A small in-process map whose values expire, for configuration read on hot paths (a tenant's
//! SLA policy, its upload policy): values that change a few times a year but are needed on every
//! request at season opening.
//!
//! An entry serves for the map's TTL; after that the caller reads the database again. A change
//! made by this process is stored with [`Expiring::set`] (or forgets everything with
//! [`Expiring::clear`]), so only another replica's change takes up to the TTL to show. A read
//! that started before such a change must not store its possibly older answer after it: take the
//! generation from [`Expiring::get`]'s miss and hand it to [`Expiring::put`], which stores
//! nothing if a change happened since.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Values by key, each trusted for `ttl` after it was stored.
#[derive(Debug)]
pub struct Expiring<K, V> {
    ttl: Duration,
    state: Mutex<State<K, V>>,
}

#[derive(Debug)]
struct State<K, V> {
    /// Moves with every change this process makes (`set`, `clear`).
    generation: u64,
    entries: HashMap<K, (Instant, V)>,
}

impl<K: Eq + Hash, V: Clone> Expiring<K, V> {
    /// An empty map whose values expire `ttl` after they are stored.
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            state: Mutex::new(State {
                generation: 0,
                entries: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<K, V>> {
        // Every critical section leaves the map consistent: a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of `key` if fresh; else the generation to hand to [`Self::put`] with what the
    /// database says.
    pub fn get(&self, key: &K) -> Result<V, u64> {
        let state = self.lock();
        match state.entries.get(key) {
            Some((at, value)) if at.elapsed() < self.ttl => Ok(value.clone()),
            _ => Err(state.generation),
        }
    }

    /// Stores `value`, read since `generation`, unless this process changed the map since.
    pub fn put(&self, generation: u64, key: K, value: V) {
        let mut state = self.lock();
        if state.generation == generation {
            state.entries.insert(key, (Instant::now(), value));
        }
    }

    /// Stores `value` as this process just wrote it; reads that started before are not kept.
    pub fn set(&self, key: K, value: V) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.insert(key, (Instant::now(), value));
    }

    /// Forgets every value; reads that started before are not kept.
    pub fn clear(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_read_from_before_a_change_is_not_kept() {
        let map = Expiring::new(Duration::from_secs(60));
        let before_clear = map.get(&"t").unwrap_err();
        map.clear();
        map.put(before_clear, "t", 1);
        assert!(map.get(&"t").is_err());

        let before_set = map.get(&"t").unwrap_err();
        map.set("t", 2);
        map.put(before_set, "t", 1);
        assert_eq!(map.get(&"t"), Ok(2), "this process's own write wins");

        let generation = map.get(&"u").unwrap_err();
        map.put(generation, "u", 3);
        assert_eq!(map.get(&"u"), Ok(3));
    }

    #[test]
    fn values_expire() {
        let map = Expiring::new(Duration::ZERO);
        map.set("t", 1);
        assert!(map.get(&"t").is_err());
    }
}
