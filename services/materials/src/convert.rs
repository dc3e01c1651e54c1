//! Stored rows to proto messages.

use chrono::{DateTime, Utc};
use jifen_kit::auth::Role;
use jifen_proto::common::v1 as common;
use jifen_proto::materials::v1 as pb;

use crate::store::{access_log, attachment, material, status};

/// Returns a protobuf timestamp.
pub(crate) fn timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or_default(),
    }
}

/// Returns the instant of a protobuf timestamp.
pub(crate) fn instant(ts: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(ts.seconds, u32::try_from(ts.nanos).unwrap_or_default())
}

/// Returns the proto role of a token role.
pub(crate) fn role(role: Role) -> common::Role {
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

fn role_named(name: &str) -> i32 {
    Role::parse(name).map_or(common::Role::Unspecified, role) as i32
}

/// Returns the proto status of a stored status.
pub(crate) fn status(stored: &str) -> pb::MaterialStatus {
    match stored {
        status::PENDING => pb::MaterialStatus::PendingUpload,
        status::AVAILABLE => pb::MaterialStatus::Available,
        status::REPLACED => pb::MaterialStatus::Replaced,
        status::DELETED => pb::MaterialStatus::Deleted,
        status::PURGED => pb::MaterialStatus::Purged,
        status::REJECTED => pb::MaterialStatus::Rejected,
        _ => pb::MaterialStatus::Unspecified,
    }
}

/// Returns the proto message of a material row.
pub(crate) fn material(m: &material::Model) -> pb::Material {
    pb::Material {
        material_id: m.id.clone(),
        application_id: m.application_id.clone(),
        indicator: m.indicator.clone(),
        file_name: m.file_name.clone(),
        content_type: m.content_type.clone(),
        size_bytes: u64::try_from(m.size_bytes).unwrap_or_default(),
        sha256: m.sha256.clone(),
        status: status(&m.status) as i32,
        replaces_material_id: m.replaces_material_id.clone().unwrap_or_default(),
        replaced_by_material_id: m.replaced_by_material_id.clone().unwrap_or_default(),
        uploaded_by: Some(common::AuditActor {
            subject: m.uploaded_by.clone(),
            role: role_named(&m.uploaded_by_role),
            tenant: m.tenant.clone(),
            ..Default::default()
        }),
        created_at: Some(timestamp(m.created_at)),
        confirmed_at: m.confirmed_at.map(timestamp),
        rejection_reason: m.rejection_reason.clone().unwrap_or_default(),
        verifier_department: m.verifier_department.clone().unwrap_or_default(),
    }
}

/// Returns the proto message of an attachment row.
pub(crate) fn attachment(a: &attachment::Model) -> pb::Attachment {
    pb::Attachment {
        attachment_id: a.id.clone(),
        tenant: a.tenant.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size_bytes: u64::try_from(a.size_bytes).unwrap_or_default(),
        sha256: a.sha256.clone(),
        status: status(&a.status) as i32,
        created_at: Some(timestamp(a.created_at)),
        uploaded_by: Some(common::AuditActor {
            subject: a.uploaded_by.clone(),
            role: role_named(&a.uploaded_by_role),
            tenant: a.tenant.clone(),
            ..Default::default()
        }),
    }
}

/// Returns an attachment as the `Material` a `CreateUploadResponse` carries.
pub(crate) fn attachment_as_material(a: &attachment::Model) -> pb::Material {
    pb::Material {
        material_id: a.id.clone(),
        file_name: a.file_name.clone(),
        content_type: a.content_type.clone(),
        size_bytes: u64::try_from(a.size_bytes).unwrap_or_default(),
        sha256: a.sha256.clone(),
        status: status(&a.status) as i32,
        created_at: Some(timestamp(a.created_at)),
        ..Default::default()
    }
}

/// Access-log action names as stored.
pub(crate) mod action {
    /// A presigned PUT was issued.
    pub(crate) const UPLOAD_URL_ISSUED: &str = "upload_url_issued";
    /// The upload was confirmed.
    pub(crate) const CONFIRMED: &str = "confirmed";
    /// The upload was refused at confirmation.
    pub(crate) const REJECTED: &str = "rejected";
    /// A presigned GET was issued (or refused).
    pub(crate) const DOWNLOAD_URL_ISSUED: &str = "download_url_issued";
    /// A newer version replaced it.
    pub(crate) const REPLACED: &str = "replaced";
    /// Deleted by its owner.
    pub(crate) const DELETED: &str = "deleted";
    /// Removed by the purge.
    pub(crate) const PURGED: &str = "purged";
}

fn access_action(name: &str) -> pb::AccessAction {
    match name {
        action::UPLOAD_URL_ISSUED => pb::AccessAction::UploadUrlIssued,
        action::CONFIRMED => pb::AccessAction::Confirmed,
        action::REJECTED => pb::AccessAction::Rejected,
        action::DOWNLOAD_URL_ISSUED => pb::AccessAction::DownloadUrlIssued,
        action::REPLACED => pb::AccessAction::Replaced,
        action::DELETED => pb::AccessAction::Deleted,
        action::PURGED => pb::AccessAction::Purged,
        _ => pb::AccessAction::Unspecified,
    }
}

/// Returns the proto message of an access-log row; `hide_subject` keeps only the role.
pub(crate) fn access_entry(e: &access_log::Model, hide_subject: bool) -> pb::AccessLogEntry {
    pb::AccessLogEntry {
        material_id: e.material_id.clone(),
        application_id: e.application_id.clone(),
        action: access_action(&e.action) as i32,
        actor: Some(common::AuditActor {
            subject: if hide_subject {
                String::new()
            } else {
                e.actor_subject.clone()
            },
            role: role_named(&e.actor_role),
            tenant: e.actor_tenant.clone(),
            display_name_masked: String::new(),
            scope_code: e.actor_scope.clone().unwrap_or_default(),
        }),
        at: Some(timestamp(e.at)),
        detail: e.detail.clone(),
        granted: e.granted,
    }
}

/// Returns `(offset, limit)` of a page request (default 100, at most 500).
fn page(page_size: i32, page_token: &str) -> (u64, u64) {
    let limit = match page_size {
        n if n <= 0 => 100,
        n => u64::try_from(n.min(500)).unwrap_or(100),
    };
    (page_token.parse().unwrap_or(0), limit)
}

/// Returns the page of `items` a request asks for (see [`page`]) and the next page's token, for
/// lists assembled in memory.
pub(crate) fn page_of<T>(
    items: impl IntoIterator<Item = T>,
    page_size: i32,
    page_token: &str,
) -> (Vec<T>, String) {
    let (offset, limit) = page(page_size, page_token);
    let items: Vec<T> = items
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(usize::MAX))
        .collect();
    let next = next_token(offset, limit, items.len());
    (items, next)
}

/// Returns the next page token after `offset + got` rows when the page was full.
fn next_token(offset: u64, limit: u64, got: usize) -> String {
    if got as u64 == limit {
        (offset + limit).to_string()
    } else {
        String::new()
    }
}
