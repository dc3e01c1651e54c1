//! The rule-set document (suzhou-points §6.1): what administrators edit, store and publish.
//!
//! Every number of a scoring table lives here as data. A document is either a complete rule set
//! (a city template or a district's own scheme) or an overlay that `extends` another one and
//! adds, replaces or disables indicators by code (see [`crate::inherit`]).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::vocabulary::Department;

/// A versioned rule set for one or more benefits.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleSetDocument {
    /// Stable id, e.g. `SZ-CITY-SCHOOL-2023`.
    pub id: String,
    /// Version number, ≥ 1; a published version is immutable.
    pub version: u32,
    /// Chinese name shown to users.
    pub name_zh: String,
    /// Benefit kinds served (`school`, `settlement`, `medical`, `talent`, …); data, not code.
    #[serde(default)]
    pub benefits: Vec<String>,
    /// Owning tenant code; `None` for a city template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Parent rule-set id for an overlay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Ids this document was materialised from (root first); set by inheritance, informative.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub materialised_from: Vec<String>,
    /// Legal basis, e.g. `苏府规字〔2020〕15号`.
    #[serde(default)]
    pub legal_basis: String,
    /// Which numbers are reconstructed (`[RECON]`) or from low-reliability sources (`[LOW]`).
    #[serde(default)]
    pub reconstructed: Vec<ReconstructedNote>,
    /// Scoring indicators (empty for a pure overlay).
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// Caps on the sum of several indicators (e.g. 发明创造 ≤ 60).
    #[serde(default)]
    pub group_caps: Vec<GroupCap>,
    /// Groups of which only the highest-scoring indicator counts.
    #[serde(default)]
    pub exclusive_groups: Vec<ExclusiveGroup>,
    /// Eligibility preconditions, kept separate from deductions.
    #[serde(default)]
    pub gates: Vec<Gate>,
    /// How a family's two parents combine (school, medical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<FamilyRule>,
    /// Ordered ranking keys used after the total.
    #[serde(default)]
    pub tie_breakers: Vec<TieBreaker>,
    /// How the result is decided: seats or threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
    /// Fact keys this rule set adds to the contract vocabulary.
    #[serde(default)]
    pub extra_facts: Vec<ExtraFact>,
    /// Overlay: indicators added on top of `extends`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<Indicator>,
    /// Overlay: indicators replacing the parent's indicator of the same code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace: Vec<Indicator>,
    /// Overlay: codes of parent indicators switched off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
}

/// Marks a number as reconstructed or low-reliability.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReconstructedNote {
    /// What the note is about: an indicator code, gate code or `decision` etc.
    pub item: String,
    /// Reliability level.
    pub level: Reliability,
    /// Explanation in Chinese or English.
    pub note: String,
}

/// Reliability of a number (suzhou-points legend).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Reliability {
    /// `[RECON]`: plausible reconstruction, not found in any source.
    Recon,
    /// `[LOW]`: found only in a low-reliability source.
    Low,
}

/// Indicator category; total = base + additional + deduction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 基础分
    Base,
    /// 附加分
    Additional,
    /// 扣减分 (points ≤ 0)
    Deduction,
}

impl Category {
    /// Returns the wire word (`base`, `additional`, `deduction`).
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Base => "base",
            Category::Additional => "additional",
            Category::Deduction => "deduction",
        }
    }
}

/// One scoring indicator.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable code, unique within the rule set.
    pub code: String,
    /// Chinese name used in explanations, e.g. `参保`.
    pub name_zh: String,
    /// Category.
    pub category: Category,
    /// Input fact key (contract vocabulary, a declared extra key, or `age`).
    pub fact: String,
    /// How the fact becomes points.
    pub formula: Formula,
    /// Maximum absolute points of this indicator (applies after the formula's own cap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap: Option<i64>,
    /// Exclusive group (only the highest member counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusive_group: Option<String>,
    /// Group cap this indicator belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cap_group: Option<String>,
    /// Department that verifies the fact.
    pub verifier_department: Department,
    /// Accepted evidence documents.
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Benefits this indicator applies to; empty = all benefits of the rule set.
    #[serde(default)]
    pub applies_to: Vec<String>,
}

/// The closed set of formula kinds (suzhou-points §6.1). All arithmetic is integer; divisions
/// floor (full units only).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Formula {
    /// Word → points (enum facts; boolean facts use the words `true` / `false`). Unlisted words
    /// score 0.
    EnumMap {
        /// Points per word.
        map: BTreeMap<String, i64>,
    },
    /// `floor(value / per) × rate`; nothing below `floor` units; result ≤ `cap` in magnitude.
    PerUnit {
        /// Points per unit (negative for deductions).
        rate: i64,
        /// Unit size (default 1), e.g. 12 to count full years out of months.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        per: Option<i64>,
        /// Minimum number of units before the indicator scores at all (门槛).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        floor: Option<i64>,
        /// Maximum absolute points.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<i64>,
        /// Chinese unit word for explanations, e.g. `个月`.
        #[serde(default)]
        unit_zh: String,
    },
    /// `base + step × distance from anchor` in `direction`; beyond the anchor 0 if `zero_beyond`.
    AnchorLinear {
        /// Anchor value (e.g. age 40).
        anchor: i64,
        /// Points at the anchor.
        base: i64,
        /// Points per unit of distance.
        step: i64,
        /// Which side of the anchor earns more.
        direction: Direction,
        /// Score 0 on the other side of the anchor.
        #[serde(default)]
        zero_beyond: bool,
        /// Maximum absolute points.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<i64>,
        /// Chinese unit word, e.g. `岁`.
        #[serde(default)]
        unit_zh: String,
    },
    /// Value > 0: `base` up to `threshold`, then `step_points` per full `step_size` above it.
    BasePlusExcess {
        /// Threshold (e.g. 75 m²).
        threshold: i64,
        /// Points for any positive value up to the threshold.
        base: i64,
        /// Size of one step above the threshold (≥ 1).
        step_size: i64,
        /// Points per full step.
        step_points: i64,
        /// Maximum absolute points.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<i64>,
        /// Chinese unit word, e.g. `m²`.
        #[serde(default)]
        unit_zh: String,
    },
    /// `count × points`, capped.
    CountWithCap {
        /// Points per item (negative for deductions).
        points: i64,
        /// Maximum absolute points.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cap: Option<i64>,
        /// Chinese unit word, e.g. `项`.
        #[serde(default)]
        unit_zh: String,
    },
    /// `fact × factor fact (if any) × rate`, e.g. sentence months × −50.
    Product {
        /// Rate (negative for deductions).
        rate: i64,
        /// Optional second fact key multiplied in.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        factor: Option<String>,
        /// Chinese unit word, e.g. `个月`.
        #[serde(default)]
        unit_zh: String,
    },
}

/// Direction of an `anchor_linear` formula.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Values below the anchor earn more (age).
    Younger,
    /// Values above the anchor earn more.
    Older,
}

/// Cap on the sum of the indicators naming this group in `cap_group`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupCap {
    /// Group code.
    pub code: String,
    /// Chinese name, e.g. `发明创造`.
    pub name_zh: String,
    /// Maximum absolute sum.
    pub cap: i64,
}

/// Indicators of which only one counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExclusiveGroup {
    /// Group code.
    pub code: String,
    /// Chinese name, e.g. `文化程度与技术技能取高者`.
    #[serde(default)]
    pub name_zh: String,
    /// How members combine.
    #[serde(default)]
    pub combine: Combine,
}

/// Combination of an exclusive group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// Only the highest-scoring member counts (the first one on a tie).
    #[default]
    MaxOf,
}

/// An eligibility precondition, evaluated with JsonLogic over the facts (plus `age`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gate {
    /// Stable code, e.g. `no_serious_crime`.
    pub code: String,
    /// Chinese message shown when the gate does not pass.
    pub message_zh: String,
    /// JsonLogic condition; truthy = pass. Missing facts read as false / 0 / `none`.
    pub condition: serde_json::Value,
    /// Outcome when the condition is not met.
    pub on_failure: GateFailure,
    /// When the gate is (re-)checked.
    #[serde(default)]
    pub recheck_at: Vec<RecheckPoint>,
}

/// Outcome of a gate whose condition is not met.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateFailure {
    /// Ineligible.
    Fail,
    /// A person decides (the engine does not).
    ManualReview,
}

/// When a gate is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecheckPoint {
    /// At submission.
    Submit,
    /// When the ranking / admission list is generated.
    Ranking,
}

/// How two parents' scores combine.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyRule {
    /// The rule.
    pub rule: FamilyRuleKind,
    /// What is recorded as the tie reference.
    #[serde(default)]
    pub tie_reference: TieReference,
}

/// Family combination rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FamilyRuleKind {
    /// The higher-scoring parent's sheet counts (v2016 rule).
    HigherParent,
    /// Each indicator is taken from one parent only (the better one), never combined (Kunshan).
    OneSpousePerItem,
    /// Both parents' points are added.
    Sum,
}

/// The tie reference of a family result.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TieReference {
    /// The other parent's total.
    #[default]
    OtherParentTotal,
    /// No tie reference.
    None,
}

/// One ranking key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TieBreaker {
    /// Key: `total`, `base`, `additional`, `deduction`, `other_parent_total`,
    /// `residence_registered_at`, `insurance_started_at`, `submitted_at`, or a fact key.
    pub key: String,
    /// Sort direction.
    pub direction: SortDirection,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortDirection {
    /// Ascending (earlier / smaller first).
    Asc,
    /// Descending (higher first).
    Desc,
}

/// How the outcome is decided.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
pub enum Decision {
    /// Ranking against seats (入学).
    Seats {
        /// Ranking scope: `school`, `area` (片区) or `district`.
        scope: String,
    },
    /// Pass mark per threshold area and year (落户, 入医). An empty list is a placeholder that
    /// administrators fill in before a cycle decides.
    Threshold {
        /// Values per area and year.
        values: Vec<ThresholdValue>,
    },
}

/// A pass mark for one threshold area and year.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdValue {
    /// Threshold area, e.g. `市区`, `昆山`, `张家港·常熟·太仓`.
    pub area: String,
    /// Year.
    pub year: i32,
    /// Pass mark.
    pub value: i64,
}

/// A fact key declared by a rule set in addition to the contract vocabulary.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtraFact {
    /// JSON key.
    pub key: String,
    /// Chinese name used in messages.
    pub name_zh: String,
    /// Type.
    #[serde(rename = "type")]
    pub ty: ExtraFactType,
    /// Allowed words when `type` is `enum`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

/// Type of a declared extra fact.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExtraFactType {
    /// `true` / `false`.
    Bool,
    /// Whole number ≥ 0.
    Integer,
    /// Number ≥ 0, counted in full units.
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// One of `values`.
    Enum,
}

impl RuleSetDocument {
    /// Returns true if this document is an overlay (has `extends`).
    pub fn is_overlay(&self) -> bool {
        self.extends.is_some()
    }

    /// Parses a document from JSON; a malformed document is refused with the JSON path of the
    /// problem. This checks shape only; see [`crate::validate::validate`] for consistency.
    pub fn from_json(json: &str) -> Result<Self, crate::RulesError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let path = json_pointer(&e.path().to_string());
            let inner = e.into_inner();
            crate::RulesError::invalid(vec![crate::Violation::new(
                path,
                "malformed",
                format!("规则集格式错误：{inner}"),
            )])
        })
    }

    /// Serialises the document as pretty JSON.
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// Converts a serde_path_to_error path (`indicators[3].formula.rate`) into a JSON pointer.
fn json_pointer(path: &str) -> String {
    if path == "." || path.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for part in path.split('.') {
        let mut rest = part;
        while let Some(open) = rest.find('[') {
            let (name, tail) = rest.split_at(open);
            if !name.is_empty() {
                out.push('/');
                out.push_str(name);
            }
            let close = tail.find(']').unwrap_or(tail.len());
            out.push('/');
            out.push_str(&tail[1..close]);
            rest = tail.get(close + 1..).unwrap_or("");
        }
        if !rest.is_empty() {
            out.push('/');
            out.push_str(rest);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_from_serde_path() {
        assert_eq!(
            json_pointer("indicators[3].formula.rate"),
            "/indicators/3/formula/rate"
        );
        assert_eq!(json_pointer("."), "");
        assert_eq!(json_pointer("gates[0]"), "/gates/0");
    }

    #[test]
    fn malformed_document_names_path() {
        let json = r#"{"id":"X","version":1,"name_zh":"x","indicators":[{"code":"a","name_zh":"a",
            "category":"base","fact":"insurance_months","verifier_department":"human_resources",
            "formula":{"kind":"per_unit","rate":"five"}}]}"#;
        let err = RuleSetDocument::from_json(json).unwrap_err();
        let v = &err.violations()[0];
        assert_eq!(v.code, "malformed");
        assert!(v.path.starts_with("/indicators/0/formula"), "{}", v.path);
    }

    #[test]
    fn unknown_formula_kind_refused() {
        let json = r#"{"id":"X","version":1,"name_zh":"x","indicators":[{"code":"a","name_zh":"a",
            "category":"base","fact":"insurance_months","verifier_department":"human_resources",
            "formula":{"kind":"script","src":"1+1"}}]}"#;
        assert!(RuleSetDocument::from_json(json).is_err());
    }
}
