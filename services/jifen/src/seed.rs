//! `jifen seed`: the Suzhou tenants, threshold areas and city admin (identity) and the default
//! rule sets and benefit assignments (scoring). Idempotent; `jifen run` on the embedded default
//! runs it at start so a newcomer's first run is ready to use.

use std::path::Path;

use jifen_kit::Config;

use crate::app::{StartError, open_database};
use crate::target::Target;

/// What one seed run reported, one line per component.
#[derive(Debug, Clone, Default)]
pub struct SeedOutcome {
    /// Human-readable lines.
    pub lines: Vec<String>,
    /// Whether nothing changed.
    pub unchanged: bool,
}

/// Seeds identity and scoring in the databases `config` points at.
pub async fn seed(config: &Config, data_dir: &Path) -> Result<SeedOutcome, StartError> {
    let fail = |e: &dyn std::fmt::Display| StartError::Dependency(format!("seed: {e}"));
    let identity = open_database(Target::Identity, config, data_dir).await?;
    let identity_report = jifen_identity::seed(&identity, config, data_dir)
        .await
        .map_err(|e| fail(&e))?;
    let _ = identity.close().await;
    let scoring = open_database(Target::Scoring, config, data_dir).await?;
    let scoring_report = jifen_scoring::seed(&scoring).await.map_err(|e| fail(&e))?;
    let _ = scoring.close().await;
    Ok(SeedOutcome {
        unchanged: identity_report.unchanged() && scoring_report.unchanged(),
        lines: vec![identity_report.to_string(), scoring_report.to_string()],
    })
}
