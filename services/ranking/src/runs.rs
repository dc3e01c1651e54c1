//! Official ranking runs: a snapshot of the cycle's live entries, gates re-checked from the
//! stored `gates_ok`, ranked and decided by [`crate::domain::run_ranking`], stored with its
//! parameters, snapshot, hashes and rows. Runs execute inline and answer COMPLETED; the same
//! snapshot and parameters always give the same `inputs_hash` and `results_hash`.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use jifen_kit::auth::Caller;
use jifen_proto::common::v1 as common;
use jifen_proto::ranking::v1 as pb;
use serde::{Deserialize, Serialize};

use crate::access;
use crate::board::BoardScope;
use crate::domain::{
    AllocationRound, Decision, Outcome, RankSpec, RunApplication, RunParams, RunResult, School,
    SeatPlan,
};
use crate::entry;
use crate::error::RankingError;
use crate::queries::scope_to_proto;
use crate::state::{Core, next_token, page, timestamp};
use crate::store::board_entry;
use crate::store::ranking_run::{self, RankingRunRow};

/// The parameters of a run as requested and as the domain ran them (the `params` column).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredParams {
    /// `RunMode` as requested.
    pub mode: i32,
    /// Pass mark (threshold).
    pub pass_mark: i64,
    /// `ReallocationRound`s as requested.
    pub rounds: Vec<i32>,
    /// Snapshot instant, if one was asked for.
    pub snapshot_at: Option<DateTime<Utc>>,
    /// What the domain ran with (part of the inputs hash).
    pub run: RunParams,
    /// School display names by code.
    pub school_names: BTreeMap<String, String>,
}

/// What decides a board's provisional cut-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// The last of this many seats.
    Seats(u64),
    /// A pass mark.
    PassMark(i64),
    /// No run yet: no line.
    Unknown,
}

impl StoredParams {
    /// Returns the provisional line of a board of `tenant` under these parameters: a school's
    /// seats, the district's seats for its tenant board, or the pass mark.
    pub fn line(&self, tenant: &str, scope: &BoardScope) -> Line {
        match &self.run.decision {
            Decision::Threshold { pass_mark } => Line::PassMark(*pass_mark),
            // The quota is the tenant's; other boards have no line of their own.
            Decision::Quota { quota } => match scope {
                BoardScope::Tenant => Line::Seats(*quota),
                _ => Line::Unknown,
            },
            Decision::Seats(plan) => {
                let seats = |f: &dyn Fn(&School) -> bool| {
                    plan.schools
                        .iter()
                        .filter(|s| f(s))
                        .map(|s| u64::from(s.seats))
                        .sum()
                };
                match scope {
                    BoardScope::School(code) => Line::Seats(seats(&|s| &s.school_id == code)),
                    BoardScope::Tenant => Line::Seats(seats(&|s| s.district == tenant)),
                    _ => Line::Unknown,
                }
            }
        }
    }
}

fn seat_plan_from_proto(plan: &pb::SeatPlan) -> (SeatPlan, BTreeMap<String, String>) {
    let mut names = BTreeMap::new();
    let schools = plan
        .schools
        .iter()
        .map(|s| {
            if !s.name_zh.is_empty() {
                names.insert(s.school_code.clone(), s.name_zh.clone());
            }
            School {
                school_id: s.school_code.clone(),
                district: s.district.clone(),
                service_areas: s.service_areas.clone(),
                seats: s.seats,
            }
        })
        .collect();
    (
        SeatPlan {
            schools,
            district_min_totals: plan.district_min_totals.clone().into_iter().collect(),
        },
        names,
    )
}

/// Returns the domain parameters of a request (the rank spec comes from the snapshot).
pub fn params_from_proto(
    spec: RankSpec,
    params: &pb::RunParameters,
) -> Result<StoredParams, RankingError> {
    let mut names = BTreeMap::new();
    let decision = match pb::RunMode::try_from(params.mode) {
        Ok(pb::RunMode::Seats) => {
            let plan = params
                .seat_plan
                .as_ref()
                .filter(|p| !p.schools.is_empty())
                .ok_or_else(|| {
                    RankingError::Invalid("学位模式需要 seat_plan（学校与学位数）".to_owned())
                })?;
            for r in &params.rounds {
                if pb::ReallocationRound::try_from(*r).is_err() {
                    return Err(RankingError::Invalid("rounds 含无效的调剂轮次".to_owned()));
                }
            }
            let has = |r: pb::ReallocationRound| params.rounds.contains(&(r as i32));
            let all_rounds = has(pb::ReallocationRound::WithinDistrict)
                && has(pb::ReallocationRound::CrossDistrict);
            if !(params.rounds.is_empty() || all_rounds) {
                return Err(RankingError::Invalid(
                    "学位分配总是依次进行首批、区内调剂和跨区调剂；rounds 须为空或包含全部轮次"
                        .to_owned(),
                ));
            }
            let (plan, n) = seat_plan_from_proto(plan);
            names = n;
            Decision::Seats(plan)
        }
        Ok(pb::RunMode::Threshold) => Decision::Threshold {
            pass_mark: params.pass_mark,
        },
        Ok(pb::RunMode::Quota) => {
            if params.quota == 0 {
                return Err(RankingError::Invalid(
                    "名额模式需要 quota（名额数）大于 0".to_owned(),
                ));
            }
            Decision::Quota {
                quota: params.quota,
            }
        }
        _ => return Err(RankingError::Invalid("parameters.mode 必须指定".to_owned())),
    };
    Ok(StoredParams {
        mode: params.mode,
        pass_mark: params.pass_mark,
        rounds: params.rounds.clone(),
        snapshot_at: params
            .snapshot_at
            .and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))),
        run: RunParams { spec, decision },
        school_names: names,
    })
}

fn params_to_proto(p: &StoredParams) -> pb::RunParameters {
    let seat_plan = match &p.run.decision {
        Decision::Seats(plan) => Some(pb::SeatPlan {
            schools: plan
                .schools
                .iter()
                .map(|s| pb::SchoolSeats {
                    school_code: s.school_id.clone(),
                    district: s.district.clone(),
                    service_areas: s.service_areas.clone(),
                    seats: s.seats,
                    name_zh: p
                        .school_names
                        .get(&s.school_id)
                        .cloned()
                        .unwrap_or_default(),
                })
                .collect(),
            district_min_totals: plan.district_min_totals.clone().into_iter().collect(),
        }),
        Decision::Threshold { .. } | Decision::Quota { .. } => None,
    };
    pb::RunParameters {
        mode: p.mode,
        pass_mark: p.pass_mark,
        quota: match &p.run.decision {
            Decision::Quota { quota } => *quota,
            _ => 0,
        },
        rounds: p.rounds.clone(),
        snapshot_at: p.snapshot_at.map(timestamp),
        seat_plan,
    }
}

/// Returns the audit actor of a caller.
pub fn actor(caller: &Caller) -> common::AuditActor {
    common::AuditActor {
        subject: caller.subject.clone(),
        role: caller.roles.first().map_or(0, |r| role_to_proto(*r) as i32),
        tenant: caller
            .home_tenant
            .clone()
            .unwrap_or_else(|| caller.tenant.clone()),
        display_name_masked: String::new(),
        scope_code: caller
            .street
            .clone()
            .or_else(|| caller.department.clone())
            .unwrap_or_default(),
    }
}

fn role_to_proto(role: jifen_kit::auth::Role) -> common::Role {
    use jifen_kit::auth::Role as R;
    match role {
        R::Applicant => common::Role::Applicant,
        R::StreetReviewer => common::Role::StreetReviewer,
        R::DepartmentVerifier => common::Role::DepartmentVerifier,
        R::DistrictReviewer => common::Role::DistrictReviewer,
        R::CityReviewer => common::Role::CityReviewer,
        R::DistrictAdmin => common::Role::DistrictAdmin,
        R::CityAdmin => common::Role::CityAdmin,
        R::System => common::Role::System,
    }
}

/// Returns the wire form of an outcome.
pub fn outcome_to_proto(outcome: Outcome) -> common::ListOutcome {
    match outcome {
        Outcome::Admitted => common::ListOutcome::Admitted,
        Outcome::NotAdmitted => common::ListOutcome::NotAdmitted,
        Outcome::Ineligible => common::ListOutcome::Ineligible,
    }
}

fn round_to_proto(round: Option<AllocationRound>) -> pb::ReallocationRound {
    match round {
        Some(AllocationRound::FirstBatch) => pb::ReallocationRound::First,
        Some(AllocationRound::WithinDistrict) => pb::ReallocationRound::WithinDistrict,
        Some(AllocationRound::CrossDistrict) => pb::ReallocationRound::CrossDistrict,
        None => pb::ReallocationRound::Unspecified,
    }
}

/// Returns `sha256:<hex>`.
pub fn prefixed(hex: &str) -> String {
    format!("sha256:{hex}")
}

/// Returns the official cut-offs of a run: the tenant board, then one per school.
pub fn scope_cutoffs(result: &RunResult, params: &StoredParams) -> Vec<pb::ScopeCutoff> {
    let admitted = result.admitted_count() as u64;
    let tenant_seats = match &params.run.decision {
        Decision::Seats(plan) => plan.schools.iter().map(|s| u64::from(s.seats)).sum(),
        Decision::Quota { quota } => *quota,
        Decision::Threshold { .. } => 0,
    };
    let mut out = vec![pb::ScopeCutoff {
        scope: Some(scope_to_proto(&BoardScope::Tenant)),
        cutoff: match &params.run.decision {
            Decision::Threshold { pass_mark } => *pass_mark,
            Decision::Seats(_) | Decision::Quota { .. } => result.cutoff_total.unwrap_or(0),
        },
        seats: tenant_seats,
        admitted,
        entries: result.rows.len() as u64,
    }];
    for s in &result.schools {
        out.push(pb::ScopeCutoff {
            scope: Some(scope_to_proto(&BoardScope::School(s.school_id.clone()))),
            cutoff: s.lowest_admitted_total.unwrap_or(0),
            seats: u64::from(s.seats),
            admitted: u64::from(s.filled),
            entries: 0,
        });
    }
    out
}

/// Returns the wire form of a stored run.
pub fn run_to_proto(row: &RankingRunRow) -> Result<pb::RankingRun, RankingError> {
    let params: StoredParams = serde_json::from_value(row.params.clone())?;
    let result: RunResult = serde_json::from_value(row.result.clone())?;
    let count = |f: &dyn Fn(&crate::domain::RunRow) -> bool| {
        result.rows.iter().filter(|r| f(r)).count() as u64
    };
    let started_by: common::AuditActor = actor_from_json(&row.created_by);
    Ok(pb::RankingRun {
        run_id: row.id.clone(),
        cycle_id: row.cycle_id.clone(),
        benefit: row.benefit.clone(),
        parameters: Some(params_to_proto(&params)),
        status: match row.status.as_str() {
            "published" => pb::RunStatus::Published,
            _ => pb::RunStatus::Completed,
        } as i32,
        inputs_hash: prefixed(&row.inputs_hash),
        results_hash: prefixed(&row.results_hash),
        entries: row.entry_count as u64,
        admitted: count(&|r| r.outcome == Outcome::Admitted),
        reallocated: count(&|r| {
            r.outcome == Outcome::Admitted
                && matches!(
                    r.round,
                    Some(AllocationRound::WithinDistrict | AllocationRound::CrossDistrict)
                )
        }),
        not_admitted: count(&|r| r.outcome == Outcome::NotAdmitted),
        ineligible: count(&|r| r.outcome == Outcome::Ineligible),
        cutoffs: scope_cutoffs(&result, &params),
        error_zh: String::new(),
        started_by: Some(started_by),
        started_at: Some(timestamp(row.created_at)),
        finished_at: Some(timestamp(row.finished_at)),
        publicity_list_id: row.publicity_list_id.clone().unwrap_or_default(),
    })
}

/// The JSON form of an audit actor, as stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoredActor {
    /// Account id.
    pub subject: String,
    /// `Role` as its proto number.
    pub role: i32,
    /// Tenant of the account.
    pub tenant: String,
    /// Street or department code.
    pub scope_code: String,
}

/// Returns the stored JSON of an actor.
pub fn actor_to_json(actor: &common::AuditActor) -> serde_json::Value {
    serde_json::json!({
        "subject": actor.subject,
        "role": actor.role,
        "tenant": actor.tenant,
        "scope_code": actor.scope_code,
    })
}

/// Returns the actor of stored JSON.
pub fn actor_from_json(value: &serde_json::Value) -> common::AuditActor {
    let stored: StoredActor = serde_json::from_value(value.clone()).unwrap_or_default();
    common::AuditActor {
        subject: stored.subject,
        role: stored.role,
        tenant: stored.tenant,
        display_name_masked: String::new(),
        scope_code: stored.scope_code,
    }
}

impl Core {
    /// StartRankingRun.
    pub async fn start_ranking_run(
        &self,
        caller: &Caller,
        req: pb::StartRankingRunRequest,
    ) -> Result<pb::RankingRun, RankingError> {
        access::may_run(caller)?;
        let tenant = caller.tenant.as_str();
        let cycle_id = req.cycle_id.trim();
        if cycle_id.is_empty() {
            return Err(RankingError::Invalid("cycle_id 不能为空".to_owned()));
        }
        let key = req.idempotency_key.trim();
        if !key.is_empty()
            && let Some(run) = ranking_run::find_by_key(&self.db, tenant, key).await?
        {
            return run_to_proto(&run);
        }
        let params = req.parameters.unwrap_or_default();
        let mut rows = board_entry::live_in_cycle(&self.db, tenant, cycle_id).await?;
        let requested = params_from_proto(RankSpec::new(Vec::new())?, &params)?;
        if let Some(at) = requested.snapshot_at {
            rows.retain(|r| r.confirmed_at <= at);
        }
        let spec = match rows.first() {
            Some(row) => entry::spec_of(row)?,
            None => RankSpec::new(Vec::new())?,
        };
        let stored = StoredParams {
            run: RunParams {
                spec,
                decision: requested.run.decision.clone(),
            },
            ..requested
        };
        let snapshot: Vec<RunApplication> = rows
            .iter()
            .map(entry::run_application)
            .collect::<Result<_, _>>()?;
        let result = crate::domain::run_ranking(&snapshot, &stored.run)?;
        let now = Utc::now();
        let row = RankingRunRow {
            id: uuid::Uuid::now_v7().to_string(),
            tenant: tenant.to_owned(),
            cycle_id: cycle_id.to_owned(),
            benefit: rows.first().map(|r| r.benefit.clone()).unwrap_or_default(),
            idempotency_key: (!key.is_empty()).then(|| key.to_owned()),
            params: serde_json::to_value(&stored)?,
            inputs: serde_json::to_value(&snapshot)?,
            inputs_hash: result.inputs_hash.clone(),
            results_hash: result.results_hash.clone(),
            result: serde_json::to_value(&result)?,
            cutoff: result.cutoff_total,
            entry_count: snapshot.len() as i64,
            status: "completed".to_owned(),
            created_by: actor_to_json(&actor(caller)),
            created_at: now,
            finished_at: Utc::now(),
            publicity_list_id: None,
        };
        if let Err(err) = ranking_run::insert(&self.db, row.clone()).await {
            // Lost a race on the same idempotency key: answer the run that won.
            if !key.is_empty()
                && let Some(run) = ranking_run::find_by_key(&self.db, tenant, key).await?
            {
                return run_to_proto(&run);
            }
            return Err(err.into());
        }
        // This process answers GetRank with the new line at once (see `crate::hot`).
        self.live.lines.remove(tenant, cycle_id);
        tracing::info!(tenant, cycle_id, run_id = %row.id, entries = row.entry_count, inputs_hash = %row.inputs_hash, results_hash = %row.results_hash, "ranking run completed");
        run_to_proto(&row)
    }

    /// GetRankingRun.
    pub async fn get_ranking_run(
        &self,
        caller: &Caller,
        req: pb::GetRankingRunRequest,
    ) -> Result<pb::RankingRun, RankingError> {
        access::may_view_runs(caller)?;
        let run = ranking_run::find(&self.db, &caller.tenant, req.run_id.trim())
            .await?
            .ok_or(RankingError::NotFound("排名批次"))?;
        run_to_proto(&run)
    }

    /// ListRankingRuns.
    pub async fn list_ranking_runs(
        &self,
        caller: &Caller,
        req: pb::ListRankingRunsRequest,
    ) -> Result<pb::ListRankingRunsResponse, RankingError> {
        access::may_view_runs(caller)?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let (rows, more) =
            ranking_run::list(&self.db, &caller.tenant, req.cycle_id.trim(), offset, limit).await?;
        Ok(pb::ListRankingRunsResponse {
            runs: rows.iter().map(run_to_proto).collect::<Result<_, _>>()?,
            next_page_token: next_token(offset, limit, more),
        })
    }

    /// ListRunResults.
    pub async fn list_run_results(
        &self,
        caller: &Caller,
        req: pb::ListRunResultsRequest,
    ) -> Result<pb::ListRunResultsResponse, RankingError> {
        access::may_view_results(caller)?;
        let (offset, limit) = page(req.page_size, &req.page_token)?;
        let run = ranking_run::find(&self.db, &caller.tenant, req.run_id.trim())
            .await?
            .ok_or(RankingError::NotFound("排名批次"))?;
        let params: StoredParams = serde_json::from_value(run.params)?;
        let result: RunResult = serde_json::from_value(run.result)?;
        let inputs: Vec<RunApplication> = serde_json::from_value(run.inputs)?;
        let by_id: HashMap<&str, &RunApplication> = inputs
            .iter()
            .map(|a| (a.application_id.as_str(), a))
            .collect();
        let outcome = req.outcome;
        let school = req.school_code.trim();
        let mut matching = result.rows.iter().filter(|r| {
            (outcome == 0 || outcome_to_proto(r.outcome) as i32 == outcome)
                && (school.is_empty() || r.school_id.as_deref() == Some(school))
        });
        let page_rows: Vec<_> = matching
            .by_ref()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        let more = matching.next().is_some();
        let results = page_rows
            .into_iter()
            .map(|r| {
                let app = by_id.get(r.application_id.as_str());
                pb::RunResult {
                    rank: r.rank.unwrap_or(0),
                    application_id: r.application_id.clone(),
                    application_number: r.application_number.clone(),
                    applicant: Some(common::MaskedPerson {
                        name_masked: r.masked_name.clone(),
                        id_number_masked: r.masked_id_number.clone(),
                        mobile_masked: String::new(),
                    }),
                    total: r.total,
                    tie_keys: app
                        .map(|a| entry::ties_to_proto(&params.run.spec, &a.tie_values))
                        .unwrap_or_default(),
                    outcome: outcome_to_proto(r.outcome) as i32,
                    allocated_school: r.school_id.clone().unwrap_or_default(),
                    round: round_to_proto(r.round) as i32,
                    failed_gates: if r.outcome == Outcome::Ineligible {
                        vec!["gates".to_owned()]
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        Ok(pb::ListRunResultsResponse {
            results,
            next_page_token: next_token(offset, limit, more),
        })
    }
}
