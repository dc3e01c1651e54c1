//! Property tests: caps are never exceeded, more insurance months never lower a score, and
//! arbitrary or malformed rule sets and facts are refused with errors, never a panic.

#![allow(clippy::unwrap_used)]

use chrono::NaiveDate;
use jifen_rules::document::Formula;
use jifen_rules::{CompiledRuleSet, DEFAULT_DOCUMENTS, Facts, RuleSetDocument, default_library};
use proptest::prelude::*;
use serde_json::{Value, json};

const EDU: &[&str] = &[
    "none",
    "high_school",
    "junior_college",
    "bachelor",
    "master",
    "doctor",
];
const SKILL: &[&str] = &["none", "L5", "L4", "L3", "L2", "L1"];
const TITLE: &[&str] = &["none", "junior", "intermediate", "senior"];

fn person() -> impl Strategy<Value = Value> {
    (
        (1950i32..2020, 1u32..13, 1u32..29),
        (0usize..6, 0usize..6, 0usize..4),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
        prop::array::uniform8(0i64..400),
        0.0f64..400.0,
    )
        .prop_map(|((y, m, d), (e, s, t), (vet, pov, permit, active, serious), n, area)| {
            json!({
                "birth_date": format!("{y:04}-{m:02}-{d:02}"),
                "education": EDU[e], "skill_level": SKILL[s], "professional_title": TITLE[t],
                "veteran": vet, "poverty_relief_origin": pov, "residence_permit_valid": permit,
                "insurance_active": active, "serious_criminal_record": serious,
                "insurance_months": n[0], "housing_fund_years": n[1] % 40, "residence_years": n[2] % 40,
                "invention_patents": n[3] % 10, "utility_model_patents": n[4] % 10,
                "dishonest_debtor_records": n[5] % 5, "detention_records": n[6] % 5,
                "sentence_months": n[7] % 30, "property_area_m2": area,
            })
        })
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 6, 30).unwrap_or_default()
}

fn all_compiled() -> Vec<CompiledRuleSet> {
    let lib = default_library();
    let mut out = Vec::new();
    for (id, _) in DEFAULT_DOCUMENTS {
        let eff = lib.effective(id).unwrap();
        for b in &eff.benefits {
            out.push(CompiledRuleSet::compile_for(&eff, b).unwrap());
        }
    }
    out
}

fn caps_of(doc: &RuleSetDocument, code: &str) -> Vec<i64> {
    let Some(ind) = doc.indicators.iter().find(|i| i.code == code) else {
        return vec![];
    };
    let mut caps: Vec<i64> = ind.cap.into_iter().collect();
    match &ind.formula {
        Formula::PerUnit { cap, .. }
        | Formula::AnchorLinear { cap, .. }
        | Formula::BasePlusExcess { cap, .. }
        | Formula::CountWithCap { cap, .. } => caps.extend(*cap),
        _ => {}
    }
    caps
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn caps_are_never_exceeded(a in person(), b in person()) {
        for rules in all_compiled() {
            let doc = rules.document();
            // Facts without the rule set's extras are valid for every rule set.
            for facts in [a.clone(), json!({"parents": [a.clone(), b.clone()]})] {
                let parsed = rules.parse_facts(&facts).unwrap();
                let sheet = rules.evaluate(&parsed, as_of());
                prop_assert_eq!(sheet.total, sheet.base + sheet.additional + sheet.deduction);
                prop_assert!(sheet.deduction <= 0);
                // The lines add up to the total, also for families.
                let sum: i64 = sheet.lines.iter().map(|l| l.points).sum();
                prop_assert_eq!(sum, sheet.total);
                for line in &sheet.lines {
                    for cap in caps_of(doc, &line.indicator) {
                        prop_assert!(line.points.abs() <= cap, "{} {} > {}", doc.id, line.indicator, cap);
                    }
                }
                for g in &doc.group_caps {
                    let members: i64 = sheet.lines.iter()
                        .filter(|l| doc.indicators.iter().any(|i| i.code == l.indicator && i.cap_group.as_deref() == Some(g.code.as_str())))
                        .map(|l| l.points).sum();
                    prop_assert!(members.abs() <= g.cap);
                }
                let summary = rules.evaluate_summary(&parsed, as_of());
                prop_assert_eq!(summary.total, sheet.total);
                prop_assert_eq!(summary.eligible, sheet.eligible);
            }
        }
    }

    #[test]
    fn more_insurance_months_never_lower_a_score(a in person(), b in person(), extra in 1i64..200) {
        for rules in all_compiled() {
            for facts in [a.clone(), json!({"parents": [a.clone(), b.clone()]})] {
                let mut more = facts.clone();
                let target = if more.get("parents").is_some() { &mut more["parents"][0] } else { &mut more };
                let months = target["insurance_months"].as_i64().unwrap_or(0);
                target["insurance_months"] = json!(months + extra);
                let before = rules.evaluate_summary(&rules.parse_facts(&facts).unwrap(), as_of());
                let after = rules.evaluate_summary(&rules.parse_facts(&more).unwrap(), as_of());
                prop_assert!(after.total >= before.total, "{}: {} < {}", rules.id(), after.total, before.total);
            }
        }
    }

    #[test]
    fn arbitrary_facts_json_never_panics(text in ".{0,200}") {
        let rules = default_library().compile("SZ-CITY-SCHOOL-2023", "school").unwrap();
        let _ = Facts::from_json_str(&text, rules.extra_facts());
    }

    #[test]
    fn mutated_facts_are_refused_or_scored(a in person(), key in 0usize..18, junk in junk_value()) {
        let rules = default_library().compile("SZ-CITY-SETTLEMENT-2023", "settlement").unwrap();
        let mut facts = a;
        let keys: Vec<String> = facts.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
        if let Some(k) = keys.get(key % keys.len().max(1)) {
            facts[k.as_str()] = junk;
        }
        if let Ok(parsed) = rules.parse_facts(&facts) {
            let _ = rules.evaluate(&parsed, as_of());
        }
    }

    #[test]
    fn arbitrary_rule_set_text_never_panics(text in ".{0,300}") {
        if let Ok(doc) = RuleSetDocument::from_json(&text) {
            let _ = CompiledRuleSet::compile(&doc);
        }
    }

    #[test]
    fn mutated_rule_sets_are_refused_or_evaluate(doc_index in 0usize..7, path_pick in any::<u64>(), junk in junk_value(), a in person()) {
        let (_, text) = DEFAULT_DOCUMENTS[doc_index % DEFAULT_DOCUMENTS.len()];
        let mut value: Value = serde_json::from_str(text).unwrap();
        mutate(&mut value, path_pick, junk);
        let Ok(doc) = serde_json::from_str::<RuleSetDocument>(&value.to_string()).map_err(|_| ()) else { return Ok(()) };
        let mut lib = default_library().clone();
        lib.insert(doc.clone());
        for b in ["school", "settlement", "medical", "talent"] {
            if let Ok(rules) = lib.compile(&doc.id, b)
                && let Ok(f) = rules.parse_facts(&a)
            {
                let _ = rules.evaluate(&f, as_of());
            }
        }
    }
}

fn junk_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
        Just(json!([])),
        Just(json!({})),
        Just(json!({"var": "nope"})),
        Just(json!({"kind": "per_unit", "rate": i64::MAX, "per": 0})),
        Just(json!(-1)),
    ]
}

/// Replaces one node (chosen by `pick`) of a JSON tree with `junk`.
fn mutate(value: &mut Value, pick: u64, junk: Value) {
    fn count(v: &Value) -> u64 {
        1 + match v {
            Value::Object(m) => m.values().map(count).sum(),
            Value::Array(a) => a.iter().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, target: &mut u64, junk: &Value) -> bool {
        if *target == 0 {
            *v = junk.clone();
            return true;
        }
        *target -= 1;
        match v {
            Value::Object(m) => m.values_mut().any(|c| walk(c, target, junk)),
            Value::Array(a) => a.iter_mut().any(|c| walk(c, target, junk)),
            _ => false,
        }
    }
    let mut target = pick % count(value);
    walk(value, &mut target, &junk);
}
