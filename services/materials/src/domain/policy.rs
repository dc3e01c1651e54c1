//! A tenant's upload policy: what may be uploaded, how much, how long URLs and files live.

use serde::{Deserialize, Serialize};

use crate::domain::content_type;
use crate::error::MaterialsError;

const MB: u64 = 1024 * 1024;

/// Limits on evidence uploads of one tenant. Stored as JSON; missing fields take the defaults.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Policy {
    /// Canonical types allowed, detected by magic bytes.
    pub allowed_content_types: Vec<String>,
    /// Largest file.
    pub max_file_bytes: u64,
    /// Largest total of an application's usable (and in-flight) materials.
    pub max_application_bytes: u64,
    /// Most materials of one application.
    pub max_files_per_application: u32,
    /// Lifetime of a presigned PUT.
    pub upload_url_ttl_seconds: u32,
    /// Lifetime of a presigned GET.
    pub download_url_ttl_seconds: u32,
    /// Days during which an objection may follow a rejection or withdrawal.
    pub objection_window_days: u32,
    /// Days after the objection window before rejected/withdrawn applications' files go.
    pub retention_days_after_objection_window: u32,
    /// Hours after which an unconfirmed upload is an orphan.
    pub orphan_after_hours: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            allowed_content_types: vec![
                "application/pdf".to_owned(),
                "image/jpeg".to_owned(),
                "image/png".to_owned(),
            ],
            max_file_bytes: 10 * MB,
            max_application_bytes: 100 * MB,
            max_files_per_application: 50,
            upload_url_ttl_seconds: 600,
            download_url_ttl_seconds: 300,
            objection_window_days: 15,
            retention_days_after_objection_window: 365,
            orphan_after_hours: 24,
        }
    }
}

/// Longest URL lifetime a policy may ask for (one hour: presigned URLs are bearer secrets).
pub const MAX_URL_TTL_SECONDS: u32 = 3600;
/// Largest per-file limit a policy may set.
pub const MAX_FILE_BYTES_LIMIT: u64 = 200 * MB;

impl Policy {
    /// Returns the policy with types normalised, or the first problem found.
    pub fn validated(mut self) -> Result<Self, MaterialsError> {
        let bad = |field, message: &str| MaterialsError::invalid(field, "out_of_range", message);
        let mut types: Vec<String> = self
            .allowed_content_types
            .iter()
            .map(|t| content_type::normalise(t))
            .collect();
        types.sort();
        types.dedup();
        if types.is_empty() {
            return Err(bad("policy.allowed_content_types", "至少允许一种文件类型"));
        }
        if let Some(unknown) = types
            .iter()
            .find(|t| !content_type::SUPPORTED.contains(&t.as_str()))
        {
            return Err(MaterialsError::invalid(
                "policy.allowed_content_types",
                "unknown_value",
                format!("不支持的文件类型：{unknown}（可选：PDF、JPEG、PNG、WEBP、TIFF）"),
            ));
        }
        self.allowed_content_types = types;
        if self.max_file_bytes == 0 || self.max_file_bytes > MAX_FILE_BYTES_LIMIT {
            return Err(bad(
                "policy.max_file_bytes",
                "单个文件上限应在1字节到200 MB之间",
            ));
        }
        if self.max_application_bytes < self.max_file_bytes {
            return Err(bad(
                "policy.max_application_bytes",
                "每份申请的总上限不能小于单个文件上限",
            ));
        }
        if self.max_files_per_application == 0 {
            return Err(bad(
                "policy.max_files_per_application",
                "每份申请至少允许一个文件",
            ));
        }
        for (field, ttl) in [
            ("policy.upload_url_ttl_seconds", self.upload_url_ttl_seconds),
            (
                "policy.download_url_ttl_seconds",
                self.download_url_ttl_seconds,
            ),
        ] {
            if ttl == 0 || ttl > MAX_URL_TTL_SECONDS {
                return Err(bad(field, "链接有效期应在1到3600秒之间"));
            }
        }
        if self.orphan_after_hours == 0 {
            return Err(bad(
                "policy.orphan_after_hours",
                "未确认上传的清理时限至少为1小时",
            ));
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_bad_limits_are_refused() {
        assert!(Policy::default().validated().is_ok());
        let no_types = Policy {
            allowed_content_types: vec![],
            ..Policy::default()
        };
        assert!(no_types.validated().is_err());
        let exe = Policy {
            allowed_content_types: vec!["application/x-msdownload".into()],
            ..Policy::default()
        };
        assert!(exe.validated().is_err());
        let long_urls = Policy {
            download_url_ttl_seconds: 86_400,
            ..Policy::default()
        };
        assert!(long_urls.validated().is_err());
        let partial: Policy = serde_json::from_str(r#"{"max_file_bytes": 5}"#).expect("json");
        assert_eq!(partial.max_file_bytes, 5);
        assert_eq!(partial.orphan_after_hours, 24);
    }
}
