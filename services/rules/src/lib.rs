//! `jifen-rules`: the pure rule engine of jifen (积分). No IO, no async.
//!
//! * [`document`]: the rule-set document (suzhou-points §6.1), JSON + JSON Schema ([`schema`]).
//! * [`validate`]: consistency checks; every problem with a JSON path, code and Chinese message.
//! * [`inherit`]: city template + district overlays (add / replace / disable by code).
//! * [`compile`] + [`evaluate`]: compile once, evaluate facts at an `as_of` date into an
//!   explained [`ScoreSheet`] (or a non-allocating [`ScoreSummary`]).
//! * [`facts`]: facts documents (contract vocabulary + declared extras) and [`facts_hash`].
//! * [`simulate`]: the `jifen simulate` JSON object.
//! * [`what_if`]: a draft rule set against a baseline over many applications.
//! * [`defaults`]: the rule sets seeded by `jifen seed`, tenant defaults and pass marks.

// Tests may unwrap; the workspace lint targets library code.
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod compile;
pub mod defaults;
pub mod document;
pub mod error;
pub mod evaluate;
mod explain;
pub mod facts;
pub mod inherit;
pub mod schema;
pub mod simulate;
pub mod validate;
pub mod vocabulary;
pub mod what_if;

pub use compile::CompiledRuleSet;
pub use defaults::{
    DEFAULT_DOCUMENTS, default_library, default_rule_set_for, threshold_area_for, threshold_for,
};
pub use document::RuleSetDocument;
pub use error::{FactError, RulesError, Violation};
pub use evaluate::{FamilyResult, GateOutcome, GateResult, ScoreLine, ScoreSheet, ScoreSummary};
pub use facts::{ExtraValue, FactValue, Facts, PersonFacts, date_key, facts_hash};
pub use inherit::{RuleSetLibrary, materialise};
pub use schema::rule_set_json_schema;
pub use simulate::{simulate, simulate_json};
pub use validate::validate;
pub use what_if::{Bucket, DecisionLine, Mover, WhatIfOptions, WhatIfReport, what_if};

#[cfg(test)]
mod worked_examples;
