//! Who may read an evidence file.
//!
//! Readers are: the owner (the applicant subject who created the material, or the application's
//! applicant as review announced it); street, district and city reviewers acting in the
//! material's tenant; the department verifier of the department recorded on the material.
//! Reviewer levels are checked at tenant level: materials does not know an application's street
//! or current review level (review owns those), so a street reviewer of the tenant may read any
//! application of the tenant. Admins manage policy and logs but are not readers of evidence.
//! Cross-tenant reads never reach this check: every query filters by the caller's tenant, so
//! another tenant's material answers NotFound.

use jifen_kit::auth::{Caller, Role};

/// What the decision needs to know about a material.
#[derive(Debug, Clone, Copy)]
pub struct MaterialFacts<'a> {
    /// Tenant of the material.
    pub tenant: &'a str,
    /// Subject who created it.
    pub uploaded_by: &'a str,
    /// The application's applicant, when known.
    pub application_owner: Option<&'a str>,
    /// Department verifying the indicator, when declared.
    pub verifier_department: Option<&'a str>,
}

/// Why a reader may read, recorded in the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The applicant.
    Owner,
    /// A reviewer of the tenant.
    Reviewer(Role),
    /// The verifying department.
    Verifier,
}

impl Grant {
    /// Returns the role the access is logged under.
    pub fn role(self) -> Role {
        match self {
            Grant::Owner => Role::Applicant,
            Grant::Reviewer(role) => role,
            Grant::Verifier => Role::DepartmentVerifier,
        }
    }
}

/// Returns why `caller` may read the material, or `None`.
pub fn may_read(caller: &Caller, material: &MaterialFacts<'_>) -> Option<Grant> {
    if caller.tenant != material.tenant {
        return None;
    }
    if caller.has(Role::Applicant)
        && (caller.subject == material.uploaded_by
            || material.application_owner == Some(caller.subject.as_str()))
    {
        return Some(Grant::Owner);
    }
    for role in [
        Role::StreetReviewer,
        Role::DistrictReviewer,
        Role::CityReviewer,
    ] {
        if caller.has(role) {
            return Some(Grant::Reviewer(role));
        }
    }
    if caller.has(Role::DepartmentVerifier)
        && let (Some(mine), Some(theirs)) =
            (caller.department.as_deref(), material.verifier_department)
        && mine == theirs
    {
        return Some(Grant::Verifier);
    }
    None
}

/// Returns the role a refused caller is logged under (their first role).
pub fn logged_role(caller: &Caller) -> Role {
    caller.roles.first().copied().unwrap_or(Role::Applicant)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(tenant: &str, subject: &str, role: Role, department: Option<&str>) -> Caller {
        Caller {
            tenant: tenant.into(),
            subject: subject.into(),
            roles: vec![role],
            street: None,
            department: department.map(Into::into),
            session: None,
            home_tenant: None,
        }
    }

    #[test]
    fn only_owner_reviewers_and_the_right_verifier_read() {
        let m = MaterialFacts {
            tenant: "wuzhong",
            uploaded_by: "app-1",
            application_owner: Some("app-1"),
            verifier_department: Some("gongan"),
        };
        assert_eq!(
            may_read(&caller("wuzhong", "app-1", Role::Applicant, None), &m),
            Some(Grant::Owner)
        );
        assert_eq!(
            may_read(&caller("wuzhong", "app-2", Role::Applicant, None), &m),
            None
        );
        assert!(may_read(&caller("wuzhong", "r", Role::StreetReviewer, None), &m).is_some());
        assert!(may_read(&caller("wuzhong", "r", Role::CityReviewer, None), &m).is_some());
        assert_eq!(
            may_read(
                &caller("wuzhong", "v", Role::DepartmentVerifier, Some("gongan")),
                &m
            ),
            Some(Grant::Verifier)
        );
        assert_eq!(
            may_read(
                &caller("wuzhong", "v", Role::DepartmentVerifier, Some("renshe")),
                &m
            ),
            None
        );
        assert_eq!(
            may_read(&caller("wuzhong", "a", Role::DistrictAdmin, None), &m),
            None
        );
        assert_eq!(
            may_read(&caller("gusu", "r", Role::DistrictReviewer, None), &m),
            None
        );
    }
}
