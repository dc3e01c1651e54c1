//! The tonic service of scoring: thin, maps types and errors. The work is in `lifecycle`,
//! `evaluation` and the rule book.

use std::sync::Arc;

use chrono::Utc;
use jifen_kit::auth::{Caller, Role, caller};
use jifen_proto::scoring::v1 as pb;
use jifen_proto::scoring::v1::scoring_service_server::ScoringService;
use sea_orm::DatabaseConnection;
use tonic::{Request, Response, Status};

use crate::convert;
use crate::domain::access;
use crate::domain::rate_limit::RateLimiter;
use crate::error::ScoringError;
use crate::evaluation;
use crate::lifecycle;
use crate::rule_book::RuleBook;
use crate::store::benefit::{self, BenefitRow};

/// Burst of public simulator calls per client address.
const SIMULATE_BURST: u32 = 30;
/// Sustained public simulator calls per second per client address.
const SIMULATE_PER_SECOND: f64 = 5.0;

/// The `jifen.scoring.v1.ScoringService` implementation.
#[derive(Debug, Clone)]
pub struct Scoring {
    book: RuleBook,
    limiter: Arc<RateLimiter>,
}

impl Scoring {
    /// Returns the service over the component's database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self::with_simulate_limit(db, SIMULATE_BURST, SIMULATE_PER_SECOND)
    }

    /// Returns the service with its own simulator rate limit (burst, refill per second).
    pub fn with_simulate_limit(db: DatabaseConnection, burst: u32, per_second: f64) -> Self {
        Self {
            book: RuleBook::new(db),
            limiter: Arc::new(RateLimiter::new(burst, per_second)),
        }
    }
}

type Reply<T> = Result<Response<T>, Status>;

fn who<T>(req: &Request<T>) -> Result<Caller, Status> {
    caller(req).cloned()
}

fn ok<T>(result: Result<T, ScoringError>) -> Reply<T> {
    result.map(Response::new).map_err(Status::from)
}

fn mode_word(mode: pb::DecisionMode) -> &'static str {
    match mode {
        pb::DecisionMode::Seats => "seats",
        pb::DecisionMode::Quota => "quota",
        _ => "threshold",
    }
}

fn mode_of(word: &str) -> pb::DecisionMode {
    match word {
        "seats" => pb::DecisionMode::Seats,
        "quota" => pb::DecisionMode::Quota,
        "threshold" => pb::DecisionMode::Threshold,
        _ => pb::DecisionMode::Unspecified,
    }
}

fn benefit_proto(row: &BenefitRow) -> pb::Benefit {
    pb::Benefit {
        code: row.code.clone(),
        name_zh: row.name_zh.clone(),
        decision_mode: mode_of(&row.decision_mode) as i32,
        family_based: row.family_based,
        owner_tenant: row.tenant.clone(),
        description_zh: row.description_zh.clone(),
    }
}

#[tonic::async_trait]
impl ScoringService for Scoring {
    async fn list_benefits(
        &self,
        req: Request<pb::ListBenefitsRequest>,
    ) -> Reply<pb::ListBenefitsResponse> {
        let tenant = req.into_inner().tenant;
        let rows = benefit::list(self.book.db(), &tenant)
            .await
            .map_err(ScoringError::from)?;
        if rows.is_empty() {
            return Err(ScoringError::UnknownTenant(tenant).into());
        }
        Ok(Response::new(pb::ListBenefitsResponse {
            benefits: rows.iter().map(benefit_proto).collect(),
        }))
    }

    async fn upsert_benefit(&self, req: Request<pb::UpsertBenefitRequest>) -> Reply<pb::Benefit> {
        let caller = who(&req)?;
        access::may_edit(&caller, &caller.tenant)?;
        let b = req
            .into_inner()
            .benefit
            .ok_or_else(|| Status::from(ScoringError::invalid("benefit", "请提供积分用途")))?;
        if b.code.trim().is_empty() {
            return Err(ScoringError::invalid("benefit.code", "请提供积分用途代码").into());
        }
        let existing = benefit::get(self.book.db(), &caller.tenant, &b.code)
            .await
            .map_err(ScoringError::from)?;
        let row = BenefitRow {
            id: benefit::row_key(&caller.tenant, &b.code),
            tenant: caller.tenant.clone(),
            code: b.code.clone(),
            name_zh: b.name_zh.clone(),
            decision_mode: mode_word(b.decision_mode()).to_owned(),
            family_based: b.family_based,
            description_zh: b.description_zh.clone(),
            rule_set_id: existing.map(|e| e.rule_set_id).unwrap_or_default(),
            updated_at: Utc::now(),
        };
        benefit::upsert(self.book.db(), row.clone())
            .await
            .map_err(ScoringError::from)?;
        Ok(Response::new(benefit_proto(&row)))
    }

    async fn create_draft(&self, req: Request<pb::CreateDraftRequest>) -> Reply<pb::RuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row = lifecycle::create_draft(
            &self.book,
            &caller,
            &r.rule_set_id,
            &r.document_json,
            r.copy_from_version,
        )
        .await?;
        Ok(Response::new(convert::rule_set(&row)))
    }

    async fn update_draft(&self, req: Request<pb::UpdateDraftRequest>) -> Reply<pb::RuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row = lifecycle::update_draft(
            &self.book,
            &caller,
            &r.rule_set_id,
            r.version,
            r.expected_version,
            &r.document_json,
        )
        .await?;
        Ok(Response::new(convert::rule_set(&row)))
    }

    async fn delete_draft(&self, req: Request<pb::DeleteDraftRequest>) -> Reply<()> {
        let caller = who(&req)?;
        let r = req.into_inner();
        ok(lifecycle::delete_draft(&self.book, &caller, &r.rule_set_id, r.version).await)
    }

    async fn validate_rule_set(
        &self,
        req: Request<pb::ValidateRuleSetRequest>,
    ) -> Reply<pb::ValidateRuleSetResponse> {
        let caller = who(&req)?;
        let (problems, row) = match req.into_inner().target {
            Some(pb::validate_rule_set_request::Target::Stored(r)) => {
                let (p, row) =
                    lifecycle::validate_stored(&self.book, &caller, &r.rule_set_id, r.version)
                        .await?;
                (p, Some(convert::rule_set(&row)))
            }
            Some(pb::validate_rule_set_request::Target::DocumentJson(json)) => (
                lifecycle::validate_unsaved(&self.book, &caller, &json).await?,
                None,
            ),
            None => return Err(ScoringError::invalid("target", "请指定要校验的规则集").into()),
        };
        Ok(Response::new(pb::ValidateRuleSetResponse {
            valid: problems.is_empty(),
            violations: convert::violations(&problems),
            warnings: Vec::new(),
            rule_set: row,
        }))
    }

    async fn publish_rule_set(
        &self,
        req: Request<pb::PublishRuleSetRequest>,
    ) -> Reply<pb::RuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row = lifecycle::publish(
            &self.book,
            &caller,
            &r.rule_set_id,
            r.version,
            r.expected_version,
        )
        .await?;
        Ok(Response::new(convert::rule_set(&row)))
    }

    async fn freeze_rule_set(&self, req: Request<pb::FreezeRuleSetRequest>) -> Reply<pb::RuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row =
            lifecycle::freeze(&self.book, &caller, &r.rule_set_id, r.version, &r.cycle_id).await?;
        Ok(Response::new(convert::rule_set(&row)))
    }

    async fn get_rule_set(&self, req: Request<pb::GetRuleSetRequest>) -> Reply<pb::RuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row = lifecycle::get(&self.book, &caller, &r.rule_set_id, r.version).await?;
        Ok(Response::new(convert::rule_set(&row)))
    }

    async fn list_rule_sets(
        &self,
        req: Request<pb::ListRuleSetsRequest>,
    ) -> Reply<pb::ListRuleSetsResponse> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let rows = lifecycle::list(&self.book, &caller, r.include_templates).await?;
        let status = r.status();
        let rule_sets = rows
            .iter()
            .map(convert::summary)
            .filter(|s| r.benefit.is_empty() || s.benefits.contains(&r.benefit))
            .filter(|s| r.rule_set_id.is_empty() || s.rule_set_id == r.rule_set_id)
            .filter(|s| status == pb::RuleSetStatus::Unspecified || s.status == status as i32)
            .collect();
        Ok(Response::new(pb::ListRuleSetsResponse {
            rule_sets,
            next_page_token: String::new(),
        }))
    }

    async fn get_effective_rule_set(
        &self,
        req: Request<pb::GetEffectiveRuleSetRequest>,
    ) -> Reply<pb::EffectiveRuleSet> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let row = lifecycle::get(&self.book, &caller, &r.rule_set_id, r.version).await?;
        let compiled = self.book.compiled(&row, "").await?;
        Ok(Response::new(convert::effective(&row, &compiled)))
    }

    async fn get_public_rule_set(
        &self,
        req: Request<pb::GetPublicRuleSetRequest>,
    ) -> Reply<pb::EffectiveRuleSet> {
        let r = req.into_inner();
        let compiled = self.book.published_for(&r.tenant, &r.benefit, None).await?;
        let Some((owner, id, version)) = compiled.chain.last().cloned() else {
            return Err(ScoringError::NotFound("已发布的规则集".to_owned()).into());
        };
        let row = crate::store::rule_set::find(self.book.db(), &owner, &id, version)
            .await
            .map_err(ScoringError::from)?
            .ok_or_else(|| Status::from(ScoringError::NotFound("已发布的规则集".to_owned())))?;
        Ok(Response::new(convert::effective(&row, &compiled)))
    }

    async fn get_rule_set_schema(
        &self,
        _req: Request<pb::GetRuleSetSchemaRequest>,
    ) -> Reply<pb::GetRuleSetSchemaResponse> {
        Ok(Response::new(pb::GetRuleSetSchemaResponse {
            schema_json: jifen_rules::rule_set_json_schema().to_string(),
            format_version: "1".to_owned(),
        }))
    }

    async fn list_rule_set_changes(
        &self,
        req: Request<pb::ListRuleSetChangesRequest>,
    ) -> Reply<pb::ListRuleSetChangesResponse> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let rows = lifecycle::changes(&self.book, &caller, &r.rule_set_id).await?;
        Ok(Response::new(pb::ListRuleSetChangesResponse {
            changes: rows.iter().map(convert::change).collect(),
            next_page_token: String::new(),
        }))
    }

    async fn evaluate(&self, req: Request<pb::EvaluateRequest>) -> Reply<pb::ScoreSheet> {
        let caller = who(&req)?;
        ok(evaluation::evaluate(&self.book, &caller, req.into_inner()).await)
    }

    async fn score_application(
        &self,
        req: Request<pb::ScoreApplicationRequest>,
    ) -> Reply<pb::ScoreSheet> {
        let caller = who(&req)?;
        ok(evaluation::score_application(&self.book, &caller, req.into_inner()).await)
    }

    async fn get_score_sheet(
        &self,
        req: Request<pb::GetScoreSheetRequest>,
    ) -> Reply<pb::ScoreSheet> {
        let caller = who(&req)?;
        ok(evaluation::get_sheet(&self.book, &caller, &req.into_inner().score_sheet_id).await)
    }

    async fn list_score_sheets(
        &self,
        req: Request<pb::ListScoreSheetsRequest>,
    ) -> Reply<pb::ListScoreSheetsResponse> {
        let caller = who(&req)?;
        let r = req.into_inner();
        let sheets =
            evaluation::list_sheets(&self.book, &caller, &r.application_id, r.kind()).await?;
        Ok(Response::new(pb::ListScoreSheetsResponse {
            score_sheets: sheets,
            next_page_token: String::new(),
        }))
    }

    async fn simulate(&self, req: Request<pb::SimulateRequest>) -> Reply<pb::SimulateResponse> {
        let client = req
            .remote_addr()
            .map_or_else(|| "unknown".to_owned(), |a| a.ip().to_string());
        if !self.limiter.try_acquire(&client) {
            return Err(ScoringError::RateLimited.into());
        }
        let r = req.into_inner();
        let reference = r
            .rule_set
            .as_ref()
            .filter(|x| !x.rule_set_id.is_empty())
            .map(|x| (x.rule_set_id.as_str(), x.version));
        let sim = evaluation::simulate(
            &self.book,
            &r.tenant,
            &r.benefit,
            &r.as_of_date,
            &r.facts_json,
            reference,
        )
        .await?;
        Ok(Response::new(evaluation::simulation_response(
            &r.tenant, &sim,
        )))
    }

    async fn what_if(&self, req: Request<pb::WhatIfRequest>) -> Reply<pb::WhatIfResponse> {
        let caller = who(&req)?;
        ok(evaluation::what_if(&self.book, &caller, req.into_inner()).await)
    }
}

// Role is re-exported for callers building test callers alongside this service.
#[allow(unused_imports)]
use Role as _;
