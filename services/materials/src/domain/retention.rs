//! What the retention purge removes, decided from plain data and a given `now`.

use chrono::{DateTime, Duration, Utc};

use crate::domain::policy::Policy;

/// Why a material is purged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PurgeReason {
    /// Its application was rejected or withdrawn, and the objection window plus the retention
    /// period have passed.
    Decided,
    /// A replaced version of an application that is decided.
    Replaced,
    /// An upload never confirmed.
    Orphan,
}

/// Where an application stands, as the purge sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplicationOutcome {
    /// Not decided yet (or never heard of).
    Open,
    /// Rejected or withdrawn at the given time: files go after the retention period.
    Refused(DateTime<Utc>),
    /// Admitted or not admitted: a final decision where the evidence stays (the files are part
    /// of the benefit's record), but replaced versions may go.
    Final,
}

/// The material's state the purge looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoredState {
    /// Declared, never confirmed.
    Pending,
    /// Usable.
    Available,
    /// Superseded.
    Replaced,
    /// Nothing to remove any more (rejected, deleted, purged).
    Gone,
}

/// Returns whether (and why) a material is purged at `now`.
pub fn purge_reason(
    state: StoredState,
    created_at: DateTime<Utc>,
    outcome: ApplicationOutcome,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Option<PurgeReason> {
    if state == StoredState::Gone {
        return None;
    }
    if let ApplicationOutcome::Refused(decided_at) = outcome {
        let keep = Duration::days(i64::from(policy.objection_window_days))
            + Duration::days(i64::from(policy.retention_days_after_objection_window));
        if now >= decided_at + keep {
            return Some(PurgeReason::Decided);
        }
    }
    match state {
        StoredState::Pending
            if now >= created_at + Duration::hours(i64::from(policy.orphan_after_hours)) =>
        {
            Some(PurgeReason::Orphan)
        }
        StoredState::Replaced if outcome != ApplicationOutcome::Open => Some(PurgeReason::Replaced),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_applications_keep_files_through_objection_window_and_retention() {
        let policy = Policy {
            objection_window_days: 15,
            retention_days_after_objection_window: 30,
            ..Policy::default()
        };
        let t0 = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .expect("t0")
            .with_timezone(&Utc);
        let refused = ApplicationOutcome::Refused(t0);
        let at = |days| t0 + Duration::days(days);
        assert_eq!(
            purge_reason(StoredState::Available, t0, refused, &policy, at(44)),
            None
        );
        assert_eq!(
            purge_reason(StoredState::Available, t0, refused, &policy, at(45)),
            Some(PurgeReason::Decided)
        );
        assert_eq!(
            purge_reason(
                StoredState::Available,
                t0,
                ApplicationOutcome::Final,
                &policy,
                at(999)
            ),
            None
        );
        assert_eq!(
            purge_reason(
                StoredState::Replaced,
                t0,
                ApplicationOutcome::Final,
                &policy,
                at(1)
            ),
            Some(PurgeReason::Replaced)
        );
        assert_eq!(
            purge_reason(
                StoredState::Replaced,
                t0,
                ApplicationOutcome::Open,
                &policy,
                at(999)
            ),
            None
        );
        assert_eq!(
            purge_reason(
                StoredState::Pending,
                t0,
                ApplicationOutcome::Open,
                &policy,
                t0 + Duration::hours(23)
            ),
            None
        );
        assert_eq!(
            purge_reason(
                StoredState::Pending,
                t0,
                ApplicationOutcome::Open,
                &policy,
                t0 + Duration::hours(24)
            ),
            Some(PurgeReason::Orphan)
        );
        assert_eq!(
            purge_reason(StoredState::Gone, t0, refused, &policy, at(999)),
            None
        );
    }
}
