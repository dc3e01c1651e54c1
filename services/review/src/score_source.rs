//! Where review gets scores, gate outcomes and indicator routing from.
//!
//! Production uses [`GrpcScoreSource`]: the scoring component over gRPC (`FreezeRuleSet`,
//! `GetEffectiveRuleSet`, `Evaluate`, `ScoreApplication`), so every score sheet is computed and
//! stored where the rule sets live. [`RulesScoreSource`] evaluates locally with `jifen-rules` and
//! the shipped default rule sets; it exists for tests and benchmarks that run review without a
//! scoring process, and stores nothing.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use jifen_kit::component::Peers;
use jifen_proto::scoring::v1 as sc;

use jifen_kit::service_token::ServiceTokens;
use jifen_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use sha2::{Digest, Sha256};

/// How one claimed fact is routed to a department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorRoute {
    /// Indicator code.
    pub indicator: String,
    /// Facts key it reads.
    pub fact_key: String,
    /// Department that verifies it.
    pub department: String,
}

/// What went wrong asking for a score.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScoreError {
    /// The rpc is not implemented by the peer yet.
    #[error("scoring rpc not implemented")]
    Unimplemented,
    /// The peer could not be reached or failed.
    #[error("scoring unavailable: {0}")]
    Unavailable(String),
    /// The peer refused the input (bad facts, unknown rule set); the message is Chinese.
    #[error("{0}")]
    Refused(String),
}

fn from_status(status: tonic::Status) -> ScoreError {
    match status.code() {
        tonic::Code::Unimplemented => ScoreError::Unimplemented,
        tonic::Code::InvalidArgument | tonic::Code::NotFound | tonic::Code::FailedPrecondition => {
            ScoreError::Refused(status.message().to_owned())
        }
        _ => ScoreError::Unavailable(format!("{}: {}", status.code(), status.message())),
    }
}

/// A score provider; see the module docs for the two implementations.
#[tonic::async_trait]
pub trait ScoreSource: Send + Sync + fmt::Debug + 'static {
    /// Freezes `rule_set` for `cycle_id`; returns the frozen version.
    async fn freeze(
        &self,
        tenant: &str,
        rule_set: &sc::RuleSetRef,
        cycle_id: &str,
    ) -> Result<u32, ScoreError>;

    /// Returns which department verifies each indicator's fact.
    async fn routes(
        &self,
        tenant: &str,
        rule_set: &sc::RuleSetRef,
        benefit: &str,
    ) -> Result<Vec<IndicatorRoute>, ScoreError>;

    /// Evaluates facts without storing anything (gates at submission).
    async fn evaluate(
        &self,
        tenant: &str,
        req: sc::EvaluateRequest,
    ) -> Result<sc::ScoreSheet, ScoreError>;

    /// Evaluates an application's facts and stores the sheet (verified score at 终审).
    async fn score_application(
        &self,
        tenant: &str,
        req: sc::ScoreApplicationRequest,
    ) -> Result<sc::ScoreSheet, ScoreError>;
}

/// The scoring component over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcScoreSource {
    peers: Peers,
    tokens: Arc<ServiceTokens>,
}

impl GrpcScoreSource {
    /// Returns a source calling the scoring peer with review's service token.
    pub fn new(peers: Peers, tokens: Arc<ServiceTokens>) -> Self {
        Self { peers, tokens }
    }

    /// Wraps `msg` for a call in `tenant`, acting as the review component.
    fn request<T>(&self, tenant: &str, msg: T) -> tonic::Request<T> {
        let mut req = self.tokens.request(msg, tenant);
        req.set_timeout(std::time::Duration::from_secs(10));
        req
    }

    fn client(
        &self,
    ) -> Result<ScoringServiceClient<jifen_kit::grpc_client::PeerChannel>, ScoreError> {
        let channel = self
            .peers
            .channel("scoring")
            .map_err(|e| ScoreError::Unavailable(e.to_string()))?;
        Ok(ScoringServiceClient::new(channel))
    }
}

#[tonic::async_trait]
impl ScoreSource for GrpcScoreSource {
    async fn freeze(
        &self,
        tenant: &str,
        rule_set: &sc::RuleSetRef,
        cycle_id: &str,
    ) -> Result<u32, ScoreError> {
        let reply = self
            .client()?
            .freeze_rule_set(self.request(
                tenant,
                sc::FreezeRuleSetRequest {
                    rule_set_id: rule_set.rule_set_id.clone(),
                    version: rule_set.version,
                    cycle_id: cycle_id.to_owned(),
                },
            ))
            .await
            .map_err(from_status)?;
        Ok(reply.into_inner().version)
    }

    async fn routes(
        &self,
        tenant: &str,
        rule_set: &sc::RuleSetRef,
        benefit: &str,
    ) -> Result<Vec<IndicatorRoute>, ScoreError> {
        let reply = self
            .client()?
            .get_effective_rule_set(self.request(
                tenant,
                sc::GetEffectiveRuleSetRequest {
                    rule_set_id: rule_set.rule_set_id.clone(),
                    version: rule_set.version,
                },
            ))
            .await
            .map_err(from_status)?
            .into_inner();
        Ok(reply
            .indicators
            .into_iter()
            .filter(|i| {
                i.applies_to_benefits.is_empty()
                    || i.applies_to_benefits.iter().any(|b| b == benefit)
            })
            .flat_map(|i| {
                let department = i.verifier_department.clone();
                let indicator = i.code.clone();
                i.fact_keys.into_iter().map(move |fact_key| IndicatorRoute {
                    indicator: indicator.clone(),
                    fact_key,
                    department: department.clone(),
                })
            })
            .collect())
    }

    async fn evaluate(
        &self,
        tenant: &str,
        req: sc::EvaluateRequest,
    ) -> Result<sc::ScoreSheet, ScoreError> {
        Ok(self
            .client()?
            .evaluate(self.request(tenant, req))
            .await
            .map_err(from_status)?
            .into_inner())
    }

    async fn score_application(
        &self,
        tenant: &str,
        req: sc::ScoreApplicationRequest,
    ) -> Result<sc::ScoreSheet, ScoreError> {
        Ok(self
            .client()?
            .score_application(self.request(tenant, req))
            .await
            .map_err(from_status)?
            .into_inner())
    }
}

/// Local evaluation with `jifen-rules` over the shipped default rule sets (tests, benches).
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesScoreSource;

/// Compiled default rule sets by (rule set, benefit): the shipped library never changes while the
/// process runs, so each is compiled once, as scoring's rule book does for released versions.
type CompiledCache = RwLock<HashMap<(String, String), Arc<jifen_rules::CompiledRuleSet>>>;
static COMPILED: LazyLock<CompiledCache> = LazyLock::new(CompiledCache::default);

impl RulesScoreSource {
    fn compile(
        rule_set: &sc::RuleSetRef,
        benefit: &str,
    ) -> Result<Arc<jifen_rules::CompiledRuleSet>, ScoreError> {
        let library = jifen_rules::default_library();
        let doc = library.get(&rule_set.rule_set_id).ok_or_else(|| {
            ScoreError::Refused(format!("积分规则 {} 不存在", rule_set.rule_set_id))
        })?;
        if rule_set.version != 0 && rule_set.version != doc.version {
            return Err(ScoreError::Refused(format!(
                "积分规则 {} 没有第 {} 版",
                rule_set.rule_set_id, rule_set.version
            )));
        }
        let key = (rule_set.rule_set_id.clone(), benefit.to_owned());
        let hit = COMPILED
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        if let Some(hit) = hit {
            return Ok(hit);
        }
        let compiled = Arc::new(
            library
                .compile(&rule_set.rule_set_id, benefit)
                .map_err(|e| ScoreError::Refused(e.to_string()))?,
        );
        COMPILED
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, compiled.clone());
        Ok(compiled)
    }

    fn sheet(
        rule_set: &sc::RuleSetRef,
        benefit: &str,
        as_of: &str,
        facts_json: &str,
    ) -> Result<sc::ScoreSheet, ScoreError> {
        let compiled = Self::compile(rule_set, benefit)?;
        let facts: serde_json::Value = serde_json::from_str(facts_json)
            .map_err(|e| ScoreError::Refused(format!("事实数据不是合法的 JSON：{e}")))?;
        let parsed = compiled
            .parse_facts(&facts)
            .map_err(|e| ScoreError::Refused(e.to_string()))?;
        let as_of_date = crate::domain::calendar::parse_date(as_of)
            .ok_or_else(|| ScoreError::Refused(format!("计分基准日 {as_of} 格式错误")))?;
        let sheet = compiled.evaluate(&parsed, as_of_date);
        Ok(to_proto(&sheet, benefit, as_of, &facts))
    }
}

fn to_proto(
    sheet: &jifen_rules::ScoreSheet,
    benefit: &str,
    as_of: &str,
    facts: &serde_json::Value,
) -> sc::ScoreSheet {
    use jifen_rules::GateOutcome as G;
    let category = |c: jifen_rules::document::Category| match c.as_str() {
        "base" => sc::IndicatorCategory::Base,
        "additional" => sc::IndicatorCategory::Additional,
        _ => sc::IndicatorCategory::Deduction,
    } as i32;
    sc::ScoreSheet {
        kind: sc::ScoreSheetKind::Transient as i32,
        benefit: benefit.to_owned(),
        rule_set_id: sheet.rule_set.clone(),
        rule_set_version: sheet.rule_set_version,
        as_of_date: as_of.to_owned(),
        total: sheet.total,
        base: sheet.base,
        additional: sheet.additional,
        deduction: sheet.deduction,
        eligible: sheet.eligible,
        gates: sheet
            .gates
            .iter()
            .map(|g| sc::GateOutcome {
                code: g.code.clone(),
                outcome: match g.outcome {
                    G::Pass => sc::GateVerdict::Pass,
                    G::Fail => sc::GateVerdict::Fail,
                    G::ManualReview => sc::GateVerdict::ManualReview,
                } as i32,
                message: g.message.clone(),
                person_index: 0,
            })
            .collect(),
        lines: sheet
            .lines
            .iter()
            .map(|l| sc::ScoreLine {
                indicator: l.indicator.clone(),
                category: category(l.category),
                points: l.points,
                explanation: l.explanation.clone(),
                person_index: u32::from(l.parent.unwrap_or(0)),
                counted: true,
                uncapped_points: l.points,
                ..Default::default()
            })
            .collect(),
        facts_hash: jifen_rules::facts_hash(facts),
        facts_json: facts.to_string(),
        evaluated_at: Some(prost_types::Timestamp::from(std::time::SystemTime::now())),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ScoreSource for RulesScoreSource {
    async fn freeze(
        &self,
        _tenant: &str,
        rule_set: &sc::RuleSetRef,
        _cycle_id: &str,
    ) -> Result<u32, ScoreError> {
        let doc = jifen_rules::default_library()
            .get(&rule_set.rule_set_id)
            .ok_or_else(|| {
                ScoreError::Refused(format!("积分规则 {} 不存在", rule_set.rule_set_id))
            })?;
        Ok(doc.version)
    }

    async fn routes(
        &self,
        _tenant: &str,
        rule_set: &sc::RuleSetRef,
        benefit: &str,
    ) -> Result<Vec<IndicatorRoute>, ScoreError> {
        let compiled = Self::compile(rule_set, benefit)?;
        let department = |d: &jifen_rules::vocabulary::Department| {
            serde_json::to_value(d)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        };
        Ok(compiled
            .document()
            .indicators
            .iter()
            .map(|i| IndicatorRoute {
                indicator: i.code.clone(),
                fact_key: i.fact.clone(),
                department: department(&i.verifier_department),
            })
            .collect())
    }

    async fn evaluate(
        &self,
        _tenant: &str,
        req: sc::EvaluateRequest,
    ) -> Result<sc::ScoreSheet, ScoreError> {
        let Some(sc::evaluate_request::RuleSet::Ref(rule_set)) = req.rule_set else {
            return Err(ScoreError::Refused("缺少积分规则".to_owned()));
        };
        Self::sheet(&rule_set, &req.benefit, &req.as_of_date, &req.facts_json)
    }

    async fn score_application(
        &self,
        tenant: &str,
        req: sc::ScoreApplicationRequest,
    ) -> Result<sc::ScoreSheet, ScoreError> {
        let rule_set = req.rule_set.clone().unwrap_or_default();
        let mut sheet = Self::sheet(&rule_set, &req.benefit, &req.as_of_date, &req.facts_json)?;
        // A stable id: the same facts and rule set give the same sheet, like scoring's store.
        let mut h = Sha256::new();
        h.update(req.application_id.as_bytes());
        h.update([req.kind as u8]);
        h.update(sheet.facts_hash.as_bytes());
        h.update(sheet.rule_set_version.to_be_bytes());
        sheet.score_sheet_id = format!("ss-{}", &hex::encode(h.finalize())[..24]);
        sheet.kind = req.kind;
        sheet.application_id = req.application_id;
        sheet.cycle_id = req.cycle_id;
        sheet.tenant = tenant.to_owned();
        Ok(sheet)
    }
}
