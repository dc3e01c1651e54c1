//! Conversions between stored rows and proto messages.

use chrono::{DateTime, Utc};
use jifen_kit::auth::{Caller, Role};
use jifen_proto::common::v1 as common;
use jifen_proto::notices::v1::Channel;

use crate::error::NoticesError;

/// Returns a proto timestamp.
pub(crate) fn ts(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// Returns an optional proto timestamp.
pub(crate) fn ts_opt(at: Option<DateTime<Utc>>) -> Option<prost_types::Timestamp> {
    at.map(ts)
}

/// Returns the instant of a proto timestamp, refusing impossible ones by field name.
pub(crate) fn from_ts(
    field: &str,
    at: &prost_types::Timestamp,
) -> Result<DateTime<Utc>, NoticesError> {
    u32::try_from(at.nanos)
        .ok()
        .and_then(|nanos| DateTime::from_timestamp(at.seconds, nanos))
        .ok_or_else(|| NoticesError::invalid(field, "out_of_range", format!("时间（{field}）无效")))
}

fn role_pb(role: Role) -> common::Role {
    match role {
        Role::Applicant => common::Role::Applicant,
        Role::StreetReviewer => common::Role::StreetReviewer,
        Role::DepartmentVerifier => common::Role::DepartmentVerifier,
        Role::DistrictReviewer => common::Role::DistrictReviewer,
        Role::CityReviewer => common::Role::CityReviewer,
        Role::DistrictAdmin => common::Role::DistrictAdmin,
        Role::CityAdmin => common::Role::CityAdmin,
        Role::System => common::Role::System,
    }
}

/// Returns the audit actor of `caller` as stored JSON.
pub(crate) fn actor_json(caller: &Caller) -> serde_json::Value {
    let role = [Role::CityAdmin, Role::DistrictAdmin, Role::System]
        .into_iter()
        .find(|r| caller.has(*r))
        .or_else(|| caller.roles.first().copied());
    serde_json::json!({
        "subject": caller.subject,
        "role": role.map_or(0, |r| role_pb(r) as i32),
        "tenant": caller.home_tenant.as_deref().unwrap_or(&caller.tenant),
    })
}

/// Returns the audit actor stored as JSON.
pub(crate) fn actor_pb(json: &serde_json::Value) -> Option<common::AuditActor> {
    let subject = json.get("subject")?.as_str()?.to_owned();
    Some(common::AuditActor {
        subject,
        role: json
            .get("role")
            .and_then(serde_json::Value::as_i64)
            .and_then(|r| i32::try_from(r).ok())
            .unwrap_or(0),
        tenant: json
            .get("tenant")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        display_name_masked: String::new(),
        scope_code: String::new(),
    })
}

/// Stored code of a channel.
pub(crate) fn channel_code(channel: Channel) -> &'static str {
    match channel {
        Channel::Unspecified | Channel::InApp => "in_app",
        Channel::Sms => "sms",
        Channel::Email => "email",
    }
}

/// Channel of a stored code.
pub(crate) fn channel_pb(code: &str) -> Channel {
    match code {
        "in_app" => Channel::InApp,
        "sms" => Channel::Sms,
        "email" => Channel::Email,
        _ => Channel::Unspecified,
    }
}

/// Channel of a wire value; unknown values are refused.
pub(crate) fn channel_of(raw: i32) -> Result<Channel, NoticesError> {
    Channel::try_from(raw).map_err(|_| {
        NoticesError::invalid(
            "channel",
            "unknown_value",
            format!("渠道（channel）取值 {raw} 不存在"),
        )
    })
}

/// Parses an id field.
pub(crate) fn parse_id(field: &str, raw: &str) -> Result<uuid::Uuid, NoticesError> {
    uuid::Uuid::parse_str(raw.trim()).map_err(|_| {
        NoticesError::invalid(field, "bad_format", format!("编号（{field}）格式不正确"))
    })
}

/// Offset pagination: page size within 1..=100 (default 20) and the offset in `page_token`.
pub(crate) fn page(page_size: i32, page_token: &str) -> Result<(u64, u64), NoticesError> {
    let size = if page_size <= 0 {
        20
    } else {
        u64::try_from(page_size.min(100)).unwrap_or(20)
    };
    let offset = if page_token.is_empty() {
        0
    } else {
        page_token.parse::<u64>().map_err(|_| {
            NoticesError::invalid("page_token", "bad_format", "分页标记（page_token）无效")
        })?
    };
    Ok((size, offset))
}

/// Returns the next page token after `returned` rows at `offset` of `total`.
pub(crate) fn next_token(offset: u64, returned: usize, total: u64) -> String {
    let next = offset + returned as u64;
    if returned > 0 && next < total {
        next.to_string()
    } else {
        String::new()
    }
}
