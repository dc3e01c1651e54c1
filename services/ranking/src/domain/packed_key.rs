//! Fast exact ordering of a whole snapshot: rank keys bit-packed into one `u128` each.
//!
//! A ranking run sorts every application at once, so it can afford to look at the snapshot
//! first. For each key word (see [`crate::domain::rank_key`]) it finds the smallest and largest
//! encoded value; `word - min` then needs only `bits(max - min)` bits (points totals span a few
//! hundred values, dates a few thousand days). As many leading words as fit are concatenated,
//! most significant first, and the entry's index fills the low bits. Subtracting a common
//! minimum and concatenating fixed-width fields preserve order, so one `sort_unstable` of plain
//! `u128`s orders the snapshot by those words.
//!
//! Entries whose packed words are equal (the index bits aside) form runs; each run is then
//! sorted by the remaining words, if any did not fit, and finally by application number. The
//! result is exactly the order of [`crate::domain::rank_key::RankKey`], whatever the values.
//!
//! Cost: two linear passes to encode, one `u128` sort, and a linear scan for runs (runs are
//! short unless the snapshot has many full ties).

use super::error::RankingError;
use super::rank_key::{RankEntry, RankSpec};

/// The bit-packed keys of a snapshot, one per entry, not yet sorted.
#[derive(Debug, Clone)]
pub struct PackedKeys {
    keys: Vec<u128>,
    index_bits: u32,
    packed_words: usize,
}

impl PackedKeys {
    /// Returns the packed keys of `entries` under `spec`.
    pub fn build<E: RankEntry>(spec: &RankSpec, entries: &[E]) -> Result<Self, RankingError> {
        for e in entries {
            spec.check_entry(e)?;
        }
        let words = spec.word_count();
        let n = entries.len();
        if n == 0 {
            return Ok(Self {
                keys: Vec::new(),
                index_bits: 0,
                packed_words: words,
            });
        }
        let mut min = vec![u64::MAX; words];
        let mut max = vec![0u64; words];
        for e in entries {
            for j in 0..words {
                let w = spec.word(e, j);
                min[j] = min[j].min(w);
                max[j] = max[j].max(w);
            }
        }
        let index_bits = bits_for((n - 1) as u64);
        let mut budget = 128 - index_bits;
        let mut widths = Vec::with_capacity(words);
        for j in 0..words {
            let bits = bits_for(max[j] - min[j]);
            if bits > budget {
                break;
            }
            budget -= bits;
            widths.push(bits);
        }
        let packed_words = widths.len();
        let keys = entries
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let mut acc: u128 = 0;
                for (j, &bits) in widths.iter().enumerate() {
                    if bits > 0 {
                        acc = (acc << bits) | u128::from(spec.word(e, j) - min[j]);
                    }
                }
                if index_bits > 0 {
                    acc = (acc << index_bits) | i as u128;
                }
                acc
            })
            .collect();
        Ok(Self {
            keys,
            index_bits,
            packed_words,
        })
    }

    /// Returns the packed keys in entry order (what a bare `sort_unstable` would sort).
    pub fn keys(&self) -> &[u128] {
        &self.keys
    }

    /// Returns how many leading key words fit in the packing (the rest are compared on ties).
    pub fn packed_words(&self) -> usize {
        self.packed_words
    }

    /// Returns the entry indices in rank order, rank 1 first.
    pub fn into_order<E: RankEntry>(mut self, spec: &RankSpec, entries: &[E]) -> Vec<usize> {
        self.keys.sort_unstable();
        let mask: u128 = if self.index_bits == 0 {
            0
        } else {
            u128::MAX >> (128 - self.index_bits)
        };
        let prefix = |k: u128| k.checked_shr(self.index_bits).unwrap_or(0);
        let mut order: Vec<usize> = self.keys.iter().map(|&k| (k & mask) as usize).collect();
        let mut start = 0;
        while start < order.len() {
            let p = prefix(self.keys[start]);
            let mut end = start + 1;
            while end < order.len() && prefix(self.keys[end]) == p {
                end += 1;
            }
            if end - start > 1 {
                order[start..end].sort_unstable_by(|&a, &b| {
                    spec.compare_from(&entries[a], &entries[b], self.packed_words)
                });
            }
            start = end;
        }
        order
    }
}

/// Returns the entry indices of `entries` in rank order, rank 1 first.
///
/// Entries with identical keys (same values and application number) are in unspecified order;
/// a ranking run refuses duplicate application numbers, so its order is fully determined.
pub fn rank_order<E: RankEntry>(
    spec: &RankSpec,
    entries: &[E],
) -> Result<Vec<usize>, RankingError> {
    Ok(PackedKeys::build(spec, entries)?.into_order(spec, entries))
}

/// Returns the number of bits needed to write `v` (0 for 0).
fn bits_for(v: u64) -> u32 {
    64 - v.leading_zeros()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::rank_key::{Direction, TieBreaker};
    use crate::domain::test_support::{Sample, reference_order};
    use proptest::prelude::*;

    fn spec3() -> RankSpec {
        RankSpec::new(vec![
            TieBreaker::new("base", Direction::Desc),
            TieBreaker::new("other_parent_total", Direction::Desc),
            TieBreaker::new("registered_on", Direction::Asc),
        ])
        .expect("spec")
    }

    #[test]
    fn empty_and_single_snapshots() {
        let spec = spec3();
        assert!(rank_order::<Sample>(&spec, &[]).expect("order").is_empty());
        let one = [Sample::new("A", 1, [1, 2, 3])];
        assert_eq!(rank_order(&spec, &one).expect("order"), vec![0]);
    }

    #[test]
    fn extreme_values_fall_back_to_comparison_and_stay_exact() {
        // Ranges of 64 bits per word: only one word fits, the rest are compared on ties.
        let spec = spec3();
        let entries = vec![
            Sample::new("B", i64::MAX, [i64::MIN, 0, i64::MAX]),
            Sample::new("A", i64::MAX, [i64::MIN, 0, i64::MIN]),
            Sample::new("C", i64::MIN, [i64::MAX, i64::MAX, 0]),
            Sample::new("D", i64::MAX, [i64::MAX, i64::MIN, 5]),
            Sample::new("E", i64::MAX, [i64::MIN, 0, i64::MIN]),
        ];
        let packed = PackedKeys::build(&spec, &entries).expect("pack");
        assert!(packed.packed_words() < spec.word_count());
        assert_eq!(
            rank_order(&spec, &entries).expect("order"),
            reference_order(&entries)
        );
    }

    #[test]
    fn refuses_wrong_tie_value_count() {
        let spec = RankSpec::suzhou_school();
        let entries = [Sample::new("A", 1, [1, 2, 3])];
        assert!(rank_order(&spec, &entries).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn matches_reference_sort_with_many_ties(
            raw in proptest::collection::vec(
                (0i64..4, 0i64..3, 0i64..3, 0i64..3, "[a-c]{1,2}"), 0..300)
        ) {
            // Tiny value ranges force heavy ties; application numbers are made unique.
            let entries: Vec<Sample> = raw.iter().enumerate()
                .map(|(i, (t, b, o, d, n))| Sample::new(&format!("{n}{i}"), 600 + t, [*b, *o, *d]))
                .collect();
            prop_assert_eq!(rank_order(&spec3(), &entries).expect("order"), reference_order(&entries));
        }

        #[test]
        fn matches_reference_sort_with_wide_values(
            raw in proptest::collection::vec((any::<i64>(), any::<i64>(), -1i64..1, any::<i64>()), 0..100)
        ) {
            let entries: Vec<Sample> = raw.iter().enumerate()
                .map(|(i, (t, b, o, d))| Sample::new(&format!("N{i:03}"), *t % 3, [*b % 2, *o, *d]))
                .collect();
            prop_assert_eq!(rank_order(&spec3(), &entries).expect("order"), reference_order(&entries));
        }
    }
}
