//! The official ranking run: a deterministic, reproducible decision over a snapshot of
//! confirmed applications.
//!
//! [`run_ranking`] ranks the snapshot exactly (see [`crate::domain::rank_key`]), lists
//! applicants whose re-checked gates failed as ineligible (no rank, never a seat), and decides
//! the rest by the benefit's [`Decision`]: school seats ([`crate::domain::seat_allocation`]) or
//! a pass mark.
//!
//! # Hashes
//!
//! Both hashes are lowercase hex SHA-256 over compact `serde_json` (fields in declaration
//! order, no whitespace, maps sorted by key):
//!
//! * `inputs_hash` covers `{"format":"jifen.ranking.run.inputs.v1","params":…,"applications":[…]}`
//!   where the parameters are canonicalised (schools sorted by id, service areas sorted and
//!   deduplicated) and the applications are sorted by application id. Preference lists keep
//!   their order, because it matters. The hash is thus independent of the order in which the
//!   snapshot was read.
//! * `results_hash` covers `{"format":"jifen.ranking.run.results.v1","rows":[…],
//!   "cutoff_total":…,"schools":[…]}` with rows in published order.
//!
//! The same inputs always give the same rows and the same two hashes.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::RankingError;
use super::packed_key::rank_order;
use super::rank_key::{RankEntry, RankSpec};
use super::seat_allocation::{AllocationRound, Applicant, SeatPlan, allocate};

/// One confirmed application in the snapshot of a ranking run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunApplication {
    /// Stable application id.
    pub application_id: String,
    /// Public application number (申请编号), unique in the snapshot; the final tie key.
    pub application_number: String,
    /// Name, already masked for publicity (see [`crate::domain::publicity::mask_name`]).
    pub masked_name: String,
    /// ID number, already masked (see [`crate::domain::publicity::mask_id_number`]).
    pub masked_id_number: String,
    /// Confirmed total points.
    pub total: i64,
    /// One value per tie-breaker of the rule set, in its order.
    pub tie_values: Vec<i64>,
    /// Whether every gate passed when re-checked for this run.
    pub gates_ok: bool,
    /// School ids in the family's order of preference (school benefits only).
    #[serde(default)]
    pub school_preferences: Vec<String>,
    /// The service area (片区) of the family's residence.
    #[serde(default)]
    pub service_area: Option<String>,
    /// The district (tenant code) of the family's residence.
    #[serde(default)]
    pub district: Option<String>,
}

impl RankEntry for RunApplication {
    fn total(&self) -> i64 {
        self.total
    }
    fn tie_values(&self) -> &[i64] {
        &self.tie_values
    }
    fn application_number(&self) -> &str {
        &self.application_number
    }
}

/// How a benefit turns ranks into outcomes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Decision {
    /// Ranked against school seats (积分入学).
    Seats(SeatPlan),
    /// Admitted iff eligible and `total >= pass_mark` (积分落户, 积分入医).
    Threshold {
        /// The pass mark (达标积分值).
        pass_mark: i64,
    },
    /// The first `quota` eligible applications in rank order are admitted (名额, e.g. the v2016
    /// 落户 入户指标); the tie-breakers decide who takes the last place.
    Quota {
        /// Places.
        quota: u64,
    },
}

/// The parameters of a ranking run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunParams {
    /// The rule set's ranking order.
    pub spec: RankSpec,
    /// Seats or pass mark.
    pub decision: Decision,
}

/// The outcome of one application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Given a seat, or at or above the pass mark.
    Admitted,
    /// Eligible but no seat, or below the pass mark.
    NotAdmitted,
    /// A re-checked gate failed: listed, never ranked, never admitted.
    Ineligible,
}

/// One row of a run's result, in published order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRow {
    /// 1-based rank among eligible applications; `None` for ineligible ones.
    pub rank: Option<u64>,
    /// Stable application id.
    pub application_id: String,
    /// Public application number.
    pub application_number: String,
    /// Masked name.
    pub masked_name: String,
    /// Masked ID number.
    pub masked_id_number: String,
    /// Total points.
    pub total: i64,
    /// The decision.
    pub outcome: Outcome,
    /// The school given, for seat decisions.
    pub school_id: Option<String>,
    /// The round in which the seat was given.
    pub round: Option<AllocationRound>,
}

/// How one school's seats were used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SchoolResult {
    /// School id.
    pub school_id: String,
    /// The school's district.
    pub district: String,
    /// Seats offered.
    pub seats: u32,
    /// Seats given.
    pub filled: u32,
    /// The lowest total admitted to this school (its cut-off), if any seat was given.
    pub lowest_admitted_total: Option<i64>,
}

/// The result of a ranking run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunResult {
    /// Eligible rows in rank order, then ineligible rows in key order.
    pub rows: Vec<RunRow>,
    /// The lowest total of any admitted application (the run's cut-off line), if any.
    pub cutoff_total: Option<i64>,
    /// Seat use per school (empty for threshold decisions), sorted by school id.
    pub schools: Vec<SchoolResult>,
    /// SHA-256 (hex) of the canonical inputs; see the module docs.
    pub inputs_hash: String,
    /// SHA-256 (hex) of the canonical results; see the module docs.
    pub results_hash: String,
}

impl RunResult {
    /// Returns how many applications were admitted.
    pub fn admitted_count(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.outcome == Outcome::Admitted)
            .count()
    }
}

#[derive(Serialize)]
struct CanonicalInputs<'a> {
    format: &'static str,
    params: &'a RunParams,
    applications: Vec<&'a RunApplication>,
}

#[derive(Serialize)]
struct CanonicalResults<'a> {
    format: &'static str,
    rows: &'a [RunRow],
    cutoff_total: Option<i64>,
    schools: &'a [SchoolResult],
}

/// Returns the params with schools sorted by id and service areas sorted and deduplicated.
fn canonical_params(params: &RunParams) -> Result<RunParams, RankingError> {
    let mut params = params.clone();
    if let Decision::Seats(plan) = &mut params.decision {
        plan.schools.sort_by(|a, b| a.school_id.cmp(&b.school_id));
        if let Some(w) = plan
            .schools
            .windows(2)
            .find(|w| w[0].school_id == w[1].school_id)
        {
            return Err(RankingError::DuplicateSchool(w[0].school_id.clone()));
        }
        for school in &mut plan.schools {
            school.service_areas.sort();
            school.service_areas.dedup();
        }
    }
    Ok(params)
}

fn sha256_json<T: Serialize>(value: &T) -> String {
    // Serialising plain structs, strings and integers to a Vec cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(Sha256::digest(bytes))
}

/// Returns the `inputs_hash` of a snapshot and its parameters (see the module docs).
pub fn inputs_hash(
    applications: &[RunApplication],
    params: &RunParams,
) -> Result<String, RankingError> {
    let params = canonical_params(params)?;
    let mut sorted: Vec<&RunApplication> = applications.iter().collect();
    sorted.sort_by(|a, b| a.application_id.cmp(&b.application_id));
    Ok(sha256_json(&CanonicalInputs {
        format: "jifen.ranking.run.inputs.v1",
        params: &params,
        applications: sorted,
    }))
}

/// Runs the official ranking over a snapshot.
///
/// Refuses duplicate application ids or numbers, duplicate schools and entries whose tie
/// values do not match the rule set.
pub fn run_ranking(
    applications: &[RunApplication],
    params: &RunParams,
) -> Result<RunResult, RankingError> {
    let mut ids = HashSet::with_capacity(applications.len());
    let mut numbers = HashSet::with_capacity(applications.len());
    for a in applications {
        if !ids.insert(a.application_id.as_str()) {
            return Err(RankingError::DuplicateApplicationId(
                a.application_id.clone(),
            ));
        }
        if !numbers.insert(a.application_number.as_str()) {
            return Err(RankingError::DuplicateApplicationNumber(
                a.application_number.clone(),
            ));
        }
    }
    let canonical = canonical_params(params)?;
    let inputs_hash = inputs_hash(applications, params)?;

    let order = rank_order(&canonical.spec, applications)?;
    let (eligible, ineligible): (Vec<usize>, Vec<usize>) =
        order.into_iter().partition(|&i| applications[i].gates_ok);

    let mut rows: Vec<RunRow> = Vec::with_capacity(applications.len());
    let mut schools = Vec::new();
    match &canonical.decision {
        Decision::Threshold { pass_mark } => {
            for (r, &i) in eligible.iter().enumerate() {
                let a = &applications[i];
                let outcome = if a.total >= *pass_mark {
                    Outcome::Admitted
                } else {
                    Outcome::NotAdmitted
                };
                rows.push(row(a, Some(r as u64 + 1), outcome, None, None));
            }
        }
        Decision::Quota { quota } => {
            for (r, &i) in eligible.iter().enumerate() {
                let outcome = if (r as u64) < *quota {
                    Outcome::Admitted
                } else {
                    Outcome::NotAdmitted
                };
                rows.push(row(
                    &applications[i],
                    Some(r as u64 + 1),
                    outcome,
                    None,
                    None,
                ));
            }
        }
        Decision::Seats(plan) => {
            let applicants: Vec<Applicant<'_>> = applications
                .iter()
                .map(|a| Applicant {
                    total: a.total,
                    district: a.district.as_deref(),
                    service_area: a.service_area.as_deref(),
                    preferences: &a.school_preferences,
                })
                .collect();
            let placed = allocate(plan, &applicants, &eligible);
            schools = plan
                .schools
                .iter()
                .map(|s| SchoolResult {
                    school_id: s.school_id.clone(),
                    district: s.district.clone(),
                    seats: s.seats,
                    filled: 0,
                    lowest_admitted_total: None,
                })
                .collect();
            for (r, &i) in eligible.iter().enumerate() {
                let a = &applications[i];
                let rank = Some(r as u64 + 1);
                match placed[i] {
                    Some(p) => {
                        let school = &mut schools[p.school];
                        school.filled += 1;
                        school.lowest_admitted_total = Some(
                            school
                                .lowest_admitted_total
                                .map_or(a.total, |t| t.min(a.total)),
                        );
                        let id = Some(school.school_id.clone());
                        rows.push(row(a, rank, Outcome::Admitted, id, Some(p.round)));
                    }
                    None => rows.push(row(a, rank, Outcome::NotAdmitted, None, None)),
                }
            }
        }
    }
    for &i in &ineligible {
        rows.push(row(&applications[i], None, Outcome::Ineligible, None, None));
    }
    let cutoff_total = rows
        .iter()
        .filter(|r| r.outcome == Outcome::Admitted)
        .map(|r| r.total)
        .min();
    let results_hash = sha256_json(&CanonicalResults {
        format: "jifen.ranking.run.results.v1",
        rows: &rows,
        cutoff_total,
        schools: &schools,
    });
    Ok(RunResult {
        rows,
        cutoff_total,
        schools,
        inputs_hash,
        results_hash,
    })
}

fn row(
    a: &RunApplication,
    rank: Option<u64>,
    outcome: Outcome,
    school_id: Option<String>,
    round: Option<AllocationRound>,
) -> RunRow {
    RunRow {
        rank,
        application_id: a.application_id.clone(),
        application_number: a.application_number.clone(),
        masked_name: a.masked_name.clone(),
        masked_id_number: a.masked_id_number.clone(),
        total: a.total,
        outcome,
        school_id,
        round,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rank_key::{Direction, TieBreaker};
    use crate::domain::seat_allocation::School;
    use crate::domain::test_support::{Sample, reference_order};
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    fn spec3() -> RankSpec {
        RankSpec::new(vec![
            TieBreaker::new("base", Direction::Desc),
            TieBreaker::new("other_parent_total", Direction::Desc),
            TieBreaker::new("registered_on", Direction::Asc),
        ])
        .expect("spec")
    }

    fn app(number: &str, total: i64, ties: [i64; 3]) -> RunApplication {
        RunApplication {
            application_id: format!("id-{number}"),
            application_number: number.to_owned(),
            masked_name: "张*丰".to_owned(),
            masked_id_number: "3205**********1234".to_owned(),
            total,
            tie_values: ties.to_vec(),
            gates_ok: true,
            school_preferences: Vec::new(),
            service_area: None,
            district: None,
        }
    }

    fn family(
        number: &str,
        total: i64,
        district: &str,
        area: &str,
        prefs: &[&str],
    ) -> RunApplication {
        RunApplication {
            district: Some(district.to_owned()),
            service_area: Some(area.to_owned()),
            school_preferences: prefs.iter().map(|p| (*p).to_owned()).collect(),
            ..app(number, total, [0, 0, 0])
        }
    }

    fn school(id: &str, district: &str, areas: &[&str], seats: u32) -> School {
        School {
            school_id: id.to_owned(),
            district: district.to_owned(),
            service_areas: areas.iter().map(|a| (*a).to_owned()).collect(),
            seats,
        }
    }

    fn seats(schools: Vec<School>, mins: &[(&str, i64)]) -> RunParams {
        RunParams {
            spec: spec3(),
            decision: Decision::Seats(SeatPlan {
                schools,
                district_min_totals: mins.iter().map(|(d, m)| ((*d).to_owned(), *m)).collect(),
            }),
        }
    }

    fn outcome_of<'a>(
        result: &'a RunResult,
        number: &str,
    ) -> (Outcome, Option<&'a str>, Option<AllocationRound>) {
        let r = result
            .rows
            .iter()
            .find(|r| r.application_number == number)
            .expect("row");
        (r.outcome, r.school_id.as_deref(), r.round)
    }

    #[test]
    fn example_b_two_seats_then_reallocation() {
        // suzhou-points §6.3 B: a school with 2 seats; F3 is above the district cut-off and is
        // placed in the within-district round at another school.
        let mut f1 = family("F1", 684, "wuzhong", "a1", &["s1"]);
        f1.tie_values = vec![540, 522, 0];
        let mut f2 = family("F2", 684, "wuzhong", "a1", &["s1"]);
        f2.tie_values = vec![560, 410, 0];
        let mut f3 = family("F3", 684, "wuzhong", "a1", &["s1"]);
        f3.tie_values = vec![540, 480, 0];
        let params = seats(
            vec![
                school("s1", "wuzhong", &["a1"], 2),
                school("s2", "wuzhong", &["a2"], 1),
            ],
            &[("wuzhong", 600)],
        );
        let result = run_ranking(&[f3, f1, f2], &params).expect("run");
        let order: Vec<(&str, Option<u64>)> = result
            .rows
            .iter()
            .map(|r| (r.application_number.as_str(), r.rank))
            .collect();
        assert_eq!(order, [("F2", Some(1)), ("F1", Some(2)), ("F3", Some(3))]);
        use AllocationRound::*;
        use Outcome::*;
        assert_eq!(
            outcome_of(&result, "F2"),
            (Admitted, Some("s1"), Some(FirstBatch))
        );
        assert_eq!(
            outcome_of(&result, "F1"),
            (Admitted, Some("s1"), Some(FirstBatch))
        );
        assert_eq!(
            outcome_of(&result, "F3"),
            (Admitted, Some("s2"), Some(WithinDistrict))
        );
        assert_eq!(result.cutoff_total, Some(684));
    }

    #[test]
    fn preferences_full_schools_service_areas_and_both_rounds() {
        use AllocationRound::*;
        use Outcome::*;
        let params = seats(
            vec![
                school("gs-a", "gusu", &["north"], 1),
                school("gs-b", "gusu", &["north", "south"], 1),
                school("gs-c", "gusu", &["east"], 1),
                school("wz-a", "wuzhong", &["west"], 2),
            ],
            &[("gusu", 500), ("wuzhong", 650)],
        );
        let apps = vec![
            // 1st: first choice.
            family("A", 900, "gusu", "north", &["gs-a", "gs-b"]),
            // 2nd: first choice full, gets the second.
            family("B", 880, "gusu", "north", &["gs-a", "gs-b"]),
            // 3rd: prefers a school outside its service area only -> round 1 in gusu.
            family("C", 870, "gusu", "south", &["gs-c"]),
            // 4th: gusu is full -> round 2 cross-district (meets wuzhong's 650).
            family("D", 860, "gusu", "north", &["gs-a"]),
            // 5th: wuzhong family, first choice.
            family("E", 700, "wuzhong", "west", &["wz-a"]),
            // 6th: above gusu minimum but below wuzhong's: no seat anywhere.
            family("F", 600, "gusu", "north", &["gs-a"]),
            // 7th: below its own district minimum: never placed.
            family("G", 400, "gusu", "north", &["gs-b"]),
        ];
        let result = run_ranking(&apps, &params).expect("run");
        assert_eq!(
            outcome_of(&result, "A"),
            (Admitted, Some("gs-a"), Some(FirstBatch))
        );
        assert_eq!(
            outcome_of(&result, "B"),
            (Admitted, Some("gs-b"), Some(FirstBatch))
        );
        assert_eq!(
            outcome_of(&result, "C"),
            (Admitted, Some("gs-c"), Some(WithinDistrict))
        );
        assert_eq!(
            outcome_of(&result, "D"),
            (Admitted, Some("wz-a"), Some(CrossDistrict))
        );
        assert_eq!(
            outcome_of(&result, "E"),
            (Admitted, Some("wz-a"), Some(FirstBatch))
        );
        assert_eq!(outcome_of(&result, "F"), (NotAdmitted, None, None));
        assert_eq!(outcome_of(&result, "G"), (NotAdmitted, None, None));
        assert_eq!(result.cutoff_total, Some(700));
        let wz = result
            .schools
            .iter()
            .find(|s| s.school_id == "wz-a")
            .expect("school");
        assert_eq!((wz.filled, wz.lowest_admitted_total), (2, Some(700)));
        assert_eq!(result.admitted_count(), 5);
    }

    #[test]
    fn round_two_prefers_a_preferred_school_and_skips_unknown_ones() {
        let params = seats(
            vec![
                school("x1", "wujiang", &["w"], 1),
                school("x2", "wujiang", &["w"], 1),
                school("y1", "sip", &["s"], 1),
            ],
            &[],
        );
        let apps = vec![
            family("A", 800, "sip", "s", &["y1"]),
            family("B", 700, "sip", "s", &["nope", "y1", "x2"]),
        ];
        let result = run_ranking(&apps, &params).expect("run");
        assert_eq!(
            outcome_of(&result, "B"),
            (
                Outcome::Admitted,
                Some("x2"),
                Some(AllocationRound::CrossDistrict)
            )
        );
    }

    #[test]
    fn ineligible_rows_are_listed_last_and_never_take_seats() {
        let params = seats(vec![school("s1", "gusu", &["n"], 1)], &[]);
        let mut top = family("A", 999, "gusu", "n", &["s1"]);
        top.gates_ok = false;
        let next = family("B", 500, "gusu", "n", &["s1"]);
        let result = run_ranking(&[top, next], &params).expect("run");
        assert_eq!(result.rows[0].application_number, "B");
        assert_eq!(result.rows[0].rank, Some(1));
        assert_eq!(result.rows[0].outcome, Outcome::Admitted);
        assert_eq!(result.rows[1].application_number, "A");
        assert_eq!(result.rows[1].rank, None);
        assert_eq!(result.rows[1].outcome, Outcome::Ineligible);
        assert_eq!(result.rows[1].school_id, None);
    }

    #[test]
    fn threshold_admits_eligible_at_or_above_the_pass_mark() {
        let params = RunParams {
            spec: spec3(),
            decision: Decision::Threshold { pass_mark: 500 },
        };
        let mut c = app("C", 900, [0, 0, 0]);
        c.gates_ok = false;
        let apps = vec![app("A", 500, [0, 0, 0]), app("B", 499, [0, 0, 0]), c];
        let result = run_ranking(&apps, &params).expect("run");
        let outcomes: Vec<(&str, Outcome)> = result
            .rows
            .iter()
            .map(|r| (r.application_number.as_str(), r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("A", Outcome::Admitted),
                ("B", Outcome::NotAdmitted),
                ("C", Outcome::Ineligible)
            ]
        );
        assert_eq!(result.cutoff_total, Some(500));
        assert!(result.schools.is_empty());
    }

    #[test]
    fn quota_admits_the_first_eligible_in_rank_order() {
        let params = RunParams {
            spec: spec3(),
            decision: Decision::Quota { quota: 2 },
        };
        let mut c = app("C", 900, [0, 0, 0]);
        c.gates_ok = false;
        // B and D tie on total; the first tie-breaker gives D the last place.
        let apps = vec![
            app("A", 700, [0, 0, 0]),
            app("B", 600, [1, 0, 0]),
            c,
            app("D", 600, [2, 0, 0]),
        ];
        let result = run_ranking(&apps, &params).expect("run");
        let outcomes: Vec<(&str, Option<u64>, Outcome)> = result
            .rows
            .iter()
            .map(|r| (r.application_number.as_str(), r.rank, r.outcome))
            .collect();
        assert_eq!(
            outcomes,
            [
                ("A", Some(1), Outcome::Admitted),
                ("D", Some(2), Outcome::Admitted),
                ("B", Some(3), Outcome::NotAdmitted),
                ("C", None, Outcome::Ineligible)
            ]
        );
        assert_eq!(result.cutoff_total, Some(600));
    }

    #[test]
    fn refuses_duplicates() {
        let params = seats(vec![], &[]);
        let a = app("A", 1, [0, 0, 0]);
        let mut b = app("B", 1, [0, 0, 0]);
        b.application_id = a.application_id.clone();
        assert!(matches!(
            run_ranking(&[a.clone(), b], &params),
            Err(RankingError::DuplicateApplicationId(_))
        ));
        let mut c = app("A", 1, [0, 0, 0]);
        c.application_id = "other".to_owned();
        assert!(matches!(
            run_ranking(&[a.clone(), c], &params),
            Err(RankingError::DuplicateApplicationNumber(_))
        ));
        let dup_school = seats(
            vec![school("s", "d", &[], 1), school("s", "d", &[], 2)],
            &[],
        );
        assert!(matches!(
            run_ranking(&[a], &dup_school),
            Err(RankingError::DuplicateSchool(_))
        ));
    }

    #[test]
    fn hashes_ignore_input_order_but_not_content() {
        let mut rng = StdRng::seed_from_u64(11);
        let districts = ["gusu", "wuzhong", "sip"];
        let mut apps: Vec<RunApplication> = (0..400)
            .map(|i| {
                let d = districts[i % 3];
                let mut a = family(
                    &format!("N{i:04}"),
                    rng.random_range(600..610),
                    d,
                    &format!("{d}-{}", i % 2),
                    &[&format!("{d}-s{}", i % 4), &format!("{d}-s{}", (i + 1) % 4)],
                );
                a.tie_values = vec![rng.random_range(0..3), rng.random_range(0..3), 0];
                a.gates_ok = rng.random_range(0..10) != 0;
                a
            })
            .collect();
        // xiangcheng has seats but no applicants: its seats go in the cross-district round.
        let mut schools: Vec<School> = districts
            .iter()
            .chain(&["xiangcheng"])
            .flat_map(|d| {
                (0..4).map(move |s| {
                    school(
                        &format!("{d}-s{s}"),
                        d,
                        &[&format!("{d}-{}", s % 2), "zz"],
                        20,
                    )
                })
            })
            .collect();
        let params = seats(schools.clone(), &[("gusu", 606)]);
        let first = run_ranking(&apps, &params).expect("run");
        apps.shuffle(&mut rng);
        schools.shuffle(&mut rng);
        for s in &mut schools {
            s.service_areas.reverse();
            s.service_areas.push("zz".to_owned());
        }
        let shuffled = run_ranking(&apps, &seats(schools, &[("gusu", 606)])).expect("run");
        assert_eq!(first, shuffled);
        assert_eq!(first.inputs_hash.len(), 64);
        assert_ne!(first.inputs_hash, first.results_hash);
        apps[0].total += 1;
        let changed = run_ranking(&apps, &params).expect("run");
        assert_ne!(changed.inputs_hash, first.inputs_hash);
        assert!(
            first
                .rows
                .iter()
                .any(|r| r.round == Some(AllocationRound::CrossDistrict))
        );
    }

    #[test]
    fn input_hash_is_pinned() {
        let params = RunParams {
            spec: RankSpec::new(vec![TieBreaker::new("base", Direction::Desc)]).expect("spec"),
            decision: Decision::Threshold { pass_mark: 500 },
        };
        let mut a = app("A", 684, [0, 0, 0]);
        a.tie_values = vec![540];
        let expected = {
            let json = r#"{"format":"jifen.ranking.run.inputs.v1","params":{"spec":[{"key":"base","direction":"desc"}],"decision":{"mode":"threshold","pass_mark":500}},"applications":[{"application_id":"id-A","application_number":"A","masked_name":"张*丰","masked_id_number":"3205**********1234","total":684,"tie_values":[540],"gates_ok":true,"school_preferences":[],"service_area":null,"district":null}]}"#;
            hex::encode(Sha256::digest(json.as_bytes()))
        };
        assert_eq!(inputs_hash(&[a], &params).expect("hash"), expected);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(100))]
        #[test]
        fn run_order_matches_reference_sort(
            raw in proptest::collection::vec((0i64..3, 0i64..3, 0i64..2, 0i64..2, any::<bool>()), 0..200)
        ) {
            let samples: Vec<Sample> = raw.iter().enumerate()
                .map(|(i, (t, b, o, d, _))| Sample::new(&format!("{}{i}", i % 7), 600 + t, [*b, *o, *d]))
                .collect();
            let apps: Vec<RunApplication> = samples.iter().zip(&raw)
                .map(|(s, r)| RunApplication { gates_ok: r.4, ..app(&s.number, s.total, s.ties) })
                .collect();
            let params = RunParams { spec: spec3(), decision: Decision::Threshold { pass_mark: 601 } };
            let result = run_ranking(&apps, &params).expect("run");
            let reference = reference_order(&samples);
            let expected: Vec<&str> = reference.iter().filter(|&&i| raw[i].4)
                .chain(reference.iter().filter(|&&i| !raw[i].4))
                .map(|&i| samples[i].number.as_str()).collect();
            let got: Vec<&str> = result.rows.iter().map(|r| r.application_number.as_str()).collect();
            prop_assert_eq!(got, expected);
            let ranks: Vec<u64> = result.rows.iter().filter_map(|r| r.rank).collect();
            prop_assert_eq!(ranks, (1..=raw.iter().filter(|r| r.4).count() as u64).collect::<Vec<_>>());
        }
    }
}
