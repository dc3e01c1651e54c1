//! Consistency checks of a rule-set document. Every problem is reported (not just the first),
//! each with a JSON pointer, a machine code and a Chinese message.
//!
//! An overlay (with `extends`) is checked for what it says on its own; cross references that
//! need the parent (fact keys, groups) are checked again on the materialised rule set.

use std::collections::HashSet;

use serde_json::Value;

use crate::document::{Category, Decision, ExtraFactType, Formula, Indicator, RuleSetDocument};
use crate::error::{RulesError, Violation};
use crate::vocabulary::{AGE_KEY, BOOL_WORDS, BUILTIN_FACTS, FactType, builtin_slot};

/// Maximum number of indicators of one rule set; evaluation keeps per-indicator points in a
/// fixed stack array of this size so the hot path does not allocate.
pub const MAX_INDICATORS: usize = 64;

/// Largest absolute value of a points parameter or cap; keeps every score far from overflow
/// (arithmetic also saturates as a second line of defence).
pub const MAX_PARAMETER: i64 = 1_000_000;

/// Ranking keys that are not facts but application or score attributes.
const SCORE_TIE_KEYS: &[&str] = &[
    "total",
    "base",
    "additional",
    "deduction",
    "other_parent_total",
    "residence_registered_at",
    "insurance_started_at",
    "submitted_at",
];

/// Validates a document; returns every violation found.
pub fn validate(doc: &RuleSetDocument) -> Result<(), RulesError> {
    let violations = violations(doc);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(RulesError::invalid(violations))
    }
}

/// Returns every violation found in a document (empty when valid).
pub fn violations(doc: &RuleSetDocument) -> Vec<Violation> {
    let mut v = Checker {
        doc,
        out: Vec::new(),
        overlay: doc.is_overlay(),
    };
    v.header();
    v.extra_facts();
    v.groups();
    v.indicators();
    v.gates();
    v.tie_breakers();
    v.decision();
    v.out
}

/// A fact key's type as far as formulas are concerned.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Numeric,
    Enum,
    Bool,
    Date,
}

struct Checker<'a> {
    doc: &'a RuleSetDocument,
    out: Vec<Violation>,
    overlay: bool,
}

impl Checker<'_> {
    fn push(&mut self, path: impl Into<String>, code: &'static str, msg: impl Into<String>) {
        self.out.push(Violation::new(path, code, msg));
    }

    fn header(&mut self) {
        let d = self.doc;
        let id_ok = !d.id.is_empty()
            && d.id.len() <= 64
            && d.id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !id_ok {
            self.push(
                "/id",
                "bad_id",
                "规则集编号只能由字母、数字、- 和 _ 组成，且不能为空",
            );
        }
        if d.version == 0 {
            self.push("/version", "bad_version", "版本号必须大于 0");
        }
        if d.name_zh.trim().is_empty() {
            self.push("/name_zh", "empty_name", "规则集名称不能为空");
        }
        if d.benefits.is_empty() && !self.overlay {
            self.push(
                "/benefits",
                "no_benefit",
                "至少须指定一种积分用途（benefit）",
            );
        }
        for (i, b) in d.benefits.iter().enumerate() {
            if b.is_empty() || !b.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                self.push(
                    format!("/benefits/{i}"),
                    "bad_benefit",
                    format!("积分用途“{b}”格式错误，应为小写字母"),
                );
            }
        }
        if !self.overlay {
            if d.indicators.is_empty() {
                self.push("/indicators", "no_indicators", "规则集至少须包含一项指标");
            }
            for (field, empty) in [
                ("/add", d.add.is_empty()),
                ("/replace", d.replace.is_empty()),
                ("/disable", d.disable.is_empty()),
            ] {
                if !empty {
                    self.push(
                        field,
                        "overlay_without_extends",
                        "只有继承（extends）其他规则集时才能使用 add/replace/disable",
                    );
                }
            }
        } else {
            if !d.indicators.is_empty() {
                self.push(
                    "/indicators",
                    "overlay_has_indicators",
                    "继承规则集请用 add/replace/disable 调整指标",
                );
            }
            if d.extends.as_deref() == Some(d.id.as_str()) {
                self.push("/extends", "extends_cycle", "规则集不能继承自身");
            }
        }
        let total = d.indicators.len() + d.add.len();
        if total > MAX_INDICATORS {
            self.push(
                "/indicators",
                "too_many_indicators",
                format!("指标数不能超过 {MAX_INDICATORS} 项"),
            );
        }
    }

    fn extra_facts(&mut self) {
        let mut seen = HashSet::new();
        for (i, e) in self.doc.extra_facts.iter().enumerate() {
            let p = format!("/extra_facts/{i}");
            if e.key.is_empty()
                || !e
                    .key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                self.push(
                    format!("{p}/key"),
                    "bad_fact_key",
                    format!("事实项“{}”格式错误，应为小写字母、数字和下划线", e.key),
                );
            }
            if builtin_slot(&e.key).is_some() || e.key == AGE_KEY || e.key == "parents" {
                self.push(
                    format!("{p}/key"),
                    "extra_fact_shadows_builtin",
                    format!("事实项“{}”已由统一口径定义，不能重复声明", e.key),
                );
            }
            if !seen.insert(e.key.as_str()) {
                self.push(
                    format!("{p}/key"),
                    "duplicate_extra_fact",
                    format!("事实项“{}”重复声明", e.key),
                );
            }
            if e.ty == ExtraFactType::Enum && e.values.is_empty() {
                self.push(
                    format!("{p}/values"),
                    "enum_without_values",
                    format!("枚举事实项“{}”须列出可选值", e.key),
                );
            }
            if e.ty != ExtraFactType::Enum && !e.values.is_empty() {
                self.push(
                    format!("{p}/values"),
                    "values_on_non_enum",
                    "只有枚举类型的事实项才能列出可选值",
                );
            }
        }
    }

    fn groups(&mut self) {
        let mut seen = HashSet::new();
        for (i, g) in self.doc.group_caps.iter().enumerate() {
            if !seen.insert(g.code.as_str()) || g.code.is_empty() {
                self.push(
                    format!("/group_caps/{i}/code"),
                    "duplicate_group",
                    format!("分组“{}”重复或为空", g.code),
                );
            }
            if g.cap < 0 {
                self.push(
                    format!("/group_caps/{i}/cap"),
                    "negative_cap",
                    "封顶分值不能为负数",
                );
            }
        }
        let mut seen = HashSet::new();
        for (i, g) in self.doc.exclusive_groups.iter().enumerate() {
            if !seen.insert(g.code.as_str()) || g.code.is_empty() {
                self.push(
                    format!("/exclusive_groups/{i}/code"),
                    "duplicate_group",
                    format!("分组“{}”重复或为空", g.code),
                );
            }
        }
    }

    /// Returns the kind of a fact key, or `None` if it is not known to this document.
    fn key_kind(&self, key: &str) -> Option<KeyKind> {
        if key == AGE_KEY {
            return Some(KeyKind::Numeric);
        }
        if let Some(slot) = builtin_slot(key) {
            return Some(match BUILTIN_FACTS[slot].ty {
                FactType::Bool => KeyKind::Bool,
                FactType::Integer | FactType::Number => KeyKind::Numeric,
                FactType::Date => KeyKind::Date,
                FactType::Enum(_) => KeyKind::Enum,
            });
        }
        self.doc
            .extra_facts
            .iter()
            .find(|e| e.key == key)
            .map(|e| match e.ty {
                ExtraFactType::Bool => KeyKind::Bool,
                ExtraFactType::Integer | ExtraFactType::Number => KeyKind::Numeric,
                ExtraFactType::Date => KeyKind::Date,
                ExtraFactType::Enum => KeyKind::Enum,
            })
    }

    fn enum_words(&self, key: &str) -> Vec<String> {
        if let Some(slot) = builtin_slot(key) {
            return match BUILTIN_FACTS[slot].ty {
                FactType::Enum(words) => words.iter().map(|w| w.word.to_owned()).collect(),
                FactType::Bool => BOOL_WORDS.iter().map(|w| w.word.to_owned()).collect(),
                _ => Vec::new(),
            };
        }
        match self.doc.extra_facts.iter().find(|e| e.key == key) {
            Some(e) if e.ty == ExtraFactType::Bool => vec!["false".into(), "true".into()],
            Some(e) => e.values.clone(),
            None => Vec::new(),
        }
    }

    fn indicators(&mut self) {
        let doc = self.doc;
        let mut seen: HashSet<&str> = HashSet::new();
        let lists = [
            ("indicators", &doc.indicators),
            ("add", &doc.add),
            ("replace", &doc.replace),
        ];
        for (list, items) in lists {
            for (i, ind) in items.iter().enumerate() {
                let p = format!("/{list}/{i}");
                if list != "replace" && !ind.code.is_empty() && !seen.insert(ind.code.as_str()) {
                    self.push(
                        format!("{p}/code"),
                        "duplicate_indicator",
                        format!("指标编号“{}”重复", ind.code),
                    );
                }
                self.indicator(&p, ind);
            }
        }
        let mut seen_disable = HashSet::new();
        for (i, code) in doc.disable.iter().enumerate() {
            if !seen_disable.insert(code.as_str()) {
                self.push(
                    format!("/disable/{i}"),
                    "duplicate_indicator",
                    format!("停用指标“{code}”重复"),
                );
            }
        }
    }

    fn indicator(&mut self, p: &str, ind: &Indicator) {
        if ind.code.is_empty() {
            self.push(format!("{p}/code"), "empty_code", "指标编号不能为空");
        }
        if ind.name_zh.trim().is_empty() {
            self.push(format!("{p}/name_zh"), "empty_name", "指标名称不能为空");
        }
        self.cap(p, ind.cap);
        // Cross references to the parent are only checkable on the materialised rule set.
        let kind = self.key_kind(&ind.fact);
        if kind.is_none() && !self.overlay {
            self.push(
                format!("{p}/fact"),
                "unknown_fact",
                format!("指标引用了未知的事实项“{}”", ind.fact),
            );
        }
        if !self.overlay {
            if let Some(g) = &ind.exclusive_group
                && !self.doc.exclusive_groups.iter().any(|x| &x.code == g)
            {
                self.push(
                    format!("{p}/exclusive_group"),
                    "undeclared_exclusive_group",
                    format!("互斥分组“{g}”未声明"),
                );
            }
            if let Some(g) = &ind.cap_group
                && !self.doc.group_caps.iter().any(|x| &x.code == g)
            {
                self.push(
                    format!("{p}/cap_group"),
                    "undeclared_group_cap",
                    format!("封顶分组“{g}”未声明"),
                );
            }
            for (j, b) in ind.applies_to.iter().enumerate() {
                if !self.doc.benefits.contains(b) {
                    self.push(
                        format!("{p}/applies_to/{j}"),
                        "unknown_benefit",
                        format!("适用用途“{b}”不在规则集的用途之列"),
                    );
                }
            }
        }
        self.formula(p, ind, kind);
    }

    fn formula(&mut self, p: &str, ind: &Indicator, kind: Option<KeyKind>) {
        let fp = format!("{p}/formula");
        let deduction = ind.category == Category::Deduction;
        // Points a formula can produce, with the field that sets them, for the sign check.
        let mut signed: Vec<(String, i64)> = Vec::new();
        let needs: KeyKind;
        match &ind.formula {
            Formula::EnumMap { map } => {
                needs = KeyKind::Enum;
                if let Some(k) = kind
                    && (k == KeyKind::Enum || k == KeyKind::Bool)
                {
                    let words = self.enum_words(&ind.fact);
                    for word in map.keys() {
                        if !words.contains(word) {
                            self.push(
                                format!("{fp}/map/{word}"),
                                "unknown_enum_word",
                                format!("“{word}”不是事实项“{}”的可选值", ind.fact),
                            );
                        }
                    }
                }
                for (word, pts) in map {
                    signed.push((format!("{fp}/map/{word}"), *pts));
                }
            }
            Formula::PerUnit {
                rate,
                per,
                floor,
                cap,
                ..
            } => {
                needs = KeyKind::Numeric;
                signed.push((format!("{fp}/rate"), *rate));
                if per.is_some_and(|n| n <= 0) {
                    self.push(format!("{fp}/per"), "bad_unit_size", "计分单位必须大于 0");
                }
                if floor.is_some_and(|n| n < 0) {
                    self.push(
                        format!("{fp}/floor"),
                        "negative_floor",
                        "起算门槛不能为负数",
                    );
                }
                self.cap(&fp, *cap);
            }
            Formula::AnchorLinear {
                base, step, cap, ..
            } => {
                needs = KeyKind::Numeric;
                signed.push((format!("{fp}/base"), *base));
                signed.push((format!("{fp}/step"), *step));
                self.cap(&fp, *cap);
            }
            Formula::BasePlusExcess {
                threshold,
                base,
                step_size,
                step_points,
                cap,
                ..
            } => {
                needs = KeyKind::Numeric;
                signed.push((format!("{fp}/base"), *base));
                signed.push((format!("{fp}/step_points"), *step_points));
                if *step_size <= 0 {
                    self.push(
                        format!("{fp}/step_size"),
                        "bad_step_size",
                        "超出部分的计分步长必须大于 0",
                    );
                }
                if *threshold < 0 {
                    self.push(
                        format!("{fp}/threshold"),
                        "negative_threshold",
                        "起算标准不能为负数",
                    );
                }
                self.cap(&fp, *cap);
            }
            Formula::CountWithCap { points, cap, .. } => {
                needs = KeyKind::Numeric;
                signed.push((format!("{fp}/points"), *points));
                self.cap(&fp, *cap);
            }
            Formula::Product { rate, factor, .. } => {
                needs = KeyKind::Numeric;
                signed.push((format!("{fp}/rate"), *rate));
                if let Some(f) = factor {
                    match self.key_kind(f) {
                        Some(KeyKind::Numeric) => {}
                        None if self.overlay => {}
                        _ => self.push(
                            format!("{fp}/factor"),
                            "unknown_fact",
                            format!("乘数“{f}”不是已知的数值事实项"),
                        ),
                    }
                }
            }
        }
        if let Some(k) = kind {
            let ok = match needs {
                KeyKind::Enum => k == KeyKind::Enum || k == KeyKind::Bool,
                other => k == other,
            };
            if !ok {
                self.push(
                    format!("{fp}/kind"),
                    "formula_fact_mismatch",
                    format!("计分公式与事实项“{}”的类型不匹配", ind.fact),
                );
            }
        }
        for (path, pts) in &signed {
            if pts.unsigned_abs() > MAX_PARAMETER as u64 {
                self.push(
                    path.clone(),
                    "out_of_range",
                    format!("分值超出允许范围（绝对值不超过 {MAX_PARAMETER}）"),
                );
            }
        }
        for (path, pts) in signed {
            if deduction && pts > 0 {
                self.push(path, "deduction_positive", "扣减指标的分值不能为正数");
            } else if !deduction && pts < 0 {
                self.push(
                    path,
                    "negative_points",
                    "基础分和附加分指标的分值不能为负数（扣分请用扣减指标）",
                );
            }
        }
    }

    fn cap(&mut self, fp: &str, cap: Option<i64>) {
        if cap.is_some_and(|c| c > MAX_PARAMETER) {
            self.push(
                format!("{fp}/cap"),
                "out_of_range",
                format!("封顶分值不能超过 {MAX_PARAMETER}"),
            );
        }
        if cap.is_some_and(|c| c < 0) {
            self.push(format!("{fp}/cap"), "negative_cap", "封顶分值不能为负数");
        }
    }

    fn gates(&mut self) {
        let mut seen = HashSet::new();
        for (i, g) in self.doc.gates.iter().enumerate() {
            let p = format!("/gates/{i}");
            if g.code.is_empty() || !seen.insert(g.code.as_str()) {
                self.push(
                    format!("{p}/code"),
                    "duplicate_gate",
                    format!("准入条件“{}”重复或为空", g.code),
                );
            }
            if g.message_zh.trim().is_empty() {
                self.push(
                    format!("{p}/message_zh"),
                    "empty_message",
                    "准入条件须有中文说明",
                );
            }
            if let Err(e) = crate::compile::ENGINE.compile(&g.condition) {
                self.push(
                    format!("{p}/condition"),
                    "bad_jsonlogic",
                    format!("JsonLogic 条件无效：{e}"),
                );
                continue;
            }
            let mut unknown = Vec::new();
            unknown_operators(&g.condition, &mut unknown);
            for op in unknown {
                self.push(
                    format!("{p}/condition"),
                    "bad_jsonlogic",
                    format!("JsonLogic 条件使用了未知的运算符“{op}”"),
                );
            }
            let mut vars = Vec::new();
            gate_vars(&g.condition, &mut vars);
            for var in vars {
                if self.key_kind(&var).is_none() && !self.overlay {
                    self.push(
                        format!("{p}/condition"),
                        "unknown_fact",
                        format!("条件引用了未知的事实项“{var}”"),
                    );
                }
            }
        }
    }

    fn tie_breakers(&mut self) {
        for (i, t) in self.doc.tie_breakers.iter().enumerate() {
            let known = SCORE_TIE_KEYS.contains(&t.key.as_str()) || self.key_kind(&t.key).is_some();
            if !known && !self.overlay {
                self.push(
                    format!("/tie_breakers/{i}/key"),
                    "unknown_tie_breaker",
                    format!("排序依据“{}”未知", t.key),
                );
            }
        }
    }

    fn decision(&mut self) {
        match &self.doc.decision {
            None if !self.overlay => self.push(
                "/decision",
                "decision_missing",
                "须指定录取方式（按名额排序或达标分值）",
            ),
            None => {}
            Some(Decision::Seats { scope })
                if !["school", "area", "district"].contains(&scope.as_str()) =>
            {
                self.push(
                    "/decision/scope",
                    "bad_scope",
                    "排序范围只能是 school、area 或 district",
                );
            }
            Some(Decision::Seats { .. }) => {}
            Some(Decision::Threshold { values }) => {
                let mut seen = HashSet::new();
                for (i, t) in values.iter().enumerate() {
                    if t.value < 0 {
                        self.push(
                            format!("/decision/values/{i}/value"),
                            "negative_threshold",
                            "达标分值不能为负数",
                        );
                    }
                    if !seen.insert((t.area.as_str(), t.year)) {
                        self.push(
                            format!("/decision/values/{i}"),
                            "duplicate_threshold",
                            format!("{} {} 年的达标分值重复", t.area, t.year),
                        );
                    }
                }
            }
        }
    }
}

/// Collects operator names the JsonLogic engine does not know. datalogic resolves unknown
/// single-key operators as custom operators at run time, so an editor typo would otherwise only
/// show when a gate is evaluated.
fn unknown_operators(logic: &Value, out: &mut Vec<String>) {
    match logic {
        Value::Object(map) if map.len() == 1 => {
            for (op, arg) in map {
                if !crate::compile::ENGINE
                    .builtin_operator_names()
                    .any(|n| n == op)
                    && !out.contains(op)
                {
                    out.push(op.clone());
                }
                unknown_operators(arg, out);
            }
        }
        Value::Array(list) => list.iter().for_each(|v| unknown_operators(v, out)),
        _ => {}
    }
}

/// Collects the top-level fact keys read by `var` operations of a JsonLogic condition.
pub(crate) fn gate_vars(logic: &Value, out: &mut Vec<String>) {
    match logic {
        Value::Object(map) => {
            for (op, arg) in map {
                if op == "var" {
                    let name = match arg {
                        Value::String(s) => Some(s.as_str()),
                        Value::Array(a) => a.first().and_then(Value::as_str),
                        _ => None,
                    };
                    if let Some(name) = name {
                        let top = name.split('.').next().unwrap_or("");
                        if !top.is_empty() && !out.iter().any(|v| v == top) {
                            out.push(top.to_owned());
                        }
                    }
                } else {
                    gate_vars(arg, out);
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| gate_vars(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: Value) -> RuleSetDocument {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn collects_all_errors_with_paths() {
        let d = doc(json!({
            "id": "BAD SET", "version": 0, "name_zh": "",
            "benefits": ["school"],
            "indicators": [
                {"code": "a", "name_zh": "甲", "category": "base", "fact": "insurance_months",
                 "verifier_department": "human_resources",
                 "formula": {"kind": "per_unit", "rate": 5, "cap": -1}},
                {"code": "a", "name_zh": "乙", "category": "additional", "fact": "shoe_size",
                 "verifier_department": "education", "exclusive_group": "nope",
                 "formula": {"kind": "enum_map", "map": {"x": 1}}},
                {"code": "c", "name_zh": "丙", "category": "deduction", "fact": "sentence_months",
                 "verifier_department": "court",
                 "formula": {"kind": "product", "rate": 50}},
                {"code": "d", "name_zh": "丁", "category": "additional", "fact": "education",
                 "verifier_department": "education",
                 "formula": {"kind": "enum_map", "map": {"phd": 1}}}
            ],
            "gates": [{"code": "g", "message_zh": "x", "on_failure": "fail",
                       "condition": {"no_such_op": [1]}}],
        }));
        let v = violations(&d);
        let has = |path: &str, code: &str| v.iter().any(|x| x.path == path && x.code == code);
        assert!(has("/id", "bad_id"), "{v:#?}");
        assert!(has("/version", "bad_version"));
        assert!(has("/name_zh", "empty_name"));
        assert!(has("/indicators/0/formula/cap", "negative_cap"));
        assert!(has("/indicators/1/code", "duplicate_indicator"));
        assert!(has("/indicators/1/fact", "unknown_fact"));
        assert!(has(
            "/indicators/1/exclusive_group",
            "undeclared_exclusive_group"
        ));
        assert!(has("/indicators/2/formula/rate", "deduction_positive"));
        assert!(has("/indicators/3/formula/map/phd", "unknown_enum_word"));
        assert!(has("/gates/0/condition", "bad_jsonlogic"));
        assert!(has("/decision", "decision_missing"));
        assert!(v.len() >= 11);
    }

    #[test]
    fn gate_vars_are_collected() {
        let mut out = Vec::new();
        gate_vars(
            &json!({"and": [{"==": [{"var": "a"}, 1]}, {"!": {"var": ["b.c", 0]}}]}),
            &mut out,
        );
        assert_eq!(out, vec!["a".to_owned(), "b".to_owned()]);
    }
}
