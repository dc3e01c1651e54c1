//! The JSON API (`/api/v1/…`): thin handlers that validate, call a component over gRPC and map
//! the answer. Every error is problem+json with a Chinese message.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use jifen_proto::identity::v1 as identity;
use jifen_proto::scoring::v1 as scoring;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Clients;
use crate::cache;
use crate::grpc_call::request;
use crate::problem::Problem;

/// Paths of the JSON API, as documented in `assets/openapi.json` (a test keeps them equal).
/// The routes forwarded one-to-one to an rpc are in [`crate::rest::ROUTES`]; these are the ones
/// with handlers of their own.
pub const PATHS: &[&str] = &[
    "/api/v1/tenants",
    "/api/v1/simulate",
    "/api/v1/rules",
    "/api/v1/accounts",
    "/api/v1/session",
    "/api/v1/session/refresh",
    "/api/v1/applications/{application_id}/materials",
    "/api/v1/uploads",
    "/api/v1/materials/{material_id}/content",
];

/// Returns every documented API path: [`PATHS`] and the forwarded routes, without repeats.
pub fn all_paths() -> Vec<&'static str> {
    let mut paths: Vec<&'static str> = PATHS.to_vec();
    for route in crate::rest::ROUTES {
        if !paths.contains(&route.path) {
            paths.push(route.path);
        }
    }
    paths
}

type ApiResult = Result<Json<Value>, Problem>;

/// `GET /.well-known/jwks.json`: identity's public signing keys (RFC 7517), for anyone who
/// verifies jifen access tokens.
pub async fn jwks(
    State(clients): State<Clients>,
    headers: HeaderMap,
) -> Result<axum::response::Response, Problem> {
    use axum::response::IntoResponse;
    let response = clients
        .identity()
        .get_jwks(request(&headers, identity::GetJwksRequest::default()))
        .await?
        .into_inner();
    let mut out = response.jwks_json.into_response();
    out.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static("application/jwk-set+json"),
    );
    out.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("public, max-age=300"),
    );
    Ok(out)
}

/// `GET /api/v1/tenants`: the districts and county-level cities.
pub async fn tenants(
    State(clients): State<Clients>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, Problem> {
    let policy = cache::Policy::Public(std::time::Duration::from_secs(60));
    cache::cached(
        &clients.cache,
        policy,
        &headers,
        &uri,
        tenant_list(&clients, &headers),
    )
    .await
}

async fn tenant_list(clients: &Clients, headers: &HeaderMap) -> Result<Value, Problem> {
    let response = clients
        .identity()
        .list_tenants(request(headers, identity::ListTenantsRequest::default()))
        .await?
        .into_inner();
    let tenants: Vec<Value> = response
        .tenants
        .iter()
        .map(|t| {
            json!({
                "code": t.code,
                "name": t.name_zh,
                "kind": identity::TenantKind::try_from(t.kind)
                    .map(|k| k.as_str_name().trim_start_matches("TENANT_KIND_").to_lowercase())
                    .unwrap_or_default(),
                "threshold_area": t.threshold_area,
            })
        })
        .collect();
    Ok(json!({ "tenants": tenants }))
}

/// Body of `POST /api/v1/simulate`.
#[derive(Debug, Deserialize)]
pub struct SimulateBody {
    tenant: String,
    benefit: String,
    #[serde(default)]
    as_of: String,
    facts: Value,
}

/// `POST /api/v1/simulate`: the public score simulator (no login).
pub async fn simulate(
    State(clients): State<Clients>,
    headers: HeaderMap,
    body: Result<Json<SimulateBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult {
    let Json(body) =
        body.map_err(|e| Problem::invalid(format!("请求内容不是有效的 JSON：{}", e.body_text())))?;
    if body.tenant.is_empty() {
        return Err(Problem::invalid("请选择地区（tenant）"));
    }
    if body.benefit.is_empty() {
        return Err(Problem::invalid("请选择积分事项（benefit）"));
    }
    let message = scoring::SimulateRequest {
        tenant: body.tenant,
        benefit: body.benefit,
        as_of_date: body.as_of,
        facts_json: body.facts.to_string(),
        rule_set: None,
    };
    let response = clients
        .scoring()
        .simulate(request(&headers, message))
        .await?
        .into_inner();
    let sheet = response
        .score_sheet
        .ok_or_else(|| Problem::from(tonic::Status::internal("simulate returned no sheet")))?;
    Ok(Json(score_sheet_json(&sheet)))
}

/// Maps a score sheet to the contract's simulator JSON shape.
pub fn score_sheet_json(sheet: &scoring::ScoreSheet) -> Value {
    let gates: Vec<Value> = sheet
        .gates
        .iter()
        .map(|g| {
            let outcome = match scoring::GateVerdict::try_from(g.outcome) {
                Ok(scoring::GateVerdict::Pass) => "pass",
                Ok(scoring::GateVerdict::Fail) => "fail",
                Ok(scoring::GateVerdict::ManualReview) => "manual_review",
                _ => "unknown",
            };
            json!({"code": g.code, "outcome": outcome, "message": g.message})
        })
        .collect();
    let lines: Vec<Value> = sheet
        .lines
        .iter()
        .map(|l| {
            let category = scoring::IndicatorCategory::try_from(l.category)
                .map(|c| {
                    c.as_str_name()
                        .trim_start_matches("INDICATOR_CATEGORY_")
                        .to_lowercase()
                })
                .unwrap_or_default();
            json!({
                "indicator": l.indicator,
                "name": l.name_zh,
                "category": category,
                "points": l.points,
                "explanation": l.explanation,
                "person_index": l.person_index,
                "counted": l.counted,
            })
        })
        .collect();
    let mut out = json!({
        "tenant": sheet.tenant,
        "benefit": sheet.benefit,
        "rule_set": sheet.rule_set_id,
        "rule_set_version": sheet.rule_set_version,
        "total": sheet.total,
        "base": sheet.base,
        "additional": sheet.additional,
        "deduction": sheet.deduction,
        "eligible": sheet.eligible,
        "gates": gates,
        "lines": lines,
    });
    if let Some(family) = &sheet.family {
        out["family"] = json!({
            "counted_parent": family.counted_parent,
            "tie_reference": family.tie_reference,
        });
    }
    out
}

/// Query of `GET /api/v1/rules`.
#[derive(Debug, Deserialize)]
pub struct RulesQuery {
    tenant: String,
    benefit: String,
}

/// `GET /api/v1/rules?tenant=&benefit=`: the effective published indicator table.
pub async fn rules(
    State(clients): State<Clients>,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<RulesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(query) =
        query.map_err(|_| Problem::invalid("请提供地区（tenant）和积分事项（benefit）"))?;
    let policy = cache::Policy::Public(std::time::Duration::from_secs(30));
    cache::cached(
        &clients.cache,
        policy,
        &headers,
        &uri,
        rule_table(&clients, &headers, query),
    )
    .await
}

async fn rule_table(
    clients: &Clients,
    headers: &HeaderMap,
    query: RulesQuery,
) -> Result<Value, Problem> {
    let effective = clients
        .scoring()
        .get_public_rule_set(request(
            headers,
            scoring::GetPublicRuleSetRequest {
                tenant: query.tenant,
                benefit: query.benefit,
                as_of_date: String::new(),
            },
        ))
        .await?
        .into_inner();
    let document: Value =
        serde_json::from_str(&effective.effective_document_json).unwrap_or(Value::Null);
    Ok(json!({
        "rule_set": effective.rule_set.as_ref().map(|r| json!({
            "id": r.rule_set_id, "version": r.version, "title": r.title_zh,
        })),
        "hash": effective.effective_hash,
        "document": document,
        "indicators": effective.indicators.iter().map(|i| json!({
            "code": i.code,
            "name": i.name_zh,
            "category": scoring::IndicatorCategory::try_from(i.category)
                .map(|c| c.as_str_name().trim_start_matches("INDICATOR_CATEGORY_").to_lowercase())
                .unwrap_or_default(),
            "fact_keys": i.fact_keys,
            "rule": i.rule_zh,
            "cap": i.cap,
            "verifier_department": i.verifier_department,
            "evidence": i.evidence.iter().map(|e| json!({
                "code": e.code, "name": e.name_zh, "required": e.required,
            })).collect::<Vec<_>>(),
            "applies_to_benefits": i.applies_to_benefits,
        })).collect::<Vec<_>>(),
        "gates": effective.gates.iter().map(|g| json!({
            "code": g.code, "name": g.name_zh, "manual": g.manual,
        })).collect::<Vec<_>>(),
    }))
}
