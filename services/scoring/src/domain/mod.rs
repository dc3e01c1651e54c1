//! Pure logic of scoring, no IO: who may do what, the rule-set lifecycle, the simulator's rate
//! limit.

pub mod access;
pub mod lifecycle;
pub mod rate_limit;
