//! Shared test fixtures: a three-tie-breaker sample entry and a reference sort written as an
//! explicit comparator chain, independent of the key encoding.

use std::cmp::Ordering;

use super::rank_key::RankEntry;

/// A sample entry for the order `total desc, base desc, other_parent_total desc,
/// registered_on asc, application_number asc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sample {
    pub(crate) number: String,
    pub(crate) total: i64,
    pub(crate) ties: [i64; 3],
}

impl Sample {
    pub(crate) fn new(number: &str, total: i64, ties: [i64; 3]) -> Self {
        Self {
            number: number.to_owned(),
            total,
            ties,
        }
    }
}

impl RankEntry for Sample {
    fn total(&self) -> i64 {
        self.total
    }
    fn tie_values(&self) -> &[i64] {
        &self.ties
    }
    fn application_number(&self) -> &str {
        &self.number
    }
}

/// Compares two samples the plain way.
pub(crate) fn reference_cmp(a: &Sample, b: &Sample) -> Ordering {
    b.total
        .cmp(&a.total)
        .then_with(|| b.ties[0].cmp(&a.ties[0]))
        .then_with(|| b.ties[1].cmp(&a.ties[1]))
        .then_with(|| a.ties[2].cmp(&b.ties[2]))
        .then_with(|| a.number.as_bytes().cmp(b.number.as_bytes()))
}

/// Returns sample indices sorted by [`reference_cmp`].
pub(crate) fn reference_order(entries: &[Sample]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    idx.sort_by(|&a, &b| reference_cmp(&entries[a], &entries[b]));
    idx
}
