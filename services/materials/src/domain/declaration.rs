//! Checks of what a client declares before it may upload: file name, indicator, checksum,
//! type and size against the tenant's policy.

use crate::domain::content_type;
use crate::domain::policy::Policy;
use crate::error::MaterialsError;

/// Longest accepted file name, in characters.
pub const MAX_FILE_NAME_CHARS: usize = 200;

/// A declared file, checked and normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// The file name, trimmed.
    pub file_name: String,
    /// Canonical content type.
    pub content_type: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Lowercase hex SHA-256.
    pub sha256: String,
}

/// Returns the file name trimmed, or why it is refused: empty, too long, a path (separators,
/// `..`), control or bidirectional-override characters.
pub fn file_name(name: &str) -> Result<String, MaterialsError> {
    let invalid = |code, message: &str| MaterialsError::invalid("file_name", code, message);
    let name = name.trim();
    if name.is_empty() {
        return Err(invalid("required", "文件名（file_name）不能为空"));
    }
    if name.chars().count() > MAX_FILE_NAME_CHARS {
        return Err(invalid(
            "too_long",
            &format!("文件名（file_name）不能超过{MAX_FILE_NAME_CHARS}个字符"),
        ));
    }
    if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
    {
        return Err(invalid(
            "not_allowed",
            "文件名（file_name）不能包含控制字符",
        ));
    }
    if name.contains(['/', '\\']) || name == ".." || name == "." {
        return Err(invalid(
            "not_allowed",
            "文件名（file_name）不能包含路径（/、\\ 或 ..）",
        ));
    }
    Ok(name.to_owned())
}

/// Returns the indicator code, or why it is refused (`[a-z0-9_.-]`, 1–64 characters).
pub fn indicator(code: &str) -> Result<String, MaterialsError> {
    let ok = !code.is_empty()
        && code.len() <= 64
        && code.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(code.to_owned())
    } else {
        Err(MaterialsError::invalid(
            "indicator",
            "bad_format",
            "指标代码（indicator）格式不正确",
        ))
    }
}

/// Returns the application id, or why it is refused (`[A-Za-z0-9_-]`, 1–64 characters: it
/// becomes part of object keys).
pub fn application_id(id: &str) -> Result<String, MaterialsError> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(MaterialsError::invalid(
            "application_id",
            "bad_format",
            "申请编号（application_id）格式不正确",
        ))
    }
}

/// Returns the lowercase SHA-256, or why it is refused (64 hex digits).
pub fn sha256(hex_digest: &str) -> Result<String, MaterialsError> {
    let lower = hex_digest.trim().to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        Err(MaterialsError::invalid(
            "sha256",
            "bad_format",
            "文件校验值（sha256）应为64位十六进制字符",
        ))
    }
}

/// Checks a whole declaration against `policy`.
pub fn declaration(
    name: &str,
    declared_type: &str,
    size_bytes: u64,
    digest: &str,
    policy: &Policy,
) -> Result<Declared, MaterialsError> {
    let file_name = file_name(name)?;
    let content_type = content_type::normalise(declared_type);
    if !policy.allowed_content_types.contains(&content_type) {
        return Err(MaterialsError::invalid(
            "content_type",
            "not_allowed",
            format!(
                "只能上传{}格式的文件",
                content_type::labels(&policy.allowed_content_types)
            ),
        ));
    }
    if size_bytes == 0 {
        return Err(MaterialsError::invalid(
            "size_bytes",
            "out_of_range",
            "文件为空（0字节），请选择有内容的文件",
        ));
    }
    if size_bytes > policy.max_file_bytes {
        return Err(MaterialsError::invalid(
            "size_bytes",
            "out_of_range",
            format!(
                "文件过大：单个文件不能超过{}",
                human_bytes(policy.max_file_bytes)
            ),
        ));
    }
    Ok(Declared {
        file_name,
        content_type,
        size_bytes,
        sha256: sha256(digest)?,
    })
}

/// Returns `10 MB`-style sizes for messages.
pub fn human_bytes(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= KB && bytes.is_multiple_of(KB) {
        format!("{} KB", bytes / KB)
    } else {
        format!("{bytes} 字节")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_that_are_paths_or_carry_controls_are_refused() {
        assert_eq!(file_name(" 户口本.pdf ").expect("ok"), "户口本.pdf");
        for bad in [
            "../etc/passwd",
            "a/b.pdf",
            "a\\b.pdf",
            "..",
            "a\u{0}.pdf",
            "a\nb.pdf",
            "a\u{202e}fdp.exe",
            "",
        ] {
            assert!(file_name(bad).is_err(), "{bad:?}");
        }
        assert!(file_name("x..pdf").is_ok());
        assert!(file_name(&"长".repeat(201)).is_err());
        assert!(file_name(&"长".repeat(200)).is_ok());
    }

    #[test]
    fn declarations_are_checked_against_the_policy() {
        let policy = Policy::default();
        let digest = "A".repeat(64);
        let ok = declaration("证明.PDF", "application/pdf", 10, &digest, &policy).expect("ok");
        assert_eq!(ok.sha256, "a".repeat(64));
        let err = declaration("a.exe", "application/x-msdownload", 10, &digest, &policy)
            .expect_err("type");
        assert_eq!(err.to_string(), "只能上传PDF/JPEG/PNG格式的文件");
        assert!(declaration("a.pdf", "application/pdf", 0, &digest, &policy).is_err());
        assert!(
            declaration(
                "a.pdf",
                "application/pdf",
                policy.max_file_bytes + 1,
                &digest,
                &policy
            )
            .is_err()
        );
        assert!(declaration("a.pdf", "application/pdf", 1, "abc", &policy).is_err());
        assert!(indicator("residence_years").is_ok());
        assert!(indicator("../x").is_err());
    }
}
