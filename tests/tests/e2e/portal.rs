//! The portal's JSON API as a browser and an API client meet it over HTTP: register → login →
//! me → refresh → logout with cookies, bearer tokens on request, CSRF refusal, and a Chinese
//! message on every error path.

use jifen::testkit::{Backend, TestJifen};
use reqwest::header::{COOKIE, HeaderMap, SET_COOKIE};
use serde_json::{Value, json};

fn unique() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(40)
}

fn id_number() -> String {
    let n = unique();
    let first = format!(
        "3205061988{:02}{:02}{:03}",
        n % 12 + 1,
        (n / 12) % 28 + 1,
        (n / 400) % 1000
    );
    format!(
        "{first}{}",
        jifen_identity::domain::id_number::check_char(&first)
    )
}

fn has_chinese(text: &str) -> bool {
    text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))
}

/// A tiny cookie jar: what a browser would store, by name.
#[derive(Default)]
struct Jar(Vec<(String, String, String)>);

impl Jar {
    fn take(&mut self, headers: &HeaderMap) {
        for value in headers.get_all(SET_COOKIE) {
            let text = value.to_str().expect("ascii").to_owned();
            let (pair, _) = text.split_once(';').unwrap_or((&text, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            self.0.retain(|(n, _, _)| n != name);
            if !text.contains("Max-Age=0") {
                self.0
                    .push((name.to_owned(), value.to_owned(), text.clone()));
            }
        }
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, _)| v.as_str())
    }
    fn attributes(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, a)| a.as_str())
            .unwrap_or_default()
    }
    /// Cookies a browser sends to `path`.
    fn header(&self, path: &str) -> String {
        self.0
            .iter()
            .filter(|(n, _, _)| n != "jifen_refresh" || path.starts_with("/api/v1/session"))
            .map(|(n, v, _)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

struct Browser {
    base: String,
    http: reqwest::Client,
    jar: Jar,
}

impl Browser {
    async fn send(
        &mut self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (u16, Value) {
        let mut rq = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header(COOKIE, self.jar.header(path));
        if csrf && let Some(token) = self.jar.get("jifen_csrf") {
            rq = rq.header("x-csrf-token", token.to_owned());
        }
        if let Some(body) = body {
            rq = rq.json(&body);
        }
        let response = rq.send().await.expect("answers");
        self.jar.take(response.headers());
        let status = response.status().as_u16();
        let is_problem = response.headers().get("content-type").is_some_and(|v| {
            v.to_str()
                .unwrap_or_default()
                .starts_with("application/problem+json")
        });
        let text = response.text().await.expect("body");
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if status >= 400 {
            assert!(is_problem, "{path}: {status} is not problem+json: {text}");
            let detail = value["detail"].as_str().unwrap_or_default();
            assert!(
                has_chinese(detail),
                "{path}: {status} detail not Chinese: {text}"
            );
        }
        (status, value)
    }
}

#[tokio::test]
async fn a_resident_registers_logs_in_sees_themself_and_logs_out() {
    let jifen = TestJifen::start(&jifen::target::ALL, Backend::Real).await;
    jifen::seed::seed(&jifen.config, jifen.data_dir.path())
        .await
        .expect("seed");
    let mut b = Browser {
        base: jifen.http_url(),
        http: reqwest::Client::new(),
        jar: Jar::default(),
    };
    // A first page view hands out the CSRF cookie.
    let (status, _) = b
        .send(reqwest::Method::GET, "/api/v1/tenants", None, false)
        .await;
    assert_eq!(status, 200);
    assert!(b.jar.get("jifen_csrf").is_some());

    // Bad registration: a Chinese message naming the problem.
    let id = id_number();
    let mut bad_id = id.clone();
    let last = bad_id.pop().expect("char");
    bad_id.push(if last == '1' { '2' } else { '1' });
    let person = |id: &str| json!({"name": "张三", "id_number": id, "mobile": format!("139{:08}", unique() % 100_000_000), "password": "Jifen#2025go"});
    let (status, _) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(person(&bad_id)),
            true,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(json!({"name": ""})),
            true,
        )
        .await;
    assert_eq!(status, 400);

    let registration = person(&id);
    let (status, body) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(registration.clone()),
            true,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(
        body.get("tokens").is_none(),
        "browsers get cookies, not tokens"
    );
    let session = b.jar.attributes("jifen_session").to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attr), "{session}");
    }
    let refresh = b.jar.attributes("jifen_refresh").to_owned();
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Strict",
        "Path=/api/v1/session",
    ] {
        assert!(refresh.contains(attr), "{refresh}");
    }
    let (status, me) = b
        .send(reqwest::Method::GET, "/api/v1/me", None, false)
        .await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["kind"], "ACCOUNT_KIND_APPLICANT");

    // A cookie-authenticated write without the CSRF header is refused.
    let (status, problem) = b
        .send(reqwest::Method::DELETE, "/api/v1/session", None, false)
        .await;
    assert_eq!(status, 403);
    assert_eq!(problem["code"], "csrf");
    let (status, problem) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/applications",
            Some(json!({"cycle_id": "x"})),
            false,
        )
        .await;
    assert_eq!((status, problem["code"].as_str()), (403, Some("csrf")));

    // Rotation: a new refresh cookie; the old one no longer works.
    let old_refresh = b.jar.get("jifen_refresh").expect("refresh").to_owned();
    let (status, _) = b
        .send(reqwest::Method::POST, "/api/v1/session/refresh", None, true)
        .await;
    assert_eq!(status, 200);
    assert_ne!(b.jar.get("jifen_refresh"), Some(old_refresh.as_str()));

    // Logout clears the cookies; me is then refused in Chinese.
    let (status, _) = b
        .send(reqwest::Method::DELETE, "/api/v1/session", None, true)
        .await;
    assert_eq!(status, 204);
    assert!(b.jar.get("jifen_session").is_none());
    let (status, _) = b
        .send(reqwest::Method::GET, "/api/v1/me", None, false)
        .await;
    assert_eq!(status, 401);

    // Wrong password, then the right one; a duplicate registration is refused.
    let login = |password: &str| json!({"login": id, "password": password});
    let (status, _) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/session",
            Some(login("Wrong#pass1")),
            true,
        )
        .await;
    assert_eq!(status, 401);
    let (status, body) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/session",
            Some(login("Jifen#2025go")),
            true,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(b.jar.get("jifen_session").is_some());
    let (status, _) = b
        .send(
            reqwest::Method::POST,
            "/api/v1/accounts",
            Some(registration),
            true,
        )
        .await;
    assert!(status == 409 || status == 400, "{status}");

    // Unknown fields, a missing page and an rpc refused by role are Chinese problems too.
    let (status, _) = b
        .send(
            reqwest::Method::GET,
            "/api/v1/queue?no_such_field=1",
            None,
            false,
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = b
        .send(reqwest::Method::GET, "/api/v1/queue", None, false)
        .await;
    assert_eq!(status, 403);
    let (status, _) = b
        .send(reqwest::Method::GET, "/api/v1/nowhere", None, false)
        .await;
    assert_eq!(status, 404);
    jifen.stop().await;
}

#[tokio::test]
async fn api_clients_get_tokens_in_the_body_and_use_bearer() {
    let jifen = TestJifen::start(&jifen::target::ALL, Backend::Real).await;
    jifen::seed::seed(&jifen.config, jifen.data_dir.path())
        .await
        .expect("seed");
    let http = reqwest::Client::new();
    let base = jifen.http_url();
    let id = id_number();
    let response = http
        .post(format!("{base}/api/v1/accounts"))
        .header("x-token-response", "body")
        .json(&json!({"name": "李四", "id_number": id, "mobile": format!("138{:08}", unique() % 100_000_000), "password": "Jifen#2025go"}))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 201);
    assert!(
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .all(|c| !c.to_str().unwrap_or_default().starts_with("jifen_session")),
        "no session cookie for API clients"
    );
    let body: Value = response.json().await.expect("json");
    let access = body["tokens"]["access_token"].as_str().expect("access");
    let refresh = body["tokens"]["refresh_token"].as_str().expect("refresh");
    let me: Value = http
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(me["kind"], "ACCOUNT_KIND_APPLICANT");
    let rotated = http
        .post(format!("{base}/api/v1/session/refresh"))
        .header("x-token-response", "body")
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .expect("answers");
    assert_eq!(rotated.status(), 200);
    let rotated: Value = rotated.json().await.expect("json");
    assert!(rotated["tokens"]["access_token"].as_str().is_some());
    // The public calls work without any credentials, and the calculator gives example B.
    let sim: Value = http
        .post(format!("{base}/api/v1/simulate"))
        .json(&json!({"tenant": "wuzhong", "benefit": "school", "as_of": "2023-06-30", "facts": {"parents": [
            {"birth_date": "1985-03-01", "education": "bachelor", "skill_level": "L4", "insurance_months": 72, "residence_years": 6, "housing_fund_years": 4, "residence_permit_valid": true, "insurance_active": true},
            {"birth_date": "1989-01-15", "education": "junior_college", "skill_level": "L3", "insurance_months": 50, "residence_years": 6, "residence_permit_valid": true, "insurance_active": true}
        ]}}))
        .send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("json");
    assert_eq!(sim["total"], 684, "{sim}");
    let cycles = http
        .get(format!("{base}/api/v1/public-cycles?tenant=wuzhong"))
        .send()
        .await
        .expect("answers");
    assert_eq!(cycles.status(), 200);
    jifen.stop().await;
}
