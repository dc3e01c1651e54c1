//! Who may read an evidence file.
//!
//! Readers are: the owner (the applicant subject who created the material, or the application's
//! applicant as review announced it); district and city reviewers acting in the material's
//! tenant (city staff act in the tenant they address); a street reviewer only for applications
//! of their own street (the token's street claim equals the application's street of residence);
//! a department verifier only for materials supporting an indicator that review routed to their
//! department (or cited by such a claim). Street and department come from review
//! ([`crate::scopes`]); without them, street reviewers and verifiers read nothing. Admins manage
//! policy and logs but are not readers of evidence. Cross-tenant reads never reach this check:
//! every query filters by the caller's tenant, so another tenant's material answers NotFound.

use jifen_kit::auth::{Caller, Role};

/// What review says about an application, as far as evidence access needs it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplicationScope {
    /// 镇/街道 code of residence: the street whose reviewers do the 初审.
    pub street_code: String,
    /// The application's claimed facts and the departments verifying them.
    pub verifications: Vec<Verification>,
}

/// One claimed fact and the department that verifies it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verification {
    /// Indicator code the fact supports.
    pub indicator: String,
    /// Department verifying it (empty until review routes the claim).
    pub department: String,
    /// Evidence material ids the claim cites.
    pub material_ids: Vec<String>,
}

impl ApplicationScope {
    /// Returns whether `department` verifies the indicator `indicator`, or a claim citing the
    /// material `material_id`, of this application.
    pub fn verified_by(&self, department: &str, indicator: &str, material_id: &str) -> bool {
        !department.is_empty()
            && self.verifications.iter().any(|v| {
                v.department == department
                    && (v.indicator == indicator || v.material_ids.iter().any(|m| m == material_id))
            })
    }
}

/// What the decision needs to know about a material.
#[derive(Debug, Clone, Copy)]
pub struct MaterialFacts<'a> {
    /// Tenant of the material.
    pub tenant: &'a str,
    /// Material id.
    pub material_id: &'a str,
    /// Indicator the material supports.
    pub indicator: &'a str,
    /// Subject who created it.
    pub uploaded_by: &'a str,
    /// The application's applicant, when known.
    pub application_owner: Option<&'a str>,
}

/// Why a reader may read, recorded in the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    /// The applicant.
    Owner,
    /// A reviewer of the tenant (a street reviewer: of the application's street).
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

/// Returns the grant that needs no application scope (owner, district or city reviewer), if any.
fn unscoped(caller: &Caller, material: &MaterialFacts<'_>) -> Option<Grant> {
    if caller.tenant != material.tenant {
        return None;
    }
    if caller.has(Role::Applicant)
        && (caller.subject == material.uploaded_by
            || material.application_owner == Some(caller.subject.as_str()))
    {
        return Some(Grant::Owner);
    }
    [Role::DistrictReviewer, Role::CityReviewer]
        .into_iter()
        .find(|role| caller.has(*role))
        .map(Grant::Reviewer)
}

/// Returns whether deciding needs the application's scope from review: the caller could only
/// read as a street reviewer or a department verifier.
pub fn needs_scope(caller: &Caller, material: &MaterialFacts<'_>) -> bool {
    caller.tenant == material.tenant
        && unscoped(caller, material).is_none()
        && (caller.has(Role::StreetReviewer) || caller.has(Role::DepartmentVerifier))
}

/// Returns why `caller` may read the material, or `None`. `scope` is review's view of the
/// application (`None`: unknown, or not looked up because [`needs_scope`] said no).
pub fn may_read(
    caller: &Caller,
    material: &MaterialFacts<'_>,
    scope: Option<&ApplicationScope>,
) -> Option<Grant> {
    if caller.tenant != material.tenant {
        return None;
    }
    if let Some(grant) = unscoped(caller, material) {
        return Some(grant);
    }
    let scope = scope?;
    if caller.has(Role::StreetReviewer)
        && let Some(street) = caller.street.as_deref()
        && !street.is_empty()
        && scope.street_code == street
    {
        return Some(Grant::Reviewer(Role::StreetReviewer));
    }
    if caller.has(Role::DepartmentVerifier)
        && let Some(department) = caller.department.as_deref()
        && scope.verified_by(department, material.indicator, material.material_id)
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

    fn caller(tenant: &str, subject: &str, role: Role) -> Caller {
        Caller {
            tenant: tenant.into(),
            subject: subject.into(),
            roles: vec![role],
            street: None,
            department: None,
            session: None,
            home_tenant: None,
        }
    }

    fn street_reviewer(tenant: &str, street: Option<&str>) -> Caller {
        Caller {
            street: street.map(Into::into),
            ..caller(tenant, "s", Role::StreetReviewer)
        }
    }

    fn verifier(tenant: &str, department: &str) -> Caller {
        Caller {
            department: Some(department.into()),
            ..caller(tenant, "v", Role::DepartmentVerifier)
        }
    }

    const M: MaterialFacts<'static> = MaterialFacts {
        tenant: "wuzhong",
        material_id: "m-1",
        indicator: "residence_years",
        uploaded_by: "app-1",
        application_owner: Some("app-1"),
    };

    fn scope() -> ApplicationScope {
        ApplicationScope {
            street_code: "wz.street.01".into(),
            verifications: vec![
                Verification {
                    indicator: "residence_years".into(),
                    department: "gongan".into(),
                    material_ids: vec![],
                },
                Verification {
                    indicator: "insurance_months".into(),
                    department: "renshe".into(),
                    material_ids: vec!["m-9".into()],
                },
                Verification {
                    indicator: "education".into(),
                    department: String::new(),
                    material_ids: vec![],
                },
            ],
        }
    }

    #[test]
    fn owner_and_district_and_city_reviewers_read_without_a_scope() {
        for (who, grant) in [
            (caller("wuzhong", "app-1", Role::Applicant), Grant::Owner),
            (
                caller("wuzhong", "r", Role::DistrictReviewer),
                Grant::Reviewer(Role::DistrictReviewer),
            ),
            (
                caller("wuzhong", "r", Role::CityReviewer),
                Grant::Reviewer(Role::CityReviewer),
            ),
        ] {
            assert!(!needs_scope(&who, &M));
            assert_eq!(may_read(&who, &M, None), Some(grant));
        }
        for nobody in [
            caller("wuzhong", "app-2", Role::Applicant),
            caller("wuzhong", "a", Role::DistrictAdmin),
            caller("gusu", "r", Role::DistrictReviewer),
            caller("gusu", "app-1", Role::Applicant),
        ] {
            assert!(!needs_scope(&nobody, &M));
            assert_eq!(may_read(&nobody, &M, Some(&scope())), None);
        }
    }

    #[test]
    fn street_reviewers_read_only_their_streets_applications() {
        let mine = street_reviewer("wuzhong", Some("wz.street.01"));
        assert!(needs_scope(&mine, &M));
        assert_eq!(
            may_read(&mine, &M, Some(&scope())),
            Some(Grant::Reviewer(Role::StreetReviewer))
        );
        assert_eq!(may_read(&mine, &M, None), None, "unknown application");
        let other = street_reviewer("wuzhong", Some("wz.street.02"));
        assert_eq!(may_read(&other, &M, Some(&scope())), None);
        let no_claim = street_reviewer("wuzhong", None);
        assert_eq!(may_read(&no_claim, &M, Some(&scope())), None);
        let no_street = ApplicationScope {
            street_code: String::new(),
            ..scope()
        };
        assert_eq!(
            may_read(&street_reviewer("wuzhong", Some("")), &M, Some(&no_street)),
            None
        );
        let other_tenant = street_reviewer("gusu", Some("wz.street.01"));
        assert!(!needs_scope(&other_tenant, &M));
        assert_eq!(may_read(&other_tenant, &M, Some(&scope())), None);
    }

    #[test]
    fn verifiers_read_only_what_their_department_verifies() {
        assert!(scope().verified_by("gongan", "residence_years", "m-1"));
        assert!(!scope().verified_by("gongan", "insurance_months", "m-2"));
        assert!(scope().verified_by("renshe", "objection", "m-9"));
        assert!(!scope().verified_by("", "education", "m-3"));
        assert_eq!(
            may_read(&verifier("wuzhong", "gongan"), &M, Some(&scope())),
            Some(Grant::Verifier)
        );
        assert_eq!(
            may_read(&verifier("wuzhong", "renshe"), &M, Some(&scope())),
            None
        );
        assert_eq!(may_read(&verifier("wuzhong", "gongan"), &M, None), None);
        let cited = MaterialFacts {
            material_id: "m-9",
            indicator: "objection",
            ..M
        };
        assert_eq!(
            may_read(&verifier("wuzhong", "renshe"), &cited, Some(&scope())),
            Some(Grant::Verifier)
        );
    }
}
