//! Who may do what, as pure functions over the verified [`Caller`]. The tenant is never checked
//! here: every query already filters by `caller.tenant`, so another tenant's object is simply not
//! found. These functions decide roles and scopes (street, department, ownership).

use jifen_kit::auth::{CITY_TENANT, Caller, Role};
use jifen_proto::common::v1::ApplicationStatus as Status;

/// A refusal; the message is shown to people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub &'static str);

const NO_RIGHT: Denied = Denied("无权执行此操作");

/// Returns the first of `allowed` the caller holds: the role the action is recorded under.
pub fn acting_role(caller: &Caller, allowed: &[Role]) -> Result<Role, Denied> {
    allowed
        .iter()
        .copied()
        .find(|r| caller.has(*r))
        .ok_or(NO_RIGHT)
}

/// Cycles, SLA policy and calendars of `target` (the caller's tenant unless a city admin names
/// another): district admins of their own tenant, city admins anywhere.
pub fn may_manage_tenant(caller: &Caller, target: &str) -> Result<Role, Denied> {
    if caller.has(Role::CityAdmin) {
        return Ok(Role::CityAdmin);
    }
    if caller.has(Role::DistrictAdmin) {
        let home = caller.home_tenant.as_deref().unwrap_or(&caller.tenant);
        if target == caller.tenant && home == caller.tenant {
            return Ok(Role::DistrictAdmin);
        }
        return Err(Denied("无权管理其他地区"));
    }
    Err(NO_RIGHT)
}

/// Returns whether the caller is staff of the tenant (any staff role or the system).
pub fn is_staff(caller: &Caller) -> bool {
    caller.roles.iter().any(|r| *r != Role::Applicant)
}

/// The review level an application in `status` waits at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// 初审 by the street window.
    Street,
    /// 复核 by the district centre.
    District,
    /// 终审 by the city office.
    City,
}

impl Level {
    /// Returns the level an application in `status` is waiting at, if any.
    pub fn of_status(status: Status) -> Option<Level> {
        match status {
            Status::Submitted => Some(Level::Street),
            Status::DistrictReview => Some(Level::District),
            Status::CityReview => Some(Level::City),
            _ => None,
        }
    }

    /// Returns the status whose applications wait at this level.
    pub fn status(self) -> Status {
        match self {
            Level::Street => Status::Submitted,
            Level::District => Status::DistrictReview,
            Level::City => Status::CityReview,
        }
    }

    /// Returns the reviewer role of this level.
    pub fn reviewer(self) -> Role {
        match self {
            Level::Street => Role::StreetReviewer,
            Level::District => Role::DistrictReviewer,
            Level::City => Role::CityReviewer,
        }
    }
}

/// Returns the level of the caller's reviewer role, the lowest first.
pub fn own_level(caller: &Caller) -> Option<Level> {
    [Level::Street, Level::District, Level::City]
        .into_iter()
        .find(|l| caller.has(l.reviewer()))
}

/// Acting at `level` on an application of `street`: the level's reviewer (a street reviewer only
/// for their own street).
pub fn may_review(caller: &Caller, level: Level, street: &str) -> Result<Role, Denied> {
    let role = level.reviewer();
    if !caller.has(role) {
        return Err(Denied("当前审核环节不属于您的职责"));
    }
    if level == Level::Street && caller.street.as_deref() != Some(street) {
        return Err(Denied("该申请不属于您所在的街道"));
    }
    Ok(role)
}

/// Seeing a queue of `level`: its reviewers, and admins for any level. Returns the street the
/// caller is restricted to (street reviewers), if any.
pub fn may_list_queue(caller: &Caller, level: Level) -> Result<Option<String>, Denied> {
    if caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin) {
        return Ok(None);
    }
    if !caller.has(level.reviewer()) {
        return Err(Denied("无权查看该审核队列"));
    }
    if level == Level::Street {
        return match &caller.street {
            Some(street) => Ok(Some(street.clone())),
            None => Err(Denied("账号未配置所属街道")),
        };
    }
    Ok(None)
}

/// Searching the tenant's applications: district and city reviewers, admins, the system.
pub fn may_search(caller: &Caller) -> Result<(), Denied> {
    acting_role(
        caller,
        &[
            Role::DistrictReviewer,
            Role::CityReviewer,
            Role::DistrictAdmin,
            Role::CityAdmin,
            Role::System,
        ],
    )
    .map(|_| ())
}

/// Reading one application: its owner; a street reviewer of its street; district and city staff;
/// a department verifier holding a task on it.
pub fn may_view(
    caller: &Caller,
    applicant: &str,
    street: &str,
    verifier_has_task: bool,
) -> Result<(), Denied> {
    if caller.has(Role::Applicant) && caller.subject == applicant {
        return Ok(());
    }
    if caller.has(Role::StreetReviewer) && caller.street.as_deref() == Some(street) {
        return Ok(());
    }
    if [
        Role::DistrictReviewer,
        Role::CityReviewer,
        Role::DistrictAdmin,
        Role::CityAdmin,
        Role::System,
    ]
    .iter()
    .any(|r| caller.has(*r))
    {
        return Ok(());
    }
    if caller.has(Role::DepartmentVerifier) && verifier_has_task {
        return Ok(());
    }
    Err(Denied("无权查看该申请"))
}

/// Acting as the owner of an application (drafts, submit, withdraw, confirm, objections).
pub fn may_act_as_owner(caller: &Caller, applicant: &str) -> Result<(), Denied> {
    if caller.has(Role::Applicant) && caller.subject == applicant {
        Ok(())
    } else {
        Err(Denied("只有申请人本人可以执行此操作"))
    }
}

/// Working on a task of `department`: its verifiers. Admins may look (`read_only`).
pub fn may_verify(caller: &Caller, department: &str, read_only: bool) -> Result<Role, Denied> {
    if caller.has(Role::DepartmentVerifier) && caller.department.as_deref() == Some(department) {
        return Ok(Role::DepartmentVerifier);
    }
    if read_only && (caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin)) {
        return acting_role(caller, &[Role::DistrictAdmin, Role::CityAdmin]);
    }
    Err(Denied("该核查任务不属于您的部门"))
}

/// Listing tasks: the department the caller is restricted to, or any (admins, `requested`).
pub fn task_department(caller: &Caller, requested: &str) -> Result<Option<String>, Denied> {
    if caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin) {
        return Ok((!requested.is_empty()).then(|| requested.to_owned()));
    }
    match (&caller.department, caller.has(Role::DepartmentVerifier)) {
        (Some(own), true) if requested.is_empty() || requested == own => Ok(Some(own.clone())),
        (_, true) => Err(Denied("只能查看本部门的核查任务")),
        _ => Err(NO_RIGHT),
    }
}

/// Answering objections: district and city reviewers.
pub fn may_decide_objection(caller: &Caller) -> Result<Role, Denied> {
    acting_role(caller, &[Role::DistrictReviewer, Role::CityReviewer])
}

/// Checking an audit chain: district admins, city admins, city reviewers.
pub fn may_verify_audit(caller: &Caller) -> Result<Role, Denied> {
    acting_role(
        caller,
        &[Role::DistrictAdmin, Role::CityAdmin, Role::CityReviewer],
    )
}

/// Events from other components: the system only.
pub fn may_deliver_events(caller: &Caller) -> Result<(), Denied> {
    acting_role(caller, &[Role::System]).map(|_| ())
}

/// Updating the city default calendar (the city tenant's own) is for city admins.
pub fn is_city_tenant(tenant: &str) -> bool {
    tenant == CITY_TENANT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(roles: &[Role]) -> Caller {
        Caller {
            tenant: "wuzhong".into(),
            subject: "u1".into(),
            roles: roles.to_vec(),
            street: Some("s1".into()),
            department: Some("human_resources".into()),
            session: None,
            home_tenant: Some("wuzhong".into()),
        }
    }

    #[test]
    fn district_admins_manage_only_their_tenant() {
        assert!(may_manage_tenant(&who(&[Role::DistrictAdmin]), "wuzhong").is_ok());
        assert!(may_manage_tenant(&who(&[Role::DistrictAdmin]), "gusu").is_err());
        assert!(may_manage_tenant(&who(&[Role::CityAdmin]), "gusu").is_ok());
        assert!(may_manage_tenant(&who(&[Role::DistrictReviewer]), "wuzhong").is_err());
        assert!(may_manage_tenant(&who(&[Role::Applicant]), "wuzhong").is_err());
    }

    #[test]
    fn street_reviewers_act_only_on_their_street() {
        let c = who(&[Role::StreetReviewer]);
        assert!(may_review(&c, Level::Street, "s1").is_ok());
        assert!(may_review(&c, Level::Street, "s2").is_err());
        assert!(may_review(&c, Level::District, "s1").is_err());
        assert_eq!(may_list_queue(&c, Level::Street), Ok(Some("s1".into())));
        assert!(may_list_queue(&c, Level::City).is_err());
        assert!(may_view(&c, "other", "s1", false).is_ok());
        assert!(may_view(&c, "other", "s2", false).is_err());
    }

    #[test]
    fn each_level_needs_its_own_reviewer() {
        assert!(may_review(&who(&[Role::DistrictReviewer]), Level::District, "x").is_ok());
        assert!(may_review(&who(&[Role::DistrictReviewer]), Level::City, "x").is_err());
        assert!(may_review(&who(&[Role::CityReviewer]), Level::City, "x").is_ok());
        assert!(may_review(&who(&[Role::Applicant]), Level::Street, "s1").is_err());
        assert!(may_review(&who(&[Role::DistrictAdmin]), Level::District, "x").is_err());
    }

    #[test]
    fn verifiers_see_only_their_department() {
        let c = who(&[Role::DepartmentVerifier]);
        assert!(may_verify(&c, "human_resources", false).is_ok());
        assert!(may_verify(&c, "education", false).is_err());
        assert_eq!(task_department(&c, ""), Ok(Some("human_resources".into())));
        assert!(task_department(&c, "education").is_err());
        assert_eq!(task_department(&who(&[Role::DistrictAdmin]), ""), Ok(None));
        assert!(may_verify(&who(&[Role::DistrictAdmin]), "education", true).is_ok());
        assert!(may_verify(&who(&[Role::DistrictAdmin]), "education", false).is_err());
        assert!(may_view(&c, "other", "s9", true).is_ok());
        assert!(may_view(&c, "other", "s9", false).is_err());
    }

    #[test]
    fn only_the_owner_acts_as_applicant() {
        assert!(may_act_as_owner(&who(&[Role::Applicant]), "u1").is_ok());
        assert!(may_act_as_owner(&who(&[Role::Applicant]), "u2").is_err());
        assert!(may_act_as_owner(&who(&[Role::CityAdmin]), "u1").is_err());
        assert!(may_view(&who(&[Role::Applicant]), "u2", "s1", false).is_err());
    }

    #[test]
    fn objections_audit_and_events_have_their_own_roles() {
        assert!(may_decide_objection(&who(&[Role::DistrictReviewer])).is_ok());
        assert!(may_decide_objection(&who(&[Role::StreetReviewer])).is_err());
        assert!(may_verify_audit(&who(&[Role::CityReviewer])).is_ok());
        assert!(may_verify_audit(&who(&[Role::Applicant])).is_err());
        assert!(may_deliver_events(&who(&[Role::System])).is_ok());
        assert!(may_deliver_events(&who(&[Role::CityAdmin])).is_err());
        assert!(may_search(&who(&[Role::StreetReviewer])).is_err());
    }
}
