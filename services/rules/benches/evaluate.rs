//! Evaluates `SZ-CITY-SCHOOL-2023` for one person (pre-parsed facts) with the engine and with a
//! hand-written Rust function of the same table, and prints evaluations/s and the ratio.
//!
//! Goal: ≥ 1 M evaluations/s/core for the engine, ≥ 0.3 of the hand-coded speed.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use jifen_rules::vocabulary::slot;
use jifen_rules::{CompiledRuleSet, Facts, PersonFacts, default_library};
use serde_json::json;

/// The v2023 市区 入学 table, written by hand.
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

fn setup() -> (CompiledRuleSet, Facts, NaiveDate) {
    let rules = default_library()
        .compile("SZ-CITY-SCHOOL-2023", "school")
        .unwrap();
    let facts = rules
        .parse_facts(
            &json!({"birth_date": "1985-01-15", "education": "bachelor", "skill_level": "L4",
            "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4}),
        )
        .unwrap();
    (rules, facts, NaiveDate::from_ymd_opt(2023, 6, 30).unwrap())
}

/// Evaluations per second of each of `fs`, measured in alternating 50 ms slices over 20 rounds
/// (1 s each in all): this machine's speed swings by tens of percent from one second to the
/// next, and alternating gives the engine and the hand-coded function the same conditions.
fn rates<const N: usize>(fs: &mut [&mut dyn FnMut() -> i64; N]) -> [f64; N] {
    let slice = Duration::from_millis(50);
    let mut counts = [0u64; N];
    let mut spent = [Duration::ZERO; N];
    for _ in 0..20 {
        for (i, f) in fs.iter_mut().enumerate() {
            let start = Instant::now();
            while start.elapsed() < slice {
                for _ in 0..1_000 {
                    black_box(f());
                }
                counts[i] += 1_000;
            }
            spent[i] += start.elapsed();
        }
    }
    std::array::from_fn(|i| counts[i] as f64 / spent[i].as_secs_f64())
}

fn bench(c: &mut Criterion) {
    let (rules, facts, as_of) = setup();
    let Facts::Person(person) = &facts else {
        unreachable!("single person")
    };
    assert_eq!(rules.evaluate_summary(&facts, as_of).total, 684);
    assert_eq!(hand_school_2023(person, as_of), 684);

    c.bench_function("engine_summary_school_2023", |b| {
        b.iter(|| {
            rules
                .evaluate_summary(black_box(&facts), black_box(as_of))
                .total
        })
    });
    c.bench_function("engine_explained_school_2023", |b| {
        b.iter(|| rules.evaluate(black_box(&facts), black_box(as_of)).total)
    });
    c.bench_function("hand_coded_school_2023", |b| {
        b.iter(|| hand_school_2023(black_box(person), black_box(as_of)))
    });

    let [engine, explained, hand] = rates(&mut [
        &mut || {
            rules
                .evaluate_summary(black_box(&facts), black_box(as_of))
                .total
        },
        &mut || rules.evaluate(black_box(&facts), black_box(as_of)).total,
        &mut || hand_school_2023(black_box(person), black_box(as_of)),
    ]);
    println!("engine (summary)   : {:>12.0} evaluations/s", engine);
    println!("engine (explained) : {:>12.0} evaluations/s", explained);
    println!("hand-coded         : {:>12.0} evaluations/s", hand);
    println!("ratio engine/hand  : {:.3} (goal ≥ 0.3)", engine / hand);
    let met = engine >= 1e6 && engine / hand >= 0.3;
    println!(
        "BENCH | rule-set evaluation SZ-CITY-SCHOOL-2023, one person, one core | {engine:.0}/s (explained {explained:.0}/s) | {hand:.0}/s hand-coded | {:.2} | >= 1M/s, >= 0.3 | {}",
        engine / hand,
        if met { "yes" } else { "no" }
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
