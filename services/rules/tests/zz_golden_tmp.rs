//! TEMPORARY differential test (delete before handing back).
#![allow(clippy::unwrap_used)]
use chrono::NaiveDate;
use jifen_rules::{CompiledRuleSet, DEFAULT_DOCUMENTS, default_library};
use serde_json::{Value, json};
use std::fmt::Write as _;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

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

fn person(r: &mut Rng) -> Value {
    let mut m = serde_json::Map::new();
    let mut put = |r: &mut Rng, k: &str, v: Value| {
        if r.below(5) != 0 {
            m.insert(k.into(), v);
        }
    };
    let big = |r: &mut Rng| -> i64 {
        match r.below(6) {
            0 => r.below(10_000_001) as i64,
            1 => r.below(3) as i64,
            _ => r.below(400) as i64,
        }
    };
    let y = 1950 + r.below(75);
    let (mo, d) = (1 + r.below(12), 1 + r.below(28));
    put(r, "birth_date", json!(format!("{y:04}-{mo:02}-{d:02}")));
    let e = r.below(6) as usize;
    put(r, "education", json!(EDU[e]));
    let s = r.below(6) as usize;
    put(r, "skill_level", json!(SKILL[s]));
    let t = r.below(4) as usize;
    put(r, "professional_title", json!(TITLE[t]));
    for k in [
        "veteran",
        "poverty_relief_origin",
        "residence_permit_valid",
        "insurance_active",
        "serious_criminal_record",
    ] {
        let b = r.below(2) == 1;
        put(r, k, json!(b));
    }
    for k in [
        "insurance_months",
        "housing_fund_years",
        "residence_years",
        "invention_patents",
        "utility_model_patents",
        "dishonest_debtor_records",
        "detention_records",
        "sentence_months",
    ] {
        let v = big(r);
        put(r, k, json!(v));
    }
    let a = r.below(40000) as f64 / 100.0;
    put(r, "property_area_m2", json!(a));
    Value::Object(m)
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

#[test]
fn golden() {
    let rules = all_compiled();
    let mut r = Rng(0x9E3779B97F4A7C15);
    let mut out = String::new();
    let dates = ["2023-06-30", "2021-01-01", "2024-02-29", "1990-05-05"];
    for i in 0..3000 {
        let a = person(&mut r);
        let facts = match i % 3 {
            0 => a,
            1 => json!({"parents": [a, person(&mut r)]}),
            _ => json!({"parents": [a]}),
        };
        let as_of = NaiveDate::parse_from_str(dates[i % 4], "%Y-%m-%d").unwrap();
        for rs in &rules {
            let Ok(parsed) = rs.parse_facts(&facts) else {
                continue;
            };
            let sheet = rs.evaluate(&parsed, as_of);
            let summary = rs.evaluate_summary(&parsed, as_of);
            writeln!(
                out,
                "{}|{}|{}",
                serde_json::to_string(&sheet).unwrap(),
                serde_json::to_string(&summary).unwrap(),
                facts
            )
            .unwrap();
        }
    }
    let path = "/tmp/rules_golden.txt";
    if std::env::var("GOLDEN_WRITE").is_ok() {
        std::fs::write(path, &out).unwrap();
    } else {
        let want = std::fs::read_to_string(path).unwrap();
        for (n, (a, b)) in want.lines().zip(out.lines()).enumerate() {
            assert_eq!(a, b, "line {n}");
        }
        assert_eq!(want.lines().count(), out.lines().count());
    }
}
