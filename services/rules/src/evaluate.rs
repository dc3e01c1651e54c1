//! Evaluation of a [`CompiledRuleSet`] over [`Facts`] at an `as_of` date.
//!
//! Two entry points share one core:
//! * [`CompiledRuleSet::evaluate`] returns the full [`ScoreSheet`] with Chinese explanations. It
//!   is the path the scoring service and `jifen simulate` use: every score shown to a person
//!   explains itself.
//! * [`CompiledRuleSet::evaluate_summary`] returns only the numbers ([`ScoreSummary`]) and does
//!   not allocate; ranking, what-if and benchmarks use it over many applications.
//!
//! Rules of arithmetic: points are `i64`; divisions floor (full units only); every cap bounds
//! the absolute value; base and additional lines are ≥ 0 and deduction lines ≤ 0, so
//! `total = base + additional + deduction` with `deduction ≤ 0`.
//!
//! Eligibility: `eligible` is true only if every gate passes. A gate whose outcome is
//! `manual_review` leaves `eligible` false (not yet eligible: a person decides), and the gate
//! list says which gate needs the review.

use std::cell::RefCell;

use chrono::NaiveDate;
use datalogic_rs::DataValue;
use datalogic_rs::bumpalo::Bump;
use serde::Serialize;

use crate::compile::{
    CompiledFormula, CompiledIndicator, CompiledRuleSet, ENGINE, FactSource, FastPlan, Kernel, Op,
    WordTable,
};
use crate::document::{Category, Direction, FamilyRuleKind, GateFailure, TieReference};
use crate::facts::{ExtraValue, FactValue, Facts, PersonFacts};
use crate::validate::MAX_INDICATORS;
use crate::vocabulary::{AGE_KEY, BUILTIN_FACTS, FactType};

/// Outcome of one gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    /// Condition met.
    Pass,
    /// A person must decide.
    ManualReview,
    /// Not eligible.
    Fail,
}

impl GateOutcome {
    /// Returns the wire word (`pass`, `manual_review`, `fail`).
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Pass => "pass",
            GateOutcome::ManualReview => "manual_review",
            GateOutcome::Fail => "fail",
        }
    }
}

/// A gate's result in a score sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GateResult {
    /// Gate code.
    pub code: String,
    /// Outcome.
    pub outcome: GateOutcome,
    /// The gate's Chinese message.
    pub message: String,
}

/// One indicator's line in a score sheet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScoreLine {
    /// Indicator code.
    pub indicator: String,
    /// Category.
    pub category: Category,
    /// Points counted (after exclusive groups and group caps).
    pub points: i64,
    /// Chinese explanation, e.g. "参保 72 个月 × 5 分 = 360 分".
    pub explanation: String,
    /// For a family: which parent the line comes from (0 or 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<u8>,
}

/// How a family's score was formed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FamilyResult {
    /// The rule applied.
    pub rule: FamilyRuleKind,
    /// Index (0/1) of the parent whose score counts (the higher own total; for `sum` and
    /// `one_spouse_per_item` the parent with the higher own total).
    pub counted_parent: u8,
    /// The other parent's own total (`None` with one parent or `tie_reference: none`).
    pub tie_reference: Option<i64>,
    /// Each parent's own total, in document order.
    pub parent_totals: Vec<i64>,
}

/// The full, explained result of scoring one application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScoreSheet {
    /// Rule-set id.
    pub rule_set: String,
    /// Rule-set version.
    pub rule_set_version: u32,
    /// Benefit evaluated.
    pub benefit: String,
    /// base + additional + deduction.
    pub total: i64,
    /// 基础分.
    pub base: i64,
    /// 附加分.
    pub additional: i64,
    /// 扣减分 (≤ 0).
    pub deduction: i64,
    /// True only if every gate passes.
    pub eligible: bool,
    /// Gate outcomes in rule-set order.
    pub gates: Vec<GateResult>,
    /// Indicator lines in rule-set order.
    pub lines: Vec<ScoreLine>,
    /// Family result for `{"parents": …}` facts.
    pub family: Option<FamilyResult>,
}

/// The numbers of a score without explanations; computing it does not allocate (unless the
/// rule set has gates, whose JsonLogic runs in a reused thread-local arena).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScoreSummary {
    /// base + additional + deduction.
    pub total: i64,
    /// 基础分.
    pub base: i64,
    /// 附加分.
    pub additional: i64,
    /// 扣减分 (≤ 0).
    pub deduction: i64,
    /// True only if every gate passes.
    pub eligible: bool,
    /// True if some gate needs manual review.
    pub manual_review: bool,
    /// Family: the counted parent.
    pub counted_parent: Option<u8>,
    /// Family: the other parent's total.
    pub tie_reference: Option<i64>,
}

/// Per-indicator points of one person (or of a combined family), on the stack.
#[derive(Clone, Copy)]
pub(crate) struct PersonScore {
    /// Points after the formula, indicator cap and category sign, before groups.
    pub(crate) raw: [i64; MAX_INDICATORS],
    /// Points counted after exclusive groups and group caps.
    pub(crate) fin: [i64; MAX_INDICATORS],
    pub(crate) base: i64,
    pub(crate) additional: i64,
    pub(crate) deduction: i64,
}

impl PersonScore {
    const ZERO: PersonScore = PersonScore {
        raw: [0; MAX_INDICATORS],
        fin: [0; MAX_INDICATORS],
        base: 0,
        additional: 0,
        deduction: 0,
    };

    pub(crate) fn total(&self) -> i64 {
        self.base
            .saturating_add(self.additional)
            .saturating_add(self.deduction)
    }
}

/// A formula input read from the facts.
#[derive(Clone, Copy)]
pub(crate) enum Input<'a> {
    Missing,
    Num(i64),
    Word(u8),
    Text(&'a str),
}

impl Input<'_> {
    #[inline]
    pub(crate) fn num(self) -> i64 {
        match self {
            Input::Num(n) => n,
            _ => 0,
        }
    }
}

#[inline]
pub(crate) fn read<'a>(src: &FactSource, p: &'a PersonFacts, as_of: At) -> Input<'a> {
    match src {
        FactSource::Builtin(slot) => match p.get(*slot) {
            FactValue::Int(n) => Input::Num(n),
            FactValue::Bool(b) => Input::Word(u8::from(b)),
            FactValue::Word(w) => Input::Word(w),
            FactValue::Date(_) | FactValue::Missing => Input::Missing,
        },
        FactSource::Age => p.age_at_key(as_of.key).map_or(Input::Missing, Input::Num),
        FactSource::Extra(key) => match p.extra(key) {
            Some(ExtraValue::Int(n)) => Input::Num(*n),
            Some(ExtraValue::Bool(b)) => Input::Text(if *b { "true" } else { "false" }),
            Some(ExtraValue::Word(w)) => Input::Text(w),
            Some(ExtraValue::Date(_)) | None => Input::Missing,
        },
    }
}

/// The `as_of` date with its YYYYMMDD key computed once per evaluation.
#[derive(Clone, Copy)]
pub(crate) struct At {
    pub(crate) key: i64,
}

impl At {
    #[inline]
    pub(crate) fn new(d: NaiveDate) -> Self {
        Self {
            key: crate::facts::date_key(d),
        }
    }
}

/// Clamps `p` to `[-cap, cap]`.
#[inline]
pub(crate) fn apply_cap(p: i64, cap: Option<i64>) -> i64 {
    match cap {
        Some(c) => {
            let c = c.max(0);
            p.clamp(-c, c)
        }
        None => p,
    }
}

/// Returns the formula's points before its own cap (the caller applies caps).
#[inline(always)]
pub(crate) fn formula_points(
    f: &CompiledFormula,
    input: Input<'_>,
    p: &PersonFacts,
    as_of: At,
) -> (i64, Option<i64>) {
    match f {
        CompiledFormula::Table(table) => {
            let idx = match input {
                Input::Word(w) => usize::from(w),
                _ => 0,
            };
            (table.get(idx).copied().unwrap_or(0), None)
        }
        CompiledFormula::Words(words) => {
            let word = match input {
                Input::Text(s) => s,
                _ => "false",
            };
            (
                words
                    .iter()
                    .find(|(w, _)| &**w == word)
                    .map_or(0, |(_, p)| *p),
                None,
            )
        }
        CompiledFormula::PerUnit {
            rate,
            per,
            floor,
            cap,
        } => {
            let units = input.num() / per;
            let pts = if units < *floor {
                0
            } else {
                units.saturating_mul(*rate)
            };
            (pts, *cap)
        }
        CompiledFormula::AnchorLinear {
            anchor,
            base,
            step,
            direction,
            zero_beyond,
            cap,
        } => {
            let Input::Num(v) = input else {
                return (0, None);
            };
            let d = match direction {
                Direction::Younger => anchor.saturating_sub(v),
                Direction::Older => v.saturating_sub(*anchor),
            };
            let pts = if d < 0 && *zero_beyond {
                0
            } else {
                base.saturating_add(step.saturating_mul(d))
            };
            (pts, *cap)
        }
        CompiledFormula::BasePlusExcess {
            threshold,
            base,
            step_size,
            step_points,
            cap,
        } => {
            let v = input.num();
            let pts = if v <= 0 {
                0
            } else if v <= *threshold {
                *base
            } else {
                base.saturating_add(
                    (v.saturating_sub(*threshold) / step_size).saturating_mul(*step_points),
                )
            };
            (pts, *cap)
        }
        CompiledFormula::CountWithCap { points, cap } => {
            (input.num().saturating_mul(*points), *cap)
        }
        CompiledFormula::Product { rate, factor } => {
            let f = factor.as_ref().map_or(1, |src| read(src, p, as_of).num());
            (input.num().saturating_mul(f).saturating_mul(*rate), None)
        }
    }
}

/// Points of a fast kernel, before the clamp; `None` for [`Kernel::General`].
#[inline(always)]
fn kernel_points(kernel: &Kernel, p: &PersonFacts, at: At) -> Option<i64> {
    Some(match *kernel {
        Kernel::Table { slot, ref table } => {
            let idx = match p.get(usize::from(slot)) {
                FactValue::Word(w) => usize::from(w),
                FactValue::Bool(b) => usize::from(b),
                _ => 0,
            };
            i64::from(table.get(idx).copied().unwrap_or(0))
        }
        Kernel::Linear { slot, rate } => p.int(usize::from(slot)).saturating_mul(rate),
        Kernel::PerUnit {
            slot,
            rate,
            per,
            floor,
        } => {
            let units = p.int(usize::from(slot)) / per;
            if units < floor {
                0
            } else {
                units.saturating_mul(rate)
            }
        }
        Kernel::AgeAnchor {
            anchor,
            base,
            step,
            younger,
            zero_beyond,
        } => match p.age_at_key(at.key) {
            Some(age) => {
                let d = if younger {
                    anchor.saturating_sub(age)
                } else {
                    age.saturating_sub(anchor)
                };
                if d < 0 && zero_beyond {
                    0
                } else {
                    base.saturating_add(step.saturating_mul(d))
                }
            }
            None => 0,
        },
        Kernel::General => return None,
    })
}

/// Points of one indicator after every cap and the category sign (before groups).
#[inline(always)]
fn indicator_points(ind: &CompiledIndicator, p: &PersonFacts, at: At) -> i64 {
    let v = match kernel_points(&ind.kernel, p, at) {
        Some(v) => v,
        None => formula_points(&ind.formula, read(&ind.fact, p, at), p, at).0,
    };
    v.clamp(ind.lo, ind.hi)
}

impl FastPlan {
    /// Category totals `(base, additional, deduction)` of one person in a single pass. The
    /// caller checks [`PersonFacts::in_range`]; then no sum or product here can overflow (see
    /// [`FastPlan`]), so the arithmetic is plain.
    #[inline]
    fn totals(&self, p: &PersonFacts, at: At) -> (i64, i64, i64) {
        let mut sums = Sums::default();
        for o in self.linear.iter() {
            if let Op::Linear {
                slot,
                acc,
                rate,
                lo,
                hi,
            } = *o
            {
                sums.add(acc, (p.dense_int(slot) * rate).max(lo).min(hi));
            }
        }
        for o in self.tables.iter() {
            if let Op::Table {
                slot,
                acc,
                ref table,
            } = *o
            {
                sums.add(acc, i64::from(word_points(table, p, slot)));
            }
        }
        for o in self.per_unit.iter().chain(self.age.iter()) {
            let (acc, v) = op_points(o, p, at);
            sums.add(acc, v);
        }
        for g in self.groups.iter() {
            // A group has at least one member (see `fast_plan`).
            let mut best = i64::MIN;
            for (slot, table) in g.tables.iter() {
                best = best.max(i64::from(word_points(table, p, *slot)));
            }
            for o in g.ops.iter() {
                best = best.max(op_points(o, p, at).1);
            }
            sums.add(g.category, best);
        }
        (sums.base, sums.additional, sums.deduction)
    }
}

/// Category totals kept in registers (an indexed array would put a store-to-load dependency
/// between consecutive lines).
#[derive(Default)]
struct Sums {
    base: i64,
    additional: i64,
    deduction: i64,
}

impl Sums {
    #[inline(always)]
    fn add(&mut self, category: u8, v: i64) {
        match category {
            0 => self.base += v,
            1 => self.additional += v,
            _ => self.deduction += v,
        }
    }
}

/// Points of an enum table for the word of `slot`.
#[inline(always)]
fn word_points(table: &WordTable, p: &PersonFacts, slot: u8) -> i32 {
    table[p.dense_word(slot) & (table.len() - 1)]
}

/// Category and points of one fused-plan op after its clamp.
#[inline(always)]
fn op_points(o: &Op, p: &PersonFacts, at: At) -> (u8, i64) {
    match *o {
        Op::Table {
            slot,
            acc,
            ref table,
        } => (acc, i64::from(word_points(table, p, slot))),
        Op::Linear {
            slot,
            acc,
            rate,
            lo,
            hi,
        } => (acc, (p.dense_int(slot) * rate).max(lo).min(hi)),
        Op::PerUnit {
            slot,
            acc,
            rate,
            per,
            floor,
            lo,
            hi,
        } => {
            let units = p.dense_int(slot) / per;
            let v = if units < floor { 0 } else { units * rate };
            (acc, v.max(lo).min(hi))
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
        } => match p.age_at_key(at.key) {
            Some(age) => {
                let d = if younger { anchor - age } else { age - anchor };
                let v = if d < 0 && zero_beyond {
                    0
                } else {
                    base + step * d
                };
                (acc, v.max(lo).min(hi))
            }
            None => (acc, 0),
        },
    }
}

/// Applies the category sign rule: base/additional ≥ 0, deduction ≤ 0.
#[inline]
pub(crate) fn signed(category: Category, p: i64) -> i64 {
    match category {
        Category::Deduction => p.min(0),
        _ => p.max(0),
    }
}

thread_local! {
    /// Arena for gate evaluation, reused so repeated evaluations do not hit the allocator.
    static GATE_ARENA: RefCell<Bump> = RefCell::new(Bump::new());
}

impl CompiledRuleSet {
    /// Per-indicator points of one person before groups.
    #[inline]
    fn raw_person(&self, p: &PersonFacts, as_of: NaiveDate, out: &mut PersonScore) {
        let at = At::new(as_of);
        for (slot, ind) in out.raw.iter_mut().zip(&self.indicators) {
            *slot = indicator_points(ind, p, at);
        }
    }

    /// Applies exclusive groups and group caps to `raw`, then sums categories.
    #[inline]
    pub(crate) fn finish(&self, s: &mut PersonScore) {
        let n = self.indicators.len();
        s.fin[..n].copy_from_slice(&s.raw[..n]);
        self.apply_groups(&mut s.fin[..n]);
        (s.base, s.additional, s.deduction) = self.category_sums(&s.fin[..n]);
    }

    /// Exclusive groups (only the highest member counts, the first on a tie), then group caps
    /// (members trimmed from the last one back until the sum fits).
    #[inline]
    fn apply_groups(&self, pts: &mut [i64]) {
        for g in &self.exclusive {
            let mut best: Option<usize> = None;
            for &m in g.members.iter() {
                if best.is_none_or(|b| pts[m] > pts[b]) {
                    best = Some(m);
                }
            }
            for &m in g.members.iter() {
                if Some(m) != best {
                    pts[m] = 0;
                }
            }
        }
        for g in &self.group_caps {
            let cap = g.cap.max(0);
            let sum = g
                .members
                .iter()
                .fold(0i64, |acc, &m| acc.saturating_add(pts[m]));
            if sum > cap {
                let mut allowance = cap;
                for &m in g.members.iter() {
                    if pts[m] > 0 {
                        let take = pts[m].min(allowance);
                        pts[m] = take;
                        allowance -= take;
                    }
                }
            } else if sum < -cap {
                let mut allowance = cap;
                for &m in g.members.iter() {
                    if pts[m] < 0 {
                        let take = pts[m].saturating_neg().min(allowance);
                        pts[m] = -take;
                        allowance -= take;
                    }
                }
            }
        }
    }

    #[inline]
    fn category_sums(&self, pts: &[i64]) -> (i64, i64, i64) {
        let (mut base, mut additional, mut deduction) = (0i64, 0i64, 0i64);
        for (p, ind) in pts.iter().zip(&self.indicators) {
            match ind.category {
                Category::Base => base = base.saturating_add(*p),
                Category::Additional => additional = additional.saturating_add(*p),
                Category::Deduction => deduction = deduction.saturating_add(*p),
            }
        }
        (base, additional, deduction)
    }

    /// The single-person fast path of [`Self::evaluate_summary`]: one stack array, no copies.
    #[inline]
    fn person_totals(&self, p: &PersonFacts, as_of: NaiveDate) -> (i64, i64, i64) {
        let at = At::new(as_of);
        let mut pts = [0i64; MAX_INDICATORS];
        let n = self.indicators.len().min(MAX_INDICATORS);
        for (slot, ind) in pts[..n].iter_mut().zip(&self.indicators) {
            *slot = indicator_points(ind, p, at);
        }
        self.apply_groups(&mut pts[..n]);
        self.category_sums(&pts[..n])
    }

    /// Runs every gate for one person, calling `f(gate index, outcome)`.
    fn run_gates(&self, p: &PersonFacts, as_of: NaiveDate, mut f: impl FnMut(usize, GateOutcome)) {
        if self.gates.is_empty() {
            return;
        }
        GATE_ARENA.with(|cell| {
            let mut guard = cell.borrow_mut();
            guard.reset();
            let arena: &Bump = &guard;
            let data = gate_data(self, p, as_of, arena);
            for (i, g) in self.gates.iter().enumerate() {
                // A condition that cannot be evaluated is left to a person, never passed.
                let ok = match ENGINE.evaluate(&g.logic, data, arena) {
                    Ok(v) => ENGINE.truthy(v),
                    Err(_) => false,
                };
                let outcome = match (ok, g.on_failure) {
                    (true, _) => GateOutcome::Pass,
                    (false, GateFailure::Fail) => GateOutcome::Fail,
                    (false, GateFailure::ManualReview) => GateOutcome::ManualReview,
                };
                f(i, outcome);
            }
        });
    }

    /// Gate outcomes of an evaluation (persons chosen per family rule; for `sum` and
    /// `one_spouse_per_item` a gate takes the best outcome of the two parents).
    fn gate_outcomes(
        &self,
        core: &Core,
        facts: &Facts,
        as_of: NaiveDate,
        mut f: impl FnMut(usize, GateOutcome),
    ) {
        if self.gates.is_empty() {
            return;
        }
        let persons = facts.persons();
        match core.mode {
            Mode::Single | Mode::Higher => {
                if let Some(p) = persons.get(usize::from(core.counted)) {
                    self.run_gates(p, as_of, f);
                }
            }
            Mode::Sum | Mode::OneSpouse => {
                let mut best = vec![GateOutcome::Fail; self.gates.len()];
                for p in persons {
                    self.run_gates(p, as_of, |i, o| {
                        if let Some(b) = best.get_mut(i) {
                            *b = (*b).min(o);
                        }
                    });
                }
                for (i, o) in best.into_iter().enumerate() {
                    f(i, o);
                }
            }
        }
    }

    fn core(&self, facts: &Facts, as_of: NaiveDate) -> Core {
        let persons = facts.persons();
        let family = matches!(facts, Facts::Family(_));
        let rule = self.document.family.as_ref();
        let kind = rule.map_or(FamilyRuleKind::HigherParent, |r| r.rule);
        let tie_ref = rule.map_or(TieReference::OtherParentTotal, |r| r.tie_reference);
        let mut core = Core {
            mode: Mode::Single,
            counted: 0,
            tie_reference: None,
            scores: [PersonScore::ZERO, PersonScore::ZERO],
            combined: None,
            source: [0; MAX_INDICATORS],
            parents: 0,
        };
        for (i, p) in persons.iter().take(2).enumerate() {
            // In place: a `PersonScore` is a kilobyte, so no copies.
            let s = &mut core.scores[i];
            self.raw_person(p, as_of, s);
            self.finish(s);
        }
        core.parents = persons.len().min(2);
        if !family {
            return core;
        }
        // The counted parent: higher own total, then higher base, then the first.
        let (a, b) = (&core.scores[0], &core.scores[1]);
        if core.parents == 2 && (b.total(), b.base) > (a.total(), a.base) {
            core.counted = 1;
        }
        if core.parents == 2 && tie_ref == TieReference::OtherParentTotal {
            core.tie_reference = Some(core.scores[usize::from(1 - core.counted)].total());
        }
        match kind {
            FamilyRuleKind::HigherParent => {
                core.mode = Mode::Higher;
                // `combined()` is the counted parent's score.
            }
            FamilyRuleKind::Sum => {
                core.mode = Mode::Sum;
                let mut c = core.scores[0];
                if core.parents == 2 {
                    let o = &core.scores[1];
                    c.base = c.base.saturating_add(o.base);
                    c.additional = c.additional.saturating_add(o.additional);
                    c.deduction = c.deduction.saturating_add(o.deduction);
                }
                core.combined = Some(c);
            }
            FamilyRuleKind::OneSpousePerItem => {
                core.mode = Mode::OneSpouse;
                let mut c = PersonScore::ZERO;
                let n = self.indicators.len();
                for i in 0..n {
                    let (x, y) = (core.scores[0].raw[i], core.scores[1].raw[i]);
                    if self.indicators[i].category == Category::Deduction {
                        // Each parent's deductions count: a family cannot shed one by choosing.
                        c.raw[i] = x.saturating_add(if core.parents == 2 { y } else { 0 });
                    } else if core.parents == 2 && y > x {
                        c.raw[i] = y;
                        core.source[i] = 1;
                    } else {
                        c.raw[i] = x;
                    }
                }
                self.finish(&mut c);
                core.combined = Some(c);
            }
        }
        core
    }

    /// Scores an application and returns only the numbers (no explanations, no allocation
    /// for rule sets without gates). Used for ranking, what-if and benchmarks.
    #[inline]
    pub fn evaluate_summary(&self, facts: &Facts, as_of: NaiveDate) -> ScoreSummary {
        if let (Facts::Person(p), true) = (facts, self.gates.is_empty()) {
            let (base, additional, deduction) = match &self.fast {
                Some(plan) if p.in_range() => plan.totals(p, At::new(as_of)),
                _ => self.person_totals(p, as_of),
            };
            return ScoreSummary {
                total: base.saturating_add(additional).saturating_add(deduction),
                base,
                additional,
                deduction,
                eligible: true,
                manual_review: false,
                counted_parent: None,
                tie_reference: None,
            };
        }
        let core = self.core(facts, as_of);
        let mut eligible = true;
        let mut manual_review = false;
        self.gate_outcomes(&core, facts, as_of, |_, o| {
            eligible &= o == GateOutcome::Pass;
            manual_review |= o == GateOutcome::ManualReview;
        });
        let c = core.combined();
        let family = core.mode != Mode::Single;
        ScoreSummary {
            total: c.total(),
            base: c.base,
            additional: c.additional,
            deduction: c.deduction,
            eligible,
            manual_review,
            counted_parent: family.then_some(core.counted),
            tie_reference: core.tie_reference,
        }
    }

    /// Scores an application and returns the explained [`ScoreSheet`] (the service path).
    pub fn evaluate(&self, facts: &Facts, as_of: NaiveDate) -> ScoreSheet {
        let core = self.core(facts, as_of);
        let mut gates = Vec::with_capacity(self.gates.len());
        self.gate_outcomes(&core, facts, as_of, |i, o| {
            if let Some(g) = self.gates.get(i) {
                gates.push(GateResult {
                    code: String::from(&*g.code),
                    outcome: o,
                    message: String::from(&*g.message_zh),
                });
            }
        });
        let eligible = gates.iter().all(|g| g.outcome == GateOutcome::Pass);
        let persons = facts.persons();
        let mut lines = Vec::with_capacity(self.indicators.len() * 2);
        match core.mode {
            Mode::Single | Mode::Higher => {
                let who = usize::from(core.counted);
                let parent = (core.mode == Mode::Higher).then_some(core.counted);
                if let Some(p) = persons.get(who) {
                    self.push_lines(&mut lines, &core.scores[who], |_| (p, parent), as_of, "");
                }
            }
            Mode::Sum => {
                for (k, p) in persons.iter().take(2).enumerate() {
                    let prefix = if k == 0 { "家长1：" } else { "家长2：" };
                    let parent = Some(u8::from(k == 1));
                    self.push_lines(&mut lines, &core.scores[k], |_| (p, parent), as_of, prefix);
                }
            }
            Mode::OneSpouse => {
                let pick = |i: usize| {
                    let k = usize::from(core.source[i]).min(persons.len().saturating_sub(1));
                    (&persons[k], Some(core.source[i]))
                };
                self.push_lines(&mut lines, core.combined(), pick, as_of, "");
            }
        }
        let c = core.combined();
        let family = (core.mode != Mode::Single).then(|| FamilyResult {
            rule: self
                .document
                .family
                .as_ref()
                .map_or(FamilyRuleKind::HigherParent, |r| r.rule),
            counted_parent: core.counted,
            tie_reference: core.tie_reference,
            parent_totals: core.scores[..core.parents]
                .iter()
                .map(PersonScore::total)
                .collect(),
        });
        ScoreSheet {
            rule_set: self.document.id.clone(),
            rule_set_version: self.document.version,
            benefit: self.benefit.clone(),
            total: c.total(),
            base: c.base,
            additional: c.additional,
            deduction: c.deduction,
            eligible,
            gates,
            lines,
            family,
        }
    }

    fn push_lines<'p>(
        &self,
        lines: &mut Vec<ScoreLine>,
        score: &PersonScore,
        person_of: impl Fn(usize) -> (&'p PersonFacts, Option<u8>),
        as_of: NaiveDate,
        prefix: &str,
    ) {
        let at = At::new(as_of);
        let one_spouse =
            self.document.family.as_ref().map(|r| r.rule) == Some(FamilyRuleKind::OneSpousePerItem);
        for (i, ind) in self.indicators.iter().enumerate() {
            let (p, parent) = person_of(i);
            // Room for a typical line (Chinese text is 3 bytes a character), so the string
            // is allocated once.
            let mut explanation = String::with_capacity(prefix.len() + 4 * ind.name_zh.len() + 96);
            explanation.push_str(prefix);
            self.explain_into(&mut explanation, i, p, score, at);
            if one_spouse
                && ind.category != Category::Deduction
                && let Some(k) = parent
            {
                explanation.push_str(if k == 0 {
                    "（取自家长1）"
                } else {
                    "（取自家长2）"
                });
            }
            lines.push(ScoreLine {
                indicator: String::from(&*ind.code),
                category: ind.category,
                points: score.fin[i],
                explanation,
                parent,
            });
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Single,
    Higher,
    Sum,
    OneSpouse,
}

/// Intermediate result shared by the summary and the explained path.
struct Core {
    mode: Mode,
    counted: u8,
    tie_reference: Option<i64>,
    scores: [PersonScore; 2],
    /// The family's combined score for `sum` and `one_spouse_per_item`; otherwise the counted
    /// person's score is used (see [`Core::combined`]).
    combined: Option<PersonScore>,
    /// For `one_spouse_per_item`: which parent each indicator was taken from.
    source: [u8; MAX_INDICATORS],
    parents: usize,
}

impl Core {
    /// The score that counts: the combined family score, or the counted person's score.
    fn combined(&self) -> &PersonScore {
        self.combined
            .as_ref()
            .unwrap_or(&self.scores[usize::from(self.counted)])
    }
}

/// Builds the JsonLogic data object for gates: every built-in key (missing → false / 0 /
/// `none` / null), `age`, and the declared extra keys (missing → null).
fn gate_data<'a>(
    rules: &'a CompiledRuleSet,
    p: &'a PersonFacts,
    as_of: NaiveDate,
    arena: &'a Bump,
) -> &'a DataValue<'a> {
    let extras = &rules.document.extra_facts;
    let total = BUILTIN_FACTS.len() + 1 + extras.len();
    let pairs = arena.alloc_slice_fill_with(total, |i| -> (&'a str, DataValue<'a>) {
        if let Some(f) = BUILTIN_FACTS.get(i) {
            let v = match (f.ty, p.get(i)) {
                (_, FactValue::Bool(b)) => DataValue::Bool(b),
                (_, FactValue::Int(n)) => DataValue::from_i64(n),
                (FactType::Enum(words), FactValue::Word(w)) => {
                    DataValue::String(words.get(usize::from(w)).map_or("none", |x| x.word))
                }
                (_, FactValue::Word(_)) => DataValue::Null,
                (_, FactValue::Date(d)) => {
                    DataValue::String(arena.alloc_str(&d.format("%Y-%m-%d").to_string()))
                }
                (FactType::Bool, FactValue::Missing) => DataValue::Bool(false),
                (FactType::Integer | FactType::Number, FactValue::Missing) => {
                    DataValue::from_i64(0)
                }
                (FactType::Enum(_), FactValue::Missing) => DataValue::String("none"),
                (FactType::Date, FactValue::Missing) => DataValue::Null,
            };
            (f.key, v)
        } else if i == BUILTIN_FACTS.len() {
            (
                AGE_KEY,
                p.age_at(as_of).map_or(DataValue::Null, DataValue::from_i64),
            )
        } else {
            let e = &extras[i - BUILTIN_FACTS.len() - 1];
            let v = match p.extra(&e.key) {
                Some(ExtraValue::Bool(b)) => DataValue::Bool(*b),
                Some(ExtraValue::Int(n)) => DataValue::from_i64(*n),
                Some(ExtraValue::Word(w)) => DataValue::String(w),
                Some(ExtraValue::Date(d)) => {
                    DataValue::String(arena.alloc_str(&d.format("%Y-%m-%d").to_string()))
                }
                None => DataValue::Null,
            };
            (e.key.as_str(), v)
        }
    });
    arena.alloc(DataValue::Object(pairs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::slot;

    /// Facts set in code beyond `MAX_FACT_VALUE` leave the fused plan for the saturating path,
    /// so the summary still agrees with the explained sheet.
    #[test]
    fn out_of_range_facts_take_the_saturating_path() {
        let rules = crate::default_library()
            .compile("SZ-CITY-SCHOOL-2023", "school")
            .unwrap();
        assert!(rules.fast.is_some());
        let as_of = NaiveDate::from_ymd_opt(2023, 6, 30).unwrap();
        for n in [i64::MAX, i64::MAX / 3, -i64::MAX, 10_000_001, 10_000_000] {
            let mut p = PersonFacts::default();
            p.set(slot::INSURANCE_MONTHS, FactValue::Int(n))
                .set(slot::RESIDENCE_YEARS, FactValue::Int(n))
                .set(slot::EDUCATION, FactValue::Word(200));
            let facts = Facts::Person(p);
            let sheet = rules.evaluate(&facts, as_of);
            let summary = rules.evaluate_summary(&facts, as_of);
            assert_eq!(summary.total, sheet.total, "{n}");
            assert_eq!(summary.base, sheet.base, "{n}");
        }
    }
}
