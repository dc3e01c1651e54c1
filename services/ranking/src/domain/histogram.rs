//! Score distributions: how many entries fall in each band of totals.
//!
//! Buckets are aligned to multiples of the width (`[k·w, (k+1)·w)`, also for negative totals)
//! and contiguous from the lowest to the highest occupied bucket, empty ones included, so a
//! chart can draw them as they come.

use serde::{Deserialize, Serialize};

use super::error::RankingError;

/// The most buckets a histogram may have; a wider request is refused rather than drawn.
pub const MAX_BUCKETS: u64 = 10_000;

/// One band of totals and how many entries fall in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    /// The lowest total in the band (inclusive).
    pub lower: i64,
    /// The first total above the band (exclusive).
    pub upper: i64,
    /// How many entries have a total in `lower..upper`.
    pub count: u64,
}

/// A score distribution with a fixed bucket width.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Histogram {
    /// The width of every bucket, in points.
    pub bucket_width: i64,
    /// Buckets from the lowest total upwards; empty when there are no entries.
    pub buckets: Vec<Bucket>,
}

impl Histogram {
    /// Returns the histogram of `(total, count)` pairs (totals may repeat, in any order).
    pub fn from_counts(
        bucket_width: i64,
        counts: impl IntoIterator<Item = (i64, u64)>,
    ) -> Result<Self, RankingError> {
        if bucket_width <= 0 {
            return Err(RankingError::InvalidBucketWidth(bucket_width));
        }
        let mut per_bucket = std::collections::BTreeMap::<i64, u64>::new();
        for (total, count) in counts {
            if count > 0 {
                *per_bucket
                    .entry(total.div_euclid(bucket_width))
                    .or_default() += count;
            }
        }
        let (Some((&first, _)), Some((&last, _))) =
            (per_bucket.first_key_value(), per_bucket.last_key_value())
        else {
            return Ok(Self {
                bucket_width,
                buckets: Vec::new(),
            });
        };
        let span = i128::from(last) - i128::from(first) + 1;
        if span > i128::from(MAX_BUCKETS) {
            return Err(RankingError::TooManyBuckets {
                buckets: u64::try_from(span).unwrap_or(u64::MAX),
                limit: MAX_BUCKETS,
            });
        }
        let buckets = (first..=last)
            .map(|k| {
                let lower = k.saturating_mul(bucket_width);
                Bucket {
                    lower,
                    upper: lower.saturating_add(bucket_width),
                    count: per_bucket.get(&k).copied().unwrap_or(0),
                }
            })
            .collect();
        Ok(Self {
            bucket_width,
            buckets,
        })
    }

    /// Returns the histogram of individual totals.
    pub fn from_totals(
        bucket_width: i64,
        totals: impl IntoIterator<Item = i64>,
    ) -> Result<Self, RankingError> {
        Self::from_counts(bucket_width, totals.into_iter().map(|t| (t, 1)))
    }

    /// Returns the number of entries counted.
    pub fn total_count(&self) -> u64 {
        self.buckets.iter().map(|b| b.count).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_aligned_and_contiguous() {
        let h = Histogram::from_totals(50, [684, 684, 522, 699, 700, -1]).expect("histogram");
        assert_eq!(
            h.buckets.first().map(|b| (b.lower, b.upper)),
            Some((-50, 0))
        );
        let b650 = h.buckets.iter().find(|b| b.lower == 650).expect("bucket");
        assert_eq!((b650.upper, b650.count), (700, 3));
        let b700 = h.buckets.iter().find(|b| b.lower == 700).expect("bucket");
        assert_eq!(b700.count, 1);
        assert_eq!(h.total_count(), 6);
        assert!(h.buckets.windows(2).all(|w| w[0].upper == w[1].lower));
        assert_eq!(h.buckets.len(), 16);
    }

    #[test]
    fn refuses_bad_width_and_huge_spans() {
        assert_eq!(
            Histogram::from_totals(0, [1]),
            Err(RankingError::InvalidBucketWidth(0))
        );
        assert!(matches!(
            Histogram::from_totals(1, [0, 1_000_000]),
            Err(RankingError::TooManyBuckets { .. })
        ));
        assert!(Histogram::from_totals(1, [i64::MIN, i64::MAX]).is_err());
    }

    #[test]
    fn empty_input_gives_no_buckets() {
        let h = Histogram::from_counts(10, [(5, 0)]).expect("histogram");
        assert!(h.buckets.is_empty());
    }
}
