//! Inheritance: a city template plus district overlays. An overlay can only add, replace or
//! disable indicators by code (so diffs stay readable for auditors); its gates, groups and
//! extra facts are merged by code, and its family rule, tie-breakers and decision, when given,
//! replace the parent's. The result is a complete document that can be shown and compiled.

use std::collections::BTreeMap;

use crate::document::RuleSetDocument;
use crate::error::{RulesError, Violation};

/// Materialises `doc` against its `extends` chain, looked up with `lookup`. Cycles and unknown
/// parents are refused; every overlay problem is reported with the overlay's own paths.
pub fn materialise(
    doc: &RuleSetDocument,
    lookup: &dyn Fn(&str) -> Option<RuleSetDocument>,
) -> Result<RuleSetDocument, RulesError> {
    // Walk up to the root, detecting cycles.
    let mut chain = vec![doc.clone()];
    while let Some(parent_id) = chain.last().and_then(|d| d.extends.clone()) {
        if chain.iter().any(|d| d.id == parent_id) {
            let ids: Vec<&str> = chain.iter().map(|d| d.id.as_str()).collect();
            return Err(RulesError::invalid(vec![Violation::new(
                "/extends",
                "extends_cycle",
                format!("继承关系存在循环：{} → {parent_id}", ids.join(" → ")),
            )]));
        }
        match lookup(&parent_id) {
            Some(parent) => chain.push(parent),
            None => return Err(RulesError::UnknownRuleSet { id: parent_id }),
        }
    }
    let mut chain = chain.into_iter().rev();
    let Some(mut effective) = chain.next() else {
        return Err(RulesError::UnknownRuleSet { id: doc.id.clone() });
    };
    let mut lineage = Vec::new();
    for overlay in chain {
        lineage.push(effective.id.clone());
        effective = apply_overlay(effective, &overlay)?;
    }
    effective.materialised_from = lineage;
    Ok(effective)
}

fn apply_overlay(
    parent: RuleSetDocument,
    overlay: &RuleSetDocument,
) -> Result<RuleSetDocument, RulesError> {
    let mut errors = Vec::new();
    let mut indicators = parent.indicators;
    for (i, code) in overlay.disable.iter().enumerate() {
        match indicators.iter().position(|x| &x.code == code) {
            Some(pos) => {
                indicators.remove(pos);
            }
            None => errors.push(Violation::new(
                format!("/disable/{i}"),
                "unknown_indicator",
                format!("停用的指标“{code}”在上级规则集中不存在"),
            )),
        }
    }
    for (i, ind) in overlay.replace.iter().enumerate() {
        match indicators.iter_mut().find(|x| x.code == ind.code) {
            Some(slot) => *slot = ind.clone(),
            None => errors.push(Violation::new(
                format!("/replace/{i}/code"),
                "unknown_indicator",
                format!("替换的指标“{}”在上级规则集中不存在", ind.code),
            )),
        }
    }
    for (i, ind) in overlay.add.iter().enumerate() {
        if indicators.iter().any(|x| x.code == ind.code) {
            errors.push(Violation::new(
                format!("/add/{i}/code"),
                "duplicate_indicator",
                format!("新增的指标“{}”与上级规则集重复，请用 replace", ind.code),
            ));
        } else {
            indicators.push(ind.clone());
        }
    }
    if !errors.is_empty() {
        return Err(RulesError::invalid(errors));
    }
    let benefits = if overlay.benefits.is_empty() {
        parent.benefits
    } else {
        overlay.benefits.clone()
    };
    // Indicators that apply to none of the effective benefits are dropped (e.g. 落户-only
    // deductions when a 入医 rule set extends a 落户 table).
    indicators.retain(|ind| {
        ind.applies_to.is_empty() || ind.applies_to.iter().any(|b| benefits.contains(b))
    });
    let mut reconstructed = parent.reconstructed;
    reconstructed.extend(overlay.reconstructed.iter().cloned());
    Ok(RuleSetDocument {
        id: overlay.id.clone(),
        version: overlay.version,
        name_zh: overlay.name_zh.clone(),
        benefits,
        tenant: overlay.tenant.clone().or(parent.tenant),
        extends: None,
        materialised_from: Vec::new(),
        legal_basis: if overlay.legal_basis.is_empty() {
            parent.legal_basis
        } else {
            format!("{}；{}", parent.legal_basis, overlay.legal_basis)
        },
        reconstructed,
        indicators,
        group_caps: merge_by(parent.group_caps, &overlay.group_caps, |g| g.code.clone()),
        exclusive_groups: merge_by(parent.exclusive_groups, &overlay.exclusive_groups, |g| {
            g.code.clone()
        }),
        gates: merge_by(parent.gates, &overlay.gates, |g| g.code.clone()),
        family: overlay.family.clone().or(parent.family),
        tie_breakers: if overlay.tie_breakers.is_empty() {
            parent.tie_breakers
        } else {
            overlay.tie_breakers.clone()
        },
        decision: overlay.decision.clone().or(parent.decision),
        extra_facts: merge_by(parent.extra_facts, &overlay.extra_facts, |e| e.key.clone()),
        add: Vec::new(),
        replace: Vec::new(),
        disable: Vec::new(),
    })
}

/// Parent items, with same-keyed overlay items replacing them in place and new ones appended.
fn merge_by<T: Clone>(parent: Vec<T>, overlay: &[T], key: impl Fn(&T) -> String) -> Vec<T> {
    let mut out = parent;
    for item in overlay {
        match out.iter_mut().find(|x| key(x) == key(item)) {
            Some(slot) => *slot = item.clone(),
            None => out.push(item.clone()),
        }
    }
    out
}

/// A set of rule-set documents by id, resolving inheritance.
#[derive(Clone, Debug, Default)]
pub struct RuleSetLibrary {
    docs: BTreeMap<String, RuleSetDocument>,
}

impl RuleSetLibrary {
    /// Returns an empty library.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces a document.
    pub fn insert(&mut self, doc: RuleSetDocument) {
        self.docs.insert(doc.id.clone(), doc);
    }

    /// Returns a stored document as written (overlays unresolved).
    pub fn get(&self, id: &str) -> Option<&RuleSetDocument> {
        self.docs.get(id)
    }

    /// Returns the ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.docs.keys().map(String::as_str)
    }

    /// Returns the materialised (effective) document, validated.
    pub fn effective(&self, id: &str) -> Result<RuleSetDocument, RulesError> {
        let doc = self
            .docs
            .get(id)
            .ok_or_else(|| RulesError::UnknownRuleSet { id: id.to_owned() })?;
        crate::validate::validate(doc)?;
        let effective = materialise(doc, &|pid| self.docs.get(pid).cloned())?;
        crate::validate::validate(&effective)?;
        Ok(effective)
    }

    /// Materialises and compiles `id` for `benefit`.
    pub fn compile(&self, id: &str, benefit: &str) -> Result<crate::CompiledRuleSet, RulesError> {
        let effective = self.effective(id)?;
        crate::CompiledRuleSet::compile_for(&effective, benefit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(v: serde_json::Value) -> RuleSetDocument {
        serde_json::from_value(v).unwrap()
    }

    fn base() -> RuleSetDocument {
        doc(
            json!({"id": "BASE", "version": 1, "name_zh": "基础", "benefits": ["school"],
            "decision": {"mode": "seats", "scope": "school"},
            "indicators": [
                {"code": "ins", "name_zh": "参保", "category": "base", "fact": "insurance_months",
                 "verifier_department": "human_resources", "formula": {"kind": "per_unit", "rate": 5}},
                {"code": "vet", "name_zh": "退役", "category": "additional", "fact": "veteran",
                 "verifier_department": "veterans_affairs", "formula": {"kind": "enum_map", "map": {"true": 30}}}
            ]}),
        )
    }

    #[test]
    fn overlay_adds_replaces_disables() {
        let overlay = doc(
            json!({"id": "OV", "version": 2, "name_zh": "区", "extends": "BASE",
            "disable": ["vet"],
            "replace": [{"code": "ins", "name_zh": "参保", "category": "base", "fact": "insurance_months",
                 "verifier_department": "human_resources", "formula": {"kind": "per_unit", "rate": 6}}],
            "add": [{"code": "fund", "name_zh": "公积金", "category": "additional", "fact": "housing_fund_years",
                 "verifier_department": "housing_fund", "formula": {"kind": "per_unit", "rate": 5}}]}),
        );
        let b = base();
        let eff = materialise(&overlay, &|id| (id == "BASE").then(|| b.clone())).unwrap();
        let codes: Vec<&str> = eff.indicators.iter().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["ins", "fund"]);
        assert_eq!(eff.benefits, ["school"]);
        assert_eq!(eff.materialised_from, ["BASE"]);
        assert!(eff.extends.is_none());
        crate::validate::validate(&eff).unwrap();
    }

    #[test]
    fn unknown_codes_and_cycles_are_refused() {
        let overlay = doc(
            json!({"id": "OV", "version": 1, "name_zh": "区", "extends": "BASE",
            "disable": ["nope"]}),
        );
        let b = base();
        let err = materialise(&overlay, &|_| Some(b.clone())).unwrap_err();
        assert_eq!(err.violations()[0].path, "/disable/0");
        assert_eq!(err.violations()[0].code, "unknown_indicator");

        let a = doc(json!({"id": "A", "version": 1, "name_zh": "a", "extends": "B"}));
        let bb = doc(json!({"id": "B", "version": 1, "name_zh": "b", "extends": "A"}));
        let (a2, b2) = (a.clone(), bb.clone());
        let err = materialise(&a, &move |id| {
            if id == "A" {
                Some(a2.clone())
            } else {
                Some(b2.clone())
            }
        })
        .unwrap_err();
        assert_eq!(err.violations()[0].code, "extends_cycle");
        let err = materialise(&a, &|_| None).unwrap_err();
        assert!(matches!(err, RulesError::UnknownRuleSet { .. }));
    }
}
