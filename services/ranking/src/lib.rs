//! Ranking: live provisional rank, reproducible official ranking runs, seat and pass-mark
//! decisions, and masked publicity lists.
//!
//! [`domain`] holds the pure logic: exact rank keys (no floating point), the in-process
//! provisional board, the deterministic ranking run with seat allocation, histograms and
//! publicity lists. It does no IO and is not async, so the gRPC service, the storage layer and
//! the Redis board are thin edges around it.

pub mod domain;
