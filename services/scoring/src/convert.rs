//! Conversions between stored rows / engine results and the wire types.

use chrono::{DateTime, Utc};
use jifen_proto::common::v1 as common;
use jifen_proto::scoring::v1 as pb;
use jifen_rules::{RuleSetDocument, Violation};
use serde_json::{Value, json};

use crate::domain::lifecycle::Status;
use crate::rule_book::{Compiled, status_of};
use crate::store::change::ChangeRow;
use crate::store::rule_set::RuleSetRow;

/// Returns a protobuf timestamp.
pub(crate) fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

fn actor(subject: &str, tenant: &str) -> common::AuditActor {
    common::AuditActor {
        subject: subject.to_owned(),
        tenant: tenant.to_owned(),
        ..Default::default()
    }
}

fn status(row: &RuleSetRow) -> pb::RuleSetStatus {
    match status_of(row) {
        Status::Draft => pb::RuleSetStatus::Draft,
        Status::Validated => pb::RuleSetStatus::Validated,
        Status::Published => pb::RuleSetStatus::Published,
        Status::Frozen => pb::RuleSetStatus::Frozen,
    }
}

fn benefits(row: &RuleSetRow) -> Vec<String> {
    row.benefits
        .split(',')
        .filter(|b| !b.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Returns the wire form of a stored version.
pub(crate) fn rule_set(row: &RuleSetRow) -> pb::RuleSet {
    let doc = RuleSetDocument::from_json(&row.document).ok();
    let provenance = doc
        .as_ref()
        .map(|d| {
            d.reconstructed
                .iter()
                .map(|n| format!("{}：{}", n.item, n.note))
                .collect::<Vec<_>>()
                .join("；")
        })
        .unwrap_or_default();
    pb::RuleSet {
        rule_set_id: row.rule_set_id.clone(),
        version: u32::try_from(row.version).unwrap_or_default(),
        tenant: row.tenant.clone(),
        benefits: benefits(row),
        status: status(row) as i32,
        extends_id: row.extends_id.clone(),
        extends_version: 0,
        title_zh: row.title_zh.clone(),
        legal_basis: doc
            .as_ref()
            .map(|d| d.legal_basis.clone())
            .unwrap_or_default(),
        valid: None,
        document_json: row.document.clone(),
        content_hash: row.content_hash.clone(),
        provenance_note: provenance,
        frozen_for_cycles: serde_json::from_str(&row.frozen_for_cycles).unwrap_or_default(),
        created_by: Some(actor(&row.created_by, &row.tenant)),
        created_at: Some(timestamp(row.created_at)),
        updated_by: Some(actor(&row.updated_by, &row.tenant)),
        updated_at: Some(timestamp(row.updated_at)),
        published_by: row.published_by.as_deref().map(|s| actor(s, &row.tenant)),
        published_at: row.published_at.map(timestamp),
        edit_version: row.edit_version,
    }
}

/// Returns the list form of a stored version.
pub(crate) fn summary(row: &RuleSetRow) -> pb::RuleSetSummary {
    pb::RuleSetSummary {
        rule_set_id: row.rule_set_id.clone(),
        version: u32::try_from(row.version).unwrap_or_default(),
        tenant: row.tenant.clone(),
        benefits: benefits(row),
        status: status(row) as i32,
        extends_id: row.extends_id.clone(),
        extends_version: 0,
        title_zh: row.title_zh.clone(),
        valid: None,
        content_hash: row.content_hash.clone(),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

/// Returns the wire form of a change.
pub(crate) fn change(row: &ChangeRow) -> pb::RuleSetChange {
    pb::RuleSetChange {
        rule_set_id: row.rule_set_id.clone(),
        version: u32::try_from(row.version).unwrap_or_default(),
        action: row.action.clone(),
        actor: Some(actor(&row.actor_subject, &row.actor_tenant)),
        at: Some(timestamp(row.at)),
        content_hash: row.content_hash.clone(),
        cycle_id: row.cycle_id.clone(),
    }
}

/// Returns wire violations.
pub(crate) fn violations(list: &[Violation]) -> Vec<common::FieldViolation> {
    list.iter()
        .map(|v| common::FieldViolation {
            path: v.path.clone(),
            code: v.code.to_owned(),
            message_zh: v.message_zh.clone(),
        })
        .collect()
}

fn word(value: impl serde::Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        _ => String::new(),
    }
}

fn category(word: &str) -> pb::IndicatorCategory {
    match word {
        "base" => pb::IndicatorCategory::Base,
        "additional" => pb::IndicatorCategory::Additional,
        "deduction" => pb::IndicatorCategory::Deduction,
        _ => pb::IndicatorCategory::Unspecified,
    }
}

/// Returns the materialised view of `row` compiled as `compiled`.
pub(crate) fn effective(row: &RuleSetRow, compiled: &Compiled) -> pb::EffectiveRuleSet {
    let own = RuleSetDocument::from_json(&row.document).ok();
    let root = compiled
        .chain
        .first()
        .map(|(_, id, v)| format!("{id}@{v}"))
        .unwrap_or_default();
    let this = format!("{}@{}", row.rule_set_id, row.version);
    let indicators = compiled
        .effective
        .indicators
        .iter()
        .map(|ind| {
            let (origin, origin_rule_set) = match &own {
                Some(o) if o.is_overlay() && o.add.iter().any(|x| x.code == ind.code) => {
                    ("added", this.clone())
                }
                Some(o) if o.is_overlay() && o.replace.iter().any(|x| x.code == ind.code) => {
                    ("replaced", this.clone())
                }
                Some(o) if o.is_overlay() => ("inherited", root.clone()),
                _ => ("defined", this.clone()),
            };
            let formula = serde_json::to_value(&ind.formula).unwrap_or_default();
            pb::IndicatorInfo {
                code: ind.code.clone(),
                name_zh: ind.name_zh.clone(),
                category: category(ind.category.as_str()) as i32,
                fact_keys: vec![ind.fact.clone()],
                formula_kind: formula["kind"].as_str().unwrap_or_default().to_owned(),
                rule_zh: formula.to_string(),
                cap: ind.cap.unwrap_or_default(),
                exclusive_group: ind.exclusive_group.clone().unwrap_or_default(),
                verifier_department: word(ind.verifier_department),
                evidence: evidence(&ind.evidence),
                applies_to_benefits: ind.applies_to.clone(),
                origin_rule_set,
                origin: origin.to_owned(),
            }
        })
        .collect();
    let gates = compiled
        .effective
        .gates
        .iter()
        .map(|g| pb::GateInfo {
            code: g.code.clone(),
            name_zh: g.message_zh.clone(),
            condition_json: g.condition.to_string(),
            recheck_at: g.recheck_at.iter().map(word).collect(),
            verifier_department: String::new(),
            manual: word(g.on_failure) == "manual_review",
        })
        .collect();
    pb::EffectiveRuleSet {
        rule_set: Some(rule_set(row)),
        effective_document_json: compiled.effective.to_json_pretty(),
        effective_hash: compiled.effective_hash.clone(),
        chain: compiled
            .chain
            .iter()
            .map(|(_, id, v)| pb::RuleSetRef {
                rule_set_id: id.clone(),
                version: *v,
            })
            .collect(),
        indicators,
        gates,
    }
}

fn evidence(names: &[String]) -> Vec<pb::EvidenceRequirement> {
    names
        .iter()
        .map(|name| pb::EvidenceRequirement {
            code: String::new(),
            name_zh: name.clone(),
            required: true,
        })
        .collect()
}

/// Returns the stored JSON of an explained sheet: the engine's sheet with each line's
/// indicator name added.
pub(crate) fn stored_sheet(compiled: &Compiled, sheet: &jifen_rules::ScoreSheet) -> Value {
    let mut value = serde_json::to_value(sheet).unwrap_or_else(|_| json!({}));
    if let Some(lines) = value.get_mut("lines").and_then(Value::as_array_mut) {
        for line in lines {
            let code = line["indicator"].as_str().unwrap_or_default().to_owned();
            let name = compiled
                .effective
                .indicators
                .iter()
                .find(|i| i.code == code)
                .map(|i| i.name_zh.clone())
                .unwrap_or_default();
            line["name_zh"] = Value::String(name);
        }
    }
    value
}

/// Metadata of a score sheet that the engine does not know.
#[derive(Debug, Clone, Default)]
pub(crate) struct SheetMeta {
    /// Stored id (empty for transient sheets).
    pub(crate) id: String,
    /// Kind.
    pub(crate) kind: pb::ScoreSheetKind,
    /// Application.
    pub(crate) application_id: String,
    /// Cycle.
    pub(crate) cycle_id: String,
    /// Tenant.
    pub(crate) tenant: String,
    /// `YYYY-MM-DD`.
    pub(crate) as_of_date: String,
    /// Effective rule-set hash.
    pub(crate) rule_set_hash: String,
    /// Facts hash.
    pub(crate) facts_hash: String,
    /// When evaluated.
    pub(crate) evaluated_at: DateTime<Utc>,
    /// Facts JSON (stored sheets only).
    pub(crate) facts_json: String,
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or_default()
}

/// Returns the wire sheet from its stored JSON.
pub(crate) fn sheet(value: &Value, meta: SheetMeta) -> pb::ScoreSheet {
    let counted_parent = value["family"]["counted_parent"].as_u64();
    let gates = value["gates"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|g| pb::GateOutcome {
            code: g["code"].as_str().unwrap_or_default().to_owned(),
            outcome: match g["outcome"].as_str() {
                Some("pass") => pb::GateVerdict::Pass,
                Some("fail") => pb::GateVerdict::Fail,
                Some("manual_review") => pb::GateVerdict::ManualReview,
                _ => pb::GateVerdict::Unspecified,
            } as i32,
            message: g["message"].as_str().unwrap_or_default().to_owned(),
            person_index: 0,
        })
        .collect();
    let lines = value["lines"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|l| {
            let parent = l["parent"].as_u64();
            pb::ScoreLine {
                indicator: l["indicator"].as_str().unwrap_or_default().to_owned(),
                name_zh: l["name_zh"].as_str().unwrap_or_default().to_owned(),
                category: category(l["category"].as_str().unwrap_or_default()) as i32,
                points: int(&l["points"]),
                explanation: l["explanation"].as_str().unwrap_or_default().to_owned(),
                person_index: parent
                    .and_then(|p| u32::try_from(p).ok())
                    .unwrap_or_default(),
                counted: parent.is_none() || parent == counted_parent,
                uncapped_points: int(&l["points"]),
                input_json: String::new(),
            }
        })
        .collect();
    let family = value["family"].as_object().map(|f| pb::FamilyResult {
        counted_parent: f["counted_parent"]
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .unwrap_or_default(),
        tie_reference: int(&f["tie_reference"]),
        rule: f["rule"].as_str().unwrap_or_default().to_owned(),
        parents: f["parent_totals"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
            .map(|(i, t)| pb::PersonTotal {
                person_index: u32::try_from(i).unwrap_or_default(),
                total: int(t),
                ..Default::default()
            })
            .collect(),
    });
    pb::ScoreSheet {
        score_sheet_id: meta.id,
        kind: meta.kind as i32,
        application_id: meta.application_id,
        cycle_id: meta.cycle_id,
        tenant: meta.tenant,
        benefit: value["benefit"].as_str().unwrap_or_default().to_owned(),
        rule_set_id: value["rule_set"].as_str().unwrap_or_default().to_owned(),
        rule_set_version: u32::try_from(int(&value["rule_set_version"])).unwrap_or_default(),
        rule_set_hash: meta.rule_set_hash,
        as_of_date: meta.as_of_date,
        total: int(&value["total"]),
        base: int(&value["base"]),
        additional: int(&value["additional"]),
        deduction: int(&value["deduction"]),
        eligible: value["eligible"].as_bool().unwrap_or_default(),
        gates,
        lines,
        family,
        tie_keys: Vec::new(),
        facts_hash: meta.facts_hash,
        evaluated_at: Some(timestamp(meta.evaluated_at)),
        facts_json: meta.facts_json,
    }
}

/// Returns the materials checklist for the indicators that scored.
pub(crate) fn checklist(
    compiled: &Compiled,
    sheet: &jifen_rules::ScoreSheet,
) -> Vec<pb::MaterialChecklistItem> {
    let mut out: Vec<pb::MaterialChecklistItem> = Vec::new();
    for line in sheet.lines.iter().filter(|l| l.points != 0) {
        if out.iter().any(|i| i.indicator == line.indicator) {
            continue;
        }
        if let Some(ind) = compiled
            .effective
            .indicators
            .iter()
            .find(|i| i.code == line.indicator)
        {
            out.push(pb::MaterialChecklistItem {
                indicator: ind.code.clone(),
                name_zh: ind.name_zh.clone(),
                evidence: evidence(&ind.evidence),
            });
        }
    }
    out
}
