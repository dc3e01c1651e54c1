//! End-to-end tests across jifen components, in one test binary: each file here was its own
//! binary once, and each linked the whole stack again (CI ran out of disk on the copies).
//! `trace.rs` and `observability.rs` stay separate binaries: they install process-wide
//! telemetry.

mod boot;
mod gateway;
mod identity;
mod materials;
mod notices;
mod portal;
mod ranking;
mod review;
mod scoring;
