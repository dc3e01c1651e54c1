//! The stateful part of a season: each virtual user is a resident who registers, logs in, opens
//! a draft in the season's cycle, uploads evidence, submits and asks for their score and rank,
//! through the same JSON API the portal uses (bearer tokens, `x-token-response: body`).

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};

/// What a virtual user knows about themselves.
#[derive(Debug, Default)]
pub struct Resident {
    account: Option<Account>,
    application: Option<Application>,
}

#[derive(Debug)]
struct Account {
    id_number: String,
    password: String,
    token: String,
}

#[derive(Debug)]
struct Application {
    id: String,
    version: i64,
    submitted: bool,
    uploads: u64,
}

/// The season the residents apply in (see [`prepare_season`]).
#[derive(Debug, Clone)]
pub struct Season {
    /// Tenant of the cycle.
    pub tenant: String,
    /// The open settlement cycle, if one was found or opened.
    pub cycle_id: Option<String>,
    /// The 街道/镇 residents declare (the tenant's first, when it lists any).
    pub street: String,
}

/// What one step did, for the report: the operation it counts as and the answer's status.
pub type Step = (&'static str, StatusCode);

/// Identity numbers unique within a run and unlikely to repeat across runs on one data dir.
static NEXT_PERSON: AtomicU64 = AtomicU64::new(0);

fn run_nonce() -> u64 {
    static NONCE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *NONCE.get_or_init(rand::random)
}

/// A valid 18-digit 居民身份证号 (GB 11643 check digit) for person `n`: region 320506 (吴中区),
/// a birth date between 1975 and 1999, a sequence number.
pub fn id_number(n: u64) -> String {
    let n = n.wrapping_add(run_nonce() % 5_000_000);
    let day = chrono::NaiveDate::from_ymd_opt(1975, 1, 1)
        .and_then(|d| d.checked_add_days(chrono::Days::new(n / 1000 % 9000)))
        .unwrap_or_default();
    let body = format!("320506{}{:03}", day.format("%Y%m%d"), n % 1000);
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{body}{check}")
}

/// A tiny but well-formed PDF, distinct per `seed` (the same bytes twice would be a duplicate).
fn evidence_pdf(seed: u64) -> Vec<u8> {
    format!("%PDF-1.4\n1 0 obj<<>>endobj\n% loadgen evidence {seed}\ntrailer<<>>\n%%EOF\n")
        .into_bytes()
}

async fn json_of(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let value = response.json().await.unwrap_or(Value::Null);
    (status, value)
}

impl Resident {
    fn bearer(&self) -> String {
        self.account
            .as_ref()
            .map(|a| format!("Bearer {}", a.token))
            .unwrap_or_default()
    }

    /// `request` sent as this resident in the season's tenant.
    fn signed(&self, request: reqwest::RequestBuilder, season: &Season) -> reqwest::RequestBuilder {
        request
            .header("authorization", self.bearer())
            .header("x-jifen-tenant", &season.tenant)
    }

    /// The resident's draft for a step that needs one: a resident who already submitted is
    /// replaced by a newcomer, and a missing account or draft is made first. `Err` is the step
    /// taken instead.
    async fn draft(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        season: &Season,
    ) -> reqwest::Result<Result<(), Step>> {
        if self.application.as_ref().is_some_and(|a| a.submitted) {
            return self.register(client, base).await.map(Err);
        }
        Ok(match self.ensure_draft(client, base, season).await? {
            Some(step) => Err(step),
            None => Ok(()),
        })
    }

    /// Registers a new resident (a fresh identity) and keeps their token.
    pub async fn register(
        &mut self,
        client: &reqwest::Client,
        base: &str,
    ) -> reqwest::Result<Step> {
        let n = NEXT_PERSON.fetch_add(1, Ordering::Relaxed);
        let id_number = id_number(n);
        let password = format!("Season#{n}go");
        let body = json!({
            "name": "季节测",
            "id_number": id_number,
            "mobile": format!("139{:08}", (n + run_nonce()) % 100_000_000),
            "password": password,
        });
        let response = client
            .post(format!("{base}/api/v1/accounts"))
            .header("x-token-response", "body")
            .json(&body)
            .send()
            .await?;
        let (status, value) = json_of(response).await;
        if let Some(token) = value["tokens"]["access_token"].as_str() {
            self.account = Some(Account {
                id_number,
                password,
                token: token.to_owned(),
            });
            self.application = None;
        }
        Ok(("register", status))
    }

    /// Logs in again with the resident's ID number (registering first if they have no account).
    pub async fn login(&mut self, client: &reqwest::Client, base: &str) -> reqwest::Result<Step> {
        let Some(account) = &self.account else {
            return self.register(client, base).await;
        };
        let response = client
            .post(format!("{base}/api/v1/session"))
            .header("x-token-response", "body")
            .json(&json!({ "login": account.id_number, "password": account.password }))
            .send()
            .await?;
        let (status, value) = json_of(response).await;
        if let (Some(token), Some(account)) =
            (value["tokens"]["access_token"].as_str(), &mut self.account)
        {
            token.clone_into(&mut account.token);
        }
        Ok(("login", status))
    }

    /// Makes sure the resident has an account and a draft; returns the step taken, if any.
    async fn ensure_draft(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        season: &Season,
    ) -> reqwest::Result<Option<Step>> {
        if self.account.is_none() {
            return self.register(client, base).await.map(Some);
        }
        if self.application.is_some() {
            return Ok(None);
        }
        let Some(cycle_id) = &season.cycle_id else {
            return Ok(Some(("no_open_cycle", StatusCode::PRECONDITION_FAILED)));
        };
        let response = self
            .signed(client.post(format!("{base}/api/v1/applications")), season)
            .json(&json!({
                "cycle_id": cycle_id,
                "street_code": season.street,
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
            }))
            .send()
            .await?;
        let (status, value) = json_of(response).await;
        if let Some(id) = value["application_id"].as_str() {
            self.application = Some(Application {
                id: id.to_owned(),
                version: value["version"].as_i64().unwrap_or(0),
                submitted: false,
                uploads: 0,
            });
        }
        Ok(Some(("draft", status)))
    }

    /// Uploads one evidence PDF through the presigned path (declare, PUT, confirm); a resident
    /// who already submitted is replaced by a new one.
    pub async fn upload(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        season: &Season,
    ) -> reqwest::Result<Step> {
        if let Err(step) = self.draft(client, base, season).await? {
            return Ok(step);
        }
        let Some(app) = self.application.as_mut() else {
            return Ok(("no_open_cycle", StatusCode::PRECONDITION_FAILED));
        };
        app.uploads += 1;
        let (id, uploads) = (app.id.clone(), app.uploads);
        let pdf = evidence_pdf(NEXT_PERSON.fetch_add(1, Ordering::Relaxed));
        let declared = self
            .signed(
                client.post(format!("{base}/api/v1/applications/{id}/materials")),
                season,
            )
            .json(&json!({
                "indicator": "education",
                "file_name": format!("学历证书{uploads}.pdf"),
                "content_type": "application/pdf",
                "size_bytes": pdf.len(),
                "sha256": hex::encode(Sha256::digest(&pdf)),
            }))
            .send()
            .await?;
        let (status, value) = json_of(declared).await;
        let (Some(url), Some(material)) = (
            value["upload"]["url"].as_str(),
            value["material"]["material_id"].as_str(),
        ) else {
            return Ok(("upload", status));
        };
        // The portal's uploads go through the edge's relay (a relative URL) or straight to S3.
        let url = if url.starts_with('/') {
            format!("{base}{url}")
        } else {
            url.to_owned()
        };
        let mut put = client.put(url).body(pdf);
        if let Some(headers) = value["upload"]["headers"].as_object() {
            for (name, v) in headers {
                put = put.header(name.as_str(), v.as_str().unwrap_or_default());
            }
        }
        let stored = put.send().await?;
        if !stored.status().is_success() {
            return Ok(("upload", stored.status()));
        }
        let confirmed = self
            .signed(
                client.post(format!("{base}/api/v1/materials/{material}/confirm")),
                season,
            )
            .json(&json!({}))
            .send()
            .await?;
        Ok(("upload", confirmed.status()))
    }

    /// Submits the resident's draft (with an idempotency key); a resident who already
    /// submitted is replaced by a new one, as the wave goes on.
    pub async fn submit(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        season: &Season,
    ) -> reqwest::Result<Step> {
        if let Err(step) = self.draft(client, base, season).await? {
            return Ok(step);
        }
        let Some(id) = self.application.as_ref().map(|a| a.id.clone()) else {
            return Ok(("no_open_cycle", StatusCode::PRECONDITION_FAILED));
        };
        let request = self.signed(
            client.post(format!("{base}/api/v1/applications/{id}/submit")),
            season,
        );
        let Some(app) = self.application.as_mut() else {
            return Ok(("no_open_cycle", StatusCode::PRECONDITION_FAILED));
        };
        let response = request
            .json(&json!({
                "expected_version": app.version,
                "idempotency_key": uuid::Uuid::new_v4().to_string(),
            }))
            .send()
            .await?;
        let (status, value) = json_of(response).await;
        if status.is_success() {
            app.submitted = true;
            app.version = value["version"].as_i64().unwrap_or(app.version);
        }
        Ok(("submit", status))
    }

    /// Asks for the resident's own score and rank (`/rank` of their application). Until a
    /// score is confirmed the application is on no board, which the API answers with 404.
    pub async fn score_rank(
        &mut self,
        client: &reqwest::Client,
        base: &str,
        season: &Season,
    ) -> reqwest::Result<Step> {
        if let Some(step) = self.ensure_draft(client, base, season).await? {
            return Ok(step);
        }
        let Some(app) = &self.application else {
            return Ok(("no_open_cycle", StatusCode::PRECONDITION_FAILED));
        };
        let response = self
            .signed(
                client.get(format!("{base}/api/v1/applications/{}/rank", app.id)),
                season,
            )
            .send()
            .await?;
        let status = response.status();
        let _ = response.bytes().await?;
        Ok(("score_rank", status))
    }

    /// Uses an existing resident: their token and an application already on a board (for the
    /// score+rank benchmark, which prepares confirmed applications itself).
    pub fn existing(token: String, application_id: String) -> Self {
        Self {
            account: Some(Account {
                id_number: String::new(),
                password: String::new(),
                token,
            }),
            application: Some(Application {
                id: application_id,
                version: 0,
                submitted: true,
                uploads: 0,
            }),
        }
    }
}

/// Finds the open settlement cycle of `tenant`, opening one as the city admin when there is none
/// and `admin` credentials are given.
pub async fn prepare_season(
    client: &reqwest::Client,
    base: &str,
    tenant: &str,
    admin: Option<(&str, &str)>,
) -> anyhow::Result<Season> {
    let open = |value: &Value| {
        value["cycles"]
            .as_array()
            .and_then(|c| c.first())
            .and_then(|c| c["cycle_id"].as_str())
            .map(str::to_owned)
    };
    let listed: Value = client
        .get(format!(
            "{base}/api/v1/public-cycles?tenant={tenant}&benefit=settlement"
        ))
        .send()
        .await?
        .json()
        .await?;
    let streets: Value = client
        .get(format!("{base}/api/v1/streets?tenant={tenant}"))
        .send()
        .await?
        .json()
        .await
        .unwrap_or_default();
    let season = |cycle_id| Season {
        tenant: tenant.to_owned(),
        cycle_id,
        street: streets["streets"][0]["code"]
            .as_str()
            .unwrap_or("loadgen")
            .to_owned(),
    };
    if let Some(cycle_id) = open(&listed) {
        return Ok(season(Some(cycle_id)));
    }
    let Some((login, password)) = admin else {
        return Ok(season(None));
    };
    let session: Value = client
        .post(format!("{base}/api/v1/session"))
        .header("x-token-response", "body")
        .json(&json!({ "login": login, "password": password }))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let token = session["tokens"]["access_token"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("admin login gave no token"))?;
    let wide = json!({ "start_date": "2000-01-01", "end_date": "2099-12-31" });
    let cycle: Value = client
        .post(format!("{base}/api/v1/cycles"))
        .bearer_auth(token)
        .header("x-jifen-tenant", tenant)
        .json(&json!({ "target_tenant": tenant, "cycle": {
            "benefit": "settlement", "year": 2026, "name_zh": "负载测试落户申报期",
            "application_window": wide, "confirmation_window": wide,
            "publicity_window": wide, "objection_window": wide,
            "score_as_of_date": "2026-06-30",
            "rule_set": { "rule_set_id": "SZ-CITY-SETTLEMENT-2021", "version": 0 },
            "pass_mark": 500,
        }}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let cycle_id = cycle["cycle_id"]
        .as_str()
        .ok_or_else(|| anyhow::anyhow!("creating the cycle gave no id"))?
        .to_owned();
    client
        .post(format!("{base}/api/v1/cycles/{cycle_id}/open"))
        .bearer_auth(token)
        .header("x-jifen-tenant", tenant)
        .json(&json!({ "expected_version": cycle["version"] }))
        .send()
        .await?
        .error_for_status()?;
    Ok(season(Some(cycle_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_id_numbers_carry_a_valid_check_digit_and_differ() {
        let a = id_number(1);
        let b = id_number(2);
        assert_eq!(a.len(), 18);
        assert_ne!(a, b);
        // Recompute the GB 11643 check digit independently.
        let sum: u32 = a[..17]
            .chars()
            .enumerate()
            .map(|(i, c)| c.to_digit(10).expect("digit") * ((1u32 << (17 - i)) % 11))
            .sum();
        let expected = (12 - sum % 11) % 11;
        let check = if expected == 10 {
            'X'
        } else {
            char::from_digit(expected, 10).expect("digit")
        };
        assert_eq!(a.chars().last(), Some(check));
    }
}
