//! Chinese explanations of score lines, e.g. "参保 72 个月 × 5 分 = 360 分" or
//! "文化程度 本科 = 100 分（与技术技能等级、职称取高者计分）". Built only on the explained path.

use crate::compile::{CompiledFormula, CompiledRuleSet, FactSource};
use crate::document::{Direction, Formula};
use crate::evaluate::{At, Input, PersonScore, apply_cap, formula_points, read, signed};

/// Appends each piece (text or a whole number) to `$s`: the explanation builder, without the
/// formatting machinery of `write!`.
macro_rules! w {
    ($s:expr, $($piece:expr),+ $(,)?) => {{
        $(Piece::push_to($piece, $s);)+
    }};
}

/// A piece of an explanation.
trait Piece {
    fn push_to(self, s: &mut String);
}

impl Piece for &str {
    #[inline]
    fn push_to(self, s: &mut String) {
        s.push_str(self);
    }
}

impl Piece for i64 {
    #[inline]
    fn push_to(self, s: &mut String) {
        push_int(s, self);
    }
}

impl Piece for &i64 {
    #[inline]
    fn push_to(self, s: &mut String) {
        push_int(s, *self);
    }
}

/// Appends the decimal form of `n` (as `Display` writes it) without `core::fmt`.
#[inline]
pub(crate) fn push_int(s: &mut String, n: i64) {
    if (0..10).contains(&n) {
        // The common case (0 分, single digits): one byte.
        s.push(char::from(b'0' + n as u8));
    } else {
        s.push_str(itoa::Buffer::new().format(n));
    }
}
use crate::facts::{PersonFacts, word_label};
use crate::vocabulary::FactType;

impl CompiledRuleSet {
    /// Explains indicator `i` of `score` for person `p`.
    pub(crate) fn explain_into(
        &self,
        s: &mut String,
        i: usize,
        p: &PersonFacts,
        score: &PersonScore,
        at: At,
    ) {
        let ind = &self.indicators[i];
        let name = &*ind.name_zh;
        let input = read(&ind.fact, p, at);
        let (uncapped, fcap) = formula_points(&ind.formula, input, p, at);
        let after_formula_cap = apply_cap(uncapped, fcap);
        let raw = score.raw[i];
        let fin = score.fin[i];
        let unit = unit_of(&ind.source);
        let v = input.num();
        match &ind.formula {
            CompiledFormula::Table(_) | CompiledFormula::Words(_) => {
                let label = match (input, ind.fact_ty) {
                    (Input::Word(w), Some(ty)) => word_label(ty, w),
                    (Input::Text("true"), _) => "是",
                    (Input::Text("false"), _) => "否",
                    (Input::Text(t), _) => t,
                    (_, Some(FactType::Bool)) => "否",
                    (_, Some(FactType::Enum(words))) => words.first().map_or("无", |w| w.label_zh),
                    _ => "无",
                };
                w!(s, name, " ", label, " = ", uncapped, " 分");
            }
            CompiledFormula::PerUnit {
                rate, per, floor, ..
            } => {
                let units = v / per;
                if units < *floor {
                    w!(
                        s,
                        name,
                        " ",
                        v,
                        " ",
                        unit,
                        "，未满 ",
                        floor,
                        " 不计分 = 0 分"
                    );
                } else if *per == 1 {
                    w!(
                        s, name, " ", v, " ", unit, " × ", rate, " 分 = ", uncapped, " 分"
                    );
                } else {
                    w!(
                        s,
                        name,
                        " ",
                        v,
                        " ",
                        unit,
                        "，每满 ",
                        per,
                        " ",
                        unit,
                        "计 ",
                        rate,
                        " 分：",
                        units,
                        " × ",
                        rate,
                        " = ",
                        uncapped,
                        " 分"
                    );
                }
            }
            CompiledFormula::AnchorLinear {
                anchor,
                base,
                step,
                direction,
                zero_beyond,
                ..
            } => match input {
                Input::Num(x) => {
                    let d = match direction {
                        Direction::Younger => anchor.saturating_sub(x),
                        Direction::Older => x.saturating_sub(*anchor),
                    };
                    if d < 0 && *zero_beyond {
                        let side = if *direction == Direction::Younger {
                            "超过"
                        } else {
                            "低于"
                        };
                        w!(
                            s,
                            name,
                            " ",
                            x,
                            " ",
                            unit,
                            "，",
                            side,
                            " ",
                            anchor,
                            " ",
                            unit,
                            "不计分 = 0 分"
                        );
                    } else {
                        w!(
                            s, name, " ", x, " ", unit, "：", base, " + ", step, " × ", d, " = ",
                            uncapped, " 分"
                        );
                    }
                }
                _ => {
                    let what = if ind.fact == FactSource::Age {
                        "未提供出生日期"
                    } else {
                        "未提供"
                    };
                    w!(s, name, " ", what, " = 0 分");
                }
            },
            CompiledFormula::BasePlusExcess {
                threshold,
                base,
                step_size,
                step_points,
                ..
            } => {
                if v <= 0 {
                    w!(s, name, " 无 = 0 分");
                } else if v <= *threshold {
                    w!(
                        s,
                        name,
                        " ",
                        v,
                        " ",
                        unit,
                        "（",
                        threshold,
                        " ",
                        unit,
                        "及以下）= ",
                        base,
                        " 分"
                    );
                } else {
                    let steps = v.saturating_sub(*threshold) / step_size;
                    w!(
                        s,
                        name,
                        " ",
                        v,
                        " ",
                        unit,
                        "：",
                        base,
                        " + ",
                        step_points,
                        " × ",
                        steps,
                        " = ",
                        uncapped,
                        " 分（超出 ",
                        threshold,
                        " ",
                        unit,
                        " 部分每满 ",
                        step_size,
                        " ",
                        unit,
                        " 加 ",
                        step_points,
                        " 分）"
                    );
                }
            }
            CompiledFormula::CountWithCap { points, .. } => {
                w!(
                    s, name, " ", v, " ", unit, " × ", points, " 分 = ", uncapped, " 分"
                );
            }
            CompiledFormula::Product { rate, factor } => match factor {
                Some(f) => {
                    let fv = read(f, p, at).num();
                    w!(
                        s, name, " ", v, " × ", fv, " × ", rate, " 分 = ", uncapped, " 分"
                    );
                }
                None => {
                    w!(
                        s, name, " ", v, " ", unit, " × ", rate, " 分 = ", uncapped, " 分"
                    );
                }
            },
        }
        if after_formula_cap != uncapped {
            w!(s, "，封顶 ", fcap.unwrap_or(0), " 分");
        }
        let after_ind_cap = apply_cap(after_formula_cap, ind.cap);
        if after_ind_cap != after_formula_cap {
            w!(s, "，本项封顶 ", ind.cap.unwrap_or(0), " 分");
        }
        if signed(ind.category, after_ind_cap) != after_ind_cap {
            w!(s, "，按 0 分计");
        }
        if let Some(notes) = &ind.exclusive_notes {
            // Precomputed at compile time: "（与…取高者计分）" and "（与…取高者计分，本项不计）".
            s.push_str(if fin == 0 && raw != 0 {
                &notes.1
            } else {
                &notes.0
            });
        }
        if let Some(g) = ind.cap_group.and_then(|g| self.group_caps.get(g))
            && fin != raw
            && ind.exclusive_group.is_none_or(|_| fin != 0)
        {
            w!(
                s,
                "（",
                &*g.name_zh,
                "合计封顶 ",
                g.cap,
                " 分，本项计 ",
                fin,
                " 分）"
            );
        }
    }
}

fn unit_of(f: &Formula) -> &str {
    match f {
        Formula::PerUnit { unit_zh, .. }
        | Formula::AnchorLinear { unit_zh, .. }
        | Formula::BasePlusExcess { unit_zh, .. }
        | Formula::CountWithCap { unit_zh, .. }
        | Formula::Product { unit_zh, .. } => unit_zh,
        Formula::EnumMap { .. } => "",
    }
}
