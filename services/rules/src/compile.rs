//! Compiles a validated, materialised document into a [`CompiledRuleSet`]: fact keys resolved to
//! slots, enum maps turned into lookup tables, groups into index lists, gate conditions into
//! datalogic programs. Compile once per (tenant, version) and share via `Arc`.

use std::sync::LazyLock;

use datalogic_rs::{Engine, Logic};

use crate::document::{
    Category, Decision, Direction, ExtraFact, ExtraFactType, FamilyRule, Formula, GateFailure,
    RuleSetDocument, TieBreaker,
};
use crate::error::{RulesError, Violation};
use crate::validate::validate;
use crate::vocabulary::{AGE_KEY, BOOL_WORDS, BUILTIN_FACTS, FactType, builtin_slot, word_index};

/// The one JsonLogic engine (immutable, `Send + Sync`); compiled gate programs run on it.
pub(crate) static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::new);

/// Where an indicator reads its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum FactSource {
    Builtin(usize),
    Age,
    Extra(Box<str>),
}

/// A formula with its parameters resolved for fast evaluation.
#[derive(Clone, Debug)]
pub(crate) enum CompiledFormula {
    /// Built-in enum or boolean fact: points by word index.
    Table(Box<[i64]>),
    /// Extra enum / boolean fact: points by word.
    Words(Box<[(Box<str>, i64)]>),
    PerUnit {
        rate: i64,
        per: i64,
        floor: i64,
        cap: Option<i64>,
    },
    AnchorLinear {
        anchor: i64,
        base: i64,
        step: i64,
        direction: Direction,
        zero_beyond: bool,
        cap: Option<i64>,
    },
    BasePlusExcess {
        threshold: i64,
        base: i64,
        step_size: i64,
        step_points: i64,
        cap: Option<i64>,
    },
    CountWithCap {
        points: i64,
        cap: Option<i64>,
    },
    Product {
        rate: i64,
        factor: Option<FactSource>,
    },
}

/// The common formula shapes over built-in facts, flattened so the hot loop is one match with
/// no pointer chasing. Anything else (extra facts, enum maps on extras) goes through
/// [`CompiledFormula`].
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kernel {
    /// Enum or boolean fact: points by word index (enum word lists have at most 8 words).
    Table { slot: u8, table: [i32; 8] },
    /// `v × rate` (per_unit with unit size 1 and no threshold, count_with_cap): the common
    /// case, kept free of an integer division.
    Linear { slot: u8, rate: i64 },
    /// `floor(v / per) × rate` from `floor` units on.
    PerUnit {
        slot: u8,
        rate: i64,
        per: i64,
        floor: i64,
    },
    /// Age anchor-linear.
    AgeAnchor {
        anchor: i64,
        base: i64,
        step: i64,
        younger: bool,
        zero_beyond: bool,
    },
    /// General formula.
    General,
}

/// One compiled indicator.
#[derive(Clone, Debug)]
pub(crate) struct CompiledIndicator {
    pub(crate) code: Box<str>,
    pub(crate) name_zh: Box<str>,
    pub(crate) category: Category,
    pub(crate) fact: FactSource,
    /// Type of a built-in fact, for labels in explanations.
    pub(crate) fact_ty: Option<FactType>,
    pub(crate) formula: CompiledFormula,
    /// The document's formula, for explanations (unit words, parameters).
    pub(crate) source: Formula,
    pub(crate) cap: Option<i64>,
    /// Fast-path form of the formula over a built-in fact.
    pub(crate) kernel: Kernel,
    /// Formula cap, indicator cap and category sign merged into one clamp range.
    pub(crate) lo: i64,
    pub(crate) hi: i64,
    pub(crate) exclusive_group: Option<usize>,
    pub(crate) cap_group: Option<usize>,
    /// For a member of an exclusive group, the explanation notes, precomputed:
    /// "（与…取高者计分）" and "（与…取高者计分，本项不计）".
    pub(crate) exclusive_notes: Option<(Box<str>, Box<str>)>,
}

/// An exclusive group with its member indicator indexes.
#[derive(Clone, Debug)]
pub(crate) struct CompiledExclusive {
    pub(crate) members: Box<[usize]>,
}

/// A group cap with its member indicator indexes.
#[derive(Clone, Debug)]
pub(crate) struct CompiledGroupCap {
    pub(crate) name_zh: Box<str>,
    pub(crate) cap: i64,
    pub(crate) members: Box<[usize]>,
}

/// A gate with its compiled JsonLogic program.
pub(crate) struct CompiledGate {
    pub(crate) code: Box<str>,
    pub(crate) message_zh: Box<str>,
    pub(crate) on_failure: GateFailure,
    pub(crate) logic: Logic,
}

/// A rule set compiled for evaluating one benefit. `Send + Sync`; share it via `Arc`.
pub struct CompiledRuleSet {
    pub(crate) document: RuleSetDocument,
    pub(crate) benefit: String,
    pub(crate) indicators: Vec<CompiledIndicator>,
    pub(crate) exclusive: Vec<CompiledExclusive>,
    pub(crate) group_caps: Vec<CompiledGroupCap>,
    pub(crate) gates: Vec<CompiledGate>,
    /// Fused single-person plan, when the rule set's shape allows it.
    pub(crate) fast: Option<FastPlan>,
}

/// An enum table of the fused plan, indexed by the dense word index (see
/// [`crate::facts::WORD_LIMIT`]); entries past the word list are 0.
pub(crate) type WordTable = [i32; crate::facts::WORD_LIMIT as usize + 1];

/// One indicator of the fused plan. Parameters are checked at compile time so that, for facts
/// within `±MAX_FACT_VALUE` (and any age a date can give), no product or sum can overflow: the
/// hot loop uses plain arithmetic and a two-instruction clamp. `acc` is the category (0 base,
/// 1 additional, 2 deduction) for summed ops; group members ignore it.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    /// Enum or boolean fact: points by word index, already clamped.
    Table { slot: u8, acc: u8, table: WordTable },
    /// `v × rate`, clamped to `[lo, hi]`.
    Linear {
        slot: u8,
        acc: u8,
        rate: i64,
        lo: i64,
        hi: i64,
    },
    /// `floor(v / per) × rate` from `floor` units on, clamped to `[lo, hi]`.
    PerUnit {
        slot: u8,
        acc: u8,
        rate: i64,
        per: i64,
        floor: i64,
        lo: i64,
        hi: i64,
    },
    /// Age anchor-linear, clamped to `[lo, hi]`.
    AgeAnchor {
        acc: u8,
        anchor: i64,
        base: i64,
        step: i64,
        younger: bool,
        zero_beyond: bool,
        lo: i64,
        hi: i64,
    },
}

/// An exclusive group of the fused plan: its members' maximum counts in `category`.
#[derive(Clone, Debug)]
pub(crate) struct FastGroup {
    pub(crate) category: u8,
    /// Members that are enum tables: `(slot, table)`.
    pub(crate) tables: Box<[(u8, WordTable)]>,
    /// Other members.
    pub(crate) ops: Box<[Op]>,
}

/// A single pass over the indicators without interpretation overhead: the summed indicators
/// (outside any exclusive group) are split by kind into flat arrays, each looped over with no
/// dispatch, then each exclusive group adds its maximum. Built only when every indicator has a
/// fast kernel whose points stay within [`OP_LIMIT`], there are no group caps, and each
/// exclusive group's members share a category. Every line of a category has the same sign
/// (the clamp range of base and additional lines is `[0, cap]`, of deductions `[-cap, 0]`), so
/// the sums do not depend on the order of the lines, and with every line within `OP_LIMIT` (at
/// most [`crate::validate::MAX_INDICATORS`] lines) they cannot overflow: the plan gives exactly
/// the totals of the general, saturating path (the property tests compare the two).
#[derive(Clone, Debug, Default)]
pub(crate) struct FastPlan {
    pub(crate) linear: Box<[Op]>,
    pub(crate) per_unit: Box<[Op]>,
    pub(crate) age: Box<[Op]>,
    pub(crate) tables: Box<[Op]>,
    pub(crate) groups: Box<[FastGroup]>,
}

/// Bound on the absolute points of one fused-plan line (64 lines sum to at most 2^62).
const OP_LIMIT: i64 = 1 << 56;

/// Bound on an age in years between two representable dates.
const AGE_BOUND: i64 = 1_000_000;

fn category_index(c: Category) -> u8 {
    match c {
        Category::Base => 0,
        Category::Additional => 1,
        Category::Deduction => 2,
    }
}

/// The fused-plan op of an indicator, or `None` if its points could leave [`OP_LIMIT`].
fn op_of(ind: &CompiledIndicator) -> Option<Op> {
    let x = crate::vocabulary::MAX_FACT_VALUE;
    let (lo, hi) = (ind.lo, ind.hi);
    let acc = category_index(ind.category);
    let fits = |bound: Option<i64>| bound.is_some_and(|b| b <= OP_LIMIT);
    Some(match ind.kernel {
        Kernel::Table { slot, table } => {
            let mut t: WordTable = [0; crate::facts::WORD_LIMIT as usize + 1];
            for (dst, src) in t.iter_mut().zip(table) {
                // Clamping towards a range that contains 0 keeps the value within i32.
                *dst = i32::try_from(i64::from(src).clamp(lo, hi)).ok()?;
            }
            Op::Table {
                slot,
                acc,
                table: t,
            }
        }
        Kernel::Linear { slot, rate } => {
            if !fits(rate.checked_abs().and_then(|r| r.checked_mul(x))) {
                return None;
            }
            Op::Linear {
                slot,
                acc,
                rate,
                lo,
                hi,
            }
        }
        Kernel::PerUnit {
            slot,
            rate,
            per,
            floor,
        } => {
            if per < 1 || !fits(rate.checked_abs().and_then(|r| r.checked_mul(x))) {
                return None;
            }
            Op::PerUnit {
                slot,
                acc,
                rate,
                per,
                floor,
                lo,
                hi,
            }
        }
        Kernel::AgeAnchor {
            anchor,
            base,
            step,
            younger,
            zero_beyond,
        } => {
            let d = anchor.checked_abs().and_then(|a| a.checked_add(AGE_BOUND));
            let bound = d
                .and_then(|d| step.checked_abs()?.checked_mul(d))
                .and_then(|p| p.checked_add(base.checked_abs()?));
            if !fits(bound) {
                return None;
            }
            Op::AgeAnchor {
                acc,
                anchor,
                base,
                step,
                younger,
                zero_beyond,
                lo,
                hi,
            }
        }
        Kernel::General => return None,
    })
}

fn fast_plan(
    indicators: &[CompiledIndicator],
    exclusive_count: usize,
    has_group_caps: bool,
) -> Option<FastPlan> {
    if has_group_caps {
        return None;
    }
    let mut group_category: Vec<Option<u8>> = vec![None; exclusive_count];
    let mut group_members: Vec<Vec<Op>> = vec![Vec::new(); exclusive_count];
    let (mut linear, mut per_unit, mut age, mut tables) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for ind in indicators {
        let op = op_of(ind)?;
        if let Some(g) = ind.exclusive_group {
            let category = category_index(ind.category);
            let slot = group_category.get_mut(g)?;
            if slot.is_some_and(|c| c != category) {
                return None;
            }
            *slot = Some(category);
            group_members.get_mut(g)?.push(op);
        } else {
            match op {
                Op::Linear { .. } => linear.push(op),
                Op::PerUnit { .. } => per_unit.push(op),
                Op::AgeAnchor { .. } => age.push(op),
                Op::Table { .. } => tables.push(op),
            }
        }
    }
    let groups = group_members
        .into_iter()
        .zip(group_category)
        // A group without members contributes nothing.
        .filter_map(|(members, category)| {
            let category = category?;
            let mut tables = Vec::new();
            let mut ops = Vec::new();
            for op in members {
                match op {
                    Op::Table { slot, table, .. } => tables.push((slot, table)),
                    other => ops.push(other),
                }
            }
            Some(FastGroup {
                category,
                tables: tables.into_boxed_slice(),
                ops: ops.into_boxed_slice(),
            })
        })
        .collect();
    Some(FastPlan {
        linear: linear.into_boxed_slice(),
        per_unit: per_unit.into_boxed_slice(),
        age: age.into_boxed_slice(),
        tables: tables.into_boxed_slice(),
        groups,
    })
}

impl std::fmt::Debug for CompiledRuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledRuleSet")
            .field("id", &self.document.id)
            .field("version", &self.document.version)
            .field("benefit", &self.benefit)
            .field("indicators", &self.indicators.len())
            .field("gates", &self.gates.len())
            .finish()
    }
}

impl CompiledRuleSet {
    /// Validates and compiles a materialised document for its first benefit.
    pub fn compile(document: &RuleSetDocument) -> Result<Self, RulesError> {
        let benefit = document.benefits.first().cloned().unwrap_or_default();
        Self::compile_for(document, &benefit)
    }

    /// Validates and compiles a materialised document for `benefit`; indicators whose
    /// `applies_to` excludes the benefit are left out.
    pub fn compile_for(document: &RuleSetDocument, benefit: &str) -> Result<Self, RulesError> {
        if document.is_overlay() {
            return Err(RulesError::invalid(vec![Violation::new(
                "/extends",
                "not_materialised",
                "继承规则集须先合成（materialise）后再编译",
            )]));
        }
        validate(document)?;
        if !document.benefits.iter().any(|b| b == benefit) {
            return Err(RulesError::invalid(vec![Violation::new(
                "/benefits",
                "benefit_not_covered",
                format!("规则集不适用于积分用途“{benefit}”"),
            )]));
        }
        let doc = document;
        let included: Vec<&crate::document::Indicator> = doc
            .indicators
            .iter()
            .filter(|i| i.applies_to.is_empty() || i.applies_to.iter().any(|b| b == benefit))
            .collect();
        let mut indicators = Vec::with_capacity(included.len());
        for ind in &included {
            let fact = source_of(&ind.fact);
            let fact_ty = match fact {
                FactSource::Builtin(s) => Some(BUILTIN_FACTS[s].ty),
                _ => None,
            };
            let formula = compile_formula(&ind.formula, &fact, &doc.extra_facts);
            let kernel = kernel_of(&formula, &fact);
            let (lo, hi) = clamp_range(&formula, ind.cap, ind.category);
            indicators.push(CompiledIndicator {
                kernel,
                lo,
                hi,
                code: ind.code.as_str().into(),
                name_zh: ind.name_zh.as_str().into(),
                category: ind.category,
                fact,
                fact_ty,
                formula,
                source: ind.formula.clone(),
                cap: ind.cap,
                exclusive_group: ind
                    .exclusive_group
                    .as_ref()
                    .and_then(|g| doc.exclusive_groups.iter().position(|x| &x.code == g)),
                cap_group: ind
                    .cap_group
                    .as_ref()
                    .and_then(|g| doc.group_caps.iter().position(|x| &x.code == g)),
                exclusive_notes: None,
            });
        }
        for i in 0..indicators.len() {
            let Some(g) = indicators[i].exclusive_group else {
                continue;
            };
            let others: Vec<&str> = indicators
                .iter()
                .enumerate()
                .filter(|&(m, c)| m != i && c.exclusive_group == Some(g))
                .map(|(_, c)| &*c.name_zh)
                .collect();
            let others = others.join("、");
            indicators[i].exclusive_notes = Some((
                format!("（与{others}取高者计分）").into(),
                format!("（与{others}取高者计分，本项不计）").into(),
            ));
        }
        let exclusive = doc
            .exclusive_groups
            .iter()
            .enumerate()
            .map(|(gi, _)| CompiledExclusive {
                members: members(&indicators, |c| c.exclusive_group == Some(gi)),
            })
            .collect();
        let group_caps = doc
            .group_caps
            .iter()
            .enumerate()
            .map(|(gi, g)| CompiledGroupCap {
                name_zh: g.name_zh.as_str().into(),
                cap: g.cap,
                members: members(&indicators, |c| c.cap_group == Some(gi)),
            })
            .collect();
        let mut gates = Vec::with_capacity(doc.gates.len());
        for (i, g) in doc.gates.iter().enumerate() {
            let logic = ENGINE.compile(&g.condition).map_err(|e| {
                RulesError::invalid(vec![Violation::new(
                    format!("/gates/{i}/condition"),
                    "bad_jsonlogic",
                    format!("JsonLogic 条件无效：{e}"),
                )])
            })?;
            gates.push(CompiledGate {
                code: g.code.as_str().into(),
                message_zh: g.message_zh.as_str().into(),
                on_failure: g.on_failure,
                logic,
            });
        }
        let fast = fast_plan(
            &indicators,
            doc.exclusive_groups.len(),
            !doc.group_caps.is_empty(),
        );
        Ok(Self {
            fast,
            document: document.clone(),
            benefit: benefit.to_owned(),
            indicators,
            exclusive,
            group_caps,
            gates,
        })
    }

    /// Returns the rule-set id.
    pub fn id(&self) -> &str {
        &self.document.id
    }

    /// Returns the rule-set version.
    pub fn version(&self) -> u32 {
        self.document.version
    }

    /// Returns the benefit this compilation evaluates.
    pub fn benefit(&self) -> &str {
        &self.benefit
    }

    /// Returns the (materialised) document this was compiled from.
    pub fn document(&self) -> &RuleSetDocument {
        &self.document
    }

    /// Returns the declared extra fact keys (pass them to [`crate::Facts::from_json`]).
    pub fn extra_facts(&self) -> &[ExtraFact] {
        &self.document.extra_facts
    }

    /// Returns the family rule, if any.
    pub fn family_rule(&self) -> Option<&FamilyRule> {
        self.document.family.as_ref()
    }

    /// Returns the ordered tie-breakers.
    pub fn tie_breakers(&self) -> &[TieBreaker] {
        &self.document.tie_breakers
    }

    /// Returns the decision mode.
    pub fn decision(&self) -> Option<&Decision> {
        self.document.decision.as_ref()
    }

    /// Parses a facts JSON value against this rule set's vocabulary.
    pub fn parse_facts(&self, facts: &serde_json::Value) -> Result<crate::Facts, RulesError> {
        crate::Facts::from_json(facts, &self.document.extra_facts).map_err(RulesError::from)
    }
}

fn members(
    indicators: &[CompiledIndicator],
    pred: impl Fn(&CompiledIndicator) -> bool,
) -> Box<[usize]> {
    indicators
        .iter()
        .enumerate()
        .filter(|(_, c)| pred(c))
        .map(|(i, _)| i)
        .collect()
}

fn kernel_of(f: &CompiledFormula, fact: &FactSource) -> Kernel {
    let slot = match fact {
        FactSource::Builtin(s) => u8::try_from(*s).ok(),
        _ => None,
    };
    match (f, slot, fact) {
        (CompiledFormula::Table(t), Some(slot), _)
            if t.len() <= 8 && t.iter().all(|p| i32::try_from(*p).is_ok()) =>
        {
            let mut table = [0i32; 8];
            for (dst, src) in table.iter_mut().zip(t.iter()) {
                *dst = i32::try_from(*src).unwrap_or(0);
            }
            Kernel::Table { slot, table }
        }
        (
            CompiledFormula::PerUnit {
                rate,
                per: 1,
                floor: 0,
                ..
            },
            Some(slot),
            _,
        ) => Kernel::Linear { slot, rate: *rate },
        (
            CompiledFormula::PerUnit {
                rate, per, floor, ..
            },
            Some(slot),
            _,
        ) => Kernel::PerUnit {
            slot,
            rate: *rate,
            per: (*per).max(1),
            floor: *floor,
        },
        (CompiledFormula::CountWithCap { points, .. }, Some(slot), _) => Kernel::Linear {
            slot,
            rate: *points,
        },
        (
            CompiledFormula::AnchorLinear {
                anchor,
                base,
                step,
                direction,
                zero_beyond,
                ..
            },
            _,
            FactSource::Age,
        ) => Kernel::AgeAnchor {
            anchor: *anchor,
            base: *base,
            step: *step,
            younger: *direction == Direction::Younger,
            zero_beyond: *zero_beyond,
        },
        _ => Kernel::General,
    }
}

/// Merges the formula's cap, the indicator's cap and the category sign rule into one range.
fn clamp_range(f: &CompiledFormula, cap: Option<i64>, category: Category) -> (i64, i64) {
    let fcap = match f {
        CompiledFormula::PerUnit { cap, .. }
        | CompiledFormula::AnchorLinear { cap, .. }
        | CompiledFormula::BasePlusExcess { cap, .. }
        | CompiledFormula::CountWithCap { cap, .. } => *cap,
        _ => None,
    };
    let limit = [fcap, cap]
        .into_iter()
        .flatten()
        .map(|c| c.max(0))
        .min()
        .unwrap_or(i64::MAX);
    match category {
        Category::Deduction => (-limit, 0),
        _ => (0, limit),
    }
}

fn source_of(key: &str) -> FactSource {
    if key == AGE_KEY {
        FactSource::Age
    } else if let Some(slot) = builtin_slot(key) {
        FactSource::Builtin(slot)
    } else {
        FactSource::Extra(key.into())
    }
}

fn compile_formula(f: &Formula, fact: &FactSource, extras: &[ExtraFact]) -> CompiledFormula {
    match f {
        Formula::EnumMap { map } => match fact {
            FactSource::Builtin(slot) => {
                let words = match BUILTIN_FACTS[*slot].ty {
                    FactType::Enum(words) => words,
                    _ => BOOL_WORDS,
                };
                let table = words
                    .iter()
                    .map(|w| map.get(w.word).copied().unwrap_or(0))
                    .collect();
                CompiledFormula::Table(table)
            }
            FactSource::Extra(key) => {
                let is_bool = extras
                    .iter()
                    .any(|e| *e.key == **key && e.ty == ExtraFactType::Bool);
                let words = map
                    .iter()
                    .filter(|(w, _)| !is_bool || word_index(BOOL_WORDS, w).is_some())
                    .map(|(w, p)| (w.as_str().into(), *p))
                    .collect();
                CompiledFormula::Words(words)
            }
            FactSource::Age => CompiledFormula::Words(Box::new([])),
        },
        Formula::PerUnit {
            rate,
            per,
            floor,
            cap,
            ..
        } => CompiledFormula::PerUnit {
            rate: *rate,
            per: per.unwrap_or(1).max(1),
            floor: floor.unwrap_or(0),
            cap: *cap,
        },
        Formula::AnchorLinear {
            anchor,
            base,
            step,
            direction,
            zero_beyond,
            cap,
            ..
        } => CompiledFormula::AnchorLinear {
            anchor: *anchor,
            base: *base,
            step: *step,
            direction: *direction,
            zero_beyond: *zero_beyond,
            cap: *cap,
        },
        Formula::BasePlusExcess {
            threshold,
            base,
            step_size,
            step_points,
            cap,
            ..
        } => CompiledFormula::BasePlusExcess {
            threshold: *threshold,
            base: *base,
            step_size: (*step_size).max(1),
            step_points: *step_points,
            cap: *cap,
        },
        Formula::CountWithCap { points, cap, .. } => CompiledFormula::CountWithCap {
            points: *points,
            cap: *cap,
        },
        Formula::Product { rate, factor, .. } => CompiledFormula::Product {
            rate: *rate,
            factor: factor.as_deref().map(source_of),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_rule_set_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<CompiledRuleSet>();
    }
}
