//! The shared facts vocabulary of `contract.md`: built-in fact keys, their types, Chinese names
//! and enum words. Rule sets may declare extra keys on top of these.

/// The type of a fact value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactType {
    /// JSON `true` / `false`.
    Bool,
    /// Whole number ≥ 0 (counts, months, years).
    Integer,
    /// Number ≥ 0; counted in full units (floored) by the engine, e.g. m².
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// One word of a closed list.
    Enum(&'static [EnumWord]),
}

/// One word of a built-in enum fact with its Chinese label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EnumWord {
    /// The word used in facts JSON and rule-set maps, e.g. `bachelor`.
    pub word: &'static str,
    /// Chinese label used in explanations, e.g. `本科`.
    pub label_zh: &'static str,
}

/// A built-in fact key of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BuiltinFact {
    /// JSON key.
    pub key: &'static str,
    /// Chinese name used in messages, e.g. `参保月数`.
    pub name_zh: &'static str,
    /// Value type.
    pub ty: FactType,
}

const fn w(word: &'static str, label_zh: &'static str) -> EnumWord {
    EnumWord { word, label_zh }
}

/// Education words, lowest first (高中/中职, 大专, 本科, 硕士, 博士).
pub const EDUCATION_WORDS: &[EnumWord] = &[
    w("none", "无"),
    w("high_school", "高中/中职"),
    w("junior_college", "大专"),
    w("bachelor", "本科"),
    w("master", "硕士"),
    w("doctor", "博士"),
];

/// Skill-level words (国家职业资格 五级 … 一级), lowest first.
pub const SKILL_WORDS: &[EnumWord] = &[
    w("none", "无"),
    w("L5", "五级/初级工"),
    w("L4", "四级/中级工"),
    w("L3", "三级/高级工"),
    w("L2", "二级/技师"),
    w("L1", "一级/高级技师"),
];

/// Professional-title words (职称), lowest first.
pub const TITLE_WORDS: &[EnumWord] = &[
    w("none", "无"),
    w("junior", "初级职称"),
    w("intermediate", "中级职称"),
    w("senior", "副高及以上职称"),
];

/// Words of a boolean fact as seen by an `enum_map` formula.
pub const BOOL_WORDS: &[EnumWord] = &[w("false", "否"), w("true", "是")];

const fn f(key: &'static str, name_zh: &'static str, ty: FactType) -> BuiltinFact {
    BuiltinFact { key, name_zh, ty }
}

/// Slot numbers of the built-in facts (positions in [`BUILTIN_FACTS`]).
pub mod slot {
    #![allow(missing_docs)]
    pub const BIRTH_DATE: usize = 0;
    pub const EDUCATION: usize = 1;
    pub const SKILL_LEVEL: usize = 2;
    pub const PROFESSIONAL_TITLE: usize = 3;
    pub const VETERAN: usize = 4;
    pub const POVERTY_RELIEF_ORIGIN: usize = 5;
    pub const INSURANCE_MONTHS: usize = 6;
    pub const HOUSING_FUND_YEARS: usize = 7;
    pub const RESIDENCE_YEARS: usize = 8;
    pub const PROPERTY_AREA_M2: usize = 9;
    pub const INVENTION_PATENTS: usize = 10;
    pub const UTILITY_MODEL_PATENTS: usize = 11;
    pub const DISHONEST_DEBTOR_RECORDS: usize = 12;
    pub const DETENTION_RECORDS: usize = 13;
    pub const SENTENCE_MONTHS: usize = 14;
    pub const RESIDENCE_PERMIT_VALID: usize = 15;
    pub const INSURANCE_ACTIVE: usize = 16;
    pub const SERIOUS_CRIMINAL_RECORD: usize = 17;
}

/// Number of built-in fact keys.
pub const BUILTIN_COUNT: usize = 18;

/// The built-in facts of `contract.md`, indexed by [`slot`].
pub static BUILTIN_FACTS: [BuiltinFact; BUILTIN_COUNT] = [
    f("birth_date", "出生日期", FactType::Date),
    f("education", "文化程度", FactType::Enum(EDUCATION_WORDS)),
    f("skill_level", "职业资格等级", FactType::Enum(SKILL_WORDS)),
    f("professional_title", "职称", FactType::Enum(TITLE_WORDS)),
    f("veteran", "退役军人", FactType::Bool),
    f("poverty_relief_origin", "对口扶贫地区户籍", FactType::Bool),
    f("insurance_months", "参保月数", FactType::Integer),
    f("housing_fund_years", "公积金缴存年数", FactType::Integer),
    f("residence_years", "居住年限", FactType::Integer),
    f("property_area_m2", "房产面积", FactType::Number),
    f("invention_patents", "发明专利数", FactType::Integer),
    f("utility_model_patents", "实用新型专利数", FactType::Integer),
    f(
        "dishonest_debtor_records",
        "失信被执行人记录数",
        FactType::Integer,
    ),
    f(
        "detention_records",
        "行政拘留/强制隔离戒毒记录数",
        FactType::Integer,
    ),
    f("sentence_months", "判处刑罚月数", FactType::Integer),
    f("residence_permit_valid", "居住证有效", FactType::Bool),
    f("insurance_active", "正在缴纳社会保险", FactType::Bool),
    f(
        "serious_criminal_record",
        "严重刑事犯罪记录",
        FactType::Bool,
    ),
];

/// Derived fact: age in full years at the evaluation's `as_of` date (from `birth_date`).
/// Indicators and gates may use it; facts documents may not set it.
pub const AGE_KEY: &str = "age";

/// Largest accepted count or amount; larger values are refused as implausible, which also keeps
/// every product of the engine far from `i64` overflow.
pub const MAX_FACT_VALUE: i64 = 10_000_000;

/// Returns the slot of a built-in fact key.
pub fn builtin_slot(key: &str) -> Option<usize> {
    BUILTIN_FACTS.iter().position(|f| f.key == key)
}

/// Returns the index of `word` in an enum word list.
pub(crate) fn word_index(words: &[EnumWord], word: &str) -> Option<usize> {
    words.iter().position(|w| w.word == word)
}

/// Verifying departments (核分部门); codes are stable identifiers.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Department {
    /// 公安
    PublicSecurity,
    /// 人社
    HumanResources,
    /// 教育
    Education,
    /// 公积金中心
    HousingFund,
    /// 不动产登记
    RealEstate,
    /// 法院
    Court,
    /// 退役军人事务局
    VeteransAffairs,
    /// 卫健
    Health,
    /// 知识产权
    IntellectualProperty,
    /// 税务
    Taxation,
}

impl Department {
    /// Returns the Chinese short name of the department.
    pub fn name_zh(self) -> &'static str {
        match self {
            Department::PublicSecurity => "公安",
            Department::HumanResources => "人社",
            Department::Education => "教育",
            Department::HousingFund => "公积金",
            Department::RealEstate => "不动产",
            Department::Court => "法院",
            Department::VeteransAffairs => "退役军人",
            Department::Health => "卫健",
            Department::IntellectualProperty => "知识产权",
            Department::Taxation => "税务",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_match_table() {
        assert_eq!(
            BUILTIN_FACTS[slot::INSURANCE_MONTHS].key,
            "insurance_months"
        );
        assert_eq!(
            BUILTIN_FACTS[slot::SERIOUS_CRIMINAL_RECORD].key,
            "serious_criminal_record"
        );
        assert_eq!(
            builtin_slot("property_area_m2"),
            Some(slot::PROPERTY_AREA_M2)
        );
        assert_eq!(builtin_slot(AGE_KEY), None);
    }
}
