//! Content types jifen can recognise by magic bytes, and how people call them.

/// Types a tenant may allow: each is detected from the content itself, never from the name.
pub const SUPPORTED: [&str; 5] = [
    "application/pdf",
    "image/jpeg",
    "image/png",
    "image/webp",
    "image/tiff",
];

/// How many leading bytes detection needs (read with a ranged GET).
pub const SNIFF_BYTES: u64 = 8192;

/// Returns the short name shown to people, e.g. `PDF`.
pub fn label(content_type: &str) -> &str {
    match content_type {
        "application/pdf" => "PDF",
        "image/jpeg" => "JPEG",
        "image/png" => "PNG",
        "image/webp" => "WEBP",
        "image/tiff" => "TIFF",
        other => other,
    }
}

/// Returns `PDF/JPEG/PNG` for a list of types.
pub fn labels(types: &[String]) -> String {
    types.iter().map(|t| label(t)).collect::<Vec<_>>().join("/")
}

/// Returns the supported type the content starts with, if any.
pub fn detect(head: &[u8]) -> Option<&'static str> {
    let kind = infer::get(head)?;
    SUPPORTED.iter().copied().find(|t| *t == kind.mime_type())
}

/// Normalises a declared type (`image/jpg`, `IMAGE/PNG; charset=x`) to its canonical form.
pub fn normalise(declared: &str) -> String {
    let base = declared
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    match base.as_str() {
        "image/jpg" | "image/pjpeg" => "image/jpeg".to_owned(),
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content_not_name() {
        assert_eq!(detect(b"%PDF-1.7\n%\xe2\xe3"), Some("application/pdf"));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
        assert_eq!(detect(b"\xff\xd8\xff\xe0\0\x10JFIF\0"), Some("image/jpeg"));
        assert_eq!(detect(b"MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff"), None);
        assert_eq!(detect(b""), None);
    }

    #[test]
    fn normalises_aliases() {
        assert_eq!(normalise("image/JPG"), "image/jpeg");
        assert_eq!(normalise("application/pdf; x=1"), "application/pdf");
        assert_eq!(
            labels(&["application/pdf".into(), "image/png".into()]),
            "PDF/PNG"
        );
    }
}
