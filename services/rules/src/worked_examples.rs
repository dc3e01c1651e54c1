//! The worked examples of contract.md / suzhou-points §6.3, which must hold.

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::{CompiledRuleSet, GateOutcome, default_library, simulate};

fn rules(id: &str, benefit: &str) -> CompiledRuleSet {
    default_library().compile(id, benefit).unwrap()
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn line<'a>(out: &'a Value, code: &str) -> &'a Value {
    out["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["indicator"] == code)
        .unwrap()
}

#[test]
fn example_a_settlement_2021_is_790() {
    let r = rules("SZ-CITY-SETTLEMENT-2021", "settlement");
    let facts = json!({"education": "bachelor", "professional_title": "intermediate",
        "insurance_months": 88, "housing_fund_years": 5, "property_area_m2": 92,
        "residence_years": 5});
    let out = simulate(&r, "gusu", &facts, date("2022-06-30")).unwrap();
    assert_eq!(out["total"], 790, "{out:#}");
    assert_eq!(out["deduction"], 0);
    assert_eq!(line(&out, "education")["points"], 60);
    assert_eq!(line(&out, "professional_title")["points"], 60);
    assert_eq!(line(&out, "insurance_months")["points"], 440);
    assert_eq!(line(&out, "housing_fund_years")["points"], 25);
    assert_eq!(line(&out, "property")["points"], 55);
    assert_eq!(line(&out, "residence_years")["points"], 150);
    assert_eq!(
        line(&out, "insurance_months")["explanation"],
        "参保 88 个月 × 5 分 = 440 分"
    );
    assert_eq!(
        line(&out, "property")["explanation"],
        "房产 92 m²：50 + 5 × 1 = 55 分（超出 75 m² 部分每满 10 m² 加 5 分）"
    );
    assert!(out.get("family").is_none());
    assert_eq!(out["rule_set"], "SZ-CITY-SETTLEMENT-2021");
    assert_eq!(out["benefit"], "settlement");
    assert_eq!(out["tenant"], "gusu");
}

fn example_b_facts() -> Value {
    json!({"parents": [
        {"birth_date": "1985-01-15", "education": "bachelor", "skill_level": "L4",
         "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4},
        {"birth_date": "1989-03-01", "education": "junior_college", "skill_level": "L3",
         "insurance_months": 50, "residence_years": 6}
    ]})
}

#[test]
fn example_b_school_2023_family_684_tie_522() {
    let r = rules("SZ-CITY-SCHOOL-2023", "school");
    let as_of = date("2023-06-30");
    let out = simulate(&r, "wuzhong", &example_b_facts(), as_of).unwrap();
    assert_eq!(out["total"], 684, "{out:#}");
    assert_eq!(out["base"], 540);
    assert_eq!(out["additional"], 144);
    assert_eq!(
        out["family"],
        json!({"counted_parent": 0, "tie_reference": 522})
    );
    assert_eq!(line(&out, "age")["points"], 24);
    assert_eq!(
        line(&out, "age")["explanation"],
        "年龄 38 岁：20 + 2 × 2 = 24 分"
    );
    assert_eq!(
        line(&out, "insurance_months")["explanation"],
        "参保 72 个月 × 5 分 = 360 分"
    );
    assert_eq!(
        line(&out, "education")["explanation"],
        "文化程度 本科 = 100 分（与技术技能等级、职称取高者计分）"
    );
    assert_eq!(line(&out, "skill_level")["points"], 0);
    assert_eq!(out["eligible"], true);

    // The mother alone, and the parents swapped.
    let facts = r.parse_facts(&example_b_facts()["parents"][1]).unwrap();
    let mother = r.evaluate(&facts, as_of);
    assert_eq!(mother.total, 522);
    assert_eq!(mother.base, 430);
    let swapped =
        json!({"parents": [example_b_facts()["parents"][1], example_b_facts()["parents"][0]]});
    let out = simulate(&r, "wuzhong", &swapped, as_of).unwrap();
    assert_eq!(
        out["family"],
        json!({"counted_parent": 1, "tie_reference": 522})
    );
    let summary = r.evaluate_summary(&r.parse_facts(&swapped).unwrap(), as_of);
    assert_eq!(
        (summary.total, summary.base, summary.tie_reference),
        (684, 540, Some(522))
    );
}

#[test]
fn example_c_settlement_2023_is_860_with_manual_review() {
    let r = rules("SZ-CITY-SETTLEMENT-2023", "settlement");
    let facts = json!({"insurance_months": 100, "residence_years": 9, "birth_date": "1978-01-01",
        "education": "master", "invention_patents": 1, "utility_model_patents": 1,
        "dishonest_debtor_records": 1, "sentence_months": 2,
        "residence_permit_valid": true, "insurance_active": true});
    let out = simulate(&r, "gusu", &facts, date("2023-06-30")).unwrap();
    assert_eq!(out["total"], 860, "{out:#}");
    assert_eq!(out["deduction"], -150);
    assert_eq!(line(&out, "age")["points"], 0);
    assert_eq!(line(&out, "criminal_sentence")["points"], -100);
    assert_eq!(
        line(&out, "criminal_sentence")["explanation"],
        "判处刑罚 2 个月 × -50 分 = -100 分"
    );
    let gates = out["gates"].as_array().unwrap();
    let gate = |code: &str| gates.iter().find(|g| g["code"] == code).unwrap()["outcome"].clone();
    assert_eq!(gate("no_serious_crime"), "manual_review");
    assert_eq!(gate("residence_permit_valid"), "pass");
    assert_eq!(gate("insurance_active"), "pass");
    assert_eq!(out["eligible"], false);

    let summary = r.evaluate_summary(&r.parse_facts(&facts).unwrap(), date("2023-06-30"));
    assert!(summary.manual_review && !summary.eligible);
}

#[test]
fn gates_fail_and_pass() {
    let r = rules("SZ-CITY-SETTLEMENT-2023", "settlement");
    let as_of = date("2023-06-30");
    let sheet = r.evaluate(&r.parse_facts(&json!({})).unwrap(), as_of);
    let outcomes: Vec<GateOutcome> = sheet.gates.iter().map(|g| g.outcome).collect();
    assert_eq!(
        outcomes,
        [GateOutcome::Fail, GateOutcome::Fail, GateOutcome::Pass]
    );
    assert!(!sheet.eligible);
    let ok = json!({"residence_permit_valid": true, "insurance_active": true});
    let sheet = r.evaluate(&r.parse_facts(&ok).unwrap(), as_of);
    assert!(sheet.eligible);
    let serious = json!({"residence_permit_valid": true, "insurance_active": true, "serious_criminal_record": true});
    let sheet = r.evaluate(&r.parse_facts(&serious).unwrap(), as_of);
    assert_eq!(sheet.gates[2].outcome, GateOutcome::ManualReview);
}

#[test]
fn group_cap_and_property_2023() {
    let r = rules("SZ-CITY-SETTLEMENT-2023", "settlement");
    let facts =
        json!({"invention_patents": 2, "utility_model_patents": 3, "property_area_m2": 130.9});
    let out = simulate(&r, "gusu", &facts, date("2023-06-30")).unwrap();
    assert_eq!(line(&out, "invention_patents")["points"], 60);
    assert_eq!(line(&out, "utility_model_patents")["points"], 0);
    assert!(
        line(&out, "utility_model_patents")["explanation"]
            .as_str()
            .unwrap()
            .contains("发明创造合计封顶 60 分")
    );
    assert_eq!(line(&out, "property")["points"], 250);
}

#[test]
fn changshu_overlay_and_kunshan_scheme() {
    let cs = rules("CS-SCHOOL-2023", "school");
    let as_of = date("2023-06-30");
    let facts = json!({"insurance_months": 10, "changshu_shortage_talent": "category_1",
        "pupil_city_merit_awards": 3, "vaccination_card_local": true, "administrative_penalties": 1});
    let out = simulate(&cs, "changshu", &facts, as_of).unwrap();
    assert_eq!(out["total"], 50 + 100 + 120 + 10 - 50, "{out:#}");
    assert_eq!(out["deduction"], -50);
    // Extra keys are refused by rule sets that do not declare them.
    let city = rules("SZ-CITY-SCHOOL-2023", "school");
    let err = simulate(&city, "gusu", &facts, as_of).unwrap_err();
    assert!(err.to_string().contains("unknown_key"), "{err}");

    let ks = rules("KS-SCHOOL-2022", "school");
    let facts = json!({"parents": [
        {"education": "bachelor", "insurance_months": 30, "property_years": 3},
        {"professional_title": "senior", "insurance_months": 200, "law_abiding_verified": true}]});
    let sheet = ks.evaluate(&ks.parse_facts(&facts).unwrap(), as_of);
    // title 200 from parent 2 beats bachelor 100 (one group, no combining); insurance from
    // parent 2 (16 years → 160, capped 130); property from parent 1 (30); law-abiding 30.
    assert_eq!(sheet.total, 200 + 130 + 30 + 30, "{sheet:#?}");
    let fam = sheet.family.unwrap();
    assert_eq!(fam.counted_parent, 1);
}
