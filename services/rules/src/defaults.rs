//! The rule sets seeded by `jifen seed` (embedded JSON in `rulesets/`), the contract's default
//! rule set per tenant and benefit, threshold areas and the published pass marks.

use std::sync::LazyLock;

use crate::document::RuleSetDocument;
use crate::inherit::RuleSetLibrary;

/// Shipped documents as `(id, JSON text)`. Overlays come after their parents.
pub const DEFAULT_DOCUMENTS: &[(&str, &str)] = &[
    (
        "SZ-CITY-SETTLEMENT-2021",
        include_str!("../rulesets/sz-city-settlement-2021.json"),
    ),
    (
        "SZ-CITY-SCHOOL-2023",
        include_str!("../rulesets/sz-city-school-2023.json"),
    ),
    (
        "SZ-CITY-SETTLEMENT-2023",
        include_str!("../rulesets/sz-city-settlement-2023.json"),
    ),
    (
        "CS-SCHOOL-2023",
        include_str!("../rulesets/cs-school-2023.json"),
    ),
    (
        "KS-SCHOOL-2022",
        include_str!("../rulesets/ks-school-2022.json"),
    ),
    (
        "SZ-CITY-TALENT-PLACEHOLDER",
        include_str!("../rulesets/sz-city-talent-placeholder.json"),
    ),
    (
        "SZ-CITY-MEDICAL-2021",
        include_str!("../rulesets/sz-city-medical-2021.json"),
    ),
];

/// The six 市区 districts.
const CITY_DISTRICTS: &[&str] = &["gusu", "wuzhong", "xiangcheng", "huqiu", "wujiang", "sip"];

/// The tenants of `contract.md`.
pub const TENANTS: &[&str] = &[
    "suzhou",
    "gusu",
    "wuzhong",
    "xiangcheng",
    "huqiu",
    "wujiang",
    "sip",
    "kunshan",
    "changshu",
    "zhangjiagang",
    "taicang",
];

/// Returns the default rule-set id for a tenant and benefit (contract.md "Default rule sets"):
/// the city templates everywhere, except 常熟 (school overlay) and 昆山 (own school scheme).
pub fn default_rule_set_for(tenant: &str, benefit: &str) -> Option<&'static str> {
    if !TENANTS.contains(&tenant) {
        return None;
    }
    match (tenant, benefit) {
        ("changshu", "school") => Some("CS-SCHOOL-2023"),
        ("kunshan", "school") => Some("KS-SCHOOL-2022"),
        (_, "school") => Some("SZ-CITY-SCHOOL-2023"),
        (_, "settlement") => Some("SZ-CITY-SETTLEMENT-2021"),
        (_, "medical") => Some("SZ-CITY-MEDICAL-2021"),
        (_, "talent") => Some("SZ-CITY-TALENT-PLACEHOLDER"),
        _ => None,
    }
}

/// Returns the 落户 threshold area of a tenant (`市区`, `昆山`, `张家港·常熟·太仓`); `None` for
/// the city level and unknown tenants.
pub fn threshold_area_for(tenant: &str) -> Option<&'static str> {
    match tenant {
        t if CITY_DISTRICTS.contains(&t) => Some("市区"),
        "kunshan" => Some("昆山"),
        "changshu" | "zhangjiagang" | "taicang" => Some("张家港·常熟·太仓"),
        _ => None,
    }
}

/// Published 落户 pass marks `(area, year, value)` [S11][S12].
pub const THRESHOLDS: &[(&str, i32, i64)] = &[
    ("市区", 2021, 565),
    ("昆山", 2021, 600),
    ("张家港·常熟·太仓", 2021, 450),
    ("市区", 2022, 500),
    ("昆山", 2022, 590),
    ("张家港·常熟·太仓", 2022, 400),
];

/// Returns the published pass mark of an area and year.
pub fn threshold_for(area: &str, year: i32) -> Option<i64> {
    THRESHOLDS
        .iter()
        .find(|(a, y, _)| *a == area && *y == year)
        .map(|(_, _, v)| *v)
}

static LIBRARY: LazyLock<RuleSetLibrary> = LazyLock::new(|| {
    let mut lib = RuleSetLibrary::new();
    for (_, json) in DEFAULT_DOCUMENTS {
        // Shipped data is checked by the tests below; a broken file is skipped, not a panic.
        if let Ok(doc) = RuleSetDocument::from_json(json) {
            lib.insert(doc);
        }
    }
    lib
});

/// Returns the library of shipped rule sets.
pub fn default_library() -> &'static RuleSetLibrary {
    &LIBRARY
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Decision;

    #[test]
    fn every_shipped_document_parses_validates_and_compiles() {
        for (id, json) in DEFAULT_DOCUMENTS {
            let doc = RuleSetDocument::from_json(json).unwrap_or_else(|e| panic!("{id}: {e}"));
            assert_eq!(doc.id, *id);
            assert!(!doc.legal_basis.is_empty(), "{id} legal basis");
            assert!(!doc.reconstructed.is_empty(), "{id} reconstructed notes");
            let lib = default_library();
            let eff = lib.effective(id).unwrap_or_else(|e| panic!("{id}: {e:?}"));
            for b in &eff.benefits {
                lib.compile(id, b)
                    .unwrap_or_else(|e| panic!("{id}/{b}: {e:?}"));
            }
        }
    }

    #[test]
    fn defaults_per_tenant() {
        for d in CITY_DISTRICTS
            .iter()
            .chain(["suzhou", "zhangjiagang", "taicang"].iter())
        {
            assert_eq!(
                default_rule_set_for(d, "school"),
                Some("SZ-CITY-SCHOOL-2023")
            );
            assert_eq!(
                default_rule_set_for(d, "settlement"),
                Some("SZ-CITY-SETTLEMENT-2021")
            );
        }
        assert_eq!(
            default_rule_set_for("changshu", "school"),
            Some("CS-SCHOOL-2023")
        );
        assert_eq!(
            default_rule_set_for("changshu", "settlement"),
            Some("SZ-CITY-SETTLEMENT-2021")
        );
        assert_eq!(
            default_rule_set_for("kunshan", "school"),
            Some("KS-SCHOOL-2022")
        );
        assert_eq!(default_rule_set_for("nowhere", "school"), None);
        assert_eq!(default_rule_set_for("gusu", "housing"), None);
        for t in TENANTS {
            for b in ["school", "settlement", "medical", "talent"] {
                let id = default_rule_set_for(t, b).unwrap_or_default();
                default_library()
                    .compile(id, b)
                    .unwrap_or_else(|e| panic!("{t}/{b}: {e:?}"));
            }
        }
    }

    #[test]
    fn thresholds_as_data() {
        assert_eq!(threshold_for("市区", 2021), Some(565));
        assert_eq!(threshold_for("张家港·常熟·太仓", 2022), Some(400));
        assert_eq!(threshold_area_for("taicang"), Some("张家港·常熟·太仓"));
        assert_eq!(threshold_area_for("suzhou"), None);
        let eff = default_library()
            .effective("SZ-CITY-SETTLEMENT-2021")
            .unwrap();
        let Some(Decision::Threshold { values }) = eff.decision else {
            panic!("threshold")
        };
        for (area, year, value) in THRESHOLDS {
            assert!(
                values
                    .iter()
                    .any(|v| v.area == *area && v.year == *year && v.value == *value)
            );
        }
    }

    #[test]
    fn medical_drops_settlement_only_deductions() {
        let eff = default_library().effective("SZ-CITY-MEDICAL-2021").unwrap();
        assert!(
            eff.indicators
                .iter()
                .all(|i| i.category != crate::document::Category::Deduction)
        );
        assert_eq!(eff.materialised_from, ["SZ-CITY-SETTLEMENT-2021"]);
        let settle = default_library()
            .effective("SZ-CITY-SETTLEMENT-2021")
            .unwrap();
        assert!(
            settle
                .indicators
                .iter()
                .any(|i| i.code == "criminal_sentence")
        );
    }
}
