//! What-if: run a draft rule set over a cycle's confirmed facts next to the baseline, changing
//! nothing: score distribution before/after, who crosses the cut-off or seat line in each
//! direction, and the largest movers.

use std::cmp::Reverse;

use chrono::NaiveDate;
use serde::Serialize;

use crate::compile::CompiledRuleSet;
use crate::evaluate::ScoreSummary;
use crate::facts::Facts;

/// The line an application must reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionLine {
    /// Pass mark: eligible and total ≥ the value (落户, 入医).
    Cutoff(i64),
    /// The first N eligible applications by rank are in (入学). Rank: total desc, base desc,
    /// tie reference desc, then application id (facts carry no registration dates).
    Seats(usize),
}

/// Options of a what-if run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WhatIfOptions {
    /// Histogram bucket width in points (widened automatically to at most 1000 buckets).
    pub bucket_width: i64,
    /// How many largest movers to list.
    pub top_movers: usize,
}

impl Default for WhatIfOptions {
    fn default() -> Self {
        Self {
            bucket_width: 50,
            top_movers: 10,
        }
    }
}

/// One histogram bucket `[from, to)`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Bucket {
    /// Lower bound (inclusive).
    pub from: i64,
    /// Upper bound (exclusive).
    pub to: i64,
    /// Applications in the bucket under the baseline.
    pub before: usize,
    /// Applications in the bucket under the draft.
    pub after: usize,
}

/// An application whose score or outcome changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mover {
    /// Application id.
    pub application_id: String,
    /// Baseline total.
    pub before: i64,
    /// Draft total.
    pub after: i64,
    /// after − before.
    pub delta: i64,
}

/// Result of a what-if run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WhatIfReport {
    /// Number of applications.
    pub applications: usize,
    /// Score distribution before/after.
    pub histogram: Vec<Bucket>,
    /// Below the line before, at or above after.
    pub crossed_in: Vec<Mover>,
    /// At or above the line before, below after.
    pub crossed_out: Vec<Mover>,
    /// Largest |delta| first (ties by id).
    pub largest_movers: Vec<Mover>,
    /// Applications in before / after.
    pub in_before: usize,
    /// Applications in after.
    pub in_after: usize,
}

/// Compares `draft` with `baseline` over `applications` at `as_of`. Pure.
pub fn what_if(
    baseline: &CompiledRuleSet,
    draft: &CompiledRuleSet,
    applications: &[(String, Facts)],
    as_of: NaiveDate,
    line: DecisionLine,
    options: &WhatIfOptions,
) -> WhatIfReport {
    let before: Vec<ScoreSummary> = applications
        .iter()
        .map(|(_, f)| baseline.evaluate_summary(f, as_of))
        .collect();
    let after: Vec<ScoreSummary> = applications
        .iter()
        .map(|(_, f)| draft.evaluate_summary(f, as_of))
        .collect();
    let ids: Vec<&str> = applications.iter().map(|(id, _)| id.as_str()).collect();
    let in_before = admitted(&before, &ids, line);
    let in_after = admitted(&after, &ids, line);
    let mover = |i: usize| Mover {
        application_id: ids[i].to_owned(),
        before: before[i].total,
        after: after[i].total,
        delta: after[i].total.saturating_sub(before[i].total),
    };
    let mut crossed_in = Vec::new();
    let mut crossed_out = Vec::new();
    for i in 0..applications.len() {
        match (in_before[i], in_after[i]) {
            (false, true) => crossed_in.push(mover(i)),
            (true, false) => crossed_out.push(mover(i)),
            _ => {}
        }
    }
    let mut movers: Vec<Mover> = (0..applications.len())
        .map(mover)
        .filter(|m| m.delta != 0)
        .collect();
    movers.sort_by(|a, b| {
        b.delta
            .unsigned_abs()
            .cmp(&a.delta.unsigned_abs())
            .then_with(|| a.application_id.cmp(&b.application_id))
    });
    movers.truncate(options.top_movers);
    WhatIfReport {
        applications: applications.len(),
        histogram: histogram(&before, &after, options.bucket_width),
        crossed_in,
        crossed_out,
        largest_movers: movers,
        in_before: in_before.iter().filter(|x| **x).count(),
        in_after: in_after.iter().filter(|x| **x).count(),
    }
}

fn admitted(scores: &[ScoreSummary], ids: &[&str], line: DecisionLine) -> Vec<bool> {
    match line {
        DecisionLine::Cutoff(cut) => scores
            .iter()
            .map(|s| s.eligible && s.total >= cut)
            .collect(),
        DecisionLine::Seats(seats) => {
            let mut order: Vec<usize> = (0..scores.len()).filter(|&i| scores[i].eligible).collect();
            order.sort_by_key(|&i| {
                let s = &scores[i];
                (
                    Reverse(s.total),
                    Reverse(s.base),
                    Reverse(s.tie_reference.unwrap_or(i64::MIN)),
                    ids[i],
                )
            });
            let mut out = vec![false; scores.len()];
            for &i in order.iter().take(seats) {
                out[i] = true;
            }
            out
        }
    }
}

fn histogram(before: &[ScoreSummary], after: &[ScoreSummary], width: i64) -> Vec<Bucket> {
    let all = before.iter().chain(after).map(|s| s.total);
    let (Some(min), Some(max)) = (all.clone().min(), all.max()) else {
        return Vec::new();
    };
    let mut width = width.max(1);
    let span = max.saturating_sub(min).saturating_add(1);
    if span / width > 1000 {
        width = span / 1000 + 1;
    }
    let start = min.div_euclid(width).saturating_mul(width);
    let count = usize::try_from(max.saturating_sub(start) / width + 1)
        .unwrap_or(1)
        .clamp(1, 1001);
    let mut buckets: Vec<Bucket> = (0..count)
        .map(|k| {
            let from = start.saturating_add(width.saturating_mul(k as i64));
            Bucket {
                from,
                to: from.saturating_add(width),
                before: 0,
                after: 0,
            }
        })
        .collect();
    let index = |t: i64| {
        usize::try_from(t.saturating_sub(start) / width)
            .unwrap_or(0)
            .min(count - 1)
    };
    for s in before {
        buckets[index(s.total)].before += 1;
    }
    for s in after {
        buckets[index(s.total)].after += 1;
    }
    buckets
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::default_library;
    use serde_json::json;

    #[test]
    fn draft_with_higher_insurance_rate_moves_people() {
        let lib = default_library();
        let baseline = lib.compile("SZ-CITY-SCHOOL-2023", "school").unwrap();
        let mut doc = lib.effective("SZ-CITY-SCHOOL-2023").unwrap();
        doc.version = 2;
        if let Some(crate::document::Formula::PerUnit { rate, .. }) = doc
            .indicators
            .iter_mut()
            .find(|i| i.code == "insurance_months")
            .map(|i| &mut i.formula)
        {
            *rate = 1;
        }
        let draft = CompiledRuleSet::compile(&doc).unwrap();
        let apps: Vec<(String, Facts)> = [
            ("a", json!({"insurance_months": 100})),
            ("b", json!({"residence_years": 10})),
            ("c", json!({"insurance_months": 20, "residence_years": 5})),
        ]
        .into_iter()
        .map(|(id, f)| (id.to_owned(), baseline.parse_facts(&f).unwrap()))
        .collect();
        let as_of = NaiveDate::from_ymd_opt(2023, 6, 30).unwrap();
        let report = what_if(
            &baseline,
            &draft,
            &apps,
            as_of,
            DecisionLine::Seats(1),
            &WhatIfOptions::default(),
        );
        // Before: a 500, b 300, c 250 → a in. After: a 100, b 300, c 170 → b in.
        assert_eq!(
            report
                .crossed_in
                .iter()
                .map(|m| m.application_id.as_str())
                .collect::<Vec<_>>(),
            ["b"]
        );
        assert_eq!(report.crossed_out[0].application_id, "a");
        assert_eq!(report.largest_movers[0].delta, -400);
        assert_eq!(report.largest_movers.len(), 2);
        let before: usize = report.histogram.iter().map(|b| b.before).sum();
        assert_eq!(before, 3);
        let cut = what_if(
            &baseline,
            &draft,
            &apps,
            as_of,
            DecisionLine::Cutoff(260),
            &WhatIfOptions::default(),
        );
        assert_eq!((cut.in_before, cut.in_after), (2, 1));
    }
}
