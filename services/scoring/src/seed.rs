//! `jifen seed` for scoring: the shipped rule sets as published versions (city templates owned
//! by `suzhou`, the changshu and kunshan overlays by those tenants) and every tenant's benefit
//! assignments. Idempotent: rows already present are left alone.

use std::fmt;

use chrono::Utc;
use jifen_kit::auth::CITY_TENANT;
use jifen_rules::defaults::{DEFAULT_DOCUMENTS, TENANTS};
use jifen_rules::{RuleSetDocument, default_library, default_rule_set_for};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, EntityTrait, IntoActiveModel};

use crate::error::ScoringError;
use crate::rule_book::content_hash;
use crate::store::benefit::{self, BenefitRow, benefit_row};
use crate::store::change::{self, Change};
use crate::store::rule_set::{self, RuleSetRow, rule_set_row};

/// Who the seed acts as in the change log.
const SEED_ACTOR: &str = "jifen-seed";

/// What a seed run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeedReport {
    /// Rule-set versions inserted.
    pub rule_sets_added: usize,
    /// Rule-set versions already present.
    pub rule_sets_present: usize,
    /// Benefit assignments inserted.
    pub benefits_added: usize,
    /// Benefit assignments already present.
    pub benefits_present: usize,
}

impl SeedReport {
    /// Returns whether the run changed nothing.
    pub fn unchanged(&self) -> bool {
        self.rule_sets_added == 0 && self.benefits_added == 0
    }
}

impl fmt::Display for SeedReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unchanged() {
            write!(
                f,
                "scoring: unchanged, {} default rule sets and {} benefit assignments already present",
                self.rule_sets_present, self.benefits_present
            )
        } else {
            write!(
                f,
                "scoring: added {} rule sets and {} benefit assignments ({} and {} already present)",
                self.rule_sets_added,
                self.benefits_added,
                self.rule_sets_present,
                self.benefits_present
            )
        }
    }
}

/// Returns the Chinese name, decision mode and family flag of a shipped benefit.
fn benefit_meta(code: &str) -> (&'static str, &'static str, bool) {
    match code {
        "school" => ("积分入学", "seats", true),
        "settlement" => ("积分落户", "threshold", false),
        "medical" => ("积分入医", "threshold", true),
        "talent" => ("积分入苏", "threshold", false),
        _ => ("", "threshold", false),
    }
}

/// Inserts the default rule sets and benefit assignments that are missing; safe to run
/// concurrently and repeatedly (a row another run inserted first is a conflict that does
/// nothing, on any unique key).
pub async fn seed(db: &DatabaseConnection) -> Result<SeedReport, ScoringError> {
    let mut report = SeedReport::default();
    let now = Utc::now();
    for (id, json) in DEFAULT_DOCUMENTS {
        let doc = RuleSetDocument::from_json(json)?;
        let owner = doc.tenant.clone().unwrap_or_else(|| CITY_TENANT.to_owned());
        let version = doc.version;
        let row = RuleSetRow {
            id: rule_set::row_key(&owner, id, version),
            tenant: owner.clone(),
            rule_set_id: (*id).to_owned(),
            version: i32::try_from(version).unwrap_or(i32::MAX),
            status: "published".to_owned(),
            extends_id: doc.extends.clone().unwrap_or_default(),
            benefits: doc.benefits.join(","),
            title_zh: doc.name_zh.clone(),
            content_hash: content_hash(&doc),
            document: doc.to_json_pretty(),
            edit_version: 1,
            frozen_for_cycles: "[]".to_owned(),
            created_by: SEED_ACTOR.to_owned(),
            created_at: now,
            updated_by: SEED_ACTOR.to_owned(),
            updated_at: now,
            published_by: Some(SEED_ACTOR.to_owned()),
            published_at: Some(now),
            frozen_at: None,
        };
        let inserted = rule_set_row::Entity::insert(row.clone().into_active_model())
            .on_conflict(OnConflict::new().do_nothing().to_owned())
            .exec_without_returning(db)
            .await?;
        if inserted == 0 {
            report.rule_sets_present += 1;
            continue;
        }
        report.rule_sets_added += 1;
        change::record(
            db,
            Change {
                tenant: &row.tenant,
                rule_set_id: id,
                version,
                action: "published",
                actor_subject: SEED_ACTOR,
                actor_tenant: CITY_TENANT,
                content_hash: &row.content_hash,
                cycle_id: "",
                at: now,
            },
        )
        .await?;
    }
    for tenant in TENANTS {
        for code in ["school", "settlement", "medical", "talent"] {
            let Some(rule_set_id) = default_rule_set_for(tenant, code) else {
                continue;
            };
            let (name_zh, mode, family) = benefit_meta(code);
            let family = default_library()
                .effective(rule_set_id)
                .map_or(family, |d| d.family.is_some());
            let row = BenefitRow {
                id: benefit::row_key(tenant, code),
                tenant: (*tenant).to_owned(),
                code: code.to_owned(),
                name_zh: name_zh.to_owned(),
                decision_mode: mode.to_owned(),
                family_based: family,
                description_zh: String::new(),
                rule_set_id: rule_set_id.to_owned(),
                updated_at: now,
            };
            let inserted = benefit_row::Entity::insert(row.into_active_model())
                .on_conflict(OnConflict::new().do_nothing().to_owned())
                .exec_without_returning(db)
                .await?;
            if inserted == 0 {
                report.benefits_present += 1;
            } else {
                report.benefits_added += 1;
            }
        }
    }
    Ok(report)
}
