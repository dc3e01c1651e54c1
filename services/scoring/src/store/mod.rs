//! sea-orm entities and repositories of scoring. Every query filters by tenant; the only rows
//! read across tenants are the released city templates of `suzhou`.

pub mod benefit;
pub mod change;
pub mod rule_set;
pub mod score_sheet;
