//! The rule book: stored rule-set versions resolved into effective documents and compiled rule
//! sets. Released (published or frozen) versions never change, so their compiled form is cached
//! per (tenant, id, version, benefit).

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::NaiveDate;
use jifen_kit::auth::CITY_TENANT;
use jifen_rules::{CompiledRuleSet, RuleSetDocument, RulesError, Violation};
use sea_orm::DatabaseConnection;

use crate::domain::lifecycle::Status;
use crate::error::ScoringError;
use crate::store::{benefit, rule_set, rule_set::RuleSetRow};

/// How deep an `extends` chain may go.
const MAX_CHAIN: usize = 8;

/// A rule set ready to score: compiled for one benefit, with its effective document.
#[derive(Debug)]
pub struct Compiled {
    /// The compiled rule set.
    pub rules: CompiledRuleSet,
    /// The materialised document.
    pub effective: RuleSetDocument,
    /// `sha256:<hex>` of the materialised document.
    pub effective_hash: String,
    /// The chain `(tenant, id, version)`, root template first, this version last.
    pub chain: Vec<(String, String, u32)>,
}

type CacheKey = (String, String, u32, String);

/// Stored rule sets plus the compiled cache.
#[derive(Debug, Clone)]
pub struct RuleBook {
    db: DatabaseConnection,
    cache: Arc<RwLock<HashMap<CacheKey, Arc<Compiled>>>>,
}

/// Returns `sha256:<hex>` of the canonical JSON of `doc`.
pub(crate) fn content_hash(doc: &RuleSetDocument) -> String {
    let value = serde_json::to_value(doc).unwrap_or_default();
    format!("sha256:{}", jifen_rules::facts_hash(&value))
}

/// Parses a stored or submitted document (shape only).
pub(crate) fn parse_document(json: &str) -> Result<RuleSetDocument, ScoringError> {
    Ok(RuleSetDocument::from_json(json)?)
}

/// Parses a `YYYY-MM-DD` date; `field` names it in the error.
pub(crate) fn parse_date(field: &'static str, text: &str) -> Result<NaiveDate, ScoringError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ScoringError::invalid(field, format!("日期“{text}”无效，应为 YYYY-MM-DD 格式"))
    })
}

/// Parses a facts JSON text.
pub(crate) fn parse_facts_json(text: &str) -> Result<serde_json::Value, ScoringError> {
    serde_json::from_str(text)
        .map_err(|err| ScoringError::invalid("facts", format!("不是有效的 JSON：{err}")))
}

/// Returns the row's status, treating an unknown word as a draft (never as released).
pub(crate) fn status_of(row: &RuleSetRow) -> Status {
    Status::parse(&row.status).unwrap_or(Status::Draft)
}

fn version_of(row: &RuleSetRow) -> u32 {
    u32::try_from(row.version).unwrap_or_default()
}

impl RuleBook {
    /// Returns a rule book over the scoring database.
    pub fn new(db: DatabaseConnection) -> Self {
        Self {
            db,
            cache: Arc::default(),
        }
    }

    /// Returns the database.
    pub fn db(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Returns the newest released version of `id` that `tenant` may build on: its own, else the
    /// city template.
    pub async fn released(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<RuleSetRow>, ScoringError> {
        if let Some(row) = rule_set::latest(&self.db, tenant, id, true).await? {
            return Ok(Some(row));
        }
        Ok(rule_set::latest(&self.db, CITY_TENANT, id, true).await?)
    }

    /// Materialises `doc` (owned by `owner`) against released parents; returns the effective
    /// document and the chain.
    pub async fn materialise(
        &self,
        owner: &str,
        doc: &RuleSetDocument,
    ) -> Result<(RuleSetDocument, Vec<(String, String, u32)>), ScoringError> {
        let mut parents: HashMap<String, RuleSetDocument> = HashMap::new();
        let mut chain = vec![(owner.to_owned(), doc.id.clone(), doc.version)];
        let mut next = doc.extends.clone();
        let mut tenant = owner.to_owned();
        while let Some(parent_id) = next {
            if parents.contains_key(&parent_id) || chain.len() > MAX_CHAIN {
                break; // materialise reports the cycle
            }
            let Some(row) = self.released(&tenant, &parent_id).await? else {
                return Err(RulesError::UnknownRuleSet { id: parent_id }.into());
            };
            let parent = parse_document(&row.document)?;
            chain.push((
                row.tenant.clone(),
                row.rule_set_id.clone(),
                version_of(&row),
            ));
            tenant = row.tenant.clone();
            next = parent.extends.clone();
            parents.insert(parent_id, parent);
        }
        jifen_rules::validate(doc)?;
        let effective = jifen_rules::materialise(doc, &|id| parents.get(id).cloned())?;
        jifen_rules::validate(&effective)?;
        chain.reverse();
        Ok((effective, chain))
    }

    /// Returns every problem that keeps `doc` (owned by `owner`) from being published: its own
    /// violations, overlay problems, and compile problems for each benefit it declares.
    pub async fn problems(
        &self,
        owner: &str,
        doc: &RuleSetDocument,
    ) -> Result<Vec<Violation>, ScoringError> {
        let own = jifen_rules::validate::violations(doc);
        if !own.is_empty() {
            return Ok(own);
        }
        let effective = match self.materialise(owner, doc).await {
            Ok((effective, _)) => effective,
            Err(ScoringError::InvalidRuleSet(v)) => return Ok(v),
            Err(err) => return Err(err),
        };
        let mut out = Vec::new();
        if effective.benefits.is_empty() {
            out.push(Violation::new(
                "/benefits",
                "no_benefit",
                "规则集须至少适用于一种积分用途",
            ));
        }
        for benefit in &effective.benefits {
            if let Err(err) = CompiledRuleSet::compile_for(&effective, benefit) {
                for v in err.violations() {
                    if !out.contains(v) {
                        out.push(v.clone());
                    }
                }
            }
        }
        Ok(out)
    }

    /// Compiles a stored version for `benefit` (empty = its first benefit); released versions
    /// come from the cache.
    pub async fn compiled(
        &self,
        row: &RuleSetRow,
        benefit: &str,
    ) -> Result<Arc<Compiled>, ScoringError> {
        let released = status_of(row).is_released();
        let key = |benefit: &str| {
            (
                row.tenant.clone(),
                row.rule_set_id.clone(),
                version_of(row),
                benefit.to_owned(),
            )
        };
        // A named benefit is looked up before the document is parsed: parsing is most of the
        // cost of a cache hit otherwise.
        if released
            && !benefit.is_empty()
            && let Some(hit) = self.read_cache(&key(benefit))
        {
            return Ok(hit);
        }
        let doc = parse_document(&row.document)?;
        let named = !benefit.is_empty();
        let benefit = if named {
            benefit.to_owned()
        } else {
            doc.benefits.first().cloned().unwrap_or_default()
        };
        let key = key(&benefit);
        // An unnamed benefit is known only now; a named one already missed above.
        if released
            && !named
            && let Some(hit) = self.read_cache(&key)
        {
            return Ok(hit);
        }
        let compiled = Arc::new(self.compile_document(&row.tenant, &doc, &benefit).await?);
        if released {
            let mut cache = match self.cache.write() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            cache.insert(key, compiled.clone());
        }
        Ok(compiled)
    }

    fn read_cache(&self, key: &CacheKey) -> Option<Arc<Compiled>> {
        let cache = match self.cache.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        cache.get(key).cloned()
    }

    /// Materialises and compiles an (unsaved or stored) document of `owner` for `benefit`.
    pub async fn compile_document(
        &self,
        owner: &str,
        doc: &RuleSetDocument,
        benefit: &str,
    ) -> Result<Compiled, ScoringError> {
        let (effective, chain) = self.materialise(owner, doc).await?;
        let benefit = if benefit.is_empty() {
            effective.benefits.first().cloned().unwrap_or_default()
        } else {
            benefit.to_owned()
        };
        if !effective.benefits.contains(&benefit) {
            return Err(ScoringError::UnknownBenefit(benefit));
        }
        let rules = CompiledRuleSet::compile_for(&effective, &benefit)?;
        Ok(Compiled {
            rules,
            effective_hash: content_hash(&effective),
            effective,
            chain,
        })
    }

    /// Returns the rule set `tenant` publishes for `benefit`: the given released version of
    /// `rule_set` (`version` 0 = newest), or the tenant's assigned rule set.
    pub async fn published_for(
        &self,
        tenant: &str,
        benefit_code: &str,
        rule_set: Option<(&str, u32)>,
    ) -> Result<Arc<Compiled>, ScoringError> {
        if !benefit::tenant_known(&self.db, tenant).await? {
            return Err(ScoringError::UnknownTenant(tenant.to_owned()));
        }
        let assigned = benefit::get(&self.db, tenant, benefit_code)
            .await?
            .ok_or_else(|| ScoringError::UnknownBenefit(benefit_code.to_owned()))?;
        let row = match rule_set {
            Some((id, version)) if version > 0 => {
                let own = rule_set::find(&self.db, tenant, id, version).await?;
                let row = match own {
                    Some(row) => Some(row),
                    None => rule_set::find(&self.db, CITY_TENANT, id, version).await?,
                };
                row.filter(|r| status_of(r).is_released())
            }
            Some((id, _)) => self.released(tenant, id).await?,
            None => self.released(tenant, &assigned.rule_set_id).await?,
        };
        let row = row.ok_or_else(|| ScoringError::NotFound("已发布的规则集".to_owned()))?;
        self.compiled(&row, benefit_code).await
    }
}
