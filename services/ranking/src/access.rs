//! Who may do what: pure checks over the verified [`Caller`], unit-tested here so the handlers
//! only say which check they need.
//!
//! The auth layer has already checked that the caller may address `caller.tenant`; these checks
//! add the role and, for applicants, ownership. An applicant asking for someone else's rank gets
//! NotFound, exactly as for an application that does not exist.

use jifen_kit::auth::{Caller, Role};

use crate::error::RankingError;

/// Staff roles that see a tenant's runs.
const STAFF: [Role; 6] = [
    Role::StreetReviewer,
    Role::DepartmentVerifier,
    Role::DistrictReviewer,
    Role::CityReviewer,
    Role::DistrictAdmin,
    Role::CityAdmin,
];

fn any(caller: &Caller, roles: &[Role]) -> Result<(), RankingError> {
    if roles.iter().any(|r| caller.has(*r)) {
        Ok(())
    } else {
        Err(RankingError::PermissionDenied)
    }
}

/// Returns the verified caller of a request.
pub fn caller<T>(req: &tonic::Request<T>) -> Result<&Caller, RankingError> {
    jifen_kit::auth::optional_caller(req).ok_or(RankingError::Unauthenticated)
}

/// Event intake: only other jifen components.
pub fn may_deliver_events(caller: &Caller) -> Result<(), RankingError> {
    any(caller, &[Role::System])
}

/// A provisional rank: the applicant who owns the application, staff of the tenant, the system.
pub fn may_view_rank(caller: &Caller, applicant_subject: &str) -> Result<(), RankingError> {
    if caller.has(Role::Applicant) && caller.subject == applicant_subject {
        return Ok(());
    }
    if STAFF.iter().any(|r| caller.has(*r)) || caller.has(Role::System) {
        return Ok(());
    }
    Err(RankingError::NotFound("排名记录"))
}

/// Rebuilding boards: district admin (own tenant), city admin, the system.
pub fn may_rebuild(caller: &Caller) -> Result<(), RankingError> {
    any(
        caller,
        &[Role::DistrictAdmin, Role::CityAdmin, Role::System],
    )
}

/// Starting an official run: district admin of the tenant, city admin.
pub fn may_run(caller: &Caller) -> Result<(), RankingError> {
    any(caller, &[Role::DistrictAdmin, Role::CityAdmin])
}

/// Reading runs: staff of the tenant.
pub fn may_view_runs(caller: &Caller) -> Result<(), RankingError> {
    any(caller, &STAFF)
}

/// Reading a run's unmasked result rows: district and city reviewers, admins.
pub fn may_view_results(caller: &Caller) -> Result<(), RankingError> {
    any(
        caller,
        &[
            Role::DistrictReviewer,
            Role::CityReviewer,
            Role::DistrictAdmin,
            Role::CityAdmin,
        ],
    )
}

/// Publishing a list: district admin, city admin.
pub fn may_publish(caller: &Caller) -> Result<(), RankingError> {
    any(caller, &[Role::DistrictAdmin, Role::CityAdmin])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(subject: &str, roles: &[Role]) -> Caller {
        Caller {
            tenant: "wuzhong".into(),
            subject: subject.into(),
            roles: roles.to_vec(),
            street: None,
            department: None,
            session: None,
            home_tenant: None,
        }
    }

    #[test]
    fn applicants_see_only_their_own_rank() {
        let me = who("u1", &[Role::Applicant]);
        assert!(may_view_rank(&me, "u1").is_ok());
        assert!(matches!(
            may_view_rank(&me, "u2"),
            Err(RankingError::NotFound(_))
        ));
        assert!(may_view_rank(&who("s", &[Role::DistrictReviewer]), "u2").is_ok());
        assert!(may_view_rank(&who("s", &[Role::System]), "u2").is_ok());
    }

    #[test]
    fn only_admins_run_and_publish() {
        for role in [Role::DistrictAdmin, Role::CityAdmin] {
            assert!(may_run(&who("a", &[role])).is_ok());
            assert!(may_publish(&who("a", &[role])).is_ok());
            assert!(may_rebuild(&who("a", &[role])).is_ok());
        }
        for role in [Role::Applicant, Role::DistrictReviewer, Role::System] {
            assert!(matches!(
                may_run(&who("a", &[role])),
                Err(RankingError::PermissionDenied)
            ));
            assert!(may_publish(&who("a", &[role])).is_err());
        }
        assert!(may_rebuild(&who("a", &[Role::System])).is_ok());
        assert!(may_rebuild(&who("a", &[Role::DistrictReviewer])).is_err());
    }

    #[test]
    fn events_come_only_from_the_system_and_results_only_to_reviewers() {
        assert!(may_deliver_events(&who("s", &[Role::System])).is_ok());
        assert!(may_deliver_events(&who("a", &[Role::CityAdmin])).is_err());
        assert!(may_view_results(&who("r", &[Role::DistrictReviewer])).is_ok());
        assert!(may_view_results(&who("r", &[Role::StreetReviewer])).is_err());
        assert!(may_view_runs(&who("r", &[Role::StreetReviewer])).is_ok());
        assert!(may_view_runs(&who("u", &[Role::Applicant])).is_err());
    }
}
