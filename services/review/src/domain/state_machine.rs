//! The application state machine as one explicit transition table. Every status change in review
//! goes through [`check`], so an illegal move is refused the same way everywhere.

use jifen_proto::common::v1::ApplicationStatus as Status;

/// Why a transition was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("不能从「{}」变为「{}」", label(*from), label(*to))]
pub struct IllegalTransition {
    /// Current status.
    pub from: Status,
    /// Requested status.
    pub to: Status,
}

use Status::*;

/// Every allowed `(from, to)` pair; anything else is illegal.
pub const TRANSITIONS: &[(Status, Status)] = &[
    // the applicant submits a draft, or resubmits a returned application
    (Draft, Submitted),
    (Returned, Submitted),
    // 初审 by the street window, 复核 by the district centre
    (Submitted, DistrictReview),
    (Submitted, Returned),
    (Submitted, Rejected),
    (DistrictReview, DepartmentVerification),
    (DistrictReview, Returned),
    (DistrictReview, Rejected),
    // the last verification task completes
    (DepartmentVerification, CityReview),
    (DepartmentVerification, Rejected),
    // 终审 by the city office computes the verified score sheet
    (CityReview, Scored),
    (CityReview, Rejected),
    // the applicant confirms the score; ranking and publicity follow
    (Scored, Confirmed),
    (Confirmed, Ranked),
    (Confirmed, Publicised),
    (Ranked, Publicised),
    (Ranked, Admitted),
    (Ranked, NotAdmitted),
    (Publicised, Admitted),
    (Publicised, NotAdmitted),
    // an upheld objection re-opens verification
    (Scored, DepartmentVerification),
    (Confirmed, DepartmentVerification),
    (Ranked, DepartmentVerification),
    (Publicised, DepartmentVerification),
    // the applicant withdraws anything that is not final
    (Draft, Withdrawn),
    (Submitted, Withdrawn),
    (Returned, Withdrawn),
    (DistrictReview, Withdrawn),
    (DepartmentVerification, Withdrawn),
    (CityReview, Withdrawn),
    (Scored, Withdrawn),
    (Confirmed, Withdrawn),
    (Ranked, Withdrawn),
    (Publicised, Withdrawn),
];

/// Refuses `from → to` unless the table allows it.
pub fn check(from: Status, to: Status) -> Result<(), IllegalTransition> {
    if TRANSITIONS.contains(&(from, to)) {
        Ok(())
    } else {
        Err(IllegalTransition { from, to })
    }
}

/// Returns whether nothing can happen to an application in `status` any more.
pub fn is_final(status: Status) -> bool {
    !TRANSITIONS.iter().any(|(from, _)| *from == status)
}

/// Returns whether an application in `status` counts as the applicant's active one in its cycle.
pub fn is_active(status: Status) -> bool {
    !matches!(status, Rejected | Withdrawn)
}

/// Returns the Chinese label of a status.
pub fn label(status: Status) -> &'static str {
    match status {
        Unspecified => "未知",
        Draft => "草稿",
        Submitted => "已提交（待街道初审）",
        Returned => "退回补正",
        DistrictReview => "区级复核",
        DepartmentVerification => "部门核查",
        CityReview => "市级终审",
        Scored => "已计分（待确认）",
        Confirmed => "已确认积分",
        Ranked => "已排名",
        Publicised => "公示中",
        Admitted => "已录取",
        NotAdmitted => "未录取",
        Rejected => "已驳回",
        Withdrawn => "已撤回",
    }
}

/// Returns the status from its wire number (unknown numbers are `Unspecified`).
pub fn from_i32(value: i32) -> Status {
    Status::try_from(value).unwrap_or(Unspecified)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_happy_path_is_allowed_step_by_step() {
        let path = [
            Draft,
            Submitted,
            DistrictReview,
            DepartmentVerification,
            CityReview,
            Scored,
            Confirmed,
            Ranked,
            Publicised,
            Admitted,
        ];
        for pair in path.windows(2) {
            assert!(check(pair[0], pair[1]).is_ok(), "{:?}", pair);
        }
    }

    #[test]
    fn skipping_a_level_is_refused_with_both_statuses_named() {
        let err = check(Draft, DistrictReview).expect_err("illegal");
        assert_eq!(err.to_string(), "不能从「草稿」变为「区级复核」");
        assert!(check(Submitted, CityReview).is_err());
        assert!(check(DepartmentVerification, Scored).is_err());
        assert!(check(Scored, Admitted).is_err());
    }

    #[test]
    fn return_and_resubmission_loop() {
        assert!(check(Submitted, Returned).is_ok());
        assert!(check(DistrictReview, Returned).is_ok());
        assert!(check(Returned, Submitted).is_ok());
        assert!(check(Returned, DistrictReview).is_err());
        assert!(check(CityReview, Returned).is_err());
    }

    #[test]
    fn final_statuses_accept_nothing() {
        for status in [Admitted, NotAdmitted, Rejected, Withdrawn] {
            assert!(is_final(status));
            assert!(check(status, Submitted).is_err());
            assert!(check(status, Withdrawn).is_err());
        }
        assert!(!is_final(Draft));
        assert!(!is_final(Publicised));
    }

    #[test]
    fn an_upheld_objection_can_reopen_verification_after_scoring() {
        for from in [Scored, Confirmed, Ranked, Publicised] {
            assert!(check(from, DepartmentVerification).is_ok());
        }
        assert!(check(Admitted, DepartmentVerification).is_err());
    }

    #[test]
    fn rejected_and_withdrawn_free_the_active_slot() {
        assert!(!is_active(Rejected));
        assert!(!is_active(Withdrawn));
        assert!(is_active(Returned));
    }
}
