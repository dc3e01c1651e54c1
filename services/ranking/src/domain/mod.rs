//! The pure ranking domain: no IO, no async.
//!
//! * [`rank_key`]: exact rank keys (total, tie-breakers, application number), their byte and
//!   Redis sorted-set encodings.
//! * [`packed_key`]: fast exact ordering of a whole snapshot (bit-packed `u128` keys).
//! * [`board`]: the in-process provisional board (rank, above/below, cut-off, histogram).
//! * [`histogram`]: score distributions.
//! * [`run`]: the official, reproducible ranking run with its hashes.
//! * [`seat_allocation`]: school seats by preference, then the two reallocation rounds.
//! * [`publicity`]: masked publicity lists, CSV export and content hash.

pub mod board;
pub mod error;
pub mod histogram;
pub mod packed_key;
pub mod publicity;
pub mod rank_key;
pub mod run;
pub mod seat_allocation;

#[cfg(test)]
mod test_support;

pub use board::{Board, BoardEntry, Cutoff, RankPosition};
pub use error::RankingError;
pub use histogram::{Bucket, Histogram};
pub use packed_key::{PackedKeys, rank_order};
pub use publicity::{PublicityList, PublicityRow, mask_id_number, mask_name};
pub use rank_key::{Direction, RankEntry, RankKey, RankSpec, TieBreaker};
pub use run::{
    Decision, Outcome, RunApplication, RunParams, RunResult, RunRow, SchoolResult, run_ranking,
};
pub use seat_allocation::{AllocationRound, School, SeatPlan};
