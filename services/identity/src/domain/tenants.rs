//! The tenants and threshold areas `jifen seed` loads (domain contract). They are data: a new
//! district is a row written by UpsertTenant, not a code change.

/// A tenant as seeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSeed {
    /// Stable code.
    pub code: &'static str,
    /// Display name.
    pub name_zh: &'static str,
    /// `city`, `district` or `county_city`.
    pub kind: &'static str,
    /// Threshold area code; empty for the city.
    pub threshold_area: &'static str,
}

/// The eleven tenants of Suzhou, in display order.
pub const TENANTS: [TenantSeed; 11] = [
    t("suzhou", "苏州市（市积分办）", "city", ""),
    t("gusu", "姑苏区", "district", "urban"),
    t("wuzhong", "吴中区", "district", "urban"),
    t("xiangcheng", "相城区", "district", "urban"),
    t("huqiu", "虎丘区（苏州高新区）", "district", "urban"),
    t("wujiang", "吴江区", "district", "urban"),
    t("sip", "苏州工业园区", "district", "urban"),
    t("kunshan", "昆山市", "county_city", "kunshan"),
    t("changshu", "常熟市", "county_city", "zjg_cs_tc"),
    t("zhangjiagang", "张家港市", "county_city", "zjg_cs_tc"),
    t("taicang", "太仓市", "county_city", "zjg_cs_tc"),
];

/// Threshold areas (落户 pass-mark areas): code and name.
pub const THRESHOLD_AREAS: [(&str, &str); 3] = [
    ("urban", "市区"),
    ("kunshan", "昆山"),
    ("zjg_cs_tc", "张家港·常熟·太仓"),
];

const fn t(
    code: &'static str,
    name_zh: &'static str,
    kind: &'static str,
    threshold_area: &'static str,
) -> TenantSeed {
    TenantSeed {
        code,
        name_zh,
        kind,
        threshold_area,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_district_has_a_known_threshold_area() {
        for tenant in TENANTS.iter().skip(1) {
            assert!(
                THRESHOLD_AREAS
                    .iter()
                    .any(|(c, _)| *c == tenant.threshold_area),
                "{}",
                tenant.code
            );
        }
        assert_eq!(TENANTS[0].code, jifen_kit::auth::CITY_TENANT);
    }
}
