//! The operations a season is made of, and their mix.

use std::str::FromStr;

use serde_json::json;

use super::resident::{Resident, Season, Step};

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// The home page.
    Page,
    /// The tenants list.
    Tenants,
    /// A district's rule table.
    Rules,
    /// The public score simulator with a random family.
    Simulate,
    /// A new resident registers (the registration wave).
    Register,
    /// A resident logs in again.
    Login,
    /// A resident asks for their own score and rank.
    ScoreRank,
    /// A resident submits their application.
    Submit,
    /// A resident uploads an evidence PDF (declare, presigned PUT, confirm).
    Upload,
    /// The baseline: a no-op handler.
    Noop,
}

impl Operation {
    /// Returns the name used in `--mix`.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Page => "page",
            Operation::Tenants => "tenants",
            Operation::Rules => "rules",
            Operation::Simulate => "simulate",
            Operation::Register => "register",
            Operation::Login => "login",
            Operation::ScoreRank => "score_rank",
            Operation::Submit => "submit",
            Operation::Upload => "upload",
            Operation::Noop => "noop",
        }
    }

    fn parse(name: &str) -> Result<Self, String> {
        Ok(match name {
            "page" => Operation::Page,
            "tenants" => Operation::Tenants,
            "rules" => Operation::Rules,
            "simulate" => Operation::Simulate,
            "noop" => Operation::Noop,
            "register" => Operation::Register,
            "login" => Operation::Login,
            "score_rank" => Operation::ScoreRank,
            "submit" => Operation::Submit,
            "upload" => Operation::Upload,
            other => {
                return Err(format!(
                    "unknown operation {other:?} (expected page, tenants, rules, simulate, register, login, score_rank, submit, upload)"
                ));
            }
        })
    }

    /// Whether the operation needs an open cycle to apply in.
    pub fn needs_season(self) -> bool {
        matches!(
            self,
            Operation::ScoreRank | Operation::Submit | Operation::Upload
        )
    }

    /// Performs one step of this kind as `resident`; `seed` varies the inputs. A step whose
    /// precondition is missing (no account, no draft) performs that precondition instead and
    /// counts as it.
    pub async fn send(
        self,
        client: &reqwest::Client,
        base: &str,
        seed: u64,
        resident: &mut Resident,
        season: &Season,
    ) -> Result<Step, reqwest::Error> {
        const TENANTS: [&str; 6] = ["gusu", "wuzhong", "xiangcheng", "huqiu", "wujiang", "sip"];
        let tenant = TENANTS[(seed % TENANTS.len() as u64) as usize];
        let response = match self {
            Operation::Register => return resident.register(client, base).await,
            Operation::Login => return resident.login(client, base).await,
            Operation::ScoreRank => return resident.score_rank(client, base, season).await,
            Operation::Submit => return resident.submit(client, base, season).await,
            Operation::Upload => return resident.upload(client, base, season).await,
            Operation::Page | Operation::Noop => client.get(format!("{base}/")).send().await?,
            Operation::Tenants => client.get(format!("{base}/api/v1/tenants")).send().await?,
            Operation::Rules => {
                client
                    .get(format!(
                        "{base}/api/v1/rules?tenant={tenant}&benefit=school"
                    ))
                    .send()
                    .await?
            }
            Operation::Simulate => {
                let months = (seed % 120) as i64;
                let body = json!({
                    "tenant": tenant,
                    "benefit": "school",
                    "as_of": "2023-06-30",
                    "facts": {"parents": [
                        {"birth_date": "1985-03-01", "education": "bachelor", "skill_level": "L4",
                         "insurance_months": months, "residence_years": months / 12,
                         "housing_fund_years": 4},
                        {"birth_date": "1989-05-01", "education": "junior_college",
                         "skill_level": "L3", "insurance_months": 50, "residence_years": 6}
                    ]}
                });
                client
                    .post(format!("{base}/api/v1/simulate"))
                    .json(&body)
                    .send()
                    .await?
            }
        };
        let status = response.status();
        // Read the body so the connection is reused and the full response is timed.
        let _ = response.bytes().await?;
        Ok((self.name(), status))
    }
}

/// Weighted operations, e.g. `simulate=6,rules=2,tenants=1,page=1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    entries: Vec<(Operation, u32)>,
    total: u32,
}

impl Mix {
    /// Picks an operation for the `n`-th draw (deterministic, spread by a multiplicative hash).
    pub fn pick(&self, n: u64) -> Operation {
        let mut slot = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32 % self.total.max(1);
        for (op, weight) in &self.entries {
            if slot < *weight {
                return *op;
            }
            slot -= weight;
        }
        self.entries.first().map_or(Operation::Noop, |(op, _)| *op)
    }

    /// Returns the operations and weights.
    pub fn entries(&self) -> &[(Operation, u32)] {
        &self.entries
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, weight) = part.split_once('=').unwrap_or((part, "1"));
            let op = Operation::parse(name.trim())?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight of {name:?} must be a whole number"))?;
            if weight > 0 {
                entries.push((op, weight));
            }
        }
        let total = entries.iter().map(|(_, w)| *w).sum();
        if total == 0 {
            return Err("the mix must contain at least one operation with weight > 0".to_owned());
        }
        Ok(Self { entries, total })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mix_follows_its_weights() {
        let mix: Mix = "simulate=3,page=1".parse().expect("mix");
        let simulate = (0..10_000)
            .filter(|n| mix.pick(*n) == Operation::Simulate)
            .count();
        assert!((7_000..8_000).contains(&simulate), "{simulate}");
    }

    #[test]
    fn bad_mixes_are_named() {
        assert!("fly=1".parse::<Mix>().expect_err("unknown").contains("fly"));
        assert!("page=x".parse::<Mix>().is_err());
        assert!("page=0".parse::<Mix>().is_err());
    }
}
