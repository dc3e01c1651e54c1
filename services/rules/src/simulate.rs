//! The JSON object `jifen simulate` prints (contract.md, "The command-line simulator").

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::compile::CompiledRuleSet;
use crate::error::RulesError;
use crate::evaluate::ScoreSheet;

/// Returns exactly the contract's simulator object: `tenant`, `benefit`, `rule_set`,
/// `rule_set_version`, `total`, `base`, `additional`, `deduction`, `eligible`, `gates`,
/// `lines`, and `family` (only for family facts).
pub fn simulate_json(tenant: &str, sheet: &ScoreSheet) -> Value {
    let gates: Vec<Value> = sheet
        .gates
        .iter()
        .map(|g| json!({"code": g.code, "outcome": g.outcome.as_str(), "message": g.message}))
        .collect();
    let lines: Vec<Value> = sheet
        .lines
        .iter()
        .map(|l| {
            json!({"indicator": l.indicator, "category": l.category.as_str(), "points": l.points,
                   "explanation": l.explanation})
        })
        .collect();
    let mut out = json!({
        "tenant": tenant,
        "benefit": sheet.benefit,
        "rule_set": sheet.rule_set,
        "rule_set_version": sheet.rule_set_version,
        "total": sheet.total,
        "base": sheet.base,
        "additional": sheet.additional,
        "deduction": sheet.deduction,
        "eligible": sheet.eligible,
        "gates": gates,
        "lines": lines,
    });
    if let (Some(family), Value::Object(map)) = (&sheet.family, &mut out) {
        map.insert(
            "family".to_owned(),
            json!({"counted_parent": family.counted_parent, "tie_reference": family.tie_reference}),
        );
    }
    out
}

/// Parses `facts` against `rules`, evaluates at `as_of` and returns the simulator object.
pub fn simulate(
    rules: &CompiledRuleSet,
    tenant: &str,
    facts: &Value,
    as_of: NaiveDate,
) -> Result<Value, RulesError> {
    let facts = rules.parse_facts(facts)?;
    Ok(simulate_json(tenant, &rules.evaluate(&facts, as_of)))
}
