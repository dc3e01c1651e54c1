//! Evaluation operations: Evaluate, ScoreApplication, stored sheets, the public simulator and
//! what-if.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, Utc};
use jifen_kit::auth::Caller;
use jifen_proto::scoring::v1 as pb;
use jifen_rules::{DecisionLine, Facts, WhatIfOptions, document::Decision};
use serde_json::Value;

use crate::convert::{self, SheetMeta};
use crate::domain::access;
use crate::error::ScoringError;
use crate::lifecycle;
use crate::rule_book::{
    Compiled, RuleBook, parse_date, parse_document, parse_facts_json, status_of,
};
use crate::store::score_sheet::{self, ScoreSheetRow};

/// Returns `as_of` parsed, or today when empty.
fn as_of_or_today(text: &str) -> Result<NaiveDate, ScoringError> {
    if text.trim().is_empty() {
        Ok(Utc::now().date_naive())
    } else {
        parse_date("as_of_date", text)
    }
}

fn facts_hash(facts: &Value) -> String {
    format!("sha256:{}", jifen_rules::facts_hash(facts))
}

/// A transient explained score and what it was computed with.
#[derive(Debug)]
pub(crate) struct Simulation {
    /// The rule set used.
    pub(crate) compiled: Arc<Compiled>,
    /// The explained sheet.
    pub(crate) sheet: jifen_rules::ScoreSheet,
    /// The facts as parsed JSON.
    pub(crate) facts: Value,
    /// The evaluation date.
    pub(crate) as_of: NaiveDate,
}

/// Scores `facts_json` with the rule set `tenant` publishes for `benefit` (or the given
/// released version). Shared by the public rpc and `jifen simulate`.
pub(crate) async fn simulate(
    book: &RuleBook,
    tenant: &str,
    benefit: &str,
    as_of: &str,
    facts_json: &str,
    rule_set: Option<(&str, u32)>,
) -> Result<Simulation, ScoringError> {
    if tenant.trim().is_empty() {
        return Err(ScoringError::invalid("tenant", "请指定地区"));
    }
    if benefit.trim().is_empty() {
        return Err(ScoringError::invalid("benefit", "请指定积分用途"));
    }
    let as_of = as_of_or_today(as_of)?;
    let facts = parse_facts_json(facts_json)?;
    let compiled = book.published_for(tenant, benefit, rule_set).await?;
    let parsed = compiled.rules.parse_facts(&facts)?;
    let sheet = compiled.rules.evaluate(&parsed, as_of);
    Ok(Simulation {
        compiled,
        sheet,
        facts,
        as_of,
    })
}

/// The public simulator rpc's answer.
pub(crate) fn simulation_response(tenant: &str, sim: &Simulation) -> pb::SimulateResponse {
    let stored = convert::stored_sheet(&sim.compiled, &sim.sheet);
    let meta = SheetMeta {
        kind: pb::ScoreSheetKind::Transient,
        tenant: tenant.to_owned(),
        as_of_date: sim.as_of.format("%Y-%m-%d").to_string(),
        rule_set_hash: sim.compiled.effective_hash.clone(),
        facts_hash: facts_hash(&sim.facts),
        evaluated_at: Utc::now(),
        ..Default::default()
    };
    pb::SimulateResponse {
        score_sheet: Some(convert::sheet(&stored, meta)),
        checklist: convert::checklist(&sim.compiled, &sim.sheet),
    }
}

/// Evaluates facts with a stored version visible to the caller or an unsaved document.
pub(crate) async fn evaluate(
    book: &RuleBook,
    caller: &Caller,
    req: pb::EvaluateRequest,
) -> Result<pb::ScoreSheet, ScoringError> {
    access::may_evaluate(caller)?;
    let compiled = match req.rule_set {
        Some(pb::evaluate_request::RuleSet::Ref(r)) => {
            let row = lifecycle::get(book, caller, &r.rule_set_id, r.version).await?;
            book.compiled(&row, &req.benefit).await?
        }
        Some(pb::evaluate_request::RuleSet::DocumentJson(json)) => {
            let doc = parse_document(&json)?;
            Arc::new(
                book.compile_document(&caller.tenant, &doc, &req.benefit)
                    .await?,
            )
        }
        None => return Err(ScoringError::invalid("rule_set", "请指定规则集")),
    };
    let as_of = as_of_or_today(&req.as_of_date)?;
    let facts = parse_facts_json(&req.facts_json)?;
    let parsed = compiled.rules.parse_facts(&facts)?;
    let sheet = compiled.rules.evaluate(&parsed, as_of);
    let meta = SheetMeta {
        kind: pb::ScoreSheetKind::Transient,
        tenant: caller.tenant.clone(),
        as_of_date: as_of.format("%Y-%m-%d").to_string(),
        rule_set_hash: compiled.effective_hash.clone(),
        facts_hash: facts_hash(&facts),
        evaluated_at: Utc::now(),
        ..Default::default()
    };
    Ok(convert::sheet(
        &convert::stored_sheet(&compiled, &sheet),
        meta,
    ))
}

fn kind_word(kind: pb::ScoreSheetKind) -> Option<&'static str> {
    match kind {
        pb::ScoreSheetKind::Claimed => Some("claimed"),
        pb::ScoreSheetKind::Verified => Some("verified"),
        _ => None,
    }
}

fn kind_of(word: &str) -> pb::ScoreSheetKind {
    match word {
        "claimed" => pb::ScoreSheetKind::Claimed,
        "verified" => pb::ScoreSheetKind::Verified,
        _ => pb::ScoreSheetKind::Unspecified,
    }
}

/// Returns the wire form of a stored sheet.
pub(crate) fn stored_to_proto(row: &ScoreSheetRow) -> pb::ScoreSheet {
    let value: Value = serde_json::from_str(&row.sheet).unwrap_or_default();
    convert::sheet(
        &value,
        SheetMeta {
            id: row.id.clone(),
            kind: kind_of(&row.kind),
            application_id: row.application_id.clone(),
            cycle_id: row.cycle_id.clone(),
            tenant: row.tenant.clone(),
            as_of_date: row.as_of_date.clone(),
            rule_set_hash: row.rule_set_hash.clone(),
            facts_hash: row.facts_hash.clone(),
            evaluated_at: row.created_at,
            facts_json: row.facts.clone(),
        },
    )
}

/// Scores an application with a released version and stores the sheet; a repeat with the same
/// facts, kind and version returns the stored sheet.
pub(crate) async fn score_application(
    book: &RuleBook,
    caller: &Caller,
    req: pb::ScoreApplicationRequest,
) -> Result<pb::ScoreSheet, ScoringError> {
    access::may_store_sheets(caller)?;
    if req.application_id.trim().is_empty() {
        return Err(ScoringError::invalid("application_id", "请指定申请"));
    }
    let kind = kind_word(req.kind())
        .ok_or_else(|| ScoringError::invalid("kind", "计分类型须为 claimed 或 verified"))?;
    let reference = req
        .rule_set
        .ok_or_else(|| ScoringError::invalid("rule_set", "请指定规则集"))?;
    let row = lifecycle::get(book, caller, &reference.rule_set_id, reference.version).await?;
    if !status_of(&row).is_released() {
        return Err(ScoringError::FailedPrecondition(
            "只能用已发布的规则集计分".to_owned(),
        ));
    }
    let compiled = book.compiled(&row, &req.benefit).await?;
    let as_of = parse_date("as_of_date", &req.as_of_date)?;
    let facts = parse_facts_json(&req.facts_json)?;
    let parsed = compiled.rules.parse_facts(&facts)?;
    let sheet = compiled.rules.evaluate(&parsed, as_of);
    let stored = convert::stored_sheet(&compiled, &sheet);
    let candidate = ScoreSheetRow {
        id: uuid::Uuid::now_v7().to_string(),
        tenant: caller.tenant.clone(),
        application_id: req.application_id.clone(),
        cycle_id: req.cycle_id.clone(),
        kind: kind.to_owned(),
        benefit: sheet.benefit.clone(),
        rule_set_id: row.rule_set_id.clone(),
        rule_set_version: row.version,
        rule_set_hash: compiled.effective_hash.clone(),
        as_of_date: as_of.format("%Y-%m-%d").to_string(),
        facts_hash: facts_hash(&facts),
        facts: facts.to_string(),
        sheet: stored.to_string(),
        total: sheet.total,
        eligible: sheet.eligible,
        created_at: Utc::now(),
    };
    if let Some(existing) = score_sheet::find_same(book.db(), &candidate).await? {
        return Ok(stored_to_proto(&existing));
    }
    score_sheet::insert(book.db(), candidate.clone()).await?;
    Ok(stored_to_proto(&candidate))
}

/// Returns a stored sheet of the caller's tenant.
pub(crate) async fn get_sheet(
    book: &RuleBook,
    caller: &Caller,
    id: &str,
) -> Result<pb::ScoreSheet, ScoringError> {
    access::may_read_sheets(caller)?;
    let row = score_sheet::get(book.db(), &caller.tenant, id)
        .await?
        .ok_or_else(|| ScoringError::NotFound("计分单".to_owned()))?;
    Ok(stored_to_proto(&row))
}

/// Lists an application's stored sheets, newest first.
pub(crate) async fn list_sheets(
    book: &RuleBook,
    caller: &Caller,
    application_id: &str,
    kind: pb::ScoreSheetKind,
) -> Result<Vec<pb::ScoreSheet>, ScoringError> {
    access::may_read_sheets(caller)?;
    let rows = score_sheet::list_for_application(
        book.db(),
        &caller.tenant,
        application_id,
        kind_word(kind),
    )
    .await?;
    Ok(rows.iter().map(stored_to_proto).collect())
}

fn histogram(
    totals: &mut [i64],
    report: &jifen_rules::WhatIfReport,
    after: bool,
) -> pb_common::Histogram {
    totals.sort_unstable();
    let buckets = report
        .histogram
        .iter()
        .map(|b| pb_common::HistogramBucket {
            lower_inclusive: b.from,
            upper_exclusive: b.to,
            count: u64::try_from(if after { b.after } else { b.before }).unwrap_or_default(),
        })
        .collect();
    pb_common::Histogram {
        buckets,
        count: u64::try_from(totals.len()).unwrap_or_default(),
        min: totals.first().copied().unwrap_or_default(),
        max: totals.last().copied().unwrap_or_default(),
        median: totals.get(totals.len() / 2).copied().unwrap_or_default(),
    }
}

use jifen_proto::common::v1 as pb_common;

fn mover(m: &jifen_rules::Mover, line_in: &HashSet<(String, bool)>) -> pb::WhatIfMover {
    pb::WhatIfMover {
        application_id: m.application_id.clone(),
        baseline_total: m.before,
        candidate_total: m.after,
        delta: m.delta,
        baseline_above_cutoff: line_in.contains(&(m.application_id.clone(), false)),
        candidate_above_cutoff: line_in.contains(&(m.application_id.clone(), true)),
        ..Default::default()
    }
}

/// Runs a candidate rule set next to a baseline over supplied facts or a cycle's stored
/// verified sheets; changes nothing.
pub(crate) async fn what_if(
    book: &RuleBook,
    caller: &Caller,
    req: pb::WhatIfRequest,
) -> Result<pb::WhatIfResponse, ScoringError> {
    access::may_what_if(caller)?;
    let candidate_ref = req
        .candidate
        .ok_or_else(|| ScoringError::invalid("candidate", "请指定待比较的规则集"))?;
    let candidate_row = lifecycle::get(
        book,
        caller,
        &candidate_ref.rule_set_id,
        candidate_ref.version,
    )
    .await?;
    let candidate = book.compiled(&candidate_row, &req.benefit).await?;
    let benefit = candidate.rules.benefit().to_owned();

    // The applications: supplied, or the cycle's verified sheets (newest per application).
    let mut stored_as_of = None;
    let mut stored_rule_set = None;
    let mut inputs: Vec<(String, Value)> = Vec::new();
    if req.applications.is_empty() {
        if req.cycle_id.trim().is_empty() {
            return Err(ScoringError::invalid(
                "cycle_id",
                "请指定积分周期或提供申请材料事实",
            ));
        }
        let rows =
            score_sheet::list_for_cycle(book.db(), &caller.tenant, &req.cycle_id, "verified")
                .await?;
        let mut seen = HashSet::new();
        for row in rows {
            if !seen.insert(row.application_id.clone()) {
                continue;
            }
            stored_as_of.get_or_insert_with(|| row.as_of_date.clone());
            stored_rule_set.get_or_insert_with(|| (row.rule_set_id.clone(), row.rule_set_version));
            let facts = serde_json::from_str(&row.facts).unwrap_or_default();
            inputs.push((row.application_id, facts));
        }
    } else {
        for app in &req.applications {
            inputs.push((
                app.application_id.clone(),
                parse_facts_json(&app.facts_json)?,
            ));
        }
    }
    let as_of = match (req.as_of_date.trim(), &stored_as_of) {
        ("", Some(stored)) => parse_date("as_of_date", stored)?,
        (text, _) => as_of_or_today(text)?,
    };

    let baseline = match (&req.baseline, &stored_rule_set) {
        (Some(r), _) => {
            let row = lifecycle::get(book, caller, &r.rule_set_id, r.version).await?;
            book.compiled(&row, &benefit).await?
        }
        (None, Some((id, version))) => {
            let row = lifecycle::get(
                book,
                caller,
                id,
                u32::try_from(*version).unwrap_or_default(),
            )
            .await?;
            book.compiled(&row, &benefit).await?
        }
        (None, None) => book.published_for(&caller.tenant, &benefit, None).await?,
    };

    let mut failures = Vec::new();
    let mut applications: Vec<(String, Facts)> = Vec::new();
    for (id, facts) in inputs {
        match candidate.rules.parse_facts(&facts) {
            Ok(parsed) => applications.push((id, parsed)),
            Err(err) => failures.push(match err {
                jifen_rules::RulesError::Fact(f) => pb_common::FieldViolation {
                    path: format!("{id}/{}", f.key),
                    code: f.code.to_owned(),
                    message_zh: f.message_zh,
                },
                other => pb_common::FieldViolation {
                    path: id,
                    code: "invalid_facts".to_owned(),
                    message_zh: other.to_string(),
                },
            }),
        }
    }

    let line = decision_line(caller, &candidate, req.cutoff, req.seats, as_of)?;
    let options = WhatIfOptions {
        bucket_width: i64::from(if req.bucket_width == 0 {
            10
        } else {
            req.bucket_width
        }),
        top_movers: usize::try_from(if req.top_movers == 0 {
            20
        } else {
            req.top_movers.min(200)
        })
        .unwrap_or(20),
    };
    let report = jifen_rules::what_if(
        &baseline.rules,
        &candidate.rules,
        &applications,
        as_of,
        line,
        &options,
    );
    let mut before: Vec<i64> = applications
        .iter()
        .map(|(_, f)| baseline.rules.evaluate_summary(f, as_of).total)
        .collect();
    let mut after: Vec<i64> = applications
        .iter()
        .map(|(_, f)| candidate.rules.evaluate_summary(f, as_of).total)
        .collect();
    let mut above = HashSet::new();
    for m in &report.crossed_in {
        above.insert((m.application_id.clone(), true));
    }
    for m in &report.crossed_out {
        above.insert((m.application_id.clone(), false));
    }
    let cutoff = match line {
        DecisionLine::Cutoff(c) => c,
        DecisionLine::Seats(_) => 0,
    };
    Ok(pb::WhatIfResponse {
        applications: u64::try_from(report.applications).unwrap_or_default(),
        baseline_distribution: Some(histogram(&mut before, &report, false)),
        candidate_distribution: Some(histogram(&mut after, &report, true)),
        baseline_cutoff: cutoff,
        candidate_cutoff: cutoff,
        crossed_up: u64::try_from(report.crossed_in.len()).unwrap_or_default(),
        crossed_down: u64::try_from(report.crossed_out.len()).unwrap_or_default(),
        crossed_up_sample: report
            .crossed_in
            .iter()
            .take(50)
            .map(|m| mover(m, &above))
            .collect(),
        crossed_down_sample: report
            .crossed_out
            .iter()
            .take(50)
            .map(|m| mover(m, &above))
            .collect(),
        largest_movers: report
            .largest_movers
            .iter()
            .map(|m| mover(m, &above))
            .collect(),
        failures,
    })
}

fn decision_line(
    caller: &Caller,
    candidate: &Compiled,
    cutoff: i64,
    seats: u64,
    as_of: NaiveDate,
) -> Result<DecisionLine, ScoringError> {
    if cutoff != 0 {
        return Ok(DecisionLine::Cutoff(cutoff));
    }
    if seats != 0 {
        return Ok(DecisionLine::Seats(
            usize::try_from(seats).unwrap_or(usize::MAX),
        ));
    }
    if let Some(Decision::Threshold { values }) = candidate.rules.decision() {
        let area = jifen_rules::threshold_area_for(&caller.tenant);
        let best = values
            .iter()
            .filter(|v| Some(v.area.as_str()) == area && v.year <= as_of.year())
            .max_by_key(|v| v.year);
        if let Some(v) = best {
            return Ok(DecisionLine::Cutoff(v.value));
        }
    }
    Err(ScoringError::invalid(
        "cutoff",
        "请指定分数线（cutoff）或学位数（seats）",
    ))
}
