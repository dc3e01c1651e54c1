//! Who may create and manage which staff: a district admin manages reviewers and verifiers of
//! their own tenant (never admins or city roles); a city admin manages anyone anywhere, with city
//! roles only in the city tenant.

use jifen_kit::auth::{CITY_TENANT, Role};

use super::field::FieldProblem;

/// Departments that verify indicators: the codes rule sets name as `verifier_department`
/// (`jifen_rules::vocabulary::Department`, snake_case), so a department verifier's scope matches
/// the indicators routed to them; names as shown to people.
pub const DEPARTMENTS: [(&str, &str); 10] = [
    ("public_security", "公安"),
    ("human_resources", "人社"),
    ("education", "教育"),
    ("housing_fund", "公积金"),
    ("real_estate", "不动产"),
    ("court", "法院"),
    ("veterans_affairs", "退役军人"),
    ("health", "卫健"),
    ("intellectual_property", "知识产权"),
    ("taxation", "税务"),
];

/// Department codes identity used before they matched the rule sets: old → contract code
/// (a migration rewrites stored scopes).
pub const LEGACY_DEPARTMENTS: [(&str, &str); 8] = [
    ("psb", "public_security"),
    ("hrss", "human_resources"),
    ("edu", "education"),
    ("hpf", "housing_fund"),
    ("realty", "real_estate"),
    ("veterans", "veterans_affairs"),
    ("ipo", "intellectual_property"),
    ("tax", "taxation"),
];

/// Why an admin may not grant a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRefusal {
    /// Outside the admin's authority.
    NotAllowed,
    /// The grant itself is malformed.
    Invalid(FieldProblem),
}

/// Checks that `admin_roles` acting from `admin_home` may grant `role` in `tenant` with the given
/// scope codes.
pub fn check_grant(
    admin_roles: &[Role],
    admin_home: &str,
    tenant: &str,
    role: Role,
    street: &str,
    department: &str,
) -> Result<(), ScopeRefusal> {
    let city_role = matches!(role, Role::CityAdmin | Role::CityReviewer);
    if matches!(role, Role::Applicant | Role::System) {
        return Err(ScopeRefusal::Invalid(FieldProblem::new(
            "role",
            "not_allowed",
            "角色（role）必须是工作人员角色",
        )));
    }
    if city_role != (tenant == CITY_TENANT) {
        return Err(ScopeRefusal::Invalid(FieldProblem::new(
            "role",
            "not_allowed",
            "角色（role）与所属地区不符：市级角色只能属于苏州市，区级角色只能属于区（市）",
        )));
    }
    if role == Role::StreetReviewer && !is_code(street) {
        return Err(ScopeRefusal::Invalid(FieldProblem::new(
            "street_code",
            "required",
            "街道审核员必须填写街道/镇代码（street_code，字母数字，最多 32 位）",
        )));
    }
    if role == Role::DepartmentVerifier && !DEPARTMENTS.iter().any(|(c, _)| *c == department) {
        return Err(ScopeRefusal::Invalid(FieldProblem::new(
            "department_code",
            "unknown_value",
            format!(
                "部门核查员必须填写有效的部门代码（department_code），可选：{}",
                DEPARTMENTS
                    .iter()
                    .map(|(c, n)| format!("{c}（{n}）"))
                    .collect::<Vec<_>>()
                    .join("、")
            ),
        )));
    }
    if admin_roles.contains(&Role::CityAdmin) {
        return Ok(());
    }
    if admin_roles.contains(&Role::DistrictAdmin)
        && admin_home == tenant
        && matches!(
            role,
            Role::StreetReviewer | Role::DepartmentVerifier | Role::DistrictReviewer
        )
    {
        return Ok(());
    }
    Err(ScopeRefusal::NotAllowed)
}

/// Returns whether an admin may manage (disable, read) staff of `tenant` holding `role`.
pub fn may_manage(admin_roles: &[Role], admin_home: &str, tenant: &str, role: Role) -> bool {
    admin_roles.contains(&Role::CityAdmin)
        || (admin_roles.contains(&Role::DistrictAdmin)
            && admin_home == tenant
            && matches!(
                role,
                Role::StreetReviewer | Role::DepartmentVerifier | Role::DistrictReviewer
            ))
}

/// Returns whether `value` is a scope code: 1–32 ASCII letters, digits, `_` or `-`.
pub fn is_code(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 32
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn district_admin_grants_only_local_reviewers() {
        let admin = [Role::DistrictAdmin];
        assert!(
            check_grant(
                &admin,
                "wuzhong",
                "wuzhong",
                Role::StreetReviewer,
                "s01",
                ""
            )
            .is_ok()
        );
        assert!(
            check_grant(
                &admin,
                "wuzhong",
                "wuzhong",
                Role::DepartmentVerifier,
                "",
                "public_security"
            )
            .is_ok()
        );
        assert_eq!(
            check_grant(&admin, "wuzhong", "gusu", Role::DistrictReviewer, "", ""),
            Err(ScopeRefusal::NotAllowed)
        );
        assert_eq!(
            check_grant(&admin, "wuzhong", "wuzhong", Role::DistrictAdmin, "", ""),
            Err(ScopeRefusal::NotAllowed)
        );
        assert!(matches!(
            check_grant(&admin, "wuzhong", "wuzhong", Role::CityAdmin, "", ""),
            Err(ScopeRefusal::Invalid(_))
        ));
    }

    #[test]
    fn department_codes_are_the_rule_set_codes_and_legacy_codes_map_onto_them() {
        // The snake_case names of jifen_rules::vocabulary::Department.
        for code in [
            "public_security",
            "human_resources",
            "education",
            "housing_fund",
            "real_estate",
            "court",
            "veterans_affairs",
            "health",
            "intellectual_property",
            "taxation",
        ] {
            assert!(DEPARTMENTS.iter().any(|(c, _)| *c == code), "{code}");
        }
        for (old, new) in LEGACY_DEPARTMENTS {
            assert!(!DEPARTMENTS.iter().any(|(c, _)| *c == old), "{old}");
            assert!(DEPARTMENTS.iter().any(|(c, _)| *c == new), "{new}");
        }
        let err = check_grant(
            &[Role::CityAdmin],
            "suzhou",
            "gusu",
            Role::DepartmentVerifier,
            "",
            "edu",
        );
        assert!(
            matches!(&err, Err(ScopeRefusal::Invalid(p)) if p.message.contains("education（教育）")),
            "{err:?}"
        );
    }

    #[test]
    fn city_admin_grants_anywhere_but_city_roles_stay_in_the_city() {
        let admin = [Role::CityAdmin];
        assert!(check_grant(&admin, "suzhou", "gusu", Role::DistrictAdmin, "", "").is_ok());
        assert!(check_grant(&admin, "suzhou", "suzhou", Role::CityReviewer, "", "").is_ok());
        assert!(matches!(
            check_grant(&admin, "suzhou", "gusu", Role::CityReviewer, "", ""),
            Err(ScopeRefusal::Invalid(_))
        ));
        assert!(matches!(
            check_grant(
                &admin,
                "suzhou",
                "gusu",
                Role::DepartmentVerifier,
                "",
                "nope"
            ),
            Err(ScopeRefusal::Invalid(_))
        ));
    }
}
