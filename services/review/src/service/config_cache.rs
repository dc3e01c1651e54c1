//! SLA policies and working calendars, cached in the process: every status change computes a
//! deadline from them, and at season opening that is one more database round trip per
//! submission for values that change a few times a year.
//!
//! An entry lives [`TTL`]; a change made through this process clears the cache at once, so
//! only another replica's change can take up to [`TTL`] to be seen. A read that started before
//! a clear does not store its (possibly old) answer afterwards: the generation moved.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::domain::calendar::WorkingCalendar;
use crate::domain::sla::SlaPolicy;

/// How long an entry is used without reading the database again.
pub(crate) const TTL: Duration = Duration::from_secs(10);

#[derive(Clone, Default)]
pub(crate) struct ConfigCache(Arc<Mutex<State>>);

#[derive(Default)]
struct State {
    generation: u64,
    entries: HashMap<(String, i32), (Instant, SlaPolicy, WorkingCalendar)>,
}

impl ConfigCache {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The policy and calendar of `tenant` for deadlines from `year`, if fresh; else the
    /// generation to pass to [`Self::put`] with what the database says.
    pub(crate) fn get(&self, tenant: &str, year: i32) -> Result<(SlaPolicy, WorkingCalendar), u64> {
        let state = self.lock();
        match state.entries.get(&(tenant.to_owned(), year)) {
            Some((at, policy, calendar)) if at.elapsed() < TTL => Ok((*policy, calendar.clone())),
            _ => Err(state.generation),
        }
    }

    /// Stores what was read at `generation`, unless a clear happened since.
    pub(crate) fn put(
        &self,
        generation: u64,
        tenant: &str,
        year: i32,
        policy: SlaPolicy,
        calendar: WorkingCalendar,
    ) {
        let mut state = self.lock();
        if state.generation == generation {
            state.entries.insert(
                (tenant.to_owned(), year),
                (Instant::now(), policy, calendar),
            );
        }
    }

    /// Forgets everything (a policy or calendar changed; the city calendar applies to all).
    pub(crate) fn clear(&self) {
        let mut state = self.lock();
        state.generation += 1;
        state.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_from_before_a_clear_is_not_kept() {
        let cache = ConfigCache::default();
        let policy = SlaPolicy::default();
        let generation = cache.get("t", 2026).unwrap_err();
        cache.clear();
        cache.put(generation, "t", 2026, policy, WorkingCalendar::default());
        assert!(cache.get("t", 2026).is_err());
        let generation = cache.get("t", 2026).unwrap_err();
        cache.put(generation, "t", 2026, policy, WorkingCalendar::default());
        assert!(cache.get("t", 2026).is_ok());
        assert!(cache.get("t", 2027).is_err(), "per year");
        assert!(cache.get("u", 2026).is_err(), "per tenant");
    }
}
