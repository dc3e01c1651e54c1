//! Event intake: review's outbox events move applications on and off the boards.
//!
//! Each event is handled in one database transaction that records its id in the inbox
//! ([`jifen_kit::outbox::receive_once`]) and changes the entry row, so a redelivered event is
//! counted once. An event whose aggregate version is not newer than the one last applied to the
//! application is ignored (delivery may reorder). The boards follow after the commit.

use chrono::Utc;
use jifen_proto::common::v1 as common;
use sea_orm::TransactionTrait;

use crate::entry;
use crate::error::RankingError;
use crate::state::Core;
use crate::store::board_entry;

/// Returns whether an application moving to `status` leaves the boards: rejected, withdrawn,
/// or back to any status before CONFIRMED (an upheld objection re-opens verification).
pub fn leaves_boards(status: common::ApplicationStatus) -> bool {
    use common::ApplicationStatus as S;
    matches!(
        status,
        S::Draft
            | S::Submitted
            | S::Returned
            | S::DistrictReview
            | S::DepartmentVerification
            | S::CityReview
            | S::Scored
            | S::Rejected
            | S::Withdrawn
    )
}

impl Core {
    /// Handles one event; returns true when it was a duplicate or stale (nothing done).
    pub async fn deliver_event(
        &self,
        acting_tenant: &str,
        event: common::Event,
    ) -> Result<bool, RankingError> {
        let event_id = uuid::Uuid::parse_str(&event.event_id)
            .map_err(|_| RankingError::Invalid("event_id 必须是 UUID".to_owned()))?;
        if event.tenant != acting_tenant {
            return Err(RankingError::Invalid(
                "事件的 tenant 与调用方地区不一致".to_owned(),
            ));
        }
        let tenant = event.tenant.as_str();
        let version = event.aggregate_version;
        let now = Utc::now();
        let txn = self.db.begin().await?;
        if !jifen_kit::outbox::receive_once(&txn, event_id).await? {
            txn.commit().await?;
            return Ok(true);
        }
        let (application_id, change) = match &event.payload {
            Some(common::event::Payload::ScoreConfirmed(score)) => {
                let row = entry::from_score_confirmed(tenant, version, score, now)?;
                (score.application_id.clone(), Some(row))
            }
            Some(common::event::Payload::ApplicationStatusChanged(change)) => {
                let to = common::ApplicationStatus::try_from(change.to_status)
                    .unwrap_or(common::ApplicationStatus::Unspecified);
                let row = leaves_boards(to).then(|| {
                    entry::tombstone(
                        tenant,
                        &change.application_id,
                        &change.cycle_id,
                        version,
                        now,
                    )
                });
                (change.application_id.clone(), row)
            }
            // Other topics do not concern the boards; recording the id is all there is to do.
            _ => (String::new(), None),
        };
        let Some(mut new) = change else {
            txn.commit().await?;
            return Ok(false);
        };
        let old = board_entry::find(&txn, tenant, &application_id).await?;
        if let Some(old) = &old
            && old.aggregate_version >= version
        {
            txn.commit().await?;
            return Ok(true);
        }
        if new.removed {
            // Keep what we knew, so the cycle and history survive the removal.
            if let Some(old) = &old {
                new = board_entry::BoardEntryRow {
                    removed: true,
                    aggregate_version: version,
                    updated_at: now,
                    ..old.clone()
                };
            }
        } else if let Some(other) =
            board_entry::any_other_live(&txn, tenant, &new.cycle_id, &new.application_id).await?
            && other.tie_spec != new.tie_spec
        {
            return Err(RankingError::FailedPrecondition(
                "同一周期的排序规则不一致，请核对评分规则版本".to_owned(),
            ));
        }
        board_entry::save(&txn, new.clone()).await?;
        txn.commit().await?;
        self.live.apply(old.as_ref(), &new).await;
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn withdrawn_rejected_and_reopened_applications_leave() {
        use common::ApplicationStatus as S;
        for s in [
            S::Withdrawn,
            S::Rejected,
            S::DepartmentVerification,
            S::Scored,
        ] {
            assert!(leaves_boards(s), "{s:?}");
        }
        for s in [
            S::Confirmed,
            S::Ranked,
            S::Publicised,
            S::Admitted,
            S::Unspecified,
        ] {
            assert!(!leaves_boards(s), "{s:?}");
        }
    }
}
