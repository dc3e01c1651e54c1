//! Who may do what with rule sets and score sheets, as pure functions over the verified
//! [`Caller`]. Rows of another tenant are never looked at: queries filter by the caller's
//! tenant (plus the city templates), so another district's draft is simply not found.

use jifen_kit::auth::{CITY_TENANT, Caller, Role};

use crate::error::ScoringError;

const STAFF: &[Role] = &[
    Role::StreetReviewer,
    Role::DepartmentVerifier,
    Role::DistrictReviewer,
    Role::CityReviewer,
    Role::DistrictAdmin,
    Role::CityAdmin,
    Role::System,
];

/// Refuses unless the caller may create, edit, validate, publish or delete rule sets owned by
/// `owner`: city templates (`suzhou`) need city_admin; a district's rule sets need that
/// district's district_admin (or city_admin, who manages every tenant).
pub fn may_edit(caller: &Caller, owner: &str) -> Result<(), ScoringError> {
    if caller.tenant != owner {
        // Queries are scoped to the caller's tenant; this is a second wall.
        return Err(ScoringError::PermissionDenied("无权修改其他地区的规则集"));
    }
    if caller.has(Role::CityAdmin) {
        return Ok(());
    }
    if owner == CITY_TENANT {
        return Err(ScoringError::PermissionDenied(
            "市级规则模板仅限市积分办管理员维护",
        ));
    }
    if caller.has(Role::DistrictAdmin) {
        Ok(())
    } else {
        Err(ScoringError::PermissionDenied("仅限本地区管理员维护规则集"))
    }
}

/// Refuses unless the caller may freeze a version owned by `owner` (review's system calls,
/// the owner's admins).
pub fn may_freeze(caller: &Caller, owner: &str) -> Result<(), ScoringError> {
    if caller.has(Role::System) {
        return Ok(());
    }
    may_edit(caller, owner)
}

/// Refuses unless the caller is staff (anyone but an applicant), who may read their tenant's
/// rule sets and the published city templates.
pub fn may_read_rules(caller: &Caller) -> Result<(), ScoringError> {
    if STAFF.iter().any(|r| caller.has(*r)) {
        Ok(())
    } else {
        Err(ScoringError::PermissionDenied("仅限工作人员查看规则集"))
    }
}

/// Returns whether a stored row of `owner` with `released` status is visible to the caller:
/// their own tenant's rows, and released city templates.
pub fn row_visible(caller: &Caller, owner: &str, released: bool) -> bool {
    owner == caller.tenant || (owner == CITY_TENANT && released)
}

/// Refuses unless the caller may evaluate facts (staff of the tenant, the system).
pub fn may_evaluate(caller: &Caller) -> Result<(), ScoringError> {
    may_read_rules(caller)
}

/// Refuses unless the caller may store score sheets (review, as the system).
pub fn may_store_sheets(caller: &Caller) -> Result<(), ScoringError> {
    if caller.has(Role::System) {
        Ok(())
    } else {
        Err(ScoringError::PermissionDenied("仅限系统调用"))
    }
}

/// Refuses unless the caller may read stored score sheets of their tenant.
pub fn may_read_sheets(caller: &Caller) -> Result<(), ScoringError> {
    may_read_rules(caller)
}

/// Refuses unless the caller may run what-if (district_admin of the tenant, city_admin).
pub fn may_what_if(caller: &Caller) -> Result<(), ScoringError> {
    if caller.has(Role::DistrictAdmin) || caller.has(Role::CityAdmin) {
        Ok(())
    } else {
        Err(ScoringError::PermissionDenied("仅限地区管理员进行规则试算"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(tenant: &str, role: Role) -> Caller {
        Caller {
            tenant: tenant.to_owned(),
            subject: format!("{tenant}-{role}"),
            roles: vec![role],
            street: None,
            department: None,
            session: None,
            home_tenant: None,
        }
    }

    #[test]
    fn district_admin_edits_only_own_tenant() {
        let admin = caller("wuzhong", Role::DistrictAdmin);
        assert!(may_edit(&admin, "wuzhong").is_ok());
        assert!(may_edit(&admin, "gusu").is_err());
        assert!(may_edit(&admin, CITY_TENANT).is_err());
    }

    #[test]
    fn city_templates_need_city_admin() {
        assert!(may_edit(&caller("suzhou", Role::CityAdmin), CITY_TENANT).is_ok());
        assert!(may_edit(&caller("suzhou", Role::DistrictAdmin), CITY_TENANT).is_err());
        assert!(may_edit(&caller("suzhou", Role::CityReviewer), CITY_TENANT).is_err());
    }

    #[test]
    fn reviewers_and_applicants_cannot_edit() {
        assert!(may_edit(&caller("gusu", Role::DistrictReviewer), "gusu").is_err());
        assert!(may_edit(&caller("gusu", Role::Applicant), "gusu").is_err());
        assert!(may_read_rules(&caller("gusu", Role::Applicant)).is_err());
        assert!(may_read_rules(&caller("gusu", Role::DistrictReviewer)).is_ok());
    }

    #[test]
    fn other_districts_drafts_are_invisible() {
        let admin = caller("wuzhong", Role::DistrictAdmin);
        assert!(row_visible(&admin, "wuzhong", false));
        assert!(!row_visible(&admin, "gusu", false));
        assert!(!row_visible(&admin, "gusu", true));
        assert!(row_visible(&admin, CITY_TENANT, true));
        assert!(!row_visible(&admin, CITY_TENANT, false));
    }

    #[test]
    fn freeze_what_if_and_sheets() {
        assert!(may_freeze(&caller("gusu", Role::System), "gusu").is_ok());
        assert!(may_freeze(&caller("gusu", Role::DistrictReviewer), "gusu").is_err());
        assert!(may_what_if(&caller("gusu", Role::DistrictAdmin)).is_ok());
        assert!(may_what_if(&caller("gusu", Role::DistrictReviewer)).is_err());
        assert!(may_store_sheets(&caller("gusu", Role::System)).is_ok());
        assert!(may_store_sheets(&caller("gusu", Role::DistrictAdmin)).is_err());
    }
}
