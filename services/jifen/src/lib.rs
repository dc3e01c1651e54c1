//! The `jifen` binary as a library: the command line, process assembly and the commands, so that
//! tests start jifen exactly as `jifen run` does.

pub mod app;
pub mod cli;
pub mod loadgen;
pub mod seed;
pub mod target;
pub mod testkit;

pub use app::App;
