//! School seat allocation of a ranking run (积分入学), following suzhou-points §3.1.
//!
//! Eligible applicants are visited in rank order, three times:
//!
//! 1. **First batch** ([`AllocationRound::FirstBatch`]): the first school in the family's
//!    preference list that serves the family's service area (片区) and has a free seat.
//! 2. **Within-district reallocation** ([`AllocationRound::WithinDistrict`], 统筹调剂): applicants
//!    still unplaced get a remaining seat in any school of their own district: a preferred
//!    school of that district first, otherwise the open school with the smallest id.
//! 3. **Cross-district reallocation** ([`AllocationRound::CrossDistrict`]): applicants still
//!    unplaced get any remaining seat: a preferred school first, otherwise the open school with
//!    the smallest id, provided the applicant also meets that school's district minimum.
//!
//! The district cut-off is the minimum total the district publishes before the first batch
//! ([`SeatPlan::district_min_totals`]). An applicant below the minimum of its own district takes
//! part in no round; a district without a published minimum admits every total. Preferences
//! naming schools that are not in the plan are ignored. Ineligible applicants never reach this
//! module.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

/// The round in which an applicant received a seat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AllocationRound {
    /// First batch: a preferred school within the service area.
    FirstBatch,
    /// Reallocation round 1 (统筹调剂) within the applicant's district.
    WithinDistrict,
    /// Reallocation round 2, across districts.
    CrossDistrict,
}

/// One school of a seat plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct School {
    /// Stable school id, as families list it in their preferences.
    pub school_id: String,
    /// The district (tenant code) the school belongs to.
    pub district: String,
    /// Service areas (片区) whose families may get a first-batch seat here.
    pub service_areas: Vec<String>,
    /// Points-based seats offered.
    pub seats: u32,
}

/// The seats offered in one ranking run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatPlan {
    /// Schools and their seats.
    pub schools: Vec<School>,
    /// Published minimum total per district (district code → total).
    #[serde(default)]
    pub district_min_totals: BTreeMap<String, i64>,
}

/// What the allocator needs to know about one applicant.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Applicant<'a> {
    pub(crate) total: i64,
    pub(crate) district: Option<&'a str>,
    pub(crate) service_area: Option<&'a str>,
    pub(crate) preferences: &'a [String],
}

/// A seat given to one applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Index into the plan's schools.
    pub(crate) school: usize,
    pub(crate) round: AllocationRound,
}

/// Allocates seats; `order` lists applicant indices (eligible only) in rank order. Returns one
/// placement slot per applicant.
///
/// `plan.schools` must have unique ids and sorted, deduplicated service areas.
pub(crate) fn allocate(
    plan: &SeatPlan,
    applicants: &[Applicant<'_>],
    order: &[usize],
) -> Vec<Option<Placement>> {
    let schools = &plan.schools;
    let index: HashMap<&str, usize> = schools
        .iter()
        .enumerate()
        .map(|(i, s)| (s.school_id.as_str(), i))
        .collect();
    let mut seats = OpenSeats::new(schools);
    let mut placed: Vec<Option<Placement>> = vec![None; applicants.len()];
    let meets = |total: i64, district: Option<&str>| {
        district
            .and_then(|d| plan.district_min_totals.get(d))
            .is_none_or(|min| total >= *min)
    };
    let preferred = |a: &Applicant<'_>| {
        a.preferences
            .iter()
            .filter_map(|p| index.get(p.as_str()).copied())
            .collect::<Vec<_>>()
    };

    // Round 0: first batch, preferences within the service area.
    for &i in order {
        let a = &applicants[i];
        if !meets(a.total, a.district) {
            continue;
        }
        let Some(area) = a.service_area else { continue };
        let choice = preferred(a).into_iter().find(|&s| {
            seats.remaining[s] > 0
                && schools[s]
                    .service_areas
                    .binary_search_by(|x| x.as_str().cmp(area))
                    .is_ok()
        });
        if let Some(s) = choice {
            seats.take(s);
            placed[i] = Some(Placement {
                school: s,
                round: AllocationRound::FirstBatch,
            });
        }
    }

    // Round 1: within the applicant's district.
    for &i in order {
        let a = &applicants[i];
        if placed[i].is_some() || !meets(a.total, a.district) {
            continue;
        }
        let Some(district) = a.district else { continue };
        let Some(open) = seats.by_district.get(district) else {
            continue;
        };
        let choice = preferred(a)
            .into_iter()
            .find(|&s| seats.remaining[s] > 0 && schools[s].district == district)
            .or_else(|| open.first().map(|&(_, s)| s));
        if let Some(s) = choice {
            seats.take(s);
            placed[i] = Some(Placement {
                school: s,
                round: AllocationRound::WithinDistrict,
            });
        }
    }

    // Round 2: any remaining seat, if the applicant meets that school's district minimum too.
    for &i in order {
        if seats.all.is_empty() {
            break;
        }
        let a = &applicants[i];
        if placed[i].is_some() || !meets(a.total, a.district) {
            continue;
        }
        let fits = |s: usize| meets(a.total, Some(schools[s].district.as_str()));
        let choice = preferred(a)
            .into_iter()
            .find(|&s| seats.remaining[s] > 0 && fits(s))
            .or_else(|| seats.all.iter().map(|&(_, s)| s).find(|&s| fits(s)));
        if let Some(s) = choice {
            seats.take(s);
            placed[i] = Some(Placement {
                school: s,
                round: AllocationRound::CrossDistrict,
            });
        }
    }
    placed
}

/// Remaining seats per school, and the schools that still have some, ordered by id.
struct OpenSeats<'a> {
    schools: &'a [School],
    remaining: Vec<u32>,
    all: BTreeSet<(&'a str, usize)>,
    by_district: BTreeMap<&'a str, BTreeSet<(&'a str, usize)>>,
}

impl<'a> OpenSeats<'a> {
    fn new(schools: &'a [School]) -> Self {
        let mut all = BTreeSet::new();
        let mut by_district: BTreeMap<&'a str, BTreeSet<(&'a str, usize)>> = BTreeMap::new();
        for (i, s) in schools.iter().enumerate() {
            if s.seats > 0 {
                all.insert((s.school_id.as_str(), i));
                by_district
                    .entry(s.district.as_str())
                    .or_default()
                    .insert((s.school_id.as_str(), i));
            }
        }
        Self {
            schools,
            remaining: schools.iter().map(|s| s.seats).collect(),
            all,
            by_district,
        }
    }

    /// Takes one seat of a school that has one left.
    fn take(&mut self, school: usize) {
        self.remaining[school] -= 1;
        if self.remaining[school] == 0 {
            let s = &self.schools[school];
            let entry = (s.school_id.as_str(), school);
            self.all.remove(&entry);
            if let Some(set) = self.by_district.get_mut(s.district.as_str()) {
                set.remove(&entry);
            }
        }
    }
}
