//! Storage of ranking: sea-orm entities and tenant-scoped repositories. Every query takes the
//! tenant; nothing here reads across tenants except [`board_entry::live_cycles`] (the start-up
//! rebuild, which walks every tenant on purpose).

pub mod board_entry;
pub mod cutoff_history;
pub mod publicity_list;
pub mod ranking_run;
