//! SLA policy: how many working days each step may take. Defaults follow suzhou-points §3.2
//! (Wujiang's published SLAs: window 3 WD, departments 10 WD, resubmission 10 WD, objection reply
//! 10 WD); the district and city review days are not sourced and default to 10. Each tenant may
//! replace them.

use jifen_proto::common::v1::ApplicationStatus as Status;

/// Working days per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlaPolicy {
    /// 镇/街道 window 初审 (and entry into the system).
    pub street_review_days: u32,
    /// District centre 复核.
    pub district_review_days: u32,
    /// Each department's verification task.
    pub department_verification_days: u32,
    /// City 终审.
    pub city_review_days: u32,
    /// The applicant's resubmission after a return.
    pub resubmission_days: u32,
    /// The answer to an objection.
    pub objection_reply_days: u32,
}

impl Default for SlaPolicy {
    fn default() -> Self {
        Self {
            street_review_days: 3,
            district_review_days: 10,
            department_verification_days: 10,
            city_review_days: 10,
            resubmission_days: 10,
            objection_reply_days: 10,
        }
    }
}

impl SlaPolicy {
    /// Returns the working days allowed for the step that starts when an application enters
    /// `status`, or `None` when no SLA clock runs (drafts, finished, or waiting on a window).
    pub fn days_for(&self, status: Status) -> Option<u32> {
        match status {
            Status::Submitted => Some(self.street_review_days),
            Status::DistrictReview => Some(self.district_review_days),
            Status::DepartmentVerification => Some(self.department_verification_days),
            Status::CityReview => Some(self.city_review_days),
            Status::Returned => Some(self.resubmission_days),
            _ => None,
        }
    }

    /// Refuses a policy with a zero-day step; returns the offending field.
    pub fn validate(&self) -> Result<(), &'static str> {
        let fields = [
            ("street_review_days", self.street_review_days),
            ("district_review_days", self.district_review_days),
            (
                "department_verification_days",
                self.department_verification_days,
            ),
            ("city_review_days", self.city_review_days),
            ("resubmission_days", self.resubmission_days),
            ("objection_reply_days", self.objection_reply_days),
        ];
        match fields.iter().find(|(_, days)| *days == 0 || *days > 365) {
            Some((name, _)) => Err(name),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_the_domain() {
        let p = SlaPolicy::default();
        assert_eq!(p.days_for(Status::Submitted), Some(3));
        assert_eq!(p.days_for(Status::DepartmentVerification), Some(10));
        assert_eq!(p.days_for(Status::Returned), Some(10));
        assert_eq!(p.objection_reply_days, 10);
        assert_eq!(p.days_for(Status::Draft), None);
        assert_eq!(p.days_for(Status::Confirmed), None);
    }

    #[test]
    fn zero_days_are_refused() {
        let p = SlaPolicy {
            city_review_days: 0,
            ..SlaPolicy::default()
        };
        assert_eq!(p.validate(), Err("city_review_days"));
        assert!(SlaPolicy::default().validate().is_ok());
    }
}
