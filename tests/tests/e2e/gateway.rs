//! The HTTP edge as a browser and an API client meet it: security headers, Chinese
//! problem+json errors, CSRF refusal, and admission control that answers overload with 429 and
//! Retry-After, never a 5xx.

use jifen::target::Target;
use jifen::testkit::TestJifen;
use jifen_kit::Config;

async fn start(config: Config) -> TestJifen {
    TestJifen::start_with(
        config,
        &[Target::Identity, Target::Scoring, Target::Gateway],
    )
    .await
}

fn loopback_config() -> Config {
    let mut config = Config::defaults();
    config.server.grpc_addr = "127.0.0.1:0".to_owned();
    config.server.http_addr = "127.0.0.1:0".to_owned();
    config
}

#[tokio::test]
async fn pages_carry_security_headers_and_a_csrf_cookie() {
    let jifen = start(loopback_config()).await;
    let response = reqwest::get(format!("{}/simulate", jifen.http_url()))
        .await
        .expect("page answers");
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().expect("ascii");
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let cookies: Vec<_> = headers
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(
        cookies.iter().any(|c| c.starts_with("jifen_csrf=")),
        "{cookies:?}"
    );
    let body = response.text().await.expect("body");
    assert!(body.contains("积分测算"));
    jifen.stop().await;
}

#[tokio::test]
async fn errors_are_chinese_problem_json() {
    let jifen = start(loopback_config()).await;
    let client = reqwest::Client::new();
    let missing = client
        .get(format!("{}/no/such/page", jifen.http_url()))
        .send()
        .await
        .expect("answers");
    assert_eq!(missing.status(), 404);
    assert!(
        missing.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/problem+json")
    );
    let body: serde_json::Value = missing.json().await.expect("json");
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["detail"], "页面不存在");

    let bad_json = client
        .post(format!("{}/api/v1/simulate", jifen.http_url()))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("answers");
    assert_eq!(bad_json.status(), 400);
    let body: serde_json::Value = bad_json.json().await.expect("json");
    assert_eq!(body["code"], "invalid_argument");
    assert!(
        body["detail"].as_str().expect("detail").contains("JSON"),
        "{body}"
    );
    jifen.stop().await;
}

#[tokio::test]
async fn cookie_post_without_csrf_token_is_refused() {
    let jifen = start(loopback_config()).await;
    let client = reqwest::Client::new();
    let url = format!("{}/api/v1/simulate", jifen.http_url());
    let refused = client
        .post(&url)
        .header("cookie", "jifen_session=abc; jifen_csrf=t1")
        .json(&serde_json::json!({"tenant": "wuzhong", "benefit": "school", "facts": {}}))
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), 403);
    let body: serde_json::Value = refused.json().await.expect("json");
    assert_eq!(body["code"], "csrf");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("安全校验")
    );

    let mismatched = client
        .post(&url)
        .header("cookie", "jifen_session=abc; jifen_csrf=t1")
        .header("x-csrf-token", "t2")
        .json(&serde_json::json!({"tenant": "wuzhong", "benefit": "school", "facts": {}}))
        .send()
        .await
        .expect("answers");
    assert_eq!(mismatched.status(), 403);
    jifen.stop().await;
}

#[tokio::test]
async fn overload_gets_429_with_retry_after_and_never_5xx() {
    let mut config = loopback_config();
    config.gateway.max_in_flight = 4;
    config.gateway.rate_per_sec = 20.0;
    config.gateway.tenant_max_in_flight = 4;
    config.gateway.tenant_rate_per_sec = 20.0;
    let jifen = start(config).await;
    let client = reqwest::Client::new();
    let url = format!("{}/faq", jifen.http_url());
    let requests = (0..200).map(|_| {
        let client = client.clone();
        let url = url.clone();
        async move { client.get(&url).send().await.expect("answers") }
    });
    let responses = futures_join_all(requests).await;
    let ok = responses.iter().filter(|r| r.status() == 200).count();
    let limited: Vec<_> = responses.iter().filter(|r| r.status() == 429).collect();
    let server_errors = responses
        .iter()
        .filter(|r| r.status().is_server_error())
        .count();
    assert_eq!(server_errors, 0);
    assert!(ok > 0, "some requests are admitted");
    assert!(!limited.is_empty(), "the excess is refused");
    assert!(
        limited
            .iter()
            .all(|r| r.headers().contains_key("retry-after"))
    );
    assert_eq!(ok + limited.len(), 200);

    // A browser gets a waiting page that reloads itself (no script needed).
    let mut page = None;
    for _ in 0..200 {
        let r = client
            .get(&url)
            .header("accept", "text/html")
            .send()
            .await
            .expect("answers");
        if r.status() == 429 {
            page = Some(r.text().await.expect("body"));
            break;
        }
    }
    let page = page.expect("a browser over the limit gets the waiting page");
    assert!(page.contains("http-equiv=\"refresh\""));
    assert!(page.contains("排队"));
    jifen.stop().await;
}

async fn futures_join_all<F>(futures: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for handle in handles {
        out.push(handle.await.expect("task"));
    }
    out
}

#[tokio::test]
async fn jwks_is_published_at_the_well_known_path() {
    let jifen = start(loopback_config()).await;
    let response = reqwest::get(format!("{}/.well-known/jwks.json", jifen.http_url()))
        .await
        .expect("answers");
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.expect("json");
    let keys = body["keys"].as_array().expect("keys");
    assert!(!keys.is_empty(), "{body}");
    assert!(
        keys.iter()
            .all(|k| k["kty"] == "OKP" && k["crv"] == "Ed25519"),
        "{body}"
    );
    jifen.stop().await;
}
