//! The table of REST routes that map one-to-one onto a component rpc. Path parameters and query
//! parameters fill the request message's fields of the same name; a JSON body fills the rest.
//! Requests and answers use the proto3 JSON mapping with snake_case names (see the OpenAPI
//! document). Routes with more to do than forwarding (sessions, uploads) live in their own
//! modules.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, RawPathParams, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::IntoResponse as _;
use bytes::Bytes;
use prost_reflect::{Kind, MessageDescriptor};
use serde_json::{Map, Value};

use crate::Clients;
use crate::dynamic_call;
use crate::problem::Problem;

/// One REST route forwarded to one rpc.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP method.
    pub method: &'static str,
    /// Path with `{field}` parameters.
    pub path: &'static str,
    /// `package.Service/Method`.
    pub rpc: &'static str,
    /// Who may call it, in Chinese (documentation).
    pub summary: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    rpc: &'static str,
    summary: &'static str,
) -> Route {
    Route {
        method,
        path,
        rpc,
        summary,
    }
}

/// `rpc!(RV, "Submit")` = `"jifen.review.v1.ReviewService/Submit"`.
macro_rules! rpc {
    (ID, $m:literal) => {
        concat!("jifen.identity.v1.IdentityService/", $m)
    };
    (SC, $m:literal) => {
        concat!("jifen.scoring.v1.ScoringService/", $m)
    };
    (RV, $m:literal) => {
        concat!("jifen.review.v1.ReviewService/", $m)
    };
    (MT, $m:literal) => {
        concat!("jifen.materials.v1.MaterialsService/", $m)
    };
    (RK, $m:literal) => {
        concat!("jifen.ranking.v1.RankingService/", $m)
    };
    (NT, $m:literal) => {
        concat!("jifen.notices.v1.NoticesService/", $m)
    };
}

/// Every forwarded route.
pub const ROUTES: &[Route] = &[
    // identity
    r("GET", "/api/v1/me", rpc!(ID, "GetMe"), "当前登录账号"),
    r(
        "POST",
        "/api/v1/me/password",
        rpc!(ID, "ChangePassword"),
        "修改密码",
    ),
    r(
        "GET",
        "/api/v1/threshold-areas",
        rpc!(ID, "ListThresholdAreas"),
        "落户积分分值线区域",
    ),
    r(
        "GET",
        "/api/v1/streets",
        rpc!(ID, "ListStreets"),
        "街道/镇（query: tenant）",
    ),
    r(
        "PUT",
        "/api/v1/streets",
        rpc!(ID, "UpsertStreet"),
        "新增或修改街道/镇（区管理员；市管理员可指定 target_tenant）",
    ),
    r(
        "PUT",
        "/api/v1/tenants",
        rpc!(ID, "UpsertTenant"),
        "新增或修改地区（市管理员）",
    ),
    r(
        "PUT",
        "/api/v1/threshold-areas",
        rpc!(ID, "UpsertThresholdArea"),
        "新增或修改落户积分分值线区域（市管理员）",
    ),
    r(
        "PATCH",
        "/api/v1/me",
        rpc!(ID, "UpdateMyProfile"),
        "修改本人手机号、邮箱、居住证号",
    ),
    r(
        "GET",
        "/api/v1/departments",
        rpc!(ID, "ListDepartments"),
        "核查部门",
    ),
    r(
        "GET",
        "/api/v1/staff",
        rpc!(ID, "ListStaff"),
        "工作人员列表（管理员）",
    ),
    r(
        "POST",
        "/api/v1/staff",
        rpc!(ID, "CreateStaff"),
        "新建工作人员，返回一次性密码（管理员）",
    ),
    r(
        "PATCH",
        "/api/v1/staff/{subject}",
        rpc!(ID, "UpdateStaff"),
        "修改工作人员（管理员，限本辖区）",
    ),
    r(
        "POST",
        "/api/v1/staff/{subject}/reset-password",
        rpc!(ID, "ResetStaffPassword"),
        "重置工作人员密码，返回一次性密码（管理员）",
    ),
    r(
        "POST",
        "/api/v1/staff/{subject}/disable",
        rpc!(ID, "DisableStaff"),
        "停用工作人员（管理员）",
    ),
    r(
        "POST",
        "/api/v1/staff/{subject}/enable",
        rpc!(ID, "EnableStaff"),
        "启用工作人员（管理员）",
    ),
    // scoring
    r(
        "GET",
        "/api/v1/benefits",
        rpc!(SC, "ListBenefits"),
        "积分事项",
    ),
    r(
        "GET",
        "/api/v1/rule-sets",
        rpc!(SC, "ListRuleSets"),
        "积分细则版本（管理员）",
    ),
    r(
        "POST",
        "/api/v1/rule-sets",
        rpc!(SC, "CreateDraft"),
        "新建细则草稿（管理员）",
    ),
    r(
        "POST",
        "/api/v1/rule-sets/validate",
        rpc!(SC, "ValidateRuleSet"),
        "校验细则，错误带路径（管理员）",
    ),
    r(
        "GET",
        "/api/v1/rule-sets/{rule_set_id}/versions/{version}",
        rpc!(SC, "GetRuleSet"),
        "细则某一版本（管理员）",
    ),
    r(
        "PUT",
        "/api/v1/rule-sets/{rule_set_id}/versions/{version}",
        rpc!(SC, "UpdateDraft"),
        "修改细则草稿（管理员）",
    ),
    r(
        "POST",
        "/api/v1/rule-sets/{rule_set_id}/versions/{version}/publish",
        rpc!(SC, "PublishRuleSet"),
        "发布细则（管理员）",
    ),
    r(
        "POST",
        "/api/v1/what-if",
        rpc!(SC, "WhatIf"),
        "用候选细则重算本期申请（管理员）",
    ),
    // review: cycles
    r(
        "GET",
        "/api/v1/public-cycles",
        rpc!(RV, "ListPublicCycles"),
        "开放中的申报期（query: tenant, benefit）",
    ),
    r(
        "GET",
        "/api/v1/cycles",
        rpc!(RV, "ListCycles"),
        "申报期（管理员）",
    ),
    r(
        "POST",
        "/api/v1/cycles",
        rpc!(RV, "CreateCycle"),
        "新建申报期与学位计划（管理员）",
    ),
    r(
        "GET",
        "/api/v1/cycles/{cycle_id}",
        rpc!(RV, "GetCycle"),
        "申报期详情",
    ),
    r(
        "POST",
        "/api/v1/cycles/{cycle_id}/open",
        rpc!(RV, "OpenCycle"),
        "开放申报期（管理员）",
    ),
    r(
        "POST",
        "/api/v1/cycles/{cycle_id}/close",
        rpc!(RV, "CloseCycle"),
        "关闭申报期（管理员）",
    ),
    // review: the resident
    r(
        "POST",
        "/api/v1/applications",
        rpc!(RV, "CreateDraft"),
        "新建申请草稿（申请人）",
    ),
    r(
        "GET",
        "/api/v1/my-applications",
        rpc!(RV, "ListMyApplications"),
        "我的申请（申请人）",
    ),
    r(
        "GET",
        "/api/v1/applications",
        rpc!(RV, "ListApplications"),
        "申请列表（审核人员）",
    ),
    r(
        "GET",
        "/api/v1/applications/{application_id}",
        rpc!(RV, "GetApplication"),
        "申请详情",
    ),
    r(
        "PUT",
        "/api/v1/applications/{application_id}",
        rpc!(RV, "UpdateDraft"),
        "修改草稿（街道、子女、志愿）",
    ),
    r(
        "PUT",
        "/api/v1/applications/{application_id}/claims",
        rpc!(RV, "SaveClaims"),
        "逐项填报指标",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/submit",
        rpc!(RV, "Submit"),
        "提交（带幂等键）",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/withdraw",
        rpc!(RV, "Withdraw"),
        "撤回申请",
    ),
    r(
        "GET",
        "/api/v1/applications/{application_id}/timeline",
        rpc!(RV, "GetTimeline"),
        "办理进度",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/confirm",
        rpc!(RV, "ConfirmScore"),
        "确认积分",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/objections",
        rpc!(RV, "FileObjection"),
        "提出复核申请",
    ),
    r(
        "GET",
        "/api/v1/applications/{application_id}/audit",
        rpc!(RV, "GetAuditTrail"),
        "审计记录（工作人员）",
    ),
    // review: reviewers and verifiers
    r(
        "GET",
        "/api/v1/queue",
        rpc!(RV, "ListQueue"),
        "审核队列（筛选、到期、超期）",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/claim",
        rpc!(RV, "ClaimApplication"),
        "领取案件",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/release",
        rpc!(RV, "ReleaseApplication"),
        "释放案件",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/approve",
        rpc!(RV, "ApproveApplication"),
        "审核通过",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/return",
        rpc!(RV, "ReturnApplication"),
        "退回补正",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/reject",
        rpc!(RV, "RejectApplication"),
        "不予受理",
    ),
    r(
        "POST",
        "/api/v1/applications/{application_id}/gates",
        rpc!(RV, "DecideGate"),
        "人工判定资格条件",
    ),
    r(
        "GET",
        "/api/v1/verification-tasks",
        rpc!(RV, "ListVerificationTasks"),
        "部门核查任务",
    ),
    r(
        "GET",
        "/api/v1/verification-tasks/{task_id}",
        rpc!(RV, "GetVerificationTask"),
        "核查任务详情",
    ),
    r(
        "POST",
        "/api/v1/verification-tasks/{task_id}/claim",
        rpc!(RV, "ClaimVerificationTask"),
        "领取核查任务",
    ),
    r(
        "POST",
        "/api/v1/verification-tasks/{task_id}/complete",
        rpc!(RV, "CompleteVerification"),
        "提交核查结果",
    ),
    r(
        "GET",
        "/api/v1/objections",
        rpc!(RV, "ListObjections"),
        "复核申请列表",
    ),
    r(
        "POST",
        "/api/v1/objections/{objection_id}/decide",
        rpc!(RV, "DecideObjection"),
        "答复复核申请",
    ),
    // materials
    r(
        "GET",
        "/api/v1/applications/{application_id}/materials",
        rpc!(MT, "ListMaterials"),
        "申请的证明材料",
    ),
    r(
        "POST",
        "/api/v1/materials/{material_id}/confirm",
        rpc!(MT, "ConfirmUpload"),
        "确认上传（校验类型、大小、SHA-256）",
    ),
    // ranking
    r(
        "GET",
        "/api/v1/applications/{application_id}/rank",
        rpc!(RK, "GetRank"),
        "我的排名",
    ),
    r(
        "GET",
        "/api/v1/ranking-runs",
        rpc!(RK, "ListRankingRuns"),
        "排名运行（管理员）",
    ),
    r(
        "POST",
        "/api/v1/ranking-runs",
        rpc!(RK, "StartRankingRun"),
        "开始正式排名（管理员）",
    ),
    r(
        "GET",
        "/api/v1/ranking-runs/{run_id}",
        rpc!(RK, "GetRankingRun"),
        "排名运行详情",
    ),
    r(
        "GET",
        "/api/v1/ranking-runs/{run_id}/results",
        rpc!(RK, "ListRunResults"),
        "排名结果",
    ),
    r(
        "POST",
        "/api/v1/ranking-runs/{run_id}/publish",
        rpc!(RK, "PublishPublicityList"),
        "发布公示名单（管理员）",
    ),
    r(
        "GET",
        "/api/v1/publicity-lists",
        rpc!(RK, "ListPublicityLists"),
        "公示名单（query: tenant）",
    ),
    r(
        "GET",
        "/api/v1/publicity-lists/{list_id}",
        rpc!(RK, "GetPublicityList"),
        "公示名单内容与内容哈希（query: tenant, query）",
    ),
    r(
        "GET",
        "/api/v1/cutoff-history",
        rpc!(RK, "GetCutoffHistory"),
        "历年分数线",
    ),
    r(
        "GET",
        "/api/v1/distribution",
        rpc!(RK, "GetDistribution"),
        "分数分布",
    ),
    // notices
    r(
        "GET",
        "/api/v1/notices",
        rpc!(NT, "ListAnnouncements"),
        "公告（query: tenant, category）",
    ),
    r(
        "GET",
        "/api/v1/notices/{announcement_id}",
        rpc!(NT, "GetAnnouncement"),
        "公告详情",
    ),
    r(
        "GET",
        "/api/v1/managed-notices",
        rpc!(NT, "ListManagedAnnouncements"),
        "公告管理（管理员）",
    ),
    r(
        "POST",
        "/api/v1/managed-notices",
        rpc!(NT, "CreateAnnouncement"),
        "新建公告（管理员）",
    ),
    r(
        "POST",
        "/api/v1/managed-notices/{announcement_id}/publish",
        rpc!(NT, "PublishAnnouncement"),
        "发布公告（管理员）",
    ),
    r("GET", "/api/v1/inbox", rpc!(NT, "ListInbox"), "站内消息"),
    r(
        "POST",
        "/api/v1/inbox/read",
        rpc!(NT, "MarkRead"),
        "标记已读",
    ),
];

/// Coerces a text value (from the path or query) to the JSON type of `field` in `message`.
fn coerce(message: &MessageDescriptor, field: &str, text: &str) -> Result<Value, Problem> {
    let Some(descriptor) = message.get_field_by_name(field) else {
        return Err(Problem::invalid(format!("不认识的参数 {field}")));
    };
    let bad = || Problem::invalid(format!("参数 {field} 的值“{text}”格式不正确"));
    let value = match descriptor.kind() {
        Kind::Bool => Value::Bool(matches!(text, "true" | "1" | "on")),
        Kind::Int32
        | Kind::Sint32
        | Kind::Sfixed32
        | Kind::Int64
        | Kind::Sint64
        | Kind::Sfixed64 => Value::from(text.parse::<i64>().map_err(|_| bad())?),
        Kind::Uint32 | Kind::Fixed32 | Kind::Uint64 | Kind::Fixed64 => {
            Value::from(text.parse::<u64>().map_err(|_| bad())?)
        }
        Kind::Enum(_) => match text.parse::<i64>() {
            Ok(n) => Value::from(n),
            Err(_) => Value::String(text.to_owned()),
        },
        Kind::Message(_) => return Err(bad()),
        _ => Value::String(text.to_owned()),
    };
    Ok(if descriptor.is_list() {
        Value::Array(vec![value])
    } else {
        value
    })
}

/// Builds the request JSON of `route` from the path, query and body.
pub fn request_json(
    message: &MessageDescriptor,
    path: &[(String, String)],
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Value, Problem> {
    let mut object = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) => map,
            _ => return Err(Problem::invalid("请求内容须为 JSON 对象")),
        }
    };
    for (key, text) in query {
        if key == "tenant" && message.get_field_by_name("tenant").is_none() {
            continue; // travels as x-jifen-tenant instead
        }
        object.insert(key.clone(), coerce(message, key, text)?);
    }
    for (key, text) in path {
        object.insert(key.clone(), coerce(message, key, text)?);
    }
    Ok(Value::Object(object))
}

/// Forwards one REST call to its rpc.
pub async fn forward(
    route: &'static Route,
    clients: &Clients,
    headers: &HeaderMap,
    path: &[(String, String)],
    query: &HashMap<String, String>,
    body: &[u8],
) -> Result<Value, Problem> {
    let method = dynamic_call::method(route.rpc)
        .ok_or_else(|| Problem::from(tonic::Status::internal("unknown rpc")))?;
    let json = request_json(&method.input(), path, query, body)?;
    let message = dynamic_call::request_message(&method, &json)?;
    let mut headers = headers.clone();
    if !headers.contains_key(jifen_kit::auth::TENANT_HEADER)
        && let Some(value) = query
            .get("tenant")
            .and_then(|t| axum::http::HeaderValue::from_str(t).ok())
    {
        headers.insert(jifen_kit::auth::TENANT_HEADER, value);
    }
    let channel = clients.channel(dynamic_call::component(route.rpc).unwrap_or_default())?;
    dynamic_call::call(
        channel,
        &method,
        crate::grpc_call::request(&headers, message),
    )
    .await
}

/// Adds every route of [`ROUTES`] to `router`.
pub fn routes(mut router: axum::Router<Clients>) -> axum::Router<Clients> {
    for route in ROUTES {
        let cache_policy = (route.method == "GET")
            .then(|| crate::cache::policy(route.path))
            .flatten();
        let handler = move |State(clients): State<Clients>,
                            headers: HeaderMap,
                            uri: Uri,
                            params: RawPathParams,
                            query: Result<Query<HashMap<String, String>>, _>,
                            body: Bytes| async move {
            let path: Vec<(String, String)> = params
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            let query: Query<HashMap<String, String>> =
                query.map_err(|_: axum::extract::rejection::QueryRejection| {
                    Problem::invalid("查询参数格式不正确")
                })?;
            let answer = forward(route, &clients, &headers, &path, &query.0, &body);
            match cache_policy {
                Some(policy) => {
                    crate::cache::cached(&clients.cache, policy, &headers, &uri, answer).await
                }
                None => answer.await.map(|v| Json(v).into_response()),
            }
        };
        let method = Method::from_bytes(route.method.as_bytes()).unwrap_or(Method::GET);
        let filter = axum::routing::MethodFilter::try_from(method)
            .unwrap_or(axum::routing::MethodFilter::GET);
        router = router.route(route.path, axum::routing::on(filter, handler));
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_names_a_real_rpc_whose_path_fields_exist() {
        for route in ROUTES {
            let method = dynamic_call::method(route.rpc)
                .unwrap_or_else(|| panic!("{} names no rpc", route.rpc));
            for segment in route.path.split('/') {
                if let Some(field) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        method.input().get_field_by_name(field).is_some(),
                        "{}: {field} is not a field of {}",
                        route.path,
                        method.input().full_name()
                    );
                }
            }
        }
    }
}
