//! The in-process provisional board of the embedded mode.
//!
//! A board holds one scope's confirmed applications (e.g. one district's school cycle) ordered
//! by `(RankKey, application_id)`, which is exactly the order of the Redis sorted set described
//! in [`crate::domain::rank_key`]; both boards answer the same queries identically.
//!
//! # Structure and cost
//!
//! Entries live in a list of sorted blocks of between [`BLOCK`]/2 and 2·[`BLOCK`] entries (a
//! "sorted list" in the style of order-statistics containers); a hash map finds an
//! application's current key, and a `BTreeMap` counts entries per total for histograms.
//!
//! | operation | cost |
//! |---|---|
//! | [`Board::upsert`], [`Board::remove`] | O(log n + BLOCK + n/BLOCK) |
//! | [`Board::rank_of`] | O(log n + n/BLOCK) |
//! | [`Board::nth`], [`Board::cutoff`] | O(n/BLOCK) |
//! | [`Board::histogram`] | O(distinct totals) |
//!
//! With BLOCK = 512, a 1,000,000-entry board has ~1,000–4,000 blocks, so a rank query sums at
//! most a few thousand block lengths (microseconds) instead of walking a million entries.
//!
//! The board is not synchronised: the caller wraps it in a lock.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::error::RankingError;
use super::histogram::Histogram;
use super::rank_key::{RankKey, RankSpec};

/// The target block size of the board's sorted blocks.
pub const BLOCK: usize = 512;

/// One board entry: its key and the application it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BoardEntry {
    /// The application's rank key (compared first).
    pub key: RankKey,
    /// The application id (compared last; makes every entry distinct).
    pub application_id: String,
}

impl BoardEntry {
    /// Orders this entry against the entry `(key, application_id)`, as the derived order does.
    fn cmp_to(&self, key: &RankKey, application_id: &str) -> std::cmp::Ordering {
        self.key
            .cmp(key)
            .then_with(|| self.application_id.as_str().cmp(application_id))
    }
}

/// Where one application stands on a board.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankPosition {
    /// 1-based rank.
    pub rank: u64,
    /// The application's total.
    pub total: i64,
    /// How many entries rank above it.
    pub above: u64,
    /// How many entries rank below it.
    pub below: u64,
    /// How many other entries have the same total (they are ordered by tie-breakers).
    pub same_total: u64,
}

/// The provisional cut-off for a number of seats: the entry holding the last seat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cutoff {
    /// The seat count asked for.
    pub seats: u64,
    /// The total of the entry in the last seat.
    pub total: i64,
    /// The full key of that entry.
    pub key: RankKey,
    /// The application in the last seat.
    pub application_id: String,
}

/// An ordered, in-memory board of rank keys with order-statistics queries.
#[derive(Debug, Clone)]
pub struct Board {
    word_count: usize,
    blocks: Vec<Vec<BoardEntry>>,
    keys: HashMap<String, RankKey>,
    totals: BTreeMap<i64, u64>,
}

impl Board {
    /// Returns an empty board for keys built by `spec`.
    pub fn new(spec: &RankSpec) -> Self {
        Self {
            word_count: spec.word_count(),
            blocks: Vec::new(),
            keys: HashMap::new(),
            totals: BTreeMap::new(),
        }
    }

    /// Returns the number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Returns whether the board is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Returns the current key of an application, if it is on the board.
    pub fn key_of(&self, application_id: &str) -> Option<&RankKey> {
        self.keys.get(application_id)
    }

    /// Inserts an application or moves it to its new key; returns its previous key.
    pub fn upsert(
        &mut self,
        application_id: &str,
        key: RankKey,
    ) -> Result<Option<RankKey>, RankingError> {
        if key.word_count() != self.word_count {
            return Err(RankingError::KeyWidth {
                expected: self.word_count,
                got: key.word_count(),
            });
        }
        if self.keys.get(application_id) == Some(&key) {
            return Ok(Some(key));
        }
        let previous = self.remove(application_id);
        *self.totals.entry(key.total()).or_default() += 1;
        self.keys.insert(application_id.to_owned(), key.clone());
        self.insert_entry(BoardEntry {
            key,
            application_id: application_id.to_owned(),
        });
        Ok(previous)
    }

    /// Removes an application (a withdrawal); returns its key if it was on the board.
    pub fn remove(&mut self, application_id: &str) -> Option<RankKey> {
        let key = self.keys.remove(application_id)?;
        if let Some(count) = self.totals.get_mut(&key.total()) {
            *count -= 1;
            if *count == 0 {
                self.totals.remove(&key.total());
            }
        }
        let probe = BoardEntry {
            key,
            application_id: application_id.to_owned(),
        };
        let b = self.block_for(&probe);
        if let Some(block) = self.blocks.get_mut(b)
            && let Ok(pos) = block.binary_search(&probe)
        {
            block.remove(pos);
            self.rebalance_after_remove(b);
        }
        Some(probe.key)
    }

    /// Returns where an application stands, or `None` if it is not on the board.
    pub fn rank_of(&self, application_id: &str) -> Option<RankPosition> {
        let key = self.keys.get(application_id)?;
        // Compared in place: the hot read path builds no probe entry.
        let b = self.block_of(key, application_id);
        let pos = self
            .blocks
            .get(b)?
            .binary_search_by(|e| e.cmp_to(key, application_id))
            .ok()?;
        let before: usize = self.blocks[..b].iter().map(Vec::len).sum();
        let above = (before + pos) as u64;
        let total = key.total();
        Some(RankPosition {
            rank: above + 1,
            total,
            above,
            below: self.len() as u64 - above - 1,
            same_total: self.totals.get(&total).copied().unwrap_or(1) - 1,
        })
    }

    /// Returns the entry at 0-based position `index` in rank order.
    pub fn nth(&self, index: usize) -> Option<&BoardEntry> {
        let mut rest = index;
        for block in &self.blocks {
            if rest < block.len() {
                return block.get(rest);
            }
            rest -= block.len();
        }
        None
    }

    /// Returns the provisional cut-off for `seats` seats: the entry in the last seat, or `None`
    /// when `seats` is 0 or the board has fewer entries than seats (everyone fits).
    pub fn cutoff(&self, seats: u64) -> Option<Cutoff> {
        let index = usize::try_from(seats.checked_sub(1)?).ok()?;
        let entry = self.nth(index)?;
        Some(Cutoff {
            seats,
            total: entry.key.total(),
            key: entry.key.clone(),
            application_id: entry.application_id.clone(),
        })
    }

    /// Returns the distribution of totals on the board.
    pub fn histogram(&self, bucket_width: i64) -> Result<Histogram, RankingError> {
        Histogram::from_counts(bucket_width, self.totals.iter().map(|(&t, &c)| (t, c)))
    }

    /// Returns `(total, count)` for every total on the board, ascending by total.
    pub fn total_counts(&self) -> Vec<(i64, u64)> {
        self.totals.iter().map(|(&t, &c)| (t, c)).collect()
    }

    /// Returns up to `limit` entries starting at 0-based position `offset`, in rank order.
    pub fn page(&self, offset: usize, limit: usize) -> Vec<&BoardEntry> {
        self.iter().skip(offset).take(limit).collect()
    }

    /// Returns every entry in rank order.
    pub fn iter(&self) -> impl Iterator<Item = &BoardEntry> + '_ {
        self.blocks.iter().flatten()
    }

    /// Returns the index of the block that holds (or would hold) `entry`.
    fn block_for(&self, entry: &BoardEntry) -> usize {
        self.block_of(&entry.key, &entry.application_id)
    }

    /// Returns the index of the block that holds (or would hold) the entry `(key, application_id)`.
    fn block_of(&self, key: &RankKey, application_id: &str) -> usize {
        let b = self.blocks.partition_point(|block| {
            block
                .last()
                .is_some_and(|last| last.cmp_to(key, application_id).is_lt())
        });
        b.min(self.blocks.len().saturating_sub(1))
    }

    fn insert_entry(&mut self, entry: BoardEntry) {
        if self.blocks.is_empty() {
            self.blocks.push(vec![entry]);
            return;
        }
        let b = self.block_for(&entry);
        let block = &mut self.blocks[b];
        let pos = block.partition_point(|e| e < &entry);
        block.insert(pos, entry);
        if block.len() > 2 * BLOCK {
            let tail = block.split_off(BLOCK);
            self.blocks.insert(b + 1, tail);
        }
    }

    fn rebalance_after_remove(&mut self, b: usize) {
        if self.blocks[b].is_empty() {
            self.blocks.remove(b);
            return;
        }
        if self.blocks[b].len() < BLOCK / 2
            && b + 1 < self.blocks.len()
            && self.blocks[b].len() + self.blocks[b + 1].len() <= 2 * BLOCK
        {
            let next = self.blocks.remove(b + 1);
            self.blocks[b].extend(next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::packed_key::rank_order;
    use crate::domain::rank_key::{Direction, TieBreaker};
    use crate::domain::test_support::{Sample, reference_order};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn spec3() -> RankSpec {
        RankSpec::new(vec![
            TieBreaker::new("base", Direction::Desc),
            TieBreaker::new("other_parent_total", Direction::Desc),
            TieBreaker::new("registered_on", Direction::Asc),
        ])
        .expect("spec")
    }

    fn key(spec: &RankSpec, s: &Sample) -> RankKey {
        spec.key(s.total, &s.ties, &s.number).expect("key")
    }

    #[test]
    fn example_b_rank_positions() {
        let spec = spec3();
        let mut board = Board::new(&spec);
        for (id, s) in [
            ("f1", Sample::new("F1", 684, [540, 522, 0])),
            ("f2", Sample::new("F2", 684, [560, 410, 0])),
            ("f3", Sample::new("F3", 684, [540, 480, 0])),
            ("f4", Sample::new("F4", 700, [500, 0, 0])),
        ] {
            board.upsert(id, key(&spec, &s)).expect("upsert");
        }
        let order: Vec<&str> = board.iter().map(|e| e.application_id.as_str()).collect();
        assert_eq!(order, ["f4", "f2", "f1", "f3"]);
        let f1 = board.rank_of("f1").expect("on board");
        assert_eq!(
            f1,
            RankPosition {
                rank: 3,
                total: 684,
                above: 2,
                below: 1,
                same_total: 2
            }
        );
        let cut = board.cutoff(3).expect("cutoff");
        assert_eq!((cut.total, cut.application_id.as_str()), (684, "f1"));
        assert!(board.cutoff(5).is_none());
        assert!(board.cutoff(0).is_none());
    }

    #[test]
    fn upsert_moves_and_remove_leaves() {
        let spec = spec3();
        let mut board = Board::new(&spec);
        board
            .upsert("a", key(&spec, &Sample::new("A", 500, [0, 0, 0])))
            .expect("upsert");
        board
            .upsert("b", key(&spec, &Sample::new("B", 600, [0, 0, 0])))
            .expect("upsert");
        assert_eq!(board.rank_of("a").map(|p| p.rank), Some(2));
        let prev = board
            .upsert("a", key(&spec, &Sample::new("A", 700, [0, 0, 0])))
            .expect("upsert");
        assert_eq!(prev.map(|k| k.total()), Some(500));
        assert_eq!(board.rank_of("a").map(|p| p.rank), Some(1));
        assert_eq!(board.len(), 2);
        assert!(board.remove("a").is_some());
        assert!(board.remove("a").is_none());
        assert_eq!(board.rank_of("b").map(|p| (p.rank, p.below)), Some((1, 0)));
        assert!(board.rank_of("a").is_none());
        let hist = board.histogram(100).expect("histogram");
        assert_eq!(hist.total_count(), 1);
    }

    #[test]
    fn refuses_keys_of_another_rule_set() {
        let mut board = Board::new(&spec3());
        let other = RankSpec::suzhou_school()
            .key(1, &[1, 2, 3, 4], "A")
            .expect("key");
        assert!(matches!(
            board.upsert("a", other),
            Err(RankingError::KeyWidth { .. })
        ));
    }

    #[test]
    fn randomized_board_matches_reference_run_and_redis_order() {
        let spec = spec3();
        let mut rng = StdRng::seed_from_u64(7);
        let mut board = Board::new(&spec);
        let mut live: BTreeMap<String, Sample> = BTreeMap::new();
        // Enough operations to split and merge many blocks; tiny ranges give many ties.
        for step in 0..6_000u32 {
            let id = format!("app{}", rng.random_range(0..2_500u32));
            if rng.random_range(0..5) == 0 {
                assert_eq!(board.remove(&id).is_some(), live.remove(&id).is_some());
            } else {
                let s = Sample::new(
                    &format!("N{id}"),
                    rng.random_range(600..606),
                    [
                        rng.random_range(0..3),
                        rng.random_range(0..3),
                        rng.random_range(0..2),
                    ],
                );
                board.upsert(&id, key(&spec, &s)).expect("upsert");
                live.insert(id, s);
            }
            if step % 1_000 == 999 {
                check_board(&spec, &board, &live);
            }
        }
        check_board(&spec, &board, &live);
        while let Some((id, _)) = live.pop_first() {
            board.remove(&id);
        }
        assert!(board.is_empty() && board.blocks.is_empty());
    }

    fn check_board(spec: &RankSpec, board: &Board, live: &BTreeMap<String, Sample>) {
        let ids: Vec<&String> = live.keys().collect();
        let samples: Vec<Sample> = live.values().cloned().collect();
        let reference: Vec<&str> = reference_order(&samples)
            .into_iter()
            .map(|i| ids[i].as_str())
            .collect();
        let run: Vec<&str> = rank_order(spec, &samples)
            .expect("order")
            .into_iter()
            .map(|i| ids[i].as_str())
            .collect();
        let on_board: Vec<&str> = board.iter().map(|e| e.application_id.as_str()).collect();
        assert_eq!(on_board, reference);
        assert_eq!(run, reference);
        let mut members: Vec<String> = board
            .iter()
            .map(|e| e.key.redis_member(&e.application_id))
            .collect();
        members.sort();
        let redis: Vec<String> = members
            .iter()
            .map(|m| spec.parse_redis_member(m).expect("member").1)
            .collect();
        assert_eq!(redis, reference);
        for (i, id) in reference.iter().enumerate().step_by(97) {
            let pos = board.rank_of(id).expect("on board");
            assert_eq!(pos.rank, i as u64 + 1);
            assert_eq!(board.nth(i).map(|e| e.application_id.as_str()), Some(*id));
        }
        assert!(
            board
                .blocks
                .iter()
                .all(|b| !b.is_empty() && b.len() <= 2 * BLOCK)
        );
    }
}
