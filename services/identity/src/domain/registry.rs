//! Rules of the tenants registry: tenants, threshold areas and 镇/街道 are data an admin writes,
//! checked here before anything is stored. Every problem names its request field in Chinese.

use jifen_kit::auth::CITY_TENANT;

use super::field::{FieldProblem, text};

/// Longest display name of a tenant, area or street.
pub const MAX_NAME_CHARS: usize = 50;
/// Highest display order.
pub const MAX_SORT_ORDER: i32 = 9999;

/// Checks a registry code (tenant, area): 2–32 lower-case ASCII letters, digits or `_`, starting
/// with a letter.
pub fn registry_code(field: &'static str, label: &str, value: &str) -> Result<(), FieldProblem> {
    let ok = (2..=32).contains(&value.len())
        && value.starts_with(|c: char| c.is_ascii_lowercase())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if value.is_empty() {
        return Err(FieldProblem::new(
            field,
            "required",
            format!("请填写{label}"),
        ));
    }
    if !ok {
        return Err(FieldProblem::new(
            field,
            "bad_format",
            format!("{label}应为 2–32 位小写字母、数字或下划线，并以字母开头"),
        ));
    }
    Ok(())
}

/// A tenant as an admin writes it (kinds as stored: `city`, `district`, `county_city`; empty =
/// not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantDraft {
    /// Stable code.
    pub code: String,
    /// Display name.
    pub name_zh: String,
    /// Kind.
    pub kind: String,
    /// Parent code (empty or the city for districts, empty for the city).
    pub parent_code: String,
    /// Threshold area code.
    pub threshold_area: String,
    /// Listed and usable.
    pub enabled: bool,
    /// Display order.
    pub sort_order: i32,
}

/// Checks a tenant draft against the known threshold areas and returns it normalised (trimmed
/// name, parent filled in), or every problem found.
pub fn check_tenant(
    draft: &TenantDraft,
    known_areas: &[String],
) -> Result<TenantDraft, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    let code = draft.code.trim();
    if let Err(p) = registry_code("tenant.code", "地区代码（tenant.code）", code) {
        problems.push(p);
    }
    if let Err(p) = text(
        "tenant.name_zh",
        "地区名称（tenant.name_zh）",
        &draft.name_zh,
        true,
        MAX_NAME_CHARS,
    ) {
        problems.push(p);
    }
    let is_city = code == CITY_TENANT;
    match draft.kind.as_str() {
        "" => problems.push(FieldProblem::new(
            "tenant.kind",
            "required",
            "请选择地区类型（tenant.kind）：区或县级市",
        )),
        "city" if !is_city => problems.push(FieldProblem::new(
            "tenant.kind",
            "not_allowed",
            format!("地区类型（tenant.kind）为市级的只能是苏州市（{CITY_TENANT}）"),
        )),
        "district" | "county_city" if is_city => problems.push(FieldProblem::new(
            "tenant.kind",
            "not_allowed",
            format!("苏州市（{CITY_TENANT}）的地区类型（tenant.kind）只能是市级"),
        )),
        _ => {}
    }
    let parent = draft.parent_code.trim();
    let parent = if is_city {
        if !parent.is_empty() {
            problems.push(FieldProblem::new(
                "tenant.parent_code",
                "not_allowed",
                "苏州市没有上级地区（tenant.parent_code 应为空）",
            ));
        }
        ""
    } else {
        if !parent.is_empty() && parent != CITY_TENANT {
            problems.push(FieldProblem::new(
                "tenant.parent_code",
                "unknown_value",
                format!("上级地区（tenant.parent_code）只能是苏州市（{CITY_TENANT}）"),
            ));
        }
        CITY_TENANT
    };
    let area = draft.threshold_area.trim();
    if is_city {
        if !area.is_empty() {
            problems.push(FieldProblem::new(
                "tenant.threshold_area",
                "not_allowed",
                "苏州市不属于任何落户门槛地区（tenant.threshold_area 应为空）",
            ));
        }
    } else if area.is_empty() {
        problems.push(FieldProblem::new(
            "tenant.threshold_area",
            "required",
            "请填写落户门槛地区（tenant.threshold_area）",
        ));
    } else if !known_areas.iter().any(|a| a == area) {
        problems.push(FieldProblem::new(
            "tenant.threshold_area",
            "unknown_value",
            format!(
                "落户门槛地区（tenant.threshold_area）“{}”不存在，可选：{}",
                area.chars().take(32).collect::<String>(),
                known_areas.join("、")
            ),
        ));
    }
    if is_city && !draft.enabled {
        problems.push(FieldProblem::new(
            "tenant.enabled",
            "not_allowed",
            "苏州市（市积分办）不能停用（tenant.enabled）",
        ));
    }
    if !(0..=MAX_SORT_ORDER).contains(&draft.sort_order) {
        problems.push(FieldProblem::new(
            "tenant.sort_order",
            "out_of_range",
            format!("显示顺序（tenant.sort_order）应在 0–{MAX_SORT_ORDER} 之间"),
        ));
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(TenantDraft {
        code: code.to_owned(),
        name_zh: draft.name_zh.trim().to_owned(),
        kind: draft.kind.clone(),
        parent_code: parent.to_owned(),
        threshold_area: area.to_owned(),
        enabled: draft.enabled,
        sort_order: draft.sort_order,
    })
}

/// Checks a threshold area: its code and name, and that every member is a known district or
/// county-level city. Returns the members deduplicated.
pub fn check_area(
    code: &str,
    name_zh: &str,
    members: &[String],
    districts: &[String],
) -> Result<Vec<String>, Vec<FieldProblem>> {
    let mut problems = Vec::new();
    if let Err(p) = registry_code("area.code", "门槛地区代码（area.code）", code) {
        problems.push(p);
    }
    if let Err(p) = text(
        "area.name_zh",
        "门槛地区名称（area.name_zh）",
        name_zh,
        true,
        MAX_NAME_CHARS,
    ) {
        problems.push(p);
    }
    let mut out: Vec<String> = Vec::new();
    for member in members {
        let member = member.trim();
        if member == CITY_TENANT {
            problems.push(FieldProblem::new(
                "area.tenant_codes",
                "not_allowed",
                "苏州市（市积分办）不属于任何门槛地区（area.tenant_codes）",
            ));
        } else if !districts.iter().any(|d| d == member) {
            problems.push(FieldProblem::new(
                "area.tenant_codes",
                "unknown_value",
                format!(
                    "门槛地区成员（area.tenant_codes）中的地区“{}”不存在",
                    member.chars().take(32).collect::<String>()
                ),
            ));
        } else if !out.iter().any(|m| m == member) {
            out.push(member.to_owned());
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// Checks a 镇/街道 code and name (codes as staff scopes take them).
pub fn check_street(code: &str, name_zh: &str) -> Result<(), Vec<FieldProblem>> {
    let mut problems = Vec::new();
    if code.is_empty() {
        problems.push(FieldProblem::new(
            "street.code",
            "required",
            "请填写街道/镇代码（street.code）",
        ));
    } else if !super::staff_scope::is_code(code) {
        problems.push(FieldProblem::new(
            "street.code",
            "bad_format",
            "街道/镇代码（street.code）应为 1–32 位字母、数字、_ 或 -",
        ));
    }
    if let Err(p) = text(
        "street.name_zh",
        "街道/镇名称（street.name_zh）",
        name_zh,
        true,
        MAX_NAME_CHARS,
    ) {
        problems.push(p);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn areas() -> Vec<String> {
        vec!["urban".into(), "kunshan".into()]
    }

    fn district() -> TenantDraft {
        TenantDraft {
            code: "newdistrict".into(),
            name_zh: " 新区 ".into(),
            kind: "district".into(),
            parent_code: String::new(),
            threshold_area: "urban".into(),
            enabled: true,
            sort_order: 20,
        }
    }

    fn fields(problems: &[FieldProblem]) -> Vec<&'static str> {
        problems.iter().map(|p| p.field).collect()
    }

    #[test]
    fn a_new_district_is_a_row_and_is_normalised() {
        let ok = check_tenant(&district(), &areas()).expect("valid");
        assert_eq!(ok.parent_code, CITY_TENANT);
        assert_eq!(ok.name_zh, "新区");
    }

    #[test]
    fn each_bad_tenant_field_is_named_in_chinese() {
        let cases: Vec<(TenantDraft, &str, &str)> = vec![
            (
                TenantDraft {
                    code: "Bad Code".into(),
                    ..district()
                },
                "tenant.code",
                "地区代码",
            ),
            (
                TenantDraft {
                    name_zh: String::new(),
                    ..district()
                },
                "tenant.name_zh",
                "地区名称",
            ),
            (
                TenantDraft {
                    kind: String::new(),
                    ..district()
                },
                "tenant.kind",
                "地区类型",
            ),
            (
                TenantDraft {
                    kind: "city".into(),
                    ..district()
                },
                "tenant.kind",
                "市级",
            ),
            (
                TenantDraft {
                    parent_code: "gusu".into(),
                    ..district()
                },
                "tenant.parent_code",
                "上级地区",
            ),
            (
                TenantDraft {
                    threshold_area: "mars".into(),
                    ..district()
                },
                "tenant.threshold_area",
                "“mars”不存在",
            ),
            (
                TenantDraft {
                    threshold_area: String::new(),
                    ..district()
                },
                "tenant.threshold_area",
                "门槛地区",
            ),
            (
                TenantDraft {
                    sort_order: -1,
                    ..district()
                },
                "tenant.sort_order",
                "显示顺序",
            ),
        ];
        for (draft, field, words) in cases {
            let problems = check_tenant(&draft, &areas()).expect_err(field);
            assert_eq!(fields(&problems), vec![field], "{draft:?}");
            assert!(
                problems[0].message.contains(words),
                "{}",
                problems[0].message
            );
        }
    }

    #[test]
    fn the_city_stays_the_city_and_stays_enabled() {
        let city = TenantDraft {
            code: CITY_TENANT.into(),
            name_zh: "苏州市（市积分办）".into(),
            kind: "city".into(),
            parent_code: String::new(),
            threshold_area: String::new(),
            enabled: true,
            sort_order: 0,
        };
        assert!(check_tenant(&city, &areas()).is_ok());
        let problems = check_tenant(
            &TenantDraft {
                kind: "district".into(),
                enabled: false,
                threshold_area: "urban".into(),
                ..city.clone()
            },
            &areas(),
        )
        .expect_err("city");
        assert_eq!(
            fields(&problems),
            vec!["tenant.kind", "tenant.threshold_area", "tenant.enabled"]
        );
    }

    #[test]
    fn areas_take_known_districts_only() {
        let districts = vec!["gusu".to_owned(), "kunshan".to_owned()];
        assert_eq!(
            check_area("urban", "市区", &["gusu".into(), "gusu".into()], &districts).expect("ok"),
            vec!["gusu".to_owned()]
        );
        let problems =
            check_area("", "", &["suzhou".into(), "mars".into()], &districts).expect_err("bad");
        assert_eq!(
            fields(&problems),
            vec![
                "area.code",
                "area.name_zh",
                "area.tenant_codes",
                "area.tenant_codes"
            ]
        );
    }

    #[test]
    fn streets_need_a_code_and_a_name() {
        assert!(check_street("changqiao", "长桥街道").is_ok());
        let problems = check_street("长桥", "").expect_err("bad");
        assert_eq!(fields(&problems), vec!["street.code", "street.name_zh"]);
        assert!(problems[0].message.contains("街道/镇代码"));
    }
}
