//! TEMPORARY micro harness (delete).
#![allow(clippy::unwrap_used)]
use chrono::NaiveDate;
use jifen_rules::vocabulary::slot;
use jifen_rules::{Facts, PersonFacts, default_library};
use serde_json::json;
use std::hint::black_box;
fn hand_school_2023(p: &PersonFacts, as_of: NaiveDate) -> i64 {
    const EDU: [i64; 6] = [0, 20, 60, 100, 200, 200];
    const SKILL: [i64; 6] = [0, 20, 30, 60, 100, 200];
    const TITLE: [i64; 4] = [0, 30, 100, 200];
    let insurance = p.int(slot::INSURANCE_MONTHS) * 5;
    let residence = p.int(slot::RESIDENCE_YEARS) * 30;
    let age = match p.age_at(as_of) {
        Some(a) if a <= 40 => (20 + 2 * (40 - a)).min(50),
        _ => 0,
    };
    let edu = EDU
        .get(usize::from(p.word(slot::EDUCATION)))
        .copied()
        .unwrap_or(0);
    let skill = SKILL
        .get(usize::from(p.word(slot::SKILL_LEVEL)))
        .copied()
        .unwrap_or(0);
    let title = TITLE
        .get(usize::from(p.word(slot::PROFESSIONAL_TITLE)))
        .copied()
        .unwrap_or(0);
    let veteran = if p.flag(slot::VETERAN) { 30 } else { 0 };
    let fund = p.int(slot::HOUSING_FUND_YEARS) * 5;
    insurance + residence + age + edu.max(skill).max(title) + veteran + fund
}
fn main() {
    let rules = default_library()
        .compile("SZ-CITY-SCHOOL-2023", "school")
        .unwrap();
    let facts = rules
        .parse_facts(
            &json!({"birth_date": "1985-01-15", "education": "bachelor", "skill_level": "L4",
            "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4}),
        )
        .unwrap();
    let as_of = NaiveDate::from_ymd_opt(2023, 6, 30).unwrap();
    let Facts::Person(person) = &facts else {
        unreachable!()
    };
    let mode = std::env::args().nth(1).unwrap();
    let n: u64 = std::env::args().nth(2).unwrap().parse().unwrap();
    let t = std::time::Instant::now();
    let mut acc = 0i64;
    for _ in 0..n {
        acc += match mode.as_str() {
            "s" => {
                rules
                    .evaluate_summary(black_box(&facts), black_box(as_of))
                    .total
            }
            "e" => rules.evaluate(black_box(&facts), black_box(as_of)).total,
            _ => hand_school_2023(black_box(person), black_box(as_of)),
        };
    }
    let dt = t.elapsed().as_secs_f64();
    println!("{mode}: {:.2} ns/eval acc={acc}", dt * 1e9 / n as f64);
}
