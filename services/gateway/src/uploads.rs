//! Evidence files through the edge. The browser cannot reach the object store directly in every
//! deployment (the embedded endpoint listens on loopback and has no CORS; the CSP allows only
//! this origin), so the gateway relays: it asks materials for a presigned PUT, hands the browser
//! a same-origin URL carrying that presigned target, and forwards the bytes to the object store
//! (only ever to the configured endpoint, whose signature binds key, length and type). Downloads
//! ask materials for a presigned GET (which checks and logs access) and stream the object back.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, RawPathParams, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;

use crate::Clients;
use crate::problem::Problem;
use crate::rest::{Route, forward};

/// Largest file the edge relays.
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

const CREATE_UPLOAD: Route = Route {
    method: "POST",
    path: "/api/v1/applications/{application_id}/materials",
    rpc: "jifen.materials.v1.MaterialsService/CreateUpload",
    summary: "申请上传证明材料，返回同源上传地址",
};

const DOWNLOAD_URL: Route = Route {
    method: "GET",
    path: "/api/v1/materials/{material_id}/content",
    rpc: "jifen.materials.v1.MaterialsService/GetDownloadUrl",
    summary: "查看证明材料（经授权并记录访问）",
};

/// `POST /api/v1/applications/{application_id}/materials`: declares a file; the answer's
/// `upload.url` is a same-origin URL to `PUT` the bytes to.
pub async fn create_upload(
    State(clients): State<Clients>,
    headers: HeaderMap,
    params: RawPathParams,
    body: Bytes,
) -> Result<Json<Value>, Problem> {
    let path: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let mut answer = forward(
        &CREATE_UPLOAD,
        &clients,
        &headers,
        &path,
        &HashMap::new(),
        &body,
    )
    .await?;
    if let Some(url) = answer["upload"]["url"].as_str() {
        let relayed = format!("/api/v1/uploads?target={}", hex::encode(url));
        answer["upload"]["presigned_url"] = Value::String(url.to_owned());
        answer["upload"]["url"] = Value::String(relayed);
    }
    Ok(Json(answer))
}

/// Query of `PUT /api/v1/uploads`.
#[derive(Debug, serde::Deserialize)]
pub struct UploadTarget {
    target: String,
}

/// `PUT /api/v1/uploads?target=…`: relays the bytes to the presigned PUT.
pub async fn relay_upload(
    State(clients): State<Clients>,
    headers: HeaderMap,
    query: Result<Query<UploadTarget>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> Result<Response, Problem> {
    let bad = || Problem::invalid("上传地址无效或已过期，请重新选择文件上传");
    let Query(query) = query.map_err(|_| bad())?;
    let target = hex::decode(&query.target)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(bad)?;
    let endpoint = clients.s3_endpoint.trim_end_matches('/');
    if endpoint.is_empty() || !target.starts_with(&format!("{endpoint}/")) {
        return Err(bad());
    }
    let mut put = clients.http.put(&target).body(body);
    for (name, value) in &headers {
        let n = name.as_str();
        // What a presigned PUT may sign besides host and length (materials signs
        // `if-none-match: *` so an object is written once).
        if matches!(n, "content-type" | "content-md5" | "if-none-match") || n.starts_with("x-amz-")
        {
            put = put.header(n, value.as_bytes());
        }
    }
    let answer = put.send().await.map_err(|_| {
        Problem::new(
            jifen_kit::ErrorCode::Unavailable,
            "文件存储暂时不可用，请稍后重试",
        )
    })?;
    if answer.status().is_success() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    tracing::warn!(status = %answer.status(), "object store refused a relayed upload");
    Err(Problem::invalid(
        "文件与申报的大小或类型不一致，或上传地址已过期，请重新上传",
    ))
}

/// `GET /api/v1/materials/{material_id}/content`: the file, if the caller may see it.
pub async fn download(
    State(clients): State<Clients>,
    headers: HeaderMap,
    Path(material_id): Path<String>,
) -> Result<Response, Problem> {
    let body = serde_json::json!({ "disposition": "DISPOSITION_INLINE" }).to_string();
    let answer = forward(
        &DOWNLOAD_URL,
        &clients,
        &headers,
        &[("material_id".to_owned(), material_id)],
        &HashMap::new(),
        body.as_bytes(),
    )
    .await?;
    let Some(url) = answer["download"]["url"].as_str() else {
        return Err(Problem::new(jifen_kit::ErrorCode::NotFound, "材料不存在"));
    };
    let object = clients.http.get(url).send().await.map_err(|_| {
        Problem::new(
            jifen_kit::ErrorCode::Unavailable,
            "文件存储暂时不可用，请稍后重试",
        )
    })?;
    if !object.status().is_success() {
        return Err(Problem::new(
            jifen_kit::ErrorCode::NotFound,
            "材料文件不存在或已被清理",
        ));
    }
    let content_type = object
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    let bytes = object
        .bytes()
        .await
        .map_err(|_| Problem::new(jifen_kit::ErrorCode::Unavailable, "文件读取中断，请重试"))?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, content_type);
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    Ok(response)
}
